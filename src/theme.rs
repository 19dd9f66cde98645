//! The Teams theme the page follows.

/// A Teams theme, as `app.getContext` and the theme change handler name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    Default,
    Dark,
    Contrast,
}

impl Theme {
    /// Parses a Teams theme name; an unknown name gets the default (light)
    /// theme.
    pub fn from_name(name: &str) -> Theme {
        match name {
            "dark" => Theme::Dark,
            "contrast" => Theme::Contrast,
            _ => Theme::Default,
        }
    }

    /// Returns the Teams name, used as the page's `data-theme` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::Default => "default",
            Theme::Dark => "dark",
            Theme::Contrast => "contrast",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for theme in [Theme::Default, Theme::Dark, Theme::Contrast] {
            assert_eq!(Theme::from_name(theme.as_str()), theme);
        }
    }

    #[test]
    fn unknown_name_is_default() {
        assert_eq!(Theme::from_name("sepia"), Theme::Default);
        assert_eq!(Theme::from_name(""), Theme::Default);
    }
}

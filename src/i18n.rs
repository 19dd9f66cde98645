//! The page's translations: one JSON file a language in `locales/`, keyed by
//! message id, with `{name}` placeholders.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::OnceLock;

/// A language the page is translated into.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    #[default]
    English,
    German,
    Japanese,
    Arabic,
}

/// The direction text runs in, for the `dir` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    LeftToRight,
    RightToLeft,
}

impl Direction {
    /// Returns the value of the HTML `dir` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::LeftToRight => "ltr",
            Direction::RightToLeft => "rtl",
        }
    }
}

impl Language {
    /// Every translated language.
    pub const ALL: [Language; 4] = [
        Language::English,
        Language::German,
        Language::Japanese,
        Language::Arabic,
    ];

    /// Chooses the language for a BCP 47 locale such as `de-DE` (the Teams
    /// context's `locale`), by its primary subtag. Any language without a
    /// translation gets English.
    pub fn from_locale(locale: &str) -> Language {
        let primary = locale
            .split(['-', '_'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "de" => Language::German,
            "ja" => Language::Japanese,
            "ar" => Language::Arabic,
            _ => Language::English,
        }
    }

    /// Returns the language tag for the HTML `lang` attribute.
    pub fn tag(self) -> &'static str {
        match self {
            Language::English => "en",
            Language::German => "de",
            Language::Japanese => "ja",
            Language::Arabic => "ar",
        }
    }

    pub fn direction(self) -> Direction {
        match self {
            Language::Arabic => Direction::RightToLeft,
            _ => Direction::LeftToRight,
        }
    }

    /// Returns the language's translations, parsed on first use.
    pub fn translations(self) -> &'static Translations {
        static CATALOGS: [OnceLock<Translations>; 4] = [const { OnceLock::new() }; 4];

        let (index, source) = match self {
            Language::English => (0, include_str!("../locales/en.json")),
            Language::German => (1, include_str!("../locales/de.json")),
            Language::Japanese => (2, include_str!("../locales/ja.json")),
            Language::Arabic => (3, include_str!("../locales/ar.json")),
        };
        CATALOGS[index].get_or_init(|| Translations::parse(self, source))
    }
}

/// The messages of one language.
#[derive(Debug)]
pub struct Translations {
    language: Language,
    messages: HashMap<String, String>,
}

impl Translations {
    fn parse(language: Language, source: &str) -> Translations {
        let messages = serde_json::from_str(source).unwrap_or_else(|error| {
            panic!(
                "locales/{}.json is not a JSON object of strings: {error}",
                language.tag()
            )
        });
        Translations { language, messages }
    }

    /// Returns the message `key`, the English one when this language lacks
    /// it, or the key itself when no language has it.
    pub fn text(&self, key: &str) -> String {
        if let Some(message) = self.messages.get(key) {
            return message.clone();
        }
        if self.language != Language::English {
            return Language::English.translations().text(key);
        }
        log::error!("no translation has the message {key:?}");
        key.to_owned()
    }

    /// Returns the message `key` with each `{name}` replaced by its value.
    pub fn format(&self, key: &str, values: &[(&str, &dyn Display)]) -> String {
        let mut message = self.text(key);
        for (name, value) in values {
            message = message.replace(&format!("{{{name}}}"), &value.to_string());
        }
        message
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn keys(language: Language) -> BTreeSet<&'static String> {
        language.translations().messages.keys().collect()
    }

    fn placeholders(message: &str) -> BTreeSet<String> {
        message
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
            .collect()
    }

    #[test]
    fn every_language_has_every_message() {
        let english = keys(Language::English);

        for language in Language::ALL {
            assert_eq!(keys(language), english, "{language:?} differs from English");
        }
    }

    #[test]
    fn translations_keep_placeholders() {
        let english = Language::English.translations();

        for language in Language::ALL {
            for (key, message) in &language.translations().messages {
                assert_eq!(
                    placeholders(message),
                    placeholders(&english.messages[key]),
                    "{language:?} {key}"
                );
            }
        }
    }

    #[test]
    fn locale_picks_language_by_primary_subtag() {
        assert_eq!(Language::from_locale("en-US"), Language::English);
        assert_eq!(Language::from_locale("de-DE"), Language::German);
        assert_eq!(Language::from_locale("de-at"), Language::German);
        assert_eq!(Language::from_locale("ja-JP"), Language::Japanese);
        assert_eq!(Language::from_locale("ar-SA"), Language::Arabic);
        assert_eq!(Language::from_locale("ar_EG"), Language::Arabic);
    }

    #[test]
    fn unknown_locale_falls_back_to_english() {
        for locale in ["fr-FR", "he-IL", "", "x"] {
            assert_eq!(
                Language::from_locale(locale),
                Language::English,
                "{locale:?}"
            );
        }
    }

    #[test]
    fn only_arabic_is_right_to_left() {
        for language in Language::ALL {
            let expected = if language == Language::Arabic {
                Direction::RightToLeft
            } else {
                Direction::LeftToRight
            };
            assert_eq!(language.direction(), expected, "{language:?}");
        }
    }

    #[test]
    fn format_fills_placeholders() {
        let message = Language::English
            .translations()
            .format("api.status", &[("status", &502)]);

        assert_eq!(
            message,
            "The connector service failed with HTTP status 502. Try again in a few minutes."
        );
    }

    #[test]
    fn unknown_key_returns_key() {
        assert_eq!(
            Language::German.translations().text("no.such.key"),
            "no.such.key"
        );
    }
}

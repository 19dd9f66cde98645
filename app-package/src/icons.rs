//! The app's two icons, rendered from the SVG artwork in `artwork/`, and the checks
//! Teams applies to them.

use resvg::tiny_skia::{Pixmap, Transform};
use resvg::usvg;

use crate::error::{PackageError, Problem};

/// File name of the colour icon inside the package.
pub const COLOR_FILE: &str = "color.png";

/// File name of the outline icon inside the package.
pub const OUTLINE_FILE: &str = "outline.png";

/// Width and height of the colour icon that Teams requires, in pixels.
pub const COLOR_SIZE: u32 = 192;

/// Width and height of the outline icon that Teams requires, in pixels.
pub const OUTLINE_SIZE: u32 = 32;

const COLOR_SVG: &str = include_str!("../artwork/color.svg");
const OUTLINE_SVG: &str = include_str!("../artwork/outline.svg");

/// The PNG files of both icons.
#[derive(Debug, Clone)]
pub struct Icons {
    pub color: Vec<u8>,
    pub outline: Vec<u8>,
}

impl Icons {
    /// Renders both icons from the artwork at the sizes Teams requires.
    pub fn render() -> Result<Self, PackageError> {
        Ok(Self {
            color: render_png(COLOR_FILE, COLOR_SVG, COLOR_SIZE)?,
            outline: render_png(OUTLINE_FILE, OUTLINE_SVG, OUTLINE_SIZE)?,
        })
    }

    /// Checks what the manifest schema cannot: both sizes, and an outline icon that is
    /// white on a transparent background.
    pub fn check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();

        match Pixmap::decode_png(&self.color) {
            Ok(color) => check_size(COLOR_FILE, &color, COLOR_SIZE, &mut problems),
            Err(error) => problems.push(Problem::new(
                COLOR_FILE,
                format!("is not a valid PNG: {error}"),
            )),
        }

        match Pixmap::decode_png(&self.outline) {
            Ok(outline) => {
                check_size(OUTLINE_FILE, &outline, OUTLINE_SIZE, &mut problems);
                check_outline_colors(&outline, &mut problems);
            }
            Err(error) => problems.push(Problem::new(
                OUTLINE_FILE,
                format!("is not a valid PNG: {error}"),
            )),
        }

        problems
    }
}

/// Renders `svg` onto a transparent square of `size` pixels and encodes it as PNG.
fn render_png(file: &'static str, svg: &str, size: u32) -> Result<Vec<u8>, PackageError> {
    let rendering_error = |message: String| PackageError::IconNotRendered { file, message };

    let tree = usvg::Tree::from_str(svg, &usvg::Options::default())
        .map_err(|error| rendering_error(format!("invalid SVG: {error}")))?;
    let mut pixmap = Pixmap::new(size, size)
        .ok_or_else(|| rendering_error(format!("invalid size {size}x{size}")))?;

    // The artwork's own size may differ from the icon's, so it is scaled to fill it.
    let scale_x = size as f32 / tree.size().width();
    let scale_y = size as f32 / tree.size().height();
    resvg::render(
        &tree,
        Transform::from_scale(scale_x, scale_y),
        &mut pixmap.as_mut(),
    );

    pixmap
        .encode_png()
        .map_err(|error| rendering_error(format!("PNG encoding failed: {error}")))
}

fn check_size(file: &str, pixmap: &Pixmap, size: u32, problems: &mut Vec<Problem>) {
    if pixmap.width() != size || pixmap.height() != size {
        problems.push(Problem::new(
            file,
            format!(
                "is {}x{} pixels, but Teams requires {size}x{size}",
                pixmap.width(),
                pixmap.height()
            ),
        ));
    }
}

/// Teams shows the outline icon tinted on its own backgrounds, so it must be white
/// where drawn and transparent everywhere else.
fn check_outline_colors(outline: &Pixmap, problems: &mut Vec<Problem>) {
    let pixels = outline.pixels();
    let transparent = pixels.iter().filter(|pixel| pixel.alpha() == 0).count();
    let drawn = pixels.len() - transparent;
    // Anti-aliased edges of a white glyph demultiply to 255 give or take rounding.
    let not_white = pixels
        .iter()
        .filter(|pixel| pixel.alpha() > 0)
        .map(|pixel| pixel.demultiply())
        .filter(|color| color.red() < 250 || color.green() < 250 || color.blue() < 250)
        .count();

    if transparent == 0 {
        problems.push(Problem::new(
            OUTLINE_FILE,
            "has no transparent pixel; Teams requires a transparent background",
        ));
    }
    if drawn == 0 {
        problems.push(Problem::new(
            OUTLINE_FILE,
            "is fully transparent; draw the glyph in white",
        ));
    }
    if not_white > 0 {
        problems.push(Problem::new(
            OUTLINE_FILE,
            format!(
                "has {not_white} visible pixels that are not white; Teams requires a white glyph"
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> Pixmap {
        Pixmap::decode_png(png).expect("the rendered icon is a PNG")
    }

    #[test]
    fn color_icon_is_192_pixels() {
        let icons = Icons::render().expect("icons render");

        let color = decode(&icons.color);

        assert_eq!(color.width(), 192);
        assert_eq!(color.height(), 192);
    }

    #[test]
    fn outline_icon_is_32_pixels() {
        let icons = Icons::render().expect("icons render");

        let outline = decode(&icons.outline);

        assert_eq!(outline.width(), 32);
        assert_eq!(outline.height(), 32);
    }

    #[test]
    fn outline_icon_is_white_on_transparent() {
        let icons = Icons::render().expect("icons render");
        let outline = decode(&icons.outline);

        let corner = outline.pixel(0, 0).expect("pixel inside the icon");
        let centre = outline.pixel(16, 4).expect("pixel inside the icon");

        assert_eq!(corner.alpha(), 0, "corner must be transparent");
        assert_eq!(centre.alpha(), 255, "the card's top edge must be drawn");
        assert_eq!(centre.demultiply().red(), 255);
        assert_eq!(centre.demultiply().green(), 255);
        assert_eq!(centre.demultiply().blue(), 255);
    }

    #[test]
    fn color_icon_is_teams_purple() {
        let icons = Icons::render().expect("icons render");
        let color = decode(&icons.color);

        let background = color.pixel(20, 96).expect("pixel inside the icon");

        assert_eq!(background.alpha(), 255);
        assert_eq!(
            (background.red(), background.green(), background.blue()),
            (0x5B, 0x5F, 0xC7)
        );
    }

    #[test]
    fn rendered_icons_pass_checks() {
        let icons = Icons::render().expect("icons render");

        assert_eq!(icons.check(), []);
    }

    #[test]
    fn swapped_icons_fail_size_checks() {
        let rendered = Icons::render().expect("icons render");
        let swapped = Icons {
            color: rendered.outline,
            outline: rendered.color,
        };

        let problems = swapped.check();

        let files: Vec<&str> = problems
            .iter()
            .map(|problem| problem.path.as_str())
            .collect();
        assert!(files.contains(&COLOR_FILE), "{problems:?}");
        assert!(files.contains(&OUTLINE_FILE), "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|problem| problem.message.contains("not white")),
            "{problems:?}"
        );
    }

    #[test]
    fn opaque_outline_fails_transparency_check() {
        let mut opaque = Pixmap::new(OUTLINE_SIZE, OUTLINE_SIZE).expect("valid size");
        opaque.fill(resvg::tiny_skia::Color::WHITE);
        let icons = Icons {
            color: Icons::render().expect("icons render").color,
            outline: opaque.encode_png().expect("PNG encodes"),
        };

        let problems = icons.check();

        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("transparent"), "{problems:?}");
    }
}

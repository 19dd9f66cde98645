//! The part of `Accept` header negotiation (RFC 9110, section 12.5.1) that the proxy
//! needs: whether a request prefers an HTML page to JSON.

/// One media range of an `Accept` header with its quality in thousandths (0 to 1000).
struct MediaRange<'a> {
    main_type: &'a str,
    subtype: &'a str,
    quality: u16,
}

/// Returns whether `accept` gives `text/html` a higher quality than `application/json`.
///
/// A browser navigating a frame sends `text/html,…,*/*;q=0.8`, so it gets HTML, while
/// `fetch` sends `*/*`, which rates both alike and gets JSON. A missing header
/// (`None`) also rates both alike.
pub fn prefers_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else {
        return false;
    };
    let ranges: Vec<MediaRange<'_>> = accept.split(',').filter_map(parse_range).collect();

    quality_of(&ranges, "text", "html") > quality_of(&ranges, "application", "json")
}

/// Returns the quality that `ranges` give the media type `main_type/subtype`: that of the
/// most specific matching range, or 0 when none matches.
fn quality_of(ranges: &[MediaRange<'_>], main_type: &str, subtype: &str) -> u16 {
    let mut best: Option<(u8, u16)> = None;
    for range in ranges {
        // Media types are case-insensitive (RFC 9110, section 8.3.1).
        let same_type = range.main_type.eq_ignore_ascii_case(main_type);
        let specificity = if same_type && range.subtype.eq_ignore_ascii_case(subtype) {
            2
        } else if same_type && range.subtype == "*" {
            1
        } else if range.main_type == "*" && range.subtype == "*" {
            0
        } else {
            continue;
        };

        if best.is_none_or(|(known, _)| specificity > known) {
            best = Some((specificity, range.quality));
        }
    }
    best.map_or(0, |(_, quality)| quality)
}

/// Parses one element such as `text/html;level=1;q=0.8`. Returns `None` for an
/// element that is not a media range or has an invalid `q`, which is then ignored.
fn parse_range(element: &str) -> Option<MediaRange<'_>> {
    let mut parts = element.split(';');
    let (main_type, subtype) = parts.next()?.trim().split_once('/')?;
    let (main_type, subtype) = (main_type.trim(), subtype.trim());
    if main_type.is_empty() || subtype.is_empty() {
        return None;
    }

    let mut quality = 1000;
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("q") {
            quality = parse_quality(value.trim())?;
        }
    }
    Some(MediaRange {
        main_type,
        subtype,
        quality,
    })
}

/// Parses a qvalue (`0`, `0.8`, `1.000`) into thousandths.
fn parse_quality(value: &str) -> Option<u16> {
    let number: f32 = value.parse().ok()?;
    if !(0.0..=1.0).contains(&number) {
        return None;
    }
    // The range check above keeps the product within 0 to 1000.
    Some((number * 1000.0).round() as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_navigation_prefers_html() {
        let chromium = "text/html,application/xhtml+xml,application/xml;q=0.9,\
            image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7";
        let firefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

        assert!(prefers_html(Some(chromium)));
        assert!(prefers_html(Some(firefox)));
    }

    #[test]
    fn fetch_and_missing_header_get_json() {
        assert!(!prefers_html(Some("*/*")));
        assert!(!prefers_html(None));
        assert!(!prefers_html(Some("")));
    }

    #[test]
    fn explicit_qualities_decide() {
        let cases = [
            ("application/json", false),
            ("application/json, text/html;q=0.5", false),
            ("text/html;q=0.9, application/json", false),
            ("text/html, application/json", false),
            ("text/html, application/json;q=0.9", true),
            ("text/*, application/*;q=0.5", true),
            ("text/html;q=0, */*", false),
            ("TEXT/HTML;Q=1, */*;q=0.1", true),
            ("text/html;level=1;q=0.7, */*;q=0.5", true),
            ("text/html;q=2, */*;q=0.5", false),
            ("nonsense, text/html", true),
        ];
        for (accept, expected) in cases {
            assert_eq!(prefers_html(Some(accept)), expected, "{accept}");
        }
    }
}

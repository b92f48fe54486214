//! Data for the page's script, as JSON inside `<script type="application/json">`.
//!
//! Inside a script element the HTML parser looks only for `</script` (and
//! `<!--`), whatever JSON means: a title or URL carrying `</script>` would end
//! the element and the rest would be read as markup. Every `<`, `>` and `&` is
//! written as a JSON `\u` escape instead, which `JSON.parse` reads back as the
//! same character, so no markup can appear inside the element at all. U+2028
//! and U+2029 are escaped too, for readers that take JSON for JavaScript.

use serde::Serialize;

/// `value` as JSON safe to place, unescaped, inside a script element.
///
/// # Errors
/// The value cannot be written as JSON.
pub fn script_json<T: Serialize>(value: &T) -> serde_json::Result<String> {
    let json = serde_json::to_string(value)?;
    let mut out = String::with_capacity(json.len() + json.len() / 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_inside_can_close_the_script_element() {
        let title = "</script><script>alert(1)</script><!-- & \u{2028}";
        let json = script_json(&serde_json::json!({ "title": title })).unwrap();
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        assert!(!json.contains('\u{2028}'));
        // JSON reads it back as it was.
        let back: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(back["title"], title);
    }
}

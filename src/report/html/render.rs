//! Drawing the page: one minijinja template (`page.html`) with the stylesheet
//! and the script inlined, so the report is one file that asks nothing of the
//! network. The template escapes every value it prints (HTML autoescaping, as
//! for any `.html` template); the lists the script draws are handed over as
//! inert JSON (see `blob`), and the script puts their strings in the page as
//! text, never as markup.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};

use super::blob::script_json;
use super::model::Page;

const TEMPLATE: &str = include_str!("page.html");
const STYLE: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// The page as HTML.
///
/// # Errors
/// The template cannot be drawn (a bug), or the lists cannot be written as
/// JSON.
pub fn render(page: &Page) -> std::io::Result<String> {
    let mut env = Environment::new();
    // The name's extension turns HTML autoescaping on.
    env.add_template("page.html", TEMPLATE)
        .map_err(std::io::Error::other)?;
    let data = script_json(&page.lists)?;
    let template = env
        .get_template("page.html")
        .map_err(std::io::Error::other)?;
    template
        .render(context! {
            page => Value::from(Serde(page)),
            style => Value::from_safe_string(STYLE.to_owned()),
            script => Value::from_safe_string(SCRIPT.to_owned()),
            data => Value::from_safe_string(data),
        })
        .map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::super::model::{
        ArchiveTotals, Changes, Failure, HostRow, Lists, NoteFailures, VerdictCount,
    };
    use super::*;

    const XSS: &str = "<script>alert(1)</script>";

    #[test]
    fn what_notes_and_servers_wrote_stays_text() {
        let page = Page {
            generated_at: "2026-11-01T00:00:00Z".into(),
            latest: None,
            counts: vec![VerdictCount {
                verdict: "dead",
                count: 1,
                failing: true,
            }],
            changes: Changes::default(),
            health: None,
            growth: None,
            hosts: vec![HostRow {
                host: XSS.into(),
                urls: 1,
                ..HostRow::default()
            }],
            hosts_left_out: 0,
            archive: ArchiveTotals::default(),
            lists: Lists {
                failures: vec![NoteFailures {
                    note: format!("notes/{XSS}.md"),
                    href: Some("\"><script>alert(1)</script>".into()),
                    items: vec![Failure {
                        url: format!("https://a.example/</script>{XSS}"),
                        line: 1,
                        column: 1,
                        verdict: "dead",
                        reason: Some(XSS.into()),
                        history: "new",
                        history_words: "new".into(),
                        copy: None,
                    }],
                }],
                gallery: Vec::new(),
            },
        };
        let html = render(&page).unwrap();
        // The page's own two script elements, and no other.
        assert_eq!(html.matches("<script").count(), 2, "{html}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
            "{html}"
        );
        assert!(html.contains(r#"<span class="n" data-verdict="dead">1</span>"#));
    }
}

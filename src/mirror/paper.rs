//! Finding a paper's PDF from its landing page: the `citation_pdf_url` meta tag
//! that publishers put there for Google Scholar (OpenReview, the CVF, ACL
//! Anthology, most journals behind a DOI).

use url::Url;

use super::{Code, Problem, unanswered};
use crate::judge::judge;
use crate::net::probe::Engine;
use crate::sites::SiteRules;
use crate::verdict::Verdict;

/// The PDF a paper page names, reading the page (redirects followed, so a
/// doi.org link arrives at the publisher's page).
///
/// # Errors
/// The page's own failure, or `no-pdf` when it names none.
pub async fn pdf_of_page(engine: &Engine, sites: &SiteRules, url: &Url) -> Result<Url, Problem> {
    let outcome = engine.page(url).await;
    let response = match &outcome.result {
        Ok(r) if (200..300).contains(&r.status) => r,
        _ => return Err(unanswered(url, &outcome, sites)),
    };
    // A bot wall or a page that says it is gone names no PDF, and says so.
    let judgement = judge(url, &outcome, sites);
    if matches!(
        judgement.verdict,
        Verdict::SoftDead | Verdict::Blocked | Verdict::Dead | Verdict::Expired
    ) {
        return Err(Problem::new(
            Code::Judged(judgement.verdict),
            judgement
                .reason
                .unwrap_or_else(|| judgement.verdict.to_string()),
        ));
    }
    // A paper link that is the PDF itself.
    let pdf_type = response
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/pdf"));
    if pdf_type || response.body.starts_with(b"%PDF-") {
        return Ok(response.url.clone());
    }
    let html = String::from_utf8_lossy(&response.body);
    match citation_pdf_url(&html, &response.url) {
        Some(pdf) => {
            tracing::debug!("{url}: citation_pdf_url {pdf}");
            Ok(pdf)
        }
        None => Err(Problem::new(
            Code::NoPdf,
            format!(
                "the paper page {} names no PDF (no citation_pdf_url meta tag)",
                response.url
            ),
        )),
    }
}

/// The `citation_pdf_url` of a page, resolved against `base`, if it is a web URL.
fn citation_pdf_url(html: &str, base: &Url) -> Option<Url> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("meta[name]").ok()?;
    doc.select(&selector)
        .filter(|m| {
            m.value()
                .attr("name")
                .is_some_and(|n| n.eq_ignore_ascii_case("citation_pdf_url"))
        })
        .filter_map(|m| m.value().attr("content"))
        .filter_map(|c| base.join(c.trim()).ok())
        .find(|u| matches!(u.scheme(), "http" | "https"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_meta_tag_names_the_pdf() {
        let base = Url::parse("https://openreview.net/forum?id=abc").unwrap();
        let html = r#"<html><head><meta name="citation_title" content="T">
            <META NAME="citation_pdf_url" CONTENT="/pdf?id=abc"></head></html>"#;
        assert_eq!(
            citation_pdf_url(html, &base).unwrap().as_str(),
            "https://openreview.net/pdf?id=abc"
        );
        assert!(
            citation_pdf_url(
                "<meta name=\"citation_pdf_url\" content=\"javascript:x\">",
                &base
            )
            .is_none()
        );
        assert!(citation_pdf_url("<p>no meta</p>", &base).is_none());
    }
}

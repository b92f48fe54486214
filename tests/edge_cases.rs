//! Inputs that once gave a wrong span, a wrong URL or a run that never ended.
//! Each case states what GitHub (CommonMark + GFM) shows a reader.

mod util;

use serde_json::Value;
use util::{Tree, s, span};

fn links_of(name: &str, bytes: &[u8]) -> Vec<Value> {
    let tree = Tree::new();
    tree.file(name, bytes);
    let links = tree.links(&[name]);
    for link in &links {
        let span = span(link);
        assert_eq!(
            String::from_utf8_lossy(&bytes[span.clone()]),
            s(link, "raw"),
            "{span:?} in {:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    links
}

/// (raw, url) of each link.
fn raw_url(name: &str, bytes: &[u8]) -> Vec<(String, String)> {
    links_of(name, bytes)
        .iter()
        .map(|l| (s(l, "raw").to_owned(), s(l, "url").to_owned()))
        .collect()
}

fn pair(raw: &str, url: &str) -> (String, String) {
    (raw.to_owned(), url.to_owned())
}

#[test]
fn a_title_never_takes_the_destination_s_place() {
    assert_eq!(
        raw_url("t.md", b"[a](https://x.org/?q=\\&amp; \"[see](here\")\n"),
        [pair("https://x.org/?q=\\&amp;", "https://x.org/?q=&amp;")]
    );
    assert_eq!(raw_url("t.md", b"[a](u \"](x\")\n"), [pair("u", "u")]);
}

#[test]
fn a_definition_s_span_is_its_destination_alone() {
    assert_eq!(
        raw_url("d.md", b"[a]: https://x.org/&#0;\n\n[a]\n"),
        [pair("https://x.org/&#0;", "https://x.org/%EF%BF%BD")]
    );
    assert_eq!(
        raw_url("d.md", b"[a]: >x\\_y\n\n[a]\n"),
        [pair(">x\\_y", ">x_y")]
    );
}

#[test]
fn destinations_on_continuation_lines_of_block_quotes() {
    let links = links_of("q.md", b"> [a](\n> http://x.org/\\_a)\n");
    assert_eq!(s(&links[0], "raw"), "http://x.org/\\_a");
    assert_eq!(
        (links[0]["line"].as_u64(), links[0]["column"].as_u64()),
        (Some(2), Some(3))
    );
    let links = links_of("q.md", b"> - [a](\n>   http://x.org/b)\n");
    assert_eq!(s(&links[0], "raw"), "http://x.org/b");
    // Outside a quote, a `>` on the next line is the destination's own.
    let links = links_of("q.md", b"\n\n[x]: \r\t>```\n");
    assert_eq!(s(&links[0], "raw"), ">```");
    let links = links_of("q.md", b"[a](\n\t>x.md)\n");
    assert_eq!(s(&links[0], "raw"), ">x.md");
}

#[test]
fn html_tags_spanning_block_quote_lines() {
    let links = links_of(
        "h.md",
        b"> <div><img\n> src=\"x.png\"></div>\n\n> text <img\n> src=\"y.png\">\n",
    );
    let raws: Vec<&str> = links.iter().map(|l| s(l, "raw")).collect();
    assert_eq!(raws, ["x.png", "y.png"]);
}

#[test]
fn emphasis_and_escapes_do_not_cut_bare_urls() {
    assert_eq!(
        raw_url("e.md", b"https://x.org/?q=a*b and https://y.org/?q=c*d\n"),
        [
            pair("https://x.org/?q=a*b", "https://x.org/?q=a*b"),
            pair("https://y.org/?q=c*d", "https://y.org/?q=c*d")
        ]
    );
    assert_eq!(
        raw_url(
            "e.md",
            b"https://x.org/_next/a and https://en.wikipedia.org/wiki/Dune_(novel)\n"
        )
        .into_iter()
        .map(|p| p.0)
        .collect::<Vec<_>>(),
        [
            "https://x.org/_next/a",
            "https://en.wikipedia.org/wiki/Dune_(novel)"
        ]
    );
    assert_eq!(
        raw_url("e.md", b"*https://gitpod.io/#snapshot/91475a9d*\n"),
        [pair(
            "https://gitpod.io/#snapshot/91475a9d",
            "https://gitpod.io/#snapshot/91475a9d"
        )]
    );
}

#[test]
fn bare_urls_keep_entities_as_written_and_drop_a_trailing_one() {
    assert_eq!(
        raw_url("b.md", b"http://a.org/d&amp; and http://a.org/e&lt;x&gt;\n"),
        [
            pair("http://a.org/d", "http://a.org/d"),
            pair("http://a.org/e&lt;x", "http://a.org/e&lt;x")
        ]
    );
}

#[test]
fn only_what_github_links_is_a_bare_link() {
    let raws: Vec<String> = raw_url(
        "g.md",
        "abc://def.org file:///etc/passwd \"www.x.org\" 访问www.z.org foo@bar.baz- https://。 x\n"
            .as_bytes(),
    )
    .into_iter()
    .map(|p| p.0)
    .collect();
    assert!(raws.is_empty(), "{raws:?}");
}

#[test]
fn an_anchor_left_open_does_not_swallow_later_paragraphs() {
    let links = links_of("a.md", b"<a href=\"x\">\n\nsee https://y.org\n\n</a>\n");
    let raws: Vec<&str> = links.iter().map(|l| s(l, "raw")).collect();
    assert_eq!(raws, ["x", "https://y.org"]);
}

#[test]
fn a_nul_past_the_binary_sniff_does_not_break_the_link() {
    let mut note = vec![b'x'; 9000];
    note.extend_from_slice(b"\n\n[a](http://x.org/\x00y)\n\n[b]: http://x.org/\x00z\n\n[b]\n");
    let links = links_of("n.md", &note);
    let elements: Vec<&str> = links.iter().map(|l| s(l, "element")).collect();
    assert_eq!(elements, ["link", "reference"]);
}

#[test]
fn invalid_bytes_resolve_from_what_was_written() {
    let links = links_of("i.md", b"[a](http://x.org/caf\xe9)\n");
    assert_eq!(s(&links[0], "url"), "http://x.org/caf%EF%BF%BD");
    // A truncated sequence is one character, as an editor shows it.
    let links = links_of("i.md", b"\xe4\xb8 https://x.org/\n");
    assert_eq!(links[0]["column"].as_u64(), Some(3));
}

#[test]
fn hostile_inputs_finish_and_stay_exact() {
    // Each once took minutes: a re-scan per candidate, per link or per `](`.
    let links = links_of("w.md", &b":www.".repeat(20_000));
    assert!(links.is_empty());
    let links = links_of("p.html", &b"<a href=x>y</a>".repeat(50_000));
    assert_eq!(links.len(), 50_000);
    assert_eq!(links[49_999]["column"].as_u64(), Some(49_999 * 15 + 9));
    let mut title = b"[a](u \"".to_vec();
    title.extend(b"](".repeat(100_000));
    title.extend(b"\")\n");
    assert_eq!(raw_url("t.md", &title), [pair("u", "u")]);
    let mut text = b"[a".to_vec();
    text.extend(b"\\](".repeat(100_000));
    text.extend(b"](u)\n");
    assert_eq!(raw_url("x.md", &text), [pair("u", "u")]);
}

#[test]
fn a_tag_with_thousands_of_attributes_does_not_abort_the_run() {
    let tree = Tree::new();
    let mut bad = b"<img ".to_vec();
    bad.extend(b"a=\"\" ".repeat(30_000));
    bad.extend(b"src=\"x.png\">\n");
    tree.file("bad.md", &bad)
        .file("good.md", "[ok](https://ok.org)\n");
    let links = tree.links(&["."]);
    let raws: Vec<&str> = links.iter().map(|l| s(l, "raw")).collect();
    assert_eq!(raws, ["x.png", "https://ok.org"]);
}

#[test]
fn a_thematic_break_is_not_front_matter() {
    let note = "# 2022-07-10\n\n---\n今天读了 [YOLOv7](https://arxiv.org/abs/2207.02696)\n\n代码 https://github.com/WongKinYiu/yolov7\n\n---\n\nhttps://after.org\n";
    let raws: Vec<String> = raw_url("f.md", note.as_bytes())
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(
        raws,
        [
            "https://arxiv.org/abs/2207.02696",
            "https://github.com/WongKinYiu/yolov7",
            "https://after.org"
        ]
    );
    // Real front matter at the top is still not links.
    assert!(raw_url("f.md", b"---\nsource: https://front.matter/x\n---\n# t\n").is_empty());
}

#[test]
fn json_reports_put_the_summary_first() {
    let tree = Tree::new();
    tree.file("n.md", "[a](https://a.org)\n");
    let text = tree
        .archiver()
        .args(["links", "--format", "json", "n.md"])
        .finish()
        .stdout;
    let summary = text.find("\"summary\"").unwrap();
    let links = text.find("\"links\"").unwrap();
    assert!(summary < links, "{text}");
    let kinds = text.find("\"article\"").unwrap();
    assert!(
        kinds < text.find("\"other\"").unwrap(),
        "kinds in their documented order"
    );
}

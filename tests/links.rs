//! `archiver links` on hand-written fixtures: every construct, exact positions, odd
//! bytes, inputs and output formats.

mod util;

use std::path::Path;

use serde_json::Value;
use util::{Exit, Tree, archiver, archiver_in, assert_spans_match_raw, links_in, s, span};

fn fixtures() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/links"))
}

/// (line, column, kind, element, attribute, raw) of each link.
fn rows(links: &[Value]) -> Vec<(u64, u64, String, String, String, String)> {
    links
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
                s(l, "kind").to_owned(),
                s(l, "element").to_owned(),
                s(l, "attribute").to_owned(),
                s(l, "raw").to_owned(),
            )
        })
        .collect()
}

fn row(
    line: u64,
    column: u64,
    kind: &str,
    element: &str,
    attribute: &str,
    raw: &str,
) -> (u64, u64, String, String, String, String) {
    (
        line,
        column,
        kind.into(),
        element.into(),
        attribute.into(),
        raw.into(),
    )
}

#[test]
fn every_markdown_construct_is_found_where_it_is() {
    let links = links_in(fixtures(), &["constructs.md"]);
    assert_spans_match_raw(fixtures(), &links);
    let expected = vec![
        row(
            3,
            19,
            "article",
            "link",
            "",
            "https://mp.weixin.qq.com/s/T07zfA60e7OcfL8vgrxduw",
        ),
        row(
            4,
            22,
            "paper",
            "link",
            "",
            "https://arxiv.org/pdf/2207.02696.pdf",
        ),
        row(
            5,
            13,
            "code",
            "autolink",
            "",
            "https://github.com/meituan/YOLOv6",
        ),
        row(
            6,
            11,
            "code",
            "bare",
            "",
            "https://github.com/dyh/unbox_yolov5_deepsort_counting",
        ),
        row(7, 13, "mail", "autolink", "", "someone@example.edu.cn"),
        row(7, 45, "page", "bare", "", "www.example.org/about"),
        row(9, 8, "local", "image", "", "images/arch.png"),
        row(
            11,
            29,
            "image",
            "html",
            "img[src]",
            "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&amp;wxfrom=5",
        ),
        row(
            16,
            11,
            "paper",
            "reference",
            "",
            "https://arxiv.org/abs/2111.08687",
        ),
        row(18, 17, "local", "html", "a[href]", "../other.md#part-2"),
        row(
            27,
            19,
            "image",
            "html",
            "source[srcset]",
            "https://cdn.example.org/a.webp",
        ),
        row(
            27,
            54,
            "image",
            "html",
            "source[srcset]",
            "https://cdn.example.org/a@2x.webp",
        ),
        row(
            28,
            13,
            "image",
            "html",
            "img[src]",
            "https://cdn.example.org/a.png",
        ),
        row(
            31,
            13,
            "video",
            "html",
            "video[src]",
            "http://mpvideo.qpic.cn/v.f10003.mp4?dis_k=1&amp;dis_t=2",
        ),
        row(31, 78, "local", "html", "video[poster]", "poster.jpg"),
        row(33, 19, "invalid", "link", "", ""),
        row(33, 31, "invalid", "link", "", "https://example.org:99999/"),
        row(33, 80, "local", "link", "", "arxiv.org/abs/2111.08687"),
    ];
    assert_eq!(rows(&links), expected);

    let by_raw = |raw: &str| links.iter().find(|l| s(l, "raw") == raw).unwrap();
    // Entities decode in the resolved URL, not in the span.
    assert_eq!(
        s(
            by_raw("https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&amp;wxfrom=5"),
            "url"
        ),
        "https://mmbiz.qpic.cn/mmbiz_png/abc/640?wx_fmt=png&wxfrom=5"
    );
    assert_eq!(
        s(by_raw("www.example.org/about"), "url"),
        "http://www.example.org/about"
    );
    assert_eq!(
        s(by_raw("someone@example.edu.cn"), "url"),
        "mailto:someone@example.edu.cn"
    );
    assert_eq!(s(by_raw("images/arch.png"), "url"), "images/arch.png");
    assert_eq!(s(by_raw("images/arch.png"), "text"), "架构图");
    assert_eq!(s(by_raw("../other.md#part-2"), "text"), "其他笔记");
    assert_eq!(
        s(by_raw("https://arxiv.org/abs/2111.08687"), "text"),
        "the survey"
    );
    assert_eq!(
        s(by_raw("https://example.org:99999/"), "reason"),
        "invalid port number"
    );
    assert!(s(by_raw(""), "reason").contains("empty"));
    assert!(
        s(by_raw("arxiv.org/abs/2111.08687"), "hint").contains("https://arxiv.org/abs/2111.08687")
    );
    // Nothing from code spans, code blocks, or text that only looks like a link.
    assert!(links.iter().all(|l| !s(l, "url").contains("not.a.link")));
}

#[test]
fn every_html_attribute_is_found_and_nothing_hidden() {
    let links = links_in(fixtures(), &["page.html"]);
    assert_spans_match_raw(fixtures(), &links);
    let expected = vec![
        row(4, 32, "local", "html", "link[href]", "style.css"),
        row(
            9,
            19,
            "article",
            "html",
            "a[href]",
            "https://blog.csdn.net/x/article/details/1?a=1&amp;b=2",
        ),
        row(
            11,
            18,
            "image",
            "html",
            "img[data-src]",
            "https://mmbiz.qpic.cn/mmbiz_jpg/lazy/640?wx_fmt=jpeg",
        ),
        row(12, 16, "local", "html", "img[srcset]", "small.jpg"),
        row(12, 32, "local", "html", "img[srcset]", "large.jpg"),
        row(12, 54, "local", "html", "img[src]", "large.jpg"),
        row(
            13,
            16,
            "page",
            "html",
            "iframe[src]",
            "https://player.bilibili.com/player.html?bvid=BV1",
        ),
        row(14, 15, "local", "html", "embed[src]", "paper.pdf"),
        row(14, 40, "local", "html", "object[data]", "diagram.svg"),
        row(15, 15, "local", "html", "audio[src]", "talk.mp3"),
    ];
    assert_eq!(rows(&links), expected);
    let post = &links[1];
    assert_eq!(
        s(post, "url"),
        "https://blog.csdn.net/x/article/details/1?a=1&b=2"
    );
    assert_eq!(s(post, "text"), "the post");
    assert_eq!(s(&links[2], "text"), "懒加载");
}

#[test]
fn crlf_line_endings_keep_lines_columns_and_spans() {
    let tree = Tree::new();
    tree.file(
        "crlf.md",
        "# t\r\n\r\n中文 [a](https://a.org/x)\r\n<img\r\n  src=\"b.png\">\r\n[r]: https://r.org\r\n\r\n[r]\r\n",
    );
    let links = tree.links(&["crlf.md"]);
    assert_spans_match_raw(tree.path(), &links);
    let got: Vec<_> = rows(&links).into_iter().map(|r| (r.0, r.1, r.5)).collect();
    assert_eq!(
        got,
        [
            (3, 8, "https://a.org/x".to_owned()),
            (5, 8, "b.png".to_owned()),
            (6, 6, "https://r.org".to_owned()),
        ]
    );
}

#[test]
fn a_byte_order_mark_is_skipped_but_offsets_stay_file_offsets() {
    let tree = Tree::new();
    tree.file(
        "bom.md",
        "\u{feff}[first](https://a.org)\n# heading\n[ref]: https://b.org\n",
    );
    let links = tree.links(&["bom.md"]);
    assert_spans_match_raw(tree.path(), &links);
    assert_eq!(span(&links[0]), 11..24);
    // The mark is not a visible column.
    assert_eq!(
        (links[0]["line"].as_u64(), links[0]["column"].as_u64()),
        (Some(1), Some(9))
    );
    // A definition on a later line still parses as one despite the mark.
    assert_eq!(s(&links[1], "element"), "reference");
}

#[test]
fn invalid_utf8_is_read_lossily_with_exact_spans_and_a_warning() {
    let tree = Tree::new();
    let mut bytes = b"caf\xe9 \xff\xfe [x](https://a.org/\xe9t\xe9) <https://b.org/y>\n".to_vec();
    bytes.extend_from_slice("中文 https://c.org/z\n".as_bytes());
    tree.file("latin1.md", &bytes);
    let ran = tree
        .archiver()
        .args(["links", "--format", "jsonl", "latin1.md"])
        .expect(Exit::Success);
    let stderr = &ran.stderr;
    assert!(
        stderr.contains("latin1.md") && stderr.contains("not valid UTF-8"),
        "{stderr}"
    );
    let links: Vec<Value> = ran
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(links.len(), 3);
    for link in &links {
        let span = span(link);
        let at = String::from_utf8_lossy(&bytes[span]);
        assert_eq!(at, s(link, "raw"));
    }
    assert_eq!(s(&links[0], "raw"), "https://a.org/\u{fffd}t\u{fffd}");
    assert_eq!(s(&links[1], "raw"), "https://b.org/y");
    assert_eq!(
        (links[2]["line"].as_u64(), links[2]["column"].as_u64()),
        (Some(2), Some(4))
    );
}

#[test]
fn nested_html_keeps_each_element_straight() {
    let tree = Tree::new();
    tree.file(
        "nested.md",
        "<details><summary>图</summary>\n<div><a href=\"https://a.org/\"><img src=\"https://b.org/i.png\" alt=\"i\"></a>\n<video controls><source src=\"https://v.org/clip\" type=\"video/mp4\"></video>\n</div></details>\n",
    );
    let links = tree.links(&["nested.md"]);
    let got: Vec<_> = links
        .iter()
        .map(|l| (s(l, "attribute"), s(l, "kind")))
        .collect();
    assert_eq!(
        got,
        [
            ("a[href]", "page"),
            ("img[src]", "image"),
            ("source[src]", "video")
        ]
    );
}

#[test]
fn directories_are_walked_in_order_honouring_ignores_and_hidden_files() {
    let tree = Tree::new();
    tree.file("b.md", "[b](https://b.org)")
        .file("a/z.markdown", "[z](https://z.org)")
        .file("a/y.txt", "https://y.org")
        .file("a/page.htm", "<a href=\"https://p.org\">p</a>")
        .file("a/image.png", "\u{89}PNG")
        .file("ignored/x.md", "[x](https://x.org)")
        .file(".hidden/h.md", "[h](https://h.org)")
        .file(".ignore", "ignored/\n");
    let files = |args: &[&str]| -> Vec<String> {
        tree.links(args)
            .iter()
            .map(|l| s(l, "file").to_owned())
            .collect()
    };
    assert_eq!(
        files(&["."]),
        ["a/page.htm", "a/y.txt", "a/z.markdown", "b.md"]
    );
    assert_eq!(
        files(&["--hidden", "--no-ignore", "."]),
        [
            ".hidden/h.md",
            "a/page.htm",
            "a/y.txt",
            "a/z.markdown",
            "b.md",
            "ignored/x.md"
        ]
    );
    // Named explicitly, an ignored file is read.
    assert_eq!(files(&["ignored/x.md"]), ["ignored/x.md"]);
    // The same file twice is read once.
    assert_eq!(
        files(&["b.md", ".", "b.md"])
            .iter()
            .filter(|f| *f == "b.md")
            .count(),
        1
    );
}

#[test]
fn gitignore_is_honoured_inside_a_git_work_tree() {
    let tree = Tree::new();
    tree.file(".git/HEAD", "ref: refs/heads/main\n")
        .file(".gitignore", "drafts/\n")
        .file("drafts/d.md", "[d](https://d.org)")
        .file("n.md", "[n](https://n.org)");
    let files: Vec<String> = tree
        .links(&["."])
        .iter()
        .map(|l| s(l, "file").to_owned())
        .collect();
    assert_eq!(files, ["n.md"]);
}

#[test]
fn glob_patterns_are_expanded() {
    let tree = Tree::new();
    tree.file("notes/2021/a.md", "[a](https://a.org)")
        .file("notes/2022/b.md", "[b](https://b.org)")
        .file("notes/2022/c.html", "<a href=\"https://c.org\">c</a>")
        .file("top.md", "[t](https://t.org)");
    let files = |pattern: &str| -> Vec<String> {
        tree.links(&[pattern])
            .iter()
            .map(|l| s(l, "file").to_owned())
            .collect()
    };
    assert_eq!(
        files("notes/**/*.md"),
        ["notes/2021/a.md", "notes/2022/b.md"]
    );
    assert_eq!(
        files("notes/2022/*"),
        ["notes/2022/b.md", "notes/2022/c.html"]
    );
    assert_eq!(files("*.md"), ["top.md"]);
    tree.archiver()
        .args(["links", "nothing/*.md"])
        .expect(Exit::Error)
        .stderr_has("pattern `nothing/*.md` matched no files");
    tree.archiver()
        .args(["links", "notes/[.md"])
        .expect(Exit::Usage)
        .stderr_has("invalid glob pattern");
}

#[test]
fn standard_input_is_a_note_named_dash() {
    let tree = Tree::new();
    let links = tree
        .archiver()
        .args(["links", "--format", "jsonl", "-"])
        .stdin("见 [论文](https://arxiv.org/abs/2203.13254) ![](img/a.png)\n")
        .expect(Exit::Success)
        .jsonl();
    assert_eq!(links.len(), 2);
    assert_eq!((s(&links[0], "file"), s(&links[0], "kind")), ("-", "paper"));
    assert_eq!(links[0]["column"].as_u64(), Some(8));
    assert_eq!(s(&links[1], "url"), "img/a.png");

    tree.archiver()
        .args(["links", "--stdin-format", "html", "-"])
        .stdin("<img src=\"https://mmbiz.qpic.cn/x/640\">")
        .expect(Exit::Success)
        .stdout_is("-:1:11  image    https://mmbiz.qpic.cn/x/640\n");
}

#[test]
fn unreadable_and_missing_inputs_are_errors_that_do_not_stop_the_others() {
    let tree = Tree::new();
    tree.file("good.md", "[g](https://g.org)");
    std::fs::create_dir(tree.path().join("dir.md")).unwrap();
    tree.archiver()
        .args(["links", "missing.md", "good.md"])
        .expect(Exit::Error)
        .stdout_has("good.md:1:5")
        .stderr_has("missing.md: no such file or directory");
}

#[test]
#[cfg(unix)]
fn a_note_without_read_permission_is_named_in_the_error() {
    use std::os::unix::fs::PermissionsExt;
    let tree = Tree::new();
    tree.file("locked.md", "[l](https://l.org)")
        .file("open.md", "[o](https://o.org)");
    let locked = tree.path().join("locked.md");
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"skipped: running as a user who can read any file (root)\n",
        );
        return;
    }
    tree.archiver()
        .args(["links", "."])
        .expect(Exit::Error)
        .stdout_has("open.md")
        .stderr_has("cannot read locked.md");
}

#[test]
fn other_files_are_skipped_with_a_note_under_verbose() {
    let tree = Tree::new();
    tree.file("n.md", "[n](https://n.org)")
        .file("data.json", "{}")
        .file("bin.md", b"\x00\x01binary [x](https://x.org)");
    tree.archiver()
        .args(["links", "."])
        .expect(Exit::Success)
        .stderr_lacks("data.json")
        .stderr_has("bin.md: binary file");
    tree.archiver()
        .args(["-v", "links", "."])
        .expect(Exit::Success)
        .stderr_has("skipped data.json: not a note");
    // Named explicitly, any text file is read, as Markdown.
    tree.file("notes.rst", "see https://rst.example/x");
    tree.archiver()
        .args(["links", "notes.rst"])
        .expect(Exit::Success)
        .stdout_is("notes.rst:1:5  page     https://rst.example/x\n");
}

#[test]
fn json_has_a_summary_then_the_links() {
    let doc = archiver_in(fixtures())
        .args(["links", "--format", "json", "constructs.md", "page.html"])
        .expect(Exit::Success)
        .json();
    let summary = &doc["summary"];
    assert_eq!(summary["notes"], 2);
    assert_eq!(summary["links"], 28);
    assert_eq!(doc["links"].as_array().unwrap().len(), 28);
    assert_eq!(summary["kinds"]["local"], 11);
    assert_eq!(summary["kinds"]["image"], 5);
    assert_eq!(summary["kinds"]["other"], 0);
    assert_eq!(summary["errors"], 0);
    let first = &doc["links"][0];
    assert_eq!(first["span"], serde_json::json!([55, 104]));
    assert!(first.get("reason").is_none(), "absent fields are omitted");
}

#[test]
fn csv_has_a_header_and_span_columns() {
    let text = archiver_in(fixtures())
        .args(["links", "--format", "csv", "page.html"])
        .finish()
        .stdout;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "file",
            "line",
            "column",
            "span_start",
            "span_end",
            "kind",
            "element",
            "attribute",
            "raw",
            "url",
            "text",
            "reason",
            "hint"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 10);
    let post = &records[1];
    let bytes = std::fs::read(fixtures().join("page.html")).unwrap();
    let start: usize = post[3].parse().unwrap();
    let end: usize = post[4].parse().unwrap();
    assert_eq!(&bytes[start..end], post[8].as_bytes());
    assert_eq!(&post[10], "the post");
    // An empty listing still has its header.
    let tree = Tree::new();
    tree.file("none.md", "no links");
    tree.archiver()
        .args(["links", "--format", "csv", "none.md"])
        .expect(Exit::Success)
        .stdout_starts_with("file,line,column,span_start");
}

#[test]
fn unique_collapses_by_normalized_url_keeping_occurrences() {
    let tree = Tree::new();
    tree.file(
        "a.md",
        "[x](HTTPS://Example.ORG:443/p#one) and [y](https://example.org/p#two)\n<img src=\"https://example.org/p\">\n[z](https://example.org/q)\n",
    );
    let doc = tree
        .archiver()
        .args(["links", "--unique", "--format", "json", "a.md"])
        .finish()
        .json();
    let groups = doc["links"].as_array().unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["url"], "https://example.org/p");
    assert_eq!(groups[0]["count"], 3);
    // An <img> pointing at it makes it an image.
    assert_eq!(groups[0]["kind"], "image");
    let fragments: Vec<&str> = groups[0]["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| s(o, "url"))
        .collect();
    assert_eq!(
        fragments,
        [
            "https://example.org/p#one",
            "https://example.org/p#two",
            "https://example.org/p"
        ]
    );
    assert_eq!(doc["summary"]["unique_urls"], 2);

    tree.archiver()
        .args(["links", "--unique", "a.md"])
        .expect(Exit::Success)
        .stdout_is(
            "    3  image    https://example.org/p\n    1  page     https://example.org/q\n",
        );
}

#[test]
fn kind_filter_keeps_only_those_kinds() {
    let links = links_in(fixtures(), &["--kind", "image,video", "constructs.md"]);
    assert!(!links.is_empty());
    assert!(
        links
            .iter()
            .all(|l| matches!(s(l, "kind"), "image" | "video"))
    );
    archiver()
        .args(["links", "--kind", "picture", "."])
        .expect(Exit::Usage)
        .stderr_has("unknown kind `picture`");
}

#[test]
fn root_relative_links_follow_the_base_url() {
    let tree = Tree::new();
    tree.file("sub/n.md", "[a](/docs/a.pdf) [b](rel.md)");
    let links = tree.links(&["--base-url", "https://notes.example.org/", "sub/n.md"]);
    assert_eq!(s(&links[0], "url"), "https://notes.example.org/docs/a.pdf");
    assert_eq!(s(&links[0], "kind"), "pdf");
    assert_eq!(s(&links[1], "url"), "sub/rel.md");
    let links = tree.links(&["sub/n.md"]);
    assert_eq!(
        (s(&links[0], "kind"), s(&links[0], "url")),
        ("local", "docs/a.pdf")
    );
    let links = tree.links(&["--root-dir", "site", "sub/n.md"]);
    assert_eq!(s(&links[0], "url"), "site/docs/a.pdf");
}

/// `archiver links .` in `tree`, its first bytes read and its output then
/// closed, as `archiver links . | head -n 1` does.
fn links_then_hang_up(tree: &Tree) -> std::process::Child {
    let mut child = util::archiver_process(tree.path())
        .args(["links", "."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 64];
    std::io::Read::read(&mut stdout, &mut first).unwrap();
    drop(stdout);
    child
}

#[test]
fn a_closed_pipe_stops_a_walk_of_many_batches() {
    // More notes than the reading pipeline holds at once (batches of 16, 32,
    // 64 … in flight two deep): hanging up must stop the walk, not leave it
    // waiting to hand over a batch no one takes.
    let tree = Tree::new();
    let note = "[a](https://a.org/x) ![b](https://b.org/y.png)\n".repeat(100);
    for i in 0..400 {
        tree.file(&format!("d{}/n{i}.md", i % 7), &note);
    }
    let mut child = links_then_hang_up(&tree);
    // A wait with a limit: a stuck walk would otherwise hang the test run.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("`archiver links` did not stop after its reader hung up");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // Enough output that the writer is still busy when the reader hangs up.
    let tree = Tree::new();
    let note = "[a](https://a.org/x) ![b](https://b.org/y.png)\n".repeat(2000);
    for i in 0..20 {
        tree.file(&format!("n{i}.md"), &note);
    }
    let output = links_then_hang_up(&tree).wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

//! The README's quick start runs `archiver links examples/notes`: keep it working
//! and showing what the tool is for.

mod util;

use std::collections::BTreeSet;

use util::{Exit, archiver, assert_spans_match_raw, links_in, s};

#[test]
fn the_sample_notes_show_every_kind_of_link_the_notes_use() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let links = links_in(root, &["examples/notes"]);
    assert_spans_match_raw(root, &links);
    let kinds: BTreeSet<&str> = links.iter().map(|l| s(l, "kind")).collect();
    let expected: BTreeSet<&str> = [
        "article", "code", "image", "local", "page", "paper", "video",
    ]
    .into_iter()
    .collect();
    assert_eq!(kinds, expected);
    // The local image exists; the scheme-less paper link carries its hint.
    let local_image = links
        .iter()
        .find(|l| s(l, "attribute") == "img[src]" && s(l, "kind") == "local")
        .unwrap();
    assert!(root.join(s(local_image, "url")).is_file());
    assert!(
        links
            .iter()
            .any(|l| s(l, "hint").contains("https://arxiv.org/abs/2111.08687"))
    );
    // Nothing from the code span or code block.
    assert!(links.iter().all(|l| !s(l, "url").contains("not-a-link")));
}

#[test]
fn the_quick_start_command_succeeds() {
    archiver()
        .args(["links", "examples/notes"])
        .expect(Exit::Success);
}

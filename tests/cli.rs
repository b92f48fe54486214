//! Exit codes, help, and configuration layering, through the binary.

mod util;

use predicates::prelude::*;
use util::{Tree, archiver, archiver_in, s};

#[test]
fn help_and_version_succeed() {
    archiver()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("links").and(predicate::str::contains("Exit status")));
    archiver()
        .args(["links", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--unique").and(predicate::str::contains("--format")));
    archiver()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("archiver "));
}

#[test]
fn usage_errors_exit_3_not_clap_s_2() {
    archiver().assert().code(3);
    archiver()
        .args(["links", "--no-such-flag"])
        .assert()
        .code(3);
    archiver()
        .args(["links", "--format", "yaml"])
        .assert()
        .code(3);
    archiver().arg("frobnicate").assert().code(3);
}

#[test]
fn config_show_prints_the_effective_configuration() {
    let tree = Tree::new();
    archiver_in(tree.path())
        .args(["config", "--show"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("# merged from: shipped config.toml")
                .and(predicate::str::contains("name = \"wechat-image\""))
                .and(predicate::str::contains("\"mmbiz.qpic.cn\"")),
        );
}

#[test]
fn config_default_prints_the_shipped_file_verbatim() {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")).unwrap();
    archiver()
        .args(["config", "--default"])
        .assert()
        .success()
        .stdout(shipped);
}

#[test]
fn a_user_file_merges_over_the_shipped_rules() {
    let tree = Tree::new();
    tree.file(
        "n.md",
        "[c](https://github.com/a/b) [w](https://wiki.example.org/p) [p](https://arxiv.org/abs/1)",
    )
    .file(
        "conf/mine.toml",
        "[[sites]]\nname = \"github\"\nhosts = [\"github.com\"]\nkind = \"page\"\n\n\
             [[sites]]\nname = \"wiki\"\nhosts = [\"*.example.org\"]\nkind = \"article\"\n",
    );
    let kinds = |links: &[serde_json::Value]| -> Vec<String> {
        links.iter().map(|l| s(l, "kind").to_owned()).collect()
    };
    let links = tree.links(&["--config", "conf/mine.toml", "n.md"]);
    assert_eq!(kinds(&links), ["page", "article", "paper"]);

    // The same file through the environment.
    let output = archiver_in(tree.path())
        .env("ARCHIVER_CONFIG", "conf/mine.toml")
        .args(["links", "--format", "jsonl", "n.md"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("\"kind\":\"article\""));

    // And as ./archiver.toml, found without being named.
    std::fs::copy(
        tree.path().join("conf/mine.toml"),
        tree.path().join("archiver.toml"),
    )
    .unwrap();
    let links = tree.links(&["n.md"]);
    assert_eq!(kinds(&links), ["page", "article", "paper"]);
    archiver_in(tree.path())
        .args(["config", "--show"])
        .assert()
        .stdout(
            predicate::str::contains("archiver.toml")
                .and(predicate::str::contains("name = \"wiki\"")),
        );
}

#[test]
fn relative_paths_in_a_user_file_resolve_against_its_folder() {
    let tree = Tree::new();
    tree.file("n.md", "[a](/guide.md)")
        .file("conf/mine.toml", "[links]\nroot_dir = \"../site\"\n");
    let links = tree.links(&["--config", "conf/mine.toml", "n.md"]);
    assert_eq!(s(&links[0], "url"), "site/guide.md");
}

#[test]
fn a_user_file_saved_with_a_byte_order_mark_is_read() {
    // As Windows editors save it; the TOML parser skips the mark.
    let tree = Tree::new();
    tree.file("n.md", "[a](/guide.md)")
        .file("archiver.toml", "\u{feff}[links]\nroot_dir = \"site\"\n");
    let links = tree.links(&["n.md"]);
    assert_eq!(s(&links[0], "url"), "site/guide.md");
}

#[test]
fn flags_and_environment_beat_files() {
    let tree = Tree::new();
    tree.file("n.md", "[a](/a.md)").file(
        "archiver.toml",
        "[links]\nbase_url = \"https://file.example/\"\n",
    );
    let links = tree.links(&["n.md"]);
    assert_eq!(s(&links[0], "url"), "https://file.example/a.md");
    let output = archiver_in(tree.path())
        .env("ARCHIVER_BASE_URL", "https://env.example/")
        .args(["links", "--format", "jsonl", "n.md"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("https://env.example/a.md"));
    let links = tree.links(&["--base-url", "https://flag.example/", "n.md"]);
    assert_eq!(s(&links[0], "url"), "https://flag.example/a.md");
}

#[test]
fn bad_configuration_is_a_usage_error_that_names_the_file() {
    let tree = Tree::new();
    tree.file("typo.toml", "[links]\nbase_ulr = \"https://x.org/\"\n")
        .file(
            "bad.toml",
            "[[sites]]\nname = \"x\"\nhosts = [\"not a host\"]\n",
        )
        .file("broken.toml", "[links\n");
    archiver_in(tree.path())
        .args(["--config", "typo.toml", "links", "."])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("typo.toml").and(predicate::str::contains("base_ulr")));
    archiver_in(tree.path())
        .args(["--config", "bad.toml", "links", "."])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("bad.toml").and(predicate::str::contains("not a host")));
    archiver_in(tree.path())
        .args(["--config", "broken.toml", "config"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("broken.toml"));
    archiver_in(tree.path())
        .args(["--config", "absent.toml", "links", "."])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("absent.toml"));
    archiver_in(tree.path())
        .args(["links", "--base-url", "notes/", "."])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--base-url"));
}

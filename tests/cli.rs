//! Exit codes, help, and configuration layering, through the binary.

mod util;

use util::{Exit, Tree, archiver, s};

#[test]
fn help_and_version_succeed() {
    archiver()
        .arg("--help")
        .expect(Exit::Success)
        .stdout_has("links")
        .stdout_has("Exit status");
    archiver()
        .args(["links", "--help"])
        .expect(Exit::Success)
        .stdout_has("--unique")
        .stdout_has("--format");
    archiver()
        .arg("--version")
        .expect(Exit::Success)
        .stdout_starts_with("archiver ");
}

#[test]
fn usage_errors_exit_3_not_clap_s_2() {
    archiver().expect(Exit::Usage);
    archiver()
        .args(["links", "--no-such-flag"])
        .expect(Exit::Usage);
    archiver()
        .args(["links", "--format", "yaml"])
        .expect(Exit::Usage);
    archiver().arg("frobnicate").expect(Exit::Usage);
}

#[test]
fn config_show_prints_the_effective_configuration() {
    let tree = Tree::new();
    tree.archiver()
        .args(["config", "--show"])
        .expect(Exit::Success)
        .stdout_has("# merged from: shipped config.toml")
        .stdout_has("name = \"wechat-image\"")
        .stdout_has("\"mmbiz.qpic.cn\"");
}

#[test]
fn config_default_prints_the_shipped_file_verbatim() {
    let shipped =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml")).unwrap();
    archiver()
        .args(["config", "--default"])
        .expect(Exit::Success)
        .stdout_is(shipped);
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
    tree.archiver()
        .env("ARCHIVER_CONFIG", "conf/mine.toml")
        .args(["links", "--format", "jsonl", "n.md"])
        .finish()
        .stdout_has("\"kind\":\"article\"");

    // And as ./archiver.toml, found without being named.
    std::fs::copy(
        tree.path().join("conf/mine.toml"),
        tree.path().join("archiver.toml"),
    )
    .unwrap();
    let links = tree.links(&["n.md"]);
    assert_eq!(kinds(&links), ["page", "article", "paper"]);
    tree.archiver()
        .args(["config", "--show"])
        .finish()
        .stdout_has("archiver.toml")
        .stdout_has("name = \"wiki\"");
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
    tree.archiver()
        .env("ARCHIVER_BASE_URL", "https://env.example/")
        .args(["links", "--format", "jsonl", "n.md"])
        .finish()
        .stdout_has("https://env.example/a.md");
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
        .file("broken.toml", "[links\n")
        .file("selector.toml", "[snapshot]\nshow = [\"div[[x\"]\n");
    tree.archiver()
        .args(["--config", "typo.toml", "links", "."])
        .expect(Exit::Usage)
        .stderr_has("typo.toml")
        .stderr_has("base_ulr");
    tree.archiver()
        .args(["--config", "bad.toml", "links", "."])
        .expect(Exit::Usage)
        .stderr_has("bad.toml")
        .stderr_has("not a host");
    tree.archiver()
        .args(["--config", "broken.toml", "config"])
        .expect(Exit::Usage)
        .stderr_has("broken.toml");
    // A selector the snapshot rewriter cannot use is refused when read, not
    // met in the middle of a fetch.
    tree.archiver()
        .args(["--config", "selector.toml", "config", "--show"])
        .expect(Exit::Usage)
        .stderr_has("snapshot.show: `div[[x` is not a CSS selector");
    tree.archiver()
        .args(["--config", "absent.toml", "links", "."])
        .expect(Exit::Usage)
        .stderr_has("absent.toml");
    tree.archiver()
        .args(["links", "--base-url", "notes/", "."])
        .expect(Exit::Usage)
        .stderr_has("--base-url");
}

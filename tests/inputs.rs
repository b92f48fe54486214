//! Strange notes and strange URLs: each gets a clear verdict, with no panic and
//! bounded work. (`bench/inputs.sh` measures time and memory per input byte on
//! the worst notes.)

mod util;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use util::server::{Fixture, Reply, Req};
use util::{Exit, Ran, Tree, s};

const QUICK: &str = "[network]\ntimeout = \"3s\"\nretries = 0\n";

#[test]
fn chinese_paths_spaces_idn_hosts_and_script_uris_each_get_a_verdict() {
    // 例子.测试 as the resolver and TLS know it.
    let idn = "xn--fsqu00a.xn--0zwm56d";
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&asked);
    let fixture = Fixture::start(&["a.example.org", idn], move |req: &Req| {
        log.lock()
            .unwrap()
            .push(format!("{}{}", req.host, req.path));
        Reply::html("fine")
    });
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK).file(
        "notes/n.md",
        "\
[中文](https://a.example.org/路径/文件.html)
[space](<https://a.example.org/a b.html>)
[encoded](https://a.example.org/a%20c.html)
[idn](https://例子.测试/页)
[js](javascript:alert(1))
![data](data:image/png;base64,iVBORw0KGgo=)
[mail](mailto:someone@example.org)
[bad](<https://exa mple.org/>)
",
    );
    let (code, results) = util::check_notes(tree.path(), &fixture.args());
    let verdict = |url: &str| {
        s(
            results
                .get(url)
                .unwrap_or_else(|| panic!("{url}: {results:#?}")),
            "verdict",
        )
        .to_owned()
    };
    assert_eq!(
        verdict("https://a.example.org/%E8%B7%AF%E5%BE%84/%E6%96%87%E4%BB%B6.html"),
        "ok"
    );
    assert_eq!(verdict("https://a.example.org/a%20b.html"), "ok");
    assert_eq!(verdict("https://a.example.org/a%20c.html"), "ok");
    assert_eq!(verdict(&format!("https://{idn}/%E9%A1%B5")), "ok");
    assert_eq!(verdict("javascript:alert(1)"), "unsupported");
    assert_eq!(verdict("data:image/png;base64,iVBORw0KGgo="), "unsupported");
    assert_eq!(verdict("mailto:someone@example.org"), "unsupported");
    assert!(
        results.values().any(|r| s(r, "verdict") == "invalid"),
        "a host with a space is invalid: {results:#?}"
    );
    assert_eq!(code, Some(2), "the invalid URL fails the run");
    // The server saw the URLs encoded as on the wire, the IDN host in punycode.
    let asked = asked.lock().unwrap();
    assert!(
        asked.iter().any(|a| a == &format!("{idn}/%E9%A1%B5")),
        "{asked:?}"
    );
    assert!(
        asked.iter().any(|a| a == "a.example.org/a%20b.html"),
        "{asked:?}"
    );
}

#[test]
fn a_note_in_gbk_a_long_line_and_deep_nesting_are_read_through() {
    let tree = Tree::new();
    // GBK bytes around a link: not UTF-8, read as far as it goes.
    let mut gbk = b"\xc4\xe3\xba\xc3 [link](https://a.example.org/gbk) \xca\xc0\xbd\xe7\n".to_vec();
    gbk.extend_from_slice(b"\xff\xfe [two](https://a.example.org/two)\n");
    tree.file("notes/gbk.md", gbk);
    // Ten megabytes on one line with a link every 100 KB.
    let mut line = String::with_capacity(10 << 20);
    for i in 0..100 {
        line.push_str(&"x".repeat(100_000));
        line.push_str(&format!(" https://a.example.org/long/{i} "));
    }
    line.push('\n');
    tree.file("notes/long.md", line);
    // 100 000 nested elements around an image.
    let deep = "<div>".repeat(100_000)
        + "<img src=\"https://a.example.org/deep.png\">"
        + &"</div>".repeat(100_000);
    tree.file("notes/deep.html", deep);
    let links = tree.links(&["notes"]);
    let urls: Vec<&str> = links.iter().map(|l| s(l, "url")).collect();
    assert!(urls.contains(&"https://a.example.org/gbk"), "{urls:?}");
    assert!(urls.contains(&"https://a.example.org/two"), "{urls:?}");
    assert_eq!(urls.iter().filter(|u| u.contains("/long/")).count(), 100);
    assert!(urls.contains(&"https://a.example.org/deep.png"), "{urls:?}");
    util::assert_spans_match_raw(tree.path(), &links);
}

#[cfg(unix)]
#[test]
fn a_symlinked_folder_in_the_notes_is_not_walked_out_of_the_tree() {
    let tree = Tree::new();
    tree.file("notes/in.md", "[in](https://a.example.org/in)\n")
        .file("elsewhere/out.md", "[out](https://a.example.org/out)\n");
    std::os::unix::fs::symlink(
        tree.path().join("elsewhere"),
        tree.path().join("notes/linked"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        tree.path().join("elsewhere/out.md"),
        tree.path().join("notes/linked-note.md"),
    )
    .unwrap();
    let urls: Vec<String> = tree
        .links(&["notes"])
        .iter()
        .map(|l| s(l, "url").to_owned())
        .collect();
    assert_eq!(urls, ["https://a.example.org/in"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_named_on_the_command_line_is_an_error_naming_it() {
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK)
        .file("notes/a.md", "[a](https://a.example.org/a)\n");
    let fifo = tree.path().join("pipe.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // gc needs an archive, and holds its lock while it reads the notes.
    tree.archiver()
        .args(["fetch", "notes"])
        .timeout(Duration::from_secs(30))
        .expect(Exit::Success);
    for command in ["links", "check", "fetch", "rewrite", "gc"] {
        for (input, kind) in [("pipe.md", "FIFO"), ("/dev/zero", "character device")] {
            let Ran { code, stderr, .. } = tree
                .archiver()
                .args([command, input])
                .timeout(Duration::from_secs(1))
                .finish();
            assert_eq!(
                code,
                Some(1),
                "{command} {input}: ends at once, as for an unreadable note: {stderr}"
            );
            assert!(
                stderr.contains(&format!("{input}: is a {kind}"))
                    && stderr.contains("regular file"),
                "{command} {input}: {stderr}"
            );
        }
    }
}

#[cfg(unix)]
#[test]
fn an_endless_standard_input_is_not_read_without_end() {
    use std::io::Read;
    let tree = Tree::new();
    // NUL bytes from the start: binary, told from the first 8 KB.
    let mut child = util::archiver_process(tree.path())
        .args(["links", "-"])
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(1) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{stderr}");
    assert!(stderr.contains("skipped -: binary file"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_named_and_the_walk_names_what_it_passes_over() {
    let tree = Tree::new();
    tree.file("notes/a.md", "[a](https://a.example.org/a)\n");
    let notes = tree.path().join("notes");
    std::os::unix::fs::symlink("loop.md", notes.join("loop.md")).unwrap();
    std::os::unix::fs::symlink("gone.md", notes.join("dangling.md")).unwrap();
    let stderr = tree
        .archiver()
        .args(["links", "notes/loop.md"])
        .timeout(Duration::from_secs(10))
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("notes/loop.md: is a symbolic link loop"),
        "{stderr}"
    );
    assert!(!stderr.contains("no such file"), "{stderr}");
    let stderr = tree
        .archiver()
        .args(["links", "notes/dangling.md"])
        .timeout(Duration::from_secs(10))
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("notes/dangling.md: is a symbolic link to gone.md, which does not exist"),
        "{stderr}"
    );
    // Walked, they are passed over, and named under -v.
    let made = std::process::Command::new("mkfifo")
        .arg(notes.join("pipe.md"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let stderr = tree
        .archiver()
        .args(["links", "-v", "notes"])
        .timeout(Duration::from_secs(10))
        .expect(Exit::Success)
        .stderr;
    for skipped in [
        "skipped notes/loop.md: a symbolic link",
        "skipped notes/dangling.md: a symbolic link",
        "skipped notes/pipe.md: a FIFO (named pipe)",
    ] {
        assert!(stderr.contains(skipped), "{skipped}: {stderr}");
    }
}

#[test]
fn a_note_over_max_note_size_is_skipped_with_a_warning_naming_it() {
    let tree = Tree::new();
    tree.file("archiver.toml", "[input]\nmax_note_size = \"1KB\"\n")
        .file("notes/small.md", "[a](https://a.example.org/a)\n")
        .file(
            "notes/big.md",
            format!("[b](https://a.example.org/b)\n{}", "x".repeat(2000)),
        );
    let Ran { stdout, stderr, .. } = tree
        .archiver()
        .args(["links", "--format", "jsonl", "notes"])
        .timeout(Duration::from_secs(10))
        .expect(Exit::Success);
    assert!(
        stderr.contains(
            "warning: skipped notes/big.md: larger (2.0 KB) than input.max_note_size (1KB); not read"
        ),
        "{stderr}"
    );
    assert!(stdout.contains("https://a.example.org/a"), "{stdout}");
    assert!(!stdout.contains("https://a.example.org/b"), "{stdout}");
}

/// The peak resident memory of `archiver ARGS…` run in `dir`, in bytes, as
/// `/usr/bin/time` measures it; `None` (after saying so) where it is missing.
fn peak_memory(dir: &std::path::Path, args: &[&str]) -> Option<u64> {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: no /usr/bin/time to measure peak memory with"
        );
        return None;
    }
    let report = dir.join("time.txt");
    // The environment the helper gives archiver, with time in front.
    let archiver = util::archiver_process(dir);
    let mut timed = std::process::Command::new(time);
    timed
        .current_dir(dir)
        .args(["-f", "%M", "-o"])
        .arg(&report)
        .arg(archiver.get_program())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (key, value) in archiver.get_envs() {
        match value {
            Some(value) => timed.env(key, value),
            None => timed.env_remove(key),
        };
    }
    let status = timed.status().expect("/usr/bin/time runs");
    assert!(status.success(), "archiver {args:?}: {status}");
    let kb: u64 = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("a peak in KB");
    Some(kb * 1024)
}

#[test]
fn one_long_line_of_link_openers_takes_memory_in_proportion_to_its_size() {
    let tree = Tree::new();
    let size = 50_000_000;
    tree.file("notes/openers.md", "[a](".repeat(size / 4) + "\n");
    let Some(peak) = peak_memory(
        tree.path(),
        &["links", "--format", "jsonl", "notes/openers.md"],
    ) else {
        return;
    };
    // Under ten bytes per byte of the note, plus a constant: the parser's
    // tree is as large as the piece it parses, not as the note.
    let bound = 10 * size as u64 + (64 << 20);
    assert!(
        peak < bound,
        "peak memory {} MB for a {} MB note (bound {} MB)",
        peak >> 20,
        size >> 20,
        bound >> 20
    );
}

//! Broken and hostile servers: every fault gives its verdict, in bounded
//! time, and leaves nothing behind. docs/reliability.md's table lists
//! these cases with their verdicts; `tests/fetch.rs` covers the download
//! limits (endless bodies, gzip and brotli bombs, bodies cut short).

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use util::raw::RawServer;
use util::server::{Fixture, Reply, Req};
use util::{Exit, Ran, Report, Tree, s};

/// Short limits, so the slow faults end quickly.
const QUICK: &str = "[network]\ntimeout = \"2s\"\ndeadline = \"6s\"\nretries = 1\nretry_delay = \"20ms\"\nmax_retry_after = \"1s\"\n\n[fetch]\nwayback = false\n";

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn each_server_fault_gets_its_verdict_in_bounded_time() {
    let flaky = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&flaky);
    // The fixture's own plain-HTTP port, learnt once it runs: a redirect to
    // 127.0.0.1 there would reach it, so a guard that let it through is seen.
    let own_port: Arc<std::sync::OnceLock<u16>> = Arc::default();
    let port = Arc::clone(&own_port);
    let fixture = Fixture::start(
        &["faults.example", "expired.faults.example"],
        move |req: &Req| {
            let path = req.path.as_str();
            match path {
                "/loop-a" => Reply::redirect(302, "/loop-b"),
                "/loop-b" => Reply::redirect(302, "/loop-a"),
                p if p.starts_with("/hop/") => {
                    let n: u32 = p[5..].parse().unwrap_or(0);
                    if n >= 30 {
                        Reply::html("the end")
                    } else {
                        Reply::redirect(302, &format!("/hop/{}", n + 1))
                    }
                }
                "/to-ftp" => Reply::redirect(302, "ftp://faults.example/file"),
                "/to-javascript" => Reply::redirect(302, "javascript:alert(1)"),
                "/to-loopback" => Reply::redirect(
                    302,
                    &format!(
                        "http://127.0.0.1:{}/admin",
                        port.get().copied().unwrap_or(9)
                    ),
                ),
                "/to-link-local" => {
                    Reply::redirect(302, "http://169.254.169.254/latest/meta-data/")
                }
                "/to-ipv6-loopback" => Reply::redirect(302, "http://[::1]:9/"),
                "/to-localhost" => Reply::redirect(302, "http://localhost:9/"),
                "/storm" => Reply::status(429),
                "/storm-retry-after" => Reply::status(429).header("retry-after", "1"),
                "/500-then-200" => {
                    if count.fetch_add(1, Ordering::SeqCst) == 0 {
                        Reply::status(500)
                    } else {
                        Reply::html("fine now")
                    }
                }
                _ => Reply::html("fine"),
            }
        },
    );
    own_port.set(fixture.http_addr().port()).unwrap();
    let raw = RawServer::start();
    let refused = closed_port();
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK).file(
        "notes/faults.md",
        "\
https://faults.example/loop-a
https://faults.example/hop/0
https://faults.example/to-ftp
https://faults.example/to-javascript
https://faults.example/to-loopback
https://faults.example/to-link-local
https://faults.example/to-ipv6-loopback
https://faults.example/to-localhost
https://faults.example/storm
https://faults.example/storm-retry-after
https://faults.example/500-then-200
https://expired.faults.example/
https://wrong-name.example/
http://raw.example/reset-before-headers
http://raw.example/headers-forever
http://raw.example/trickle
http://refused.example/
https://no-such-host.invalid/
",
    );
    let mut args = fixture.args();
    // A host the server has no certificate for.
    let https = fixture.https_addr();
    args.extend([
        "--connect-to".into(),
        format!("wrong-name.example:443={https}"),
    ]);
    args.extend(raw.args("raw.example"));
    args.extend([
        "--connect-to".into(),
        format!("refused.example:80=127.0.0.1:{refused}"),
    ]);
    // The raw server's slow pages are read with GET, so their body matters.
    tree.file(
        "archiver.toml",
        format!(
            "{QUICK}\n[[sites]]\nname = \"raw\"\nhosts = [\"raw.example\"]\nmethod = \"get\"\n"
        ),
    );
    let started = Instant::now();
    let (code, results) = util::check_notes(tree.path(), &args);
    let took = started.elapsed();
    let verdict = |url: &str| -> (String, String) {
        let r = results
            .get(url)
            .unwrap_or_else(|| panic!("no result for {url}: {results:#?}"));
        (
            s(r, "verdict").to_owned(),
            r.get("reason")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        )
    };
    let expect = [
        ("https://faults.example/loop-a", "dead", "redirect loop"),
        (
            "https://faults.example/hop/0",
            "dead",
            "more than 10 redirects",
        ),
        ("https://faults.example/to-ftp", "error", "ftp"),
        (
            "https://faults.example/to-javascript",
            "error",
            "bad redirect",
        ),
        (
            "https://faults.example/to-loopback",
            "error",
            "private address refused",
        ),
        (
            "https://faults.example/to-link-local",
            "error",
            "169.254.169.254",
        ),
        (
            "https://faults.example/to-ipv6-loopback",
            "error",
            "private address refused",
        ),
        (
            "https://faults.example/to-localhost",
            "error",
            "private address refused",
        ),
        ("https://faults.example/storm", "blocked", "429"),
        ("https://faults.example/storm-retry-after", "blocked", "429"),
        ("https://faults.example/500-then-200", "ok", ""),
        ("https://expired.faults.example/", "error", "TLS"),
        ("https://wrong-name.example/", "error", "TLS"),
        (
            "http://raw.example/reset-before-headers",
            "error",
            "connection broken",
        ),
        ("http://raw.example/headers-forever", "timeout", ""),
        ("http://raw.example/trickle", "ok", ""),
        ("http://refused.example/", "dead", "connection refused"),
        ("https://no-such-host.invalid/", "dead", "no such host"),
    ];
    let mut wrong = Vec::new();
    for (url, want, why) in expect {
        let (got, reason) = verdict(url);
        if got != want || !reason.contains(why) {
            wrong.push(format!("{url}: {got} ({reason}), expected {want} ({why})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(code, Some(2));
    // Every fault together took about one deadline, not their sum.
    assert!(took < Duration::from_secs(60), "{took:?}");
    // The guard refused before connecting: the fixture, listening there, was
    // never asked.
    assert_eq!(fixture.requests("127.0.0.1", "/admin"), 0);
}

#[test]
fn private_redirects_are_followed_when_allowed_or_when_the_link_is_private_itself() {
    let fixture = Fixture::start(&["faults.example"], |req: &Req| match req.path.as_str() {
        "/to-localhost" => Reply::redirect(302, "http://localhost/inside"),
        "/inside" => Reply::html("inside"),
        "/hop" => Reply::redirect(302, "http://sub.localhost/inside"),
        _ => Reply::status(404),
    });
    // localhost names, pointed at the fixture's plain-HTTP port.
    let mut args = fixture.args();
    let http = fixture.http_addr();
    for host in ["localhost", "sub.localhost"] {
        args.extend(["--connect-to".into(), format!("{host}:80={http}")]);
    }
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK).file(
        "notes/n.md",
        "https://faults.example/to-localhost\n\nhttp://localhost/hop\n",
    );
    let (_, results) = util::check_notes(tree.path(), &args);
    assert_eq!(
        s(&results["https://faults.example/to-localhost"], "verdict"),
        "error"
    );
    // A link to a private address is the user's own: its redirects are followed.
    assert_eq!(s(&results["http://localhost/hop"], "verdict"), "redirected");

    tree.file(
        "archiver.toml",
        QUICK.replace("[network]\n", "[network]\nallow_private_redirects = true\n"),
    );
    let (_, results) = util::check_notes(tree.path(), &args);
    assert_eq!(
        s(&results["https://faults.example/to-localhost"], "verdict"),
        "redirected"
    );
}

#[test]
fn downloads_that_promise_more_than_they_send_or_crawl_fail_and_leave_nothing() {
    let raw = RawServer::start();
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK).file(
        "notes/n.md",
        "![short](http://raw.example/short.png)\n\n![slow](http://raw.example/trickle)\n",
    );
    let started = Instant::now();
    let ran = tree
        .archiver()
        .args(["fetch", "--format", "json", "--kinds", "image"])
        .args(raw.args("raw.example"))
        .arg("notes")
        .timeout(Duration::from_secs(120))
        .expect(Exit::Findings);
    let took = started.elapsed();
    let Report { results, .. } = ran.report();
    let outcome = |url: &str| {
        let r = &results[url];
        (
            s(r, "outcome").to_owned(),
            r.get("reason_code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        )
    };
    assert_eq!(outcome("http://raw.example/short.png").0, "failed");
    assert_eq!(outcome("http://raw.example/short.png").1, "truncated");
    // One byte a second: cut off after three timeouts (6 s here), not after
    // the 100 000 s the body would take.
    assert_eq!(
        outcome("http://raw.example/trickle"),
        ("failed".into(), "too-slow".into())
    );
    assert!(took < Duration::from_secs(60), "{took:?}");
    // Nothing half-written stays in the archive.
    let tmp = tree.path().join("archive/tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    let objects = tree.path().join("archive/objects");
    let stored = walk(&objects);
    assert!(stored.is_empty(), "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// Twelve images, two of them large, for the disk-full runs.
fn images_server() -> (Fixture, Tree) {
    let fixture = Fixture::start(&["img.example.org"], |req: &Req| {
        let n: usize = req
            .path
            .trim_start_matches('/')
            .trim_end_matches(".png")
            .parse()
            .unwrap_or(0);
        let len = if n >= 10 { 300_000 } else { 20_000 };
        let mut body = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        body.extend((0..len).map(|i| (i * 7 + n * 13) as u8));
        Reply::status(200)
            .body(body)
            .in_pieces(16 * 1024, Duration::from_millis(2))
    });
    let tree = Tree::new();
    let mut note = String::new();
    for n in 0..12 {
        note.push_str(&format!("![i](https://img.example.org/{n}.png)\n"));
    }
    tree.file("archiver.toml", QUICK).file("notes/n.md", note);
    (fixture, tree)
}

#[test]
fn a_full_disk_stops_fetch_with_a_clear_error_and_a_consistent_archive() {
    let (fixture, tree) = images_server();
    let stderr = tree
        .archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .env("ARCHIVER_FAULT_DISK_FULL_AFTER", "150000")
        .timeout(Duration::from_secs(60))
        .expect(Exit::Error)
        .stderr;
    assert!(
        stderr.contains("the disk holding the archive is full"),
        "{stderr}"
    );
    assert!(
        stderr.contains("free some space and run `archiver fetch` again"),
        "{stderr}"
    );
    // Whatever landed is whole and recorded; nothing half-written remains.
    let Ran {
        code,
        stdout: report,
        ..
    } = tree
        .archiver()
        .args(["verify", "--archive", "archive"])
        .finish();
    assert!(
        !report.contains("corrupt")
            && !report.contains("missing")
            && !report.contains("bad-record"),
        "{report}"
    );
    assert!(matches!(code, Some(0 | 2)), "{report}");
    assert!(walk(&tree.path().join("archive/tmp")).is_empty());
    // With room again, a rerun completes and the archive is clean.
    tree.archiver()
        .args(["fetch", "notes"])
        .args(fixture.args())
        .expect(Exit::Success);
    tree.archiver()
        .args(["verify", "--archive", "archive"])
        .expect(Exit::Success);
}

#[cfg(target_os = "linux")]
#[test]
fn a_real_full_disk_where_a_tmpfs_can_be_mounted() {
    let (fixture, tree) = images_server();
    let mount = tree.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=400k", "tmpfs"])
        .arg(&mount)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!(
            "skipped: a tmpfs cannot be mounted here (needs root); the injected full disk is tested instead"
        );
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            // Lazily if busy: never a mount left behind under /tmp.
            let done = std::process::Command::new("umount")
                .arg(&self.0)
                .status()
                .is_ok_and(|s| s.success());
            if !done {
                let _ = std::process::Command::new("umount")
                    .arg("-l")
                    .arg(&self.0)
                    .status();
            }
        }
    }
    let _unmount = Unmount(mount.clone());
    let stderr = tree
        .archiver()
        .args(["fetch", "--archive", "small/archive", "notes"])
        .args(fixture.args())
        .timeout(Duration::from_secs(60))
        .expect(Exit::Error)
        .stderr;
    assert!(stderr.contains("full"), "{stderr}");
    let report = tree
        .archiver()
        .args(["verify", "--archive", "small/archive"])
        .finish()
        .stdout;
    assert!(
        !report.contains("corrupt")
            && !report.contains("missing")
            && !report.contains("bad-record"),
        "{report}"
    );
    assert!(walk(&mount.join("archive/tmp")).is_empty());
}

#[test]
fn a_page_cannot_name_a_private_address_for_fetch_to_ask() {
    let own_port: Arc<std::sync::OnceLock<u16>> = Arc::default();
    let port = Arc::clone(&own_port);
    let fixture = Fixture::start(&["openreview.net"], move |req: &Req| {
        match req.path.as_str() {
            "/forum" => Reply::html(&format!(
                "<html><head><meta name=\"citation_pdf_url\" content=\"http://127.0.0.1:{}/secret.pdf\"></head></html>",
                port.get().copied().unwrap_or(9)
            )),
            "/secret.pdf" => Reply::status(200).body(b"%PDF-1.4\n%%EOF\n"),
            _ => Reply::status(404),
        }
    });
    own_port.set(fixture.http_addr().port()).unwrap();
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK)
        .file("notes/n.md", "[paper](https://openreview.net/forum)\n");
    let Report { results, .. } = tree
        .archiver()
        .args(["fetch", "--format", "json", "--kinds", "paper", "notes"])
        .args(fixture.args())
        .finish()
        .report();
    let result = &results["https://openreview.net/forum"];
    assert_eq!(s(result, "outcome"), "failed", "{result}");
    assert_eq!(s(result, "reason_code"), "private-redirect", "{result}");
    assert_eq!(fixture.requests("127.0.0.1", "/secret.pdf"), 0);
}

#[test]
fn a_redirect_to_a_name_that_resolves_to_loopback_is_refused_at_the_connection() {
    use std::net::ToSocketAddrs;
    // A name the machine's resolver maps to loopback, not one the guard knows
    // by its spelling (as it knows localhost).
    let name = ["ip6-localhost", "ip6-loopback", "vm", "runsc"]
        .into_iter()
        .find(|name| {
            (*name, 80)
                .to_socket_addrs()
                .is_ok_and(|mut a| a.all(|a| a.ip().is_loopback()))
        });
    let Some(name) = name else {
        eprintln!("skipped: no name here resolves to loopback through the system resolver");
        return;
    };
    let own_port: Arc<std::sync::OnceLock<u16>> = Arc::default();
    let port = Arc::clone(&own_port);
    let fixture = Fixture::start(&["faults.example"], move |req: &Req| {
        match req.path.as_str() {
            "/away" => Reply::redirect(
                302,
                &format!("http://{name}:{}/inside", port.get().copied().unwrap_or(9)),
            ),
            _ => Reply::html("inside"),
        }
    });
    own_port.set(fixture.http_addr().port()).unwrap();
    let tree = Tree::new();
    tree.file("archiver.toml", QUICK)
        .file("notes/n.md", "https://faults.example/away\n");
    let (_, results) = util::check_notes(tree.path(), &fixture.args());
    let result = &results["https://faults.example/away"];
    assert_eq!(s(result, "verdict"), "error", "{result}");
    assert!(s(result, "reason").contains("private address"), "{result}");
    assert_eq!(fixture.requests(name, "/inside"), 0, "{name} was reached");
}

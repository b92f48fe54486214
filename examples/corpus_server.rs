//! An HTTPS imitation of the hosts of a real collection of notes, for the
//! batching benchmark (`bench/batch.sh`): every page answers 200 after a fixed
//! latency, and `export.arxiv.org/api/query` answers an Atom feed listing every
//! id asked. It trusts nothing from the web; the archiver is pointed at it with
//! the `--connect-to` and `--ca-cert` arguments it writes to ARGS_FILE.
//!
//! Usage: corpus_server ARGS_FILE LATENCY_MS HOST…  (runs until killed)

#[path = "../tests/util/server.rs"]
mod server;

use std::fmt::Write as _;
use std::time::Duration;

use server::{Fixture, Reply, Req};

fn feed(path: &str) -> Reply {
    let ids = path
        .split_once("id_list=")
        .map(|(_, rest)| rest.split('&').next().unwrap_or_default())
        .unwrap_or_default();
    let mut feed = String::from("<feed xmlns=\"http://www.w3.org/2005/Atom\">");
    for id in ids.split(',').filter(|id| !id.is_empty()) {
        let _ = write!(
            feed,
            "<entry><id>http://arxiv.org/abs/{id}</id><link title=\"pdf\" href=\"http://arxiv.org/pdf/{id}\"/></entry>"
        );
    }
    feed.push_str("</feed>");
    Reply::status(200).body(feed)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(latency)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: corpus_server ARGS_FILE LATENCY_MS HOST…");
        std::process::exit(3);
    };
    let latency = Duration::from_millis(latency.parse().unwrap_or(50));
    let hosts: Vec<&str> = args[3..].iter().map(String::as_str).collect();
    let fixture = Fixture::start(&hosts, move |req: &Req| {
        let reply = if req.host == "export.arxiv.org" && req.path.starts_with("/api/query") {
            feed(&req.path)
        } else if req.method == "HEAD" {
            Reply::status(200)
        } else {
            Reply::html("<div id=\"js_content\"><p>live</p></div>")
        };
        reply.delay(latency)
    });
    std::fs::write(out, fixture.args().join("\n")).expect("the arguments file is written");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

//! The HTTP stack's floor for the `check` benchmark (`bench/check.sh`): a bare
//! reqwest client, the one archiver is built on, asks every URL once with HEAD
//! at the same limits (requests in flight overall and per host) and does
//! nothing else: no judging, no retries, no method fallback, no history, no
//! report. Its time is what one round trip per URL costs on this machine and
//! stack; what a checker takes beyond it is its own.
//!
//! Usage: bench_floor URLS_FILE MAX_CONCURRENCY HOST_CONCURRENCY
//!
//! Prints the wall time of the requests alone (the URL list is read before).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(file), Some(max), Some(per_host)) = (
        args.get(1),
        args.get(2).and_then(|a| a.parse::<usize>().ok()),
        args.get(3).and_then(|a| a.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: bench_floor URLS_FILE MAX_CONCURRENCY HOST_CONCURRENCY");
        std::process::exit(2);
    };
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("{file}: {e}");
            std::process::exit(2);
        }
    };
    let urls: Vec<url::Url> = text
        .lines()
        .filter_map(|line| url::Url::parse(line.trim()).ok())
        .collect();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(per_host)
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            eprintln!("cannot set up the HTTP client: {e}");
            std::process::exit(1);
        }
    };
    let global = Arc::new(Semaphore::new(max.max(1)));
    let mut hosts: HashMap<String, Arc<Semaphore>> = HashMap::new();
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for url in urls {
        let host = url.host_str().unwrap_or_default().to_owned();
        let host = Arc::clone(
            hosts
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(per_host.max(1)))),
        );
        let (global, client) = (Arc::clone(&global), client.clone());
        tasks.spawn(async move {
            // The host's slot first, then a global one: a request waiting for
            // its host does not hold a global slot.
            let Ok(_host) = host.acquire().await else {
                return false;
            };
            let Ok(_global) = global.acquire().await else {
                return false;
            };
            client.head(url).send().await.is_ok()
        });
    }
    let (mut answered, mut failed) = (0_usize, 0_usize);
    while let Some(done) = tasks.join_next().await {
        if matches!(done, Ok(true)) {
            answered += 1;
        } else {
            failed += 1;
        }
    }
    println!("{:.2} {answered} {failed}", started.elapsed().as_secs_f64());
}

#!/usr/bin/env bash
# Batching benchmark: `archiver check` on the real notes (../shared/corpus, or
# CORPUS=dir) against a local HTTPS imitation of their hosts with 50 ms latency,
# with the shipped site rules (their intervals included), once with arXiv papers
# checked one by one and once through arXiv's API, a hundred per request. Then
# the same for the arXiv links alone, where batching is all that changes.
#
#   bench/batch.sh
#   LATENCY_MS=100 bench/batch.sh
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus/dairly-learning}
latency_ms=${LATENCY_MS:-50}
[ -d "$corpus" ] || { echo "no corpus at $corpus (set CORPUS=dir)" >&2; exit 1; }

echo "building archiver and the corpus server (release)…" >&2
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml" --example corpus_server
archiver=$here/target/release/archiver
server=$here/target/release/examples/corpus_server

work=$(mktemp -d)
cleanup() { [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

hosts=$("$archiver" links --unique --format jsonl "$corpus" | python3 -c '
import sys, json, urllib.parse
hosts = {urllib.parse.urlsplit(json.loads(l)["url"]).hostname for l in sys.stdin}
hosts = {h for h in hosts if h}
hosts.add("export.arxiv.org")
print(" ".join(sorted(hosts)))')
# shellcheck disable=SC2086
"$server" "$work/args" "$latency_ms" $hosts 2>/dev/null &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/args" ] && break; sleep 0.1; done
mapfile -t net <"$work/args"

# "One by one": the shipped arXiv rule without its batch table.
cat >"$work/one-by-one.toml" <<'TOML'
[[sites]]
name = "arxiv"
hosts = ["arxiv.org", "*.arxiv.org"]
kind = "paper"
min_interval = "334ms"
host_concurrency = 2
TOML
printf '' >"$work/batched.toml"

run() { # config, extra args… → prints seconds and the verdict counts
  local config=$1; shift
  local start end
  start=$(date +%s.%N)
  "$archiver" --config "$config" check --no-state --format json "${net[@]}" "$@" "$corpus" \
    >"$work/report.json" 2>/dev/null || true
  end=$(date +%s.%N)
  python3 - "$start" "$end" "$work/report.json" <<'PY'
import sys, json
start, end, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = json.load(open(path))["summary"]
counts = ", ".join(f"{n} {v}" for v, n in s["by_verdict"].items() if n)
print(f"{end - start:7.1f} s  ({s['urls']} URLs: {counts})")
PY
}

echo "latency ${latency_ms} ms; shipped site rules and intervals"
printf 'whole corpus, arXiv one by one:  %s\n' "$(run "$work/one-by-one.toml")"
printf 'whole corpus, arXiv batched:     %s\n' "$(run "$work/batched.toml")"
printf 'arXiv links, one by one:         %s\n' "$(run "$work/one-by-one.toml" --include 'arxiv\.org')"
printf 'arXiv links, batched:            %s\n' "$(run "$work/batched.toml" --include 'arxiv\.org')"

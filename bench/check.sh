#!/usr/bin/env bash
# Checking benchmark: `archiver check` against its lower bound and against lychee,
# on a local server with 50 ms added latency, about 20,000 unique URLs over 50 hosts
# (loopback addresses 127.0.0.2–127.0.0.51 on one port), 5% of them dead.
#
#   bench/check.sh                       # lychee from PATH, or LYCHEE=/path/to/lychee
#   URLS=100000 bench/check.sh           # the memory run
#   URLS=100000 HOSTS=500 bench/check.sh # the load run: 500 hosts
#   CHECK_ARGS=--no-state bench/check.sh # without recording the history
#
# Lower bound = max(max over hosts of ceil(urls_on_host / host_concurrency),
#                   ceil(urls / max_concurrency)) × latency.
# Both tools run with the same limits: 128 requests in flight, 8 per host, no
# per-host interval. lychee is installed separately, outside this repository.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
urls=${URLS:-20000}
hosts=${HOSTS:-50}
latency_ms=${LATENCY_MS:-50}
dead_percent=${DEAD_PERCENT:-5}
port=${PORT:-18090}
max_concurrency=128
host_concurrency=8
lychee=${LYCHEE:-$(command -v lychee || true)}

echo "building archiver and the benchmark server (release)…" >&2
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml" --example bench_server
archiver=$here/target/release/archiver
server=$here/target/release/examples/bench_server

work=$(mktemp -d)
"$server" "$port" "$latency_ms" "$dead_percent" 2>/dev/null &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5

# The notes: 100 links per note, URLs spread evenly over the hosts.
mkdir -p "$work/notes"
python3 - "$work/notes" "$urls" "$hosts" "$port" <<'PY'
import sys
folder, urls, hosts, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
per_note = 100
for n in range((urls + per_note - 1) // per_note):
    lines = []
    for i in range(n * per_note, min(urls, (n + 1) * per_note)):
        j = i % hosts
        host = f"127.0.{j // 250}.{2 + j % 250}"
        lines.append(f"- [link {i}](http://{host}:{port}/p{i})")
    with open(f"{folder}/note{n:05}.md", "w") as f:
        f.write("\n".join(lines) + "\n")
PY

bound=$(python3 -c "
import math
urls, hosts = $urls, $hosts
per_host = math.ceil(urls / hosts)
print(max(math.ceil(per_host / $host_concurrency), math.ceil(urls / $max_concurrency)) * $latency_ms / 1000)")

config=$work/archiver.toml
printf '[network]\nmin_interval = "0s"\nmax_concurrency = %s\nhost_concurrency = %s\n' \
  "$max_concurrency" "$host_concurrency" >"$config"

cd "$work"
# shellcheck disable=SC2086
/usr/bin/time -f '%e %M' -o "$work/time" "$archiver" --config "$config" check ${CHECK_ARGS:-} --format json notes >"$work/report.json" 2>"$work/stderr" || true
read -r t_archiver rss_archiver < <(tail -n 1 "$work/time")
dead=$(python3 -c "import json; print(json.load(open('$work/report.json'))['summary']['by_verdict']['dead'])")
printf 'URLs: %s on %s hosts, %s ms latency; archiver found %s dead\n' "$urls" "$hosts" "$latency_ms" "$dead"
printf 'lower bound:            %6.2f s\n' "$bound"
printf 'archiver check:         %6.2f s  (%.2f× the bound; goal ≤ 1.25×), peak memory %s MB\n' \
  "$t_archiver" "$(python3 -c "print($t_archiver / $bound)")" "$((rss_archiver / 1024))"
stats=$(python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$port/__stats').read().decode())")
printf 'most requests in flight on one host: %s (limit %s), over %s hosts\n' \
  "$(python3 -c "import json; print(json.loads('$stats')['most_in_flight'])")" "$host_concurrency" \
  "$(python3 -c "import json; print(json.loads('$stats')['hosts'])")"

if [ -n "$lychee" ] && [ -x "$lychee" ]; then
  /usr/bin/time -f '%e %M' -o "$work/time" "$lychee" --no-progress --max-concurrency "$max_concurrency" \
    --host-concurrency "$host_concurrency" --host-request-interval 0ms --max-retries 0 \
    --format json --output "$work/lychee.json" notes >/dev/null 2>&1 || true
  read -r t_lychee rss_lychee < <(tail -n 1 "$work/time")
  printf 'lychee:                 %6.2f s  peak memory %s MB\n' "$t_lychee" "$((rss_lychee / 1024))"
  printf 'archiver / lychee wall time: %.2f (goal: at most 0.50)\n' "$(python3 -c "print($t_archiver / $t_lychee)")"
else
  echo "lychee not found: set LYCHEE=/path/to/lychee to compare" >&2
fi

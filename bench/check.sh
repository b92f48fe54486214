#!/usr/bin/env bash
# Checking benchmark: `archiver check` against its lower bound and against lychee,
# on a local server with 50 ms added latency, about 20,000 unique URLs over 50 hosts
# (loopback addresses 127.0.0.2–127.0.0.51 on one port), 5% of them dead.
#
#   bench/check.sh                       # lychee from PATH, or LYCHEE=/path/to/lychee
#   URLS=100000 bench/check.sh           # the memory run
#   URLS=100000 HOSTS=500 bench/check.sh # the load run: 500 hosts
#   CHECK_ARGS=--no-state bench/check.sh # without recording the history
#   LAYOUTS=interleaved bench/check.sh   # one layout of the links only
#   MAX_CONCURRENCY=512 HOST_CONCURRENCY=16 bench/check.sh
#   FAULTS=1 bench/check.sh              # the faults run: 20 ms latency, 2% of the
#                                        # URLs answer 503 once, 1 host in 7 refuses HEAD;
#                                        # each layout run 3 times (REPEAT), the median
#                                        # ratio against lychee the one that counts
#   REPEAT=10 LAYOUTS=interleaved bench/check.sh  # each layout run 10 times, the
#                                        # ratios' range and median after them
#   ARCHIVER=/path/to/archiver bench/check.sh  # time another build (the script's
#                                        # own release build is the default)
#
# How the links sit in the notes changes what a checker that works through them in
# order can do, so each run is made on three layouts of the same URLs:
#   grouped      each note of 100 links cites one host (an article's images on
#                one CDN, a list of repositories), the notes taking turns;
#   runs         10 links in a row on one host, then the next host;
#   interleaved  every link on the next host: a checker's best case.
#
# Lower bound = max(max over hosts of ceil(urls_on_host / host_concurrency),
#                   ceil(urls / max_concurrency)) × latency.
# The HTTP floor: a bare reqwest client, the one archiver is built on
# (examples/bench_floor.rs), asks every URL once with HEAD at the same limits
# and does nothing else; the server's span of archiver's run (its network phase)
# is compared with that time. Beyond it are archiver's retries of the 503s,
# its GETs where HEAD is refused, and its own work per answer.
# Both tools run with the same limits: 128 requests in flight, 8 per host (unless
# set as above), no per-host interval. archiver retries a 503 as it does by
# default (after 25 to 50 ms: retry_delay_5xx) and never a 404; lychee is run without retries
# (its retries would wait out a second too). lychee is installed separately,
# outside this repository.
#
# Each run's verdicts are checked against the server's truth: the dead paths are
# chosen by a hash the script computes too, so a 503-once URL reported broken, or
# a dead one reported live, is counted as wrong.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
urls=${URLS:-20000}
hosts=${HOSTS:-50}
if [ -n "${FAULTS:-}" ]; then
  # lychee's own time varies by a tenth from run to run (4.4 to 4.9 s here), so
  # one run's ratio says more about lychee than about archiver: the median of
  # three is the figure.
  : "${LATENCY_MS:=20}" "${FLAKY_PERCENT:=2}" "${HEAD_REFUSED_EVERY:=7}" "${REPEAT:=3}"
fi
latency_ms=${LATENCY_MS:-50}
dead_percent=${DEAD_PERCENT:-5}
flaky_percent=${FLAKY_PERCENT:-0}
head_refused_every=${HEAD_REFUSED_EVERY:-0}
port=${PORT:-18090}
max_concurrency=${MAX_CONCURRENCY:-128}
host_concurrency=${HOST_CONCURRENCY:-8}
lychee=${LYCHEE:-$(command -v lychee || true)}
repeat=${REPEAT:-1}

echo "building archiver and the benchmark server (release)…" >&2
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml" --example bench_server
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml" --example bench_floor
archiver=${ARCHIVER:-$here/target/release/archiver}
server=$here/target/release/examples/bench_server
floor=$here/target/release/examples/bench_floor

work=$(mktemp -d)
"$server" "$port" "$latency_ms" "$dead_percent" "$flaky_percent" "$head_refused_every" 2>/dev/null &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the benchmark server did not start: is port $port taken? (PORT=… picks another)" >&2
  exit 1
fi

stats() {
  python3 -c "import json, sys, urllib.request
print(json.loads(urllib.request.urlopen('http://127.0.0.1:$port/__stats').read())[sys.argv[1]])" "$1"
}
reset() { python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/__reset').read()"; }
# What the server counted of the run just made.
served() {
  printf '    server: %s requests over %.2f s, at most %s in flight on one host (limit %s), %s hosts, %s connections\n' \
    "$(stats requests)" "$(python3 -c "print($(stats network_ms) / 1000)")" "$(stats most_in_flight)" \
    "$host_concurrency" "$(stats hosts)" "$(stats connections)"
  printf '            %s in flight on average (limit %s), %s ms per answer\n' \
    "$(stats mean_in_flight)" "$max_concurrency" "$(stats mean_answer_ms)"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

# How many URLs a tool judged wrong: `wrong archiver report.json` or
# `wrong lychee lychee.json`, against the dead paths the server's hash picks.
wrong() {
  python3 - "$1" "$2" "$dead_percent" "$urls" <<'PY'
import json, sys
tool, report, dead_percent, urls = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def fnv(text):
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h
dead = {f"/p{i}" for i in range(urls) if fnv(f"/p{i}") % 100 < dead_percent}
path = lambda url: "/" + url.split("/", 3)[3]
data = json.load(open(report))
if tool == "archiver":
    judged = {path(r["url"]): r["verdict"] for r in data["results"]}
    wrong = sum(1 for p, v in judged.items() if (v == "dead") != (p in dead))
    wrong += urls - len(judged)
else:
    failed = {
        path(e.get("url") or e.get("uri"))
        for key in ("error_map", "timeout_map")
        for errors in data.get(key, {}).values()
        for e in errors
    }
    wrong = len(failed ^ dead)
print(wrong)
PY
}

bound=$(python3 -c "
import math
urls, hosts = $urls, $hosts
per_host = math.ceil(urls / hosts)
print(max(math.ceil(per_host / $host_concurrency), math.ceil(urls / $max_concurrency)) * $latency_ms / 1000)")

config=$work/archiver.toml
printf '[network]\nmin_interval = "0s"\nmax_concurrency = %s\nhost_concurrency = %s\n' \
  "$max_concurrency" "$host_concurrency" >"$config"

printf 'URLs: %s on %s hosts, %s ms latency, %s%% dead; %s requests in flight, %s per host\n' \
  "$urls" "$hosts" "$latency_ms" "$dead_percent" "$max_concurrency" "$host_concurrency"
if [ "$flaky_percent" != 0 ] || [ "$head_refused_every" != 0 ]; then
  printf 'faults: %s%% of the URLs answer 503 once; HEAD refused by 1 host in %s\n' \
    "$flaky_percent" "$head_refused_every"
fi
printf 'lower bound: %.2f s\n' "$bound"
if [ -z "$lychee" ] || [ ! -x "$lychee" ]; then
  echo "lychee not found: set LYCHEE=/path/to/lychee to compare" >&2
  lychee=
fi

for layout in ${LAYOUTS:-grouped runs interleaved}; do
  case $layout in
    grouped) run=100 ;;
    runs) run=10 ;;
    interleaved) run=1 ;;
    *) echo "unknown layout $layout (grouped, runs, interleaved)" >&2; exit 2 ;;
  esac
  # The notes: 100 links per note; `run` links in a row share a host, and the
  # hosts take turns, so every host has the same number of URLs.
  rm -rf "$work/notes" && mkdir -p "$work/notes"
  python3 - "$work/notes" "$urls" "$hosts" "$port" "$run" "$work/urls.txt" <<'PY'
import sys
folder, urls, hosts, port, run = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
per_note = 100
every = []
for n in range((urls + per_note - 1) // per_note):
    lines = []
    for i in range(n * per_note, min(urls, (n + 1) * per_note)):
        j = (i // run) % hosts
        host = f"127.0.{j // 250}.{2 + j % 250}"
        every.append(f"http://{host}:{port}/p{i}")
        lines.append(f"- [link {i}]({every[-1]})")
    with open(f"{folder}/note{n:05}.md", "w") as f:
        f.write("\n".join(lines) + "\n")
# The same URLs in the notes' order, for the floor.
with open(sys.argv[6], "w") as f:
    f.write("\n".join(every) + "\n")
PY

  echo
  echo "layout: $layout"
  ratios=()
  for _ in $(seq "$repeat"); do
    reset
    cd "$work"
    rm -rf .archiver
    # shellcheck disable=SC2086
    /usr/bin/time -f '%e %M' -o "$work/time" "$archiver" --config "$config" check ${CHECK_ARGS:-} \
      --format json notes >"$work/report.json" 2>"$work/stderr" || true
    read -r t_archiver rss_archiver < <(tail -n 1 "$work/time")
    dead=$(python3 -c "import json; print(json.load(open('$work/report.json'))['summary']['by_verdict']['dead'])")
    printf '  archiver check: %6.2f s  %s× the bound (goal ≤ 1.25×), peak memory %s MB, %s dead, %s judged wrong\n' \
      "$t_archiver" "$(ratio "$t_archiver" "$bound")" "$((rss_archiver / 1024))" "$dead" \
      "$(wrong archiver "$work/report.json")"
    served
    network_archiver=$(python3 -c "print($(stats network_ms) / 1000)")

    # What the HTTP stack alone takes: one HEAD per URL, same limits.
    reset
    t_floor=
    read -r t_floor _ floor_failed < <("$floor" "$work/urls.txt" "$max_concurrency" "$host_concurrency") || true
    if [ -n "$t_floor" ]; then
      printf '  HTTP floor:     %6.2f s  (a bare reqwest client, one HEAD per URL, %s failed); archiver'"'"'s network phase %.2f s, %s× it\n' \
        "$t_floor" "$floor_failed" "$network_archiver" "$(ratio "$network_archiver" "$t_floor")"
    else
      echo "  HTTP floor: the bare client did not run (see its error above)"
    fi

    if [ -n "$lychee" ]; then
      reset
      /usr/bin/time -f '%e %M' -o "$work/time" "$lychee" --no-progress --max-concurrency "$max_concurrency" \
        --host-concurrency "$host_concurrency" --host-request-interval 0ms --max-retries 0 \
        --format json --output "$work/lychee.json" notes >/dev/null 2>&1 || true
      read -r t_lychee rss_lychee < <(tail -n 1 "$work/time")
      errors=$(python3 -c "import json; print(json.load(open('$work/lychee.json'))['errors'])")
      printf '  lychee:         %6.2f s  %s× the bound, peak memory %s MB, %s errors, %s judged wrong\n' \
        "$t_lychee" "$(ratio "$t_lychee" "$bound")" "$((rss_lychee / 1024))" "$errors" \
        "$(wrong lychee "$work/lychee.json")"
      served
      goal=0.50
      if [ "$flaky_percent" != 0 ] || [ "$head_refused_every" != 0 ]; then goal=0.80; fi
      printf '  archiver / lychee wall time: %s (goal: at most %s)\n' "$(ratio "$t_archiver" "$t_lychee")" "$goal"
      ratios+=("$(python3 -c "print($t_archiver / $t_lychee)")")
    fi
  done
  if [ "${#ratios[@]}" -gt 1 ]; then
    python3 - "$goal" "${ratios[@]}" <<'PY'
import statistics, sys
goal, ratios = float(sys.argv[1]), sorted(float(r) for r in sys.argv[2:])
met = sum(r <= goal for r in ratios)
median = statistics.median(ratios)
print(f"  over {len(ratios)} runs: {ratios[0]:.2f} to {ratios[-1]:.2f}, at most {goal:.2f} in {met} of them")
print(f"  archiver / lychee wall time, the median: {median:.2f} (goal: at most {goal:.2f}): "
      + ("met" if median <= goal else "not met"))
PY
  fi
done

#!/usr/bin/env bash
# Extraction benchmark: `archiver links` against `lychee --dump` on the real notes,
# replicated to about TARGET_MB megabytes.
#
#   bench/links.sh                    # uses lychee from PATH, or LYCHEE=/path/to/lychee
#   TARGET_MB=40 RUNS=5 bench/links.sh
#
# lychee is not a dependency of this repository: install it once, outside the repo
# (`cargo install lychee@0.24.2 --locked --root ~/tools/lychee`). Without it, only
# archiver's throughput is reported. Each tool runs RUNS times (default 3) on a warm
# page cache; the best wall time counts. Both write to /dev/null. archiver's figure
# is for its default text listing (file:line:col kind url), lychee's for its plain
# URL dump; the JSON Lines figure is printed too.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus/dairly-learning}
target_mb=${TARGET_MB:-120}
runs=${RUNS:-3}
lychee=${LYCHEE:-$(command -v lychee || true)}

[ -d "$corpus/notes" ] || { echo "no corpus at $corpus (set CORPUS)" >&2; exit 1; }

echo "building archiver (release)…" >&2
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
archiver=$here/target/release/archiver

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/notes
mkdir -p "$tree"

# Replicate the Markdown notes (not the images) until the tree reaches the target.
one_copy_bytes=$(find "$corpus" -name '*.md' -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
copies=$(( (target_mb * 1000 * 1000 + one_copy_bytes - 1) / one_copy_bytes ))
one=$work/one
mkdir -p "$one"
(cd "$corpus" && find . -name '*.md' -type f -exec cp --parents {} "$one" \;)
for i in $(seq 1 "$copies"); do
  cp -r "$one" "$tree/copy$i"
done
bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
files=$(find "$tree" -type f | wc -l)
mb=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}')
echo "corpus: $files notes, $mb MB ($copies copies of $corpus)" >&2

# best_of CMD…: the best wall time in seconds over $runs runs (after one warm-up).
best_of() {
  "$@" >/dev/null 2>&1 || true
  local best=""
  for _ in $(seq 1 "$runs"); do
    local t
    /usr/bin/time -f '%e' -o "$work/time" "$@" >/dev/null 2>&1 || true
    t=$(tail -n 1 "$work/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN {exit !(a < b)}'; then best=$t; fi
  done
  echo "$best"
}

cd "$work"
mbps() { awk -v b="$bytes" -v t="$1" 'BEGIN {printf "%.0f", b / 1e6 / (t > 0 ? t : 0.001)}'; }
count=$("$archiver" links notes | wc -l)
t_archiver=$(best_of "$archiver" links notes)
t_jsonl=$(best_of "$archiver" links --format jsonl notes)
printf 'archiver links:                %s links in %ss, %s MB/s\n' "$count" "$t_archiver" "$(mbps "$t_archiver")"
printf 'archiver links --format jsonl: %ss, %s MB/s\n' "$t_jsonl" "$(mbps "$t_jsonl")"

if [ -n "$lychee" ] && [ -x "$lychee" ]; then
  lcount=$("$lychee" --dump --include-mail notes 2>/dev/null | wc -l)
  t_lychee=$(best_of "$lychee" --dump --include-mail notes)
  ratio=$(awk -v a="$t_archiver" -v l="$t_lychee" 'BEGIN {printf "%.2f", a / (l > 0 ? l : 0.001)}')
  printf 'lychee --dump:                 %s links in %ss, %s MB/s\n' "$lcount" "$t_lychee" "$(mbps "$t_lychee")"
  printf 'archiver links / lychee --dump wall time: %s (goal: at most 0.50)\n' "$ratio"
else
  echo "lychee not found: set LYCHEE=/path/to/lychee to compare" >&2
fi

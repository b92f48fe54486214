#!/usr/bin/env bash
# Hostile notes, measured: wall time and peak memory of `archiver links` on a
# 100 MB note that is a single line (a link every 100 KB), and on an HTML note
# nested 100,000 levels deep, in a release build.
#
#   bench/inputs.sh
#   MB=500 bench/inputs.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mb=${MB:-100}
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
archiver=$here/target/release/archiver
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$mb" <<'PY'
import sys
work, mb = sys.argv[1], int(sys.argv[2])
block = "x" * 100_000
with open(f"{work}/long.md", "w") as f:
    for i in range(mb * 10):
        f.write(block)
        f.write(f" https://example.org/long/{i} ")
    f.write("\n")
with open(f"{work}/deep.html", "w") as f:
    f.write("<div>" * 100_000 + '<img src="https://example.org/deep.png">' + "</div>" * 100_000)
PY
for note in long.md deep.html; do
  size=$(du -m "$work/$note" | cut -f1)
  /usr/bin/time -f '%e %M' -o "$work/time" "$archiver" links --format jsonl "$work/$note" >"$work/out" 2>"$work/err"
  read -r seconds kb <"$work/time"
  printf '%-10s %5s MB: %6s s, peak memory %4s MB, %s links\n' "$note" "$size" "$seconds" "$((kb / 1024))" "$(wc -l <"$work/out")"
done

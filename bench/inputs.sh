#!/usr/bin/env bash
# Hostile notes, measured: wall time and peak memory of `archiver links` per
# byte of input, in a release build, on the notes that once cost the most:
#
#   openers.md   one line of `[a](` repeated (every byte may open or close a link)
#   angles.md    one line of `<`
#   nested.md    `[` nested N deep around a link, closed by `](u)` N times
#   schemes.md   one line of `http://` fragments
#   log.txt      a plain-text log (no blank line: one paragraph), URLs on each line
#   normal.md    an ordinary note (headings, links, images, CJK text, code) repeated
#   deep.html    an HTML note nested 100,000 levels deep
#
# Each note is about MB megabytes (default 50), generated in a temporary folder
# that is removed afterwards. Peak memory is the resident set as /usr/bin/time
# reports it; "B/B" is that peak divided by the note's size.
#
#   bench/inputs.sh
#   MB=200 bench/inputs.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mb=${MB:-50}
cargo build --release --locked --quiet --manifest-path "$here/Cargo.toml"
archiver=$here/target/release/archiver
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work" "$mb" <<'PY'
import sys
work, mb = sys.argv[1], int(sys.argv[2])
size = mb * 1_000_000

def repeat(name, unit, end="\n"):
    with open(f"{work}/{name}", "w") as f:
        f.write(unit * (size // len(unit)) + end)

repeat("openers.md", "[a](")
repeat("angles.md", "<")
depth = size // 5
with open(f"{work}/nested.md", "w") as f:
    f.write("[" * depth + "a" + "](u)" * depth + "\n")
repeat("schemes.md", "http://")
line = ("2026-12-05T23:51:{s:02}Z INFO [worker-{w}] GET https://api.example.org/v1/items/{i}"
        "?page=2&sort=desc -> 200 (12 ms) user=<anonymous> *cache* miss_{i}\n")
with open(f"{work}/log.txt", "w") as f:
    written, i = 0, 0
    while written < size:
        text = line.format(s=i % 60, w=i % 8, i=i)
        f.write(text)
        written += len(text)
        i += 1
note = """# 读书笔记 {i}

今天读了 [YOLOv7](https://arxiv.org/abs/2207.{i:05}) 和 **论文** *Attention* 的代码：
https://github.com/example/repo-{i}，还有 <https://example.org/page/{i}>。

![figure](https://mmbiz.qpic.cn/mmbiz_png/{i}/640?wx_fmt=png&tp=webp)

- item one with a [reference link][r{i}]
- item two `code https://not.a.link/{i}`

```python
print("https://inside.code/{i}")
```

<img src="https://img.example.org/{i}.jpg" alt="x">

[r{i}]: https://example.com/ref/{i} "Title"

"""
with open(f"{work}/normal.md", "w") as f:
    written, i = 0, 0
    while written < size:
        text = note.format(i=i)
        f.write(text)
        written += len(text.encode())
        i += 1
with open(f"{work}/deep.html", "w") as f:
    f.write("<div>" * 100_000 + '<img src="https://example.org/deep.png">' + "</div>" * 100_000)
PY
printf '%-12s %8s %9s %10s %8s %9s\n' note MB seconds 'peak MB' 'B/B' links
for note in openers.md angles.md nested.md schemes.md log.txt normal.md deep.html; do
  bytes=$(wc -c <"$work/$note")
  /usr/bin/time -f '%e %M' -o "$work/time" \
    "$archiver" links --format jsonl "$work/$note" >"$work/out" 2>"$work/err" || true
  read -r seconds kb <"$work/time"
  awk -v n="$note" -v b="$bytes" -v s="$seconds" -v k="$kb" -v l="$(wc -l <"$work/out")" \
    'BEGIN { printf "%-12s %8.1f %9.2f %10.0f %8.1f %9d\n", n, b / 1e6, s, k / 1024, k * 1024 / b, l }'
done

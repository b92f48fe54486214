#!/usr/bin/env bash
# HTML report benchmark: `archiver report --format html` for a large collection,
# then the page opened in headless Chromium with the network blocked.
#
#   bench/report.sh                    # 100,000 URLs, 20,000 images
#   URLS=20000 IMAGES=5000 RUNS=30 bench/report.sh
#   ARCHIVER=target/release/archiver bench/report.sh   # another build
#   KEEP=1 bench/report.sh             # keep the collection (printed) to look at
#   URLS=200 IMAGES=24 RUNS=12 SHOTS=docs/img/report bench/report.sh
#                                      # the README's screenshots: SHOTS-light.png, SHOTS-dark.png
#
# The collection is made up, not checked: a state database of RUNS finished runs
# of URLS results each (5% failing: dead, soft-dead or local-missing; 2% blocked;
# each failure new, still failing or recovered by turns), 1,000 notes citing
# every URL once, and an archive manifest of IMAGES images, IMAGES/10 article
# snapshots and IMAGES/20 PDFs fetched over 90 days, every object written (small
# ones: the report looks for each, and reads none).
#
# Prints the time to write the report, its size, and the time from navigation to
# the browser's load event (needs Debian's chromium and PyPI's playwright).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
urls=${URLS:-100000}
images=${IMAGES:-20000}
runs=${RUNS:-10}
# A relative ARCHIVER is taken from where the script was started.
archiver=$(realpath -m "${ARCHIVER:-$here/target/debug/archiver}")
if [ -z "${ARCHIVER:-}" ]; then
  cargo build --locked --quiet --manifest-path "$here/Cargo.toml"
fi
work=$(mktemp -d)
# KEEP=1 leaves the collection in place, to look at the report.
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

python3 - "$work" "$urls" "$images" "$runs" <<'PY'
import hashlib, json, os, sqlite3, sys, zlib, struct
from datetime import datetime, timedelta, timezone

work, urls, images, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.makedirs(f"{work}/.archiver")
os.makedirs(f"{work}/notes")
os.makedirs(f"{work}/archive/objects")
url = lambda i: f"https://host{i % 500}.example/page/{i}"
notes = 1000
per_note = -(-urls // notes)

# The notes: every URL cited once, one link per line.
for n in range(notes):
    with open(f"{work}/notes/n{n:04}.md", "w") as f:
        f.write(f"# Note {n}\n\n")
        for i in range(n * per_note, min(urls, (n + 1) * per_note)):
            f.write(f"- [link {i}]({url(i)})\n")

# The state database, as `check` writes it (schema 2).
db = sqlite3.connect(f"{work}/.archiver/state.db")
db.executescript("""
CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
  settings TEXT NOT NULL, urls INTEGER, failing INTEGER, cached INTEGER, interrupted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE results (run INTEGER NOT NULL REFERENCES runs(id), url TEXT NOT NULL, verdict TEXT NOT NULL,
  status INTEGER, reason TEXT, final_url TEXT, moved_to TEXT, flags TEXT NOT NULL DEFAULT '',
  checked_at TEXT NOT NULL, cached INTEGER NOT NULL, failing INTEGER NOT NULL, since TEXT NOT NULL,
  streak INTEGER NOT NULL, notes TEXT NOT NULL DEFAULT '', pdf_url TEXT, answer_ms INTEGER,
  PRIMARY KEY (run, url));
CREATE INDEX results_by_url ON results (url);
CREATE INDEX results_by_url_run ON results (url, run);
PRAGMA user_version = 2;
""")
start = datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc)
stamp = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
FAILING = ["dead", "soft-dead", "local-missing"]
streaks = {}
for r in range(1, runs + 1):
    at = start + timedelta(days=r)
    db.execute("INSERT INTO runs VALUES (?, ?, ?, '{}', ?, 0, 0, 0)",
               (r, stamp(at), stamp(at + timedelta(minutes=20)), urls))
    rows = []
    for i in range(urls):
        # 5% fail, which ones shifting a little from run to run.
        fails = (i * 7 + (r if i % 3 == 0 else 0)) % 20 == 0
        blocked = not fails and i % 50 == 1
        verdict = FAILING[i % 3] if fails else ("blocked" if blocked else "ok")
        prev = streaks.get(i)
        if prev and prev[0] == fails:
            streak = (fails, prev[1], prev[2] + 1)
        else:
            streak = (fails, stamp(at), 1)
        streaks[i] = streak
        n = i // per_note
        rows.append((r, url(i), verdict, 404 if verdict == "dead" else 200,
                     "HTTP 404" if verdict == "dead" else None, stamp(at), 0, int(fails),
                     streak[1], streak[2], f"notes/n{n:04}.md", 40 + (i * 37 + r * 11) % 900))
    db.executemany("""INSERT INTO results (run, url, verdict, status, reason, checked_at, cached,
        failing, since, streak, notes, answer_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""", rows)
db.commit()
db.execute("PRAGMA journal_mode = WAL")
db.close()

# The archive: a manifest, and the first images' objects.
def png(seed):
    raw = b"".join(b"\0" + bytes([(seed * 37 + y * 9) % 256, (seed * 91) % 256, (seed * 53 + 80) % 256]) * 16 for y in range(12))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 12, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

records = []
def record(u, ext, media, size, k, body=None, title=None):
    sha = hashlib.sha256(body if body is not None else u.encode()).hexdigest()
    obj = f"objects/{sha[:2]}/{sha}.{ext}"
    if body is not None:
        os.makedirs(f"{work}/archive/objects/{sha[:2]}", exist_ok=True)
        with open(f"{work}/archive/{obj}", "wb") as f:
            f.write(body)
    at = stamp(start + timedelta(minutes=k * 90 * 24 * 60 // max(1, images)))
    records.append({"url": u, "object": obj, "sha256": sha, "media_type": media, "size": size,
                    "final_url": u, "fetched_at": at, "etag": None, "last_modified": None,
                    "source": "origin", "notes": [], "uses": []})
    if title is not None:
        records[-1]["title"] = title
for k in range(images):
    body = png(k)
    record(f"https://img.example/{k:06}.png", "png", "image/png", len(body), k, body)
for k in range(images // 10):
    title = f"文章 {k}: a snapshot's title"
    body = f'<!DOCTYPE html><meta charset="utf-8"><title>{title}</title><p>{k}</p>'.encode()
    record(f"https://mp.example/s/{k:05}", "html", "text/html", len(body), k * 10, body, title=title)
for k in range(images // 20):
    body = b"%PDF-1.4\n%" + str(k).encode() + b"\n%%EOF\n"
    record(f"https://papers.example/{k:05}.pdf", "pdf", "application/pdf", len(body), k * 20, body)
records.sort(key=lambda r: r["url"])
with open(f"{work}/archive/FORMAT", "w") as f:
    f.write("archiver-archive 1\n")
with open(f"{work}/archive/manifest.jsonl", "w") as f:
    f.write('{"format":"archiver-manifest","version":1}\n')
    for rec in records:
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
PY

cd "$work"
echo "collection in $work: $urls URLs over $runs runs, 1,000 notes; $images images, $((images / 10)) snapshots, $((images / 20)) PDFs"
started=$(date +%s.%N)
"$archiver" report --format html --output out/report.html notes
ended=$(date +%s.%N)
size=$(stat -c %s out/report.html)
printf 'write: %.2f s\nsize: %s bytes (%.1f MB)\n' "$(echo "$ended - $started" | bc)" "$size" "$(echo "$size / 1000000" | bc -l)"
python3 "$here/tests/browser/report_page.py" out/report.html "$work" --timing |
  python3 -c 'import json, sys; d = json.load(sys.stdin); print("load event: %.2f s; requests outside: %d; page errors: %d" % (d["load_ms"] / 1000, len(d["outside"]), len(d["errors"])))'
if [ -n "${SHOTS:-}" ]; then
  case $SHOTS in /*) ;; *) SHOTS=$here/$SHOTS ;; esac
  python3 "$here/tests/browser/report_page.py" out/report.html "$work" --screenshots "$SHOTS" >/dev/null
  echo "screenshots: $SHOTS-light.png, $SHOTS-dark.png"
fi

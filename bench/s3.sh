#!/usr/bin/env bash
# Object-storage benchmark: the media of bench/fetch.sh (IMAGES images of 20–120 KB
# and PDFS PDFs of 0.5–2.5 MB over 20 loopback hosts, from the local media
# server) fetched once into a local folder and once into a bucket of a local S3
# server (moto's, `pip install 'moto[server]'`), with the same settings; then
# `verify` and `gc --dry-run` of the bucket, which list it page by page.
# LIST=N first puts N more small objects in the bucket (verify then rehashes
# them all; gc lists them as unreferenced), for the listing run.
#
#   bench/s3.sh
#   IMAGES=500 PDFS=20 LIST=100000 bench/s3.sh
#   IMAGES=50 PDFS=5 LIST=100000 VERIFY=0 bench/s3.sh   # gc's listing alone
#   ARCHIVER=target/release/archiver bench/s3.sh   # another build of archiver
#   S3=s3s-fs bench/s3.sh   # the Rust server from crates.io instead of moto
#                           # (cargo install s3s-fs@0.14.1 --features binary;
#                           # S3S_FS=/path/to/s3s-fs if it is not on PATH)
#
# Debug builds, like the tests: the figures compare the two backends with each
# other, not with other tools.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
images=${IMAGES:-2000}
pdfs=${PDFS:-100}
hosts=${HOSTS:-20}
list=${LIST:-0}
port=${PORT:-18093}

# A relative ARCHIVER is taken from where the script was started.
archiver=$(realpath -m "${ARCHIVER:-$here/target/debug/archiver}")
if [ -z "${ARCHIVER:-}" ]; then
  cargo build --locked --quiet --manifest-path "$here/Cargo.toml"
fi
cargo build --locked --quiet --manifest-path "$here/Cargo.toml" --example media_server
server=$here/target/debug/examples/media_server

work=$(mktemp -d)
"$server" "$port" 8 0 2>/dev/null &
server_pid=$!
s3=${S3:-moto}
case $s3 in
  moto)
    python3 -m moto.server -H 127.0.0.1 -p 0 2>"$work/moto.log" >/dev/null &
    s3_pid=$!
    for _ in $(seq 100); do grep -q 'Running on' "$work/moto.log" && break; sleep 0.1; done
    endpoint=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/moto.log" | head -1)
    ;;
  s3s-fs)
    # A bucket is a folder of its root.
    mkdir -p "$work/s3root/bench"
    s3_port=$((port + 1))
    "${S3S_FS:-s3s-fs}" --host 127.0.0.1 --port "$s3_port" --access-key bench \
      --secret-key bench "$work/s3root" >"$work/s3s.log" 2>&1 &
    s3_pid=$!
    sleep 0.5
    endpoint=http://127.0.0.1:$s3_port
    ;;
  *) echo "unknown S3=$s3 (moto, s3s-fs)" >&2; exit 2 ;;
esac
trap 'kill $server_pid $s3_pid 2>/dev/null; rm -rf "$work"' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1 \
  AWS_ENDPOINT_URL=$endpoint AWS_ALLOW_HTTP=true
if [ "$s3" = moto ]; then
  python3 -c "import boto3; boto3.client('s3', endpoint_url='$endpoint').create_bucket(Bucket='bench')"
fi

mkdir -p "$work/notes"
python3 "$here/bench/media_notes.py" "$work" "$images" "$pdfs" "$hosts" "$port"
printf '[network]\nmin_interval = "0s"\nmax_concurrency = 16\n[fetch]\nwayback = false\n' >"$work/archiver.toml"
cd "$work"

timed() { # label, command…
  local label=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || true
  read -r t rss < <(tail -n 1 "$work/time")
  printf '%-28s %7.1f s  %4d MB peak RSS  %s\n' "$label" "$t" $((rss / 1024)) \
    "$(tail -n 1 "$work/out")"
}
timed "fetch → local folder" "$archiver" --config archiver.toml fetch --archive "$work/archive" notes
timed "fetch → S3 ($s3)" "$archiver" --config archiver.toml fetch --archive s3://bench/a notes
if [ "$list" -gt 0 ]; then
  python3 - "$endpoint" "$list" <<'PY'
import boto3, hashlib, sys
from concurrent.futures import ThreadPoolExecutor
s3 = boto3.client("s3", endpoint_url=sys.argv[1])
def put(i):
    body = f"object {i}".encode()
    sha = hashlib.sha256(body).hexdigest()
    s3.put_object(Bucket="bench", Key=f"a/objects/{sha[:2]}/{sha}.txt", Body=body)
with ThreadPoolExecutor(8) as pool:
    list(pool.map(put, range(int(sys.argv[2]))))
PY
fi
if [ "${VERIFY:-1}" != 0 ]; then # VERIFY=0: the listing run's gc alone
  timed "verify (S3)" "$archiver" --config archiver.toml verify --archive s3://bench/a
  tail -n 2 "$work/out"
fi
timed "gc --dry-run (S3)" "$archiver" --config archiver.toml gc --dry-run --archive s3://bench/a notes
tail -n 1 "$work/out"

#!/usr/bin/env bash
# Crash loop: kills `archiver fetch`, `archiver rewrite` and `archiver check`
# with SIGKILL at CRASH_KILLS random moments each (default 50) during runs with
# large and small downloads (tests/crash.rs), checking after every kill that the
# archive has no corrupt or missing object, every note is whole and every
# finished run of the state database has all its rows, and after reruns that
# `verify` is clean and no temp file is left. Prints the seed of each test so a
# failure can be replayed.
#
#   bench/crash.sh
#   CRASH_KILLS=200 bench/crash.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
kills=${CRASH_KILLS:-50}
started=$(date +%s)
CRASH_KILLS=$kills cargo test --release --locked --manifest-path "$here/Cargo.toml" \
  --test crash -- --nocapture --test-threads 1 2>&1 | grep -E 'seed|kills|test result|panicked|neither|round'
echo "crash loop: $kills kills each of fetch, rewrite and check in $(( $(date +%s) - started )) s"

#!/usr/bin/env bash
# Fuzzing: the generated-document harnesses of tests/robustness.rs (Markdown and
# HTML extraction: no panic, every span exact; rewrite then restore: every byte
# back), each for FUZZ_CASES documents (default 10 million) or FUZZ_SECONDS
# (default 1800), whichever ends first, in a release build. A random seed per
# run unless FUZZ_SEED is set; a failure prints the seed and the case.
#
#   bench/fuzz.sh
#   FUZZ_SECONDS=60 bench/fuzz.sh        # a short run
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
export FUZZ_CASES=${FUZZ_CASES:-10000000}
export FUZZ_SECONDS=${FUZZ_SECONDS:-1800}
export FUZZ_SEED=${FUZZ_SEED:-$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')}
echo "fuzzing: up to $FUZZ_CASES documents or $FUZZ_SECONDS s per harness, seed $FUZZ_SEED" >&2
for harness in generated_documents_never_panic_and_spans_are_exact a_rewrite_then_a_restore_gives_every_byte_back; do
  start=$(date +%s)
  cargo test --release --locked --quiet --manifest-path "$here/Cargo.toml" --test robustness \
    "$harness" -- --exact --nocapture 2>&1 | grep -E 'documents|panicked|case |test result'
  echo "  ($harness: $(( $(date +%s) - start )) s)"
done

#!/usr/bin/env bash
# A 2 GB object fetched into a bucket of a local S3 server (moto's): the
# archiver's peak resident memory while the object streams up as a multipart
# upload (goal: under 64 MB). The fixture server makes the body as it sends it;
# moto keeps the upload in its temp folder (about 4 GB of free disk needed).
#
#   bench/s3_big.sh            # 2048 MB
#   S3_BIG_MB=512 bench/s3_big.sh
set -euo pipefail
cd "$(dirname "$0")/.."
S3_BIG_MB=${S3_BIG_MB:-2048} cargo test --locked --test s3 a_large_object_streams_up_in_bounded_memory -- --nocapture 2>&1 |
  grep -E 'MB up|skipped|test result'

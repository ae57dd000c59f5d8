#!/usr/bin/env bash
# The request fuzzer's long run (tests/request_fuzz.rs) on the test profile (optimised, opt-level 1,
# as Cargo.toml sets it; the build `cargo test` already made): the real daemon with
# a vectors model and its index, a fastText model and a classifier, limited to 8 requests at once
# and 4 MiB messages, gets REQUESTS generated and mutated requests over gRPC and HTTP/JSON from 8
# tasks, then a storm of the heaviest ones, while stalled connections sit on both ports.
# Usage: benches/request_fuzz.sh [REQUESTS] [SEED]   (defaults: 20000, 202026)
# Prints the run's tally and an RSS plot, and the curve as CSV (time_ms,rss_kib) from
# target/request_fuzz_rss.csv. Exits non-zero when the fuzzer found a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
REQUESTS=${1:-20000}
SEED=${2:-202026}
STATUS=0
WORDVEC_FUZZ_REQUESTS=$REQUESTS WORDVEC_FUZZ_SEED=$SEED \
  cargo test --locked --test integration request_fuzz:: -- --nocapture || STATUS=$?
CSV=target/request_fuzz_rss.csv
if [ -f "$CSV" ]; then
  echo "RSS curve, one line a second (time_s,rss_mib; max of each second) from $CSV:"
  awk -F, 'NR > 1 { s = int($1 / 1000); if ($2 > m[s]) m[s] = $2; if (s > last) last = s }
    END { for (i = 0; i <= last; i++) if (i in m) printf "%d,%.1f\n", i, m[i] / 1024 }' "$CSV"
fi
exit $STATUS

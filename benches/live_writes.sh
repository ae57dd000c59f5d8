#!/usr/bin/env bash
# Upsert throughput and latency over gRPC, fsync on: `wordvec serve --wal-dir` on each VECTORS
# file (its index beside it, so the background graph of the delta runs too), and the load
# generator (benches/load.rs) sending Embeddings/Upsert of new words in batches of 1 and of
# 1,000 from 1 and 8 concurrent streams. One JSON line per run (vectors_per_s, p50_ms, p99_ms).
# Usage: benches/live_writes.sh VECTORS.wvec... (run each under `chrt -f 50` for stable figures)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --locked --bin wordvec --bench load
WV=target/release/wordvec
LOAD=$(ls -t target/release/deps/load-* | grep -v '\.d$' | head -1)
for VEC in "$@"; do
  [ -f "$VEC.idx" ] || $WV index build "$VEC"
  TMP=$(mktemp -d "${BENCH_DIR:-/tmp}/live-writes.XXXXXX")
  echo s3cret > "$TMP/token"
  $WV serve --vectors bench="$VEC" --listen 127.0.0.1:0 --wal-dir "$TMP/wal" \
    --auth-token-file "$TMP/token" --compact-at 0 2> "$TMP/log" &
  PID=$!
  for _ in $(seq 600); do grep -q "wordvec serving" "$TMP/log" && break; sleep 0.1; done
  URL=http://$(grep "wordvec serving" "$TMP/log" | awk '{print $NF}')
  echo "== $VEC"
  $LOAD "$URL" --vectors "$VEC" --rpc upsert --batch 1 --concurrency 1,8 --requests 4000 --token s3cret
  $LOAD "$URL" --vectors "$VEC" --rpc upsert --batch 1000 --concurrency 1,8 --requests 100 --token s3cret
  kill "$PID"; wait "$PID" 2>/dev/null || true
  rm -rf "$TMP"
done

#!/usr/bin/env bash
# Load test of `wordvec serve` on this machine (loopback; the load generator shares the cores).
# Usage: benches/serve_load.sh VECTORS [SOAK_SECONDS]
#   VECTORS: a vectors file; it is converted to native and indexed (M 16, ef_construction 200)
#   next to itself if that was not done yet.
# Prints one JSON line per (rpc, concurrency) and, for the soak, the daemon's RSS every 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
VEC=$1; SOAK=${2:-120}
cargo build --release --quiet --bin wordvec --bench load
WV=target/release/wordvec
LOAD=$(ls -t target/release/deps/load-* | grep -v '\.d$' | head -1)
NATIVE=${VEC%.*}.wvec
[ -f "$NATIVE" ] || $WV convert "$VEC" "$NATIVE"
[ -f "$NATIVE.idx" ] || $WV index build "$NATIVE"
PORT=50061
$WV serve --vectors bench="$NATIVE" --listen 127.0.0.1:$PORT --max-concurrent 256 2>/tmp/wordvec-serve.log &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "wordvec serving" /tmp/wordvec-serve.log && break; sleep 0.1; done
URL=http://127.0.0.1:$PORT
$LOAD $URL --vectors "$NATIVE" --rpc most_similar --requests 20000
$LOAD $URL --vectors "$NATIVE" --rpc most_similar_exact --requests 1000
$LOAD $URL --vectors "$NATIVE" --rpc get_vectors --requests 20000
$LOAD $URL --vectors "$NATIVE" --rpc predict --requests 5000 --concurrency 8
echo "soak: most_similar through the index, 64 streams, $SOAK s; daemon RSS (kB) every 10 s:"
$LOAD $URL --vectors "$NATIVE" --rpc most_similar --concurrency 64 --seconds "$SOAK" &
LP=$!
while kill -0 $LP 2>/dev/null; do grep VmRSS /proc/$PID/status | awk '{printf "%s ", $2}'; sleep 10; done
echo
wait $LP
kill -TERM $PID; wait $PID && echo "daemon exited 0 after SIGTERM"

#!/usr/bin/env bash
# HTTP/JSON beside gRPC: MostSimilar through the index at 1, 8 and 64 concurrent streams, the
# same queries against the same daemon in the same run (loopback; the load generator shares
# the cores). Prints one JSON line per (protocol, concurrency), then a Markdown table.
# Usage: benches/compare_json.sh VECTORS.wvec [REQUESTS]   (VECTORS.wvec.idx must exist)
set -euo pipefail
cd "$(dirname "$0")/.."
VEC=$1; N=${2:-20000}
cargo build --release --quiet --bin wordvec --bench load
WV=target/release/wordvec
LOAD=$(ls -t target/release/deps/load-* | grep -v '\.d$' | head -1)
[ -f "$VEC.idx" ] || { echo "index $VEC.idx missing: wordvec index build $VEC" >&2; exit 1; }
$WV serve --vectors bench="$VEC" --listen 127.0.0.1:50071 --http-listen 127.0.0.1:50072 \
  --max-concurrent 256 2>/tmp/wordvec-json.log &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do grep -q "wordvec serving" /tmp/wordvec-json.log && break; sleep 0.1; done
OUT=$(mktemp)
for round in 1 2; do
  $LOAD http://127.0.0.1:50071 --vectors "$VEC" --rpc most_similar --requests "$N" | tee -a "$OUT"
  $LOAD http://127.0.0.1:50071 --vectors "$VEC" --rpc most_similar_json --http 127.0.0.1:50072 \
    --requests "$N" | tee -a "$OUT"
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
best = {}
for r in rows:
    k = (r["rpc"], r["concurrency"])
    if k not in best or r["qps"] > best[k]["qps"]:
        best[k] = r
print("| streams | gRPC q/s | gRPC p50 / p99 ms | JSON q/s | JSON p50 / p99 ms | JSON / gRPC | errors |")
print("|---|---|---|---|---|---|---|")
for c in sorted({k[1] for k in best}):
    g, j = best[("most_similar", c)], best[("most_similar_json", c)]
    errs = sum(g["errors"].values()) + sum(j["errors"].values())
    print(f"| {c} | {g['qps']:,.0f} | {g['p50_ms']:.2f} / {g['p99_ms']:.2f} | {j['qps']:,.0f} | "
          f"{j['p50_ms']:.2f} / {j['p99_ms']:.2f} | {j['qps'] / g['qps']:.2f}x | {errs} |")
PY

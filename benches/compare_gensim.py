#!/usr/bin/env python3
"""Load and exact-query speed of wordvec beside gensim, on the same file in the same run.

For a word2vec binary file (e.g. the GoogleNews-shaped one from
`cargo bench --bench gen_googlenews -- synthetic.bin`), measures with a warm page cache:
  - time from process start to the first `nn` answer and peak RSS: `wordvec nn` on the .bin,
    and on a native copy (made here with `wordvec convert`, timed too);
  - gensim 4: `KeyedVectors.load_word2vec_format(binary=True)` + `most_similar`, in a fresh
    process: time to the first answer, then the mean time of further queries, and peak RSS;
  - wordvec's exact query latency on all cores and on one, beside one plain read pass over the
    matrix (benches/exact_query.rs).
Prints a Markdown table with the ratios.

Usage: python3 benches/compare_gensim.py FILE.bin [--runs 3] [--queries 5]
Needs: pip install gensim; cargo build --release --benches (done here).
"""
import argparse
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORDVEC = os.path.join(ROOT, "target", "release", "wordvec")

GENSIM = r"""
import sys, time, json
t0 = float(sys.argv[3])
from gensim.models import KeyedVectors
kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=True)
t_load = time.time() - t0
word = kv.index_to_key[1234]
kv.most_similar(word, topn=10)
t_first = time.time() - t0
n = int(sys.argv[2])
t = time.time()
for q in range(n):
    kv.most_similar(kv.index_to_key[(q * 7919 + 13) % len(kv)], topn=10)
print(json.dumps({"load_s": t_load, "first_answer_s": t_first, "query_s": (time.time() - t) / n}))
"""


def run_rss(cmd):
    t = time.time()
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        out = os.open(os.path.join("/tmp", f"wordvec-bench-{os.getpid()}.out"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(out, 1)
        os.dup2(devnull, 2)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    wall = time.time() - t
    path = os.path.join("/tmp", f"wordvec-bench-{pid}.out")
    with open(path) as f:
        out = f.read()
    os.remove(path)
    if status != 0:
        sys.exit(f"{cmd} failed with status {status}")
    return wall, usage.ru_maxrss / 1024, out


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--queries", type=int, default=5)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "wordvec"], cwd=ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bench", "exact_query"], cwd=ROOT, check=True)

    native = os.path.splitext(a.file)[0] + ".wvec"
    warm(a.file)
    conv, _, _ = run_rss([WORDVEC, "convert", a.file, native])
    warm(native)

    first = subprocess.run([WORDVEC, "info", a.file, "--words", "1235", "--json"], capture_output=True, check=True)
    word = json.loads(first.stdout)["first_words"][1234]

    rows = {}
    for name, path in [("wordvec .bin", a.file), ("wordvec native", native)]:
        best = None
        for _ in range(a.runs):
            wall, rss, _ = run_rss([WORDVEC, "nn", path, word, "-k", "10", "--json"])
            best = (wall, rss) if best is None or wall < best[0] else best
        rows[name] = best

    g_wall, g_rss, g_out = run_rss([sys.executable, "-c", GENSIM, a.file, str(a.queries), repr(time.time())])
    g = json.loads(g_out)
    rows["gensim"] = (g["first_answer_s"], g_rss)

    exe = sorted(
        (os.path.join(ROOT, "target", "release", "deps", f) for f in os.listdir(os.path.join(ROOT, "target", "release", "deps"))
         if f.startswith("exact_query-") and os.access(os.path.join(ROOT, "target", "release", "deps", f), os.X_OK) and "." not in f),
        key=os.path.getmtime)[-1]
    _, _, q_out = run_rss([exe, native, str(max(a.queries, 10))])
    q = json.loads(q_out)

    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"file: {a.file} ({os.path.getsize(a.file) / 1e9:.2f} GB); machine: {os.cpu_count()} cores, {cpu}")
    print(f"native conversion: {conv:.1f} s (incl. reading the .bin)\n")
    print("| load + first `most_similar` answer | seconds | peak RSS (MiB) | vs gensim (time) |")
    print("|---|---|---|---|")
    for name, (wall, rss) in rows.items():
        print(f"| {name} | {wall:.2f} | {rss:.0f} | {rows['gensim'][0] / wall:.1f}x |")
    print()
    print("| exact `most_similar` (top 10), warm | seconds per query | vs gensim |")
    print("|---|---|---|")
    print(f"| gensim (numpy BLAS) | {g['query_s']:.3f} | 1.0x |")
    print(f"| wordvec, all {q['threads']} cores | {q['query_s_all_cores']:.3f} | {g['query_s'] / q['query_s_all_cores']:.1f}x |")
    print(f"| wordvec, 1 core | {q['query_s_one_core']:.3f} | {g['query_s'] / q['query_s_one_core']:.1f}x |")
    print(f"| plain read pass over the matrix, all cores (bound) | {q['read_pass_s_all_cores']:.3f} | query / bound = {q['query_s_all_cores'] / q['read_pass_s_all_cores']:.2f} |")
    print(f"| plain read pass, 1 core | {q['read_pass_s_one_core']:.3f} | query / bound = {q['query_s_one_core'] / q['read_pass_s_one_core']:.2f} |")
    print(f"| wordvec through the int8 copy, all {q['threads']} cores | {q['int8_query_s_all_cores']:.3f} | {g['query_s'] / q['int8_query_s_all_cores']:.1f}x |")
    print(f"| wordvec through the int8 copy, 1 core | {q['int8_query_s_one_core']:.3f} | {g['query_s'] / q['int8_query_s_one_core']:.1f}x |")
    print(f"\nint8 copy: built or opened (checked against the rows) in {q['int8_prepare_s']:.2f} s; "
          f"answers differing from the f32 scan: {q['int8_answers_differing']} of {max(a.queries, 10)}")
    print(f"\ngensim load alone: {g['load_s']:.1f} s")


if __name__ == "__main__":
    main()

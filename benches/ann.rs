//! HNSW index figures for one vectors file: build time (all cores), save and reload time, and
//! recall@10 against the exact scan with queries per second (one thread and all cores) over a
//! range of ef. Prints one JSON object; benches/compare_ann.py runs it beside hnswlib and faiss.
//!
//! Usage: cargo bench --bench ann -- VECTORS [--m 16] [--ef-construction 200] [--queries 1000]
//!        [--efs 10,20,40,80,160] [--limit N] [--frequent] [--int8]
//!
//! Queries are words spread over the vocabulary (row `(q * 7919 + 1) % n`), or with
//! `--frequent` the most frequent words (rows `0..queries`).

use std::time::Instant;

use wordvec::index::{recall, recall_on, HnswIndex, IndexParams};
use wordvec::LoadOptions;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let path = std::path::PathBuf::from(args.first().expect("usage: ann VECTORS [options]"));
    let m: usize = arg(&args, "--m").map_or(16, |v| v.parse().unwrap());
    let efc: usize = arg(&args, "--ef-construction").map_or(200, |v| v.parse().unwrap());
    let queries: usize = arg(&args, "--queries").map_or(1000, |v| v.parse().unwrap());
    let limit: Option<usize> = arg(&args, "--limit").map(|v| v.parse().unwrap());
    let efs: Vec<usize> = arg(&args, "--efs")
        .unwrap_or_else(|| "10,20,40,80,160".into())
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let open = || wordvec::load(&path, &LoadOptions::default().limit(limit)).unwrap();
    let emb = open();
    // With --int8, a second view of the same vectors carries the int8 copy (built here, as
    // `index build --int8` writes it): the build searches over it, and the same graph is then
    // measured traversed both ways.
    let int8 = args.iter().any(|a| a == "--int8");
    // The build time includes the quantisation.
    let t = Instant::now();
    let emb8 = int8.then(|| {
        let mut e = open();
        e.attach_int8(wordvec::quant::Int8Rows::build(&e).unwrap())
            .unwrap();
        e
    });
    let quantise = t.elapsed().as_secs_f64();
    let idx = HnswIndex::build(
        emb8.as_ref().unwrap_or(&emb),
        IndexParams {
            m,
            ef_construction: efc,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    let build = t.elapsed().as_secs_f64();
    let dir = tempfile::tempdir().unwrap();
    let ipath = dir.path().join("bench.idx");
    let t = Instant::now();
    idx.save(&ipath).unwrap();
    let save = t.elapsed().as_secs_f64();
    drop(idx);
    let t = Instant::now();
    let idx = HnswIndex::load(&ipath, &emb).unwrap();
    let reload = t.elapsed().as_secs_f64();
    let index_bytes = std::fs::metadata(&ipath).unwrap().len();
    let frequent = args.iter().any(|a| a == "--frequent");
    let curve_of = |emb: &wordvec::Embeddings, idx: &HnswIndex| {
        if queries == 0 {
            Vec::new()
        } else if frequent {
            let rows: Vec<usize> = (0..queries.min(emb.len())).collect();
            recall_on(emb, idx, &rows, 10, &efs).unwrap()
        } else {
            recall(emb, idx, queries, 10, &efs).unwrap()
        }
    };
    let curve = curve_of(&emb, &idx);
    let curve_int8 = emb8.as_ref().map(|e| curve_of(e, &idx));
    let out = serde_json::json!({
        "words": emb.len(), "dims": emb.dims(), "m": m, "ef_construction": efc, "threads": rayon::current_num_threads(),
        "build_s": build, "quantise_s": quantise, "save_s": save, "reload_s": reload, "index_bytes": index_bytes, "curve": curve, "curve_int8": curve_int8,
    });
    println!("{out}");
}

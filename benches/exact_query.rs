//! Exact most_similar latency on a large file, beside the memory-bandwidth bound.
//!
//! Opens FILE (any format), then times: the open; `QUERIES` most_similar queries (top 10, words
//! spread over the vocabulary) on all cores and on one; and one plain read pass over every
//! vector (summing its bytes as integers), the floor for any f32 scan. Then the same queries
//! through the int8 copy (FILE.i8 when it exists, else built here): its build or open time, its
//! query times, and how many answers differ from the f32 scan's (words, scores, order: must be
//! 0). Then the int8 scan alone (`Int8Rows::candidates`: the pass over the codes that picks the
//! rows to re-score), best of 20 queries, on all cores and on one, as bytes of codes per second
//! beside the read pass's bytes per second (the machine's streaming bound). Prints one JSON line.
//!
//! Usage: cargo bench --bench exact_query -- FILE [QUERIES]

use std::time::Instant;

use rayon::prelude::*;
use wordvec::{LoadOptions, Term};

fn read_pass(emb: &wordvec::Embeddings) -> f64 {
    let t = Instant::now();
    let s: u64 = (0..emb.len())
        .into_par_iter()
        .with_min_len(2048)
        .map(|i| {
            // Integer adds are associative, so this vectorises and runs at memory speed.
            let row = emb.storage().row_bytes(i);
            row.chunks_exact(8).fold(0u64, |a, c| {
                a.wrapping_add(u64::from_le_bytes(c.try_into().unwrap()))
            })
        })
        .reduce(|| 0, u64::wrapping_add);
    std::hint::black_box(s);
    t.elapsed().as_secs_f64()
}

fn queries(emb: &wordvec::Embeddings, n: usize) -> f64 {
    let t = Instant::now();
    for q in 0..n {
        let w = emb.word((q * 7919 + 13) % emb.len()).to_owned();
        std::hint::black_box(emb.most_similar(&[Term::Word(&w)], &[], 10, None).unwrap());
    }
    t.elapsed().as_secs_f64() / n as f64
}

/// The best time of `int8.candidates` over 20 queries (top 10, unit rows spread over the
/// vocabulary), in seconds.
fn int8_scan(emb: &wordvec::Embeddings, int8: &wordvec::quant::Int8Rows) -> f64 {
    (0..20)
        .map(|q| {
            let y = emb.unit_row((q * 7919 + 13) % emb.len());
            let t = Instant::now();
            std::hint::black_box(int8.candidates(&y, emb.len(), 10, &|_| true));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let path = std::path::PathBuf::from(args.first().expect("usage: exact_query FILE [QUERIES]"));
    let n: usize = args.get(1).map_or(10, |s| s.parse().expect("QUERIES"));
    let t = Instant::now();
    let emb = wordvec::load(&path, &LoadOptions::default()).unwrap();
    let open = t.elapsed().as_secs_f64();
    // Warm the pages once so every figure below is a warm-cache figure.
    let _ = read_pass(&emb);
    let all_cores = queries(&emb, n);
    let pass_all = (0..3)
        .map(|_| read_pass(&emb))
        .fold(f64::INFINITY, f64::min);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let (one_core, pass_one) = one.install(|| (queries(&emb, n.min(5)), read_pass(&emb)));

    // The int8 copy.
    let side = wordvec::quant::sidecar_path(&path);
    let t = Instant::now();
    let int8 = if side.is_file() {
        wordvec::quant::Int8Rows::open(&side, &emb).unwrap()
    } else {
        wordvec::quant::Int8Rows::build(&emb).unwrap()
    };
    let int8_prepare = t.elapsed().as_secs_f64();
    let mut fast = wordvec::load(&path, &LoadOptions::default()).unwrap();
    let (scan_all, scan_one) = (
        int8_scan(&emb, &int8),
        one.install(|| int8_scan(&emb, &int8)),
    );
    fast.attach_int8(int8).unwrap();
    let int8_all = queries(&fast, n);
    let int8_one = one.install(|| queries(&fast, n.min(5)));
    let differ = (0..n)
        .filter(|q| {
            let w = emb.word((q * 7919 + 13) % emb.len()).to_owned();
            let t = [Term::Word(&w)];
            emb.most_similar(&t, &[], 10, None).unwrap()
                != fast.most_similar(&t, &[], 10, None).unwrap()
        })
        .count();
    let codes = (emb.len() * emb.dims()) as f64;
    println!(
        "{{\"file\":{:?},\"words\":{},\"dims\":{},\"threads\":{},\"open_s\":{open:.4},\"query_s_all_cores\":{all_cores:.4},\"query_s_one_core\":{one_core:.4},\"read_pass_s_all_cores\":{pass_all:.4},\"read_pass_s_one_core\":{pass_one:.4},\"int8_prepare_s\":{int8_prepare:.4},\"int8_query_s_all_cores\":{int8_all:.4},\"int8_query_s_one_core\":{int8_one:.4},\"int8_answers_differing\":{differ},\"int8_scan_s_all_cores\":{scan_all:.5},\"int8_scan_s_one_core\":{scan_one:.5},\"int8_scan_gb_s_all_cores\":{:.2},\"int8_scan_gb_s_one_core\":{:.2},\"read_pass_gb_s_all_cores\":{:.2},\"read_pass_gb_s_one_core\":{:.2}}}",
        path.display().to_string(),
        emb.len(),
        emb.dims(),
        rayon::current_num_threads(),
        codes / scan_all / 1e9,
        codes / scan_one / 1e9,
        4.0 * codes / pass_all / 1e9,
        4.0 * codes / pass_one / 1e9,
    );
}

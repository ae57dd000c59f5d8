//! Every exact scan beside the physical bound: the machine's streaming read bandwidth over the
//! mapped rows, and the bytes per second each scan achieves.
//!
//! Opens FILE (native, mapped in place, with FILE.i8 beside it when there is one, else the int8
//! copy is built here), then measures, on one thread and on all:
//! - one plain read pass over the mapped rows (summing them as 64-bit integers, which vectorises
//!   and does no other work): the most any scan of these bytes can read per second;
//! - the f32 exact scan (`most_similar`, top 10, words spread over the vocabulary): the rows'
//!   bytes (`n x d x 4`) over its time;
//! - the int8 scan (the same queries with the int8 copy attached): the codes' bytes (`n x d`) over
//!   its time (the few rows it re-scores in f32 are left out).
//!
//! Each figure is the best of `REPEATS` (3) timings, with a warm page cache. Prints a Markdown
//! table.
//!
//! Usage: cargo bench --bench bandwidth -- FILE [QUERIES]

use std::time::Instant;

use rayon::prelude::*;
use wordvec::storage::Rows;
use wordvec::{Embeddings, LoadOptions, Term};

const REPEATS: usize = 3;

/// Seconds of the best of `REPEATS` runs of `f`.
fn best(mut f: impl FnMut()) -> f64 {
    (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// A sum of `bytes` as 64-bit integers: a pass at the memory's speed.
fn sum(bytes: &[u8]) -> u64 {
    bytes.chunks_exact(8).fold(0u64, |a, c| {
        a.wrapping_add(u64::from_le_bytes(c.try_into().expect("8 bytes")))
    })
}

/// Reads `bytes` once, on every thread of the current pool: one contiguous part per thread, as
/// the scans split their rows, so that what a core's cache holds of its part between two passes
/// counts here as it does for them.
fn read_pass(bytes: &[u8]) {
    let part = bytes
        .len()
        .div_ceil(rayon::current_num_threads())
        .div_ceil(8)
        * 8;
    let s: u64 = bytes
        .par_chunks(part.max(8))
        .map(sum)
        .reduce(|| 0, u64::wrapping_add);
    std::hint::black_box(s);
}

/// Runs `queries` exact top-10 queries on `emb`.
fn scan(emb: &Embeddings, queries: usize) {
    for q in 0..queries {
        let w = emb.word((q * 7919 + 13) % emb.len());
        std::hint::black_box(emb.most_similar(&[Term::Word(w)], &[], 10, None).unwrap());
    }
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    const USAGE: &str = "usage: cargo bench --bench bandwidth -- FILE.wvec [QUERIES]\n\
        example: cargo bench --bench bandwidth -- sg100.wvec 5";
    let fail = |msg: &str| -> ! {
        eprintln!("{msg}\n{USAGE}");
        std::process::exit(2)
    };
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return;
    }
    let path = std::path::PathBuf::from(args.first().unwrap_or_else(|| fail("no FILE given")));
    let queries: usize = args.get(1).map_or(5, |s| {
        s.parse()
            .unwrap_or_else(|_| fail(&format!("QUERIES must be a count, not {s:?}")))
    });
    let emb =
        wordvec::load(&path, &LoadOptions::default()).unwrap_or_else(|e| fail(&e.to_string()));
    let bytes = match Rows::of(emb.storage()) {
        Rows::Dense { bytes, .. } => bytes,
        _ => panic!(
            "{}: the rows are not back to back in one mapping; give a native file",
            path.display()
        ),
    };
    let side = wordvec::quant::sidecar_path(&path);
    let int8 = if side.is_file() {
        wordvec::quant::Int8Rows::open(&side, &emb).unwrap()
    } else {
        wordvec::quant::Int8Rows::build(&emb).unwrap()
    };
    let mut fast = wordvec::load(&path, &LoadOptions::default()).unwrap();
    fast.attach_int8(int8).unwrap();
    let (f32_bytes, i8_bytes) = (bytes.len() as f64, (emb.len() * emb.dims()) as f64);
    read_pass(bytes); // warm the pages

    let all = rayon::current_num_threads();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    println!(
        "{} ({} x {}): {:.2} GB of f32 rows, {:.2} GB of int8 codes, {queries} queries per scan",
        path.display(),
        emb.len(),
        emb.dims(),
        f32_bytes / 1e9,
        i8_bytes / 1e9
    );
    println!("| pass | threads | time per pass | bytes/s | of the read bound |");
    println!("|---|---|---|---|---|");
    for (threads, pool) in [(1, Some(&one)), (all, None)] {
        let run = |f: &mut (dyn FnMut() + Send)| match pool {
            Some(p) => p.install(|| best(f)),
            None => best(f),
        };
        let read = run(&mut || read_pass(bytes));
        let f32_scan = run(&mut || scan(&emb, queries)) / queries as f64;
        let i8_scan = run(&mut || scan(&fast, queries)) / queries as f64;
        let bound = f32_bytes / read;
        for (name, t, b) in [
            ("read pass over the mapped rows", read, f32_bytes),
            ("f32 exact scan", f32_scan, f32_bytes),
            ("int8 scan (codes)", i8_scan, i8_bytes),
        ] {
            println!(
                "| {name} | {threads} | {:.2} ms | {:.1} GB/s | {:.0}% |",
                t * 1e3,
                b / t / 1e9,
                100.0 * b / t / bound
            );
        }
    }
}

//! criterion benchmarks for the exact-search building blocks: dot-product kernels, top-k
//! selection, a whole most_similar scan, and loading the fixtures.
//!
//! Run: cargo bench --bench scan

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wordvec::__bench::{dot_fn, dot_portable, top_k};
use wordvec::{Embeddings, Format, LoadOptions, SaveOptions, Term};

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

fn dots(c: &mut Criterion) {
    let mut g = c.benchmark_group("dot");
    for dims in [32usize, 100, 300] {
        let q = random(dims, 1);
        let row: Vec<u8> = random(dims + 1, 2)
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        // Offset by one byte: rows in word2vec files are unaligned.
        let row = &row[1..1 + dims * 4];
        g.throughput(Throughput::Bytes((dims * 4) as u64));
        let best = dot_fn();
        g.bench_with_input(BenchmarkId::new("dispatched", dims), &dims, |b, _| {
            b.iter(|| best(black_box(&q), black_box(row)))
        });
        g.bench_with_input(BenchmarkId::new("portable", dims), &dims, |b, _| {
            b.iter(|| dot_portable(black_box(&q), black_box(row)))
        });
    }
    g.finish();
}

fn topk(c: &mut Criterion) {
    let scores = random(1_000_000, 3);
    c.bench_function("top_k/1M rows/k=10", |b| {
        b.iter(|| top_k(scores.len(), 10, &[], |i| scores[i]))
    });
}

fn most_similar(c: &mut Criterion) {
    let (n, dims) = (100_000, 300);
    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let emb = Embeddings::from_vectors(&words, random(n * dims, 4), dims).unwrap();
    let mut g = c.benchmark_group("most_similar");
    g.throughput(Throughput::Bytes((n * dims * 4) as u64));
    g.sample_size(20);
    g.bench_function("100k x 300", |b| {
        b.iter(|| {
            emb.most_similar(&[Term::Word("w17")], &[], 10, None)
                .unwrap()
        })
    });
    g.bench_function("100k x 300 cosmul", |b| {
        b.iter(|| {
            emb.most_similar_cosmul(
                &[Term::Word("w17"), Term::Word("w3")],
                &[Term::Word("w9")],
                10,
                None,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let bin = fixtures.join("gensim-d32.bin");
    let native = dir.path().join("v.wvec");
    let emb = wordvec::load(&bin, &LoadOptions::default()).unwrap();
    wordvec::save(&emb, &native, Format::Native, &SaveOptions::default()).unwrap();
    let mut g = c.benchmark_group("load 4642 x 32");
    for (name, path) in [
        ("bin", bin),
        ("bin.gz", fixtures.join("gensim-d32.bin.gz")),
        ("txt", fixtures.join("w2vc-sg-d32.txt")),
        ("native", native),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| wordvec::load(&path, &LoadOptions::default()).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, dots, topk, most_similar, load);
criterion_main!(benches);

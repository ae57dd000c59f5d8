//! Hostile files and values: properties over every reader (arbitrary bytes, valid files cut or
//! extended), a seeded mutation run over files made from the fixtures, crafted files whose
//! checksums were recomputed, and extreme query vectors.
//!
//! The mutation run writes `WORDVEC_MUTANTS` mutants per target (default 300, 4,500 over its
//! fifteen targets; seconds on two cores in `cargo test`) and counts how each ended: loaded
//! and answered, refused with an error, panicked (a failure), or hung (a watchdog aborts the run
//! when one mutant takes more than 30 s). An abort (an allocation the system refuses, say) ends
//! the process and so fails the run. The long run, documented in README:
//!
//! ```sh
//! WORDVEC_MUTANTS=1000 cargo test --release --test integration fuzz::mutation_run -- --nocapture
//! ```

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rayon::prelude::*;
use wordvec::classify::{Classifier, ModelFile};
use wordvec::index::{HnswIndex, IndexMeta};
use wordvec::search::Query;
use wordvec::{Embeddings, Format, LoadOptions, SaveOptions, Term};

/// Panics outside the tests' own code (in the library or a crate it uses), counted by a hook
/// installed once: the other tests of this binary run beside this one, and their failing
/// assertions are theirs to report.
static PANICS: AtomicUsize = AtomicUsize::new(0);

fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().starts_with("tests/"))
            {
                PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

/// splitmix64: a seeded generator with no crate behind it, so a mutant is reproducible from
/// its number alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break size arithmetic and parsers, written over 1, 2, 4 or 8 bytes.
const NASTY: [u64; 10] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0xffff_ffff,
    1 << 59,
    0x7fff_ffff_ffff_ffff,
    u64::MAX,
];

/// One to three random edits of `base`.
fn mutate(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        if b.is_empty() {
            b.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(b.len());
        match rng.below(9) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next() as u8,
            2 => b[at] = [0, 0xff, b' ', b'\n', b'-', b'9'][rng.below(6)],
            3 => {
                let width = [1, 2, 4, 8][rng.below(4)];
                let v = NASTY[rng.below(NASTY.len())].to_le_bytes();
                let end = (at + width).min(b.len());
                b[at..end].copy_from_slice(&v[..end - at]);
            }
            4 => b.truncate(at),
            5 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at..end);
            }
            6 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                let chunk = b[at..end].to_vec();
                b.splice(at..at, chunk);
            }
            7 => {
                let n = 1 + rng.below(16);
                let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                b.splice(at..at, junk);
            }
            _ => {
                // A float at a 4-byte boundary: NaN, infinity, huge, subnormal.
                let at = at & !3;
                let v = [f32::NAN, f32::INFINITY, -3e38, 1e-45][rng.below(4)].to_le_bytes();
                let end = (at + 4).min(b.len());
                b[at..end].copy_from_slice(&v[..end - at]);
            }
        }
    }
    b
}

/// What a mutant did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Answered,
    Refused,
    Panicked,
}

fn run(f: impl FnOnce() -> wordvec::Result<()>) -> Outcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => Outcome::Answered,
        Ok(Err(e)) => {
            // Every error says something; none is empty.
            assert!(!e.to_string().is_empty());
            Outcome::Refused
        }
        Err(_) => Outcome::Panicked,
    }
}

/// Loads vectors and uses them as a client would: queries, a write, a reread.
fn use_vectors(path: &Path, format: Option<Format>, scratch: &Path) -> wordvec::Result<()> {
    let emb = wordvec::load(path, &LoadOptions::default().format(format))?;
    exercise(&emb)?;
    let out = scratch.join("copy.wvec");
    wordvec::save(&emb, &out, Format::Native, &SaveOptions::default())?;
    let again = wordvec::load(&out, &LoadOptions::default())?;
    exercise(&again)
}

fn exercise(emb: &Embeddings) -> wordvec::Result<()> {
    if emb.is_empty() {
        return Ok(());
    }
    let (first, last) = (emb.word(0).to_owned(), emb.word(emb.len() - 1).to_owned());
    emb.most_similar(&[Term::Word(&first)], &[], 5, None)?;
    emb.most_similar_cosmul(&[Term::Word(&last)], &[Term::Word(&first)], 5, None)?;
    emb.similarity(&first, &last)?;
    emb.doesnt_match(&[&first, &last])?;
    // A word outside the vocabulary: a vector from its n-grams in fastText models, a clear
    // "not in the vocabulary" elsewhere.
    match emb.most_similar(&[Term::Word("zzqxj-oov")], &[], 3, None) {
        Err(wordvec::Error::UnknownWords(_)) if emb.subwords().is_none() => {}
        r => {
            r?;
        }
    }
    let v = vec![1.0f32; emb.dims()];
    emb.most_similar_to_vector(&v, 3, Some(10))?;
    Ok(())
}

/// The files the mutation run starts from, made from the fixtures.
struct Bases {
    dir: tempfile::TempDir,
    /// (name, bytes, forced format or detection)
    vectors: Vec<(&'static str, Vec<u8>, Option<Format>)>,
    classifier: Vec<u8>,
    index_emb: Embeddings,
    /// wordvec's graph file.
    graph: Vec<u8>,
    /// The int8 copy of `index_emb`.
    int8: Vec<u8>,
    /// hnsw_rs's three files (metadata, graph, data).
    index_files: [Vec<u8>; 3],
}

fn bases() -> Bases {
    let dir = tempfile::tempdir().unwrap();
    // The first 300 words of the C tool's fixture, in every format.
    let small = wordvec::load(
        &common::data("w2vc-sg-d32.bin"),
        &LoadOptions::default().limit(Some(300)),
    )
    .unwrap();
    let mut vectors = Vec::new();
    for (name, format, ext) in [
        ("bin", Format::Word2VecBinary, "bin"),
        ("text", Format::Word2VecText, "txt"),
        ("glove", Format::GloveText, "glove"),
        ("native", Format::Native, "wvec"),
    ] {
        let p = dir.path().join(format!("base.{ext}"));
        wordvec::save(&small, &p, format, &SaveOptions::default()).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        vectors.push((name, bytes.clone(), Some(format)));
        if name == "bin" {
            // The same file detected rather than forced, and gzipped.
            vectors.push(("bin-detected", bytes.clone(), None));
            vectors.push(("gzip", gzip(&bytes), None));
            // Mutated before compression, so the damage gets past gzip's CRC to the parser.
            vectors.push(("gzip-content", bytes.clone(), None));
        }
    }
    // The supervised fastText fixture, and its native copy (with the n-gram section).
    let ft = std::fs::read(common::data("fasttext/ft-sup.bin")).unwrap();
    let ft_native = dir.path().join("ft.wvec");
    let ft_emb = wordvec::load(
        &common::data("fasttext/ft-sup.bin"),
        &LoadOptions::default(),
    )
    .unwrap();
    wordvec::save(&ft_emb, &ft_native, Format::Native, &SaveOptions::default()).unwrap();
    vectors.push(("fasttext", ft, None));
    vectors.push((
        "fasttext-native",
        std::fs::read(&ft_native).unwrap(),
        Some(Format::Native),
    ));
    // A small classifier, trained by the binary.
    let csv = common::labelled_csv(dir.path(), "d.csv", 120, 3, false);
    let model = dir.path().join("m.wvcls");
    let ok = std::process::Command::new(env!("CARGO_BIN_EXE_wordvec"))
        .args(["classify", "train"])
        .arg(&csv)
        .arg("-o")
        .arg(&model)
        .args(["--dim", "8", "--epochs", "2", "--hidden", "4", "--json"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let classifier = std::fs::read(&model).unwrap();
    // A small index over 300 rows, in wordvec's format and in the previous one (hnsw_rs's
    // files, which `import` reads).
    let graph_file = dir.path().join("base.idx");
    let index = common::small_index(&small);
    index.save(&graph_file).unwrap();
    let graph = std::fs::read(&graph_file).unwrap();
    let int8 = wordvec::quant::Int8Rows::build(&small).unwrap().to_bytes();
    let legacy = tempfile::tempdir_in(dir.path()).unwrap();
    let (idx, _) = common::legacy_index(&small, legacy.path());
    let (g, d) = wordvec::index::meta::hnsw_files(&idx);
    let index_files = [
        std::fs::read(&idx).unwrap(),
        std::fs::read(g).unwrap(),
        std::fs::read(d).unwrap(),
    ];
    Bases {
        dir,
        vectors,
        classifier,
        index_emb: small,
        graph,
        int8,
        index_files,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A classifier model file with its trailing checksum made right again, so that a mutation
/// reaches the parser instead of stopping at the checksum.
fn rehash_classifier(b: &mut [u8]) {
    if b.len() < 16 {
        return;
    }
    let body = b.len() - 8;
    let sum = xxhash_rust::xxh3::xxh3_64(&b[..body]);
    b[body..].copy_from_slice(&sum.to_le_bytes());
}

/// Writes an index whose graph or data file is `mutant` and whose metadata lists the mutant's
/// true size and hash (a crafted file, not an accident).
fn write_crafted_index(dir: &Path, base: &[Vec<u8>; 3], which: usize, mutant: &[u8]) -> PathBuf {
    let idx = dir.join("m.idx");
    let (g, d) = wordvec::index::meta::hnsw_files(&idx);
    std::fs::write(&g, if which == 1 { mutant } else { &base[1] }).unwrap();
    std::fs::write(&d, if which == 2 { mutant } else { &base[2] }).unwrap();
    let mut meta: IndexMeta = serde_json::from_slice(&base[0]).unwrap();
    meta.graph = wordvec::index::meta::check_file(&g).unwrap();
    meta.data = wordvec::index::meta::check_file(&d).unwrap();
    std::fs::write(&idx, serde_json::to_vec(&meta).unwrap()).unwrap();
    idx
}

fn use_index(path: &Path, emb: &Embeddings) -> wordvec::Result<()> {
    let index = HnswIndex::load(path, emb)?;
    search_all(&index, emb)?;
    index.verify()
}

/// Opens an int8 copy for `emb` and, when it is accepted, checks that queries through it give
/// the f32 answers.
fn use_int8(path: &Path, emb: &Embeddings) -> wordvec::Result<()> {
    let rows = wordvec::quant::Int8Rows::open(path, emb)?;
    let mut fast = wordvec::load(
        emb.metadata().source.as_deref().expect("a file"),
        &LoadOptions::default().limit(Some(emb.len())),
    )?;
    fast.attach_int8(rows)?;
    for w in [0, 7, 150, 299] {
        let terms = [Term::Word(emb.word(w))];
        let q = Query::new(&terms, &[], 10);
        assert_eq!(
            emb.search_exact(&q)?,
            fast.search_exact(&q)?,
            "an accepted int8 copy answered differently"
        );
    }
    Ok(())
}

fn import_index(path: &Path, emb: &Embeddings) -> wordvec::Result<()> {
    let index = HnswIndex::import(path, emb)?;
    index.verify()?;
    search_all(&index, emb)
}

fn search_all(index: &HnswIndex, emb: &Embeddings) -> wordvec::Result<()> {
    for w in [0, 7, 150, 299] {
        let word = emb.word(w).to_owned();
        let terms = [Term::Word(&word)];
        index.search(emb, &Query::new(&terms, &[], 10).ef(Some(64)))?;
        index.search(emb, &Query::new(&terms, &[], 3).cosmul(true))?;
        let filter = wordvec::search::Filter::from_words(
            emb,
            Some(&[emb.word(1), emb.word(2)]),
            &[emb.word(0)],
        )?;
        index.search(emb, &Query::new(&terms, &[], 5).filter(filter))?;
    }
    Ok(())
}

fn use_classifier(path: &Path) -> wordvec::Result<()> {
    let m = ModelFile::load(path)?;
    m.classifier
        .predict(&["good great fine", "плохо bad", &"x".repeat(1000)])?;
    let c = Classifier::load(path)?;
    c.probabilities(&["good"])?;
    Ok(())
}

#[test]
fn mutation_run() {
    count_panics();
    let per_target: usize = std::env::var("WORDVEC_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let b = bases();
    // (target name, mutant number)
    let mut targets: Vec<&str> = b.vectors.iter().map(|v| v.0).collect();
    targets.extend([
        "classifier",
        "classifier-rehashed",
        "graph",
        "hnsw_rs-graph",
        "hnsw_rs-data",
        "int8",
    ]);
    let work: Vec<(usize, usize)> = (0..targets.len())
        .flat_map(|t| (0..per_target).map(move |i| (t, i)))
        .collect();

    // Watchdog: a mutant running for more than 30 s is a hang.
    let in_flight: Arc<Mutex<Vec<(usize, usize, Instant)>>> = Arc::default();
    let watch = in_flight.clone();
    let names: Vec<String> = targets.iter().map(|s| s.to_string()).collect();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        for &(t, i, since) in watch.lock().unwrap().iter() {
            if since.elapsed() > Duration::from_secs(30) {
                eprintln!("HANG: mutant {i} of {} ran for over 30 s", names[t]);
                std::process::abort();
            }
        }
    });

    // Unmutated, every base is answered: the run measures the mutations, not a broken base.
    for (t, name) in targets.iter().enumerate() {
        let scratch = tempfile::tempdir_in(b.dir.path()).unwrap();
        let outcome = match *name {
            "classifier" | "classifier-rehashed" => {
                let p = scratch.path().join("m.wvcls");
                std::fs::write(&p, &b.classifier).unwrap();
                run(|| use_classifier(&p))
            }
            "graph" => {
                let p = scratch.path().join("g.idx");
                std::fs::write(&p, &b.graph).unwrap();
                run(|| use_index(&p, &b.index_emb))
            }
            "int8" => {
                let p = scratch.path().join("v.i8");
                std::fs::write(&p, &b.int8).unwrap();
                run(|| use_int8(&p, &b.index_emb))
            }
            "hnsw_rs-graph" | "hnsw_rs-data" => {
                let p = write_crafted_index(scratch.path(), &b.index_files, 1, &b.index_files[1]);
                run(|| import_index(&p, &b.index_emb))
            }
            _ => {
                let p = scratch.path().join("v.bin");
                let bytes = if *name == "gzip-content" {
                    gzip(&b.vectors[t].1)
                } else {
                    b.vectors[t].1.clone()
                };
                std::fs::write(&p, bytes).unwrap();
                run(|| use_vectors(&p, b.vectors[t].2, scratch.path()))
            }
        };
        assert_eq!(outcome, Outcome::Answered, "the unmutated {name} base");
    }
    let panics_before = PANICS.load(Ordering::SeqCst);
    let start = Instant::now();
    let outcomes: Vec<(usize, Outcome)> = work
        .par_iter()
        .map(|&(t, i)| {
            let mut rng = Rng(0x5eed_0000_0000_0000 ^ ((t as u64) << 32) ^ i as u64);
            let scratch = tempfile::tempdir_in(b.dir.path()).unwrap();
            in_flight.lock().unwrap().push((t, i, Instant::now()));
            let outcome = match targets[t] {
                "classifier" | "classifier-rehashed" => {
                    let mut m = mutate(&b.classifier, &mut rng);
                    if targets[t] == "classifier-rehashed" {
                        rehash_classifier(&mut m);
                    }
                    let p = scratch.path().join("m.wvcls");
                    std::fs::write(&p, &m).unwrap();
                    run(|| use_classifier(&p))
                }
                "int8" => {
                    let m = mutate(&b.int8, &mut rng);
                    let p = scratch.path().join("v.i8");
                    std::fs::write(&p, &m).unwrap();
                    run(|| use_int8(&p, &b.index_emb))
                }
                "graph" => {
                    let m = mutate(&b.graph, &mut rng);
                    let p = scratch.path().join("g.idx");
                    std::fs::write(&p, &m).unwrap();
                    run(|| use_index(&p, &b.index_emb))
                }
                "hnsw_rs-graph" | "hnsw_rs-data" => {
                    let which = if targets[t] == "hnsw_rs-graph" { 1 } else { 2 };
                    let m = mutate(&b.index_files[which], &mut rng);
                    let p = write_crafted_index(scratch.path(), &b.index_files, which, &m);
                    run(|| import_index(&p, &b.index_emb))
                }
                _ => {
                    let (name, base, format) = &b.vectors[t];
                    let mut m = mutate(base, &mut rng);
                    if *name == "gzip-content" {
                        m = gzip(&m);
                    }
                    let p = scratch.path().join("v.bin");
                    std::fs::write(&p, &m).unwrap();
                    run(|| use_vectors(&p, *format, scratch.path()))
                }
            };
            in_flight
                .lock()
                .unwrap()
                .retain(|&(tt, ii, _)| (tt, ii) != (t, i));
            (t, outcome)
        })
        .collect();
    let panics = PANICS.load(Ordering::SeqCst) - panics_before;
    eprintln!(
        "mutation run: {} mutants in {:.1} s",
        outcomes.len(),
        start.elapsed().as_secs_f64()
    );
    for (t, name) in targets.iter().enumerate() {
        let count = |o: Outcome| {
            outcomes
                .iter()
                .filter(|&&(tt, oo)| tt == t && oo == o)
                .count()
        };
        eprintln!(
            "  {name:<20} answered {:>5}  refused {:>5}  panicked {:>3}",
            count(Outcome::Answered),
            count(Outcome::Refused),
            count(Outcome::Panicked)
        );
    }
    let panicked = outcomes.iter().filter(|o| o.1 == Outcome::Panicked).count();
    eprintln!(
        "  total: {} mutants, {} answered, {} refused, {panicked} panicked, {panics} panic messages, 0 aborts, 0 hangs",
        outcomes.len(),
        outcomes.iter().filter(|o| o.1 == Outcome::Answered).count(),
        outcomes.iter().filter(|o| o.1 == Outcome::Refused).count(),
    );
    assert_eq!(panicked, 0, "mutants panicked");
    assert_eq!(panics, 0, "panics were caught somewhere inside (hnsw_rs?)");
}

/// A `.wvcls` whose sizes multiply past `usize::MAX` (32 words x 2^59 dims counted as 0 floats)
/// loaded and then aborted allocating 2^61 bytes; another aborted in `Params::zeros`.
#[test]
fn crafted_classifier_sizes_are_refused() {
    let b = bases();
    let body = b.classifier.len() - 8;
    let hlen = u64::from_le_bytes(b.classifier[8..16].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&b.classifier[16..16 + hlen]).unwrap();
    let data = &b.classifier[16 + hlen..body];
    let craft = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut h = header.clone();
        edit(&mut h);
        let json = serde_json::to_vec(&h).unwrap();
        let mut f = b.classifier[..8].to_vec();
        f.extend((json.len() as u64).to_le_bytes());
        f.extend(&json);
        f.extend(data);
        f.extend([0u8; 8]);
        rehash_classifier(&mut f);
        let p = b.dir.path().join("crafted.wvcls");
        std::fs::write(&p, f).unwrap();
        ModelFile::load(&p).map(|_| ()).unwrap_err().to_string()
    };
    let e = craft(&|h| h["architecture"]["dim"] = serde_json::json!(1u64 << 59));
    assert!(e.contains("crafted.wvcls"), "{e}");
    let e = craft(&|h| h["architecture"]["dim"] = serde_json::json!(60_000));
    assert!(e.contains("weights"), "{e}");
    let e = craft(&|h| h["architecture"]["hidden"] = serde_json::json!([65_536, 65_536]));
    assert!(e.contains("over the limit") || e.contains("weights"), "{e}");
    let e = craft(&|h| {
        let t = h["tensors"].as_array_mut().unwrap();
        t[0]["len"] = serde_json::json!(u64::MAX / 2);
    });
    assert!(e.contains("bytes of weights"), "{e}");
}

/// A native file with NaN in its matrix opened and answered with an empty table (exit 0);
/// finite but extreme query vectors got all-zero or NaN scores or an empty answer.
#[test]
fn extreme_query_vectors_answer_like_their_direction() {
    let emb = common::load("w2vc-sg-d32.bin");
    let d = emb.dims();
    let direction: Vec<f32> = (0..d).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    let want = emb.most_similar_to_vector(&direction, 10, None).unwrap();
    for scale in [1e20f32, 1e30, 1e-30, 1e-40] {
        let v: Vec<f32> = direction.iter().map(|x| x * scale).collect();
        if v.iter().all(|&x| x == 0.0) {
            continue;
        }
        let got = emb.most_similar_to_vector(&v, 10, None).unwrap();
        let words = |r: &[wordvec::Neighbor]| r.iter().map(|n| n.word.clone()).collect::<Vec<_>>();
        assert_eq!(words(&got), words(&want), "scale {scale}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.score - w.score).abs() < 1e-4,
                "scale {scale}: {} vs {}",
                g.score,
                w.score
            );
        }
    }
    // Every component at the edge of f32, alone and with a word.
    let edge = vec![3e38f32; d];
    let got = emb.most_similar_to_vector(&edge, 5, None).unwrap();
    let ones = emb.most_similar_to_vector(&vec![1.0; d], 5, None).unwrap();
    assert_eq!(got, ones);
    let mixed: Vec<f32> = (0..d)
        .map(|i| if i % 2 == 0 { 3e38 } else { -3e38 })
        .collect();
    let r = emb
        .most_similar(
            &[
                Term::Vector(&mixed),
                Term::Vector(&mixed),
                Term::Word("king"),
            ],
            &[],
            5,
            None,
        )
        .unwrap();
    assert_eq!(r.len(), 5);
    assert!(r
        .iter()
        .all(|n| n.score.is_finite() && n.score.abs() <= 1.0 + 1e-5));
}

fn write_tmp(bytes: &[u8], name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    (dir, p)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Arbitrary bytes, read as every format: an answer or an error, never a panic.
    #[test]
    fn any_bytes_in_any_reader(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let (dir, p) = write_tmp(&bytes, "x.bin");
        for format in [None, Some(Format::Word2VecBinary), Some(Format::Word2VecText), Some(Format::GloveText), Some(Format::Native)] {
            prop_assert_ne!(run(|| use_vectors(&p, format, dir.path())), Outcome::Panicked);
        }
        prop_assert_ne!(run(|| use_classifier(&p)), Outcome::Panicked);
    }

    /// Vectors written by wordvec and read back are the same, in every format; any cut of such
    /// a file is an error or a shorter set, never a panic.
    #[test]
    fn round_trip_and_truncation(
        n in 1usize..20,
        d in 1usize..9,
        seed in any::<u64>(),
        cut in 0.0f64..1.0,
    ) {
        let mut rng = Rng(seed);
        let words: Vec<String> = (0..n).map(|i| format!("w{i}_{}", rng.below(1000))).collect();
        let values: Vec<f32> = (0..n * d).map(|_| (rng.below(2001) as f32 - 1000.0) / 100.0).collect();
        let emb = Embeddings::from_vectors(&words, values, d).unwrap();
        let dir = tempfile::tempdir().unwrap();
        for format in [Format::Word2VecBinary, Format::Word2VecText, Format::Native] {
            let p = dir.path().join("rt");
            wordvec::save(&emb, &p, format, &SaveOptions::default()).unwrap();
            let back = wordvec::load(&p, &LoadOptions::default()).unwrap();
            prop_assert_eq!(back.len(), emb.len());
            for i in 0..emb.len() {
                prop_assert_eq!(back.word(i), emb.word(i));
                for (a, b) in back.raw_row(i).iter().zip(emb.raw_row(i)) {
                    prop_assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0));
                }
            }
            let bytes = std::fs::read(&p).unwrap();
            let cut = (bytes.len() as f64 * cut) as usize;
            std::fs::write(&p, &bytes[..cut]).unwrap();
            prop_assert_ne!(run(|| use_vectors(&p, Some(format), dir.path())), Outcome::Panicked);
        }
    }
}

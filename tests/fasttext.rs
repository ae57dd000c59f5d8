//! fastText models: vectors of known and unknown words equal to fastText's own
//! (`get_word_vector`), queries equal to gensim's `load_facebook_vectors`, the n-grams kept by
//! the native format, and clear errors for damaged models.
//!
//! Fixtures: tests/data/fasttext/ft-sg.bin (unsupervised skip-gram) and ft-sup.bin (supervised),
//! made by the real fastText, and fasttext-expected.json with fastText's and gensim's answers;
//! the commands that made them are in tests/data/fasttext/make.py.

use crate::common;

use common::{floats, wordvec};

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use std::path::PathBuf;

use predicates::prelude::*;
use serde_json::Value;
use wordvec::{Embeddings, ErrorKind, Format, LoadOptions, SaveOptions, Term};

fn model(name: &str) -> PathBuf {
    common::data(&format!("fasttext/{name}"))
}

fn expected() -> Value {
    let text = std::fs::read_to_string(model("fasttext-expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load(name: &str) -> Embeddings {
    wordvec::load(&model(name), &LoadOptions::default()).unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

/// Every probe word of both models: the vector fastText gives, within 1e-6; a word that
/// fastText gives a zero vector (no n-gram, not in the vocabulary) is an unknown word here, as
/// in gensim.
#[test]
fn vectors_equal_fasttexts_for_known_and_unknown_words() {
    let want = expected();
    for (name, file) in [("sg", "ft-sg.bin"), ("sup", "ft-sup.bin")] {
        let emb = load(file);
        let w = &want[name];
        assert_eq!(emb.len() as u64, w["words"].as_u64().unwrap(), "{name}");
        assert_eq!(emb.metadata().format, Some(Format::FastText));
        for (i, first) in w["first_words"].as_array().unwrap().iter().enumerate() {
            assert_eq!(emb.word(i), first.as_str().unwrap(), "{name}: word {i}");
        }
        let mut oov = 0;
        for (word, v) in w["vectors"].as_object().unwrap() {
            let v = floats(v);
            let known = emb.index(word).is_some();
            if !known && v.iter().all(|&x| x == 0.0) {
                let e = emb.vector(word).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::NotFound, "{name}: {word:?}");
                assert!(!emb.has_vector(word));
                continue;
            }
            oov += usize::from(!known);
            let got = emb.vector(word).unwrap();
            assert!(
                close(&got, &v, 1e-6),
                "{name}: {word:?}\n ours     {got:?}\n fastText {v:?}"
            );
            assert!(emb.has_vector(word));
        }
        assert!(
            oov >= 5,
            "{name}: {oov} words outside the vocabulary checked"
        );
    }
}

#[test]
fn queries_equal_gensims_load_facebook_vectors() {
    let want = expected();
    let emb = load("ft-sg.bin");
    let sg = &want["sg"];
    for (word, answer) in sg["most_similar"].as_object().unwrap() {
        let got = emb.most_similar(&[Term::Word(word)], &[], 5, None).unwrap();
        let answer = answer.as_array().unwrap();
        assert_eq!(got.len(), answer.len(), "{word}");
        for (g, a) in got.iter().zip(answer) {
            assert_eq!(g.word, a[0].as_str().unwrap(), "{word}: {got:?}");
            let s = a[1].as_f64().unwrap() as f32;
            assert!((g.score - s).abs() <= 1e-5, "{word}: {} {s}", g.score);
        }
    }
    for (word, v) in sg["gensim_vectors"].as_object().unwrap() {
        assert!(
            close(&emb.vector(word).unwrap(), &floats(v), 1e-6),
            "{word}"
        );
    }
    let s = sg["similarity"]["dictionary|dictionaryish"]
        .as_f64()
        .unwrap() as f32;
    let got = emb.similarity("dictionary", "dictionaryish").unwrap();
    assert!((got - s).abs() <= 1e-5, "{got} {s}");
    // An unknown word takes part in doesnt_match as in gensim, where every word is `in` a
    // fastText model.
    let odd = emb
        .doesnt_match(&["dictionary", "dictionaryish", "zzqx"])
        .unwrap();
    assert!(odd.ignored.is_empty());
}

/// Native copies keep the n-grams: the mapped file answers unknown words with the same bits.
#[test]
fn native_copies_keep_the_ngrams() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["ft-sg.bin", "ft-sup.bin"] {
        let emb = load(file);
        let out = dir.path().join(format!("{file}.wvec"));
        wordvec::save(&emb, &out, Format::Native, &SaveOptions::default()).unwrap();
        let native = wordvec::load(&out, &LoadOptions::default()).unwrap();
        assert_eq!(native.len(), emb.len());
        let sw = native.subwords().unwrap();
        assert_eq!((sw.minn(), sw.maxn(), sw.bucket()), {
            let s = emb.subwords().unwrap();
            (s.minn(), s.maxn(), s.bucket())
        });
        for word in ["dictionaryish", "cafés", "приветик", "🙂🙂", "naïveté"] {
            assert_eq!(
                native.vector(word).ok(),
                emb.vector(word).ok(),
                "{file}: {word}"
            );
        }
        for i in (0..emb.len()).step_by(37) {
            assert!(close(&native.raw_row(i), &emb.raw_row(i), 1e-6));
        }
        // Written again from the native copy: the same bytes.
        let again = dir.path().join(format!("{file}.again.wvec"));
        wordvec::save(&native, &again, Format::Native, &SaveOptions::default()).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());
        // A native file cut short inside its n-gram section is refused, never half read.
        let bytes = std::fs::read(&out).unwrap();
        let cut = dir.path().join("cut.wvec");
        std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
        let e = wordvec::load(&cut, &LoadOptions::default()).unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }
}

/// Every cut of a model is an error naming the file, never a panic; a quantised model says so.
#[test]
fn damaged_models_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model("ft-sup.bin")).unwrap();
    let p = dir.path().join("m.bin");
    // The output matrix is not read: cuts are taken up to the end of the input matrix.
    let emb = load("ft-sup.bin");
    let mut cuts: Vec<usize> = (0..200).collect();
    cuts.extend((200..bytes.len()).step_by(251));
    let mut refused = 0;
    for cut in cuts {
        std::fs::write(&p, &bytes[..cut]).unwrap();
        match wordvec::load(&p, &LoadOptions::default().format(Some(Format::FastText))) {
            Ok(e) => assert_eq!(e.len(), emb.len(), "cut at {cut} read"),
            Err(e) => {
                refused += 1;
                let msg = e.to_string();
                assert!(msg.contains("m.bin"), "cut at {cut}: {msg}");
            }
        }
    }
    assert!(refused > 150);
    // Dimension 0 in the header.
    let mut b = bytes.clone();
    b[8..12].copy_from_slice(&0i32.to_le_bytes());
    std::fs::write(&p, &b).unwrap();
    let e = wordvec::load(&p, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("dimension 0"), "{e}");
    // A dictionary larger than the file (size at byte 64, words at 68, labels at 72): refused
    // before anything is allocated for it.
    let mut b = bytes.clone();
    let labels = i32::from_le_bytes(b[72..76].try_into().unwrap());
    b[64..68].copy_from_slice(&i32::MAX.to_le_bytes());
    b[68..72].copy_from_slice(&(i32::MAX - labels).to_le_bytes());
    std::fs::write(&p, &b).unwrap();
    let e = wordvec::load(&p, &LoadOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("byte offset 64") && e.to_string().contains("cannot fit"),
        "{e}"
    );
}

#[test]
fn cli_answers_unknown_words_and_says_what_convert_keeps() {
    let dir = tempfile::tempdir().unwrap();
    let m = model("ft-sg.bin");
    let m = m.to_str().unwrap();
    let out = wordvec()
        .args(["nn", m, "dictionaryish", "-k", "3", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let want = &expected()["sg"]["most_similar"]["dictionaryish"];
    assert_eq!(
        v["neighbors"][0]["word"].as_str(),
        want[0][0].as_str(),
        "{v}"
    );
    wordvec()
        .args(["similarity", m, "dictionary", "dictionaryish"])
        .assert()
        .success();
    let txt = dir.path().join("v.txt");
    wordvec()
        .args(["convert", m, txt.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::contains("known words only"));
    let native = dir.path().join("v.wvec");
    wordvec()
        .args(["convert", m, native.to_str().unwrap()])
        .assert()
        .success()
        .stderr(predicate::str::contains("n-grams kept"));
    wordvec()
        .args([
            "nn",
            native.to_str().unwrap(),
            "dictionaryish",
            "-k",
            "3",
            "--json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(want[0][0].as_str().unwrap()));
}

/// A classifier trained on fastText vectors starts every word of its vocabulary from them,
/// words outside the model's vocabulary from their n-grams.
#[test]
fn classifier_vectors_cover_unknown_words() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("d.csv");
    let mut text = String::from("text,label\n");
    for i in 0..60 {
        let (t, l) = if i % 2 == 0 {
            ("the dictionaryish database of words", "a")
        } else {
            ("cafés and naïveté everywhere", "b")
        };
        text.push_str(&format!("{t} {i},{l}\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let out = dir.path().join("m.wvcls");
    wordvec()
        .args([
            "classify",
            "train",
            csv.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args([
            "--vectors",
            model("ft-sg.bin").to_str().unwrap(),
            "--epochs",
            "2",
            "-v",
        ])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("from_subwords")
                .and(predicate::str::contains("from_subwords=0").not()),
        );
}

/// The daemon serves a fastText model: GetVectors says which vectors came from n-grams, and
/// queries accept words outside the vocabulary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_answers_unknown_words_of_fasttext_models() {
    use wordvec::server::proto;

    let emb = load("ft-sg.bin");
    let want_oov = emb.vector("dictionaryish").unwrap();
    let want_known = emb.vector("dictionary").unwrap();
    let s = common::server::start_exact("ft", emb).await;
    let mut c = s.client().await;
    let r = c
        .get_vectors(proto::GetVectorsRequest {
            words: vec!["dictionary".into(), "dictionaryish".into(), "é".into()],
            normalized: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let v = &r.vectors;
    assert!(v[0].found && !v[0].from_subwords);
    assert_eq!(v[0].vector.as_ref().unwrap().values, want_known);
    assert!(v[1].found && v[1].from_subwords);
    assert_eq!(v[1].vector.as_ref().unwrap().values, want_oov);
    // Whether a one-letter word has a vector (an n-gram with a row) is fastText's call, as the
    // expected file records it.
    let e = expected();
    let fasttext_zero = e["sg"]["vectors"]["é"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x.as_f64() == Some(0.0));
    assert_eq!(v[2].found, !fasttext_zero);
    let r = c
        .most_similar(common::server::ms(&["dictionaryish"], &[], 3))
        .await
        .unwrap()
        .into_inner();
    let want = &e["sg"]["most_similar"]["dictionaryish"];
    assert_eq!(common::server::words(&r)[0], want[0][0].as_str().unwrap());
    s.shutdown().await.unwrap();
}

/// `eval analogies|pairs --oov-from-subwords` answers questions (scores pairs) with unknown
/// words from their n-grams; by default they are skipped, as gensim skips them.
#[test]
fn eval_can_answer_unknown_words_from_subwords() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.txt");
    std::fs::write(
        &q,
        ": s\nthe thee there tongue\ndictionary dictionaryish production abdication\n",
    )
    .unwrap();
    // `wordvec eval KIND ft-sg.bin FILE --json --case-sensitive EXTRA...`, parsed.
    let run = |kind: &str, file: &std::path::Path, extra: &[&str]| -> Value {
        let out = wordvec()
            .args(["eval", kind, model("ft-sg.bin").to_str().unwrap()])
            .arg(file)
            .args(["--json", "--case-sensitive"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let plain = run("analogies", &q, &[]);
    let sub = run("analogies", &q, &["--oov-from-subwords"]);
    assert_eq!(
        (plain["questions"].as_u64(), plain["oov"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(sub["oov"].as_u64(), Some(0), "{sub}");
    // Word pairs the same way.
    let pairs = dir.path().join("p.tsv");
    std::fs::write(
        &pairs,
        "the\tthee\t8.0\ndictionary\tdictionaryish\t9.5\nthe\tzzqx\t0.5\n",
    )
    .unwrap();
    assert_eq!(run("pairs", &pairs, &[])["pairs"].as_u64(), Some(1));
    let sub = run("pairs", &pairs, &["--oov-from-subwords"]);
    assert_eq!(
        (sub["pairs"].as_u64(), sub["oov"].as_u64()),
        (Some(3), Some(0)),
        "{sub}"
    );
    wordvec()
        .args([
            "eval",
            "analogies",
            common::data("w2vc-sg-d32.bin").to_str().unwrap(),
        ])
        .arg(&q)
        .arg("--oov-from-subwords")
        .assert()
        .failure()
        .stderr(predicate::str::contains("needs a fastText model"));
}

/// A native copy whose n-gram row was damaged after it was written: the word that uses the row
/// gets an error naming the file and the row's byte offset, never a NaN answer; other words
/// still answer.
#[test]
fn a_damaged_ngram_row_is_named_when_used() {
    let dir = tempfile::tempdir().unwrap();
    let emb = load("ft-sg.bin");
    let out = dir.path().join("v.wvec");
    wordvec::save(&emb, &out, Format::Native, &SaveOptions::default()).unwrap();
    let mut bytes = std::fs::read(&out).unwrap();
    // The n-gram section (header bytes 96..104); without a pruning map its rows start 64 bytes
    // into it.
    let section = u64::from_le_bytes(bytes[96..104].try_into().unwrap()) as usize;
    let mut rows = Vec::new();
    emb.subwords()
        .unwrap()
        .for_each_ngram_row("dictionaryish".as_bytes(), |r| rows.push(r));
    let row = rows[0];
    let at = section + 64 + row * emb.dims() * 4;
    bytes[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(&out, &bytes).unwrap();
    let damaged = wordvec::load(&out, &LoadOptions::default()).unwrap();
    let e = damaged
        .most_similar(&[Term::Word("dictionaryish")], &[], 3, None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("v.wvec")
            && e.contains(&format!("byte offset {at}"))
            && e.contains(&format!("n-gram row {row}")),
        "{e}"
    );
    assert!(damaged.vector("the").is_ok());
}

/// The system allocator, counting the bytes each thread asks for, so that a test can see what
/// one call allocated (tests run on threads of their own).
struct Counting;

thread_local! {
    static ALLOCATED: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; the counter is a const-
// initialised thread-local `Cell`, which neither allocates nor can re-enter the allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + layout.size()));
        // SAFETY: the caller's contract for `layout` is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.with(|a| a.set(a.get() + new_size));
        // SAFETY: `ptr` came from `System.alloc` with this `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = ALLOCATED.with(Cell::get);
    let out = f();
    (out, ALLOCATED.with(Cell::get) - before)
}

/// Issue 20, item 1: the vector of an unknown word of 1 MB took the list of its n-grams' rows
/// (8 bytes an n-gram: 4 million n-grams here, 64 MB with the list's growth). The rows are now
/// summed as they are hashed: the word costs its vector and nothing more, from the fastText
/// file and from its native copy, as a term of a query too.
#[test]
fn the_ngrams_of_a_long_unknown_word_take_no_memory() {
    let dir = tempfile::tempdir().unwrap();
    let emb = load("ft-sg.bin");
    let out = dir.path().join("v.wvec");
    wordvec::save(&emb, &out, Format::Native, &SaveOptions::default()).unwrap();
    let native = wordvec::load(&out, &LoadOptions::default()).unwrap();
    let word: String = "abcdefghij".repeat(100_000);
    for e in [&emb, &native] {
        let (v, bytes) = allocated_by(|| e.subword_vector(&word).unwrap().unwrap());
        assert_eq!(v.len(), 16);
        assert!(bytes < 4096, "{bytes} bytes allocated for one vector");
        let (r, bytes) =
            allocated_by(|| e.most_similar(&[Term::Word(&word)], &[], 3, None).unwrap());
        assert_eq!(r.len(), 3);
        assert!(bytes < 1 << 20, "{bytes} bytes allocated for one query");
    }
}

/// Issue 20, item 1: a native copy whose n-gram section says maxn = 2^32 - 1 was read, and a
/// 60 KB unknown word then took the square of its length in n-grams (an abort); maxn past the
/// cap, minn past maxn and a bucket count past i32 are refused when the file is opened, naming
/// the file, the field and its byte offset.
#[test]
fn the_native_ngram_section_is_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let emb = load("ft-sg.bin");
    let out = dir.path().join("v.wvec");
    wordvec::save(&emb, &out, Format::Native, &SaveOptions::default()).unwrap();
    let bytes = std::fs::read(&out).unwrap();
    // The section's header: u32 minn, maxn, bucket, pruning.
    let section = u64::from_le_bytes(bytes[96..104].try_into().unwrap()) as usize;
    let patched = |field: usize, value: u32| {
        let mut b = bytes.clone();
        b[section + 4 * field..section + 4 * field + 4].copy_from_slice(&value.to_le_bytes());
        let p = dir.path().join(format!("bad{field}-{value}.wvec"));
        std::fs::write(&p, &b).unwrap();
        wordvec::load(&p, &LoadOptions::default())
    };
    for (field, value, what) in [
        (1, u32::MAX, "maxn 4294967295"),
        (1, 33, "maxn 33"),
        (0, 6, "minn 6"),
        (2, u32::MAX, "bucket 4294967295"),
    ] {
        let e = patched(field, value).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(what)
                && msg.contains(&format!("byte offset {}", section + 4 * field))
                && msg.contains(&format!("bad{field}-{value}.wvec")),
            "{msg}"
        );
        assert_eq!(e.kind(), ErrorKind::Data);
    }
    // At the cap, the file opens and a long unknown word answers.
    let ok = patched(1, 32).unwrap();
    assert!(ok.vector(&"q".repeat(60_000)).is_ok());
}

/// Issue 20, item 1: the fastText reader took maxn up to 256; n-gram arguments are now checked
/// as in the native reader, naming the argument's byte offset.
#[test]
fn the_fasttext_ngram_arguments_are_range_checked() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(model("ft-sg.bin")).unwrap();
    // The arguments start at byte 8: bucket is the 9th i32 (byte 40), minn 44, maxn 48.
    for (at, value, what) in [
        (48, 256i32, "maxn 256"),
        (48, 33, "maxn 33"),
        (44, 6, "minn 6"),
        (40, -1, "bucket -1"),
    ] {
        let mut b = bytes.clone();
        b[at..at + 4].copy_from_slice(&value.to_le_bytes());
        let p = dir.path().join("m.bin");
        std::fs::write(&p, &b).unwrap();
        let msg = wordvec::load(&p, &LoadOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains(what) && msg.contains(&format!("byte offset {at}")),
            "{msg}"
        );
    }
}

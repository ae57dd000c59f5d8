//! Subword training (fastText's model) end to end: the binary's outputs (fastText .bin, native
//! .wvec, .vec), quality on planted structure, out-of-vocabulary words, checkpoint and resume,
//! bad input, and fastText's own Python module and gensim reading what it writes.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;

use common::{planted_corpus, wordvec};
use wordvec::train::{Model, Sentences, TrainConfig, TrainState, Trainer};
use wordvec::{Embeddings, LoadOptions};

/// `wordvec train` of a small subword `model` of `corpus` into `out`, one thread and a seed (so
/// the same every time), with `extra` arguments.
fn train(corpus: &Path, out: &Path, model: &str, extra: &[&str]) -> String {
    let o = wordvec()
        .args([
            "train",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .args(["--model", model, "--minn", "3", "--maxn", "5"])
        .args(["--buckets", "5000", "--dim", "16", "--min-count", "1"])
        .args([
            "--sample",
            "0",
            "--threads",
            "1",
            "--epochs",
            "5",
            "--seed",
            "4",
        ])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    err
}

fn load(path: &Path) -> Embeddings {
    wordvec::load(path, &LoadOptions::default()).unwrap()
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

fn oov(emb: &Embeddings, word: &str) -> Vec<f32> {
    assert!(emb.index(word).is_none(), "{word} is in the vocabulary");
    emb.subword_vector(word).unwrap().expect(word)
}

#[test]
fn the_binary_writes_fasttext_bin_native_and_vec_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let bin = dir.path().join("m.bin");
    let err = train(&corpus, &bin, "skipgram", &["--save-vectors"]);
    assert!(err.contains("(fasttext)"), "{err}");
    let wvec = dir.path().join("m.wvec");
    train(&corpus, &wvec, "skipgram", &[]);

    let (b, w) = (load(&bin), load(&wvec));
    let v = load(&dir.path().join("m.vec"));
    assert_eq!(b.metadata().format, Some(wordvec::Format::FastText));
    assert_eq!((b.len(), b.dims()), (v.len(), 16));
    let near = |a: &[f32], b: &[f32], tol: f32| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol);
    for i in 0..b.len() {
        let word = b.word(i);
        // The same run: the same vectors in .bin and .wvec (which keeps unit rows and norms, so
        // to rounding), printed in .vec.
        assert!(
            near(&b.raw_row(i), &w.raw_row(w.index(word).unwrap()), 1e-6),
            "{word}"
        );
        assert!(
            near(&b.raw_row(i), &v.raw_row(v.index(word).unwrap()), 1e-5),
            "{word}"
        );
    }
    for word in ["whiskerz", "automobiles", "fuels"] {
        assert_eq!(oov(&b, word), oov(&w, word), "{word}");
    }
    // A word model has no n-grams: the text output cannot answer words outside it.
    assert!(v.subword_vector("whiskerz").unwrap().is_none());
}

#[test]
fn planted_structure_and_unseen_words_are_learned() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    for model in ["skipgram", "cbow"] {
        let out = dir.path().join(format!("{model}.wvec"));
        train(&corpus, &out, model, &[]);
        let emb = load(&out);
        let sim = |a: &str, b: &str| emb.similarity(a, b).unwrap();
        let across = sim("cat", "car").max(sim("feline", "automobile"));
        assert!(
            sim("cat", "feline") > across + 0.2 && sim("car", "automobile") > across + 0.2,
            "{model}: cat~feline {}, car~automobile {}, across {across}",
            sim("cat", "feline"),
            sim("car", "automobile")
        );
        // Misspellings never seen in training land beside their words, by their n-grams.
        for (unseen, near, far) in [
            ("whiskerz", "whiskers", "engine"),
            ("garages", "garage", "purr"),
        ] {
            let u = oov(&emb, unseen);
            let (n, f) = (emb.vector(near).unwrap(), emb.vector(far).unwrap());
            assert!(
                cos(&u, &n) > cos(&u, &f) + 0.2,
                "{model}: {unseen}~{near} {} vs {unseen}~{far} {}",
                cos(&u, &n),
                cos(&u, &f)
            );
        }
    }
}

#[test]
fn bad_subword_settings_are_clear_errors_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let rare = dir.path().join("rare.txt");
    std::fs::write(&rare, "a b c\n").unwrap();
    let out = dir.path().join("m.bin");
    let cases: &[(&[&str], &str)] = &[
        (&["--minn", "5", "--maxn", "3"], "maxn 3 is below minn 5"),
        (
            &["--minn", "3", "--maxn", "33"],
            "maxn 33 is over the limit of 32",
        ),
        (
            &["--minn", "3", "--buckets", "0"],
            "buckets must be at least 1",
        ),
        (
            &["--minn", "3", "--buckets", "4000000000000"],
            "buckets 4000000000000 is over the limit of 33554432",
        ),
        (&["--minn", "3", "--device", "cuda"], "runs on the CPU only"),
        (&["--format", "fasttext"], "writes subword models only"),
    ];
    for (args, want) in cases {
        let o = wordvec()
            .args([
                "train",
                corpus.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .args(*args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let o = wordvec()
        .args(["train", rare.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--minn", "3", "--buckets", "30000000", "--dim", "1000"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no word of the corpus occurs at least 5 times"),
        "{err}"
    );
    assert!(!out.exists());
}

fn small() -> TrainConfig {
    TrainConfig::default()
        .model(Model::SkipGram)
        .dims(12)
        .epochs(3)
        .min_count(1)
        .sample(0.0)
        .threads(1)
        .seed(5)
        .minn(3)
        .maxn(5)
        .bucket(3000)
}

#[test]
fn a_subword_run_resumes_exactly_where_its_checkpoint_left() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let files = [corpus];
    let whole = Trainer::new(small()).unwrap().train(&files).unwrap();
    let ckpt = dir.path().join("run.ckpt");
    let trainer = Trainer::new(small()).unwrap().checkpoint_every_epoch(&ckpt);
    let stop = trainer.stop_flag();
    let cut = trainer
        .on_epoch(move |done, emb| {
            // Every epoch's embeddings carry the n-gram table.
            assert!(emb.subword_vector("whiskerz").unwrap().is_some());
            if done == 2 {
                stop.store(true, Ordering::SeqCst);
            }
            Ok(())
        })
        .train(&files)
        .unwrap();
    assert!(cut.interrupted && cut.epochs_done == 2);
    let resumed = Trainer::new(small())
        .unwrap()
        .resume_from(&ckpt)
        .train(&files)
        .unwrap();
    let (a, b) = (
        whole.subwords.as_ref().unwrap(),
        resumed.subwords.as_ref().unwrap(),
    );
    // Word rows and bucket rows alike, bit for bit.
    assert_eq!(a.input().len(), (whole.vocab.len() + 3000) * 12);
    assert!(a
        .input()
        .iter()
        .zip(b.input())
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert!(a
        .output()
        .iter()
        .zip(b.output())
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_eq!(whole.vectors, resumed.vectors);
    // Other n-gram settings cannot resume it.
    let err = Trainer::new(small().bucket(3001))
        .unwrap()
        .resume_from(&ckpt)
        .train(&files)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("different settings"), "{err}");
}

#[test]
fn an_update_of_a_subword_model_keeps_its_buckets_and_gives_new_words_rows() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let trained = Trainer::new(small())
        .unwrap()
        .train(std::slice::from_ref(&corpus))
        .unwrap();
    let known = trained.vocab.len();
    let state = trained.into_state();
    // The state holds the whole input matrix, and goes through a checkpoint whole.
    assert_eq!(state.vectors.len(), (known + 3000) * 12);
    let back = TrainState::from_bytes(&state.to_bytes().unwrap(), Path::new("m")).unwrap();
    assert_eq!(
        (&back.vectors, &back.output),
        (&state.vectors, &state.output)
    );
    let buckets = state.vectors[known * 12..].to_vec();

    let new = dir.path().join("new.txt");
    std::fs::write(
        &new,
        "whiskerette purr cat milk whiskerette paws\n".repeat(50),
    )
    .unwrap();
    let mut updated = state.clone();
    let counts = wordvec::train::count_words(Sentences::Files(vec![new.clone()])).unwrap();
    assert_eq!(updated.update_vocab(counts, |_, _| true, None).unwrap(), 1);
    // Known rows and bucket rows as they were; the new word's row between them.
    assert_eq!(updated.vectors[..known * 12], state.vectors[..known * 12]);
    assert_eq!(updated.vectors[(known + 1) * 12..], buckets[..]);
    assert_eq!(updated.output.len(), (known + 1) * 12);

    let after = Trainer::new(small())
        .unwrap()
        .train_update(state.clone(), std::slice::from_ref(&new))
        .unwrap();
    assert_eq!(after.vocab.len(), known + 1);
    let model = after.subwords.as_ref().unwrap();
    assert_eq!(model.input().len(), (known + 1 + 3000) * 12);
    let emb = after.to_embeddings().unwrap();
    assert!(emb.index("whiskerette").is_some());
    // It shares n-grams with "whiskers", trained on the first corpus.
    let (a, b) = (
        emb.vector("whiskerette").unwrap(),
        emb.vector("whiskers").unwrap(),
    );
    assert!(cos(&a, &b) > 0.3, "{}", cos(&a, &b));

    // Other n-gram settings (or none) cannot update it.
    for cfg in [small().minn(0), small().bucket(3001)] {
        let err = Trainer::new(cfg)
            .unwrap()
            .train_update(state.clone(), std::slice::from_ref(&new))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("subword mismatch"), "{err}");
    }

    // The binary: --update takes the model's n-gram settings and writes the updated state.
    let out = dir.path().join("m.wvec");
    train(&corpus, &out, "skipgram", &["--checkpoint-every-epoch"]);
    let ckpt = dir.path().join("m.wvec.ckpt");
    let out2 = dir.path().join("m2.wvec");
    let o = wordvec()
        .args(["train", new.to_str().unwrap(), "-o", out2.to_str().unwrap()])
        .args(["--update", ckpt.to_str().unwrap(), "--model", "skipgram"])
        .args(["--min-count", "1", "--threads", "1", "--epochs", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let emb = load(&out2);
    assert!(emb.index("whiskerette").is_some());
    assert!(emb.subword_vector("whiskerettes").unwrap().is_some());
    let state = TrainState::load(&dir.path().join("m2.wvec.ckpt")).unwrap();
    assert_eq!((state.config.minn, state.config.bucket), (3, 5000));
}

/// Loads a fastText `.bin` with fastText's Python module and with gensim, and prints each
/// word's vector from both as JSON.
pub(crate) const PY_LOAD: &str = r#"
import json, sys
import fasttext
from gensim.models.fasttext import load_facebook_model
path, words = sys.argv[1], sys.argv[2:]
ft = fasttext.load_model(path)
gm = load_facebook_model(path)
print(json.dumps({
    "words": len(ft.words),
    "gensim_words": len(gm.wv.index_to_key),
    "fasttext": {w: [float(x) for x in ft.get_word_vector(w)] for w in words},
    "gensim": {w: [float(x) for x in gm.wv[w]] for w in words},
}))
"#;

/// The Python with `fasttext` (pip fasttext-wheel) and gensim: $WORDVEC_TEST_PYTHON, else
/// python3; `None` when python3 cannot import them. A $WORDVEC_TEST_PYTHON that cannot (CI
/// sets it) fails the test: there the check must run.
pub(crate) fn python_with_fasttext() -> Option<PathBuf> {
    let given = std::env::var_os("WORDVEC_TEST_PYTHON").map(PathBuf::from);
    let py = given.clone().unwrap_or_else(|| "python3".into());
    let out = Command::new(&py)
        .args(["-c", "import fasttext, gensim.models.fasttext"])
        .output();
    let ok = out.as_ref().is_ok_and(|o| o.status.success());
    if !ok && given.is_some() {
        panic!(
            "WORDVEC_TEST_PYTHON={} cannot import fasttext and gensim: {out:?}",
            py.display()
        );
    }
    ok.then_some(py)
}

#[test]
fn fasttext_and_gensim_read_the_bin_with_the_same_vectors() {
    let Some(py) = python_with_fasttext() else {
        eprintln!("python with fasttext and gensim not found: the readers' parity was not checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    for model in ["skipgram", "cbow"] {
        let bin = dir.path().join(format!("{model}.bin"));
        train(&corpus, &bin, model, &[]);
        let ours = load(&bin);
        let known = ["cat", "automobile", "whiskers"];
        let unseen = ["whiskerz", "automobiles", "ünïcödé"];
        let out = Command::new(&py)
            .args(["-c", PY_LOAD, bin.to_str().unwrap()])
            .args(known.iter().chain(&unseen))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["words"], ours.len());
        assert_eq!(got["gensim_words"], ours.len());
        for word in known.iter().chain(&unseen) {
            let want = match ours.index(word) {
                Some(i) => ours.raw_row(i),
                None => oov(&ours, word),
            };
            for reader in ["fasttext", "gensim"] {
                let theirs = common::floats(&got[reader][*word]);
                let diff = want
                    .iter()
                    .zip(&theirs)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                assert!(
                    theirs.len() == want.len() && diff <= 1e-6,
                    "{model} {reader} {word}: differs by {diff}"
                );
            }
        }
    }
}

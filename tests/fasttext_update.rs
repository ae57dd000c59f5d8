//! `wordvec train NEW --update MODEL.bin`: going on training a fastText `.bin`, one written by
//! fastText's own Python module (`fasttext-wheel`) and one written by wordvec. New words get
//! rows, known words keep theirs and go on training, the result is read by fastText and gensim
//! with the vectors wordvec gives, and gensim's own online update of the same model (its
//! `load_facebook_model` then `build_vocab(update=True)`) ends with the same vocabulary.
//! A damaged model is refused with the file and the byte offset.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{planted_corpus, wordvec};
use wordvec::train::{Model, TrainState};
use wordvec::LoadOptions;

use crate::train_subword::{python_with_fasttext, PY_LOAD};

/// Trains a small skip-gram model with fastText's Python module: `corpus`, `out`.
const PY_TRAIN: &str = r#"
import sys, fasttext
corpus, out = sys.argv[1:]
m = fasttext.train_unsupervised(corpus, model="skipgram", dim=16, minn=3, maxn=5, bucket=5000,
                                minCount=1, epoch=5, thread=1, loss="ns", verbose=0)
m.save_model(out)
"#;

/// gensim's online update of a fastText model: `model`, `new corpus`; prints the vocabulary.
const PY_GENSIM_UPDATE: &str = r#"
import json, sys
from gensim.models.fasttext import load_facebook_model
from gensim.models.word2vec import LineSentence
m = load_facebook_model(sys.argv[1])
m.build_vocab(LineSentence(sys.argv[2]), update=True, min_count=1)
print(json.dumps(m.wv.index_to_key))
"#;

fn python(py: &Path, script: &str, args: &[&Path]) -> Vec<u8> {
    let out = Command::new(py)
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    out.stdout
}

/// `wordvec train new --update model -o out` (the model's objective: no `--model`), one thread,
/// one epoch, every occurrence trained
/// (no subsampling, which on so short a text may skip a word throughout): its success and
/// stderr.
fn update(new: &Path, model: &Path, out: &Path) -> (bool, String) {
    let o = wordvec()
        .args(["train", new.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(["--update", model.to_str().unwrap()])
        .args(["--min-count", "1", "--threads", "1", "--epochs", "1"])
        .args(["--sample", "0"])
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Text with one new word among known ones (not "car" or "engine").
fn new_corpus(dir: &Path) -> std::path::PathBuf {
    let new = dir.join("new.txt");
    std::fs::write(
        &new,
        "whiskerette purr cat milk whiskerette paws\n".repeat(50),
    )
    .unwrap();
    new
}

fn row(s: &TrainState, word: &str) -> Vec<f32> {
    let d = s.config.dims;
    let i = s.vocab.words().iter().position(|w| w == word).unwrap();
    s.vectors[i * d..(i + 1) * d].to_vec()
}

#[test]
fn a_model_fasttext_wrote_goes_on_training_and_fasttext_and_gensim_read_the_result() {
    let Some(py) = python_with_fasttext() else {
        eprintln!("python with fasttext and gensim not found: continuing a fastText model was not checked");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let ft = dir.path().join("ft.bin");
    python(&py, PY_TRAIN, &[&corpus, &ft]);
    let before = TrainState::from_fasttext(&ft).unwrap();
    let c = &before.config;
    assert_eq!(
        (c.model, c.dims, c.minn, c.maxn, c.bucket, c.min_count),
        (Model::SkipGram, 16, 3, 5, 5000, 1)
    );
    assert_eq!(before.epochs_done, 5);
    // fastText's order: by count, most frequent first ("</s>", once a line, leads).
    assert_eq!(before.vocab.words()[0], "</s>");
    assert!(before.vocab.counts().windows(2).all(|w| w[0] >= w[1]));

    let new = new_corpus(dir.path());
    let out = dir.path().join("out.bin");
    let (ok, err) = update(&new, &ft, &out);
    assert!(ok && err.contains("(fasttext)"), "{err}");
    let after = TrainState::from_fasttext(&out).unwrap();
    let n = before.vocab.len();
    assert_eq!(after.vocab.words()[..n], before.vocab.words()[..]);
    assert_eq!(after.vocab.words()[n..], ["whiskerette"]);
    // Words of the new text went on training from their rows; the others kept them.
    for w in ["cat", "purr", "milk", "paws"] {
        let (a, b) = (row(&before, w), row(&after, w));
        assert!(a != b, "{w} was not trained");
        assert!(cos(&a, &b) > 0.5, "{w} lost its row: {}", cos(&a, &b));
    }
    assert_eq!(row(&before, "car"), row(&after, "car"));
    // The same n-gram rows but those the new text trained: buckets are shared, not reset.
    let buckets = |s: &TrainState| s.vectors[s.vocab.len() * 16..].to_vec();
    let (b0, b1) = (buckets(&before), buckets(&after));
    let same = b0
        .chunks(16)
        .zip(b1.chunks(16))
        .filter(|(x, y)| x == y)
        .count();
    assert!(
        same > 4000 && same < 5000,
        "{same} of 5000 bucket rows unchanged"
    );

    // fastText and gensim read the result with wordvec's vectors, known, new and unseen words.
    let ours = wordvec::load(&out, &LoadOptions::default()).unwrap();
    let words = ["cat", "car", "whiskerette", "whiskerettes"];
    let mut args = vec![out.as_path()];
    args.extend(words.iter().map(Path::new));
    let got: serde_json::Value = serde_json::from_slice(&python(&py, PY_LOAD, &args)).unwrap();
    assert_eq!(got["words"], n + 1);
    assert_eq!(got["gensim_words"], n + 1);
    for w in words {
        let want = match ours.index(w) {
            Some(i) => ours.raw_row(i),
            None => ours.subword_vector(w).unwrap().unwrap(),
        };
        for reader in ["fasttext", "gensim"] {
            let theirs = common::floats(&got[reader][w]);
            let diff = want
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(theirs.len() == 16 && diff <= 1e-6, "{reader} {w}: {diff}");
        }
    }

    // gensim's online update of the same model: the same vocabulary.
    let theirs: Vec<String> =
        serde_json::from_slice(&python(&py, PY_GENSIM_UPDATE, &[&ft, &new])).unwrap();
    let mut ours_sorted = after.vocab.words().to_vec();
    let mut theirs_sorted = theirs;
    ours_sorted.sort();
    theirs_sorted.sort();
    assert_eq!(ours_sorted, theirs_sorted);
}

#[test]
fn a_model_wordvec_wrote_goes_on_training_and_a_cut_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let bin = dir.path().join("m.bin");
    let o = wordvec()
        .args([
            "train",
            corpus.to_str().unwrap(),
            "-o",
            bin.to_str().unwrap(),
        ])
        .args(["--model", "skipgram", "--minn", "3", "--maxn", "5"])
        .args(["--buckets", "2000", "--dim", "8", "--min-count", "1"])
        .args(["--threads", "1", "--epochs", "2"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let new = new_corpus(dir.path());
    let out = dir.path().join("out.bin");
    let (ok, err) = update(&new, &bin, &out);
    assert!(ok, "{err}");
    let emb = wordvec::load(&out, &LoadOptions::default()).unwrap();
    assert!(emb.index("whiskerette").is_some());

    // Cut inside the output matrix (the file's last region): refused, naming the file, the
    // byte offset and what ran short; nothing is written.
    let data = std::fs::read(&bin).unwrap();
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &data[..data.len() - 5]).unwrap();
    let out2 = dir.path().join("out2.bin");
    let (ok, err) = update(&new, &cut, &out2);
    assert!(!ok, "a cut model was trained on");
    assert!(
        err.contains("cut.bin") && err.contains("byte offset") && err.contains("output matrix"),
        "{err}"
    );
    assert!(!out2.exists());
    // A file that is neither a fastText model nor a checkpoint says what --update takes.
    let (ok, err) = update(&new, &corpus, &out2);
    assert!(
        !ok && err.contains("fastText .bin") && err.contains("holds none"),
        "{err}"
    );
}

/// The fixtures fastText itself wrote (tests/data/fasttext/make.py): the skip-gram model goes on
/// training with no Python at hand; the supervised one is refused at its `model` argument.
#[test]
fn the_fixture_fasttext_wrote_goes_on_training_and_its_classifier_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sg = common::data("fasttext/ft-sg.bin");
    let before = TrainState::from_fasttext(&sg).unwrap();
    assert_eq!(
        (before.config.minn, before.config.maxn, before.config.bucket),
        (2, 5, 4000)
    );
    let known: Vec<&str> = before.vocab.words()[1..40]
        .iter()
        .map(|w| w.as_str())
        .collect();
    let new = dir.path().join("new.txt");
    std::fs::write(&new, format!("{} kittenzz\n", known.join(" ")).repeat(20)).unwrap();
    let out = dir.path().join("out.bin");
    let (ok, err) = update(&new, &sg, &out);
    assert!(ok, "{err}");
    let after = TrainState::from_fasttext(&out).unwrap();
    assert_eq!(after.vocab.len(), before.vocab.len() + 1);
    assert_eq!(after.vocab.words().last().unwrap(), "kittenzz");
    // Skip-gram, as the model (not the flag's default, CBOW).
    assert_eq!(after.config.model, Model::SkipGram);
    assert!(row(&after, known[0]) != row(&before, known[0]));

    let (ok, err) = update(&new, &common::data("fasttext/ft-sup.bin"), &out);
    assert!(!ok, "a classifier was trained on as word vectors");
    assert!(
        err.contains("ft-sup.bin") && err.contains("byte offset 36") && err.contains("supervised"),
        "{err}"
    );
}

fn cos(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

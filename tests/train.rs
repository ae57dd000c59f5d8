//! Training end to end: quality on planted structure, reproducibility, checkpoint and resume,
//! and bad input.

use crate::common;

use common::planted_corpus;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use predicates::prelude::*;
use wordvec::train::vocab::TrainVocab;
use wordvec::train::{
    count_words, sentence_channel, Model, Sentences, TrainConfig, TrainState, Trainer,
};

fn small(model: Model) -> TrainConfig {
    TrainConfig::default()
        .model(model)
        .dims(16)
        .epochs(5)
        .min_count(1)
        .sample(0.0)
        .threads(1)
        .seed(3)
}

#[test]
fn planted_synonyms_end_up_closer_than_random_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    for (model, batched) in [
        (Model::SkipGram, false),
        (Model::SkipGram, true),
        (Model::Cbow, false),
    ] {
        let emb = wordvec::train::train(
            small(model).batched(batched).threads(2),
            std::slice::from_ref(&corpus),
        )
        .unwrap();
        let syn = emb.similarity("cat", "feline").unwrap();
        let syn2 = emb.similarity("car", "automobile").unwrap();
        let across = emb
            .similarity("cat", "car")
            .unwrap()
            .max(emb.similarity("feline", "automobile").unwrap());
        assert!(
            syn > across + 0.2 && syn2 > across + 0.2,
            "{model:?} batched={batched}: cat~feline {syn}, car~automobile {syn2}, across {across}"
        );
    }
}

#[test]
fn one_thread_with_a_seed_is_bit_for_bit_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    for batched in [false, true] {
        let run = || {
            Trainer::new(small(Model::SkipGram).batched(batched))
                .unwrap()
                .train(std::slice::from_ref(&corpus))
                .unwrap()
                .vectors
        };
        let (a, b) = (run(), run());
        assert!(
            a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()),
            "batched={batched}"
        );
    }
    let c = Trainer::new(small(Model::SkipGram).seed(4))
        .unwrap()
        .train(&[corpus])
        .unwrap()
        .vectors;
    let d = Trainer::new(small(Model::SkipGram))
        .unwrap()
        .train(&[planted_corpus(dir.path())])
        .unwrap()
        .vectors;
    assert_ne!(c, d, "another seed gives other vectors");
}

#[test]
fn resume_continues_exactly_where_the_checkpoint_left() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let cfg = small(Model::SkipGram).epochs(3);
    let whole = Trainer::new(cfg.clone())
        .unwrap()
        .train(std::slice::from_ref(&corpus))
        .unwrap();

    // A run stopped during its third epoch, with a checkpoint after each epoch.
    let ckpt = dir.path().join("run.ckpt");
    let trainer = Trainer::new(cfg.clone())
        .unwrap()
        .checkpoint_every_epoch(&ckpt);
    let stop = trainer.stop_flag();
    let trainer = trainer.on_epoch(move |done, _| {
        if done == 2 {
            stop.store(true, Ordering::SeqCst);
        }
        Ok(())
    });
    let cut = trainer.train(std::slice::from_ref(&corpus)).unwrap();
    assert!(cut.interrupted);
    assert_eq!(cut.epochs_done, 2);
    assert_eq!(wordvec::train::checkpoint_epochs(&ckpt).unwrap(), 2);

    let resumed = Trainer::new(cfg.clone())
        .unwrap()
        .resume_from(&ckpt)
        .train(std::slice::from_ref(&corpus))
        .unwrap();
    assert_eq!(resumed.epochs_done, 3);
    assert!(!resumed.interrupted);
    assert!(
        whole
            .vectors
            .iter()
            .zip(&resumed.vectors)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "resumed run differs"
    );

    // Other settings cannot resume this checkpoint.
    let err = Trainer::new(cfg.dims(8))
        .unwrap()
        .resume_from(&ckpt)
        .train(&[corpus])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("different settings"), "{err}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n \n").unwrap();
    let rare = dir.path().join("rare.txt");
    std::fs::write(&rare, "a b c\n").unwrap();
    let gz = dir.path().join("broken.gz");
    std::fs::write(&gz, [0x1f, 0x8b, 8, 0, 9, 9, 9, 9]).unwrap();
    let base = TrainConfig::default().dims(8).epochs(1);
    let cases: Vec<(TrainConfig, Vec<PathBuf>, &str)> = vec![
        (base.clone(), vec![empty], "the corpus holds no words"),
        (
            base.clone(),
            vec![rare],
            "no word of the corpus occurs at least 5 times",
        ),
        (
            base.clone(),
            vec![dir.path().join("missing.txt")],
            "cannot open",
        ),
        (base.clone(), vec![gz], "corrupt gzip"),
        (base.clone(), vec![], "no corpus file given"),
        (base.clone().dims(0), vec![], "dim must be between 1 and"),
        (base.clone().window(0), vec![], "window must be at least 1"),
        (
            base.clone().threads(0),
            vec![],
            "threads must be at least 1",
        ),
        (base.clone().epochs(0), vec![], "epochs must be at least 1"),
        (
            base.clone().alpha(Some(-1.0)),
            vec![],
            "alpha must be positive",
        ),
    ];
    for (cfg, files, want) in cases {
        let err = Trainer::new(cfg)
            .and_then(|t| t.train(&files))
            .err()
            .expect(want)
            .to_string();
        assert!(err.contains(want), "expected {want:?}, got {err:?}");
    }
}

/// Runs `wordvec train` on `corpus` (min count 1, tiny vectors) and returns whether it
/// succeeded, its stderr and its peak resident set in KiB, read from `/proc/PID/status`
/// (`VmHWM`, which only grows) while it runs.
fn train_peak_rss(corpus: &std::path::Path) -> (bool, String, u64) {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wordvec"))
        .arg("train")
        .arg(corpus)
        .arg("-o")
        .arg(dir.path().join("v.txt"))
        .args([
            "--dim",
            "4",
            "--min-count",
            "1",
            "--epochs",
            "1",
            "--threads",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let status = loop {
        if let Ok(s) = std::fs::read_to_string(&status_file) {
            if let Some(kib) = s
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    (status.success(), stderr, peak_kib)
}

#[test]
fn a_corpus_line_of_any_length_trains_in_bounded_memory() {
    // 128 MiB with no whitespace: read as one line (and one word) it takes twice that at least.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("long.txt");
    let mut text = b"the cat sat on the mat\n".repeat(4);
    text.resize(text.len() + (128 << 20), b'x');
    text.extend_from_slice(b"\nthe dog sat on the log\n");
    std::fs::write(&corpus, &text).unwrap();
    drop(text);
    let (ok, stderr, peak_kib) = train_peak_rss(&corpus);
    assert!(ok, "{stderr}");
    assert!(peak_kib > 0, "the peak resident set was read");
    assert!(
        peak_kib < 96 << 10,
        "peak resident set {peak_kib} KiB for a corpus with a 128 MiB line"
    );
}

#[test]
fn a_gzip_bomb_corpus_is_a_clear_error() {
    use std::io::Write;
    // One gzip member of 1 MiB of "x", repeated: 64 MiB from about 70 KB, a ratio near 1000.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![b'x'; 1 << 20]).unwrap();
    let member = e.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.txt.gz");
    std::fs::write(&bomb, member.repeat(64)).unwrap();
    let (ok, stderr, peak_kib) = train_peak_rss(&bomb);
    assert!(!ok, "a gzip bomb trains");
    assert!(
        stderr.contains("bomb.txt.gz") && stderr.contains("64x"),
        "the error names the file and the ratio: {stderr}"
    );
    assert!(peak_kib < 96 << 10, "peak resident set {peak_kib} KiB");
}

/// The planted corpus's vehicle topic again, with two new words: "truck" (as often as "car")
/// and "kitten" in animal lines; "garage" never occurs, so its rows must not move.
fn update_corpus(dir: &std::path::Path) -> PathBuf {
    let animal = ["cat", "purr", "whiskers", "mouse", "milk", "kitten"];
    let vehicle = ["car", "engine", "wheel", "road", "fuel", "truck"];
    let mut next = common::below(777);
    let mut text = String::new();
    for line in 0..1500 {
        let topic = if line % 2 == 0 { &animal } else { &vehicle };
        let words: Vec<&str> = (0..12).map(|_| topic[next(topic.len())]).collect();
        text.push_str(&words.join(" "));
        text.push('\n');
    }
    let p = dir.join("new.txt");
    std::fs::write(&p, text).unwrap();
    p
}

fn row<'a>(state: &'a TrainState, word: &str) -> &'a [f32] {
    let d = state.config.dims;
    let i = state.vocab.id(word).unwrap() as usize;
    &state.vectors[i * d..(i + 1) * d]
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let n = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (n(a) * n(b))
}

#[test]
fn update_adds_new_words_keeps_known_rows_and_sums_counts() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let new = update_corpus(dir.path());
    let base = dir.path().join("v.txt");
    let train = |extra: &[&str]| {
        common::wordvec()
            .arg("train")
            .args(["--model", "skipgram", "--dim", "16", "--min-count", "2"])
            .args(["--threads", "1", "--sample", "0"])
            .args(extra)
            .assert()
    };
    train(&[
        corpus.to_str().unwrap(),
        "-o",
        base.to_str().unwrap(),
        "--checkpoint-every-epoch",
    ])
    .success();
    let out = dir.path().join("v2.txt");
    train(&[
        new.to_str().unwrap(),
        "--update",
        dir.path().join("v.txt.ckpt").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ])
    .success()
    .stderr(predicates::str::contains("v2.txt.ckpt"));

    let old = TrainState::load(&dir.path().join("v.txt.ckpt")).unwrap();
    let upd = TrainState::load(&dir.path().join("v2.txt.ckpt")).unwrap();
    // Known words at their ids, the new generation after them.
    let n = old.vocab.len();
    assert_eq!(upd.vocab.words()[..n], old.vocab.words()[..]);
    let mut added = upd.vocab.words()[n..].to_vec();
    added.sort();
    assert_eq!(added, ["kitten", "truck"]);
    // Counts summed over both corpora.
    let count = |s: &TrainState, w: &str| s.vocab.counts()[s.vocab.id(w).unwrap() as usize];
    let text = std::fs::read_to_string(&new).unwrap();
    let in_new = |w: &str| text.split_whitespace().filter(|t| *t == w).count() as u64;
    assert_eq!(count(&upd, "cat"), count(&old, "cat") + in_new("cat"));
    assert_eq!(count(&upd, "truck"), in_new("truck"));
    // A word the new text lacks keeps its row bit for bit; trained words moved.
    assert_eq!(row(&upd, "garage"), row(&old, "garage"));
    assert_ne!(row(&upd, "cat"), row(&old, "cat"));
    // The new words learned their topics.
    let (kitten, truck) = (row(&upd, "kitten"), row(&upd, "truck"));
    assert!(
        cosine(kitten, row(&upd, "purr")) > cosine(kitten, row(&upd, "engine")) + 0.2
            && cosine(truck, row(&upd, "engine")) > cosine(truck, row(&upd, "purr")) + 0.2,
        "kitten~purr {} kitten~engine {} truck~engine {} truck~purr {}",
        cosine(kitten, row(&upd, "purr")),
        cosine(kitten, row(&upd, "engine")),
        cosine(truck, row(&upd, "engine")),
        cosine(truck, row(&upd, "purr"))
    );
}

#[test]
fn update_takes_the_models_settings_unless_flags_give_them() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let new = update_corpus(dir.path());
    let run = |corpus: &std::path::Path, out: &str, extra: &[&str]| {
        common::wordvec()
            .arg("train")
            .arg(corpus)
            .args([
                "-o",
                dir.path().join(out).to_str().unwrap(),
                "--threads",
                "1",
            ])
            .args(extra)
            .assert()
            .success()
    };
    let settings = [
        "--model",
        "skipgram",
        "--dim",
        "8",
        "--window",
        "3",
        "--negative",
        "4",
        "--sample",
        "1e-4",
        "--min-count",
        "3",
        "--epochs",
        "2",
        "--alpha",
        "0.03",
        "--min-alpha",
        "0.001",
        "--ns-exponent",
        "0.5",
        "--checkpoint-every-epoch",
    ];
    run(&corpus, "base.txt", &settings);
    let base = dir.path().join("base.txt.ckpt");
    let base = base.to_str().unwrap();
    // No flag: every setting is the model's (the log counts the epochs run).
    run(&new, "same.txt", &["--update", base]).stderr(predicates::str::contains("over 2 epochs"));
    // Flags win over the model's settings.
    run(
        &new,
        "flags.txt",
        &[
            "--update",
            base,
            "--epochs",
            "1",
            "--window",
            "2",
            "--negative",
            "6",
        ],
    )
    .stderr(predicates::str::contains("over 1 epochs"));

    let old = TrainState::load(&dir.path().join("base.txt.ckpt"))
        .unwrap()
        .config;
    let same = TrainState::load(&dir.path().join("same.txt.ckpt"))
        .unwrap()
        .config;
    let flags = TrainState::load(&dir.path().join("flags.txt.ckpt"))
        .unwrap()
        .config;
    let kept = |c: &wordvec::train::TrainConfig| {
        (
            c.model,
            c.dims,
            c.sample,
            c.min_count,
            c.alpha,
            c.min_alpha,
            c.ns_exponent,
        )
    };
    assert_eq!(kept(&same), kept(&old));
    assert_eq!((same.window, same.negative, same.epochs), (3, 4, 2));
    assert_eq!(kept(&flags), kept(&old));
    assert_eq!((flags.window, flags.negative, flags.epochs), (2, 6, 1));
}

#[test]
fn update_of_a_model_without_training_state_or_of_other_dimensions_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let state = Trainer::new(small(Model::Cbow).epochs(1))
        .unwrap()
        .train(std::slice::from_ref(&corpus))
        .unwrap()
        .into_state();
    let ckpt = dir.path().join("m.ckpt");
    state.save(&ckpt).unwrap();
    let vectors = dir.path().join("m.txt");
    wordvec::save(
        &state.to_embeddings().unwrap(),
        &vectors,
        wordvec::Format::Word2VecText,
        &wordvec::SaveOptions::default(),
    )
    .unwrap();
    let update = |model: &std::path::Path, extra: &[&str]| {
        common::wordvec()
            .arg("train")
            .arg(&corpus)
            .arg("--update")
            .arg(model)
            .arg("-o")
            .arg(dir.path().join("out.txt"))
            .args(extra)
            .assert()
            .failure()
    };
    update(&vectors, &[]).stderr(
        predicates::str::contains("needs a model with its training state")
            .and(predicates::str::contains("m.txt holds none"))
            .and(predicates::str::contains(
                "not a wordvec training checkpoint",
            )),
    );
    update(&ckpt, &["--dim", "8"]).stderr(predicates::str::contains(
        "dimension mismatch: the model has 16 dimensions, the settings ask for 8",
    ));
    assert!(!dir.path().join("out.txt").exists());
    // The library says the same.
    let err = Trainer::new(small(Model::Cbow).dims(8))
        .unwrap()
        .train_update(state.clone(), &[corpus])
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("dimension mismatch"), "{err}");
    // Text without a known word has nothing to train.
    let unknown = dir.path().join("unknown.txt");
    std::fs::write(&unknown, "zebra okapi\n").unwrap();
    let err = Trainer::new(small(Model::Cbow))
        .unwrap()
        .train_state(state, Sentences::Files(vec![unknown]))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("no word of the corpus is in the vocabulary"),
        "{err}"
    );
}

#[test]
fn sentences_streamed_from_another_thread_train_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = planted_corpus(dir.path());
    let text = std::fs::read_to_string(&corpus).unwrap();
    let cfg = small(Model::SkipGram).epochs(2);
    let from_file = Trainer::new(cfg.clone())
        .unwrap()
        .train(std::slice::from_ref(&corpus))
        .unwrap();
    let stream = || {
        let (tx, rx) = sentence_channel(2);
        let text = text.clone();
        let producer = std::thread::spawn(move || {
            let lines: Vec<Vec<String>> = text
                .lines()
                .map(|l| l.split_whitespace().map(String::from).collect())
                .collect();
            for chunk in lines.chunks(100) {
                tx.send(chunk.to_vec()).unwrap();
            }
        });
        (Sentences::Stream(rx), producer)
    };
    let (s, producer) = stream();
    let counts = count_words(s).unwrap();
    producer.join().unwrap();
    let vocab = TrainVocab::from_counts(counts, cfg.min_count, None).unwrap();
    let (s, producer) = stream();
    let streamed = Trainer::new(cfg.clone())
        .unwrap()
        .train_state(TrainState::new(cfg, vocab).unwrap(), s)
        .unwrap();
    producer.join().unwrap();
    assert_eq!(streamed.vocab.words(), from_file.vocab.words());
    assert!(
        streamed
            .vectors
            .iter()
            .zip(&from_file.vectors)
            .all(|(a, b)| a.to_bits() == b.to_bits()),
        "a stream trains other vectors than its file"
    );
    assert!(streamed.loss.is_finite() && streamed.loss > 0.0);
    assert_eq!(streamed.loss.to_bits(), from_file.loss.to_bits());
}

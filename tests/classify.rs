//! `wordvec classify`: training, evaluation, prediction, model files and bad input, through the
//! built binary and the library.

use crate::common;

use common::wordvec;

use std::path::Path;

use predicates::prelude::*;
use wordvec::classify::{
    self, ClassWeights, ClassifierConfig, Dataset, ModelFile, OptimizerConfig, OptimizerKind,
};

fn run(args: &[&str]) -> String {
    let out = wordvec().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "wordvec {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], message: &str) {
    wordvec()
        .args(args)
        .assert()
        .failure()
        .stderr(predicate::str::contains(message));
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Settings that learn the synthetic sets in a fraction of a second.
const FAST: &[&str] = &["--min-count", "2", "--lr", "0.02", "--epochs", "12"];

#[test]
fn binary_train_eval_predict() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "tweets.csv", 800, 2, false);
    let model = dir.path().join("m.wvcls");
    let plot = dir.path().join("loss.png");
    let mut args = vec![
        "classify",
        "train",
        s(&data),
        "-o",
        s(&model),
        "--plot",
        s(&plot),
    ];
    args.extend(FAST);
    let out = run(&args);
    assert!(out.contains("2 labels (binary)"), "{out}");
    assert!(out.contains("epoch  12  train loss"), "{out}");
    assert!(
        out.contains("test split:") && out.contains("confusion"),
        "{out}"
    );
    assert_eq!(&std::fs::read(&plot).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    let eval: serde_json::Value =
        serde_json::from_str(&run(&["classify", "eval", s(&model), s(&data), "--json"])).unwrap();
    assert!(eval["accuracy"].as_f64().unwrap() > 0.9, "{eval}");
    assert_eq!(eval["texts"], 800);

    let out = run(&[
        "classify",
        "predict",
        s(&model),
        "a good and happy day",
        "awful, I HATE this",
        "zzz qqq",
        "!!!",
        "всё хорошо",
    ]);
    let labels: Vec<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(labels.len(), 5, "{out}");
    assert_eq!(&labels[..2], ["pos", "neg"]);
    assert_eq!(labels[4], "pos");

    let out = wordvec()
        .args(["classify", "predict", s(&model), "--json"])
        .write_stdin("love it\nterrible, sad\n")
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["label"], "pos");
    assert_eq!(lines[1]["label"], "neg");
    let p = &lines[0]["probabilities"];
    let sum = p["pos"].as_f64().unwrap() + p["neg"].as_f64().unwrap();
    assert!((sum - 1.0).abs() < 1e-6);
    wordvec()
        .args(["classify", "predict", s(&model), "-"])
        .write_stdin("fine\n\nok\n")
        .assert()
        .failure()
        .stderr(predicate::str::contains("stdin line 2: empty text"));
}

#[test]
fn multi_class_tsv_and_multi_label() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "three.tsv", 900, 3, false);
    let model = dir.path().join("three.wvcls");
    let mut args = vec!["classify", "train", s(&data), "-o", s(&model), "--json"];
    args.extend(FAST);
    let r: serde_json::Value = serde_json::from_str(&run(&args)).unwrap();
    assert_eq!(r["labels"], serde_json::json!(["neg", "neu", "pos"]));
    assert!(
        r["test"]["accuracy"].as_f64().unwrap() > 0.85,
        "{}",
        r["test"]
    );
    assert_eq!(r["test"]["confusion"].as_array().unwrap().len(), 3);
    let out = run(&["classify", "predict", s(&model), "seven chairs and a table"]);
    assert!(out.starts_with("neu\t"), "{out}");

    let data = common::labelled_csv(dir.path(), "multi.csv", 1200, 2, true);
    let model = dir.path().join("multi.wvcls");
    let mut args = vec![
        "classify",
        "train",
        s(&data),
        "-o",
        s(&model),
        "--multi-label",
        "|",
        "--json",
        "--hidden",
        "none",
    ];
    args.extend(FAST);
    let r: serde_json::Value = serde_json::from_str(&run(&args)).unwrap();
    assert_eq!(
        r["labels"],
        serde_json::json!(["food", "neg", "pos", "sport"])
    );
    assert!(
        r["test"]["accuracy"].as_f64().unwrap() > 0.8,
        "{}",
        r["test"]
    );
    let out = run(&[
        "classify",
        "predict",
        s(&model),
        "great pizza, love the soup",
    ]);
    assert!(out.starts_with("food,pos\t"), "{out}");
    // Evaluating a multi-label model needs the separator.
    fails(
        &["classify", "eval", s(&model), s(&data)],
        "the model is multi-label",
    );
    let e: serde_json::Value = serde_json::from_str(&run(&[
        "classify",
        "eval",
        s(&model),
        s(&data),
        "--multi-label",
        "|",
        "--json",
    ]))
    .unwrap();
    assert_eq!(e["confusion"][0].as_array().unwrap().len(), 4);
}

fn config(epochs: usize) -> ClassifierConfig {
    ClassifierConfig {
        min_count: 2,
        epochs,
        optimizer: OptimizerConfig {
            kind: OptimizerKind::Adam,
            lr: 0.02,
            momentum: 0.0,
        },
        ..Default::default()
    }
}

#[test]
fn resume_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "d.csv", 600, 3, false);
    let full = dir.path().join("full.wvcls");
    let half = dir.path().join("half.wvcls");
    let resumed = dir.path().join("resumed.wvcls");
    let train = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "classify",
            "train",
            s(&data),
            "-o",
            s(out),
            "--min-count",
            "2",
        ];
        args.extend(extra);
        run(&args)
    };
    train(&full, &["--epochs", "4"]);
    train(&half, &["--epochs", "2"]);
    train(&resumed, &["--epochs", "4", "--resume", s(&half)]);
    let (a, b) = (
        ModelFile::load(&full).unwrap(),
        ModelFile::load(&resumed).unwrap(),
    );
    assert_eq!(a.classifier.params, b.classifier.params);
    let (sa, sb) = (a.state.unwrap(), b.state.unwrap());
    assert_eq!(sa.current, sb.current);
    assert_eq!(sa.optimizer, sb.optimizer);
    assert_eq!(sb.epochs_done, 4);
    let losses =
        |s: &classify::TrainState| -> Vec<f64> { s.history.iter().map(|h| h.train_loss).collect() };
    assert_eq!(losses(&sa), losses(&sb));

    // An exported model predicts the same, is smaller, and cannot be resumed.
    let served = dir.path().join("served.wvcls");
    run(&["classify", "export", s(&full), "-o", s(&served)]);
    let texts = ["seven chairs", "love it", "awful"];
    let mut predict = vec!["classify", "predict", "--json"];
    predict.extend(texts);
    let with_state = run(&[&predict[..2], &[s(&full)], &predict[2..]].concat());
    let without = run(&[&predict[..2], &[s(&served)], &predict[2..]].concat());
    assert_eq!(with_state, without);
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&served) * 2 < size(&full),
        "{} {}",
        size(&served),
        size(&full)
    );
    fails(
        &[
            "classify",
            "train",
            s(&data),
            "-o",
            s(&resumed),
            "--resume",
            s(&served),
        ],
        "holds no training state",
    );

    // Resuming on other data is refused.
    let other = common::labelled_csv(dir.path(), "other.csv", 300, 3, false);
    fails(
        &[
            "classify",
            "train",
            s(&other),
            "-o",
            s(&resumed),
            "--resume",
            s(&half),
        ],
        "the data differs",
    );
    // SGD with momentum resumes exactly too (its state is the momentum buffer).
    let data = Dataset::read(&data, &Default::default()).unwrap();
    let sgd = ClassifierConfig {
        optimizer: OptimizerConfig {
            kind: OptimizerKind::Sgd,
            lr: 0.5,
            momentum: 0.9,
        },
        ..config(4)
    };
    let straight = classify::train(&data, &sgd, None, None, None, |_, _| Ok(())).unwrap();
    let first = classify::train(
        &data,
        &ClassifierConfig {
            epochs: 2,
            ..sgd.clone()
        },
        None,
        None,
        None,
        |_, _| Ok(()),
    )
    .unwrap();
    let p = dir.path().join("sgd.wvcls");
    first.model.save(&p).unwrap();
    let again = classify::train(
        &data,
        &sgd,
        None,
        Some(ModelFile::load(&p).unwrap()),
        None,
        |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(
        straight.model.classifier.params,
        again.model.classifier.params
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::labelled_csv(dir.path(), "d.csv", 900, 3, false);
    let data = Dataset::read(&path, &Default::default()).unwrap();
    // Batches of 300 make three parallel shards; balanced sampling and dropout are on.
    let c = ClassifierConfig {
        batch_size: 300,
        balance_batches: true,
        ..config(3)
    };
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| classify::train(&data, &c, None, None, None, |_, _| Ok(())).unwrap())
    };
    let (one, three) = (on(1), on(3));
    assert_eq!(one.model.classifier.params, three.model.classifier.params);
    assert_eq!(
        one.model.state,
        three.model.state.map(|mut s| {
            // Wall times differ; everything else is equal.
            for (h, o) in s
                .history
                .iter_mut()
                .zip(&one.model.state.as_ref().unwrap().history)
            {
                h.seconds = o.seconds;
            }
            s
        })
    );
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    // Random labels: the validation loss can only get worse once the model memorises.
    let dir = tempfile::tempdir().unwrap();
    let path = common::labelled_csv(dir.path(), "d.csv", 600, 2, false);
    let mut data = Dataset::read(&path, &Default::default()).unwrap();
    let mut x: u64 = 5;
    for l in &mut data.labels {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        l[0] = if (x >> 40).is_multiple_of(2) {
            "a"
        } else {
            "b"
        }
        .into();
    }
    let c = ClassifierConfig {
        patience: Some(2),
        optimizer: OptimizerConfig {
            kind: OptimizerKind::Adam,
            lr: 0.05,
            momentum: 0.0,
        },
        dropout: 0.0,
        hidden: vec![32],
        ..config(40)
    };
    let mut epochs_seen = 0;
    let out = classify::train(&data, &c, None, None, None, |_, _| {
        epochs_seen += 1;
        Ok(())
    })
    .unwrap();
    let st = out.model.state.as_ref().unwrap();
    assert!(st.stopped_early, "ran {} epochs", st.epochs_done);
    assert_eq!(st.epochs_done, epochs_seen);
    assert_eq!(st.epochs_done, st.best_epoch + 2);
    let best = st.history[st.best_epoch - 1].valid_loss.unwrap();
    assert!(st.history.iter().all(|h| h.valid_loss.unwrap() >= best));
    // The kept weights are those of the best epoch: a run that stops there has them.
    let short = classify::train(
        &data,
        &ClassifierConfig {
            patience: None,
            ..config(st.best_epoch)
        }
        .clone_with(&c),
        None,
        None,
        None,
        |_, _| Ok(()),
    )
    .unwrap();
    assert_eq!(out.model.classifier.params, short.model.classifier.params);
}

trait CloneWith {
    fn clone_with(&self, base: &ClassifierConfig) -> ClassifierConfig;
}

impl CloneWith for ClassifierConfig {
    /// `base` with this config's epochs and patience.
    fn clone_with(&self, base: &ClassifierConfig) -> ClassifierConfig {
        ClassifierConfig {
            epochs: self.epochs,
            patience: self.patience,
            ..base.clone()
        }
    }
}

#[test]
fn class_weights_reach_the_loss() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::labelled_csv(dir.path(), "d.csv", 400, 2, false);
    let data = Dataset::read(&path, &Default::default()).unwrap();
    let train = |w: ClassWeights, balance: bool| {
        let c = ClassifierConfig {
            class_weights: w,
            balance_batches: balance,
            ..config(2)
        };
        classify::train(&data, &c, None, None, None, |_, _| Ok(())).unwrap()
    };
    let plain = train(ClassWeights::None, false);
    let weighted = train(ClassWeights::Explicit(vec![0.2, 0.8]), false);
    let inverse = train(ClassWeights::Inverse, false);
    let balanced = train(ClassWeights::None, true);
    let st = |o: &classify::TrainOutcome| o.model.state.clone().unwrap();
    assert_eq!(st(&weighted).class_weights, Some(vec![0.2, 0.8]));
    let w = st(&inverse).class_weights.unwrap();
    // n / (2 n_c): the two weights average (harmonically) to 1 and favour the smaller class.
    assert!((1.0 / w[0] + 1.0 / w[1] - 2.0).abs() < 1e-5, "{w:?}");
    let loss = |o: &classify::TrainOutcome| st(o).history[0].train_loss;
    assert_ne!(loss(&plain), loss(&weighted));
    assert_ne!(loss(&plain), loss(&balanced));
    let bad = ClassifierConfig {
        class_weights: ClassWeights::Explicit(vec![1.0, 2.0, 3.0]),
        ..config(1)
    };
    let e = classify::train(&data, &bad, None, None, None, |_, _| Ok(())).unwrap_err();
    assert!(
        e.to_string().contains("3 class weights given for 2 labels"),
        "{e}"
    );
}

#[test]
fn pretrained_vectors_frozen_or_fine_tuned() {
    let emb = common::load("w2vc-sg-d32.bin");
    // Texts from the fixture's vocabulary: words 10..60 mean "x", words 60..110 mean "y".
    let rows: Vec<(String, &str)> = (0..400)
        .map(|i| {
            let base = if i % 2 == 0 { 10 } else { 60 };
            let words: Vec<&str> = (0..5)
                .map(|k| emb.word(base + (i * 7 + k * 13) % 50))
                .collect();
            (words.join(" "), if i % 2 == 0 { "x" } else { "y" })
        })
        .collect();
    let data = Dataset::from_pairs(&rows);
    let c = ClassifierConfig {
        dim: 32,
        min_count: 1,
        ..config(3)
    };
    let frozen = classify::train(
        &data,
        &ClassifierConfig {
            freeze: true,
            ..c.clone()
        },
        Some(&emb),
        None,
        None,
        |_, _| Ok(()),
    )
    .unwrap();
    let tuned = classify::train(&data, &c, Some(&emb), None, None, |_, _| Ok(())).unwrap();
    let row = |o: &classify::TrainOutcome, w: &str| {
        let cl = &o.model.classifier;
        let id = cl.vocab.get(w).unwrap() as usize;
        cl.params.embedding[id * 32..(id + 1) * 32].to_vec()
    };
    let w = emb.word(12).to_owned();
    assert_eq!(row(&frozen, &w), emb.raw_row(12));
    assert_ne!(row(&tuned, &w), emb.raw_row(12));
    let e = classify::train(
        &data,
        &ClassifierConfig { dim: 50, ..c },
        Some(&emb),
        None,
        None,
        |_, _| Ok(()),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("differs from the pretrained vectors' 32"),
        "{e}"
    );

    // Through the command line.
    let dir = tempfile::tempdir().unwrap();
    let csv = common::labelled_csv(dir.path(), "d.csv", 200, 2, false);
    let m = dir.path().join("m.wvcls");
    let vectors = common::data("w2vc-sg-d32.bin");
    run(&[
        "classify",
        "train",
        s(&csv),
        "-o",
        s(&m),
        "--vectors",
        s(&vectors),
        "--freeze",
        "--epochs",
        "1",
    ]);
    fails(
        &[
            "classify",
            "train",
            s(&csv),
            "-o",
            s(&m),
            "--vectors",
            s(&vectors),
            "--dim",
            "8",
        ],
        "--dim 8 differs from the 32 dimensions",
    );
    fails(
        &["classify", "train", s(&csv), "-o", s(&m), "--freeze"],
        "--vectors",
    );
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, content: &str| {
        let p = d.join(name);
        std::fs::write(&p, content).unwrap();
        p
    };
    let m = d.join("m.wvcls");
    let missing = write("missing.csv", "body,label\nhello,a\nhi,a\nbye,b\nciao,b\n");
    fails(
        &["classify", "train", s(&missing), "-o", s(&m)],
        "no column named \"text\"",
    );
    run(&[
        "classify",
        "train",
        s(&missing),
        "-o",
        s(&m),
        "--text-column",
        "body",
        "--min-count",
        "1",
        "--split",
        "1,0,0",
        "--epochs",
        "1",
    ]);
    let empty = write("empty.csv", "text,label\nhello,a\n\"\",b\nbye,b\n");
    fails(
        &["classify", "train", s(&empty), "-o", s(&m)],
        "line 3: empty text",
    );
    let once = write("once.csv", "text,label\nx,a\ny,a\nz,b\n");
    fails(
        &["classify", "train", s(&once), "-o", s(&m)],
        "label \"b\" occurs only once",
    );
    let one = write("one.csv", "text,label\nx,a\ny,a\n");
    fails(
        &["classify", "train", s(&one), "-o", s(&m)],
        "1 label(s) found",
    );
    let data = common::labelled_csv(d, "d.csv", 300, 2, false);
    for (flag, value, msg) in [
        (
            "--split",
            "0.5,0.5,0.5",
            "must be between 0 and 1 and sum to 1",
        ),
        ("--hidden", "10,0", "is not a layer width"),
        (
            "--class-weights",
            "1,2,3",
            "3 class weights given for 2 labels",
        ),
        (
            "--class-weights",
            "heavy",
            "expected none, inverse, sqrt-inverse",
        ),
        (
            "--dropout",
            "1.5",
            "--dropout 1.5: the dropout must be in [0, 1)",
        ),
        ("--lr", "0", "learning rate must be positive"),
        ("--word-ngrams", "0", "at least 1"),
        ("--epochs", "0", "at least 1 epoch"),
    ] {
        fails(
            &["classify", "train", s(&data), "-o", s(&m), flag, value],
            msg,
        );
    }
    fails(
        &[
            "classify",
            "train",
            s(&data),
            "-o",
            s(&m),
            "--patience",
            "2",
            "--split",
            "0.9,0,0.1",
        ],
        "needs a validation split",
    );
    fails(
        &[
            "classify",
            "train",
            s(&data),
            "-o",
            s(&m),
            "--loss",
            "ce",
            "--multi-label",
            ";",
        ],
        "cross-entropy needs one label per text",
    );

    // A batch larger than the data is the whole training split (no workspace per requested text).
    run(&[
        "classify",
        "train",
        s(&data),
        "-o",
        s(&m),
        "--batch-size",
        "1000000000",
        "--epochs",
        "1",
    ]);

    // A good model, then damaged copies of it.
    run(&[
        "classify",
        "train",
        s(&data),
        "-o",
        s(&m),
        "--epochs",
        "2",
        "--min-count",
        "2",
    ]);
    fails(&["classify", "predict", s(&m), "  "], "text 0 is empty");
    let out = run(&["classify", "predict", s(&m), "qqq zzz"]);
    assert!(
        out.starts_with("neg\t") || out.starts_with("pos\t"),
        "{out}"
    );
    let bytes = std::fs::read(&m).unwrap();
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let corrupt = d.join("corrupt.wvcls");
    std::fs::write(&corrupt, &flipped).unwrap();
    fails(
        &["classify", "predict", s(&corrupt), "hi"],
        "checksum mismatch",
    );
    let truncated = d.join("truncated.wvcls");
    std::fs::write(&truncated, &bytes[..bytes.len() - 100]).unwrap();
    fails(
        &["classify", "eval", s(&truncated), s(&data)],
        "truncated or corrupt",
    );
    fails(
        &["classify", "predict", s(&data), "hi"],
        "not a wordvec classifier model",
    );
    fails(
        &["classify", "predict", s(&d.join("nope.wvcls")), "hi"],
        "nope.wvcls",
    );
    let other = write("other.csv", "text,label\nx,a\ny,zebra\n");
    fails(
        &["classify", "eval", s(&m), s(&other)],
        "label \"a\" is not one of the model's labels",
    );
    // The old model survives a failed training run (atomic writes).
    let before = std::fs::read(&m).unwrap();
    fails(
        &["classify", "train", s(&once), "-o", s(&m)],
        "occurs only once",
    );
    assert_eq!(std::fs::read(&m).unwrap(), before);
}

#[test]
fn non_finite_and_out_of_range_hyper_parameters_name_their_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "d.csv", 40, 2, false);
    let m = dir.path().join("m.wvcls");
    for (flag, values) in [
        ("--momentum", &["NaN", "inf", "-inf", "1", "-0.5"][..]),
        ("--lr", &["NaN", "inf", "-inf", "0", "-1"]),
        ("--dropout", &["NaN", "inf", "-0.1", "1"]),
        ("--init-std", &["NaN", "inf", "-1"]),
        ("--class-weights", &["NaN,1", "1,inf"]),
        ("--split", &["NaN,0.5,0.5", "0.8,inf,0.1"]),
    ] {
        for v in values {
            let arg = format!("{flag}={v}");
            let out = wordvec()
                .args(["classify", "train", s(&data), "-o", s(&m), "--optimizer"])
                .args(["sgd", "--epochs", "1", "--min-count", "1", &arg])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{arg}: {err}");
            assert!(err.contains(flag), "{arg}: the error names the flag: {err}");
            assert!(!err.contains("lower the learning rate"), "{arg}: {err}");
        }
    }
    assert!(!m.exists(), "no model is written for a refused setting");
}

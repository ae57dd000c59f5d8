//! The `wordvec` binary, driven as a user would.

use crate::common;

use common::wordvec;

use common::data;
use predicates::prelude::*;

fn stdout_of(args: &[&str]) -> String {
    let out = wordvec()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

fn fixture(name: &str) -> String {
    data(name).to_str().unwrap().to_owned()
}

#[test]
fn nn_prints_a_table() {
    let out = stdout_of(&["nn", &fixture("w2vc-sg-d32.bin"), "king", "-k", "3"]);
    let rows: Vec<&str> = out.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(
        rows[0].contains("lord") && rows[0].contains("0.93788"),
        "{out}"
    );
    // Without a file, the embedded default model answers.
    let out = stdout_of(&["nn", "king", "-k", "3"]);
    assert!(
        out.starts_with("nearest to king  [default model (") && out.lines().count() == 5,
        "{out}"
    );
}

#[test]
fn nn_json_equals_the_library_answer() {
    let out = stdout_of(&[
        "nn",
        &fixture("w2vc-sg-d32.bin"),
        "king",
        "--json",
        "-k",
        "10",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got: Vec<&str> = v["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["word"].as_str().unwrap())
        .collect();
    let want: Vec<String> = common::expected()["most_similar"]["king"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn nn_reads_queries_from_a_file_and_stdin() {
    let out = wordvec()
        .args([
            "nn",
            &fixture("gensim-d32.bin"),
            "--queries",
            "-",
            "--json",
            "-k",
            "2",
        ])
        .write_stdin("king\nwater fire\n\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["query"], serde_json::json!(["water", "fire"]));
}

#[test]
fn analogy_similarity_doesnt_match() {
    let out = stdout_of(&[
        "analogy",
        &fixture("gensim-d32.bin.gz"),
        "man",
        "king",
        "woman",
        "-k",
        "1",
    ]);
    assert!(out.lines().nth(2).unwrap().contains("lady"), "{out}");
    let f = fixture("w2vc-sg-d32.bin");
    let out = stdout_of(&[
        "analogy", &f, "man", "king", "woman", "-k", "1", "--cosmul", "--json",
    ]);
    assert!(out.contains("\"lady\""), "{out}");
    assert_eq!(
        stdout_of(&["similarity", &f, "king", "queen"]).trim(),
        "0.930413"
    );
    assert_eq!(
        stdout_of(&["doesnt-match", &f, "dog", "cat", "horse"]).trim(),
        "horse"
    );
    wordvec()
        .args([
            "doesnt-match",
            &f,
            "red",
            "green",
            "blue",
            "computer",
            "qqqq",
        ])
        .assert()
        .success()
        .stdout("computer\n")
        .stderr(predicate::str::contains(
            "ignored (not in the vocabulary): qqqq",
        ));
}

#[test]
fn unknown_words_fail_with_their_names() {
    wordvec()
        .args(["nn", "king", "zzyzx", "qqqq"])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "words not in the vocabulary: \"zzyzx\", \"qqqq\"",
        ));
    wordvec()
        .args(["analogy", "nope.bin", "a", "b", "c"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("nope.bin: no such vectors file"));
}

#[test]
fn bad_files_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("trunc.bin");
    let bytes = std::fs::read(data("gensim-d32.bin")).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 7]).unwrap();
    wordvec()
        .args(["info", p.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(
            predicate::str::contains("trunc.bin: record 4641")
                .and(predicate::str::contains("panicked").not()),
        );
}

#[test]
fn convert_then_info_and_query_native() {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("v.wvec");
    wordvec()
        .args([
            "convert",
            &fixture("gensim-d32.bin.gz"),
            native.to_str().unwrap(),
        ])
        .assert()
        .success();
    let info: serde_json::Value =
        serde_json::from_str(&stdout_of(&["info", native.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(info["format"], "native");
    assert_eq!(info["words"], 4642);
    let out = stdout_of(&["similarity", native.to_str().unwrap(), "king", "queen"]);
    assert_eq!(out.trim(), "0.930413");
    // Back to text: the C tool's own text file, except for float rounding in the last digit.
    let txt = dir.path().join("v.txt");
    wordvec()
        .args(["convert", native.to_str().unwrap(), txt.to_str().unwrap()])
        .assert()
        .success();
    let t = std::fs::read_to_string(&txt).unwrap();
    assert!(t.starts_with("4642 32\n</s> "));
    // Byte-exact binary copy with the layout switched.
    let nl = dir.path().join("nl.bin");
    wordvec()
        .args([
            "convert",
            &fixture("gensim-d32.bin"),
            nl.to_str().unwrap(),
            "--binary-newline",
            "yes",
        ])
        .assert()
        .success();
    assert!(std::fs::read(&nl).unwrap() == std::fs::read(data("w2vc-sg-d32.bin")).unwrap());
}

#[test]
fn eval_commands_print_gensims_numbers() {
    let out = stdout_of(&[
        "eval",
        "analogies",
        &fixture("w2vc-sg-d32.bin"),
        &fixture("questions-words.txt"),
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let total = v["sections"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(total["correct"], 61);
    assert_eq!(total["incorrect"], 715);
    let out = stdout_of(&[
        "eval",
        "pairs",
        &fixture("w2vc-sg-d32.bin"),
        &fixture("wordsim353.tsv"),
    ]);
    assert!(
        out.contains("pearson:  0.4661") && out.contains("spearman: 0.4471"),
        "{out}"
    );
}

#[test]
fn repl_answers_lines_from_stdin() {
    wordvec()
        .args(["repl", "-k", "2"])
        .write_stdin("king -man woman\nnotaword\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("nearest to king -man woman"))
        .stderr(predicate::str::contains(
            "word not in the vocabulary: \"notaword\"",
        ));
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        vec!["info"],
        vec!["nn"],
        vec!["analogy"],
        vec!["similarity"],
        vec!["doesnt-match"],
        vec!["convert"],
        vec!["eval", "analogies"],
        vec!["eval", "pairs"],
        vec!["repl"],
        vec!["train"],
        vec!["serve"],
        vec!["index"],
        vec!["eval"],
        vec!["index", "build"],
        vec!["index", "info"],
        vec!["index", "eval"],
        vec!["classify"],
        vec!["classify", "train"],
        vec!["classify", "eval"],
        vec!["classify", "predict"],
        vec!["classify", "export"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        wordvec()
            .args(&args)
            .assert()
            .success()
            .stdout(predicate::str::contains("Example"));
    }
    wordvec()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Example"));
}

#[test]
fn limit_and_unicode_options_are_accepted() {
    let out = stdout_of(&[
        "info",
        &fixture("w2vc-sg-d32.bin"),
        "--limit",
        "10",
        "--unicode-errors",
        "replace",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["words"], 10);
}

#[test]
fn train_writes_vectors_and_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c.txt");
    let line = "the quick brown fox jumps over the lazy dog\n";
    std::fs::write(&corpus, line.repeat(200)).unwrap();
    let out = dir.path().join("v.txt");
    let vocab = dir.path().join("vocab.txt");
    wordvec()
        .args([
            "train",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--dim",
            "8",
            "--epochs",
            "2",
            "--threads",
            "1",
        ])
        .args([
            "--save-vocab",
            vocab.to_str().unwrap(),
            "--checkpoint-every-epoch",
            "--model",
            "skipgram",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("trained 8 words x 8 dims"));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("8 8\n"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&vocab).unwrap().lines().next(),
        Some("the 400")
    );
    assert!(dir.path().join("v.txt.ckpt").exists());
    // Resuming a finished run is a no-op that still writes the vectors.
    wordvec()
        .args([
            "train",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--dim",
            "8",
            "--epochs",
            "2",
            "--model",
            "skipgram",
        ])
        .args(["--resume", dir.path().join("v.txt.ckpt").to_str().unwrap()])
        .assert()
        .success();
    wordvec()
        .args([
            "train",
            corpus.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--window",
            "0",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("window must be at least 1"));
}

/// `wordvec index eval VECTORS INDEX` over 100 queries at ef 100 finds at least 95% of the
/// exact top 10.
fn assert_index_recall(vectors: &str, idx: &std::path::Path) {
    let eval: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "index",
        "eval",
        vectors,
        idx.to_str().unwrap(),
        "--queries",
        "100",
        "--ef",
        "100",
        "--json",
    ]))
    .unwrap();
    assert!(eval[0]["recall_words"].as_f64().unwrap() >= 0.95, "{eval}");
}

#[test]
fn index_build_with_int8_writes_the_copy_that_searches_traverse() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = dir.path().join("v.wvec");
    let v = vectors.to_str().unwrap();
    wordvec()
        .args(["convert", data("w2vc-sg-d32.bin").to_str().unwrap(), v])
        .assert()
        .success();
    wordvec()
        .args(["index", "build", v, "--int8", "--limit", "100"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot be combined with --limit"));
    wordvec()
        .args(["index", "build", v, "--int8"])
        .assert()
        .success()
        .stderr(predicate::str::contains("v.wvec.i8 (int8 copy)"));
    let side = dir.path().join("v.wvec.i8");
    assert!(side.is_file());
    // Opened (and checked) with the vectors; searched through the graph over the codes, the
    // recall stays that of the f32 traversal and the answers are scored exactly.
    let idx = dir.path().join("v.wvec.idx");
    assert_index_recall(v, &idx);
    let exact = stdout_of(&["nn", v, "king", "-k", "5", "--exact", "--json"]);
    let plain = dir.path().join("plain.wvec");
    std::fs::copy(&vectors, &plain).unwrap();
    assert_eq!(
        exact,
        stdout_of(&[
            "nn",
            plain.to_str().unwrap(),
            "king",
            "-k",
            "5",
            "--exact",
            "--json"
        ])
    );
    // A second build leaves the existing copy alone.
    let before = std::fs::read(&side).unwrap();
    wordvec()
        .args([
            "index",
            "build",
            v,
            "--int8",
            "-o",
            dir.path().join("b.idx").to_str().unwrap(),
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("int8 copy").not());
    assert_eq!(before, std::fs::read(&side).unwrap());
}

#[test]
fn index_build_info_eval_and_queries_through_it() {
    let dir = tempfile::tempdir().unwrap();
    let vectors = dir.path().join("v.bin");
    std::fs::copy(data("w2vc-sg-d32.bin"), &vectors).unwrap();
    let v = vectors.to_str().unwrap();
    wordvec()
        .args(["index", "build", v, "--m", "12", "--ef-construction", "100"])
        .assert()
        .success()
        .stderr(predicate::str::contains("indexed 4642 of 4642 words"));
    let idx = dir.path().join("v.bin.idx");
    assert!(idx.exists());
    let info: serde_json::Value = serde_json::from_str(&stdout_of(&[
        "index",
        "info",
        idx.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        (info["m"].as_u64(), info["indexed"].as_u64()),
        (Some(12), Some(4642))
    );
    // The index beside the vectors is picked up; a small vocabulary is still answered exactly,
    // so the answer equals --exact.
    let via_index = stdout_of(&["nn", v, "king", "-k", "5", "--ef", "50"]);
    let exact = stdout_of(&["nn", v, "king", "-k", "5", "--exact"]);
    assert_eq!(via_index, exact);
    assert_index_recall(v, &idx);
    // A damaged index is refused with a clear message.
    std::fs::write(&idx, b"garbage that is long enough to hold a header, but not a graph file; nothing more or less than that, padded well past the size of a header line of two hundred and fifty-six bytes................................................................").unwrap();
    wordvec()
        .args(["nn", v, "king"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a wordvec graph file"));
}

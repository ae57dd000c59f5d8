//! Reading and writing every format: round trips (byte for byte where the format allows), and
//! every kind of malformed input, each asserting the error it gives.

use crate::common;

use std::path::Path;

use common::{bin_bytes, data, load};
use wordvec::{Embeddings, Error, Format, LoadOptions, SaveOptions, UnicodeErrors};

fn load_bytes(bytes: &[u8], opts: &LoadOptions) -> (tempfile::TempDir, Result<Embeddings, Error>) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("input.bin");
    std::fs::write(&p, bytes).unwrap();
    let r = wordvec::load(&p, opts);
    (dir, r)
}

fn err_of(bytes: &[u8]) -> String {
    let (_dir, r) = load_bytes(bytes, &LoadOptions::default());
    r.expect_err("malformed input must be an error").to_string()
}

fn save(e: &Embeddings, dir: &Path, name: &str, format: Format) -> std::path::PathBuf {
    let p = dir.join(name);
    wordvec::save(e, &p, format, &SaveOptions::default()).unwrap();
    p
}

fn assert_close(a: &Embeddings, b: &Embeddings, tol: f32) {
    assert_eq!((a.len(), a.dims()), (b.len(), b.dims()));
    for i in 0..a.len() {
        assert_eq!(a.word(i), b.word(i));
        for (x, y) in a.raw_row(i).iter().zip(b.raw_row(i)) {
            assert!((x - y).abs() <= tol, "row {i} ({}): {x} vs {y}", a.word(i));
        }
    }
}

/// A tiny binary file: header, then (word, vector) records, with or without newlines.
fn tiny_bin(records: &[(&[u8], &[f32])], newline: bool) -> Vec<u8> {
    let dims = records.first().map_or(2, |r| r.1.len());
    let mut out = format!("{} {}\n", records.len(), dims).into_bytes();
    for (w, v) in records {
        out.extend_from_slice(w);
        out.push(b' ');
        for x in *v {
            out.extend(x.to_le_bytes());
        }
        if newline {
            out.push(b'\n');
        }
    }
    out
}

#[test]
fn both_binary_layouts_hold_the_same_vectors() {
    let c = load("w2vc-sg-d32.bin");
    let g = load("gensim-d32.bin");
    assert!(c.metadata().newline_after_vector);
    assert!(!g.metadata().newline_after_vector);
    assert_close(&c, &g, 0.0);
}

#[test]
fn gzip_and_text_and_glove_read_the_same_vectors() {
    let bin = load("gensim-d32.bin");
    assert_close(&bin, &load("gensim-d32.bin.gz"), 0.0);
    let txt = load("w2vc-sg-d32.txt");
    assert_eq!(txt.metadata().format, Some(Format::Word2VecText));
    assert_close(&bin, &txt, 6e-7);
    let dir = tempfile::tempdir().unwrap();
    let glove = save(&bin, dir.path(), "v.glove", Format::GloveText);
    let first_line = std::fs::read_to_string(&glove)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    assert!(
        first_line.starts_with("</s> "),
        "GloVe has no header: {first_line}"
    );
    let g = load_path(&glove);
    assert_eq!(g.metadata().format, Some(Format::GloveText));
    assert_close(&bin, &g, 6e-7);
}

fn load_path(p: &Path) -> Embeddings {
    wordvec::load(p, &LoadOptions::default()).unwrap()
}

#[test]
fn rewrites_are_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["w2vc-sg-d32.bin", "gensim-d32.bin"] {
        let out = save(&load(name), dir.path(), "out.bin", Format::Word2VecBinary);
        assert!(
            std::fs::read(&out).unwrap() == std::fs::read(data(name)).unwrap(),
            "{name} re-written differs"
        );
    }
    // The C tool's text file, re-written with its six decimals from its text and from its
    // binary twin.
    let want = std::fs::read(data("w2vc-sg-d32.txt")).unwrap();
    let six = SaveOptions::default().decimals(Some(6));
    for name in ["w2vc-sg-d32.txt", "w2vc-sg-d32.bin"] {
        let out = dir.path().join("out.txt");
        wordvec::save(&load(name), &out, Format::Word2VecText, &six).unwrap();
        assert!(
            std::fs::read(&out).unwrap() == want,
            "text written from {name} differs from the C tool's"
        );
    }
    // By default every value in full: the binary file's floats come back bit for bit.
    let bin = load("w2vc-sg-d32.bin");
    let out = save(&bin, dir.path(), "full.txt", Format::Word2VecText);
    let back = wordvec::load(&out, &Default::default()).unwrap();
    for i in 0..bin.len() {
        assert_eq!(bin.raw_row(i), back.raw_row(i), "row {i}");
    }
    // gzip input re-written as plain binary equals the file that was gzipped.
    let out = save(
        &load("gensim-d32.bin.gz"),
        dir.path(),
        "out.bin",
        Format::Word2VecBinary,
    );
    assert!(std::fs::read(out).unwrap() == bin_bytes());
}

#[test]
fn binary_layout_can_be_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nl.bin");
    let opts = SaveOptions::default().newline_after_vector(Some(true));
    wordvec::save(&load("gensim-d32.bin"), &p, Format::Word2VecBinary, &opts).unwrap();
    assert!(std::fs::read(&p).unwrap() == std::fs::read(data("w2vc-sg-d32.bin")).unwrap());
}

#[test]
fn native_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let bin = load("w2vc-sg-d32.bin");
    let n1 = save(&bin, dir.path(), "a.wvec", Format::Native);
    let native = load_path(&n1);
    assert_eq!(native.metadata().format, Some(Format::Native));
    assert!(native.unit_rows());
    // Unit rows times norms give back the vectors to within float rounding.
    assert_close(&bin, &native, 1e-6);
    for i in (0..native.len()).step_by(97) {
        let n: f32 = native.unit_row(i).iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-5);
        assert_eq!(native.index(native.word(i)), Some(i));
    }
    // Native to native is exact.
    let n2 = save(&native, dir.path(), "b.wvec", Format::Native);
    assert!(std::fs::read(&n1).unwrap() == std::fs::read(&n2).unwrap());
    // Native back to binary keeps the layout flag and the vectors.
    let back = save(&native, dir.path(), "back.bin", Format::Word2VecBinary);
    let back = load_path(&back);
    assert!(back.metadata().newline_after_vector);
    assert_close(&bin, &back, 1e-6);
    // Sections are 64-byte aligned.
    let bytes = std::fs::read(&n1).unwrap();
    for field in [32usize, 48, 56, 72, 80] {
        let off = u64::from_le_bytes(bytes[field..field + 8].try_into().unwrap());
        assert_eq!(off % 64, 0, "section offset at header byte {field}");
    }
}

#[test]
fn empty_vocabulary_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_bytes(b"0 4\n", &LoadOptions::default()).1.unwrap();
    assert!(e.is_empty());
    let p = save(&e, dir.path(), "empty.wvec", Format::Native);
    let n = load_path(&p);
    assert_eq!((n.len(), n.dims()), (0, 4));
    assert!(n
        .most_similar_to_vector(&[1.0, 0.0, 0.0, 0.0], 5, None)
        .unwrap()
        .is_empty());
}

#[test]
fn limit_reads_the_first_words() {
    let opts = LoadOptions::default().limit(Some(100));
    for name in ["w2vc-sg-d32.bin", "gensim-d32.bin", "w2vc-sg-d32.txt"] {
        let e = wordvec::load(&data(name), &opts).unwrap();
        assert_eq!(e.len(), 100, "{name}");
        assert_eq!(e.word(99), load(name).word(99));
    }
}

#[test]
fn forced_format_is_used() {
    let opts = LoadOptions::default().format(Some(Format::Native));
    let err = wordvec::load(&data("gensim-d32.bin"), &opts)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a wordvec native file"), "{err}");
}

// ---- malformed input ----

#[test]
fn empty_file() {
    let err = err_of(b"");
    assert!(
        err.contains("input.bin") && err.contains("the file is empty"),
        "{err}"
    );
}

#[test]
fn truncated_in_a_vector() {
    let bytes = bin_bytes();
    let err = err_of(&bytes[..bytes.len() - 10]);
    // The last record is number 4641.
    assert!(
        err.contains("record 4641")
            && err.contains("needs 128 bytes but only 118 remain")
            && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn truncated_in_a_word() {
    let bytes = bin_bytes();
    // Cut right after the header and three bytes of the first word.
    let err = err_of(&bytes[..11]);
    assert!(err.contains("header says 4642 words"), "{err}");
    // A long first word leaves room for the size check to pass; the second word is cut.
    let mut two = tiny_bin(&[(b"abcdefghij", &[1.0, 2.0]), (b"cd", &[3.0, 4.0])], false);
    two.truncate(4 + 11 + 8 + 2);
    let err = err_of(&two);
    assert!(
        err.contains("record 1, byte offset 23")
            && err.contains("no space ends the word")
            && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn header_count_disagrees_with_the_file() {
    let mut bytes = bin_bytes();
    bytes.splice(0..4, b"4641".iter().copied());
    let err = err_of(&bytes);
    assert!(
        err.contains("header says 4641 words, but 132 more bytes follow"),
        "{err}"
    );
    let mut bytes = bin_bytes();
    bytes.splice(0..4, b"9999".iter().copied());
    let err = err_of(&bytes);
    assert!(
        err.contains("header says 9999 words of 32 dimensions")
            && err.contains("truncated file or wrong header"),
        "{err}"
    );
}

#[test]
fn zero_and_absurd_dimensions() {
    assert!(err_of(b"1 0\nab \n").contains("dimension of 0"));
    let err = err_of(b"1 99999999999\nab ....\n");
    assert!(
        err.contains("dimension of 99999999999, above the limit"),
        "{err}"
    );
    assert!(
        err_of(b"1 0\nab\n").contains("dimension of 0"),
        "text files too"
    );
}

#[test]
fn word_longer_than_the_file() {
    // Header for one word of 1 dimension, then 20 bytes without a space.
    let err = err_of(b"1 1\nxxxxxxxxxxxxxxxxxxxx");
    assert!(
        err.contains("record 0")
            && err.contains("byte offset 4")
            && err.contains("no space ends the word"),
        "{err}"
    );
}

#[test]
fn nan_and_inf_are_reported() {
    let bytes = tiny_bin(&[(b"ok", &[1.0, 2.0]), (b"bad", &[3.0, f32::NAN])], true);
    let err = err_of(&bytes);
    // "2 2\n" (4) + "ok " (3) + 8 + "\n" (1) = 16: "bad " starts there, its second float at 24.
    assert_eq!(
        err.split(": ").skip(1).collect::<Vec<_>>().join(": "),
        "record 1 (\"bad\"), byte offset 24: value NaN is not finite"
    );
    let (_d, r) = load_bytes(b"1 2\nw 0.5 inf\n", &LoadOptions::default());
    let err = r.unwrap_err().to_string();
    assert!(
        err.contains("record 0 (\"w\"), byte offset 10: value inf is not finite"),
        "{err}"
    );
}

#[test]
fn text_errors_name_the_line() {
    let err = err_of(b"2 2\na 1 2\nb 1 x\n");
    assert!(
        err.contains("record 1, byte offset 14: line 3: \"x\" is not a number"),
        "{err}"
    );
    let err = err_of(b"2 2\na 1 2\nb 1\n");
    assert!(
        err.contains("line 3: \"b\" has 1 values, expected 2"),
        "{err}"
    );
    let err = err_of(b"3 2\na 1 2\nb 1 3\n");
    assert!(
        err.contains("header says 3 words, but the file holds 2 lines"),
        "{err}"
    );
}

#[test]
fn invalid_utf8_policies() {
    let bytes = tiny_bin(&[(b"ok", &[1.0, 0.0]), (b"ca\xfffe", &[0.0, 1.0])], false);
    let err = err_of(&bytes);
    // Record 1 starts at 4 + 3 + 8 = 15; the bad byte is its third.
    assert!(
        err.contains("record 1, byte offset 17") && err.contains("not valid UTF-8"),
        "{err}"
    );
    for (policy, word) in [
        (UnicodeErrors::Replace, "ca\u{fffd}fe"),
        (UnicodeErrors::Ignore, "cafe"),
    ] {
        let (_d, r) = load_bytes(&bytes, &LoadOptions::default().unicode_errors(policy));
        let e = r.unwrap();
        assert_eq!(e.word(1), word);
        assert_eq!(e.vector(word).unwrap(), vec![0.0, 1.0]);
    }
}

#[test]
fn duplicates_keep_the_first() {
    let bytes = tiny_bin(
        &[
            (b"a", &[1.0, 0.0]),
            (b"b", &[0.0, 1.0]),
            (b"a", &[5.0, 5.0]),
        ],
        true,
    );
    let (_d, r) = load_bytes(&bytes, &LoadOptions::default());
    let e = r.unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e.vector("a").unwrap(), vec![1.0, 0.0]);
    assert_eq!(e.metadata().duplicates_skipped, 1);
}

#[test]
fn leading_newlines_before_words_are_skipped() {
    // word2vec C files put "\n" after each vector; a reader that assumed it would misread the
    // next word in files without it, and vice versa.
    let with = tiny_bin(&[(b"a", &[1.0, 2.0]), (b"b", &[3.0, 4.0])], true);
    let without = tiny_bin(&[(b"a", &[1.0, 2.0]), (b"b", &[3.0, 4.0])], false);
    for bytes in [with, without] {
        let (_d, r) = load_bytes(&bytes, &LoadOptions::default());
        let e = r.unwrap();
        assert_eq!(e.vector("b").unwrap(), vec![3.0, 4.0]);
    }
}

#[test]
fn corrupt_native_files() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(save(
        &load("gensim-d32.bin"),
        dir.path(),
        "g.wvec",
        Format::Native,
    ))
    .unwrap();
    let mut cases: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    cases.push((
        "truncated",
        good[..good.len() - 1].to_vec(),
        "truncated or appended",
    ));
    cases.push((
        "header only",
        good[..100].to_vec(),
        "native header needs 128 bytes",
    ));
    let mut v = good.clone();
    v[8] = 9;
    cases.push(("version", v, "native format version 9"));
    let mut v = good.clone();
    v[80..88].copy_from_slice(&(good.len() as u64).to_le_bytes());
    cases.push(("matrix offset", v, "matrix section at"));
    let mut v = good.clone();
    v[48..56].copy_from_slice(&8u64.to_le_bytes());
    cases.push(("ends offset", v, "word ends section at 8"));
    let mut v = good.clone();
    let norms = u64::from_le_bytes(good[72..80].try_into().unwrap()) as usize;
    v[norms + 8..norms + 12].copy_from_slice(&f32::NAN.to_le_bytes());
    cases.push(("NaN norm", v, "record 2 (\"the\")"));
    let mut v = good.clone();
    let ends = u64::from_le_bytes(good[48..56].try_into().unwrap()) as usize;
    v[ends..ends + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    cases.push(("word end", v, "vocabulary entry 0 ends at"));
    for (what, bytes, want) in cases {
        let p = dir.path().join("bad.wvec");
        std::fs::write(&p, &bytes).unwrap();
        let opts = LoadOptions::default().format(Some(Format::Native));
        let err = wordvec::load(&p, &opts).expect_err(what).to_string();
        assert!(
            err.contains("bad.wvec") && err.contains(want),
            "{what}: {err}"
        );
    }
}

#[test]
fn broken_gzip() {
    let gz = std::fs::read(data("gensim-d32.bin.gz")).unwrap();
    let err = err_of(&gz[..gz.len() / 2]);
    assert!(err.contains("gzip stream broken"), "{err}");
}

#[test]
fn missing_file() {
    let err = wordvec::load(Path::new("/nonexistent/v.bin"), &LoadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("cannot open /nonexistent/v.bin"), "{err}");
}

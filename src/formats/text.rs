//! word2vec text files (`"<count> <dims>"` header, then `word v1 ... vdims` per line) and GloVe
//! files (the same lines, no header).
//!
//! Lines are parsed on all cores into one owned matrix. The writer keeps the C tool's layout
//! (each value followed by a space; GloVe's lines without the last one) and writes each value in
//! full by default: the shortest decimal that parses back to the same `f32` (Rust's `Display`,
//! which never uses an exponent), so a text file round-trips every bit as gensim's does
//! (gensim writes `str()` of each float32, the same shortest digits). With a number of
//! decimals ([`crate::SaveOptions::decimals`], 6 for the C tool's `%lf`) the output is the C
//! tool's byte for byte.

use std::io::Write;
use std::path::Path;

use crate::progress::Progress;
use rayon::prelude::*;

use crate::embeddings::{compute_norms, Embeddings, Metadata};
use crate::error::{Error, Result};
use crate::formats::{check_dims, parse_header_line, Format, LoadOptions};
use crate::storage::DenseRows;
use crate::vocab::{decode_word, VocabBuilder};

/// One parsed line: the word, and the offset of the line for error messages.
struct Line<'a> {
    number: usize,
    offset: usize,
    bytes: &'a [u8],
}

/// Reads word2vec text (`format == Word2VecText`) or GloVe text (`GloveText`) from `data`.
pub fn read(data: &[u8], path: &Path, format: Format, opts: &LoadOptions) -> Result<Embeddings> {
    if data.is_empty() {
        return Err(Error::format(path, None, 0, "the file is empty"));
    }
    let (header, body_start) = if format == Format::Word2VecText {
        let (n, d, len) = parse_header_line(data).ok_or_else(|| {
            Error::format(
                path,
                None,
                0,
                "no word2vec header: the first line must be \"<word count> <dimensions>\"",
            )
        })?;
        (Some((n, check_dims(path, d)?)), len)
    } else {
        (None, 0)
    };

    let mut lines = Vec::new();
    let mut offset = body_start;
    let first_line = 1 + usize::from(header.is_some());
    for (number, chunk) in (first_line..).zip(data[body_start..].split(|&b| b == b'\n')) {
        let this = offset;
        offset += chunk.len() + 1;
        if chunk.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines.push(Line {
            number,
            offset: this,
            bytes: chunk,
        });
    }
    if let Some((n, _)) = header {
        if lines.len() as u64 != n && opts.limit.is_none_or(|l| (l as u64) > lines.len() as u64) {
            return Err(Error::format(
                path,
                None,
                data.len() as u64,
                format!(
                    "header says {n} words, but the file holds {} lines of vectors",
                    lines.len()
                ),
            ));
        }
    }
    if let Some(limit) = opts.limit {
        lines.truncate(limit);
    }
    let dims = match header {
        Some((_, d)) => d,
        None => {
            let first = lines
                .first()
                .ok_or_else(|| Error::format(path, None, 0, "no vectors in the file"))?;
            let tokens = first
                .bytes
                .split(|b| b.is_ascii_whitespace())
                .filter(|t| !t.is_empty())
                .count();
            check_dims(path, tokens.saturating_sub(1) as u64)?
        }
    };

    let progress = opts.reporter();
    progress.start("", lines.len() as u64);
    let parsed: Vec<(String, Vec<f32>)> = lines
        .par_iter()
        .enumerate()
        .map(|(record, line)| {
            if record % 65536 == 0 {
                progress.inc(65536);
            }
            parse_line(path, record, line, dims, opts)
        })
        .collect::<Result<_>>()?;
    progress.finish();

    let mut vocab = VocabBuilder::with_capacity(parsed.len());
    let mut values = Vec::with_capacity(parsed.len() * dims);
    let mut duplicates = 0;
    for (word, v) in &parsed {
        if vocab.push(word) {
            values.extend_from_slice(v);
        } else {
            duplicates += 1;
        }
    }
    drop(parsed);
    let storage = DenseRows::from_f32(values, dims).expect("every row has `dims` values");
    let norms = compute_norms(&storage);
    let vocab = vocab.build();
    if let Some(bad) = norms.iter().position(|n| !n.is_finite()) {
        return Err(Error::format(
            path,
            Some(bad as u64),
            0,
            format!(
                "the vector of {:?} is too long: its length overflows f32",
                crate::vocab::Vocab::word(&vocab, bad)
            ),
        ));
    }
    let meta = Metadata {
        duplicates_skipped: duplicates,
        ..Metadata::default()
    };
    Embeddings::from_parts(
        Box::new(vocab),
        Box::new(storage),
        norms.into(),
        false,
        meta,
    )
}

fn parse_line(
    path: &Path,
    record: usize,
    line: &Line,
    dims: usize,
    opts: &LoadOptions,
) -> Result<(String, Vec<f32>)> {
    let err = |offset: usize, msg: String| {
        Error::format(
            path,
            Some(record as u64),
            offset as u64,
            format!("line {}: {msg}", line.number),
        )
    };
    let mut tokens = line
        .bytes
        .split(|b| b.is_ascii_whitespace())
        .scan(0usize, |pos, t| {
            let start = *pos;
            *pos += t.len() + 1;
            Some((start, t))
        })
        .filter(|(_, t)| !t.is_empty());
    let (at, word_bytes) = tokens.next().expect("blank lines were skipped");
    let word = decode_word(word_bytes, opts.unicode_errors)
        .map_err(|bad| Error::not_utf8(path, record as u64, line.offset + at, word_bytes, bad))?
        .into_owned();
    let mut values = Vec::with_capacity(dims);
    for (at, tok) in tokens {
        let v: f32 = std::str::from_utf8(tok)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                err(
                    line.offset + at,
                    format!("{:?} is not a number", String::from_utf8_lossy(tok)),
                )
            })?;
        if !v.is_finite() {
            return Err(Error::NonFinite {
                path: path.to_owned(),
                record: record as u64,
                word,
                offset: (line.offset + at) as u64,
                value: v,
            });
        }
        values.push(v);
    }
    if values.len() != dims {
        return Err(err(
            line.offset,
            format!("{word:?} has {} values, expected {dims}", values.len()),
        ));
    }
    Ok((word, values))
}

/// Writes `emb` as text: with the word2vec header (`header == true`) or as GloVe; each value
/// with `decimals` decimals, or in full (`None`).
pub fn write(
    emb: &Embeddings,
    w: &mut impl Write,
    header: bool,
    decimals: Option<usize>,
    progress: &dyn Progress,
) -> std::io::Result<()> {
    if header {
        writeln!(w, "{} {}", emb.len(), emb.dims())?;
    }
    let mut line = String::new();
    for i in 0..emb.len() {
        use std::fmt::Write as _;
        line.clear();
        line.push_str(emb.word(i));
        line.push(' ');
        for v in emb.raw_row(i) {
            let _ = match decimals {
                // The C tool prints `%lf ` of the float promoted to double; Rust's
                // fixed-precision formatting rounds the exact value the same way.
                Some(d) => write!(line, "{:.*} ", d, f64::from(v)),
                None => write!(line, "{v} "),
            };
        }
        if !header {
            line.pop();
        }
        line.push('\n');
        w.write_all(line.as_bytes())?;
        if i % 65536 == 0 {
            progress.set_position(i as u64);
        }
    }
    Ok(())
}

//! Labelled texts: reading CSV/TSV files, the label set, and the train/validation/test split.
//!
//! Files have a header row; the text and label columns are found by name. Fields may be quoted
//! and hold delimiters, quotes (`""`) and newlines; text is UTF-8. With a multi-label separator
//! the label field holds several labels (`"sport|politics"`). Problems are reported with the
//! file, the 0-based data record, its line and its byte offset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What kind of labels a data set has, which decides the output layer and the default loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Task {
    /// Exactly two labels, one per text.
    Binary,
    /// Three or more labels, one per text.
    MultiClass,
    /// Any number of labels per text.
    MultiLabel,
}

impl Task {
    /// How people call it: `binary`, `multi-class`, `multi-label`.
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::MultiClass => "multi-class",
            Task::MultiLabel => "multi-label",
        }
    }
}

/// How to read a data file.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// Name of the text column.
    pub text_column: String,
    /// Name of the label column.
    pub label_column: String,
    /// Field delimiter; `None` picks tab for `.tsv`/`.tab` files and comma otherwise.
    pub delimiter: Option<u8>,
    /// Separator of several labels in one field (multi-label data).
    pub multi_label: Option<String>,
}

impl Default for DataOptions {
    fn default() -> Self {
        DataOptions {
            text_column: "text".into(),
            label_column: "label".into(),
            delimiter: None,
            multi_label: None,
        }
    }
}

/// Labelled texts as read from a file, in file order.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The file they came from (for messages).
    pub path: PathBuf,
    /// The texts.
    pub texts: Vec<String>,
    /// Each text's labels (one for single-label data), as written in the file.
    pub labels: Vec<Vec<String>>,
    /// Each text's 1-based line number in the file (where its record starts).
    pub lines: Vec<u64>,
    /// Each text's record's byte offset in the file.
    pub offsets: Vec<u64>,
    /// Whether the labels were read with a multi-label separator.
    pub multi_label: bool,
}

impl Dataset {
    /// Reads a CSV/TSV file.
    pub fn read(path: &Path, opts: &DataOptions) -> Result<Dataset> {
        let file = std::fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        let delimiter =
            opts.delimiter
                .unwrap_or_else(|| match path.extension().and_then(|e| e.to_str()) {
                    Some("tsv") | Some("tab") => b'\t',
                    _ => b',',
                });
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
        let headers = reader
            .headers()
            .map_err(|e| csv_error(path, None, e))?
            .clone();
        let column = |name: &str| {
            headers
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    Error::format(
                        path,
                        None,
                        0,
                        format!(
                            "no column named {name:?} in the header; columns: {}",
                            headers
                                .iter()
                                .map(|h| format!("{h:?}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })
        };
        let text_col = column(&opts.text_column)?;
        let label_col = column(&opts.label_column)?;
        let mut data = Dataset {
            path: path.to_owned(),
            texts: Vec::new(),
            labels: Vec::new(),
            lines: Vec::new(),
            offsets: Vec::new(),
            multi_label: opts.multi_label.is_some(),
        };
        let mut record = csv::StringRecord::new();
        loop {
            let n = data.texts.len() as u64;
            match reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => return Err(csv_error(path, Some(n), e)),
            }
            let pos = record
                .position()
                .cloned()
                .unwrap_or_else(csv::Position::new);
            let bad = |message: String| Error::format(path, Some(n), pos.byte(), message);
            let text = record.get(text_col).unwrap_or_default();
            if text.trim().is_empty() {
                return Err(bad(format!("line {}: empty text", pos.line())));
            }
            let field = record.get(label_col).unwrap_or_default();
            let labels: Vec<String> = match &opts.multi_label {
                Some(sep) => {
                    let mut l: Vec<String> = field
                        .split(sep.as_str())
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect();
                    l.sort();
                    l.dedup();
                    l
                }
                None if field.trim().is_empty() => Vec::new(),
                None => vec![field.trim().to_owned()],
            };
            if labels.is_empty() && opts.multi_label.is_none() {
                return Err(bad(format!("line {}: empty label", pos.line())));
            }
            data.texts.push(text.to_owned());
            data.labels.push(labels);
            data.lines.push(pos.line());
            data.offsets.push(pos.byte());
        }
        if data.texts.is_empty() {
            return Err(Error::format(
                path,
                None,
                0,
                "no data rows after the header",
            ));
        }
        Ok(data)
    }

    /// Builds a data set in memory (one label per text).
    pub fn from_pairs<T: AsRef<str>, L: AsRef<str>>(pairs: &[(T, L)]) -> Dataset {
        Dataset {
            path: PathBuf::from("<memory>"),
            texts: pairs.iter().map(|(t, _)| t.as_ref().to_owned()).collect(),
            labels: pairs
                .iter()
                .map(|(_, l)| vec![l.as_ref().to_owned()])
                .collect(),
            lines: (2..pairs.len() as u64 + 2).collect(),
            offsets: vec![0; pairs.len()],
            multi_label: false,
        }
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Appends `other`'s rows (for a training file followed by validation and test files).
    pub fn append(&mut self, other: Dataset) -> Result<()> {
        if other.multi_label != self.multi_label {
            return Err(Error::invalid(
                "cannot mix multi-label and single-label files",
            ));
        }
        self.texts.extend(other.texts);
        self.labels.extend(other.labels);
        self.lines.extend(other.lines);
        self.offsets.extend(other.offsets);
        Ok(())
    }

    /// Reads the training file and, when given, its validation and test files, as one data set
    /// in train, validation, test order, with the sizes that split it
    /// ([`ClassifierConfig::presplit`](super::ClassifierConfig::presplit)): `Some((train,
    /// valid))` when a validation or test file is given (the rest is the test part), `None` when
    /// there is only the training file (a training run then splits it by fractions).
    pub fn read_split(
        train: &Path,
        valid: Option<&Path>,
        test: Option<&Path>,
        opts: &DataOptions,
    ) -> Result<(Dataset, Option<(usize, usize)>)> {
        let mut data = Dataset::read(train, opts)?;
        if valid.is_none() && test.is_none() {
            return Ok((data, None));
        }
        let train_rows = data.len();
        if let Some(p) = valid {
            data.append(Dataset::read(p, opts)?)?;
        }
        let valid_rows = data.len() - train_rows;
        if let Some(p) = test {
            data.append(Dataset::read(p, opts)?)?;
        }
        Ok((data, Some((train_rows, valid_rows))))
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// The sorted set of labels and the task they make. Errors when there is only one label,
    /// or when a label occurs only once (it could not be both learned and tested).
    pub fn label_set(&self) -> Result<(Vec<String>, Task)> {
        let mut seen: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for (i, ls) in self.labels.iter().enumerate() {
            for l in ls {
                seen.entry(l).or_insert((0, i)).0 += 1;
            }
        }
        if let Some((label, (_, row))) = seen.iter().find(|(_, (count, _))| *count == 1) {
            return Err(Error::format(
                &self.path,
                Some(*row as u64),
                self.offsets[*row],
                format!(
                    "line {}: label {label:?} occurs only once; every label needs at least 2 \
                     examples (remove the row or merge the label)",
                    self.lines[*row]
                ),
            ));
        }
        let labels: Vec<String> = seen.keys().map(|s| (*s).to_owned()).collect();
        let task = match (self.multi_label, labels.len()) {
            (_, 0) | (false, 1) => {
                return Err(Error::format(
                    &self.path,
                    None,
                    0,
                    format!(
                        "{} label(s) found; a classifier needs at least 2",
                        labels.len()
                    ),
                ))
            }
            (true, _) => Task::MultiLabel,
            (false, 2) => Task::Binary,
            (false, _) => Task::MultiClass,
        };
        Ok((labels, task))
    }

    /// Each text's label indices into `labels` (sorted, as [`Dataset::label_set`] returns them).
    /// A label missing from `labels` is an error naming the row.
    pub fn targets(&self, labels: &[String]) -> Result<Vec<Vec<u32>>> {
        self.labels
            .iter()
            .enumerate()
            .map(|(i, ls)| {
                ls.iter()
                    .map(|l| {
                        labels.binary_search(l).map(|k| k as u32).map_err(|_| {
                            Error::format(
                                &self.path,
                                Some(i as u64),
                                0,
                                format!(
                                    "line {}: label {l:?} is not one of the model's labels ({})",
                                    self.lines[i],
                                    labels.join(", ")
                                ),
                            )
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// A fingerprint of the texts and labels, to check that a resumed run reads the same data.
    pub fn fingerprint(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for (t, ls) in self.texts.iter().zip(&self.labels) {
            h.update(t.as_bytes());
            h.update(&[0]);
            for l in ls {
                h.update(l.as_bytes());
                h.update(&[1]);
            }
            h.update(&[2]);
        }
        h.digest()
    }
}

fn csv_error(path: &Path, record: Option<u64>, e: csv::Error) -> Error {
    let (offset, line) = e
        .position()
        .map(|p| (p.byte(), Some(p.line())))
        .unwrap_or((0, None));
    let message = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "text is not valid UTF-8".to_owned(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    };
    let message = match line {
        Some(l) => format!("line {l}: {message}"),
        None => message,
    };
    match e.into_kind() {
        csv::ErrorKind::Io(io) => Error::io("cannot read", path, io),
        _ => Error::format(path, record, offset, message),
    }
}

/// Row indices of a train/validation/test split: `0..n` shuffled with `seed`, then cut by the
/// fractions (which must be >= 0 and sum to 1 within 1e-6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Training rows.
    pub train: Vec<usize>,
    /// Validation rows (early stopping, best epoch).
    pub valid: Vec<usize>,
    /// Test rows (the final report).
    pub test: Vec<usize>,
}

impl Split {
    /// Splits `n` rows.
    pub fn new(n: usize, fractions: [f64; 3], seed: u64) -> Result<Split> {
        let sum: f64 = fractions.iter().sum();
        if fractions.iter().any(|f| !(0.0..=1.0).contains(f)) || (sum - 1.0).abs() > 1e-6 {
            return Err(Error::invalid(format!(
                "split fractions {fractions:?} must be between 0 and 1 and sum to 1"
            )));
        }
        if fractions[0] == 0.0 {
            return Err(Error::invalid("the training fraction of the split is 0"));
        }
        let mut rows: Vec<usize> = (0..n).collect();
        rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        let a = ((n as f64 * fractions[0]).round() as usize).clamp(1, n);
        let b = (a + (n as f64 * fractions[1]).round() as usize).min(n);
        let test = rows.split_off(b);
        let valid = rows.split_off(a);
        Ok(Split {
            train: rows,
            valid,
            test,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &str, name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::File::create(&p)
            .unwrap()
            .write_all(content.as_bytes())
            .unwrap();
        (dir, p)
    }

    #[test]
    fn quoted_fields_newlines_and_cyrillic() {
        let (_d, p) = write(
            "id,text,label\n1,\"hello, \"\"world\"\"\nsecond line\",pos\n2,Привет мир,neg\n3,ok,pos\n4,bad,neg\n",
            "d.csv",
        );
        let d = Dataset::read(&p, &DataOptions::default()).unwrap();
        assert_eq!(d.texts[0], "hello, \"world\"\nsecond line");
        assert_eq!(d.texts[1], "Привет мир");
        assert_eq!(d.lines, [2, 4, 5, 6]);
        let (labels, task) = d.label_set().unwrap();
        assert_eq!(labels, ["neg", "pos"]);
        assert_eq!(task, Task::Binary);
        assert_eq!(d.targets(&labels).unwrap(), [[1], [0], [1], [0]]);
    }

    #[test]
    fn tsv_and_multi_label() {
        let (_d, p) = write("label\ttext\na|b\tone\nb\ttwo\na\tthree\n\tfour\n", "d.tsv");
        let opts = DataOptions {
            multi_label: Some("|".into()),
            ..Default::default()
        };
        let d = Dataset::read(&p, &opts).unwrap();
        let (labels, task) = d.label_set().unwrap();
        assert_eq!(task, Task::MultiLabel);
        assert_eq!(
            d.targets(&labels).unwrap(),
            vec![vec![0, 1], vec![1], vec![0], vec![]]
        );
    }

    #[test]
    fn bad_input_names_file_record_line_and_offset() {
        let (_d, p) = write("text,tag\nx,a\n", "d.csv");
        let e = Dataset::read(&p, &DataOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("d.csv") && e.contains("no column named \"label\""),
            "{e}"
        );
        assert!(e.contains("\"text\", \"tag\""), "{e}");

        let (_d, p) = write("text,label\nfine,a\n  ,b\n", "d.csv");
        let e = Dataset::read(&p, &DataOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("record 1, byte offset 18: line 3: empty text"),
            "{e}"
        );

        let (_d, p) = write("text,label\nfine,a\nx,b,c\n", "d.csv");
        let e = Dataset::read(&p, &DataOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("3 fields where the header has 2"), "{e}");

        let (_d, p) = write("text,label\nfine,a\nmore,a\nodd,b\n", "d.csv");
        let d = Dataset::read(&p, &DataOptions::default()).unwrap();
        let e = d.label_set().unwrap_err().to_string();
        assert!(
            e.contains("record 2, byte offset 25: line 4: label \"b\" occurs only once"),
            "{e}"
        );

        let (_d, p) = write("text,label\n", "d.csv");
        let e = Dataset::read(&p, &DataOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("no data rows"), "{e}");

        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.csv");
        std::fs::write(&p, b"text,label\n\xff\xfe,a\n").unwrap();
        let e = Dataset::read(&p, &DataOptions::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not valid UTF-8"), "{e}");
    }

    #[test]
    fn read_split_appends_validation_and_test_files_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = |name: &str, rows: &[&str]| {
            let p = dir.path().join(name);
            std::fs::write(&p, format!("text,label\n{}\n", rows.join("\n"))).unwrap();
            p
        };
        let train = file("train.csv", &["a,x", "b,y", "c,x"]);
        let valid = file("valid.csv", &["d,y", "e,x"]);
        let test = file("test.csv", &["f,y"]);
        let opts = DataOptions::default();

        let (d, presplit) = Dataset::read_split(&train, None, None, &opts).unwrap();
        assert_eq!(
            (d.texts, presplit),
            (vec!["a".into(), "b".into(), "c".into()], None)
        );

        let (d, presplit) = Dataset::read_split(&train, Some(&valid), Some(&test), &opts).unwrap();
        assert_eq!(d.texts, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(presplit, Some((3, 2)));

        let (d, presplit) = Dataset::read_split(&train, None, Some(&test), &opts).unwrap();
        assert_eq!((d.len(), presplit), (4, Some((3, 0))));

        let multi = DataOptions {
            multi_label: Some("|".into()),
            ..DataOptions::default()
        };
        let e = Dataset::read_split(&train, Some(&dir.path().join("missing.csv")), None, &multi)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing.csv"), "{e}");
    }

    #[test]
    fn split_is_seeded_and_complete() {
        let s = Split::new(100, [0.8, 0.1, 0.1], 42).unwrap();
        assert_eq!((s.train.len(), s.valid.len(), s.test.len()), (80, 10, 10));
        let mut all: Vec<usize> = s
            .train
            .iter()
            .chain(&s.valid)
            .chain(&s.test)
            .copied()
            .collect();
        all.sort();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(s, Split::new(100, [0.8, 0.1, 0.1], 42).unwrap());
        assert_ne!(s, Split::new(100, [0.8, 0.1, 0.1], 43).unwrap());
        assert!(Split::new(100, [0.8, 0.3, 0.1], 42).is_err());
    }
}

//! The write-ahead log of a live model: `DIR/NAME.wal`, append-only, one checksummed record per
//! acknowledged write.
//!
//! All integers and floats are little-endian.
//!
//! | offset | field | type |
//! |---|---|---|
//! | 0 | magic `WORDVECL` | 8 bytes |
//! | 8 | version (1) | u32 |
//! | 12 | dimensions `d` | u32 |
//! | 16 | start LSN: the last write the base this log follows already holds | u64 |
//! | 24 | records, back to back | |
//!
//! A record is `len: u32`, `sum: u64`, then `len` bytes of body: `lsn: u64`, `op: u8` (1 upsert,
//! 2 delete), `count: u32`, and `count` items; an upsert item is `word_len: u32`, the word
//! (UTF-8), `d` f32; a delete item is `word_len: u32` and the word. `sum` is xxh3-64 of the body
//! seeded with `len`, so a length that was torn or flipped fails the check too. (xxh3 is the hash
//! the crate already uses for its fingerprints; it detects the same torn writes and flipped bits
//! a CRC-32 does, with 64 bits instead of 32.)
//!
//! The header is written to a temporary file, synced and renamed into place, so a log that
//! exists has a whole header: a bad header is an error, never cut. Records are appended; a
//! process killed meanwhile leaves at most one torn record at the end. Replay reads record by
//! record and checks each length against [`crate::limits::MAX_WRITE_BYTES`] and against the
//! bytes left in the file *before* allocating; it stops at the first record that is short,
//! too long, fails its checksum, does not parse, or whose LSN does not follow the one before,
//! and truncates the file there (a warning names the file, the byte offset and how many bytes
//! were cut). Everything before that record was written whole, and every acknowledged write was
//! synced before it was acknowledged, so what is cut was never acknowledged.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::limits::{MAX_WRITE_BYTES, MAX_WRITE_WORDS};

/// The first eight bytes of a log.
pub const MAGIC: &[u8; 8] = b"WORDVECL";
/// The log version this code writes and reads.
pub const VERSION: u32 = 1;
/// Header length in bytes.
pub const HEADER_LEN: u64 = 24;
/// A record's frame before its body: length and checksum.
const FRAME: usize = 12;
/// The body's fixed part: lsn, op, count.
const BODY_HEAD: usize = 13;
const OP_UPSERT: u8 = 1;
const OP_DELETE: u8 = 2;

/// The longest body a record may have: a write's bytes plus each item's length field.
pub(crate) const MAX_BODY: usize = MAX_WRITE_BYTES + 4 * MAX_WRITE_WORDS + BODY_HEAD;

/// What one record does.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Words and their raw vectors, added or replacing the words' vectors.
    Upsert(Vec<(String, Vec<f32>)>),
    /// Words removed.
    Delete(Vec<String>),
}

/// One log record: a write and its log sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The log sequence number (1 for the first write ever; increasing by one a write).
    pub lsn: u64,
    /// The write.
    pub op: Op,
}

/// The framed bytes of `rec` (frame and body), as appended to the log.
pub(crate) fn encode(rec: &Record) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&rec.lsn.to_le_bytes());
    match &rec.op {
        Op::Upsert(items) => {
            body.push(OP_UPSERT);
            body.extend_from_slice(&(items.len() as u32).to_le_bytes());
            for (w, v) in items {
                body.extend_from_slice(&(w.len() as u32).to_le_bytes());
                body.extend_from_slice(w.as_bytes());
                body.extend_from_slice(bytemuck::cast_slice(v));
            }
        }
        Op::Delete(words) => {
            body.push(OP_DELETE);
            body.extend_from_slice(&(words.len() as u32).to_le_bytes());
            for w in words {
                body.extend_from_slice(&(w.len() as u32).to_le_bytes());
                body.extend_from_slice(w.as_bytes());
            }
        }
    }
    let mut out = Vec::with_capacity(FRAME + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn checksum(body: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(body, body.len() as u64)
}

/// A reader over a record body that checks every length against what is left.
struct Cursor<'a> {
    body: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> std::result::Result<&'a [u8], String> {
        let at = self.at;
        let end = at
            .checked_add(n)
            .filter(|&e| e <= self.body.len())
            .ok_or_else(|| format!("the record ends inside an item (needs {n} bytes at {at})"))?;
        self.at = end;
        Ok(&self.body[at..end])
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn word(&mut self) -> std::result::Result<String, String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| "a word is not UTF-8".to_owned())
    }
}

/// Reads a record body, every count and length checked against what is left of it.
fn decode(body: &[u8], dims: usize) -> std::result::Result<Record, String> {
    let mut c = Cursor { body, at: 0 };
    let lsn = u64::from_le_bytes(c.take(8)?.try_into().expect("8 bytes"));
    let op = c.take(1)?[0];
    let count = c.u32()? as usize;
    if count > MAX_WRITE_WORDS {
        return Err(format!(
            "{count} items, over the limit of {MAX_WRITE_WORDS}"
        ));
    }
    let op = match op {
        OP_UPSERT => {
            let mut items = Vec::with_capacity(count.min(body.len() / (4 + 4 * dims)));
            for _ in 0..count {
                let w = c.word()?;
                let v: Vec<f32> = c
                    .take(4 * dims)?
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect();
                items.push((w, v));
            }
            Op::Upsert(items)
        }
        OP_DELETE => {
            let mut words = Vec::with_capacity(count.min(body.len() / 4));
            for _ in 0..count {
                words.push(c.word()?);
            }
            Op::Delete(words)
        }
        other => return Err(format!("unknown operation {other}")),
    };
    if c.at != body.len() {
        return Err(format!("{} bytes after the last item", body.len() - c.at));
    }
    Ok(Record { lsn, op })
}

/// The header's bytes.
fn header(dims: usize, start_lsn: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN as usize);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&VERSION.to_le_bytes());
    h.extend_from_slice(&(dims as u32).to_le_bytes());
    h.extend_from_slice(&start_lsn.to_le_bytes());
    h
}

/// Syncs a folder, so that a file created or renamed in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("cannot sync the folder", dir, e))
}

/// Writes `bytes` to `path` atomically and durably: a temporary file beside it, synced, renamed
/// over `path`, and the folder synced.
pub(crate) fn replace_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::io::write_atomically(path, |w| w.write_all(bytes))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Where replay stopped early: the first bad record, cut off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// Byte offset of the first bad record: the log's new length.
    pub offset: u64,
    /// How many bytes were cut.
    pub bytes_cut: u64,
    /// What was wrong with the record.
    pub reason: String,
}

/// What a replay read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Replayed {
    /// The header's start LSN.
    pub start_lsn: u64,
    /// The last good record's LSN (the start LSN when there is none).
    pub last_lsn: u64,
    /// Good records.
    pub records: u64,
    /// The log's length after replay.
    pub bytes: u64,
    /// Where a torn or corrupt tail was cut, if one was.
    pub truncated: Option<Truncation>,
}

/// An open log, appended to by one writer at a time.
#[derive(Debug)]
pub(crate) struct Wal {
    file: File,
    path: PathBuf,
    /// Bytes in the file: where the next record goes.
    len: u64,
    /// The last record's LSN (the start LSN in an empty log).
    last_lsn: u64,
}

impl Wal {
    /// Creates (or replaces) the log at `path`, empty, durably.
    pub(crate) fn create(path: &Path, dims: usize, start_lsn: u64) -> Result<Wal> {
        Wal::create_with(path, dims, start_lsn, &[])
    }

    /// Creates (or replaces) the log at `path` holding `records` (LSNs after `start_lsn`,
    /// increasing), durably: the whole file is written and synced before it replaces the old.
    pub(crate) fn create_with(
        path: &Path,
        dims: usize,
        start_lsn: u64,
        records: &[Record],
    ) -> Result<Wal> {
        let mut bytes = header(dims, start_lsn);
        for r in records {
            bytes.extend_from_slice(&encode(r));
        }
        replace_durably(path, &bytes)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io("cannot open the log", path, e))?;
        Ok(Wal {
            file,
            path: path.to_owned(),
            len: bytes.len() as u64,
            last_lsn: records.last().map_or(start_lsn, |r| r.lsn),
        })
    }

    /// Opens the log at `path` (created with `start_lsn` when there is none), calls `apply` on
    /// each good record in order, and cuts a torn or corrupt tail.
    pub(crate) fn open(
        path: &Path,
        dims: usize,
        start_lsn: u64,
        apply: impl FnMut(Record) -> Result<()>,
    ) -> Result<(Wal, Replayed)> {
        if !path.exists() {
            let wal = Wal::create(path, dims, start_lsn)?;
            let r = Replayed {
                start_lsn,
                last_lsn: start_lsn,
                bytes: HEADER_LEN,
                ..Replayed::default()
            };
            return Ok((wal, r));
        }
        let replayed = replay(path, dims, apply)?;
        let file = OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| Error::io("cannot open the log", path, e))?;
        let wal = Wal {
            file,
            path: path.to_owned(),
            len: replayed.bytes,
            last_lsn: replayed.last_lsn,
        };
        Ok((wal, replayed))
    }

    /// The log's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes in the log.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The last record's LSN.
    pub(crate) fn last_lsn(&self) -> u64 {
        self.last_lsn
    }

    /// Appends a record (not synced: see [`Wal::sync_handle`]). A failed write is cut off again,
    /// so the log never holds a record that was not acknowledged and then a good one after it.
    pub(crate) fn append(&mut self, rec: &Record) -> Result<()> {
        debug_assert!(rec.lsn > self.last_lsn);
        let bytes = encode(rec);
        if let Err(e) = self.file.write_all(&bytes) {
            self.file
                .set_len(self.len)
                .map_err(|e| Error::io("cannot cut a failed write from the log", &self.path, e))?;
            return Err(Error::io("cannot append to the log", &self.path, e));
        }
        self.len += bytes.len() as u64;
        self.last_lsn = rec.lsn;
        Ok(())
    }

    /// A second handle on the file, to sync it without holding the writer.
    pub(crate) fn sync_handle(&self) -> Result<File> {
        self.file
            .try_clone()
            .map_err(|e| Error::io("cannot open the log", &self.path, e))
    }
}

/// Reads the header of the log at `path`: its start LSN, after checking magic, version and
/// dimensions.
fn read_header(r: &mut impl Read, path: &Path, dims: usize) -> Result<u64> {
    let mut h = [0u8; HEADER_LEN as usize];
    r.read_exact(&mut h)
        .map_err(|_| Error::format(path, None, 0, "the log is shorter than its 24-byte header"))?;
    if &h[..8] != MAGIC {
        return Err(Error::format(
            path,
            None,
            0,
            "not a wordvec log (bad magic)",
        ));
    }
    let version = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(Error::format(
            path,
            None,
            8,
            format!("log version {version}; this wordvec reads version {VERSION}"),
        ));
    }
    let d = u32::from_le_bytes(h[12..16].try_into().expect("4 bytes")) as usize;
    if d != dims {
        return Err(Error::format(
            path,
            None,
            12,
            format!("the log holds vectors of {d} dimensions, the model has {dims}"),
        ));
    }
    Ok(u64::from_le_bytes(h[16..24].try_into().expect("8 bytes")))
}

/// Reads one record at `offset` of a log of `file_len` bytes: `Ok(None)` at the end, `Err`
/// with the reason for a torn or corrupt one.
fn next_record(
    r: &mut impl Read,
    offset: u64,
    file_len: u64,
    dims: usize,
    prev_lsn: u64,
) -> std::result::Result<Option<(Record, u64)>, String> {
    let left = file_len - offset;
    if left == 0 {
        return Ok(None);
    }
    if left < FRAME as u64 {
        return Err(format!("a torn record: {left} bytes, less than its frame"));
    }
    let mut frame = [0u8; FRAME];
    r.read_exact(&mut frame).map_err(|e| e.to_string())?;
    let len = u32::from_le_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
    let sum = u64::from_le_bytes(frame[4..].try_into().expect("8 bytes"));
    if !(BODY_HEAD..=MAX_BODY).contains(&len) {
        return Err(format!("a record length of {len} bytes is out of range"));
    }
    if len as u64 > left - FRAME as u64 {
        return Err(format!(
            "a torn record: {len} bytes of body, {} left in the file",
            left - FRAME as u64
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    if checksum(&body) != sum {
        return Err("a record fails its checksum".to_owned());
    }
    let rec = decode(&body, dims)?;
    if rec.lsn <= prev_lsn {
        return Err(format!("record LSN {} does not follow {prev_lsn}", rec.lsn));
    }
    Ok(Some((rec, (FRAME + len) as u64)))
}

/// Replays the log at `path` (see the module documentation): `apply` gets each good record; a
/// bad tail is cut, with a warning.
pub(crate) fn replay(
    path: &Path,
    dims: usize,
    mut apply: impl FnMut(Record) -> Result<()>,
) -> Result<Replayed> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("cannot open the log", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat the log", path, e))?
        .len();
    let mut r = BufReader::with_capacity(1 << 20, &file);
    let start_lsn = read_header(&mut r, path, dims)?;
    let mut out = Replayed {
        start_lsn,
        last_lsn: start_lsn,
        bytes: HEADER_LEN,
        ..Replayed::default()
    };
    loop {
        crate::cancel::check()?;
        match next_record(&mut r, out.bytes, file_len, dims, out.last_lsn) {
            Ok(None) => break,
            Ok(Some((rec, n))) => {
                out.last_lsn = rec.lsn;
                out.records += 1;
                out.bytes += n;
                apply(rec)?;
            }
            Err(reason) => {
                cut(&file, path, out.bytes, file_len, &reason)?;
                out.truncated = Some(Truncation {
                    offset: out.bytes,
                    bytes_cut: file_len - out.bytes,
                    reason,
                });
                break;
            }
        }
    }
    Ok(out)
}

/// Cuts the log at `offset`, durably, and says so.
fn cut(file: &File, path: &Path, offset: u64, file_len: u64, reason: &str) -> Result<()> {
    tracing::warn!(
        path = %path.display(),
        offset,
        bytes_cut = file_len - offset,
        reason,
        "the log ends in a torn or corrupt record: cut at the last good record"
    );
    file.set_len(offset)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("cannot cut the torn tail of the log", path, e))
}

/// The records of the log at `path` from byte `offset` (a record boundary, just after the
/// record with LSN `lsn`) to its end: the writes a compaction carries into the new log. Nothing
/// is appended meanwhile, so a bad record here is an error, not a tail to cut.
pub(crate) fn records_from(path: &Path, dims: usize, offset: u64, lsn: u64) -> Result<Vec<Record>> {
    let mut file = File::open(path).map_err(|e| Error::io("cannot open the log", path, e))?;
    let file_len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat the log", path, e))?
        .len();
    read_header(&mut file, path, dims)?;
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| Error::io("cannot seek in the log", path, e))?;
    let mut r = BufReader::with_capacity(1 << 20, file);
    let (mut out, mut at, mut prev) = (Vec::new(), offset, lsn);
    loop {
        match next_record(&mut r, at, file_len, dims, prev) {
            Ok(None) => return Ok(out),
            Ok(Some((rec, n))) => {
                at += n;
                prev = rec.lsn;
                out.push(rec);
            }
            Err(reason) => return Err(Error::format(path, None, at, reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upsert(lsn: u64, words: &[&str], dims: usize) -> Record {
        Record {
            lsn,
            op: Op::Upsert(
                words
                    .iter()
                    .enumerate()
                    .map(|(i, w)| {
                        let v = (0..dims)
                            .map(|d| (i * dims + d) as f32 * 0.5 - 1.0)
                            .collect();
                        ((*w).to_owned(), v)
                    })
                    .collect(),
            ),
        }
    }

    fn delete(lsn: u64, words: &[&str]) -> Record {
        Record {
            lsn,
            op: Op::Delete(words.iter().map(|w| (*w).to_owned()).collect()),
        }
    }

    fn read_all(path: &Path, dims: usize) -> (Vec<Record>, Replayed) {
        let mut recs = Vec::new();
        let r = replay(path, dims, |rec| {
            recs.push(rec);
            Ok(())
        })
        .unwrap();
        (recs, r)
    }

    fn write_log(path: &Path, dims: usize, recs: &[Record]) {
        let mut wal = Wal::create(path, dims, 0).unwrap();
        for r in recs {
            wal.append(r).unwrap();
        }
        wal.sync_handle().unwrap().sync_all().unwrap();
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        let recs = vec![
            upsert(1, &["a", "b"], 3),
            delete(2, &["a", "zz"]),
            upsert(3, &["é", ""], 3),
            delete(4, &[]),
        ];
        write_log(&p, 3, &recs);
        let (back, r) = read_all(&p, 3);
        assert_eq!(back, recs);
        assert_eq!(r.last_lsn, 4);
        assert_eq!(r.records, 4);
        assert_eq!(r.truncated, None);
        assert_eq!(r.bytes, std::fs::metadata(&p).unwrap().len());
        // Opening goes on where the log ended.
        let (mut wal, _) = Wal::open(&p, 3, 0, |_| Ok(())).unwrap();
        assert_eq!(wal.last_lsn(), 4);
        wal.append(&delete(5, &["b"])).unwrap();
        assert_eq!(read_all(&p, 3).0.len(), 5);
        // Another dimension is refused, naming the file.
        let err = replay(&p, 4, |_| Ok(())).unwrap_err().to_string();
        assert!(
            err.contains("m.wal") && err.contains("3 dimensions"),
            "{err}"
        );
        let after_two = HEADER_LEN + (encode(&recs[0]).len() + encode(&recs[1]).len()) as u64;
        let tail = records_from(&p, 3, after_two, 2).unwrap();
        assert_eq!(tail, [recs[2].clone(), recs[3].clone(), delete(5, &["b"])]);
        assert!(records_from(&p, 3, after_two, 3).is_err());
    }

    #[test]
    fn torn_tail_is_cut_at_every_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        let recs = vec![upsert(1, &["a", "b"], 2), upsert(2, &["cc", "d"], 2)];
        write_log(&p, 2, &recs);
        let whole = std::fs::read(&p).unwrap();
        let good = HEADER_LEN as usize + encode(&recs[0]).len();
        for len in good + 1..whole.len() {
            std::fs::write(&p, &whole[..len]).unwrap();
            let (back, r) = read_all(&p, 2);
            assert_eq!(back, recs[..1], "cut at {len}");
            let t = r
                .truncated
                .clone()
                .unwrap_or_else(|| panic!("cut at {len}: {r:?}"));
            assert_eq!(
                (t.offset, t.bytes_cut),
                (good as u64, (len - good) as u64),
                "cut at {len}: {t:?}"
            );
            assert_eq!(std::fs::metadata(&p).unwrap().len(), good as u64);
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_in_a_record_cuts_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        let recs = vec![
            upsert(1, &["a"], 2),
            delete(2, &["a"]),
            upsert(3, &["b"], 2),
        ];
        write_log(&p, 2, &recs);
        let whole = std::fs::read(&p).unwrap();
        let start = HEADER_LEN as usize + encode(&recs[0]).len();
        let end = start + encode(&recs[1]).len();
        for byte in start..end {
            for bit in [0, 3, 7] {
                let mut bad = whole.clone();
                bad[byte] ^= 1 << bit;
                std::fs::write(&p, &bad).unwrap();
                let (back, r) = read_all(&p, 2);
                assert_eq!(back, recs[..1], "byte {byte} bit {bit}");
                assert_eq!(r.truncated.unwrap().offset, start as u64);
            }
        }
    }

    #[test]
    fn a_huge_length_is_refused_before_allocating() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        write_log(&p, 2, &[upsert(1, &["a"], 2)]);
        let mut bytes = std::fs::read(&p).unwrap();
        let good = bytes.len();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 64]);
        std::fs::write(&p, &bytes).unwrap();
        let (back, r) = read_all(&p, 2);
        assert_eq!(back.len(), 1);
        let t = r.truncated.unwrap();
        assert_eq!(t.offset, good as u64);
        assert!(t.reason.contains("out of range"), "{t:?}");
        // A record whose count promises more items than its body holds.
        let mut body = Vec::new();
        body.extend_from_slice(&2u64.to_le_bytes());
        body.push(OP_DELETE);
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&body, 2).unwrap_err().contains("over the limit"));
        body.truncate(9);
        body.extend_from_slice(&5u32.to_le_bytes());
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&body, 2)
            .unwrap_err()
            .contains("ends inside an item"));
    }

    #[test]
    fn a_bad_header_is_an_error_not_a_cut() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        std::fs::write(&p, b"WORDVECL\x01").unwrap();
        let err = replay(&p, 2, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("shorter than its 24-byte header"), "{err}");
        std::fs::write(&p, [0u8; 40]).unwrap();
        let err = replay(&p, 2, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("bad magic"), "{err}");
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 40);
    }

    #[test]
    fn lsns_must_increase() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.wal");
        let mut bytes = header(2, 5);
        bytes.extend(encode(&delete(6, &["a"])));
        bytes.extend(encode(&delete(6, &["b"])));
        std::fs::write(&p, &bytes).unwrap();
        let (back, r) = read_all(&p, 2);
        assert_eq!(back, [delete(6, &["a"])]);
        assert!(r.truncated.unwrap().reason.contains("does not follow 6"));
        assert_eq!(r.start_lsn, 5);
    }
}

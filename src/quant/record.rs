//! The record of a verified int8 copy, `VECTORS.i8.ok`: opening a copy checks every code against
//! its row once, writes this record, and later opens that find it matching skip the pass (and the
//! vectors' fingerprint), so the native format with its copy answers its first query in about the
//! time the int8 scan takes.
//!
//! | offset | field |
//! |---|---|
//! | 0 | magic `WVINT8OK` |
//! | 8 | version (1), u32; reserved u32 |
//! | 16 | fingerprint of the vectors the copy was checked against (16 ASCII hex digits) |
//! | 32 | digest (xxh3) of the copy's rows, dimensions, fingerprint, `lo` and `step` |
//! | 40 | digest of how the vectors were read (their format, their decoding options) |
//! | 48 | the vectors file: length, mtime (s, ns), ctime (s, ns), device, inode (7 u64) |
//! | 104 | the copy's file, the same seven fields |
//! | 160..192 | reserved |
//!
//! What the record proves: the copy file and the vectors file are the very files (same device,
//! inode, length, modification and change times to the nanosecond) that a full check found in
//! agreement, read the same way. Every file wordvec writes is renamed into place, which gives it
//! a new inode and new times, so a rewritten vectors file or copy never matches an old record.
//! A check is recorded only when both files last changed at least 3 s before it began: longer
//! than any file system's timestamp granularity, so an edit after the check always gets other
//! times (a file used within seconds of being written is checked on every open until then).
//! What it does not prove: an edit in place that keeps the length and restores both times (the
//! change time can only be set by resetting the clock), or a file system that does not keep
//! them. For such setups, or to check a copy on demand,
//! set `WORDVEC_INT8_VERIFY=always`: every open then runs the full check (and records again).
//!
//! Where the record cannot be written (a read-only folder, a full disk), every open runs the full
//! check, as before records existed; that is logged at debug level and is not an error. A record
//! that cannot be read, is of another version, or does not match is ignored the same way: the
//! price of a stale or damaged record is one full check, never a wrong answer.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Int8Rows;

/// The environment variable that forces the full check on every open (`always`).
pub const VERIFY_ENV: &str = "WORDVEC_INT8_VERIFY";

const HEADER: crate::bytes::Header = crate::bytes::Header {
    name: "int8 record",
    magic: b"WVINT8OK",
    version: Some((1, "int8 record version")),
    len: 192,
};

/// The record path of an int8 copy: `COPY.ok` (`VECTORS.i8.ok`).
pub fn record_path(copy: &Path) -> PathBuf {
    let mut s = copy.as_os_str().to_owned();
    s.push(".ok");
    PathBuf::from(s)
}

/// A file's identity as the file system reports it: length, modification and change times,
/// device and inode (where the platform has them; zeros elsewhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStamp([u64; 7]);

impl FileStamp {
    /// The stamp of `path` (following links).
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        Ok(Self::from_metadata(&std::fs::metadata(path)?))
    }

    #[cfg(unix)]
    fn from_metadata(m: &std::fs::Metadata) -> FileStamp {
        use std::os::unix::fs::MetadataExt;
        FileStamp([
            m.len(),
            m.mtime() as u64,
            m.mtime_nsec() as u64,
            m.ctime() as u64,
            m.ctime_nsec() as u64,
            m.dev(),
            m.ino(),
        ])
    }

    #[cfg(not(unix))]
    fn from_metadata(m: &std::fs::Metadata) -> FileStamp {
        let since = |t: std::io::Result<std::time::SystemTime>| {
            t.ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .unwrap_or_default()
        };
        let (mt, ct) = (since(m.modified()), since(m.created()));
        FileStamp([
            m.len(),
            mt.as_secs(),
            u64::from(mt.subsec_nanos()),
            ct.as_secs(),
            u64::from(ct.subsec_nanos()),
            0,
            0,
        ])
    }
}

/// The vectors an int8 copy is opened for, as [`Int8Rows::open_recorded`] binds them: the
/// stamp of their file (taken before and after reading it, and equal) and a digest of how they
/// were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VectorsFile {
    /// The vectors file's stamp.
    pub stamp: FileStamp,
    /// A digest of how the file was read (format, decoding options): the same file read
    /// otherwise may give other rows.
    pub reader: u64,
}

impl VectorsFile {
    /// `stamp`, read as `reader` says (any text that names the format and the options).
    pub fn new(stamp: FileStamp, reader: &str) -> Self {
        VectorsFile {
            stamp,
            reader: xxhash_rust::xxh3::xxh3_64(reader.as_bytes()),
        }
    }
}

/// What a record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    fingerprint: String,
    copy_digest: u64,
    vectors: VectorsFile,
    copy: FileStamp,
}

impl Record {
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = HEADER.writer();
        w.zeros(4)
            .fingerprint(&self.fingerprint)
            .u64(self.copy_digest)
            .u64(self.vectors.reader);
        for v in self.vectors.stamp.0.iter().chain(&self.copy.0) {
            w.u64(*v);
        }
        w.finish()
    }

    /// The record in `data`, or why it is not one.
    fn parse(data: &[u8], path: &Path) -> crate::error::Result<Record> {
        if data.len() != HEADER.len {
            return Err(crate::error::Error::format(
                path,
                None,
                0,
                format!("{} bytes, a record has {}", data.len(), HEADER.len),
            ));
        }
        let mut c = HEADER.open(data, path)?;
        c.u32("the reserved field")?;
        let fingerprint = c.fingerprint()?;
        let copy_digest = c.u64("the copy's digest")?;
        let reader = c.u64("the reader's digest")?;
        let mut stamps = [0u64; 14];
        for v in stamps.iter_mut() {
            *v = c.u64("the file stamps")?;
        }
        let stamp = |at: usize| FileStamp(stamps[at..at + 7].try_into().expect("seven fields"));
        Ok(Record {
            fingerprint,
            copy_digest,
            vectors: VectorsFile {
                stamp: stamp(0),
                reader,
            },
            copy: stamp(7),
        })
    }
}

/// Whether `WORDVEC_INT8_VERIFY=always` asks for the full check on every open.
fn forced() -> bool {
    std::env::var(VERIFY_ENV).is_ok_and(|v| v.eq_ignore_ascii_case("always"))
}

/// How long before a check both files must have last changed for the check to be recorded:
/// longer than the timestamp granularity of any file system (FAT's is 2 s, ext4's a clock tick),
/// so that an edit made after the check cannot leave the times the record holds.
const SETTLED: Duration = Duration::from_secs(3);

impl FileStamp {
    /// The later of the modification and change times, since the epoch (0 before it).
    fn changed(&self) -> Duration {
        let at = |s: u64, ns: u64| {
            Duration::from_secs(if (s as i64) < 0 { 0 } else { s })
                + Duration::from_nanos(ns.min(999_999_999))
        };
        at(self.0[1], self.0[2]).max(at(self.0[3], self.0[4]))
    }

    /// Whether the file last changed at least `settled` before `now`.
    fn settled_by(&self, now: SystemTime, settled: Duration) -> bool {
        now.duration_since(UNIX_EPOCH)
            .is_ok_and(|now| self.changed() + settled <= now)
    }
}

impl Int8Rows {
    /// [`Int8Rows::open`] for vectors read from a file: skips the check of every code (and the
    /// vectors' fingerprint) when the record beside the copy says that these very files were
    /// checked, and writes that record after a full check that passes, when both files last
    /// changed a few seconds before it (see the [module docs](self) for what the record
    /// proves).
    pub fn open_recorded<R: super::UnitRows + ?Sized>(
        path: &Path,
        emb: &R,
        vectors: &VectorsFile,
    ) -> crate::error::Result<Int8Rows> {
        Self::open_settled(path, emb, vectors, SETTLED)
    }

    /// [`Int8Rows::open_recorded`], recording files that last changed `settled` before the
    /// check.
    fn open_settled<R: super::UnitRows + ?Sized>(
        path: &Path,
        emb: &R,
        vectors: &VectorsFile,
        settled: Duration,
    ) -> crate::error::Result<Int8Rows> {
        let started = SystemTime::now();
        let stamp =
            FileStamp::of(path).map_err(|e| crate::error::Error::io("cannot stat", path, e));
        let rows = Self::map(path)?;
        // The stamp of the file mapped: taken before the map and equal after it.
        let copy = stamp?;
        let stable = FileStamp::of(path).is_ok_and(|s| s == copy);
        let record = Record {
            fingerprint: rows.fingerprint.clone(),
            copy_digest: rows.layout_digest(),
            vectors: *vectors,
            copy,
        };
        let at = record_path(path);
        if stable && rows.n == emb.len() && rows.dims == emb.dims() && !forced() {
            match read_small(&at, HEADER.len).map(|b| Record::parse(&b, &at)) {
                Ok(Ok(found)) if found == record => {
                    tracing::debug!(path = %path.display(), "the int8 copy's record matches: check skipped");
                    return Ok(rows);
                }
                Ok(Ok(_)) => {
                    tracing::debug!(path = %at.display(), "the int8 record is of other files: checking the copy")
                }
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "the int8 record is unreadable: checking the copy")
                }
                Err(_) => {}
            }
        }
        rows.check(emb, path)?;
        if stable && copy.settled_by(started, settled) && vectors.stamp.settled_by(started, settled)
        {
            let bytes = record.to_bytes();
            if let Err(e) =
                crate::io::write_atomically(&at, |w| std::io::Write::write_all(w, &bytes))
            {
                tracing::debug!(error = %e, "cannot record the int8 copy's check: every open checks it");
            }
        }
        Ok(rows)
    }

    /// A digest of everything of the copy but its codes: sizes, fingerprint, `lo`, `step`.
    fn layout_digest(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(&(self.n as u64).to_le_bytes());
        h.update(&(self.dims as u64).to_le_bytes());
        h.update(self.fingerprint.as_bytes());
        h.update(bytemuck::cast_slice(&self.lo));
        h.update(bytemuck::cast_slice(&self.step));
        h.digest()
    }
}

/// The first `limit + 1` bytes of `path` at most: enough to parse a record and to see that a
/// longer file is not one, without reading whatever a larger file (or a device) holds.
fn read_small(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(limit + 1);
    std::fs::File::open(path)?
        .take(limit as u64 + 1)
        .read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(all(test, feature = "index"))]
mod tests {
    use super::*;
    use crate::embeddings::Embeddings;

    #[test]
    fn a_record_reads_back_and_its_table_holds() {
        let r = Record {
            fingerprint: "0123456789abcdef".into(),
            copy_digest: 7,
            vectors: VectorsFile {
                stamp: FileStamp([1, 2, 3, 4, 5, 6, 7]),
                reader: 9,
            },
            copy: FileStamp([11, 12, 13, 14, 15, 16, 17]),
        };
        let b = r.to_bytes();
        let u64_at = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        assert_eq!(b.len(), 192);
        assert_eq!(&b[..8], b"WVINT8OK");
        assert_eq!(&b[16..32], b"0123456789abcdef");
        assert_eq!((u64_at(32), u64_at(40)), (7, 9));
        assert_eq!((u64_at(48), u64_at(96)), (1, 7));
        assert_eq!((u64_at(104), u64_at(152)), (11, 17));
        assert!(b[160..].iter().all(|&x| x == 0));
        let p = Path::new("v.i8.ok");
        assert_eq!(Record::parse(&b, p).unwrap(), r);
        assert!(Record::parse(&b[..100], p).is_err());
        let mut other = b.clone();
        other[0] = b'X';
        assert!(Record::parse(&other, p).is_err());
    }

    fn emb() -> Embeddings {
        let words: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let values: Vec<f32> = (0..50 * 8)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 13.0)
            .collect();
        Embeddings::from_vectors(&words, values, 8).unwrap()
    }

    #[test]
    fn the_first_open_records_and_a_changed_file_is_checked_again() {
        let dir = tempfile::tempdir().unwrap();
        let (vec_path, copy) = (dir.path().join("v.wvec"), dir.path().join("v.wvec.i8"));
        std::fs::write(&vec_path, b"stand-in for the vectors").unwrap();
        let e = emb();
        let good = Int8Rows::build(&e).unwrap();
        good.save(&copy).unwrap();
        let vectors = VectorsFile::new(FileStamp::of(&vec_path).unwrap(), "native");
        // Files written a moment ago: checked, not recorded (an edit could still keep their times).
        Int8Rows::open_recorded(&copy, &e, &vectors).unwrap();
        assert!(!record_path(&copy).exists());
        // Where the record cannot be written, the open still succeeds.
        std::fs::create_dir(record_path(&copy)).unwrap();
        Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap();
        std::fs::remove_dir(record_path(&copy)).unwrap();
        Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap();
        let rec = std::fs::read(record_path(&copy)).unwrap();
        assert_eq!(rec.len(), 192);

        // Codes that disagree with their rows, written (renamed) over the copy: the record is of
        // the old file, so the full check runs and refuses them.
        let mut bad = good.to_bytes();
        let last = bad.len() - 64 - 1;
        bad[last - 100] = bad[last - 100].wrapping_add(128);
        crate::io::write_atomically(&copy, |w| std::io::Write::write_all(w, &bad)).unwrap();
        let err = Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap_err();
        assert!(err.to_string().contains("disagrees with its row"), "{err}");

        // Read another way, the same files are checked again.
        good.save(&copy).unwrap();
        Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap();
        let other = VectorsFile::new(vectors.stamp, "word2vec");
        let before = std::fs::read(record_path(&copy)).unwrap();
        Int8Rows::open_settled(&copy, &e, &other, Duration::ZERO).unwrap();
        assert_ne!(std::fs::read(record_path(&copy)).unwrap(), before);
    }

    #[test]
    fn a_record_file_of_any_size_is_read_only_as_far_as_a_record_goes() {
        let dir = tempfile::tempdir().unwrap();
        let (vec_path, copy) = (dir.path().join("v.wvec"), dir.path().join("v.wvec.i8"));
        std::fs::write(&vec_path, b"stand-in").unwrap();
        let e = emb();
        Int8Rows::build(&e).unwrap().save(&copy).unwrap();
        let vectors = VectorsFile::new(FileStamp::of(&vec_path).unwrap(), "native");
        // A sparse 64 GiB file where the record goes: reading it whole would need 64 GiB.
        std::fs::File::create(record_path(&copy))
            .unwrap()
            .set_len(64 << 30)
            .unwrap();
        assert_eq!(read_small(&record_path(&copy), 192).unwrap().len(), 193);
        // Not a record: the copy is checked, and a record of 192 bytes replaces the file.
        Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap();
        assert_eq!(std::fs::metadata(record_path(&copy)).unwrap().len(), 192);
    }

    #[test]
    fn a_matching_record_skips_the_check_and_a_new_stamp_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let (vec_path, copy) = (dir.path().join("v.wvec"), dir.path().join("v.wvec.i8"));
        std::fs::write(&vec_path, b"stand-in").unwrap();
        let e = emb();
        Int8Rows::build(&e).unwrap().save(&copy).unwrap();
        let vectors = VectorsFile::new(FileStamp::of(&vec_path).unwrap(), "native");
        Int8Rows::open_settled(&copy, &e, &vectors, Duration::ZERO).unwrap();
        // Other rows of the same count and size: only the full check tells them apart, so a
        // matching record lets them through (what the record trusts: the files' identity).
        let words: Vec<String> = (0..50).map(|i| format!("w{i}")).collect();
        let other = Embeddings::from_vectors(&words, vec![1.0; 50 * 8], 8).unwrap();
        assert!(Int8Rows::open_settled(&copy, &other, &vectors, Duration::ZERO).is_ok());
        // Touching the vectors file (new times) invalidates the record.
        let touched = VectorsFile::new(FileStamp([0; 7]), "native");
        assert!(Int8Rows::open_settled(&copy, &other, &touched, Duration::ZERO).is_err());
    }
}

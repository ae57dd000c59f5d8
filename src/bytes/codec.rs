//! The fields of wordvec's binary files, read and written in one place.
//!
//! Two pieces, after finalfusion's chunk traits (a chunk is an identifier and a length, then
//! fields read and written by one codec):
//!
//! - [`Cursor`] reads little-endian integers, floats and byte runs from a byte slice, front to
//!   back (or from an offset it is moved to). Every error names the file, the field being read
//!   and its byte offset; a read past the end is a "truncated file" error, never a panic, and
//!   [`Cursor::count`] bounds a count read from the file before anything is sized by it.
//! - [`Header`] describes a fixed-size file header: 8 magic bytes, an optional `u32` version,
//!   then the format's fields at the offsets its table gives, zero-padded to the header's length.
//!   [`Header::open`] checks the length, the magic and the version and hands back a [`Cursor`]
//!   on the fields; [`Header::writer`] starts a [`Writer`] with the magic and version in place,
//!   which appends the fields in the table's order.
//!
//! Every value is little-endian, as wordvec's formats declare. fastText models and hnsw_rs dumps
//! are native-endian files, little-endian on the platforms wordvec is built for (x86-64,
//! AArch64), which is how their readers read them through this cursor.

use std::path::Path;

use crate::error::{Error, Result};

/// Reads the fields of a file held in memory, front to back, naming the file, the field and the
/// byte offset in every error.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `data`, the contents of `path`.
    pub(crate) fn new(data: &'a [u8], path: &'a Path) -> Self {
        Cursor { data, pos: 0, path }
    }

    /// The byte offset of the next read.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Moves the next read to byte `pos` (at most the end of the data).
    pub(crate) fn seek(&mut self, pos: usize) {
        self.pos = pos.min(self.data.len());
    }

    /// Bytes left after the next read's offset.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The file the data came from.
    pub(crate) fn path(&self) -> &'a Path {
        self.path
    }

    /// The bytes left, without moving.
    pub(crate) fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    /// An error in this file at byte `at` (inside `record` when there is one).
    pub(crate) fn err(&self, record: Option<u64>, at: usize, msg: impl Into<String>) -> Error {
        Error::format(self.path, record, at as u64, msg)
    }

    /// An error at the next read's offset.
    #[cfg_attr(not(feature = "index"), allow(dead_code))]
    pub(crate) fn bad(&self, record: Option<u64>, msg: impl Into<String>) -> Error {
        self.err(record, self.pos, msg)
    }

    /// The next `n` bytes, which hold `what`.
    pub(crate) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let rest = self.remaining();
        if rest < n {
            return Err(self.bad(
                None,
                format!("{what} needs {n} bytes but only {rest} remain: truncated file"),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// The next `N` bytes.
    pub(crate) fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        Ok(self.take(N, what)?.try_into().expect("N bytes taken"))
    }

    /// A `u8`.
    pub(crate) fn u8(&mut self, what: &str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    /// A little-endian `u32`.
    pub(crate) fn u32(&mut self, what: &str) -> Result<u32> {
        self.array(what).map(u32::from_le_bytes)
    }

    /// A little-endian `i32`.
    pub(crate) fn i32(&mut self, what: &str) -> Result<i32> {
        self.array(what).map(i32::from_le_bytes)
    }

    /// A little-endian `u64`.
    pub(crate) fn u64(&mut self, what: &str) -> Result<u64> {
        self.array(what).map(u64::from_le_bytes)
    }

    /// A little-endian `i64`.
    pub(crate) fn i64(&mut self, what: &str) -> Result<i64> {
        self.array(what).map(i64::from_le_bytes)
    }

    /// A little-endian `f32`.
    #[cfg_attr(not(feature = "index"), allow(dead_code))]
    pub(crate) fn f32(&mut self, what: &str) -> Result<f32> {
        self.array(what).map(f32::from_le_bytes)
    }

    /// A little-endian `f64`.
    pub(crate) fn f64(&mut self, what: &str) -> Result<f64> {
        self.array(what).map(f64::from_le_bytes)
    }

    /// A `u64` count that must be at most `max` (the metadata's figure, or what the bytes left
    /// can hold), so that nothing is sized by a larger one.
    #[cfg_attr(not(feature = "index"), allow(dead_code))]
    pub(crate) fn count(&mut self, what: &str, max: u64) -> Result<usize> {
        let at = self.pos;
        let n = self.u64(what)?;
        if n > max {
            return Err(self.err(
                None,
                at,
                format!("{what} is {n}, at most {max} is possible here"),
            ));
        }
        Ok(n as usize)
    }

    /// A fingerprint of vectors: 16 ASCII hex digits ([`Writer::fingerprint`]).
    pub(crate) fn fingerprint(&mut self) -> Result<String> {
        let at = self.pos;
        let b = self.take(16, "the fingerprint")?;
        std::str::from_utf8(b)
            .ok()
            .filter(|s| s.bytes().all(|c| c.is_ascii_hexdigit()))
            .map(str::to_owned)
            .ok_or_else(|| self.err(None, at, "fingerprint is not 16 hex digits"))
    }

    /// Checks that nothing follows the last record.
    #[cfg_attr(not(feature = "index"), allow(dead_code))]
    pub(crate) fn end(&self) -> Result<()> {
        match self.remaining() {
            0 => Ok(()),
            left => Err(self.bad(None, format!("{left} bytes after the last record"))),
        }
    }
}

/// A fixed-size file header: magic, version, fields (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    /// The kind of file, in messages ("native", "graph", ...).
    pub(crate) name: &'static str,
    /// The first eight bytes.
    pub(crate) magic: &'static [u8; 8],
    /// The version (a `u32` at byte 8) this code reads and writes, and how messages call it
    /// ("native format version"); `None` when the magic itself carries the version.
    pub(crate) version: Option<(u32, &'static str)>,
    /// The header's length in bytes (the table's fields, then zeros).
    pub(crate) len: usize,
}

impl Header {
    /// Checks that `data` (the contents of `path`) starts with this header: long enough, the
    /// magic, the version. The cursor is on the first field after them.
    pub(crate) fn open<'a>(&self, data: &'a [u8], path: &'a Path) -> Result<Cursor<'a>> {
        let (name, magic) = (self.name, String::from_utf8_lossy(self.magic));
        let mut c = Cursor::new(data, path);
        if data.len() < self.len {
            return Err(c.err(
                None,
                0,
                format!(
                    "{name} header needs {} bytes, the file has {}: truncated, or not a wordvec {name} file (no {magic} magic)",
                    self.len,
                    data.len()
                ),
            ));
        }
        if c.array::<8>("the magic")? != *self.magic {
            return Err(c.err(
                None,
                0,
                format!("not a wordvec {name} file (no {magic} magic)"),
            ));
        }
        if let Some((want, called)) = self.version {
            let got = c.u32("the version")?;
            if got != want {
                return Err(c.err(
                    None,
                    8,
                    format!("{called} {got}; this wordvec reads version {want}"),
                ));
            }
        }
        Ok(c)
    }

    /// A writer holding the magic and the version; [`Writer::finish`] pads it to the header's
    /// length.
    pub(crate) fn writer(&self) -> Writer {
        let mut w = Writer {
            buf: Vec::with_capacity(self.len),
            len: self.len,
        };
        w.bytes(self.magic);
        if let Some((version, _)) = self.version {
            w.u32(version);
        }
        w
    }
}

/// Appends little-endian fields to a buffer: the writing side of [`Cursor`].
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
    /// The length [`Writer::finish`] pads to (0: none).
    len: usize,
}

impl Writer {
    /// An empty writer for a section without magic.
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    /// Appends raw bytes.
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Appends a `u32`.
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a `u64`.
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends an `f64`.
    #[cfg_attr(not(feature = "index"), allow(dead_code))]
    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Appends a fingerprint as 16 bytes: its first 16, zero-padded.
    pub(crate) fn fingerprint(&mut self, fp: &str) -> &mut Self {
        let fp = fp.as_bytes();
        let n = fp.len().min(16);
        self.bytes(&fp[..n]).zeros(16 - n)
    }

    /// Appends `n` zero bytes (a reserved field).
    pub(crate) fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }

    /// Pads with zeros to the next multiple of `to`.
    pub(crate) fn align(&mut self, to: usize) -> &mut Self {
        self.buf.resize(self.buf.len().div_ceil(to) * to, 0);
        self
    }

    /// The bytes, zero-padded to the header's length.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        debug_assert!(
            self.buf.len() <= self.len || self.len == 0,
            "header overflow"
        );
        if self.buf.len() < self.len {
            self.buf.resize(self.len, 0);
        }
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST: Header = Header {
        name: "test",
        magic: b"WVTEST01",
        version: Some((3, "test version")),
        len: 32,
    };

    #[test]
    fn written_fields_read_back_at_their_offsets() {
        let mut w = TEST.writer();
        w.u32(7).u64(1 << 40).f64(-2.5);
        let b = w.finish();
        assert_eq!(b.len(), 32);
        assert_eq!(&b[..8], b"WVTEST01");
        assert_eq!(b[8..12], 3u32.to_le_bytes());
        assert_eq!(b[12..16], 7u32.to_le_bytes());
        assert_eq!(b[16..24], (1u64 << 40).to_le_bytes());
        assert_eq!(b[24..32], (-2.5f64).to_le_bytes());
        let mut c = TEST.open(&b, Path::new("t")).unwrap();
        assert_eq!(c.pos(), 12);
        assert_eq!(c.u32("a").unwrap(), 7);
        assert_eq!(c.u64("b").unwrap(), 1 << 40);
        assert_eq!(c.f64("c").unwrap(), -2.5);
        c.end().unwrap();
    }

    #[test]
    fn header_errors_name_file_field_and_offset() {
        let b = TEST.writer().finish();
        let open = |b: &[u8]| TEST.open(b, Path::new("f.bin")).unwrap_err().to_string();
        let e = open(&b[..20]);
        assert!(
            e.starts_with("f.bin: byte offset 0: test header needs 32 bytes, the file has 20"),
            "{e}"
        );
        let mut bad = b.clone();
        bad[0] = b'X';
        assert!(open(&bad).contains("not a wordvec test file (no WVTEST01 magic)"));
        let mut bad = b;
        bad[8] = 4;
        let e = open(&bad);
        assert!(
            e.contains("byte offset 8: test version 4; this wordvec reads version 3"),
            "{e}"
        );
    }

    #[test]
    fn reads_past_the_end_are_errors() {
        let data = [1u8, 0, 0, 0, 9];
        let mut c = Cursor::new(&data, Path::new("f"));
        assert_eq!(c.u32("a count").unwrap(), 1);
        let e = c.u32("the next count").unwrap_err().to_string();
        assert!(
            e.contains("byte offset 4: the next count needs 4 bytes but only 1 remain"),
            "{e}"
        );
        assert_eq!(c.pos(), 4, "a failed read does not move");
        assert!(c
            .end()
            .unwrap_err()
            .to_string()
            .contains("1 bytes after the last record"));
        let big = u64::MAX.to_le_bytes();
        let e = Cursor::new(&big, Path::new("f"))
            .count("a count", 10)
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("a count is 18446744073709551615, at most 10"),
            "{e}"
        );
        let mut fp = *b"0123456789abcdeg";
        let e = Cursor::new(&fp, Path::new("f")).fingerprint().unwrap_err();
        assert!(e.to_string().contains("fingerprint is not 16 hex digits"));
        fp[15] = b'f';
        assert_eq!(
            Cursor::new(&fp, Path::new("f")).fingerprint().unwrap(),
            "0123456789abcdef"
        );
    }
}

//! PostgreSQL's binary COPY format, for the three columns wordvec writes (key, vector, hash) and
//! the two it reads (key, vector): encoding rows into a buffer, and decoding a COPY stream.
//!
//! The layout (PostgreSQL's `COPY ... (FORMAT binary)`), every integer big-endian:
//!
//! | part | bytes |
//! |---|---|
//! | header | the 11-byte signature `PGCOPY\n\xff\r\n\0`, int32 flags (0), int32 extension length (0) |
//! | each row | int16 field count, then per field int32 length (-1 for NULL) and that many bytes |
//! | trailer | int16 -1 |
//!
//! A field's bytes are the type's binary send form: `text` its UTF-8 bytes, `bigint` 8 bytes,
//! pgvector's `vector` (`vector_send`) int16 dimensions, int16 unused (0), then each value as a
//! float4; `halfvec` the same with each value as an IEEE half-precision float2.
//!
//! Writing the rows ourselves rather than through a parameterised `INSERT` is what makes the
//! export fast: one COPY carries a batch of rows in one round trip, and the server parses no text.

use crate::error::{Error, Result};

/// The 11-byte signature that opens every binary COPY stream.
pub(crate) const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// How the vector column stores its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorType {
    /// pgvector's `vector`: float4 values.
    Vector,
    /// pgvector's `halfvec`: float2 values (half the bytes; about 3 significant digits).
    Halfvec,
}

impl VectorType {
    /// The SQL type name.
    pub fn sql_name(self) -> &'static str {
        match self {
            VectorType::Vector => "vector",
            VectorType::Halfvec => "halfvec",
        }
    }

    /// The operator class of a cosine index on this type.
    pub(crate) fn cosine_ops(self) -> &'static str {
        match self {
            VectorType::Vector => "vector_cosine_ops",
            VectorType::Halfvec => "halfvec_cosine_ops",
        }
    }

    /// Bytes per value in the binary form.
    pub(crate) fn value_bytes(self) -> usize {
        match self {
            VectorType::Vector => 4,
            VectorType::Halfvec => 2,
        }
    }

    /// Most dimensions an HNSW or IVFFlat index on this type takes (pgvector 0.8).
    pub(crate) fn max_index_dims(self) -> usize {
        match self {
            VectorType::Vector => 2_000,
            VectorType::Halfvec => 4_000,
        }
    }
}

/// Appends the COPY header to `out`.
pub(crate) fn header(out: &mut Vec<u8>) {
    out.extend_from_slice(SIGNATURE);
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
}

/// Appends the COPY trailer to `out`.
pub(crate) fn trailer(out: &mut Vec<u8>) {
    out.extend_from_slice(&(-1i16).to_be_bytes());
}

/// Appends one row of (key, vector, hash) to `out`. The caller has checked that the key and the
/// vector fit the column (see [`super::schema`]), so the lengths fit their int32 fields.
pub(crate) fn row(out: &mut Vec<u8>, key: &str, values: &[f32], ty: VectorType, hash: i64) {
    out.extend_from_slice(&3i16.to_be_bytes());
    out.extend_from_slice(&(key.len() as i32).to_be_bytes());
    out.extend_from_slice(key.as_bytes());
    let len = 4 + values.len() * ty.value_bytes();
    out.extend_from_slice(&(len as i32).to_be_bytes());
    out.extend_from_slice(&(values.len() as i16).to_be_bytes());
    out.extend_from_slice(&0i16.to_be_bytes());
    match ty {
        VectorType::Vector => values
            .iter()
            .for_each(|v| out.extend_from_slice(&v.to_be_bytes())),
        VectorType::Halfvec => values
            .iter()
            .for_each(|&v| out.extend_from_slice(&f32_to_f16(v).to_be_bytes())),
    }
    out.extend_from_slice(&8i32.to_be_bytes());
    out.extend_from_slice(&hash.to_be_bytes());
}

/// `v` rounded to the nearest IEEE half-precision value (ties to even), as pgvector's
/// `halfvec` input rounds it. Values past the half range (65504) become infinities: callers check
/// the range first ([`fits_f16`]), since pgvector refuses them.
pub(crate) fn f32_to_f16(v: f32) -> u16 {
    let x = v.to_bits();
    let sign = ((x >> 16) & 0x8000) as u16;
    let exp = ((x >> 23) & 0xff) as i32;
    let man = x & 0x7f_ffff;
    if exp == 0xff {
        // Infinity or NaN (a quiet NaN keeps a mantissa bit).
        return sign | 0x7c00 | if man != 0 { 0x200 } else { 0 };
    }
    let e = exp - 127 + 15;
    if e >= 0x1f {
        return sign | 0x7c00;
    }
    if e <= 0 {
        // Subnormal half (or zero): shift the mantissa, with its implicit bit, into place.
        if e < -10 {
            return sign;
        }
        let m = man | 0x80_0000;
        let shift = (14 - e) as u32;
        let half = m >> shift;
        let rest = m & ((1 << shift) - 1);
        let mid = 1 << (shift - 1);
        let round = rest > mid || (rest == mid && half & 1 == 1);
        return sign | (half + round as u32) as u16;
    }
    let half = ((e as u32) << 10) | (man >> 13);
    let rest = man & 0x1fff;
    let round = rest > 0x1000 || (rest == 0x1000 && half & 1 == 1);
    // A carry out of the mantissa moves into the exponent, which is the right result (up to
    // infinity).
    sign | (half + round as u32) as u16
}

/// The f32 value of the half-precision bits `h` (exact: every half is an f32).
pub(crate) fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, m) => {
            // Subnormal: normalise the mantissa.
            let lead = m.leading_zeros() - 21;
            let m = (m << lead) & 0x3ff;
            sign | ((127 - 15 + 1 - lead) << 23) | (m << 13)
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

/// Whether `v` is within half precision's finite range (it rounds to a finite half).
pub(crate) fn fits_f16(v: f32) -> bool {
    f32_to_f16(v) & 0x7c00 != 0x7c00
}

/// Reads a binary COPY stream of (key, vector) rows from a reader (the server's COPY OUT), row by
/// row into reused buffers, checking every length before it is read: a field's length from the
/// stream is capped ([`MAX_FIELD_BYTES`]) before anything is allocated for it. Errors name the
/// row and its byte offset in the stream.
pub(crate) struct Decoder<R> {
    src: R,
    pos: u64,
    /// What the stream is, for error messages ("table words").
    what: String,
}

/// Longest field the decoder accepts: a vector of [`crate::limits::MAX_DIMS`] float4 values and
/// its 4-byte header (a key is far shorter: PostgreSQL's btree index refuses keys past 2,704
/// bytes).
pub(crate) const MAX_FIELD_BYTES: usize = 4 + 4 * crate::limits::MAX_DIMS;

impl<R: std::io::Read> Decoder<R> {
    /// Checks the header and stands at the first row.
    pub(crate) fn new(src: R, what: impl Into<String>) -> Result<Self> {
        let mut d = Decoder {
            src,
            pos: 0,
            what: what.into(),
        };
        let mut sig = [0u8; 11];
        d.read(&mut sig, None)?;
        if &sig != SIGNATURE {
            return Err(d.error(None, "not a binary COPY stream (bad signature)"));
        }
        let _flags = d.int32(None)?;
        let ext = d.int32(None)?;
        let mut skip = vec![
            0u8;
            usize::try_from(ext)
                .unwrap_or(usize::MAX)
                .min(MAX_FIELD_BYTES)
        ];
        d.read(&mut skip, None)?;
        Ok(d)
    }

    /// Reads the next row's key and vector field into `key` and `vec`; false after the trailer.
    /// `row` is its number, for errors. A NULL key or vector is an error naming the row.
    pub(crate) fn next_row(
        &mut self,
        row: u64,
        key: &mut Vec<u8>,
        vec: &mut Vec<u8>,
    ) -> Result<bool> {
        let mut b = [0u8; 2];
        self.read(&mut b, Some(row))?;
        let fields = i16::from_be_bytes(b);
        if fields == -1 {
            return Ok(false);
        }
        if fields != 2 {
            return Err(self.error(Some(row), format!("{fields} fields, expected 2")));
        }
        if !self.field(row, key)? {
            return Err(self.error(Some(row), "NULL key"));
        }
        if !self.field(row, vec)? {
            let k = String::from_utf8_lossy(key);
            let m = format!("NULL vector for {:?}", crate::limits::echo(&k));
            return Err(self.error(Some(row), m));
        }
        Ok(true)
    }

    /// Reads one field into `out`; false for NULL.
    fn field(&mut self, row: u64, out: &mut Vec<u8>) -> Result<bool> {
        let len = self.int32(Some(row))?;
        if len == -1 {
            return Ok(false);
        }
        let Some(len) = usize::try_from(len).ok().filter(|&l| l <= MAX_FIELD_BYTES) else {
            let m = format!("field length {len} (at most {MAX_FIELD_BYTES})");
            return Err(self.error(Some(row), m));
        };
        out.resize(len, 0);
        self.read(out, Some(row))?;
        Ok(true)
    }

    fn int32(&mut self, row: Option<u64>) -> Result<i32> {
        let mut b = [0u8; 4];
        self.read(&mut b, row)?;
        Ok(i32::from_be_bytes(b))
    }

    fn read(&mut self, buf: &mut [u8], row: Option<u64>) -> Result<()> {
        self.src.read_exact(buf).map_err(|e| {
            let m = format!("reading {} bytes: {e}", buf.len());
            Error::format(&self.what, row, self.pos, m)
        })?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn error(&self, row: Option<u64>, message: impl Into<String>) -> Error {
        Error::format(&self.what, row, self.pos, message)
    }
}

/// Decodes one vector field (its binary send form) of `dims` values of type `ty` into `out`.
/// `key` names the row in errors.
pub(crate) fn decode_vector(
    field: &[u8],
    ty: VectorType,
    dims: usize,
    key: &str,
    out: &mut Vec<f32>,
) -> Result<()> {
    let bad = |m: String| Error::invalid(format!("vector of {:?}: {m}", crate::limits::echo(key)));
    if field.len() != 4 + dims * ty.value_bytes() {
        return Err(bad(format!(
            "{} bytes, expected {} for {dims} dimensions of {}",
            field.len(),
            4 + dims * ty.value_bytes(),
            ty.sql_name()
        )));
    }
    let d = i16::from_be_bytes([field[0], field[1]]) as i64;
    if d != dims as i64 {
        return Err(bad(format!(
            "{d} dimensions, the table's first row has {dims}"
        )));
    }
    match ty {
        VectorType::Vector => out.extend(
            field[4..]
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        ),
        VectorType::Halfvec => out.extend(
            field[4..]
                .chunks_exact(2)
                .map(|c| f16_to_f32(u16::from_be_bytes([c[0], c[1]]))),
        ),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_conversion_matches_ieee() {
        // (value, half bits): IEEE 754 binary16 encodings.
        let cases: [(f32, u16); 10] = [
            (0.0, 0x0000),
            (-0.0, 0x8000),
            (1.0, 0x3c00),
            (-2.0, 0xc000),
            (65504.0, 0x7bff),
            (0.333_251_95, 0x3555),
            (6.103_515_6e-5, 0x0400), // smallest normal
            (5.960_464_5e-8, 0x0001), // smallest subnormal
            (6.097_555e-5, 0x03ff),   // largest subnormal
            (f32::INFINITY, 0x7c00),
        ];
        for (v, h) in cases {
            assert_eq!(f32_to_f16(v), h, "{v}");
            assert_eq!(f16_to_f32(h).to_bits(), v.to_bits(), "{h:#x}");
        }
    }

    #[test]
    fn half_rounds_to_nearest_even_and_refuses_overflow() {
        // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to the even mantissa (1.0).
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00);
        // 1 + 3 * 2^-11 is halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even).
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02);
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3c01);
        assert!(fits_f16(65504.0) && fits_f16(65519.0));
        assert!(!fits_f16(65520.0) && !fits_f16(-1e6) && !fits_f16(f32::NAN));
        // Every half survives the round trip through f32.
        for h in 0..=u16::MAX {
            if h & 0x7c00 != 0x7c00 {
                assert_eq!(f32_to_f16(f16_to_f32(h)), h, "{h:#x}");
            }
        }
    }

    #[test]
    fn rows_decode_as_encoded() {
        let mut buf = Vec::new();
        header(&mut buf);
        for (i, ty) in [VectorType::Vector, VectorType::Halfvec]
            .into_iter()
            .enumerate()
        {
            row(&mut buf, &format!("w{i}"), &[1.5, -0.25, 3.0], ty, -7);
        }
        trailer(&mut buf);
        // The encoder writes a hash field the reader's (key, vector) rows do not have: patch the
        // field counts and cut the hashes out to get what `COPY (SELECT key, vec)` sends.
        let mut two = Vec::new();
        header(&mut two);
        let mut d = &buf[19..];
        while d.len() > 2 {
            two.extend_from_slice(&2i16.to_be_bytes());
            let klen = i32::from_be_bytes(d[2..6].try_into().unwrap()) as usize;
            let vlen = i32::from_be_bytes(d[6 + klen..10 + klen].try_into().unwrap()) as usize;
            two.extend_from_slice(&d[2..10 + klen + vlen]);
            assert_eq!(&d[10 + klen + vlen..14 + klen + vlen], &8i32.to_be_bytes());
            assert_eq!(
                i64::from_be_bytes(d[14 + klen + vlen..22 + klen + vlen].try_into().unwrap()),
                -7
            );
            d = &d[22 + klen + vlen..];
        }
        trailer(&mut two);
        let mut dec = Decoder::new(&two[..], "test").unwrap();
        let (mut k, mut v) = (Vec::new(), Vec::new());
        for (i, ty) in [VectorType::Vector, VectorType::Halfvec]
            .into_iter()
            .enumerate()
        {
            assert!(dec.next_row(i as u64, &mut k, &mut v).unwrap());
            assert_eq!(k, format!("w{i}").as_bytes());
            let mut out = Vec::new();
            decode_vector(&v, ty, 3, "w", &mut out).unwrap();
            assert_eq!(out, [1.5, -0.25, 3.0]);
            assert!(decode_vector(&v, ty, 4, "w", &mut out).is_err());
        }
        assert!(!dec.next_row(2, &mut k, &mut v).unwrap());
    }

    #[test]
    fn truncated_streams_are_errors_that_say_where() {
        let mut buf = Vec::new();
        header(&mut buf);
        buf.extend_from_slice(&2i16.to_be_bytes());
        buf.extend_from_slice(&1000i32.to_be_bytes());
        buf.extend_from_slice(b"abc");
        let mut dec = Decoder::new(&buf[..], "table t").unwrap();
        let (mut k, mut v) = (Vec::new(), Vec::new());
        let e = dec.next_row(0, &mut k, &mut v).unwrap_err().to_string();
        assert!(e.contains("table t: record 0, byte offset 25"), "{e}");
        assert!(e.contains("reading 1000 bytes"), "{e}");
        assert!(Decoder::new(&b"PGCOPY\n"[..], "t").is_err());
        // A length past any vector is refused before anything is allocated for it.
        let mut huge = Vec::new();
        header(&mut huge);
        huge.extend_from_slice(&2i16.to_be_bytes());
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        let mut dec = Decoder::new(&huge[..], "t").unwrap();
        let e = dec.next_row(0, &mut k, &mut v).unwrap_err().to_string();
        assert!(e.contains("field length 2147483647"), "{e}");
    }
}

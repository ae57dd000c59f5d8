//! Where the vectors live: a [`Storage`] hands out row `i` as `dims * 4` little-endian `f32`
//! bytes.
//!
//! Rows are bytes, not `&[f32]`, because a word2vec binary file puts a word of any length before
//! each vector: its rows start at arbitrary byte offsets and cannot be viewed as aligned floats
//! without copying the whole matrix. The SIMD kernels in `crate::simd` read unaligned rows at full
//! speed, so both layouts are scanned in place:
//! - [`DenseRows`]: rows back to back (the native format's aligned matrix, decoded text files);
//! - [`OffsetRows`]: rows at recorded offsets inside a word2vec binary file (memory-mapped,
//!   decompressed, or embedded).

use std::sync::Arc;

use crate::bytes::{Backing, Slice};

/// Row-addressable vector storage.
pub trait Storage: Send + Sync {
    /// Dimensions per row.
    fn dims(&self) -> usize;
    /// Number of rows.
    fn len(&self) -> usize;
    /// True when there are no rows.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Row `idx` as `dims() * 4` little-endian `f32` bytes. Panics when `idx >= len()`.
    fn row_bytes(&self, idx: usize) -> &[u8];

    /// Where row `idx` starts in the file it was read from (for error messages), when it is
    /// read in place from one.
    fn row_offset(&self, _idx: usize) -> Option<u64> {
        None
    }

    /// Direct access to the rows for hot loops (no virtual call per row), when the storage
    /// has one of the two layouts [`Rows`] knows.
    fn rows(&self) -> Option<Rows<'_>> {
        None
    }

    /// Row `idx` decoded into a vector.
    fn row(&self, idx: usize) -> Vec<f32> {
        decode_row(self.row_bytes(idx))
    }
}

/// The rows of a storage, for loops that read millions of them (graph searches): a match on
/// two layouts instead of a virtual call per row.
#[derive(Clone, Copy)]
pub enum Rows<'a> {
    /// Back to back, `width` bytes each.
    Dense {
        /// All rows.
        bytes: &'a [u8],
        /// Bytes per row.
        width: usize,
    },
    /// At recorded offsets.
    Offsets {
        /// The buffer.
        data: &'a [u8],
        /// Where each row starts.
        offsets: &'a [usize],
        /// Bytes per row.
        width: usize,
    },
    /// Any other storage.
    Other(&'a dyn Storage),
}

impl<'a> Rows<'a> {
    /// The rows of `storage`.
    pub fn of(storage: &'a dyn Storage) -> Rows<'a> {
        storage.rows().unwrap_or(Rows::Other(storage))
    }

    /// Row `i` (panics past the end, as [`Storage::row_bytes`]).
    #[inline(always)]
    pub fn row(&self, i: usize) -> &'a [u8] {
        match *self {
            Rows::Dense { bytes, width } => &bytes[i * width..(i + 1) * width],
            Rows::Offsets {
                data,
                offsets,
                width,
            } => {
                let o = offsets[i];
                &data[o..o + width]
            }
            Rows::Other(s) => s.row_bytes(i),
        }
    }
}

/// Decodes little-endian `f32` bytes.
pub fn decode_row(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Rows stored back to back.
#[derive(Debug, Clone)]
pub struct DenseRows {
    data: Slice<u8>,
    dims: usize,
    len: usize,
}

impl DenseRows {
    /// Wraps `data`, which must hold exactly `len * dims` floats.
    pub(crate) fn new(data: Slice<u8>, dims: usize, len: usize) -> Option<Self> {
        (len.checked_mul(dims)?.checked_mul(4)? == data.len()).then_some(DenseRows {
            data,
            dims,
            len,
        })
    }

    /// Rows from owned floats (`values.len()` must be `len * dims`).
    pub fn from_f32(values: Vec<f32>, dims: usize) -> Option<Self> {
        if dims == 0 || !values.len().is_multiple_of(dims) {
            return None;
        }
        let len = values.len() / dims;
        let n_bytes = values.len() * 4;
        // The floats themselves become the backing: no copy of the matrix. Their bytes are the
        // little-endian rows the readers expect (the crate builds for little-endian targets only).
        let data = Slice::shared(Arc::new(Backing::Floats(values)), 0, n_bytes)?;
        DenseRows::new(data, dims, len)
    }

    /// All rows as one byte slice.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }
}

impl Storage for DenseRows {
    fn dims(&self) -> usize {
        self.dims
    }
    fn len(&self) -> usize {
        self.len
    }
    fn row_bytes(&self, idx: usize) -> &[u8] {
        let w = self.dims * 4;
        &self.data[idx * w..(idx + 1) * w]
    }
    fn rows(&self) -> Option<Rows<'_>> {
        Some(Rows::Dense {
            bytes: &self.data,
            width: self.dims * 4,
        })
    }
    fn row_offset(&self, idx: usize) -> Option<u64> {
        match &self.data {
            Slice::Shared { offset, .. } => Some((offset + idx * self.dims * 4) as u64),
            Slice::Owned(_) => None,
        }
    }
}

/// Rows at recorded byte offsets of a shared buffer (a word2vec binary file).
#[derive(Debug, Clone)]
pub struct OffsetRows {
    data: Arc<Backing>,
    offsets: Vec<usize>,
    dims: usize,
}

impl OffsetRows {
    /// Wraps `data` with one offset per row; every `offset + dims * 4` must be in bounds.
    pub(crate) fn new(data: Arc<Backing>, offsets: Vec<usize>, dims: usize) -> Option<Self> {
        let len = (*data).as_ref().len();
        let w = dims.checked_mul(4)?;
        offsets
            .iter()
            .all(|&o| o.checked_add(w).is_some_and(|end| end <= len))
            .then_some(OffsetRows {
                data,
                offsets,
                dims,
            })
    }
}

impl Storage for OffsetRows {
    fn dims(&self) -> usize {
        self.dims
    }
    fn len(&self) -> usize {
        self.offsets.len()
    }
    fn row_bytes(&self, idx: usize) -> &[u8] {
        let o = self.offsets[idx];
        &(*self.data).as_ref()[o..o + self.dims * 4]
    }
    fn row_offset(&self, idx: usize) -> Option<u64> {
        Some(self.offsets[idx] as u64)
    }
    fn rows(&self) -> Option<Rows<'_>> {
        Some(Rows::Offsets {
            data: (*self.data).as_ref(),
            offsets: &self.offsets,
            width: self.dims * 4,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_offset_rows_agree() {
        let dense = DenseRows::from_f32(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
        assert_eq!(dense.len(), 2);
        assert_eq!(dense.row(1), vec![4.0, 5.0, 6.0]);
        // Same rows behind a one-byte and a three-byte "word".
        let mut buf = vec![b'x'];
        buf.extend(dense.row_bytes(0));
        buf.extend(b"yyy");
        buf.extend(dense.row_bytes(1));
        let rows = OffsetRows::new(Arc::new(Backing::Owned(buf)), vec![1, 16], 3).unwrap();
        assert_eq!(rows.row(0), dense.row(0));
        assert_eq!(rows.row(1), dense.row(1));
    }

    #[test]
    fn constructors_check_bounds() {
        assert!(DenseRows::from_f32(vec![1.0; 5], 2).is_none());
        assert!(DenseRows::from_f32(vec![], 0).is_none());
        let b = Arc::new(Backing::Owned(vec![0; 10]));
        assert!(OffsetRows::new(b.clone(), vec![2], 2).is_some());
        assert!(OffsetRows::new(b.clone(), vec![3], 2).is_none());
        assert!(OffsetRows::new(b, vec![usize::MAX], 2).is_none());
    }
}

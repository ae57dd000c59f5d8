//! Byte buffers that may be a memory map, an owned vector or static data, and typed views into
//! them.
//!
//! The vocabulary and the matrix of a loaded file are views into one [`Backing`]: a memory map for
//! files on disk (nothing is copied, the page cache is the storage), an owned buffer for data that
//! had to be decoded first (gzip, text), or `&'static` bytes for the embedded default model. Views
//! are [`Slice`]s: either owned `Vec<T>`s or a typed window on a shared backing, so the same vocabulary
//! and storage code serves both.
//!
//! The fields of the binary files are read and written by one codec, [`codec`]: a cursor whose
//! errors name the file, the field and the byte offset, and the fixed headers (magic, version,
//! fields) of the native, graph, int8 and classifier files.

use std::sync::Arc;

use bytemuck::Pod;
use memmap2::Mmap;

mod codec;
pub(crate) use codec::{Cursor, Header, Writer};

/// The bytes behind a loaded set of embeddings.
#[derive(Debug)]
pub(crate) enum Backing {
    /// A read-only memory map of a file.
    Mmap(Mmap),
    /// Bytes decoded into memory (decompressed gzip, for example).
    Owned(Vec<u8>),
    /// Bytes compiled into the binary.
    Static(&'static [u8]),
    /// Floats computed in memory (trained or averaged vectors), viewed as their bytes: owning
    /// them as `f32` spares a copy of the whole matrix into a byte buffer.
    Floats(Vec<f32>),
}

impl AsRef<[u8]> for Backing {
    fn as_ref(&self) -> &[u8] {
        match self {
            Backing::Mmap(m) => m,
            Backing::Owned(v) => v,
            Backing::Static(s) => s,
            Backing::Floats(v) => bytemuck::cast_slice(v),
        }
    }
}

/// A read-only slice of plain values: owned, or a window on a shared [`Backing`].
#[derive(Debug, Clone)]
pub(crate) enum Slice<T: Pod> {
    /// Values owned by this slice.
    Owned(Arc<[T]>),
    /// `len` values starting at byte `offset` of `backing`; alignment and bounds were checked when
    /// the slice was made, so [`AsRef::as_ref`] cannot fail.
    Shared {
        /// The buffer.
        backing: Arc<Backing>,
        /// Byte offset of the first value.
        offset: usize,
        /// Number of values.
        len: usize,
    },
}

impl<T: Pod> Slice<T> {
    /// A view of `len` values of type `T` at byte `offset` of `backing`, or `None` when that range
    /// is out of bounds or not aligned for `T`.
    pub(crate) fn shared(backing: Arc<Backing>, offset: usize, len: usize) -> Option<Self> {
        let bytes = len.checked_mul(std::mem::size_of::<T>())?;
        let end = offset.checked_add(bytes)?;
        let data: &[u8] = (*backing).as_ref();
        let window = data.get(offset..end)?;
        bytemuck::try_cast_slice::<u8, T>(window).ok()?;
        Some(Slice::Shared {
            backing,
            offset,
            len,
        })
    }

    /// Number of values.
    pub(crate) fn len(&self) -> usize {
        match self {
            Slice::Owned(v) => v.len(),
            Slice::Shared { len, .. } => *len,
        }
    }
}

impl<T: Pod> From<Vec<T>> for Slice<T> {
    fn from(v: Vec<T>) -> Self {
        Slice::Owned(v.into())
    }
}

impl<T: Pod> AsRef<[T]> for Slice<T> {
    fn as_ref(&self) -> &[T] {
        match self {
            Slice::Owned(v) => v,
            Slice::Shared {
                backing,
                offset,
                len,
            } => {
                let data: &[u8] = (**backing).as_ref();
                // Checked in `Slice::shared`: in bounds and aligned.
                bytemuck::cast_slice(&data[*offset..*offset + *len * std::mem::size_of::<T>()])
            }
        }
    }
}

impl<T: Pod> std::ops::Deref for Slice<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_checks_bounds_and_alignment() {
        let backing = Arc::new(Backing::Owned(vec![0u8; 64]));
        assert!(Slice::<u8>::shared(backing.clone(), 60, 4).is_some());
        assert!(Slice::<u8>::shared(backing.clone(), 61, 4).is_none());
        assert!(Slice::<u32>::shared(backing.clone(), 0, 16).is_some());
        assert!(Slice::<u32>::shared(backing.clone(), 0, 17).is_none());
        assert!(Slice::<u32>::shared(backing, usize::MAX - 1, 2).is_none());
    }

    #[test]
    fn owned_and_shared_read_the_same() {
        let values: Vec<u32> = (0..8).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let shared = Slice::<u32>::shared(Arc::new(Backing::Owned(bytes)), 0, 8);
        // A Vec<u8> is not guaranteed to be 4-aligned; when it is, both views agree.
        if let Some(shared) = shared {
            assert_eq!(&*shared, &values[..]);
        }
        assert_eq!(&*Slice::from(values.clone()), &values[..]);
    }
}

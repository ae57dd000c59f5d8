//! What an index file says about itself, and the checks made before hnsw_rs sees its files.
//!
//! An index `NAME` is three files: `NAME` (this metadata, JSON), `NAME.hnsw.graph` and
//! `NAME.hnsw.data` (hnsw_rs's dump). The metadata records a fingerprint of the vectors the index
//! was built from, and the size and xxh3 hash of both hnsw_rs files. hnsw_rs panics or exits the
//! process on malformed files, so they are verified against these hashes before it reads them:
//! a corrupt, truncated or mismatched pair is a clear error instead.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};

/// Format tag of the metadata.
pub const FORMAT: &str = "wordvec-hnsw-1";

/// The persisted description of an index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexMeta {
    /// Always [`FORMAT`].
    pub format: String,
    /// Fingerprint of the vectors (see [`Embeddings::fingerprint`]).
    pub fingerprint: String,
    /// Words in the vectors file.
    pub vocab_len: usize,
    /// Rows indexed (the first `indexed` words).
    pub indexed: usize,
    /// Dimensions.
    pub dims: usize,
    /// Links per node (hnsw_rs's max_nb_connection).
    pub m: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Default candidate list size while searching.
    pub ef_search: usize,
    /// Seconds the build took.
    pub build_seconds: f64,
    /// Size and xxh3 of NAME.hnsw.graph.
    pub graph: FileCheck,
    /// Size and xxh3 of NAME.hnsw.data.
    pub data: FileCheck,
}

/// A file's length and hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCheck {
    /// Bytes.
    pub bytes: u64,
    /// xxh3-64, hex.
    pub xxh3: String,
}

/// The two hnsw_rs files of index `path`.
pub fn hnsw_files(path: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".hnsw.graph"), with(".hnsw.data"))
}

/// Hashes a file.
pub fn check_file(path: &Path) -> Result<FileCheck> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok(FileCheck {
        bytes,
        xxh3: format!("{:016x}", h.digest()),
    })
}

/// Reads and checks an index's metadata and files against `emb` (`None`: files only).
pub fn load_and_verify(path: &Path, emb: Option<&Embeddings>) -> Result<IndexMeta> {
    let text = std::fs::read(path).map_err(|e| Error::io("cannot read", path, e))?;
    let meta: IndexMeta = serde_json::from_slice(&text)
        .map_err(|e| Error::format(path, None, 0, format!("not a wordvec index ({e})")))?;
    if meta.format != FORMAT {
        return Err(Error::format(
            path,
            None,
            0,
            format!(
                "index format {:?}, this wordvec reads {FORMAT:?}",
                meta.format
            ),
        ));
    }
    // The numbers size what hnsw_rs allocates: bounded before anything is read.
    if meta.indexed > meta.vocab_len
        || meta.dims == 0
        || meta.dims > crate::limits::MAX_DIMS
        || !(2..=255).contains(&meta.m)
        || meta.ef_search == 0
        || meta.ef_search > crate::limits::MAX_EF
    {
        return Err(Error::format(
            path,
            None,
            0,
            format!(
                "impossible index parameters: {} of {} words indexed, {} dims, M {}, ef {}",
                meta.indexed, meta.vocab_len, meta.dims, meta.m, meta.ef_search
            ),
        ));
    }
    let (graph, data) = hnsw_files(path);
    for (file, want) in [(&graph, &meta.graph), (&data, &meta.data)] {
        let got = check_file(file)?;
        if got != *want {
            return Err(Error::format(
                file,
                None,
                0,
                format!(
                    "{} bytes with hash {}, the index metadata expects {} bytes with hash {}: the file is corrupt, truncated or from another build",
                    got.bytes, got.xxh3, want.bytes, want.xxh3
                ),
            ));
        }
    }
    if let Some(emb) = emb {
        let fp = emb.fingerprint();
        if fp != meta.fingerprint || emb.len() != meta.vocab_len || emb.dims() != meta.dims {
            return Err(Error::invalid(format!(
                "index {} was built from other vectors ({} words x {} dims, fingerprint {}) than these ({} words x {} dims, fingerprint {fp}); rebuild it with `wordvec index build`",
                path.display(),
                meta.vocab_len,
                meta.dims,
                meta.fingerprint,
                emb.len(),
                emb.dims()
            )));
        }
    }
    Ok(meta)
}

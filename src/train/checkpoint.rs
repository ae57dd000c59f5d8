//! Training checkpoints: everything needed to continue a run after a completed epoch.
//!
//! Layout: magic `WVCKPT01`, a little-endian `u64` length, that many bytes of JSON (the
//! configuration, the epochs done, the vocabulary with counts), then the input and output
//! matrices as little-endian `f32`. Written atomically, so a run killed while writing keeps the
//! previous checkpoint.

use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::vocab::TrainVocab;
use crate::train::TrainConfig;

const MAGIC: &[u8; 8] = b"WVCKPT01";

#[derive(Serialize, Deserialize)]
struct Header {
    config: TrainConfig,
    epochs_done: usize,
    words: Vec<String>,
    counts: Vec<u64>,
}

/// A loaded checkpoint.
pub(crate) struct Checkpoint {
    /// The settings of the run that wrote it.
    pub config: TrainConfig,
    /// Epochs finished.
    pub epochs_done: usize,
    /// The training vocabulary (words and counts, in row order).
    pub vocab: TrainVocab,
    /// Input vectors.
    pub syn0: Vec<f32>,
    /// Output vectors.
    pub syn1: Vec<f32>,
}

/// Writes a checkpoint.
pub(crate) fn save(
    path: &Path,
    config: &TrainConfig,
    epochs_done: usize,
    vocab: &TrainVocab,
    syn0: &[f32],
    syn1: &[f32],
) -> Result<()> {
    let header = Header {
        config: config.clone(),
        epochs_done,
        words: vocab.words().to_vec(),
        counts: vocab.counts().to_vec(),
    };
    let json = serde_json::to_vec(&header)
        .map_err(|e| Error::internal(format!("cannot encode checkpoint: {e}")))?;
    crate::io::write_atomically(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        w.write_all(bytemuck::cast_slice(syn0))?;
        w.write_all(bytemuck::cast_slice(syn1))
    })
}

/// Reads a checkpoint, checking that its matrices match its vocabulary and dimensions.
pub(crate) fn load(path: &Path) -> Result<Checkpoint> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io("cannot read", path, e))?;
    let bad = |offset: usize, msg: String| Error::format(path, None, offset as u64, msg);
    if bytes.len() < 16 || &bytes[..8] != MAGIC {
        return Err(bad(0, "not a wordvec training checkpoint".into()));
    }
    let json_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")) as usize;
    let json = bytes
        .get(16..16usize.saturating_add(json_len))
        .ok_or_else(|| bad(8, "checkpoint header runs past the end of the file".into()))?;
    let h: Header =
        serde_json::from_slice(json).map_err(|e| bad(16, format!("checkpoint header: {e}")))?;
    if h.words.len() != h.counts.len() {
        return Err(bad(
            16,
            "checkpoint vocabulary and counts differ in length".into(),
        ));
    }
    let floats = h.words.len() * h.config.dims;
    // A subword model's input matrix has its n-gram buckets' rows after the words'.
    let in_floats = h
        .config
        .input_rows(h.words.len())
        .saturating_mul(h.config.dims);
    let body = &bytes[16 + json_len..];
    if Some(body.len()) != in_floats.checked_add(floats).and_then(|f| f.checked_mul(4)) {
        return Err(bad(
            16 + json_len,
            format!(
                "checkpoint holds {} bytes of vectors, {} input rows ({} words) x {} dims need {}",
                body.len(),
                h.config.input_rows(h.words.len()),
                h.words.len(),
                h.config.dims,
                4 * (in_floats + floats)
            ),
        ));
    }
    let read = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let (syn0, syn1) = (read(&body[..in_floats * 4]), read(&body[in_floats * 4..]));
    let vocab = TrainVocab::from_sorted(h.words.into_iter().zip(h.counts))?;
    Ok(Checkpoint {
        config: h.config,
        epochs_done: h.epochs_done,
        vocab,
        syn0,
        syn1,
    })
}

//! Writes to a served model: `Embeddings/Upsert`, `Embeddings/Delete` and `Admin/Compact`, and
//! the compaction that follows writes in the background.
//!
//! A write goes to the model's [`LiveModel`] (a model served with `--wal-dir`), which checks the
//! batch whole (words, dimensions, finite values, [`crate::limits::MAX_WRITE_WORDS`] and
//! [`crate::limits::MAX_WRITE_BYTES`]; the request's bytes were already charged to the server's
//! byte budget and capped at `--max-message-bytes` before it decoded), logs it, and answers once
//! the log is synced. Writes are refused whole, before anything is written:
//!
//! - on a server without a bearer token (`--auth-token-file`): FAILED_PRECONDITION, as anyone
//!   could otherwise change the vectors (with a token, the auth layer has already refused a
//!   request without it: UNAUTHENTICATED);
//! - on a model without a log: FAILED_PRECONDITION.
//!
//! A write runs on a blocking thread (it waits for the disk); a client whose deadline passes
//! while it waits gets DEADLINE_EXCEEDED, and its write may or may not be applied, but whole.
//!
//! **Automatic compaction.** After a write, when a model's delta rows and tombstones pass the
//! configured share of its base rows (`--compact-at`, [`super::ServeConfig::compact_share`]),
//! the model is compacted on a blocking thread, one compaction per model at a time; writes and
//! queries go on meanwhile.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tonic::Status;

use super::config::Limits;
use super::handlers::{word_limit, Named};
use super::proto;
use crate::live::{Ack, LiveModel};

/// What the write handlers need beyond the limits: whether the server checks a token, and when
/// to compact.
#[derive(Clone)]
pub(crate) struct WriteSettings {
    /// True when the auth layer checks a bearer token.
    pub auth: bool,
    /// The share of base rows past which a model is compacted; 0: never.
    pub compact_at: f64,
    compacting: Arc<Mutex<HashSet<String>>>,
}

impl WriteSettings {
    /// Writes allowed when `auth`, compacted past `compact_at`.
    pub(crate) fn new(auth: bool, compact_at: f64) -> Self {
        WriteSettings {
            auth,
            compact_at,
            compacting: Arc::default(),
        }
    }

    /// Refuses a write on a server without a token.
    pub(super) fn check_auth(&self, what: &str) -> Result<(), Status> {
        if self.auth {
            Ok(())
        } else {
            Err(super::status::writes_need_token(what))
        }
    }

    /// Starts a compaction of `model` in the background when its delta is past the share and
    /// none of it is running.
    pub(super) fn maybe_compact(&self, model: &Arc<LiveModel>) {
        if self.compact_at <= 0.0 || model.stats().delta_share() < self.compact_at {
            return;
        }
        let name = model.name().to_owned();
        if !lock(&self.compacting).insert(name.clone()) {
            return;
        }
        let (model, compacting) = (model.clone(), self.compacting.clone());
        tokio::task::spawn_blocking(move || {
            match model.compact() {
                Ok(c) => {
                    tracing::info!(model = %name, lsn = c.lsn, rows = c.rows, seconds = c.seconds, "compacted")
                }
                Err(e) => tracing::error!(model = %name, error = %e, "compaction failed"),
            }
            lock(&compacting).remove(&name);
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Named for proto::UpsertRequest {
    fn model(&self) -> &str {
        &self.model
    }
}

impl Named for proto::DeleteRequest {
    fn model(&self) -> &str {
        &self.model
    }
}

/// The words and vectors of an upsert, each word within `--max-word-bytes` and with a vector
/// (the library checks the rest).
pub(super) fn upsert_items(
    r: proto::UpsertRequest,
    limits: &Limits,
) -> Result<Vec<(String, Vec<f32>)>, Status> {
    word_limit(r.words.iter().map(|w| w.word.as_str()), limits)?;
    r.words
        .into_iter()
        .map(|w| match w.vector {
            Some(v) => Ok((w.word, v.values)),
            None => Err(Status::invalid_argument(format!(
                "the word {:?} has no vector",
                crate::limits::echo(&w.word)
            ))),
        })
        .collect()
}

/// The words of a delete, each within `--max-word-bytes`.
pub(super) fn delete_words(
    r: proto::DeleteRequest,
    limits: &Limits,
) -> Result<Vec<String>, Status> {
    word_limit(r.words.iter().map(String::as_str), limits)?;
    Ok(r.words)
}

/// The live model of a served model, or FAILED_PRECONDITION for one without a log.
pub(super) fn writer(m: &super::models::VectorModel) -> Result<&Arc<LiveModel>, Status> {
    m.writer().ok_or_else(|| super::status::no_log(&m.name))
}

/// The reply to a write.
pub(super) fn write_response(model: String, ack: Ack, server_time_us: u64) -> proto::WriteResponse {
    proto::WriteResponse {
        model,
        count: ack.count as u64,
        lsn: ack.lsn,
        server_time_us,
    }
}

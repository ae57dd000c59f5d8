//! `wordvec upsert`, `wordvec delete`, `wordvec compact`: writes to a running daemon's model
//! (one served with `--wal-dir`).

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use wordvec::limits::{MAX_WRITE_BYTES, MAX_WRITE_WORDS};
use wordvec::server::proto;

use super::client::{status_error, Client, ServerArgs};
use super::LoadArgs;

/// Bytes a batch may take on the wire by default: under the server's default message limit
/// (4 MiB, `--max-message-bytes`) with room for the framing.
const DEFAULT_BATCH_BYTES: usize = 3 << 20;

#[derive(Debug, Args)]
pub(crate) struct UpsertArgs {
    /// Vectors file to send, any format wordvec opens (none: the embedded default model).
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Most words per request (at most the library's limit of 100,000).
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Most bytes of words and vectors per request; keep it under the server's
    /// --max-message-bytes.
    #[arg(long, default_value_t = DEFAULT_BATCH_BYTES)]
    pub batch_bytes: usize,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// Words to delete (words the model does not have are no error).
    #[arg(required = true)]
    pub words: Vec<String>,
    #[command(flatten)]
    pub server: ServerArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    #[command(flatten)]
    pub server: ServerArgs,
}

/// Sends every row of the file, in batches of at most `--batch` words and `--batch-bytes`
/// bytes; prints the count and the last batch's log sequence number.
pub(crate) fn upsert(a: UpsertArgs) -> Result<()> {
    if a.batch == 0 || a.batch > MAX_WRITE_WORDS {
        bail!("--batch {} must be 1 to {MAX_WRITE_WORDS}", a.batch);
    }
    let emb = super::open_vectors(a.file.as_deref(), &a.load)?;
    let row_bytes = 4 * emb.dims() + 16;
    let max_bytes = a.batch_bytes.min(MAX_WRITE_BYTES);
    let mut client = Client::connect(&a.server)?;
    let bar = ProgressBar::new(emb.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "upserting [{bar:40}] {pos}/{len} words {elapsed} (eta {eta})",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    let (mut sent, mut lsn, mut start) = (0usize, 0u64, 0usize);
    while start < emb.len() {
        let mut words = Vec::new();
        let mut bytes = 0usize;
        for i in start..emb.len() {
            let size = emb.word(i).len() + row_bytes;
            if words.len() == a.batch || (!words.is_empty() && bytes + size > max_bytes) {
                break;
            }
            bytes += size;
            words.push(proto::WordVector {
                word: emb.word(i).to_owned(),
                vector: Some(proto::Vector {
                    values: emb.raw_row(i),
                }),
                ..Default::default()
            });
        }
        let n = words.len();
        let req = proto::UpsertRequest {
            model: client.model.clone(),
            words,
        };
        let r = client
            .rt
            .block_on(client.inner.upsert(req))
            .map_err(status_error)?
            .into_inner();
        (sent, lsn, start) = (sent + r.count as usize, r.lsn, start + n);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    println!("upserted {sent} words, last lsn {lsn}");
    Ok(())
}

/// Deletes the words; prints the count and the log sequence number.
pub(crate) fn delete(a: DeleteArgs) -> Result<()> {
    let mut client = Client::connect(&a.server)?;
    let req = proto::DeleteRequest {
        model: client.model.clone(),
        words: a.words,
    };
    let r = client
        .rt
        .block_on(client.inner.delete(req))
        .map_err(status_error)?
        .into_inner();
    println!("deleted {} words, lsn {}", r.count, r.lsn);
    Ok(())
}

/// Compacts the model; prints what the server wrote.
pub(crate) fn compact(a: CompactArgs) -> Result<()> {
    let mut client = Client::connect(&a.server)?;
    let req = proto::CompactRequest {
        model: client.model.clone(),
    };
    let r = client
        .rt
        .block_on(client.admin.compact(req))
        .map_err(status_error)?
        .into_inner();
    if r.written {
        println!(
            "compacted {}: {} rows at lsn {} in {} ({:.2} s)",
            r.model, r.rows, r.lsn, r.base, r.seconds
        );
    } else {
        println!(
            "{}: nothing to compact ({} rows at lsn {})",
            r.model, r.rows, r.lsn
        );
    }
    Ok(())
}

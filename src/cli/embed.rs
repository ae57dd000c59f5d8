//! `wordvec embed`: text vectors (the mean of a text's word vectors), from a file or a daemon.

use std::io::{BufRead, Write};

use anyhow::{Context, Result};
use clap::Args;
use wordvec::classify::{embed_text, TextVector};
use wordvec::server::proto;

use super::client::{status_error, Client, ServerArgs};
use super::{open_vectors, split_file_and_words, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct EmbedArgs {
    /// [VECTORS] TEXT...: an optional vectors file (when the first argument is an existing file),
    /// then the texts; none, or "-", reads one text per line from stdin.
    #[arg(value_name = "ARGS")]
    pub args: Vec<String>,
    /// Scale each vector to unit length.
    #[arg(long)]
    pub unit: bool,
    /// Print JSON (one object per text: text, vector, known_words, unknown_words) instead of
    /// the vector's values separated by spaces.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub remote: ServerArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub(crate) fn run(a: EmbedArgs) -> Result<()> {
    let (file, mut texts) = split_file_and_words(&a.args, None)?;
    anyhow::ensure!(
        file.is_none() || a.remote.server.is_none(),
        "with --server, give texts only (the server holds the vectors)"
    );
    if texts.is_empty() || texts == ["-"] {
        texts = std::io::stdin()
            .lock()
            .lines()
            .collect::<std::io::Result<_>>()
            .context("reading texts from stdin")?;
    }
    let vectors: Vec<(String, TextVector)> = if a.remote.server.is_some() {
        let mut c = Client::connect(&a.remote)?;
        let r =
            c.rt.block_on(c.inner.embed_text(proto::EmbedTextRequest {
                model: c.model.clone(),
                texts,
                normalized: a.unit,
            }))
            .map_err(status_error)?
            .into_inner();
        r.vectors
            .into_iter()
            .map(|v| {
                (
                    v.text,
                    TextVector {
                        vector: v.vector.map(|v| v.values).unwrap_or_default(),
                        known: v.known_words as usize,
                        unknown: v.unknown_words,
                    },
                )
            })
            .collect()
    } else {
        let emb = open_vectors(file.as_deref(), &a.load)?;
        texts
            .into_iter()
            .map(|t| {
                let v = embed_text(&emb, &t, a.unit)
                    .with_context(|| format!("text {:?}", wordvec::limits::echo(&t)))?;
                Ok((t, v))
            })
            .collect::<Result<_>>()?
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for (text, v) in vectors {
        if a.json {
            let obj = serde_json::json!({
                "text": text,
                "vector": v.vector,
                "known_words": v.known,
                "unknown_words": v.unknown,
            });
            writeln!(out, "{obj}")?;
        } else {
            let values: Vec<String> = v.vector.iter().map(|x| format!("{x:.6}")).collect();
            writeln!(out, "{}", values.join(" "))?;
            if !v.unknown.is_empty() {
                eprintln!(
                    "{:?}: not in the vocabulary: {}",
                    wordvec::limits::echo(&text),
                    wordvec::limits::echo_list(&v.unknown)
                );
            }
        }
    }
    out.flush()?;
    Ok(())
}

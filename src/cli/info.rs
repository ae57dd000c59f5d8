//! `wordvec info`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;

use super::{open_vectors, output, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct InfoArgs {
    /// Vectors file (the embedded default model when omitted).
    pub vectors: Option<PathBuf>,
    /// How many of the first words to show.
    #[arg(long, default_value_t = 10)]
    pub words: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

pub(crate) fn run(a: InfoArgs) -> Result<()> {
    let start = Instant::now();
    let emb = open_vectors(a.vectors.as_deref(), &a.load)?;
    let elapsed = start.elapsed();
    let meta = emb.metadata();
    let first: Vec<&str> = (0..a.words.min(emb.len())).map(|i| emb.word(i)).collect();
    let file_bytes = a
        .vectors
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    let format = meta.format.map_or("bin", |f| f.name());
    if a.json {
        return output::json(&serde_json::json!({
            "source": a.vectors.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "default".into()),
            "format": format,
            "words": emb.len(),
            "dims": emb.dims(),
            "file_bytes": file_bytes,
            "newline_after_vector": meta.newline_after_vector,
            "duplicates_skipped": meta.duplicates_skipped,
            "load_seconds": elapsed.as_secs_f64(),
            "first_words": first,
            "ngrams": emb.subwords().map(|sw| serde_json::json!({
                "minn": sw.minn(), "maxn": sw.maxn(), "buckets": sw.bucket(), "rows": sw.rows().len(),
            })),
        }));
    }
    println!(
        "source:      {}",
        a.vectors
            .as_ref()
            .map_or("embedded default model".into(), |p| p.display().to_string())
    );
    println!("format:      {format}");
    println!("words:       {}", emb.len());
    println!("dimensions:  {}", emb.dims());
    if let Some(b) = file_bytes {
        println!("file size:   {b} bytes");
    }
    if meta.format == Some(wordvec::Format::Word2VecBinary) {
        println!(
            "layout:      {}",
            if meta.newline_after_vector {
                "newline after each vector (word2vec C tool)"
            } else {
                "no newline after vectors (gensim, GoogleNews)"
            }
        );
    }
    if let Some(sw) = emb.subwords() {
        println!(
            "n-grams:     {}..{} characters, {} buckets, {} rows (vectors for words outside the vocabulary)",
            sw.minn(),
            sw.maxn(),
            sw.bucket(),
            sw.rows().len()
        );
    }
    if meta.duplicates_skipped > 0 {
        println!(
            "duplicates:  {} records skipped (first kept)",
            meta.duplicates_skipped
        );
    }
    println!("opened in:   {:.3} s", elapsed.as_secs_f64());
    println!("first words: {}", first.join(" "));
    Ok(())
}

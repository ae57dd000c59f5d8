//! Printing results: aligned tables for people, JSON for programs.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use wordvec::Neighbor;

/// Prints `value` as one line of JSON.
pub fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints neighbours as a table under `title`.
pub fn neighbors_table(title: &str, neighbors: &[Neighbor], score_name: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{title}")?;
    let width = neighbors
        .iter()
        .map(|n| n.word.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(out, "{:>4}  {:<width$}  {score_name}", "rank", "word")?;
    for (i, n) in neighbors.iter().enumerate() {
        writeln!(out, "{:>4}  {:<width$}  {:.6}", i + 1, n.word, n.score)?;
    }
    Ok(())
}

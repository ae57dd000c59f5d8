//! Printing results: aligned tables for people, JSON for programs.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;
use wordvec::Neighbor;

/// Prints `value` as one line of JSON.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// Prints neighbours as a table under `title`.
pub(crate) fn neighbors_table(title: &str, neighbors: &[Neighbor], score_name: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{title}")?;
    let width = neighbors
        .iter()
        .map(|n| n.word.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    writeln!(out, "{:>4}  {}  {score_name}", "rank", pad("word", width))?;
    for (i, n) in neighbors.iter().enumerate() {
        writeln!(out, "{:>4}  {}  {:.6}", i + 1, pad(&n.word, width), n.score)?;
    }
    Ok(())
}

/// `s` left-aligned in `width` characters. `format!`'s `{:<width$}` panics past 65,535
/// characters, and a word or label from a file can be longer than that.
pub(crate) fn pad(s: &str, width: usize) -> String {
    let n = s.chars().count();
    let mut out = String::with_capacity(s.len() + width.saturating_sub(n));
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_takes_any_width() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("abc", 1), "abc");
        let long = "x".repeat(70_000);
        assert_eq!(pad(&long, 70_001).len(), 70_001);
    }
}

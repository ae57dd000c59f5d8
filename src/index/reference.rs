//! hnsw_rs as the reference builder and searcher: `wordvec index build --builder hnsw-rs`
//! builds with it and imports its dump, and the parity tests compare wordvec's search over an
//! imported graph with hnsw_rs's own search of the same graph.
//!
//! hnsw_rs can abort the process on bad input (an assertion in its dot distance, `exit` on
//! unreadable files, panics on mismatched graph/data pairs). Every call is guarded: the distance
//! is clamped (`distance::UnitDot`), its dump files are walked by
//! the dump checker before anything reads them, and calls into it run under
//! `catch_unwind`.

use std::path::{Path, PathBuf};

use hnsw_rs::prelude::{FilterT, Hnsw};
use rayon::prelude::*;

use super::distance::UnitDot;
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};

/// Runs a call into hnsw_rs, turning a panic into an error.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        let msg = p
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Error::internal(format!("{what} failed inside hnsw_rs: {msg}"))
    })
}

/// An hnsw_rs graph over the first `n` unit rows of a set of embeddings.
pub struct HnswRsGraph {
    graph: Hnsw<'static, f32, UnitDot>,
    n: usize,
}

impl std::fmt::Debug for HnswRsGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswRsGraph").field("n", &self.n).finish()
    }
}

fn unit_f64(v: &[f32]) -> Vec<f32> {
    let n = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if n > 0.0 {
        v.iter().map(|&x| (f64::from(x) / n) as f32).collect()
    } else {
        vec![0.0; v.len()]
    }
}

impl HnswRsGraph {
    /// Builds with hnsw_rs on all cores (`m` links, `ef_construction`), reporting rows done.
    pub fn build(
        emb: &Embeddings,
        n: usize,
        m: usize,
        ef_construction: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Self> {
        let n = n.min(emb.len());
        // hnsw_rs only saves graphs made with its maximum of 16 layers.
        let graph: Hnsw<'static, f32, UnitDot> =
            Hnsw::new(m, n.max(1), 16, ef_construction, UnitDot);
        let batch = 16_384;
        for lo in (0..n).step_by(batch) {
            let hi = (lo + batch).min(n);
            let rows: Vec<Vec<f32>> = (lo..hi)
                .into_par_iter()
                .map(|i| unit_f64(&emb.storage().row(i)))
                .collect();
            let items: Vec<(&[f32], usize)> = rows
                .iter()
                .enumerate()
                .map(|(k, v)| (v.as_slice(), lo + k))
                .collect();
            guarded("building the index", || graph.parallel_insert_slice(&items))?;
            progress(hi);
        }
        let mut graph = graph;
        graph.set_searching_mode(true);
        Ok(HnswRsGraph { graph, n })
    }

    /// hnsw_rs's own search: up to `k` rows (below `restrict` when given) by ascending
    /// distance, for a unit query.
    pub fn search(
        &self,
        query: &[f32],
        k: usize,
        ef: usize,
        restrict: Option<usize>,
    ) -> Result<Vec<usize>> {
        let filter = restrict
            .filter(|&r| r < self.n)
            .map(|r| move |id: &usize| *id < r);
        let filter_ref: Option<&dyn FilterT> = filter.as_ref().map(|f| f as &dyn FilterT);
        let rows = self.n.max(1);
        let k = k.min(rows);
        let ef = ef.max(k).min(rows);
        let found = guarded("searching the index", || {
            self.graph.search_filter(query, k, ef, filter_ref)
        })?;
        Ok(found.into_iter().map(|n| n.d_id).collect())
    }

    /// Dumps the graph into `dir` as hnsw_rs's two files; returns (graph, data) paths.
    pub fn dump(&self, dir: &Path) -> Result<(PathBuf, PathBuf)> {
        let name = guarded("saving the index", || {
            hnsw_rs::api::AnnT::file_dump(&self.graph, dir, "index")
        })?
        .map_err(|e| {
            Error::io(
                "cannot write the index into",
                dir,
                std::io::Error::other(e.to_string()),
            )
        })?;
        Ok(super::meta::hnsw_files(&dir.join(name)))
    }
}

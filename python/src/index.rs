//! The HNSW index of a [`crate::vectors::Vectors`]: built here or saved beside the vectors; the
//! library's `Searcher` decides per query whether to use it.

use std::path::Path;

use wordvec::index::{HnswIndex, IndexParams};
use wordvec::progress::Progress;
use wordvec::Embeddings;

use crate::progress::PyProgress;

/// Builds an index over `emb` on all cores, reporting to `progress`.
pub(crate) fn build(
    emb: &Embeddings,
    params: IndexParams,
    progress: Option<&PyProgress>,
) -> wordvec::Result<HnswIndex> {
    HnswIndex::build(emb, params, progress.map(|p| p as &dyn Progress))
}

/// Saves `index` to `path` (one file, atomically).
pub(crate) fn save(index: &HnswIndex, path: &Path) -> wordvec::Result<()> {
    index.save(path)
}

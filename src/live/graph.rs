//! The index path of a [`View`]: one graph over the base and the delta (`delta_graph`, once the
//! background job has published one; before that the base's own graph), skipping rows that are
//! not in the view (tombstoned, replaced, deleted, or written after it); and an exact scan of the
//! delta rows that graph lacks; merged by score.
//!
//! Both parts score with the exact cosine of the merged rows (a base or delta row has the same
//! bits in the merged rows), so the answer is the exact answer restricted to the rows the graph
//! search found plus the rows scanned: the graph loses what a graph loses anyway (rows not in
//! the view are traversed, never returned, as a filter's rows are). The query is resolved through the merged vocabulary first, so a replaced
//! word's new vector is used and its row left out of the answer. 3CosMul re-ranks the 3CosAdd
//! query's best `max(10 k, 100)` candidates exactly, as [`HnswIndex::search`] does.

use crate::error::Result;
use crate::index::HnswIndex;
use crate::limits::MAX_EF;
use crate::query::{checked_cosine, Neighbor, Prepared, Query, Scoring};
use crate::simd;

use super::view::View;

/// Answers `q` over `view` through the base's graph `index` (see the module documentation).
pub(crate) fn search(view: &View, index: &HnswIndex, q: &Query) -> Result<Vec<Neighbor>> {
    let emb = view.embeddings();
    let cosmul = q.scoring == Scoring::CosMul;
    let Prepared { pos, neg, exclude } = emb.prepare(&q.positive, &q.negative, cosmul)?;
    let query = emb.mean_query(&pos, &neg);
    let info = index.info();
    let mut ef = q.ef.unwrap_or(info.ef_search);
    let want = if cosmul {
        let pool = q.k.min(emb.len()).saturating_mul(10).max(100);
        ef = ef.max(pool).min(MAX_EF);
        pool
    } else {
        q.k
    };
    if want == 0 {
        return Ok(Vec::new());
    }
    let restrict = q.restrict_vocab.unwrap_or(usize::MAX);
    let keep = |m: usize| m < restrict && q.filter.admits(m) && exclude.binary_search(&m).is_err();
    let dot = simd::dot_fn();
    // One graph over the base and the delta rows it holds, once one is published; else the
    // base's own graph. Then an exact scan of the delta rows the graph lacks.
    let (mut found, scanned_from): (Vec<(usize, f32)>, usize) = match view.delta_graph() {
        Some(g) => {
            let n = g.base_len();
            let merged = |id: usize| match id.checked_sub(n) {
                None => view.merged_of_base(id),
                Some(d) => view.merged_of_delta(d),
            };
            let admit = |id: u32| merged(id as usize).is_some_and(keep);
            let found = g
                .index()
                .scored_where(g.embeddings(), &query, want, ef, admit)?
                .into_iter()
                .map(|(id, s)| (merged(id).expect("admitted rows are in the view"), s))
                .collect();
            (found, g.delta_rows())
        }
        None => {
            let admit = |id: u32| view.merged_of_base(id as usize).is_some_and(keep);
            let base = &view.base().embeddings;
            let found = index
                .scored_where(base, &query, want, ef, admit)?
                .into_iter()
                .map(|(i, s)| (view.merged_of_base(i).expect("admitted rows are left"), s))
                .collect();
            (found, 0)
        }
    };
    for d in scanned_from..view.delta().rows() {
        if d % 4096 == 0 {
            crate::cancel::check()?;
        }
        let Some(m) = view.merged_of_delta(d).filter(|&m| keep(m)) else {
            continue;
        };
        let score = checked_cosine(emb.cosine_with(dot, m, &query));
        if score.is_nan() {
            return Err(emb.corrupt_row(m));
        }
        found.push((m, score));
    }
    if cosmul {
        for (m, s) in &mut found {
            *s = emb.cosmul_score(dot, *m, &pos, &neg);
        }
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    found.truncate(q.k);
    Ok(found
        .into_iter()
        .map(|(index, score)| Neighbor {
            word: emb.word(index).to_owned(),
            index,
            score,
        })
        .collect())
}

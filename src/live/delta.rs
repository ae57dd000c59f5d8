//! The delta of a live model: the rows written since its base, and which base rows they hide.
//!
//! - *Rows* are appended in chunks of [`CHUNK`] rows, each chunk behind an `Arc`: a snapshot
//!   clones the list of chunks, never the rows, and a writer that appends to a chunk a snapshot
//!   still holds copies that one chunk (at most [`CHUNK`] rows) first. A row is stored as the
//!   base stores its rows (unit length for a native base, raw otherwise) with its length, both
//!   computed as the readers compute them, so that a scan of base plus delta reads the same bits
//!   as a scan of the compacted file. A replaced row stays in its chunk until compaction.
//! - *Words* map to their current row and their *slot*, the place they take in the merged
//!   order: `Base(i)` for a word of the base that was replaced (it keeps row `i`'s place), or
//!   `New(seq)` for a word added after the base (they follow the base rows, in the order they
//!   were added). The map is split in [`SHARDS`] shards; each shard is a large map that changes
//!   rarely and a small one of recent changes over it, both behind `Arc`s. A write copies the
//!   small maps of the shards it touches; a small map grown past an eighth of its large one (and
//!   past [`RECENT_MIN`]) is folded into a new large one. So a write copies, amortised, a few
//!   entries per word written, whatever the delta's size (one map cloned whole per write made a
//!   bulk load slow down as the delta grew).
//! - *Tombstones* are a bitset over the base rows, in chunks behind `Arc`s: a set bit hides a
//!   base row, deleted or replaced (a replaced row's word is in the map with slot `Base`).
//!
//! The merged order is that of a list the writes are applied to, one by one: an upsert of a word
//! present replaces its vector in place, an upsert of a word absent appends it, a delete removes
//! it (a word deleted and added again goes to the end).

use std::collections::HashMap;
use std::sync::Arc;

use crate::embeddings::{row_norm, Embeddings};

/// Rows per chunk of delta rows.
pub(super) const CHUNK: usize = 256;
/// Shards of the word map.
pub(super) const SHARDS: usize = 256;
/// Recent changes a shard always takes before they are folded into its large map.
pub(super) const RECENT_MIN: usize = 64;
/// Base rows per chunk of the tombstone bitset (64 words of 64 bits).
const TOMB_CHUNK: usize = 4096;

/// Where a delta word stands in the merged order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    /// In place of base row `i`.
    Base(u32),
    /// After the base rows, by the sequence number of the write that added it.
    New(u64),
}

/// A delta word's current row and slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub row: u32,
    pub slot: Slot,
}

/// One shard of the word map: `recent` changes (`None`: removed) over `settled` entries.
#[derive(Debug, Clone, Default)]
struct Shard {
    settled: Arc<HashMap<Arc<str>, Entry>>,
    recent: Arc<HashMap<Arc<str>, Option<Entry>>>,
}

impl Shard {
    fn get_key_value(&self, word: &str) -> Option<(&Arc<str>, &Entry)> {
        match self.recent.get_key_value(word) {
            Some((k, e)) => e.as_ref().map(|e| (k, e)),
            None => self.settled.get_key_value(word),
        }
    }

    fn set(&mut self, word: Arc<str>, e: Option<Entry>) {
        Arc::make_mut(&mut self.recent).insert(word, e);
        if self.recent.len() > RECENT_MIN.max(self.settled.len() / 8) {
            let settled = Arc::make_mut(&mut self.settled);
            for (w, e) in std::mem::take(Arc::make_mut(&mut self.recent)) {
                match e {
                    Some(e) => settled.insert(w, e),
                    None => settled.remove(&w),
                };
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Entry)> {
        let recent = self
            .recent
            .iter()
            .filter_map(|(w, e)| e.as_ref().map(|e| (w, e)));
        let settled = self
            .settled
            .iter()
            .filter(|(w, _)| !self.recent.contains_key(*w));
        recent.chain(settled)
    }
}

#[derive(Debug, Clone, Default)]
struct Chunk {
    values: Vec<f32>,
    norms: Vec<f32>,
    words: Vec<Arc<str>>,
}

/// New and replaced rows over a base (see the module documentation). Cloning it is a snapshot:
/// it shares every chunk and shard.
#[derive(Debug, Clone)]
pub(crate) struct Delta {
    dims: usize,
    unit_rows: bool,
    base_len: usize,
    chunks: Vec<Arc<Chunk>>,
    rows: usize,
    shards: Vec<Shard>,
    words: usize,
    tombs: Vec<Arc<Vec<u64>>>,
    tombstones: usize,
    next_seq: u64,
}

fn shard_of(word: &str) -> usize {
    (crate::vocab::fnv1a(word.as_bytes()) >> 56) as usize % SHARDS
}

impl Delta {
    /// An empty delta over `base`.
    pub(crate) fn new(base: &Embeddings) -> Delta {
        let n = base.len();
        Delta {
            dims: base.dims(),
            unit_rows: base.unit_rows(),
            base_len: n,
            chunks: Vec::new(),
            rows: 0,
            shards: vec![Shard::default(); SHARDS],
            words: 0,
            tombs: (0..n.div_ceil(TOMB_CHUNK))
                .map(|_| Arc::new(vec![0u64; TOMB_CHUNK / 64]))
                .collect(),
            tombstones: 0,
            next_seq: 0,
        }
    }

    /// True when the delta changes nothing: no word and no tombstone.
    pub(crate) fn is_empty(&self) -> bool {
        self.words == 0 && self.tombstones == 0
    }

    /// Words with a delta row.
    pub(crate) fn words(&self) -> usize {
        self.words
    }

    /// Base rows hidden (deleted or replaced).
    pub(crate) fn tombstones(&self) -> usize {
        self.tombstones
    }

    /// Whether base row `i` is hidden.
    #[inline]
    pub(crate) fn is_tomb(&self, i: usize) -> bool {
        self.tombs[i / TOMB_CHUNK][(i % TOMB_CHUNK) / 64] & (1 << (i % 64)) != 0
    }

    fn set_tomb(&mut self, i: usize) {
        let chunk = Arc::make_mut(&mut self.tombs[i / TOMB_CHUNK]);
        chunk[(i % TOMB_CHUNK) / 64] |= 1 << (i % 64);
        self.tombstones += 1;
    }

    /// The 64 tombstone bits of base rows `64 w .. 64 w + 64`.
    #[inline]
    pub(crate) fn tomb_word(&self, w: usize) -> u64 {
        self.tombs[w / (TOMB_CHUNK / 64)][w % (TOMB_CHUNK / 64)]
    }

    /// The entry of `word`, if it has a delta row.
    pub(crate) fn get(&self, word: &str) -> Option<Entry> {
        self.shards[shard_of(word)]
            .get_key_value(word)
            .map(|(_, e)| *e)
    }

    /// Every delta word and its entry, in no order.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&Arc<str>, &Entry)> {
        self.shards.iter().flat_map(|s| s.iter())
    }

    /// Delta row `r` as the base stores rows (`dims` little-endian f32).
    #[inline]
    pub(crate) fn row_bytes(&self, r: usize) -> &[u8] {
        let c = &self.chunks[r / CHUNK];
        let at = (r % CHUNK) * self.dims;
        bytemuck::cast_slice(&c.values[at..at + self.dims])
    }

    /// The length of delta row `r`'s raw vector.
    pub(crate) fn norm(&self, r: usize) -> f32 {
        self.chunks[r / CHUNK].norms[r % CHUNK]
    }

    /// The word of delta row `r`.
    pub(crate) fn word(&self, r: usize) -> &str {
        &self.chunks[r / CHUNK].words[r % CHUNK]
    }

    /// Stores a row for `word` with raw vector `raw` (its dimension already checked).
    fn push_row(&mut self, word: Arc<str>, raw: &[f32]) -> u32 {
        let norm = row_norm(crate::simd::norm_sq_fn(), bytemuck::cast_slice(raw));
        if self.rows.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Chunk {
                values: Vec::with_capacity(CHUNK * self.dims),
                norms: Vec::with_capacity(CHUNK),
                words: Vec::with_capacity(CHUNK),
            }));
        }
        let c = Arc::make_mut(self.chunks.last_mut().expect("a chunk was pushed"));
        if self.unit_rows {
            // As `Embeddings::unit_row` makes a raw row unit length: divided by its length, a
            // zero vector all zeros.
            let mut v = raw.to_vec();
            if norm > 0.0 {
                v.iter_mut().for_each(|x| *x /= norm);
            } else {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
            c.values.extend_from_slice(&v);
        } else {
            c.values.extend_from_slice(raw);
        }
        c.norms.push(norm);
        c.words.push(word);
        self.rows += 1;
        (self.rows - 1) as u32
    }

    /// Adds or replaces `word`'s vector (see the module documentation for its slot).
    pub(crate) fn upsert(&mut self, base: &Embeddings, word: &str, raw: &[f32]) {
        debug_assert_eq!(raw.len(), self.dims);
        let shard = shard_of(word);
        let (key, slot) = match self.shards[shard].get_key_value(word) {
            Some((k, e)) => (k.clone(), e.slot),
            None => {
                let slot = match base.index(word) {
                    Some(i) if !self.is_tomb(i) => {
                        self.set_tomb(i);
                        Slot::Base(i as u32)
                    }
                    _ => {
                        self.next_seq += 1;
                        Slot::New(self.next_seq)
                    }
                };
                self.words += 1;
                (Arc::<str>::from(word), slot)
            }
        };
        let row = self.push_row(key.clone(), raw);
        self.shards[shard].set(key, Some(Entry { row, slot }));
    }

    /// Removes `word` (nothing when it has no vector).
    pub(crate) fn delete(&mut self, base: &Embeddings, word: &str) {
        let shard = shard_of(word);
        if let Some((key, _)) = self.shards[shard].get_key_value(word) {
            // A replaced base word's row stays hidden: its tombstone now means deleted.
            let key = key.clone();
            self.shards[shard].set(key, None);
            self.words -= 1;
        } else if let Some(i) = base.index(word).filter(|&i| !self.is_tomb(i)) {
            self.set_tomb(i);
        }
    }

    /// Rows stored (replaced ones too, until compaction).
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Base rows.
    pub(crate) fn base_len(&self) -> usize {
        self.base_len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Embeddings {
        Embeddings::from_vectors(&["a", "b", "c"], vec![1.0, 0.0, 0.0, 1.0, 3.0, 4.0], 2).unwrap()
    }

    #[test]
    fn slots_follow_list_semantics() {
        let b = base();
        let mut d = Delta::new(&b);
        assert!(d.is_empty());
        d.upsert(&b, "b", &[2.0, 2.0]);
        d.upsert(&b, "n", &[0.0, 5.0]);
        d.upsert(&b, "b", &[6.0, 8.0]);
        assert_eq!(d.get("b").unwrap().slot, Slot::Base(1));
        assert_eq!(d.get("b").unwrap().row, 2);
        assert_eq!(d.get("n").unwrap().slot, Slot::New(1));
        assert!(d.is_tomb(1) && !d.is_tomb(0));
        assert_eq!(d.norm(2), 10.0);
        let row: &[f32] = bytemuck::cast_slice(d.row_bytes(2));
        assert_eq!(row, [6.0, 8.0]);
        d.delete(&b, "b");
        d.delete(&b, "a");
        d.delete(&b, "zz");
        assert!(d.get("b").is_none() && d.is_tomb(0) && d.is_tomb(1));
        assert_eq!((d.words(), d.tombstones()), (1, 2));
        // Deleted, then added again: a new word at the end.
        d.upsert(&b, "a", &[1.0, 1.0]);
        assert_eq!(d.get("a").unwrap().slot, Slot::New(2));
    }

    #[test]
    fn a_snapshot_does_not_see_later_writes() {
        let b = base();
        let mut d = Delta::new(&b);
        for i in 0..CHUNK + 3 {
            d.upsert(&b, &format!("w{i}"), &[i as f32, 1.0]);
        }
        let snap = d.clone();
        d.upsert(&b, "late", &[1.0, 1.0]);
        d.upsert(&b, "w1", &[9.0, 9.0]);
        d.delete(&b, "c");
        assert!(snap.get("late").is_none() && !snap.is_tomb(2));
        assert_eq!(snap.get("w1").unwrap().row, 1);
        let row: &[f32] = bytemuck::cast_slice(snap.row_bytes(CHUNK + 2));
        assert_eq!(row, [(CHUNK + 2) as f32, 1.0]);
        assert_eq!(d.get("w1").unwrap().row as usize, CHUNK + 4);
    }

    #[test]
    fn unit_bases_get_unit_rows() {
        let raw = base();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.wvec");
        crate::save(&raw, &p, crate::Format::Native, &Default::default()).unwrap();
        let b = crate::open(&p, &Default::default()).unwrap();
        let mut d = Delta::new(&b);
        d.upsert(&b, "x", &[3.0, 4.0]);
        d.upsert(&b, "z", &[0.0, 0.0]);
        let row: &[f32] = bytemuck::cast_slice(d.row_bytes(0));
        assert_eq!((row, d.norm(0)), (&[0.6f32, 0.8][..], 5.0));
        let row: &[f32] = bytemuck::cast_slice(d.row_bytes(1));
        assert_eq!((row, d.norm(1)), (&[0.0f32, 0.0][..], 0.0));
    }
}

//! Live vectors: words added, replaced and deleted in a model that is being served, durable
//! once acknowledged and searchable at once.
//!
//! ```
//! use wordvec::live::{Base, LiveModel, LiveOptions};
//! use wordvec::search::{Query, Searcher};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let base = Searcher::exact(wordvec::default_model::load()?);
//! let dims = base.embeddings.dims();
//! let (model, _replayed) = LiveModel::open("news", Base::Searcher(base), dir.path(), LiveOptions::default())?;
//! let ack = model.upsert(vec![("wordvec".to_owned(), vec![0.5; dims])])?;
//! assert_eq!((ack.count, ack.lsn), (1, 1));
//! model.delete(vec!["king".to_owned()])?;
//! let view = model.view();
//! assert!(view.contains("wordvec") && !view.contains("king"));
//! let best = view.search(&Query::new(&["queen".into()], &[], 3))?;
//! assert!(best.iter().all(|n| n.word != "king"));
//! // Reopened, the log is replayed over the base: the same view.
//! drop(model);
//! let base = Searcher::exact(wordvec::default_model::load()?);
//! let (model, replayed) = LiveModel::open("news", Base::Searcher(base), dir.path(), LiveOptions::default())?;
//! assert_eq!((replayed.applied, model.view().lsn()), (2, 2));
//! assert!(!model.view().contains("king"));
//! # Ok::<(), wordvec::Error>(())
//! ```
//!
//! ## Design
//!
//! - The **base** is a set of vectors as wordvec serves them (a mapped file and its graph); it
//!   never changes. Writes go to a **write-ahead log** (`DIR/NAME.wal`, [`wal`]) and to an
//!   in-memory **delta** (new and replaced rows, and a tombstone bitset over the base).
//! - A **write** ([`LiveModel::upsert`], [`LiveModel::delete`]) is checked whole first (words,
//!   dimensions, finite values, the batch limits of [`crate::limits`]): a bad batch changes
//!   nothing. It is then one log record, appended under the writer's lock, applied to the delta,
//!   and acknowledged once the log is synced. Writers that arrive while a sync is under way wait
//!   for the next one, which covers all of them (*group commit*): one `fsync` for many writes.
//! - A **reader** takes a [`View`] ([`LiveModel::view`]): an immutable snapshot at one log
//!   sequence number, published after the sync that made its writes durable, so a reader never
//!   sees a write that a crash could take back. A request keeps its view while writes go on;
//!   a view shares the delta's rows with the writer (see `delta`'s chunks), so publishing one per
//!   write copies no rows.
//! - **Compaction** ([`LiveModel::compact`]) writes the merged rows as a new native file (with
//!   an int8 copy and a graph when the base had them) beside the old, names it in the manifest
//!   `DIR/NAME.manifest` with the LSN it holds, then starts a new log holding only the records
//!   written since. [`LiveModel::open`] prefers the manifest's base to the one it is given.
//!
//! ## Crash consistency
//!
//! Every file is written to a temporary name, synced, renamed into place, and its folder synced;
//! the log is only appended to, and each record carries a checksum. So after a kill at any
//! moment:
//!
//! - every acknowledged write is in the log, whole (it was synced before the acknowledgement),
//!   and replay applies it; a torn last record was never acknowledged and is cut (a warning names
//!   the file and the byte offset);
//! - during compaction, before the manifest is renamed, the old manifest (or none) names the old
//!   base and the old log holds every write: the old state. The new generation's files are left
//!   over and removed at the next open;
//! - after the manifest is renamed, it names the new base and the LSN `L` it holds; replay skips
//!   the log's records up to `L` (the old log, if the kill came before the new one was renamed
//!   into place, still has them) and applies the rest: the same state;
//! - a log whose dimension differs from the base's, or that starts after the LSN the base holds
//!   (writes would be missing), is refused rather than replayed.
//!
//! Writes are not idempotent in their *order* (a word deleted and added again moves to the end),
//! which is why replay skips by LSN instead of replaying old records over a new base.

mod compact;
mod delta;
#[cfg(feature = "index")]
mod delta_graph;
#[cfg(feature = "index")]
mod graph;
#[cfg(test)]
mod tests;
mod view;
pub mod wal;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::limits::{MAX_WRITE_BYTES, MAX_WRITE_WORDS};
use crate::search::Searcher;

pub use compact::Compacted;
pub use view::View;
pub use wal::Truncation;

use delta::Delta;
use wal::{Op, Record, Wal};

/// The base a live model starts from when its folder has no manifest (no compaction yet).
// Made once per open and moved at once: the size of the open vectors is no cost.
#[allow(clippy::large_enum_variant)]
pub enum Base {
    /// Vectors already open.
    Searcher(Searcher),
    /// A vectors file, opened with [`crate::open`] (its int8 copy too) and the index at its
    /// default path when there is one.
    Path(PathBuf),
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Base::Searcher(s) => f.debug_tuple("Searcher").field(&s.embeddings).finish(),
            Base::Path(p) => f.debug_tuple("Path").field(p).finish(),
        }
    }
}

impl From<Searcher> for Base {
    fn from(s: Searcher) -> Self {
        Base::Searcher(s)
    }
}

impl From<PathBuf> for Base {
    fn from(p: PathBuf) -> Self {
        Base::Path(p)
    }
}

/// Settings of a live model.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LiveOptions {
    /// Longest word a write may hold, in bytes (default
    /// [`crate::limits::DEFAULT_MAX_WORD_BYTES`]).
    pub max_word_bytes: usize,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            max_word_bytes: crate::limits::DEFAULT_MAX_WORD_BYTES,
        }
    }
}

impl LiveOptions {
    /// With words of at most `n` bytes.
    pub fn max_word_bytes(mut self, n: usize) -> Self {
        self.max_word_bytes = n;
        self
    }
}

/// The answer to a write: how many words it held, and the log sequence number it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// Words in the write.
    pub count: usize,
    /// Its log sequence number: a view with this LSN or later holds it.
    pub lsn: u64,
}

/// What [`LiveModel::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The base file, when the base came from one.
    pub base: Option<PathBuf>,
    /// The LSN the base holds (0 for a base no compaction wrote).
    pub base_lsn: u64,
    /// Good records in the log.
    pub records: u64,
    /// Records applied over the base (the others the base already held).
    pub applied: u64,
    /// The LSN after replay.
    pub lsn: u64,
    /// The log's length in bytes.
    pub wal_bytes: u64,
    /// Where a torn or corrupt tail was cut, if one was.
    pub truncated: Option<Truncation>,
}

/// Sizes of a live model now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct LiveStats {
    /// Rows of the base.
    pub base_rows: usize,
    /// Words whose vector is in the delta.
    pub delta_rows: usize,
    /// Base rows hidden by a delete or a replacement.
    pub tombstones: usize,
    /// The log's length in bytes (0 in memory only).
    pub wal_bytes: u64,
    /// The last acknowledged write's LSN.
    pub lsn: u64,
    /// Delta rows in the delta's graph (0 without the `index` feature or a base graph); the
    /// rest are scanned exactly by indexed queries. Replaced and deleted rows count: a delta
    /// row is only dropped by compaction.
    pub delta_indexed: usize,
}

impl LiveStats {
    /// How far the model is from its base: rows in the delta and rows hidden, as a share of the
    /// base's rows (for a policy that compacts past a share; 1 per row for an empty base).
    pub fn delta_share(&self) -> f64 {
        (self.delta_rows + self.tombstones) as f64 / self.base_rows.max(1) as f64
    }
}

/// The writer's state: the log, the delta over the base, and the view of the last write (not
/// yet published when its sync is still to come).
struct Writer {
    /// None for a model in memory only.
    wal: Option<Wal>,
    base: Arc<Searcher>,
    base_file: Option<PathBuf>,
    delta: Delta,
    latest: Arc<View>,
    /// The delta's graph, growing in the background (when the base has a graph).
    #[cfg(feature = "index")]
    graph: Option<Arc<delta_graph::DeltaIndex>>,
    /// Set when a sync failed: what the log holds is then uncertain, and writes are refused
    /// until the model is opened again.
    broken: Option<String>,
}

impl Writer {
    fn new(
        wal: Option<Wal>,
        base: Arc<Searcher>,
        base_file: Option<PathBuf>,
        delta: Delta,
        lsn: u64,
    ) -> Writer {
        #[cfg(feature = "index")]
        let graph = delta_graph::DeltaIndex::new(&base);
        let mut w = Writer {
            wal,
            #[cfg(feature = "index")]
            graph,
            latest: Arc::new(View::new(base.clone(), Arc::new(delta.clone()), lsn)),
            base,
            base_file,
            delta,
            broken: None,
        };
        w.latest = w.view_at(lsn);
        w
    }

    /// A view of the delta as it is now, at `lsn`; the delta's graph is offered the new rows.
    fn view_at(&self, lsn: u64) -> Arc<View> {
        let delta = Arc::new(self.delta.clone());
        let view = View::new(self.base.clone(), delta.clone(), lsn);
        #[cfg(feature = "index")]
        let view = match &self.graph {
            Some(g) => {
                g.offer(&delta);
                view.with_delta_graph(g.clone())
            }
            None => view,
        };
        Arc::new(view)
    }
}

#[derive(Default)]
struct SyncState {
    synced: u64,
    syncing: bool,
}

/// A model that takes writes (see the module documentation).
pub struct LiveModel {
    name: String,
    /// The log folder; none for a model in memory only.
    dir: Option<PathBuf>,
    opts: LiveOptions,
    writer: Mutex<Writer>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    published: Mutex<Arc<View>>,
    compacting: Mutex<()>,
}

impl std::fmt::Debug for LiveModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveModel")
            .field("name", &self.name)
            .field("dir", &self.dir)
            .field("stats", &self.stats())
            .finish()
    }
}

/// The error of a write after a failed sync: an I/O fault of the log (the server's
/// FAILED_PRECONDITION, as every disk fault), not a mistake of the caller.
fn refused(w: &Writer, why: &str) -> Error {
    let path = w
        .wal
        .as_ref()
        .map(|l| l.path().to_owned())
        .unwrap_or_default();
    let source = std::io::Error::other(format!("{why}; open the model again"));
    Error::io("write (a sync of this log failed before)", path, source)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding a lock leaves no half-done state here that a later call could see:
    // every change is made in a local value and stored at the end.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Checks a model name: it names files in the log folder.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0']);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "a live model's name names its files: {:?} is empty, too long, starts with a dot or holds a path separator",
            crate::limits::echo(name)
        )))
    }
}

/// Opens a vectors file as a base: the file (and its int8 copy), and its index when there is
/// one at the default path.
fn open_base(path: &Path) -> Result<Searcher> {
    let emb = crate::open(path, &Default::default())?;
    #[cfg(feature = "index")]
    {
        let index = crate::index::HnswIndex::load_default(path, &emb)?;
        Ok(Searcher {
            embeddings: emb,
            index,
        })
    }
    #[cfg(not(feature = "index"))]
    Ok(Searcher::exact(emb))
}

/// The base file the last compaction of model `name` wrote in `wal_dir` (the one its manifest
/// `wal_dir/NAME.manifest` names), or `None` before the first compaction. A writer opens it
/// instead of its configured file; a reader that follows the writer (`wordvec serve
/// --follow-dir`) serves it, and serves the next one when this one changes.
pub fn current_base(wal_dir: &Path, name: &str) -> Result<Option<PathBuf>> {
    check_name(name)?;
    Ok(compact::read_manifest(wal_dir, name)?.map(|m| m.base))
}

/// Applies one log record to `delta`.
fn apply(delta: &mut Delta, base: &Embeddings, op: &Op) {
    match op {
        Op::Upsert(items) => items.iter().for_each(|(w, v)| delta.upsert(base, w, v)),
        Op::Delete(words) => words.iter().for_each(|w| delta.delete(base, w)),
    }
}

impl LiveModel {
    /// Opens the live model `name` whose log and compacted files live in `wal_dir`: its base is
    /// the manifest's (`wal_dir/NAME.manifest`, written by compaction) when there is one, else
    /// `base`; its log (`wal_dir/NAME.wal`, created when missing) is replayed over it, a torn
    /// tail cut (see the module documentation).
    pub fn open(
        name: &str,
        base: Base,
        wal_dir: &Path,
        opts: LiveOptions,
    ) -> Result<(LiveModel, ReplayReport)> {
        check_name(name)?;
        std::fs::create_dir_all(wal_dir)
            .map_err(|e| Error::io("cannot create the log folder", wal_dir, e))?;
        let manifest = compact::read_manifest(wal_dir, name)?;
        let (searcher, base_file, base_lsn) = match (&manifest, base) {
            (Some(m), _) => (open_base(&m.base)?, Some(m.base.clone()), m.lsn),
            (None, Base::Path(p)) => (open_base(&p)?, Some(p), 0),
            (None, Base::Searcher(s)) => (s, None, 0),
        };
        let base = Arc::new(searcher);
        let mut delta = Delta::new(&base.embeddings);
        let mut applied = 0;
        let wal_path = wal_dir.join(format!("{name}.wal"));
        let (wal, r) = Wal::open(&wal_path, base.embeddings.dims(), base_lsn, |rec| {
            if rec.lsn > base_lsn {
                apply(&mut delta, &base.embeddings, &rec.op);
                applied += 1;
            }
            Ok(())
        })?;
        if r.start_lsn > base_lsn {
            return Err(Error::format(
                &wal_path,
                None,
                16,
                format!("the log starts after LSN {}, but its base holds writes up to LSN {base_lsn} only: writes would be missing (was the manifest or a compacted file removed?)", r.start_lsn),
            ));
        }
        // Only now that the log fits the base: files of a compaction killed before its manifest
        // (or of the generation one replaced) are left over.
        compact::remove_stale(wal_dir, name, manifest.as_ref().map(|m| m.base.as_path()));
        let lsn = r.last_lsn.max(base_lsn);
        let report = ReplayReport {
            base: base_file.clone(),
            base_lsn,
            records: r.records,
            applied,
            lsn,
            wal_bytes: r.bytes,
            truncated: r.truncated,
        };
        tracing::info!(model = name, log = %wal_path.display(), records = r.records, applied, lsn, "replayed the log");
        let writer = Writer::new(Some(wal), base, base_file, delta, lsn);
        Ok((
            LiveModel::assemble(name, Some(wal_dir), opts, writer),
            report,
        ))
    }

    /// A live model in memory only, over `base`: writes are checked and applied as
    /// [`open`](Self::open)'s are, and seen by the next view, but no log keeps them (a program
    /// that edits vectors and then saves [`View::embeddings`] with [`crate::save`]). It cannot be
    /// compacted.
    pub fn in_memory(name: &str, base: Searcher, opts: LiveOptions) -> Result<LiveModel> {
        check_name(name)?;
        let base = Arc::new(base);
        let delta = Delta::new(&base.embeddings);
        let writer = Writer::new(None, base, None, delta, 0);
        Ok(LiveModel::assemble(name, None, opts, writer))
    }

    fn assemble(name: &str, dir: Option<&Path>, opts: LiveOptions, w: Writer) -> LiveModel {
        let latest = w.latest.clone();
        LiveModel {
            name: name.to_owned(),
            dir: dir.map(Path::to_owned),
            opts,
            sync: Mutex::new(SyncState {
                synced: latest.lsn(),
                syncing: false,
            }),
            writer: Mutex::new(w),
            synced: Condvar::new(),
            published: Mutex::new(latest),
            compacting: Mutex::new(()),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's log (`DIR/NAME.wal`); none for a model in memory only.
    pub fn wal_path(&self) -> Option<PathBuf> {
        lock(&self.writer).wal.as_ref().map(|w| w.path().to_owned())
    }

    /// The file the base was read from, when it was read from one (the manifest's after a
    /// compaction).
    pub fn base_file(&self) -> Option<PathBuf> {
        lock(&self.writer).base_file.clone()
    }

    /// The snapshot a reader answers from: every acknowledged write, nothing that was not.
    pub fn view(&self) -> Arc<View> {
        lock(&self.published).clone()
    }

    /// Sizes now.
    pub fn stats(&self) -> LiveStats {
        let view = self.view();
        let wal_bytes = lock(&self.writer).wal.as_ref().map_or(0, Wal::len);
        LiveStats {
            base_rows: view.base_rows(),
            delta_rows: view.delta_rows(),
            tombstones: view.tombstones(),
            wal_bytes,
            lsn: view.lsn(),
            #[cfg(feature = "index")]
            delta_indexed: view.delta_indexed(),
            #[cfg(not(feature = "index"))]
            delta_indexed: 0,
        }
    }

    /// Blocks until the delta's graph (see [`LiveStats::delta_indexed`]) holds every delta row
    /// but fewer than a background job would take: for tests and benchmarks that measure
    /// queries over a settled model. Returns at once without a base graph.
    pub fn settle_index(&self) {
        #[cfg(feature = "index")]
        self.view().settle();
    }

    /// Checks a batch's size and words (not its vectors).
    fn check_words<'a>(&self, words: impl Iterator<Item = &'a str>, count: usize) -> Result<usize> {
        if count == 0 {
            return Err(Error::invalid("a write needs at least one word"));
        }
        crate::limits::at_most("words in one write", count, MAX_WRITE_WORDS)?;
        let mut bytes = 0usize;
        for w in words {
            if w.is_empty() {
                return Err(Error::invalid("a write holds an empty word"));
            }
            if w.len() > self.opts.max_word_bytes {
                return Err(Error::invalid(format!(
                    "the word {:?} is over the limit of {} bytes",
                    crate::limits::echo(w),
                    self.opts.max_word_bytes
                )));
            }
            bytes += w.len();
        }
        Ok(bytes)
    }

    /// Checks an upsert whole: words, dimensions, finite values, sizes.
    fn check_upsert(&self, items: &[(String, Vec<f32>)]) -> Result<()> {
        let words = self.check_words(items.iter().map(|(w, _)| w.as_str()), items.len())?;
        let dims = self.view().dims();
        for (w, v) in items {
            if v.len() != dims {
                return Err(Error::invalid(format!(
                    "the vector of {:?} has {} dimensions, the model has {dims}",
                    crate::limits::echo(w),
                    v.len()
                )));
            }
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(Error::invalid(format!(
                    "the vector of {:?} holds {} at dimension {i}",
                    crate::limits::echo(w),
                    v[i]
                )));
            }
        }
        let bytes = words.saturating_add(items.len().saturating_mul(4 * dims));
        crate::limits::at_most("bytes in one write", bytes, MAX_WRITE_BYTES)?;
        // Merged rows are numbered in 32 bits, as a vocabulary's are: compaction makes room.
        let stored = {
            let w = lock(&self.writer);
            w.delta.base_len() + w.delta.rows()
        };
        if stored.saturating_add(items.len()) >= u32::MAX as usize {
            return Err(Error::invalid(format!(
                "model {:?} holds {stored} rows with its delta: compact it before writing more",
                self.name
            )));
        }
        Ok(())
    }

    /// Adds words with their raw vectors, or replaces the vectors of words already there (in
    /// place). The batch is checked whole first: a bad one changes nothing. Acknowledged once
    /// its log record is synced: the call blocks on the disk (an async server calls it from a
    /// blocking task), and views from then on hold the write.
    pub fn upsert(&self, items: Vec<(String, Vec<f32>)>) -> Result<Ack> {
        self.check_upsert(&items)?;
        let count = items.len();
        self.write(Op::Upsert(items), count)
    }

    /// Deletes words (words that are not there are no error: a delete is what the caller
    /// wants gone). Checked and acknowledged as [`upsert`](Self::upsert).
    pub fn delete(&self, words: Vec<String>) -> Result<Ack> {
        let bytes = self.check_words(words.iter().map(String::as_str), words.len())?;
        crate::limits::at_most("bytes in one write", bytes, MAX_WRITE_BYTES)?;
        let count = words.len();
        self.write(Op::Delete(words), count)
    }

    /// Logs and applies a checked write, then waits for its sync.
    fn write(&self, op: Op, count: usize) -> Result<Ack> {
        let lsn = {
            let mut w = lock(&self.writer);
            if let Some(why) = &w.broken {
                return Err(refused(&w, why));
            }
            let rec = Record {
                lsn: w.latest.lsn() + 1,
                op,
            };
            if let Some(wal) = &mut w.wal {
                wal.append(&rec)?;
            }
            let base = w.base.clone();
            apply(&mut w.delta, &base.embeddings, &rec.op);
            w.latest = w.view_at(rec.lsn);
            if w.wal.is_none() {
                // Nothing to sync: seen at once.
                self.publish(w.latest.clone());
                return Ok(Ack {
                    count,
                    lsn: rec.lsn,
                });
            }
            rec.lsn
        };
        self.wait_synced(lsn)?;
        Ok(Ack { count, lsn })
    }

    /// Returns once the log is synced up to `lsn`: syncs it, for every write logged so far, or
    /// waits for the sync under way and then looks again (group commit).
    fn wait_synced(&self, lsn: u64) -> Result<()> {
        let mut s = lock(&self.sync);
        loop {
            if s.synced >= lsn {
                return Ok(());
            }
            if s.syncing {
                s = self.synced.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.syncing = true;
            drop(s);
            let result = self.sync_once();
            s = lock(&self.sync);
            s.syncing = false;
            self.synced.notify_all();
            match result {
                Ok(upto) => s.synced = s.synced.max(upto),
                Err(e) => return Err(e),
            }
        }
    }

    /// One sync of the log: everything logged when it starts. Publishes the view of the last
    /// write it covers.
    fn sync_once(&self) -> Result<u64> {
        let (file, path, view) = {
            let w = lock(&self.writer);
            if let Some(why) = &w.broken {
                return Err(refused(&w, why));
            }
            let wal = w
                .wal
                .as_ref()
                .expect("a model in memory publishes without a sync");
            (wal.sync_handle()?, wal.path().to_owned(), w.latest.clone())
        };
        if let Err(e) = file.sync_data() {
            let err = Error::io("cannot sync the log", &path, e);
            lock(&self.writer).broken = Some(err.to_string());
            return Err(err);
        }
        self.publish(view.clone());
        Ok(view.lsn())
    }

    /// Makes `view` the one readers get, unless a later one already is.
    fn publish(&self, view: Arc<View>) {
        let mut p = lock(&self.published);
        // A compaction publishes its view itself, at the last LSN logged: a sync that started
        // before it holds an older LSN and stays out.
        if view.lsn() > p.lsn() {
            *p = view;
        }
    }
}

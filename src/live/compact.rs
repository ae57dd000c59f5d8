//! Compaction: the merged rows become the new base, and the log starts again.
//!
//! Steps (the crash-consistency argument is in the [module documentation](super)):
//!
//! 1. the view of the last write logged (LSN `L`), once synced, is written as a native file
//!    `DIR/NAME.L.wvec`, with its int8 copy (`.i8`) when the base had one and its graph
//!    (`.idx`, built from the new file) when the base had one; each file atomically and synced,
//!    then the folder synced. Writes go on meanwhile.
//! 2. the manifest `DIR/NAME.manifest` is replaced, atomically and durably, by one naming the
//!    new file and `L`.
//! 3. under the writer's lock: the records written since `L` are read back from the log (from
//!    the byte offset where `L`'s record ended, noted in step 1), and a
//!    new log holding only them (its header's start LSN `L`) replaces the old, atomically and
//!    durably; the delta is rebuilt over the new base from those records, and the new view is
//!    published. A request in flight keeps the view it had (and so the old base, still mapped).
//! 4. the previous generation's files are removed.
//!
//! The manifest is three lines of text: `wordvec live manifest 1`, `base FILE` (a file name in
//! the log folder), `lsn L`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::error::{Error, Result};

use super::delta::Delta;
use super::view::View;
use super::wal::{self, Wal};
use super::{apply, lock, open_base, LiveModel};

const MANIFEST_HEAD: &str = "wordvec live manifest 1";

/// What a compaction wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Compacted {
    /// The new base file (the current one when there was nothing to compact).
    pub base: Option<PathBuf>,
    /// The LSN it holds.
    pub lsn: u64,
    /// Its rows.
    pub rows: usize,
    /// Whether anything was written.
    pub written: bool,
    /// Seconds the compaction took.
    pub seconds: f64,
}

/// The manifest's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub base: PathBuf,
    pub lsn: u64,
}

fn manifest_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.manifest"))
}

/// Reads `DIR/NAME.manifest`, `None` when there is none.
pub(crate) fn read_manifest(dir: &Path, name: &str) -> Result<Option<Manifest>> {
    let path = manifest_path(dir, name);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("cannot read the manifest", &path, e)),
    };
    let bad = |offset: usize, what: &str| Error::format(&path, None, offset as u64, what);
    if text.len() > 4096 {
        return Err(bad(0, "a manifest is a few lines; this file is over 4 KiB"));
    }
    let text = std::str::from_utf8(&text).map_err(|e| bad(e.valid_up_to(), "not UTF-8"))?;
    let lines: Vec<&str> = text.lines().collect();
    let field = |i: usize, key: &str| -> Result<&str> {
        let at = lines.iter().take(i).map(|l| l.len() + 1).sum();
        lines
            .get(i)
            .and_then(|l| l.strip_prefix(key))
            .and_then(|l| l.strip_prefix(' '))
            .ok_or_else(|| bad(at, &format!("line {} should be `{key} ...`", i + 1)))
    };
    if lines.first() != Some(&MANIFEST_HEAD) || lines.len() != 3 {
        return Err(bad(
            0,
            &format!("not a manifest: the first of three lines is `{MANIFEST_HEAD}`"),
        ));
    }
    let file = field(1, "base")?;
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        return Err(bad(
            lines[0].len() + 1,
            "the base is a file name in the log folder",
        ));
    }
    let lsn = field(2, "lsn")?.parse().map_err(|_| {
        bad(
            lines[0].len() + lines[1].len() + 2,
            "the LSN is not a number",
        )
    })?;
    Ok(Some(Manifest {
        base: dir.join(file),
        lsn,
    }))
}

fn write_manifest(dir: &Path, name: &str, base: &Path, lsn: u64) -> Result<()> {
    let file = base
        .file_name()
        .expect("a generation file's name")
        .to_string_lossy();
    let text = format!("{MANIFEST_HEAD}\nbase {file}\nlsn {lsn}\n");
    wal::replace_durably(&manifest_path(dir, name), text.as_bytes())
}

/// The file name of generation `lsn`: `NAME.LSN.wvec`.
fn generation_file(dir: &Path, name: &str, lsn: u64) -> PathBuf {
    dir.join(format!("{name}.{lsn}.wvec"))
}

/// Whether `file` is one of the files of a generation of `name` (`NAME.DIGITS.wvec` and its
/// `.i8` and `.idx`).
fn is_generation_file(file: &str, name: &str) -> bool {
    let Some(rest) = file.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&rest[digits..], ".wvec" | ".wvec.i8" | ".wvec.idx")
}

/// Removes `name`'s generation files other than `keep`'s (a compaction killed before its
/// manifest, or the generation a compaction replaced). Best effort: a file that cannot be
/// removed is only a warning.
pub(crate) fn remove_stale(dir: &Path, name: &str, keep: Option<&Path>) {
    let keep = keep
        .and_then(|k| k.file_name())
        .map(|k| k.to_string_lossy().into_owned());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let kept = keep.as_ref().is_some_and(|k| file.starts_with(k.as_str()));
        if is_generation_file(&file, name) && !kept {
            if let Err(err) = std::fs::remove_file(e.path()) {
                tracing::warn!(path = %e.path().display(), %err, "cannot remove an old generation file");
            }
        }
    }
}

/// Writes `view` as generation file `file` with the copies its base had (step 1).
fn write_generation(view: &View, file: &Path) -> Result<()> {
    let emb = view.embeddings();
    crate::save(emb, file, crate::Format::Native, &Default::default())?;
    let base = view.base();
    if base.embeddings.int8().is_some() || cfg!(feature = "index") {
        let written = crate::load(file, &Default::default())?;
        if base.embeddings.int8().is_some() {
            crate::quant::Int8Rows::build(&written)?.save(&crate::quant::sidecar_path(file))?;
        }
        #[cfg(feature = "index")]
        if let Some(index) = &base.index {
            let i = index.info();
            let params = crate::index::IndexParams {
                m: i.m,
                ef_construction: i.ef_construction,
                ef_search: i.ef_search,
                restrict_vocab: (i.indexed < i.vocab_len).then_some(i.indexed),
                ..Default::default()
            };
            let graph = match renumbered(view, &written, i.ef_search)? {
                Some(g) => crate::index::HnswIndex::from_graph(g),
                None => crate::index::HnswIndex::build(&written, params, None)?,
            };
            graph.save(&crate::index::default_path(file))?;
        }
    }
    wal::sync_dir(file.parent().unwrap_or(Path::new(".")))
}

/// The graph of the compacted rows `written` from the graph of the base and the delta (see
/// `delta_graph`), grown first to the view's last rows: its nodes renumbered into the merged
/// order, the rows the view no longer holds dropped. None without such a graph (a base whose
/// graph does not cover it): the caller builds one.
#[cfg(feature = "index")]
fn renumbered(
    view: &View,
    written: &crate::embeddings::Embeddings,
    ef_search: usize,
) -> Result<Option<crate::index::Graph>> {
    let Some(g) = view.cover_delta()? else {
        return Ok(None);
    };
    let n = g.base_len();
    let new_id = |id: u32| {
        let id = id as usize;
        let m = match id.checked_sub(n) {
            None => view.merged_of_base(id),
            Some(d) => view.merged_of_delta(d),
        };
        m.map(|m| m as u32)
    };
    let start = Instant::now();
    let graph = crate::index::build::renumber(g.index().graph(), &new_id, written, ef_search)?;
    tracing::info!(
        rows = written.len(),
        seconds = start.elapsed().as_secs_f64(),
        "renumbered the graph of the base and the delta for the compacted rows"
    );
    Ok(Some(graph))
}

/// Where [`LiveModel::compact_until`] stops: after a step, as a kill there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Step {
    Files,
    Manifest,
    Done,
}

impl LiveModel {
    /// Compacts the model: the merged rows become a new base file beside the old, named by the
    /// manifest, and the log keeps only the writes made meanwhile (see this module's steps).
    /// Writes go on during the compaction; one compaction runs at a time.
    pub fn compact(&self) -> Result<Compacted> {
        self.compact_until(Step::Done)
    }

    pub(crate) fn compact_until(&self, stop: Step) -> Result<Compacted> {
        let _one = lock(&self.compacting);
        let start = Instant::now();
        let Some(dir) = self.dir.clone() else {
            return Err(Error::invalid(format!(
                "model {:?} is in memory only: it has no log folder to compact into (save its view instead)",
                self.name
            )));
        };
        // The last write logged, and where the log's next record will start: the records
        // from there on are the ones the new log carries.
        let (view, offset) = {
            let w = lock(&self.writer);
            (w.latest.clone(), w.wal.as_ref().map_or(0, Wal::len))
        };
        let lsn = view.lsn();
        // A base must hold acknowledged writes only: wait for this one's sync.
        self.wait_synced(lsn)?;
        if view.delta().is_empty() {
            return Ok(Compacted {
                base: lock(&self.writer).base_file.clone(),
                lsn,
                rows: view.len(),
                written: false,
                seconds: start.elapsed().as_secs_f64(),
            });
        }
        let file = generation_file(&dir, &self.name, lsn);
        write_generation(&view, &file)?;
        let done = |file: &Path| Compacted {
            base: Some(file.to_owned()),
            lsn,
            rows: view.len(),
            written: true,
            seconds: start.elapsed().as_secs_f64(),
        };
        if stop == Step::Files {
            return Ok(done(&file));
        }
        let searcher = Arc::new(open_base(&file)?);
        write_manifest(&dir, &self.name, &file, lsn)?;
        if stop == Step::Manifest {
            return Ok(done(&file));
        }
        self.switch(searcher, &file, lsn, offset)?;
        remove_stale(&dir, &self.name, Some(&file));
        tracing::info!(model = %self.name, base = %file.display(), lsn, rows = view.len(), seconds = start.elapsed().as_secs_f64(), "compacted");
        Ok(done(&file))
    }

    /// Step 3: a new log with the writes since `lsn`, and a delta over the new base.
    fn switch(
        &self,
        base: Arc<crate::search::Searcher>,
        file: &Path,
        lsn: u64,
        offset: u64,
    ) -> Result<()> {
        let mut w = lock(&self.writer);
        let dims = base.embeddings.dims();
        let path = w
            .wal
            .as_ref()
            .expect("a model with a log folder has a log")
            .path()
            .to_owned();
        let tail = wal::records_from(&path, dims, offset, lsn)?;
        let mut delta = Delta::new(&base.embeddings);
        tail.iter()
            .for_each(|r| apply(&mut delta, &base.embeddings, &r.op));
        let wal = match Wal::create_with(&path, dims, lsn, &tail) {
            Ok(wal) => wal,
            Err(e) => {
                // The old log may or may not have been replaced: no write may go on.
                w.broken = Some(format!("the log could not be replaced: {e}"));
                return Err(e);
            }
        };
        let last = wal.last_lsn();
        *w = super::Writer::new(Some(wal), base, Some(file.to_owned()), delta, last);
        let view = w.latest.clone();
        // The new log is synced whole: every write in it is durable.
        let mut s = lock(&self.sync);
        s.synced = s.synced.max(last);
        *lock(&self.published) = view;
        self.synced.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_files_are_told_apart() {
        assert!(is_generation_file("news.17.wvec", "news"));
        assert!(is_generation_file("news.17.wvec.i8", "news"));
        assert!(is_generation_file("news.0.wvec.idx", "news"));
        assert!(!is_generation_file("news.wvec", "news"));
        assert!(!is_generation_file("news.v2.17.wvec", "news"));
        assert!(!is_generation_file("news.17.wvec.bak", "news"));
        assert!(!is_generation_file("other.17.wvec", "news"));
        assert!(is_generation_file("news.v2.17.wvec", "news.v2"));
    }

    #[test]
    fn manifests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_manifest(dir.path(), "m").unwrap(), None);
        write_manifest(dir.path(), "m", &dir.path().join("m.5.wvec"), 5).unwrap();
        let m = read_manifest(dir.path(), "m").unwrap().unwrap();
        assert_eq!((m.base, m.lsn), (dir.path().join("m.5.wvec"), 5));
        let p = manifest_path(dir.path(), "m");
        for (bad, says) in [
            ("nonsense\n", "not a manifest"),
            (
                "wordvec live manifest 1\nbase ../x.wvec\nlsn 5\n",
                "file name in the log folder",
            ),
            (
                "wordvec live manifest 1\nbase m.5.wvec\nlsn five\n",
                "not a number",
            ),
            (
                "wordvec live manifest 1\nfile m.5.wvec\nlsn 5\n",
                "line 2 should be `base ...`",
            ),
        ] {
            std::fs::write(&p, bad).unwrap();
            let err = read_manifest(dir.path(), "m").unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("m.manifest"),
                "{bad:?}: {err}"
            );
        }
    }
}

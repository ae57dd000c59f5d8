//! File plumbing shared by the readers and writers: mapping a file, decompressing gzip, and
//! writing atomically.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use memmap2::Mmap;

use crate::bytes::Backing;
use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressRead};

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Maps `path` read-only. An empty file is an error (it cannot hold embeddings, and some systems
/// refuse to map it).
pub(crate) fn map_file(path: &Path) -> Result<Arc<Backing>> {
    let file = open_file(path)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?
        .len();
    if len == 0 {
        return Err(Error::format(path, None, 0, "the file is empty"));
    }
    // SAFETY: the map is read-only and private to this process. Another process truncating or
    // rewriting the file while it is mapped could change or remove the bytes under us (SIGBUS on
    // Linux); that is the documented contract of every mmap-based reader, and wordvec itself
    // only ever replaces files by renaming a new file into place, which leaves existing maps of
    // the old file intact.
    let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io("cannot map", path, e))?;
    #[cfg(unix)]
    {
        // Advisory only: we read front to back once (vocabulary pass), then everywhere.
        let _ = map.advise(memmap2::Advice::WillNeed);
    }
    Ok(Arc::new(Backing::Mmap(map)))
}

/// Decompresses a whole (possibly multi-member) gzip file into memory, streaming, with `progress`
/// counting compressed bytes.
pub(crate) fn gunzip_file(path: &Path, progress: &dyn Progress) -> Result<Arc<Backing>> {
    let file = open_file(path)?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?
        .len();
    progress.start("", len);
    let cap = gzip_cap(len);
    let reader = ProgressRead {
        inner: std::io::BufReader::with_capacity(1 << 20, file),
        progress,
    };
    let mut out = Vec::with_capacity((len as usize).saturating_mul(2));
    flate2::read::MultiGzDecoder::new(reader)
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::format(
                path,
                None,
                0,
                format!(
                    "gzip stream broken after {} decompressed bytes: {e}",
                    out.len()
                ),
            )
        })?;
    progress.finish();
    if out.len() as u64 > cap {
        return Err(Error::format(
            path,
            None,
            cap,
            format!(
                "decompresses to more than {cap} bytes, {}x its {len} compressed bytes: not an embeddings file (a gzip bomb?)",
                crate::limits::MAX_GZIP_RATIO
            ),
        ));
    }
    if out.is_empty() {
        return Err(Error::format(
            path,
            None,
            0,
            "the gzip file decompresses to nothing",
        ));
    }
    Ok(Arc::new(Backing::Owned(out)))
}

/// The most bytes a gzip file of `compressed` bytes may decompress to: a gzip bomb expands about
/// 1000x, embedding files 1.1-4x and text corpora 3-5x, so the output is capped at
/// [`crate::limits::MAX_GZIP_RATIO`] times the input (plus 1 MiB for tiny files).
pub fn gzip_cap(compressed: u64) -> u64 {
    compressed
        .saturating_mul(crate::limits::MAX_GZIP_RATIO)
        .saturating_add(1 << 20)
}

/// The error a [`GzipRatioGuard`] reads once its input has decompressed past [`gzip_cap`].
#[derive(Debug, Clone, Copy)]
pub struct GzipBomb {
    /// The cap passed.
    pub cap: u64,
    /// The compressed size.
    pub compressed: u64,
}

impl std::fmt::Display for GzipBomb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "decompresses to more than {} bytes, {}x its {} compressed bytes (a gzip bomb?)",
            self.cap,
            crate::limits::MAX_GZIP_RATIO,
            self.compressed
        )
    }
}

impl std::error::Error for GzipBomb {}

/// A decompressing reader that fails with [`GzipBomb`] (inside an `io::Error`) once it has
/// produced more than [`gzip_cap`] of the compressed size: a streamed reader's guard, where
/// the crate's own gunzip of a whole file checks the whole output.
pub struct GzipRatioGuard<R> {
    inner: R,
    read: u64,
    bomb: GzipBomb,
}

impl<R: Read> GzipRatioGuard<R> {
    /// Guards `inner`, the decompressed stream of a file of `compressed` bytes.
    pub fn new(inner: R, compressed: u64) -> Self {
        GzipRatioGuard {
            inner,
            read: 0,
            bomb: GzipBomb {
                cap: gzip_cap(compressed),
                compressed,
            },
        }
    }
}

impl<R: Read> Read for GzipRatioGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.bomb.cap {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                self.bomb,
            ));
        }
        Ok(n)
    }
}

/// Opens a file for reading; a directory is an error that says so (the OS would only say "No
/// such device" when it is mapped).
pub fn open_file(path: &Path) -> Result<File> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            "cannot read",
            path,
            std::io::Error::other("it is a directory, not a file"),
        ));
    }
    Ok(file)
}

/// Prefix of every temporary file and folder wordvec writes; the process id follows, so that a
/// later write can tell the leftovers of a killed process from the work of a live one.
const TEMP_PREFIX: &str = ".wordvec-";

/// Where an output file will be written, checked before any work is done for it.
///
/// - A symbolic link is followed: the file it points to is replaced, the link stays.
/// - Anything that exists there and is not a regular file (a device such as `/dev/null`, a
///   directory, a FIFO, a socket) is refused: renaming over it would replace a system node.
/// - The replaced file's permissions (and, for root, its owner) are kept.
#[derive(Debug, Clone)]
pub struct OutputPath {
    target: std::path::PathBuf,
    #[cfg(unix)]
    keep: Option<(u32, u32, u32)>,
}

impl OutputPath {
    /// Checks `path` as an output.
    pub fn new(path: &Path) -> Result<Self> {
        let target = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(path)
                .map_err(|e| Error::io("cannot follow the symbolic link", path, e))?,
            _ => path.to_owned(),
        };
        let existing = match std::fs::metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("cannot stat", &target, e)),
        };
        if let Some(m) = &existing {
            if !m.is_file() {
                return Err(Error::io(
                    "refusing to replace",
                    &target,
                    std::io::Error::other(
                        "it is not a regular file (a directory, device, FIFO or socket); give a file path",
                    ),
                ));
            }
        }
        Ok(OutputPath {
            #[cfg(unix)]
            keep: existing.map(|m| {
                use std::os::unix::fs::MetadataExt;
                (m.mode() & 0o7777, m.uid(), m.gid())
            }),
            target,
        })
    }

    /// The file that will be written (the link's target for a symbolic link).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The folder the file goes in.
    fn dir(&self) -> &Path {
        match self.target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// A temporary file beside the target, after removing what killed processes left there.
    pub fn temp_file(&self) -> Result<tempfile::NamedTempFile> {
        self.temp_file_ending("")
    }

    /// [`OutputPath::temp_file`] whose name ends in `ending` (".png" for writers that pick the
    /// format by extension).
    pub fn temp_file_ending(&self, ending: &str) -> Result<tempfile::NamedTempFile> {
        let dir = self.dir();
        remove_stale_temps(dir);
        let mut builder = tempfile::Builder::new();
        let prefix = format!("{TEMP_PREFIX}{}-", std::process::id());
        let suffix = format!(".tmp{ending}");
        builder.prefix(&prefix).suffix(&suffix);
        // Temporary files are private (0600); the file they become is an ordinary output file.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        builder
            .tempfile_in(dir)
            .map_err(|e| Error::io("cannot create a temporary file in", dir, e))
    }

    /// A temporary folder beside the target (for writers that produce several files).
    pub fn temp_dir(&self) -> Result<tempfile::TempDir> {
        let dir = self.dir();
        remove_stale_temps(dir);
        tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .suffix(".tmp")
            .tempdir_in(dir)
            .map_err(|e| Error::io("cannot create a temporary folder in", dir, e))
    }

    /// Syncs `tmp`, gives it the replaced file's permissions and owner, and renames it over the
    /// target.
    pub fn commit(&self, tmp: tempfile::NamedTempFile) -> Result<()> {
        let path = &self.target;
        tmp.as_file()
            .sync_all()
            .map_err(|e| Error::io("cannot sync", path, e))?;
        #[cfg(unix)]
        if let Some((mode, uid, gid)) = self.keep {
            use std::os::unix::fs::PermissionsExt;
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("cannot set the permissions of", path, e))?;
            // Only root may give a file away; for anyone else the file is already theirs.
            let _ = std::os::unix::fs::fchown(tmp.as_file(), Some(uid), Some(gid));
        }
        tmp.persist(path)
            .map_err(|e| Error::io("cannot rename into place", path, e.error))?;
        Ok(())
    }
}

/// Removes `.wordvec-PID-*.tmp` files and folders in `dir` whose process is gone (killed while
/// writing). Best effort: what cannot be read or removed is left.
fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
            continue;
        };
        if !(name.ends_with(".tmp") || name.contains(".tmp.")) {
            continue;
        }
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || process_alive(pid) {
            continue;
        }
        let p = entry.path();
        let gone = if entry.file_type().is_ok_and(|t| t.is_dir()) {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        if gone.is_ok() {
            tracing::info!(path = %p.display(), pid, "removed a temporary file left by a killed process");
        }
    }
}

/// Whether process `pid` exists (Linux: its `/proc` entry; elsewhere assumed alive, so nothing
/// is removed).
fn process_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// Refuses to write `output` when it is one of `inputs` (the same file, by device and inode, or
/// by path where the file does not exist yet): writing it would destroy the data being read.
pub fn check_not_input(output: &Path, inputs: &[&Path]) -> Result<()> {
    let out = std::fs::canonicalize(output).ok();
    for input in inputs {
        let same = match (std::fs::metadata(output), std::fs::metadata(input)) {
            (Ok(a), Ok(b)) => same_file(&a, &b),
            _ => false,
        } || (out.is_some() && out == std::fs::canonicalize(input).ok());
        if same {
            return Err(Error::invalid(format!(
                "the output {} is also an input: choose another output path",
                output.display()
            )));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    false
}

/// Writes `path` atomically: `write` fills a temporary file in the same folder, which is synced
/// and then renamed over `path` (see [`OutputPath`] for links, non-regular files and
/// permissions). Readers never see a half-written file, and a failure leaves any old file
/// untouched; the temporary file of a process killed meanwhile is removed by the next write.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let out = OutputPath::new(path)?;
    let mut tmp = out.temp_file()?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io("cannot write", path, e))?;
    }
    out.commit(tmp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_failure_keeps_old() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.txt");
        write_atomically(&p, |w| w.write_all(b"one")).unwrap();
        write_atomically(&p, |w| w.write_all(b"two")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let err = write_atomically(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        // No temporary files left behind, and the result is readable by others.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o644
            );
        }
    }

    #[test]
    fn empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.bin");
        std::fs::write(&p, b"").unwrap();
        let err = map_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("empty.bin") && err.contains("the file is empty"),
            "{err}"
        );
    }
}

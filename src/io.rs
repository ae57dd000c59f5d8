//! File plumbing shared by the readers and writers: mapping a file, decompressing gzip, and
//! writing atomically.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use indicatif::ProgressBar;
use memmap2::Mmap;

use crate::bytes::Backing;
use crate::error::{Error, Result};

/// The two bytes every gzip member starts with.
pub const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Maps `path` read-only. An empty file is an error (it cannot hold embeddings, and some systems
/// refuse to map it).
pub fn map_file(path: &Path) -> Result<Arc<Backing>> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
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
pub fn gunzip_file(path: &Path, progress: &ProgressBar) -> Result<Arc<Backing>> {
    let file = File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot stat", path, e))?
        .len();
    progress.set_length(len);
    let reader = progress.wrap_read(std::io::BufReader::with_capacity(1 << 20, file));
    let mut out = Vec::with_capacity((len as usize).saturating_mul(2));
    flate2::read::MultiGzDecoder::new(reader)
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
    progress.finish_and_clear();
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

/// Writes `path` atomically: `write` fills a temporary file in the same folder, which is synced
/// and then renamed over `path`. Readers never see a half-written file, and a failure leaves any
/// old file untouched.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<&mut File>) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".wordvec-").suffix(".tmp");
    // Temporary files are private (0600); the file they become is an ordinary output file.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| Error::io("cannot create a temporary file in", dir, e))?;
    {
        let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file_mut());
        write(&mut w)
            .and_then(|_| w.flush())
            .map_err(|e| Error::io("cannot write", path, e))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(|e| Error::io("cannot sync", path, e))?;
    tmp.persist(path)
        .map_err(|e| Error::io("cannot rename into place", path, e.error))?;
    Ok(())
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

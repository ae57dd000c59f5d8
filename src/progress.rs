//! Progress of long work (loading, writing, indexing, reading a corpus), reported to whoever
//! called: the library counts, a front end draws.
//!
//! The library never draws anything itself. Functions that take a while accept a
//! [`Progress`] (through [`crate::LoadOptions::progress`], [`crate::SaveOptions::progress`], the
//! index builder or the trainer); the `wordvec` binary implements it with terminal progress bars,
//! a server might log it, and a caller that does not care passes nothing ([`Silent`]).
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use wordvec::progress::Progress;
//!
//! /// Remembers the size of the last stage.
//! #[derive(Default)]
//! struct Total(AtomicU64);
//! impl Progress for Total {
//!     fn start(&self, _message: &str, total: u64) {
//!         self.0.store(total, Ordering::Relaxed);
//!     }
//!     fn set_position(&self, _done: u64) {}
//! }
//!
//! let total = std::sync::Arc::new(Total::default());
//! let emb = wordvec::default_model::load()?;
//! let dir = tempfile::tempdir().unwrap();
//! let opts = wordvec::SaveOptions::default().progress(total.clone());
//! wordvec::save(&emb, &dir.path().join("m.wvec"), wordvec::Format::Native, &opts)?;
//! assert_eq!(total.0.load(Ordering::Relaxed), emb.len() as u64);
//! # Ok::<(), wordvec::Error>(())
//! ```

use std::sync::Arc;

/// Receives the progress of one piece of work: a total in units (bytes, words, rows), then
/// positions, then the end. Called from any thread, a few thousand times per run at most, so an
/// implementation may take a lock.
pub trait Progress: Send + Sync {
    /// A new stage starts: `message` says what it does, `total` how many units it has.
    fn start(&self, message: &str, total: u64) {
        let _ = (message, total);
    }
    /// `done` units of the current stage are finished.
    fn set_position(&self, done: u64);
    /// `n` more units are finished. The default keeps no count, so implementations that receive
    /// increments (reads of a stream) override it.
    fn inc(&self, n: u64) {
        let _ = n;
    }
    /// The work ended (the front end may clear its bar).
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn set_position(&self, _done: u64) {}
}

/// A shared progress receiver, as option structs hold one.
pub type SharedProgress = Arc<dyn Progress>;

/// The receiver in `p`, or [`Silent`].
pub(crate) fn or_silent(p: &Option<SharedProgress>) -> &dyn Progress {
    match p {
        Some(p) => p.as_ref(),
        None => &Silent,
    }
}

/// A reader that reports the bytes read through it.
pub(crate) struct ProgressRead<'a, R> {
    pub(crate) inner: R,
    pub(crate) progress: &'a dyn Progress,
}

impl<R: std::io::Read> std::io::Read for ProgressRead<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Default)]
    struct Count(AtomicU64);
    impl Progress for Count {
        fn set_position(&self, done: u64) {
            self.0.store(done, Ordering::Relaxed);
        }
        fn inc(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    #[test]
    fn reads_are_counted() {
        let c = Count::default();
        let mut r = ProgressRead {
            inner: &[7u8; 1000][..],
            progress: &c,
        };
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(c.0.load(Ordering::Relaxed), 1000);
    }
}

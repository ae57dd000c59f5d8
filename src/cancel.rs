//! Cooperative cancellation: a request that has been answered DEADLINE_EXCEEDED, or whose client
//! went away, stops using the CPU.
//!
//! A [`Cancel`] is a shared flag. Work run inside [`Cancel::scope`] sees it: the parallel scans
//! ([`crate::topk::top_k`]) look at it as they go and stop with [`Error::Cancelled`], and loops
//! over many queries call [`check`] between them. The token travels in a thread-local rather
//! than as an argument of every query function, so that the query API stays the same for
//! callers that never cancel; the scan reads it once on the calling thread and hands it to its
//! worker threads explicitly.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// A cancellation flag shared between the one who cancels and the work.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

thread_local! {
    static CURRENT: RefCell<Option<Cancel>> = const { RefCell::new(None) };
}

impl Cancel {
    /// A flag not yet raised.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Raises the flag: work under it stops at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the flag is raised.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Runs `f` with this flag as the current one on this thread (restoring the previous one
    /// afterwards, also when `f` panics).
    pub fn scope<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Cancel>);
        impl Drop for Restore {
            fn drop(&mut self) {
                let prev = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = prev);
            }
        }
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _restore = Restore(prev);
        f()
    }
}

/// The flag of the innermost [`Cancel::scope`] on this thread.
pub fn current() -> Option<Cancel> {
    CURRENT.with(|c| c.borrow().clone())
}

/// `Err(Cancelled)` when the current flag is raised.
pub fn check() -> Result<()> {
    match current() {
        Some(c) if c.is_cancelled() => Err(cancelled()),
        _ => Ok(()),
    }
}

/// The error of cancelled work.
pub fn cancelled() -> Error {
    Error::Cancelled("the request's deadline passed or its client went away".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_restore() {
        assert!(current().is_none());
        let a = Cancel::new();
        a.scope(|| {
            assert!(check().is_ok());
            a.cancel();
            assert!(matches!(check(), Err(Error::Cancelled(_))));
            let b = Cancel::new();
            b.scope(|| assert!(check().is_ok()));
            assert!(check().is_err());
        });
        assert!(current().is_none());
    }
}

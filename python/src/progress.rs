//! [`PyProgress`]: the library's progress reports delivered to a Python callable.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

use pyo3::prelude::*;
use wordvec::progress::Progress;

/// A Python callable that receives progress: `callback(message, done, total)`, called with the
/// GIL taken for each report (a few thousand per run at most). Errors it raises are printed and
/// otherwise ignored: progress must not stop the work.
pub(crate) struct PyProgress {
    callback: Py<PyAny>,
    message: RwLock<String>,
    total: AtomicU64,
    done: AtomicU64,
}

impl PyProgress {
    pub(crate) fn new(callback: Py<PyAny>) -> Arc<PyProgress> {
        Arc::new(PyProgress {
            callback,
            message: RwLock::new(String::new()),
            total: 0.into(),
            done: 0.into(),
        })
    }

    fn report(&self) {
        let message = self.message.read().map(|m| m.clone()).unwrap_or_default();
        let (done, total) = (self.done.load(Relaxed), self.total.load(Relaxed));
        Python::attach(|py| {
            if let Err(e) = self.callback.call1(py, (message, done, total)) {
                e.print(py);
            }
        });
    }
}

impl Progress for PyProgress {
    fn start(&self, message: &str, total: u64) {
        if let Ok(mut m) = self.message.write() {
            *m = message.to_owned();
        }
        self.total.store(total, Relaxed);
        self.done.store(0, Relaxed);
        self.report();
    }
    fn set_position(&self, done: u64) {
        self.done.store(done, Relaxed);
        self.report();
    }
    fn inc(&self, n: u64) {
        self.done.fetch_add(n, Relaxed);
        self.report();
    }
    fn finish(&self) {
        self.done.store(self.total.load(Relaxed), Relaxed);
        self.report();
    }
}

/// Calls `callback(report)` with the GIL taken, `fill` writing the report's items into a dict;
/// errors the callback raises are printed and otherwise ignored, as [`PyProgress`]'s.
pub(crate) fn call_with_dict(
    callback: &Py<PyAny>,
    fill: impl FnOnce(&Bound<'_, pyo3::types::PyDict>) -> PyResult<()>,
) {
    Python::attach(|py| {
        let d = pyo3::types::PyDict::new(py);
        let called = fill(&d).and_then(|()| callback.call1(py, (d,)).map(drop));
        if let Err(e) = called {
            e.print(py);
        }
    });
}

//! [`Keys`]: the words by row without building a list of every word. A list of three million
//! Python strings costs half a second and 200 MB, which a query does not need; this reads the
//! word of a row from the vocabulary when asked. Indexing it is a type slot of its own (no
//! Python frame). The Python package subclasses it (`wordvec._Keys`) for the rest of a
//! sequence's methods, and uses it wherever it needs a few words or one pass over them; gensim's
//! `index_to_key` is a real list, made on first use (`wordvec._WordList`).

use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PySlice, PyString};

use crate::vectors::Vectors;

/// The words of a [`Vectors`], by row.
#[pyclass(subclass, frozen, module = "wordvec._wordvec")]
pub struct Keys {
    v: Py<Vectors>,
}

#[pymethods]
impl Keys {
    #[new]
    fn new(v: Py<Vectors>) -> Keys {
        Keys { v }
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.v.get().len_now(py)
    }

    /// The word of row `i` (negative: from the end), or a list of the words of a slice.
    fn __getitem__<'py>(
        &self,
        py: Python<'py>,
        i: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v = self.v.get();
        if let Ok(i) = i.extract::<isize>() {
            // One look at the vocabulary: the length and the word under the same lock.
            let word = v.peek(py, |c| {
                let e = c.embeddings();
                let row = if i < 0 { i + e.len() as isize } else { i };
                (0..e.len() as isize)
                    .contains(&row)
                    .then(|| e.word(row as usize).to_owned())
            });
            return match word {
                Some(w) => Ok(PyString::new(py, &w).into_any()),
                None => Err(PyIndexError::new_err("index_to_key index out of range")),
            };
        }
        let n = v.len_now(py);
        if let Ok(slice) = i.cast::<PySlice>() {
            let ix = slice.indices(n as isize)?;
            let rows: Vec<usize> = (0..ix.slicelength)
                .map(|k| (ix.start + k as isize * ix.step) as usize)
                .collect();
            return Ok(PyList::new(py, v.words_at(py, &rows))?.into_any());
        }
        Err(PyTypeError::new_err(
            "index_to_key indices must be integers or slices",
        ))
    }
}

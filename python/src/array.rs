//! [`Array`]: a read-only `float32` buffer that NumPy adopts without a copy through the array
//! interface.

use std::sync::{Arc, RwLock};

use crate::state::State;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// What owns the memory an [`Array`] points into: held, never read, so that the memory lives
/// as long as the array.
#[allow(dead_code)]
pub(crate) enum Owner {
    /// Floats of its own.
    Floats(Vec<f32>),
    /// Rows of a set of embeddings (mapped from a file, or held in memory), kept alive here.
    /// The binding never replaces or drops the vectors a state was made with: it sets their
    /// index, or moves them, unchanged, into the live model that the same state then holds (a
    /// move that leaves the rows where they are), so the rows stay put for as long as this is
    /// held.
    Rows(Arc<RwLock<State>>),
}

/// A read-only `float32` array that NumPy reads in place: `numpy.asarray(a)` makes an array whose
/// base is `a`, so the memory (a file's mapping included) lives as long as any NumPy array made
/// from it, whatever happens to the object it came from.
#[pyclass(frozen, module = "wordvec._wordvec")]
pub struct Array {
    owner: Owner,
    /// Address of the first float.
    addr: usize,
    shape: Vec<usize>,
    /// Bytes between rows (2-D only).
    row_stride: Option<usize>,
}

impl Array {
    /// An array of its own floats.
    pub(crate) fn floats(values: Vec<f32>, shape: Vec<usize>) -> Array {
        let addr = values.as_ptr() as usize;
        Array {
            owner: Owner::Floats(values),
            addr,
            shape,
            row_stride: None,
        }
    }

    /// `rows x dims` floats at `addr`, rows `row_stride` bytes apart, in memory `owner` keeps.
    pub(crate) fn rows(owner: Owner, addr: usize, shape: [usize; 2], row_stride: usize) -> Array {
        Array {
            owner,
            addr,
            shape: shape.to_vec(),
            row_stride: Some(row_stride),
        }
    }
}

#[pymethods]
impl Array {
    /// NumPy's array interface (version 3): shape, little-endian float32, the address marked
    /// read-only, and the row stride.
    #[getter]
    fn __array_interface__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("version", 3)?;
        d.set_item("shape", PyTuple::new(py, &self.shape)?)?;
        d.set_item("typestr", "<f4")?;
        d.set_item("data", (self.addr, true))?;
        match self.row_stride {
            Some(s) => d.set_item("strides", (s, 4usize))?,
            None => d.set_item("strides", py.None())?,
        }
        Ok(d)
    }

    /// Whether the floats are the rows of the embeddings themselves (no copy was made).
    #[getter]
    fn shares_rows(&self) -> bool {
        matches!(self.owner, Owner::Rows(_))
    }
}

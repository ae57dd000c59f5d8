//! `wordvec._wordvec`: the compiled half of the `wordvec` Python package.
//!
//! This module is deliberately small and low-level: handles on the library's objects
//! ([`vectors::Vectors`], [`classifier::Classifier`]), functions that take and return plain
//! Python values, and [`array::Array`], a read-only buffer that NumPy adopts without a copy
//! through the array interface. gensim's API (argument forms, defaults, exceptions, NumPy
//! conversions) is written in Python on top, in `wordvec/__init__.py`, where it is easiest to
//! match gensim line by line; `wordvec/_wordvec.pyi` describes this module for type checkers.
//!
//! One module per concept: [`vectors`] (a set of vectors and its index, held as the library's
//! `Searcher`), [`keys`] (the words by row without a list),
//! [`keyed`] (the base class of `KeyedVectors`: its everyday calls as type slots), [`state`] (the vectors as opened, or an in-memory live model over them once written to),
//! [`search`] (similarity queries), [`index`], [`eval`] (gensim's evaluations),
//! [`training`] (word2vec and fastText), [`classifier`], [`array`], [`progress`] (callbacks) and [`errors`]
//! (exceptions and argument conversions). The decisions are the library's: the binding converts
//! arguments and answers, and decides nothing the command line decides too.
//!
//! Every load, scan, evaluation, build and training run releases the GIL (`py.detach`), so
//! queries from several Python threads run in parallel on the library's own thread pool.

mod array;
mod classifier;
mod errors;
mod eval;
mod index;
mod keyed;
mod keys;
mod progress;
mod search;
mod state;
mod training;
mod vectors;

use pyo3::prelude::*;

/// The module.
#[pymodule]
fn _wordvec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<vectors::Vectors>()?;
    m.add_class::<keys::Keys>()?;
    m.add_class::<keyed::KeyedBase>()?;
    keyed::install_get_index(&m.py().get_type::<keyed::KeyedBase>())?;
    m.add_class::<array::Array>()?;
    m.add_class::<classifier::Classifier>()?;
    m.add_function(wrap_pyfunction!(training::train, m)?)?;
    m.add_class::<training::Word2VecModel>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

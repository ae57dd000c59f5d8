//! [`KeyedBase`]: the compiled base class of the Python package's `KeyedVectors`. gensim's
//! everyday calls (`kv[word]`, `word in kv`, `len(kv)`, `kv.get_index(word)`,
//! `kv.get_vecattr(word, attr)`) cost a Python frame each when written in Python, which is most
//! of their time; here they are type slots and methods of the class itself. They handle the
//! common case (a `str` key, float32 vectors) and hand everything else to the Python class
//! (`_getitem`, `_get_index`, `_get_vecattr`), which decides as gensim does. A key is read where Python stores it (the `str`'s own UTF-8), not copied.
//!
//! `get_index` is the one method not made by pyo3: see [`install_get_index`].

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PySequence, PyString, PyTuple, PyType};

use crate::vectors::Vectors;

/// What `kv[word]` reads a row from (see [`KeyedBase::__getitem__`]).
enum Raw {
    /// Not decided since the last write: ask the Python class (`_raw_rows`).
    Unknown,
    /// The raw rows as a NumPy array over the stored floats: `kv[word]` is a view of a row.
    Matrix(Py<PyAny>),
    /// Rows not stored raw and back to back: `kv[word]` copies the row's bytes into an array
    /// (rows of this many dimensions).
    Copy(usize),
    /// Not float32 vectors (`datatype=`): the Python class answers.
    Python,
}

/// The base class of `wordvec.KeyedVectors`.
#[pyclass(subclass, frozen, module = "wordvec._wordvec")]
pub struct KeyedBase {
    v: OnceLock<Py<Vectors>>,
    raw: Mutex<Raw>,
    /// The Python class's per-key attributes (`_attrs`: name to an array by row), shared.
    attrs: OnceLock<Py<PyDict>>,
    /// gensim's `key_to_index` once made (by its first read, or by `get_index` after as many
    /// look-ups as there are words): `get_index` answers from it. Forgotten by `_reset`.
    index_dict: IndexDict,
    /// `get_index` calls answered from the vocabulary since the last `_reset` (counted
    /// without an atomic read-modify-write: a lost count only delays the dict).
    lookups: AtomicUsize,
    /// `_reset`s so far: a `key_to_index` made before the latest one is stale.
    generation: AtomicUsize,
}

/// `numpy.frombuffer` and the little-endian float32 dtype, looked up once.
static FROMBUFFER: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

impl KeyedBase {
    fn handle(&self) -> PyResult<&Py<Vectors>> {
        self.v
            .get()
            .ok_or_else(|| PyRuntimeError::new_err("KeyedVectors.__init__ was not called"))
    }

    /// How `kv[word]` reads a row now (one look at the lock), asking the Python class after a
    /// write.
    fn read(slf: &Bound<'_, Self>) -> PyResult<Read> {
        let py = slf.py();
        let this = slf.get();
        let known = match &*this.raw.lock().unwrap_or_else(PoisonError::into_inner) {
            Raw::Matrix(m) => Some(Read::View(m.clone_ref(py))),
            Raw::Copy(dims) => Some(Read::Copy(*dims)),
            Raw::Python => Some(Read::Python),
            Raw::Unknown => None,
        };
        if let Some(k) = known {
            return Ok(k);
        }
        let m = slf.call_method1("_raw_rows", ())?;
        let (raw, read) = if m.is_instance_of::<pyo3::types::PyBool>() {
            let dims = this.handle()?.get().dims_now(py);
            (Raw::Copy(dims), Read::Copy(dims))
        } else {
            (Raw::Matrix(m.clone().unbind()), Read::View(m.unbind()))
        };
        *this.raw.lock().unwrap_or_else(PoisonError::into_inner) = raw;
        Ok(read)
    }
}

/// `array[i]` through the sequence protocol (`PySequence_GetItem`): NumPy answers it as the
/// subscript does (a row view of a matrix, a scalar of a vector) without turning `i` into a
/// Python int and parsing it as an index (`get_vecattr`: 0.38 us a call before, 0.32 after, on
/// the 94,532-word benchmark model).
fn item<'py>(array: &Bound<'py, PyAny>, i: usize) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: the cast only skips pyo3's check that the type is registered as a
    // `collections.abc.Sequence` (NumPy's arrays are not); `PySequenceMethods::get_item` calls
    // `PySequence_GetItem`, which takes any object and raises `TypeError` for one without
    // `sq_item`, so no method of `PySequence` relies on what the check would have proved.
    unsafe { array.cast_unchecked::<PySequence>() }.get_item(i)
}

/// What [`KeyedBase::read`] decided for one `kv[word]`.
enum Read {
    /// A view of the row in this array.
    View(Py<PyAny>),
    /// An array of a copy of the row's bytes (rows of this many dimensions).
    Copy(usize),
    /// The Python class's `_getitem`.
    Python,
}

#[pymethods]
impl KeyedBase {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> KeyedBase {
        KeyedBase {
            v: OnceLock::new(),
            raw: Mutex::new(Raw::Unknown),
            attrs: OnceLock::new(),
            index_dict: IndexDict(AtomicPtr::new(std::ptr::null_mut())),
            lookups: AtomicUsize::new(0),
            generation: AtomicUsize::new(0),
        }
    }

    /// Binds the vectors and the per-key attributes' dict (once, from `KeyedVectors.__init__`);
    /// `fast` is false for vectors read with another `datatype` than float32, whose rows the
    /// Python class converts.
    fn _bind(
        &self,
        py: Python<'_>,
        handle: Py<Vectors>,
        fast: bool,
        attrs: Py<PyDict>,
    ) -> PyResult<()> {
        let once = || PyRuntimeError::new_err("KeyedVectors are bound once");
        self.v.set(handle).map_err(|_| once())?;
        self.attrs.set(attrs).map_err(|_| once())?;
        self._reset(py, fast);
        Ok(())
    }

    /// Gives every Python subclass (`KeyedVectors`, `FastTextKeyedVectors`, a user's) a
    /// `get_index` of its own, unless it defines one: see [`install_get_index`].
    #[classmethod]
    #[pyo3(signature = (**_kwargs))]
    fn __init_subclass__(
        cls: &Bound<'_, PyType>,
        _kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let py = cls.py();
        let name = pyo3::intern!(py, "get_index");
        // Only where the class would otherwise inherit a fast-call `get_index` (this class's or
        // an ancestor's): a `get_index` of its own, or one a Python ancestor defines, is kept.
        let inherited = cls.getattr(name)?;
        let ours = py.get_type::<KeyedBase>().getattr(name)?;
        if !cls.getattr(pyo3::intern!(py, "__dict__"))?.contains(name)?
            && inherited.get_type().is(ours.get_type())
        {
            install_get_index(cls)?;
        }
        Ok(())
    }

    /// Forgets how rows are read and the `key_to_index` dict (after a write, or a change of
    /// `datatype`).
    fn _reset(&self, py: Python<'_>, fast: bool) {
        *self.raw.lock().unwrap_or_else(PoisonError::into_inner) =
            if fast { Raw::Unknown } else { Raw::Python };
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.index_dict.set(py, None);
        self.lookups.store(0, Ordering::Relaxed);
    }

    /// The count of `_reset`s so far, for [`KeyedBase::_use_index`].
    fn _generation(&self) -> usize {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps `key_to_index` (gensim's dict, just made by the Python class from the rows as they
    /// were at `generation`) as the class's `_key_to_index`, and `get_index` answers from it,
    /// until the next `_reset`; unless a `_reset` came since `generation` (a write in another
    /// thread while the dict was made), when it is stale and neither is done. One step under
    /// the GIL: no Python code runs between the check and the stores.
    fn _use_index(
        slf: &Bound<'_, Self>,
        key_to_index: Py<PyDict>,
        generation: usize,
    ) -> PyResult<bool> {
        let this = slf.get();
        if this.generation.load(Ordering::Acquire) != generation {
            return Ok(false);
        }
        // An instance attribute: stored in the instance's dict, no Python code runs.
        slf.setattr(pyo3::intern!(slf.py(), "_key_to_index"), &key_to_index)?;
        this.index_dict.set(slf.py(), Some(key_to_index));
        Ok(true)
    }

    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.handle()?.get().len_now(py))
    }

    fn __contains__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<bool> {
        match key.cast::<PyString>().map(|s| s.to_str()) {
            Ok(Ok(word)) => Ok(self.handle()?.get().contains_now(py, word)),
            // Not a `str`, or one no UTF-8 file can hold (a lone surrogate): not a word.
            Ok(Err(_)) | Err(_) => Ok(false),
        }
    }

    /// `kv[word]`: a view of the stored row, or an array of its bytes; anything else (other
    /// keys, lists, words outside the vocabulary) is the Python class's `_getitem`.
    fn __getitem__<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        // A `str` no UTF-8 file can hold (a lone surrogate) is the Python class's to refuse.
        if let Some(word) = key
            .cast_exact::<PyString>()
            .ok()
            .and_then(|s| s.to_str().ok())
        {
            let v = slf.get().handle()?.get();
            match Self::read(slf)? {
                Read::View(m) => {
                    if let Some(i) = v.index_now(py, word) {
                        return item(m.bind(py), i);
                    }
                }
                Read::Copy(dims) => {
                    // The row goes straight into the bytes object (no buffer between); making
                    // a bytes object runs no Python code, so the lock may be held meanwhile.
                    let mut found = false;
                    let bytes = PyBytes::new_with(py, 4 * dims, |buf| {
                        found = v.row_into_now(word, false, buf);
                        Ok(())
                    })?;
                    if found {
                        let (frombuffer, dtype) = FROMBUFFER.get_or_try_init(py, || {
                            let np = py.import("numpy")?;
                            let dtype = np.getattr("dtype")?.call1(("<f4",))?;
                            PyResult::Ok((np.getattr("frombuffer")?.unbind(), dtype.unbind()))
                        })?;
                        return frombuffer.bind(py).call1((bytes, dtype.bind(py)));
                    }
                }
                Read::Python => {}
            }
        }
        slf.call_method1("_getitem", (key,))
    }

    /// `get_vecattr(key, attr)`: a word of the vocabulary whose attribute array is made is
    /// answered here (its entry, as gensim's `expandos[attr][index]`); everything else (the
    /// first read of `count`, rows added since, other keys) by the Python class's
    /// `_get_vecattr`.
    fn get_vecattr<'py>(
        slf: &Bound<'py, Self>,
        key: &Bound<'py, PyAny>,
        attr: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let this = slf.get();
        if let (Ok(s), Some(attrs)) = (key.cast_exact::<PyString>(), this.attrs.get()) {
            if let Some(values) = attrs.bind(py).get_item(attr)? {
                if let Some(i) = this.handle()?.get().index_now(py, s.to_str()?) {
                    if i < values.len()? {
                        return item(&values, i);
                    }
                }
            }
        }
        slf.call_method1("_get_vecattr", (key, attr))
    }
}

/// Installs `get_index(key, default=None)` on `ty` (`KeyedBase` or a subclass): the row of
/// `key`, `KeyError` when absent (unless `default` is given). A `str` of the vocabulary is answered here; every other call
/// (other keys, a `default`, words outside the vocabulary) goes to the Python class's
/// `_get_index`, which decides as gensim does.
///
/// Why by hand: the method is a C function of CPython's own fast-call convention, installed as
/// a method descriptor of the class, not a pyo3 method. gensim's `get_index` is a Python
/// function and a dict look-up (0.107 us a call on the benchmark machine); a pyo3 method pays
/// for its argument parser, its panic guard and its thread-state bookkeeping (two
/// thread-local look-ups) on every call, and took 0.163 us, most of it that machinery. The
/// call itself here costs what a built-in method's does. Each class gets its own descriptor
/// (`KeyedBase.__init_subclass__`): CPython's specialised call of a method descriptor applies
/// only to instances of the descriptor's very class, and checks the type of a subclass's
/// instance the slow way otherwise.
pub(crate) fn install_get_index(ty: &Bound<'_, PyType>) -> PyResult<()> {
    if !ty.is_subclass_of::<KeyedBase>()? {
        // The function's safety rests on every `self` being a `KeyedBase`.
        return Err(PyRuntimeError::new_err(
            "get_index belongs to KeyedBase's classes",
        ));
    }
    // One definition for every class's descriptor, made once and kept for the process (as a
    // number: a raw pointer is not `Sync`); CPython only reads it.
    static DEF: OnceLock<usize> = OnceLock::new();
    let def = *DEF.get_or_init(|| {
        Box::leak(Box::new(ffi::PyMethodDef {
            ml_name: c"get_index".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                PyCFunctionFastWithKeywords: get_index,
            },
            ml_flags: ffi::METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: c"get_index($self, key, default=None)\n--\n\nThe row of `key`; `KeyError` when absent, unless `default` is given (an int row passes through).".as_ptr(),
        })) as *mut ffi::PyMethodDef as usize
    }) as *mut ffi::PyMethodDef;
    // SAFETY: `ty` is a live type object (the GIL is held: `ty` is a `Bound`) and `def` a method
    // definition that lives as long as the process (leaked once), as CPython requires of one.
    let descr = unsafe { ffi::PyDescr_NewMethod(ty.as_type_ptr(), def) };
    // SAFETY: `PyDescr_NewMethod` returns a new reference, or null with an exception set.
    let descr = unsafe { Bound::from_owned_ptr_or_err(ty.py(), descr) }?;
    ty.setattr("get_index", descr)
}

/// The C function of [`install_get_index`]'s method.
///
/// # Safety
/// Called by CPython only, as a `METH_FASTCALL | METH_KEYWORDS` method of `KeyedBase` or of a
/// subclass ([`install_get_index`] checks): with the thread attached, `slf` an instance of
/// that class (the method descriptor checks it before every call, and refuses other objects
/// with a `TypeError`), so a `KeyedBase`, `args` holding `nargs`
/// positional arguments followed by one value per name in the tuple `kwnames` (or null),
/// each a borrowed reference valid for the call.
unsafe extern "C" fn get_index(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
) -> *mut ffi::PyObject {
    // SAFETY: the thread is attached (this function's contract). pyo3's own count of attached
    // frames is not raised: nothing below drops a `Py` (only `Bound`s, which release their
    // references at once) before the slow path, which attaches through pyo3.
    let py = unsafe { Python::assume_attached() };
    if nargs == 1 && kwnames.is_null() {
        // SAFETY: one positional argument, a borrowed reference (the contract).
        let key = unsafe { *args };
        // SAFETY: `key` is a live object; the check reads its type pointer.
        if unsafe { ffi::PyUnicode_CheckExact(key) } != 0 {
            // SAFETY: `slf` is a live `KeyedBase` (the contract: the descriptor checked its
            // type), borrowed for the call; `key` a live `str` (checked just above).
            let (this, key) = unsafe {
                (
                    Bound::from_borrowed_ptr(py, slf),
                    Bound::from_borrowed_ptr(py, key),
                )
            };
            // SAFETY: see above: `this` is a `KeyedBase`, `key` a `str`.
            let (this, key) = unsafe {
                (
                    this.cast_unchecked::<KeyedBase>(),
                    key.cast_unchecked::<PyString>(),
                )
            };
            if let Some(found) = this.get().index_from_dict(key) {
                return found;
            }
            if let (Ok(v), Ok(word)) = (this.get().handle(), key.to_str()) {
                if let Some(i) = v.get().index_now(py, word) {
                    this.get().counted_lookup(this, v.get());
                    // SAFETY: the thread is attached; a new reference, or null with an error.
                    return unsafe { ffi::PyLong_FromSize_t(i) };
                }
            }
        }
    }
    Python::attach(|py| {
        // SAFETY: as above, `slf` and the `nargs` positional arguments and the values of the
        // names in `kwnames` are live borrowed references for the call.
        let (this, positional, names) = unsafe {
            let names = (!kwnames.is_null())
                .then(|| Bound::from_borrowed_ptr(py, kwnames).cast_into_unchecked::<PyTuple>());
            let total = nargs as usize + names.as_ref().map_or(0, |n| n.len());
            let all: Vec<Bound<'_, PyAny>> = (0..total)
                .map(|i| Bound::from_borrowed_ptr(py, *args.add(i)))
                .collect();
            (Bound::from_borrowed_ptr(py, slf), all, names)
        };
        let (pos, kw) = positional.split_at(nargs as usize);
        let kwargs = PyDict::new(py);
        if let Some(names) = names {
            for (name, value) in names.iter().zip(kw) {
                kwargs.set_item(name, value)?;
            }
        }
        check_get_index_arguments(pos.len(), &kwargs)?;
        this.call_method("_get_index", PyTuple::new(py, pos)?, Some(&kwargs))
            .map(Bound::into_ptr)
    })
    .unwrap_or_else(|e| {
        Python::attach(|py| e.restore(py));
        std::ptr::null_mut()
    })
}

/// The arguments of `get_index(key, default=None)`, refused as CPython refuses those of gensim's
/// (a Python method), with its messages: the call goes on to `_get_index`, whose name the
/// caller should not see.
fn check_get_index_arguments(positional: usize, kwargs: &Bound<'_, PyDict>) -> PyResult<()> {
    use pyo3::exceptions::PyTypeError;
    const NAME: &str = "KeyedVectors.get_index()";
    for name in kwargs.keys() {
        let name = name.str()?.to_string();
        let at = match name.as_str() {
            "key" => 0,
            "default" => 1,
            _ => {
                return Err(PyTypeError::new_err(format!(
                    "{NAME} got an unexpected keyword argument '{name}'"
                )))
            }
        };
        if positional > at && positional <= 2 {
            return Err(PyTypeError::new_err(format!(
                "{NAME} got multiple values for argument '{name}'"
            )));
        }
    }
    if positional > 2 {
        return Err(PyTypeError::new_err(format!(
            "{NAME} takes from 2 to 3 positional arguments but {} were given",
            positional + 1
        )));
    }
    if positional == 0 && !kwargs.contains("key")? {
        return Err(PyTypeError::new_err(format!(
            "{NAME} missing 1 required positional argument: 'key'"
        )));
    }
    Ok(())
}

impl KeyedBase {
    /// `key`'s row from the `key_to_index` dict when there is one and it holds `key` (a new
    /// reference to the dict's own int); `None` otherwise.
    fn index_from_dict(&self, key: &Bound<'_, PyString>) -> Option<*mut ffi::PyObject> {
        self.index_dict.get(key)
    }

    /// Counts a `get_index` answered from the vocabulary; once there have been as many as the
    /// vocabulary has words, makes gensim's `key_to_index` (the Python class's property) and
    /// answers from it from then on. So a program that looks words up only now and then never
    /// pays for the dict (some 130 bytes a word, 0.4 GB at 3M words), and one that looks up
    /// as many words as the vocabulary holds pays for it once, at about what those look-ups
    /// cost (the ski-rental bound: at most twice the cheaper of the two ways).
    fn counted_lookup(&self, this: &Bound<'_, KeyedBase>, v: &Vectors) {
        let n = self.lookups.load(Ordering::Relaxed).saturating_add(1);
        self.lookups.store(n, Ordering::Relaxed);
        if n % 1024 != 0 || n < v.len_now(this.py()) {
            return;
        }
        Python::attach(|py| {
            // The property makes the dict and hands it to `_use_index`.
            if this.getattr(pyo3::intern!(py, "key_to_index")).is_err() {
                // No memory for the dict, say: go on from the vocabulary, try again later.
                self.lookups.store(0, Ordering::Relaxed);
            }
        });
    }
}

/// `KeyedBase`'s `key_to_index` dict for `get_index`: a strong reference, or null.
///
/// Not a `Mutex<Option<Py<PyDict>>>`: `get_index` reads it on every call, and a lock's two
/// atomic read-modify-writes were a tenth of the call. It is read and replaced only with the
/// GIL held: by `get_index` (a method, so called attached), and by `_reset`, `_use_index` and
/// [`KeyedBase::counted_lookup`] (all attached). The extension is built for the stable ABI
/// (abi3), which CPython's free-threaded builds do not load, so the GIL serialises every one
/// of those accesses.
struct IndexDict(AtomicPtr<ffi::PyObject>);

impl IndexDict {
    /// Replaces the dict (`None`: forgets it), releasing the one it held.
    fn set(&self, py: Python<'_>, dict: Option<Py<PyDict>>) {
        let new = dict.map_or(std::ptr::null_mut(), Py::into_ptr);
        let old = self.0.swap(new, Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: `old` was a strong reference this cell owned (from `Py::into_ptr`), and
            // the swap took it out: it is released once, here, attached.
            drop(unsafe { Bound::from_owned_ptr(py, old) });
        }
    }

    /// The dict's value for the exact `str` `key`, as a new reference; `None` when there is no
    /// dict or it lacks `key`.
    fn get(&self, key: &Bound<'_, PyString>) -> Option<*mut ffi::PyObject> {
        let dict = self.0.load(Ordering::Acquire);
        if dict.is_null() {
            return None;
        }
        let py = key.py();
        // SAFETY: `dict` is a live dict: this cell holds a strong reference to it, and only
        // `set` releases one, which needs the GIL this thread holds (see the type's docs).
        // The look-up is done under a reference of its own, so even a key of the user's whose
        // `__eq__` ran Python code that reset the cell could not free the dict under the
        // look-up. `key` is a live `str`. `PyDict_GetItemWithError` returns a borrowed
        // reference (taken at once) or null, with an error set only on failure.
        unsafe {
            let dict = Bound::from_borrowed_ptr(py, dict);
            let value = ffi::PyDict_GetItemWithError(dict.as_ptr(), key.as_ptr());
            if value.is_null() {
                if !ffi::PyErr_Occurred().is_null() {
                    // A dict its user broke (a key that cannot be compared): the vocabulary
                    // or the Python class decides.
                    ffi::PyErr_Clear();
                }
                return None;
            }
            ffi::Py_IncRef(value);
            Some(value)
        }
    }
}

impl Drop for IndexDict {
    fn drop(&mut self) {
        let p = *self.0.get_mut();
        if !p.is_null() {
            // SAFETY: the strong reference the cell owned, released once.
            Python::attach(|py| drop(unsafe { Bound::from_owned_ptr(py, p) }));
        }
    }
}

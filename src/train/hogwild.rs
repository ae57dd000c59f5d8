//! Matrices shared by training threads without locks (Hogwild!, Niu et al. 2011).
//!
//! word2vec, gensim and fastText all let threads update the embedding matrices concurrently
//! with no synchronisation: updates are sparse (a handful of rows per step), so two threads
//! rarely touch the same row at once, and an update lost to a race costs nothing measurable.
//! [`SharedMatrix`] gives threads raw row pointers; no `&` or `&mut` reference to shared rows is
//! ever created, so no two threads hold aliasing references, and the compiler cannot assume a row
//! is unchanged between two accesses.

use std::cell::UnsafeCell;

/// A row-major `rows x dims` matrix of `f32` that threads update concurrently through raw
/// pointers.
pub struct SharedMatrix {
    data: Box<[UnsafeCell<f32>]>,
    dims: usize,
}

// SAFETY: the matrix is shared across threads only through `row_ptr`, whose users perform
// plain 4-byte aligned loads and stores of `f32` (indivisible on every platform Rust targets
// for training, so no torn floats). Concurrent updates of one element can lose an update; that
// is the documented Hogwild! trade-off, not a memory-safety problem: no reference to shared
// data is created, and `f32` has no invalid bit patterns.
unsafe impl Sync for SharedMatrix {}

impl SharedMatrix {
    /// Wraps `values` (`rows * dims` floats).
    pub fn new(values: Vec<f32>, dims: usize) -> Self {
        assert!(dims > 0 && values.len() % dims == 0, "matrix shape");
        // `UnsafeCell<f32>` has the same layout as `f32`.
        let data = values.into_iter().map(UnsafeCell::new).collect();
        SharedMatrix { data, dims }
    }

    /// Dimensions per row.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.data.len() / self.dims
    }

    /// A raw pointer to the first of `dims` floats of row `row`.
    ///
    /// Panics when `row` is out of range, so the `dims` floats behind the pointer always exist.
    #[inline(always)]
    pub fn row_ptr(&self, row: usize) -> *mut f32 {
        assert!(row < self.rows(), "row {row} out of range");
        self.data[row * self.dims].get()
    }

    /// The values, once no thread uses the matrix any more.
    #[cfg(test)]
    pub fn into_vec(self) -> Vec<f32> {
        self.data
            .into_vec()
            .into_iter()
            .map(UnsafeCell::into_inner)
            .collect()
    }

    /// A copy of the values (for checkpoints between epochs, when no thread is writing).
    pub fn snapshot(&mut self) -> Vec<f32> {
        self.data.iter_mut().map(|c| *c.get_mut()).collect()
    }
}

/// `a . b` over `n` floats.
///
/// # Safety
/// `a` and `b` must each point to `n` readable floats.
#[inline(always)]
pub unsafe fn dot(a: *const f32, b: *const f32, n: usize) -> f32 {
    // 32 independent partial sums (four 8-lane registers with AVX) hide the latency of the
    // multiply-adds; then 8 at a time; then the tail. No single sum is reordered, so the
    // compiler vectorises without fast-math.
    let mut acc = [0f32; 32];
    let mut i = 0;
    while i + 32 <= n {
        for (k, s) in acc.iter_mut().enumerate() {
            // SAFETY: i + k < n, within both buffers (caller's contract).
            unsafe { *s += *a.add(i + k) * *b.add(i + k) };
        }
        i += 32;
    }
    while i + 8 <= n {
        for (k, s) in acc[..8].iter_mut().enumerate() {
            // SAFETY: i + k < n.
            unsafe { *s += *a.add(i + k) * *b.add(i + k) };
        }
        i += 8;
    }
    let mut lanes = [0f32; 8];
    for (k, l) in lanes.iter_mut().enumerate() {
        *l = (acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24]);
    }
    let mut sum = (lanes[0] + lanes[4])
        + (lanes[1] + lanes[5])
        + (lanes[2] + lanes[6])
        + (lanes[3] + lanes[7]);
    while i < n {
        // SAFETY: i < n.
        unsafe { sum += *a.add(i) * *b.add(i) };
        i += 1;
    }
    sum
}

/// `y += alpha * x` over `n` floats.
///
/// # Safety
/// `x` must point to `n` readable floats and `y` to `n` writable floats.
#[inline(always)]
pub unsafe fn axpy(alpha: f32, x: *const f32, y: *mut f32, n: usize) {
    for i in 0..n {
        // SAFETY: i < n, within both buffers (caller's contract).
        unsafe { *y.add(i) += alpha * *x.add(i) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_kernels() {
        let mut m = SharedMatrix::new((0..20).map(|i| i as f32).collect(), 10);
        assert_eq!((m.rows(), m.dims()), (2, 10));
        let (a, b) = (m.row_ptr(0), m.row_ptr(1));
        // SAFETY: both rows hold 10 floats and nothing else touches `m`.
        unsafe {
            assert_eq!(
                dot(a, b, 10),
                (0..10).map(|i| (i * (i + 10)) as f32).sum::<f32>()
            );
            axpy(2.0, b, a, 10);
        }
        assert_eq!(m.snapshot()[..3], [20.0, 23.0, 26.0]);
        assert_eq!(m.into_vec()[19], 19.0);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn row_out_of_range_panics_before_any_access() {
        SharedMatrix::new(vec![0.0; 4], 2).row_ptr(2);
    }
}

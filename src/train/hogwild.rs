//! Matrices shared by training threads without locks (Hogwild!, Niu et al. 2011), without data
//! races.
//!
//! word2vec, gensim and fastText all let threads update the embedding matrices concurrently
//! with no synchronisation: updates are sparse (a handful of rows per step), so two threads
//! rarely touch the same row at once, and an update lost to a race costs nothing measurable.
//!
//! In C those racing plain loads and stores are undefined behaviour, and so they are in Rust: a
//! data race is two accesses to one location, at least one a write, not both atomic. The
//! optimiser may assume none happens (keep a value in a register across a loop, invent a store),
//! whatever the processor would do. So every element of a [`SharedMatrix`] is an [`AtomicU32`]
//! holding an `f32`'s bits, and every access to a shared row is a relaxed atomic load or store of
//! one element. Relaxed atomics order nothing and cost nothing on x86-64 or AArch64: they compile
//! to the same `mov` as a plain access. What they forbid is the optimiser's assumption, and, with
//! it, auto-vectorisation: LLVM never turns atomic accesses into vector loads.
//!
//! The kernels therefore come in one trait, [`Kernels`], with three implementations:
//!
//! | implementation | where | loads and stores of shared rows |
//! |---|---|---|
//! | [`Portable`] on x86-64 | every x86-64 CPU | `movups` of 4 floats, in `asm!` |
//! | [`Avx2Fma`] | x86-64 with AVX2 and FMA, picked at run time | `vmovups` of 8 floats, in `asm!` |
//! | [`Portable`] elsewhere | any target | one `AtomicU32` load or store an element |
//!
//! **Why a vector load in `asm!` is a relaxed atomic load of each element.** An `asm!` block is
//! opaque to the compiler, and the language lets it do anything that Rust code could do in its
//! place. Each element of a shared row is 4-byte aligned (the matrix is a slice of `AtomicU32`),
//! and x86-64 reads and writes a 4-byte aligned location indivisibly, also inside a 16- or
//! 32-byte vector access: a vector access that is split (at a cache-line boundary, or into halves)
//! is split between elements, never inside one, since every split point is a multiple of 4 bytes
//! from a 4-byte aligned start. So `movups xmm, [p]` reads four values that four relaxed atomic
//! loads, in some order, could have read, and a store writes four values as four relaxed atomic
//! stores would: exactly what the abstract machine allows for relaxed atomics, which never race.
//! The asm blocks touch only the `dims` elements of a row that the caller's [`Row`] borrows, and
//! declare `nostack` and `preserves_flags` (and `readonly` for loads).
//!
//! The arithmetic between those loads and stores is the same as before the atomics, with the same
//! order of operations (multiply, then add: no fused multiply-add, as the language does not
//! contract `a * b + c`), so training gives the same vectors, bit for bit, for one thread and a
//! seed. Inputs that belong to one thread (the context mean of CBOW, the copied context rows of
//! batched skip-gram, the gradient `neu1e`) are ordinary `&[f32]` and `&mut [f32]`.

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use crate::error::{Error, Result};

/// An empty vector with room for `n` floats, to fill with a matrix that training reads and
/// writes at random rows (a fallible allocation; `what` names it in the error). On Linux its
/// memory is advised as huge pages (`madvise(MADV_HUGEPAGE)`, before anything touches it, so
/// that the first touch maps huge pages): a subword model's input matrix of 800 MB spans
/// 200,000 pages of 4 KiB, far more than the TLB holds, so nearly every row a step reads at
/// random also waits for a page walk (itself a cache miss); in 2 MiB pages it is 400 pages,
/// which the second-level TLB holds at once. Where the system gives no huge pages (transparent
/// huge pages off) the advice does nothing.
pub(crate) fn reserve_matrix(what: &str, n: usize) -> Result<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::invalid(format!("{what}: cannot allocate {n} values of 4 bytes")))?;
    advise_huge_pages(&mut v);
    Ok(v)
}

/// Asks the kernel for huge pages under the allocation of `v` (see [`reserve_matrix`]).
#[cfg(target_os = "linux")]
fn advise_huge_pages(v: &mut Vec<f32>) {
    const HUGE: usize = 2 << 20;
    let bytes = v.capacity() * std::mem::size_of::<f32>();
    if bytes < 2 * HUGE {
        return;
    }
    // SAFETY: sysconf reads a constant of the system; it touches no memory of the program.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = v.as_mut_ptr() as usize;
    // The whole pages inside the allocation: madvise takes a page-aligned start.
    let (lo, hi) = (start.next_multiple_of(page), (start + bytes) / page * page);
    if hi > lo {
        // SAFETY: `lo..hi` is whole pages inside the allocation `v` owns (rounded inwards), so
        // no other object shares them; MADV_HUGEPAGE is advice on how the kernel backs them:
        // it changes neither their contents nor their protection, and a failure (huge pages
        // disabled) changes nothing.
        unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
    }
}

/// Huge pages are advised on Linux only.
#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: &mut Vec<f32>) {}

/// A row-major `rows x dims` matrix of `f32` that threads update concurrently, each element an
/// atomic.
pub(crate) struct SharedMatrix {
    data: Box<[AtomicU32]>,
    dims: usize,
    // Kept beside `dims` so that `row`, called for every row a training step touches, checks
    // its argument without a division.
    rows: usize,
}

impl SharedMatrix {
    /// Wraps `values` (`rows * dims` floats). The conversion reuses `values`'s allocation
    /// (`AtomicU32` and `f32` have one size and alignment), so a large matrix is not copied.
    pub(crate) fn new(values: Vec<f32>, dims: usize) -> Self {
        assert!(
            dims > 0 && values.len().is_multiple_of(dims),
            "matrix shape"
        );
        let data: Box<[AtomicU32]> = values
            .into_iter()
            .map(|v| AtomicU32::new(v.to_bits()))
            .collect();
        let rows = data.len() / dims;
        SharedMatrix { data, dims, rows }
    }

    /// Dimensions per row.
    pub(crate) fn dims(&self) -> usize {
        self.dims
    }

    /// Number of rows.
    #[cfg(test)]
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Row `row`, to read and update through the [`Kernels`].
    ///
    /// Panics when `row` is out of range.
    #[inline(always)]
    pub(crate) fn row(&self, row: usize) -> Row<'_> {
        assert!(row < self.rows, "row {row} out of range");
        Row(&self.data[row * self.dims..(row + 1) * self.dims])
    }

    /// A copy of the values (between epochs, for checkpoints, or at the end).
    pub(crate) fn snapshot(&self) -> Vec<f32> {
        self.data
            .iter()
            .map(|c| f32::from_bits(c.load(Relaxed)))
            .collect()
    }

    /// The values, once no thread uses the matrix any more (reusing the allocation, as
    /// [`SharedMatrix::new`]).
    pub(crate) fn into_vec(self) -> Vec<f32> {
        self.data
            .into_vec()
            .into_iter()
            .map(|c| f32::from_bits(c.into_inner()))
            .collect()
    }
}

/// One row of a [`SharedMatrix`]: `dims` atomic floats that other threads may be updating.
#[derive(Clone, Copy)]
pub(crate) struct Row<'a>(&'a [AtomicU32]);

impl Row<'_> {
    /// Its number of floats.
    #[allow(clippy::len_without_is_empty)] // a row of a matrix is never empty
    #[inline(always)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// Element `i`, a relaxed atomic load.
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> f32 {
        f32::from_bits(self.0[i].load(Relaxed))
    }

    /// Sets element `i`, a relaxed atomic store.
    #[inline(always)]
    pub(crate) fn set(&self, i: usize, v: f32) {
        self.0[i].store(v.to_bits(), Relaxed)
    }

    /// Where element 0 lives, for the vector kernels' `asm!`.
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    fn ptr(&self) -> *mut f32 {
        self.0.as_ptr() as *mut f32
    }

    /// Asks the CPU to bring the row into the cache: training reads rows of large matrices at
    /// random, so a step that knows its rows early hides most of their latency by asking for all
    /// of them before it reads the first. A hint only (no access in the memory model; a no-op
    /// off x86-64).
    #[inline(always)]
    pub(crate) fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            let p = self.ptr().cast::<i8>().cast_const();
            for off in (0..self.0.len() * 4).step_by(64) {
                // SAFETY: a prefetch reads nothing the program can observe and never faults;
                // `off` stays inside the row anyway. SSE is part of every x86-64 CPU.
                unsafe { _mm_prefetch::<_MM_HINT_T0>(p.add(off)) };
            }
        }
    }
}

/// The arithmetic of training on shared rows, for one instruction set. Every function takes
/// slices and rows of one length (checked) and reads or writes shared rows only through relaxed
/// atomic accesses (see the module docs).
///
/// The functions are `unsafe` because an implementation may need a CPU feature.
///
/// # Safety
/// The caller of any function must make sure the CPU supports the implementation's
/// instruction set ([`Avx2Fma`]: AVX2 and FMA; [`Portable`]: nothing).
pub(crate) trait Kernels: Copy {
    /// `x . y` of two thread-local slices (a shared row is copied first: see [`Kernels::copy`]),
    /// summed as 32 running partial sums, then 8, then the tail.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn dot(x: &[f32], y: &[f32]) -> f32;
    /// `y += alpha * row`.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn axpy_from(alpha: f32, row: Row<'_>, y: &mut [f32]);
    /// `row += alpha * x`.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn axpy_into(alpha: f32, x: &[f32], row: Row<'_>);
    /// `out = row`.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn copy(row: Row<'_>, out: &mut [f32]);
    /// `row = x`.
    ///
    /// # Safety
    /// See the trait.
    unsafe fn write(x: &[f32], row: Row<'_>);
}

/// The kernels every CPU of the target runs: 4-float vectors on x86-64, one element at a time
/// elsewhere.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Portable;

/// The kernels for x86-64 CPUs with AVX2 and FMA: 8-float vectors.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Fma;

/// The partial sums of [`Kernels::dot`] folded as the scalar definition folds them: lane `k`
/// of 8 is `(acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24])`, then
/// `(l0 + l4) + (l1 + l5) + (l2 + l6) + (l3 + l7)`.
#[inline(always)]
fn fold8(lanes: [f32; 8]) -> f32 {
    (lanes[0] + lanes[4]) + (lanes[1] + lanes[5]) + (lanes[2] + lanes[6]) + (lanes[3] + lanes[7])
}

/// The definition of every kernel, one element at a time through relaxed atomics: the
/// [`Portable`] kernels off x86-64, and the reference the vector kernels are tested against.
mod scalar {
    use super::Row;

    #[cfg(any(test, not(target_arch = "x86_64")))]
    #[inline(always)]
    pub(super) fn dot(x: &[f32], y: &[f32]) -> f32 {
        let n = x.len();
        assert_eq!(n, y.len(), "dot of unequal lengths");
        let mut acc = [0f32; 32];
        let mut i = 0;
        while i + 32 <= n {
            for (k, s) in acc.iter_mut().enumerate() {
                *s += x[i + k] * y[i + k];
            }
            i += 32;
        }
        while i + 8 <= n {
            for (k, s) in acc[..8].iter_mut().enumerate() {
                *s += x[i + k] * y[i + k];
            }
            i += 8;
        }
        let mut lanes = [0f32; 8];
        for (k, l) in lanes.iter_mut().enumerate() {
            *l = (acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24]);
        }
        let mut sum = super::fold8(lanes);
        while i < n {
            sum += x[i] * y[i];
            i += 1;
        }
        sum
    }

    #[inline(always)]
    pub(super) fn axpy_from(alpha: f32, row: Row<'_>, y: &mut [f32]) {
        assert_eq!(y.len(), row.len(), "axpy of unequal lengths");
        for (i, v) in y.iter_mut().enumerate() {
            *v += alpha * row.get(i);
        }
    }

    #[inline(always)]
    pub(super) fn axpy_into(alpha: f32, x: &[f32], row: Row<'_>) {
        assert_eq!(x.len(), row.len(), "axpy of unequal lengths");
        for (i, &v) in x.iter().enumerate() {
            row.set(i, row.get(i) + alpha * v);
        }
    }

    #[inline(always)]
    pub(super) fn copy(row: Row<'_>, out: &mut [f32]) {
        assert_eq!(out.len(), row.len(), "copy of unequal lengths");
        for (i, v) in out.iter_mut().enumerate() {
            *v = row.get(i);
        }
    }

    #[inline(always)]
    pub(super) fn write(x: &[f32], row: Row<'_>) {
        assert_eq!(x.len(), row.len(), "write of unequal lengths");
        for (i, &v) in x.iter().enumerate() {
            row.set(i, v);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
impl Kernels for Portable {
    #[inline(always)]
    unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
        scalar::dot(x, y)
    }
    #[inline(always)]
    unsafe fn axpy_from(alpha: f32, row: Row<'_>, y: &mut [f32]) {
        scalar::axpy_from(alpha, row, y)
    }
    #[inline(always)]
    unsafe fn axpy_into(alpha: f32, x: &[f32], row: Row<'_>) {
        scalar::axpy_into(alpha, x, row)
    }
    #[inline(always)]
    unsafe fn copy(row: Row<'_>, out: &mut [f32]) {
        scalar::copy(row, out)
    }
    #[inline(always)]
    unsafe fn write(x: &[f32], row: Row<'_>) {
        scalar::write(x, row)
    }
}

/// Writes the x86-64 kernels for one vector width: `$v` the vector type, `$w` its floats, the
/// `asm!` load and store of shared rows, and the intrinsics (`$zero`, `$loadu`, `$storeu`,
/// `$add`, `$mul`, `$set1`; unaligned loads and stores of thread-local data are ordinary Rust).
/// Each kernel walks the row `$w` floats at a time and finishes the tail with the scalar
/// definition, so every kernel computes exactly what [`scalar`] computes.
#[cfg(target_arch = "x86_64")]
macro_rules! x86_kernels {
    (
        $(#[$attr:meta])*
        mod $name:ident, $v:ty, $w:literal, $loadasm:literal, $storeasm:literal, $reg:ident,
        $zero:ident, $loadu:ident, $storeu:ident, $add:ident, $mul:ident, $set1:ident
    ) => {
        mod $name {
            use std::arch::asm;
            use std::arch::x86_64::*;

            use super::{fold8, scalar, Row};

            /// One vector of floats of a shared row from `p`: relaxed atomic loads of each
            /// (module docs).
            ///
            /// # Safety
            /// The vector at `p` must lie inside one [`Row`]; the CPU must have the instruction
            /// set.
            $(#[$attr])*
            #[inline]
            unsafe fn load(p: *const f32) -> $v {
                let v: $v;
                // SAFETY: the caller keeps the vector at `p` inside a live row, whose elements are
                // 4-byte aligned atomics; a vector load of them is a relaxed atomic load of each
                // (module docs). The block reads only that memory and touches no stack or flag.
                unsafe {
                    asm!($loadasm, v = out($reg) v, p = in(reg) p,
                         options(nostack, preserves_flags, readonly));
                }
                v
            }

            /// Writes one vector of floats of a shared row at `p`: relaxed atomic stores of each.
            ///
            /// # Safety
            /// As for [`load`].
            $(#[$attr])*
            #[inline]
            unsafe fn store(p: *mut f32, v: $v) {
                // SAFETY: as in `load`: relaxed atomic stores of elements of a live row.
                unsafe {
                    asm!($storeasm, p = in(reg) p, v = in($reg) v,
                         options(nostack, preserves_flags));
                }
            }

            /// # Safety
            /// The CPU must have the instruction set.
            $(#[$attr])*
            #[inline]
            pub(super) unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
                let n = x.len();
                assert_eq!(n, y.len(), "dot of unequal lengths");
                let (a, b) = (x.as_ptr(), y.as_ptr());
                // 32 partial sums: vector m holds lanes m * W .. (m + 1) * W, W floats a vector.
                const M: usize = 32 / $w;
                // SAFETY: every index is below n, inside `x` and `y`.
                unsafe {
                    let mut acc = [$zero(); M];
                    let mut i = 0;
                    while i + 32 <= n {
                        for (m, s) in acc.iter_mut().enumerate() {
                            let o = i + m * $w;
                            *s = $add(*s, $mul($loadu(a.add(o)), $loadu(b.add(o))));
                        }
                        i += 32;
                    }
                    while i + 8 <= n {
                        for (m, s) in acc[..8 / $w].iter_mut().enumerate() {
                            let o = i + m * $w;
                            *s = $add(*s, $mul($loadu(a.add(o)), $loadu(b.add(o))));
                        }
                        i += 8;
                    }
                    // lane k of 8 = (acc[k] + acc[k + 8]) + (acc[k + 16] + acc[k + 24]).
                    let mut lanes = [0f32; 8];
                    for (j, chunk) in lanes.chunks_exact_mut($w).enumerate() {
                        // Vector j of each group of 8 lanes; g vectors a group.
                        let g = 8 / $w;
                        let v = $add($add(acc[j], acc[j + g]), $add(acc[j + 2 * g], acc[j + 3 * g]));
                        $storeu(chunk.as_mut_ptr(), v);
                    }
                    let mut sum = fold8(lanes);
                    while i < n {
                        sum += x[i] * y[i];
                        i += 1;
                    }
                    sum
                }
            }

            /// # Safety
            /// The CPU must have the instruction set.
            $(#[$attr])*
            #[inline]
            pub(super) unsafe fn axpy_from(alpha: f32, row: Row<'_>, y: &mut [f32]) {
                let n = y.len();
                assert_eq!(n, row.len(), "axpy of unequal lengths");
                let (x, yp) = (row.ptr(), y.as_mut_ptr());
                let mut i = 0;
                // SAFETY: every vector lies below n, inside the row and `y`.
                unsafe {
                    let va = $set1(alpha);
                    // Four vectors a step, all loads before the stores: the asm blocks are
                    // barriers to the compiler, so it cannot interleave steps by itself.
                    while i + 4 * $w <= n {
                        let r = [0, 1, 2, 3].map(|k| load(x.add(i + k * $w)));
                        for (k, r) in r.into_iter().enumerate() {
                            let o = i + k * $w;
                            $storeu(yp.add(o), $add($loadu(yp.add(o)), $mul(va, r)));
                        }
                        i += 4 * $w;
                    }
                    while i + $w <= n {
                        let v = $add($loadu(yp.add(i)), $mul(va, load(x.add(i))));
                        $storeu(yp.add(i), v);
                        i += $w;
                    }
                }
                scalar::axpy_from(alpha, row.tail(i), &mut y[i..]);
            }

            /// # Safety
            /// The CPU must have the instruction set.
            $(#[$attr])*
            #[inline]
            pub(super) unsafe fn axpy_into(alpha: f32, x: &[f32], row: Row<'_>) {
                let n = x.len();
                assert_eq!(n, row.len(), "axpy of unequal lengths");
                let (xp, y) = (x.as_ptr(), row.ptr());
                let mut i = 0;
                // SAFETY: every vector lies below n, inside `x` and the row.
                unsafe {
                    let va = $set1(alpha);
                    while i + 4 * $w <= n {
                        let r = [0, 1, 2, 3].map(|k| load(y.add(i + k * $w)));
                        let v = [0, 1, 2, 3]
                            .map(|k| $add(r[k], $mul(va, $loadu(xp.add(i + k * $w)))));
                        for (k, v) in v.into_iter().enumerate() {
                            store(y.add(i + k * $w), v);
                        }
                        i += 4 * $w;
                    }
                    while i + $w <= n {
                        store(y.add(i), $add(load(y.add(i)), $mul(va, $loadu(xp.add(i)))));
                        i += $w;
                    }
                }
                scalar::axpy_into(alpha, &x[i..], row.tail(i));
            }

            /// # Safety
            /// The CPU must have the instruction set.
            $(#[$attr])*
            #[inline]
            pub(super) unsafe fn copy(row: Row<'_>, out: &mut [f32]) {
                let n = out.len();
                assert_eq!(n, row.len(), "copy of unequal lengths");
                let (x, o) = (row.ptr(), out.as_mut_ptr());
                let mut i = 0;
                // SAFETY: every vector lies below n, inside the row and `out`.
                unsafe {
                    while i + $w <= n {
                        $storeu(o.add(i), load(x.add(i)));
                        i += $w;
                    }
                }
                scalar::copy(row.tail(i), &mut out[i..]);
            }

            /// # Safety
            /// The CPU must have the instruction set.
            $(#[$attr])*
            #[inline]
            pub(super) unsafe fn write(x: &[f32], row: Row<'_>) {
                let n = x.len();
                assert_eq!(n, row.len(), "write of unequal lengths");
                let (xp, r) = (x.as_ptr(), row.ptr());
                let mut i = 0;
                // SAFETY: every vector lies below n, inside `x` and the row.
                unsafe {
                    while i + $w <= n {
                        store(r.add(i), $loadu(xp.add(i)));
                        i += $w;
                    }
                }
                scalar::write(&x[i..], row.tail(i));
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
x86_kernels!(
    mod sse, __m128, 4, "movups {v}, [{p}]", "movups [{p}], {v}", xmm_reg,
    _mm_setzero_ps, _mm_loadu_ps, _mm_storeu_ps, _mm_add_ps, _mm_mul_ps, _mm_set1_ps
);

#[cfg(target_arch = "x86_64")]
x86_kernels!(
    #[target_feature(enable = "avx2,fma")]
    mod avx, __m256, 8, "vmovups {v}, [{p}]", "vmovups [{p}], {v}", ymm_reg,
    _mm256_setzero_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_add_ps, _mm256_mul_ps,
    _mm256_set1_ps
);

#[cfg(target_arch = "x86_64")]
impl Row<'_> {
    /// The elements from `i` on.
    #[inline(always)]
    fn tail(&self, i: usize) -> Row<'_> {
        Row(&self.0[i..])
    }
}

/// Implements [`Kernels`] for `$t` with the functions of module `$m`.
#[cfg(target_arch = "x86_64")]
macro_rules! impl_kernels {
    ($t:ty, $m:ident) => {
        impl Kernels for $t {
            #[inline(always)]
            unsafe fn dot(x: &[f32], y: &[f32]) -> f32 {
                // SAFETY: the trait's contract: the CPU has this implementation's instructions.
                unsafe { $m::dot(x, y) }
            }
            #[inline(always)]
            unsafe fn axpy_from(alpha: f32, row: Row<'_>, y: &mut [f32]) {
                // SAFETY: as in `dot`.
                unsafe { $m::axpy_from(alpha, row, y) }
            }
            #[inline(always)]
            unsafe fn axpy_into(alpha: f32, x: &[f32], row: Row<'_>) {
                // SAFETY: as in `dot`.
                unsafe { $m::axpy_into(alpha, x, row) }
            }
            #[inline(always)]
            unsafe fn copy(row: Row<'_>, out: &mut [f32]) {
                // SAFETY: as in `dot`.
                unsafe { $m::copy(row, out) }
            }
            #[inline(always)]
            unsafe fn write(x: &[f32], row: Row<'_>) {
                // SAFETY: as in `dot`.
                unsafe { $m::write(x, row) }
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl_kernels!(Portable, sse); // SSE is part of every x86-64 CPU.
#[cfg(target_arch = "x86_64")]
impl_kernels!(Avx2Fma, avx);

#[cfg(test)]
mod tests {
    use super::*;

    /// Values that make rounding differences show: no two alike, of mixed magnitude.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s as f32 / u32::MAX as f32 - 0.5) * (1 + s % 7) as f32
            })
            .collect()
    }

    /// Every kernel of `K` against the scalar definition, bit for bit, at every length that
    /// exercises the 32-, 8- and 4-float loops and the tail.
    fn same_as_scalar<K: Kernels>() {
        for n in 0..=77 {
            let x = values(n, 1);
            let (a, b) = (values(n.max(1), 2), values(n.max(1), 3));
            let (ma, mb) = (
                SharedMatrix::new(a.clone(), n.max(1)),
                SharedMatrix::new(b, n.max(1)),
            );
            let (ra, rb) = (ma.row(0), mb.row(0));
            let (ra, rb) = if n == 0 {
                (Row(&ra.0[..0]), Row(&rb.0[..0]))
            } else {
                (ra, rb)
            };
            // SAFETY: callers run this only for kernels the CPU supports.
            unsafe {
                assert_eq!(
                    K::dot(&x, &a[..n]).to_bits(),
                    scalar::dot(&x, &a[..n]).to_bits(),
                    "dot n={n}"
                );
                let (mut y1, mut y2) = (values(n, 4), values(n, 4));
                K::axpy_from(0.37, ra, &mut y1);
                scalar::axpy_from(0.37, ra, &mut y2);
                assert_eq!(y1, y2, "axpy_from n={n}");
                let mut c = vec![0.0; n];
                K::copy(ra, &mut c);
                assert_eq!(c, a[..n], "copy n={n}");
                let stored = values(n, 5);
                K::write(&stored, rb);
                let got: Vec<f32> = (0..n).map(|i| rb.get(i)).collect();
                assert_eq!(got, stored, "write n={n}");
                K::write(&values(n.max(1), 3)[..n], rb);
            }
            let expect_into: Vec<f32> = (0..n).map(|i| a[i] + -1.5 * x[i]).collect();
            // SAFETY: as above.
            unsafe {
                K::axpy_into(-1.5, &x, ra);
                let got: Vec<f32> = (0..n).map(|i| ra.get(i)).collect();
                assert_eq!(got, expect_into, "axpy_into n={n}");
            }
        }
    }

    #[test]
    fn portable_kernels_compute_the_scalar_definition() {
        same_as_scalar::<Portable>();
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernels_compute_the_scalar_definition() {
        if !crate::simd::has_avx2_fma() {
            eprintln!("skipped: this CPU has no AVX2/FMA");
            return;
        }
        same_as_scalar::<Avx2Fma>();
    }

    #[test]
    fn rows_snapshot_and_shape() {
        let m = SharedMatrix::new((0..20).map(|i| i as f32).collect(), 10);
        assert_eq!((m.rows(), m.dims()), (2, 10));
        let x: Vec<f32> = (10..20).map(|i| i as f32).collect();
        // SAFETY: the portable kernels run on every CPU.
        unsafe {
            assert_eq!(
                Portable::dot(&x, &m.snapshot()[..10]),
                (0..10).map(|i| (i * (i + 10)) as f32).sum::<f32>()
            );
            Portable::axpy_into(2.0, &x, m.row(0));
        }
        assert_eq!(m.snapshot()[..3], [20.0, 23.0, 26.0]);
        assert_eq!(m.into_vec()[19], 19.0);
    }

    #[test]
    #[should_panic(expected = "out of range")]
    fn row_out_of_range_panics_before_any_access() {
        SharedMatrix::new(vec![0.0; 4], 2).row(2);
    }

    /// Threads hammering the same two rows: every update is a whole float (no torn values), and
    /// with one writer per element nothing is lost.
    #[test]
    fn concurrent_updates_of_one_row_stay_whole_floats() {
        let d = 40;
        let m = SharedMatrix::new(vec![0.0; 2 * d], d);
        let ones = vec![1.0f32; d];
        std::thread::scope(|s| {
            for t in 0..4 {
                let (m, ones) = (&m, &ones);
                s.spawn(move || {
                    let mut local = vec![0.0; d];
                    for _ in 0..2_000 {
                        // SAFETY: the portable kernels run on every CPU.
                        unsafe {
                            Portable::axpy_into(1.0, ones, m.row(0));
                            Portable::copy(m.row(0), &mut local);
                            if t == 0 {
                                Portable::axpy_into(1.0, ones, m.row(1));
                            }
                        }
                        assert!(local.iter().all(|v| v.fract() == 0.0 && *v >= 1.0));
                    }
                });
            }
        });
        let v = m.into_vec();
        // Row 1 had one writer: every update is there.
        assert!(v[d..].iter().all(|&x| x == 2_000.0), "{:?}", &v[d..d + 4]);
        // Row 0 had four: updates may be lost, never invented.
        assert!(v[..d].iter().all(|&x| (2_000.0..=8_000.0).contains(&x)));
    }
}

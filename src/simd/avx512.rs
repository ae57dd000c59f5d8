//! The 512-bit kernels: AVX-512 F, BW and VL, and VNNI for the integer code kernel.
//!
//! They mirror the AVX2 kernels with lanes twice as wide, except at the end of a row: instead
//! of a scalar loop, the last step loads only the lanes that remain under a mask. Masked-off
//! lanes of an AVX-512 load read zero and touch no memory (faults on them are suppressed), so
//! the step can run at the very end of a mapping.
//!
//! Each `*_checked` function is reachable only through the variant tables of the dispatch
//! (`super::pick`, and the tests, which first ask [`super::Level::supported`]), so the
//! instructions it enables are there when it runs.

use std::arch::x86_64::*;

use super::code::CodeWeights;
use super::Level;

/// The mask of the first `min(left, 16)` lanes.
fn mask16(left: usize) -> __mmask16 {
    if left >= 16 {
        !0
    } else {
        (1u16 << left) - 1
    }
}

/// The mask of the first `min(left, 32)` lanes.
fn mask32(left: usize) -> __mmask32 {
    if left >= 32 {
        !0
    } else {
        (1u32 << left) - 1
    }
}

/// The mask of the first `min(left, 64)` lanes.
fn mask64(left: usize) -> __mmask64 {
    if left >= 64 {
        !0
    } else {
        (1u64 << left) - 1
    }
}

pub(super) fn dot_checked(query: &[f32], row: &[u8]) -> f32 {
    assert_eq!(row.len(), query.len() * 4, "row and query differ in length");
    debug_assert!(Level::Avx512.supported());
    // SAFETY: handed out only where `Level::Avx512` was detected (module docs), and the
    // assertion above gives the lengths `dot` relies on.
    unsafe { dot(query, row) }
}

/// Four accumulators of sixteen lanes, then sixteen lanes a step, the last step masked.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VL, and `row.len() == query.len() * 4`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn dot(query: &[f32], row: &[u8]) -> f32 {
    let n = query.len();
    let q = query.as_ptr();
    let r = row.as_ptr() as *const f32;
    let mut i = 0;
    // SAFETY: (all loads below) every lane read unmasked is at an index below `n`; `q` points
    // at `n` floats and `r` at `n * 4` bytes (the caller's contract); masked-off lanes are not
    // read (module docs); the loads accept any alignment, and x86 is little-endian, so the bytes
    // are the floats the file holds.
    unsafe {
        let mut a0 = _mm512_setzero_ps();
        let mut a1 = _mm512_setzero_ps();
        let mut a2 = _mm512_setzero_ps();
        let mut a3 = _mm512_setzero_ps();
        while i + 64 <= n {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(q.add(i)), _mm512_loadu_ps(r.add(i)), a0);
            a1 = _mm512_fmadd_ps(
                _mm512_loadu_ps(q.add(i + 16)),
                _mm512_loadu_ps(r.add(i + 16)),
                a1,
            );
            a2 = _mm512_fmadd_ps(
                _mm512_loadu_ps(q.add(i + 32)),
                _mm512_loadu_ps(r.add(i + 32)),
                a2,
            );
            a3 = _mm512_fmadd_ps(
                _mm512_loadu_ps(q.add(i + 48)),
                _mm512_loadu_ps(r.add(i + 48)),
                a3,
            );
            i += 64;
        }
        while i < n {
            let m = mask16(n - i);
            a0 = _mm512_fmadd_ps(
                _mm512_maskz_loadu_ps(m, q.add(i)),
                _mm512_maskz_loadu_ps(m, r.add(i)),
                a0,
            );
            i += 16;
        }
        _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)))
    }
}

pub(super) fn norm_sq_checked(row: &[u8]) -> f32 {
    debug_assert!(Level::Avx512.supported());
    // SAFETY: handed out only where `Level::Avx512` was detected (module docs); `row` is a
    // slice, so its length bounds every read (see `norm_sq`).
    unsafe { norm_sq(row) }
}

/// Two accumulators of sixteen lanes, then sixteen lanes a step, the last step masked.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn norm_sq(row: &[u8]) -> f32 {
    let n = row.len() / 4;
    let r = row.as_ptr() as *const f32;
    let mut i = 0;
    // SAFETY: every float read unmasked is at an index below `n = row.len() / 4`, so inside
    // `row`; masked-off lanes are not read (module docs); the loads accept any address.
    unsafe {
        let mut a0 = _mm512_setzero_ps();
        let mut a1 = _mm512_setzero_ps();
        while i + 32 <= n {
            let x = _mm512_loadu_ps(r.add(i));
            let y = _mm512_loadu_ps(r.add(i + 16));
            a0 = _mm512_fmadd_ps(x, x, a0);
            a1 = _mm512_fmadd_ps(y, y, a1);
            i += 32;
        }
        while i < n {
            let x = _mm512_maskz_loadu_ps(mask16(n - i), r.add(i));
            a0 = _mm512_fmadd_ps(x, x, a0);
            i += 16;
        }
        _mm512_reduce_add_ps(_mm512_add_ps(a0, a1))
    }
}

pub(super) fn code_dot_checked(c: &[u8], w: &CodeWeights) -> i32 {
    debug_assert!(Level::Avx512.supported());
    // SAFETY: handed out only where `Level::Avx512` was detected (module docs); the slices'
    // lengths bound every read (see `dot_u8_i16`).
    unsafe { dot_u8_i16(c, w.weights()) }
}

/// `sum_j c[j] * w[j]` modulo 2^32: thirty-two codes widened to `i16` per step and multiplied
/// pairwise into `i32` lanes (`vpmaddwd`; a code is at most 255, so no product pair
/// saturates), two accumulators, the last step masked.
///
/// # Safety
/// The CPU must support AVX-512 F, BW and VL.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]
unsafe fn dot_u8_i16(c: &[u8], w: &[i16]) -> i32 {
    let n = c.len().min(w.len());
    let (cp, wp) = (c.as_ptr(), w.as_ptr());
    let mut acc0 = _mm512_setzero_si512();
    let mut acc1 = _mm512_setzero_si512();
    let mut i = 0;
    while i + 64 <= n {
        // SAFETY: `i + 64 <= n` bounds both 32-byte loads of `c` and both 32-lane loads of `w`;
        // the loads are unaligned ones.
        let (a, b, wa, wb) = unsafe {
            (
                _mm256_loadu_si256(cp.add(i).cast()),
                _mm256_loadu_si256(cp.add(i + 32).cast()),
                _mm512_loadu_si512(wp.add(i).cast()),
                _mm512_loadu_si512(wp.add(i + 32).cast()),
            )
        };
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(_mm512_cvtepu8_epi16(a), wa));
        acc1 = _mm512_add_epi32(acc1, _mm512_madd_epi16(_mm512_cvtepu8_epi16(b), wb));
        i += 64;
    }
    while i < n {
        let m = mask32(n - i);
        // SAFETY: the lanes the mask keeps are at indices below `n`, inside both slices;
        // masked-off lanes are not read (module docs).
        let (a, wa) = unsafe {
            (
                _mm256_maskz_loadu_epi8(m, cp.add(i).cast()),
                _mm512_maskz_loadu_epi16(m, wp.add(i)),
            )
        };
        acc0 = _mm512_add_epi32(acc0, _mm512_madd_epi16(_mm512_cvtepu8_epi16(a), wa));
        i += 32;
    }
    _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1))
}

pub(super) fn code_dot_vnni_checked(c: &[u8], w: &CodeWeights) -> i32 {
    debug_assert!(Level::Avx512Vnni.supported());
    // SAFETY: handed out only where `Level::Avx512Vnni` was detected (module docs); the slices'
    // lengths bound every read (see `code_dot_vnni`).
    unsafe { code_dot_vnni(c, w) }
}

/// `sum_j c[j] * (256 hi[j] + lo[j])` modulo 2^32 with 512-bit `vpdpbusd` (64 codes by 64
/// signed bytes, each group of four products summed exactly into an `i32` lane), separate
/// accumulators for the high and low halves joined at the end, the last step masked.
///
/// # Safety
/// The CPU must support AVX-512 F, BW, VL and VNNI.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma")]
unsafe fn code_dot_vnni(c: &[u8], w: &CodeWeights) -> i32 {
    let (hi, lo) = (w.hi(), w.lo());
    let n = c.len().min(hi.len()).min(lo.len());
    let (cp, hp, lp) = (c.as_ptr(), hi.as_ptr(), lo.as_ptr());
    let mut h0 = _mm512_setzero_si512();
    let mut l0 = _mm512_setzero_si512();
    let mut h1 = _mm512_setzero_si512();
    let mut l1 = _mm512_setzero_si512();
    let mut i = 0;
    while i + 128 <= n {
        // SAFETY: `i + 128 <= n` bounds the two 64-byte loads of each slice (`c`, `hi`, `lo`
        // hold at least `n` bytes); the loads are unaligned ones.
        let (a, b, ha, hb, la, lb) = unsafe {
            (
                _mm512_loadu_si512(cp.add(i).cast()),
                _mm512_loadu_si512(cp.add(i + 64).cast()),
                _mm512_loadu_si512(hp.add(i).cast()),
                _mm512_loadu_si512(hp.add(i + 64).cast()),
                _mm512_loadu_si512(lp.add(i).cast()),
                _mm512_loadu_si512(lp.add(i + 64).cast()),
            )
        };
        h0 = _mm512_dpbusd_epi32(h0, a, ha);
        l0 = _mm512_dpbusd_epi32(l0, a, la);
        h1 = _mm512_dpbusd_epi32(h1, b, hb);
        l1 = _mm512_dpbusd_epi32(l1, b, lb);
        i += 128;
    }
    while i < n {
        let m = mask64(n - i);
        // SAFETY: the lanes the mask keeps are at indices below `n`, inside the three slices;
        // masked-off lanes are not read (module docs).
        let (a, ha, la) = unsafe {
            (
                _mm512_maskz_loadu_epi8(m, cp.add(i).cast()),
                _mm512_maskz_loadu_epi8(m, hp.add(i)),
                _mm512_maskz_loadu_epi8(m, lp.add(i)),
            )
        };
        h0 = _mm512_dpbusd_epi32(h0, a, ha);
        l0 = _mm512_dpbusd_epi32(l0, a, la);
        i += 64;
    }
    let h = _mm512_add_epi32(h0, h1);
    let l = _mm512_add_epi32(l0, l1);
    _mm512_reduce_add_epi32(_mm512_add_epi32(_mm512_slli_epi32(h, 8), l))
}

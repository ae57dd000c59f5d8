//! The 256-bit kernels: AVX2+FMA, and AVX-VNNI for the integer code kernel.
//!
//! Each `*_checked` function is reachable only through the variant tables of the dispatch
//! (`super::pick`, and the tests, which first ask [`super::Level::supported`]), so the
//! instructions it enables are there when it runs.

use std::arch::x86_64::*;

use super::code::CodeWeights;
use super::Level;

pub(super) fn dot_checked(query: &[f32], row: &[u8]) -> f32 {
    assert_eq!(row.len(), query.len() * 4, "row and query differ in length");
    debug_assert!(Level::Avx2.supported());
    // SAFETY: handed out only where `Level::Avx2` (AVX2 and FMA) was detected (module docs),
    // and the assertion above gives the lengths `dot` relies on.
    unsafe { dot(query, row) }
}

/// # Safety
/// The CPU must support AVX2 and FMA, and `row.len() == query.len() * 4`.
#[target_feature(enable = "avx2,fma")]
unsafe fn dot(query: &[f32], row: &[u8]) -> f32 {
    let n = query.len();
    let q = query.as_ptr();
    let r = row.as_ptr() as *const f32;
    let mut i = 0;
    // SAFETY: (all loads below) every index read is below `n`, `q` points at `n` floats and `r`
    // at `n * 4` bytes (the caller's contract); `_mm256_loadu_ps` and `read_unaligned` accept any
    // alignment, and x86 is little-endian, so the bytes are the floats the file holds.
    unsafe {
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        let mut a2 = _mm256_setzero_ps();
        let mut a3 = _mm256_setzero_ps();
        while i + 32 <= n {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(i)), _mm256_loadu_ps(r.add(i)), a0);
            a1 = _mm256_fmadd_ps(
                _mm256_loadu_ps(q.add(i + 8)),
                _mm256_loadu_ps(r.add(i + 8)),
                a1,
            );
            a2 = _mm256_fmadd_ps(
                _mm256_loadu_ps(q.add(i + 16)),
                _mm256_loadu_ps(r.add(i + 16)),
                a2,
            );
            a3 = _mm256_fmadd_ps(
                _mm256_loadu_ps(q.add(i + 24)),
                _mm256_loadu_ps(r.add(i + 24)),
                a3,
            );
            i += 32;
        }
        while i + 8 <= n {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(q.add(i)), _mm256_loadu_ps(r.add(i)), a0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        while i < n {
            sum += *q.add(i) * r.add(i).read_unaligned();
            i += 1;
        }
        sum
    }
}

pub(super) fn norm_sq_checked(row: &[u8]) -> f32 {
    debug_assert!(Level::Avx2.supported());
    // SAFETY: handed out only where `Level::Avx2` was detected (module docs); `row` is a slice,
    // so its length bounds every read (see `norm_sq`).
    unsafe { norm_sq(row) }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn norm_sq(row: &[u8]) -> f32 {
    let n = row.len() / 4;
    let r = row.as_ptr() as *const f32;
    let mut i = 0;
    // SAFETY: every float read is at an index below `n = row.len() / 4`, so inside `row`;
    // unaligned loads (`loadu`, `read_unaligned`) accept any address.
    unsafe {
        let mut a0 = _mm256_setzero_ps();
        let mut a1 = _mm256_setzero_ps();
        while i + 16 <= n {
            let x = _mm256_loadu_ps(r.add(i));
            let y = _mm256_loadu_ps(r.add(i + 8));
            a0 = _mm256_fmadd_ps(x, x, a0);
            a1 = _mm256_fmadd_ps(y, y, a1);
            i += 16;
        }
        while i + 8 <= n {
            let x = _mm256_loadu_ps(r.add(i));
            a0 = _mm256_fmadd_ps(x, x, a0);
            i += 8;
        }
        let mut sum = hsum(_mm256_add_ps(a0, a1));
        while i < n {
            let v = r.add(i).read_unaligned();
            sum += v * v;
            i += 1;
        }
        sum
    }
}

/// Sum of the eight lanes.
#[target_feature(enable = "avx2,fma")]
fn hsum(s: __m256) -> f32 {
    let hi = _mm256_extractf128_ps(s, 1);
    let lo = _mm256_castps256_ps128(s);
    let s4 = _mm_add_ps(hi, lo);
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    _mm_cvtss_f32(s1)
}

/// Sum of the eight `i32` lanes, wrapping.
#[target_feature(enable = "avx2,fma")]
fn hsum_epi32(s: __m256i) -> i32 {
    let s4 = _mm_add_epi32(_mm256_extracti128_si256(s, 1), _mm256_castsi256_si128(s));
    let s2 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
    let s1 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 1));
    _mm_cvtsi128_si32(s1)
}

pub(super) fn code_dot_checked(c: &[u8], w: &CodeWeights) -> i32 {
    debug_assert!(Level::Avx2.supported());
    // SAFETY: handed out only where `Level::Avx2` was detected (module docs); the slices'
    // lengths bound every read (see `dot_u8_i16`).
    unsafe { dot_u8_i16(c, w.weights()) }
}

/// `sum_j c[j] * w[j]` modulo 2^32: sixteen codes widened to `i16` per step and multiplied
/// pairwise into `i32` lanes (`vpmaddwd`: a code is at most 255, so no product pair
/// saturates), two accumulators.
///
/// # Safety
/// The CPU must support AVX2 (and FMA, which the one dispatch rule asks for with it).
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_u8_i16(c: &[u8], w: &[i16]) -> i32 {
    let n = c.len().min(w.len());
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: `i + 32 <= n` bounds both 16-byte loads of `c` and both 16-lane loads of `w`;
        // the loads are unaligned ones.
        let (a, b, wa, wb) = unsafe {
            (
                _mm_loadu_si128(c.as_ptr().add(i).cast()),
                _mm_loadu_si128(c.as_ptr().add(i + 16).cast()),
                _mm256_loadu_si256(w.as_ptr().add(i).cast()),
                _mm256_loadu_si256(w.as_ptr().add(i + 16).cast()),
            )
        };
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_cvtepu8_epi16(a), wa));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_cvtepu8_epi16(b), wb));
        i += 32;
    }
    if i + 16 <= n {
        // SAFETY: `i + 16 <= n` bounds one 16-byte load of `c` and one 16-lane load of `w`.
        let (a, wa) = unsafe {
            (
                _mm_loadu_si128(c.as_ptr().add(i).cast()),
                _mm256_loadu_si256(w.as_ptr().add(i).cast()),
            )
        };
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_cvtepu8_epi16(a), wa));
        i += 16;
    }
    if i < n && n >= 16 {
        // The last 16 codes, overlapping the ones already summed, whose weights the mask zeroes.
        let mask = &TAIL_MASK_16[n - i..n - i + 16];
        // SAFETY: `16 <= n` bounds the loads at `n - 16` of `c` and `w`, and `mask` holds 16
        // lanes; the loads are unaligned ones.
        let (a, wa, m) = unsafe {
            (
                _mm_loadu_si128(c.as_ptr().add(n - 16).cast()),
                _mm256_loadu_si256(w.as_ptr().add(n - 16).cast()),
                _mm256_loadu_si256(mask.as_ptr().cast()),
            )
        };
        let wa = _mm256_and_si256(wa, m);
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(_mm256_cvtepu8_epi16(a), wa));
        i = n;
    }
    let s = hsum_epi32(_mm256_add_epi32(acc0, acc1));
    s.wrapping_add(super::portable::dot_u8_i16_portable(&c[i..n], &w[i..n]))
}

/// Sixteen lanes of zeros, then sixteen of ones: `[left..left + 16]` keeps the last `left`
/// lanes of a step.
static TAIL_MASK_16: [i16; 32] = {
    let mut m = [0i16; 32];
    let mut k = 16;
    while k < 32 {
        m[k] = -1;
        k += 1;
    }
    m
};

/// As [`TAIL_MASK_16`], for 32 byte lanes.
static TAIL_MASK_32: [i8; 64] = {
    let mut m = [0i8; 64];
    let mut k = 32;
    while k < 64 {
        m[k] = -1;
        k += 1;
    }
    m
};

pub(super) fn code_dot_vnni_checked(c: &[u8], w: &CodeWeights) -> i32 {
    debug_assert!(Level::AvxVnni.supported());
    // SAFETY: handed out only where `Level::AvxVnni` (AVX2, FMA, AVX-VNNI) was detected (module
    // docs); the slices' lengths bound every read (see `code_dot_vnni`).
    unsafe { code_dot_vnni(c, w) }
}

/// `sum_j c[j] * (256 hi[j] + lo[j])` modulo 2^32 with 256-bit `vpdpbusd`: each instruction
/// multiplies 32 codes (unsigned) by 32 signed bytes and adds each group of four products, summed
/// exactly, to an `i32` lane; the high and low halves of the weights keep accumulators of their
/// own, joined once at the end (`hi * 256 + lo`, wrapping like the lanes).
///
/// # Safety
/// The CPU must support AVX2, FMA and AVX-VNNI.
#[target_feature(enable = "avx2,fma,avxvnni")]
unsafe fn code_dot_vnni(c: &[u8], w: &CodeWeights) -> i32 {
    let (hi, lo) = (w.hi(), w.lo());
    let n = c.len().min(hi.len()).min(lo.len());
    let mut h0 = _mm256_setzero_si256();
    let mut l0 = _mm256_setzero_si256();
    let mut h1 = _mm256_setzero_si256();
    let mut l1 = _mm256_setzero_si256();
    let mut i = 0;
    let (cp, hp, lp) = (c.as_ptr(), hi.as_ptr(), lo.as_ptr());
    while i + 64 <= n {
        // SAFETY: `i + 64 <= n` bounds the two 32-byte loads of each slice (`c`, `hi`, `lo`
        // hold at least `n` bytes); the loads are unaligned ones.
        let (a, b, ha, hb, la, lb) = unsafe {
            (
                _mm256_loadu_si256(cp.add(i).cast()),
                _mm256_loadu_si256(cp.add(i + 32).cast()),
                _mm256_loadu_si256(hp.add(i).cast()),
                _mm256_loadu_si256(hp.add(i + 32).cast()),
                _mm256_loadu_si256(lp.add(i).cast()),
                _mm256_loadu_si256(lp.add(i + 32).cast()),
            )
        };
        h0 = _mm256_dpbusd_avx_epi32(h0, a, ha);
        l0 = _mm256_dpbusd_avx_epi32(l0, a, la);
        h1 = _mm256_dpbusd_avx_epi32(h1, b, hb);
        l1 = _mm256_dpbusd_avx_epi32(l1, b, lb);
        i += 64;
    }
    if i + 32 <= n {
        // SAFETY: `i + 32 <= n` bounds one 32-byte load of each slice.
        let (a, ha, la) = unsafe {
            (
                _mm256_loadu_si256(cp.add(i).cast()),
                _mm256_loadu_si256(hp.add(i).cast()),
                _mm256_loadu_si256(lp.add(i).cast()),
            )
        };
        h0 = _mm256_dpbusd_avx_epi32(h0, a, ha);
        l0 = _mm256_dpbusd_avx_epi32(l0, a, la);
        i += 32;
    }
    if i < n && n >= 32 {
        // The last 32 codes, overlapping the ones already summed, whose weights the mask zeroes.
        let mask = &TAIL_MASK_32[n - i..n - i + 32];
        // SAFETY: `32 <= n` bounds the loads at `n - 32` of the three slices, and `mask` holds
        // 32 lanes; the loads are unaligned ones.
        let (a, ha, la, m) = unsafe {
            (
                _mm256_loadu_si256(cp.add(n - 32).cast()),
                _mm256_loadu_si256(hp.add(n - 32).cast()),
                _mm256_loadu_si256(lp.add(n - 32).cast()),
                _mm256_loadu_si256(mask.as_ptr().cast()),
            )
        };
        h1 = _mm256_dpbusd_avx_epi32(h1, a, _mm256_and_si256(ha, m));
        l1 = _mm256_dpbusd_avx_epi32(l1, a, _mm256_and_si256(la, m));
        i = n;
    }
    let h = _mm256_add_epi32(h0, h1);
    let l = _mm256_add_epi32(l0, l1);
    let s = hsum_epi32(_mm256_add_epi32(_mm256_slli_epi32(h, 8), l));
    s.wrapping_add(super::portable::dot_u8_i16_portable(
        &c[i..n],
        &w.weights()[i..n],
    ))
}

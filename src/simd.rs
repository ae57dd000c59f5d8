//! Dot products of a query (`&[f32]`) with a stored row (little-endian `f32` bytes, any alignment).
//!
//! On x86-64 the AVX2+FMA kernel is chosen at run time when the CPU has it (every x86 server since
//! 2013); otherwise a portable kernel with eight independent accumulators runs, which compilers
//! vectorise with SSE. Rows are read with unaligned loads, which on current cores cost the same as
//! aligned ones, so word2vec binary files need no aligned copy. Callers take the kernel once per
//! scan with [`dot_fn`] so the feature test stays out of the inner loop.

/// Whether the AVX2+FMA kernels may run: the one test every kernel choice in wordvec makes, here
/// and in the training and classifier loops (which compile their plain-Rust bodies a second time
/// with `#[target_feature(enable = "avx2,fma")]` and call that copy when this says yes). The CPU
/// is asked once; later calls read a cached answer.
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A dot-product kernel: `query . row`, where `row` holds `query.len() * 4` bytes.
pub(crate) type DotFn = fn(&[f32], &[u8]) -> f32;

/// The fastest kernel this CPU supports.
pub fn dot_fn() -> DotFn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            return dot_avx2_checked;
        }
    }
    dot_portable
}

/// `query . row` with the fastest available kernel (for hnsw_rs's distance, which scores one
/// pair at a time).
#[cfg(feature = "hnsw-rs")]
pub(crate) fn dot(query: &[f32], row: &[u8]) -> f32 {
    dot_fn()(query, row)
}

/// Asks the CPU to start loading `bytes` into cache (every 64-byte line of it). Graph searches
/// read rows in an order no hardware prefetcher can predict; naming the next row while scoring
/// the current one hides part of that latency.
#[inline(always)]
pub(crate) fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < bytes.len() {
            // SAFETY: `off < bytes.len()`, so the address is inside the slice; a prefetch reads
            // nothing architecturally and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes.as_ptr().add(off) as *const i8) };
            off += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// A squared-norm kernel: `row . row` for a stored row.
pub(crate) type NormSqFn = fn(&[u8]) -> f32;

/// The fastest squared-norm kernel this CPU supports.
pub(crate) fn norm_sq_fn() -> NormSqFn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            return norm_sq_avx2_checked;
        }
    }
    norm_sq_portable
}

/// Portable squared norm, eight lanes of partial sums.
pub(crate) fn norm_sq_portable(row: &[u8]) -> f32 {
    let mut acc = [0f32; 8];
    let rc = row.chunks_exact(32);
    let tail = rc.remainder();
    for r in rc {
        for (k, a) in acc.iter_mut().enumerate() {
            let v = f32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
            *a += v * v;
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for c in tail.chunks_exact(4) {
        let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        sum += v * v;
    }
    sum
}

#[cfg(target_arch = "x86_64")]
fn norm_sq_avx2_checked(row: &[u8]) -> f32 {
    // SAFETY: handed out by `norm_sq_fn` only after AVX2 and FMA were detected; `row` is a
    // slice, so its length bounds every read (see `norm_sq_avx2`).
    unsafe { norm_sq_avx2(row) }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn norm_sq_avx2(row: &[u8]) -> f32 {
    use std::arch::x86_64::*;
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
        let mut sum = hsum256(_mm256_add_ps(a0, a1));
        while i < n {
            let v = r.add(i).read_unaligned();
            sum += v * v;
            i += 1;
        }
        sum
    }
}

/// Sum of the eight lanes.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn hsum256(s: std::arch::x86_64::__m256) -> f32 {
    use std::arch::x86_64::*;
    let hi = _mm256_extractf128_ps(s, 1);
    let lo = _mm256_castps256_ps128(s);
    let s4 = _mm_add_ps(hi, lo);
    let s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    let s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    _mm_cvtss_f32(s1)
}

/// Portable kernel: eight lanes of partial sums, combined at the end.
pub fn dot_portable(query: &[f32], row: &[u8]) -> f32 {
    assert_eq!(row.len(), query.len() * 4, "row and query differ in length");
    let mut acc = [0f32; 8];
    let qc = query.chunks_exact(8);
    let rc = row.chunks_exact(32);
    let (q_tail, r_tail) = (qc.remainder(), rc.remainder());
    for (q, r) in qc.zip(rc) {
        for k in 0..8 {
            let v = f32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
            acc[k] += q[k] * v;
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for (q, r) in q_tail.iter().zip(r_tail.chunks_exact(4)) {
        sum += q * f32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    }
    sum
}

#[cfg(target_arch = "x86_64")]
fn dot_avx2_checked(query: &[f32], row: &[u8]) -> f32 {
    assert_eq!(row.len(), query.len() * 4, "row and query differ in length");
    // SAFETY: this function is only handed out by `dot_fn` after `has_avx2_fma`
    // confirmed AVX2 and FMA, and the assertion above gives the lengths `dot_avx2` relies on.
    unsafe { dot_avx2(query, row) }
}

/// # Safety
/// The CPU must support AVX2 and FMA, and `row.len() == query.len() * 4`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(query: &[f32], row: &[u8]) -> f32 {
    use std::arch::x86_64::*;
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
        let mut sum = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        while i < n {
            sum += *q.add(i) * r.add(i).read_unaligned();
            i += 1;
        }
        sum
    }
}

// The int8 copy's kernels (see `quant`): codes against f32 weights for exact scans, and codes
// against i16 weights for graph traversal.

/// `sum_j codes[j] * w[j]`.
pub(crate) type DotU8Fn = fn(&[u8], &[f32]) -> f32;

/// The fastest `u8 x f32` dot kernel this CPU supports.
pub(crate) fn dot_u8_fn() -> DotU8Fn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            return dot_u8_avx2_checked;
        }
    }
    dot_u8_portable
}

/// Portable kernel, eight partial sums.
pub(crate) fn dot_u8_portable(c: &[u8], w: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (cc, wc) = (c.chunks_exact(8), w.chunks_exact(8));
    let (ct, wt) = (cc.remainder(), wc.remainder());
    for (a, b) in cc.zip(wc) {
        for k in 0..8 {
            acc[k] += f32::from(a[k]) * b[k];
        }
    }
    let mut s = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for (a, b) in ct.iter().zip(wt) {
        s += f32::from(*a) * b;
    }
    s
}

#[cfg(target_arch = "x86_64")]
fn dot_u8_avx2_checked(c: &[u8], w: &[f32]) -> f32 {
    // SAFETY: this function is only handed out by `dot_u8_fn` after AVX2 and FMA were detected.
    unsafe { dot_u8_avx2(c, w) }
}

/// AVX2 kernel: eight codes widened to f32 per step, two independent accumulators.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_u8_avx2(c: &[u8], w: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = c.len().min(w.len());
    let mut acc0 = _mm256_setzero_ps();
    let mut acc1 = _mm256_setzero_ps();
    let mut i = 0;
    while i + 16 <= n {
        // SAFETY: `i + 16 <= n` bounds both 8-byte loads of `c` and both 8-float loads of `w`;
        // the loads are unaligned ones.
        let (a, b) = unsafe {
            (
                _mm_loadl_epi64(c.as_ptr().add(i) as *const __m128i),
                _mm_loadl_epi64(c.as_ptr().add(i + 8) as *const __m128i),
            )
        };
        let fa = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(a));
        let fb = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        // SAFETY: as above, `i + 16 <= n <= w.len()`.
        let (wa, wb) = unsafe {
            (
                _mm256_loadu_ps(w.as_ptr().add(i)),
                _mm256_loadu_ps(w.as_ptr().add(i + 8)),
            )
        };
        acc0 = _mm256_fmadd_ps(fa, wa, acc0);
        acc1 = _mm256_fmadd_ps(fb, wb, acc1);
        i += 16;
    }
    let acc = _mm256_add_ps(acc0, acc1);
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), acc) };
    let mut s = (lanes[0] + lanes[4])
        + (lanes[1] + lanes[5])
        + (lanes[2] + lanes[6])
        + (lanes[3] + lanes[7]);
    while i < n {
        s += f32::from(c[i]) * w[i];
        i += 1;
    }
    s
}

#[cfg(feature = "index")]
/// `sum_j codes[j] * w[j]` in integers.
pub(crate) type DotU8I16Fn = fn(&[u8], &[i16]) -> i32;

#[cfg(feature = "index")]
/// The fastest `u8 x i16` kernel this CPU supports.
pub(crate) fn dot_u8_i16_fn() -> DotU8I16Fn {
    #[cfg(target_arch = "x86_64")]
    {
        if has_avx2_fma() {
            return dot_u8_i16_avx2_checked;
        }
    }
    dot_u8_i16_portable
}

#[cfg(feature = "index")]
/// Portable kernel. The callers' weights keep every partial sum within `i32`
/// (`quant::Int8Rows::code_query`); the sums wrap rather than panic if a caller did not.
pub(crate) fn dot_u8_i16_portable(c: &[u8], w: &[i16]) -> i32 {
    c.iter().zip(w).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(a) * i32::from(b))
    })
}

#[cfg(feature = "index")]
#[cfg(target_arch = "x86_64")]
fn dot_u8_i16_avx2_checked(c: &[u8], w: &[i16]) -> i32 {
    // SAFETY: this function is only handed out by `dot_u8_i16_fn` after AVX2 and FMA were detected.
    unsafe { dot_u8_i16_avx2(c, w) }
}

#[cfg(feature = "index")]
/// AVX2 kernel: sixteen codes widened to `i16` per step and multiplied pairwise into `i32`
/// lanes (`vpmaddwd`: a code is at most 255, so no product pair saturates), two accumulators.
///
/// # Safety
/// The CPU must support AVX2 (and FMA, which the one dispatch rule asks for with it).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_u8_i16_avx2(c: &[u8], w: &[i16]) -> i32 {
    use std::arch::x86_64::*;
    let n = c.len().min(w.len());
    let mut acc0 = _mm256_setzero_si256();
    let mut acc1 = _mm256_setzero_si256();
    let mut i = 0;
    while i + 32 <= n {
        // SAFETY: `i + 32 <= n` bounds both 16-byte loads of `c` and both 16-lane loads of `w`;
        // the loads are unaligned ones.
        let (a, b, wa, wb) = unsafe {
            (
                _mm_loadu_si128(c.as_ptr().add(i) as *const __m128i),
                _mm_loadu_si128(c.as_ptr().add(i + 16) as *const __m128i),
                _mm256_loadu_si256(w.as_ptr().add(i) as *const __m256i),
                _mm256_loadu_si256(w.as_ptr().add(i + 16) as *const __m256i),
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
                _mm_loadu_si128(c.as_ptr().add(i) as *const __m128i),
                _mm256_loadu_si256(w.as_ptr().add(i) as *const __m256i),
            )
        };
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(_mm256_cvtepu8_epi16(a), wa));
        i += 16;
    }
    let acc = _mm256_add_epi32(acc0, acc1);
    let mut lanes = [0i32; 8];
    // SAFETY: `lanes` holds 8 i32, 32 bytes.
    unsafe { _mm256_storeu_si256(lanes.as_mut_ptr() as *mut __m256i, acc) };
    let mut s = lanes.iter().fold(0i32, |s, &x| s.wrapping_add(x));
    while i < n {
        s = s.wrapping_add(i32::from(c[i]) * i32::from(w[i]));
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn kernels_agree_on_every_length_and_misalignment() {
        for n in [0usize, 1, 7, 8, 9, 31, 32, 33, 100, 300] {
            let q: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32 - 6.0) / 10.0).collect();
            let r: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let exact: f64 = q
                .iter()
                .zip(&r)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum();
            for shift in 0..4 {
                let mut buf = vec![0u8; shift];
                buf.extend(bytes(&r));
                let row = &buf[shift..];
                for f in [dot_portable as DotFn, dot_fn()] {
                    let got = f(&q, row);
                    assert!(
                        (f64::from(got) - exact).abs() < 1e-4,
                        "n={n} shift={shift}: {got} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn norm_kernels_agree() {
        assert_eq!(norm_sq_fn()(&bytes(&[3.0, 4.0])), 25.0);
        for n in [0usize, 1, 8, 15, 16, 17, 300] {
            let r: Vec<f32> = (0..n).map(|i| ((i * 5 % 11) as f32 - 5.0) / 3.0).collect();
            let exact: f64 = r.iter().map(|x| f64::from(*x) * f64::from(*x)).sum();
            for shift in 0..4 {
                let mut buf = vec![0u8; shift];
                buf.extend(bytes(&r));
                for f in [norm_sq_portable as NormSqFn, norm_sq_fn()] {
                    let got = f(&buf[shift..]);
                    assert!(
                        (f64::from(got) - exact).abs() < 1e-3,
                        "n={n}: {got} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn u8_kernels_agree() {
        let c: Vec<u8> = (0..301).map(|i| (i * 37 % 256) as u8).collect();
        let w: Vec<f32> = (0..301).map(|i| (i as f32 - 150.0) / 1000.0).collect();
        let a = dot_u8_portable(&c, &w);
        let b = dot_u8_fn()(&c, &w);
        assert!((a - b).abs() < 1e-3 * a.abs().max(1.0), "{a} {b}");
    }

    #[cfg(feature = "index")]
    #[test]
    fn integer_kernels_agree() {
        for n in [0, 1, 15, 16, 17, 31, 32, 33, 100, 300, 301] {
            let c: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
            let w: Vec<i16> = (0..n)
                .map(|i| ((i * 7919i32) % 65_536 - 32_768) as i16)
                .collect();
            let want: i64 = c.iter().zip(&w).map(|(&a, &b)| a as i64 * b as i64).sum();
            if want.abs() < i32::MAX as i64 {
                assert_eq!(dot_u8_i16_portable(&c, &w) as i64, want, "n {n}");
                assert_eq!(dot_u8_i16_fn()(&c, &w) as i64, want, "n {n}");
            }
        }
    }
}

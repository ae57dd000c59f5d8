//! The classifier's inner loops over embedding rows, compiled twice: for the baseline CPU
//! (SSE2 on x86-64) and with AVX2 and FMA enabled, the latter picked at run time by
//! [`crate::simd::has_avx2_fma`], the one dispatch test of the crate. Rust never contracts
//! `a * b + c` into a fused multiply-add on its own, so both copies compute the same floats. The code is the same plain Rust, which the compiler
//! vectorises 4 or 8 lanes wide; rows are short (a hundred floats), so the loops stay simple
//! rather than hand-written intrinsics.

/// The constants of one Adam step. PyTorch's update,
/// `p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)`, is applied by
/// [`adam`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdamStep {
    /// `lr / (1 - beta1^t)`.
    pub step: f32,
    /// `1 / sqrt(1 - beta2^t)`.
    pub inv_c2: f32,
    /// First-moment decay.
    pub beta1: f32,
    /// Second-moment decay.
    pub beta2: f32,
    /// Added to the denominator.
    pub eps: f32,
}

#[inline(always)]
fn add_generic(y: &mut [f32], x: &[f32]) {
    let n = y.len();
    let x = &x[..n];
    for i in 0..n {
        y[i] += x[i];
    }
}

#[inline(always)]
fn axpy_generic(a: f32, x: &[f32], y: &mut [f32]) {
    let n = y.len();
    let x = &x[..n];
    for i in 0..n {
        y[i] += a * x[i];
    }
}

#[inline(always)]
fn adam_generic(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
    let n = p.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        let gi = g[i];
        m[i] = k.beta1 * m[i] + (1.0 - k.beta1) * gi;
        v[i] = k.beta2 * v[i] + (1.0 - k.beta2) * gi * gi;
        p[i] -= k.step * m[i] / (v[i].sqrt() * k.inv_c2 + k.eps);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn add(y: &mut [f32], x: &[f32]) {
        add_generic(y, x)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        axpy_generic(a, x, y)
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
        adam_generic(p, g, m, v, k)
    }
}

/// `y += x` (over `y.len()` values).
#[inline]
pub(crate) fn add(y: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above), all the callee's code needs.
        return unsafe { avx2::add(y, x) };
    }
    add_generic(y, x)
}

/// `y += a x` (over `y.len()` values).
#[inline]
pub(crate) fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { avx2::axpy(a, x, y) };
    }
    axpy_generic(a, x, y)
}

/// One Adam step on a slice (see `optim`).
#[inline]
pub(crate) fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
    #[cfg(target_arch = "x86_64")]
    if crate::simd::has_avx2_fma() {
        // SAFETY: the CPU has AVX2 and FMA (checked just above).
        return unsafe { avx2::adam(p, g, m, v, k) };
    }
    adam_generic(p, g, m, v, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatched_kernels_equal_the_portable_ones() {
        for n in [1, 7, 8, 100, 301] {
            let x: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let mut a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let mut b = a.clone();
            add(&mut a, &x);
            add_generic(&mut b, &x);
            assert_eq!(a, b);
            axpy(0.3, &x, &mut a);
            axpy_generic(0.3, &x, &mut b);
            assert_eq!(a, b);
            let k = AdamStep {
                step: 0.01,
                inv_c2: 1.3,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            };
            let (mut m1, mut v1) = (vec![0.1; n], vec![0.2; n]);
            let (mut m2, mut v2) = (m1.clone(), v1.clone());
            adam(&mut a, &x, &mut m1, &mut v1, k);
            adam_generic(&mut b, &x, &mut m2, &mut v2, k);
            assert_eq!((a.clone(), m1, v1), (b.clone(), m2, v2));
        }
    }
}

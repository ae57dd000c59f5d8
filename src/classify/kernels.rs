//! The classifier's inner loops over embedding rows, compiled twice: for the baseline CPU
//! (SSE2 on x86-64) and with AVX2 enabled, the latter picked at run time when the CPU has it
//! (every x86 server since 2013). The code is the same plain Rust, which the compiler
//! vectorises 4 or 8 lanes wide; rows are short (a hundred floats), so the loops stay simple
//! rather than hand-written intrinsics.

use super::optim::AdamStep;

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

    #[target_feature(enable = "avx2")]
    pub unsafe fn add(y: &mut [f32], x: &[f32]) {
        add_generic(y, x)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
        axpy_generic(a, x, y)
    }

    #[target_feature(enable = "avx2")]
    pub unsafe fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
        adam_generic(p, g, m, v, k)
    }
}

#[inline(always)]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `y += x` (over `y.len()` values).
#[inline]
pub fn add(y: &mut [f32], x: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above), all the callee's code needs.
        return unsafe { avx2::add(y, x) };
    }
    add_generic(y, x)
}

/// `y += a x` (over `y.len()` values).
#[inline]
pub fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
        return unsafe { avx2::axpy(a, x, y) };
    }
    axpy_generic(a, x, y)
}

/// One Adam step on a slice (see `optim`).
#[inline]
pub fn adam(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: AdamStep) {
    #[cfg(target_arch = "x86_64")]
    if has_avx2() {
        // SAFETY: the CPU has AVX2 (checked just above).
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

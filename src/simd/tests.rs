//! Every variant against the portable one, on every length from 0 to 300 and on rows that
//! start at each misalignment. Variants this CPU lacks cannot run; the tests print which ran.

use super::code::{code_dot_portable, code_dot_variants, MAX_WEIGHT};
use super::portable::norm_sq_portable;
use super::*;

/// A deterministic stream of values in `[0, 1)`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A value in `-1..1` times `10^e`, `e` in `-3..=3`: magnitudes that differ widely.
    fn wide(&mut self) -> f32 {
        let e = (self.next() * 7.0) as i32 - 3;
        ((self.next() * 2.0 - 1.0) * 10f64.powi(e)) as f32
    }
}

/// The variants of `table` this CPU runs, after printing which ran and which were skipped.
fn runnable<F: Copy>(kernel: &str, table: Vec<(Level, F)>) -> Vec<(Level, F)> {
    let (ran, skipped): (Vec<_>, Vec<_>) = table.into_iter().partition(|(l, _)| l.supported());
    let names = |v: &[(Level, F)]| v.iter().map(|(l, _)| l.name()).collect::<Vec<_>>();
    println!(
        "{kernel}: ran {:?} against portable; skipped (not on this CPU) {:?}",
        names(&ran),
        names(&skipped)
    );
    ran
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// `bytes(v)` starting `shift` bytes into a buffer, as rows of a word2vec file do.
fn shifted(v: &[f32], shift: usize) -> Vec<u8> {
    let mut buf = vec![0u8; shift];
    buf.extend(bytes(v));
    buf
}

#[test]
fn f32_variants_agree_with_portable_on_every_length_and_misalignment() {
    let dots = runnable("dot", dot_variants());
    let norms = runnable("norm_sq", norm_sq_variants());
    let mut rng = Lcg(1);
    for n in 0..=300 {
        let q: Vec<f32> = (0..n).map(|_| rng.wide()).collect();
        let r: Vec<f32> = (0..n).map(|_| rng.wide()).collect();
        // The error of any summation order is at most about n u sum |q_i r_i|.
        let abs: f64 = q.iter().zip(&r).map(|(a, b)| f64::from(a * b).abs()).sum();
        let sq: f64 = r.iter().map(|x| f64::from(x * x)).sum();
        let tol = |s: f64| (n as f64 + 2.0) * f64::from(f32::EPSILON) * s + 1e-30;
        for shift in 0..4 {
            let buf = shifted(&r, shift);
            let row = &buf[shift..];
            let want = f64::from(dot_portable(&q, row));
            let want_sq = f64::from(norm_sq_portable(row));
            for (level, f) in &dots {
                let got = f64::from(f(&q, row));
                assert!(
                    (got - want).abs() <= 2.0 * tol(abs),
                    "dot {} n {n} shift {shift}: {got} against {want}",
                    level.name()
                );
            }
            for (level, f) in &norms {
                let got = f64::from(f(row));
                assert!(
                    (got - want_sq).abs() <= 2.0 * tol(sq),
                    "norm_sq {} n {n} shift {shift}: {got} against {want_sq}",
                    level.name()
                );
            }
        }
    }
}

#[test]
fn f32_kernels_are_right_on_known_values() {
    // 3-4-5 and a dot product of integers, exact in every summation order.
    assert_eq!(norm_sq_fn()(&bytes(&[3.0, 4.0])), 25.0);
    let q: Vec<f32> = (0..37).map(|i| i as f32).collect();
    let r: Vec<f32> = (0..37).map(|i| (i % 5) as f32 - 2.0).collect();
    let want: f32 = q.iter().zip(&r).map(|(a, b)| a * b).sum();
    for (_, f) in dot_variants().into_iter().filter(|(l, _)| l.supported()) {
        assert_eq!(f(&q, &bytes(&r)), want);
    }
    assert_eq!(dot_fn()(&q, &bytes(&r)), want);
}

/// Codes and weights for the integer tests: random, or at the extremes (255 and
/// `+-MAX_WEIGHT`), where the sums leave `i32` and wrap.
fn code_case(rng: &mut Lcg, n: usize, extreme: bool) -> (Vec<u8>, Vec<i16>) {
    let m = f64::from(MAX_WEIGHT);
    let c = (0..n)
        .map(|_| {
            if extreme {
                255
            } else {
                (rng.next() * 256.0) as u8
            }
        })
        .collect();
    let w = (0..n)
        .map(|_| {
            if extreme {
                if rng.next() < 0.5 {
                    -MAX_WEIGHT as i16
                } else {
                    MAX_WEIGHT as i16
                }
            } else {
                ((rng.next() * 2.0 - 1.0) * m).round() as i16
            }
        })
        .collect();
    (c, w)
}

#[test]
fn code_variants_equal_portable_on_every_length_and_misalignment() {
    let variants = runnable("code_dot", code_dot_variants());
    let mut rng = Lcg(2);
    for n in 0..=300 {
        for extreme in [false, true] {
            let (c, w) = code_case(&mut rng, n, extreme);
            let weights = CodeWeights::new(w.clone());
            assert_eq!(weights.weights(), &w[..], "weights within range are kept");
            let exact: i64 = c.iter().zip(&w).map(|(&a, &b)| a as i64 * b as i64).sum();
            let want = code_dot_portable(&c, &weights);
            assert_eq!(want, exact as i32, "portable, n {n}: the sum modulo 2^32");
            for shift in 0..4 {
                let mut buf = vec![7u8; shift];
                buf.extend(&c);
                for (level, f) in &variants {
                    let got = f(&buf[shift..], &weights);
                    assert_eq!(got, want, "{} n {n} shift {shift}", level.name());
                }
            }
        }
    }
}

#[test]
fn split_weights_rebuild_every_weight() {
    let all: Vec<i16> = (-MAX_WEIGHT..=MAX_WEIGHT).map(|x| x as i16).collect();
    let w = CodeWeights::new(all.clone());
    for (j, &q) in all.iter().enumerate() {
        assert_eq!(
            256 * i32::from(w.hi()[j]) + i32::from(w.lo()[j]),
            i32::from(q)
        );
    }
    // Out of range: clamped, so the split still holds.
    let w = CodeWeights::new(vec![i16::MAX, i16::MIN]);
    assert_eq!(w.weights(), &[MAX_WEIGHT as i16, -MAX_WEIGHT as i16]);
}

#[test]
fn the_cap_orders_levels_and_the_dispatch_follows_the_cpu() {
    assert!(Level::ALL.windows(2).all(|p| p[0] < p[1]));
    for (i, l) in Level::ALL.into_iter().enumerate() {
        assert_eq!(l as usize, i);
    }
    assert!(Level::Portable.enabled());
    // Without a cap in the environment, AVX2+FMA is used exactly where the CPU has it.
    if std::env::var_os("WORDVEC_SIMD").is_none() {
        assert_eq!(has_avx2_fma(), Level::Avx2.supported());
        assert_eq!(has_avx512(), Level::Avx512.supported());
    }
}

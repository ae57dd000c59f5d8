//! Pearson and Spearman correlation (Spearman with average ranks for ties, as SciPy).

/// Pearson's r of two equally long samples; NaN when either is constant or shorter than 2.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let n = x.len() as f64;
    if x.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    sxy / (sxx * syy).sqrt()
}

/// Ranks starting at 1; tied values share the mean of their ranks.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rho: Pearson's r of the ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// The two-sided p-value of a correlation `r` over `n` pairs under the null hypothesis of no
/// correlation, as SciPy's `pearsonr` and `spearmanr` give it: Student's t with `n - 2` degrees of
/// freedom, `t = r sqrt((n - 2) / (1 - r^2))`, so `p = I_{df / (df + t^2)}(df / 2, 1 / 2)`.
/// NaN for NaN `r` or fewer than 3 pairs.
pub fn correlation_p_value(r: f64, n: usize) -> f64 {
    if r.is_nan() || n < 3 {
        return f64::NAN;
    }
    let df = (n - 2) as f64;
    let r2 = (r * r).min(1.0);
    if r2 >= 1.0 {
        return 0.0;
    }
    // df / (df + t^2) with t^2 = df r^2 / (1 - r^2) is 1 - r^2.
    incomplete_beta(df / 2.0, 0.5, 1.0 - r2)
}

/// The regularised incomplete beta function `I_x(a, b)`, by its continued fraction (modified
/// Lentz), using the symmetry `I_x(a, b) = 1 - I_{1-x}(b, a)` where the fraction converges
/// slowly. Accurate to about 1e-14 for the arguments correlations give.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_fraction(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// `ln Gamma(x)` for `x > 0` (Lanczos, g = 7, nine coefficients: about 1e-15 relative).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Gamma(x) Gamma(1 - x) = pi / sin(pi x).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = G[0];
    let t = x + 7.5;
    for (i, g) in G.iter().enumerate().skip(1) {
        a += g / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // scipy.stats.pearsonr([1,2,3,4,5],[2,4,5,4,5]) = 0.7745966692414834
        let (x, y) = ([1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 5.0, 4.0, 5.0]);
        assert!((pearson(&x, &y) - 0.7745966692414834).abs() < 1e-12);
        // scipy.stats.spearmanr(...) = 0.7378647873726218 (ties averaged)
        assert!((spearman(&x, &y) - 0.7378647873726218).abs() < 1e-12);
        assert_eq!(ranks(&[10.0, 20.0, 10.0]), vec![1.5, 3.0, 1.5]);
        assert!(pearson(&[1.0], &[1.0]).is_nan());
    }

    #[test]
    fn p_values_are_scipys() {
        // scipy.stats.pearsonr / spearmanr on the samples above, and pearsonr on 50 normal
        // pairs (numpy default_rng(1): x, 0.3 x + noise), as SciPy printed them.
        let p = correlation_p_value(0.7745966692414834, 5);
        assert!((p - 0.1240270626575546).abs() < 1e-12, "{p}");
        let p = correlation_p_value(0.7378647873726218, 5);
        assert!((p - 0.15461852312844926).abs() < 1e-12, "{p}");
        let p = correlation_p_value(0.26513517133138764, 50);
        assert!((p - 0.06276867920458239).abs() < 1e-12, "{p}");
        assert_eq!(correlation_p_value(1.0, 10), 0.0);
        assert!(correlation_p_value(0.5, 2).is_nan());
        assert!((correlation_p_value(0.0, 30) - 1.0).abs() < 1e-12);
    }
}

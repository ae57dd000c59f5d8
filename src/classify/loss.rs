//! Losses on the output logits, with class weights, and their gradients.
//!
//! Semantics follow PyTorch so that numbers carry over from it:
//! - softmax outputs: cross-entropy, `sum_i w[y_i] * ce_i / sum_i w[y_i]` (PyTorch's
//!   `CrossEntropyLoss(weight=w)` with mean reduction: with weights `[0.2, 0.8]` a batch whose
//!   unweighted loss is 14.0 can weigh 22.4, see the tests);
//! - one sigmoid output (two labels): binary cross-entropy on the logit, weighted the same way
//!   by the class of each text;
//! - one sigmoid per label (multi-label, or `--loss bce` with more labels): the mean over texts
//!   and labels of `BCEWithLogitsLoss(pos_weight=w)`: `w[c]` scales the positive term of label
//!   `c`.

use super::model::{Architecture, OutputKind};

/// `ln(1 + e^x)` without overflow.
#[inline]
fn softplus(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

#[inline]
fn sigmoid64(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The divisor that turns a batch's summed loss into its mean: the sum of the texts' class
/// weights for single-output-per-text losses, `texts x outputs` for per-label sigmoids.
pub fn normalizer(arch: &Architecture, targets: &[&[u32]], weights: Option<&[f32]>) -> f64 {
    let w = |c: usize| weights.map_or(1.0, |w| w[c] as f64);
    match (arch.output, arch.outputs()) {
        (OutputKind::Sigmoid, k) if k > 1 => (targets.len() * k) as f64,
        _ => targets.iter().map(|t| w(t[0] as usize)).sum(),
    }
}

/// The loss of a batch (`logits`: `batch x outputs`; `targets`: each text's label indices), and
/// when `grad` is given, its gradient with respect to the logits (same shape as `logits`).
/// `weights` are per-label class weights (see the module docs for their meaning per output).
pub fn loss(
    arch: &Architecture,
    logits: &[f32],
    targets: &[&[u32]],
    weights: Option<&[f32]>,
    grad: Option<&mut [f32]>,
) -> f64 {
    let norm = normalizer(arch, targets, weights);
    loss_sum(arch, logits, targets, weights, norm, grad) / norm
}

/// The summed loss of part of a batch; the gradient written to `grad` is that of the batch's
/// mean loss, `norm` being the whole batch's [`normalizer`]. Parts of a batch can so be
/// computed apart and added.
pub fn loss_sum(
    arch: &Architecture,
    logits: &[f32],
    targets: &[&[u32]],
    weights: Option<&[f32]>,
    norm: f64,
    mut grad: Option<&mut [f32]>,
) -> f64 {
    let k = arch.outputs();
    debug_assert_eq!(logits.len(), targets.len() * k);
    let w = |c: usize| weights.map_or(1.0, |w| w[c] as f64);
    let mut sum = 0.0;
    match (arch.output, k) {
        (OutputKind::Sigmoid, 1) => {
            for (b, t) in targets.iter().enumerate() {
                let z = logits[b] as f64;
                let y = t[0] as f64;
                let wb = w(t[0] as usize);
                sum += wb * (softplus(z) - y * z);
                if let Some(g) = grad.as_deref_mut() {
                    g[b] = (wb * (sigmoid64(z) - y) / norm) as f32;
                }
            }
        }
        (OutputKind::Sigmoid, _) => {
            for (b, t) in targets.iter().enumerate() {
                for c in 0..k {
                    let z = logits[b * k + c] as f64;
                    let y = if t.contains(&(c as u32)) { 1.0 } else { 0.0 };
                    let p = w(c);
                    sum += p * y * softplus(-z) + (1.0 - y) * softplus(z);
                    if let Some(g) = grad.as_deref_mut() {
                        g[b * k + c] = ((sigmoid64(z) * (p * y + 1.0 - y) - p * y) / norm) as f32;
                    }
                }
            }
        }
        (OutputKind::Softmax, _) => {
            let mut exps = vec![0.0f32; k];
            for (b, t) in targets.iter().enumerate() {
                let row = &logits[b * k..(b + 1) * k];
                let max = row.iter().fold(f32::NEG_INFINITY, |a, &x| a.max(x));
                // exp in f32 (each term is in (0, 1]), their sum and the log in f64.
                let mut total = 0.0f64;
                for (e, &z) in exps.iter_mut().zip(row) {
                    *e = (z - max).exp();
                    total += *e as f64;
                }
                let y = t[0] as usize;
                let wb = w(y);
                sum += wb * (max as f64 + total.ln() - row[y] as f64);
                if let Some(g) = grad.as_deref_mut() {
                    let scale = (wb / norm) as f32;
                    let inv = (1.0 / total) as f32;
                    let g = &mut g[b * k..(b + 1) * k];
                    for (gc, &e) in g.iter_mut().zip(&exps) {
                        *gc = scale * e * inv;
                    }
                    g[y] -= scale;
                }
            }
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::activation::Activation;

    fn arch(labels: usize, output: OutputKind) -> Architecture {
        Architecture {
            vocab_size: 2,
            dim: 1,
            hidden: vec![],
            activation: Activation::Relu,
            dropout: 0.0,
            labels,
            output,
        }
    }

    #[test]
    fn class_weights_turn_14_into_22_4() {
        // The lecture's example: two texts, the class-0 one predicted confidently right, the
        // class-1 one confidently wrong (ce 28); the mean is 14.0, and with weights [0.2, 0.8]
        // the weighted mean is (0.2 * 0 + 0.8 * 28) / (0.2 + 0.8) = 22.4.
        let a = arch(2, OutputKind::Softmax);
        let logits = [30.0, -30.0, 28.0, 0.0];
        let targets: [&[u32]; 2] = [&[0], &[1]];
        let plain = loss(&a, &logits, &targets, None, None);
        let weighted = loss(&a, &logits, &targets, Some(&[0.2, 0.8]), None);
        assert!((plain - 14.0).abs() < 1e-6, "{plain}");
        assert!((weighted - 22.4).abs() < 1e-6, "{weighted}");
    }

    #[test]
    fn binary_sigmoid_equals_two_way_softmax_with_zero_logit() {
        let (s, m) = (arch(2, OutputKind::Sigmoid), arch(2, OutputKind::Softmax));
        let targets: [&[u32]; 3] = [&[0], &[1], &[1]];
        let z = [0.3f32, -1.2, 2.0];
        let two: Vec<f32> = z.iter().flat_map(|&z| [0.0, z]).collect();
        let w = Some(&[0.3f32, 1.7][..]);
        let a = loss(&s, &z, &targets, w, None);
        let b = loss(&m, &two, &targets, w, None);
        assert!((a - b).abs() < 1e-6, "{a} {b}");
    }

    #[test]
    fn gradients_match_finite_differences() {
        let cases = [
            (arch(2, OutputKind::Sigmoid), vec![0.4f32, -0.9], 1),
            (
                arch(3, OutputKind::Softmax),
                vec![0.5, -1.0, 2.0, 0.1, 0.0, -0.3],
                3,
            ),
            (
                arch(3, OutputKind::Sigmoid),
                vec![0.5, -1.0, 2.0, 0.1, 0.0, -0.3],
                3,
            ),
        ];
        let targets_single: [&[u32]; 2] = [&[1], &[0]];
        let targets_multi: [&[u32]; 2] = [&[0, 2], &[]];
        for (a, logits, k) in cases {
            let targets: &[&[u32]] = if a.output == OutputKind::Sigmoid && k == 3 {
                &targets_multi
            } else {
                &targets_single
            };
            let weights = [0.5f32, 2.0, 1.5];
            let mut g = vec![0.0; logits.len()];
            loss(&a, &logits, targets, Some(&weights), Some(&mut g));
            for i in 0..logits.len() {
                let h = 1e-3;
                let mut p = logits.clone();
                p[i] += h;
                let up = loss(&a, &p, targets, Some(&weights), None);
                p[i] -= 2.0 * h;
                let down = loss(&a, &p, targets, Some(&weights), None);
                let fd = (up - down) / (2.0 * h as f64);
                assert!(
                    (fd - g[i] as f64).abs() < 1e-4,
                    "{:?} {i}: {} vs {fd}",
                    a.output,
                    g[i]
                );
            }
        }
    }
}

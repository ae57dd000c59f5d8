//! Optimisers: Adam and SGD with momentum, with PyTorch's update rules for the dense layers and
//! lazy (sparse) updates for the embedding.
//!
//! Lazy means that only the embedding rows a batch touched have their moments and values
//! updated, as TensorFlow's LazyAdam and PyTorch's `SparseAdam` do; rows of words absent from a
//! batch keep their moments untouched instead of decaying. That is what makes an update cost
//! proportional to the batch, not to the vocabulary.

use serde::{Deserialize, Serialize};

use super::model::{Grads, Params};

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Adam (beta1 0.9, beta2 0.999, eps 1e-8).
    #[default]
    Adam,
    /// Stochastic gradient descent, with momentum when `momentum > 0`.
    Sgd,
}

/// Optimiser settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// Which optimiser.
    pub kind: OptimizerKind,
    /// Learning rate.
    pub lr: f32,
    /// SGD momentum (ignored by Adam).
    pub momentum: f32,
}

const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;
const EPS: f32 = 1e-8;

/// Moments (Adam: first and second; SGD: the momentum buffer in `first`), one pair per tensor
/// of [`Params::tensors`], and the step count.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState {
    /// Steps taken.
    pub step: u64,
    /// First moments / momentum buffers.
    pub first: Vec<Vec<f32>>,
    /// Second moments (Adam only; empty for SGD).
    pub second: Vec<Vec<f32>>,
}

impl OptimizerState {
    /// Zero state for `params`.
    pub fn new(config: &OptimizerConfig, params: &Params) -> Self {
        let zeros = |t: &(String, &[f32])| vec![0.0; t.1.len()];
        let tensors = params.tensors();
        let needs_first = config.kind == OptimizerKind::Adam || config.momentum > 0.0;
        OptimizerState {
            step: 0,
            first: if needs_first {
                tensors.iter().map(zeros).collect()
            } else {
                Vec::new()
            },
            second: if config.kind == OptimizerKind::Adam {
                tensors.iter().map(zeros).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The state's tensors with their names, in file order.
    pub fn tensors(&self) -> Vec<(String, &[f32])> {
        let mut t = Vec::new();
        for (i, m) in self.first.iter().enumerate() {
            t.push((format!("first{i}"), &m[..]));
        }
        for (i, v) in self.second.iter().enumerate() {
            t.push((format!("second{i}"), &v[..]));
        }
        t
    }
}

/// One update of `params` with the batch gradients `g`. The embedding is updated only in the
/// rows `g` touched, and not at all when `update_embedding` is false.
pub fn step(
    config: &OptimizerConfig,
    state: &mut OptimizerState,
    params: &mut Params,
    g: &Grads,
    update_embedding: bool,
) {
    state.step += 1;
    let dim = if g.rows.is_empty() {
        0
    } else {
        g.row_grads.len() / g.rows.len()
    };
    let t = state.step as i32;
    // PyTorch's Adam: p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
    let c1 = 1.0 - BETA1.powi(t);
    let c2 = (1.0 - BETA2.powi(t)).sqrt();
    let lr = config.lr;
    let kind = config.kind;
    let momentum = config.momentum;
    let update = |p: &mut [f32], grad: &[f32], m: Option<&mut [f32]>, v: Option<&mut [f32]>| match kind
    {
        OptimizerKind::Adam => {
            let (m, v) = (m.expect("adam state"), v.expect("adam state"));
            for (((p, &g), m), v) in p.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
                *m = BETA1 * *m + (1.0 - BETA1) * g;
                *v = BETA2 * *v + (1.0 - BETA2) * g * g;
                *p -= lr / c1 * *m / (v.sqrt() / c2 + EPS);
            }
        }
        OptimizerKind::Sgd => match m {
            Some(buf) if momentum > 0.0 => {
                for ((p, &g), b) in p.iter_mut().zip(grad).zip(buf.iter_mut()) {
                    // PyTorch sets the buffer to the first gradient; a zero buffer does the same.
                    *b = momentum * *b + g;
                    *p -= lr * *b;
                }
            }
            _ => {
                for (p, &g) in p.iter_mut().zip(grad) {
                    *p -= lr * g;
                }
            }
        },
    };
    let mut tensors = params.tensors_mut();
    for (i, p) in tensors.iter_mut().enumerate() {
        if i == 0 {
            if !update_embedding {
                continue;
            }
            for (r, &row) in g.rows.iter().enumerate() {
                let span = row as usize * dim..(row as usize + 1) * dim;
                let grad = &g.row_grads[r * dim..(r + 1) * dim];
                let m = state.first.get_mut(0).map(|m| &mut m[span.clone()]);
                let v = state.second.get_mut(0).map(|v| &mut v[span.clone()]);
                update(&mut p[span], grad, m, v);
            }
            continue;
        }
        let (layer, which) = ((i - 1) / 2, (i - 1) % 2);
        let grad = if which == 0 {
            &g.layers[layer].0
        } else {
            &g.layers[layer].1
        };
        let m = state.first.get_mut(i).map(|m| &mut m[..]);
        let v = state.second.get_mut(i).map(|v| &mut v[..]);
        update(p, grad, m, v);
    }
}

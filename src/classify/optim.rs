//! Optimisers: Adam and SGD with momentum, with PyTorch's update rules for the dense layers and
//! lazy (sparse) updates for the embedding.
//!
//! Lazy means that only the embedding rows a batch touched have their moments and values
//! updated, as TensorFlow's LazyAdam and PyTorch's `SparseAdam` do; rows of words absent from a
//! batch keep their moments untouched instead of decaying. That is what makes an update cost
//! proportional to the batch, not to the vocabulary.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::kernels::{self, AdamStep};
use super::model::{prefetch, Params, RowGrads};

/// Which optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
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

/// SGD on one slice, with a momentum buffer when `buf` is given (PyTorch: `b = mu b + g`,
/// `p -= lr b`; its first step sets `b = g`, which a zero buffer does too).
#[inline(always)]
fn sgd(p: &mut [f32], g: &[f32], buf: Option<&mut [f32]>, lr: f32, momentum: f32) {
    let n = p.len();
    let g = &g[..n];
    match buf {
        Some(b) => {
            let b = &mut b[..n];
            for i in 0..n {
                b[i] = momentum * b[i] + g[i];
                p[i] -= lr * b[i];
            }
        }
        None => {
            for i in 0..n {
                p[i] -= lr * g[i];
            }
        }
    }
}

/// Base pointers of the embedding and its moments, for tasks that update distinct rows.
#[derive(Clone, Copy)]
struct RowPtrs {
    p: *mut f32,
    m: *mut f32,
    v: *mut f32,
}

// SAFETY: the pointers are only turned into slices of rows listed in `RowGrads::rows()`, which
// are distinct (`RowGrads` keeps its list private and pushes a row only when it first gets a
// slot), so no two tasks ever touch the same element; the owning vectors outlive the parallel
// loop, which borrows them mutably.
unsafe impl Send for RowPtrs {}
// SAFETY: as for `Send`: shared use only ever reaches distinct rows.
unsafe impl Sync for RowPtrs {}

type RowSlices<'a> = (&'a mut [f32], Option<&'a mut [f32]>, Option<&'a mut [f32]>);

impl RowPtrs {
    /// The parameter row starting at element `at`, and its moments where there are some.
    ///
    /// # Safety
    /// `at + dim` must be within every buffer, and no other live reference may cover the row.
    unsafe fn row<'a>(&self, at: usize, dim: usize) -> RowSlices<'a> {
        // SAFETY: the caller's contract.
        unsafe {
            let slice = |base: *mut f32| std::slice::from_raw_parts_mut(base.add(at), dim);
            (
                slice(self.p),
                (!self.m.is_null()).then(|| slice(self.m)),
                (!self.v.is_null()).then(|| slice(self.v)),
            )
        }
    }

    /// Prefetches the row starting at element `at` of every buffer.
    fn prefetch(&self, at: usize, dim: usize) {
        for base in [self.p, self.m, self.v] {
            if !base.is_null() {
                prefetch(base.wrapping_add(at), dim);
            }
        }
    }
}

/// How many rows ahead the sparse update prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Rows per rayon task in the sparse embedding update.
const ROWS_PER_TASK: usize = 128;

/// One update of `params` with a batch's gradients: `layers` (weight, bias) per dense layer,
/// and for the embedding `rows` (prepared with [`RowGrads::prepare`]) with `dx`, the gradient
/// with respect to the texts' mean embeddings. Only the rows `rows` lists are updated (none
/// when `rows` is `None`: a frozen embedding); each row's gradient is computed right where it
/// is applied, in parallel over rows, so no gradient matrix is stored.
pub(crate) fn step(
    config: &OptimizerConfig,
    state: &mut OptimizerState,
    params: &mut Params,
    layers: &[(Vec<f32>, Vec<f32>)],
    rows: Option<(&RowGrads, &[f32])>,
) {
    state.step += 1;
    let t = state.step as i32;
    let k = AdamStep {
        step: config.lr / (1.0 - BETA1.powi(t)),
        inv_c2: 1.0 / (1.0 - BETA2.powi(t)).sqrt(),
        beta1: BETA1,
        beta2: BETA2,
        eps: EPS,
    };
    let (kind, lr, momentum) = (config.kind, config.lr, config.momentum);
    let update = |p: &mut [f32], grad: &[f32], m: Option<&mut [f32]>, v: Option<&mut [f32]>| match (
        kind, m, v,
    ) {
        (OptimizerKind::Adam, Some(m), Some(v)) => kernels::adam(p, grad, m, v, k),
        (OptimizerKind::Adam, _, _) => unreachable!("Adam state has both moments"),
        (OptimizerKind::Sgd, m, _) => sgd(p, grad, m.filter(|_| momentum > 0.0), lr, momentum),
    };
    if let Some((g, dx)) = rows.filter(|(g, _)| !g.rows().is_empty()) {
        let dim = params.layers[0].inputs;
        let null = std::ptr::null_mut();
        let ptrs = RowPtrs {
            p: params.embedding.as_mut_ptr(),
            m: state.first.first_mut().map_or(null, |m| m.as_mut_ptr()),
            v: state.second.first_mut().map_or(null, |v| v.as_mut_ptr()),
        };
        let rows = params.embedding.len() / dim.max(1);
        assert!(g.rows().iter().all(|&r| (r as usize) < rows));
        assert!(state
            .first
            .first()
            .is_none_or(|m| m.len() == params.embedding.len()));
        assert!(state
            .second
            .first()
            .is_none_or(|v| v.len() == params.embedding.len()));
        let one = |grad: &mut Vec<f32>, (s, &row): (usize, &u32)| {
            if let Some(&ahead) = g.rows().get(s + PREFETCH_AHEAD) {
                ptrs.prefetch(ahead as usize * dim, dim);
            }
            grad.resize(dim, 0.0);
            g.row_grad(s, dx, grad);
            // SAFETY: `row < rows` (asserted above), so `row * dim + dim` is within the
            // embedding and each moment buffer (same length, asserted); rows are distinct (see
            // RowPtrs), so these slices alias nothing else while they live.
            let (p, m, v) = unsafe { ptrs.row(row as usize * dim, dim) };
            update(p, grad, m, v);
        };
        if g.rows().len() >= 2 * ROWS_PER_TASK {
            g.rows()
                .par_iter()
                .enumerate()
                .with_min_len(ROWS_PER_TASK)
                .for_each_init(Vec::new, one);
        } else {
            let mut grad = Vec::new();
            g.rows().iter().enumerate().for_each(|r| one(&mut grad, r));
        }
    }
    let mut tensors = params.tensors_mut();
    for (i, p) in tensors.iter_mut().enumerate().skip(1) {
        let (layer, which) = ((i - 1) / 2, (i - 1) % 2);
        let grad = if which == 0 {
            &layers[layer].0
        } else {
            &layers[layer].1
        };
        let m = state.first.get_mut(i).map(|m| &mut m[..]);
        let v = state.second.get_mut(i).map(|v| &mut v[..]);
        update(p, grad, m, v);
    }
}

//! The embedding-MLP: embedding bag (mean over a text's tokens) -> hidden layers (activation,
//! dropout while training) -> output logits; its forward and backward passes over a batch.
//!
//! Written here rather than on a tensor library because the model is small and its one
//! expensive part is sparse: a batch touches a few thousand embedding rows out of the whole
//! vocabulary, and the backward pass gathers exactly those rows (the crate-private `RowGrads`) so that the
//! optimiser updates them lazily; a dense `vocab x dim` gradient is never formed. The dense
//! layers use `matrixmultiply`'s GEMM.

use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::activation::{sigmoid, Activation};
use super::kernels;
use super::vocab::PAD;
use crate::error::{Error, Result};

/// How the output logits become label probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OutputKind {
    /// Independent sigmoids (one output for a binary task, one per label otherwise); trained
    /// with binary cross-entropy on the logits.
    Sigmoid,
    /// Softmax over one output per label; trained with cross-entropy.
    Softmax,
}

/// The shape of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Architecture {
    /// Vocabulary size (rows of the embedding, `<pad>` and `<unk>` included).
    pub vocab_size: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Hidden layer widths, input side first (may be empty: a linear model on the mean).
    pub hidden: Vec<usize>,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Dropout probability after each hidden activation (training only).
    pub dropout: f32,
    /// Number of labels.
    pub labels: usize,
    /// Output layer kind.
    pub output: OutputKind,
}

impl Architecture {
    /// Number of output logits: 1 for two labels with a sigmoid output, else one per label.
    pub fn outputs(&self) -> usize {
        if self.output == OutputKind::Sigmoid && self.labels == 2 {
            1
        } else {
            self.labels
        }
    }

    /// Checks that the sizes make a model.
    pub fn validate(&self) -> Result<()> {
        if self.dim == 0 || self.hidden.contains(&0) {
            return Err(Error::invalid(
                "embedding and hidden sizes must be at least 1",
            ));
        }
        if self.labels < 2 {
            return Err(Error::invalid("a classifier needs at least 2 labels"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid(format!(
                "dropout {} must be in [0, 1)",
                self.dropout
            )));
        }
        if self.vocab_size < 2 {
            return Err(Error::invalid("the vocabulary lacks <pad> and <unk>"));
        }
        use crate::limits;
        limits::at_most("the embedding dimension", self.dim, limits::MAX_DIMS)?;
        limits::at_most(
            "the number of hidden layers",
            self.hidden.len(),
            limits::MAX_HIDDEN_LAYERS,
        )?;
        for &h in &self.hidden {
            limits::at_most("a hidden layer's width", h, limits::MAX_HIDDEN_WIDTH)?;
        }
        limits::at_most(
            "the number of labels",
            self.labels,
            limits::MAX_HIDDEN_WIDTH,
        )?;
        limits::at_most(
            "the model's number of weights",
            self.param_count()?,
            limits::MAX_MODEL_FLOATS,
        )?;
        Ok(())
    }

    /// The number of weights (embedding, then every dense layer's weights and biases), with
    /// checked arithmetic: sizes may come from a file.
    pub fn param_count(&self) -> Result<usize> {
        let mut total = crate::limits::product("the embedding", &[self.vocab_size, self.dim])?;
        let mut inputs = self.dim;
        for outputs in self.hidden.iter().copied().chain([self.outputs()]) {
            let layer = crate::limits::product("a dense layer", &[inputs, outputs])?
                .checked_add(outputs)
                .and_then(|l| total.checked_add(l))
                .ok_or_else(|| Error::invalid("the model's number of weights overflows"))?;
            total = layer;
            inputs = outputs;
        }
        Ok(total)
    }

    /// (inputs, outputs) of each dense layer, the output layer last.
    pub fn layer_sizes(&self) -> Vec<(usize, usize)> {
        let mut sizes = Vec::new();
        let mut inputs = self.dim;
        for &h in &self.hidden {
            sizes.push((inputs, h));
            inputs = h;
        }
        sizes.push((inputs, self.outputs()));
        sizes
    }

    /// Turns one text's logits into per-label probabilities (`out.len() == labels`).
    pub fn probabilities(&self, logits: &[f32], out: &mut [f32]) {
        match (self.output, logits.len()) {
            (OutputKind::Sigmoid, 1) => {
                out[1] = sigmoid(logits[0]);
                out[0] = 1.0 - out[1];
            }
            (OutputKind::Sigmoid, _) => {
                for (o, &z) in out.iter_mut().zip(logits) {
                    *o = sigmoid(z);
                }
            }
            (OutputKind::Softmax, _) => {
                let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let mut sum = 0.0;
                for (o, &z) in out.iter_mut().zip(logits) {
                    *o = (z - max).exp();
                    sum += *o;
                }
                for o in out.iter_mut() {
                    *o /= sum;
                }
            }
        }
    }
}

/// A dense layer `y = W x + b`, `W` stored row-major as `outputs x inputs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dense {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `outputs x inputs`, row-major.
    pub weight: Vec<f32>,
    /// `outputs`.
    pub bias: Vec<f32>,
}

impl Dense {
    /// `out = input W^T + b` for `batch` rows of `inputs` values (`out` is resized).
    fn apply(&self, input: &[f32], batch: usize, out: &mut Vec<f32>) {
        out.resize(batch * self.outputs, 0.0);
        for row in out.chunks_mut(self.outputs) {
            row.copy_from_slice(&self.bias);
        }
        gemm(
            (batch, self.inputs, self.outputs),
            input,
            (self.inputs, 1),
            &self.weight,
            (1, self.inputs),
            1.0,
            out,
        );
    }
}

/// All trainable values of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// `vocab_size x dim`, row-major; row [`PAD`] stays zero.
    pub embedding: Vec<f32>,
    /// Hidden layers, then the output layer.
    pub layers: Vec<Dense>,
}

impl Params {
    /// Random initial weights: embedding rows from N(0, `init_std`) (`<pad>` zero; PyTorch's
    /// `nn.Embedding` uses std 1), dense weights and biases from U(-1/sqrt(inputs),
    /// 1/sqrt(inputs)) as PyTorch's `nn.Linear`.
    ///
    /// Everything comes from `seed`: the embedding in blocks of rows, each from its own ChaCha8
    /// stream (so they fill in parallel, and the result does not depend on the thread count),
    /// the dense layers from one more stream.
    pub fn init(arch: &Architecture, init_std: f32, seed: u64) -> Params {
        const BLOCK: usize = 4096;
        let normal = Normal::new(0.0, init_std).expect("a finite, non-negative std");
        let mut embedding = vec![0.0f32; arch.vocab_size * arch.dim];
        embedding
            .par_chunks_mut(BLOCK * arch.dim)
            .enumerate()
            .for_each(|(block, values)| {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                rng.set_stream(block as u64 + 1);
                values.iter_mut().for_each(|v| *v = normal.sample(&mut rng));
            });
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let rng = &mut rng;
        embedding[PAD as usize * arch.dim..(PAD as usize + 1) * arch.dim].fill(0.0);
        let layers = arch
            .layer_sizes()
            .into_iter()
            .map(|(inputs, outputs)| {
                let bound = 1.0 / (inputs as f32).sqrt();
                let mut u = || rng.random_range(-bound..bound);
                Dense {
                    inputs,
                    outputs,
                    weight: (0..inputs * outputs).map(|_| u()).collect(),
                    bias: (0..outputs).map(|_| u()).collect(),
                }
            })
            .collect();
        Params { embedding, layers }
    }

    /// Every tensor with its name, in file order.
    pub fn tensors(&self) -> Vec<(String, &[f32])> {
        let mut t = vec![("embedding".to_owned(), &self.embedding[..])];
        for (i, l) in self.layers.iter().enumerate() {
            t.push((format!("layer{i}.weight"), &l.weight[..]));
            t.push((format!("layer{i}.bias"), &l.bias[..]));
        }
        t
    }

    /// Every tensor, mutable, in the order of [`Params::tensors`].
    pub(crate) fn tensors_mut(&mut self) -> Vec<&mut Vec<f32>> {
        let mut t = vec![&mut self.embedding];
        for l in &mut self.layers {
            t.push(&mut l.weight);
            t.push(&mut l.bias);
        }
        t
    }

    /// Zero-filled parameters of `arch`'s shape (to be filled from a file).
    pub(crate) fn zeros(arch: &Architecture) -> Params {
        Params {
            embedding: vec![0.0; arch.vocab_size * arch.dim],
            layers: arch
                .layer_sizes()
                .into_iter()
                .map(|(inputs, outputs)| Dense {
                    inputs,
                    outputs,
                    weight: vec![0.0; inputs * outputs],
                    bias: vec![0.0; outputs],
                })
                .collect(),
        }
    }
}

/// `C (m x n) = A (m x k) B (k x n) + beta C`, with A and B given by row and column strides (so
/// transposes cost nothing).
#[allow(clippy::too_many_arguments)]
fn gemm(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |r: usize, c: usize, rs: usize, cs: usize| (r - 1) * rs + (c - 1) * cs;
    assert!(c.len() >= m * n);
    if k == 0 {
        c[..m * n].iter_mut().for_each(|x| *x *= beta);
        return;
    }
    assert!(last(m, k, rsa, csa) < a.len() && last(k, n, rsb, csb) < b.len());
    // SAFETY: the asserts above prove that every element matrixmultiply reads (A at
    // i*rsa + l*csa for i < m, l < k; B likewise for k x n) and writes (C at i*n + j) lies inside
    // the slices; `c` is a unique borrow, so the output does not alias the inputs.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            rsa as isize,
            csa as isize,
            b.as_ptr(),
            rsb as isize,
            csb as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// Activations of one batch, kept for the backward pass. Reused from batch to batch.
#[derive(Debug, Default, Clone)]
pub struct Forward {
    /// Texts in the batch.
    pub batch: usize,
    /// `batch x dim` means of the embeddings.
    pub x: Vec<f32>,
    /// Per hidden layer: `batch x width` pre-activations.
    pub pre: Vec<Vec<f32>>,
    /// Per hidden layer: `batch x width` outputs (after activation and dropout).
    pub post: Vec<Vec<f32>>,
    /// Per hidden layer: dropout scales (0 or 1/(1-p)); empty when not training.
    pub masks: Vec<Vec<f32>>,
    /// `batch x outputs` logits.
    pub logits: Vec<f32>,
}

/// Asks the CPU to start loading `len` floats at `ptr` into cache. Embedding rows are read
/// in random order (a text's words), so each row is a cache miss the hardware prefetcher cannot
/// predict; naming the next rows while working on the current ones hides that latency.
#[inline(always)]
pub(crate) fn prefetch(ptr: *const f32, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let mut off = 0;
        while off < len {
            // SAFETY: a prefetch is only a hint: it reads nothing architecturally and never
            // faults, whatever the address; `wrapping_add` keeps the pointer arithmetic defined.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(ptr.wrapping_add(off) as *const i8) };
            off += 16;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (ptr, len);
}

/// Runs the model on `texts` (token ids, none of them [`PAD`]). With `dropout_rng` the pass is
/// a training pass: dropout masks are drawn from it and kept for the backward pass. Runs on the
/// calling thread: callers parallelise over shards of their batches.
pub fn forward<R: Rng>(
    arch: &Architecture,
    params: &Params,
    texts: &[&[u32]],
    dropout_rng: Option<&mut R>,
    fw: &mut Forward,
) {
    let (bsz, dim) = (texts.len(), arch.dim);
    fw.batch = bsz;
    fw.x.resize(bsz * dim, 0.0);
    let emb = &params.embedding;
    // Prefetch a few rows ahead of the running sum (flattened over the texts): enough to
    // overlap the misses, few enough not to flood the CPU's line-fill buffers.
    const AHEAD: usize = 3;
    let mut ahead = texts.iter().flat_map(|ids| ids.iter()).skip(AHEAD);
    for (x, ids) in fw.x.chunks_mut(dim).zip(texts.iter()) {
        x.fill(0.0);
        for &t in ids.iter() {
            if let Some(&n) = ahead.next() {
                prefetch(emb.as_ptr().wrapping_add(n as usize * dim), dim);
            }
            kernels::add(x, &emb[t as usize * dim..(t as usize + 1) * dim]);
        }
        let inv = 1.0 / ids.len().max(1) as f32;
        x.iter_mut().for_each(|a| *a *= inv);
    }

    let hidden = arch.hidden.len();
    fw.pre.resize(hidden, Vec::new());
    fw.post.resize(hidden, Vec::new());
    fw.masks.resize(hidden, Vec::new());
    let mut rng = dropout_rng;
    for l in 0..hidden {
        let layer = &params.layers[l];
        let input = if l == 0 { &fw.x } else { &fw.post[l - 1] };
        let mut pre = std::mem::take(&mut fw.pre[l]);
        layer.apply(input, bsz, &mut pre);
        let mut post = std::mem::take(&mut fw.post[l]);
        post.clear();
        post.extend(pre.iter().map(|&z| arch.activation.apply(z)));
        let mask = &mut fw.masks[l];
        mask.clear();
        if let Some(rng) = rng.as_deref_mut() {
            if arch.dropout > 0.0 {
                let keep = 1.0 / (1.0 - arch.dropout);
                mask.extend((0..post.len()).map(|_| {
                    if rng.random::<f32>() < arch.dropout {
                        0.0
                    } else {
                        keep
                    }
                }));
                post.iter_mut().zip(mask.iter()).for_each(|(p, m)| *p *= m);
            }
        }
        fw.pre[l] = pre;
        fw.post[l] = post;
    }
    let out = params.layers.last().expect("output layer");
    let input = if hidden == 0 {
        &fw.x
    } else {
        &fw.post[hidden - 1]
    };
    out.apply(input, bsz, &mut fw.logits);
}

/// Gradients of one shard of a batch for the dense layers, and with respect to the shard's
/// embedding means (`dx`), from which [`RowGrads::gather`] makes the embedding's row gradients.
#[derive(Debug, Clone, Default)]
pub(crate) struct Backward {
    /// Per dense layer: (weight, bias) gradients.
    pub layers: Vec<(Vec<f32>, Vec<f32>)>,
    /// `batch x dim`: the gradient with respect to each text's mean embedding.
    pub dx: Vec<f32>,
    /// Scratch: the loss gradient with respect to the logits.
    pub dlogits: Vec<f32>,
    dz: Vec<f32>,
}

impl Backward {
    /// Buffers for `arch`.
    pub(crate) fn new(arch: &Architecture) -> Backward {
        Backward {
            layers: arch
                .layer_sizes()
                .into_iter()
                .map(|(i, o)| (vec![0.0; i * o], vec![0.0; o]))
                .collect(),
            ..Default::default()
        }
    }

    /// Adds `other`'s layer gradients to these.
    pub(crate) fn add_layers(&mut self, other: &Backward) {
        for ((w, b), (ow, ob)) in self.layers.iter_mut().zip(&other.layers) {
            w.iter_mut().zip(ow).for_each(|(a, b)| *a += b);
            b.iter_mut().zip(ob).for_each(|(a, b)| *a += b);
        }
    }
}

/// Backpropagates `bw.dlogits` (`batch x outputs`, the loss gradient) through the pass `fw`
/// made: layer gradients into `bw.layers` and, when `need_dx`, the gradient with respect to
/// the mean embeddings into `bw.dx`.
pub(crate) fn backward(
    arch: &Architecture,
    params: &Params,
    fw: &Forward,
    need_dx: bool,
    bw: &mut Backward,
) {
    let bsz = fw.batch;
    let hidden = arch.hidden.len();
    bw.dz.clear();
    bw.dz.extend_from_slice(&bw.dlogits[..bsz * arch.outputs()]);
    for l in (0..=hidden).rev() {
        let layer = &params.layers[l];
        let input = if l == 0 { &fw.x } else { &fw.post[l - 1] };
        let (dw, db) = &mut bw.layers[l];
        // dW = dz^T (outputs x batch) . input (batch x inputs)
        gemm(
            (layer.outputs, bsz, layer.inputs),
            &bw.dz,
            (1, layer.outputs),
            input,
            (layer.inputs, 1),
            0.0,
            dw,
        );
        db.fill(0.0);
        for row in bw.dz.chunks(layer.outputs) {
            db.iter_mut().zip(row).for_each(|(a, b)| *a += b);
        }
        if l == 0 && !need_dx {
            break;
        }
        // dh = dz (batch x outputs) . W (outputs x inputs)
        bw.dx.resize(bsz * layer.inputs, 0.0);
        gemm(
            (bsz, layer.outputs, layer.inputs),
            &bw.dz,
            (layer.outputs, 1),
            &layer.weight,
            (layer.inputs, 1),
            0.0,
            &mut bw.dx,
        );
        if l > 0 {
            // Through the dropout mask and the activation of hidden layer l - 1.
            let (pre, post, mask) = (&fw.pre[l - 1], &fw.post[l - 1], &fw.masks[l - 1]);
            bw.dz.clear();
            if mask.is_empty() {
                bw.dz.extend(
                    bw.dx
                        .iter()
                        .zip(pre.iter().zip(post))
                        .map(|(d, (&z, &y))| d * arch.activation.derivative(z, y)),
                );
            } else {
                // post = act(pre) * mask; the derivative needs act(pre) = post / mask.
                bw.dz
                    .extend(bw.dx.iter().zip(pre.iter().zip(post)).zip(mask).map(
                        |((d, (&z, &y)), &m)| {
                            if m == 0.0 {
                                0.0
                            } else {
                                d * m * arch.activation.derivative(z, y / m)
                            }
                        },
                    ));
            }
        }
    }
}

/// The embedding's gradient for one batch, sparse: only the rows the batch touched.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowGrads {
    /// Embedding rows the batch touched, in first-touch order. Distinct: a row gets a slot the
    /// first time it is seen (`slot`), and only then is it pushed. The field is private so that
    /// nothing else can break that, which the optimiser's parallel row updates rely on.
    rows: Vec<u32>,
    /// `rows.len() x dim` gradients of those rows (filled by [`RowGrads::gather`] only, which
    /// the tests use as the unfused reference of the optimiser's fused step).
    #[cfg(test)]
    pub(crate) grads: Vec<f32>,
    /// Per vocabulary row: its slot in `rows`, or `u32::MAX`.
    slot: Vec<u32>,
    /// Each token occurrence's slot, the slots' starts in `entries`, and per slot its
    /// (text, 1/length) contributions.
    occ: Vec<u32>,
    starts: Vec<usize>,
    next: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl RowGrads {
    /// Embedding rows the batch touched, in first-touch order; no row twice.
    pub(crate) fn rows(&self) -> &[u32] {
        &self.rows
    }

    /// Buffers for a vocabulary of `vocab_size` rows.
    pub(crate) fn new(vocab_size: usize) -> RowGrads {
        RowGrads {
            slot: vec![u32::MAX; vocab_size],
            ..Default::default()
        }
    }

    /// Lists the rows `texts` touch (token ids, `texts[b]` averaged into mean `b`): each
    /// touched row gets a slot, and every token occurrence is listed under its slot (a
    /// counting sort), so that [`RowGrads::row_grad`] can then compute any slot's gradient on
    /// its own, in parallel with the others.
    pub(crate) fn prepare(&mut self, texts: &[&[u32]]) {
        for &r in &self.rows {
            self.slot[r as usize] = u32::MAX;
        }
        self.rows.clear();
        self.occ.clear();
        for ids in texts {
            for &t in ids.iter() {
                let mut s = self.slot[t as usize];
                if s == u32::MAX {
                    s = self.rows.len() as u32;
                    self.slot[t as usize] = s;
                    self.rows.push(t);
                }
                self.occ.push(s);
            }
        }
        let slots = self.rows.len();
        self.starts.clear();
        self.starts.resize(slots + 1, 0);
        for &s in &self.occ {
            self.starts[s as usize + 1] += 1;
        }
        for i in 0..slots {
            self.starts[i + 1] += self.starts[i];
        }
        self.entries.resize(self.occ.len(), (0, 0.0));
        self.next.clone_from(&self.starts);
        let mut o = 0;
        for (b, ids) in texts.iter().enumerate() {
            let inv = 1.0 / ids.len().max(1) as f32;
            for _ in 0..ids.len() {
                let s = self.occ[o] as usize;
                self.entries[self.next[s]] = (b as u32, inv);
                self.next[s] += 1;
                o += 1;
            }
        }
    }

    /// The gradient of slot `s`'s row (`rows[s]`) into `out` (`dim` values), given `dx`, the
    /// `texts x dim` gradient with respect to the means.
    #[inline]
    pub(crate) fn row_grad(&self, s: usize, dx: &[f32], out: &mut [f32]) {
        let dim = out.len();
        out.fill(0.0);
        for &(b, inv) in &self.entries[self.starts[s]..self.starts[s + 1]] {
            kernels::axpy(inv, &dx[b as usize * dim..(b as usize + 1) * dim], out);
        }
    }

    /// [`RowGrads::prepare`], then every slot's gradient into `grads` (`rows x dim`). Training
    /// fuses the second part into the optimiser step instead (see `optim::step`), so only the
    /// tests call this, as the reference the fused step is checked against.
    #[cfg(test)]
    pub(crate) fn gather(&mut self, texts: &[&[u32]], dx: &[f32], dim: usize) {
        self.prepare(texts);
        let mut grads = std::mem::take(&mut self.grads);
        grads.clear();
        grads.resize(self.rows.len() * dim, 0.0);
        for (s, row) in grads.chunks_mut(dim).enumerate() {
            self.row_grad(s, dx, row);
        }
        self.grads = grads;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::loss::loss;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// The loss of a training pass with dropout masks drawn from a fixed seed, so that repeated
    /// passes see the same masks.
    fn batch_loss(arch: &Architecture, p: &Params, texts: &[&[u32]], targets: &[&[u32]]) -> f64 {
        let mut fw = Forward::default();
        forward(
            arch,
            p,
            texts,
            Some(&mut ChaCha8Rng::seed_from_u64(7)),
            &mut fw,
        );
        loss(arch, &fw.logits, targets, Some(&[0.7, 1.3, 1.0]), None)
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn gradients_match_finite_differences() {
        let texts: [&[u32]; 3] = [&[2, 3, 3], &[4], &[1, 5, 2, 4]];
        let single: [&[u32]; 3] = [&[1], &[0], &[2]];
        let binary: [&[u32]; 3] = [&[1], &[0], &[1]];
        let multi: [&[u32]; 3] = [&[0, 2], &[], &[1]];
        let activations = [
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Gelu,
            Activation::Tanh,
            Activation::Sigmoid,
        ];
        let outputs = [
            (OutputKind::Softmax, 3, &single),
            (OutputKind::Sigmoid, 2, &binary),
            (OutputKind::Sigmoid, 3, &multi),
        ];
        for (ai, activation) in activations.into_iter().enumerate() {
            for (output, labels, targets) in outputs {
                let arch = Architecture {
                    vocab_size: 6,
                    dim: 4,
                    hidden: vec![5, 3],
                    activation,
                    dropout: if ai % 2 == 0 { 0.3 } else { 0.0 },
                    labels,
                    output,
                };
                let params = Params::init(&arch, 1.0, ai as u64);
                let mut fw = Forward::default();
                forward(
                    &arch,
                    &params,
                    &texts,
                    Some(&mut ChaCha8Rng::seed_from_u64(7)),
                    &mut fw,
                );
                let mut g = Backward::new(&arch);
                g.dlogits = vec![0.0; fw.logits.len()];
                loss(
                    &arch,
                    &fw.logits,
                    targets,
                    Some(&[0.7, 1.3, 1.0]),
                    Some(&mut g.dlogits),
                );
                backward(&arch, &params, &fw, true, &mut g);
                let mut rg = RowGrads::new(arch.vocab_size);
                rg.gather(&texts, &g.dx, arch.dim);

                // Analytic gradients in Params layout: dense layers, then the embedding rows.
                let mut analytic = Params::zeros(&arch);
                for (l, (w, b)) in g.layers.iter().enumerate() {
                    analytic.layers[l].weight.clone_from(w);
                    analytic.layers[l].bias.clone_from(b);
                }
                for (s, &r) in rg.rows.iter().enumerate() {
                    let d = arch.dim;
                    analytic.embedding[r as usize * d..(r as usize + 1) * d]
                        .copy_from_slice(&rg.grads[s * d..(s + 1) * d]);
                }
                assert!(!rg.rows.contains(&0), "PAD is never touched");
                let names: Vec<String> = params.tensors().into_iter().map(|t| t.0).collect();
                let analytic_t: Vec<Vec<f32>> = analytic
                    .tensors()
                    .into_iter()
                    .map(|t| t.1.to_vec())
                    .collect();
                for (ti, name) in names.iter().enumerate() {
                    for i in 0..analytic_t[ti].len() {
                        let h = 1e-2f32;
                        let mut p = params.clone();
                        p.tensors_mut()[ti][i] += h;
                        let up = batch_loss(&arch, &p, &texts, targets);
                        p.tensors_mut()[ti][i] -= 2.0 * h;
                        let down = batch_loss(&arch, &p, &texts, targets);
                        let fd = (up - down) / (2.0 * h as f64);
                        let a = analytic_t[ti][i] as f64;
                        assert!(
                            (fd - a).abs() <= 2e-3 + 2e-2 * fd.abs(),
                            "{activation:?} {output:?}/{labels} {name}[{i}]: analytic {a}, numeric {fd}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_mean_ignores_padding_and_batch_company() {
        // A text's logits do not depend on which texts share its batch (no padding in the mean).
        let arch = Architecture {
            vocab_size: 6,
            dim: 4,
            hidden: vec![3],
            activation: Activation::Relu,
            dropout: 0.5,
            labels: 2,
            output: OutputKind::Sigmoid,
        };
        let params = Params::init(&arch, 1.0, 1);
        let mut fw = Forward::default();
        forward::<ChaCha8Rng>(&arch, &params, &[&[2, 3]], None, &mut fw);
        let alone = fw.logits[0];
        forward::<ChaCha8Rng>(
            &arch,
            &params,
            &[&[2, 3], &[1, 4, 5, 5, 5, 2]],
            None,
            &mut fw,
        );
        assert_eq!(fw.logits[0], alone);
    }
}

//! Training on a CUDA GPU (cargo feature `cuda`).
//!
//! The kernel is the GPU twin of the CPU batched mode ([`super::sgns`]): for each centre word,
//! the context words of its window and the centre word plus `negative` shared negatives are
//! loaded into shared memory, all (context, target) scores are computed at once (one warp per
//! pair, shuffle reductions over the dimensions), and both gradients are applied as small matrix
//! products. CBOW uses the mean of the context as its single input row. Each thread block walks
//! its sentences position by position; thousands of blocks update the matrices in device memory
//! without locks (Hogwild, as on the CPU), through atomic adds so that concurrent updates of the
//! same row are all kept.
//!
//! Host threads cut the corpus into chunks of subsampled sentences ([`super::device_chunks`]) while
//! the device trains on the previous chunk, so corpora larger than device memory stream through.
//! The learning rate decays linearly over the run: each chunk gets the rates at its first and
//! last word, and sentences in between interpolate.
//!
//! The CUDA driver and NVRTC are loaded at run time (cudarc), so the binary builds anywhere;
//! where no driver or GPU is present, training fails with a clear error.

use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};

use super::device_chunks::{chunks, Chunk};
use super::sampling::{learning_rate, Lcg};
use super::{EpochRunner, Model, RunContext};
use crate::error::{Error, Result};

/// Kept words per chunk handed to the device.
const CHUNK_WORDS: usize = 1 << 20;
/// Sentences longer than this (kept words) are split, so that blocks get similar work.
const MAX_SENTENCE: usize = 1000;
/// Threads per block (four warps).
const BLOCK: u32 = 128;
/// Blocks in flight per multiprocessor: enough to hide memory latency; more only adds staleness.
/// `WORDVEC_CUDA_BLOCKS_PER_SM` overrides it (a tuning knob for other cards).
const BLOCKS_PER_SM: u32 = 8;

/// At most one block in flight per this many vocabulary words. Updates are atomic, so blocks
/// that work on the same rows from stale copies all add their steps: with a vocabulary of a few
/// dozen words and a thousand blocks, that multiplies the learning rate and diverges. Real
/// vocabularies (tens of thousands of words) keep the full grid.
const VOCAB_PER_BLOCK: u32 = 64;

fn blocks_per_sm() -> u32 {
    std::env::var("WORDVEC_CUDA_BLOCKS_PER_SM")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&b| b > 0)
        .unwrap_or(BLOCKS_PER_SM)
}

const KERNEL: &str = r#"
#define MAX_EXP 6.0f

__device__ __forceinline__ unsigned long long lcg(unsigned long long &s) {
    s = s * 25214903917ULL + 11ULL;
    return s;
}
__device__ __forceinline__ unsigned int below(unsigned long long &s, unsigned int n) {
    return (unsigned int)((((lcg(s) >> 16) & 0xffffffffULL) * (unsigned long long)n) >> 32);
}
__device__ __forceinline__ float grad(float f, float label) {
    if (f > MAX_EXP) return label - 1.0f;
    if (f < -MAX_EXP) return label;
    return label - 1.0f / (1.0f + __expf(-f));
}

// One block per sentence (grid-stride). Updates are atomic adds: with thousands of blocks in
// flight, plain read-modify-write loses many updates of frequent words (measured: 3 to 7 points
// of analogy accuracy); atomics on the L2 cost little. Shared memory: wi (2*window rows; CBOW: 1 row),
// wo (negative+1 rows), g (scores), then the context and target ids.
extern "C" __global__ void train_windows(
    float* __restrict__ syn0, float* __restrict__ syn1,
    const unsigned int* __restrict__ ids, const unsigned int* __restrict__ offsets, unsigned int n_sent,
    const unsigned int* __restrict__ prob, const unsigned int* __restrict__ alias, unsigned int vocab,
    int dims, int window, int negative, int cbow, float alpha0, float alpha1, unsigned long long seed)
{
    extern __shared__ float sh[];
    const int max_ctx = 2 * window, max_t = negative + 1;
    float* wi = sh;
    float* wo = wi + max_ctx * dims;
    float* g = wo + max_t * dims;
    int* ctx = (int*)(g + max_ctx * max_t);
    int* tgt = ctx + max_ctx;
    int* counts = tgt + max_t;
    const int tid = threadIdx.x, nthreads = blockDim.x, lane = tid & 31, warp = tid >> 5, nwarps = nthreads >> 5;

    for (unsigned int s = blockIdx.x; s < n_sent; s += gridDim.x) {
        const unsigned int start = offsets[s];
        const int len = (int)(offsets[s + 1] - start);
        const float alpha = alpha0 + (alpha1 - alpha0) * ((float)s / (float)n_sent);
        unsigned long long rng = seed ^ (0x9E3779B97F4A7C15ULL * (unsigned long long)(s + 1));
        for (int p = 0; p < len; ++p) {
            if (tid == 0) {
                const unsigned int word = ids[start + p];
                const int reach = window - (int)below(rng, (unsigned int)window);
                const int lo = max(0, p - reach), hi = min(len - 1, p + reach);
                int nc = 0;
                for (int c = lo; c <= hi; ++c) if (c != p) ctx[nc++] = (int)ids[start + c];
                int nt = 0;
                tgt[nt++] = (int)word;
                for (int k = 0; k < negative; ++k) {
                    const unsigned int i = below(rng, vocab);
                    const unsigned int coin = (unsigned int)(lcg(rng) >> 16);
                    const unsigned int t = coin < prob[i] ? i : alias[i];
                    if (t != word) tgt[nt++] = (int)t;
                }
                counts[0] = nc;
                counts[1] = nt;
            }
            __syncthreads();
            const int nc = counts[0], nt = counts[1];
            const int rows = cbow ? 1 : nc;
            if (nc > 0) {
                if (cbow) {
                    for (int d = tid; d < dims; d += nthreads) {
                        float acc = 0.0f;
                        for (int i = 0; i < nc; ++i) acc += syn0[(size_t)ctx[i] * dims + d];
                        wi[d] = acc / (float)nc;
                    }
                } else {
                    for (int k = tid; k < nc * dims; k += nthreads)
                        wi[k] = syn0[(size_t)ctx[k / dims] * dims + k % dims];
                }
                for (int k = tid; k < nt * dims; k += nthreads)
                    wo[k] = syn1[(size_t)tgt[k / dims] * dims + k % dims];
                __syncthreads();
                for (int pair = warp; pair < rows * nt; pair += nwarps) {
                    const int i = pair / nt, j = pair % nt;
                    float f = 0.0f;
                    for (int d = lane; d < dims; d += 32) f += wi[i * dims + d] * wo[j * dims + d];
                    for (int off = 16; off > 0; off >>= 1) f += __shfl_down_sync(0xffffffffu, f, off);
                    if (lane == 0) g[pair] = grad(f, j == 0 ? 1.0f : 0.0f) * alpha;
                }
                __syncthreads();
                if (cbow) {
                    for (int d = tid; d < dims; d += nthreads) {
                        float acc = 0.0f;
                        for (int j = 0; j < nt; ++j) acc += g[j] * wo[j * dims + d];
                        for (int i = 0; i < nc; ++i) atomicAdd(&syn0[(size_t)ctx[i] * dims + d], acc);
                    }
                } else {
                    for (int k = tid; k < nc * dims; k += nthreads) {
                        const int i = k / dims, d = k % dims;
                        float acc = 0.0f;
                        for (int j = 0; j < nt; ++j) acc += g[i * nt + j] * wo[j * dims + d];
                        atomicAdd(&syn0[(size_t)ctx[i] * dims + d], acc);
                    }
                }
                for (int k = tid; k < nt * dims; k += nthreads) {
                    const int j = k / dims, d = k % dims;
                    float acc = 0.0f;
                    for (int i = 0; i < rows; ++i) acc += g[i * nt + j] * wi[i * dims + d];
                    atomicAdd(&syn1[(size_t)tgt[j] * dims + d], acc);
                }
            }
            __syncthreads();
        }
    }
}
"#;

fn dev_err(what: &str) -> impl Fn(cudarc::driver::DriverError) -> Error + '_ {
    move |e| Error::Device(format!("{what}: {e:?}"))
}

/// Runs `f`, turning a panic into an error: cudarc panics when it cannot load the CUDA driver or
/// NVRTC libraries. The panic hook is silenced meanwhile so that no panic report is printed for
/// what is an ordinary "no GPU here" condition.
fn catch<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.unwrap_or_else(|p| {
        let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default();
        tracing::debug!(%msg, "CUDA library load failed");
        let lib = if msg.contains("nvrtc") { "NVRTC (libnvrtc)" } else { "the CUDA driver (libcuda)" };
        Err(Error::Device(format!("{what}: {lib} could not be loaded; is an NVIDIA GPU with its driver installed (and on LD_LIBRARY_PATH)?")))
    })
}

/// Trains epochs on one GPU.
pub(crate) struct CudaRunner {
    stream: Arc<CudaStream>,
    kernel: CudaFunction,
    syn0: CudaSlice<f32>,
    syn1: CudaSlice<f32>,
    prob: CudaSlice<u32>,
    alias: CudaSlice<u32>,
    grid: u32,
    shared_bytes: u32,
}

impl CudaRunner {
    /// Opens GPU `index`, compiles the kernel, and copies the matrices and sampling tables.
    pub(crate) fn new(
        index: usize,
        syn0: Vec<f32>,
        syn1: Vec<f32>,
        run: &RunContext,
    ) -> Result<Self> {
        let cfg = &run.trainer.config;
        let ctx = catch("opening the CUDA driver", || {
            CudaContext::new(index).map_err(dev_err("opening the GPU"))
        })?;
        let ptx = catch("loading NVRTC", || {
            cudarc::nvrtc::compile_ptx(KERNEL)
                .map_err(|e| Error::Device(format!("compiling the training kernel: {e:?}")))
        })?;
        let module = ctx
            .load_module(ptx)
            .map_err(dev_err("loading the training kernel"))?;
        let kernel = module
            .load_function("train_windows")
            .map_err(dev_err("finding the training kernel"))?;
        let stream = ctx.default_stream();
        let sms = ctx
            .attribute(
                cudarc::driver::sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
            )
            .map_err(dev_err("reading the GPU's attributes"))?;
        let (max_ctx, max_t) = (2 * cfg.window, cfg.negative + 1);
        let shared_bytes =
            4 * (max_ctx * cfg.dims + max_t * cfg.dims + max_ctx * max_t + max_ctx + max_t + 2);
        if shared_bytes > 48 * 1024 {
            return Err(Error::invalid(format!(
                "dim {} with window {} and {} negatives needs {shared_bytes} bytes of GPU shared memory per block, more than 48 KiB",
                cfg.dims, cfg.window, cfg.negative
            )));
        }
        let (prob, alias) = run.alias.parts();
        Ok(CudaRunner {
            syn0: stream
                .clone_htod(&syn0)
                .map_err(dev_err("copying vectors to the GPU"))?,
            syn1: stream
                .clone_htod(&syn1)
                .map_err(dev_err("copying vectors to the GPU"))?,
            prob: stream
                .clone_htod(prob)
                .map_err(dev_err("copying tables to the GPU"))?,
            alias: stream
                .clone_htod(alias)
                .map_err(dev_err("copying tables to the GPU"))?,
            grid: ((sms.max(1) as u32) * blocks_per_sm())
                .min((prob.len() as u32 / VOCAB_PER_BLOCK).max(1)),
            shared_bytes: shared_bytes as u32,
            stream,
            kernel,
        })
    }

    fn launch(
        &mut self,
        chunk: &Chunk,
        alpha: (f32, f32),
        seed: u64,
        run: &RunContext,
    ) -> Result<()> {
        let cfg = &run.trainer.config;
        let ids = self
            .stream
            .clone_htod(&chunk.ids)
            .map_err(dev_err("copying a chunk to the GPU"))?;
        let offsets = self
            .stream
            .clone_htod(&chunk.offsets)
            .map_err(dev_err("copying a chunk to the GPU"))?;
        let n_sent = chunk.sentences() as u32;
        let vocab = self.prob.len() as u32;
        let (dims, window, negative) = (cfg.dims as i32, cfg.window as i32, cfg.negative as i32);
        let cbow = i32::from(cfg.model == Model::Cbow);
        let launch = LaunchConfig {
            grid_dim: (self.grid.min(n_sent.max(1)), 1, 1),
            block_dim: (BLOCK, 1, 1),
            shared_mem_bytes: self.shared_bytes,
        };
        let mut b = self.stream.launch_builder(&self.kernel);
        b.arg(&mut self.syn0)
            .arg(&mut self.syn1)
            .arg(&ids)
            .arg(&offsets)
            .arg(&n_sent);
        b.arg(&self.prob).arg(&self.alias).arg(&vocab);
        b.arg(&dims)
            .arg(&window)
            .arg(&negative)
            .arg(&cbow)
            .arg(&alpha.0)
            .arg(&alpha.1)
            .arg(&seed);
        // SAFETY: the argument list matches `train_windows`'s signature in order and type
        // (pointers to f32/u32 device buffers, u32/i32/f32/u64 scalars); `offsets` holds
        // n_sent + 1 entries indexing into `ids`, whose values are rows of `syn0`/`syn1` (ids come
        // from the vocabulary that sized the matrices), and the alias table has `vocab` entries
        // whose values are rows too; shared memory is sized for 2 * window context rows and
        // negative + 1 target rows, the most the kernel writes.
        unsafe { b.launch(launch) }.map_err(dev_err("launching the training kernel"))?;
        Ok(())
    }
}

impl EpochRunner for CudaRunner {
    fn run_epoch(&mut self, epoch: usize, run: &RunContext) -> Result<()> {
        let cfg = run.trainer.config.clone();
        let producers = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(1, 8);
        let slices = run.encoded.slices(producers);
        let (tx, rx) = sync_channel::<(usize, Chunk)>(producers * 2);
        let stats: [super::sgns::ThreadStats; 0] = [];
        let done = std::sync::atomic::AtomicBool::new(false);
        std::thread::scope(|scope| -> Result<()> {
            for (t, slice) in slices.into_iter().enumerate() {
                let tx = tx.clone();
                let keep = run.keep;
                let seed = cfg.seed;
                scope.spawn(move || {
                    let rng = Lcg::new(seed, (epoch * 65_536 + t) as u64);
                    for (k, c) in chunks(slice, keep, CHUNK_WORDS, MAX_SENTENCE, rng).enumerate() {
                        if tx.send((t * 1_000_000 + k, c)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            let reporter = scope.spawn(|| {
                run.trainer.report_until(
                    &|| done.load(Ordering::Relaxed),
                    epoch,
                    run.words_done,
                    run.total_words,
                    &stats,
                )
            });
            let mut result = Ok(());
            for (k, chunk) in rx {
                if run.trainer.stop.load(Ordering::Relaxed) {
                    break;
                }
                let before = run
                    .words_done
                    .fetch_add(chunk.words_read, Ordering::Relaxed);
                let after = before + chunk.words_read;
                let alpha = (
                    learning_rate(cfg.start_alpha(), cfg.end_alpha(), before, run.total_words),
                    learning_rate(cfg.start_alpha(), cfg.end_alpha(), after, run.total_words),
                );
                let seed = cfg.seed ^ ((epoch as u64) << 40) ^ (k as u64).wrapping_mul(0x9E37_79B9);
                if chunk.sentences() == 0 {
                    continue;
                }
                if let Err(e) = self.launch(&chunk, alpha, seed, run) {
                    result = Err(e);
                    break;
                }
            }
            let synced = self
                .stream
                .synchronize()
                .map_err(dev_err("training on the GPU"));
            done.store(true, Ordering::Relaxed);
            let _ = reporter.join();
            result.and(synced)
        })
    }

    fn snapshot(&mut self) -> Result<(Vec<f32>, Vec<f32>)> {
        let s0 = self
            .stream
            .clone_dtoh(&self.syn0)
            .map_err(dev_err("copying vectors from the GPU"))?;
        let s1 = self
            .stream
            .clone_dtoh(&self.syn1)
            .map_err(dev_err("copying vectors from the GPU"))?;
        Ok((s0, s1))
    }
}

//! Every SIMD kernel of wordvec and the one dispatch that picks them.
//!
//! Each kernel has variants, widest first, each tied to a [`Level`]: AVX-512 (F, BW and VL;
//! with VNNI for the integer code kernel), AVX-VNNI (the 256-bit `vpdpbusd` of client and recent
//! server cores), AVX2+FMA, and a portable loop that compilers vectorise with SSE. Every variant
//! compiles on any x86-64 build (`#[target_feature]` on the function, not on the crate); a
//! variant runs only when the CPU has said, at run time, that it has the level's instructions.
//! The choice is made once per kernel and cached, so callers that take the kernel once per scan
//! ([`dot_fn`] and its siblings) keep the feature test out of their inner loops.
//!
//! The environment variable `WORDVEC_SIMD` (`portable`, `avx2`, `avxvnni`, `avx512`,
//! `avx512vnni`) caps the level: no variant above it runs, in these kernels or in the training
//! and classifier loops that ask [`has_avx2_fma`] / [`has_avx512`]. It exists for benchmarks and
//! to exercise the fallbacks end to end; an unknown value is ignored with a warning.
//!
//! Floating-point variants sum in different orders, so their results may differ in the last
//! bits; within one process every caller uses the same variant, which is what the exact scans
//! rely on. The integer code kernels compute the same integer (modulo 2^32) on every variant.
//!
//! Rows are read with unaligned loads, which on current cores cost the same as aligned ones, so
//! word2vec binary files need no aligned copy.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod code;
mod portable;

use std::sync::OnceLock;

#[cfg(feature = "index")]
pub(crate) use code::CodeDotFn;
pub(crate) use code::{code_dot_fn, CodeWeights};
pub use portable::dot_portable;

/// An instruction-set level, in the order the cap of `WORDVEC_SIMD` reads them: a level allows
/// every level before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Plain Rust.
    Portable,
    /// AVX2 and FMA (x86 servers since 2013).
    Avx2,
    /// AVX2, FMA and AVX-VNNI (256-bit `vpdpbusd`).
    AvxVnni,
    /// AVX2, FMA and AVX-512 F, BW and VL.
    Avx512,
    /// AVX-512 F, BW, VL and VNNI (512-bit `vpdpbusd`).
    Avx512Vnni,
}

impl Level {
    /// Every level, narrowest first.
    pub(crate) const ALL: [Level; 5] = [
        Level::Portable,
        Level::Avx2,
        Level::AvxVnni,
        Level::Avx512,
        Level::Avx512Vnni,
    ];

    /// The name `WORDVEC_SIMD` takes.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::AvxVnni => "avxvnni",
            Level::Avx512 => "avx512",
            Level::Avx512Vnni => "avx512vnni",
        }
    }

    /// Whether this CPU has the level's instructions (whatever the cap says).
    pub(crate) fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma");
            let avx512 = avx2 && has!("avx512f") && has!("avx512bw") && has!("avx512vl");
            match self {
                Level::Portable => true,
                Level::Avx2 => avx2,
                Level::AvxVnni => avx2 && has!("avxvnni"),
                Level::Avx512 => avx512,
                Level::Avx512Vnni => avx512 && has!("avx512vnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Level::Portable
        }
    }

    /// Whether variants of this level may run: the CPU has it and `WORDVEC_SIMD` allows it.
    /// Asked once per level; later calls read a cached answer.
    pub(crate) fn enabled(self) -> bool {
        static ENABLED: OnceLock<[bool; 5]> = OnceLock::new();
        let table = ENABLED.get_or_init(|| {
            let cap = cap();
            Level::ALL.map(|l| l <= cap && l.supported())
        });
        table[self as usize]
    }
}

/// The cap `WORDVEC_SIMD` sets (the widest level when unset or unknown).
fn cap() -> Level {
    let Ok(v) = std::env::var("WORDVEC_SIMD") else {
        return Level::Avx512Vnni;
    };
    let v = v.trim().to_ascii_lowercase();
    match Level::ALL.into_iter().find(|l| l.name() == v) {
        Some(l) => l,
        None => {
            tracing::warn!(value = %v, "WORDVEC_SIMD: unknown level ignored (portable, avx2, avxvnni, avx512, avx512vnni)");
            Level::Avx512Vnni
        }
    }
}

/// The first variant of `table` (widest first) whose level is enabled.
fn pick<F: Copy>(table: &[(Level, F)], portable: F) -> F {
    table
        .iter()
        .find(|(l, _)| l.enabled())
        .map_or(portable, |&(_, f)| f)
}

/// Whether the AVX2+FMA loops may run: the test the training and classifier loops make (they
/// compile their plain-Rust bodies a second time with `#[target_feature(enable = "avx2,fma")]`
/// and call that copy when this says yes). Cached; follows `WORDVEC_SIMD`.
#[inline]
#[cfg_attr(not(any(feature = "train", feature = "classify")), allow(dead_code))]
pub(crate) fn has_avx2_fma() -> bool {
    Level::Avx2.enabled()
}

/// Whether loops compiled with `#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,fma")]`
/// may run. Cached; follows `WORDVEC_SIMD`.
#[inline]
#[allow(dead_code)] // For the training and classifier loops' AVX-512 copies.
pub(crate) fn has_avx512() -> bool {
    Level::Avx512.enabled()
}

/// A dot-product kernel: `query . row`, where `row` holds `query.len() * 4` bytes.
pub(crate) type DotFn = fn(&[f32], &[u8]) -> f32;

/// The variants of the f32 dot product, widest first (the portable one apart).
fn dot_variants() -> Vec<(Level, DotFn)> {
    #[cfg(target_arch = "x86_64")]
    {
        vec![
            (Level::Avx512, avx512::dot_checked as DotFn),
            (Level::Avx2, avx2::dot_checked),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The fastest kernel this CPU supports.
pub fn dot_fn() -> DotFn {
    static PICKED: OnceLock<DotFn> = OnceLock::new();
    *PICKED.get_or_init(|| pick(&dot_variants(), dot_portable))
}

/// `query . row` with the fastest available kernel (for hnsw_rs's distance, which scores one
/// pair at a time).
#[cfg(feature = "hnsw-rs")]
pub(crate) fn dot(query: &[f32], row: &[u8]) -> f32 {
    dot_fn()(query, row)
}

/// A squared-norm kernel: `row . row` for a stored row.
pub(crate) type NormSqFn = fn(&[u8]) -> f32;

/// The variants of the squared norm, widest first (the portable one apart).
fn norm_sq_variants() -> Vec<(Level, NormSqFn)> {
    #[cfg(target_arch = "x86_64")]
    {
        vec![
            (Level::Avx512, avx512::norm_sq_checked as NormSqFn),
            (Level::Avx2, avx2::norm_sq_checked),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The fastest squared-norm kernel this CPU supports.
pub(crate) fn norm_sq_fn() -> NormSqFn {
    static PICKED: OnceLock<NormSqFn> = OnceLock::new();
    *PICKED.get_or_init(|| pick(&norm_sq_variants(), portable::norm_sq_portable))
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

#[cfg(test)]
mod tests;

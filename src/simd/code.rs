//! The int8 copy's kernel (see `quant`): `sum_j c_j q_j` of a row's codes `c_j` (`u8`) and a
//! query's integer weights `q_j`, for exact scans, graph traversal and graph builds.
//!
//! The weights are held in two forms, one per instruction family: `i16` for `vpmaddwd`
//! (codes widened to 16 bits, products paired into `i32`), and split as `q = 256 hi + lo` with
//! both halves in `i8` for `vpdpbusd` (unsigned bytes times signed bytes, four products summed
//! into an `i32`). The split needs `|q| <= 127 * 256 + 127` ([`MAX_WEIGHT`]); then `lo` is `q`'s
//! low byte read as signed and `hi = (q - lo) / 256`.
//!
//! Every variant computes the same integer modulo 2^32: the products are exact (at most
//! `255 * 32_768` in magnitude, and a `vpmaddwd` pair or a `vpdpbusd` group is summed exactly),
//! and lanes and the final join add with wrap-around, which commutes with reduction modulo
//! 2^32. So when the true sum lies within `i32` (the caller's weights see to it), every variant
//! returns it exactly.

use std::sync::OnceLock;

use super::{pick, Level};

/// The largest weight magnitude the split form can hold: `127 * 256 + 127`.
pub(crate) const MAX_WEIGHT: i32 = 32_639;

/// A query's integer weights, in the forms the variants of [`CodeDotFn`] read.
#[derive(Debug, Clone)]
pub(crate) struct CodeWeights {
    w: Vec<i16>,
    hi: Vec<i8>,
    lo: Vec<i8>,
}

impl CodeWeights {
    /// The weights `w`, each within `-MAX_WEIGHT..=MAX_WEIGHT` (clamped there: callers scale
    /// them to stay inside).
    pub(crate) fn new(w: Vec<i16>) -> CodeWeights {
        let max = MAX_WEIGHT as i16;
        let w: Vec<i16> = w.into_iter().map(|x| x.clamp(-max, max)).collect();
        let lo: Vec<i8> = w.iter().map(|&x| x as i8).collect();
        let hi = w
            .iter()
            .zip(&lo)
            .map(|(&x, &l)| ((i32::from(x) - i32::from(l)) / 256) as i8)
            .collect();
        CodeWeights { w, hi, lo }
    }

    /// The weights as `i16`.
    pub(crate) fn weights(&self) -> &[i16] {
        &self.w
    }

    /// The high halves: `(q - lo) / 256`.
    pub(crate) fn hi(&self) -> &[i8] {
        &self.hi
    }

    /// The low halves: `q`'s low byte, signed.
    pub(crate) fn lo(&self) -> &[i8] {
        &self.lo
    }
}

/// `sum_j codes[j] * q_j` modulo 2^32, over the first `min(codes.len(), weights)` terms.
pub(crate) type CodeDotFn = fn(&[u8], &CodeWeights) -> i32;

/// The portable variant.
pub(crate) fn code_dot_portable(c: &[u8], w: &CodeWeights) -> i32 {
    super::portable::dot_u8_i16_portable(c, &w.w)
}

/// The variants, widest first (the portable one apart).
pub(super) fn code_dot_variants() -> Vec<(Level, CodeDotFn)> {
    #[cfg(target_arch = "x86_64")]
    {
        vec![
            (
                Level::Avx512Vnni,
                super::avx512::code_dot_vnni_checked as CodeDotFn,
            ),
            (Level::AvxVnni, super::avx2::code_dot_vnni_checked),
            (Level::Avx512, super::avx512::code_dot_checked),
            (Level::Avx2, super::avx2::code_dot_checked),
        ]
    }
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The fastest code kernel this CPU supports.
pub(crate) fn code_dot_fn() -> CodeDotFn {
    static PICKED: OnceLock<CodeDotFn> = OnceLock::new();
    *PICKED.get_or_init(|| pick(&code_dot_variants(), code_dot_portable))
}

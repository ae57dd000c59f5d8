//! The distance the index uses: `1 - cos` for unit vectors, clamped at 0.
//!
//! hnsw_rs's own `DistDot` asserts that `1 - dot >= 0`, which vectors that are unit length only
//! up to rounding break by a hair (dot = 1.0000001 for a word and itself), aborting the process.
//! Clamping costs nothing and keeps every input safe.

use anndists::dist::distances::Distance;

/// `max(0, 1 - a . b)` with the SIMD kernel of [`crate::simd`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UnitDot;

impl Distance<f32> for UnitDot {
    fn eval(&self, va: &[f32], vb: &[f32]) -> f32 {
        let d = crate::simd::dot(va, bytemuck::cast_slice(vb));
        (1.0 - d).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_checks_this_name() {
        assert_eq!(std::any::type_name::<UnitDot>(), super::super::UNIT_DOT);
    }

    #[test]
    fn never_negative_and_zero_for_identical_unit_vectors() {
        let v = [0.6f32, 0.8000001];
        assert_eq!(UnitDot.eval(&v, &v), 0.0);
        assert!((UnitDot.eval(&[1.0, 0.0], &[0.0, 1.0]) - 1.0).abs() < 1e-7);
        assert!((UnitDot.eval(&[1.0, 0.0], &[-1.0, 0.0]) - 2.0).abs() < 1e-7);
    }
}

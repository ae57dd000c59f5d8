//! Hidden-layer activations, with the derivatives backpropagation needs.

use serde::{Deserialize, Serialize};

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Activation {
    /// `max(0, x)`.
    #[default]
    Relu,
    /// `x` for `x > 0`, else `0.01 x` (PyTorch's default slope).
    LeakyRelu,
    /// `x Φ(x)` with the exact normal CDF (PyTorch's default GELU, not the tanh approximation).
    Gelu,
    /// `tanh(x)`.
    Tanh,
    /// `1 / (1 + e^-x)`.
    Sigmoid,
}

/// Slope of [`Activation::LeakyRelu`] below zero.
pub const LEAKY_SLOPE: f32 = 0.01;

impl Activation {
    /// The activation of `x`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::LeakyRelu => {
                if x > 0.0 {
                    x
                } else {
                    LEAKY_SLOPE * x
                }
            }
            Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => sigmoid(x),
        }
    }

    /// The derivative at `x`, given `y = apply(x)`.
    #[inline]
    pub fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Activation::Relu => {
                if x > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu => {
                if x > 0.0 {
                    1.0
                } else {
                    LEAKY_SLOPE
                }
            }
            Activation::Gelu => {
                // d/dx x Φ(x) = Φ(x) + x φ(x).
                let cdf = 0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
                let pdf = (-0.5 * x * x).exp() * 0.398_942_3;
                cdf + x * pdf
            }
            Activation::Tanh => 1.0 - y * y,
            Activation::Sigmoid => y * (1.0 - y),
        }
    }
}

/// The logistic function, without overflow for large |x|.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [
            Activation::Relu,
            Activation::LeakyRelu,
            Activation::Gelu,
            Activation::Tanh,
            Activation::Sigmoid,
        ] {
            for x in [-3.0f32, -0.7, -0.1, 0.2, 0.9, 2.5] {
                let h = 1e-3;
                let fd = (act.apply(x + h) as f64 - act.apply(x - h) as f64) / (2.0 * h as f64);
                let d = act.derivative(x, act.apply(x)) as f64;
                assert!((fd - d).abs() < 1e-3, "{act:?} at {x}: {d} vs {fd}");
            }
        }
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
    }
}

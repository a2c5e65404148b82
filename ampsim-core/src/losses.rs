//! Losses and metrics.
//!
//! * mean squared error — the post's training loss;
//! * error-to-signal ratio, ESR = Σ(y − ŷ)² / Σy² — the field's standard measure: 0 is perfect,
//!   1 is as bad as predicting silence, and it does not depend on the level of the recording.

use tch::Tensor;

use crate::{Error, Result};

fn check(y: &[f32], y_hat: &[f32]) -> Result<()> {
    if y.len() != y_hat.len() {
        return Err(Error::invalid("y_hat", format!("{} samples, but y has {}", y_hat.len(), y.len())));
    }
    if y.is_empty() {
        return Err(Error::invalid("y", "is empty"));
    }
    Ok(())
}

/// Mean squared error.
pub fn mse(y: &[f32], y_hat: &[f32]) -> Result<f64> {
    check(y, y_hat)?;
    Ok(y.iter().zip(y_hat).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum::<f64>() / y.len() as f64)
}

/// Error-to-signal ratio Σ(y − ŷ)² / Σy².
pub fn esr(y: &[f32], y_hat: &[f32]) -> Result<f64> {
    check(y, y_hat)?;
    let err: f64 = y.iter().zip(y_hat).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum();
    let energy: f64 = y.iter().map(|&a| (a as f64).powi(2)).sum();
    if energy == 0.0 {
        return Err(Error::invalid("y", "is silent: the ESR is undefined"));
    }
    Ok(err / energy)
}

/// Mean squared error of tensors (a training loss).
pub fn mse_loss(y_hat: &Tensor, y: &Tensor) -> Tensor {
    (y_hat - y).square().mean(tch::Kind::Float)
}

/// ESR of tensors (a training loss); a tiny epsilon keeps silent batches finite.
pub fn esr_loss(y_hat: &Tensor, y: &Tensor) -> Tensor {
    (y_hat - y).square().sum(tch::Kind::Float) / (y.square().sum(tch::Kind::Float) + 1e-8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esr_of_y_against_0_9_y_is_0_01() {
        let y: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.05).sin()).collect();
        let y9: Vec<f32> = y.iter().map(|v| 0.9 * v).collect();
        assert!((esr(&y, &y9).unwrap() - 0.01).abs() < 1e-6);
        assert!((esr(&y, &vec![0.0; 1000]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(esr(&y, &y).unwrap(), 0.0);
        let t = esr_loss(&Tensor::from_slice(&y9), &Tensor::from_slice(&y)).double_value(&[]);
        assert!((t - 0.01).abs() < 1e-5);
    }

    #[test]
    fn mse_and_errors() {
        assert!((mse(&[1.0, 2.0], &[1.0, 4.0]).unwrap() - 2.0).abs() < 1e-12);
        assert!(mse(&[1.0], &[1.0, 2.0]).is_err());
        assert!(esr(&[0.0, 0.0], &[1.0, 1.0]).is_err());
        let l = mse_loss(&Tensor::from_slice(&[1.0f32, 4.0]), &Tensor::from_slice(&[1.0f32, 2.0])).double_value(&[]);
        assert!((l - 2.0).abs() < 1e-6);
    }
}

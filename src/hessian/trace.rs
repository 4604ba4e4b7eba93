//! Hutchinson's trace estimator with Rademacher probes.
//!
//! For probes `z` with independent entries `+-1` (probability 1/2 each), `E[z^T A z] = tr A`
//! and `Var[z^T A z] = 2 (||A||_F^2 - sum_i A_ii^2)`. With `P` probes the estimate is the
//! sample mean of `z_p^T A z_p`, and its standard error is the sample standard deviation
//! over `sqrt(P)`. Probe `p` is drawn from `stream(seed, [TAG_HUTCHINSON, p])`.

use super::lanczos::{apply_checked, dot};
use super::LinearOperator;
use crate::error::{Error, Result};
use crate::rng::stream;
use rand::RngExt;

/// Stream tag of the Hutchinson probes.
pub const TAG_HUTCHINSON: u64 = 0x4845_5353_0000_0003;

/// A Monte Carlo estimate of a trace with its standard error.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceEstimate {
    /// Sample mean of the probe values.
    pub mean: f64,
    /// Standard error of the mean: sample standard deviation / sqrt(probes).
    pub stderr: f64,
    /// Number of probes.
    pub probes: usize,
    /// Operator applications used.
    pub products: usize,
    /// The probe values `z_p^T A z_p` (not serialized).
    #[serde(skip)]
    pub samples: Vec<f64>,
}

impl TraceEstimate {
    /// Mean and standard error of the sample values (at least two).
    ///
    /// ```
    /// let t = nrnn::hessian::TraceEstimate::from_samples(vec![1.0, 3.0], 2).unwrap();
    /// assert_eq!((t.mean, t.stderr), (2.0, 1.0));
    /// ```
    pub fn from_samples(samples: Vec<f64>, products: usize) -> Result<TraceEstimate> {
        let p = samples.len();
        if p < 2 {
            return Err(Error::param(
                "probes",
                p,
                "at least 2 (a standard error needs two samples)",
            ));
        }
        if samples.iter().any(|s| !s.is_finite()) {
            return Err(Error::NonFinite {
                what: "trace probe value".into(),
            });
        }
        let e = crate::stats::Estimate::of(&samples);
        Ok(TraceEstimate {
            mean: e.mean,
            stderr: e.stderr,
            probes: p,
            products,
            samples,
        })
    }

    /// Two-sided Student-t confidence interval of the trace at `level` in `(0, 1)`.
    ///
    /// ```
    /// let t = nrnn::hessian::TraceEstimate::from_samples(vec![1.0, 2.0, 3.0], 3).unwrap();
    /// let (lo, hi) = t.interval(0.95).unwrap();
    /// assert!(lo < 2.0 && hi > 2.0);
    /// ```
    pub fn interval(&self, level: f64) -> Result<(f64, f64)> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::param("level", level, "a number in (0, 1)"));
        }
        let t = crate::stats::t_quantile(0.5 + level / 2.0, (self.probes - 1) as f64);
        Ok((self.mean - t * self.stderr, self.mean + t * self.stderr))
    }
}

/// Probe `index` of the named draw: `dim` independent signs `+-1`.
///
/// ```
/// let z = nrnn::hessian::rademacher(5, 7, 1, 0);
/// assert!(z.iter().all(|&x| x == 1.0 || x == -1.0));
/// assert_eq!(z, nrnn::hessian::rademacher(5, 7, 1, 0));
/// ```
pub fn rademacher(dim: usize, seed: u64, tag: u64, index: u64) -> Vec<f64> {
    let mut rng = stream(seed, &[tag, index]);
    (0..dim)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect()
}

/// Hutchinson's estimate of `tr A` from `probes` Rademacher probes (at least 2), with its
/// standard error (see the module docs).
///
/// ```
/// use nrnn::hessian::hutchinson;
/// let a = nalgebra::DMatrix::from_row_slice(2, 2, &[2.0, 0.5, 0.5, 3.0]);
/// let t = hutchinson(&a, 100, 1).unwrap();
/// assert!((t.mean - 5.0).abs() <= 4.0 * t.stderr + 1e-12);
/// ```
pub fn hutchinson<O: LinearOperator + ?Sized>(
    op: &O,
    probes: usize,
    seed: u64,
) -> Result<TraceEstimate> {
    let dim = op.dim();
    if dim == 0 {
        return Err(Error::param("operator dimension", 0, "at least 1"));
    }
    if !(2..=1_000_000).contains(&probes) {
        return Err(Error::param("probes", probes, "an integer in [2, 1000000]"));
    }
    let samples: Vec<f64> = (0..probes)
        .map(|p| {
            let z = rademacher(dim, seed, TAG_HUTCHINSON, p as u64);
            Ok(dot(&z, &apply_checked(op, &z)?))
        })
        .collect::<Result<_>>()?;
    TraceEstimate::from_samples(samples, probes)
}

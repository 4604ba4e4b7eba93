//! Spectral density by stochastic Lanczos quadrature (SLQ; Golub-Meurant, Ubaru-Chen-Saad;
//! the method of PyHessian).
//!
//! The spectral density of a symmetric `A` of dimension `N` is
//! `phi(t) = (1/N) sum_j delta(t - lambda_j)`. For a unit probe `v = z / sqrt(N)` (Rademacher
//! `z`), `v^T g(A) v = sum_j (v . u_j)^2 g(lambda_j)` is a quadrature of `g` against a
//! measure whose expectation is `phi`. `m` Lanczos steps from `v` (full reorthogonalization)
//! give the Gauss rule of that measure: nodes `theta_i` (eigenvalues of the tridiagonal
//! `T_m`) and weights `w_i = s_{1,i}^2` (squared first components of its unit eigenvectors,
//! summing to 1). Averaging over `P` probes and replacing each node by a Gaussian of width
//! `sigma`,
//!
//! ```text
//! phi_sigma(t) = (1/P) sum_p sum_i w_{p,i} exp(-(t - theta_{p,i})^2 / (2 sigma^2)) / (sigma sqrt(2 pi))
//! ```
//!
//! which integrates to 1. The same quadrature gives the trace, `N sum_i w_{p,i} theta_{p,i}
//! = z_p^T A z_p` (Hutchinson's estimate with the same probes).

use super::lanczos::{apply_checked, norm, orthogonalize, tridiagonal_eigen};
use super::trace::{rademacher, TraceEstimate};
use super::LinearOperator;
use crate::error::{Error, Result};

/// Stream tag of the SLQ probes (`rademacher(dim, seed, TAG_SLQ, p)`).
pub const TAG_SLQ: u64 = 0x4845_5353_0000_0004;

/// Settings of [`slq`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SlqOptions {
    /// Number of probe vectors, at least 2.
    pub probes: usize,
    /// Lanczos steps per probe (capped at the dimension), at least 1.
    pub steps: usize,
    /// Gaussian width in eigenvalue units; `None`: `rel_sigma` times the node range.
    pub sigma: Option<f64>,
    /// Width relative to the range of the nodes, used when `sigma` is `None`; in `(0, 1]`.
    pub rel_sigma: f64,
    /// Minimum number of grid points (more are used if needed for spacing `<= sigma / 2`).
    pub grid_points: usize,
    /// Seed of the probes.
    pub seed: u64,
}

impl SlqOptions {
    /// Defaults: 10 probes, 80 steps, width 1% of the range, 512 grid points, seed 0.
    ///
    /// ```
    /// assert_eq!(nrnn::hessian::SlqOptions::new().probes, 10);
    /// ```
    pub fn new() -> SlqOptions {
        SlqOptions {
            probes: 10,
            steps: 80,
            sigma: None,
            rel_sigma: 0.01,
            grid_points: 512,
            seed: 0,
        }
    }

    fn validate(&self) -> Result<()> {
        if !(2..=100_000).contains(&self.probes) {
            return Err(Error::param(
                "density.probes",
                self.probes,
                "an integer in [2, 100000]",
            ));
        }
        if self.steps == 0 {
            return Err(Error::param("density.steps", 0, "at least 1"));
        }
        if let Some(s) = self.sigma {
            if !(s.is_finite() && s > 0.0) {
                return Err(Error::param("density.sigma", s, "a finite width > 0"));
            }
        }
        if !(self.rel_sigma.is_finite() && self.rel_sigma > 0.0 && self.rel_sigma <= 1.0) {
            return Err(Error::param(
                "density.rel_sigma",
                self.rel_sigma,
                "a number in (0, 1]",
            ));
        }
        if !(2..=1_000_000).contains(&self.grid_points) {
            return Err(Error::param(
                "density.grid_points",
                self.grid_points,
                "an integer in [2, 1000000]",
            ));
        }
        Ok(())
    }
}

impl Default for SlqOptions {
    fn default() -> Self {
        SlqOptions::new()
    }
}

/// A broadened spectral density with its quadrature and its uncertainty across probes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SpectralDensity {
    /// Grid of eigenvalue positions, increasing, evenly spaced.
    pub grid: Vec<f64>,
    /// `phi_sigma` on the grid (mean over probes).
    pub values: Vec<f64>,
    /// Standard error of `values` across probes.
    pub stderr: Vec<f64>,
    /// Gaussian width used.
    pub sigma: f64,
    /// Quadrature nodes per probe.
    pub nodes: Vec<Vec<f64>>,
    /// Quadrature weights per probe (each row sums to 1).
    pub weights: Vec<Vec<f64>>,
    /// Trace estimate from the same quadrature (`N sum_i w_i theta_i` per probe).
    pub trace: TraceEstimate,
    /// Operator applications used.
    pub products: usize,
}

/// Gaussian density of width `sigma` at `x`.
fn gauss(x: f64, sigma: f64) -> f64 {
    (-0.5 * (x / sigma).powi(2)).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
}

impl SpectralDensity {
    /// The trapezoid-rule integral of `values` over `grid` (1 up to the tails beyond the
    /// grid, which extends 8 widths past the extreme nodes, and the rule's error).
    ///
    /// ```
    /// use nrnn::hessian::{slq, SlqOptions};
    /// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![1.0, 2.0, 5.0]));
    /// let d = slq(&a, &SlqOptions::new()).unwrap();
    /// assert!((d.integral() - 1.0).abs() < 1e-9);
    /// ```
    pub fn integral(&self) -> f64 {
        self.grid
            .windows(2)
            .zip(self.values.windows(2))
            .map(|(g, v)| 0.5 * (g[1] - g[0]) * (v[0] + v[1]))
            .sum()
    }

    /// The density of the same quadrature on another grid with another width (`sigma > 0`).
    ///
    /// ```
    /// use nrnn::hessian::{slq, SlqOptions};
    /// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![1.0, 3.0]));
    /// let d = slq(&a, &SlqOptions::new()).unwrap();
    /// let grid: Vec<f64> = (0..401).map(|i| -2.0 + 0.02 * i as f64).collect();
    /// let v = d.broadened(&grid, 0.2).unwrap();
    /// let mass: f64 = v.iter().sum::<f64>() * 0.02;
    /// assert!((mass - 1.0).abs() < 1e-6);
    /// ```
    pub fn broadened(&self, grid: &[f64], sigma: f64) -> Result<Vec<f64>> {
        if !(sigma.is_finite() && sigma > 0.0) {
            return Err(Error::param("sigma", sigma, "a finite width > 0"));
        }
        let p = self.nodes.len() as f64;
        Ok(grid
            .iter()
            .map(|&t| {
                self.nodes
                    .iter()
                    .zip(&self.weights)
                    .map(|(ns, ws)| {
                        ns.iter()
                            .zip(ws)
                            .map(|(n, w)| w * gauss(t - n, sigma))
                            .sum::<f64>()
                    })
                    .sum::<f64>()
                    / p
            })
            .collect())
    }
}

/// Nodes and weights of the Gauss quadrature of `v^T g(A) v` for the unit vector `v`, by
/// `steps` Lanczos steps with full reorthogonalization (stops early at an invariant
/// subspace, where the rule is exact). Returns `(nodes, weights, products)`; errors when a
/// product is not finite.
///
/// ```
/// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![1.0, 2.0, 4.0]));
/// let v = [1.0 / 3f64.sqrt(); 3];
/// let (nodes, weights, _) = nrnn::hessian::lanczos_quadrature(&a, &v, 3).unwrap();
/// // Exact rule: v^T A v = sum_i w_i theta_i = (1 + 2 + 4) / 3.
/// let q: f64 = nodes.iter().zip(&weights).map(|(t, w)| t * w).sum();
/// assert!((q - 7.0 / 3.0).abs() < 1e-12);
/// ```
pub fn lanczos_quadrature<O: LinearOperator + ?Sized>(
    op: &O,
    v: &[f64],
    steps: usize,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let dim = op.dim();
    let m_max = steps.min(dim).max(1);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m_max);
    let mut alpha = Vec::new();
    let mut beta = Vec::new();
    let mut q = v.to_vec();
    let mut products = 0;
    let mut anorm: f64 = 0.0;
    loop {
        let mut w = apply_checked(op, &q)?;
        products += 1;
        let a = super::lanczos::dot(&q, &w);
        anorm = anorm.max(norm(&w));
        basis.push(q);
        alpha.push(a);
        if basis.len() == m_max {
            break;
        }
        orthogonalize(&mut w, &basis);
        let b = norm(&w);
        if b <= 1e-13 * anorm.max(f64::MIN_POSITIVE) {
            break;
        }
        beta.push(b);
        w.iter_mut().for_each(|x| *x /= b);
        q = w;
    }
    let (vals, vecs) = tridiagonal_eigen(&alpha, &beta);
    let weights = (0..vals.len()).map(|i| vecs[(0, i)].powi(2)).collect();
    Ok((vals, weights, products))
}

/// The spectral density of a symmetric operator by stochastic Lanczos quadrature (see the
/// module docs), on an even grid covering the nodes plus 8 widths on each side.
///
/// ```
/// use nrnn::hessian::{slq, SlqOptions};
/// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![-1.0, 0.0, 4.0]));
/// let d = slq(&a, &SlqOptions { sigma: Some(0.1), ..SlqOptions::new() }).unwrap();
/// // Three nodes per probe (the rule is exact), each of weight 1/3 on average.
/// assert!((d.trace.mean - 3.0).abs() < 4.0 * d.trace.stderr + 1e-9);
/// assert!((d.integral() - 1.0).abs() < 1e-9);
/// ```
pub fn slq<O: LinearOperator + ?Sized>(op: &O, opts: &SlqOptions) -> Result<SpectralDensity> {
    opts.validate()?;
    let dim = op.dim();
    if dim == 0 {
        return Err(Error::param("operator dimension", 0, "at least 1"));
    }
    let mut nodes = Vec::with_capacity(opts.probes);
    let mut weights = Vec::with_capacity(opts.probes);
    let mut products = 0;
    let mut tr = Vec::with_capacity(opts.probes);
    let scale = 1.0 / (dim as f64).sqrt();
    for p in 0..opts.probes {
        let v: Vec<f64> = rademacher(dim, opts.seed, TAG_SLQ, p as u64)
            .iter()
            .map(|z| z * scale)
            .collect();
        let (ns, ws, pr) = lanczos_quadrature(op, &v, opts.steps)?;
        if ns.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "Lanczos quadrature node".into(),
            });
        }
        products += pr;
        tr.push(dim as f64 * ns.iter().zip(&ws).map(|(n, w)| n * w).sum::<f64>());
        nodes.push(ns);
        weights.push(ws);
    }
    let lo = nodes.iter().flatten().fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = nodes
        .iter()
        .flatten()
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let range = hi - lo;
    let sigma = match opts.sigma {
        Some(s) => s,
        None => {
            let r = if range > 0.0 {
                range
            } else {
                lo.abs().max(1.0)
            };
            opts.rel_sigma * r
        }
    };
    let (g0, g1) = (lo - 8.0 * sigma, hi + 8.0 * sigma);
    let needed = ((g1 - g0) / (0.5 * sigma)).ceil() as usize + 1;
    if needed > 1_000_000 {
        return Err(Error::param(
            "density.sigma",
            sigma,
            &format!("a width of at least {:.3e} (the spectrum spans {range:.3e}; at most 10^6 grid points)", (g1 - g0) / 2e6),
        ));
    }
    let n = opts.grid_points.max(needed);
    let h = (g1 - g0) / (n - 1) as f64;
    let grid: Vec<f64> = (0..n).map(|i| g0 + h * i as f64).collect();
    let mut values = vec![0.0; n];
    let mut stderr = vec![0.0; n];
    for (i, &t) in grid.iter().enumerate() {
        let per: Vec<f64> = nodes
            .iter()
            .zip(&weights)
            .map(|(ns, ws): (&Vec<f64>, &Vec<f64>)| {
                ns.iter()
                    .zip(ws)
                    .map(|(nd, w)| w * gauss(t - nd, sigma))
                    .sum::<f64>()
            })
            .collect();
        let e = crate::stats::Estimate::of(&per);
        values[i] = e.mean;
        stderr[i] = e.stderr;
    }
    let trace = TraceEstimate::from_samples(tr, products)?;
    Ok(SpectralDensity {
        grid,
        values,
        stderr,
        sigma,
        nodes,
        weights,
        trace,
        products,
    })
}

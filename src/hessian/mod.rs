//! Flat minima: the Hessian of the training loss, its top eigenvalues, trace and spectral
//! density, and the hidden-state Hessian (docs/theory.md section 3).
//!
//! - [`LinearOperator`]: a symmetric operator known through products `v -> A v` (a dense
//!   matrix, or the parameter Hessian [`ParamHessian`] applied by exact Hessian-vector
//!   products, forward-over-reverse in dual numbers).
//! - [`lanczos`] (full reorthogonalization) and [`power_iteration`] (deflation): the largest
//!   eigenvalues, each with its residual `||A v - lambda v||` and the products used.
//! - [`hutchinson`]: `tr A` with Rademacher probes, mean and standard error.
//! - [`slq`]: the spectral density by stochastic Lanczos quadrature, Gaussian broadening.
//! - [`hidden_state_hessian`]: `H = V^T Hess_o l V` at the final deterministic state.
//! - [`analyze`]: all of the above for a model and a batch, as one [`HessianReport`].
//!
//! Prediction (docs/theory.md 3): models trained with more noise have a smaller top eigenvalue
//! and trace.

pub mod density;
pub mod hidden;
pub mod hvp;
pub mod lanczos;
pub mod trace;

pub use density::{lanczos_quadrature, slq, SlqOptions, SpectralDensity};
pub use hidden::{hidden_state_hessian, HiddenHessian};
pub use hvp::ParamHessian;
pub use lanczos::{lanczos, power_iteration, Eigenpairs, LanczosOptions, PowerOptions};
pub use trace::{hutchinson, rademacher, TraceEstimate};

use crate::data::Batch;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::model::network::Recurrent;
use nalgebra::DMatrix;

/// A symmetric linear operator known through its products. The eigenvalue, trace and
/// density routines of this module take any implementation.
///
/// ```
/// use nrnn::hessian::LinearOperator;
/// let a = nalgebra::DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 3.0]);
/// assert_eq!(a.dim(), 2);
/// assert_eq!(a.apply(&[1.0, 0.0]), vec![2.0, 1.0]);
/// ```
pub trait LinearOperator: Sync {
    /// Dimension `N` (the operator maps `R^N` to `R^N`).
    fn dim(&self) -> usize;
    /// The product `A v` for `v` of length `N` (panics on another length: a programming error).
    fn apply(&self, v: &[f64]) -> Vec<f64>;
}

/// A square matrix as an operator (the algorithms assume it is symmetric).
impl LinearOperator for DMatrix<f64> {
    fn dim(&self) -> usize {
        assert_eq!(
            self.nrows(),
            self.ncols(),
            "LinearOperator for DMatrix: the matrix must be square"
        );
        self.nrows()
    }
    fn apply(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(
            v.len(),
            self.ncols(),
            "LinearOperator::apply: vector length"
        );
        let mut out = vec![0.0; self.nrows()];
        for (j, &x) in v.iter().enumerate() {
            if x != 0.0 {
                for (o, a) in out.iter_mut().zip(self.column(j).iter()) {
                    *o += a * x;
                }
            }
        }
        out
    }
}

/// The dense matrix of an operator, column `j` = `A e_j` (`N` products; for small `N`).
///
/// ```
/// let a = nalgebra::DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 3.0]);
/// assert_eq!(nrnn::hessian::dense(&a), a);
/// ```
pub fn dense<O: LinearOperator + ?Sized>(op: &O) -> DMatrix<f64> {
    let n = op.dim();
    let mut m = DMatrix::zeros(n, n);
    let mut e = vec![0.0; n];
    for j in 0..n {
        e[j] = 1.0;
        m.column_mut(j).copy_from_slice(&op.apply(&e));
        e[j] = 0.0;
    }
    m
}

/// What [`analyze`] computes, and how hard it tries.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct HessianOptions {
    /// Number of top eigenvalues (Lanczos), `>= 1`.
    pub top_k: usize,
    /// Largest Krylov dimension of each Lanczos run (the first and every deflated restart).
    pub lanczos_max_iter: usize,
    /// Relative residual tolerance of the Lanczos run.
    pub lanczos_tol: f64,
    /// Hutchinson probes, `>= 2`.
    pub trace_probes: usize,
    /// Also run power iteration with deflation (for comparison; it ranks by magnitude, see
    /// [`power_iteration`]).
    pub power: bool,
    /// Spectral density settings, or `None` to skip it.
    pub density: Option<SlqOptions>,
    /// Seed of every random draw (start vectors, probes).
    pub seed: u64,
}

impl HessianOptions {
    /// Top `k`, `probes` Hutchinson probes, Lanczos defaults, no power iteration, no density.
    ///
    /// ```
    /// let o = nrnn::hessian::HessianOptions::new(3, 20, 7);
    /// assert_eq!((o.top_k, o.trace_probes, o.seed), (3, 20, 7));
    /// ```
    pub fn new(top_k: usize, trace_probes: usize, seed: u64) -> HessianOptions {
        let l = LanczosOptions::new(top_k);
        HessianOptions {
            top_k,
            lanczos_max_iter: l.max_iter,
            lanczos_tol: l.tol,
            trace_probes,
            power: false,
            density: None,
            seed,
        }
    }
}

/// The hidden-state part of a [`HessianReport`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct HiddenReport {
    /// Top eigenvalues of the mean hidden-state Hessian by Lanczos.
    pub top: Eigenpairs,
    /// Hutchinson's trace of the mean hidden-state Hessian.
    pub trace: TraceEstimate,
    /// Top eigenvalues from the dense eigen-decomposition (reference).
    pub exact_top: Vec<f64>,
    /// Exact trace.
    pub exact_trace: f64,
    /// Mean over examples of `lambda_max(H_b)` and its standard error.
    pub per_example_top_mean: f64,
    /// Standard error of `per_example_top_mean`.
    pub per_example_top_stderr: f64,
}

/// Everything [`analyze`] measures about the curvature of a model on a batch.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HessianReport {
    /// Number of flat parameters `N`.
    pub dim: usize,
    /// Examples in the batch.
    pub examples: usize,
    /// Mean loss at the model's parameters.
    pub loss: f64,
    /// Euclidean norm of the gradient (small at a minimum).
    pub grad_norm: f64,
    /// Top eigenvalues of the parameter Hessian (Lanczos), with residuals.
    pub top: Eigenpairs,
    /// Power iteration with deflation, if asked.
    pub power: Option<Eigenpairs>,
    /// Hutchinson's trace of the parameter Hessian.
    pub trace: TraceEstimate,
    /// Spectral density, if asked.
    pub density: Option<SpectralDensity>,
    /// Hessian-vector products used in total (parameter Hessian).
    pub hvp_count: usize,
    /// The hidden-state Hessian.
    pub hidden: HiddenReport,
}

/// Mean and standard error of values (standard error 0 for fewer than two values).
pub(crate) fn mean_stderr(v: &[f64]) -> (f64, f64) {
    let e = crate::stats::Estimate::of(v);
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    (e.mean, e.stderr_or_zero())
}

/// Top eigenvalues, trace, optional power iteration and density of the Hessian of the
/// deterministic mean loss of `batch` in the parameters of `model` (any cell), and the same for the
/// hidden-state Hessian (`top_k` capped at the hidden size there).
///
/// ```
/// use nrnn::data::{Batch, Target};
/// use nrnn::hessian::{analyze, HessianOptions};
/// use nrnn::loss::Loss;
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_fn(1, 6 * 4, |_, j| (j as f64).sin());
/// let batch = Batch { x, steps: 6, size: 4, target: Target::Classes(vec![0, 1, 1, 0]) };
/// let r = analyze(&m, &batch, Loss::CrossEntropy, &HessianOptions::new(2, 4, 0)).unwrap();
/// assert_eq!(r.top.values.len(), 2);
/// assert!(r.top.values[0] >= r.top.values[1]);
/// assert!(r.hidden.exact_trace >= 0.0);
/// ```
pub fn analyze<R: Recurrent>(
    model: &R,
    batch: &Batch,
    loss: Loss,
    opts: &HessianOptions,
) -> Result<HessianReport> {
    let op = ParamHessian::new(model, batch, loss)?;
    let dim = op.dim();
    if opts.top_k == 0 || opts.top_k > dim {
        return Err(Error::param(
            "top_k",
            opts.top_k,
            &format!("an integer in [1, {dim}] (the number of parameters)"),
        ));
    }
    if !(2..=1_000_000).contains(&opts.trace_probes) {
        return Err(Error::param(
            "trace_probes",
            opts.trace_probes,
            "an integer in [2, 1000000]",
        ));
    }
    let (l, g) = op.loss_grad();
    let lopts = LanczosOptions {
        k: opts.top_k,
        max_iter: opts.lanczos_max_iter,
        tol: opts.lanczos_tol,
        seed: opts.seed,
    };
    let top = lanczos(&op, &lopts)?;
    let power = if opts.power {
        Some(power_iteration(
            &op,
            &PowerOptions {
                seed: opts.seed,
                ..PowerOptions::new(opts.top_k)
            },
        )?)
    } else {
        None
    };
    let trace = hutchinson(&op, opts.trace_probes, opts.seed)?;
    let density = match &opts.density {
        Some(d) => Some(slq(&op, d)?),
        None => None,
    };
    let hvp_count = top.products
        + power.as_ref().map_or(0, |p| p.products)
        + trace.products
        + density.as_ref().map_or(0, |d| d.products);

    let hh = hidden_state_hessian(model, batch, loss)?;
    let n = hh.matrix.nrows();
    let kh = opts.top_k.min(n);
    let htop = lanczos(
        &hh.matrix,
        &LanczosOptions {
            k: kh,
            ..lopts.clone()
        },
    )?;
    let htrace = hutchinson(&hh.matrix, opts.trace_probes, opts.seed)?;
    let mut ev: Vec<f64> = hh
        .matrix
        .clone()
        .symmetric_eigenvalues()
        .iter()
        .copied()
        .collect();
    ev.sort_by(|a, b| b.total_cmp(a));
    ev.truncate(kh);
    let (pm, ps) = mean_stderr(&hh.per_example_top);
    let hidden = HiddenReport {
        top: htop,
        trace: htrace,
        exact_top: ev,
        exact_trace: hh.matrix.trace(),
        per_example_top_mean: pm,
        per_example_top_stderr: ps,
    };
    let grad_norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    if !l.is_finite() || !grad_norm.is_finite() {
        return Err(Error::NonFinite {
            what: "loss or gradient of the model on the batch".into(),
        });
    }
    Ok(HessianReport {
        dim,
        examples: batch.size,
        loss: l,
        grad_norm,
        top,
        power,
        trace,
        density,
        hvp_count,
        hidden,
    })
}

//! Discrete-time `Q` and `R` for the Euler-Maruyama network (docs/theory.md section 2), per
//! example, per time step (the unrolled form), and averaged over a data set.
//!
//! ```text
//! C_0 = 0,  C_{k+1} = D_k C_k D_k^T + Sigma_k            (forward, matrices)
//! v_{k,i} = a''(z_{k,i}) (W C_k W^T)_{ii}
//! lambda_K = g,  lambda_k = D_k^T lambda_{k+1}            (backward, vectors)
//! Q = sum_k Q_k,  Q_k = lambda_{k+1}^T diag(d) v_k
//! R = tr(H C_K) = sum_k R_k,  R_k = tr(Ŝ_k^T P_{k+1} Ŝ_k),  P_K = H,  P_k = D_k^T P_{k+1} D_k
//! ```
//!
//! The forward sweep costs one `2n x n x n` and one `n x n x n` product per step (the
//! stacked `[A; W] C_k` gives both `D_k C_k` and the diagonal of `W C_k W^T`); the
//! backward sweep for `Q` is a vector recursion. The per-step `R_k` (option `per_step`)
//! needs the backward matrix sweep `P_k`, two more products per step.

use super::{check_inputs, Linearization};
use crate::data::{Batch, Target};
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::Loss;
use crate::model::{Model, NoiseForm};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// Options of the closed-form computation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Also compute the per-step contributions `Q_k`, `R_k` (two more matrix products
    /// per step).
    pub per_step: bool,
    /// eps of the `code` form's mean-factor path (see the module docs of
    /// [`crate::regularizer`]); ignored by the other forms. 0: the eps -> 0 limit.
    pub code_eps: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            per_step: false,
            code_eps: 0.0,
        }
    }
}

/// Per-step contributions: `Q = sum_k q[k]`, `R = sum_k r[k]` (step k's noise seen through
/// the rest of the sequence).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PerStep {
    /// `Q_k = lambda_{k+1}^T diag(d) v_k`.
    pub q: Vec<f64>,
    /// `R_k = tr(Ŝ_k^T Phi_{K,k+1}^T H Phi_{K,k+1} Ŝ_k)`.
    pub r: Vec<f64>,
}

/// The closed-form regularizer of one example.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Regularizer {
    /// Loss on the deterministic path, `l(hbar_K)`.
    pub loss: f64,
    /// `Q` (mean-shift term; any sign).
    pub q: f64,
    /// `R = tr(H C_K)` (curvature term).
    pub r: f64,
    /// `tr(C_K) = sum_k ||Phi_{K,k+1} Ŝ_k||_F^2` (the `S` of the bounds
    /// `lambda_min(H) S <= R <= lambda_max(H) S`).
    pub trace_c: f64,
    /// Per-step contributions, when asked for.
    pub per_step: Option<PerStep>,
}

impl Regularizer {
    /// The explicit regularizer `(Q + R)/2`: `E l(h_K) = l(hbar_K) + eps^2 (Q + R)/2 + O(eps^4)`.
    ///
    /// ```
    /// let r = nrnn::regularizer::Regularizer { loss: 1.0, q: -0.5, r: 2.0, trace_c: 3.0, per_step: None };
    /// assert_eq!(r.value(), 0.75);
    /// ```
    pub fn value(&self) -> f64 {
        0.5 * (self.q + self.r)
    }
}

/// Forward covariance sweep: `C_K` and the curvature vectors `v_k` (`n x K`).
pub(crate) fn covariance_sweep(lin: &Linearization) -> (DMatrix<f64>, DMatrix<f64>) {
    covariance_sweep_observed(lin, |_, _| {})
}

/// [`covariance_sweep`], handing each `C_k` (`k = 0..K-1`, before step k) to `visit`: the
/// one home of the recursion `C_{k+1} = D_k C_k D_k^T + Sigma_k`, also for its adjoint
/// ([`super::gradient`]), which needs every `C_k`.
pub(crate) fn covariance_sweep_observed(
    lin: &Linearization,
    mut visit: impl FnMut(usize, &DMatrix<f64>),
) -> (DMatrix<f64>, DMatrix<f64>) {
    let n = lin.hidden();
    let k_steps = lin.steps;
    let rec = &lin.rec;
    let rows = rec.stacked.nrows();
    let curved = lin.dda.iter().any(|&x| x != 0.0);
    let mut cm = DMatrix::<f64>::zeros(n, n);
    let mut next = DMatrix::<f64>::zeros(n, n);
    let mut y = DMatrix::<f64>::zeros(rows, n);
    let mut m = DMatrix::<f64>::zeros(n, n);
    let mut v = DMatrix::<f64>::zeros(n, k_steps);
    let d = lin.d.as_slice();
    for k in 0..k_steps {
        visit(k, &cm);
        if k > 0 {
            rec.apply(&cm, &mut y);
            if curved {
                let acc = rec.wcw_diagonal(&y, 0);
                for i in 0..n {
                    v[(i, k)] = lin.dda[(i, k)] * acc[i];
                }
            }
            // M = D_k C_k = C_k + diag(d) J_k C_k.
            let da = &lin.da.as_slice()[k * n..(k + 1) * n];
            for j in 0..n {
                let yj = &y.as_slice()[j * rows..(j + 1) * rows];
                for i in 0..n {
                    m[(i, j)] = cm[(i, j)] + d[i] * rec.jvp_unit(yj, da[i], i);
                }
            }
            // C_{k+1} = M D_k^T = M + (M J_k^T) diag(d).
            let jk = lin.jacobian(k);
            gemm(1.0, &m, false, &jk, true, 0.0, &mut next);
            for j in 0..n {
                for i in 0..n {
                    next[(i, j)] = m[(i, j)] + next[(i, j)] * d[j];
                }
            }
        } else {
            next.fill(0.0);
        }
        for i in 0..n {
            next[(i, i)] += lin.s[(i, k)] * lin.s[(i, k)];
        }
        if let Some(c) = &lin.c {
            let ck = c.column(k);
            for j in 0..n {
                for i in 0..n {
                    next[(i, j)] += ck[i] * ck[j];
                }
            }
        }
        // Keep C exactly symmetric (round-off would otherwise accumulate over K steps).
        for j in 0..n {
            for i in 0..j {
                let s = 0.5 * (next[(i, j)] + next[(j, i)]);
                next[(i, j)] = s;
                next[(j, i)] = s;
            }
        }
        std::mem::swap(&mut cm, &mut next);
    }
    (cm, v)
}

/// The closed form from a linearization (see [`closed_form`]).
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{discrete::from_linearization, Linearization};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let d = nrnn::data::sines(1, 8, 2, 0).unwrap();
/// let lin = Linearization::new(&m, &d.all(), 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
/// let reg = from_linearization(&lin, true);
/// let ps = reg.per_step.unwrap();
/// assert!((ps.r.iter().sum::<f64>() - reg.r).abs() < 1e-12 * reg.r.abs().max(1.0));
/// ```
pub fn from_linearization(lin: &Linearization, per_step: bool) -> Regularizer {
    let n = lin.hidden();
    let k_steps = lin.steps;
    let (ck, v) = covariance_sweep(lin);
    let r = lin.hess.component_mul(&ck).sum();
    let trace_c = ck.trace();
    let mut lam = lin.g.clone();
    let mut qs = vec![0.0; k_steps];
    for k in (0..k_steps).rev() {
        let mut qk = 0.0;
        for i in 0..n {
            qk += lam[i] * lin.d[i] * v[(i, k)];
        }
        qs[k] = qk;
        if k > 0 {
            lam = lin.step_transpose_apply(k, &lam);
        }
    }
    let q = qs.iter().sum();
    let per = if per_step {
        let mut p = lin.hess.clone();
        let mut rs = vec![0.0; k_steps];
        let mut t = DMatrix::<f64>::zeros(n, n);
        for k in (0..k_steps).rev() {
            rs[k] = lin.sigma_trace(k, &p);
            if k > 0 {
                let dk = lin.step_matrix(k);
                gemm(1.0, &p, false, &dk, false, 0.0, &mut t);
                gemm(1.0, &dk, true, &t, false, 0.0, &mut p);
                p = (&p + p.transpose()) * 0.5;
            }
        }
        Some(PerStep { q: qs, r: rs })
    } else {
        None
    };
    Regularizer {
        loss: lin.loss,
        q,
        r,
        trace_c,
        per_step: per,
    }
}

/// Closed-form `Q` and `R` of example `e` of `batch` (discrete time, the model's own
/// steps), for the noise form and levels `sigma1`, `sigma2` of the model (its `eps` is not
/// used: `Q`, `R` are the coefficients of `eps^2 / 2`).
///
/// ```
/// use nrnn::model::{Activation, Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{closed_form, Options};
/// let mut cfg = ModelConfig::new(4, 1, 3);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// cfg.activation = Activation::Identity;
/// let m = Model::init(cfg, 0.1, 2).unwrap();
/// let d = nrnn::data::sines(1, 12, 3, 0).unwrap();
/// let reg = closed_form(&m, &d.all(), 0, nrnn::loss::Loss::CrossEntropy, Options::default()).unwrap();
/// assert_eq!(reg.q, 0.0); // a linear drift has no curvature
/// assert!(reg.r > 0.0);
/// ```
pub fn closed_form(
    model: &Model,
    batch: &Batch,
    e: usize,
    loss: Loss,
    opts: Options,
) -> Result<Regularizer> {
    let lin = Linearization::new(model, batch, e, loss, opts.code_eps)?;
    let reg = from_linearization(&lin, opts.per_step);
    if !(reg.q.is_finite() && reg.r.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("Q or R of example {e} (the linearized dynamics overflow)"),
        });
    }
    Ok(reg)
}

/// `R` for purely additive noise (`sigma2 = 0`) from the explicit products
/// `G_{k} = H^{1/2} Phi_{K,k}`:
/// `R = sum_k sum_i s_i^2 ||G_{k+1} e_i||^2` with `s_i = sigma1 sqrt(d_i)` (`diag`,
/// `scalar`) or `sigma1` (`code`), i.e. `sigma1^2 sum_k dt ||H^{1/2} Phi_{K,k+1}||_F^2` for
/// a uniform step (docs/theory.md section 2, special cases). A second, independent computation
/// of [`closed_form`]'s `R`, used by the tests.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{closed_form, r_additive, Options};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 0.7, 0.0).unwrap();
/// let m = Model::init(cfg, 0.1, 4).unwrap();
/// let b = nrnn::data::sines(1, 8, 2, 1).unwrap().all();
/// let ra = r_additive(&m, &b, 0, nrnn::loss::Loss::CrossEntropy).unwrap();
/// let r = closed_form(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, Options::default()).unwrap().r;
/// assert!((ra - r).abs() < 1e-12 * r);
/// ```
pub fn r_additive(model: &Model, batch: &Batch, e: usize, loss: Loss) -> Result<f64> {
    let nz = model.config.noise;
    if nz.sigma2 != 0.0 {
        return Err(Error::param(
            "noise.sigma2",
            nz.sigma2,
            "0 (the additive-only closed form)",
        ));
    }
    let lin = Linearization::new(model, batch, e, loss, 0.0)?;
    let n = lin.hidden();
    let eig = lin.hess.clone().symmetric_eigen();
    let sqrt_ev = eig.eigenvalues.map(|x| x.max(0.0).sqrt());
    let half = &eig.eigenvectors * DMatrix::from_diagonal(&sqrt_ev) * eig.eigenvectors.transpose();
    let s2: Vec<f64> = (0..n)
        .map(|i| {
            let s = match nz.form {
                NoiseForm::Code => nz.sigma1,
                _ => nz.sigma1 * lin.d0[i].sqrt(),
            };
            s * s
        })
        .collect();
    let mut g = half;
    let mut t = DMatrix::<f64>::zeros(n, n);
    let mut r = 0.0;
    for k in (0..lin.steps).rev() {
        for (i, &si) in s2.iter().enumerate() {
            r += si * g.column(i).norm_squared();
        }
        if k > 0 {
            gemm(1.0, &g, false, &lin.step_matrix(k), false, 0.0, &mut t);
            std::mem::swap(&mut g, &mut t);
        }
    }
    Ok(r)
}

/// The regularizer of a data set: the mean over its examples (its definition in
/// docs/theory.md section 2, "Monte Carlo check"), computed in parallel over examples and
/// reduced in index order.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DataAverage {
    /// Number of examples.
    pub examples: usize,
    /// Mean deterministic loss `mean_e l(hbar_K)`.
    pub loss: f64,
    /// Mean `Q`.
    pub q: f64,
    /// Mean `R`.
    pub r: f64,
    /// Each example's closed form, in order.
    pub per_example: Vec<Regularizer>,
}

impl DataAverage {
    /// `(Q + R)/2` of the data set.
    ///
    /// ```
    /// let a = nrnn::regularizer::DataAverage { examples: 0, loss: 0.0, q: 1.0, r: 3.0, per_example: vec![] };
    /// assert_eq!(a.value(), 2.0);
    /// ```
    pub fn value(&self) -> f64 {
        0.5 * (self.q + self.r)
    }
}

/// [`closed_form`] for every example of `batch`, and the means.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{dataset, Options};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 1.0).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(3, 8, 2, 0).unwrap().all();
/// let avg = dataset(&m, &b, nrnn::loss::Loss::CrossEntropy, Options::default()).unwrap();
/// let mean_r = avg.per_example.iter().map(|r| r.r).sum::<f64>() / 3.0;
/// assert_eq!((avg.examples, avg.r), (3, mean_r));
/// ```
pub fn dataset(model: &Model, batch: &Batch, loss: Loss, opts: Options) -> Result<DataAverage> {
    check_inputs(model, batch)?;
    let per: Vec<Result<Regularizer>> = (0..batch.size)
        .into_par_iter()
        .map(|e| closed_form(model, batch, e, loss, opts))
        .collect();
    let per: Vec<Regularizer> = per.into_iter().collect::<Result<_>>()?;
    let nb = per.len() as f64;
    let mut sums = (0.0, 0.0, 0.0);
    for r in &per {
        sums.0 += r.loss;
        sums.1 += r.q;
        sums.2 += r.r;
    }
    Ok(DataAverage {
        examples: per.len(),
        loss: sums.0 / nb,
        q: sums.1 / nb,
        r: sums.2 / nb,
        per_example: per,
    })
}

/// The same network on a finer grid with the time span held fixed: every step `d` split
/// into `substeps` Euler-Maruyama steps `d / substeps`, the input held over each original
/// step (each input column repeated `substeps` times). As `substeps -> infinity`,
/// [`closed_form`] on the refined pair tends to [`super::continuous`] with order `1/substeps`.
///
/// ```
/// let m = nrnn::model::Model::init(nrnn::model::ModelConfig::new(2, 1, 2), 0.1, 1).unwrap();
/// let b = nrnn::data::sines(2, 8, 2, 0).unwrap().all();
/// let (m2, b2) = nrnn::regularizer::refine(&m, &b, 3).unwrap();
/// assert_eq!((b2.steps, m2.params.dt[0]), (24, 0.1 / 3.0));
/// ```
pub fn refine(model: &Model, batch: &Batch, substeps: usize) -> Result<(Model, Batch)> {
    if substeps == 0 || substeps > 1 << 16 {
        return Err(Error::param(
            "substeps",
            substeps,
            "an integer in [1, 65536]",
        ));
    }
    check_inputs(model, batch)?;
    let mut m = model.clone();
    m.params.dt /= substeps as f64;
    let b = batch.size;
    let p = batch.x.nrows();
    let mut x = DMatrix::zeros(p, batch.steps * substeps * b);
    for k in 0..batch.steps {
        for r in 0..substeps {
            x.columns_mut((k * substeps + r) * b, b)
                .copy_from(&batch.x.columns(k * b, b));
        }
    }
    let target = match &batch.target {
        Target::Classes(y) => Target::Classes(y.clone()),
        Target::Values(v) => Target::Values(v.clone()),
    };
    Ok((
        m,
        Batch {
            x,
            steps: batch.steps * substeps,
            size: b,
            target,
        },
    ))
}

//! The explicit regularizer `(Q + R)/2` of noise injection (docs/theory.md section 2), in
//! discrete and continuous time, and its Monte Carlo check.
//!
//! Along the deterministic path `hbar` (noise off), with `z_k = W hbar_k + U x_k + b`:
//!
//! ```text
//! J_k = A + diag(a'(z_k)) W                 (A omitted when `a_term` is false)
//! D_k = I + diag(d) J_k                      (d: the per-unit step vector)
//! Sigma_k = Ŝ_k Ŝ_k^T                        (covariance of one step's noise, per eps^2)
//! C_0 = 0,   C_{k+1} = D_k C_k D_k^T + Sigma_k
//! v_{k,i} = a''(z_{k,i}) (W C_k W^T)_{ii}
//! R = tr(H C_K) = sum_k tr(Ŝ_k^T Phi_{K,k+1}^T H Phi_{K,k+1} Ŝ_k)
//! Q = g^T sum_k Phi_{K,k+1} diag(d) v_k
//! E l(h_K) = l(hbar_K) + (eps^2 / 2) (Q + R) + O(eps^4)
//! ```
//!
//! with `g`, `H` the gradient and Hessian of the loss in the final hidden state
//! ([`loss_derivatives`]).
//!
//! **Per-unit step.** docs/theory.md writes one scalar `dt`; the model has a step `d_i` per unit.
//! The same derivation holds with `dt` replaced by `diag(d)`: the drift step is
//! `diag(d) f`, so `D_k = I + diag(d) J_k` and the mean-shift term is `diag(d) v_k / 2`;
//! the noise of one step is `eps diag(sqrt d) S_k xi_k`, so its covariance per `eps^2` is
//! `Sigma_k = diag(sqrt d) S_k S_k^T diag(sqrt d)` (`= dt S_k S_k^T` when all `d_i = dt`).
//!
//! **Noise forms** (the factor `Ŝ_k`, always stored as a per-unit standard deviation
//! `s_k` plus an optional shared column `c_k`, `Sigma_k = diag(s_k^2) + c_k c_k^T`):
//! - `diag`: `S_k = diag(sigma1 + sigma2 hbar_k)`, so `s_k = sqrt(d) (sigma1 + sigma2 hbar_k)`;
//! - `scalar`: `S_k = [sigma1 I | sigma2 hbar_k]` (n x (n+1)), so `s_k = sigma1 sqrt(d)` and
//!   `c_k = sigma2 sqrt(d) hbar_k`;
//! - `code`: the released script's step `h + d m f + eps sigma1 xi`, `m = 1 - eps sigma2 u`,
//!   `u ~ U[0, 1)`. Its noise is not centred (`E m = 1 - eps sigma2 / 2`), so we expand
//!   around the *mean-factor path*, the deterministic network with step
//!   `d_eff = d (1 - eps sigma2 / 2)`, and write `u = 1/2 + w` with `w` symmetric on
//!   `[-1/2, 1/2)`, variance 1/12. The step's noise is then
//!   `eps (sigma1 xi - sigma2 w (.) d (.) f(h_k))`, symmetric, so the expansion is even in
//!   eps at a fixed `d_eff` and everything above holds with `D_k = I + diag(d_eff) J_k`,
//!   mean shift `diag(d_eff) v_k / 2`, and the diagonal per-step covariance
//!   `s_k^2 = sigma1^2 + sigma2^2 (d (.) fbar_k)^2 / 12` — with no `d` weight on the additive
//!   part, so the sum grows with the number of steps K, not with the time span, and has no
//!   continuous-time limit. The reference path depends on eps: [`Linearization::new`] takes
//!   the eps of the mean factor (`code_eps`; 0 gives the eps -> 0 limit, the deterministic
//!   network itself). Because `(Q + R)(eps) = (Q + R)(0) + O(eps)`, comparing a Monte Carlo
//!   gap at eps with the eps -> 0 value leaves an `O(eps^3)` remainder (the non-symmetric
//!   case of docs/theory.md section 2); the Monte Carlo module compares with the value at
//!   the same eps and keeps the `O(eps^4)` remainder.
//!
//! Submodules: [`discrete`] (the Euler-Maruyama recursions above, per example, per step and
//! averaged over a data set), [`gradient`] (the exact adjoint of the discrete recursions:
//! the gradient of `Q`, `R` and the explicit training objective), [`probe`] (the unbiased
//! probe estimate of `Q`, `R` and of that gradient, for large models), [`continuous`] (Lyapunov and mean ODEs, RK4), [`montecarlo`]
//! (antithetic Monte Carlo with common random numbers, control variate, remainder slope,
//! benchmark).

pub mod continuous;
pub mod discrete;
pub mod gradient;
pub mod montecarlo;
pub mod probe;

pub use continuous::{continuous, Continuous};
pub use discrete::{
    closed_form, dataset, r_additive, refine, DataAverage, Options, PerStep, Regularizer,
};
pub use montecarlo::{
    bench, fit_slope, monte_carlo, BenchReport, McEstimate, McOptions, MonteCarlo, SlopeFit,
};

use crate::data::{Batch, Target};
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::{softmax, Loss};
use crate::model::cell::Recurrence;
use crate::model::increment::{covariance_sd, covariance_shared};
use crate::model::{forward, Model, NoiseForm, Params};
use nalgebra::{DMatrix, DVector};

/// Value, gradient and Hessian of one example's loss as a function of the final hidden
/// state `h` (docs/theory.md section 2), with `o = V h + c`:
/// - cross-entropy: `l = logsumexp(o) - o_y`, `g = V^T (p - e_y)`,
///   `H = V^T (diag(p) - p p^T) V` with `p = softmax(o)`;
/// - squared error: `l = |o - y|^2 / 2`, `g = V^T (o - y)`, `H = V^T V` (class targets are
///   one-hot vectors).
///
/// `target` must hold exactly one example. Errors name the field when the target does not
/// fit the loss (cross-entropy needs a class label below `classes`; squared error needs a
/// target column of length `classes` or a label).
///
/// ```
/// use nrnn::{data::Target, loss::Loss, model::{Model, ModelConfig}};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let h = nalgebra::DVector::from_vec(vec![0.1, -0.2, 0.3]);
/// let (l, g, hess) = nrnn::regularizer::loss_derivatives(&m, &h, &Target::Classes(vec![1]),
///     Loss::CrossEntropy).unwrap();
/// assert!(l > 0.0 && g.len() == 3 && hess.shape() == (3, 3));
/// ```
pub fn loss_derivatives(
    model: &Model,
    h: &DVector<f64>,
    target: &Target,
    loss: Loss,
) -> Result<(f64, DVector<f64>, DMatrix<f64>)> {
    let v = &model.params.v;
    let classes = v.nrows();
    if h.len() != v.ncols() {
        return Err(Error::shape("h", (h.len(), 1), (v.ncols(), 1)));
    }
    let o: DVector<f64> = v * h + &model.params.c;
    let (resid, hess_o, l) = match (loss, target) {
        (Loss::CrossEntropy, Target::Classes(y)) => {
            let y = one_label(y, classes)?;
            let p = DVector::from_vec(softmax(o.as_slice()));
            let mx = o.max();
            let lse = o.iter().map(|&x| (x - mx).exp()).sum::<f64>().ln() + mx;
            let mut r = p.clone();
            r[y] -= 1.0;
            (r, loss.hessian_logits(o.as_slice()), lse - o[y])
        }
        (Loss::CrossEntropy, Target::Values(_)) => {
            return Err(Error::param(
                "loss",
                "cross-entropy",
                "class labels as targets (use squared error for real-valued targets)",
            ));
        }
        (Loss::SquaredError, t) => {
            let yv = match t {
                Target::Classes(y) => {
                    let y = one_label(y, classes)?;
                    DVector::from_fn(classes, |i, _| if i == y { 1.0 } else { 0.0 })
                }
                Target::Values(m) => {
                    if m.shape() != (classes, 1) {
                        return Err(Error::shape("target", m.shape(), (classes, 1)));
                    }
                    m.column(0).into_owned()
                }
            };
            let r = &o - yv;
            let l = 0.5 * r.norm_squared();
            (r, DMatrix::identity(classes, classes), l)
        }
    };
    let g = v.transpose() * resid;
    let mut hv = DMatrix::zeros(classes, v.ncols());
    gemm(1.0, &hess_o, false, v, false, 0.0, &mut hv);
    let mut hess = DMatrix::zeros(v.ncols(), v.ncols());
    gemm(1.0, v, true, &hv, false, 0.0, &mut hess);
    let hess = (&hess + hess.transpose()) * 0.5;
    if !l.is_finite() || g.iter().any(|x| !x.is_finite()) {
        return Err(Error::NonFinite {
            what: "loss at the final hidden state".into(),
        });
    }
    Ok((l, g, hess))
}

fn one_label(y: &[usize], classes: usize) -> Result<usize> {
    if y.len() != 1 {
        return Err(Error::param(
            "target",
            format!("{} labels", y.len()),
            "exactly one label (one example)",
        ));
    }
    if y[0] >= classes {
        return Err(Error::param(
            "target",
            y[0],
            &format!("a class label in 0..{classes}"),
        ));
    }
    Ok(y[0])
}

/// Everything the expansion needs about one example's deterministic path, per step
/// `k = 0..K-1` (columns): the states, the activation's first and second derivatives at
/// `z_k`, the step of the linearized map, the per-step noise factor, and the loss
/// derivatives at the final state. See the module docs for the formulas and the `code`
/// form's mean-factor path.
#[derive(Clone, Debug)]
pub struct Linearization {
    /// Noise form of the model.
    pub form: NoiseForm,
    /// Steps K.
    pub steps: usize,
    /// Deterministic states `hbar_0 .. hbar_K`, `n x (K + 1)`.
    pub h: DMatrix<f64>,
    /// `a(z_k)`, `n x K`.
    pub act: DMatrix<f64>,
    /// `a'(z_k)`, `n x K`.
    pub da: DMatrix<f64>,
    /// `a''(z_k)`, `n x K`.
    pub dda: DMatrix<f64>,
    /// Drift values `fbar_k = A hbar_k + a(z_k)`, `n x K` (only for the `code` form).
    pub f: Option<DMatrix<f64>>,
    /// Step of the linearized map (`d`, or `d_eff = d (1 - eps sigma2 / 2)` for `code`).
    pub d: DVector<f64>,
    /// The model's own step `d` (it scales the `code` form's multiplicative noise).
    pub d0: DVector<f64>,
    /// Per-unit noise standard deviation `s_k`, `n x K` (see module docs).
    pub s: DMatrix<f64>,
    /// Shared noise column `c_k`, `n x K` (form `scalar` only).
    pub c: Option<DMatrix<f64>>,
    /// The cell's recurrence `[A; W]` at the linearization's step (the drift and its
    /// Jacobian, [`crate::model::cell`]).
    pub rec: Recurrence<f64>,
    /// Loss at the final state `l(hbar_K)`.
    pub loss: f64,
    /// Gradient `g` of the loss in `h` at `hbar_K`.
    pub g: DVector<f64>,
    /// Hessian `H` of the loss in `h` at `hbar_K`.
    pub hess: DMatrix<f64>,
}

impl Linearization {
    /// Linearize the model around the deterministic path of example `e` of `batch`.
    /// `code_eps` is the eps of the `code` form's mean factor (ignored by other forms;
    /// 0 gives the eps -> 0 limit). The noise levels `sigma1`, `sigma2` come from the
    /// model's [`crate::model::NoiseSpec`]; its `eps` is not used.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let d = nrnn::data::sines(2, 8, 2, 0).unwrap();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &d.all(), 0,
    ///     nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// assert_eq!((lin.h.ncols(), lin.s.ncols()), (9, 8));
    /// ```
    pub fn new(
        model: &Model,
        batch: &Batch,
        e: usize,
        loss: Loss,
        code_eps: f64,
    ) -> Result<Linearization> {
        check_example(model, batch, e)?;
        let one = batch.columns(e, 1);
        let cfg = &model.config;
        let nz = cfg.noise;
        let form = nz.form;
        let n = cfg.hidden;
        let k_steps = batch.steps;
        let d0 = model.params.dt.clone();
        let mut params: Params<f64> = model.params.clone();
        if form == NoiseForm::Code {
            if !(code_eps.is_finite() && code_eps >= 0.0 && code_eps * nz.sigma2 <= 1.0) {
                return Err(Error::param(
                    "eps",
                    code_eps,
                    "a finite eps >= 0 with eps * sigma2 <= 1 (code form)",
                ));
            }
            params.dt *= 1.0 - 0.5 * code_eps * nz.sigma2;
        }
        let tape = forward(cfg, &params, &one.x, k_steps, 1, None, None, true);
        let act = cfg.activation;
        let da = tape.act.map(|a| act.deriv_from_value(a));
        let dda = tape.act.map(|a| act.second_from_value(a));
        let rec = Recurrence::new(cfg, &params);
        let f = if form == NoiseForm::Code {
            let mut f = tape.act.clone();
            if cfg.a_term {
                let hk = tape.h.columns(0, k_steps);
                gemm(1.0, &rec.stacked.rows(0, n), false, &hk, false, 1.0, &mut f);
            }
            Some(f)
        } else {
            None
        };
        let sq = d0.map(f64::sqrt);
        let d_f = |i: usize, k: usize| f.as_ref().map_or(0.0, |fm| d0[i] * fm[(i, k)]);
        let s = DMatrix::from_fn(n, k_steps, |i, k| {
            covariance_sd(&nz, sq[i], tape.h[(i, k)], d_f(i, k))
        });
        let c = (form == NoiseForm::Scalar).then(|| {
            DMatrix::from_fn(n, k_steps, |i, k| {
                covariance_shared(&nz, sq[i], tape.h[(i, k)]).unwrap_or(0.0)
            })
        });
        let hk = tape.h.column(k_steps).into_owned();
        let (l, g, hess) = loss_derivatives(model, &hk, &one.target, loss)?;
        if tape.h.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: "deterministic hidden path".into(),
            });
        }
        Ok(Linearization {
            form,
            steps: k_steps,
            h: tape.h,
            act: tape.act,
            da,
            dda,
            f,
            d: params.dt.clone(),
            d0,
            s,
            c,
            rec,
            loss: l,
            g,
            hess,
        })
    }

    /// Hidden size n.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// assert_eq!(lin.hidden(), 3);
    /// ```
    pub fn hidden(&self) -> usize {
        self.g.len()
    }

    /// `J_k = A + diag(a'(z_k)) W` as an explicit `n x n` matrix.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// let (a, w) = (m.params.a_matrix(&m.config), m.params.w_matrix(&m.config));
    /// let j = lin.jacobian(2);
    /// let want = a[(0, 1)] + lin.da[(0, 2)] * w[(0, 1)];
    /// assert!((j[(0, 1)] - want).abs() < 1e-15);
    /// ```
    pub fn jacobian(&self, k: usize) -> DMatrix<f64> {
        self.rec.jacobian(self.da_at(k))
    }

    /// `a'(z_k)` of step k, one entry per unit.
    fn da_at(&self, k: usize) -> &[f64] {
        let n = self.hidden();
        &self.da.as_slice()[k * n..(k + 1) * n]
    }

    /// `D_k = I + diag(d) J_k` as an explicit matrix.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// let (d, j) = (lin.step_matrix(1), lin.jacobian(1));
    /// assert!((d[(1, 1)] - (1.0 + 0.1 * j[(1, 1)])).abs() < 1e-15);
    /// ```
    pub fn step_matrix(&self, k: usize) -> DMatrix<f64> {
        let n = self.hidden();
        let mut dm = self.jacobian(k);
        for i in 0..n {
            let di = self.d[i];
            for l in 0..n {
                dm[(i, l)] *= di;
            }
            dm[(i, i)] += 1.0;
        }
        dm
    }

    /// `D_k^T u = u + J_k^T (d (.) u)`, a vector recursion for the backward sweep.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// let u = nalgebra::DVector::from_vec(vec![1.0, -2.0, 0.5]);
    /// let want = lin.step_matrix(3).transpose() * &u;
    /// assert!((lin.step_transpose_apply(3, &u) - want).amax() < 1e-14);
    /// ```
    pub fn step_transpose_apply(&self, k: usize, u: &DVector<f64>) -> DVector<f64> {
        u + self.rec.vjp(self.da_at(k), &u.component_mul(&self.d))
    }

    /// The noise covariance of step k per eps^2, `Sigma_k = diag(s_k^2) + c_k c_k^T`.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// // scalar form: s = sigma1 sqrt(d), c = sigma2 sqrt(d) hbar_k
    /// let (s, h) = (0.1f64.sqrt(), lin.h[(0, 4)]);
    /// assert!((lin.sigma(4)[(0, 0)] - (s * s + (0.5 * s * h).powi(2))).abs() < 1e-15);
    /// ```
    pub fn sigma(&self, k: usize) -> DMatrix<f64> {
        let n = self.hidden();
        let mut m = DMatrix::from_fn(n, n, |i, j| {
            if i == j {
                self.s[(i, k)] * self.s[(i, k)]
            } else {
                0.0
            }
        });
        if let Some(c) = &self.c {
            let ck = c.column(k);
            m += ck * ck.transpose();
        }
        m
    }

    /// `tr(Ŝ_k^T P Ŝ_k) = sum_i s_{k,i}^2 P_ii + c_k^T P c_k` for a symmetric `P`.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
    /// let lin = nrnn::regularizer::Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
    /// let p = &lin.hess;
    /// let want = (p * lin.sigma(5)).trace();
    /// assert!((lin.sigma_trace(5, p) - want).abs() < 1e-14);
    /// ```
    pub fn sigma_trace(&self, k: usize, p: &DMatrix<f64>) -> f64 {
        let n = self.hidden();
        let mut t = 0.0;
        for i in 0..n {
            t += self.s[(i, k)] * self.s[(i, k)] * p[(i, i)];
        }
        if let Some(c) = &self.c {
            let ck = c.column(k);
            t += (ck.transpose() * p * ck)[(0, 0)];
        }
        t
    }
}

/// [`check_inputs`], and that `e` names an example of the batch.
pub(crate) fn check_example(model: &Model, batch: &Batch, e: usize) -> Result<()> {
    check_inputs(model, batch)?;
    if e >= batch.size {
        return Err(Error::param(
            "example",
            e,
            &format!("an example index in 0..{}", batch.size),
        ));
    }
    Ok(())
}

/// Check a model and a batch against each other (validated model, input dimension,
/// at least one step and one example).
pub(crate) fn check_inputs(model: &Model, batch: &Batch) -> Result<()> {
    model.validate()?;
    if batch.size == 0 {
        return Err(Error::param("examples", 0, "at least 1 example"));
    }
    if batch.steps == 0 {
        return Err(Error::param("steps", 0, "at least 1 step"));
    }
    let want = (model.config.input, batch.steps * batch.size);
    if batch.x.shape() != want {
        return Err(Error::shape("inputs", batch.x.shape(), want));
    }
    if let Some(i) = batch.x.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "inputs",
            format!("non-finite value at index {i}"),
            "finite inputs",
        ));
    }
    match &batch.target {
        Target::Classes(y) if y.len() != batch.size => Err(Error::param(
            "labels",
            y.len(),
            &format!("{} labels, one per example", batch.size),
        )),
        Target::Values(v) if v.ncols() != batch.size => Err(Error::shape(
            "targets",
            v.shape(),
            (model.config.classes, batch.size),
        )),
        _ => Ok(()),
    }
}

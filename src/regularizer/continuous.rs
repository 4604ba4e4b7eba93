//! Continuous-time `Q` and `R` (docs/theory.md section 2): the Lyapunov and mean ODEs along the
//! deterministic path, integrated with the classical fourth-order Runge-Kutta method.
//!
//! Time is counted in input steps: on `[k, k + 1]` the input is `x_k` and, with the
//! per-unit step `d` as the speed of each unit (see [`crate::regularizer`]),
//!
//! ```text
//! dh/ds = diag(d) f(h, x_k)
//! dC/ds = Jt C + C Jt^T + Sigma(h),           Jt = diag(d) J(h),  C(0) = 0
//! dm/ds = Jt m + diag(d) v(h, C) / 2,         v_i = a''(z_i) (W C W^T)_ii,  m(0) = 0
//! R = tr(H C(K)),   Q = 2 g^T m(K)            (g, H at h(K))
//! ```
//!
//! `Sigma(h) = diag(sqrt d) S(h) S(h)^T diag(sqrt d)` (forms `diag` and `scalar`). The
//! Euler-Maruyama values of [`super::closed_form`] on the grid refined `r` times
//! ([`super::refine`]) converge to these with order `1/r`. The `code` form has no
//! continuous limit (its noise has no step weight) and is refused.

use super::{check_example, check_inputs, loss_derivatives};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::Loss;
use crate::model::cell::Recurrence;
use crate::model::increment::{covariance_sd, covariance_shared};
use crate::model::{Model, NoiseForm, NoiseSpec};
use nalgebra::{DMatrix, DVector};

/// Continuous-time `Q` and `R` of one example, and the loss at the ODE's final state.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Continuous {
    /// `l(h(K))` on the ODE path.
    pub loss: f64,
    /// `Q = 2 g^T m(K)`.
    pub q: f64,
    /// `R = tr(H C(K))`.
    pub r: f64,
    /// RK4 steps per input step.
    pub substeps: usize,
}

impl Continuous {
    /// `(Q + R)/2`.
    ///
    /// ```
    /// let c = nrnn::regularizer::Continuous { loss: 1.0, q: 1.0, r: 2.0, substeps: 2 };
    /// assert_eq!(c.value(), 1.5);
    /// ```
    pub fn value(&self) -> f64 {
        0.5 * (self.q + self.r)
    }
}

/// The right-hand side of the three ODEs: the cell's drift and Jacobian
/// ([`Recurrence`]), the step `d` and the noise levels.
struct Rhs<'a> {
    rec: &'a Recurrence<f64>,
    d: &'a DVector<f64>,
    sqd: DVector<f64>,
    noise: NoiseSpec,
}

impl Rhs<'_> {
    /// The right-hand side at `(h, C, m)` with drive `U x_k + b`; `buf` is `n x (n + 2)`
    /// holding `[h, m, C]`, `y` is `rows x (n + 2)`.
    fn eval(
        &self,
        drive: &DVector<f64>,
        h: &DVector<f64>,
        c: &DMatrix<f64>,
        m: &DVector<f64>,
        buf: &mut DMatrix<f64>,
        y: &mut DMatrix<f64>,
    ) -> (DVector<f64>, DMatrix<f64>, DVector<f64>) {
        let rec = self.rec;
        let n = rec.hidden();
        let rows = rec.stacked.nrows();
        let act = rec.activation;
        buf.column_mut(0).copy_from(h);
        buf.column_mut(1).copy_from(m);
        buf.columns_mut(2, n).copy_from(c);
        rec.apply(buf, y);
        let col = |j: usize| &y.as_slice()[j * rows..(j + 1) * rows];
        let mut dh = DVector::zeros(n);
        let mut dm = DVector::zeros(n);
        let mut da = vec![0.0; n];
        let mut dda = vec![0.0; n];
        for i in 0..n {
            let (a, f) = rec.drift_unit(col(0), drive[i], i);
            da[i] = act.deriv_from_value(a);
            dda[i] = act.second_from_value(a);
            dh[i] = self.d[i] * f;
        }
        let v = rec.wcw_diagonal(y, 2);
        for i in 0..n {
            let jm = rec.jvp_unit(col(1), da[i], i);
            dm[i] = self.d[i] * (jm + 0.5 * (dda[i] * v[i]));
        }
        // Jt C = diag(d) J C; dC = Jt C + (Jt C)^T + Sigma(h).
        let mut jc = DMatrix::zeros(n, n);
        for j in 0..n {
            for i in 0..n {
                jc[(i, j)] = self.d[i] * rec.jvp_unit(col(2 + j), da[i], i);
            }
        }
        let mut dc = &jc + jc.transpose();
        for i in 0..n {
            let s = covariance_sd(&self.noise, self.sqd[i], h[i], 0.0);
            dc[(i, i)] += s * s;
        }
        if self.noise.form == NoiseForm::Scalar {
            let col = DVector::from_fn(n, |i, _| {
                covariance_shared(&self.noise, self.sqd[i], h[i]).unwrap_or(0.0)
            });
            dc += &col * col.transpose();
        }
        (dh, dc, dm)
    }
}

/// Continuous-time `Q` and `R` of example `e` of `batch` by RK4 with `substeps` steps per
/// input step (the ODEs in the module docs). RK4's error is `O(substeps^-4)`; with
/// `d ||J|| << 1` two substeps already give about 10 correct digits.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{closed_form, continuous, refine, Options};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 3).unwrap();
/// let b = nrnn::data::sines(1, 10, 2, 0).unwrap().all();
/// let loss = nrnn::loss::Loss::CrossEntropy;
/// let cont = continuous(&m, &b, 0, loss, 4).unwrap();
/// let (m8, b8) = refine(&m, &b, 8).unwrap();
/// let disc = closed_form(&m8, &b8, 0, loss, Options::default()).unwrap();
/// assert!((disc.r - cont.r).abs() < 0.05 * cont.r);
/// ```
pub fn continuous(
    model: &Model,
    batch: &Batch,
    e: usize,
    loss: Loss,
    substeps: usize,
) -> Result<Continuous> {
    check_example(model, batch, e)?;
    if substeps == 0 || substeps > 1 << 16 {
        return Err(Error::param(
            "substeps",
            substeps,
            "an integer in [1, 65536]",
        ));
    }
    let cfg = &model.config;
    if cfg.noise.form == NoiseForm::Code {
        return Err(Error::param(
            "noise.form",
            "code",
            "\"diag\" or \"scalar\" (the code form's noise has no step weight, so it has no continuous-time limit)",
        ));
    }
    let one = batch.columns(e, 1);
    let n = cfg.hidden;
    let p = &model.params;
    let rec = Recurrence::new(cfg, p);
    let rhs = Rhs {
        rec: &rec,
        d: &p.dt,
        sqd: p.dt.map(f64::sqrt),
        noise: cfg.noise,
    };
    let mut drive_all = DMatrix::zeros(n, one.steps);
    gemm(1.0, &p.u, false, &one.x, false, 0.0, &mut drive_all);
    let mut h = DVector::<f64>::zeros(n);
    let mut c = DMatrix::<f64>::zeros(n, n);
    let mut m = DVector::<f64>::zeros(n);
    let mut buf = DMatrix::zeros(n, n + 2);
    let mut y = DMatrix::zeros(rec.stacked.nrows(), n + 2);
    let tau = 1.0 / substeps as f64;
    for k in 0..one.steps {
        let drive: DVector<f64> = drive_all.column(k) + &p.b;
        for _ in 0..substeps {
            let (k1h, k1c, k1m) = rhs.eval(&drive, &h, &c, &m, &mut buf, &mut y);
            // The state `(h, C, m)` moved by `a` times a stage, and the field there.
            let mut at = |kh: &DVector<f64>, kc: &DMatrix<f64>, km: &DVector<f64>, a: f64| {
                let (hs, cs, ms) = (&h + kh * a, &c + kc * a, &m + km * a);
                rhs.eval(&drive, &hs, &cs, &ms, &mut buf, &mut y)
            };
            let (k2h, k2c, k2m) = at(&k1h, &k1c, &k1m, 0.5 * tau);
            let (k3h, k3c, k3m) = at(&k2h, &k2c, &k2m, 0.5 * tau);
            let (k4h, k4c, k4m) = at(&k3h, &k3c, &k3m, tau);
            let w6 = tau / 6.0;
            h += (k1h + k2h * 2.0 + k3h * 2.0 + k4h) * w6;
            c += (k1c + k2c * 2.0 + k3c * 2.0 + k4c) * w6;
            m += (k1m + k2m * 2.0 + k3m * 2.0 + k4m) * w6;
        }
        if h.iter().any(|x| !x.is_finite()) || c.iter().any(|x| !x.is_finite()) {
            return Err(Error::NonFinite {
                what: format!("continuous-time ODE of example {e} at step {k}"),
            });
        }
    }
    let (l, g, hess) = loss_derivatives(model, &h, &one.target, loss)?;
    let r = hess.component_mul(&c).sum();
    let q = 2.0 * g.dot(&m);
    Ok(Continuous {
        loss: l,
        q,
        r,
        substeps,
    })
}

/// [`continuous`] for every example of `batch`; returns the mean `(Q, R)`.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// let mut cfg = ModelConfig::new(2, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 1.0).unwrap();
/// let m = Model::init(cfg, 0.1, 3).unwrap();
/// let b = nrnn::data::sines(2, 8, 2, 0).unwrap().all();
/// let (q, r) = nrnn::regularizer::continuous::average(&m, &b, nrnn::loss::Loss::CrossEntropy, 2).unwrap();
/// assert!(q.is_finite() && r > 0.0);
/// ```
pub fn average(model: &Model, batch: &Batch, loss: Loss, substeps: usize) -> Result<(f64, f64)> {
    use rayon::prelude::*;
    check_inputs(model, batch)?;
    let per: Vec<Result<Continuous>> = (0..batch.size)
        .into_par_iter()
        .map(|e| continuous(model, batch, e, loss, substeps))
        .collect();
    let (mut q, mut r) = (0.0, 0.0);
    for c in per {
        let c = c?;
        q += c.q;
        r += c.r;
    }
    let nb = batch.size as f64;
    Ok((q / nb, r / nb))
}

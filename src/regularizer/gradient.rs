//! The exact gradient of the explicit regularizer (docs/theory.md section 7): the adjoint
//! of the covariance recursion and of the mean-shift sweep, chained through the
//! deterministic path, for the `diag` and `scalar` noise forms.
//!
//! The objective of one example is `F = w_l l(hbar_K) + w_q Q + w_r R` (weights
//! [`Weights`]; the explicit training objective is `l + (eps^2/2)(Q + R)`). Forward, along
//! the deterministic path (module docs of [`crate::regularizer`]):
//!
//! ```text
//! C_0 = 0,  C_{k+1} = D_k C_k D_k^T + Sigma_k,    Sigma_k = diag(s_k^2) + c_k c_k^T
//! m_0 = 0,  m_{k+1} = D_k m_k + d (.) v_k,        v_k = a''(z_k) (.) diag(W C_k W^T)
//! R = tr(H C_K),   Q = g^T m_K                     (m is twice the mean shift)
//! ```
//!
//! Backward, `P_K = w_r H`, `mu_K = w_q g`, for `k = K-1 .. 0` (`u_k = d (.) mu_{k+1} (.) a''(z_k)`):
//!
//! ```text
//! dF/dSigma_k = P_{k+1}        ->  ds_k = 2 s_k (.) diag(P_{k+1}),  dc_k = 2 P_{k+1} c_k
//! dF/dD_k     = 2 P_{k+1} D_k C_k + mu_{k+1} m_k^T
//! dF/dv_k     = d (.) mu_{k+1}  ->  da''(z_k) = d (.) mu_{k+1} (.) diag(W C_k W^T),
//!                                   dW += 2 diag(u_k) W C_k
//! P_k  = D_k^T P_{k+1} D_k + W^T diag(u_k) W,      mu_k = D_k^T mu_{k+1}
//! D_k = I + diag(d) J_k, J_k = A + diag(a'(z_k)) W:
//!     dd += rowsum(dD (.) J),  dJ = diag(d) dD,  dA += dJ,  da'(z_k) = rowsum(dJ (.) W),
//!     dW += diag(a'(z_k)) dJ
//! ```
//!
//! The derivatives in `s_k`, `c_k`, `a'(z_k)`, `a''(z_k)` become derivatives in the path
//! (`s = sqrt(d) (sigma1 + sigma2 hbar)` for `diag`, `c = sigma2 sqrt(d) hbar` for `scalar`;
//! `z_k = W hbar_k + U x_k + b`, with `a'''` for the curvature), and those, with `g`, `H`
//! and `l` at the end, are carried back through `hbar_{k+1} = hbar_k + d (.) f(hbar_k, x_k)`
//! by ordinary backpropagation through time, in the same reverse loop. Through the softmax
//! head `o = V hbar_K + c`, `p = softmax(o)`, `g = V^T (p - e_y)`, `H = V^T (diag p - p p^T) V`:
//! `dV += (p - e_y) dg^T + 2 (diag p - p p^T) V dH`, and `dp = V dg + diag(V dH V^T) -
//! 2 (V dH V^T) p`, `do = p (.) (dp - p^T dp)`.
//!
//! Cost per example and step: the forward sweep's three `n x n x n` products and five in
//! the adjoint, so about 2.7 evaluations of `Q` and `R`; memory: every `C_k` (`8 n^2 K`
//! bytes per example in flight).

use super::{check_example, check_inputs, discrete::covariance_sweep_observed, Linearization};
use crate::data::{Batch, Target};
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::{softmax, Loss};
use crate::model::{lipschitz_matrix_adjoint, Model, NoiseForm, Params};
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Weights of the three terms of the differentiated objective `w_l l + w_q Q + w_r R`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Weight of the deterministic loss `l(hbar_K)`.
    pub loss: f64,
    /// Weight of `Q`.
    pub q: f64,
    /// Weight of `R`.
    pub r: f64,
}

impl Weights {
    /// The regularizer `(Q + R)/2` alone.
    pub const REGULARIZER: Weights = Weights {
        loss: 0.0,
        q: 0.5,
        r: 0.5,
    };

    /// The explicit training objective `l + (eps^2/2)(Q + R)` (docs/theory.md section 7).
    ///
    /// ```
    /// let w = nrnn::regularizer::gradient::Weights::explicit(0.5);
    /// assert_eq!((w.loss, w.q, w.r), (1.0, 0.125, 0.125));
    /// ```
    pub fn explicit(eps: f64) -> Weights {
        let h = 0.5 * eps * eps;
        Weights {
            loss: 1.0,
            q: h,
            r: h,
        }
    }
}

/// Values and gradient of `F = w_l l + w_q Q + w_r R` (one example, or the mean over a
/// batch's examples).
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectiveGrad {
    /// `l(hbar_K)`.
    pub loss: f64,
    /// `Q`.
    pub q: f64,
    /// `R`.
    pub r: f64,
    /// `dF/dtheta` in the parameters' own coordinates (`dt` per unit, as [`Params`]).
    pub grad: Params<f64>,
}

impl ObjectiveGrad {
    /// Zero terms and a zero gradient: the start of a batch mean.
    pub fn zeros(model: &Model) -> ObjectiveGrad {
        ObjectiveGrad {
            loss: 0.0,
            q: 0.0,
            r: 0.0,
            grad: Params::zeros(&model.config),
        }
    }
    /// `self += scale g`, term by term and in the gradient.
    pub fn add_scaled(&mut self, scale: f64, g: &ObjectiveGrad) {
        self.loss += g.loss * scale;
        self.q += g.q * scale;
        self.r += g.r * scale;
        self.grad.axpy(scale, &g.grad);
    }
    /// The weighted objective `w_l l + w_q Q + w_r R`.
    ///
    /// ```
    /// use nrnn::model::{ModelConfig, Params};
    /// use nrnn::regularizer::gradient::{ObjectiveGrad, Weights};
    /// let g = ObjectiveGrad { loss: 1.0, q: 2.0, r: 4.0, grad: Params::zeros(&ModelConfig::new(1, 1, 1)) };
    /// assert_eq!(g.value(Weights::REGULARIZER), 3.0);
    /// ```
    pub fn value(&self, w: Weights) -> f64 {
        w.loss * self.loss + w.q * self.q + w.r * self.r
    }
}

/// The forms with an exact gradient here (`diag`, `scalar`); `code` is refused.
pub(crate) fn check_form(model: &Model) -> Result<()> {
    if model.config.noise.form == NoiseForm::Code {
        return Err(Error::param(
            "noise.form",
            "code",
            "diag or scalar (the gradient of Q + R is implemented for the Ito forms only)",
        ));
    }
    Ok(())
}

/// The deterministic path's cotangent sources at the end: `dF/dhbar_K`, and the readout's
/// gradient `(dV, dc)`, from `dF/dl = w_l`, `dF/dg = w_q m_K`, `dF/dH = w_r C_K`, where `m`
/// is `m_K` and `c` is `C_K` (unweighted; `h_K` is the path's last state).
pub(crate) fn head_adjoint(
    model: &Model,
    path: &Path,
    loss: Loss,
    w: Weights,
    m: &DVector<f64>,
    c: &DMatrix<f64>,
) -> Result<(DVector<f64>, DMatrix<f64>, DVector<f64>)> {
    let (dg, dh, w_l) = (&(m * w.q), &(c * w.r), w.loss);
    let h_k = &path.lin.h.column(path.lin.steps).into_owned();
    let target = &path.target;
    let v = &model.params.v;
    let o: DVector<f64> = v * h_k + &model.params.c;
    let vdh = v * dh;
    let vdhv = &vdh * v.transpose();
    let vdg = v * dg;
    let delta = match (loss, target) {
        (Loss::CrossEntropy, Target::Classes(y)) => {
            let mut p = DVector::from_vec(softmax(o.as_slice()));
            p[y[0]] -= 1.0;
            p
        }
        (Loss::SquaredError, Target::Classes(y)) => {
            let mut d = o.clone();
            d[y[0]] -= 1.0;
            d
        }
        (Loss::SquaredError, Target::Values(t)) => &o - t.column(0),
        (Loss::CrossEntropy, Target::Values(_)) => {
            return Err(Error::param(
                "loss",
                "cross-entropy",
                "class labels as targets (use squared error for real-valued targets)",
            ));
        }
    };
    // l = l(o): do = w_l delta; g = V^T delta: do += Hp V dg; H = V^T Hp V: do += dHp/do.
    let hp = loss.hessian_logits(o.as_slice());
    let d_o = &delta * w_l
        + &hp * &vdg
        + DVector::from_vec(loss.hessian_logits_adjoint(o.as_slice(), &vdhv));
    let mut gv = &delta * dg.transpose() + &d_o * h_k.transpose();
    gemm(2.0, &hp, false, &vdh, false, 1.0, &mut gv);
    let dh_k = v.transpose() * &d_o;
    Ok((dh_k, gv, d_o))
}

/// Accumulated gradient in the cell's own matrices (`A`, `W`), before the chain rule to
/// `M_A`, `M_W`.
pub(crate) struct Acc {
    pub(crate) a: DMatrix<f64>,
    pub(crate) w: DMatrix<f64>,
    pub(crate) u: DMatrix<f64>,
    pub(crate) b: DVector<f64>,
    pub(crate) d: DVector<f64>,
}

/// The deterministic path of one example as the reverse sweeps read it: the
/// linearization, the inputs, the target and `sigma2` (the exact adjoint and the probe estimate of
/// [`super::probe`] share it).
pub(crate) struct Path {
    pub(crate) lin: Linearization,
    pub(crate) x: DMatrix<f64>,
    pub(crate) target: Target,
    pub(crate) sigma2: f64,
}

/// Cotangents of one step's linearized map, handed to [`Path::step_adjoint`]:
/// `dF/dD_k`, `dF/ds_k`, `dF/dc_k` (scalar form) and `dF/da''(z_k)`.
pub(crate) struct StepCotangents {
    pub(crate) dbar: DMatrix<f64>,
    pub(crate) sbar: DVector<f64>,
    pub(crate) cbar: Option<DVector<f64>>,
    pub(crate) ddda: DVector<f64>,
}

/// What the exact reverse sweep reads of the forward one: the path, every `C_k`, every
/// `m_k` (`n x (K + 1)`) and the curvature vectors `v_k`.
struct Forward {
    path: Path,
    cs: Vec<DMatrix<f64>>,
    ms: DMatrix<f64>,
    v: DMatrix<f64>,
}

/// The linearization of example `e` with the path's inputs (the `code` form refused).
pub(crate) fn path_of(model: &Model, batch: &Batch, e: usize, loss: Loss) -> Result<Path> {
    check_example(model, batch, e)?;
    check_form(model)?;
    let lin = Linearization::new(model, batch, e, loss, 0.0)?;
    let one = batch.columns(e, 1);
    Ok(Path {
        lin,
        x: one.x,
        target: one.target,
        sigma2: model.config.noise.sigma2,
    })
}

/// The empty gradient accumulator of a model's shapes.
pub(crate) fn new_acc(model: &Model) -> Acc {
    let n = model.config.hidden;
    Acc {
        a: DMatrix::zeros(n, n),
        w: DMatrix::zeros(n, n),
        u: DMatrix::zeros(n, model.config.input),
        b: DVector::zeros(n),
        d: DVector::zeros(n),
    }
}

/// `F`, and its gradient, of example `e` of `batch` (the exact adjoint of the module docs).
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{closed_form, gradient::{example_gradient, Weights}, Options};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
/// let loss = nrnn::loss::Loss::CrossEntropy;
/// let g = example_gradient(&m, &b, 0, loss, Weights::REGULARIZER).unwrap();
/// let c = closed_form(&m, &b, 0, loss, Options::default()).unwrap();
/// assert!((g.q - c.q).abs() <= 1e-12 * c.q.abs() && (g.r - c.r).abs() <= 1e-12 * c.r);
/// ```
pub fn example_gradient(
    model: &Model,
    batch: &Batch,
    e: usize,
    loss: Loss,
    w: Weights,
) -> Result<ObjectiveGrad> {
    let path = path_of(model, batch, e, loss)?;
    let lin = &path.lin;
    let n = model.config.hidden;
    let kk = lin.steps;
    let mut cs: Vec<DMatrix<f64>> = Vec::with_capacity(kk);
    let (c_k, v) = covariance_sweep_observed(lin, |_, c| cs.push(c.clone()));
    let r = lin.hess.component_mul(&c_k).sum();
    // m_{k+1} = D_k m_k + d (.) v_k, every m_k kept (m_0 = 0).
    let mut ms = DMatrix::<f64>::zeros(n, kk + 1);
    for k in 0..kk {
        let next = lin.step_matrix(k) * ms.column(k) + lin.d.component_mul(&v.column(k));
        ms.set_column(k + 1, &next);
    }
    let m_k = ms.column(kk).into_owned();
    let q = lin.g.dot(&m_k);
    if !(q.is_finite() && r.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("Q or R of example {e} (the linearized dynamics overflow)"),
        });
    }
    let (mut hb, gv, gc) = head_adjoint(model, &path, loss, w, &m_k, &c_k)?;
    let mut acc = new_acc(model);
    let mut p = &lin.hess * w.r;
    let mut mu = &lin.g * w.q;
    let loss_value = lin.loss;
    let fw = Forward { path, cs, ms, v };
    for k in (0..kk).rev() {
        (p, mu, hb) = fw.adjoint_step(&mut acc, k, &p, &mu, &hb);
    }
    Ok(ObjectiveGrad {
        loss: loss_value,
        q,
        r,
        grad: to_params(model, acc, gv, gc),
    })
}

impl Path {
    /// The shared part of a reverse step k: from the cotangents of the step's linearized
    /// map ([`StepCotangents`]) and `dF/dhbar_{k+1}` to `dF/dhbar_k`, accumulating the
    /// parameter gradient. Chains `s_k = sqrt(d) (sigma1 + sigma2 hbar_k)` (`diag`),
    /// `s_k = sigma1 sqrt(d)`, `c_k = sigma2 sqrt(d) hbar_k` (`scalar`),
    /// `D_k = I + diag(d) (A + diag(a'(z_k)) W)`, and the path step
    /// `hbar_{k+1} = hbar_k + d (.) (A hbar_k + a(z_k))`.
    pub(crate) fn step_adjoint(
        &self,
        acc: &mut Acc,
        k: usize,
        ct: &StepCotangents,
        hb: &DVector<f64>,
    ) -> DVector<f64> {
        let lin = &self.lin;
        let n = lin.hidden();
        let rec = &lin.rec;
        let d = &lin.d;
        let wm = rec.w();
        let jk = lin.jacobian(k);
        let hk = lin.h.column(k);
        let mut hs = DVector::<f64>::zeros(n);
        for i in 0..n {
            acc.d[i] += ct.sbar[i] * lin.s[(i, k)] / (2.0 * d[i]);
            if lin.form == NoiseForm::Diag {
                hs[i] += ct.sbar[i] * d[i].sqrt() * self.sigma2;
            }
        }
        if let (Some(c), Some(cbar)) = (&lin.c, &ct.cbar) {
            let ck = c.column(k);
            for i in 0..n {
                acc.d[i] += cbar[i] * ck[i] / (2.0 * d[i]);
                hs[i] += cbar[i] * d[i].sqrt() * self.sigma2;
            }
        }
        let dbar = &ct.dbar;
        let jbar = DMatrix::from_fn(n, n, |i, j| d[i] * dbar[(i, j)]);
        let mut da_bar = DVector::<f64>::zeros(n);
        for i in 0..n {
            let dai = lin.da[(i, k)];
            for j in 0..n {
                acc.d[i] += dbar[(i, j)] * jk[(i, j)];
                da_bar[i] += jbar[(i, j)] * wm[(i, j)];
                acc.w[(i, j)] += dai * jbar[(i, j)];
            }
        }
        if rec.a_term() {
            acc.a += &jbar;
        }
        let fbar = d.component_mul(hb);
        let mut f = lin.act.column(k).into_owned();
        if rec.a_term() {
            f += rec.stacked.rows(0, n) * hk;
        }
        acc.d += hb.component_mul(&f);
        let act = rec.activation;
        let zbar = DVector::from_fn(n, |i, _| {
            let a = lin.act[(i, k)];
            lin.da[(i, k)] * fbar[i]
                + da_bar[i] * lin.dda[(i, k)]
                + ct.ddda[i] * act.third_from_value(a)
        });
        let mut hb_new = hb + hs + wm.transpose() * &zbar;
        if rec.a_term() {
            hb_new += rec.stacked.rows(0, n).transpose() * &fbar;
            acc.a += &fbar * hk.transpose();
        }
        acc.w += &zbar * hk.transpose();
        acc.u += &zbar * self.x.column(k).transpose();
        acc.b += &zbar;
        hb_new
    }
}

impl Forward {
    /// The curvature term `v_k = a''(z_k) (.) diag(W C_k W^T)` with cotangent
    /// `vbar = d (.) mu_{k+1}`: returns `dF/da''(z_k)` and `W^T diag(u) W` (its share of
    /// `P_k`), accumulating `dW += 2 diag(u) W C_k`, `u = vbar (.) a''(z_k)`.
    fn curvature_adjoint(
        &self,
        acc: &mut Acc,
        k: usize,
        vbar: &DVector<f64>,
        wm: &DMatrix<f64>,
    ) -> (DVector<f64>, DMatrix<f64>) {
        let lin = &self.path.lin;
        let n = lin.hidden();
        let mut ddda = DVector::<f64>::zeros(n);
        let mut g_c = DMatrix::<f64>::zeros(n, n);
        if k == 0 {
            return (ddda, g_c);
        }
        let mut wc = DMatrix::<f64>::zeros(n, n);
        gemm(1.0, wm, false, &self.cs[k], false, 0.0, &mut wc);
        let u = DVector::from_fn(n, |i, _| vbar[i] * lin.dda[(i, k)]);
        for i in 0..n {
            let wcw: f64 = (0..n).map(|j| wc[(i, j)] * wm[(i, j)]).sum();
            ddda[i] = vbar[i] * wcw;
            for j in 0..n {
                acc.w[(i, j)] += 2.0 * u[i] * wc[(i, j)];
            }
        }
        let uw = DMatrix::from_fn(n, n, |i, j| u[i] * wm[(i, j)]);
        gemm(1.0, wm, true, &uw, false, 0.0, &mut g_c);
        (ddda, g_c)
    }

    /// One step of the reverse sweep: from `P_{k+1}`, `mu_{k+1}` and the path cotangent
    /// `dF/dhbar_{k+1}` to those of step k, accumulating the parameter gradient.
    fn adjoint_step(
        &self,
        acc: &mut Acc,
        k: usize,
        p: &DMatrix<f64>,
        mu: &DVector<f64>,
        hb: &DVector<f64>,
    ) -> (DMatrix<f64>, DVector<f64>, DVector<f64>) {
        let lin = &self.path.lin;
        let n = lin.hidden();
        let d = &lin.d;
        let wm = lin.rec.w();
        let dk = lin.step_matrix(k);
        // dF/dSigma_k = P: Sigma_k = diag(s_k^2) + c_k c_k^T.
        let sbar = DVector::from_fn(n, |i, _| 2.0 * lin.s[(i, k)] * p[(i, i)]);
        let cbar = lin.c.as_ref().map(|c| p * c.column(k) * 2.0);
        let vbar = d.component_mul(mu);
        acc.d += mu.component_mul(&self.v.column(k));
        let (ddda, g_c) = self.curvature_adjoint(acc, k, &vbar, &wm);
        // dF/dD_k = 2 P D_k C_k + mu m_k^T;  P_k = D_k^T P D_k + W^T diag(u) W.
        let mut pd = DMatrix::<f64>::zeros(n, n);
        gemm(1.0, p, false, &dk, false, 0.0, &mut pd);
        let mut dbar = mu * self.ms.column(k).transpose();
        if k > 0 {
            gemm(2.0, &pd, false, &self.cs[k], false, 1.0, &mut dbar);
        }
        let mut p_new = g_c;
        gemm(1.0, &dk, true, &pd, false, 1.0, &mut p_new);
        let p_new = (&p_new + p_new.transpose()) * 0.5;
        let mu_new = dk.transpose() * mu;
        let ct = StepCotangents {
            dbar,
            sbar,
            cbar,
            ddda,
        };
        let hb_new = self.path.step_adjoint(acc, k, &ct, hb);
        (p_new, mu_new, hb_new)
    }
}

/// The chain rule from `A`, `W` to `M_A`, `M_W`, and the gradient as [`Params`].
pub(crate) fn to_params(
    model: &Model,
    acc: Acc,
    gv: DMatrix<f64>,
    gc: DVector<f64>,
) -> Params<f64> {
    let cfg = &model.config;
    let m_a = if cfg.a_term {
        lipschitz_matrix_adjoint(&acc.a, cfg.beta)
    } else {
        DMatrix::zeros(cfg.hidden, cfg.hidden)
    };
    Params {
        m_a,
        m_w: lipschitz_matrix_adjoint(&acc.w, cfg.beta),
        u: acc.u,
        b: acc.b,
        v: gv,
        c: gc,
        dt: acc.d,
    }
}

/// The mean of [`example_gradient`] over the examples of `batch`, computed in parallel
/// over examples and reduced in index order (the same result for any thread count).
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{dataset, gradient::{batch_gradient, Weights}, Options};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(3, 8, 2, 0).unwrap().all();
/// let loss = nrnn::loss::Loss::CrossEntropy;
/// let g = batch_gradient(&m, &b, loss, Weights::explicit(0.1)).unwrap();
/// let avg = dataset(&m, &b, loss, Options::default()).unwrap();
/// assert!((g.r - avg.r).abs() <= 1e-12 * avg.r);
/// ```
pub fn batch_gradient(
    model: &Model,
    batch: &Batch,
    loss: Loss,
    w: Weights,
) -> Result<ObjectiveGrad> {
    check_inputs(model, batch)?;
    check_form(model)?;
    let per: Vec<Result<ObjectiveGrad>> = (0..batch.size)
        .into_par_iter()
        .map(|e| example_gradient(model, batch, e, loss, w))
        .collect();
    let scale = 1.0 / batch.size as f64;
    let mut out = ObjectiveGrad::zeros(model);
    for g in per {
        out.add_scaled(scale, &g?);
    }
    Ok(out)
}

//! The probe estimate of `Q` and `R` and its gradient (docs/theory.md section 7,
//! "stochastic estimate"): `O(n^2 P)` per step for `P` probes instead of the exact sweep's
//! `O(n^3)`, for large models.
//!
//! For a probe `xi = (xi_0 .. xi_{K-1})` (and, `scalar` form, one standard normal `zeta_k`
//! per step for the shared column), along the deterministic path:
//!
//! ```text
//! r_0 = 0,  r_{k+1} = D_k r_k + s_k (.) xi_k + c_k zeta_k          (linear response)
//! q_0 = 0,  q_{k+1} = D_k q_k + d (.) a''(z_k) (.) (W r_k)^2        (twice the mean shift)
//! R^ = r_K^T H r_K,   Q^ = g^T q_K
//! ```
//!
//! `E r_k r_k^T = C_k`, so `E R^ = tr(H C_K) = R` and `E (W r_k)_i^2 = (W C_k W^T)_ii`, so
//! `E Q^ = Q`: both are unbiased, and their standard errors over the probes are reported
//! ([`crate::stats::Estimate`]). With the probes held fixed, the mean objective
//! `w_l l + w_q mean Q^ + w_r mean R^` is a deterministic function of the parameters, and
//! its exact gradient (reverse mode through the two tangent passes and then the path,
//! [`super::gradient::Path::step_adjoint`]) is an unbiased estimate of the gradient of
//! `w_l l + w_q Q + w_r R`. Per step, with `Rb`, `Qb` the probes' cotangents (`n x P`):
//!
//! ```text
//! dF/dD_k = Qb_{k+1} Q_k^T + Rb_{k+1} R_k^T,   dF/ds_k = rowsum(Rb_{k+1} (.) Xi_k),
//! dF/dc_k = Rb_{k+1} zeta_k,  Yb = 2 diag(d (.) a''(z_k)) Qb_{k+1} (.) Y_k  (Y_k = W R_k),
//! dF/da''(z_k) = d (.) rowsum(Qb_{k+1} (.) Y_k^2),  dW += Yb R_k^T,
//! Qb_k = D_k^T Qb_{k+1},   Rb_k = D_k^T Rb_{k+1} + W^T Yb
//! ```
//!
//! The probes of example `i` are drawn from `stream(seed, [TAG_PROBE, tag.., i, p])`.

use super::check_inputs;
use super::gradient::{
    check_form, head_adjoint, new_acc, path_of, to_params, ObjectiveGrad, StepCotangents, Weights,
};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::Loss;
use crate::model::Model;
use crate::rng::{fill_normal, stream};
use crate::stats::Estimate;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// Stream tag of the probes.
pub const TAG_PROBE: u64 = 0x5052_4F42_4500_0001;

/// Most probes per example.
pub const MAX_PROBES: usize = 1 << 16;

/// The probe estimates of one example (or, for a batch, of the examples' means: the
/// standard errors then combine the examples' as independent).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProbeEstimate {
    /// `Q^` over the probes.
    pub q: Estimate,
    /// `R^` over the probes.
    pub r: Estimate,
}

/// The probes of example `id`: `Xi_k` (`n x P` per step) and `zeta` (`K x P`).
fn draw(
    n: usize,
    steps: usize,
    probes: usize,
    seed: u64,
    tag: &[u64],
    id: u64,
) -> (Vec<DMatrix<f64>>, DMatrix<f64>) {
    let mut xi = vec![DMatrix::<f64>::zeros(n, probes); steps];
    let mut zeta = DMatrix::<f64>::zeros(steps, probes);
    let mut buf = vec![0.0; (n + 1) * steps];
    for p in 0..probes {
        let mut idx = vec![TAG_PROBE];
        idx.extend_from_slice(tag);
        idx.extend([id, p as u64]);
        fill_normal(&mut stream(seed, &idx), &mut buf);
        for k in 0..steps {
            for i in 0..n {
                xi[k][(i, p)] = buf[k * (n + 1) + i];
            }
            zeta[(k, p)] = buf[k * (n + 1) + n];
        }
    }
    (xi, zeta)
}

/// The probe objective `w_l l + w_q mean Q^ + w_r mean R^` of example `e` of `batch`, its
/// exact gradient for the drawn probes, and the estimates (see the module docs); `id` names
/// the example's probe streams.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{closed_form, Options, gradient::Weights, probe::example_probe_gradient};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
/// let loss = nrnn::loss::Loss::CrossEntropy;
/// let (g, est) = example_probe_gradient(&m, &b, 0, loss, Weights::REGULARIZER, 4000, 1, &[], 0).unwrap();
/// let exact = closed_form(&m, &b, 0, loss, Options::default()).unwrap();
/// assert!((est.r.mean - exact.r).abs() < 5.0 * est.r.stderr);
/// assert_eq!(g.r, est.r.mean);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn example_probe_gradient(
    model: &Model,
    batch: &Batch,
    e: usize,
    loss: Loss,
    w: Weights,
    probes: usize,
    seed: u64,
    tag: &[u64],
    id: u64,
) -> Result<(ObjectiveGrad, ProbeEstimate)> {
    crate::error::check_count("probes", probes, 2, MAX_PROBES)?;
    let path = path_of(model, batch, e, loss)?;
    let lin = &path.lin;
    let (n, kk) = (lin.hidden(), lin.steps);
    let (xi, zeta) = draw(n, kk, probes, seed, tag, id);
    let wm = lin.rec.w();
    // Forward: R_k, Q_k (n x P, k = 0..K) and Y_k = W R_k.
    let mut rs = vec![DMatrix::<f64>::zeros(n, probes); kk + 1];
    let mut qs = vec![DMatrix::<f64>::zeros(n, probes); kk + 1];
    let mut ys = vec![DMatrix::<f64>::zeros(n, probes); kk];
    for k in 0..kk {
        let dk = lin.step_matrix(k);
        gemm(1.0, &wm, false, &rs[k], false, 0.0, &mut ys[k]);
        let (mut rn, mut qn) = (DMatrix::zeros(n, probes), DMatrix::zeros(n, probes));
        gemm(1.0, &dk, false, &rs[k], false, 0.0, &mut rn);
        gemm(1.0, &dk, false, &qs[k], false, 0.0, &mut qn);
        for p in 0..probes {
            for i in 0..n {
                let c = lin.c.as_ref().map_or(0.0, |c| c[(i, k)]);
                rn[(i, p)] += lin.s[(i, k)] * xi[k][(i, p)] + c * zeta[(k, p)];
                let y = ys[k][(i, p)];
                qn[(i, p)] += lin.d[i] * lin.dda[(i, k)] * y * y;
            }
        }
        rs[k + 1] = rn;
        qs[k + 1] = qn;
    }
    let hr = &lin.hess * &rs[kk];
    let r_hat: Vec<f64> = (0..probes)
        .map(|p| rs[kk].column(p).dot(&hr.column(p)))
        .collect();
    let q_hat: Vec<f64> = (0..probes).map(|p| lin.g.dot(&qs[kk].column(p))).collect();
    let est = ProbeEstimate {
        q: Estimate::of(&q_hat),
        r: Estimate::of(&r_hat),
    };
    if !(est.q.mean.is_finite() && est.r.mean.is_finite()) {
        return Err(Error::NonFinite {
            what: format!(
                "probe estimate of Q or R of example {e} (the linearized dynamics overflow)"
            ),
        });
    }
    let inv = 1.0 / probes as f64;
    let mean_q: DVector<f64> = qs[kk].column_sum() * inv;
    let rr = &rs[kk] * rs[kk].transpose() * inv;
    let (mut hb, gv, gc) = head_adjoint(model, &path, loss, w, &mean_q, &rr)?;
    let mut acc = new_acc(model);
    let mut rb = &hr * (2.0 * w.r * inv);
    let mut qb = DMatrix::from_fn(n, probes, |i, _| lin.g[i] * w.q * inv);
    for k in (0..kk).rev() {
        let dk = lin.step_matrix(k);
        let mut dbar = DMatrix::zeros(n, n);
        gemm(1.0, &qb, false, &qs[k], true, 0.0, &mut dbar);
        gemm(1.0, &rb, false, &rs[k], true, 1.0, &mut dbar);
        let sbar = DVector::from_fn(n, |i, _| {
            (0..probes).map(|p| rb[(i, p)] * xi[k][(i, p)]).sum()
        });
        let cbar = lin.c.as_ref().map(|_| &rb * zeta.row(k).transpose());
        let y = &ys[k];
        let mut ybar = DMatrix::zeros(n, probes);
        let mut ddda = DVector::zeros(n);
        for p in 0..probes {
            for i in 0..n {
                let (qbi, yi) = (qb[(i, p)], y[(i, p)]);
                ybar[(i, p)] = 2.0 * qbi * lin.d[i] * lin.dda[(i, k)] * yi;
                ddda[i] += qbi * yi * yi * lin.d[i];
                acc.d[i] += qbi * lin.dda[(i, k)] * yi * yi;
            }
        }
        gemm(1.0, &ybar, false, &rs[k], true, 1.0, &mut acc.w);
        let mut qb_new = DMatrix::zeros(n, probes);
        gemm(1.0, &dk, true, &qb, false, 0.0, &mut qb_new);
        let mut rb_new = DMatrix::zeros(n, probes);
        gemm(1.0, &dk, true, &rb, false, 0.0, &mut rb_new);
        gemm(1.0, &wm, true, &ybar, false, 1.0, &mut rb_new);
        let ct = StepCotangents {
            dbar,
            sbar,
            cbar,
            ddda,
        };
        hb = path.step_adjoint(&mut acc, k, &ct, &hb);
        qb = qb_new;
        rb = rb_new;
    }
    let g = ObjectiveGrad {
        loss: lin.loss,
        q: est.q.mean,
        r: est.r.mean,
        grad: to_params(model, acc, gv, gc),
    };
    Ok((g, est))
}

/// The probes of one mini-batch: `count` probes per example, drawn from the streams
/// `stream(seed, [TAG_PROBE, tag.., ids[e], p])` of example `e` (`ids[e]` its index in the
/// data set, `tag` the mini-batch's name).
#[derive(Debug, Clone, Copy)]
pub struct Probes<'a> {
    /// Probes per example (2 to [`MAX_PROBES`]).
    pub count: usize,
    /// The run's seed.
    pub seed: u64,
    /// The mini-batch's name in the stream tags.
    pub tag: &'a [u64],
    /// One id per example of the batch.
    pub ids: &'a [u64],
}

/// [`example_probe_gradient`] averaged over the examples of `batch` (in parallel, reduced in
/// index order) with the probes `pr`. The batch estimates are the means of the examples',
/// with standard errors `sqrt(sum se_e^2) / B`.
pub fn batch_probe_gradient(
    model: &Model,
    batch: &Batch,
    loss: Loss,
    w: Weights,
    pr: Probes,
) -> Result<(ObjectiveGrad, ProbeEstimate)> {
    check_inputs(model, batch)?;
    check_form(model)?;
    if pr.ids.len() != batch.size {
        return Err(Error::param(
            "ids",
            pr.ids.len(),
            &format!("{} example ids, one per example", batch.size),
        ));
    }
    let per: Vec<Result<(ObjectiveGrad, ProbeEstimate)>> = (0..batch.size)
        .into_par_iter()
        .map(|e| {
            example_probe_gradient(
                model, batch, e, loss, w, pr.count, pr.seed, pr.tag, pr.ids[e],
            )
        })
        .collect();
    let scale = 1.0 / batch.size as f64;
    let mut out = ObjectiveGrad::zeros(model);
    let (mut vq, mut vr) = (0.0, 0.0);
    for r in per {
        let (g, est) = r?;
        out.add_scaled(scale, &g);
        vq += est.q.stderr * est.q.stderr;
        vr += est.r.stderr * est.r.stderr;
    }
    let combined = |mean: f64, var: f64| Estimate {
        mean,
        sd: f64::NAN,
        stderr: var.sqrt() * scale,
        n: pr.count * batch.size,
    };
    let est = ProbeEstimate {
        q: combined(out.q, vq),
        r: combined(out.r, vr),
    };
    Ok((out, est))
}

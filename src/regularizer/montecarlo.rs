//! Monte Carlo check of the expansion `E l(h_K) = l(hbar_K) + (eps^2/2)(Q + R) + O(eps^4)`
//! (docs/theory.md section 2, "Monte Carlo check").
//!
//! For each path `p` (one standard draw `xi_p`, from its own stream
//! `stream(seed, [TAG, example, p])`) and each eps in the list (the same draw reused:
//! common random numbers), the antithetic pair gives
//!
//! ```text
//! G_p(eps) = (l(h_K(eps xi_p)) + l(h_K(-eps xi_p)))/2 - l(hbar_K),     Y_p = G_p / eps^2
//! ```
//!
//! which cancels the odd orders, so the standard error of `Y` stays bounded as eps -> 0.
//! Optional control variate: the second-order pathwise term
//! `T2_p = g^T h2_K + h1_K^T H h1_K / 2` (`h1`, `h2` the first- and second-order responses
//! to the same draw, `E T2 = (Q + R)/2` exactly), used with coefficient 1:
//! `Z_p = Y_p - (T2_p - (Q + R)/2)`. `Y - T2 = O(eps^2)` pathwise, so the control variate
//! removes the O(1) part of the variance and resolves the `O(eps^2)` remainder of
//! `gap/eps^2` at every eps. (Because the estimator then uses the closed form as the known
//! mean of `T2`, a test of the closed form itself should use the plain estimator, or compare
//! the mean of `T2` with `(Q + R)/2`, which [`MonteCarlo::pathwise`] reports.)
//!
//! Over a data set, `Z_p` is the mean over examples of each example's `Z_p` (example `e`'s
//! path `p` has its own stream), so the standard error is that of the data-set gap. Paths
//! are computed in parallel in fixed blocks of [`MC_BLOCK`] and reduced in index order:
//! the result does not depend on the number of threads.
//!
//! For the `code` form the reference path is the mean-factor path at each eps (see
//! [`crate::regularizer`]), and `(Q + R)/2` is evaluated on it.

use super::discrete::from_linearization;
use super::{check_example, check_inputs, Linearization};
use crate::data::{Batch, Target};
use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::loss::Loss;
use crate::model::increment::pathwise_unit;
use crate::model::{forward, Model, NoiseDraw, NoiseForm, NoiseSpec};
use nalgebra::DMatrix;
use rayon::prelude::*;
use std::time::Instant;

/// Paths per parallel work item (fixed, so the work split never depends on the threads).
pub const MC_BLOCK: usize = 32;

/// Stream tag of the Monte Carlo draws (`stream(seed, [MC_TAG, example, path])`).
pub const MC_TAG: u64 = 0x5245_4755_4C00_0001;

/// Options of [`monte_carlo`].
#[derive(Clone, Debug, PartialEq)]
pub struct McOptions {
    /// Noise levels eps (each > 0); the same draws are reused for each.
    pub eps: Vec<f64>,
    /// Antithetic pairs per example (at least 2).
    pub paths: usize,
    /// Seed of the draws.
    pub seed: u64,
    /// Use the second-order pathwise term as a control variate.
    pub control_variate: bool,
    /// Confidence level of the Student-t intervals, in (0, 1).
    pub confidence: f64,
    /// Keep the per-path values `Z_p` in [`MonteCarlo::samples`] (for example to compute
    /// the standard error of a difference between two eps, which share their draws).
    pub keep_samples: bool,
}

impl Default for McOptions {
    fn default() -> Self {
        McOptions {
            eps: vec![0.2, 0.1, 0.05],
            paths: 1000,
            seed: 0,
            control_variate: false,
            confidence: 0.95,
            keep_samples: false,
        }
    }
}

/// The Monte Carlo estimate of `gap(eps)/eps^2` at one eps.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct McEstimate {
    /// Noise level.
    pub eps: f64,
    /// Estimate of `(E l(h_K) - l(hbar_K)) / eps^2`.
    pub gap_over_eps2: f64,
    /// Its standard error (sample standard deviation over paths / sqrt(paths)).
    pub stderr: f64,
    /// Lower end of the Student-t interval (`paths - 1` degrees of freedom).
    pub ci_low: f64,
    /// Upper end of the Student-t interval.
    pub ci_high: f64,
    /// The closed form `(Q + R)/2` it is compared with (for `code`: on the mean-factor path
    /// at this eps; otherwise the same at every eps).
    pub regularizer: f64,
    /// `gap - eps^2 (Q + R)/2`, the estimated remainder.
    pub remainder: f64,
    /// Standard error of the remainder (`eps^2 stderr`).
    pub remainder_stderr: f64,
}

/// A least-squares line `log10|y| = intercept + slope log10 x`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SlopeFit {
    /// Fitted slope (the order).
    pub slope: f64,
    /// Standard error of the slope from the residuals (NaN with fewer than 3 points).
    pub stderr: f64,
    /// Fitted intercept (base-10 logarithms).
    pub intercept: f64,
    /// Points used (pairs with `x > 0` and finite, non-zero `y`).
    pub points: usize,
}

/// The result of [`monte_carlo`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MonteCarlo {
    /// Examples averaged over.
    pub examples: usize,
    /// Antithetic pairs per example.
    pub paths: usize,
    /// Whether the control variate was used.
    pub control_variate: bool,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// The eps -> 0 closed form `(Q + R)/2` averaged over the examples.
    pub regularizer: f64,
    /// One estimate per eps, in the order given (control-variate corrected when asked).
    pub estimates: Vec<McEstimate>,
    /// With the control variate: the plain antithetic estimates from the same paths.
    pub plain: Option<Vec<McEstimate>>,
    /// Slope of `log|gap - eps^2 (Q+R)/2|` against `log eps` (expected 4), when at least
    /// two eps give a non-zero remainder.
    pub remainder_fit: Option<SlopeFit>,
    /// Mean and standard error over paths of the pathwise term `T2` (an independent Monte
    /// Carlo estimate of `(Q + R)/2`), when the control variate is on and the form is not
    /// `code` (whose `T2` depends on eps).
    pub pathwise: Option<(f64, f64)>,
    /// Seconds spent on the paths (closed forms excluded).
    pub seconds_paths: f64,
    /// The per-path values `Z_p` (mean over examples of `G/eps^2`, control-variate corrected
    /// when asked), one vector per eps, when `keep_samples` was set.
    #[serde(skip)]
    pub samples: Option<Vec<Vec<f64>>>,
}

/// Least-squares fit of `log10|y|` on `log10 x` (the crate's one least-squares routine,
/// [`crate::stats::fit_loglog`], applied to `|y|`), skipping points with `x <= 0` or
/// `y` zero or not finite; `None` with fewer than two usable points. The slope's standard
/// error is `sqrt(RSS / (m - 2) / sum (u - ubar)^2)` with `u = log10 x` (NaN for m = 2).
///
/// ```
/// let x = [0.1, 0.2, 0.4];
/// let y: Vec<f64> = x.iter().map(|e: &f64| -3.0 * e.powi(4)).collect();
/// let f = nrnn::regularizer::fit_slope(&x, &y).unwrap();
/// assert!((f.slope - 4.0).abs() < 1e-12 && f.stderr < 1e-10);
/// ```
pub fn fit_slope(x: &[f64], y: &[f64]) -> Option<SlopeFit> {
    let ay: Vec<f64> = y.iter().map(|v| v.abs()).collect();
    let f = crate::stats::fit_loglog(x, &ay);
    if f.n < 2 || !f.slope.is_finite() {
        return None;
    }
    Some(SlopeFit {
        slope: f.slope,
        stderr: f.slope_stderr,
        intercept: f.intercept,
        points: f.n,
    })
}

/// The second-order pathwise term `T2 = g^T h2_K + h1_K^T H h1_K / 2` of each path of a
/// draw (columns of the draw are paths of the linearized example):
///
/// ```text
/// h1_{k+1} = D_k h1_k + n1_k,   h2_{k+1} = D_k h2_k + diag(d) a''(z_k) (W h1_k)^2 / 2 + n2_k
/// diag:   n1 = sqrt(d) (sigma1 + sigma2 hbar_k) xi,   n2 = sqrt(d) sigma2 h1_k xi
/// scalar: n1 = sqrt(d) (sigma1 xi + sigma2 hbar_k zeta), n2 = sqrt(d) sigma2 h1_k zeta
/// code:   n1 = sigma1 xi - sigma2 w d fbar_k,          n2 = -sigma2 w d J_k h1_k   (w = u - 1/2)
/// ```
///
/// `E T2 = (Q + R)/2`, and `G(eps)/eps^2 - T2 = O(eps^2)` path by path.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseDraw, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{montecarlo::pathwise_t2, Linearization};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
/// let lin = Linearization::new(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.0).unwrap();
/// let draw = NoiseDraw::draw(NoiseForm::Diag, 3, 8, 7, &[1], &[0, 1, 2]);
/// let t2 = pathwise_t2(&lin, &draw, 1.0, 0.5);
/// // T2 is even in the draw: the antithetic path gives the same value.
/// let t2m = pathwise_t2(&lin, &draw.antithetic(NoiseForm::Diag), 1.0, 0.5);
/// assert!(t2.iter().zip(&t2m).all(|(a, b)| (a - b).abs() < 1e-12 * a.abs().max(1.0)));
/// ```
pub fn pathwise_t2(lin: &Linearization, draw: &NoiseDraw, sigma1: f64, sigma2: f64) -> Vec<f64> {
    let n = lin.hidden();
    let bsz = draw.size;
    let rec = &lin.rec;
    let rows = rec.stacked.nrows();
    let woff = rec.woff;
    // The levels of the expansion (per eps: `eps` itself is not read).
    let noise = NoiseSpec {
        form: lin.form,
        eps: 0.0,
        sigma1,
        sigma2,
    };
    let ar = lin.form.aux_rows(n);
    let mut h1 = DMatrix::<f64>::zeros(n, bsz);
    let mut h2 = DMatrix::<f64>::zeros(n, bsz);
    let mut buf = DMatrix::<f64>::zeros(n, 2 * bsz);
    let mut y = DMatrix::<f64>::zeros(rows, 2 * bsz);
    let sq = lin.d0.map(f64::sqrt);
    for k in 0..lin.steps {
        buf.columns_mut(0, bsz).copy_from(&h1);
        buf.columns_mut(bsz, bsz).copy_from(&h2);
        rec.apply(&buf, &mut y);
        let da = &lin.da.as_slice()[k * n..(k + 1) * n];
        for b in 0..bsz {
            let col = k * bsz + b;
            let aux = &draw.aux.as_slice()[col * ar..(col + 1) * ar];
            let (y1, y2) = (
                &y.as_slice()[b * rows..(b + 1) * rows],
                &y.as_slice()[(bsz + b) * rows..(bsz + b + 1) * rows],
            );
            for i in 0..n {
                let wh1 = y1[woff + i];
                let jh1 = rec.jvp_unit(y1, da[i], i);
                let jh2 = rec.jvp_unit(y2, da[i], i);
                let h1v = h1[(i, b)];
                let fk = lin.f.as_ref().map_or(0.0, |f| f[(i, k)]);
                let (n1, n2) = pathwise_unit(
                    &noise,
                    sq[i],
                    lin.d0[i],
                    lin.h[(i, k)],
                    fk,
                    h1v,
                    jh1,
                    draw.xi[(i, col)],
                    aux,
                    i,
                );
                let d = lin.d[i];
                h1[(i, b)] = h1v + d * jh1 + n1;
                h2[(i, b)] += d * (jh2 + 0.5 * lin.dda[(i, k)] * wh1 * wh1) + n2;
            }
        }
    }
    let mut hh1 = DMatrix::<f64>::zeros(n, bsz);
    gemm(1.0, &lin.hess, false, &h1, false, 0.0, &mut hh1);
    (0..bsz)
        .map(|b| lin.g.dot(&h2.column(b)) + 0.5 * h1.column(b).dot(&hh1.column(b)))
        .collect()
}

/// One example's inputs and target repeated over `bsz` columns (batch layout).
fn replicate(one: &Batch, bsz: usize) -> (DMatrix<f64>, Target) {
    let p = one.x.nrows();
    let mut x = DMatrix::zeros(p, one.steps * bsz);
    for k in 0..one.steps {
        for b in 0..bsz {
            x.column_mut(k * bsz + b).copy_from(&one.x.column(k));
        }
    }
    let t = match &one.target {
        Target::Classes(y) => Target::Classes(vec![y[0]; bsz]),
        Target::Values(v) => Target::Values(DMatrix::from_fn(v.nrows(), bsz, |i, _| v[(i, 0)])),
    };
    (x, t)
}

struct Prepared {
    one: Batch,
    /// One linearization per eps for `code`, else one.
    lins: Vec<Linearization>,
    /// `(Q + R)/2` per linearization.
    regs: Vec<f64>,
}

fn validate(model: &Model, batch: &Batch, opts: &McOptions) -> Result<()> {
    check_inputs(model, batch)?;
    if opts.eps.is_empty() {
        return Err(Error::param("eps", "[]", "at least one noise level"));
    }
    for &e in &opts.eps {
        if !(e.is_finite() && e > 0.0) {
            return Err(Error::param("eps", e, "finite noise levels > 0"));
        }
        model.config.noise.with_eps(e).validate()?;
    }
    if opts.paths < 2 || opts.paths > 1 << 30 {
        return Err(Error::param(
            "paths",
            opts.paths,
            "an integer in [2, 2^30] (antithetic pairs)",
        ));
    }
    if !(opts.confidence > 0.0 && opts.confidence < 1.0) {
        return Err(Error::param(
            "confidence",
            opts.confidence,
            "a level in (0, 1)",
        ));
    }
    Ok(())
}

/// Per example: the linearization(s) and closed form(s) the Monte Carlo estimate is
/// compared with (one per eps for `code`), and the sum over examples of `(Q + R)/2` at
/// eps -> 0.
fn prepare(
    model: &Model,
    batch: &Batch,
    loss: Loss,
    opts: &McOptions,
) -> Result<(Vec<Prepared>, f64)> {
    let form = model.config.noise.form;
    let prep: Vec<Result<(Prepared, f64)>> = (0..batch.size)
        .into_par_iter()
        .map(|e| {
            let one = batch.columns(e, 1);
            let code_eps: Vec<f64> = if form == NoiseForm::Code {
                opts.eps.clone()
            } else {
                vec![0.0]
            };
            let mut lins = Vec::with_capacity(code_eps.len());
            let mut regs = Vec::with_capacity(code_eps.len());
            for &ce in &code_eps {
                let lin = Linearization::new(model, &one, 0, loss, ce)?;
                regs.push(from_linearization(&lin, false).value());
                lins.push(lin);
            }
            let reg0 = if form == NoiseForm::Code {
                from_linearization(&Linearization::new(model, &one, 0, loss, 0.0)?, false).value()
            } else {
                regs[0]
            };
            if regs.iter().any(|r| !r.is_finite()) || !reg0.is_finite() {
                return Err(Error::NonFinite {
                    what: format!("closed form of example {e}"),
                });
            }
            Ok((Prepared { one, lins, regs }, reg0))
        })
        .collect();
    let mut preps = Vec::with_capacity(batch.size);
    let mut reg0_sum = 0.0;
    for p in prep {
        let (p, r0) = p?;
        reg0_sum += r0;
        preps.push(p);
    }
    Ok((preps, reg0_sum))
}

/// The antithetic pairs of one block of paths of example `e`: per eps, each pair's
/// `(l(h+) + l(h-))/2 - l(hbar)` over eps^2 and, with the control variate, its pathwise
/// `T2`. The block's draw is named by the example and the path ids, so the result does not
/// depend on the thread that computes it.
fn simulate_block(
    model: &Model,
    loss: Loss,
    opts: &McOptions,
    pr: &Prepared,
    e: usize,
    blk: usize,
) -> Block {
    let cfg = &model.config;
    let form = cfg.noise.form;
    let (s1, s2) = (cfg.noise.sigma1, cfg.noise.sigma2);
    let ne = opts.eps.len();
    let cv = opts.control_variate;
    let start = blk * MC_BLOCK;
    let len = MC_BLOCK.min(opts.paths - start);
    let ids: Vec<u64> = (start..start + len).map(|p| p as u64).collect();
    let draw = NoiseDraw::draw(
        form,
        cfg.hidden,
        pr.one.steps,
        opts.seed,
        &[MC_TAG, e as u64],
        &ids,
    );
    let anti = draw.antithetic(form);
    let (x, target) = replicate(&pr.one, len);
    let mut ys = Vec::with_capacity(ne);
    let mut ts = Vec::with_capacity(ne);
    let mut t2_shared: Option<Vec<f64>> = None;
    for (j, &eps) in opts.eps.iter().enumerate() {
        let li = if form == NoiseForm::Code { j } else { 0 };
        let lin = &pr.lins[li];
        let mut c = cfg.clone();
        c.noise = cfg.noise.with_eps(eps);
        let lp = forward(
            &c,
            &model.params,
            &x,
            pr.one.steps,
            len,
            Some(&draw),
            None,
            false,
        )
        .logits;
        let lm = forward(
            &c,
            &model.params,
            &x,
            pr.one.steps,
            len,
            Some(&anti),
            None,
            false,
        )
        .logits;
        let (vp, _) = loss.value_grad(&lp, &target, 1.0);
        let (vm, _) = loss.value_grad(&lm, &target, 1.0);
        let e2 = eps * eps;
        ys.push(
            vp.iter()
                .zip(&vm)
                .map(|(a, b)| (0.5 * (a + b) - lin.loss) / e2)
                .collect::<Vec<f64>>(),
        );
        if cv {
            let t2 = if form == NoiseForm::Code {
                pathwise_t2(lin, &draw, s1, s2)
            } else {
                t2_shared
                    .get_or_insert_with(|| pathwise_t2(lin, &draw, s1, s2))
                    .clone()
            };
            ts.push(t2);
        }
    }
    (ys, ts)
}

/// For each block of paths: per eps, the block's Y values and (with the control variate)
/// its T2 values.
type Block = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// Monte Carlo estimates of `gap(eps)/eps^2` for every eps in `opts.eps`, averaged over
/// the examples of `batch`, with standard errors, Student-t intervals and the remainder's
/// log-log slope (see the module docs). The noise form and `sigma1`, `sigma2` are the
/// model's; eps comes from `opts`.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// use nrnn::regularizer::{monte_carlo, McOptions};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(1, 8, 2, 0).unwrap().all();
/// let opts = McOptions { eps: vec![0.2, 0.1], paths: 64, seed: 1, control_variate: true, ..Default::default() };
/// let mc = monte_carlo(&m, &b, nrnn::loss::Loss::CrossEntropy, &opts).unwrap();
/// for e in &mc.estimates {
///     assert!((e.gap_over_eps2 - mc.regularizer).abs() < 4.0 * e.stderr + 0.1 * mc.regularizer.abs());
/// }
/// ```
pub fn monte_carlo(
    model: &Model,
    batch: &Batch,
    loss: Loss,
    opts: &McOptions,
) -> Result<MonteCarlo> {
    validate(model, batch, opts)?;
    let cfg = &model.config;
    let form = cfg.noise.form;
    let ne = opts.eps.len();
    let (preps, reg0_sum) = prepare(model, batch, loss, opts)?;
    let t0 = Instant::now();
    let nblocks = opts.paths.div_ceil(MC_BLOCK);
    let items: Vec<(usize, usize)> = (0..batch.size)
        .flat_map(|e| (0..nblocks).map(move |b| (e, b)))
        .collect();
    let cv = opts.control_variate;
    let blocks: Vec<Block> = items
        .par_iter()
        .map(|&(e, blk)| simulate_block(model, loss, opts, &preps[e], e, blk))
        .collect();
    let seconds_paths = t0.elapsed().as_secs_f64();
    // Reduce in index order: per eps, per path, the mean over examples.
    let nex = batch.size as f64;
    let mut z = vec![vec![0.0; opts.paths]; ne];
    let mut zplain = if cv {
        vec![vec![0.0; opts.paths]; ne]
    } else {
        Vec::new()
    };
    let mut t2sum = vec![0.0; opts.paths];
    for (&(e, blk), (ys, ts)) in items.iter().zip(&blocks) {
        let start = blk * MC_BLOCK;
        for j in 0..ne {
            let li = if form == NoiseForm::Code { j } else { 0 };
            let reg = preps[e].regs[li];
            for (b, &yv) in ys[j].iter().enumerate() {
                let val = if cv { yv - (ts[j][b] - reg) } else { yv };
                z[j][start + b] += val / nex;
                if cv {
                    zplain[j][start + b] += yv / nex;
                }
                if cv && j == 0 {
                    t2sum[start + b] += ts[0][b] / nex;
                }
            }
        }
    }
    for (j, zj) in z.iter().enumerate() {
        if zj.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!(
                    "Monte Carlo losses at eps = {} (the noisy network overflows)",
                    opts.eps[j]
                ),
            });
        }
    }
    let np = opts.paths as f64;
    let tq = crate::stats::t_quantile(0.5 + 0.5 * opts.confidence, np - 1.0);
    let mean_se = |v: &[f64]| {
        let e = crate::stats::Estimate::of(v);
        (e.mean, e.stderr)
    };
    let summarize = |zz: &[Vec<f64>]| -> Vec<McEstimate> {
        opts.eps
            .iter()
            .enumerate()
            .map(|(j, &eps)| {
                let (m, se) = mean_se(&zz[j]);
                let li = if form == NoiseForm::Code { j } else { 0 };
                let reg = preps.iter().map(|p| p.regs[li]).sum::<f64>() / nex;
                let e2 = eps * eps;
                McEstimate {
                    eps,
                    gap_over_eps2: m,
                    stderr: se,
                    ci_low: m - tq * se,
                    ci_high: m + tq * se,
                    regularizer: reg,
                    remainder: e2 * (m - reg),
                    remainder_stderr: e2 * se,
                }
            })
            .collect()
    };
    let estimates = summarize(&z);
    let plain = if cv { Some(summarize(&zplain)) } else { None };
    let xs: Vec<f64> = estimates.iter().map(|e| e.eps).collect();
    let rs: Vec<f64> = estimates.iter().map(|e| e.remainder).collect();
    let remainder_fit = fit_slope(&xs, &rs);
    let pathwise = if cv && form != NoiseForm::Code {
        Some(mean_se(&t2sum))
    } else {
        None
    };
    Ok(MonteCarlo {
        examples: batch.size,
        paths: opts.paths,
        control_variate: cv,
        confidence: opts.confidence,
        regularizer: reg0_sum / nex,
        estimates,
        plain,
        remainder_fit,
        pathwise,
        seconds_paths,
        samples: if opts.keep_samples { Some(z) } else { None },
    })
}

/// Speed of the closed form against the Monte Carlo estimate it replaces, on one example.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// Hidden size n.
    pub hidden: usize,
    /// Steps K.
    pub steps: usize,
    /// Wall-clock seconds of the closed-form `Q` and `R` (linearization included).
    pub closed_form_seconds: f64,
    /// Approximate floating-point operations of the forward covariance sweep
    /// (`6 n^3` per step: a `2n x n x n` and an `n x n x n` product).
    pub closed_form_gflop: f64,
    /// `(Q + R)/2`.
    pub regularizer: f64,
    /// The eps of the Monte Carlo estimate.
    pub eps: f64,
    /// Antithetic pairs of the pilot run.
    pub pilot_pairs: usize,
    /// Seconds of the pilot run (paths only).
    pub pilot_seconds: f64,
    /// Pilot estimate of `gap/eps^2` and its standard error (plain antithetic estimator).
    pub estimate: f64,
    /// Standard error of the pilot estimate.
    pub stderr: f64,
    /// Pairs needed for a relative standard error of 1%: `(sd / (0.01 |mean|))^2`.
    pub pairs_for_1pct: f64,
    /// Seconds a 1% Monte Carlo estimate takes, extrapolated linearly from the pilot.
    pub mc_seconds_for_1pct: f64,
    /// `mc_seconds_for_1pct / closed_form_seconds`.
    pub speedup: f64,
}

/// Time the closed form on example `e` of `batch` and a pilot Monte Carlo run of
/// `pilot_pairs` antithetic pairs at `eps`; extrapolate the Monte Carlo cost to a 1%
/// relative standard error.
///
/// ```
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// let mut cfg = ModelConfig::new(4, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let b = nrnn::data::sines(1, 10, 2, 0).unwrap().all();
/// let r = nrnn::regularizer::bench(&m, &b, 0, nrnn::loss::Loss::CrossEntropy, 0.1, 64, 0).unwrap();
/// assert!(r.closed_form_seconds > 0.0 && r.pairs_for_1pct > 0.0);
/// ```
pub fn bench(
    model: &Model,
    batch: &Batch,
    e: usize,
    loss: Loss,
    eps: f64,
    pilot_pairs: usize,
    seed: u64,
) -> Result<BenchReport> {
    check_example(model, batch, e)?;
    let one = batch.columns(e, 1);
    let t0 = Instant::now();
    let lin = Linearization::new(model, &one, 0, loss, 0.0)?;
    let reg = from_linearization(&lin, false);
    let closed = t0.elapsed().as_secs_f64();
    let opts = McOptions {
        eps: vec![eps],
        paths: pilot_pairs,
        seed,
        ..Default::default()
    };
    let mc = monte_carlo(model, &one, loss, &opts)?;
    let est = &mc.estimates[0];
    let sd = est.stderr * (pilot_pairs as f64).sqrt();
    let pairs = (sd / (0.01 * est.gap_over_eps2.abs())).powi(2);
    let per_pair = mc.seconds_paths / pilot_pairs as f64;
    let n = model.config.hidden as f64;
    Ok(BenchReport {
        hidden: model.config.hidden,
        steps: one.steps,
        closed_form_seconds: closed,
        closed_form_gflop: 6.0 * n * n * n * one.steps as f64 * 1e-9,
        regularizer: reg.value(),
        eps,
        pilot_pairs,
        pilot_seconds: mc.seconds_paths,
        estimate: est.gap_over_eps2,
        stderr: est.stderr,
        pairs_for_1pct: pairs,
        mc_seconds_for_1pct: pairs * per_pair,
        speedup: pairs * per_pair / closed,
    })
}

//! Lyapunov exponents of the hidden dynamics (docs/theory.md section 4).
//!
//! **Spectrum (QR / Benettin method).** Advance the state `h_k` and `k` orthonormal tangent
//! vectors `Q_k` with the tangent map `M_k` of the (noisy) step ([`super::tangent`]), the
//! same noise for state and tangent; every `m` steps factor `M Q = Q' R` (Householder QR)
//! and keep `Q'`. After a transient of `N0` steps (discarded), over `N` steps
//!
//! ```text
//! lambda_i = (1 / (N tau)) sum log |R_ii|,      tau = mean(d) (time per step),
//! ```
//! per unit time, sorted from the largest (Benettin, Galgani, Giorgilli, Strelcyn 1980;
//! ChaosTools.jl `lyapunovspectrum`). Reorthonormalizing every `m > 1` steps gives the same
//! numbers in exact arithmetic (the product of `m` steps is factored at once) and is
//! accurate while the columns stay far from parallel, i.e. while
//! `exp((lambda_1 - lambda_k) m tau)` is well below `1/eps_mach`; `m = 1` is the safe default.
//! Independent noise paths (one stream per path, `stream(seed, &[TAG_NOISE, path])`) are
//! averaged. The standard error is computed by batch means pooled over paths: each path is
//! cut into [`BATCH_MEANS`] consecutive blocks, whose exponents are nearly independent when
//! a block is much longer than the correlation time of the log-growth increments, giving
//! `P x 10 - 1` degrees of freedom where the spread of the `P` path means alone has `P - 1`
//! (with 4 paths, a 3-standard-error criterion would hold only at the 94% level of
//! Student's t with 3 degrees of freedom; both are reported). The running estimate
//! (exponents after each recorded step) shows convergence.
//!
//! **Finite-time exponents of pairs.** Two runs `h, h'` with the same input and the same
//! noise: `(1/t) log(|h_t - h'_t| / |h_0 - h'_0|)` ([`pair_separation`]).
//!
//! **Mean square.** `(1/t) log E|y_t|^2` for a tangent vector `y` ([`mean_square_exponent`]).

use super::tangent::Dynamics;
use crate::error::{Error, Result};
use crate::rng::{fill_normal, stream};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// Stream tag of the noise of path `p`: `stream(seed, &[TAG_NOISE, p])`.
pub const TAG_NOISE: u64 = 0x4C59_4150_4E4F_4953;
/// Stream tag of the initial tangent basis of path `p`.
pub const TAG_BASIS: u64 = 0x4C59_4150_4241_5349;
/// Stream tag of the initial states of pair `p`.
pub const TAG_PAIR: u64 = 0x4C59_4150_5041_4952;
/// Blocks per path of the batch-means standard error: 10, a common choice that keeps each
/// block long (so block means are nearly independent) and, even with one path, the
/// t-quantile of the 9 degrees of freedom close to normal (2.26 vs 1.96 at 95%).
pub const BATCH_MEANS: usize = 10;

/// A random quantity with its standard error.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Estimate {
    /// The estimate.
    pub mean: f64,
    /// Its standard error (`None` when it cannot be estimated, e.g. one sample).
    pub stderr: Option<f64>,
    /// Number of independent samples (paths).
    pub samples: usize,
}

/// Options of [`spectrum`].
#[derive(Clone, Debug, PartialEq)]
pub struct LyapunovOptions {
    /// Number of exponents `k`, in `1..=n`.
    pub k: usize,
    /// Steps `N` over which the exponents are accumulated (after the transient).
    pub steps: usize,
    /// Transient steps `N0`, discarded.
    pub transient: usize,
    /// Independent noise paths `P` (the deterministic network needs 1).
    pub paths: usize,
    /// Seed of the noise and of the initial tangent basis.
    pub seed: u64,
    /// Reorthonormalize every `m` steps (`m >= 1`; see module docs).
    pub reorth_every: usize,
    /// Record the running estimate every this many steps (0: no running estimate).
    pub record_every: usize,
    /// Initial state (`None`: zero).
    pub h0: Option<Vec<f64>>,
}

/// Largest number of steps (transient plus measured) of one run of [`spectrum`],
/// [`pair_separation`] or [`mean_square_exponent`]: 10^9. The top exponent of a 128-unit
/// network takes about 3.5 s per 10^5 steps, so 10^9 steps are some 10 hours per path;
/// the standard error falls like `1/sqrt(steps)` and is below 10^-4 long before. A larger
/// value (such as 2^64 - 1 from a typo) would run for years.
pub const MAX_STEPS: usize = 1_000_000_000;

/// Largest number of independent paths of those runs: 10^5 (each path is a whole run; the
/// standard error over paths falls like `1/sqrt(paths)`).
pub const MAX_PATHS: usize = 100_000;

/// Check a run's size: `steps` in `[1, MAX_STEPS]`, `transient + steps <= MAX_STEPS`,
/// `paths` in `[1, MAX_PATHS]`. The errors name the field (the flag of `nrnn lyapunov` and
/// `nrnn stability`) and the allowed range.
///
/// ```
/// use nrnn::dynamics::lyapunov::{check_work, MAX_STEPS};
/// assert!(check_work(1000, 100, 4).is_ok());
/// let e = check_work(usize::MAX, 0, 1).unwrap_err().to_string();
/// assert!(e.contains("`steps`") && e.contains("1000000000"), "{e}");
/// assert!(check_work(MAX_STEPS, 1, 1).unwrap_err().to_string().contains("`transient`"));
/// ```
pub fn check_work(steps: usize, transient: usize, paths: usize) -> Result<()> {
    crate::error::check_count("steps", steps, 1, MAX_STEPS)?;
    crate::error::check_count("transient", transient, 0, MAX_STEPS - steps).map_err(|_| {
        Error::param(
            "transient",
            transient,
            &format!(
                "an integer in [0, {}] (transient + steps at most {MAX_STEPS})",
                MAX_STEPS - steps
            ),
        )
    })?;
    crate::error::check_count("paths", paths, 1, MAX_PATHS)?;
    Ok(())
}

impl LyapunovOptions {
    /// `k` exponents over `steps` steps, transient `steps / 10`, one path, seed 0,
    /// reorthonormalization every step, no running estimate, `h_0 = 0`.
    ///
    /// ```
    /// let o = nrnn::dynamics::LyapunovOptions::new(2, 1000);
    /// assert_eq!((o.k, o.steps, o.transient, o.paths), (2, 1000, 100, 1));
    /// ```
    pub fn new(k: usize, steps: usize) -> LyapunovOptions {
        LyapunovOptions {
            k,
            steps,
            transient: steps / 10,
            paths: 1,
            seed: 0,
            reorth_every: 1,
            record_every: 0,
            h0: None,
        }
    }

    /// Check the options for a system with `n` hidden units; errors name the field.
    ///
    /// ```
    /// use nrnn::dynamics::LyapunovOptions;
    /// assert!(LyapunovOptions::new(3, 100).validate(3).is_ok());
    /// let e = LyapunovOptions::new(4, 100).validate(3).unwrap_err().to_string();
    /// assert!(e.contains("spectrum") && e.contains("[1, 3]"));
    /// ```
    pub fn validate(&self, n: usize) -> Result<()> {
        if self.k == 0 || self.k > n {
            return Err(Error::param(
                "spectrum",
                self.k,
                &format!("an integer in [1, {n}] (the hidden size)"),
            ));
        }
        check_work(self.steps, self.transient, self.paths)?;
        if self.paths == 1 && self.steps < 2 {
            return Err(Error::param(
                "steps",
                self.steps,
                ">= 2 with one path (a batch-means standard error needs two blocks)",
            ));
        }
        if self.reorth_every == 0 {
            return Err(Error::param("reorth", 0, "an integer >= 1"));
        }
        if let Some(h) = &self.h0 {
            if h.len() != n {
                return Err(Error::shape("h0", (h.len(), 1), (n, 1)));
            }
            if h.iter().any(|v| !v.is_finite()) {
                return Err(Error::param("h0", "a non-finite entry", "finite numbers"));
            }
        }
        Ok(())
    }
}

/// One point of the running estimate: the exponents accumulated up to `step` (after the
/// transient), averaged over paths.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunningPoint {
    /// Accumulated steps.
    pub step: usize,
    /// Accumulated time `step * tau`.
    pub time: f64,
    /// Mean over paths of each exponent so far (same order as [`Spectrum::exponents`]).
    pub mean: Vec<f64>,
    /// Standard error over paths (`None` with one path).
    pub stderr: Option<Vec<f64>>,
}

/// Result of [`spectrum`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Spectrum {
    /// Mean over paths of the exponents, per unit time, sorted from the largest.
    pub exponents: Vec<f64>,
    /// Standard errors, by batch means over all paths and blocks (see module docs).
    pub stderr: Vec<f64>,
    /// How the standard errors were computed (`"batch means (P paths x B blocks)"`).
    pub stderr_method: String,
    /// Standard errors from the spread of the `P` path estimates alone (`None` with one
    /// path): unbiased but with only `P - 1` degrees of freedom.
    pub stderr_paths: Option<Vec<f64>>,
    /// The exponents of each path (same order as `exponents`).
    pub per_path: Vec<Vec<f64>>,
    /// Running estimate (empty unless asked).
    pub running: Vec<RunningPoint>,
    /// Time per step `tau`.
    pub time_unit: f64,
    /// Accumulated steps N.
    pub steps: usize,
    /// Transient steps N0.
    pub transient: usize,
    /// Paths P.
    pub paths: usize,
    /// Whether the steps were noisy.
    pub noisy: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Mean and sample standard deviation (0 for fewer than two values), by [`crate::stats`].
fn mean_sd(v: &[f64]) -> (f64, f64) {
    let e = crate::stats::Estimate::of(v);
    (e.mean, e.sd_or_zero())
}

/// Replace columns `1..=k` of `x` by an orthonormal basis of their span (Householder QR) and
/// return `log |R_ii|`; an error when a column has collapsed or overflowed.
fn reorthonormalize(x: &mut DMatrix<f64>, k: usize, step: usize) -> Result<Vec<f64>> {
    if x.column(0).iter().any(|v| !v.is_finite()) {
        return Err(diverged(step));
    }
    let logs: Vec<f64> = if k == 1 {
        let mut col = x.column_mut(1);
        let nrm = col.norm();
        col /= nrm;
        vec![nrm.ln()]
    } else {
        let qr = x.columns(1, k).into_owned().qr();
        let r = qr.r();
        let q = qr.q();
        x.columns_mut(1, k).copy_from(&q);
        (0..k).map(|i| r[(i, i)].abs().ln()).collect()
    };
    if logs.iter().any(|l| !l.is_finite()) {
        return Err(Error::NonFinite {
            what: format!(
                "Lyapunov QR at step {step}: a tangent vector vanished or overflowed \
                 (log |R_ii| = {logs:?}); use a smaller --reorth or a shorter step"
            ),
        });
    }
    Ok(logs)
}

fn diverged(step: usize) -> Error {
    Error::NonFinite {
        what: format!(
            "hidden state at step {step}: the trajectory diverged (the network is unstable at \
             this noise level, so its exponents cannot be measured along a path)"
        ),
    }
}

struct PathOut {
    total: Vec<f64>,
    blocks: Vec<(usize, Vec<f64>)>,
    running: Vec<Vec<f64>>,
}

fn initial_basis(n: usize, k: usize, seed: u64, path: u64) -> DMatrix<f64> {
    let mut g = DMatrix::zeros(n, k);
    fill_normal(&mut stream(seed, &[TAG_BASIS, path]), g.as_mut_slice());
    if k == 1 {
        let nrm = g.norm();
        return g / nrm;
    }
    g.qr().q()
}

fn run_path(sys: &Dynamics, o: &LyapunovOptions, path: u64) -> Result<PathOut> {
    let n = sys.hidden();
    let k = o.k;
    let mut x = DMatrix::zeros(n, 1 + k);
    if let Some(h0) = &o.h0 {
        x.column_mut(0).copy_from_slice(h0);
    }
    x.columns_mut(1, k)
        .copy_from(&initial_basis(n, k, o.seed, path));
    let mut walk = sys.path(stream(o.seed, &[TAG_NOISE, path]));
    let nb = BATCH_MEANS.min(o.steps);
    let block_len = o.steps.div_ceil(nb);
    let mut total = vec![0.0; k];
    let mut blocks: Vec<(usize, Vec<f64>)> = (0..o.steps.div_ceil(block_len))
        .map(|b| (block_len.min(o.steps - b * block_len), vec![0.0; k]))
        .collect();
    let mut running = Vec::new();
    let m = o.reorth_every;
    let rec = o.record_every;
    for s in 0..o.transient + o.steps {
        walk.advance(sys, s, &mut x, 1);
        if s % 64 == 63 && x.column(0).iter().any(|v| !v.is_finite()) {
            return Err(diverged(s));
        }
        if s < o.transient {
            if (s + 1) % m == 0 || s + 1 == o.transient {
                reorthonormalize(&mut x, k, s)?;
            }
            continue;
        }
        let a = s + 1 - o.transient;
        let recording = rec > 0 && a.is_multiple_of(rec);
        if a.is_multiple_of(m) || a == o.steps || a.is_multiple_of(block_len) || recording {
            let logs = reorthonormalize(&mut x, k, s)?;
            let blk = &mut blocks[(a - 1) / block_len].1;
            for i in 0..k {
                total[i] += logs[i];
                blk[i] += logs[i];
            }
            if recording {
                running.push(total.clone());
            }
        }
    }
    if x.column(0).iter().any(|v| !v.is_finite()) {
        return Err(diverged(o.transient + o.steps));
    }
    Ok(PathOut {
        total,
        blocks,
        running,
    })
}

/// The first `k` Lyapunov exponents of `sys` by the QR method (see module docs), over
/// `paths` independent noise paths run in parallel (results independent of the thread
/// count: path `p` uses its own streams).
///
/// ```
/// use nrnn::dynamics::{spectrum, Dynamics, LyapunovOptions};
/// use nrnn::model::{Model, ModelConfig, NoiseSpec};
/// // A linear map I + d A with A = diag(-1, -2) (beta = 0.5, M_A = A, W = 0):
/// let mut cfg = ModelConfig::new(2, 1, 1);
/// cfg.beta = 0.5;
/// cfg.gamma_a = 0.0;
/// cfg.gamma_w = 0.0;
/// let mut m = Model::init(cfg, 0.01, 1).unwrap();
/// m.params.m_a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![-1.0, -2.0]));
/// m.params.m_w.fill(0.0);
/// let sys = Dynamics::new(&m, None, NoiseSpec::off()).unwrap();
/// // A transient of 10 time units aligns the basis with the eigenvectors (gap 1).
/// let o = LyapunovOptions { transient: 1000, ..LyapunovOptions::new(2, 2000) };
/// let s = spectrum(&sys, &o).unwrap();
/// assert!((s.exponents[0] - 0.99f64.ln() / 0.01).abs() < 1e-6); // log|1 + d lambda| / d
/// assert!((s.exponents[1] - 0.98f64.ln() / 0.01).abs() < 1e-6);
/// ```
pub fn spectrum(sys: &Dynamics, o: &LyapunovOptions) -> Result<Spectrum> {
    let t0 = std::time::Instant::now();
    o.validate(sys.hidden())?;
    let k = o.k;
    let tau = sys.time_unit();
    let outs: Vec<Result<PathOut>> = (0..o.paths as u64)
        .into_par_iter()
        .map(|p| run_path(sys, o, p))
        .collect();
    let outs: Vec<PathOut> = outs.into_iter().collect::<Result<_>>()?;
    let per_path: Vec<Vec<f64>> = outs
        .iter()
        .map(|p| p.total.iter().map(|s| s / (o.steps as f64 * tau)).collect())
        .collect();
    // Mean over paths (every path has the same length, so this is also the mean over all
    // steps); standard error by batch means pooled over all paths and blocks, with weights
    // for unequal block lengths: se^2 = sum_b (L_b / Lbar)^2 (e_b - mean)^2 / (B (B - 1)).
    let mut mean = vec![0.0; k];
    let mut se = vec![0.0; k];
    let mut se_paths = vec![0.0; k];
    let nblocks: usize = outs.iter().map(|p| p.blocks.len()).sum();
    let lbar = (o.steps * o.paths) as f64 / nblocks as f64;
    for i in 0..k {
        let col: Vec<f64> = per_path.iter().map(|p| p[i]).collect();
        let (m, sd) = mean_sd(&col);
        mean[i] = m;
        se_paths[i] = sd / (o.paths as f64).sqrt();
        let ss: f64 = outs
            .iter()
            .flat_map(|p| p.blocks.iter())
            .map(|(len, s)| {
                let l = *len as f64;
                let e = s[i] / (l * tau);
                (l / lbar * (e - m)).powi(2)
            })
            .sum();
        se[i] = (ss / (nblocks * (nblocks - 1)) as f64).sqrt();
    }
    let method = format!(
        "batch means ({} paths x {} blocks)",
        o.paths,
        nblocks / o.paths
    );
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]));
    let perm = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    let nrec = outs[0].running.len();
    let running = (0..nrec)
        .map(|r| {
            let step = (r + 1) * o.record_every;
            let t = step as f64 * tau;
            let vals: Vec<Vec<f64>> = outs
                .iter()
                .map(|p| p.running[r].iter().map(|s| s / t).collect())
                .collect();
            let mut m = vec![0.0; k];
            let mut e = vec![0.0; k];
            for i in 0..k {
                let col: Vec<f64> = vals.iter().map(|v| v[i]).collect();
                let (mm, sd) = mean_sd(&col);
                m[i] = mm;
                e[i] = sd / (o.paths as f64).sqrt();
            }
            RunningPoint {
                step,
                time: t,
                mean: perm(&m),
                stderr: if o.paths >= 2 { Some(perm(&e)) } else { None },
            }
        })
        .collect();
    Ok(Spectrum {
        exponents: perm(&mean),
        stderr: perm(&se),
        stderr_method: method,
        stderr_paths: (o.paths >= 2).then(|| perm(&se_paths)),
        per_path: per_path.iter().map(|p| perm(p)).collect(),
        running,
        time_unit: tau,
        steps: o.steps,
        transient: o.transient,
        paths: o.paths,
        noisy: sys.is_noisy(),
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// Options of [`pair_separation`].
#[derive(Clone, Debug, PartialEq)]
pub struct PairOptions {
    /// Steps of each run.
    pub steps: usize,
    /// Independent pairs (each with its own noise path and initial states).
    pub paths: usize,
    /// Seed.
    pub seed: u64,
    /// `h_0 ~ N(0, h0_scale^2 I)`.
    pub h0_scale: f64,
    /// `|h_0 - h'_0|` (direction uniform on the sphere).
    pub separation: f64,
    /// Record `log |delta|` every this many steps (>= 1).
    pub record_every: usize,
}

impl PairOptions {
    /// `paths` pairs over `steps` steps, `h_0 ~ N(0, I)`, separation `1e-6`, seed 0,
    /// about 200 records.
    ///
    /// ```
    /// let o = nrnn::dynamics::PairOptions::new(1000, 4);
    /// assert_eq!((o.record_every, o.separation), (5, 1e-6));
    /// ```
    pub fn new(steps: usize, paths: usize) -> PairOptions {
        PairOptions {
            steps,
            paths,
            seed: 0,
            h0_scale: 1.0,
            separation: 1e-6,
            record_every: (steps / 200).max(1),
        }
    }
}

/// Result of [`pair_separation`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PairRun {
    /// Recorded steps.
    pub steps: Vec<usize>,
    /// Recorded times `step * tau`.
    pub times: Vec<f64>,
    /// `log(|h_t - h'_t| / |h_0 - h'_0|)` per pair (rows) and record (columns).
    pub log_ratio: Vec<Vec<f64>>,
    /// Finite-time exponent at the last step, `log_ratio / t`, over pairs.
    pub exponent: Estimate,
}

/// Finite-time exponents of `|h_t - h'_t|` from pairs of runs that share input and noise
/// (pair `p` uses the noise stream of path `p` of [`spectrum`] with the same seed).
///
/// ```
/// use nrnn::dynamics::{pair_separation, Conditions, Dynamics, PairOptions};
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 1, 2), 0.1, 3).unwrap();
/// let sys = Dynamics::new(&m, None, m.config.noise).unwrap();
/// let mut o = PairOptions::new(50, 2);
/// o.separation = 1.0;
/// o.record_every = 1;
/// let run = pair_separation(&sys, &o).unwrap();
/// let c = Conditions::of(&m, None).unwrap();
/// for (i, &s) in run.steps.iter().enumerate() {
///     assert!(run.log_ratio.iter().all(|r| r[i] <= c.log_separation_bound(s) + 1e-12));
/// }
/// ```
pub fn pair_separation(sys: &Dynamics, o: &PairOptions) -> Result<PairRun> {
    check_work(o.steps, 0, o.paths)?;
    if o.record_every == 0 {
        return Err(Error::param("record_every", 0, "an integer >= 1"));
    }
    if !(o.separation.is_finite() && o.separation > 0.0) {
        return Err(Error::param(
            "separation",
            o.separation,
            "a finite number > 0",
        ));
    }
    if !(o.h0_scale.is_finite() && o.h0_scale >= 0.0) {
        return Err(Error::param("h0_scale", o.h0_scale, "a finite number >= 0"));
    }
    let n = sys.hidden();
    let tau = sys.time_unit();
    let rows: Vec<Result<Vec<f64>>> = (0..o.paths as u64)
        .into_par_iter()
        .map(|p| {
            let mut init = vec![0.0; 2 * n];
            fill_normal(&mut stream(o.seed, &[TAG_PAIR, p]), &mut init);
            let dir = nalgebra::DVector::from_column_slice(&init[n..]);
            let dir = dir.normalize() * o.separation;
            let mut x = DMatrix::zeros(n, 2);
            for i in 0..n {
                x[(i, 0)] = o.h0_scale * init[i];
                x[(i, 1)] = x[(i, 0)] + dir[i];
            }
            let d0 = (x.column(0) - x.column(1)).norm();
            let mut walk = sys.path(stream(o.seed, &[TAG_NOISE, p]));
            let mut out = Vec::with_capacity(o.steps / o.record_every);
            for s in 0..o.steps {
                walk.advance(sys, s, &mut x, 2);
                if (s + 1) % o.record_every == 0 {
                    let d = (x.column(0) - x.column(1)).norm();
                    if !d.is_finite() {
                        return Err(diverged(s));
                    }
                    out.push((d / d0).ln());
                }
            }
            Ok(out)
        })
        .collect();
    let log_ratio: Vec<Vec<f64>> = rows.into_iter().collect::<Result<_>>()?;
    let steps: Vec<usize> = (1..=o.steps / o.record_every)
        .map(|r| r * o.record_every)
        .collect();
    let times = steps.iter().map(|&s| s as f64 * tau).collect();
    let t_end = o.steps as f64 * tau;
    // The last record may precede the last step; use the final recorded time.
    let t_last = steps.last().map_or(t_end, |&s| s as f64 * tau);
    let fin: Vec<f64> = log_ratio
        .iter()
        .map(|r| r.last().copied().unwrap_or(0.0) / t_last)
        .collect();
    let (m, sd) = mean_sd(&fin);
    let exponent = Estimate {
        mean: m,
        stderr: (o.paths >= 2).then(|| sd / (o.paths as f64).sqrt()),
        samples: o.paths,
    };
    Ok(PairRun {
        steps,
        times,
        log_ratio,
        exponent,
    })
}

/// Mean-square exponent `(1/t) log E|y_t|^2 / |y_0|^2` of a tangent vector (the linear
/// response of `h - h'`) at `t = steps * tau`, over `paths` noise paths (path `p` uses the
/// streams of [`spectrum`]), with the delta-method standard error
/// `sd(w) / (sqrt(P) mean(w) t)`, `w_p = |y_t^p|^2`. Heavy-tailed: keep `t` moderate.
///
/// ```
/// use nrnn::dynamics::{mean_square_exponent, Dynamics};
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// let mut cfg = ModelConfig::new(1, 1, 1);
/// cfg.beta = 0.5;
/// cfg.gamma_a = 0.0;
/// cfg.gamma_w = 0.0;
/// let mut m = Model::init(cfg, 0.01, 1).unwrap();
/// m.params.m_a[(0, 0)] = -1.0;
/// m.params.m_w[(0, 0)] = 0.0;
/// let sys = Dynamics::new(&m, None, NoiseSpec::new(NoiseForm::Scalar, 1.0, 0.0, 0.5).unwrap()).unwrap();
/// let e = mean_square_exponent(&sys, 100, 2000, 0).unwrap();
/// assert!((e.mean - (-2.0 + 0.25)).abs() < 0.2); // 2 lambda + s^2
/// ```
pub fn mean_square_exponent(
    sys: &Dynamics,
    steps: usize,
    paths: usize,
    seed: u64,
) -> Result<Estimate> {
    check_work(steps, 0, paths)?;
    if paths < 2 {
        return Err(Error::param(
            "paths",
            paths,
            "an integer >= 2 (a mean over paths)",
        ));
    }
    let n = sys.hidden();
    let t = steps as f64 * sys.time_unit();
    let logs: Vec<Result<f64>> = (0..paths as u64)
        .into_par_iter()
        .map(|p| {
            let mut x = DMatrix::zeros(n, 2);
            x.columns_mut(1, 1).copy_from(&initial_basis(n, 1, seed, p));
            let mut walk = sys.path(stream(seed, &[TAG_NOISE, p]));
            let mut acc = 0.0;
            for s in 0..steps {
                walk.advance(sys, s, &mut x, 1);
                acc += reorthonormalize(&mut x, 1, s)?[0];
            }
            if x.column(0).iter().any(|v| !v.is_finite()) {
                return Err(diverged(steps));
            }
            Ok(2.0 * acc)
        })
        .collect();
    let logs: Vec<f64> = logs.into_iter().collect::<Result<_>>()?;
    let top = logs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logs.iter().map(|l| (l - top).exp()).collect();
    let (mw, sd) = mean_sd(&w);
    Ok(Estimate {
        mean: (top + mw.ln()) / t,
        stderr: Some(sd / ((paths as f64).sqrt() * mw * t)),
        samples: paths,
    })
}

/// Geometric Brownian motion `dh = lambda h dt + s h dB` under Euler-Maruyama with step
/// `d`: the expansion of its a.s. exponent per unit time,
/// `E log|1 + d lambda + s sqrt(d) xi| / d = c0 + c1 d + c2 d^2 + O(d^3)`, returned as
/// `[c0, c1, c2]` with
///
/// ```text
/// c0 = lambda - s^2/2                                   (the SDE's exponent)
/// c1 = -lambda^2/2 + lambda s^2 - 3 s^4/4
/// c2 = lambda^3/3 - 3 lambda^2 s^2/2 + 3 lambda s^4 - 5 s^6/2
/// ```
/// from `E log(1 + x) = sum_m (-1)^{m+1} E x^m / m` with `x = d lambda + s sqrt(d) xi` and
/// the Gaussian moments (an asymptotic expansion in `d`).
///
/// ```
/// let c = nrnn::dynamics::lyapunov::gbm_em_exponent_terms(1.0, 0.0);
/// // deterministic: log(1 + d)/d = 1 - d/2 + d^2/3 - ...
/// assert_eq!(c, [1.0, -0.5, 1.0 / 3.0]);
/// ```
pub fn gbm_em_exponent_terms(lambda: f64, s: f64) -> [f64; 3] {
    let (l, s2) = (lambda, s * s);
    [
        l - s2 / 2.0,
        -l * l / 2.0 + l * s2 - 0.75 * s2 * s2,
        l * l * l / 3.0 - 1.5 * l * l * s2 + 3.0 * l * s2 * s2 - 2.5 * s2 * s2 * s2,
    ]
}

/// Mean-square exponent per unit time of geometric Brownian motion under Euler-Maruyama,
/// exactly: `log((1 + d lambda)^2 + s^2 d) / d` (the SDE's value `2 lambda + s^2` plus
/// `d (lambda^2 - (2 lambda + s^2)^2 / 2) + O(d^2)`).
///
/// ```
/// let v = nrnn::dynamics::lyapunov::gbm_em_mean_square_exponent(-1.0, 0.5, 1e-6);
/// assert!((v - (-2.0 + 0.25)).abs() < 1e-5);
/// ```
pub fn gbm_em_mean_square_exponent(lambda: f64, s: f64, d: f64) -> f64 {
    ((1.0 + d * lambda).powi(2) + s * s * d).ln() / d
}

//! Classification margins (docs/theory.md section 5): score margins, a Jacobian lower bound on
//! the input margin, and an attack's upper estimate.
//!
//! For one input sequence `x` (all `K` steps, `K p` numbers, step-major) with label `y` and
//! logits `o(x)` (noise off):
//!
//! ```text
//! score margin      m(x) = o_y - max_{j != y} o_j            (> 0 iff the prediction is right)
//! input Jacobian    J(x) = d o / d x,  c x (K p); block of step k: V Phi_{K,k+1} diag(d) diag(a'(z_k)) U
//! lower bound       m(x) / (sqrt 2 ||J(x)||_2)                (Sokolic et al. 2017; exact for
//!                                                             a model linear in x, a first-order
//!                                                             estimate otherwise)
//! certified bound   m(x) / (sqrt 2 L),  L = ||V|| ||U|| L_a max(d) (sum_{j<K} rho^{2j})^{1/2},
//!                   rho = ||I + diag(d) A||_2 + max(d) L_a ||W||_2   (a global Lipschitz
//!                                                             constant of x -> o: a true lower
//!                                                             bound on every flipping radius)
//! attack radius     ||delta|| of the smallest flipping perturbation found: DeepFool steps
//!                   (Moosavi-Dezfooli et al. 2016) until the class changes (if they stall,
//!                   the direction is extended by doubling), then bisection along the
//!                   direction found.
//! ```
//!
//! Row `j` of `J` is the gradient of `o_j` in the inputs: one backward pass with
//! `dlogits = e_j` and `want_dx`; the `c` rows are computed as one batch of `c` copies of
//! the example with `dlogits = I_c`. Adding a constant to every logit changes none of these
//! quantities. Norms are Euclidean over the whole sequence. Perturbations are not clipped
//! to the input range.

use crate::data::{Batch, Dataset, Target, Task};
use crate::error::{Error, Result};
use crate::linalg::spectral_norm;
use crate::model::network::{Network, Recurrent};
use crate::model::{backward, forward, Model, NoiseSource};
use nalgebra::DMatrix;
use rayon::prelude::*;

/// `o_y - max_{j != y} o_j` (for a single class, `+inf`: nothing can flip).
///
/// ```
/// assert_eq!(nrnn::margin::score_margin(&[1.0, 3.0, 2.0], 1), 1.0);
/// assert_eq!(nrnn::margin::score_margin(&[1.0, 3.0, 2.0], 0), -2.0);
/// ```
pub fn score_margin(o: &[f64], y: usize) -> f64 {
    let other = o
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != y)
        .fold(f64::NEG_INFINITY, |m, (_, &v)| m.max(v));
    o[y] - other
}

/// Index of the largest logit (the first one on ties).
fn argmax(o: &[f64]) -> usize {
    let mut best = 0;
    for (j, &v) in o.iter().enumerate() {
        if v > o[best] {
            best = j;
        }
    }
    best
}

/// Doublings of the DeepFool direction tried when DeepFool stalls (up to `2^20` times its
/// length) before the attack is declared failed.
pub const EXTENSION_DOUBLINGS: usize = 20;

/// Settings of the DeepFool-then-bisection attack.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AttackOptions {
    /// Largest number of DeepFool steps, in `[1, 10000]`.
    pub max_steps: usize,
    /// Overshoot `eta`: the iterate is `x + (1 + eta) r_total`; in `[0, 1]`.
    pub overshoot: f64,
    /// Bisection stops when `hi - lo <= tol * hi`; in `(0, 1)`.
    pub bisection_tol: f64,
}

impl Default for AttackOptions {
    fn default() -> Self {
        AttackOptions {
            max_steps: 50,
            overshoot: 0.02,
            bisection_tol: 1e-6,
        }
    }
}

impl AttackOptions {
    /// Check every field; the error names it and the allowed range.
    ///
    /// ```
    /// let mut o = nrnn::margin::AttackOptions::default();
    /// assert!(o.validate().is_ok());
    /// o.overshoot = -1.0;
    /// assert!(o.validate().unwrap_err().to_string().contains("overshoot"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if !(1..=10_000).contains(&self.max_steps) {
            return Err(Error::param(
                "attack.max_steps",
                self.max_steps,
                "an integer in [1, 10000]",
            ));
        }
        if !(self.overshoot.is_finite() && (0.0..=1.0).contains(&self.overshoot)) {
            return Err(Error::param(
                "attack.overshoot",
                self.overshoot,
                "a number in [0, 1]",
            ));
        }
        if !(self.bisection_tol > 0.0 && self.bisection_tol < 1.0) {
            return Err(Error::param(
                "attack.bisection_tol",
                self.bisection_tol,
                "a number in (0, 1)",
            ));
        }
        Ok(())
    }
}

/// Margins of one example.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ExampleMargin {
    /// The label `y`.
    pub label: usize,
    /// The predicted class (largest logit).
    pub predicted: usize,
    /// `o_y - max_{j != y} o_j`.
    pub score_margin: f64,
    /// `||J(x)||_2`.
    pub jacobian_norm: f64,
    /// `score_margin / (sqrt 2 ||J(x)||_2)` (`+inf` for a zero Jacobian and a positive margin):
    /// a lower bound on the flipping radius for a model linear in its input, a first-order
    /// estimate of it otherwise (it can exceed the attack radius; see `tests/margins.rs`).
    pub lower_bound: f64,
    /// `score_margin / (sqrt 2 L)` with the global Lipschitz constant `L` (module docs);
    /// `None` for a baseline cell, which has no such constant here.
    pub certified_bound: Option<f64>,
    /// Norm of the flipping perturbation found (0 for a misclassified example), or `None`
    /// when the attack did not flip the class within its steps.
    pub attack_radius: Option<f64>,
    /// Norm of the flipping point the bisection starts from: the DeepFool iterate, or, when
    /// DeepFool stalls, the first flipping point of the doubling extension along its direction.
    pub deepfool_radius: Option<f64>,
    /// DeepFool steps taken (one Jacobian each).
    pub attack_steps: usize,
    /// The class at `x + perturbation`, when the attack succeeded.
    pub flipped_to: Option<usize>,
    /// The flipping perturbation (`K p` numbers, step-major; empty if none; not serialized).
    #[serde(skip)]
    pub perturbation: Vec<f64>,
}

/// A model prepared for per-example margin computations (checked once).
struct Net<'a> {
    model: &'a Network,
    steps: usize,
}

impl Net<'_> {
    fn logits(&self, x: &[f64]) -> Vec<f64> {
        let model = match self.model {
            Network::Lipschitz(m) => m,
            Network::Baseline(b) => {
                let batch = Batch {
                    x: DMatrix::from_column_slice(b.input, self.steps, x),
                    steps: self.steps,
                    size: 1,
                    target: Target::Classes(vec![0]),
                };
                return b.logits(&batch, NoiseSource::Off).iter().copied().collect();
            }
        };
        let cfg = &model.config;
        let xm = DMatrix::from_column_slice(cfg.input, self.steps, x);
        let t = forward(cfg, &model.params, &xm, self.steps, 1, None, None, false);
        t.logits.iter().copied().collect()
    }

    /// Logits and the input Jacobian `c x (K p)` (column `k p + i`: step `k`, channel `i`).
    fn jacobian(&self, x: &[f64]) -> (Vec<f64>, DMatrix<f64>) {
        let model = match self.model {
            Network::Lipschitz(m) => m,
            Network::Baseline(b) => return b.input_jacobian(x, self.steps),
        };
        let cfg = &model.config;
        let (p, c, k) = (cfg.input, cfg.classes, self.steps);
        let mut xr = DMatrix::zeros(p, k * c);
        for s in 0..k {
            for j in 0..c {
                xr.column_mut(s * c + j)
                    .copy_from_slice(&x[s * p..(s + 1) * p]);
            }
        }
        let tape = forward(cfg, &model.params, &xr, k, c, None, None, true);
        let back = backward(
            cfg,
            &model.params,
            &tape,
            &xr,
            None,
            &DMatrix::identity(c, c),
            true,
        );
        let dx = back.dx.expect("backward was asked for dx");
        let mut jac = DMatrix::zeros(c, k * p);
        for s in 0..k {
            for j in 0..c {
                for i in 0..p {
                    jac[(j, s * p + i)] = dx[(i, s * c + j)];
                }
            }
        }
        (tape.logits.column(0).iter().copied().collect(), jac)
    }
}

/// The global Lipschitz constant `L` of `x -> o(x)` for sequences of `steps` steps (module
/// docs): `||V|| ||U|| L_a max(d) (sum_{j<K} rho^{2j})^{1/2}`.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 1, 3), 0.1, 1).unwrap();
/// assert!(nrnn::margin::lipschitz_constant(&m, 10).unwrap() > 0.0);
/// ```
pub fn lipschitz_constant(model: &Model, steps: usize) -> Result<f64> {
    let cfg = &model.config;
    let p = &model.params;
    let n = cfg.hidden;
    let dmax = p.dt.iter().fold(0.0f64, |m, &d| m.max(d));
    let mut ida = DMatrix::identity(n, n);
    if cfg.a_term {
        let a = p.a_matrix(cfg);
        for i in 0..n {
            for j in 0..n {
                ida[(i, j)] += p.dt[i] * a[(i, j)];
            }
        }
    }
    let la = cfg.activation.lipschitz();
    let norm = |m: &DMatrix<f64>, what: &str| {
        spectral_norm(m).map_err(|e| {
            Error::Other(format!(
                "the Lipschitz constant needs ||{what}||_2: {e} (the model's weights are too large or not finite)"
            ))
        })
    };
    let rho = norm(&ida, "I + dt A")? + dmax * la * norm(&p.w_matrix(cfg), "W")?;
    let mut sum = 0.0;
    let mut pw = 1.0;
    for _ in 0..steps {
        sum += pw;
        pw *= rho * rho;
    }
    Ok(norm(&p.v, "V")? * norm(&p.u, "U")? * la * dmax * sum.sqrt())
}

fn check_model_data<R: Recurrent>(model: &R, data: &Dataset) -> Result<()> {
    model.validate()?;
    data.validate()?;
    if data.task != Task::Classification {
        return Err(Error::param(
            "data.task",
            "regression",
            "a classification data set (margins need class labels)",
        ));
    }
    if data.input_dim != model.input() {
        return Err(Error::param(
            "data.input_dim",
            data.input_dim,
            &format!("{} (the model's input dimension)", model.input()),
        ));
    }
    if model.classes() < 2 {
        return Err(Error::param(
            "model.classes",
            model.classes(),
            "at least 2 for margins",
        ));
    }
    crate::data::check_labels(&data.labels, model.classes(), "the model's classes")?;
    Ok(())
}

/// The input Jacobian `d o / d x` of one sequence (`x`: `steps * input` numbers,
/// step-major), `classes x (steps * input)`, and the logits; any cell.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 2, 4), 0.1, 1).unwrap();
/// let (o, j) = nrnn::margin::input_jacobian(&m, &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6], 3).unwrap();
/// assert_eq!((o.len(), j.shape()), (4, (4, 6)));
/// ```
pub fn input_jacobian<R: Recurrent>(
    model: &R,
    x: &[f64],
    steps: usize,
) -> Result<(Vec<f64>, DMatrix<f64>)> {
    model.validate()?;
    check_sequence(model, x, steps)?;
    let model = model.to_network();
    Ok(Net {
        model: &model,
        steps,
    }
    .jacobian(x))
}

/// The global Lipschitz constant of a Lipschitz RNN, `None` for a baseline.
fn certifying_constant(model: &Network, steps: usize) -> Result<Option<f64>> {
    match model {
        Network::Lipschitz(m) => lipschitz_constant(m, steps).map(Some),
        Network::Baseline(_) => Ok(None),
    }
}

fn check_sequence<R: Recurrent>(model: &R, x: &[f64], steps: usize) -> Result<()> {
    if steps == 0 {
        return Err(Error::param("steps", 0, "at least 1"));
    }
    let want = steps * model.input();
    if x.len() != want {
        return Err(Error::shape("x", (x.len(), 1), (want, 1)));
    }
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "x",
            format!("non-finite value at index {i}"),
            "finite numbers",
        ));
    }
    Ok(())
}

/// DeepFool from `x` of class `y` with logits `o` and input Jacobian `jac`: linearize
/// `o_j - o_y` around the iterate and step to the nearest linearized boundary, at most
/// `opts.max_steps` times. Returns the accumulated step `r`, whether `x + (1 + overshoot) r`
/// changes the class, and the steps taken.
fn deepfool(
    net: &Net,
    x: &[f64],
    y: usize,
    o: Vec<f64>,
    jac: DMatrix<f64>,
    opts: &AttackOptions,
) -> (Vec<f64>, bool, usize) {
    let c = o.len();
    let mut r_tot = vec![0.0; x.len()];
    let mut xi = x.to_vec();
    let (mut oi, mut ji) = (o, jac);
    let mut flipped = false;
    let mut steps = 0;
    for step in 0..opts.max_steps {
        steps = step + 1;
        let mut best: Option<(f64, Vec<f64>, f64)> = None;
        for j in (0..c).filter(|&j| j != y) {
            let w: Vec<f64> = (0..x.len()).map(|t| ji[(j, t)] - ji[(y, t)]).collect();
            let wn = w.iter().map(|v| v * v).sum::<f64>().sqrt();
            if wn == 0.0 || !wn.is_finite() {
                continue;
            }
            let f = (oi[j] - oi[y]).abs();
            let dist = f / wn;
            if best.as_ref().is_none_or(|b| dist < b.0) {
                best = Some((dist, w, f / (wn * wn)));
            }
        }
        let Some((_, w, coef)) = best else { break };
        // A tiny extra push so that a zero-distance step still moves.
        let coef = coef + 1e-12;
        for (r, wv) in r_tot.iter_mut().zip(&w) {
            *r += coef * wv;
        }
        for t in 0..x.len() {
            xi[t] = x[t] + (1.0 + opts.overshoot) * r_tot[t];
        }
        let (o2, j2) = net.jacobian(&xi);
        if argmax(&o2) != y {
            flipped = true;
            break;
        }
        oi = o2;
        ji = j2;
    }
    (r_tot, flipped, steps)
}

/// All margins of one example (see the module docs). `lipschitz` is
/// [`lipschitz_constant`] for `steps` (pass it when calling for many examples; `None`
/// for a baseline).
fn margin_of(
    net: &Net,
    x: &[f64],
    y: usize,
    lipschitz: Option<f64>,
    opts: &AttackOptions,
) -> Result<ExampleMargin> {
    let (o, jac) = net.jacobian(x);
    if o.iter().any(|v| !v.is_finite()) {
        return Err(Error::Other(
            "the logits are not finite (NaN or infinite): the recurrence probably diverges; try a smaller dt"
                .into(),
        ));
    }
    let m = score_margin(&o, y);
    let predicted = argmax(&o);
    let jn = spectral_norm(&jac).map_err(|e| {
        Error::Other(format!(
            "the input Jacobian: {e} (the recurrence probably diverges; try a smaller dt)"
        ))
    })?;
    let ratio = |m: f64, den: f64| {
        if den > 0.0 {
            m / den
        } else if m > 0.0 {
            f64::INFINITY
        } else {
            m.min(0.0)
        }
    };
    let lower_bound = ratio(m, std::f64::consts::SQRT_2 * jn);
    let certified_bound = lipschitz.map(|l| ratio(m, std::f64::consts::SQRT_2 * l));
    let mut out = ExampleMargin {
        label: y,
        predicted,
        score_margin: m,
        jacobian_norm: jn,
        lower_bound,
        certified_bound,
        attack_radius: None,
        deepfool_radius: None,
        attack_steps: 0,
        flipped_to: None,
        perturbation: Vec::new(),
    };
    if predicted != y {
        out.attack_radius = Some(0.0);
        out.deepfool_radius = Some(0.0);
        out.flipped_to = Some(predicted);
        out.perturbation = vec![0.0; x.len()];
        return Ok(out);
    }
    let (r_tot, mut flipped, steps) = deepfool(net, x, y, o, jac, opts);
    out.attack_steps = steps;
    let mut rn = (1.0 + opts.overshoot) * r_tot.iter().map(|v| v * v).sum::<f64>().sqrt();
    if rn == 0.0 || !rn.is_finite() {
        return Ok(out);
    }
    let dir: Vec<f64> = r_tot
        .iter()
        .map(|v| v * (1.0 + opts.overshoot) / rn)
        .collect();
    let at = |t: f64| -> Vec<f64> { x.iter().zip(&dir).map(|(a, d)| a + t * d).collect() };
    let mut lo = 0.0;
    if !flipped {
        // DeepFool stalled: extend along its direction, doubling the length.
        for _ in 0..EXTENSION_DOUBLINGS {
            lo = rn;
            rn *= 2.0;
            if argmax(&net.logits(&at(rn))) != y {
                flipped = true;
                break;
            }
        }
        if !flipped {
            return Ok(out);
        }
    }
    out.deepfool_radius = Some(rn);
    let mut hi = rn;
    for _ in 0..200 {
        if hi - lo <= opts.bisection_tol * hi {
            break;
        }
        let mid = 0.5 * (lo + hi);
        if argmax(&net.logits(&at(mid))) != y {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let pert: Vec<f64> = dir.iter().map(|d| d * hi).collect();
    let xf = at(hi);
    out.flipped_to = Some(argmax(&net.logits(&xf)));
    out.attack_radius = Some(pert.iter().map(|v| v * v).sum::<f64>().sqrt());
    out.perturbation = pert;
    Ok(out)
}

/// All margins of one example: `x` is the sequence (`steps * input` numbers, step-major),
/// `label` its class.
///
/// ```
/// use nrnn::margin::{example_margin, AttackOptions};
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 1, 3), 0.5, 2).unwrap();
/// let x = [0.2, -0.4, 0.9, 0.1];
/// let e = example_margin(&m, &x, 4, 1, &AttackOptions::default()).unwrap();
/// assert_eq!(e.score_margin > 0.0, e.predicted == 1);
/// if let Some(r) = e.attack_radius { assert!(e.certified_bound.unwrap() <= r); }
/// ```
pub fn example_margin<R: Recurrent>(
    model: &R,
    x: &[f64],
    steps: usize,
    label: usize,
    opts: &AttackOptions,
) -> Result<ExampleMargin> {
    model.validate()?;
    opts.validate()?;
    check_sequence(model, x, steps)?;
    if label >= model.classes() || model.classes() < 2 {
        return Err(Error::param(
            "label",
            label,
            &format!("a class in 0..{} (and at least 2 classes)", model.classes()),
        ));
    }
    let model = model.to_network();
    let net = Net {
        model: &model,
        steps,
    };
    margin_of(&net, x, label, certifying_constant(&model, steps)?, opts)
}

/// Mean, standard error and quantiles of a sample (linear interpolation between order
/// statistics); all `NaN` and `count` 0 for an empty sample.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Number of values summarized.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Standard error of the mean (0 for one value).
    pub stderr: f64,
    /// Smallest value.
    pub min: f64,
    /// 10% quantile.
    pub q10: f64,
    /// 25% quantile.
    pub q25: f64,
    /// Median.
    pub median: f64,
    /// 75% quantile.
    pub q75: f64,
    /// 90% quantile.
    pub q90: f64,
    /// Largest value.
    pub max: f64,
}

impl Summary {
    /// Summarize the finite values of `v` (non-finite ones are skipped).
    ///
    /// ```
    /// let s = nrnn::margin::Summary::of(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    /// assert_eq!((s.count, s.mean, s.median, s.q25), (5, 3.0, 3.0, 2.0));
    /// ```
    pub fn of(v: &[f64]) -> Summary {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        s.sort_by(|a, b| a.total_cmp(b));
        let n = s.len();
        if n == 0 {
            let nan = f64::NAN;
            return Summary {
                count: 0,
                mean: nan,
                stderr: nan,
                min: nan,
                q10: nan,
                q25: nan,
                median: nan,
                q75: nan,
                q90: nan,
                max: nan,
            };
        }
        let q = |p: f64| {
            let h = p * (n - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            s[lo] + (h - lo as f64) * (s[hi] - s[lo])
        };
        let (mean, stderr) = crate::hessian::mean_stderr(&s);
        Summary {
            count: n,
            mean,
            stderr,
            min: s[0],
            q10: q(0.1),
            q25: q(0.25),
            median: q(0.5),
            q75: q(0.75),
            q90: q(0.9),
            max: s[n - 1],
        }
    }
}

/// Margins of every example of a data set, with summaries.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MarginReport {
    /// Per example, in data-set order.
    pub examples: Vec<ExampleMargin>,
    /// Fraction of examples with a positive score margin (correctly classified).
    pub accuracy: f64,
    /// Score margins of all examples.
    pub score_margin: Summary,
    /// Jacobian lower bounds of the correctly classified examples.
    pub lower_bound: Summary,
    /// Certified (global Lipschitz) bounds of the correctly classified examples (empty for
    /// a baseline cell).
    pub certified_bound: Summary,
    /// Attack radii of the correctly classified examples where the attack succeeded.
    pub attack_radius: Summary,
    /// Correctly classified examples whose class the attack did not flip.
    pub attack_failures: usize,
    /// Examples whose Jacobian lower bound exceeds the attack radius: the pointwise bound is
    /// a first-order estimate, not a bound, where the model is nonlinear over the radius.
    pub bound_violations: usize,
    /// The global Lipschitz constant used for the certified bounds (`None` for a baseline
    /// cell: the certified bound needs the Lipschitz RNN's structure).
    pub lipschitz: Option<f64>,
}

/// Margins of every example of a classification data set (noise off), in parallel over
/// examples (results in data-set order, independent of the thread count); any cell (the
/// certified bound only for the Lipschitz RNN).
///
/// ```
/// use nrnn::margin::{margins, AttackOptions};
/// use nrnn::model::{Model, ModelConfig};
/// let d = nrnn::data::sines(6, 8, 2, 1).unwrap();
/// let m = Model::init(ModelConfig::new(4, 1, 2), 0.3, 3).unwrap();
/// let r = margins(&m, &d, &AttackOptions::default()).unwrap();
/// assert_eq!(r.examples.len(), 6);
/// assert_eq!(r.score_margin.count, 6);
/// ```
pub fn margins<R: Recurrent>(
    model: &R,
    data: &Dataset,
    opts: &AttackOptions,
) -> Result<MarginReport> {
    check_model_data(model, data)?;
    opts.validate()?;
    let steps = data.steps;
    let model = model.to_network();
    let net = Net {
        model: &model,
        steps,
    };
    let lip = certifying_constant(&model, steps)?;
    let examples: Vec<ExampleMargin> = (0..data.len())
        .into_par_iter()
        .map(|e| {
            margin_of(&net, data.sequence(e), data.labels[e], lip, opts)
                .map_err(|err| Error::Other(format!("example {e}: {err}")))
        })
        .collect::<Result<_>>()?;
    let right: Vec<&ExampleMargin> = examples.iter().filter(|e| e.score_margin > 0.0).collect();
    let sm: Vec<f64> = examples.iter().map(|e| e.score_margin).collect();
    let lb: Vec<f64> = right.iter().map(|e| e.lower_bound).collect();
    let cb: Vec<f64> = right.iter().filter_map(|e| e.certified_bound).collect();
    let ar: Vec<f64> = right.iter().filter_map(|e| e.attack_radius).collect();
    let failures = right.iter().filter(|e| e.attack_radius.is_none()).count();
    let violations = right
        .iter()
        .filter(|e| e.attack_radius.is_some_and(|r| e.lower_bound > r))
        .count();
    let accuracy = if examples.is_empty() {
        f64::NAN
    } else {
        right.len() as f64 / examples.len() as f64
    };
    Ok(MarginReport {
        accuracy,
        score_margin: Summary::of(&sm),
        lower_bound: Summary::of(&lb),
        certified_bound: Summary::of(&cb),
        attack_radius: Summary::of(&ar),
        attack_failures: failures,
        bound_violations: violations,
        lipschitz: lip,
        examples,
    })
}

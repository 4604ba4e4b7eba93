//! Input perturbations at evaluation time and adversarial attacks (docs/theory.md section 6,
//! claim 7; the paper's robustness tables).
//!
//! Every perturbation acts on the inputs `x` of a trained model, whose noise is off:
//!
//! | perturbation | formula | strength |
//! |---|---|---|
//! | white noise | `x' = x + s xi`, `xi ~ N(0, 1)` per input | `s >= 0` |
//! | multiplicative white noise | `x' = x (1 + s xi)`, `xi ~ N(0, 1)` per input | `s >= 0` |
//! | salt and pepper | with probability `alpha`, `x' = lo` or `x' = hi` (1/2 each), else `x' = x` | `alpha` in `[0, 1]` |
//! | FGSM | `x' = clip(x + b sign(grad_x L), lo, hi)` | L-infinity budget `b >= 0` |
//! | PGD | iterated FGSM projected on `{|x' - x|_inf <= b} ∩ [lo, hi]` | budget `b >= 0` |
//!
//! "Input" means one channel of one time step of one example. `[lo, hi]` is the valid
//! input range ([`InputRange`]), the minimum and maximum over the data set's inputs.
//! Random perturbations are drawn per example from `crate::rng::stream(seed, [tag, e])`
//! (`e` the example's index in the data set), so a perturbed example does not depend on
//! batching or thread count, and the same draw `xi` (or uniform `u`) is used at every
//! strength: curves against strength use common random numbers, and the salt-and-pepper
//! sets are nested (`u < alpha`). White and multiplicative noise are not clipped (the
//! formulas of the paper); the attacks are.
//!
//! The attacks use the exact input gradient of the mean loss from backpropagation
//! ([`Recurrent::loss_grad`] with `want_dx`); its sign is the sign of the per-example
//! gradient because the mean only scales each example's gradient by `1/B`.
//!
//! ```
//! use nrnn::perturb::{evaluate_under, InputRange, Perturbation};
//! use nrnn::model::{Model, ModelConfig};
//! let data = nrnn::data::digits().head(40);
//! let model = Model::init(ModelConfig::new(8, 1, 10), 0.1, 1).unwrap();
//! let range = InputRange::of(&data).unwrap();
//! let clean = evaluate_under(&model, &data, &Perturbation::Clean, range, 0).unwrap();
//! let noisy = evaluate_under(&model, &data, &Perturbation::WhiteNoise { s: 0.3 }, range, 0).unwrap();
//! assert!(clean.accuracy >= 0.0 && noisy.accuracy <= 1.0);
//! ```

use crate::data::{Batch, Dataset, Target, Task};
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::model::{NoiseSource, Recurrent};
use crate::rng::{fill_normal, fill_uniform, stream};
use nalgebra::DMatrix;

/// Stream tag of the white-noise draws.
const TAG_WHITE: u64 = 0x5045_5254_0000_0001;
/// Stream tag of the multiplicative-noise draws.
const TAG_MULT: u64 = 0x5045_5254_0000_0002;
/// Stream tag of the salt-and-pepper draws.
const TAG_SALT: u64 = 0x5045_5254_0000_0003;

/// Default number of PGD iterations (the first one is the FGSM step).
pub const PGD_STEPS: usize = 10;
/// Default PGD step size as a fraction of the budget: `2.5 / PGD_STEPS` (Madry et al.
/// 2018 use `2.5 b / steps`, enough to cross the ball and come back).
pub const PGD_STEP_FRACTION: f64 = 0.25;

/// The valid input range `[lo, hi]`: attacks are clipped to it and salt and pepper
/// sets inputs to its ends.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputRange {
    /// Smallest valid input.
    pub lo: f64,
    /// Largest valid input.
    pub hi: f64,
}

impl InputRange {
    /// A checked range: `lo <= hi`, both finite.
    ///
    /// ```
    /// assert!(nrnn::perturb::InputRange::new(0.0, 1.0).is_ok());
    /// assert!(nrnn::perturb::InputRange::new(1.0, 0.0).is_err());
    /// ```
    pub fn new(lo: f64, hi: f64) -> Result<InputRange> {
        if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
            return Err(Error::param(
                "input range",
                format!("[{lo}, {hi}]"),
                "finite ends with lo <= hi",
            ));
        }
        Ok(InputRange { lo, hi })
    }

    /// `[min x, max x]` over every input of the data set (an error for an empty or
    /// non-finite data set).
    ///
    /// ```
    /// let r = nrnn::perturb::InputRange::of(&nrnn::data::digits()).unwrap();
    /// assert_eq!((r.lo, r.hi), (0.0, 1.0));
    /// ```
    pub fn of(data: &Dataset) -> Result<InputRange> {
        if data.x.is_empty() {
            return Err(Error::Data {
                name: data.name.clone(),
                message: "no inputs to take a range of".into(),
            });
        }
        let lo = data.x.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = data.x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        InputRange::new(lo, hi)
    }

    /// `min(max(v, lo), hi)`.
    ///
    /// ```
    /// let r = nrnn::perturb::InputRange::new(0.0, 1.0).unwrap();
    /// assert_eq!((r.clip(-0.5), r.clip(0.5), r.clip(2.0)), (0.0, 0.5, 1.0));
    /// ```
    #[inline]
    pub fn clip(&self, v: f64) -> f64 {
        v.max(self.lo).min(self.hi)
    }
}

/// One perturbation at one strength.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Perturbation {
    /// No perturbation.
    Clean,
    /// `x' = x + s xi`, `xi ~ N(0, 1)`.
    WhiteNoise {
        /// Standard deviation `s >= 0`.
        s: f64,
    },
    /// `x' = x (1 + s xi)`, `xi ~ N(0, 1)`.
    MultiplicativeNoise {
        /// Relative standard deviation `s >= 0`.
        s: f64,
    },
    /// Each input set to `lo` or `hi` (1/2 each) with probability `alpha`.
    SaltAndPepper {
        /// Probability `alpha` in `[0, 1]`.
        alpha: f64,
    },
    /// Fast gradient sign method: `x' = clip(x + budget sign(grad_x L), lo, hi)`.
    Fgsm {
        /// L-infinity budget `>= 0`.
        budget: f64,
    },
    /// Projected gradient descent on the loss (ascent), see [`pgd`].
    Pgd {
        /// L-infinity budget `>= 0`.
        budget: f64,
        /// Iterations `>= 1` (the first is the FGSM step).
        steps: usize,
        /// Step of iterations 2.. (`> 0`).
        step_size: f64,
    },
}

impl Perturbation {
    /// PGD with the default iterations [`PGD_STEPS`] and step `PGD_STEP_FRACTION * budget`.
    ///
    /// ```
    /// let p = nrnn::perturb::Perturbation::pgd(0.1);
    /// assert_eq!(p.strength(), 0.1);
    /// ```
    pub fn pgd(budget: f64) -> Perturbation {
        Perturbation::Pgd {
            budget,
            steps: PGD_STEPS,
            step_size: PGD_STEP_FRACTION * budget,
        }
    }

    /// Short name of the kind: `clean`, `white`, `multiplicative`, `salt-pepper`, `fgsm`, `pgd`.
    ///
    /// ```
    /// use nrnn::perturb::Perturbation;
    /// assert_eq!(Perturbation::SaltAndPepper { alpha: 0.1 }.kind(), "salt-pepper");
    /// assert!(Perturbation::Fgsm { budget: 0.1 }.is_attack());
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            Perturbation::Clean => "clean",
            Perturbation::WhiteNoise { .. } => "white",
            Perturbation::MultiplicativeNoise { .. } => "multiplicative",
            Perturbation::SaltAndPepper { .. } => "salt-pepper",
            Perturbation::Fgsm { .. } => "fgsm",
            Perturbation::Pgd { .. } => "pgd",
        }
    }

    /// The strength: `s`, `alpha` or the budget (0 for [`Perturbation::Clean`]).
    pub fn strength(&self) -> f64 {
        match *self {
            Perturbation::Clean => 0.0,
            Perturbation::WhiteNoise { s } | Perturbation::MultiplicativeNoise { s } => s,
            Perturbation::SaltAndPepper { alpha } => alpha,
            Perturbation::Fgsm { budget } | Perturbation::Pgd { budget, .. } => budget,
        }
    }

    /// The same kind at another strength (PGD keeps its iterations and its step as the
    /// same fraction of the budget).
    ///
    /// ```
    /// use nrnn::perturb::Perturbation;
    /// assert_eq!(Perturbation::WhiteNoise { s: 0.1 }.with_strength(0.2), Perturbation::WhiteNoise { s: 0.2 });
    /// ```
    pub fn with_strength(&self, v: f64) -> Perturbation {
        match *self {
            Perturbation::Clean => Perturbation::Clean,
            Perturbation::WhiteNoise { .. } => Perturbation::WhiteNoise { s: v },
            Perturbation::MultiplicativeNoise { .. } => Perturbation::MultiplicativeNoise { s: v },
            Perturbation::SaltAndPepper { .. } => Perturbation::SaltAndPepper { alpha: v },
            Perturbation::Fgsm { .. } => Perturbation::Fgsm { budget: v },
            Perturbation::Pgd {
                budget,
                steps,
                step_size,
            } => {
                let frac = if budget > 0.0 {
                    step_size / budget
                } else {
                    PGD_STEP_FRACTION
                };
                Perturbation::Pgd {
                    budget: v,
                    steps,
                    step_size: frac * v,
                }
            }
        }
    }

    /// Whether the perturbation needs the model (an attack).
    pub fn is_attack(&self) -> bool {
        matches!(self, Perturbation::Fgsm { .. } | Perturbation::Pgd { .. })
    }

    /// Check the strength; the error names the field and its range.
    ///
    /// ```
    /// use nrnn::perturb::Perturbation;
    /// assert!(Perturbation::SaltAndPepper { alpha: 1.5 }.validate().is_err());
    /// assert!(Perturbation::Fgsm { budget: 0.1 }.validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let nonneg = |name: &str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(Error::param(name, v, "a finite number >= 0"))
            }
        };
        match *self {
            Perturbation::Clean => Ok(()),
            Perturbation::WhiteNoise { s } | Perturbation::MultiplicativeNoise { s } => {
                nonneg("s", s)
            }
            Perturbation::SaltAndPepper { alpha } => {
                crate::error::check_range("alpha", alpha, 0.0, 1.0).map(|_| ())
            }
            Perturbation::Fgsm { budget } => nonneg("budget", budget),
            Perturbation::Pgd {
                budget,
                steps,
                step_size,
            } => {
                nonneg("budget", budget)?;
                if steps == 0 {
                    return Err(Error::param("steps", steps, "an integer >= 1"));
                }
                if !(step_size.is_finite() && step_size >= 0.0) {
                    return Err(Error::param("step_size", step_size, "a finite number >= 0"));
                }
                Ok(())
            }
        }
    }
}

/// Apply `op(x, draw)` to every input of every example, with the draws of example `e`
/// filled by `fill` from `stream(seed, [tag, e])`.
fn per_example(
    data: &Dataset,
    seed: u64,
    tag: u64,
    fill: impl Fn(&mut crate::rng::Stream, &mut [f64]) + Sync,
    op: impl Fn(f64, &[f64], usize) -> f64 + Sync,
    draws_per_input: usize,
) -> Dataset {
    use rayon::prelude::*;
    let len = data.steps * data.input_dim;
    let mut out = data.clone();
    if len == 0 {
        return out;
    }
    out.x.par_chunks_mut(len).enumerate().for_each(|(e, seq)| {
        let mut rng = stream(seed, &[tag, e as u64]);
        let mut buf = vec![0.0; len * draws_per_input];
        fill(&mut rng, &mut buf);
        for (i, v) in seq.iter_mut().enumerate() {
            *v = op(*v, &buf, i);
        }
    });
    out
}

/// White noise: every input becomes `x + s xi` with `xi ~ N(0, 1)` drawn from
/// `stream(seed, [tag, e])` for example `e` (the same `xi` for every `s`).
///
/// ```
/// let d = nrnn::data::digits().head(3);
/// let w = nrnn::perturb::white_noise(&d, 0.0, 1).unwrap();
/// assert_eq!(w.x, d.x);
/// assert!(nrnn::perturb::white_noise(&d, -1.0, 1).is_err());
/// ```
pub fn white_noise(data: &Dataset, s: f64, seed: u64) -> Result<Dataset> {
    Perturbation::WhiteNoise { s }.validate()?;
    Ok(per_example(
        data,
        seed,
        TAG_WHITE,
        fill_normal,
        |x, xi, i| x + s * xi[i],
        1,
    ))
}

/// Multiplicative white noise: every input becomes `x (1 + s xi)`, `xi ~ N(0, 1)` (same
/// streams as [`white_noise`] but another tag). Zero inputs stay zero.
///
/// ```
/// let d = nrnn::data::digits().head(3);
/// let m = nrnn::perturb::multiplicative_noise(&d, 0.5, 1).unwrap();
/// assert!(d.x.iter().zip(&m.x).all(|(a, b)| *a != 0.0 || *b == 0.0));
/// ```
pub fn multiplicative_noise(data: &Dataset, s: f64, seed: u64) -> Result<Dataset> {
    Perturbation::MultiplicativeNoise { s }.validate()?;
    Ok(per_example(
        data,
        seed,
        TAG_MULT,
        fill_normal,
        |x, xi, i| x * (1.0 + s * xi[i]),
        1,
    ))
}

/// Salt and pepper: each input is, independently, with probability `alpha` replaced by
/// `range.lo` or `range.hi` (probability 1/2 each), and left alone otherwise. Two uniforms
/// per input, `u` (hit when `u < alpha`, so the hit sets grow with `alpha`) and `v`
/// (`lo` when `v < 1/2`), from `stream(seed, [tag, e])`. The number of inputs hit is
/// Binomial(N, alpha) for N inputs.
///
/// ```
/// use nrnn::perturb::{salt_and_pepper, InputRange};
/// let d = nrnn::data::digits().head(5);
/// let r = InputRange::new(0.0, 1.0).unwrap();
/// let all = salt_and_pepper(&d, 1.0, r, 3).unwrap();
/// assert!(all.x.iter().all(|&v| v == 0.0 || v == 1.0));
/// assert_eq!(salt_and_pepper(&d, 0.0, r, 3).unwrap().x, d.x);
/// ```
pub fn salt_and_pepper(
    data: &Dataset,
    alpha: f64,
    range: InputRange,
    seed: u64,
) -> Result<Dataset> {
    Perturbation::SaltAndPepper { alpha }.validate()?;
    let range = InputRange::new(range.lo, range.hi)?;
    Ok(per_example(
        data,
        seed,
        TAG_SALT,
        fill_uniform,
        |x, u, i| {
            if u[2 * i] < alpha {
                if u[2 * i + 1] < 0.5 {
                    range.lo
                } else {
                    range.hi
                }
            } else {
                x
            }
        },
        2,
    ))
}

/// An adversarial batch and the per-example loss at it.
#[derive(Clone, Debug)]
pub struct Attack {
    /// The perturbed inputs (same layout and targets as the clean batch).
    pub batch: Batch,
    /// Per-example loss of the model at the perturbed inputs (noise off).
    pub losses: Vec<f64>,
}

/// Check that a batch fits the model and the loss, and the budget is valid.
fn check_attack<M: Recurrent>(
    model: &M,
    batch: &Batch,
    loss: Loss,
    budget: f64,
    range: InputRange,
) -> Result<()> {
    Perturbation::Fgsm { budget }.validate()?;
    InputRange::new(range.lo, range.hi)?;
    let p = model.input();
    if batch.x.shape() != (p, batch.steps * batch.size) {
        return Err(Error::shape(
            "batch.x",
            batch.x.shape(),
            (p, batch.steps * batch.size),
        ));
    }
    if batch.size == 0 {
        return Err(Error::param("batch.size", 0, "at least one example"));
    }
    if loss == Loss::CrossEntropy && matches!(batch.target, Target::Values(_)) {
        return Err(Error::param(
            "loss",
            "cross-entropy",
            "squared error for a batch of real-valued targets",
        ));
    }
    if let Target::Classes(y) = &batch.target {
        if let Some(&l) = y.iter().find(|&&l| l >= model.classes()) {
            return Err(Error::param(
                "label",
                l,
                &format!("a class in 0..{}", model.classes()),
            ));
        }
    }
    Ok(())
}

/// Per-example losses of a batch (noise off).
fn losses_at<M: Recurrent>(model: &M, batch: &Batch, loss: Loss) -> Vec<f64> {
    let o = model.logits(batch, NoiseSource::Off);
    loss.value_grad(&o, &batch.target, 1.0).0
}

/// The sign of the input gradient of the mean loss at `batch` (0 where it is 0), and the
/// per-example losses there.
fn grad_sign<M: Recurrent>(
    model: &M,
    batch: &Batch,
    loss: Loss,
) -> Result<(DMatrix<f64>, Vec<f64>)> {
    let lg = model.loss_grad(batch, loss, NoiseSource::Off, true);
    let dx = lg
        .dx
        .ok_or_else(|| Error::Other("loss_grad returned no input gradient".into()))?;
    if dx.iter().any(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "input gradient of the attack".into(),
        });
    }
    let losses = loss.value_grad(&lg.logits, &batch.target, 1.0).0;
    Ok((
        dx.map(|g| {
            if g > 0.0 {
                1.0
            } else if g < 0.0 {
                -1.0
            } else {
                0.0
            }
        }),
        losses,
    ))
}

/// Fast gradient sign method (Goodfellow et al. 2015) under an L-infinity budget `b`:
///
/// ```text
/// x' = clip(x + b sign(grad_x L(x)), lo, hi)
/// ```
///
/// with `L` the loss of the model with noise off and `sign(0) = 0`. Every input moves by
/// exactly `b` unless the clip to `[lo, hi]` stops it (or its gradient is exactly 0).
///
/// ```
/// use nrnn::perturb::{fgsm, InputRange};
/// use nrnn::model::{Model, ModelConfig};
/// let d = nrnn::data::digits().head(8);
/// let m = Model::init(ModelConfig::new(6, 1, 10), 0.1, 2).unwrap();
/// let clean = d.all();
/// let a = fgsm(&m, &clean, nrnn::loss::Loss::CrossEntropy, 0.05, InputRange::new(0.0, 1.0).unwrap()).unwrap();
/// assert!(a.batch.x.iter().zip(clean.x.iter()).all(|(p, c)| (p - c).abs() <= 0.05 + 1e-15));
/// ```
pub fn fgsm<M: Recurrent>(
    model: &M,
    batch: &Batch,
    loss: Loss,
    budget: f64,
    range: InputRange,
) -> Result<Attack> {
    check_attack(model, batch, loss, budget, range)?;
    let (sign, _) = grad_sign(model, batch, loss)?;
    let mut adv = batch.clone();
    adv.x
        .zip_apply(&sign, |x, s| *x = range.clip(*x + budget * s));
    let losses = losses_at(model, &adv, loss);
    Ok(Attack { batch: adv, losses })
}

/// Projected gradient ascent on the loss (Madry et al. 2018) inside the L-infinity ball
/// of radius `b` around `x`, intersected with `[lo, hi]`:
///
/// ```text
/// x_1     = P(x + b sign(grad L(x)))                (the FGSM point)
/// x_{t+1} = P(x_t + step sign(grad L(x_t))),   t = 1 .. steps - 1
/// P(y)    = clip(clip(y, x - b, x + b), lo, hi)
/// ```
///
/// For each example the returned point is the iterate of largest loss, so the PGD loss
/// of every example is at least its FGSM loss. Costs `steps` gradient evaluations plus
/// one forward pass.
///
/// ```
/// use nrnn::perturb::{fgsm, pgd, InputRange};
/// use nrnn::model::{Model, ModelConfig};
/// use nrnn::loss::Loss;
/// let d = nrnn::data::digits().head(8);
/// let m = Model::init(ModelConfig::new(6, 1, 10), 0.1, 2).unwrap();
/// let r = InputRange::new(0.0, 1.0).unwrap();
/// let f = fgsm(&m, &d.all(), Loss::CrossEntropy, 0.1, r).unwrap();
/// let p = pgd(&m, &d.all(), Loss::CrossEntropy, 0.1, 5, 0.025, r).unwrap();
/// assert!(p.losses.iter().zip(&f.losses).all(|(p, f)| p >= f));
/// ```
pub fn pgd<M: Recurrent>(
    model: &M,
    batch: &Batch,
    loss: Loss,
    budget: f64,
    steps: usize,
    step_size: f64,
    range: InputRange,
) -> Result<Attack> {
    Perturbation::Pgd {
        budget,
        steps,
        step_size,
    }
    .validate()?;
    check_attack(model, batch, loss, budget, range)?;
    let b = batch.size;
    let lo = batch.x.map(|x| range.clip(x - budget));
    let hi = batch.x.map(|x| range.clip(x + budget));
    let project = |y: &mut DMatrix<f64>| {
        for ((v, l), h) in y.iter_mut().zip(lo.iter()).zip(hi.iter()) {
            *v = v.max(*l).min(*h);
        }
    };
    let mut cur = batch.clone();
    let mut best = batch.clone();
    let mut best_loss = vec![f64::NEG_INFINITY; b];
    for t in 0..steps {
        let (sign, losses) = grad_sign(model, &cur, loss)?;
        if t >= 1 {
            // `cur` is the iterate x_t; its loss came with its gradient.
            keep_best(&mut best, &mut best_loss, &cur, &losses);
        }
        let step = if t == 0 { budget } else { step_size };
        cur.x.zip_apply(&sign, |x, s| *x += step * s);
        project(&mut cur.x);
    }
    let last = losses_at(model, &cur, loss);
    keep_best(&mut best, &mut best_loss, &cur, &last);
    Ok(Attack {
        batch: best,
        losses: best_loss,
    })
}

/// For every example whose loss at `cur` beats the best so far, copy its inputs.
fn keep_best(best: &mut Batch, best_loss: &mut [f64], cur: &Batch, losses: &[f64]) {
    let b = cur.size;
    for (e, &l) in losses.iter().enumerate() {
        if l > best_loss[e] || best_loss[e] == f64::NEG_INFINITY {
            best_loss[e] = l;
            for k in 0..cur.steps {
                best.x
                    .column_mut(k * b + e)
                    .copy_from(&cur.x.column(k * b + e));
            }
        }
    }
}

/// Mean loss and accuracy of a model on perturbed inputs.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Mean loss (cross-entropy for classification).
    pub loss: f64,
    /// Fraction of examples classified correctly.
    pub accuracy: f64,
}

/// Examples per attack batch in [`evaluate_under`]: bounds the memory of the input
/// gradient (`p x K B` values) while keeping every parallel chunk full.
const ATTACK_BATCH: usize = 512;

/// Loss and accuracy of `model` (noise off) on `data` after `perturbation`, with the
/// random perturbations seeded by `seed` and `range` the valid input range (salt and
/// pepper, attack clipping). Classification data only.
///
/// ```
/// use nrnn::perturb::{evaluate_under, InputRange, Perturbation};
/// use nrnn::model::{Model, ModelConfig};
/// let d = nrnn::data::digits().head(20);
/// let m = Model::init(ModelConfig::new(6, 1, 10), 0.1, 2).unwrap();
/// let r = InputRange::of(&d).unwrap();
/// let e = evaluate_under(&m, &d, &Perturbation::pgd(0.1), r, 0).unwrap();
/// let c = evaluate_under(&m, &d, &Perturbation::Clean, r, 0).unwrap();
/// assert!(e.loss >= c.loss);
/// ```
pub fn evaluate_under<M: Recurrent>(
    model: &M,
    data: &Dataset,
    perturbation: &Perturbation,
    range: InputRange,
    seed: u64,
) -> Result<Evaluation> {
    perturbation.validate()?;
    if data.task != Task::Classification {
        return Err(Error::Data {
            name: data.name.clone(),
            message: "robustness needs a classification task".into(),
        });
    }
    if data.input_dim != model.input() || data.classes != model.classes() {
        return Err(Error::param(
            "data (input_dim, classes)",
            format!("({}, {})", data.input_dim, data.classes),
            &format!("the model's ({}, {})", model.input(), model.classes()),
        ));
    }
    if data.is_empty() {
        return Err(Error::Data {
            name: data.name.clone(),
            message: "no examples to evaluate".into(),
        });
    }
    let loss = Loss::CrossEntropy;
    let perturbed = match *perturbation {
        Perturbation::Clean => Some(data.clone()),
        Perturbation::WhiteNoise { s } => Some(white_noise(data, s, seed)?),
        Perturbation::MultiplicativeNoise { s } => Some(multiplicative_noise(data, s, seed)?),
        Perturbation::SaltAndPepper { alpha } => Some(salt_and_pepper(data, alpha, range, seed)?),
        _ => None,
    };
    let (mut total_loss, mut right) = (0.0, 0usize);
    let idx: Vec<usize> = (0..data.len()).collect();
    for part in idx.chunks(ATTACK_BATCH) {
        let (logits, losses, target) = match &perturbed {
            Some(d) => {
                let bt = d.batch(part);
                let o = model.logits(&bt, NoiseSource::Off);
                let l = loss.value_grad(&o, &bt.target, 1.0).0;
                (o, l, bt.target)
            }
            None => {
                let bt = data.batch(part);
                let a = match *perturbation {
                    Perturbation::Fgsm { budget } => fgsm(model, &bt, loss, budget, range)?,
                    Perturbation::Pgd {
                        budget,
                        steps,
                        step_size,
                    } => pgd(model, &bt, loss, budget, steps, step_size, range)?,
                    _ => unreachable!("random perturbations are applied above"),
                };
                let o = model.logits(&a.batch, NoiseSource::Off);
                (o, a.losses, a.batch.target)
            }
        };
        total_loss += losses.iter().sum::<f64>();
        if let Target::Classes(y) = &target {
            right += (0..logits.ncols())
                .filter(|&j| logits.column(j).imax() == y[j])
                .count();
        }
    }
    let n = data.len() as f64;
    let ev = Evaluation {
        loss: total_loss / n,
        accuracy: right as f64 / n,
    };
    if !ev.loss.is_finite() && ev.loss != f64::INFINITY {
        return Err(Error::NonFinite {
            what: format!("loss under {}", perturbation.kind()),
        });
    }
    Ok(ev)
}

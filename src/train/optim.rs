//! Optimizers on flat parameter vectors: SGD with momentum and Adam, step decay of the
//! learning rate, and gradient clipping by global norm.
//!
//! The trainer hands every optimizer the flat vector `theta` of [`crate::model::Model::flat`]
//! (the learnable step enters as `log d`, so any update keeps `d > 0`) and the gradient in
//! the same coordinates ([`crate::model::Model::flat_grad`]). One call of
//! [`Optimizer::step`] is one update; the loop that calls it lives in the trainer.
//!
//! Every optimizer state is plain data (serde), so a checkpoint holds it. Floats of the
//! state are written as their IEEE-754 bit patterns ([`bits`]), because `serde_json`
//! without its `float_roundtrip` feature does not parse every printed `f64` back to the
//! same bits, and a resumed run must end bit-identical to an uninterrupted one.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// One update of a parameter vector from its gradient (argmin-style: the optimizer owns
/// its state, the caller owns the loop).
///
/// ```
/// use nrnn::train::optim::{OptimState, Optimizer, OptimizerKind};
/// // Gradient descent on f(x) = x^2 / 2 (gradient x): x <- (1 - lr) x.
/// let mut opt = OptimState::new(OptimizerKind::Sgd, 0.5, 0.0).unwrap();
/// let mut x = vec![1.0];
/// for _ in 0..3 {
///     let g = x.clone();
///     opt.step(&mut x, &g).unwrap();
/// }
/// assert_eq!(x[0], 0.125);
/// ```
pub trait Optimizer {
    /// Update `theta` in place from `grad` (same length), with the current learning rate.
    fn step(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<()>;
    /// The learning rate of the next step.
    fn lr(&self) -> f64;
    /// Set the learning rate of the following steps (used by schedules).
    fn set_lr(&mut self, lr: f64);
    /// The method's name (`sgd`, `adam`).
    fn name(&self) -> &'static str;
}

/// Check `grad` and the optimizer's state buffers against `theta` and, before the first
/// step (empty buffers), set every buffer to zeros of `theta`'s length.
fn prepare<const N: usize>(theta: &[f64], grad: &[f64], state: [&mut Vec<f64>; N]) -> Result<()> {
    if grad.len() != theta.len() {
        return Err(Error::shape("grad", (grad.len(), 1), (theta.len(), 1)));
    }
    for buf in state {
        match buf.len() {
            0 => *buf = vec![0.0; theta.len()],
            len if len != theta.len() => {
                return Err(Error::shape("theta", (theta.len(), 1), (len, 1)));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Stochastic gradient descent with heavy-ball momentum `mu`:
///
/// ```text
/// v <- mu v + g,    theta <- theta - lr v          (v = 0 at the first step)
/// ```
///
/// `mu = 0` is plain gradient descent.
///
/// ```
/// use nrnn::train::optim::{Optimizer, Sgd};
/// let mut opt = Sgd::new(0.1, 0.9).unwrap();
/// let mut theta = vec![1.0];
/// opt.step(&mut theta, &[2.0]).unwrap(); // v = 2,   theta = 1 - 0.2
/// opt.step(&mut theta, &[2.0]).unwrap(); // v = 3.8, theta = 0.8 - 0.38
/// assert!((theta[0] - 0.42).abs() < 1e-15);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sgd {
    /// Learning rate.
    #[serde(with = "bits::scalar")]
    pub lr: f64,
    /// Momentum `mu` in `[0, 1)`.
    #[serde(with = "bits::scalar")]
    pub momentum: f64,
    /// Velocity `v` (empty before the first step).
    #[serde(with = "bits::vector")]
    pub velocity: Vec<f64>,
}

impl Sgd {
    /// A checked SGD optimizer: `lr` finite and > 0, `momentum` in `[0, 1)`.
    pub fn new(lr: f64, momentum: f64) -> Result<Sgd> {
        check_lr(lr)?;
        if !(momentum.is_finite() && (0.0..1.0).contains(&momentum)) {
            return Err(Error::param("momentum", momentum, "a number in [0, 1)"));
        }
        Ok(Sgd {
            lr,
            momentum,
            velocity: Vec::new(),
        })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<()> {
        prepare(theta, grad, [&mut self.velocity])?;
        for ((t, &g), v) in theta.iter_mut().zip(grad).zip(self.velocity.iter_mut()) {
            *v = self.momentum * *v + g;
            *t -= self.lr * *v;
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn name(&self) -> &'static str {
        "sgd"
    }
}

/// Adam (Kingma and Ba, 2015) with bias correction:
///
/// ```text
/// t <- t + 1,  m <- b1 m + (1 - b1) g,  v <- b2 v + (1 - b2) g^2
/// theta <- theta - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
/// ```
///
/// ```
/// use nrnn::train::optim::{Adam, Optimizer};
/// let mut opt = Adam::new(0.01).unwrap();
/// let mut theta = vec![1.0, -1.0];
/// opt.step(&mut theta, &[3.0, -0.5]).unwrap();
/// // The first bias-corrected step moves each coordinate by lr against the gradient's sign.
/// assert!((theta[0] - 0.99).abs() < 1e-9 && (theta[1] + 0.99).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Learning rate.
    #[serde(with = "bits::scalar")]
    pub lr: f64,
    /// Decay of the first moment, in `[0, 1)`.
    #[serde(with = "bits::scalar")]
    pub beta1: f64,
    /// Decay of the second moment, in `[0, 1)`.
    #[serde(with = "bits::scalar")]
    pub beta2: f64,
    /// Denominator floor `eps > 0`.
    #[serde(with = "bits::scalar")]
    pub eps: f64,
    /// Steps taken.
    pub t: u64,
    /// First moment (empty before the first step).
    #[serde(with = "bits::vector")]
    pub m: Vec<f64>,
    /// Second moment (empty before the first step).
    #[serde(with = "bits::vector")]
    pub v: Vec<f64>,
}

impl Adam {
    /// Adam with the usual constants `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`.
    pub fn new(lr: f64) -> Result<Adam> {
        Adam::with(lr, 0.9, 0.999, 1e-8)
    }
    /// A checked Adam optimizer: `lr > 0`, `beta1, beta2` in `[0, 1)`, `eps > 0`.
    pub fn with(lr: f64, beta1: f64, beta2: f64, eps: f64) -> Result<Adam> {
        check_lr(lr)?;
        for (name, b) in [("adam_beta1", beta1), ("adam_beta2", beta2)] {
            if !(b.is_finite() && (0.0..1.0).contains(&b)) {
                return Err(Error::param(name, b, "a number in [0, 1)"));
            }
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(Error::param("adam_eps", eps, "a finite number > 0"));
        }
        Ok(Adam {
            lr,
            beta1,
            beta2,
            eps,
            t: 0,
            m: Vec::new(),
            v: Vec::new(),
        })
    }
}

impl Optimizer for Adam {
    fn step(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<()> {
        prepare(theta, grad, [&mut self.m, &mut self.v])?;
        self.t += 1;
        let t = self.t.min(i32::MAX as u64) as i32;
        let c1 = 1.0 - self.beta1.powi(t);
        let c2 = 1.0 - self.beta2.powi(t);
        let (b1, b2) = (self.beta1, self.beta2);
        for (((th, &g), m), v) in theta
            .iter_mut()
            .zip(grad)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *th -= self.lr * (*m / c1) / ((*v / c2).sqrt() + self.eps);
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn name(&self) -> &'static str {
        "adam"
    }
}

fn check_lr(lr: f64) -> Result<f64> {
    if lr.is_finite() && lr > 0.0 && lr <= MAX_LR {
        Ok(lr)
    } else {
        Err(Error::param(
            "lr",
            lr,
            &format!("a finite number in (0, {MAX_LR:e}]"),
        ))
    }
}

/// Largest accepted learning rate (absurd values are allowed up to here, so that
/// divergence can be observed and reported as [`Error::Diverged`]).
pub const MAX_LR: f64 = 1e6;

/// Which optimizer a training run uses (the configuration, not the state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// [`Adam`].
    Adam,
    /// [`Sgd`] with momentum.
    Sgd,
}

impl OptimizerKind {
    /// Parse `adam` or `sgd`.
    ///
    /// ```
    /// use nrnn::train::optim::OptimizerKind;
    /// assert_eq!(OptimizerKind::parse("sgd").unwrap(), OptimizerKind::Sgd);
    /// assert!(OptimizerKind::parse("lbfgs").unwrap_err().to_string().contains("optimizer"));
    /// ```
    pub fn parse(s: &str) -> Result<OptimizerKind> {
        match s {
            "adam" => Ok(OptimizerKind::Adam),
            "sgd" => Ok(OptimizerKind::Sgd),
            _ => Err(Error::param(
                "optimizer",
                format!("\"{s}\""),
                "one of \"adam\", \"sgd\"",
            )),
        }
    }
    /// The name (`adam`, `sgd`).
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Adam => "adam",
            OptimizerKind::Sgd => "sgd",
        }
    }
}

/// The state of any optimizer of the crate, serializable for checkpoints.
///
/// ```
/// use nrnn::train::optim::{OptimState, Optimizer};
/// let mut opt = OptimState::Adam(nrnn::train::optim::Adam::new(1e-3).unwrap());
/// let mut theta = vec![0.1, 0.2, 0.3];
/// opt.step(&mut theta, &[0.1, 1e-3, 1.0 / 3.0]).unwrap();
/// let text = serde_json::to_string(&opt).unwrap();
/// let back: OptimState = serde_json::from_str(&text).unwrap();
/// assert_eq!(back, opt); // bit for bit
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum OptimState {
    /// SGD with momentum.
    Sgd(Sgd),
    /// Adam.
    Adam(Adam),
}

impl OptimState {
    /// A fresh optimizer of the given kind (`momentum` is used by SGD only).
    pub fn new(kind: OptimizerKind, lr: f64, momentum: f64) -> Result<OptimState> {
        Ok(match kind {
            OptimizerKind::Adam => OptimState::Adam(Adam::new(lr)?),
            OptimizerKind::Sgd => OptimState::Sgd(Sgd::new(lr, momentum)?),
        })
    }
    fn inner(&mut self) -> &mut dyn Optimizer {
        match self {
            OptimState::Sgd(o) => o,
            OptimState::Adam(o) => o,
        }
    }
}

impl Optimizer for OptimState {
    fn step(&mut self, theta: &mut [f64], grad: &[f64]) -> Result<()> {
        self.inner().step(theta, grad)
    }
    fn lr(&self) -> f64 {
        match self {
            OptimState::Sgd(o) => o.lr,
            OptimState::Adam(o) => o.lr,
        }
    }
    fn set_lr(&mut self, lr: f64) {
        self.inner().set_lr(lr)
    }
    fn name(&self) -> &'static str {
        match self {
            OptimState::Sgd(o) => o.name(),
            OptimState::Adam(o) => o.name(),
        }
    }
}

/// Step decay of the learning rate: `lr(e) = lr0 * factor^(number of decay epochs <= e)`,
/// `e` the 1-based epoch (the paper: x0.1 at epoch 90 of 100).
///
/// ```
/// use nrnn::train::optim::StepDecay;
/// let s = StepDecay::new(0.01, vec![90], 0.1).unwrap();
/// assert_eq!(s.lr_at(89), 0.01);
/// assert!((s.lr_at(90) - 0.001).abs() < 1e-18);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepDecay {
    /// Initial learning rate.
    pub lr0: f64,
    /// Epochs (1-based) from which the rate is multiplied by `factor`, ascending.
    pub epochs: Vec<usize>,
    /// Multiplier, in `(0, 1]`.
    pub factor: f64,
}

impl StepDecay {
    /// A checked schedule: `lr0` in `(0, MAX_LR]`, `factor` in `(0, 1]`; epochs are sorted.
    pub fn new(lr0: f64, mut epochs: Vec<usize>, factor: f64) -> Result<StepDecay> {
        check_lr(lr0)?;
        if !(factor.is_finite() && factor > 0.0 && factor <= 1.0) {
            return Err(Error::param("decay_factor", factor, "a number in (0, 1]"));
        }
        epochs.sort_unstable();
        Ok(StepDecay {
            lr0,
            epochs,
            factor,
        })
    }
    /// The learning rate of 1-based epoch `epoch`.
    pub fn lr_at(&self, epoch: usize) -> f64 {
        let k = self.epochs.iter().filter(|&&e| e <= epoch).count();
        let mut lr = self.lr0;
        for _ in 0..k {
            lr *= self.factor;
        }
        lr
    }
}

/// Scale `grad` in place so that its Euclidean norm is at most `max_norm`
/// (`g <- g * min(1, max_norm / |g|)`); returns the norm before clipping.
///
/// ```
/// let mut g = vec![3.0, 4.0];
/// let n = nrnn::train::optim::clip_global_norm(&mut g, 1.0);
/// assert_eq!(n, 5.0);
/// assert!((g[0] - 0.6).abs() < 1e-15 && (g[1] - 0.8).abs() < 1e-15);
/// ```
pub fn clip_global_norm(grad: &mut [f64], max_norm: f64) -> f64 {
    let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
    if norm.is_finite() && norm > max_norm && norm > 0.0 {
        let s = max_norm / norm;
        grad.iter_mut().for_each(|g| *g *= s);
    }
    norm
}

/// Exact (bit-pattern) serde for floats: `f64` as the `u64` of [`f64::to_bits`], so that a
/// value read back has the same bits as the one written (NaN and infinities included).
///
/// ```
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct S {
///     #[serde(with = "nrnn::train::optim::bits::vector")]
///     x: Vec<f64>,
/// }
/// let s = S { x: vec![0.1 + 0.2, 2.916832750721649e-10] };
/// let back: S = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
/// assert_eq!(back.x[0].to_bits(), s.x[0].to_bits());
/// assert_eq!(back.x[1].to_bits(), s.x[1].to_bits());
/// ```
pub mod bits {
    /// One `f64` as its bits.
    pub mod scalar {
        use serde::{Deserialize, Deserializer, Serializer};
        /// Serialize as `u64` bits.
        pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_u64(v.to_bits())
        }
        /// Deserialize from `u64` bits.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            Ok(f64::from_bits(u64::deserialize(d)?))
        }
    }
    /// A vector of `f64` as a vector of bits.
    pub mod vector {
        use serde::{Deserialize, Deserializer, Serializer};
        /// Serialize as `[u64]` bits.
        pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(v.iter().map(|x| x.to_bits()))
        }
        /// Deserialize from `[u64]` bits.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            Ok(Vec::<u64>::deserialize(d)?
                .into_iter()
                .map(f64::from_bits)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Minimizing `|theta - c|^2 / 2` converges for both methods.
    #[test]
    fn quadratic_converges() {
        let c = [1.0, -2.0, 0.5];
        for mut opt in [
            OptimState::new(OptimizerKind::Sgd, 0.1, 0.9).unwrap(),
            OptimState::new(OptimizerKind::Adam, 0.05, 0.0).unwrap(),
        ] {
            let mut th = vec![0.0; 3];
            for _ in 0..2000 {
                let g: Vec<f64> = th.iter().zip(&c).map(|(t, c)| t - c).collect();
                opt.step(&mut th, &g).unwrap();
            }
            for (t, c) in th.iter().zip(&c) {
                assert!((t - c).abs() < 1e-6, "{}: {t} vs {c}", opt.name());
            }
        }
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Sgd::new(0.0, 0.9).unwrap_err().to_string().contains("lr"));
        assert!(Sgd::new(0.1, 1.0)
            .unwrap_err()
            .to_string()
            .contains("momentum"));
        assert!(Adam::with(0.1, 0.9, 1.5, 1e-8)
            .unwrap_err()
            .to_string()
            .contains("adam_beta2"));
        assert!(StepDecay::new(0.1, vec![], 0.0)
            .unwrap_err()
            .to_string()
            .contains("decay_factor"));
        let mut o = Sgd::new(0.1, 0.0).unwrap();
        assert!(o.step(&mut [0.0; 2], &[0.0; 3]).is_err());
    }

    #[test]
    fn clip_leaves_small_gradients() {
        let mut g = vec![0.3, 0.4];
        assert_eq!(clip_global_norm(&mut g, 1.0), 0.5);
        assert_eq!(g, vec![0.3, 0.4]);
    }
}

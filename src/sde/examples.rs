//! Concrete SDEs with closed-form solutions or moments, for tests and users.

use super::{BrownianPath, NoiseKind, Sde};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};

fn finite(name: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::param(name, v, "a finite number"))
    }
}

/// Geometric Brownian motion, the scalar-noise Itô SDE in one dimension
///
/// ```text
/// dX = mu X dt + sigma X dW,   X_t = X_0 exp((mu - sigma^2 / 2) t + sigma W_t),
/// ```
///
/// with `E X_t = X_0 e^{mu t}` and `E X_t^2 = X_0^2 e^{(2 mu + sigma^2) t}`. The
/// derivatives used by Milstein are exact: `dg/dx = sigma`, `(dg/dx) g = sigma^2 x`.
///
/// ```
/// use nrnn::sde::{GeometricBrownianMotion, NoiseKind, Sde};
/// let gbm = GeometricBrownianMotion { mu: 1.5, sigma: 1.0 };
/// assert_eq!(gbm.noise_kind(), NoiseKind::Scalar);
/// assert_eq!(gbm.exact(2.0, 1.0, 0.0), 2.0 * 1.0f64.exp());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeometricBrownianMotion {
    /// Drift rate `mu`.
    pub mu: f64,
    /// Volatility `sigma`.
    pub sigma: f64,
}

impl GeometricBrownianMotion {
    /// Checked constructor: `mu` and `sigma` finite.
    ///
    /// ```
    /// use nrnn::sde::GeometricBrownianMotion;
    /// assert!(GeometricBrownianMotion::new(1.0, f64::NAN).is_err());
    /// ```
    pub fn new(mu: f64, sigma: f64) -> Result<Self> {
        Ok(GeometricBrownianMotion {
            mu: finite("mu", mu)?,
            sigma: finite("sigma", sigma)?,
        })
    }

    /// Itô solution on the path: `X_t = x0 exp((mu - sigma^2 / 2) t + sigma w_t)` where
    /// `w_t = W_t`.
    ///
    /// ```
    /// # use nrnn::sde::GeometricBrownianMotion;
    /// let gbm = GeometricBrownianMotion::new(0.5, 1.0)?;
    /// assert_eq!(gbm.exact(1.0, 2.0, 0.0), 1.0); // (0.5 - 0.5) * 2 = 0
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn exact(&self, x0: f64, t: f64, w_t: f64) -> f64 {
        x0 * ((self.mu - 0.5 * self.sigma * self.sigma) * t + self.sigma * w_t).exp()
    }

    /// Stratonovich solution of `dX = mu X dt + sigma X o dW` on the path:
    /// `X_t = x0 exp(mu t + sigma w_t)` (the limit of [`super::StochasticHeun`]).
    ///
    /// ```
    /// # use nrnn::sde::GeometricBrownianMotion;
    /// let gbm = GeometricBrownianMotion::new(0.5, 1.0)?;
    /// assert_eq!(gbm.exact_stratonovich(1.0, 2.0, -1.0), 1.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn exact_stratonovich(&self, x0: f64, t: f64, w_t: f64) -> f64 {
        x0 * (self.mu * t + self.sigma * w_t).exp()
    }

    /// Mean of the Itô solution: `E X_t = x0 e^{mu t}`.
    ///
    /// ```
    /// # use nrnn::sde::GeometricBrownianMotion;
    /// assert_eq!(GeometricBrownianMotion::new(0.0, 3.0)?.mean(2.0, 1.0), 2.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn mean(&self, x0: f64, t: f64) -> f64 {
        x0 * (self.mu * t).exp()
    }

    /// Second moment of the Itô solution: `E X_t^2 = x0^2 e^{(2 mu + sigma^2) t}`.
    ///
    /// ```
    /// # use nrnn::sde::GeometricBrownianMotion;
    /// assert_eq!(GeometricBrownianMotion::new(-0.5, 1.0)?.second_moment(3.0, 1.0), 9.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn second_moment(&self, x0: f64, t: f64) -> f64 {
        x0 * x0 * ((2.0 * self.mu + self.sigma * self.sigma) * t).exp()
    }
}

impl Sde for GeometricBrownianMotion {
    fn dim(&self) -> usize {
        1
    }
    fn noise_dim(&self) -> usize {
        1
    }
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Scalar
    }
    /// `f(x) = mu x`.
    fn drift(&self, _t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        out[0] = self.mu * x[0];
    }
    /// `g(x) = sigma x`.
    fn diffusion(&self, _t: f64, x: &DVector<f64>, out: &mut DMatrix<f64>) {
        out[(0, 0)] = self.sigma * x[0];
    }
    /// Exact: `dg/dx = sigma`.
    fn diffusion_diag_derivative(&self, _t: f64, _x: &DVector<f64>, out: &mut DVector<f64>) {
        out[0] = self.sigma;
    }
    /// Exact: `(dg/dx) g = sigma^2 x`.
    fn diffusion_scalar_derivative(&self, _t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        out[0] = self.sigma * self.sigma * x[0];
    }
}

/// Ornstein-Uhlenbeck process, the additive-noise SDE in one dimension
///
/// ```text
/// dX = theta (mu - X) dt + sigma dW,
/// X_t = mu + (X_0 - mu) e^{-theta t} + sigma int_0^t e^{-theta (t - s)} dW_s,
/// ```
///
/// Gaussian with `E X_t = mu + (X_0 - mu) e^{-theta t}`,
/// `Var X_t = sigma^2 (1 - e^{-2 theta t}) / (2 theta)` (`sigma^2 t` when `theta = 0`) and
/// `E X_t^2 = (E X_t)^2 + Var X_t`. Itô and Stratonovich solutions coincide.
///
/// ```
/// use nrnn::sde::{NoiseKind, OrnsteinUhlenbeck, Sde};
/// let ou = OrnsteinUhlenbeck { theta: 2.0, mu: 1.0, sigma: 1.0 };
/// assert_eq!(ou.noise_kind(), NoiseKind::Additive);
/// assert!((ou.variance(1e3) - 0.25).abs() < 1e-12); // stationary sigma^2 / (2 theta)
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrnsteinUhlenbeck {
    /// Mean-reversion rate `theta`.
    pub theta: f64,
    /// Long-run mean `mu`.
    pub mu: f64,
    /// Noise amplitude `sigma`.
    pub sigma: f64,
}

impl OrnsteinUhlenbeck {
    /// Checked constructor: all parameters finite.
    ///
    /// ```
    /// use nrnn::sde::OrnsteinUhlenbeck;
    /// assert!(OrnsteinUhlenbeck::new(f64::INFINITY, 0.0, 1.0).is_err());
    /// ```
    pub fn new(theta: f64, mu: f64, sigma: f64) -> Result<Self> {
        Ok(OrnsteinUhlenbeck {
            theta: finite("theta", theta)?,
            mu: finite("mu", mu)?,
            sigma: finite("sigma", sigma)?,
        })
    }

    /// `(1 - e^{-theta s}) / theta`, with the limit `s` at `theta = 0`.
    fn decay_integral(&self, s: f64) -> f64 {
        if self.theta == 0.0 {
            s
        } else {
            -(-self.theta * s).exp_m1() / self.theta
        }
    }

    /// `E X_t = mu + (x0 - mu) e^{-theta t}`.
    ///
    /// ```
    /// # use nrnn::sde::OrnsteinUhlenbeck;
    /// let ou = OrnsteinUhlenbeck::new(1.0, 2.0, 1.0)?;
    /// assert_eq!(ou.mean(2.0, 5.0), 2.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn mean(&self, x0: f64, t: f64) -> f64 {
        self.mu + (x0 - self.mu) * (-self.theta * t).exp()
    }

    /// `Var X_t = sigma^2 (1 - e^{-2 theta t}) / (2 theta)`, and `sigma^2 t` at
    /// `theta = 0` (computed with `exp_m1`, accurate for small `theta t`).
    ///
    /// ```
    /// # use nrnn::sde::OrnsteinUhlenbeck;
    /// assert_eq!(OrnsteinUhlenbeck::new(0.0, 0.0, 2.0)?.variance(3.0), 12.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn variance(&self, t: f64) -> f64 {
        self.sigma * self.sigma * 0.5 * self.decay_integral(2.0 * t)
    }

    /// `E X_t^2 = (E X_t)^2 + Var X_t`.
    ///
    /// ```
    /// # use nrnn::sde::OrnsteinUhlenbeck;
    /// let ou = OrnsteinUhlenbeck::new(0.0, 0.0, 1.0)?;
    /// assert_eq!(ou.second_moment(3.0, 2.0), 9.0 + 2.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn second_moment(&self, x0: f64, t: f64) -> f64 {
        let m = self.mean(x0, t);
        m * m + self.variance(t)
    }

    /// Reference solution `X_T` on `path` (which must have `noise_dim = 1`): the exact
    /// solution recursion on the finest grid (step `h = T / 2^L`),
    ///
    /// ```text
    /// X_{k+1} = mu + (X_k - mu) e^{-theta h} + sigma c dW_k,   c = (1 - e^{-theta h}) / (theta h),
    /// ```
    ///
    /// where `sigma c dW_k = E[sigma int_{t_k}^{t_{k+1}} e^{-theta (t_{k+1} - s)} dW_s | dW_k]`
    /// (the Brownian bridge mean of the stochastic integral). The result is
    /// `E[X_T | finest increments]`, the best approximation of the exact `X_T` that the
    /// path determines; its L2 distance to `X_T` is
    /// `sigma theta h sqrt(Var_1 / 12) (1 + O(theta h))` with
    /// `Var_1 = (1 - e^{-2 theta T}) / (2 theta) <= T`. Because any scheme run on the path is a
    /// function of the finest increments, its mean-square error against this reference
    /// equals its error against the exact solution minus that (tiny) fixed amount.
    ///
    /// ```
    /// use nrnn::sde::{BrownianPath, OrnsteinUhlenbeck};
    /// let ou = OrnsteinUhlenbeck::new(0.0, 0.0, 2.0)?; // theta = 0: X_T = x0 + sigma W_T
    /// let path = BrownianPath::new(1.0, 6, 1, 11, 0)?;
    /// let x = ou.solution_on_path(1.0, &path)?;
    /// assert!((x - (1.0 + 2.0 * path.value_at_end()[0])).abs() < 1e-12);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn solution_on_path(&self, x0: f64, path: &BrownianPath) -> Result<f64> {
        if path.noise_dim() != 1 {
            return Err(Error::param("path.noise_dim", path.noise_dim(), "1"));
        }
        let level = path.levels();
        let h = path.dt(level);
        let inc = path.increments(level)?;
        let a = (-self.theta * h).exp();
        let c = self.decay_integral(h) / h;
        let mut x = x0;
        for k in 0..inc.ncols() {
            x = self.mu + (x - self.mu) * a + self.sigma * c * inc[(0, k)];
        }
        Ok(x)
    }

    /// Exact mean and variance of the Euler-Maruyama iterate `x_n` after `steps` steps of
    /// size `dt` from `x0`, by the deterministic recursions
    ///
    /// ```text
    /// m_{k+1} = (1 - theta dt) m_k + theta mu dt,   v_{k+1} = (1 - theta dt)^2 v_k + sigma^2 dt,
    /// ```
    ///
    /// (`m_0 = x0`, `v_0 = 0`), so that `E x_n^2 = m_n^2 + v_n`.
    ///
    /// ```
    /// # use nrnn::sde::OrnsteinUhlenbeck;
    /// let ou = OrnsteinUhlenbeck::new(1.0, 0.0, 1.0)?;
    /// let (m, v) = ou.euler_maruyama_moments(1.0, 0.5, 2);
    /// assert_eq!((m, v), (0.25, 0.25 * 0.5 + 0.5));
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn euler_maruyama_moments(&self, x0: f64, dt: f64, steps: usize) -> (f64, f64) {
        let a = 1.0 - self.theta * dt;
        let (mut m, mut v) = (x0, 0.0);
        for _ in 0..steps {
            m = a * m + self.theta * self.mu * dt;
            v = a * a * v + self.sigma * self.sigma * dt;
        }
        (m, v)
    }
}

impl Sde for OrnsteinUhlenbeck {
    fn dim(&self) -> usize {
        1
    }
    fn noise_dim(&self) -> usize {
        1
    }
    fn noise_kind(&self) -> NoiseKind {
        NoiseKind::Additive
    }
    /// `f(x) = theta (mu - x)`.
    fn drift(&self, _t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        out[0] = self.theta * (self.mu - x[0]);
    }
    /// `g = sigma`.
    fn diffusion(&self, _t: f64, _x: &DVector<f64>, out: &mut DMatrix<f64>) {
        out[(0, 0)] = self.sigma;
    }
}

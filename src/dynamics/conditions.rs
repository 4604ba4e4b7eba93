//! Stability conditions of a model (docs/theory.md section 4): `kappa`, the deterministic
//! verdict, the stochastic almost-sure and mean-square bounds, the smallest multiplicative
//! noise level the bound certifies as stabilizing, and bounds on `||Phi||`.
//!
//! ```text
//! kappa      = lambda_max(A_sym) + L_a ||W||_2            (bounds the log-norm of every J)
//! a.s.       limsup (1/t) log|h_t - h'_t| <= kappa + eps^2 K / 2 - eps^2 rho
//!            scalar: K = rho = sigma2^2           -> kappa - eps^2 sigma2^2 / 2
//!            diag:   K = sigma2^2, rho = sigma2^2/n -> kappa + eps^2 sigma2^2 (1/2 - 1/n)
//! mean square (1/t) log E|h_t - h'_t|^2 <= 2 kappa + eps^2 K
//! ```
//!
//! Time is measured in units of `tau = mean(d)` (the model's per-unit steps `d_i`; with a
//! uniform step, `tau = d`), so one Euler-Maruyama step advances time by `tau`. With
//! per-unit steps the network is the Euler-Maruyama scheme of an SDE whose unit `i` runs at
//! rate `r_i = d_i / tau`; the bounds then hold in the weighted norm `|R^{-1/2} delta|`,
//! which gives `kappa_eff = r_max kappa` (`kappa >= 0`) or `r_min kappa` (`kappa < 0`),
//! `K = r_max sigma2^2`, `rho = r_min sigma2^2` (scalar) or `r_min sigma2^2 / n` (diag).
//! With a uniform step every `r_i = 1` and these are the formulas of docs/theory.md section 4.
//!
//! The `code` noise form (the released script's) is not an Itô SDE with state-dependent
//! diffusion: its additive part cancels in `h - h'` and its multiplicative part scales the
//! drift step of every unit by an independent factor `m = 1 - s_mult u`, `u ~ U[0, 1)`, of
//! mean `1 - s_mult / 2`, with fluctuations that vanish in the limit of small steps. Its
//! bound is `(1 - s_mult / 2) kappa_eff` (first order in the step), and noise never
//! stabilizes (it only slows the dynamics down).

use crate::error::{Error, Result};
use crate::linalg::{lambda_max_sym, spectral_norm};
use crate::model::{Model, NoiseForm, NoiseSpec};
use nalgebra::DMatrix;

/// The stochastic almost-sure bound for a uniform step, from `kappa` and `s = eps sigma2`:
/// `scalar`: `kappa - s^2 / 2`; `diag`: `kappa + s^2 (1/2 - 1/n)`; `code`:
/// `(1 - s / 2) kappa`.
///
/// ```
/// use nrnn::dynamics::conditions::as_bound;
/// use nrnn::model::NoiseForm;
/// assert!((as_bound(NoiseForm::Scalar, 0.5, 2f64.sqrt(), 4) + 0.5).abs() < 1e-15);
/// assert!((as_bound(NoiseForm::Diag, 0.5, 2f64.sqrt(), 4) - 1.0).abs() < 1e-15);
/// ```
pub fn as_bound(form: NoiseForm, kappa: f64, s: f64, n: usize) -> f64 {
    match form {
        NoiseForm::Scalar => kappa - s * s / 2.0,
        NoiseForm::Diag => kappa + s * s * (0.5 - 1.0 / n as f64),
        NoiseForm::Code => (1.0 - s / 2.0) * kappa,
    }
}

/// Every stability quantity of docs/theory.md section 4 for one model and one noise level.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Conditions {
    /// Hidden units n.
    pub hidden: usize,
    /// `lambda_max(A_sym)`, `A_sym = (A + A^T)/2` (0 when the model has no `A h` term).
    pub lambda_max_a_sym: f64,
    /// `||A||_2` (0 without the `A h` term).
    pub a_norm: f64,
    /// `||W||_2`.
    pub w_norm: f64,
    /// Lipschitz constant `L_a` of the activation.
    pub lipschitz_a: f64,
    /// `kappa = lambda_max(A_sym) + L_a ||W||_2`.
    pub kappa: f64,
    /// `L_J = ||A||_2 + L_a ||W||_2`, a bound on `||J||_2` for every Jacobian `J`.
    pub jacobian_bound: f64,
    /// Time unit `tau = mean(d)`: one step advances time by `tau`.
    pub time_unit: f64,
    /// Smallest per-unit rate `min d_i / tau` (1 for a uniform step).
    pub rate_min: f64,
    /// Largest per-unit rate `max d_i / tau` (1 for a uniform step).
    pub rate_max: f64,
    /// `kappa` in the weighted norm: `r_max kappa` if `kappa >= 0`, else `r_min kappa`.
    pub kappa_eff: f64,
    /// `kappa_eff < 0`: global exponential stability of the deterministic network.
    pub deterministic_stable: bool,
    /// The noise the stochastic bounds are for.
    pub noise: NoiseSpec,
    /// `K` with `||sigma(h) - sigma(h')||_F^2 <= K |delta|^2` (`None` for `code`).
    pub k_const: Option<f64>,
    /// `rho` with `|delta^T (sigma(h) - sigma(h'))|^2 >= rho |delta|^4` (`None` for `code`).
    pub rho: Option<f64>,
    /// Almost-sure bound on the top exponent of `h - h'`: `kappa_eff + eps^2 K/2 - eps^2 rho`
    /// (`code`: `(1 - eps sigma2 / 2) kappa_eff`).
    pub stochastic_bound: f64,
    /// Bound on the exponent of `E|h_t - h'_t|^2`: `2 kappa_eff + eps^2 K`
    /// (`code`: `2 (1 - eps sigma2 / 2) kappa_eff`).
    pub mean_square_bound: f64,
    /// Infimum of the `sigma2` (same form, eps, step) for which the a.s. bound is negative:
    /// `0` when `kappa_eff < 0`, `sqrt(kappa_eff / (eps^2 c))` when the bound's coefficient
    /// `-c = K/2 - rho` per `sigma2^2` is negative, `None` when no level is certified.
    pub stabilizing_sigma2: Option<f64>,
}

impl Conditions {
    /// The conditions of `model` with its own noise, or with `eps` overriding the model's
    /// noise level (form, `sigma1`, `sigma2` from the model).
    ///
    /// ```
    /// use nrnn::dynamics::Conditions;
    /// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.5, 0.0, 2.0).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let c = Conditions::of(&m, None).unwrap();
    /// assert!((c.kappa - (c.lambda_max_a_sym + c.w_norm)).abs() < 1e-12);
    /// assert!((c.stochastic_bound - (c.kappa - 0.5)).abs() < 1e-12); // eps^2 sigma2^2 / 2 = 0.5
    /// assert!(Conditions::of(&m, Some(-1.0)).is_err());
    /// ```
    pub fn of(model: &Model, eps: Option<f64>) -> Result<Conditions> {
        model.validate()?;
        let cfg = &model.config;
        let noise = match eps {
            Some(e) => {
                let s = cfg.noise.with_eps(e);
                s.validate()?;
                s
            }
            None => cfg.noise,
        };
        let n = cfg.hidden;
        let a: DMatrix<f64> = if cfg.a_term {
            model.params.a_matrix(cfg)
        } else {
            DMatrix::zeros(n, n)
        };
        let w = model.params.w_matrix(cfg);
        let named = |what: &str, e: crate::Error| {
            crate::Error::Other(format!(
                "{what} of the model: {e} (the model's weights are too large or not finite)"
            ))
        };
        let lambda_max_a_sym = lambda_max_sym(&a).map_err(|e| named("lambda_max(A_sym)", e))?;
        let a_norm = spectral_norm(&a).map_err(|e| named("||A||_2", e))?;
        let w_norm = spectral_norm(&w).map_err(|e| named("||W||_2", e))?;
        let lipschitz_a = cfg.activation.lipschitz();
        let kappa = lambda_max_a_sym + lipschitz_a * w_norm;
        let jacobian_bound = a_norm + lipschitz_a * w_norm;
        let d = model.params.dt.as_slice();
        let tau = if d.iter().all(|&v| v == d[0]) {
            d[0]
        } else {
            d.iter().sum::<f64>() / n as f64
        };
        let rate_min = d.iter().cloned().fold(f64::INFINITY, f64::min) / tau;
        let rate_max = d.iter().cloned().fold(0.0, f64::max) / tau;
        let kappa_eff = if kappa >= 0.0 {
            rate_max * kappa
        } else {
            rate_min * kappa
        };
        let (e2, s2sq) = (noise.eps * noise.eps, noise.sigma2 * noise.sigma2);
        let (k_const, rho, stochastic_bound, mean_square_bound, stabilizing_sigma2) =
            match noise.form {
                NoiseForm::Code => {
                    let f = 1.0 - noise.eps * noise.sigma2 / 2.0;
                    let st = if kappa_eff < 0.0 { Some(0.0) } else { None };
                    (None, None, f * kappa_eff, 2.0 * f * kappa_eff, st)
                }
                form => {
                    let k_c = rate_max * s2sq;
                    let rho = match form {
                        NoiseForm::Scalar => rate_min * s2sq,
                        _ => rate_min * s2sq / n as f64,
                    };
                    // bound(sigma2) = kappa_eff - eps^2 sigma2^2 c, c = rho/sigma2^2 - K/(2 sigma2^2).
                    let c = match form {
                        NoiseForm::Scalar => rate_min - rate_max / 2.0,
                        _ => rate_min / n as f64 - rate_max / 2.0,
                    };
                    let st = if kappa_eff < 0.0 {
                        Some(0.0)
                    } else if e2 > 0.0 && c > 0.0 {
                        Some((kappa_eff / (e2 * c)).sqrt())
                    } else {
                        None
                    };
                    let bound = kappa_eff + e2 * k_c / 2.0 - e2 * rho;
                    (Some(k_c), Some(rho), bound, 2.0 * kappa_eff + e2 * k_c, st)
                }
            };
        for (name, v) in [("kappa", kappa), ("stochastic_bound", stochastic_bound)] {
            if !v.is_finite() {
                return Err(Error::NonFinite {
                    what: format!("stability condition `{name}`"),
                });
            }
        }
        Ok(Conditions {
            hidden: n,
            lambda_max_a_sym,
            a_norm,
            w_norm,
            lipschitz_a,
            kappa,
            jacobian_bound,
            time_unit: tau,
            rate_min,
            rate_max,
            kappa_eff,
            deterministic_stable: kappa_eff < 0.0,
            noise,
            k_const,
            rho,
            stochastic_bound,
            mean_square_bound,
            stabilizing_sigma2,
        })
    }

    /// Whether every unit has the same step (all rates 1).
    ///
    /// ```
    /// # use nrnn::dynamics::Conditions;
    /// # use nrnn::model::{Model, ModelConfig};
    /// let mut m = Model::init(ModelConfig::new(2, 1, 2), 0.1, 1).unwrap();
    /// assert!(Conditions::of(&m, None).unwrap().uniform_step());
    /// m.params.dt[1] = 0.3; // per-unit steps 0.1, 0.3: time unit 0.2, rates 0.5 and 1.5
    /// let c = Conditions::of(&m, None).unwrap();
    /// assert!(!c.uniform_step() && (c.rate_max - 1.5).abs() < 1e-12);
    /// ```
    pub fn uniform_step(&self) -> bool {
        (self.rate_max - self.rate_min).abs() <= 1e-12 * self.rate_max.max(1.0)
    }

    /// Continuous-time bound on the propagator: `||Phi(t, s)|| <= sqrt(r_max / r_min)
    /// exp(kappa_eff (t - s))` (docs/theory.md section 4: `exp(kappa (t - s))` for a uniform
    /// step), as a logarithm so it never overflows; `t` is the elapsed time `t - s`.
    ///
    /// ```
    /// # use nrnn::dynamics::Conditions;
    /// # use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let c = Conditions::of(&m, None).unwrap();
    /// assert!((c.log_phi_norm_bound(2.0) - 2.0 * c.kappa).abs() < 1e-12);
    /// ```
    pub fn log_phi_norm_bound(&self, t: f64) -> f64 {
        0.5 * (self.rate_max / self.rate_min).ln() + self.kappa_eff * t
    }

    /// Bound on the discrete propagator of the deterministic Euler step after `steps`
    /// steps, as a logarithm: with `y = D^{-1/2} delta`, one step is `I + D^{1/2} J D^{1/2}`
    /// and `||I + B||^2 <= 1 + 2 lambda_max(B_sym) + ||B||^2`, so (using `log(1+x) <= x`)
    ///
    /// ```text
    /// log(|delta_k| / |delta_0|) <= (1/2) log(d_max / d_min) + k (tau kappa_eff + d_max^2 L_J^2 / 2)
    ///                             = (1/2) log(r_max / r_min) + kappa_eff t + t d_max^2 L_J^2 / (2 tau),
    /// ```
    /// `t = k tau`: the continuous-time `e^{kappa t}` plus the Euler term `t d L_J^2 / 2`, which
    /// is O(d) (docs/theory.md section 4, Correction on the Euler step).
    /// It holds for every pair `h, h'` driven by the same input (not only nearby ones).
    ///
    /// ```
    /// # use nrnn::dynamics::Conditions;
    /// # use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let c = Conditions::of(&m, None).unwrap();
    /// let t = 10.0 * 0.1;
    /// let want = c.kappa * t + t * 0.1 * c.jacobian_bound.powi(2) / 2.0;
    /// assert!((c.log_separation_bound(10) - want).abs() < 1e-12);
    /// ```
    pub fn log_separation_bound(&self, steps: usize) -> f64 {
        let t = steps as f64 * self.time_unit;
        let dmax = self.rate_max * self.time_unit;
        0.5 * (self.rate_max / self.rate_min).ln()
            + self.kappa_eff * t
            + t * dmax * dmax * self.jacobian_bound.powi(2) / (2.0 * self.time_unit)
    }

    /// Allowance for the Euler-Maruyama bias of the measured (discrete) exponent over the
    /// continuous bound, for a uniform step `d` only (`None` otherwise).
    ///
    /// Expanding `(1/2) E log(|y_{k+1}|^2 / |y_k|^2)` for the tangent step with `|y_k| = 1`,
    /// `q = y^T J y <= kappa`, `|q| <= L_J`, `|J y|^2 <= L_J^2`, `s = eps sigma2`, gives per
    /// unit time `q + s^2 (1/2 - m4) + d B + O(d^2)` (`m4 = 1` for scalar noise,
    /// `m4 = sum y_i^4 >= 1/n` for diag), with
    ///
    /// ```text
    /// scalar: B = |J y|^2/2 - q^2 + q s^2 - 3 s^4 / 4             <= L_J^2/2 + L_J s^2
    /// diag:   B = |J y|^2/2 - q^2 - 2 s^2 sum y_i^3 (J y)_i + (4 m4 - 1) q s^2
    ///             + s^4 (4 m6 + 2 m4 - 6 m4^2 - (1 + 2 m4)/4)      <= L_J^2/2 + 5 L_J s^2 + 1.0104 s^4
    /// ```
    /// (`m6 = sum y_i^6 <= m4`; the `s^4` factor is maximized at `m4 = 11/24`); `code` noise
    /// (drift step scaled by `m` in `[1 - s_mult, 1]`, mean `1 - s_mult/2`): `B <= L_J^2 / 2`,
    /// which is also the deterministic value (`s = 0`). For `n = 1`
    /// and `J = lambda` the scalar `B` is the geometric-Brownian-motion constant
    /// `-lambda^2/2 + lambda s^2 - 3 s^4/4`. Returns `d * B_bound`.
    ///
    /// ```
    /// # use nrnn::dynamics::Conditions;
    /// # use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 1.0, 0.0, 1.0).unwrap();
    /// let m = Model::init(cfg, 0.01, 1).unwrap();
    /// let c = Conditions::of(&m, None).unwrap();
    /// let l = c.jacobian_bound;
    /// assert!((c.discretization_allowance().unwrap() - 0.01 * (l * l / 2.0 + l)).abs() < 1e-14);
    /// ```
    pub fn discretization_allowance(&self) -> Option<f64> {
        if !self.uniform_step() {
            return None;
        }
        let d = self.time_unit;
        let l = self.jacobian_bound;
        let s2 = (self.noise.eps * self.noise.sigma2).powi(2);
        match self.noise.form {
            NoiseForm::Scalar => Some(d * (l * l / 2.0 + l * s2)),
            NoiseForm::Diag => Some(d * (l * l / 2.0 + 5.0 * l * s2 + 1.0104 * s2 * s2)),
            NoiseForm::Code => Some(d * l * l / 2.0),
        }
    }
}

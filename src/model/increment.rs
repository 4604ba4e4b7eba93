//! The noise algebra of one Euler-Maruyama step, for every noise form: the one home of
//! the step, its tangent, its derivatives, its covariance and its pathwise expansion.
//!
//! With `d` the per-unit step, `f = f(h, x_k)` the drift, `xi ~ N(0, I_n)` and the form's
//! auxiliary draw (`scalar`: one `zeta ~ N(0, 1)`; `code`: `u ~ U[0, 1)^n`), one step is
//! (docs/theory.md section 1)
//!
//! ```text
//! h' = h + d m f + n(h)                             m = 1 except code: m = 1 - s_mult u
//! diag:   n(h) = eps sqrt(d) (sigma1 + sigma2 h) xi
//! scalar: n(h) = eps sqrt(d) (sigma1 xi + sigma2 h zeta)
//! code:   n(h) = s_add xi                          s_add = eps sigma1, s_mult = eps sigma2
//! ```
//!
//! and everything else the toolkit needs about the noise is derived here:
//!
//! ```text
//! tangent        q' = q + d m (J q) + gain q              gain = dn/dh (per unit)
//!                diag: gain = eps sqrt(d) sigma2 xi;  scalar: eps sqrt(d) sigma2 zeta;  code: 0
//! step adjoint   dh'/dd = m f + dn/dd,  dn/dd = n / (2 d)  (diag, scalar; 0 for code)
//! covariance     per eps^2: Sigma = diag(s^2) + c c^T
//!                diag: s = sqrt(d) (sigma1 + sigma2 h), c = 0
//!                scalar: s = sqrt(d) sigma1, c = sqrt(d) sigma2 h
//!                code (about the mean-factor path, w = u - 1/2, Var w = 1/12):
//!                      s = sqrt(sigma1^2 + sigma2^2 (d f)^2 / 12), c = 0
//! pathwise       per eps, n1 = first-order noise, n2 = its derivative along h1:
//!                diag:   n1 = sqrt(d) (sigma1 + sigma2 hbar) xi,       n2 = sqrt(d) sigma2 h1 xi
//!                scalar: n1 = sqrt(d) (sigma1 xi + sigma2 hbar zeta),  n2 = sqrt(d) sigma2 h1 zeta
//!                code:   n1 = sigma1 xi - sigma2 w d fbar,             n2 = -sigma2 w d (J h1)
//! ```
//!
//! The forward pass, backpropagation, the tangent dynamics, the discrete and continuous
//! regularizer and the Monte Carlo expansion all read these formulas from here; a new
//! noise form is added in this file (and in [`super::noise`] for its draws). The unit
//! functions take the form as an argument and are inlined, so a loop that matches on the
//! form outside compiles to the form's own straight-line code.

use super::{ModelConfig, NoiseForm, NoiseSpec, Params};
use crate::linalg::Real;
use crate::rng::{Stream, NORMALS_PER_CALL};

/// The noise constants of one model's step: the form, whether noise is on, `eps`, the
/// levels as they enter the step (`sigma1`, `sigma2` for `diag`/`scalar`; `s_add =
/// eps sigma1`, `s_mult = eps sigma2` for `code`) and `sq_i = eps sqrt(d_i)`.
#[derive(Clone, Debug)]
pub struct Increment<T> {
    /// The noise form.
    pub form: NoiseForm,
    /// Whether the step draws noise (asked for and not identically zero).
    pub on: bool,
    /// The overall level eps.
    pub eps: T,
    /// `sigma1` (`diag`, `scalar`) or `s_add = eps sigma1` (`code`).
    pub s1: T,
    /// `sigma2` (`diag`, `scalar`) or `s_mult = eps sigma2` (`code`).
    pub s2: T,
    /// `eps sqrt(d_i)` per unit.
    pub sq: Vec<T>,
}

impl<T: Real> Increment<T> {
    /// The constants of `noise` for the per-unit steps `dt`; `on` is false when the pass
    /// draws no noise (the result is then off whatever the levels).
    ///
    /// ```
    /// use nrnn::model::{increment::Increment, NoiseForm, NoiseSpec};
    /// let nz = NoiseSpec::new(NoiseForm::Code, 0.5, 0.2, 0.4).unwrap();
    /// let inc = Increment::<f64>::of(&nz, &[0.25], true);
    /// assert_eq!((inc.s1, inc.s2, inc.sq[0]), (0.1, 0.2, 0.25));
    /// ```
    pub fn of(noise: &NoiseSpec, dt: &[T], on: bool) -> Self {
        let eps = T::of(noise.eps);
        let (s1, s2) = match noise.form {
            NoiseForm::Code => (
                T::of(noise.eps * noise.sigma1),
                T::of(noise.eps * noise.sigma2),
            ),
            _ => (T::of(noise.sigma1), T::of(noise.sigma2)),
        };
        Increment {
            form: noise.form,
            on: on && !noise.is_off(),
            eps,
            s1,
            s2,
            sq: dt.iter().map(|&d| eps * d.sqrt()).collect(),
        }
    }

    /// [`Increment::of`] for a model's noise and steps.
    pub fn new(cfg: &ModelConfig, p: &Params<T>, on: bool) -> Self {
        Self::of(&cfg.noise, p.dt.as_slice(), on)
    }

    /// The drift factor `m_i`: `1 - s_mult u_i` for `code`, 1 otherwise.
    #[inline(always)]
    pub fn drift_factor(&self, form: NoiseForm, aux: &[f64], i: usize) -> T {
        match form {
            NoiseForm::Code => T::one() - self.s2 * T::of(aux[i]),
            _ => T::one(),
        }
    }

    /// One unit's step `h + d m f + n(h)` of form `form` (see the module docs); `xi` is
    /// the unit's normal, `aux` the example's auxiliary draws.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn state_unit(
        &self,
        form: NoiseForm,
        h: T,
        f: T,
        dt: T,
        sq: T,
        xi: f64,
        aux: &[f64],
        i: usize,
    ) -> T {
        match form {
            NoiseForm::Diag => h + dt * f + sq * (self.s1 + self.s2 * h) * T::of(xi),
            NoiseForm::Scalar => {
                h + dt * f + sq * (self.s1 * T::of(xi) + self.s2 * h * T::of(aux[0]))
            }
            NoiseForm::Code => {
                let m = self.drift_factor(form, aux, i);
                h + dt * m * f + self.s1 * T::of(xi)
            }
        }
    }

    /// One example's step `o = h + d m f + n(h)` from its state `h`, drift `f`, normals
    /// `xi` and auxiliary draws `aux` (both ignored when the noise is off: `o = h + d f`).
    #[inline(always)]
    pub fn step(&self, o: &mut [T], h: &[T], f: &[T], xi: &[f64], aux: &[f64], dt: &[T]) {
        let n = o.len();
        let (h, f, dt, sq) = (&h[..n], &f[..n], &dt[..n], &self.sq[..n]);
        if !self.on {
            for i in 0..n {
                o[i] = h[i] + dt[i] * f[i];
            }
            return;
        }
        let xi = &xi[..n];
        // One loop per form, so that each compiles to straight-line code.
        match self.form {
            NoiseForm::Diag => {
                for i in 0..n {
                    o[i] =
                        self.state_unit(NoiseForm::Diag, h[i], f[i], dt[i], sq[i], xi[i], aux, i);
                }
            }
            NoiseForm::Scalar => {
                for i in 0..n {
                    o[i] =
                        self.state_unit(NoiseForm::Scalar, h[i], f[i], dt[i], sq[i], xi[i], aux, i);
                }
            }
            NoiseForm::Code => {
                let aux = &aux[..n];
                for i in 0..n {
                    o[i] =
                        self.state_unit(NoiseForm::Code, h[i], f[i], dt[i], sq[i], xi[i], aux, i);
                }
            }
        }
    }

    /// [`Increment::step`] for the diag form with the normals drawn here from the
    /// example's stream, sixteen at a time ([`Stream::normals`], the same values as
    /// [`crate::rng::fill_normal`]), each run used right after it is drawn.
    #[inline(always)]
    pub fn step_diag_streamed(&self, o: &mut [T], h: &[T], f: &[T], rng: &mut Stream, dt: &[T]) {
        let n = o.len();
        let (h, f, dt, sq) = (&h[..n], &f[..n], &dt[..n], &self.sq[..n]);
        let mut xi = [0.0; NORMALS_PER_CALL];
        let mut start = 0;
        while start < n {
            let len = (n - start).min(NORMALS_PER_CALL);
            rng.normals(&mut xi);
            let run = start..start + len;
            let (o, h, f) = (&mut o[run.clone()], &h[run.clone()], &f[run.clone()]);
            let (dt, sq, xi) = (&dt[run.clone()], &sq[run], &xi[..len]);
            for i in 0..len {
                o[i] = self.state_unit(NoiseForm::Diag, h[i], f[i], dt[i], sq[i], xi[i], &[], i);
            }
            start += len;
        }
    }

    /// `gain_i = dn_i/dh_i`, the noise's multiplier of a tangent vector: `sq sigma2 xi_i`
    /// (diag), `sq sigma2 zeta` (scalar), 0 (code, whose noise does not depend on h).
    #[inline(always)]
    pub fn gain_unit(&self, form: NoiseForm, sq: T, xi: f64, aux: &[f64]) -> T {
        match form {
            NoiseForm::Diag => sq * self.s2 * T::of(xi),
            NoiseForm::Scalar => sq * self.s2 * T::of(aux[0]),
            NoiseForm::Code => T::zero(),
        }
    }

    /// One unit's tangent step `q + d m (J q)_i + gain_i q` with `jq = (J q)_i` (noise
    /// on; see [`Increment::tangent_unit_off`] without noise).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn tangent_unit(
        &self,
        form: NoiseForm,
        q: T,
        jq: T,
        dt: T,
        sq: T,
        xi: f64,
        aux: &[f64],
        i: usize,
    ) -> T {
        match form {
            NoiseForm::Code => q + dt * self.drift_factor(form, aux, i) * jq,
            _ => q + dt * jq + self.gain_unit(form, sq, xi, aux) * q,
        }
    }

    /// The deterministic tangent step `q + d (J q)_i`.
    #[inline(always)]
    pub fn tangent_unit_off(q: T, jq: T, dt: T) -> T {
        q + dt * jq
    }

    /// `dn_i/dd_i = n_i / (2 d_i)`: `eps (sigma1 + sigma2 h) xi / (2 sqrt d)` (diag),
    /// `eps (sigma1 xi + sigma2 h zeta) / (2 sqrt d)` (scalar), 0 (code: no `sqrt(d)`).
    #[inline(always)]
    pub fn step_derivative_unit(&self, form: NoiseForm, h: T, dt: T, xi: f64, aux: &[f64]) -> T {
        let two = T::of(2.0);
        match form {
            NoiseForm::Diag => self.eps * (self.s1 + self.s2 * h) * T::of(xi) / (two * dt.sqrt()),
            NoiseForm::Scalar => {
                self.eps * (self.s1 * T::of(xi) + self.s2 * h * T::of(aux[0])) / (two * dt.sqrt())
            }
            NoiseForm::Code => T::zero(),
        }
    }
}

/// The per-`eps^2` standard deviation `s_i` of one step's noise on unit `i` (see the
/// module docs), from the levels of `noise`, `sqrt(d_i)`, the state `h_i` and, for the
/// `code` form, the drift step `d_i f_i` of the mean-factor path.
///
/// ```
/// use nrnn::model::{increment::covariance_sd, NoiseForm, NoiseSpec};
/// let nz = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// assert_eq!(covariance_sd(&nz, 2.0, 0.4, 0.0), 2.0 * (1.0 + 0.5 * 0.4));
/// ```
#[inline(always)]
pub fn covariance_sd(noise: &NoiseSpec, sqrt_d: f64, h: f64, d_f: f64) -> f64 {
    let (s1, s2) = (noise.sigma1, noise.sigma2);
    match noise.form {
        NoiseForm::Diag => sqrt_d * (s1 + s2 * h),
        NoiseForm::Scalar => sqrt_d * s1,
        NoiseForm::Code => (s1 * s1 + s2 * s2 * d_f * d_f / 12.0).sqrt(),
    }
}

/// The shared column `c_i = sqrt(d_i) sigma2 h_i` of the per-`eps^2` covariance
/// (`scalar` form: one Brownian motion moves every unit); `None` for the other forms.
///
/// ```
/// use nrnn::model::{increment::covariance_shared, NoiseForm, NoiseSpec};
/// let nz = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
/// assert_eq!(covariance_shared(&nz, 2.0, 0.4), Some(2.0 * 0.5 * 0.4));
/// ```
#[inline(always)]
pub fn covariance_shared(noise: &NoiseSpec, sqrt_d: f64, h: f64) -> Option<f64> {
    match noise.form {
        NoiseForm::Scalar => Some(sqrt_d * noise.sigma2 * h),
        _ => None,
    }
}

/// One unit's pathwise noise terms per eps, `(n1, n2)` (see the module docs): the
/// first-order noise at the deterministic state `hbar` and its derivative along the
/// first-order response `h1`. `fbar` is the drift of the mean-factor path and `jh1 =
/// (J h1)_i` (both read by the `code` form only), `d` the model's own step.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn pathwise_unit(
    noise: &NoiseSpec,
    sqrt_d: f64,
    d: f64,
    hbar: f64,
    fbar: f64,
    h1: f64,
    jh1: f64,
    xi: f64,
    aux: &[f64],
    i: usize,
) -> (f64, f64) {
    let (s1, s2) = (noise.sigma1, noise.sigma2);
    match noise.form {
        NoiseForm::Diag => (sqrt_d * (s1 + s2 * hbar) * xi, sqrt_d * s2 * h1 * xi),
        NoiseForm::Scalar => {
            let zeta = aux[0];
            (
                sqrt_d * (s1 * xi + s2 * hbar * zeta),
                sqrt_d * s2 * h1 * zeta,
            )
        }
        NoiseForm::Code => {
            let w = aux[i] - 0.5;
            (s1 * xi - s2 * w * d * fbar, -s2 * w * d * jh1)
        }
    }
}

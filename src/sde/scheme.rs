//! One-step schemes: Euler-Maruyama, Milstein, stochastic Heun.

use super::{NoiseKind, Sde};
use nalgebra::{DMatrix, DVector};

/// A one-step method `x_{k+1} = Phi(t_k, dt, x_k, dW_k)` for `dX = f dt + g dW`.
///
/// Orders are the classical ones for smooth coefficients: strong order `p` means
/// `E|X_T - x_n| = O(dt^p)` on the same Brownian path, weak order `q` means
/// `|E phi(X_T) - E phi(x_n)| = O(dt^q)` for smooth `phi`. The time loop belongs to
/// [`super::integrate`], which checks [`Scheme::supports`] before stepping.
///
/// ```
/// use nrnn::sde::{EulerMaruyama, Milstein, NoiseKind, Scheme, StochasticHeun};
/// let schemes: [&dyn Scheme; 3] = [&EulerMaruyama, &Milstein, &StochasticHeun];
/// for s in schemes {
///     assert!(s.supports(NoiseKind::Scalar));
///     assert_eq!(s.weak_order(), 1.0);
/// }
/// assert!(!Milstein.supports(NoiseKind::General));
/// ```
pub trait Scheme {
    /// Short lowercase name used in errors and reports, e.g. `"milstein"`.
    fn name(&self) -> &'static str;

    /// Strong order for general (supported) noise.
    fn strong_order(&self) -> f64;

    /// Strong order for a given noise kind (defaults to [`Scheme::strong_order`]); some
    /// schemes gain order on additive or commutative noise.
    ///
    /// ```
    /// use nrnn::sde::{EulerMaruyama, NoiseKind, Scheme};
    /// assert_eq!(EulerMaruyama.strong_order_for(NoiseKind::Additive), 1.0);
    /// assert_eq!(EulerMaruyama.strong_order_for(NoiseKind::Scalar), 0.5);
    /// ```
    fn strong_order_for(&self, kind: NoiseKind) -> f64 {
        let _ = kind;
        self.strong_order()
    }

    /// Weak order.
    fn weak_order(&self) -> f64;

    /// Whether the scheme applies to noise of this kind.
    fn supports(&self, kind: NoiseKind) -> bool;

    /// Whether the scheme converges to the Stratonovich solution
    /// `dX = f dt + g o dW` (`true`) or to the Itô solution (`false`, the default).
    /// The two coincide for additive noise.
    ///
    /// ```
    /// use nrnn::sde::{EulerMaruyama, Scheme, StochasticHeun};
    /// assert!(!EulerMaruyama.is_stratonovich());
    /// assert!(StochasticHeun.is_stratonovich());
    /// ```
    fn is_stratonovich(&self) -> bool {
        false
    }

    /// One step from `(t, x)` with step `dt` and Brownian increment `dw` (length
    /// `noise_dim`), writing `x_{k+1}` into `out` (resized to `dim` if needed).
    /// Assumes [`Scheme::supports`]`(sde.noise_kind())`; [`super::integrate`] checks it.
    fn step(
        &self,
        sde: &dyn Sde,
        t: f64,
        dt: f64,
        x: &DVector<f64>,
        dw: &DVector<f64>,
        out: &mut DVector<f64>,
    );
}

/// Make `out` a vector of length `d`.
fn fit(out: &mut DVector<f64>, d: usize) {
    if out.len() != d {
        *out = DVector::zeros(d);
    }
}

/// `out = x + f(t, x) dt + g(t, x) dw` (resizing `out` to `dim`); returns `(f, g)` for reuse.
fn euler_into(
    sde: &dyn Sde,
    t: f64,
    dt: f64,
    x: &DVector<f64>,
    dw: &DVector<f64>,
    out: &mut DVector<f64>,
) -> (DVector<f64>, DMatrix<f64>) {
    let (d, m) = (sde.dim(), sde.noise_dim());
    let mut f = DVector::zeros(d);
    let mut g = DMatrix::zeros(d, m);
    sde.drift(t, x, &mut f);
    sde.diffusion(t, x, &mut g);
    fit(out, d);
    out.copy_from(x);
    out.axpy(dt, &f, 1.0);
    out.gemv(1.0, &g, dw, 1.0);
    (f, g)
}

/// Euler-Maruyama, the Itô scheme
///
/// ```text
/// x_{k+1} = x_k + f(t_k, x_k) dt + g(t_k, x_k) dW_k.
/// ```
///
/// Strong order 0.5 in general and 1.0 for additive noise (the Milstein correction
/// vanishes), weak order 1.0. Supports every noise kind.
///
/// ```
/// use nalgebra::DVector;
/// use nrnn::sde::{EulerMaruyama, GeometricBrownianMotion, Scheme};
/// let gbm = GeometricBrownianMotion::new(1.0, 2.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.1));
/// let mut out = DVector::zeros(1);
/// EulerMaruyama.step(&gbm, 0.0, 0.01, &x, &dw, &mut out);
/// assert!((out[0] - (1.0 + 1.0 * 0.01 + 2.0 * 0.1)).abs() < 1e-12);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EulerMaruyama;

impl Scheme for EulerMaruyama {
    fn name(&self) -> &'static str {
        "euler-maruyama"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn strong_order_for(&self, kind: NoiseKind) -> f64 {
        match kind {
            NoiseKind::Additive => 1.0,
            _ => 0.5,
        }
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn supports(&self, _kind: NoiseKind) -> bool {
        true
    }
    fn step(
        &self,
        sde: &dyn Sde,
        t: f64,
        dt: f64,
        x: &DVector<f64>,
        dw: &DVector<f64>,
        out: &mut DVector<f64>,
    ) {
        euler_into(sde, t, dt, x, dw, out);
    }
}

/// Milstein, the Itô scheme with the first-order correction for commutative noise:
///
/// ```text
/// x_{k+1} = x_k + f dt + g dW_k + 1/2 L(x_k) (dW_k^2 - dt),
/// ```
///
/// where, by noise kind, `L = 0` (additive), `L_i = g_ii dg_ii/dx_i` applied to
/// `dW_{k,i}` (diagonal, from [`Sde::diffusion_diag_derivative`]) or `L = (dg/dx) g`
/// with the scalar `dW_k` (scalar, from [`Sde::diffusion_scalar_derivative`]). Strong
/// order 1.0, weak order 1.0. General noise is not supported (it would need Lévy areas).
///
/// ```
/// use nalgebra::DVector;
/// use nrnn::sde::{GeometricBrownianMotion, Milstein, Scheme};
/// let gbm = GeometricBrownianMotion::new(0.0, 1.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.2));
/// let mut out = DVector::zeros(1);
/// Milstein.step(&gbm, 0.0, 0.01, &x, &dw, &mut out);
/// // 1 + 0.2 + 1/2 * 1 * 1 * (0.04 - 0.01)
/// assert!((out[0] - 1.215).abs() < 1e-12);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milstein;

impl Scheme for Milstein {
    fn name(&self) -> &'static str {
        "milstein"
    }
    fn strong_order(&self) -> f64 {
        1.0
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn supports(&self, kind: NoiseKind) -> bool {
        kind != NoiseKind::General
    }
    /// # Panics
    /// On general noise, which [`super::integrate`] rejects with an error beforehand.
    fn step(
        &self,
        sde: &dyn Sde,
        t: f64,
        dt: f64,
        x: &DVector<f64>,
        dw: &DVector<f64>,
        out: &mut DVector<f64>,
    ) {
        let (d, m) = (sde.dim(), sde.noise_dim());
        let (_, g) = euler_into(sde, t, dt, x, dw, out);
        match sde.noise_kind() {
            NoiseKind::Additive => {}
            NoiseKind::Diagonal => {
                let mut dg = DVector::zeros(d);
                sde.diffusion_diag_derivative(t, x, &mut dg);
                for i in 0..d.min(m) {
                    out[i] += 0.5 * g[(i, i)] * dg[i] * (dw[i] * dw[i] - dt);
                }
            }
            NoiseKind::Scalar => {
                let mut c = DVector::zeros(d);
                sde.diffusion_scalar_derivative(t, x, &mut c);
                out.axpy(0.5 * (dw[0] * dw[0] - dt), &c, 1.0);
            }
            NoiseKind::General => panic!(
                "milstein does not support general noise (use nrnn::sde::integrate, which returns an error)"
            ),
        }
    }
}

/// Stochastic Heun, the predictor-corrector (trapezoidal) scheme
///
/// ```text
/// x~      = x_k + f(t_k, x_k) dt + g(t_k, x_k) dW_k,
/// x_{k+1} = x_k + 1/2 (f(t_k, x_k) + f(t_{k+1}, x~)) dt + 1/2 (g(t_k, x_k) + g(t_{k+1}, x~)) dW_k.
/// ```
///
/// Averaging `g` over the step makes it converge to the **Stratonovich** solution of
/// `dX = f dt + g o dW` (equivalently the Itô SDE with drift
/// `f + 1/2 sum_j (dg_j/dx) g_j`), not to the Itô solution of the same coefficients.
/// Strong order 0.5 for general noise and 1.0 for additive or commutative (scalar,
/// diagonal) noise in the Stratonovich sense; weak order 1.0. Supports every noise kind.
///
/// ```
/// use nalgebra::DVector;
/// use nrnn::sde::{GeometricBrownianMotion, NoiseKind, Scheme, StochasticHeun};
/// let gbm = GeometricBrownianMotion::new(0.0, 1.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.2));
/// let mut out = DVector::zeros(1);
/// StochasticHeun.step(&gbm, 0.0, 0.01, &x, &dw, &mut out);
/// // predictor 1.2, corrector 1 + 1/2 (1 + 1.2) 0.2
/// assert!((out[0] - 1.22).abs() < 1e-12);
/// assert_eq!(StochasticHeun.strong_order_for(NoiseKind::Scalar), 1.0);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StochasticHeun;

impl Scheme for StochasticHeun {
    fn name(&self) -> &'static str {
        "stochastic-heun"
    }
    fn strong_order(&self) -> f64 {
        0.5
    }
    fn strong_order_for(&self, kind: NoiseKind) -> f64 {
        match kind {
            NoiseKind::General => 0.5,
            NoiseKind::Additive | NoiseKind::Diagonal | NoiseKind::Scalar => 1.0,
        }
    }
    fn weak_order(&self) -> f64 {
        1.0
    }
    fn supports(&self, _kind: NoiseKind) -> bool {
        true
    }
    fn is_stratonovich(&self) -> bool {
        true
    }
    fn step(
        &self,
        sde: &dyn Sde,
        t: f64,
        dt: f64,
        x: &DVector<f64>,
        dw: &DVector<f64>,
        out: &mut DVector<f64>,
    ) {
        let (d, m) = (sde.dim(), sde.noise_dim());
        let mut pred = DVector::zeros(d);
        let (f, g) = euler_into(sde, t, dt, x, dw, &mut pred);
        let mut f2 = DVector::zeros(d);
        let mut g2 = DMatrix::zeros(d, m);
        sde.drift(t + dt, &pred, &mut f2);
        sde.diffusion(t + dt, &pred, &mut g2);
        fit(out, d);
        out.copy_from(x);
        out.axpy(0.5 * dt, &f, 1.0);
        out.axpy(0.5 * dt, &f2, 1.0);
        out.gemv(0.5, &g, dw, 1.0);
        out.gemv(0.5, &g2, dw, 1.0);
    }
}

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
    /// The scheme's name, orders and calculus.
    fn declared(&self) -> Declared;

    /// One step `x_{k+1} = Phi(t_k, dt, x_k, dW_k)` (`dW_k` of length `noise_dim`), written
    /// into `out` (resized to `dim` if needed). Assumes
    /// [`Scheme::supports`]`(sde.noise_kind())`; [`super::integrate`] checks it.
    fn step(&self, sde: &dyn Sde, s: StepIn, out: &mut DVector<f64>);

    /// Short lowercase name used in errors and reports, e.g. `"milstein"`.
    fn name(&self) -> &'static str {
        self.declared().name
    }

    /// Strong order for general noise: the lowest of [`Scheme::strong_order_for`] over the
    /// supported kinds.
    fn strong_order(&self) -> f64 {
        self.declared()
            .strong
            .iter()
            .flatten()
            .fold(f64::INFINITY, |a, &b| a.min(b))
    }

    /// Strong order for a given noise kind; some schemes gain order on additive or
    /// commutative noise (NaN for an unsupported kind).
    ///
    /// ```
    /// use nrnn::sde::{EulerMaruyama, NoiseKind, Scheme};
    /// assert_eq!(EulerMaruyama.strong_order_for(NoiseKind::Additive), 1.0);
    /// assert_eq!(EulerMaruyama.strong_order_for(NoiseKind::Scalar), 0.5);
    /// ```
    fn strong_order_for(&self, kind: NoiseKind) -> f64 {
        self.declared().strong[kind as usize].unwrap_or(f64::NAN)
    }

    /// Weak order.
    fn weak_order(&self) -> f64 {
        self.declared().weak
    }

    /// Whether the scheme applies to noise of this kind.
    fn supports(&self, kind: NoiseKind) -> bool {
        self.declared().strong[kind as usize].is_some()
    }

    /// Whether the scheme converges to the Stratonovich solution
    /// `dX = f dt + g o dW` (`true`) or to the Itô solution (`false`).
    /// The two coincide for additive noise.
    ///
    /// ```
    /// use nrnn::sde::{EulerMaruyama, Scheme, StochasticHeun};
    /// assert!(!EulerMaruyama.is_stratonovich());
    /// assert!(StochasticHeun.is_stratonovich());
    /// ```
    fn is_stratonovich(&self) -> bool {
        self.declared().stratonovich
    }
}

/// What a scheme declares of itself ([`Scheme::declared`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Declared {
    /// Short lowercase name.
    pub name: &'static str,
    /// Strong order per noise kind, indexed by [`NoiseKind`] (additive, diagonal, scalar,
    /// general); `None`: the kind is not supported.
    pub strong: [Option<f64>; 4],
    /// Weak order.
    pub weak: f64,
    /// Whether the scheme converges to the Stratonovich solution.
    pub stratonovich: bool,
}

impl Declared {
    /// The declaration of a scheme: name, strong orders by kind, weak order, calculus.
    pub const fn new(
        name: &'static str,
        strong: [Option<f64>; 4],
        weak: f64,
        stratonovich: bool,
    ) -> Declared {
        Declared {
            name,
            strong,
            weak,
            stratonovich,
        }
    }
}

/// Strong order 1/2 (in [`Declared::strong`]).
const HALF: Option<f64> = Some(0.5);
/// Strong order 1 (in [`Declared::strong`]).
const ONE: Option<f64> = Some(1.0);

/// One step's data for [`Scheme::step`]: time `t_k`, step `dt`, state `x_k` and Brownian
/// increment `dW_k`.
#[derive(Debug, Clone, Copy)]
pub struct StepIn<'a> {
    /// `t_k`.
    pub t: f64,
    /// `dt`.
    pub dt: f64,
    /// `x_k`.
    pub x: &'a DVector<f64>,
    /// `dW_k`.
    pub dw: &'a DVector<f64>,
}

/// Make `out` a vector of length `d`.
fn fit(out: &mut DVector<f64>, d: usize) {
    if out.len() != d {
        *out = DVector::zeros(d);
    }
}

/// `out = x + f(t, x) dt + g(t, x) dw` (resizing `out` to `dim`); returns `(f, g)` for reuse.
fn euler_into(sde: &dyn Sde, s: StepIn, out: &mut DVector<f64>) -> (DVector<f64>, DMatrix<f64>) {
    let StepIn { t, dt, x, dw } = s;
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
/// use nrnn::sde::{EulerMaruyama, GeometricBrownianMotion, Scheme, StepIn};
/// let gbm = GeometricBrownianMotion::new(1.0, 2.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.1));
/// let mut out = DVector::zeros(1);
/// EulerMaruyama.step(&gbm, StepIn { t: 0.0, dt: 0.01, x: &x, dw: &dw }, &mut out);
/// assert!((out[0] - (1.0 + 1.0 * 0.01 + 2.0 * 0.1)).abs() < 1e-12);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EulerMaruyama;

impl Scheme for EulerMaruyama {
    fn declared(&self) -> Declared {
        Declared::new("euler-maruyama", [ONE, HALF, HALF, HALF], 1.0, false)
    }
    fn step(&self, sde: &dyn Sde, s: StepIn, out: &mut DVector<f64>) {
        euler_into(sde, s, out);
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
/// use nrnn::sde::{GeometricBrownianMotion, Milstein, Scheme, StepIn};
/// let gbm = GeometricBrownianMotion::new(0.0, 1.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.2));
/// let mut out = DVector::zeros(1);
/// Milstein.step(&gbm, StepIn { t: 0.0, dt: 0.01, x: &x, dw: &dw }, &mut out);
/// // 1 + 0.2 + 1/2 * 1 * 1 * (0.04 - 0.01)
/// assert!((out[0] - 1.215).abs() < 1e-12);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Milstein;

impl Scheme for Milstein {
    fn declared(&self) -> Declared {
        Declared::new("milstein", [ONE, ONE, ONE, None], 1.0, false)
    }
    /// # Panics
    /// On general noise, which [`super::integrate`] rejects with an error beforehand.
    fn step(&self, sde: &dyn Sde, s: StepIn, out: &mut DVector<f64>) {
        let (_, g) = euler_into(sde, s, out);
        let (d, m, x, dw, dt, t) = (sde.dim(), sde.noise_dim(), s.x, s.dw, s.dt, s.t);
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
/// use nrnn::sde::{GeometricBrownianMotion, NoiseKind, Scheme, StepIn, StochasticHeun};
/// let gbm = GeometricBrownianMotion::new(0.0, 1.0)?;
/// let (x, dw) = (DVector::from_element(1, 1.0), DVector::from_element(1, 0.2));
/// let mut out = DVector::zeros(1);
/// StochasticHeun.step(&gbm, StepIn { t: 0.0, dt: 0.01, x: &x, dw: &dw }, &mut out);
/// // predictor 1.2, corrector 1 + 1/2 (1 + 1.2) 0.2
/// assert!((out[0] - 1.22).abs() < 1e-12);
/// assert_eq!(StochasticHeun.strong_order_for(NoiseKind::Scalar), 1.0);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StochasticHeun;

impl Scheme for StochasticHeun {
    fn declared(&self) -> Declared {
        Declared::new("stochastic-heun", [ONE, ONE, ONE, HALF], 1.0, true)
    }
    fn step(&self, sde: &dyn Sde, s: StepIn, out: &mut DVector<f64>) {
        let mut pred = DVector::zeros(sde.dim());
        let (f, g) = euler_into(sde, s, &mut pred);
        let StepIn { t, dt, x, dw } = s;
        let (d, m) = (sde.dim(), sde.noise_dim());
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

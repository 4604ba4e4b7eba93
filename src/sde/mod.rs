//! Stochastic differential equations: terms, Brownian paths, one-step schemes, one integrate loop.
//!
//! An SDE in dimension `d` driven by an `m`-dimensional Brownian motion `W`,
//!
//! ```text
//! dX_t = f(t, X_t) dt + g(t, X_t) dW_t,      X_0 = x0,   f: R x R^d -> R^d,  g: R x R^d -> R^{d x m},
//! ```
//!
//! is read in the Itô sense unless a scheme says otherwise ([`StochasticHeun`] converges
//! to the Stratonovich solution). As in diffrax and torchsde, the three ingredients are
//! kept apart:
//!
//! * the **terms** `f` and `g`: the [`Sde`] trait, with the [`NoiseKind`] that tells a
//!   scheme which structure of `g` it may exploit;
//! * the **Brownian path**: [`BrownianPath`], drawn once on the finest dyadic grid and
//!   coarsened by summing increments, so that every step size sees the *same* path;
//! * the **solver**: the [`Scheme`] trait (one step `x_k -> x_{k+1}`), implemented by
//!   [`EulerMaruyama`], [`Milstein`] and [`StochasticHeun`].
//!
//! One function owns the time loop: [`integrate`]. It checks that the scheme supports the
//! noise kind and that all shapes agree, then steps through the path at the requested
//! level. [`convergence_order`] fits the log-log slope used by the order tests.
//!
//! ```
//! use nalgebra::DVector;
//! use nrnn::sde::{integrate, BrownianPath, GeometricBrownianMotion, Keep, Milstein};
//!
//! let gbm = GeometricBrownianMotion::new(1.5, 1.0)?;
//! let path = BrownianPath::new(1.0, 10, 1, 7, 0)?;
//! let x0 = DVector::from_element(1, 1.0);
//! let traj = integrate(&gbm, &Milstein, &x0, &path, 10, Keep::Final)?;
//! let exact = gbm.exact(1.0, 1.0, path.value_at_end()[0]);
//! assert!((traj.final_state()[0] - exact).abs() < 0.05 * exact.max(1.0));
//! # Ok::<(), nrnn::Error>(())
//! ```

mod brownian;
mod examples;
mod scheme;

pub use brownian::BrownianPath;
pub use examples::{GeometricBrownianMotion, OrnsteinUhlenbeck};
pub use scheme::{Declared, EulerMaruyama, Milstein, Scheme, StepIn, StochasticHeun};

use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use std::fmt;

/// The structure of the diffusion matrix `g(t, x)` (shape `dim x noise_dim`), which
/// decides which schemes apply and at which order.
///
/// ```
/// use nrnn::sde::NoiseKind;
/// assert_eq!(NoiseKind::Diagonal.to_string(), "diagonal");
/// assert_eq!(NoiseKind::ALL.len(), 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoiseKind {
    /// `g(t, x) = g(t)` does not depend on the state, any shape `d x m`. Itô and
    /// Stratonovich solutions coincide and the Milstein correction vanishes, so
    /// Euler-Maruyama already has strong order 1.
    Additive,
    /// `m = d` and `g = diag(g_11(t, x_1), ..., g_dd(t, x_d))`: each coordinate has its
    /// own Brownian motion and `g_ii` depends on `x_i` only (not on the other
    /// coordinates), so the noise is commutative and Milstein needs no Lévy areas.
    Diagonal,
    /// `m = 1`: one Brownian motion drives every coordinate through the column
    /// `g(t, x) in R^{d x 1}`. Commutative, Milstein needs no Lévy areas.
    Scalar,
    /// No structure: `d x m` with state dependence. Strong order 1 would require Lévy
    /// areas, which no scheme here simulates.
    General,
}

impl NoiseKind {
    /// All four kinds, in declaration order.
    ///
    /// ```
    /// use nrnn::sde::NoiseKind;
    /// assert!(NoiseKind::ALL.contains(&NoiseKind::General));
    /// ```
    pub const ALL: [NoiseKind; 4] = [
        NoiseKind::Additive,
        NoiseKind::Diagonal,
        NoiseKind::Scalar,
        NoiseKind::General,
    ];
}

impl fmt::Display for NoiseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoiseKind::Additive => "additive",
            NoiseKind::Diagonal => "diagonal",
            NoiseKind::Scalar => "scalar",
            NoiseKind::General => "general",
        })
    }
}

/// The terms of an SDE `dX = f(t, X) dt + g(t, X) dW` in dimension [`Sde::dim`] driven by
/// a Brownian motion of dimension [`Sde::noise_dim`].
///
/// Implementors write every entry of the `out` buffers they receive (the buffers have
/// the right shape but their content is unspecified). The two derivative methods used
/// by [`Milstein`] have finite-difference defaults; override them with exact
/// derivatives when they are known.
///
/// ```
/// use nalgebra::{DMatrix, DVector};
/// use nrnn::sde::{NoiseKind, Sde};
///
/// /// dX = -X dt + 0.3 X dW (diagonal noise in 2 dimensions).
/// struct Damped;
/// impl Sde for Damped {
///     fn dim(&self) -> usize { 2 }
///     fn noise_dim(&self) -> usize { 2 }
///     fn noise_kind(&self) -> NoiseKind { NoiseKind::Diagonal }
///     fn drift(&self, _t: f64, x: &DVector<f64>, out: &mut DVector<f64>) { out.copy_from(&(-x)); }
///     fn diffusion(&self, _t: f64, x: &DVector<f64>, out: &mut DMatrix<f64>) {
///         out.fill(0.0);
///         out.set_diagonal(&(x * 0.3));
///     }
/// }
/// let x = DVector::from_vec(vec![1.0, -2.0]);
/// let mut dg = DVector::zeros(2);
/// Damped.diffusion_diag_derivative(0.0, &x, &mut dg); // finite-difference default
/// assert!((dg[0] - 0.3).abs() < 1e-8 && (dg[1] - 0.3).abs() < 1e-8);
/// ```
pub trait Sde {
    /// State dimension `d`.
    fn dim(&self) -> usize;

    /// Brownian dimension `m` (columns of `g`).
    fn noise_dim(&self) -> usize;

    /// Structure of `g`; see [`NoiseKind`].
    fn noise_kind(&self) -> NoiseKind;

    /// Drift: `out = f(t, x)`, a vector of length `d`.
    fn drift(&self, t: f64, x: &DVector<f64>, out: &mut DVector<f64>);

    /// Diffusion: `out = g(t, x)`, a `d x m` matrix.
    fn diffusion(&self, t: f64, x: &DVector<f64>, out: &mut DMatrix<f64>);

    /// Derivative of the diagonal of the diffusion along its own coordinate:
    /// `out_i = d g_{i j(i)} / d x_i (t, x)` with `j(i) = i` (diagonal noise) or
    /// `j(i) = 0` when `m = 1` (scalar noise); entries with `i >= m` (no diagonal
    /// element) are set to 0, and additive noise gives 0.
    ///
    /// Used by [`Milstein`] for diagonal noise, whose correction is
    /// `1/2 g_ii (d g_ii / d x_i) (dW_i^2 - dt)`.
    ///
    /// **Default**: a central finite difference,
    /// `(g_{ij}(t, x + h e_i) - g_{ij}(t, x - h e_i)) / (2h)` with
    /// `h = FD_STEP * max(1, |x_i|)` ([`crate::prec::FD_STEP`]), truncation error
    /// `O(h^2)`; it costs `2d` calls to [`Sde::diffusion`]. Override it with the exact
    /// derivative when it is known.
    ///
    /// ```
    /// use nalgebra::DVector;
    /// use nrnn::sde::{GeometricBrownianMotion, Sde};
    /// let gbm = GeometricBrownianMotion::new(0.0, 0.4)?;
    /// let mut dg = DVector::zeros(1);
    /// gbm.diffusion_diag_derivative(0.0, &DVector::from_element(1, 3.0), &mut dg);
    /// assert_eq!(dg[0], 0.4); // d(sigma x)/dx = sigma, exact override
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    fn diffusion_diag_derivative(&self, t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        let d = self.dim();
        let m = self.noise_dim();
        if self.noise_kind() == NoiseKind::Additive {
            out.fill(0.0);
            return;
        }
        let mut gp = DMatrix::zeros(d, m);
        let mut gm = DMatrix::zeros(d, m);
        let mut xs = x.clone();
        for i in 0..d {
            let j = if m == 1 { 0 } else { i };
            if j >= m {
                out[i] = 0.0;
                continue;
            }
            let h = crate::prec::FD_STEP * x[i].abs().max(1.0);
            let (xp, xm) = (x[i] + h, x[i] - h);
            xs[i] = xp;
            self.diffusion(t, &xs, &mut gp);
            xs[i] = xm;
            self.diffusion(t, &xs, &mut gm);
            xs[i] = x[i];
            out[i] = (gp[(i, j)] - gm[(i, j)]) / (xp - xm);
        }
    }

    /// Derivative of the noise column along itself, `out = (dg/dx)(t, x) g(t, x)`, i.e.
    /// `out_i = sum_j g_j d g_i / d x_j` for scalar noise (`m = 1`; for other shapes
    /// column 0 is used). Additive noise gives 0.
    ///
    /// Used by [`Milstein`] for scalar noise, whose correction is
    /// `1/2 (dg/dx) g (dW^2 - dt)`.
    ///
    /// **Default**: for `d = 1`, `g * diffusion_diag_derivative` (so an exact
    /// [`Sde::diffusion_diag_derivative`] is reused); otherwise a central finite
    /// difference along the direction `v = g(t, x)`:
    /// `(g(t, x + h v) - g(t, x - h v)) / (2h)` with
    /// `h = FD_STEP * max(1, |x|) / |v|`, so that the displacement has length
    /// `FD_STEP * max(1, |x|)`. Override it when the product is known.
    ///
    /// ```
    /// use nalgebra::DVector;
    /// use nrnn::sde::{GeometricBrownianMotion, Sde};
    /// let gbm = GeometricBrownianMotion::new(0.0, 0.5)?;
    /// let mut c = DVector::zeros(1);
    /// gbm.diffusion_scalar_derivative(0.0, &DVector::from_element(1, 2.0), &mut c);
    /// assert_eq!(c[0], 0.5 * 0.5 * 2.0); // sigma * (sigma x)
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    fn diffusion_scalar_derivative(&self, t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        let d = self.dim();
        let m = self.noise_dim();
        if self.noise_kind() == NoiseKind::Additive || m == 0 {
            out.fill(0.0);
            return;
        }
        let mut g = DMatrix::zeros(d, m);
        self.diffusion(t, x, &mut g);
        if d == 1 {
            let mut dg = DVector::zeros(1);
            self.diffusion_diag_derivative(t, x, &mut dg);
            out[0] = g[(0, 0)] * dg[0];
            return;
        }
        let v: DVector<f64> = g.column(0).clone_owned();
        let vn = v.norm();
        if vn == 0.0 {
            out.fill(0.0);
            return;
        }
        let h = crate::prec::FD_STEP * x.norm().max(1.0) / vn;
        let mut gp = DMatrix::zeros(d, m);
        let mut gm = DMatrix::zeros(d, m);
        self.diffusion(t, &(x + &v * h), &mut gp);
        self.diffusion(t, &(x - &v * h), &mut gm);
        for i in 0..d {
            out[i] = (gp[(i, 0)] - gm[(i, 0)]) / (2.0 * h);
        }
    }
}

/// Which states [`integrate`] keeps.
///
/// ```
/// use nrnn::sde::Keep;
/// assert_ne!(Keep::Final, Keep::Every);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Only the final state `X_T` (times `[T]`, one state).
    Final,
    /// Every state on the grid `t_k = k dt`, `k = 0..=n` (n + 1 states, `x0` first).
    Every,
}

/// The output of [`integrate`]: grid times and the states at those times
/// (`states[i]` is the approximation of `X_{times[i]}`).
///
/// ```
/// use nalgebra::DVector;
/// use nrnn::sde::{integrate, BrownianPath, EulerMaruyama, Keep, OrnsteinUhlenbeck};
/// let ou = OrnsteinUhlenbeck::new(1.0, 0.0, 0.5)?;
/// let path = BrownianPath::new(2.0, 3, 1, 1, 0)?;
/// let x0 = DVector::from_element(1, 1.0);
/// let traj = integrate(&ou, &EulerMaruyama, &x0, &path, 3, Keep::Every)?;
/// assert_eq!(traj.times, vec![0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0]);
/// assert_eq!(traj.states.len(), 9);
/// assert_eq!(traj.final_time(), 2.0);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// Grid times `t_k = k dt` (only `T` for [`Keep::Final`]).
    pub times: Vec<f64>,
    /// States at those times.
    pub states: Vec<DVector<f64>>,
}

impl Trajectory {
    /// The last state, the approximation of `X_T`.
    ///
    /// ```
    /// use nalgebra::DVector;
    /// use nrnn::sde::{integrate, BrownianPath, EulerMaruyama, Keep, OrnsteinUhlenbeck};
    /// let ou = OrnsteinUhlenbeck::new(1.0, 0.0, 0.0)?; // no noise: x_{k+1} = (1 - dt) x_k
    /// let path = BrownianPath::new(1.0, 1, 1, 1, 0)?;
    /// let traj = integrate(&ou, &EulerMaruyama, &DVector::from_element(1, 1.0), &path, 1, Keep::Final)?;
    /// assert_eq!(traj.final_state()[0], 0.25);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn final_state(&self) -> &DVector<f64> {
        self.states
            .last()
            .expect("a trajectory holds at least one state")
    }

    /// The last time, `T`.
    ///
    /// ```
    /// use nalgebra::DVector;
    /// use nrnn::sde::{integrate, BrownianPath, EulerMaruyama, Keep, OrnsteinUhlenbeck};
    /// let ou = OrnsteinUhlenbeck::new(1.0, 0.0, 1.0)?;
    /// let path = BrownianPath::new(0.5, 2, 1, 1, 0)?;
    /// let traj = integrate(&ou, &EulerMaruyama, &DVector::zeros(1), &path, 0, Keep::Final)?;
    /// assert_eq!(traj.final_time(), 0.5);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn final_time(&self) -> f64 {
        *self
            .times
            .last()
            .expect("a trajectory holds at least one time")
    }
}

/// Check that `scheme` can integrate `sde`: the scheme supports the noise kind, and the
/// declared kind agrees with the shape (`m = d` for diagonal, `m = 1` for scalar noise,
/// `d >= 1`, `m >= 1`). [`integrate`] calls it first; the error names the scheme and the
/// noise kind.
///
/// ```
/// use nrnn::sde::{check_compatible, GeometricBrownianMotion, Milstein};
/// let gbm = GeometricBrownianMotion::new(1.0, 0.5)?;
/// assert!(check_compatible(&gbm, &Milstein).is_ok());
/// # Ok::<(), nrnn::Error>(())
/// ```
pub fn check_compatible(sde: &dyn Sde, scheme: &dyn Scheme) -> Result<()> {
    let (d, m, kind) = (sde.dim(), sde.noise_dim(), sde.noise_kind());
    if d == 0 {
        return Err(Error::param("sde.dim", d, "at least 1"));
    }
    if m == 0 {
        return Err(Error::param("sde.noise_dim", m, "at least 1"));
    }
    match kind {
        NoiseKind::Diagonal if m != d => {
            return Err(Error::param(
                "sde.noise_dim",
                m,
                &format!("equal to dim = {d} for diagonal noise"),
            ))
        }
        NoiseKind::Scalar if m != 1 => {
            return Err(Error::param("sde.noise_dim", m, "1 for scalar noise"))
        }
        _ => {}
    }
    if !scheme.supports(kind) {
        let supported: Vec<String> = NoiseKind::ALL
            .iter()
            .filter(|k| scheme.supports(**k))
            .map(|k| k.to_string())
            .collect();
        return Err(Error::param(
            "scheme",
            scheme.name(),
            &format!(
                "a scheme that supports {kind} noise ({} supports only {} noise)",
                scheme.name(),
                supported.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Integrate `sde` from `x0` at `t = 0` to `T = path.horizon()` with `scheme`, on the
/// grid `t_k = k dt`, `dt = T / 2^level`, using the increments
/// `dW_k = W(t_{k+1}) - W(t_k)` of `path` at that level:
///
/// ```text
/// x_{k+1} = scheme.step(sde, t_k, dt, x_k, dW_k),   k = 0 .. 2^level - 1.
/// ```
///
/// Errors: unsupported scheme / noise kind or inconsistent kind and shape (see
/// [`check_compatible`]), `x0` of the wrong length or non-finite, a path whose
/// `noise_dim` differs from the SDE's, `level > path.levels()`, and a non-finite state
/// (the error names the scheme, the step and the time).
///
/// ```
/// use nalgebra::DVector;
/// use nrnn::sde::{integrate, BrownianPath, EulerMaruyama, Keep, OrnsteinUhlenbeck};
/// let ou = OrnsteinUhlenbeck::new(2.0, 1.0, 0.3)?;
/// let path = BrownianPath::new(1.0, 8, 1, 3, 0)?;
/// let x0 = DVector::from_element(1, 0.0);
/// let coarse = integrate(&ou, &EulerMaruyama, &x0, &path, 4, Keep::Final)?;
/// let fine = integrate(&ou, &EulerMaruyama, &x0, &path, 8, Keep::Final)?;
/// // same path at both step sizes: the two answers are close
/// assert!((coarse.final_state()[0] - fine.final_state()[0]).abs() < 0.1);
/// # Ok::<(), nrnn::Error>(())
/// ```
pub fn integrate(
    sde: &dyn Sde,
    scheme: &dyn Scheme,
    x0: &DVector<f64>,
    path: &BrownianPath,
    level: usize,
    keep: Keep,
) -> Result<Trajectory> {
    check_compatible(sde, scheme)?;
    let (d, m) = (sde.dim(), sde.noise_dim());
    if x0.len() != d {
        return Err(Error::shape("x0", (x0.len(), 1), (d, 1)));
    }
    if !x0.iter().all(|v| v.is_finite()) {
        return Err(Error::param(
            "x0",
            format!("{:?}", x0.as_slice()),
            "finite entries",
        ));
    }
    if path.noise_dim() != m {
        return Err(Error::param(
            "path.noise_dim",
            path.noise_dim(),
            &format!("equal to sde.noise_dim = {m}"),
        ));
    }
    let increments = path.increments(level)?;
    let dt = path.dt(level);
    let n = increments.ncols();

    let mut x = x0.clone();
    let mut next = DVector::zeros(d);
    let mut dw = DVector::zeros(m);
    let (mut times, mut states) = match keep {
        Keep::Final => (Vec::with_capacity(1), Vec::with_capacity(1)),
        Keep::Every => {
            let mut times = Vec::with_capacity(n + 1);
            let mut states = Vec::with_capacity(n + 1);
            times.push(0.0);
            states.push(x.clone());
            (times, states)
        }
    };
    for k in 0..n {
        let t = k as f64 * dt;
        dw.copy_from(&increments.column(k));
        scheme.step(
            sde,
            StepIn {
                t,
                dt,
                x: &x,
                dw: &dw,
            },
            &mut next,
        );
        if !next.iter().all(|v| v.is_finite()) {
            return Err(Error::NonFinite {
                what: format!(
                    "{} state at step {} of {} (t = {})",
                    scheme.name(),
                    k + 1,
                    n,
                    (k + 1) as f64 * dt
                ),
            });
        }
        std::mem::swap(&mut x, &mut next);
        if keep == Keep::Every {
            times.push((k + 1) as f64 * dt);
            states.push(x.clone());
        }
    }
    if keep == Keep::Final {
        times.push(path.horizon());
        states.push(x);
    }
    Ok(Trajectory { times, states })
}

/// Least-squares slope of `ln err` against `ln dt`: the empirical convergence order `p`
/// in `err ~ C dt^p`,
///
/// ```text
/// p = sum_i (u_i - mean u)(v_i - mean v) / sum_i (u_i - mean u)^2,   u = ln dt, v = ln err.
/// ```
///
/// Errors if the slices differ in length, hold fewer than 2 points, contain a
/// non-positive or non-finite value, or if all `dt` are equal.
///
/// ```
/// use nrnn::sde::convergence_order;
/// let dt = [0.1, 0.05, 0.025];
/// let err: Vec<f64> = dt.iter().map(|h: &f64| 3.0 * h.sqrt()).collect();
/// assert!((convergence_order(&dt, &err)? - 0.5).abs() < 1e-12);
/// # Ok::<(), nrnn::Error>(())
/// ```
pub fn convergence_order(dt: &[f64], err: &[f64]) -> Result<f64> {
    if dt.len() != err.len() {
        return Err(Error::param(
            "err.len()",
            err.len(),
            &format!("equal to dt.len() = {}", dt.len()),
        ));
    }
    if dt.len() < 2 {
        return Err(Error::param("dt.len()", dt.len(), "at least 2 points"));
    }
    for (name, values) in [("dt", dt), ("err", err)] {
        if let Some(v) = values.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
            return Err(Error::param(name, v, "positive finite values"));
        }
    }
    let n = dt.len() as f64;
    let u: Vec<f64> = dt.iter().map(|v| v.ln()).collect();
    let v: Vec<f64> = err.iter().map(|v| v.ln()).collect();
    let (mu, mv) = (u.iter().sum::<f64>() / n, v.iter().sum::<f64>() / n);
    let sxy: f64 = u.iter().zip(&v).map(|(a, b)| (a - mu) * (b - mv)).sum();
    let sxx: f64 = u.iter().map(|a| (a - mu) * (a - mu)).sum();
    if sxx == 0.0 {
        return Err(Error::param(
            "dt",
            format!("{dt:?}"),
            "at least two distinct step sizes",
        ));
    }
    Ok(sxy / sxx)
}

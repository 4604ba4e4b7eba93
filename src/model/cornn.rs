//! The coupled oscillatory RNN, coRNN (Rusch and Mishra, ICLR 2021): the one home of its
//! step and the step's adjoint. The second-order ODE
//! `y'' = tanh(W y + W_z y' + V u + b) - gamma y - eps y'` is discretized as in their paper
//! and code (implicit-explicit Euler with step `dt`), hidden state `s = [y; z]`:
//!
//! ```text
//! t       = tanh(W y_k + W_z z_k + V x_k + b)
//! z_{k+1} = z_k + dt (t - gamma y_k - eps z_k)
//! y_{k+1} = y_k + dt z_{k+1}                        read out: y
//! ```
//!
//! `dt`, `gamma` and `eps` are fixed hyper-parameters ([`CornnHyper`]). The adjoint, from
//! `(dy', dz')` to `(dy, dz)`:
//!
//! ```text
//! dz* = dz' + dt dy',     dp = dt dz* (.) (1 - t^2)
//! dy  = dy' - dt gamma dz* + W^T dp,     dz = (1 - dt eps) dz* + W_z^T dp
//! dW += dp y^T,  dW_z += dp z^T,  dV += dp x^T,  db += dp,  dx_k = V^T dp
//! ```

use super::baseline::{gemv_acc, gemv_t_acc, outer_acc, CellBlocks, StepAt, StepGrad};
use crate::error::{check_range, Error, Result};
use crate::linalg::Real;
use nalgebra::DMatrix;

/// The fixed hyper-parameters of the coRNN: step `dt`, stiffness `gamma`, damping `eps`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CornnHyper {
    /// Time step dt, in (0, 10].
    pub dt: f64,
    /// Restoring force gamma, in [0, 1e3].
    pub gamma: f64,
    /// Damping eps, in [0, 1e3].
    pub eps: f64,
}

/// Default coRNN step (Rusch and Mishra's sequential-MNIST setting).
pub const DEFAULT_DT: f64 = 0.042;
/// Default coRNN gamma (their sequential-MNIST setting).
pub const DEFAULT_GAMMA: f64 = 2.7;
/// Default coRNN eps (their sequential-MNIST setting).
pub const DEFAULT_EPS: f64 = 4.7;

impl Default for CornnHyper {
    fn default() -> Self {
        CornnHyper {
            dt: DEFAULT_DT,
            gamma: DEFAULT_GAMMA,
            eps: DEFAULT_EPS,
        }
    }
}

impl CornnHyper {
    /// Check the three values; the error names `prefix` + the field and its range.
    ///
    /// ```
    /// let h = nrnn::model::cornn::CornnHyper { dt: 0.0, ..Default::default() };
    /// assert!(h.validate("cornn_").unwrap_err().to_string().contains("cornn_dt"));
    /// ```
    pub fn validate(&self, prefix: &str) -> Result<()> {
        let ok = self.dt.is_finite() && self.dt > 0.0 && self.dt <= 10.0;
        if !ok {
            return Err(Error::param(
                &format!("{prefix}dt"),
                self.dt,
                "a finite number in (0, 10]",
            ));
        }
        check_range(&format!("{prefix}gamma"), self.gamma, 0.0, 1e3)?;
        check_range(&format!("{prefix}eps"), self.eps, 0.0, 1e3)?;
        Ok(())
    }
}

/// Parameter blocks of the coRNN, `(name, rows, cols)`: `W`, `W_z` (n x n), `V` (`v_in`,
/// n x p), `b` (n).
pub fn blocks(n: usize, p: usize) -> CellBlocks {
    vec![("w", n, n), ("w_z", n, n), ("v_in", n, p), ("b", n, 1)]
}

/// The cached values of one step: `t` (n).
pub const CACHE_PER_UNIT: usize = 1;

/// One step `z' = z + dt (t - gamma y - eps z)`, `y' = y + dt z'`,
/// `t = tanh(W y + W_z z + V x + b)`, from `s = [y; z]` and input `x` into `out = [y'; z']`,
/// caching `t` in `cache`.
pub fn step<T: Real>(
    hy: &CornnHyper,
    w: &[DMatrix<T>],
    s: &[T],
    x: &[T],
    out: &mut [T],
    cache: &mut [T],
) {
    let n = s.len() / 2;
    let (y, z) = s.split_at(n);
    let mut pre = w[3].as_slice().to_vec();
    gemv_acc(&w[0], y, &mut pre);
    gemv_acc(&w[1], z, &mut pre);
    gemv_acc(&w[2], x, &mut pre);
    let (dt, gamma, eps) = (T::of(hy.dt), T::of(hy.gamma), T::of(hy.eps));
    for j in 0..n {
        let t = pre[j].tanh();
        let z1 = z[j] + dt * (t - gamma * y[j] - eps * z[j]);
        out[n + j] = z1;
        out[j] = y[j] + dt * z1;
        cache[j] = t;
    }
}

/// The adjoint of [`step`] (module docs: `dz* = dz' + dt dy'`, `dp = dt dz* (1 - t^2)`): from `ds1 = dL/ds_{k+1}` to `ds = dL/ds_k`, adding the
/// parameter gradient into `dw` and, when given, `dL/dx_k` into `dx`.
pub fn step_back<T: Real>(
    hy: &CornnHyper,
    w: &[DMatrix<T>],
    at: &StepAt<T>,
    ds1: &[T],
    out: &mut StepGrad<T>,
) {
    let StepAt { s, x, cache } = *at;
    let (ds, dw) = (&mut *out.ds, &mut *out.dw);
    let n = s.len() / 2;
    let (y, z) = s.split_at(n);
    let (dt, gamma, eps, one) = (T::of(hy.dt), T::of(hy.gamma), T::of(hy.eps), T::one());
    let mut dp = vec![T::zero(); n];
    for j in 0..n {
        let dzs = ds1[n + j] + dt * ds1[j];
        let t = cache[j];
        dp[j] = dt * dzs * (one - t * t);
        ds[j] = ds1[j] - dt * gamma * dzs;
        ds[n + j] = (one - dt * eps) * dzs;
    }
    outer_acc(&mut dw[0], &dp, y);
    outer_acc(&mut dw[1], &dp, z);
    outer_acc(&mut dw[2], &dp, x);
    for (b, g) in dw[3].as_mut_slice().iter_mut().zip(&dp) {
        *b += *g;
    }
    let (dy, dz) = ds.split_at_mut(n);
    gemv_t_acc(&w[0], &dp, dy);
    gemv_t_acc(&w[1], &dp, dz);
    if let Some(dx) = out.dx.as_deref_mut() {
        gemv_t_acc(&w[2], &dp, dx);
    }
}

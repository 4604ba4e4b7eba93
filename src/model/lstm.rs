//! The LSTM cell (Hochreiter and Schmidhuber 1997, in PyTorch's convention): the one home
//! of its step and the step's adjoint.
//!
//! ```text
//! g  = W_ih x_k + W_hh h_k + b                      (4n: gates i, f, g, o in this order)
//! i  = sigmoid(g_i),  f = sigmoid(g_f),  u = tanh(g_g),  o = sigmoid(g_o)
//! c_{k+1} = f (.) c_k + i (.) u
//! h_{k+1} = o (.) tanh(c_{k+1})                     state s = [h; c] (2n), read out: h
//! ```
//!
//! The adjoint, from `(dh', dc')` to `(dh, dc)`, with `t = tanh(c_{k+1})`:
//!
//! ```text
//! dc  = dc' + dh' (.) o (.) (1 - t^2),      do = dh' (.) t
//! di  = dc (.) u,  df = dc (.) c_k,  du = dc (.) i,  dc_k = dc (.) f
//! dg  = [di i(1-i); df f(1-f); du (1-u^2); do o(1-o)]
//! dW_ih += dg x^T,  dW_hh += dg h^T,  db += dg,  dh_k = W_hh^T dg,  dx_k = W_ih^T dg
//! ```

use super::baseline::{gemv_t_acc, outer_acc, sigmoid, CellBlocks, StepAt, StepGrad};
use crate::linalg::Real;
use nalgebra::DMatrix;

/// Parameter blocks of the LSTM, `(name, rows, cols)`: `W_ih` (4n x p), `W_hh` (4n x n),
/// `b` (4n), the gates `i, f, g, o` stacked in this order.
pub fn blocks(n: usize, p: usize) -> CellBlocks {
    vec![("w_ih", 4 * n, p), ("w_hh", 4 * n, n), ("b", 4 * n, 1)]
}

/// The cached values of one step: `[i; f; u; o; tanh(c_{k+1})]` (5n).
pub const CACHE_PER_UNIT: usize = 5;

/// One step `c' = f (.) c + i (.) u`, `h' = o (.) tanh(c')` (gates from
/// `W_ih x + W_hh h + b`) from `s = [h; c]` and input `x` into `out = [h'; c']`, caching the
/// gates in `cache`.
pub fn step<T: Real>(w: &[DMatrix<T>], s: &[T], x: &[T], out: &mut [T], cache: &mut [T]) {
    let n = s.len() / 2;
    let (h, c) = s.split_at(n);
    let mut g = w[2].as_slice().to_vec();
    super::baseline::gemv_acc(&w[0], x, &mut g);
    super::baseline::gemv_acc(&w[1], h, &mut g);
    for j in 0..n {
        let i = sigmoid(g[j]);
        let f = sigmoid(g[n + j]);
        let u = g[2 * n + j].tanh();
        let o = sigmoid(g[3 * n + j]);
        let c1 = f * c[j] + i * u;
        let t = c1.tanh();
        out[n + j] = c1;
        out[j] = o * t;
        cache[j] = i;
        cache[n + j] = f;
        cache[2 * n + j] = u;
        cache[3 * n + j] = o;
        cache[4 * n + j] = t;
    }
}

/// The adjoint of [`step`] (module docs: `dc = dc' + dh' o (1 - t^2)`, `dh = W_hh^T dg`, ...): from `ds1 = dL/ds_{k+1}` to `ds = dL/ds_k`, adding the
/// parameter gradient into `dw` and, when given, `dL/dx_k` into `dx`.
pub fn step_back<T: Real>(w: &[DMatrix<T>], at: &StepAt<T>, ds1: &[T], out: &mut StepGrad<T>) {
    let StepAt { s, x, cache } = *at;
    let (ds, dw) = (&mut *out.ds, &mut *out.dw);
    let n = s.len() / 2;
    let (h, c) = s.split_at(n);
    let one = T::one();
    let mut dg = vec![T::zero(); 4 * n];
    for j in 0..n {
        let (i, f, u, o, t) = (
            cache[j],
            cache[n + j],
            cache[2 * n + j],
            cache[3 * n + j],
            cache[4 * n + j],
        );
        let dh1 = ds1[j];
        let dc = ds1[n + j] + dh1 * o * (one - t * t);
        dg[j] = dc * u * i * (one - i);
        dg[n + j] = dc * c[j] * f * (one - f);
        dg[2 * n + j] = dc * i * (one - u * u);
        dg[3 * n + j] = dh1 * t * o * (one - o);
        ds[n + j] = dc * f;
        ds[j] = T::zero();
    }
    outer_acc(&mut dw[0], &dg, x);
    outer_acc(&mut dw[1], &dg, h);
    for (b, g) in dw[2].as_mut_slice().iter_mut().zip(&dg) {
        *b += *g;
    }
    gemv_t_acc(&w[1], &dg, &mut ds[..n]);
    if let Some(dx) = out.dx.as_deref_mut() {
        gemv_t_acc(&w[0], &dg, dx);
    }
}

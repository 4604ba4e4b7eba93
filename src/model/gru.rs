//! The GRU cell (Cho et al. 2014, in PyTorch's convention): the one home of its step and
//! the step's adjoint.
//!
//! ```text
//! gi = W_ih x_k + b_ih,   gh = W_hh h_k + b_hh       (3n each: parts r, z, n in this order)
//! r  = sigmoid(gi_r + gh_r),   z = sigmoid(gi_z + gh_z)
//! u  = tanh(gi_n + r (.) gh_n)
//! h_{k+1} = (1 - z) (.) u + z (.) h_k                state s = h (n), read out: h
//! ```
//!
//! The adjoint, from `dh'` to `dh`:
//!
//! ```text
//! du = dh' (.) (1 - z) (1 - u^2),   dz = dh' (.) (h_k - u) z (1 - z),   dr = du (.) gh_n r (1 - r)
//! dgi = [dr; dz; du],   dgh = [dr; dz; du (.) r]
//! dW_ih += dgi x^T,  db_ih += dgi,  dW_hh += dgh h^T,  db_hh += dgh
//! dh_k = dh' (.) z + W_hh^T dgh,   dx_k = W_ih^T dgi
//! ```

use super::baseline::{gemv_acc, gemv_t_acc, outer_acc, sigmoid, CellBlocks, StepAt, StepGrad};
use crate::linalg::Real;
use nalgebra::DMatrix;

/// Parameter blocks of the GRU, `(name, rows, cols)`: `W_ih` (3n x p), `W_hh` (3n x n),
/// `b_ih`, `b_hh` (3n), the parts `r, z, n` stacked in this order.
pub fn blocks(n: usize, p: usize) -> CellBlocks {
    vec![
        ("w_ih", 3 * n, p),
        ("w_hh", 3 * n, n),
        ("b_ih", 3 * n, 1),
        ("b_hh", 3 * n, 1),
    ]
}

/// The cached values of one step: `[r; z; u; gh_n]` (4n).
pub const CACHE_PER_UNIT: usize = 4;

/// One step `h' = (1 - z) (.) u + z (.) h`, `u = tanh(gi_n + r (.) gh_n)` from `s = h` and
/// input `x` into `out`, caching the gates in `cache`.
pub fn step<T: Real>(w: &[DMatrix<T>], s: &[T], x: &[T], out: &mut [T], cache: &mut [T]) {
    let n = s.len();
    let mut gi = w[2].as_slice().to_vec();
    gemv_acc(&w[0], x, &mut gi);
    let mut gh = w[3].as_slice().to_vec();
    gemv_acc(&w[1], s, &mut gh);
    for j in 0..n {
        let r = sigmoid(gi[j] + gh[j]);
        let z = sigmoid(gi[n + j] + gh[n + j]);
        let u = (gi[2 * n + j] + r * gh[2 * n + j]).tanh();
        out[j] = (T::one() - z) * u + z * s[j];
        cache[j] = r;
        cache[n + j] = z;
        cache[2 * n + j] = u;
        cache[3 * n + j] = gh[2 * n + j];
    }
}

/// The adjoint of [`step`] (module docs: `dh = dh' z + W_hh^T dgh`, `dx = W_ih^T dgi`): from `ds1 = dL/dh_{k+1}` to `ds = dL/dh_k`, adding the
/// parameter gradient into `dw` and, when given, `dL/dx_k` into `dx`.
pub fn step_back<T: Real>(w: &[DMatrix<T>], at: &StepAt<T>, ds1: &[T], out: &mut StepGrad<T>) {
    let StepAt { s, x, cache } = *at;
    let (ds, dw) = (&mut *out.ds, &mut *out.dw);
    let n = s.len();
    let one = T::one();
    let mut dgi = vec![T::zero(); 3 * n];
    let mut dgh = vec![T::zero(); 3 * n];
    for j in 0..n {
        let (r, z, u, ghn) = (cache[j], cache[n + j], cache[2 * n + j], cache[3 * n + j]);
        let d = ds1[j];
        let du = d * (one - z) * (one - u * u);
        let dz = d * (s[j] - u) * z * (one - z);
        let dr = du * ghn * r * (one - r);
        dgi[j] = dr;
        dgi[n + j] = dz;
        dgi[2 * n + j] = du;
        dgh[j] = dr;
        dgh[n + j] = dz;
        dgh[2 * n + j] = du * r;
        ds[j] = d * z;
    }
    outer_acc(&mut dw[0], &dgi, x);
    outer_acc(&mut dw[1], &dgh, s);
    for (b, g) in dw[2].as_mut_slice().iter_mut().zip(&dgi) {
        *b += *g;
    }
    for (b, g) in dw[3].as_mut_slice().iter_mut().zip(&dgh) {
        *b += *g;
    }
    gemv_t_acc(&w[1], &dgh, ds);
    if let Some(dx) = out.dx.as_deref_mut() {
        gemv_t_acc(&w[0], &dgi, dx);
    }
}

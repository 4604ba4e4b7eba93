//! Dense linear algebra shared by every module: the scalar trait, one matrix product,
//! the input drive and two matrix norms.
//!
//! The model code is generic over [`Real`] so that the same forward pass and the same
//! backpropagation run on `f64` (training, evaluation) and on dual numbers (exact
//! Hessian-vector products by forward-over-reverse differentiation). [`gemm`] sends `f64`
//! products to the blocked, vectorized `matrixmultiply` kernel with arbitrary strides
//! (so transposes cost nothing) and dual-number products to three `f64` products.
//!
//! This file is the safe API; the unsafe kernels and the dispatch between them are in
//! `kernels.rs`, the norms ([`spectral_norm`], [`lambda_max_sym`]) in `norms.rs`, and the
//! fast [`tanh`] in [`crate::elementary`] (re-exported here under its old path).

mod kernels;
mod norms;

pub use crate::elementary::tanh;
pub use norms::{lambda_max_sym, spectral_norm};

use nalgebra::{DMatrix, Dyn, Matrix, RealField, Storage, StorageMut};
use num_dual::Dual64;
use std::any::TypeId;

/// A real scalar the model can be evaluated in: `f64`, or `num_dual::Dual64`.
pub trait Real: RealField + Copy + Send + Sync + 'static {
    /// Convert from `f64` (exact for `f64`; the dual part is zero for dual numbers).
    fn of(x: f64) -> Self {
        nalgebra::convert(x)
    }
    /// The real (primal) part as `f64`.
    fn re(self) -> f64;
    /// `tanh`, by the vectorizable [`tanh`] for `f64`.
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        self.tanh()
    }
}
impl Real for f64 {
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        tanh(self)
    }
    #[inline(always)]
    fn of(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn re(self) -> f64 {
        self
    }
}
impl Real for Dual64 {
    fn re(self) -> f64 {
        self.re
    }
    /// `tanh(a + e b) = t + e b (1 - t^2)` with `t = tanh(a)`: finite for every `a`
    /// (the sinh/cosh quotient overflows to NaN beyond |a| ~ 710) and cheaper.
    #[inline(always)]
    fn tanh_fast(self) -> Self {
        let t = tanh(self.re);
        Dual64::new(t, self.eps * (1.0 - t * t))
    }
}

#[inline(always)]
pub(crate) fn is<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

/// `c <- alpha op(a) op(b) + beta c`, where `op(m)` is `m^T` when the flag is set.
///
/// For f64: products with at most 32 rows and inner dimension, no
/// transposes, `alpha = 1` and `beta` 0 or 1 (the recurrence of a narrow network) take a
/// register-blocked kernel that gives matrixmultiply's bits without its packing cost;
/// all others go to matrixmultiply. Dual numbers cost three f64 products (`dual_gemm`).
///
/// ```
/// use nalgebra::DMatrix;
/// let a = DMatrix::from_row_slice(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
/// let b = DMatrix::from_row_slice(2, 2, &[1.0, 0.0, 0.0, 1.0]);
/// let mut c = DMatrix::zeros(3, 2);
/// nrnn::linalg::gemm(1.0, &a, true, &b, false, 0.0, &mut c); // c = a^T b
/// assert_eq!(c, a.transpose());
/// ```
pub fn gemm<T, SA, SB, SC>(
    alpha: T,
    a: &Matrix<T, Dyn, Dyn, SA>,
    ta: bool,
    b: &Matrix<T, Dyn, Dyn, SB>,
    tb: bool,
    beta: T,
    c: &mut Matrix<T, Dyn, Dyn, SC>,
) where
    T: Real,
    SA: Storage<T, Dyn, Dyn>,
    SB: Storage<T, Dyn, Dyn>,
    SC: StorageMut<T, Dyn, Dyn>,
{
    let (m, k) = if ta {
        (a.ncols(), a.nrows())
    } else {
        a.shape()
    };
    let (k2, n) = if tb {
        (b.ncols(), b.nrows())
    } else {
        b.shape()
    };
    assert_eq!(k, k2, "gemm: inner dimensions differ");
    assert_eq!(c.shape(), (m, n), "gemm: output shape");
    if m == 0 || n == 0 {
        return;
    }
    kernels::gemm_dispatch(alpha, a, ta, b, tb, beta, c);
}

/// `c <- b 1^T + a x` for an f64 input `x` (data): the bias `b` in every column plus the
/// product, the same numbers as filling `c` with `b` and calling [`gemm`] with `beta = 1`
/// on `x` converted to the scalar type (for f64 each entry is
/// `b_i + sum_l a_il x_lj`, the sum from zero by fused multiply-add in the order of
/// `l`), without the product's set-up cost when `a` has few columns (the input drive
/// `U x_k + b` of one step).
///
/// ```
/// use nalgebra::{DMatrix, DVector};
/// let a = DMatrix::from_row_slice(2, 1, &[2.0, -1.0]);
/// let x = DMatrix::from_row_slice(1, 3, &[1.0, 2.0, 3.0]);
/// let mut c = DMatrix::zeros(2, 3);
/// nrnn::linalg::affine(&a, &x, &DVector::from_vec(vec![0.5, 0.0]), &mut c);
/// assert_eq!(c, DMatrix::from_row_slice(2, 3, &[2.5, 4.5, 6.5, -1.0, -2.0, -3.0]));
/// ```
pub fn affine<T, SX>(
    a: &DMatrix<T>,
    x: &Matrix<f64, Dyn, Dyn, SX>,
    b: &nalgebra::DVector<T>,
    c: &mut DMatrix<T>,
) where
    T: Real,
    SX: Storage<f64, Dyn, Dyn>,
{
    let (m, k) = a.shape();
    let n = x.ncols();
    assert_eq!(x.nrows(), k, "affine: inner dimensions differ");
    assert_eq!((b.len(), c.shape()), (m, (m, n)), "affine: output shape");
    if is::<T, f64>() && k <= 4 {
        kernels::affine_narrow(a, x, b, c);
        return;
    }
    for mut col in c.column_iter_mut() {
        col.copy_from(b);
    }
    gemm(T::one(), a, false, &x.map(T::of), false, T::one(), c);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dual tanh carries the exact derivative and stays finite for huge arguments.
    #[test]
    fn dual_tanh_is_exact_and_finite() {
        for &a in &[-800.0, -3.0, 0.0, 0.4, 2.0, 1e4] {
            let d = Dual64::new(a, 1.0).tanh_fast();
            let t = f64::tanh(a);
            assert!((d.re - t).abs() <= 4.0 * f64::EPSILON);
            assert!((d.eps - (1.0 - t * t)).abs() <= 8.0 * f64::EPSILON);
        }
    }

    /// The input drive gives the same bits as filling with the bias and calling `gemm`
    /// with `beta = 1`, on the direct path (few inputs) and the product path, for a
    /// column view of a wider input.
    #[test]
    fn affine_equals_bias_plus_product() {
        let val = |i: usize, j: usize, s: usize| ((i * 13 + j * 7 + s) % 19) as f64 / 3.0 - 2.9;
        for &(m, k, n) in &[(5, 1, 9), (40, 3, 17), (16, 4, 8), (7, 6, 5)] {
            let a = DMatrix::from_fn(m, k, |i, j| val(i, j, 1));
            let wide = DMatrix::from_fn(k, n + 4, |i, j| val(i, j, 2));
            let x = wide.columns(2, n);
            let bias = nalgebra::DVector::from_fn(m, |i, _| val(i, 0, 3));
            let mut fast = DMatrix::zeros(m, n);
            affine(&a, &x, &bias, &mut fast);
            let mut reference = DMatrix::from_fn(m, n, |i, _| bias[i]);
            gemm(1.0, &a, false, &x, false, 1.0, &mut reference);
            assert_eq!(fast, reference, "shape {m}x{k}x{n}");
        }
    }
}

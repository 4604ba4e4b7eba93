//! Dense linear algebra shared by every module: the scalar trait and one matrix product.
//!
//! The model code is generic over [`Real`] so that the same forward pass and the same
//! backpropagation run on `f64` (training, evaluation) and on dual numbers (exact
//! Hessian-vector products by forward-over-reverse differentiation). [`gemm`] sends `f64`
//! products to the blocked, vectorized `matrixmultiply` kernel with arbitrary strides
//! (so transposes cost nothing) and dual-number products to three `f64` products.

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
}
impl Real for f64 {
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
}

#[inline(always)]
fn is<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

/// `c <- alpha op(a) op(b) + beta c`, where `op(m)` is `m^T` when the flag is set.
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
    let (m, k) = if ta { (a.ncols(), a.nrows()) } else { a.shape() };
    let (k2, n) = if tb { (b.ncols(), b.nrows()) } else { b.shape() };
    assert_eq!(k, k2, "gemm: inner dimensions differ");
    assert_eq!(c.shape(), (m, n), "gemm: output shape");
    if m == 0 || n == 0 {
        return;
    }
    if is::<T, f64>() {
        let (mut rsa, mut csa) = a.strides();
        if ta {
            std::mem::swap(&mut rsa, &mut csa);
        }
        let (mut rsb, mut csb) = b.strides();
        if tb {
            std::mem::swap(&mut rsb, &mut csb);
        }
        let (rsc, csc) = c.strides();
        // SAFETY: T is f64 (checked above), shapes and strides come from valid matrices.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                std::mem::transmute_copy(&alpha),
                a.as_ptr() as *const f64,
                rsa as isize,
                csa as isize,
                b.as_ptr() as *const f64,
                rsb as isize,
                csb as isize,
                std::mem::transmute_copy(&beta),
                c.as_mut_ptr() as *mut f64,
                rsc as isize,
                csc as isize,
            );
        }
        return;
    }
    if is::<T, Dual64>() {
        // (a + e a') (b + e b') = ab + e (a b' + a' b): three f64 products.
        let split = |x: &T| -> Dual64 { unsafe { std::mem::transmute_copy(x) } };
        let part = |mat: &Matrix<T, Dyn, Dyn, SA>, re: bool| {
            DMatrix::from_fn(mat.nrows(), mat.ncols(), |i, j| {
                let d = split(&mat[(i, j)]);
                if re {
                    d.re
                } else {
                    d.eps
                }
            })
        };
        let partb = |mat: &Matrix<T, Dyn, Dyn, SB>, re: bool| {
            DMatrix::from_fn(mat.nrows(), mat.ncols(), |i, j| {
                let d = split(&mat[(i, j)]);
                if re {
                    d.re
                } else {
                    d.eps
                }
            })
        };
        let (ar, ae) = (part(a, true), part(a, false));
        let (br, be) = (partb(b, true), partb(b, false));
        let mut pr = DMatrix::<f64>::zeros(m, n);
        let mut pe = DMatrix::<f64>::zeros(m, n);
        gemm(1.0, &ar, ta, &br, tb, 0.0, &mut pr);
        gemm(1.0, &ar, ta, &be, tb, 0.0, &mut pe);
        gemm(1.0, &ae, ta, &br, tb, 1.0, &mut pe);
        for j in 0..n {
            for i in 0..m {
                let p: T = unsafe { std::mem::transmute_copy(&Dual64::new(pr[(i, j)], pe[(i, j)])) };
                let old = c[(i, j)];
                c[(i, j)] = if beta == T::zero() { alpha * p } else { alpha * p + beta * old };
            }
        }
        return;
    }
    let oa = if ta { a.transpose() } else { a.clone_owned() };
    let ob = if tb { b.transpose() } else { b.clone_owned() };
    let p = oa * ob;
    for j in 0..n {
        for i in 0..m {
            let old = c[(i, j)];
            c[(i, j)] = if beta == T::zero() { alpha * p[(i, j)] } else { alpha * p[(i, j)] + beta * old };
        }
    }
}

/// Largest singular value ||M||_2 (spectral norm), by the symmetric eigenvalues of M^T M.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, -4.0]);
/// assert!((nrnn::linalg::spectral_norm(&m) - 4.0).abs() < 1e-12);
/// ```
pub fn spectral_norm(m: &DMatrix<f64>) -> f64 {
    if m.is_empty() {
        return 0.0;
    }
    m.clone().svd(false, false).singular_values.max()
}

/// Largest eigenvalue of the symmetric part (M + M^T)/2.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 5.0, -5.0, -2.0]);
/// assert!((nrnn::linalg::lambda_max_sym(&m) - 1.0).abs() < 1e-12);
/// ```
pub fn lambda_max_sym(m: &DMatrix<f64>) -> f64 {
    let s = (m + m.transpose()) * 0.5;
    s.symmetric_eigenvalues().max()
}

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
fn is<T: 'static, U: 'static>() -> bool {
    TypeId::of::<T>() == TypeId::of::<U>()
}

/// `c <- alpha op(a) op(b) + beta c`, where `op(m)` is `m^T` when the flag is set.
///
/// For f64: products with at most 32 rows and inner dimension, no
/// transposes, `alpha = 1` and `beta` 0 or 1 (the recurrence of a narrow network) take a
/// register-blocked kernel that gives matrixmultiply's bits without its packing cost;
/// all others go to matrixmultiply. Dual numbers are three f64 products.
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
        let unit_rows = rsa == 1 && rsb == 1 && rsc == 1;
        if unit_rows && m <= SMALL_GEMM_MAX && k <= SMALL_GEMM_MAX && alpha == T::one() {
            let beta_one = if beta == T::one() {
                true
            } else if beta == T::zero() {
                false
            } else {
                return gemm_general(alpha, a, ta, b, tb, beta, c);
            };
            // SAFETY: T is f64 (checked above); unit row strides, so column `j` of each
            // operand starts at `ptr + j * column_stride` and holds its rows contiguously.
            unsafe {
                gemm_small(
                    m,
                    k,
                    n,
                    a.as_ptr() as *const f64,
                    csa,
                    b.as_ptr() as *const f64,
                    csb,
                    beta_one,
                    c.as_mut_ptr() as *mut f64,
                    csc,
                );
            }
            return;
        }
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
    gemm_general(alpha, a, ta, b, tb, beta, c);
}

/// The products of [`gemm`] not taken by the f64 fast paths: dual numbers, generic scalars,
/// and f64 with a general `beta` on small shapes (through matrixmultiply).
fn gemm_general<T, SA, SB, SC>(
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
    let (m, n) = c.shape();
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
        let k = if ta { a.nrows() } else { a.ncols() };
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
        // SAFETY (both calls): T is Dual64, checked above.
        let (ar, ae) = unsafe { dual_parts(a) };
        let (br, be) = unsafe { dual_parts(b) };
        let mut pr = DMatrix::<f64>::zeros(m, n);
        let mut pe = DMatrix::<f64>::zeros(m, n);
        gemm(1.0, &ar, ta, &br, tb, 0.0, &mut pr);
        gemm(1.0, &ar, ta, &be, tb, 0.0, &mut pe);
        gemm(1.0, &ae, ta, &br, tb, 1.0, &mut pe);
        for j in 0..n {
            for i in 0..m {
                let p: T =
                    unsafe { std::mem::transmute_copy(&Dual64::new(pr[(i, j)], pe[(i, j)])) };
                let old = c[(i, j)];
                c[(i, j)] = if beta == T::zero() {
                    alpha * p
                } else {
                    alpha * p + beta * old
                };
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
            c[(i, j)] = if beta == T::zero() {
                alpha * p[(i, j)]
            } else {
                alpha * p[(i, j)] + beta * old
            };
        }
    }
}

/// Largest row count and inner dimension sent to [`gemm_small`]: its packed left operand
/// (at most 64 x 64) stays in L1, and below this size matrixmultiply's packing of the
/// right operand costs more than the product.
const SMALL_GEMM_MAX: usize = 32;

/// Rows of the register block of [`gemm_small`] (one 512-bit vector of f64).
const MR: usize = 8;

/// Columns of the register block of [`gemm_small`].
const NR: usize = 8;

/// `C = A B` or `C += A B` (`beta_one`) for small `m x k` A, any number `n` of columns:
/// A is packed once with its rows padded to a multiple of [`MR`]; each block of MR rows
/// by [`NR`] columns accumulates in registers, `sum_l a_il b_lj` in the order `l = 0..k`
/// by fused multiply-add, then is added to C.
///
/// # Safety
/// `a`, `b`, `c` point to column-major f64 matrices with unit row stride and column
/// strides `lda`, `ldb`, `ldc`, of shapes `m x k`, `k x n`, `m x n`; `c` does not alias.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_small(
    m: usize,
    k: usize,
    n: usize,
    a: *const f64,
    lda: usize,
    b: *const f64,
    ldb: usize,
    beta_one: bool,
    c: *mut f64,
    ldc: usize,
) {
    let blocks = m.div_ceil(MR);
    let mut pa = [[0.0f64; MR]; SMALL_GEMM_MAX * SMALL_GEMM_MAX / MR];
    for rb in 0..blocks {
        for l in 0..k {
            let dst = &mut pa[rb * k + l];
            for (r, d) in dst.iter_mut().enumerate().take(m - rb * MR) {
                *d = *a.add(l * lda + rb * MR + r);
            }
        }
    }
    let mut j = 0;
    while j < n {
        let q = (n - j).min(NR);
        for rb in 0..blocks {
            let rows = (m - rb * MR).min(MR);
            let pk = &pa[rb * k..(rb + 1) * k];
            let mut acc = [[0.0f64; MR]; NR];
            if q == NR {
                small_block::<NR>(pk, b.add(j * ldb), ldb, &mut acc);
            } else {
                for (jj, accj) in acc.iter_mut().enumerate().take(q) {
                    let mut one = [[0.0f64; MR]; NR];
                    small_block::<1>(pk, b.add((j + jj) * ldb), ldb, &mut one);
                    *accj = one[0];
                }
            }
            for (jj, accj) in acc.iter().enumerate().take(q) {
                let col = std::slice::from_raw_parts_mut(c.add((j + jj) * ldc + rb * MR), rows);
                if rows == MR {
                    // Full block: a fixed-length loop the compiler turns into vector stores.
                    let col: &mut [f64; MR] = col.try_into().unwrap_unchecked();
                    for r in 0..MR {
                        col[r] = if beta_one { col[r] + accj[r] } else { accj[r] };
                    }
                } else {
                    for (d, &v) in col.iter_mut().zip(accj) {
                        *d = if beta_one { *d + v } else { v };
                    }
                }
            }
        }
        j += q;
    }
}

/// `acc[q][r] = sum_l pk[l][r] b[l, q]` for `Q` columns of B starting at `b` (`Q`
/// independent accumulators, enough to cover the latency of the fused multiply-add).
#[inline(always)]
unsafe fn small_block<const Q: usize>(
    pk: &[[f64; MR]],
    b: *const f64,
    ldb: usize,
    acc: &mut [[f64; MR]; NR],
) {
    let mut s = [[0.0f64; MR]; Q];
    for (l, av) in pk.iter().enumerate() {
        for (q, sq) in s.iter_mut().enumerate() {
            let bv = *b.add(q * ldb + l);
            for r in 0..MR {
                sq[r] = av[r].mul_add(bv, sq[r]);
            }
        }
    }
    acc[..Q].copy_from_slice(&s);
}

/// The real and dual parts of a matrix of dual numbers.
///
/// # Safety
/// `T` must be `Dual64`.
unsafe fn dual_parts<T: Real, S: Storage<T, Dyn, Dyn>>(
    m: &Matrix<T, Dyn, Dyn, S>,
) -> (DMatrix<f64>, DMatrix<f64>) {
    let d = |i, j| -> Dual64 { std::mem::transmute_copy(&m[(i, j)]) };
    (
        DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| d(i, j).re),
        DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| d(i, j).eps),
    )
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

/// `expm1(y)` for `y >= 0` (clamped to `y <= 40`), branch-free so loops over slices
/// vectorize: `y = k ln2 + r` with `|r| <= ln2/2` (Cody-Waite split of ln2), `expm1(r)` by
/// its Taylor series to degree 13 (truncation below 5e-18 relative), then
/// `expm1(y) = 2^k expm1(r) + (2^k - 1)`.
#[inline(always)]
fn expm1_nonneg(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-01;
    const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52: adding it rounds to an integer
    let y = y.min(40.0);
    let kf = (y * LOG2E + SHIFT) - SHIFT;
    let r = (y - kf * LN2_HI) - kf * LN2_LO;
    // Taylor coefficients 1/j! for j = 2..13, Horner in r.
    let mut p: f64 = 1.0 / 6_227_020_800.0;
    p = p.mul_add(r, 1.0 / 479_001_600.0);
    p = p.mul_add(r, 1.0 / 39_916_800.0);
    p = p.mul_add(r, 1.0 / 3_628_800.0);
    p = p.mul_add(r, 1.0 / 362_880.0);
    p = p.mul_add(r, 1.0 / 40_320.0);
    p = p.mul_add(r, 1.0 / 5_040.0);
    p = p.mul_add(r, 1.0 / 720.0);
    p = p.mul_add(r, 1.0 / 120.0);
    p = p.mul_add(r, 1.0 / 24.0);
    p = p.mul_add(r, 1.0 / 6.0);
    p = p.mul_add(r, 0.5);
    let em_r = (p * r).mul_add(r, r); // expm1(r) = r + r^2 (1/2 + r/6 + ...)
    let k = (kf + SHIFT).to_bits() as i64 - SHIFT.to_bits() as i64;
    let two_k = f64::from_bits(((k + 1023) as u64) << 52);
    two_k.mul_add(em_r, two_k - 1.0)
}

/// Hyperbolic tangent, `tanh(x) = sign(x) e / (e + 2)` with `e = expm1(2|x|)`: no
/// cancellation at small `|x|`, branch-free (vectorizes), within a few ulp of `f64::tanh`
/// (tested) and several times faster in the model's elementwise loops.
///
/// ```
/// for &x in &[-3.0, -1e-8, 0.0, 0.3, 20.0, 800.0] {
///     let t = nrnn::linalg::tanh(x);
///     assert!((t - f64::tanh(x)).abs() <= 4.0 * f64::EPSILON * f64::tanh(x).abs().max(1e-300));
/// }
/// ```
#[inline(always)]
pub fn tanh(x: f64) -> f64 {
    let e = expm1_nonneg(2.0 * x.abs());
    let t = (e / (e + 2.0)).copysign(x);
    if x.is_nan() {
        x
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maximum error of the fast tanh in units of the last place, over a dense grid and
    /// random points: at most 4 ulp (round-off of the 13 Horner steps, the division and
    /// the 2^k reconstruction each contribute at most about one).
    #[test]
    fn fast_tanh_is_accurate() {
        let mut worst: f64 = 0.0;
        let mut x: f64 = -25.0;
        while x < 25.0 {
            for &v in &[x, x * 1e-3, x * 1e-9] {
                let exact = v.tanh();
                let ulp = f64::EPSILON * exact.abs().max(f64::MIN_POSITIVE);
                worst = worst.max((tanh(v) - exact).abs() / ulp);
            }
            x += 0.000_731;
        }
        assert!(worst <= 4.0, "worst error {worst} ulp");
        assert_eq!(tanh(f64::INFINITY), 1.0);
        assert_eq!(tanh(f64::NEG_INFINITY), -1.0);
        assert!(tanh(f64::NAN).is_nan());
    }

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

    /// The small-matrix kernel gives the same bits as matrixmultiply (both sum
    /// `a_il b_lj` over `l = 0..k` in order by fused multiply-add, then add C), on shapes
    /// with row and column tails, on column views of a wider matrix, for beta 0 and 1.
    #[test]
    fn small_gemm_matches_matrixmultiply_bit_for_bit() {
        let val = |i: usize, j: usize, s: usize| ((i * 31 + j * 17 + s) % 23) as f64 / 7.0 - 1.3;
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (8, 8, 8),
            (13, 16, 29),
            (16, 16, 512),
            (32, 32, 9),
        ] {
            let a = DMatrix::from_fn(m, k, |i, j| val(i, j, 1));
            let wide = DMatrix::from_fn(k, n + 6, |i, j| val(i, j, 2));
            let b = wide.columns(3, n);
            for beta in [0.0, 1.0] {
                let c0 = DMatrix::from_fn(m, n, |i, j| val(i, j, 3));
                let mut fast = c0.clone();
                gemm(1.0, &a, false, &b, false, beta, &mut fast);
                let mut reference = c0.clone();
                gemm_general(1.0, &a, false, &b, false, beta, &mut reference);
                assert_eq!(fast, reference, "shape {m}x{k}x{n}, beta {beta}");
            }
        }
    }
}

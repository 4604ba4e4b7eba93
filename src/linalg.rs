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
    // f64 without transposes, unit row strides, alpha = 1, beta 0 or 1, small shapes: the
    // register kernel. Everything else: `gemm_general`.
    let small = is::<T, f64>()
        && !ta
        && !tb
        && (a.strides().0, b.strides().0, c.strides().0) == (1, 1, 1)
        && m <= SMALL_GEMM_MAX
        && k <= SMALL_GEMM_MAX
        && alpha == T::one()
        && (beta == T::one() || beta == T::zero());
    if small {
        // SAFETY: T is f64 (checked above); unit row strides, so column j of each operand
        // starts at `ptr + j * column_stride` and holds its rows contiguously.
        unsafe {
            gemm_small(
                m,
                k,
                n,
                a.as_ptr() as *const f64,
                a.strides().1,
                b.as_ptr() as *const f64,
                b.strides().1,
                beta == T::one(),
                c.as_mut_ptr() as *mut f64,
                c.strides().1,
            );
        }
        return;
    }
    gemm_general(alpha, a, ta, b, tb, beta, c);
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
        // SAFETY: T is f64 (checked above); the slices cover the matrices' storage.
        let f = |m: &DMatrix<T>| unsafe {
            std::slice::from_raw_parts(m.as_ptr() as *const f64, m.len())
        };
        let (av, bv) = (f(a), unsafe {
            std::slice::from_raw_parts(b.as_ptr() as *const f64, m)
        });
        let cv = unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr() as *mut f64, m * n) };
        let (rsx, csx) = x.strides();
        let xp = x.as_ptr();
        if k == 1 {
            // One input (the sequence tasks): one pass, the same operations as below.
            for (j, col) in cv.chunks_exact_mut(m.max(1)).enumerate() {
                // SAFETY: (0, j) is inside x.
                let x0 = unsafe { *xp.add(j * csx) };
                for ((ci, &a), &bi) in col.iter_mut().zip(&av[..m]).zip(bv) {
                    *ci = a.mul_add(x0, 0.0) + bi;
                }
            }
            return;
        }
        for (j, col) in cv.chunks_exact_mut(m.max(1)).enumerate() {
            // The column accumulates `s_i = sum_l a_il x_lj` (fused, from 0, in the
            // kernel's order), then takes `b_i + s_i`: loops over i innermost vectorize.
            col.fill(0.0);
            for l in 0..k {
                // SAFETY: (l, j) is inside x.
                let xl = unsafe { *xp.add(l * rsx + j * csx) };
                for (ci, &a) in col.iter_mut().zip(&av[l * m..(l + 1) * m]) {
                    *ci = a.mul_add(xl, *ci);
                }
            }
            for (ci, &bi) in col.iter_mut().zip(bv) {
                *ci += bi;
            }
        }
        return;
    }
    for mut col in c.column_iter_mut() {
        col.copy_from(b);
    }
    gemm(T::one(), a, false, &x.map(T::of), false, T::one(), c);
}

/// The products of [`gemm`] not taken by the small f64 kernel: f64 through matrixmultiply,
/// dual numbers through [`dual_gemm`], other scalars through nalgebra.
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
        // SAFETY: T is Dual64 (checked above).
        let (al, be): (Dual64, Dual64) = unsafe {
            (
                std::mem::transmute_copy(&alpha),
                std::mem::transmute_copy(&beta),
            )
        };
        if al.eps == 0.0 && be.eps == 0.0 {
            // SAFETY: T is Dual64; the views come from valid matrices of that type.
            unsafe { dual_gemm(al.re, a, ta, b, tb, be.re, c) };
            return;
        }
        // Dual scalars: form the product with unit scalars, then scale elementwise.
        let mut p = DMatrix::<T>::zeros(m, n);
        gemm(T::one(), a, ta, b, tb, T::zero(), &mut p);
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

/// Largest row count and inner dimension of the f64 products sent to [`gemm_small`]:
/// below this size matrixmultiply's packing of the right operand costs more than the
/// product.
const SMALL_GEMM_MAX: usize = 32;

/// Largest row count and inner dimension of the dual-number products sent to
/// [`dual_gemm_small`]: their parts are strided, which makes matrixmultiply's packing dear.
const SMALL_DUAL_MAX: usize = 256;

/// Rows of the register blocks of [`gemm_small`] and [`dual_gemm_small`] (one 512-bit
/// vector of f64).
const MR: usize = 8;

/// Columns of the register block of [`gemm_small`].
const NR: usize = 8;

/// A read-only f64 matrix in memory (a part of a dual matrix): element `(i, j)` at
/// `p + i rs + j cs`.
#[derive(Clone, Copy)]
struct View {
    p: *const f64,
    rs: usize,
    cs: usize,
}

impl View {
    fn new(p: *const f64, rs: usize, cs: usize) -> View {
        View { p, rs, cs }
    }
}

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
            let cb = c.add(j * ldc + rb * MR);
            if q == NR {
                small_block::<NR>(pk, b.add(j * ldb), ldb, cb, ldc, rows, beta_one);
            } else {
                for jj in 0..q {
                    let bj = b.add((j + jj) * ldb);
                    small_block::<1>(pk, bj, ldb, cb.add(jj * ldc), ldc, rows, beta_one);
                }
            }
        }
        j += q;
    }
}

/// `C[.., q] (+)= sum_l pk[l] b[l, q]` for `Q` columns of B starting at `b` and the
/// `rows <= MR` rows of C starting at `c`: `Q` independent accumulators (enough to cover
/// the latency of the fused multiply-add) held in registers and written straight to C.
///
/// # Safety
/// As [`gemm_small`]: `b` has `Q` columns of `pk.len()` values at stride `ldb`, `c` has
/// `Q` columns of `rows` values at stride `ldc`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn small_block<const Q: usize>(
    pk: &[[f64; MR]],
    b: *const f64,
    ldb: usize,
    c: *mut f64,
    ldc: usize,
    rows: usize,
    beta_one: bool,
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
    for (q, sq) in s.iter().enumerate() {
        let col = std::slice::from_raw_parts_mut(c.add(q * ldc), rows);
        if rows == MR {
            // Full block: a fixed-length loop the compiler turns into vector stores.
            let col: &mut [f64; MR] = col.try_into().unwrap_unchecked();
            for r in 0..MR {
                col[r] = if beta_one { col[r] + sq[r] } else { sq[r] };
            }
        } else {
            for (d, &v) in col.iter_mut().zip(sq) {
                *d = if beta_one { *d + v } else { v };
            }
        }
    }
}

thread_local! {
    /// Contiguous real and dual parts of the operands of large dual products
    /// (`a_re, a_eps, b_re, b_eps`), reused across calls on a thread.
    static SPLIT: std::cell::RefCell<[Vec<f64>; 4]> = const {
        std::cell::RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new()])
    };
}

thread_local! {
    /// The packed left operand of [`dual_gemm_small`] (real and dual parts of MR rows).
    static PACKED_DUAL: std::cell::RefCell<Vec<[[f64; MR]; 2]>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Columns of the register block of [`dual_gemm_small`] (two accumulators each).
const NR_DUAL: usize = 4;

/// `C = A B` or `C += A B` (`beta_one`) for matrices of dual numbers, in one pass:
/// `re(C) = sum_l re(a_il) re(b_lj)` and `eps(C) = sum_l (re(a_il) eps(b_lj) +
/// eps(a_il) re(b_lj))`, in the order `l = 0..k` by fused multiply-add. Views address
/// the real parts in f64 units; the dual part of each element sits `eps_off` further.
///
/// # Safety
/// As [`gemm_small`], for Dual64 storage.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)] // rows index two parts
unsafe fn dual_gemm_small(
    m: usize,
    k: usize,
    n: usize,
    a: View,
    b: View,
    eps_off: isize,
    beta_one: bool,
    c: *mut f64,
    (rsc, csc): (usize, usize),
) {
    PACKED_DUAL.with(|cell| {
        let mut pa = cell.borrow_mut();
        let blocks = m.div_ceil(MR);
        pa.clear();
        pa.resize(blocks * k, [[0.0; MR]; 2]);
        for rb in 0..blocks {
            for l in 0..k {
                let dst = &mut pa[rb * k + l];
                for r in 0..(m - rb * MR).min(MR) {
                    let p = a.p.add((rb * MR + r) * a.rs + l * a.cs);
                    dst[0][r] = *p;
                    dst[1][r] = *p.offset(eps_off);
                }
            }
        }
        for rb in 0..blocks {
            let rows = (m - rb * MR).min(MR);
            let pk = &pa[rb * k..(rb + 1) * k];
            let mut j = 0;
            while j < n {
                let q = (n - j).min(NR_DUAL);
                let mut acc = [[[0.0f64; MR]; 2]; NR_DUAL];
                if q == NR_DUAL {
                    dual_block::<NR_DUAL>(pk, b, eps_off, j, &mut acc);
                } else {
                    for (jj, accj) in acc.iter_mut().enumerate().take(q) {
                        let mut one = [[[0.0f64; MR]; 2]; NR_DUAL];
                        dual_block::<1>(pk, b, eps_off, j + jj, &mut one);
                        *accj = one[0];
                    }
                }
                for (jj, accj) in acc.iter().enumerate().take(q) {
                    let col = c.add((j + jj) * csc + rb * MR * rsc);
                    for r in 0..rows {
                        let d = col.add(r * rsc);
                        let e = d.offset(eps_off);
                        if beta_one {
                            *d += accj[0][r];
                            *e += accj[1][r];
                        } else {
                            *d = accj[0][r];
                            *e = accj[1][r];
                        }
                    }
                }
                j += q;
            }
        }
    })
}

/// The register block of [`dual_gemm_small`]: `Q` columns, real and dual accumulators.
#[inline(always)]
unsafe fn dual_block<const Q: usize>(
    pk: &[[[f64; MR]; 2]],
    b: View,
    eps_off: isize,
    j: usize,
    acc: &mut [[[f64; MR]; 2]; NR_DUAL],
) {
    let mut s = [[[0.0f64; MR]; 2]; Q];
    for (l, [are, aeps]) in pk.iter().enumerate() {
        for (q, sq) in s.iter_mut().enumerate() {
            let p = b.p.add(l * b.rs + (j + q) * b.cs);
            let (bre, beps) = (*p, *p.offset(eps_off));
            for r in 0..MR {
                sq[0][r] = are[r].mul_add(bre, sq[0][r]);
                sq[1][r] = are[r].mul_add(beps, sq[1][r]);
                sq[1][r] = aeps[r].mul_add(bre, sq[1][r]);
            }
        }
    }
    acc[..Q].copy_from_slice(&s);
}

/// `c <- alpha op(a) op(b) + beta c` for matrices of dual numbers and real `alpha`,
/// `beta`: `(a + e a')(b + e b') = ab + e (a b' + a' b)`, the work of three f64 products.
/// The real and dual parts of a `Dual64` matrix are two f64 matrices with doubled
/// strides; up to 256 rows and inner dimension (the per-step products of the recurrence)
/// [`dual_gemm_small`] reads them in place in one register-blocked pass, larger products
/// split the operands into contiguous parts for three matrixmultiply products.
///
/// # Safety
/// `T` must be `Dual64`.
unsafe fn dual_gemm<T, SA, SB, SC>(
    alpha: f64,
    a: &Matrix<T, Dyn, Dyn, SA>,
    ta: bool,
    b: &Matrix<T, Dyn, Dyn, SB>,
    tb: bool,
    beta: f64,
    c: &mut Matrix<T, Dyn, Dyn, SC>,
) where
    T: Real,
    SA: Storage<T, Dyn, Dyn>,
    SB: Storage<T, Dyn, Dyn>,
    SC: StorageMut<T, Dyn, Dyn>,
{
    const W: usize = std::mem::size_of::<Dual64>() / std::mem::size_of::<f64>();
    const RE: usize = std::mem::offset_of!(Dual64, re) / std::mem::size_of::<f64>();
    const EPS: usize = std::mem::offset_of!(Dual64, eps) / std::mem::size_of::<f64>();
    const { assert!(W == 2 && RE != EPS) };
    let (m, n) = c.shape();
    let k = if ta { a.nrows() } else { a.ncols() };
    // Strides of op(x) in f64 units: (row, column).
    let st = |(r, cs): (usize, usize), t: bool| {
        let (r, cs) = if t { (cs, r) } else { (r, cs) };
        ((r * W) as isize, (cs * W) as isize)
    };
    let (rsa, csa) = st(a.strides(), ta);
    let (rsb, csb) = st(b.strides(), tb);
    let (rsc, csc) = st(c.strides(), false);
    let pa = a.as_ptr() as *const f64;
    let pb = b.as_ptr() as *const f64;
    let pc = c.as_mut_ptr() as *mut f64;
    if m <= SMALL_DUAL_MAX && k <= SMALL_DUAL_MAX && alpha == 1.0 && (beta == 0.0 || beta == 1.0) {
        // The register kernel reads the strided parts in place (no packing of B).
        let view = |p: *const f64, (r, c): (isize, isize)| View::new(p, r as usize, c as usize);
        let off = EPS as isize - RE as isize;
        dual_gemm_small(
            m,
            k,
            n,
            view(pa.add(RE), (rsa, csa)),
            view(pb.add(RE), (rsb, csb)),
            off,
            beta == 1.0,
            pc.add(RE),
            (rsc as usize, csc as usize),
        );
        return;
    }
    // Large products: matrixmultiply packs its operands panel by panel, which is slow on
    // the doubled strides; split each operand once into contiguous real and dual parts
    // (buffers reused on each thread, so no fresh pages are touched).
    SPLIT.with(|cell| {
        let mut bufs = cell.borrow_mut();
        let [are, aeps, bre, beps] = &mut *bufs;
        // Read in the source's memory order (a transposed view has the larger row stride).
        let split = |p: *const f64,
                     (rs, cs): (isize, isize),
                     rows: usize,
                     cols: usize,
                     re: &mut Vec<f64>,
                     eps: &mut Vec<f64>| {
            re.clear();
            eps.clear();
            re.resize(rows * cols, 0.0);
            eps.resize(rows * cols, 0.0);
            let mut put = |i: usize, j: usize| {
                let q = p.offset(i as isize * rs + j as isize * cs);
                re[j * rows + i] = *q.add(RE);
                eps[j * rows + i] = *q.add(EPS);
            };
            if rs.abs() <= cs.abs() {
                for j in 0..cols {
                    for i in 0..rows {
                        put(i, j);
                    }
                }
            } else {
                for i in 0..rows {
                    for j in 0..cols {
                        put(i, j);
                    }
                }
            }
        };
        split(pa, (rsa, csa), m, k, are, aeps);
        split(pb, (rsb, csb), k, n, bre, beps);
        let (mi, ki) = (m as isize, k as isize);
        let mm = |x: &[f64], y: &[f64], beta: f64, out: *mut f64| {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                alpha,
                x.as_ptr(),
                1,
                mi,
                y.as_ptr(),
                1,
                ki,
                beta,
                out,
                rsc,
                csc,
            )
        };
        mm(are, beps, beta, pc.add(EPS));
        mm(aeps, bre, 1.0, pc.add(EPS));
        mm(are, bre, beta, pc.add(RE));
    });
}

/// Refuse a matrix the iterative decompositions cannot handle: a NaN or infinite entry, or
/// entries so large that the Frobenius norm overflows (nalgebra's SVD and symmetric
/// eigensolver iterate without end on such input). The error names the first bad entry.
fn check_decomposable(m: &DMatrix<f64>) -> crate::Result<()> {
    if let Some(k) = m.iter().position(|x| !x.is_finite()) {
        let (i, j) = (k % m.nrows(), k / m.nrows());
        return Err(crate::Error::NonFinite {
            what: format!(
                "a {}x{} matrix: entry ({i}, {j}) is {}",
                m.nrows(),
                m.ncols(),
                m[(i, j)]
            ),
        });
    }
    if !m.norm().is_finite() {
        return Err(crate::Error::NonFinite {
            what: format!(
                "the norm of a {}x{} matrix: its entries (largest {:e}) overflow",
                m.nrows(),
                m.ncols(),
                m.amax()
            ),
        });
    }
    Ok(())
}

/// Largest singular value ||M||_2 (spectral norm), by the symmetric eigenvalues of M^T M.
/// A matrix with a non-finite entry (or one whose norm overflows) is refused with
/// [`crate::Error::NonFinite`] instead of being handed to the SVD, which would not return.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, -4.0]);
/// assert!((nrnn::linalg::spectral_norm(&m).unwrap() - 4.0).abs() < 1e-12);
/// let bad = nalgebra::DMatrix::from_row_slice(1, 2, &[1.0, f64::NAN]);
/// assert!(nrnn::linalg::spectral_norm(&bad).is_err());
/// ```
pub fn spectral_norm(m: &DMatrix<f64>) -> crate::Result<f64> {
    if m.is_empty() {
        return Ok(0.0);
    }
    check_decomposable(m)?;
    Ok(m.clone().svd(false, false).singular_values.max())
}

/// Largest eigenvalue of the symmetric part (M + M^T)/2. Like [`spectral_norm`], refuses a
/// matrix with a non-finite entry (or an overflowing norm) instead of iterating forever.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[1.0, 5.0, -5.0, -2.0]);
/// assert!((nrnn::linalg::lambda_max_sym(&m).unwrap() - 1.0).abs() < 1e-12);
/// ```
pub fn lambda_max_sym(m: &DMatrix<f64>) -> crate::Result<f64> {
    let s = (m + m.transpose()) * 0.5;
    check_decomposable(&s)?;
    Ok(s.symmetric_eigenvalues().max())
}

/// `expm1(y)` for `y >= 0` (clamped to `y <= 40`), branch-free so loops over slices
/// vectorize: `y = k ln2 + r` with `|r| <= ln2/2` (Cody-Waite split of ln2), `expm1(r)` by
/// its Taylor series to degree 13 (truncation below 5e-18 relative), then
/// `expm1(y) = 2^k expm1(r) + (2^k - 1)`.
#[inline(always)]
fn expm1_nonneg(y: f64) -> f64 {
    const LOG2E: f64 = std::f64::consts::LOG2_E;
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
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

    /// Dual-number products, through the register kernel (small) and the split path
    /// (inner dimension above 256), with transposes and beta 0 and 1, equal the
    /// definition `re = sum re re`, `eps = sum (re eps + eps re)` to round-off.
    #[test]
    fn dual_gemm_matches_its_definition() {
        let d = |i: usize, j: usize, s: usize| {
            let v = |t: usize| ((i * 31 + j * 17 + s * 7 + t) % 29) as f64 / 9.0 - 1.5;
            Dual64::new(v(0), v(3))
        };
        for &(m, k, n) in &[(3, 5, 7), (13, 16, 29), (64, 128, 9), (17, 300, 11)] {
            for (ta, tb) in [(false, false), (true, false), (false, true)] {
                let a = if ta {
                    DMatrix::from_fn(k, m, |i, j| d(i, j, 1))
                } else {
                    DMatrix::from_fn(m, k, |i, j| d(i, j, 1))
                };
                let b = if tb {
                    DMatrix::from_fn(n, k, |i, j| d(i, j, 2))
                } else {
                    DMatrix::from_fn(k, n, |i, j| d(i, j, 2))
                };
                let at = |i: usize, l: usize| if ta { a[(l, i)] } else { a[(i, l)] };
                let bt = |l: usize, j: usize| if tb { b[(j, l)] } else { b[(l, j)] };
                for beta in [0.0, 1.0] {
                    let c0 = DMatrix::from_fn(m, n, |i, j| d(i, j, 3));
                    let mut c = c0.clone();
                    gemm(
                        Dual64::from(1.0),
                        &a,
                        ta,
                        &b,
                        tb,
                        Dual64::from(beta),
                        &mut c,
                    );
                    for i in 0..m {
                        for j in 0..n {
                            let (mut re, mut eps, mut scale) = (0.0, 0.0, 1.0f64);
                            for l in 0..k {
                                let (x, y) = (at(i, l), bt(l, j));
                                re += x.re * y.re;
                                eps += x.re * y.eps + x.eps * y.re;
                                scale += (x.re * y.re).abs()
                                    + (x.re * y.eps).abs()
                                    + (x.eps * y.re).abs();
                            }
                            re += beta * c0[(i, j)].re;
                            eps += beta * c0[(i, j)].eps;
                            let tol = 4.0 * f64::EPSILON * (k as f64) * scale;
                            assert!((c[(i, j)].re - re).abs() <= tol, "re {m}x{k}x{n} {ta} {tb}");
                            assert!(
                                (c[(i, j)].eps - eps).abs() <= tol,
                                "eps {m}x{k}x{n} {ta} {tb}"
                            );
                        }
                    }
                }
            }
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

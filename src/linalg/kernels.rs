//! The unsafe kernels of [`super::gemm`] and [`super::affine`] and the dispatch between
//! them: a register-blocked f64 kernel for small products, matrixmultiply for the others,
//! dual-number products as three f64 products.

use super::{gemm, is, Real};
use nalgebra::{DMatrix, Dyn, Matrix, Storage, StorageMut};
use num_dual::Dual64;

/// The product of [`gemm`] after its shape checks (non-empty `c`): small f64 products
/// without transposes, `alpha = 1` and `beta` 0 or 1 go to [`gemm_small`], the others to
/// [`gemm_general`]. Inlined into [`gemm`], whose body it was: the split adds no call.
#[inline(always)]
pub(super) fn gemm_dispatch<T, SA, SB, SC>(
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
    let n = c.ncols();
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

/// The input drive `c <- b 1^T + a x` of [`super::affine`] for f64 and at most four
/// inputs (`a` with `k <= 4` columns): per column, `s_i = sum_l a_il x_lj` fused from 0 in
/// the order of `l`, then `b_i + s_i`. Inlined into [`super::affine`], whose body it was.
#[inline(always)]
pub(super) fn affine_narrow<T, SX>(
    a: &DMatrix<T>,
    x: &Matrix<f64, Dyn, Dyn, SX>,
    b: &nalgebra::DVector<T>,
    c: &mut DMatrix<T>,
) where
    T: Real,
    SX: Storage<f64, Dyn, Dyn>,
{
    debug_assert!(is::<T, f64>());
    let (m, k) = a.shape();
    let n = x.ncols();
    // SAFETY: T is f64 (checked above); the slices cover the matrices' storage.
    let f =
        |m: &DMatrix<T>| unsafe { std::slice::from_raw_parts(m.as_ptr() as *const f64, m.len()) };
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
}

/// The products of [`gemm`] not taken by the small f64 kernel: f64 through matrixmultiply,
/// dual numbers through [`dual_gemm`], other scalars through nalgebra.
pub(super) fn gemm_general<T, SA, SB, SC>(
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

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! Extreme eigenvalues of a symmetric operator: Lanczos with full reorthogonalization, and
//! power iteration with deflation for comparison.
//!
//! Lanczos builds an orthonormal basis `Q_m = [q_1 .. q_m]` of the Krylov space
//! `span{q_1, A q_1, .., A^{m-1} q_1}` with `A Q_m = Q_m T_m + beta_m q_{m+1} e_m^T`, `T_m`
//! tridiagonal (diagonal `alpha`, off-diagonal `beta`). Each new vector is orthogonalized
//! against the whole basis, twice ("twice is enough", Kahan-Parlett), so the basis stays
//! orthonormal to working precision and no spurious copies of converged eigenvalues appear.
//! The Ritz pairs `(theta_i, y_i = Q_m s_i)` from `T_m s_i = theta_i s_i` have residual
//! `||A y_i - theta_i y_i|| = beta_m |e_m^T s_i|`; iteration stops when the `k` largest have
//! residual `<= tol * max_j |theta_j|`. The reported residuals are recomputed with `k` more
//! products, and for a symmetric `A` each reported value lies within its residual of an
//! eigenvalue of `A` (Bauer-Fike / Weyl): the residual is the value's error bar.
//!
//! One Krylov space sees each distinct eigenvalue once, so [`lanczos`] follows its first run
//! by deflated restarts (runs kept orthogonal to the Ritz vectors found) until no new value
//! enters the top `k`: repeated eigenvalues are returned with their multiplicity (see
//! [`lanczos`] for what is guaranteed).
//!
//! [`power_iteration`] ranks by magnitude (`|lambda|`), [`lanczos`] by value: they return the
//! same set when the `k` eigenvalues of largest magnitude are the `k` largest, as at a
//! minimum whose negative eigenvalues are small; otherwise power iteration returns large
//! negative eigenvalues that Lanczos leaves out.

use super::LinearOperator;
use crate::error::{Error, Result};
use crate::rng::{fill_normal, stream};
use nalgebra::{DMatrix, SymmetricEigen};

/// Stream tag of the Lanczos start vectors (`stream(seed, [TAG_LANCZOS, block])`).
pub const TAG_LANCZOS: u64 = 0x4845_5353_0000_0001;
/// Stream tag of the power-iteration start vectors (`stream(seed, [TAG_POWER, i])`).
pub const TAG_POWER: u64 = 0x4845_5353_0000_0002;

/// Eigenvalue estimates with what is known about their accuracy.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Eigenpairs {
    /// Eigenvalue estimates, largest algebraic first.
    pub values: Vec<f64>,
    /// Unit eigenvector estimates, in the order of `values` (not serialized).
    #[serde(skip)]
    pub vectors: Vec<Vec<f64>>,
    /// `||A v_i - lambda_i v_i||` for each pair (a bound on the distance of `lambda_i` to the
    /// spectrum of a symmetric `A`).
    pub residuals: Vec<f64>,
    /// Operator applications used, the residual checks included.
    pub products: usize,
    /// Iterations (Lanczos steps, or power steps summed over the eigenvalues).
    pub iterations: usize,
    /// Whether every pair met the tolerance (for [`lanczos`], also every deflated restart).
    pub converged: bool,
    /// Deflated restarts of [`lanczos`] (0 for [`power_iteration`]); `products` and
    /// `iterations` include theirs.
    pub restarts: usize,
}

/// Settings of [`lanczos`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LanczosOptions {
    /// How many of the largest eigenvalues, in `1..=dim`.
    pub k: usize,
    /// Largest Krylov dimension of each run, the first and every deflated restart (capped at
    /// the operator's dimension), `>= k`.
    pub max_iter: usize,
    /// Stop when every one of the top `k` Ritz residuals is `<= tol * max |theta|`; in `(0, 1)`.
    pub tol: f64,
    /// Seed of the random start vector.
    pub seed: u64,
}

impl LanczosOptions {
    /// Defaults for the top `k`: at most 300 steps, tolerance `1e-8`, seed 0.
    ///
    /// ```
    /// let o = nrnn::hessian::LanczosOptions::new(5);
    /// assert_eq!((o.k, o.max_iter), (5, 300));
    /// ```
    pub fn new(k: usize) -> LanczosOptions {
        LanczosOptions {
            k,
            max_iter: 300,
            tol: 1e-8,
            seed: 0,
        }
    }
}

/// Settings of [`power_iteration`].
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PowerOptions {
    /// How many eigenvalues, in `1..=dim`.
    pub k: usize,
    /// Largest number of steps per eigenvalue, `>= 1`.
    pub max_iter: usize,
    /// Stop an eigenvalue when `||P A v - lambda v|| <= tol * |lambda|` (`P`: deflation); in `(0, 1)`.
    pub tol: f64,
    /// Seed of the start vectors.
    pub seed: u64,
}

impl PowerOptions {
    /// Defaults for `k` eigenvalues: at most 500 steps each, tolerance `1e-6`, seed 0.
    ///
    /// ```
    /// assert_eq!(nrnn::hessian::PowerOptions::new(2).max_iter, 500);
    /// ```
    pub fn new(k: usize) -> PowerOptions {
        PowerOptions {
            k,
            max_iter: 500,
            tol: 1e-6,
            seed: 0,
        }
    }
}

/// `A v`, or an error when the product is not finite (a model whose dual-number evaluation
/// overflows, for example).
pub(crate) fn apply_checked<O: LinearOperator + ?Sized>(op: &O, v: &[f64]) -> Result<Vec<f64>> {
    let w = op.apply(v);
    if w.iter().all(|x| x.is_finite()) {
        Ok(w)
    } else {
        Err(Error::NonFinite {
            what: "operator product (Hessian-vector product)".into(),
        })
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// `w -= (q . w) q` for every `q` in `basis`, twice (classical Gram-Schmidt, repeated).
pub(crate) fn orthogonalize(w: &mut [f64], basis: &[Vec<f64>]) {
    for _ in 0..2 {
        for q in basis {
            let c = dot(q, w);
            for (x, y) in w.iter_mut().zip(q) {
                *x -= c * y;
            }
        }
    }
}

/// Eigen-decomposition of the symmetric tridiagonal matrix with diagonal `alpha` and
/// off-diagonal `beta` (`beta.len() + 1 == alpha.len()`), eigenvalues in decreasing order
/// with their unit eigenvectors as columns.
pub(crate) fn tridiagonal_eigen(alpha: &[f64], beta: &[f64]) -> (Vec<f64>, DMatrix<f64>) {
    let m = alpha.len();
    let mut t = DMatrix::zeros(m, m);
    for i in 0..m {
        t[(i, i)] = alpha[i];
        if i + 1 < m {
            t[(i, i + 1)] = beta[i];
            t[(i + 1, i)] = beta[i];
        }
    }
    let eig = SymmetricEigen::new(t);
    let mut idx: Vec<usize> = (0..m).collect();
    idx.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
    let vals = idx.iter().map(|&i| eig.eigenvalues[i]).collect();
    let mut vecs = DMatrix::zeros(m, m);
    for (c, &i) in idx.iter().enumerate() {
        vecs.column_mut(c).copy_from(&eig.eigenvectors.column(i));
    }
    (vals, vecs)
}

fn random_unit(
    dim: usize,
    seed: u64,
    tag: u64,
    index: u64,
    against: &[Vec<f64>],
) -> Option<Vec<f64>> {
    let mut rng = stream(seed, &[tag, index]);
    let mut v = vec![0.0; dim];
    fill_normal(&mut rng, &mut v);
    orthogonalize(&mut v, against);
    let nv = norm(&v);
    if nv > 1e-8 * (dim as f64).sqrt() {
        v.iter_mut().for_each(|x| *x /= nv);
        Some(v)
    } else {
        None
    }
}

fn check_common(name: &str, k: usize, dim: usize, tol: f64) -> Result<()> {
    if dim == 0 {
        return Err(Error::param("operator dimension", 0, "at least 1"));
    }
    if k == 0 || k > dim {
        return Err(Error::param(
            &format!("{name}.k"),
            k,
            &format!("an integer in [1, {dim}] (the operator's dimension)"),
        ));
    }
    if !(tol.is_finite() && tol > 0.0 && tol < 1.0) {
        return Err(Error::param(
            &format!("{name}.tol"),
            tol,
            "a number in (0, 1)",
        ));
    }
    Ok(())
}

/// The `k` largest (algebraic) eigenvalues of a symmetric operator, counted with their
/// multiplicities, by Lanczos with full reorthogonalization and deflated restarts (see the
/// module docs), with their residuals and the products used.
///
/// A single Krylov space `span{q, A q, A^2 q, ..}` holds one direction per distinct
/// eigenvalue (the component of `q` in that eigenspace), so one Lanczos run sees a repeated
/// eigenvalue once: a cross-entropy Hessian, whose zero eigenvalue is repeated (shifting every
/// logit changes nothing), would lose the second copy and report the next lower eigenvalue
/// in its place. Hence the restarts: after the first run has converged on `k` Ritz pairs
/// (the window), a run with `k = 1` starts from a new random vector orthogonalized against
/// the window's vectors and keeps its whole Krylov basis orthogonal to them, so it finds the
/// largest eigenvalue of `A` restricted to their orthogonal complement. If that value
/// exceeds the window's smallest by more than `tol * max |lambda|`, it replaces it (the
/// window stays orthonormal) and another restart follows; otherwise the window is the top
/// `k`. At most `k + 1` restarts are made (`restarts` in the result).
///
/// What is guaranteed: with exact arithmetic and converged runs, every eigenvalue among the
/// top `k` is returned as often as its multiplicity, for any multiplicity up to `k`, unless a
/// random start vector is orthogonal to a wanted eigenspace (probability 0). In floating
/// point the window's vectors are eigenvectors only to within their residuals, so values
/// that agree within `tol * max |lambda|` may stand for one another. `converged` is `false`
/// when a run (the first or a restart) did not meet the tolerance within `max_iter` steps,
/// or the restarts ran out: a restart's top Ritz value only bounds its eigenvalue from below,
/// so an unconverged restart proves nothing. `max_iter` bounds each run's Krylov dimension.
///
/// ```
/// use nrnn::hessian::{lanczos, LanczosOptions};
/// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![3.0, -5.0, 1.0, 2.0]));
/// let e = lanczos(&a, &LanczosOptions::new(2)).unwrap();
/// assert!((e.values[0] - 3.0).abs() < 1e-10 && (e.values[1] - 2.0).abs() < 1e-10);
/// assert!(e.residuals.iter().all(|&r| r < 1e-8));
/// // A repeated eigenvalue is returned with its multiplicity.
/// let b = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![2.0, 2.0, 1.0, 0.5]));
/// let e = lanczos(&b, &LanczosOptions::new(3)).unwrap();
/// assert!((e.values[1] - 2.0).abs() < 1e-10 && (e.values[2] - 1.0).abs() < 1e-10);
/// ```
pub fn lanczos<O: LinearOperator + ?Sized>(op: &O, opts: &LanczosOptions) -> Result<Eigenpairs> {
    let dim = op.dim();
    check_common("lanczos", opts.k, dim, opts.tol)?;
    if opts.max_iter < opts.k {
        return Err(Error::param(
            "lanczos.max_iter",
            opts.max_iter,
            &format!("at least k = {}", opts.k),
        ));
    }
    let k = opts.k;
    let mut win = krylov(
        op,
        k,
        opts.max_iter.min(dim),
        opts.tol,
        0.0,
        opts.seed,
        0,
        &[],
    )?;
    let mut restarts = 0;
    let mut settled = false;
    while win.values.len() == k && dim > k && restarts <= k {
        restarts += 1;
        let max_m = opts.max_iter.min(dim - k);
        let scale = win
            .values
            .iter()
            .fold(0.0f64, |s, v| s.max(v.abs()))
            .max(f64::MIN_POSITIVE);
        let run = restarts as u64;
        let sub = krylov(op, 1, max_m, opts.tol, scale, opts.seed, run, &win.vectors)?;
        win.products += sub.products;
        win.iterations += sub.iterations;
        match sub.values.first() {
            Some(&v) if v > win.values[k - 1] + opts.tol * scale => {
                // A value the window missed (another copy of a repeated eigenvalue, or one
                // whose eigenspace the first start vector did not reach): it replaces the
                // smallest, and the window is sorted again.
                win.values[k - 1] = v;
                win.vectors[k - 1] = sub.vectors[0].clone();
                win.residuals[k - 1] = sub.residuals[0];
                let mut idx: Vec<usize> = (0..k).collect();
                idx.sort_by(|&a, &b| win.values[b].total_cmp(&win.values[a]));
                win.values = idx.iter().map(|&i| win.values[i]).collect();
                win.residuals = idx.iter().map(|&i| win.residuals[i]).collect();
                win.vectors = idx.iter().map(|&i| win.vectors[i].clone()).collect();
                win.converged &= sub.converged;
            }
            _ => {
                win.converged &= sub.converged;
                settled = true;
                break;
            }
        }
    }
    if dim > k && !settled {
        win.converged = false;
    }
    Ok(Eigenpairs {
        values: win.values,
        vectors: win.vectors,
        residuals: win.residuals,
        products: win.products,
        iterations: win.iterations,
        converged: win.converged,
        restarts,
    })
}

/// One run of [`lanczos`]: the top `k` Ritz pairs of `A` restricted to the orthogonal
/// complement of `locked` (orthonormal; empty for the first run), with a Krylov dimension of
/// at most `max_m`, start vectors from `stream(seed, [TAG_LANCZOS, run << 32 | block])`.
/// Converged when the top `k` residuals are `<= tol * max(max |theta|, scale_floor)` (a
/// restart measures against the window's scale: the complement may hold only zeros).
/// `restarts` of the result is 0.
#[allow(clippy::too_many_arguments)]
fn krylov<O: LinearOperator + ?Sized>(
    op: &O,
    k: usize,
    max_m: usize,
    tol: f64,
    scale_floor: f64,
    seed: u64,
    run: u64,
    locked: &[Vec<f64>],
) -> Result<Eigenpairs> {
    let dim = op.dim();
    // The locked vectors lead the basis, so every new vector is orthogonalized against them;
    // the Krylov basis proper is `basis[nl..]`.
    let nl = locked.len();
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(nl + max_m);
    basis.extend_from_slice(locked);
    let mut alpha: Vec<f64> = Vec::new();
    let mut beta: Vec<f64> = Vec::new();
    let mut products = 0;
    let mut block = run << 32;
    let Some(mut q) = random_unit(dim, seed, TAG_LANCZOS, block, &basis) else {
        return Ok(Eigenpairs {
            values: Vec::new(),
            vectors: Vec::new(),
            residuals: Vec::new(),
            products,
            iterations: 0,
            converged: true,
            restarts: 0,
        });
    };
    let mut converged = false;
    let mut anorm: f64 = 0.0;
    loop {
        let mut w = apply_checked(op, &q)?;
        products += 1;
        let a = dot(&q, &w);
        anorm = anorm.max(a.abs()).max(norm(&w));
        basis.push(q);
        alpha.push(a);
        orthogonalize(&mut w, &basis);
        let b = norm(&w);
        let m = basis.len() - nl;
        // Convergence of the top k Ritz values: residual = b |last component|.
        if m >= k {
            let (vals, vecs) = tridiagonal_eigen(&alpha, &beta);
            let scale = vals
                .iter()
                .fold(0.0f64, |s, v| s.max(v.abs()))
                .max(scale_floor)
                .max(f64::MIN_POSITIVE);
            let ok = (0..k).all(|i| b * vecs[(m - 1, i)].abs() <= tol * scale);
            if ok {
                converged = true;
                break;
            }
        }
        if m == max_m {
            break;
        }
        if b <= 1e-13 * anorm.max(scale_floor).max(f64::MIN_POSITIVE) {
            // Invariant subspace: continue with a fresh direction orthogonal to the basis
            // (the tridiagonal matrix splits into blocks, beta = 0 between them).
            block += 1;
            match random_unit(dim, seed, TAG_LANCZOS, block, &basis) {
                Some(v) => {
                    q = v;
                    beta.push(0.0);
                    continue;
                }
                None => {
                    converged = true;
                    break;
                }
            }
        }
        beta.push(b);
        w.iter_mut().for_each(|x| *x /= b);
        q = w;
    }
    let krylov_basis = &basis[nl..];
    let m = krylov_basis.len();
    let (vals, vecs) = tridiagonal_eigen(&alpha, &beta);
    let mut values = Vec::with_capacity(k);
    let mut vectors = Vec::with_capacity(k);
    let mut residuals = Vec::with_capacity(k);
    for i in 0..k.min(m) {
        let mut y = vec![0.0; dim];
        for (j, qj) in krylov_basis.iter().enumerate() {
            let s = vecs[(j, i)];
            for (yy, qq) in y.iter_mut().zip(qj) {
                *yy += s * qq;
            }
        }
        let ny = norm(&y);
        y.iter_mut().for_each(|x| *x /= ny);
        let ay = apply_checked(op, &y)?;
        products += 1;
        let lam = vals[i];
        let r: f64 = ay
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - lam * b).powi(2))
            .sum::<f64>()
            .sqrt();
        values.push(lam);
        vectors.push(y);
        residuals.push(r);
    }
    Ok(Eigenpairs {
        values,
        vectors,
        residuals,
        products,
        iterations: m,
        converged,
        restarts: 0,
    })
}

/// The `k` eigenvalues of largest magnitude by power iteration with projection deflation:
/// eigenvalue `i` iterates `v <- P A v / ||P A v||` with `P` the projector orthogonal to the
/// eigenvectors already found, `lambda = v^T A v`, until `||P A v - lambda v|| <= tol |lambda|`;
/// the reported residual is `||A v - lambda v||`.
/// Slower than [`lanczos`] (linear convergence with rate `|lambda_{i+1} / lambda_i|`); kept
/// for comparison. It ranks by magnitude, [`lanczos`] by value: at a minimum, where the top
/// eigenvalues dominate the negative ones, the largest-magnitude eigenvalues are the largest
/// algebraic ones and the two return the same set; an eigenvalue of large magnitude below
/// zero is returned here, not by [`lanczos`]. Results are sorted with the largest algebraic
/// value first.
///
/// ```
/// use nrnn::hessian::{power_iteration, PowerOptions};
/// let a = nalgebra::DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![4.0, 1.0, 2.0]));
/// let e = power_iteration(&a, &PowerOptions::new(2)).unwrap();
/// assert!((e.values[0] - 4.0).abs() < 1e-5 && (e.values[1] - 2.0).abs() < 1e-5);
/// ```
pub fn power_iteration<O: LinearOperator + ?Sized>(
    op: &O,
    opts: &PowerOptions,
) -> Result<Eigenpairs> {
    let dim = op.dim();
    check_common("power", opts.k, dim, opts.tol)?;
    if opts.max_iter == 0 {
        return Err(Error::param("power.max_iter", 0, "at least 1"));
    }
    let mut found: Vec<(f64, Vec<f64>, f64)> = Vec::new();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    let mut products = 0;
    let mut iterations = 0;
    let mut converged = true;
    for i in 0..opts.k {
        let Some(mut v) = random_unit(dim, opts.seed, TAG_POWER, i as u64, &basis) else {
            break;
        };
        let mut lam = 0.0;
        let mut res = f64::INFINITY;
        let mut ok = false;
        for _ in 0..opts.max_iter {
            let w = apply_checked(op, &v)?;
            products += 1;
            iterations += 1;
            lam = dot(&v, &w);
            res = w
                .iter()
                .zip(&v)
                .map(|(a, b)| (a - lam * b).powi(2))
                .sum::<f64>()
                .sqrt();
            // Converge on the deflated residual ||P A v - lambda v||: the residual in A also
            // holds the (small) residuals of the eigenvectors already found.
            let mut w = w;
            orthogonalize(&mut w, &basis);
            let dres = w
                .iter()
                .zip(&v)
                .map(|(a, b)| (a - lam * b).powi(2))
                .sum::<f64>()
                .sqrt();
            if dres <= opts.tol * lam.abs().max(f64::MIN_POSITIVE) {
                ok = true;
                break;
            }
            let nw = norm(&w);
            if nw == 0.0 {
                ok = true;
                break;
            }
            w.iter_mut().for_each(|x| *x /= nw);
            v = w;
        }
        converged &= ok;
        basis.push(v.clone());
        found.push((lam, v, res));
    }
    found.sort_by(|a, b| b.0.total_cmp(&a.0));
    Ok(Eigenpairs {
        values: found.iter().map(|f| f.0).collect(),
        residuals: found.iter().map(|f| f.2).collect(),
        vectors: found.into_iter().map(|f| f.1).collect(),
        products,
        iterations,
        converged,
        restarts: 0,
    })
}

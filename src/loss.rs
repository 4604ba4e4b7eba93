//! Losses of the readout `o = V h_K + c`: cross-entropy and squared error.
//!
//! For one example with logits `o`:
//! - cross-entropy `l = log sum_j exp(o_j) - o_y`, gradient `p - e_y` with `p = softmax(o)`,
//!   Hessian in the logits `diag(p) - p p^T` (positive semi-definite);
//! - squared error `l = |o - y|^2 / 2`, gradient `o - y`, Hessian `I`.
//!
//! Seen as functions of the final hidden state `h`, `grad_h l = V^T grad_o l` and
//! `Hess_h l = V^T Hess_o l V` (docs/theory.md section 2).

use crate::data::Target;
use crate::linalg::Real;
use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;

/// A loss of the logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loss {
    /// Softmax cross-entropy against a class label.
    CrossEntropy,
    /// Half the squared Euclidean distance to a target vector.
    SquaredError,
}

/// Numerically stable softmax of one column.
///
/// ```
/// let p = nrnn::loss::softmax(&[1.0f64, 1.0]);
/// assert!((p[0] - 0.5).abs() < 1e-15);
/// ```
pub fn softmax<T: Real>(o: &[T]) -> Vec<T> {
    let mut e = vec![T::zero(); o.len()];
    let (_, s) = shifted_exp(o, &mut e);
    e.into_iter().map(|v| v / s).collect()
}

/// `e_i = exp(o_i - m)` into `e`, with `m = max o` (the first of equal entries; NaN never
/// wins) for a non-empty `o`; returns `(m, sum_i e_i)`, the sum from zero in order. The
/// shared steps of the softmax and the log-sum-exp `ln(sum e) + m`.
fn shifted_exp<T: Real>(o: &[T], e: &mut [T]) -> (T, T) {
    let mut mx = o[0];
    for &v in o {
        if v > mx {
            mx = v;
        }
    }
    for (ei, &v) in e.iter_mut().zip(o) {
        *ei = (v - mx).exp();
    }
    (mx, e.iter().fold(T::zero(), |a, &b| a + b))
}

/// Examples per parallel run of [`Loss::value_grad`].
const LOSS_COLS: usize = 1024;

impl Loss {
    /// Per-example losses and `scale * d l / d o` for a batch of logits (`classes x B`).
    ///
    /// ```
    /// use nalgebra::DMatrix;
    /// use nrnn::{data::Target, loss::Loss};
    /// let o = DMatrix::from_column_slice(2, 1, &[0.0, 0.0]);
    /// let (l, g) = Loss::CrossEntropy.value_grad(&o, &Target::Classes(vec![0]), 1.0);
    /// assert!((l[0] - 2f64.ln()).abs() < 1e-15);
    /// assert!((g[(0, 0)] + 0.5).abs() < 1e-15);
    /// ```
    pub fn value_grad<T: Real>(
        self,
        logits: &DMatrix<T>,
        target: &Target,
        scale: T,
    ) -> (Vec<T>, DMatrix<T>) {
        let (c, b) = logits.shape();
        let mut losses = vec![T::zero(); b];
        let mut grad = DMatrix::zeros(c, b);
        // Columns are independent: runs of LOSS_COLS of them in parallel, each the same
        // numbers whatever the thread count.
        grad.as_mut_slice()
            .par_chunks_mut(c.max(1) * LOSS_COLS)
            .zip(losses.par_chunks_mut(LOSS_COLS))
            .enumerate()
            .for_each(|(r, (g, l))| {
                // exp(o_i - max o) of one column, reused across the run.
                let mut ex = vec![T::zero(); c];
                for (jj, (gj, lj)) in g.chunks_mut(c.max(1)).zip(l.iter_mut()).enumerate() {
                    let j = r * LOSS_COLS + jj;
                    let o = &logits.as_slice()[j * c..(j + 1) * c];
                    *lj = self.column(o, target, j, scale, &mut ex, gj);
                }
            });
        (losses, grad)
    }

    /// Example `j`'s loss from its logits `o`, with `scale * d l / d o` written to `g`.
    fn column<T: Real>(
        self,
        o: &[T],
        target: &Target,
        j: usize,
        scale: T,
        ex: &mut [T],
        g: &mut [T],
    ) -> T {
        let c = o.len();
        match (self, target) {
            (Loss::CrossEntropy, Target::Classes(y)) => {
                // log-sum-exp and softmax from the same exponentials:
                // l = ln(sum_i e_i) + max o - o_y, p_i = e_i / sum e.
                let (mx, s) = shifted_exp(o, ex);
                for i in 0..c {
                    let e = if i == y[j] { T::one() } else { T::zero() };
                    g[i] = scale * (ex[i] / s - e);
                }
                s.ln() + mx - o[y[j]]
            }
            (Loss::SquaredError, Target::Values(t)) => {
                let mut l = T::zero();
                for i in 0..c {
                    let r = o[i] - T::of(t[(i, j)]);
                    l += r * r;
                    g[i] = scale * r;
                }
                l * T::of(0.5)
            }
            (Loss::SquaredError, Target::Classes(y)) => {
                // One-hot targets.
                let mut l = T::zero();
                for i in 0..c {
                    let e = if i == y[j] { T::one() } else { T::zero() };
                    let r = o[i] - e;
                    l += r * r;
                    g[i] = scale * r;
                }
                l * T::of(0.5)
            }
            (Loss::CrossEntropy, Target::Values(_)) => {
                panic!("cross-entropy needs class labels; use Loss::for_target")
            }
        }
    }

    /// The natural loss for a target: cross-entropy for classes, squared error for values.
    pub fn for_target(target: &Target) -> Loss {
        match target {
            Target::Classes(_) => Loss::CrossEntropy,
            Target::Values(_) => Loss::SquaredError,
        }
    }

    /// Hessian of the loss in the logits for one example: `diag(p) - p p^T` or `I`.
    ///
    /// The diagonal is formed as `p_i sum_{j != i} p_j` rather than `p_i (1 - p_i)`: when
    /// the softmax saturates (`p_i` within round-off of 1) the difference `1 - p_i` is lost,
    /// and the computed matrix would be indefinite at the scale of its own entries. In this
    /// form every row sums to zero up to round-off, so the matrix is positive semi-definite
    /// to round-off relative to its largest entry (Gershgorin).
    ///
    /// ```
    /// let h = nrnn::loss::Loss::CrossEntropy.hessian_logits(&[0.0, 0.0]);
    /// assert!((h[(0, 0)] - 0.25).abs() < 1e-15 && (h[(0, 1)] + 0.25).abs() < 1e-15);
    /// // Saturated: p = (1 - d, d) with d = e^-400; both eigenvalues are >= 0 (0 and 2d).
    /// let h = nrnn::loss::Loss::CrossEntropy.hessian_logits(&[400.0, 0.0]);
    /// assert!(h.symmetric_eigenvalues().min() >= -1e-15 * h.amax());
    /// assert!(h[(0, 0)] > 0.0);
    /// ```
    pub fn hessian_logits(self, o: &[f64]) -> DMatrix<f64> {
        let c = o.len();
        match self {
            Loss::CrossEntropy => {
                let p = softmax(o);
                DMatrix::from_fn(c, c, |i, j| {
                    if i == j {
                        let rest: f64 = (0..c).filter(|&l| l != i).map(|l| p[l]).sum();
                        p[i] * rest
                    } else {
                        -p[i] * p[j]
                    }
                })
            }
            Loss::SquaredError => DMatrix::identity(c, c),
        }
    }

    /// The adjoint of [`Loss::hessian_logits`]: for a symmetric cotangent `G` of the
    /// Hessian `Hp(o)`, the gradient in the logits of `tr(G Hp(o))`. Cross-entropy, with
    /// `Hp = diag(p) - p p^T`: `dp = diag(G) - 2 G p` and `do = p (.) (dp - p^T dp)` (the
    /// softmax Jacobian `diag(p) - p p^T` applied to `dp`); squared error: 0 (`Hp = I`).
    ///
    /// ```
    /// use nalgebra::DMatrix;
    /// use nrnn::loss::Loss;
    /// let (o, g) = ([0.3, -0.2, 0.5], DMatrix::from_row_slice(3, 3, &[1.0, 0.2, 0.0, 0.2, -1.0, 0.4, 0.0, 0.4, 2.0]));
    /// let f = |o: &[f64]| Loss::CrossEntropy.hessian_logits(o).component_mul(&g).sum();
    /// let d = Loss::CrossEntropy.hessian_logits_adjoint(&o, &g);
    /// let h = 1e-6;
    /// let fd = (f(&[0.3 + h, -0.2, 0.5]) - f(&[0.3 - h, -0.2, 0.5])) / (2.0 * h);
    /// assert!((d[0] - fd).abs() < 1e-8);
    /// ```
    pub fn hessian_logits_adjoint(self, o: &[f64], g: &DMatrix<f64>) -> Vec<f64> {
        match self {
            Loss::CrossEntropy => {
                let p = DVector::from_vec(softmax(o));
                let dp = g.diagonal() - (g * &p) * 2.0;
                let pdp = p.dot(&dp);
                p.iter()
                    .zip(dp.iter())
                    .map(|(pi, di)| pi * (di - pdp))
                    .collect()
            }
            Loss::SquaredError => vec![0.0; o.len()],
        }
    }
}

/// Fraction of columns whose largest logit is the label.
pub fn accuracy(logits: &DMatrix<f64>, labels: &[usize]) -> f64 {
    if labels.is_empty() {
        return f64::NAN;
    }
    let right = (0..logits.ncols())
        .filter(|&j| logits.column(j).imax() == labels[j])
        .count();
    right as f64 / labels.len() as f64
}

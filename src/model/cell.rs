//! The Lipschitz cell: the drift of the network and its Jacobian, the one home of
//! `f(h, x)` and `J = df/dh` (docs/theory.md section 1).
//!
//! ```text
//! f(h, x) = A h + a(z),   z = W h + U x + b          (A h omitted when `a_term` is false)
//! J(h, x) = A + diag(a'(z)) W
//! J^T u   = A^T u + W^T (a'(z) (.) u)
//! v_i     = a''(z_i) (W C W^T)_ii                      (second-order term of E f(h + dh))
//! ```
//!
//! Every pass forms the products with `[A; W]` as one matrix product per step
//! ([`Recurrence::apply`] on a block of columns `[H | Q]`): a column `y = [A; W] x` then gives
//! the drift of a state column (with the input drive `U x_k + b`) or the Jacobian-vector
//! product of a tangent column, unit by unit, through [`Recurrence::drift_unit`] and
//! [`Recurrence::jvp_unit`]. The forward pass, the tangent dynamics, the linearization of
//! the regularizer, its continuous-time ODEs and the Monte Carlo expansion all read `f` and
//! `J` from here.

use super::{ModelConfig, Params};
use crate::linalg::{gemm, Real};
use crate::model::Activation;
use nalgebra::{DMatrix, DVector};

/// `[A; W]` stacked (`2n x n`), or `W` alone without the `A h` term, with the row offset
/// of `W` and the activation: everything the drift needs besides the input drive.
#[derive(Clone, Debug)]
pub struct Recurrence<T: Real> {
    /// `[A; W]` (`2n x n`), or `W` (`n x n`) without the `A h` term.
    pub stacked: DMatrix<T>,
    /// Row offset of `W` in `stacked` (n, or 0 without the `A h` term).
    pub woff: usize,
    /// The activation a.
    pub activation: Activation,
}

impl<T: Real> Recurrence<T> {
    /// The recurrence of a model's parameters.
    ///
    /// ```
    /// use nrnn::model::{cell::Recurrence, Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let r = Recurrence::new(&m.config, &m.params);
    /// assert_eq!((r.stacked.shape(), r.woff), ((6, 3), 3));
    /// ```
    pub fn new(cfg: &ModelConfig, p: &Params<T>) -> Self {
        let n = cfg.hidden;
        let w = p.w_matrix(cfg);
        let (stacked, woff) = if cfg.a_term {
            let mut s = DMatrix::zeros(2 * n, n);
            s.rows_mut(0, n).copy_from(&p.a_matrix(cfg));
            s.rows_mut(n, n).copy_from(&w);
            (s, n)
        } else {
            (w, 0)
        };
        Recurrence {
            stacked,
            woff,
            activation: cfg.activation,
        }
    }

    /// Hidden units n.
    pub fn hidden(&self) -> usize {
        self.stacked.ncols()
    }

    /// Whether the drift has the `A h` term.
    #[inline(always)]
    pub fn a_term(&self) -> bool {
        self.woff > 0
    }

    /// `W` (rows of `stacked`).
    pub fn w(&self) -> DMatrix<T> {
        self.stacked.rows(self.woff, self.hidden()).into_owned()
    }

    /// `y = [A; W] x` for a block of columns (`y` is `rows x cols`, resized if needed).
    pub fn apply(&self, x: &DMatrix<T>, y: &mut DMatrix<T>) {
        let shape = (self.stacked.nrows(), x.ncols());
        if y.shape() != shape {
            *y = DMatrix::zeros(shape.0, shape.1);
        }
        gemm(T::one(), &self.stacked, false, x, false, T::zero(), y);
    }

    /// Unit `i` of the drift of a state column from its products `y = [A; W] h` and the
    /// input drive `U x + b`: `(a(z_i), f_i)` with `z_i = (W h)_i + drive_i`.
    #[inline(always)]
    pub fn drift_unit(&self, y: &[T], drive: T, i: usize) -> (T, T) {
        let a = self.activation.eval(y[self.woff + i] + drive);
        let f = if self.a_term() { y[i] + a } else { a };
        (a, f)
    }

    /// Unit `i` of `J v` from the products `y = [A; W] v` and `da_i = a'(z_i)`:
    /// `(A v)_i + a'(z_i) (W v)_i`.
    #[inline(always)]
    pub fn jvp_unit(&self, y: &[T], da: T, i: usize) -> T {
        if self.a_term() {
            y[i] + da * y[self.woff + i]
        } else {
            da * y[self.woff + i]
        }
    }
}

impl Recurrence<f64> {
    /// `(W C W^T)_ii` for every unit, from the products `y = [A; W] C` held in columns
    /// `col0..col0 + n` of `y`: `sum_j (W C)_ij W_ij`. Times `a''(z_i)` it is the
    /// second-order drift term `v_i` of the mean-shift sweep.
    ///
    /// ```
    /// use nrnn::model::{cell::Recurrence, Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let r = Recurrence::new(&m.config, &m.params);
    /// let c = nalgebra::DMatrix::from_fn(3, 3, |i, j| 1.0 / (1.0 + i as f64 + j as f64));
    /// let mut y = nalgebra::DMatrix::zeros(0, 0);
    /// r.apply(&c, &mut y);
    /// let w = r.w();
    /// let want = &w * &c * w.transpose();
    /// let got = r.wcw_diagonal(&y, 0);
    /// assert!((got[1] - want[(1, 1)]).abs() < 1e-15);
    /// ```
    pub fn wcw_diagonal(&self, y: &DMatrix<f64>, col0: usize) -> Vec<f64> {
        let n = self.hidden();
        let mut acc = vec![0.0; n];
        for j in 0..n {
            for (i, a) in acc.iter_mut().enumerate() {
                *a += y[(self.woff + i, col0 + j)] * self.stacked[(self.woff + i, j)];
            }
        }
        acc
    }

    /// `J = A + diag(a'(z)) W` as an explicit `n x n` matrix, from `da = a'(z)`.
    ///
    /// ```
    /// use nrnn::model::{cell::Recurrence, Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let r = Recurrence::new(&m.config, &m.params);
    /// let j = r.jacobian(&[1.0, 0.5, 0.0]);
    /// let (a, w) = (m.params.a_matrix(&m.config), m.params.w_matrix(&m.config));
    /// assert_eq!(j[(1, 2)], a[(1, 2)] + 0.5 * w[(1, 2)]);
    /// ```
    pub fn jacobian(&self, da: &[f64]) -> DMatrix<f64> {
        let n = self.hidden();
        let w = self.stacked.rows(self.woff, n);
        let mut j = DMatrix::from_fn(n, n, |i, l| da[i] * w[(i, l)]);
        if self.a_term() {
            j += self.stacked.rows(0, n);
        }
        j
    }

    /// `J^T u = A^T u + W^T (a'(z) (.) u)` from `da = a'(z)`.
    ///
    /// ```
    /// use nrnn::model::{cell::Recurrence, Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let r = Recurrence::new(&m.config, &m.params);
    /// let (da, u) = ([0.9, 0.2, 0.7], nalgebra::DVector::from_vec(vec![1.0, -2.0, 0.5]));
    /// let want = r.jacobian(&da).transpose() * &u;
    /// assert!((r.vjp(&da, &u) - want).amax() < 1e-15);
    /// ```
    pub fn vjp(&self, da: &[f64], u: &DVector<f64>) -> DVector<f64> {
        let n = self.hidden();
        let rows = self.stacked.nrows();
        let mut stackv = DMatrix::zeros(rows, 1);
        for i in 0..n {
            stackv[(self.woff + i, 0)] = da[i] * u[i];
            if self.a_term() {
                stackv[(i, 0)] = u[i];
            }
        }
        let mut out = DMatrix::zeros(n, 1);
        gemm(1.0, &self.stacked, true, &stackv, false, 0.0, &mut out);
        out.column(0).into_owned()
    }
}

/// The input drive `U x_k + b` of every column of `x` (`p x K`): `n x K`.
///
/// ```
/// use nrnn::model::{cell::drive, Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 2, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(2, 4, 0.5);
/// let d = drive(&m.params, &x);
/// let want = &m.params.u * x.column(0) + &m.params.b;
/// assert!((d.column(0) - want).amax() < 1e-15);
/// ```
pub fn drive(p: &Params<f64>, x: &DMatrix<f64>) -> DMatrix<f64> {
    let mut out = DMatrix::zeros(p.u.nrows(), x.ncols());
    gemm(1.0, &p.u, false, x, false, 0.0, &mut out);
    for mut col in out.column_iter_mut() {
        col += &p.b;
    }
    out
}

//! The Hessian of the loss in the final hidden state (docs/theory.md sections 2 and 3).
//!
//! Along the deterministic path, per example `b` with final state `hbar_K` and logits
//! `o_b = V hbar_K + c`, `H_b = Hess_h l = V^T S_b V` with `S_b = Hess_o l = diag(p) - p p^T`
//! (cross-entropy, `p = softmax(o_b)`) or `I` (squared error). The data-set Hessian is the
//! mean `H = (1/B) sum_b H_b` (positive semi-definite). Per example, the non-zero eigenvalues
//! of `V^T S_b V` are those of the `c x c` matrix `S_b^{1/2} V V^T S_b^{1/2}`, so the per-example
//! top eigenvalue and trace `tr H_b = tr(S_b V V^T)` cost `O(c^3)`, not `O(n^3)`.

use super::hvp::check_batch;
use crate::data::Batch;
use crate::error::Result;
use crate::loss::Loss;
use crate::model::network::Recurrent;
use crate::model::NoiseSource;
use nalgebra::{DMatrix, SymmetricEigen};

/// The hidden-state Hessian of a batch: the mean matrix and per-example summaries.
#[derive(Clone, Debug)]
pub struct HiddenHessian {
    /// `H = (1/B) sum_b V^T S_b V`, `n x n`.
    pub matrix: DMatrix<f64>,
    /// `lambda_max(H_b)` per example.
    pub per_example_top: Vec<f64>,
    /// `tr H_b` per example.
    pub per_example_trace: Vec<f64>,
}

/// Symmetric square root of a positive semi-definite matrix (negative round-off clipped).
fn sqrt_psd(s: &DMatrix<f64>) -> DMatrix<f64> {
    let e = SymmetricEigen::new(s.clone());
    let d = e.eigenvalues.map(|x| x.max(0.0).sqrt());
    &e.eigenvectors * DMatrix::from_diagonal(&d) * e.eigenvectors.transpose()
}

/// The hidden-state Hessian of `model` (any cell; `h` is its read-out state) on `batch`
/// (noise off) for `loss` (see module docs).
///
/// ```
/// use nrnn::data::{Batch, Target};
/// use nrnn::hessian::hidden_state_hessian;
/// use nrnn::loss::Loss;
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 1, 3), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 5 * 2, 0.5);
/// let batch = Batch { x, steps: 5, size: 2, target: Target::Classes(vec![0, 2]) };
/// let h = hidden_state_hessian(&m, &batch, Loss::CrossEntropy).unwrap();
/// let mean_trace = h.per_example_trace.iter().sum::<f64>() / 2.0;
/// assert!((h.matrix.trace() - mean_trace).abs() < 1e-12);
/// ```
pub fn hidden_state_hessian<R: Recurrent>(
    model: &R,
    batch: &Batch,
    loss: Loss,
) -> Result<HiddenHessian> {
    model.validate()?;
    check_batch(model, batch, loss)?;
    let logits = model.logits(batch, NoiseSource::Off);
    let v = model.readout();
    let g = v * v.transpose();
    let n = model.hidden();
    let mut s_mean = DMatrix::zeros(model.classes(), model.classes());
    let mut tops = Vec::with_capacity(batch.size);
    let mut traces = Vec::with_capacity(batch.size);
    for b in 0..batch.size {
        let o: Vec<f64> = logits.column(b).iter().copied().collect();
        let s = loss.hessian_logits(&o);
        let r = sqrt_psd(&s);
        let small = &r * &g * &r;
        let top = SymmetricEigen::new(small).eigenvalues.max();
        tops.push(top.max(0.0));
        traces.push((&s * &g).trace());
        s_mean += s;
    }
    s_mean /= batch.size as f64;
    let mut matrix = v.transpose() * s_mean * v;
    matrix = (&matrix + matrix.transpose()) * 0.5;
    debug_assert_eq!(matrix.shape(), (n, n));
    Ok(HiddenHessian {
        matrix,
        per_example_top: tops,
        per_example_trace: traces,
    })
}

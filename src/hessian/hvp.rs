//! Exact Hessian-vector products of the training loss in all trainable parameters, for
//! every cell.
//!
//! The loss is the deterministic (noise off) mean loss of a fixed batch,
//! `L(theta) = (1/B) sum_b l(o_b(theta), y_b)`, in the flat coordinates of
//! [`Recurrent::flat`] (the Lipschitz RNN: `m_a, m_w, u, b, v, c[, log d]`; a baseline: its
//! blocks in order, [`crate::model::baseline::Baseline::flat`]). A product `H v = d/dt grad L(theta + t v)`
//! at `t = 0` is computed exactly by forward-over-reverse differentiation: the parameters
//! are set to the dual numbers `theta + e v` (`e^2 = 0`), the forward pass, the loss
//! gradient and backpropagation through time all run in `Dual64`, and the dual part of the
//! resulting gradient is `H v` (its real part is the gradient itself). Every matrix product
//! in dual numbers costs three `f64` products ([`crate::linalg::gemm`] runs them in one
//! register-blocked pass over the interleaved storage), so one product costs about three
//! gradients: `nrnn bench hvp` measures 3.1 to 3.4 at hidden 32 to 128. The baselines
//! (LSTM, GRU, coRNN) run the same method through their generic cells
//! ([`crate::model::baseline::Baseline::grad_and_hvp`]).
//!
//! The batch is split into fixed chunks of [`CHUNK`] examples processed in parallel with
//! rayon and summed in chunk order, as in [`crate::model::Model::loss_grad`], so the result does not
//! depend on the number of threads.

use super::LinearOperator;
use crate::data::{Batch, Target};
use crate::error::{Error, Result};
use crate::linalg::Real;
use crate::loss::Loss;
use crate::model::network::{Network, Recurrent};
use crate::model::{backward, flat_grad_of, forward, params_from_flat, NoiseSource, CHUNK};
use nalgebra::DMatrix;
use num_dual::Dual64;
use rayon::prelude::*;

/// The Hessian of the deterministic training loss of a fixed batch in the flat parameters
/// of a model, as a [`LinearOperator`] applied by exact Hessian-vector products.
///
/// ```
/// use nrnn::data::{Batch, Target};
/// use nrnn::hessian::{LinearOperator, ParamHessian};
/// use nrnn::loss::Loss;
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 4 * 2, 0.5); // 4 steps, 2 examples
/// let batch = Batch { x, steps: 4, size: 2, target: Target::Classes(vec![0, 1]) };
/// let h = ParamHessian::new(&m, &batch, Loss::CrossEntropy).unwrap();
/// assert_eq!(h.dim(), m.n_flat());
/// let v = vec![1.0; h.dim()];
/// let hv = h.hvp(&v).unwrap();
/// assert_eq!(hv.len(), h.dim());
/// ```
#[derive(Clone, Debug)]
pub struct ParamHessian {
    model: Network,
    batch: Batch,
    chunks: Vec<Batch>,
    loss: Loss,
    size: usize,
    theta: Vec<f64>,
}

/// Check that a batch can be fed to a model with a loss: shapes, labels in range,
/// finite inputs, and a loss that fits the target kind.
pub(crate) fn check_batch<R: Recurrent>(model: &R, batch: &Batch, loss: Loss) -> Result<()> {
    let (input, classes) = (model.input(), model.classes());
    if batch.size == 0 || batch.steps == 0 {
        return Err(Error::param(
            "batch",
            format!("{} examples of {} steps", batch.size, batch.steps),
            "at least one example of at least one step",
        ));
    }
    if batch.x.shape() != (input, batch.steps * batch.size) {
        return Err(Error::shape(
            "inputs",
            batch.x.shape(),
            (input, batch.steps * batch.size),
        ));
    }
    if let Some(i) = batch.x.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            "inputs",
            format!("non-finite value at index {i}"),
            "finite numbers",
        ));
    }
    match (&batch.target, loss) {
        (Target::Classes(y), _) => {
            if y.len() != batch.size {
                return Err(Error::param(
                    "labels",
                    y.len(),
                    &format!("{} labels (one per example)", batch.size),
                ));
            }
            crate::data::check_labels(y, classes, "the model's classes")?;
        }
        (Target::Values(t), Loss::SquaredError) => {
            if t.shape() != (classes, batch.size) {
                return Err(Error::shape("targets", t.shape(), (classes, batch.size)));
            }
            if t.iter().any(|v| !v.is_finite()) {
                return Err(Error::param(
                    "targets",
                    "a non-finite value",
                    "finite numbers",
                ));
            }
        }
        (Target::Values(_), Loss::CrossEntropy) => {
            return Err(Error::param(
                "loss",
                "cross-entropy",
                "squared-error for real-valued targets",
            ));
        }
    }
    Ok(())
}

impl ParamHessian {
    /// The operator for `model` (any cell) on `batch` with `loss`, at the model's current
    /// parameters. Errors when the model is invalid or the batch does not fit it.
    pub fn new<R: Recurrent>(model: &R, batch: &Batch, loss: Loss) -> Result<ParamHessian> {
        model.validate()?;
        check_batch(model, batch, loss)?;
        let chunks = (0..batch.size)
            .step_by(CHUNK)
            .map(|s| batch.columns(s, CHUNK.min(batch.size - s)))
            .collect();
        Ok(ParamHessian {
            model: model.to_network(),
            batch: batch.clone(),
            chunks,
            loss,
            size: batch.size,
            theta: model.flat(),
        })
    }

    /// The model the Hessian is taken at.
    pub fn model(&self) -> &Network {
        &self.model
    }

    /// Number of examples in the batch.
    pub fn examples(&self) -> usize {
        self.size
    }

    /// Mean loss and its gradient in the flat parameters (`f64`, one backward pass per chunk).
    ///
    /// ```
    /// use nrnn::data::{Batch, Target};
    /// use nrnn::hessian::{LinearOperator, ParamHessian};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.2, 1).unwrap();
    /// let x = nalgebra::DMatrix::from_fn(1, 3 * 2, |_, j| j as f64 / 6.0);
    /// let batch = Batch { x, steps: 3, size: 2, target: Target::Classes(vec![1, 0]) };
    /// let h = ParamHessian::new(&m, &batch, nrnn::loss::Loss::CrossEntropy).unwrap();
    /// let (l, g) = h.loss_grad();
    /// assert!(l > 0.0 && g.len() == h.dim());
    /// ```
    pub fn loss_grad(&self) -> (f64, Vec<f64>) {
        self.loss_grad_at(&self.theta)
    }

    /// For each chunk of the batch, in parallel and in chunk order, the sum of its losses
    /// (each weighted by `scale`'s gradient weight) and its flat gradient, by the
    /// deterministic forward pass and BPTT of the Lipschitz cell with `params` (f64 for
    /// the gradient, dual numbers for `H v`).
    fn chunk_passes<T: Real>(
        &self,
        cfg: &crate::model::ModelConfig,
        params: &crate::model::Params<T>,
        scale: T,
    ) -> Vec<(T, Vec<T>)> {
        self.chunks
            .par_iter()
            .map(|sub| {
                let tape = forward(cfg, params, &sub.x, sub.steps, sub.size, None, None, true);
                let (losses, dlogits) = self.loss.value_grad(&tape.logits, &sub.target, scale);
                let back = backward(cfg, params, &tape, &sub.x, None, &dlogits, false);
                let sum = losses.iter().fold(T::zero(), |a, &l| a + l);
                (sum, flat_grad_of(cfg, params, &back.grad))
            })
            .collect()
    }

    /// Mean loss and flat gradient at other flat parameters `theta` (same length as
    /// [`Recurrent::flat`]); used for finite differences.
    pub fn loss_grad_at(&self, theta: &[f64]) -> (f64, Vec<f64>) {
        let model = match &self.model {
            Network::Lipschitz(m) => m,
            Network::Baseline(b) => {
                let mut b = b.clone();
                Recurrent::set_flat(&mut b, theta);
                let lg = b.loss_grad(&self.batch, self.loss, NoiseSource::Off, false);
                return (lg.loss, lg.grad);
            }
        };
        let cfg = &model.config;
        let params = params_from_flat::<f64>(cfg, &model.params, theta);
        let scale = 1.0 / self.size as f64;
        let parts = self.chunk_passes(cfg, &params, scale);
        let mut total = 0.0;
        let mut g = vec![0.0; theta.len()];
        for (l, gp) in parts {
            total += l;
            for (a, b) in g.iter_mut().zip(gp) {
                *a += b;
            }
        }
        (total * scale, g)
    }

    /// Exact `H v` and, for free, the gradient (the real part of the dual gradient):
    ///
    /// ```
    /// use nrnn::data::{Batch, Target};
    /// use nrnn::hessian::{LinearOperator, ParamHessian};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.2, 1).unwrap();
    /// let x = nalgebra::DMatrix::from_fn(1, 3 * 2, |_, j| j as f64 / 6.0);
    /// let batch = Batch { x, steps: 3, size: 2, target: Target::Classes(vec![1, 0]) };
    /// let h = ParamHessian::new(&m, &batch, nrnn::loss::Loss::CrossEntropy).unwrap();
    /// let (g, hv) = h.grad_and_hvp(&vec![0.0; h.dim()]).unwrap();
    /// // The real part is the gradient (up to round-off: the products are ordered differently).
    /// let g2 = h.loss_grad().1;
    /// assert!(g.iter().zip(&g2).all(|(a, b)| (a - b).abs() <= 1e-12 * (1.0 + b.abs())));
    /// assert!(hv.iter().all(|&x| x == 0.0));
    /// assert!(h.grad_and_hvp(&[1.0]).is_err());
    /// ```
    ///
    /// returns `(grad, H v)`. `v` must have length [`LinearOperator::dim`] and be finite;
    /// a non-finite result is an error (dual-number `tanh` overflows beyond `|z| ~ 710`).
    pub fn grad_and_hvp(&self, v: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        if v.len() != self.theta.len() {
            return Err(Error::shape("v", (v.len(), 1), (self.theta.len(), 1)));
        }
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::param(
                "v",
                format!("non-finite entry at index {i}"),
                "finite numbers",
            ));
        }
        let (g, hv) = self.grad_and_hvp_unchecked(v);
        if g.iter().chain(&hv).any(|x| !x.is_finite()) {
            // num_dual's tanh is sinh / cosh: NaN for pre-activations beyond ~710.
            return Err(Error::NonFinite {
                what: "Hessian-vector product (dual-number pass)".into(),
            });
        }
        Ok((g, hv))
    }

    fn grad_and_hvp_unchecked(&self, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let model = match &self.model {
            Network::Lipschitz(m) => m,
            Network::Baseline(b) => return b.grad_and_hvp(&self.batch, self.loss, v),
        };
        let cfg = &model.config;
        let theta: Vec<Dual64> = self
            .theta
            .iter()
            .zip(v)
            .map(|(&t, &e)| Dual64::new(t, e))
            .collect();
        let params = params_from_flat::<Dual64>(cfg, &model.params, &theta);
        let scale = Dual64::from_re(1.0 / self.size as f64);
        let parts = self.chunk_passes(cfg, &params, scale);
        let mut g = vec![0.0; v.len()];
        let mut hv = vec![0.0; v.len()];
        for (_, part) in parts {
            for ((a, b), d) in g.iter_mut().zip(hv.iter_mut()).zip(part) {
                *a += d.re;
                *b += d.eps;
            }
        }
        (g, hv)
    }

    /// Exact Hessian-vector product `H v` (see the module docs).
    pub fn hvp(&self, v: &[f64]) -> Result<Vec<f64>> {
        Ok(self.grad_and_hvp(v)?.1)
    }

    /// Central difference of the gradient, `(grad L(theta + h v) - grad L(theta - h v)) / (2 h)`,
    /// which equals `H v + O(h^2)`: the reference for checking [`ParamHessian::hvp`].
    ///
    /// ```
    /// use nrnn::data::{Batch, Target};
    /// use nrnn::hessian::{LinearOperator, ParamHessian};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.2, 1).unwrap();
    /// let x = nalgebra::DMatrix::from_fn(1, 3 * 2, |_, j| j as f64 / 6.0);
    /// let batch = Batch { x, steps: 3, size: 2, target: Target::Classes(vec![1, 0]) };
    /// let h = ParamHessian::new(&m, &batch, nrnn::loss::Loss::CrossEntropy).unwrap();
    /// let v: Vec<f64> = (0..h.dim()).map(|i| (i as f64).cos()).collect();
    /// let (exact, fd) = (h.hvp(&v).unwrap(), h.fd_hvp(&v, 1e-5).unwrap());
    /// let scale = exact.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    /// assert!(exact.iter().zip(&fd).all(|(a, b)| (a - b).abs() <= 1e-6 * scale));
    /// ```
    pub fn fd_hvp(&self, v: &[f64], h: f64) -> Result<Vec<f64>> {
        if v.len() != self.theta.len() {
            return Err(Error::shape("v", (v.len(), 1), (self.theta.len(), 1)));
        }
        if !(h.is_finite() && h > 0.0) {
            return Err(Error::param("h", h, "a finite step > 0"));
        }
        let plus: Vec<f64> = self.theta.iter().zip(v).map(|(t, x)| t + h * x).collect();
        let minus: Vec<f64> = self.theta.iter().zip(v).map(|(t, x)| t - h * x).collect();
        let (_, gp) = self.loss_grad_at(&plus);
        let (_, gm) = self.loss_grad_at(&minus);
        Ok(gp
            .iter()
            .zip(&gm)
            .map(|(a, b)| (a - b) / (2.0 * h))
            .collect())
    }

    /// The dense Hessian by central differences of the gradient along each coordinate,
    /// symmetrized: `H_ij = (d_j g_i + d_i g_j) / 2`. Costs `2 dim` gradients; for tiny models.
    ///
    /// ```
    /// use nrnn::data::{Batch, Target};
    /// use nrnn::hessian::{LinearOperator, ParamHessian};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.2, 1).unwrap();
    /// let x = nalgebra::DMatrix::from_fn(1, 3 * 2, |_, j| j as f64 / 6.0);
    /// let batch = Batch { x, steps: 3, size: 2, target: Target::Classes(vec![1, 0]) };
    /// let h = ParamHessian::new(&m, &batch, nrnn::loss::Loss::CrossEntropy).unwrap();
    /// let fd = h.dense_fd(1e-5).unwrap();
    /// let exact = nrnn::hessian::dense(&h);
    /// assert!((&fd - &exact).amax() <= 1e-6 * exact.amax());
    /// ```
    pub fn dense_fd(&self, h: f64) -> Result<DMatrix<f64>> {
        let n = self.theta.len();
        let mut m = DMatrix::zeros(n, n);
        let mut e = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            let col = self.fd_hvp(&e, h)?;
            e[j] = 0.0;
            m.column_mut(j).copy_from_slice(&col);
        }
        Ok((&m + m.transpose()) * 0.5)
    }

    /// Time one gradient and one Hessian-vector product (best of `repeats` each, seconds)
    /// and return `(gradient_seconds, hvp_seconds)`; the ratio is the cost of a product in
    /// gradients (about 3: three f64 products per dual product; `nrnn bench hvp`).
    ///
    /// ```
    /// use nrnn::data::{Batch, Target};
    /// use nrnn::hessian::{LinearOperator, ParamHessian};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.2, 1).unwrap();
    /// let x = nalgebra::DMatrix::from_fn(1, 3 * 2, |_, j| j as f64 / 6.0);
    /// let batch = Batch { x, steps: 3, size: 2, target: Target::Classes(vec![1, 0]) };
    /// let h = ParamHessian::new(&m, &batch, nrnn::loss::Loss::CrossEntropy).unwrap();
    /// let (tg, th) = h.time_ratio(1);
    /// assert!(tg > 0.0 && th > 0.0);
    /// ```
    pub fn time_ratio(&self, repeats: usize) -> (f64, f64) {
        let v = vec![1.0; self.theta.len()];
        let mut tg = f64::INFINITY;
        let mut th = f64::INFINITY;
        for _ in 0..repeats.max(1) {
            let t0 = std::time::Instant::now();
            std::hint::black_box(self.loss_grad());
            tg = tg.min(t0.elapsed().as_secs_f64());
            let t0 = std::time::Instant::now();
            std::hint::black_box(self.grad_and_hvp_unchecked(&v));
            th = th.min(t0.elapsed().as_secs_f64());
        }
        (tg, th)
    }
}

impl LinearOperator for ParamHessian {
    fn dim(&self) -> usize {
        self.theta.len()
    }
    fn apply(&self, v: &[f64]) -> Vec<f64> {
        assert_eq!(
            v.len(),
            self.theta.len(),
            "ParamHessian::apply: vector length"
        );
        self.grad_and_hvp_unchecked(v).1
    }
}

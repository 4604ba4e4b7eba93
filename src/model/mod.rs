//! The noisy Lipschitz RNN: configuration, parameters, the batched forward pass and its
//! exact gradient (backpropagation through time).
//!
//! ```text
//! h_{k+1} = h_k + d (.) f(h_k, x_k) + noise_k            (Euler-Maruyama, docs/theory.md 1)
//! f(h, x) = A h + a(W h + U x + b)                      (A h omitted when `a_term` is false)
//! A = (1-beta)(M_A + M_A^T) + beta (M_A - M_A^T) - gamma_A I,   W likewise from M_W, gamma_W
//! logits = V h_K + c
//! ```
//!
//! Every cell is seen through one interface, [`Recurrent`] ([`network`]): the Lipschitz RNN
//! ([`Model`], these batched kernels), the baselines LSTM ([`lstm`]), GRU ([`gru`]) and
//! coRNN ([`cornn`]) as [`baseline::Baseline`], and [`Network`], a model of any cell.

pub mod baseline;
pub mod bptt;
pub mod cell;
pub mod checkpoint;
pub mod cornn;
pub mod forward;
pub mod gru;
pub mod increment;
pub mod io;
pub mod lstm;
pub mod network;
pub mod noise;
pub mod sde;

pub use bptt::{backward, Backward};
pub use forward::{forward, forward_steps, InputColumns, Tape};
pub use network::{CellKind, Explicit, Network, Recurrent};
pub use noise::{NoiseDraw, NoiseForm, NoiseSpec, StepNoise};

use crate::data::{Batch, Target};
use crate::error::{check_range, Error, Result};
use crate::linalg::Real;
use crate::loss::Loss;
use crate::rng::stream;
use nalgebra::{DMatrix, DVector};
use rand::RngExt;
use rayon::prelude::*;

/// Examples per parallel work item. Fixed, so that sums over a batch are taken in the same
/// order whatever the number of threads (bit-for-bit reproducibility).
pub const CHUNK: usize = 64;

/// `f(s, sub)` for each fixed chunk of [`CHUNK`] examples of `batch` (`sub` holds examples
/// `s..s + sub.size`), run in parallel, the results returned with their `s` in chunk
/// order: the split of every parallel pass over a batch, so that the caller's reduction in
/// that order does not depend on the number of threads.
pub fn per_chunk<R: Send>(batch: &Batch, f: impl Fn(usize, Batch) -> R + Sync) -> Vec<(usize, R)> {
    let starts: Vec<usize> = (0..batch.size).step_by(CHUNK).collect();
    starts
        .par_iter()
        .map(|&s| (s, f(s, batch.columns(s, CHUNK.min(batch.size - s)))))
        .collect()
}

/// Largest number of examples per work item of forward-only passes
/// ([`Model::final_states`]). Columns of a forward pass do not interact, so the size does
/// not change any result; larger items make the small matrix products of narrow networks
/// efficient.
pub const FORWARD_CHUNK: usize = 512;

/// Start and length of each work item of a forward-only pass over `size` examples: as few
/// items as [`FORWARD_CHUNK`] allows, of equal length up to one example (so the threads
/// finish together), depending only on `size`.
///
/// ```
/// let c = nrnn::model::forward_chunks(20_000);
/// assert_eq!((c.len(), c[0], c[39]), (40, (0, 500), (19_500, 500)));
/// assert_eq!(nrnn::model::forward_chunks(1025), vec![(0, 342), (342, 342), (684, 341)]);
/// ```
pub fn forward_chunks(size: usize) -> Vec<(usize, usize)> {
    let items = size.div_ceil(FORWARD_CHUNK).max(1);
    let (base, extra) = (size / items, size % items);
    let mut out = Vec::with_capacity(items);
    let mut s = 0;
    for i in 0..items {
        let len = base + usize::from(i < extra);
        if len > 0 {
            out.push((s, len));
        }
        s += len;
    }
    out
}

/// Elementwise activation `a`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh`: `a' = 1 - a^2`, `a'' = -2 a (1 - a^2)`.
    Tanh,
    /// Identity: `a' = 1`, `a'' = 0`.
    Identity,
    /// `max(0, z)`: `a' = 1[z > 0]`, `a'' = 0` almost everywhere.
    Relu,
}

impl Activation {
    /// Parse a name (`tanh`, `identity`, `relu`).
    pub fn parse(s: &str) -> Result<Activation> {
        match s {
            "tanh" => Ok(Activation::Tanh),
            "identity" | "linear" => Ok(Activation::Identity),
            "relu" => Ok(Activation::Relu),
            _ => Err(Error::param(
                "activation",
                format!("\"{s}\""),
                "one of \"tanh\", \"identity\", \"relu\"",
            )),
        }
    }
    /// The name used in files.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Identity => "identity",
            Activation::Relu => "relu",
        }
    }
    /// `a(z)`.
    ///
    /// ```
    /// assert_eq!(nrnn::model::Activation::Relu.eval(-1.0f64), 0.0);
    /// ```
    #[inline(always)]
    pub fn eval<T: Real>(self, z: T) -> T {
        match self {
            Activation::Tanh => z.tanh_fast(),
            Activation::Identity => z,
            Activation::Relu => {
                if z > T::zero() {
                    z
                } else {
                    T::zero()
                }
            }
        }
    }
    /// `out_i = a(z_i)` over a slice (the activation chosen once, so the loop vectorizes).
    #[inline(always)]
    pub fn eval_slice<T: Real>(self, z: &[T], out: &mut [T]) {
        match self {
            Activation::Tanh => out.iter_mut().zip(z).for_each(|(o, &v)| *o = v.tanh_fast()),
            Activation::Identity => out.copy_from_slice(z),
            Activation::Relu => out
                .iter_mut()
                .zip(z)
                .for_each(|(o, &v)| *o = if v > T::zero() { v } else { T::zero() }),
        }
    }
    /// `out_i += a(z_i)` over a slice: the drift `A h + a(z)` in one pass, with the same
    /// additions as forming `a(z)` first.
    ///
    /// ```
    /// let mut out = vec![1.0, 2.0];
    /// nrnn::model::Activation::Relu.add_eval_slice(&[-1.0f64, 3.0], &mut out);
    /// assert_eq!(out, vec![1.0, 5.0]);
    /// ```
    #[inline(always)]
    pub fn add_eval_slice<T: Real>(self, z: &[T], out: &mut [T]) {
        match self {
            Activation::Tanh => out
                .iter_mut()
                .zip(z)
                .for_each(|(o, &v)| *o += v.tanh_fast()),
            _ => out.iter_mut().zip(z).for_each(|(o, &v)| *o += self.eval(v)),
        }
    }
    /// `a'(z)` from the value `a = a(z)`.
    #[inline(always)]
    pub fn deriv_from_value<T: Real>(self, a: T) -> T {
        match self {
            Activation::Tanh => T::one() - a * a,
            Activation::Identity => T::one(),
            Activation::Relu => {
                if a > T::zero() {
                    T::one()
                } else {
                    T::zero()
                }
            }
        }
    }
    /// `a''(z)` from the value `a = a(z)`: `-2 a (1 - a^2)` for tanh, 0 for identity and
    /// relu (relu's second derivative vanishes almost everywhere).
    ///
    /// ```
    /// use nrnn::model::Activation;
    /// let a = 0.4f64.tanh();
    /// assert!((Activation::Tanh.second_from_value(a) - Activation::Tanh.second(0.4)).abs() < 1e-15);
    /// ```
    pub fn second_from_value(self, a: f64) -> f64 {
        match self {
            Activation::Tanh => -2.0 * a * (1.0 - a * a),
            Activation::Identity | Activation::Relu => 0.0,
        }
    }
    /// `a'''(z)` from the value `a = a(z)`: `-2 (1 - a^2)(1 - 3 a^2)` for tanh (the
    /// derivative of `a'' = -2 a + 2 a^3` times `a' = 1 - a^2`), 0 for identity and relu.
    /// The adjoint of the mean-shift term `v = a''(z) (.) diag(W C W^T)` needs it
    /// ([`crate::regularizer::gradient`]).
    ///
    /// ```
    /// use nrnn::model::Activation;
    /// let (z, h) = (0.4f64, 1e-5);
    /// let fd = (Activation::Tanh.second(z + h) - Activation::Tanh.second(z - h)) / (2.0 * h);
    /// assert!((Activation::Tanh.third_from_value(z.tanh()) - fd).abs() < 1e-9);
    /// ```
    pub fn third_from_value(self, a: f64) -> f64 {
        match self {
            Activation::Tanh => -2.0 * (1.0 - a * a) * (1.0 - 3.0 * a * a),
            Activation::Identity | Activation::Relu => 0.0,
        }
    }
    /// `a''(z)`.
    ///
    /// ```
    /// let t = 0.3f64.tanh();
    /// assert!((nrnn::model::Activation::Tanh.second(0.3) + 2.0 * t * (1.0 - t * t)).abs() < 1e-15);
    /// ```
    pub fn second(self, z: f64) -> f64 {
        match self {
            Activation::Tanh => {
                let t = z.tanh();
                -2.0 * t * (1.0 - t * t)
            }
            _ => 0.0,
        }
    }
    /// Lipschitz constant `L_a` (1 for all three).
    pub fn lipschitz(self) -> f64 {
        1.0
    }
}

/// Check the sizes of a model of any cell: `hidden`, `input` and `classes` in [1, 65536];
/// the error names the first one outside.
pub fn check_sizes(hidden: usize, input: usize, classes: usize) -> Result<()> {
    for (name, v) in [("hidden", hidden), ("input", input), ("classes", classes)] {
        if v == 0 || v > 1 << 16 {
            return Err(Error::param(name, v, "an integer in [1, 65536]"));
        }
    }
    Ok(())
}

/// Shape and hyper-parameters of a model; checked by [`ModelConfig::validate`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// Hidden units n.
    pub hidden: usize,
    /// Input dimension p.
    pub input: usize,
    /// Outputs (classes) c.
    pub classes: usize,
    /// Mix of symmetric and skew parts, in [0, 1].
    pub beta: f64,
    /// Diagonal shift of A.
    pub gamma_a: f64,
    /// Diagonal shift of W.
    pub gamma_w: f64,
    /// Activation a.
    pub activation: Activation,
    /// Whether the drift has the `A h` term (false: the antisymmetric RNN baseline).
    pub a_term: bool,
    /// Whether the per-unit step is trained (kept positive as `exp` of a free parameter).
    pub learn_dt: bool,
    /// Noise injected when noise is on.
    pub noise: NoiseSpec,
}

impl ModelConfig {
    /// A configuration with the defaults of the paper's Lipschitz RNN (beta 0.75,
    /// gamma 0.001, tanh, no noise).
    pub fn new(hidden: usize, input: usize, classes: usize) -> ModelConfig {
        ModelConfig {
            hidden,
            input,
            classes,
            beta: 0.75,
            gamma_a: 0.001,
            gamma_w: 0.001,
            activation: Activation::Tanh,
            a_term: true,
            learn_dt: false,
            noise: NoiseSpec::off(),
        }
    }
    /// Check every field; the error names the field and the allowed range.
    pub fn validate(&self) -> Result<()> {
        check_sizes(self.hidden, self.input, self.classes)?;
        check_range("beta", self.beta, 0.0, 1.0)?;
        check_range("gamma_a", self.gamma_a, -1e6, 1e6)?;
        check_range("gamma_w", self.gamma_w, -1e6, 1e6)?;
        self.noise.validate()
    }
}

/// The trainable parameters, generic over the scalar (f64, or dual numbers for Hessians).
#[derive(Clone, Debug, PartialEq)]
pub struct Params<T: Real> {
    /// M_A, n x n.
    pub m_a: DMatrix<T>,
    /// M_W, n x n.
    pub m_w: DMatrix<T>,
    /// U, n x p.
    pub u: DMatrix<T>,
    /// b, n.
    pub b: DVector<T>,
    /// V, c x n.
    pub v: DMatrix<T>,
    /// c, c.
    pub c: DVector<T>,
    /// Per-unit step d, n (all equal when the step is fixed).
    pub dt: DVector<T>,
}

/// `A = (1-beta)(M + M^T) + beta (M - M^T) - gamma I`.
///
/// ```
/// let m = nalgebra::DMatrix::from_row_slice(2, 2, &[0.0, 1.0, 0.0, 0.0]);
/// let a = nrnn::model::lipschitz_matrix(&m, 1.0, 0.0);
/// assert_eq!(a, nalgebra::DMatrix::from_row_slice(2, 2, &[0.0, 1.0, -1.0, 0.0]));
/// ```
pub fn lipschitz_matrix<T: Real>(m: &DMatrix<T>, beta: f64, gamma: f64) -> DMatrix<T> {
    let n = m.nrows();
    let (b1, b) = (T::of(1.0 - beta), T::of(beta));
    let mt = m.transpose();
    let mut a = (m + &mt) * b1 + (m - &mt) * b;
    for i in 0..n {
        a[(i, i)] -= T::of(gamma);
    }
    a
}

/// Adjoint of [`lipschitz_matrix`]: from `dL/dA` to `dL/dM = (1-beta)(G + G^T) + beta (G - G^T)`.
pub fn lipschitz_matrix_adjoint<T: Real>(g: &DMatrix<T>, beta: f64) -> DMatrix<T> {
    let gt = g.transpose();
    (g + &gt) * T::of(1.0 - beta) + (g - &gt) * T::of(beta)
}

impl<T: Real> Params<T> {
    /// All-zero parameters of the configuration's shapes (dt zero too).
    pub fn zeros(cfg: &ModelConfig) -> Params<T> {
        let (n, p, c) = (cfg.hidden, cfg.input, cfg.classes);
        Params {
            m_a: DMatrix::zeros(n, n),
            m_w: DMatrix::zeros(n, n),
            u: DMatrix::zeros(n, p),
            b: DVector::zeros(n),
            v: DMatrix::zeros(c, n),
            c: DVector::zeros(c),
            dt: DVector::zeros(n),
        }
    }
    /// The recurrence matrix A.
    pub fn a_matrix(&self, cfg: &ModelConfig) -> DMatrix<T> {
        lipschitz_matrix(&self.m_a, cfg.beta, cfg.gamma_a)
    }
    /// The hidden-to-hidden matrix W.
    pub fn w_matrix(&self, cfg: &ModelConfig) -> DMatrix<T> {
        lipschitz_matrix(&self.m_w, cfg.beta, cfg.gamma_w)
    }
    /// `self += alpha * other`, field by field.
    pub fn axpy(&mut self, alpha: T, other: &Params<T>) {
        self.m_a += &other.m_a * alpha;
        self.m_w += &other.m_w * alpha;
        self.u += &other.u * alpha;
        self.b += &other.b * alpha;
        self.v += &other.v * alpha;
        self.c += &other.c * alpha;
        self.dt += &other.dt * alpha;
    }
    /// The blocks in the fixed order `m_a, m_w, u, b, v, c, dt` as column-major slices.
    pub fn blocks(&self) -> [(&'static str, &[T]); 7] {
        [
            ("m_a", self.m_a.as_slice()),
            ("m_w", self.m_w.as_slice()),
            ("u", self.u.as_slice()),
            ("b", self.b.as_slice()),
            ("v", self.v.as_slice()),
            ("c", self.c.as_slice()),
            ("dt", self.dt.as_slice()),
        ]
    }
    /// Mutable blocks in the same order as [`Params::blocks`].
    pub fn blocks_mut(&mut self) -> [(&'static str, &mut [T]); 7] {
        [
            ("m_a", self.m_a.as_mut_slice()),
            ("m_w", self.m_w.as_mut_slice()),
            ("u", self.u.as_mut_slice()),
            ("b", self.b.as_mut_slice()),
            ("v", self.v.as_mut_slice()),
            ("c", self.c.as_mut_slice()),
            ("dt", self.dt.as_mut_slice()),
        ]
    }
    /// Every entry is finite.
    pub fn is_finite(&self) -> bool {
        self.blocks()
            .iter()
            .all(|(_, s)| s.iter().all(|v| v.re().is_finite()))
    }
}

impl Params<f64> {
    /// Convert to another scalar (dual parts zero).
    pub fn cast<U: Real>(&self) -> Params<U> {
        let f = |m: &DMatrix<f64>| m.map(U::of);
        let g = |v: &DVector<f64>| v.map(U::of);
        Params {
            m_a: f(&self.m_a),
            m_w: f(&self.m_w),
            u: f(&self.u),
            b: g(&self.b),
            v: f(&self.v),
            c: g(&self.c),
            dt: g(&self.dt),
        }
    }
}

/// A model: checked configuration and f64 parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Shapes and hyper-parameters.
    pub config: ModelConfig,
    /// Parameters.
    pub params: Params<f64>,
}

/// Where the noise of a forward pass comes from.
#[derive(Clone, Copy, Debug)]
pub enum NoiseSource<'a> {
    /// Noise off (deterministic network).
    Off,
    /// A given draw for the whole batch (replay).
    Given(&'a NoiseDraw),
    /// Draw example `ids[b]` from `stream(seed, tag ++ [ids[b]])`.
    Seeded {
        /// Run seed.
        seed: u64,
        /// Names of the draw (for example epoch and step).
        tag: &'a [u64],
        /// One id per example of the batch.
        ids: &'a [u64],
    },
}

impl<'a> NoiseSource<'a> {
    /// The draw for examples `start..start + len`, or `None` when noise is off.
    pub fn chunk(
        &self,
        cfg: &ModelConfig,
        steps: usize,
        start: usize,
        len: usize,
    ) -> Option<NoiseDraw> {
        self.chunk_for(&cfg.noise, cfg.hidden, steps, start, len)
    }

    /// [`NoiseSource::chunk`] for the noise `noise` of a model of any cell with `hidden`
    /// noisy units.
    pub fn chunk_for(
        &self,
        noise: &NoiseSpec,
        hidden: usize,
        steps: usize,
        start: usize,
        len: usize,
    ) -> Option<NoiseDraw> {
        if noise.is_off() {
            return None;
        }
        match *self {
            NoiseSource::Off => None,
            NoiseSource::Given(d) => Some(d.columns(start, len)),
            NoiseSource::Seeded { seed, tag, ids } => Some(NoiseDraw::draw(
                noise.form,
                hidden,
                steps,
                seed,
                tag,
                &ids[start..start + len],
            )),
        }
    }
}

/// Result of [`Model::loss_grad`] (and of [`Recurrent::loss_grad`] of every cell, with the
/// cell's gradient type `G`): mean loss, its gradient, the logits and the input gradient.
#[derive(Clone, Debug)]
pub struct LossGrad<G = Params<f64>> {
    /// Mean loss over the batch.
    pub loss: f64,
    /// Gradient of the mean loss (Lipschitz RNN: dt block is the derivative in the step d).
    pub grad: G,
    /// Logits, classes x B.
    pub logits: DMatrix<f64>,
    /// Gradient of the mean loss in the inputs, `p x (steps * B)` (batch layout), if asked.
    pub dx: Option<DMatrix<f64>>,
}

impl<G> LossGrad<G> {
    /// The same result with the gradient converted by `f`.
    pub fn map_grad<H>(self, f: impl FnOnce(G) -> H) -> LossGrad<H> {
        LossGrad {
            loss: self.loss,
            grad: f(self.grad),
            logits: self.logits,
            dx: self.dx,
        }
    }
}

impl Model {
    /// A model with the paper's initialization: `M_A, M_W ~ N(0, (0.1/n)^2)` entrywise,
    /// `U, b ~ U(-1/sqrt(p), 1/sqrt(p))`, `V, c ~ U(-1/sqrt(n), 1/sqrt(n))`, step `dt`.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(4, 1, 3), 0.1, 7).unwrap();
    /// assert_eq!(m.params.v.shape(), (3, 4));
    /// ```
    pub fn init(config: ModelConfig, dt: f64, seed: u64) -> Result<Model> {
        Self::init_scaled(config, dt, 0.1, seed)
    }

    /// As [`Model::init`] with `M ~ N(0, (scale/n)^2)`.
    pub fn init_scaled(config: ModelConfig, dt: f64, scale: f64, seed: u64) -> Result<Model> {
        config.validate()?;
        check_range("dt", dt, 1e-12, 1e3).and_then(|d| {
            if d > 0.0 {
                Ok(d)
            } else {
                Err(Error::param("dt", d, "> 0"))
            }
        })?;
        let (n, p, c) = (config.hidden, config.input, config.classes);
        let mut rng = stream(seed, &[0x1417]);
        let sd = scale / n as f64;
        let mut normal = |r: usize, cc: usize| {
            DMatrix::from_fn(r, cc, |_, _| {
                sd * rng.sample::<f64, _>(rand_distr::StandardNormal)
            })
        };
        let m_a = normal(n, n);
        let m_w = normal(n, n);
        let mut rng = stream(seed, &[0x1418]);
        let mut unif = |r: usize, cc: usize, bound: f64| {
            DMatrix::from_fn(r, cc, |_, _| rng.random_range(-bound..bound))
        };
        let bu = 1.0 / (p as f64).sqrt();
        let bv = 1.0 / (n as f64).sqrt();
        let u = unif(n, p, bu);
        let b = unif(n, 1, bu).column(0).into_owned();
        let v = unif(c, n, bv);
        let cvec = unif(c, 1, bv).column(0).into_owned();
        let params = Params {
            m_a,
            m_w,
            u,
            b,
            v,
            c: cvec,
            dt: DVector::from_element(n, dt),
        };
        Ok(Model { config, params })
    }

    /// Check the parameters against the configuration (shapes, finiteness, dt > 0).
    pub fn validate(&self) -> Result<()> {
        self.config.validate()?;
        let (n, p, c) = (self.config.hidden, self.config.input, self.config.classes);
        let pr = &self.params;
        for (name, m, want) in [
            ("m_a", &pr.m_a, (n, n)),
            ("m_w", &pr.m_w, (n, n)),
            ("u", &pr.u, (n, p)),
            ("v", &pr.v, (c, n)),
        ] {
            if m.shape() != want {
                return Err(Error::shape(name, m.shape(), want));
            }
        }
        for (name, v, want) in [("b", &pr.b, n), ("c", &pr.c, c), ("dt", &pr.dt, n)] {
            if v.len() != want {
                return Err(Error::shape(name, (v.len(), 1), (want, 1)));
            }
        }
        for (name, s) in pr.blocks() {
            if let Some(i) = s.iter().position(|v| !v.is_finite()) {
                return Err(Error::param(
                    name,
                    format!("non-finite entry at index {i}"),
                    "finite numbers",
                ));
            }
        }
        if let Some(d) = pr.dt.iter().find(|&&d| d <= 0.0) {
            return Err(Error::param("dt", d, "a step > 0"));
        }
        Ok(())
    }

    /// Number of trainable scalars in the flat vector (dt included only when learnable).
    pub fn n_flat(&self) -> usize {
        let all: usize = self.params.blocks().iter().map(|(_, s)| s.len()).sum();
        if self.config.learn_dt {
            all
        } else {
            all - self.config.hidden
        }
    }

    /// The trainable parameters as one vector, order `m_a, m_w, u, b, v, c[, log dt]`.
    /// The step enters as `log d`, so any real value keeps `d = exp(.) > 0`.
    pub fn flat(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.n_flat());
        for (name, s) in self.params.blocks() {
            if name == "dt" {
                if self.config.learn_dt {
                    out.extend(s.iter().map(|d| d.ln()));
                }
            } else {
                out.extend_from_slice(s);
            }
        }
        out
    }

    /// Set the parameters from a flat vector (inverse of [`Model::flat`]).
    pub fn set_flat(&mut self, theta: &[f64]) {
        self.params = params_from_flat(&self.config, &self.params, theta);
    }

    /// The gradient in the flat coordinates of [`Model::flat`] (chain rule `d (d) = d dL/dd`).
    pub fn flat_grad(&self, grad: &Params<f64>) -> Vec<f64> {
        flat_grad_of(&self.config, &self.params, grad)
    }

    /// Mean loss, its exact gradient and the logits on a batch, with noise from `noise`
    /// (replayed exactly when given). Runs in parallel over fixed chunks of [`CHUNK`]
    /// examples; chunk results are added in index order, so the result does not depend
    /// on the number of threads.
    pub fn loss_grad(
        &self,
        batch: &Batch,
        loss: Loss,
        noise: NoiseSource,
        want_dx: bool,
    ) -> LossGrad {
        let cfg = &self.config;
        let bsz = batch.size;
        let scale = 1.0 / bsz as f64;
        let parts = per_chunk(batch, |s, sub| {
            let len = sub.size;
            if let Some(seg) = checkpoint::segment_length(cfg, batch.steps, len) {
                return self.chunk_checkpointed(&sub, s, noise, seg, loss, scale, want_dx);
            }
            let draw = noise.chunk(cfg, batch.steps, s, len);
            let tape = forward(
                cfg,
                &self.params,
                &sub.x,
                sub.steps,
                len,
                draw.as_ref(),
                None,
                true,
            );
            let (losses, dlogits) = loss.value_grad(&tape.logits, &sub.target, scale);
            let back = backward(
                cfg,
                &self.params,
                &tape,
                &sub.x,
                draw.as_ref(),
                &dlogits,
                want_dx,
            );
            (losses.iter().sum::<f64>(), back, tape.logits)
        });
        let mut total = 0.0;
        let mut grad = Params::zeros(cfg);
        let mut logits = DMatrix::zeros(cfg.classes, bsz);
        let mut dx = if want_dx {
            Some(DMatrix::zeros(cfg.input, batch.steps * bsz))
        } else {
            None
        };
        for (s, (l, back, lg)) in parts {
            total += l;
            grad.axpy(1.0, &back.grad);
            let len = lg.ncols();
            logits.columns_mut(s, len).copy_from(&lg);
            if let (Some(dx), Some(bdx)) = (dx.as_mut(), back.dx.as_ref()) {
                for k in 0..batch.steps {
                    dx.columns_mut(k * bsz + s, len)
                        .copy_from(&bdx.columns(k * len, len));
                }
            }
        }
        LossGrad {
            loss: total * scale,
            grad,
            logits,
            dx,
        }
    }

    /// One work item of [`Model::loss_grad`] (examples `s..` of the batch, inputs and
    /// targets `sub`) by checkpointed BPTT with segments of `seg` steps
    /// ([`checkpoint::gradient`]): the same sum of losses, gradient and logits as the
    /// whole tape; seeded noise is drawn on the fly and redrawn per segment.
    #[allow(clippy::too_many_arguments)]
    fn chunk_checkpointed(
        &self,
        sub: &Batch,
        s: usize,
        noise: NoiseSource,
        seg: usize,
        loss: Loss,
        scale: f64,
        want_dx: bool,
    ) -> (f64, Backward<f64>, DMatrix<f64>) {
        let cfg = &self.config;
        let len = sub.size;
        let given;
        let src = match noise {
            _ if cfg.noise.is_off() => StepNoise::Off,
            NoiseSource::Off => StepNoise::Off,
            NoiseSource::Given(d) => {
                given = d.columns(s, len);
                StepNoise::Given(&given)
            }
            NoiseSource::Seeded { seed, tag, ids } => {
                StepNoise::streams(cfg.noise.form, cfg.hidden, seed, tag, &ids[s..s + len])
            }
        };
        let mut total = 0.0;
        let (logits, back) = checkpoint::gradient(
            cfg,
            &self.params,
            &sub.x,
            sub.steps,
            len,
            src,
            seg,
            |lg| {
                let (losses, dlogits) = loss.value_grad(lg, &sub.target, scale);
                total = losses.iter().sum::<f64>();
                dlogits
            },
            want_dx,
        );
        (total, back, logits)
    }

    /// Final hidden states `h_K` (`n x B`) of a batch, noise from `noise`; parallel over
    /// chunks, no tape kept (memory O(n B)).
    pub fn final_states(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64> {
        self.forward_parts(batch, noise, self.config.hidden, |t| t.h_final)
    }

    /// Logits `V h_K + c` of a batch (`classes x B`), each chunk's read out where its pass
    /// ends (the same numbers as [`Model::readout`] of [`Model::final_states`]).
    pub fn logits(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64> {
        self.forward_parts(batch, noise, self.config.classes, |t| t.logits)
    }

    /// The forward pass over the chunks of [`forward_chunks`] in parallel (no tape
    /// kept), `part` of each chunk's tape (`rows x len`) placed at the chunk's columns.
    fn forward_parts(
        &self,
        batch: &Batch,
        noise: NoiseSource,
        rows: usize,
        part: impl Fn(Tape<f64>) -> DMatrix<f64> + Sync,
    ) -> DMatrix<f64> {
        let cfg = &self.config;
        let bsz = batch.size;
        let chunks = forward_chunks(bsz);
        let parts: Vec<DMatrix<f64>> = chunks
            .par_iter()
            .map(|&(s, len)| {
                // Seeded noise is drawn step by step inside the pass, never stored whole.
                let given;
                let mut src = match noise {
                    _ if cfg.noise.is_off() => StepNoise::Off,
                    NoiseSource::Off => StepNoise::Off,
                    NoiseSource::Given(d) => {
                        d.check(cfg.noise.form, cfg.hidden, batch.steps, bsz)
                            .expect("final_states: noise draw shape");
                        given = d.columns(s, len);
                        StepNoise::Given(&given)
                    }
                    NoiseSource::Seeded { seed, tag, ids } => {
                        StepNoise::streams(cfg.noise.form, cfg.hidden, seed, tag, &ids[s..s + len])
                    }
                };
                // The chunk's inputs are read in place from the batch.
                let cols = forward::InputColumns {
                    x: &batch.x,
                    stride: bsz,
                    start: s,
                };
                part(forward::forward_steps(
                    cfg,
                    &self.params,
                    cols,
                    batch.steps,
                    len,
                    &mut src,
                    None,
                    false,
                ))
            })
            .collect();
        let mut out = DMatrix::zeros(rows, bsz);
        for (&(s, len), h) in chunks.iter().zip(parts) {
            out.columns_mut(s, len).copy_from(&h);
        }
        out
    }

    /// `V h + c` for a matrix of hidden states (the readout of the forward pass,
    /// [`forward::readout`]).
    pub fn readout(&self, h: &DMatrix<f64>) -> DMatrix<f64> {
        forward::readout(&self.params, h)
    }

    /// Mean loss and accuracy (classification; NaN for regression) of a batch, noise off.
    pub fn evaluate(&self, batch: &Batch, loss: Loss) -> (f64, f64) {
        loss_and_accuracy(&self.logits(batch, NoiseSource::Off), batch, loss)
    }
}

/// Mean loss and accuracy (classification; NaN for regression) of the logits `o` of a
/// batch: the evaluation of every cell.
pub fn loss_and_accuracy(o: &DMatrix<f64>, batch: &Batch, loss: Loss) -> (f64, f64) {
    let (l, _) = loss.value_grad(o, &batch.target, 1.0);
    let acc = match &batch.target {
        Target::Classes(y) => crate::loss::accuracy(o, y),
        Target::Values(_) => f64::NAN,
    };
    (l.iter().sum::<f64>() / l.len().max(1) as f64, acc)
}

/// Parameters from a flat vector (see [`Model::flat`]), in any scalar; blocks not in the
/// flat vector (a fixed step) are taken from `base`.
pub fn params_from_flat<T: Real>(cfg: &ModelConfig, base: &Params<f64>, theta: &[T]) -> Params<T> {
    let mut p: Params<T> = base.cast();
    let mut at = 0;
    for (name, s) in p.blocks_mut() {
        if name == "dt" {
            if cfg.learn_dt {
                let len = s.len();
                for (d, t) in s.iter_mut().zip(&theta[at..at + len]) {
                    *d = t.exp();
                }
                at += len;
            }
        } else {
            let len = s.len();
            s.copy_from_slice(&theta[at..at + len]);
            at += len;
        }
    }
    assert_eq!(
        at,
        theta.len(),
        "flat parameter vector has the wrong length"
    );
    p
}

/// The gradient in the flat coordinates of [`Model::flat`], in any scalar: the blocks in
/// order, the step block as `dL/d(log d) = d (.) dL/dd` when the step is learnable.
pub fn flat_grad_of<T: Real>(cfg: &ModelConfig, params: &Params<T>, grad: &Params<T>) -> Vec<T> {
    let mut out = Vec::new();
    for ((name, g), (_, p)) in grad.blocks().into_iter().zip(params.blocks()) {
        if name == "dt" {
            if cfg.learn_dt {
                out.extend(g.iter().zip(p).map(|(&g, &d)| g * d));
            }
        } else {
            out.extend_from_slice(g);
        }
    }
    out
}

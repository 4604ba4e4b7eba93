//! The baseline cells of the paper's comparisons (LSTM, GRU, coRNN) as one model type,
//! [`Baseline`]: parameters, initialization, the noisy forward pass, exact BPTT (per
//! example, in parallel over fixed chunks), and the file format. The equations of each
//! cell live in its own module ([`super::lstm`], [`super::gru`], [`super::cornn`]); this
//! file only runs them. With `s_k` the cell's state and `h_k` its read-out part (the
//! first n entries of `s_k`: LSTM `h`, GRU `h`, coRNN `y`):
//!
//! ```text
//! s_{k+1} = cell(s_k, x_k)
//! h_{k+1} += eps (sigma1 + sigma2 h_k) (.) xi_k        (hidden-state noise, diag form only)
//! logits  = V h_K + c
//! ```
//!
//! The noise is the `diag` form of the Lipschitz RNN without its `sqrt(d)` (these cells
//! have no step, coRNN's `dt` included: its noise is added per step as for the others);
//! the `scalar` and `code` forms are refused. The adjoint adds `eps sigma2 xi_k (.) dh_{k+1}`
//! to `dh_k`.

use super::cornn::CornnHyper;
use super::network::CellKind;
use super::{per_chunk, LossGrad, NoiseDraw, NoiseForm, NoiseSource, NoiseSpec};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::linalg::Real;
use crate::loss::Loss;
use crate::rng::stream;
use nalgebra::DMatrix;
use num_dual::Dual64;
use rand::RngExt;

/// Where one step's adjoint is taken: the state `s = s_k`, the input `x = x_k` and the
/// step's cached values.
#[derive(Clone, Copy)]
pub struct StepAt<'a, T = f64> {
    /// The state `s_k`.
    pub s: &'a [T],
    /// The input `x_k`.
    pub x: &'a [T],
    /// The values the step cached.
    pub cache: &'a [T],
}

/// What one step's adjoint writes: `ds = dL/ds_k` (overwritten), the parameter gradient
/// `dw` and `dx = dL/dx_k` when asked (added to).
pub struct StepGrad<'a, T = f64> {
    /// `dL/ds_k`.
    pub ds: &'a mut [T],
    /// The cell's parameter gradient, block by block.
    pub dw: &'a mut [DMatrix<T>],
    /// `dL/dx_k`, when asked.
    pub dx: Option<&'a mut [T]>,
}

/// One example of a chunk: the chunk's inputs `x` (`p x (K len)`), its steps and size,
/// the example's index `j` and the chunk's noise draw.
#[derive(Clone, Copy)]
struct Example<'a, T = f64> {
    x: &'a DMatrix<T>,
    steps: usize,
    len: usize,
    j: usize,
    draw: Option<&'a NoiseDraw>,
}

/// The parameter blocks of a cell, `(name, rows, cols)`.
pub type CellBlocks = Vec<(&'static str, usize, usize)>;

/// `1 / (1 + exp(-x))`.
#[inline(always)]
pub fn sigmoid<T: Real>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

/// `out += M x` (column-major `M`).
pub fn gemv_acc<T: Real>(m: &DMatrix<T>, x: &[T], out: &mut [T]) {
    let r = m.nrows();
    for (j, &xj) in x.iter().enumerate() {
        let col = &m.as_slice()[j * r..(j + 1) * r];
        for (o, &a) in out.iter_mut().zip(col) {
            *o += a * xj;
        }
    }
}

/// `out += M^T v` (each entry's dot product summed from zero, in index order).
pub fn gemv_t_acc<T: Real>(m: &DMatrix<T>, v: &[T], out: &mut [T]) {
    let r = m.nrows();
    for (j, o) in out.iter_mut().enumerate() {
        let col = &m.as_slice()[j * r..(j + 1) * r];
        let mut dot = T::zero();
        for (&a, &b) in col.iter().zip(v) {
            dot += a * b;
        }
        *o += dot;
    }
}

/// `M += a b^T`.
pub fn outer_acc<T: Real>(m: &mut DMatrix<T>, a: &[T], b: &[T]) {
    let r = m.nrows();
    for (j, &bj) in b.iter().enumerate() {
        let col = &mut m.as_mut_slice()[j * r..(j + 1) * r];
        for (o, &ai) in col.iter_mut().zip(a) {
            *o += ai * bj;
        }
    }
}

/// The hidden-state noise of one step, on the read-out part (the one home of the
/// baselines' noise algebra, used by the forward pass and the tangent dynamics):
/// `out_i += eps (sigma1 + sigma2 s_i) xi_i` for `i < n = xi.len()`, `s` the state before the step.
fn add_noise<T: Real>(out: &mut [T], s: &[T], xi: &[f64], (eps, s1, s2): (f64, f64, f64)) {
    let (eps, s1, s2) = (T::of(eps), T::of(s1), T::of(s2));
    for i in 0..xi.len() {
        out[i] += eps * (s1 + s2 * s[i]) * T::of(xi[i]);
    }
}

/// The derivative of [`add_noise`] in the state applied to `v`, `out_i += eps sigma2 xi_i v_i`:
/// a diagonal map, so also its adjoint (BPTT applies it to `dL/ds_{k+1}`, the tangent
/// dynamics to a tangent vector).
fn add_noise_derivative<T: Real>(out: &mut [T], v: &[T], xi: &[f64], eps: f64, s2: f64) {
    let (eps, s2) = (T::of(eps), T::of(s2));
    for i in 0..xi.len() {
        out[i] += eps * s2 * T::of(xi[i]) * v[i];
    }
}

/// A baseline cell and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BaselineCell {
    /// The LSTM ([`super::lstm`]).
    Lstm,
    /// The GRU ([`super::gru`]).
    Gru,
    /// The coRNN ([`super::cornn`]) with its fixed `dt`, `gamma`, `eps`.
    Cornn(CornnHyper),
}

impl BaselineCell {
    /// The cell's kind.
    pub fn kind(&self) -> CellKind {
        match self {
            BaselineCell::Lstm => CellKind::Lstm,
            BaselineCell::Gru => CellKind::Gru,
            BaselineCell::Cornn(_) => CellKind::Cornn,
        }
    }
    /// Refuse a noise form the cell does not take: the baselines have the `diag` form only
    /// (`eps (sigma1 + sigma2 h) xi` on the read-out part).
    pub fn check_noise(&self, noise: &NoiseSpec) -> Result<()> {
        if !noise.is_off() && noise.form != NoiseForm::Diag {
            return Err(Error::param(
                "noise",
                format!("\"{}\"", noise.form.name()),
                &format!(
                    "\"diag\" for the {} cell (hidden-state noise eps (sigma1 + sigma2 h) xi; the scalar and code forms are the Lipschitz RNN's)",
                    self.kind().name()
                ),
            ));
        }
        Ok(())
    }
    /// Length of the state `s` for `n` units (LSTM `[h; c]` and coRNN `[y; z]`: 2n, GRU n).
    pub fn state_len(&self, n: usize) -> usize {
        match self {
            BaselineCell::Gru => n,
            _ => 2 * n,
        }
    }
    fn cache_len(&self, n: usize) -> usize {
        n * match self {
            BaselineCell::Lstm => super::lstm::CACHE_PER_UNIT,
            BaselineCell::Gru => super::gru::CACHE_PER_UNIT,
            BaselineCell::Cornn(_) => super::cornn::CACHE_PER_UNIT,
        }
    }
    /// The cell's parameter blocks (the readout `v`, `c` follows them in a model).
    pub fn blocks(&self, n: usize, p: usize) -> CellBlocks {
        match self {
            BaselineCell::Lstm => super::lstm::blocks(n, p),
            BaselineCell::Gru => super::gru::blocks(n, p),
            BaselineCell::Cornn(_) => super::cornn::blocks(n, p),
        }
    }
    /// One step of the cell from state `s` and input `x` into `out`, caching what its
    /// adjoint needs in `cache` (see the cell's module).
    pub fn step<T: Real>(
        &self,
        w: &[DMatrix<T>],
        s: &[T],
        x: &[T],
        out: &mut [T],
        cache: &mut [T],
    ) {
        match self {
            BaselineCell::Lstm => super::lstm::step(w, s, x, out, cache),
            BaselineCell::Gru => super::gru::step(w, s, x, out, cache),
            BaselineCell::Cornn(hy) => super::cornn::step(hy, w, s, x, out, cache),
        }
    }
    /// The adjoint of [`BaselineCell::step`] (see the cell's module).
    pub fn step_back<T: Real>(
        &self,
        w: &[DMatrix<T>],
        at: &StepAt<T>,
        ds1: &[T],
        out: &mut StepGrad<T>,
    ) {
        match self {
            BaselineCell::Lstm => super::lstm::step_back(w, at, ds1, out),
            BaselineCell::Gru => super::gru::step_back(w, at, ds1, out),
            BaselineCell::Cornn(hy) => super::cornn::step_back(hy, w, at, ds1, out),
        }
    }
}

/// A baseline model: the cell, its shapes, its hidden-state noise and its parameters
/// (the cell's blocks, then the readout `v` (`c x n`) and `c`).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    /// The cell.
    pub cell: BaselineCell,
    /// Hidden units n (the read-out part of the state).
    pub hidden: usize,
    /// Input dimension p.
    pub input: usize,
    /// Outputs c.
    pub classes: usize,
    /// Hidden-state noise (`diag` form only).
    pub noise: NoiseSpec,
    /// Parameter blocks in the order of [`Baseline::block_shapes`].
    pub params: Vec<DMatrix<f64>>,
}

/// One example's forward pass: states `s_0 .. s_K` and caches, step after step.
struct ExampleTape<T = f64> {
    states: Vec<T>,
    caches: Vec<T>,
}

/// What one chunk's gradient pass returns: the summed loss, the gradient block by block,
/// the logits and (when asked) `dL/dx`.
type ChunkGrad<T> = (T, Vec<DMatrix<T>>, DMatrix<T>, Option<DMatrix<T>>);

impl Baseline {
    /// The blocks of the model: the cell's, then `("v", c, n)` and `("c", c, 1)`.
    pub fn block_shapes(&self) -> CellBlocks {
        let mut b = self.cell.blocks(self.hidden, self.input);
        b.push(("v", self.classes, self.hidden));
        b.push(("c", self.classes, 1));
        b
    }

    /// A model with PyTorch's initialization: every entry `~ U(-1/sqrt(n), 1/sqrt(n))`.
    ///
    /// ```
    /// use nrnn::model::{baseline::{Baseline, BaselineCell}, NoiseSpec};
    /// let m = Baseline::init(BaselineCell::Lstm, 4, 2, 3, NoiseSpec::off(), 1).unwrap();
    /// assert_eq!(m.params[0].shape(), (16, 2));
    /// ```
    pub fn init(
        cell: BaselineCell,
        hidden: usize,
        input: usize,
        classes: usize,
        noise: NoiseSpec,
        seed: u64,
    ) -> Result<Baseline> {
        let mut m = Baseline {
            cell,
            hidden,
            input,
            classes,
            noise,
            params: Vec::new(),
        };
        m.check_config()?;
        let mut rng = stream(seed, &[0x1419]);
        let bound = 1.0 / (hidden as f64).sqrt();
        m.params = m
            .block_shapes()
            .iter()
            .map(|&(_, r, c)| DMatrix::from_fn(r, c, |_, _| rng.random_range(-bound..bound)))
            .collect();
        Ok(m)
    }

    fn check_config(&self) -> Result<()> {
        super::check_sizes(self.hidden, self.input, self.classes)?;
        self.noise.validate()?;
        self.cell.check_noise(&self.noise)?;
        if let BaselineCell::Cornn(hy) = &self.cell {
            hy.validate("cornn_")?;
        }
        Ok(())
    }

    /// Check the configuration and the parameters (shapes, finiteness).
    pub fn validate(&self) -> Result<()> {
        self.check_config()?;
        let shapes = self.block_shapes();
        if self.params.len() != shapes.len() {
            return Err(Error::shape(
                "params",
                (self.params.len(), 1),
                (shapes.len(), 1),
            ));
        }
        for ((name, r, c), m) in shapes.iter().zip(&self.params) {
            if m.shape() != (*r, *c) {
                return Err(Error::shape(name, m.shape(), (*r, *c)));
            }
            if let Some(i) = m.iter().position(|v| !v.is_finite()) {
                return Err(Error::param(
                    name,
                    format!("non-finite entry at index {i}"),
                    "finite numbers",
                ));
            }
        }
        Ok(())
    }

    /// All parameters as one vector: the blocks in order, each column-major.
    pub fn flat(&self) -> Vec<f64> {
        self.params.iter().flat_map(|m| m.iter().copied()).collect()
    }

    /// Number of parameters.
    pub fn n_flat(&self) -> usize {
        self.params.iter().map(|m| m.len()).sum()
    }

    /// Set the parameters from [`Baseline::flat`]'s layout; refuses a wrong length.
    pub fn set_flat(&mut self, theta: &[f64]) -> Result<()> {
        if theta.len() != self.n_flat() {
            return Err(Error::shape(
                "parameter vector",
                (theta.len(), 1),
                (self.n_flat(), 1),
            ));
        }
        let mut at = 0;
        for m in &mut self.params {
            let len = m.len();
            m.as_mut_slice().copy_from_slice(&theta[at..at + len]);
            at += len;
        }
        Ok(())
    }

    fn noise_levels(&self, on: bool) -> Option<(f64, f64, f64)> {
        let nz = &self.noise;
        (on && !nz.is_off()).then_some((nz.eps, nz.sigma1, nz.sigma2))
    }

    /// Forward pass of one example of a chunk with the cell's blocks `w`.
    fn forward_example<T: Real>(&self, w: &[DMatrix<T>], e: Example<T>) -> ExampleTape<T> {
        let Example {
            x,
            steps,
            len,
            j,
            draw,
        } = e;
        let (sl, cl, levels) = self.pass_constants(draw);
        let mut states = vec![T::zero(); (steps + 1) * sl];
        let mut caches = vec![T::zero(); steps * cl];
        for k in 0..steps {
            let col = k * len + j;
            let xk = x.column(col);
            let (prev, next) = states.split_at_mut((k + 1) * sl);
            let s = &prev[k * sl..];
            let out = &mut next[..sl];
            self.cell
                .step(w, s, xk.as_slice(), out, &mut caches[k * cl..(k + 1) * cl]);
            if let (Some(levels), Some(d)) = (levels, draw) {
                add_noise(out, s, d.xi.column(col).as_slice(), levels);
            }
        }
        ExampleTape { states, caches }
    }

    /// State and cache lengths and the noise levels (`None`: off).
    fn pass_constants(&self, draw: Option<&NoiseDraw>) -> (usize, usize, Option<(f64, f64, f64)>) {
        let n = self.hidden;
        (
            self.cell.state_len(n),
            self.cell.cache_len(n),
            self.noise_levels(draw.is_some()),
        )
    }

    /// Backward pass of one example from `dh = dL/dh_K` with the cell's blocks `w`: adds
    /// the cell's parameter gradient into `dw` and writes `dL/dx` into the example's
    /// columns of `dx`.
    #[allow(clippy::too_many_arguments)]
    fn backward_example<T: Real>(
        &self,
        w: &[DMatrix<T>],
        e: Example<T>,
        tape: &ExampleTape<T>,
        dh: &[T],
        dw: &mut [DMatrix<T>],
        mut dx: Option<&mut DMatrix<T>>,
    ) {
        let (x, steps, len, j, draw) = (e.x, e.steps, e.len, e.j, e.draw);
        let n = self.hidden;
        let (sl, cl, levels) = self.pass_constants(draw);
        let mut ds1 = vec![T::zero(); sl];
        ds1[..n].copy_from_slice(dh);
        let mut ds = vec![T::zero(); sl];
        for k in (0..steps).rev() {
            let col = k * len + j;
            let s = &tape.states[k * sl..(k + 1) * sl];
            let cache = &tape.caches[k * cl..(k + 1) * cl];
            let xk = x.column(col);
            let dxk = dx.as_mut().map(|d| d.column_mut(col));
            let mut dxbuf = dxk.as_ref().map(|_| vec![T::zero(); self.input]);
            let at = StepAt {
                s,
                x: xk.as_slice(),
                cache,
            };
            let mut out = StepGrad {
                ds: &mut ds,
                dw,
                dx: dxbuf.as_deref_mut(),
            };
            self.cell.step_back(w, &at, &ds1, &mut out);
            if let (Some(mut d), Some(b)) = (dxk, dxbuf) {
                d.copy_from_slice(&b);
            }
            if let (Some((eps, _, s2)), Some(dr)) = (levels, draw) {
                add_noise_derivative(&mut ds, &ds1, dr.xi.column(col).as_slice(), eps, s2);
            }
            std::mem::swap(&mut ds, &mut ds1);
        }
    }

    /// Logits `V h_K + c` of a chunk's final read-out states, with the model's blocks `p`.
    fn readout<T: Real>(p: &[DMatrix<T>], hs: &DMatrix<T>) -> DMatrix<T> {
        let k = p.len();
        let (v, c) = (&p[k - 2], &p[k - 1]);
        let mut o = v * hs;
        for mut col in o.column_iter_mut() {
            col += c.column(0);
        }
        o
    }

    /// The forward pass of a chunk (inputs `x`, `steps x len` columns) with the model's
    /// blocks `p`: each example's tape, the final read-out states and the logits.
    fn chunk_forward<T: Real>(
        &self,
        p: &[DMatrix<T>],
        x: &DMatrix<T>,
        steps: usize,
        len: usize,
        draw: Option<&NoiseDraw>,
    ) -> (Vec<ExampleTape<T>>, DMatrix<T>, DMatrix<T>) {
        let n = self.hidden;
        let sl = self.cell.state_len(n);
        let w = &p[..p.len() - 2];
        let tapes: Vec<ExampleTape<T>> = (0..len)
            .map(|j| {
                self.forward_example(
                    w,
                    Example {
                        x,
                        steps,
                        len,
                        j,
                        draw,
                    },
                )
            })
            .collect();
        let hs = DMatrix::from_fn(n, len, |i, j| tapes[j].states[steps * sl + i]);
        let logits = Self::readout(p, &hs);
        (tapes, hs, logits)
    }

    /// One chunk's summed loss, gradient block by block, logits and (with `want_dx`)
    /// input gradient, with the model's blocks `p` and inputs `x` in the scalar `T` (f64
    /// for training; dual numbers for Hessian-vector products).
    #[allow(clippy::too_many_arguments)]
    fn chunk_grad<T: Real>(
        &self,
        p: &[DMatrix<T>],
        x: &DMatrix<T>,
        sub: &Batch,
        draw: Option<&NoiseDraw>,
        loss: Loss,
        scale: T,
        want_dx: bool,
    ) -> ChunkGrad<T> {
        let len = sub.size;
        let (tapes, hs, logits) = self.chunk_forward(p, x, sub.steps, len, draw);
        let (losses, dlogits) = loss.value_grad(&logits, &sub.target, scale);
        let mut dw: Vec<DMatrix<T>> = p
            .iter()
            .map(|m| DMatrix::zeros(m.nrows(), m.ncols()))
            .collect();
        let k = p.len();
        dw[k - 2] = &dlogits * hs.transpose();
        dw[k - 1] = DMatrix::from_fn(self.classes, 1, |i, _| dlogits.row(i).sum());
        let dh_all = p[k - 2].transpose() * &dlogits;
        let mut dx = want_dx.then(|| DMatrix::zeros(self.input, sub.steps * len));
        for (j, tape) in tapes.iter().enumerate() {
            let dh: Vec<T> = dh_all.column(j).iter().copied().collect();
            let e = Example {
                x,
                steps: sub.steps,
                len,
                j,
                draw,
            };
            self.backward_example(&p[..k - 2], e, tape, &dh, &mut dw[..k - 2], dx.as_mut());
        }
        let mut total = T::zero();
        for l in losses {
            total += l;
        }
        (total, dw, logits, dx)
    }

    /// The cell's blocks (the model's blocks without the read-out `v`, `c`).
    pub fn cell_params(&self) -> &[DMatrix<f64>] {
        &self.params[..self.params.len() - 2]
    }

    /// One step of the state, the step of the forward pass:
    /// `out = cell(s, x)`, then on the read-out part `out_i += eps (sigma1 + sigma2 s_i) xi_i`
    /// with `noise = Some((levels, xi))` (`xi`: `n` standard normals; the levels may differ
    /// from the model's, e.g. `nrnn lyapunov --eps`). `cache` is scratch space.
    pub fn state_step(
        &self,
        s: &[f64],
        x: &[f64],
        noise: Option<(&NoiseSpec, &[f64])>,
        out: &mut [f64],
        cache: &mut Vec<f64>,
    ) {
        cache.resize(self.cell.cache_len(self.hidden), 0.0);
        self.cell.step(self.cell_params(), s, x, out, cache);
        if let Some((nz, xi)) = noise {
            add_noise(out, s, xi, (nz.eps, nz.sigma1, nz.sigma2));
        }
    }

    /// The tangent map of [`Baseline::state_step`] at `s`, applied in place to each tangent
    /// vector `q` of `qs` (vectors of `s.len()` entries, one after another):
    /// `q <- (d cell / ds)(s, x) q`, plus `eps sigma2 xi_i q_i` on the read-out part. The
    /// Jacobian-vector product is exact: one step of the cell in dual numbers from
    /// `s + e q` (`wd`: [`Baseline::cell_params`] as dual numbers with zero dual part), whose
    /// dual part is `J q`.
    pub fn state_jvp(
        &self,
        wd: &[DMatrix<Dual64>],
        (s, x): (&[f64], &[f64]),
        noise: Option<(&NoiseSpec, &[f64])>,
        qs: &mut [f64],
    ) {
        let zero = Dual64::from_re(0.0);
        let xd: Vec<Dual64> = x.iter().map(|&v| Dual64::from_re(v)).collect();
        let mut sd = vec![zero; s.len()];
        let mut od = vec![zero; s.len()];
        let mut cd = vec![zero; self.cell.cache_len(self.hidden)];
        let mut jq = vec![0.0; s.len()];
        for q in qs.chunks_mut(s.len()) {
            for ((d, &a), &b) in sd.iter_mut().zip(s).zip(q.iter()) {
                *d = Dual64::new(a, b);
            }
            self.cell.step(wd, &sd, &xd, &mut od, &mut cd);
            for (o, d) in jq.iter_mut().zip(&od) {
                *o = d.eps;
            }
            if let Some((nz, xi)) = noise {
                add_noise_derivative(&mut jq, q, xi, nz.eps, nz.sigma2);
            }
            q.copy_from_slice(&jq);
        }
    }

    /// The logits of one sequence `x` (`steps * input` numbers, step-major; noise off) and
    /// their input Jacobian `d o / d x` (`classes x (steps * input)`, column `k p + i`: step
    /// `k`, channel `i`): one forward pass, then one backward pass per class `j` from
    /// `dL/dh_K = V^T e_j` (row `j` of `V`), whose input gradient is row `j` of the Jacobian.
    /// `x` must have `steps * input` entries (panics otherwise: the caller checks).
    pub fn input_jacobian(&self, x: &[f64], steps: usize) -> (Vec<f64>, DMatrix<f64>) {
        let (p, c, n) = (self.input, self.classes, self.hidden);
        let xm = DMatrix::from_column_slice(p, steps, x);
        let w = self.cell_params();
        let e = Example {
            x: &xm,
            steps,
            len: 1,
            j: 0,
            draw: None,
        };
        let tape = self.forward_example(w, e);
        let sl = self.cell.state_len(n);
        let hs = DMatrix::from_column_slice(n, 1, &tape.states[steps * sl..steps * sl + n]);
        let logits = Self::readout(&self.params, &hs);
        let v = &self.params[self.params.len() - 2];
        let mut dw: Vec<DMatrix<f64>> = w
            .iter()
            .map(|m| DMatrix::zeros(m.nrows(), m.ncols()))
            .collect();
        let mut jac = DMatrix::zeros(c, steps * p);
        for j in 0..c {
            let dh: Vec<f64> = v.row(j).iter().copied().collect();
            let mut dx = DMatrix::zeros(p, steps);
            self.backward_example(w, e, &tape, &dh, &mut dw, Some(&mut dx));
            for k in 0..steps {
                for i in 0..p {
                    jac[(j, k * p + i)] = dx[(i, k)];
                }
            }
        }
        (logits.iter().copied().collect(), jac)
    }

    /// Time one step advances: the coRNN's `dt`; 1 for the LSTM and GRU, which have no
    /// time step (their Lyapunov exponents are per step).
    pub fn time_unit(&self) -> f64 {
        match &self.cell {
            BaselineCell::Cornn(hy) => hy.dt,
            _ => 1.0,
        }
    }

    /// Mean loss, its exact gradient (in [`Baseline::flat`]'s layout) and the logits of a
    /// batch, with noise from `noise`; the same contract as [`super::Model::loss_grad`]
    /// (fixed chunks of [`super::CHUNK`] examples, added in index order).
    pub fn loss_grad(
        &self,
        batch: &Batch,
        loss: Loss,
        noise: NoiseSource,
        want_dx: bool,
    ) -> LossGrad<Vec<f64>> {
        let bsz = batch.size;
        let scale = 1.0 / bsz as f64;
        let parts = per_chunk(batch, |s, sub| {
            let draw = noise.chunk_for(&self.noise, self.hidden, batch.steps, s, sub.size);
            let p = &self.params;
            self.chunk_grad(p, &sub.x, &sub, draw.as_ref(), loss, scale, want_dx)
        });
        self.gather(batch, parts, want_dx)
    }

    /// The gradient and the exact Hessian-vector product `H v` of the mean deterministic
    /// loss of `batch` in the flat parameters, by forward-over-reverse differentiation: the
    /// parameters are set to the dual numbers `theta + e v`, and the forward pass, the loss
    /// gradient and BPTT run in `Dual64`; the real part of the dual gradient is the
    /// gradient, its dual part `H v` (the method of [`crate::hessian::ParamHessian`]).
    /// Fixed chunks of [`super::CHUNK`] examples in parallel, added in order. `v` must have
    /// [`Baseline::n_flat`] entries (panics otherwise: the caller checks).
    pub fn grad_and_hvp(&self, batch: &Batch, loss: Loss, v: &[f64]) -> (Vec<f64>, Vec<f64>) {
        assert_eq!(v.len(), self.n_flat(), "Baseline::grad_and_hvp: v");
        let mut at = 0;
        let p: Vec<DMatrix<Dual64>> = self
            .params
            .iter()
            .map(|m| {
                let d = DMatrix::from_fn(m.nrows(), m.ncols(), |i, j| {
                    Dual64::new(m[(i, j)], v[at + i + j * m.nrows()])
                });
                at += m.len();
                d
            })
            .collect();
        let bsz = batch.size;
        let scale = Dual64::from_re(1.0 / bsz as f64);
        let parts = per_chunk(batch, |_, sub| {
            let x = sub.x.map(Dual64::from_re);
            self.chunk_grad(&p, &x, &sub, None, loss, scale, false).1
        });
        let mut g = vec![0.0; v.len()];
        let mut hv = vec![0.0; v.len()];
        for (_, part) in parts {
            let flat = part.iter().flat_map(|m| m.iter());
            for ((a, b), d) in g.iter_mut().zip(hv.iter_mut()).zip(flat) {
                *a += d.re;
                *b += d.eps;
            }
        }
        (g, hv)
    }

    fn gather(
        &self,
        batch: &Batch,
        parts: Vec<(usize, ChunkGrad<f64>)>,
        want_dx: bool,
    ) -> LossGrad<Vec<f64>> {
        let bsz = batch.size;
        let mut total = 0.0;
        let mut grad = vec![0.0; self.n_flat()];
        let mut logits = DMatrix::zeros(self.classes, bsz);
        let mut dx = want_dx.then(|| DMatrix::zeros(self.input, batch.steps * bsz));
        for (s, (l, dw, lg, pdx)) in parts {
            total += l;
            for (g, v) in grad.iter_mut().zip(dw.iter().flat_map(|m| m.iter())) {
                *g += v;
            }
            let len = lg.ncols();
            logits.columns_mut(s, len).copy_from(&lg);
            if let (Some(dx), Some(p)) = (dx.as_mut(), pdx.as_ref()) {
                for k in 0..batch.steps {
                    dx.columns_mut(k * bsz + s, len)
                        .copy_from(&p.columns(k * len, len));
                }
            }
        }
        LossGrad {
            loss: total / bsz as f64,
            grad,
            logits,
            dx,
        }
    }

    /// Logits of a batch (`classes x B`), noise from `noise`, in parallel over chunks.
    pub fn logits(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64> {
        let bsz = batch.size;
        let parts = per_chunk(batch, |s, sub| {
            let (len, steps) = (sub.size, sub.steps);
            let draw = noise.chunk_for(&self.noise, self.hidden, steps, s, len);
            self.chunk_forward(&self.params, &sub.x, steps, len, draw.as_ref())
                .2
        });
        let mut out = DMatrix::zeros(self.classes, bsz);
        for (s, p) in parts {
            out.columns_mut(s, p.ncols()).copy_from(&p);
        }
        out
    }

    /// Mean loss and accuracy (NaN for regression) of a batch, noise off.
    pub fn evaluate(&self, batch: &Batch, loss: Loss) -> (f64, f64) {
        super::loss_and_accuracy(&self.logits(batch, NoiseSource::Off), batch, loss)
    }
}

//! The network as an Itô SDE (docs/theory.md section 1): "the RNN is the Euler-Maruyama
//! discretization of an SDE driven by its input", as code.
//!
//! Time `s` is counted in input steps, as in [`crate::regularizer::continuous`]: on
//! `[k, k + 1)` the input is `x_k`, and unit `i` moves at the speed of its own step `d_i`:
//!
//! ```text
//! dh_i = d_i f_i(h, x_{floor(s)}) ds + eps sqrt(d_i) S_i(h) dW          s in [0, K]
//! diag:   S(h) = diag(sigma1 + sigma2 h)                 (n Brownian motions; kind Diagonal)
//! scalar: S(h) = [sigma1 I | sigma2 h]                   (n + 1 Brownian motions; kind General)
//! ```
//!
//! With `sigma2 = 0` both are additive. Euler-Maruyama with step `ds = 1` and increments
//! `dW_k = xi_k` (standard normals) is the network's forward pass ([`super::forward`]):
//! `h_{k+1} = h_k + d f(h_k, x_k) + eps sqrt(d) S(h_k) xi_k`. Finer steps of the same
//! Brownian path converge to the SDE's solution at the scheme's order (tested in
//! `tests/sde_orders.rs`).
//!
//! The `code` form is not an Itô SDE and is refused: its noise multiplies the drift step by
//! `1 - eps sigma2 u` with a fresh uniform `u` per step and adds `eps sigma1 xi` with no
//! `sqrt(d)` weight, so its size does not shrink with the step and it has no
//! continuous-time limit.
//!
//! ```
//! use nrnn::model::{sde::NetworkSde, Model, ModelConfig, NoiseForm, NoiseSpec};
//! use nrnn::sde::{integrate, BrownianPath, Keep, Milstein, Sde};
//! let mut cfg = ModelConfig::new(4, 1, 2);
//! cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.5, 1.0, 1.0)?;
//! let model = Model::init(cfg, 0.3, 1)?;
//! let sde = NetworkSde::new(&model, &nalgebra::DMatrix::from_element(1, 8, 0.5))?;
//! let path = BrownianPath::new(sde.horizon(), 10, sde.noise_dim(), 7, 0)?;
//! let h = integrate(&sde, &Milstein, &nalgebra::DVector::zeros(4), &path, 10, Keep::Final)?;
//! assert_eq!(h.final_state().len(), 4);
//! # Ok::<(), nrnn::Error>(())
//! ```

use super::cell::{drive, Recurrence};
use super::{Model, NoiseForm, NoiseSpec};
use crate::error::{Error, Result};
use crate::sde::{NoiseKind, Sde};
use nalgebra::{DMatrix, DVector};

/// A model driven by one input sequence, as an SDE in input-step time (module docs).
#[derive(Clone, Debug)]
pub struct NetworkSde {
    rec: Recurrence<f64>,
    /// `U x_k + b` per input step, `n x K`.
    drive: DMatrix<f64>,
    d: Vec<f64>,
    /// `eps sqrt(d_i)`, the diffusion's per-unit scale.
    sq: Vec<f64>,
    noise: NoiseSpec,
}

impl NetworkSde {
    /// The SDE of `model` (its noise form and levels) driven by `x` (`p x K`, one column
    /// per input step). Errors: an invalid model, `x` of the wrong shape or non-finite,
    /// and the `code` form (module docs).
    ///
    /// ```
    /// use nrnn::model::{sde::NetworkSde, Model, ModelConfig, NoiseForm, NoiseSpec};
    /// use nrnn::sde::{NoiseKind, Sde};
    /// let mut cfg = ModelConfig::new(3, 1, 2);
    /// cfg.noise = NoiseSpec::new(NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
    /// let m = Model::init(cfg, 0.1, 1).unwrap();
    /// let sde = NetworkSde::new(&m, &nalgebra::DMatrix::from_element(1, 8, 0.3)).unwrap();
    /// assert_eq!((sde.dim(), sde.noise_dim(), sde.noise_kind()), (3, 4, NoiseKind::General));
    /// assert_eq!(sde.horizon(), 8.0);
    /// ```
    pub fn new(model: &Model, x: &DMatrix<f64>) -> Result<NetworkSde> {
        model.validate()?;
        let cfg = &model.config;
        let noise = cfg.noise;
        if noise.form == NoiseForm::Code {
            return Err(Error::param(
                "noise.form",
                "code",
                "\"diag\" or \"scalar\" (the code form is not an Ito SDE: its noise has no sqrt(step) weight and no continuous-time limit)",
            ));
        }
        if x.nrows() != cfg.input || x.ncols() == 0 {
            return Err(Error::shape(
                "inputs",
                x.shape(),
                (cfg.input, x.ncols().max(1)),
            ));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "inputs",
                format!("non-finite value at index {i}"),
                "finite inputs",
            ));
        }
        let d: Vec<f64> = model.params.dt.iter().copied().collect();
        Ok(NetworkSde {
            rec: Recurrence::new(cfg, &model.params),
            drive: drive(&model.params, x),
            sq: d.iter().map(|&di| noise.eps * di.sqrt()).collect(),
            d,
            noise,
        })
    }

    /// The horizon `K`: one unit of time per input step.
    pub fn horizon(&self) -> f64 {
        self.drive.ncols() as f64
    }

    /// The input step in force at time `s`: `floor(s)`, the last one at `s = K`.
    fn input_step(&self, s: f64) -> usize {
        let last = self.drive.ncols() - 1;
        if s.is_finite() && s > 0.0 {
            (s.floor() as usize).min(last)
        } else {
            0
        }
    }
}

impl Sde for NetworkSde {
    fn dim(&self) -> usize {
        self.rec.hidden()
    }

    fn noise_dim(&self) -> usize {
        match self.noise.form {
            NoiseForm::Scalar => self.dim() + 1,
            _ => self.dim(),
        }
    }

    fn noise_kind(&self) -> NoiseKind {
        match self.noise.form {
            _ if self.noise.sigma2 == 0.0 || self.noise.eps == 0.0 => NoiseKind::Additive,
            NoiseForm::Diag => NoiseKind::Diagonal,
            _ => NoiseKind::General,
        }
    }

    /// `out_i = d_i f_i(h, x_{floor(s)})`, the cell's drift ([`Recurrence::drift_unit`]).
    fn drift(&self, s: f64, h: &DVector<f64>, out: &mut DVector<f64>) {
        let n = self.dim();
        let k = self.input_step(s);
        let mut y = DMatrix::zeros(0, 0);
        self.rec
            .apply(&DMatrix::from_column_slice(n, 1, h.as_slice()), &mut y);
        let drive = &self.drive.as_slice()[k * n..(k + 1) * n];
        for i in 0..n {
            out[i] = self.d[i] * self.rec.drift_unit(y.as_slice(), drive[i], i).1;
        }
    }

    /// `out = eps diag(sqrt d) S(h)` (module docs).
    fn diffusion(&self, _s: f64, h: &DVector<f64>, out: &mut DMatrix<f64>) {
        let (s1, s2) = (self.noise.sigma1, self.noise.sigma2);
        out.fill(0.0);
        for i in 0..self.dim() {
            match self.noise.form {
                NoiseForm::Scalar => {
                    out[(i, i)] = self.sq[i] * s1;
                    out[(i, self.dim())] = self.sq[i] * s2 * h[i];
                }
                _ => out[(i, i)] = self.sq[i] * (s1 + s2 * h[i]),
            }
        }
    }

    /// Exact: `d g_ii / d h_i = eps sqrt(d_i) sigma2` (diag form).
    fn diffusion_diag_derivative(&self, _s: f64, _h: &DVector<f64>, out: &mut DVector<f64>) {
        for i in 0..self.dim() {
            out[i] = match self.noise.form {
                NoiseForm::Diag => self.sq[i] * self.noise.sigma2,
                _ => 0.0,
            };
        }
    }
}

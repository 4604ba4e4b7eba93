//! The network as a dynamical system with its tangent map: one Euler-Maruyama step for
//! several states driven by the same input and the same noise, and the linearized step
//! for a block of tangent vectors attached to the first state.
//!
//! ```text
//! state    (docs/theory.md 1):  h' = h + d f(h, x_k) + noise          f = A h + a(W h + U x_k + b)
//! tangent, J_k = A + diag(a'(z_k)) W, z_k = W h + U x_k + b:
//!   diag:   Q' = Q + diag(d) J_k Q + diag(eps sqrt(d) sigma2 xi_k) Q
//!   scalar: Q' = Q + diag(d) J_k Q + diag(eps sqrt(d)) sigma2 zeta_k Q
//!   code:   Q' = Q + diag(d m_k) J_k Q,      m_k = 1 - eps sigma2 u_k
//! ```
//! The additive part (`sigma1`) moves the state but not the tangent. The products
//! `[A; W] [H | Q]` are one [`gemm`] per step. The input is the given sequence cycled
//! (`x_{k mod K}`), or zero. Noise is drawn one step at a time ([`StepNoise`]) in the same
//! order as [`crate::model::NoiseDraw::draw`], so a run with noise stream
//! `stream(seed, &[tag, id])` replays `NoiseDraw::draw(form, n, steps, seed, &[tag], &[id])`.

use crate::error::{Error, Result};
use crate::linalg::gemm;
use crate::model::{Activation, Model, NoiseForm, NoiseSpec};
use crate::rng::{fill_normal, fill_uniform, Stream};
use nalgebra::DMatrix;

/// The standard draws of one step: `xi` (n normals) and `aux` (`scalar`: one normal
/// `zeta`; `code`: n uniforms `u`; `diag`: empty).
#[derive(Clone, Debug, PartialEq)]
pub struct StepNoise {
    /// Standard normals, one per unit.
    pub xi: Vec<f64>,
    /// Auxiliary draws (see type docs).
    pub aux: Vec<f64>,
    form: NoiseForm,
}

impl StepNoise {
    /// Buffers for `hidden` units and the given form (all zero).
    ///
    /// ```
    /// use nrnn::dynamics::tangent::StepNoise;
    /// use nrnn::model::NoiseForm;
    /// let mut s = StepNoise::new(NoiseForm::Scalar, 3);
    /// s.draw(&mut nrnn::rng::stream(1, &[2]));
    /// assert_eq!((s.xi.len(), s.aux.len()), (3, 1));
    /// ```
    pub fn new(form: NoiseForm, hidden: usize) -> StepNoise {
        StepNoise {
            xi: vec![0.0; hidden],
            aux: vec![0.0; form.aux_rows(hidden)],
            form,
        }
    }
    /// Draw the next step from `rng`: `xi` first, then `aux` (the order of `NoiseDraw`).
    pub fn draw(&mut self, rng: &mut Stream) {
        fill_normal(rng, &mut self.xi);
        match self.form {
            NoiseForm::Diag => {}
            NoiseForm::Scalar => fill_normal(rng, &mut self.aux),
            NoiseForm::Code => fill_uniform(rng, &mut self.aux),
        }
    }
}

/// A model prepared for stepping: `[A; W]` stacked, the input drive `U x_k + b` of every
/// step of the (cycled) input sequence, the steps and the noise.
#[derive(Clone, Debug)]
pub struct Dynamics {
    n: usize,
    activation: Activation,
    a_term: bool,
    stacked: DMatrix<f64>,
    woff: usize,
    drive: DMatrix<f64>,
    dt: Vec<f64>,
    tau: f64,
    noise: NoiseSpec,
    on: bool,
    sq: Vec<f64>,
    s1: f64,
    s2: f64,
}

/// Scratch space for [`Dynamics::step`].
#[derive(Clone, Debug, Default)]
pub struct Work {
    y: DMatrix<f64>,
    da: Vec<f64>,
}

impl Dynamics {
    /// Prepare `model` with input sequence `inputs` (`K * p` values, step-major: the `p`
    /// inputs of step 0, then step 1, ...; cycled when a run is longer than `K` steps;
    /// `None`: zero input) and noise `noise` (form and levels; `eps = 0` gives the
    /// deterministic network).
    ///
    /// ```
    /// use nrnn::dynamics::Dynamics;
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(4, 2, 3), 0.1, 1).unwrap();
    /// let d = Dynamics::new(&m, Some(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), m.config.noise).unwrap();
    /// assert_eq!((d.hidden(), d.input_steps()), (4, 3));
    /// assert!(Dynamics::new(&m, Some(&[0.1, 0.2, 0.3]), m.config.noise).is_err()); // not a multiple of p = 2
    /// ```
    pub fn new(model: &Model, inputs: Option<&[f64]>, noise: NoiseSpec) -> Result<Dynamics> {
        model.validate()?;
        noise.validate()?;
        let cfg = &model.config;
        let (n, p) = (cfg.hidden, cfg.input);
        let x = match inputs {
            None => DMatrix::zeros(p, 1),
            Some(v) => {
                if v.is_empty() || v.len() % p != 0 {
                    return Err(Error::param(
                        "inputs",
                        format!("{} values", v.len()),
                        &format!("a non-empty sequence of steps x {p} values (the model's input dimension is {p})"),
                    ));
                }
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(Error::param(
                        "inputs",
                        format!("non-finite value at index {i}"),
                        "finite numbers",
                    ));
                }
                DMatrix::from_column_slice(p, v.len() / p, v)
            }
        };
        let pr = &model.params;
        let mut drive = DMatrix::zeros(n, x.ncols());
        gemm(1.0, &pr.u, false, &x, false, 0.0, &mut drive);
        for mut col in drive.column_iter_mut() {
            col += &pr.b;
        }
        let w = pr.w_matrix(cfg);
        let (stacked, woff) = if cfg.a_term {
            let mut s = DMatrix::zeros(2 * n, n);
            s.rows_mut(0, n).copy_from(&pr.a_matrix(cfg));
            s.rows_mut(n, n).copy_from(&w);
            (s, n)
        } else {
            (w, 0)
        };
        let dt: Vec<f64> = pr.dt.iter().copied().collect();
        let tau = if dt.iter().all(|&v| v == dt[0]) {
            dt[0]
        } else {
            dt.iter().sum::<f64>() / n as f64
        };
        let (s1, s2) = match noise.form {
            NoiseForm::Code => (noise.eps * noise.sigma1, noise.eps * noise.sigma2),
            _ => (noise.sigma1, noise.sigma2),
        };
        let sq = dt.iter().map(|&d| noise.eps * d.sqrt()).collect();
        Ok(Dynamics {
            n,
            activation: cfg.activation,
            a_term: cfg.a_term,
            stacked,
            woff,
            drive,
            dt,
            tau,
            noise,
            on: !noise.is_off(),
            sq,
            s1,
            s2,
        })
    }

    /// Hidden units n.
    pub fn hidden(&self) -> usize {
        self.n
    }
    /// Number of distinct input steps (1 for zero input).
    pub fn input_steps(&self) -> usize {
        self.drive.ncols()
    }
    /// Time unit `tau = mean(d)`: the time one step advances.
    pub fn time_unit(&self) -> f64 {
        self.tau
    }
    /// The noise (form and levels).
    pub fn noise(&self) -> NoiseSpec {
        self.noise
    }
    /// Whether the steps draw noise (`eps > 0` and a non-zero level).
    pub fn is_noisy(&self) -> bool {
        self.on
    }
    /// Fresh step-noise buffers of this system's form.
    pub fn step_noise(&self) -> StepNoise {
        StepNoise::new(self.noise.form, self.n)
    }

    /// One step `k` (input `x_{k mod K}`) of `x = [H | Q]`: the first `states` columns are
    /// states, each advanced by the Euler-Maruyama step with the same `noise` (`None`, or a
    /// deterministic system: no noise); the remaining columns are tangent vectors at the
    /// first state, advanced by its tangent map with the same noise.
    ///
    /// Panics if `x` does not have `n` rows or `states` is not in `1..=x.ncols()` (a
    /// programming error, not a user input: the public runners build `x` themselves).
    ///
    /// ```
    /// use nalgebra::{DMatrix, DVector};
    /// use nrnn::dynamics::tangent::{Dynamics, Work};
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    /// let d = Dynamics::new(&m, None, m.config.noise).unwrap();
    /// let h = DVector::from_vec(vec![0.3, -0.2, 0.5]);
    /// let v = DVector::from_vec(vec![1.0, 0.0, 0.0]);
    /// let mut w = Work::default();
    /// let mut x = DMatrix::from_columns(&[h.clone(), v.clone()]); // a state and a tangent
    /// d.step(0, &mut x, 1, None, &mut w);
    /// let e = 1e-6;
    /// let mut y = DMatrix::from_columns(&[&h + &v * e, h.clone()]); // two states
    /// d.step(0, &mut y, 2, None, &mut w);
    /// let fd = (y.column(0) - y.column(1)) / e;
    /// assert!((fd - x.column(1)).norm() < 1e-6);
    /// assert_eq!(x.column(0), y.column(1));
    /// ```
    pub fn step(
        &self,
        k: usize,
        x: &mut DMatrix<f64>,
        states: usize,
        noise: Option<&StepNoise>,
        work: &mut Work,
    ) {
        let n = self.n;
        let cols = x.ncols();
        assert!(
            x.nrows() == n && states >= 1 && states <= cols,
            "Dynamics::step: shape"
        );
        let rows = self.stacked.nrows();
        if work.y.shape() != (rows, cols) {
            work.y = DMatrix::zeros(rows, cols);
        }
        work.da.resize(n, 0.0);
        gemm(1.0, &self.stacked, false, &*x, false, 0.0, &mut work.y);
        let ys = work.y.as_slice();
        let kk = k % self.drive.ncols();
        let drive = &self.drive.as_slice()[kk * n..(kk + 1) * n];
        let noise = if self.on { noise } else { None };
        let act = self.activation;
        let xs = x.as_mut_slice();
        let dt = &self.dt;
        for j in 0..states {
            let yc = &ys[j * rows..(j + 1) * rows];
            let hc = &mut xs[j * n..(j + 1) * n];
            for i in 0..n {
                let z = yc[self.woff + i] + drive[i];
                let av = act.eval(z);
                if j == 0 {
                    work.da[i] = act.deriv_from_value(av);
                }
                let f = if self.a_term { yc[i] + av } else { av };
                let hv = hc[i];
                // Same expressions as `model::forward`, so that runs replay its states.
                hc[i] = match noise {
                    Some(s) => match self.noise.form {
                        NoiseForm::Diag => {
                            hv + dt[i] * f + self.sq[i] * (self.s1 + self.s2 * hv) * s.xi[i]
                        }
                        NoiseForm::Scalar => {
                            hv + dt[i] * f
                                + self.sq[i] * (self.s1 * s.xi[i] + self.s2 * hv * s.aux[0])
                        }
                        NoiseForm::Code => {
                            let m = 1.0 - self.s2 * s.aux[i];
                            hv + dt[i] * m * f + self.s1 * s.xi[i]
                        }
                    },
                    None => hv + dt[i] * f + 0.0,
                };
            }
        }
        if states == cols {
            return;
        }
        // Per-unit multiplier of Q (noise) and of the drift step.
        let da = &work.da;
        for j in states..cols {
            let yc = &ys[j * rows..(j + 1) * rows];
            let qc = &mut xs[j * n..(j + 1) * n];
            for i in 0..n {
                let jq = if self.a_term {
                    yc[i] + da[i] * yc[self.woff + i]
                } else {
                    da[i] * yc[self.woff + i]
                };
                let q = qc[i];
                qc[i] = match noise {
                    Some(s) => match self.noise.form {
                        NoiseForm::Diag => q + dt[i] * jq + self.sq[i] * self.s2 * s.xi[i] * q,
                        NoiseForm::Scalar => q + dt[i] * jq + self.sq[i] * self.s2 * s.aux[0] * q,
                        NoiseForm::Code => q + dt[i] * (1.0 - self.s2 * s.aux[i]) * jq,
                    },
                    None => q + dt[i] * jq,
                };
            }
        }
    }
}

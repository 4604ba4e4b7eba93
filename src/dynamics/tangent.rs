//! The network as a dynamical system with its tangent map: one Euler-Maruyama step for
//! several states driven by the same input and the same noise, and the linearized step
//! for a block of tangent vectors attached to the first state. Every cell: the Lipschitz
//! RNN below; a baseline (LSTM, GRU, coRNN) steps its state `s` (`[h; c]`, `h`, `[y; z]`)
//! by its cell with the `diag` noise on the read-out part, and its tangent by the exact
//! Jacobian-vector product of that step ([`crate::model::baseline::Baseline::state_jvp`],
//! one dual-number step per tangent vector):
//!
//! ```text
//! baseline: s' = cell(s, x_k) + eps (sigma1 + sigma2 h) (.) xi_k,   q' = J_cell q + eps sigma2 xi_k (.) q_h
//! ```
//!
//! ```text
//! state    (docs/theory.md 1):  h' = h + d f(h, x_k) + noise          f = A h + a(W h + U x_k + b)
//! tangent, J_k = A + diag(a'(z_k)) W, z_k = W h + U x_k + b:
//!   diag:   Q' = Q + diag(d) J_k Q + diag(eps sqrt(d) sigma2 xi_k) Q
//!   scalar: Q' = Q + diag(d) J_k Q + diag(eps sqrt(d)) sigma2 zeta_k Q
//!   code:   Q' = Q + diag(d m_k) J_k Q,      m_k = 1 - eps sigma2 u_k
//! ```
//! The additive part (`sigma1`) moves the state but not the tangent. The drift and the
//! Jacobian products are the cell's ([`crate::model::cell::Recurrence`]: `[A; W] [H | Q]`
//! is one matrix product per step), the noise terms [`crate::model::increment`]'s. The input is the given sequence cycled
//! (`x_{k mod K}`), or zero. Noise is drawn one step at a time ([`StepNoise`]) in the same
//! order as [`crate::model::NoiseDraw::draw`], so a run with noise stream
//! `stream(seed, &[tag, id])` replays `NoiseDraw::draw(form, n, steps, seed, &[tag], &[id])`.

use crate::error::{Error, Result};
use crate::model::baseline::Baseline;
use crate::model::cell::{drive, Recurrence};
use crate::model::increment::Increment;
use crate::model::network::{Network, Recurrent};
use crate::model::noise::draw_example;
use crate::model::{Model, NoiseForm, NoiseSpec};
use crate::rng::Stream;
use nalgebra::DMatrix;
use num_dual::Dual64;

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
        draw_example(self.form, rng, &mut self.xi, &mut self.aux);
    }
}

/// A model prepared for stepping, with its (cycled) input sequence, time unit and noise.
#[derive(Clone, Debug)]
pub struct Dynamics {
    kind: Kind,
    tau: f64,
    noise: NoiseSpec,
    on: bool,
}

/// What a step needs, by cell.
#[derive(Clone, Debug)]
enum Kind {
    /// The Lipschitz RNN: `[A; W]` stacked, the input drive `U x_k + b` of every input
    /// step, the steps `d` and the noise increment.
    Lipschitz {
        rec: Recurrence<f64>,
        drive: DMatrix<f64>,
        dt: Vec<f64>,
        inc: Increment<f64>,
    },
    /// A baseline: the model, its cell's blocks as dual numbers (for the tangent map) and
    /// the input steps (`p x K`).
    Baseline {
        model: Baseline,
        wd: Vec<DMatrix<Dual64>>,
        x: DMatrix<f64>,
    },
}

/// Scratch space for [`Dynamics::step`].
#[derive(Clone, Debug, Default)]
pub struct Work {
    y: DMatrix<f64>,
    da: Vec<f64>,
    out: Vec<f64>,
    cache: Vec<f64>,
}

/// One path of a system: the generator its step noise is drawn from (nothing is drawn for a
/// deterministic system), the step-noise buffers and the scratch of [`Dynamics::step`].
#[derive(Clone, Debug)]
pub struct PathStepper {
    rng: Stream,
    noise: Option<StepNoise>,
    work: Work,
}

impl PathStepper {
    /// Step `k` of `x` ([`Dynamics::step`] with `states` state columns), after drawing this
    /// step's noise from the path's generator when the system is noisy.
    pub fn advance(&mut self, sys: &Dynamics, k: usize, x: &mut DMatrix<f64>, states: usize) {
        if let Some(sn) = &mut self.noise {
            sn.draw(&mut self.rng);
        }
        sys.step(k, x, states, self.noise.as_ref(), &mut self.work);
    }
}

impl Dynamics {
    /// Prepare `model` (any cell) with input sequence `inputs` (`K * p` values,
    /// step-major: the `p` inputs of step 0, then step 1, ...; cycled when a run is longer
    /// than `K` steps; `None`: zero input) and noise `noise` (form and levels; `eps = 0`
    /// gives the deterministic network; a baseline takes the `diag` form only).
    ///
    /// ```
    /// use nrnn::dynamics::Dynamics;
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(4, 2, 3), 0.1, 1).unwrap();
    /// let d = Dynamics::new(&m, Some(&[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), m.config.noise).unwrap();
    /// assert_eq!((d.hidden(), d.input_steps()), (4, 3));
    /// assert!(Dynamics::new(&m, Some(&[0.1, 0.2, 0.3]), m.config.noise).is_err()); // not a multiple of p = 2
    /// ```
    pub fn new<R: Recurrent>(
        model: &R,
        inputs: Option<&[f64]>,
        noise: NoiseSpec,
    ) -> Result<Dynamics> {
        model.validate()?;
        noise.validate()?;
        let x = input_steps(model.input(), inputs)?;
        match model.to_network() {
            Network::Lipschitz(m) => Ok(Dynamics::lipschitz(&m, &x, noise)),
            Network::Baseline(b) => {
                b.cell.check_noise(&noise)?;
                let wd = b
                    .cell_params()
                    .iter()
                    .map(|m| m.map(Dual64::from_re))
                    .collect();
                Ok(Dynamics {
                    tau: b.time_unit(),
                    on: !noise.is_off(),
                    kind: Kind::Baseline { model: b, wd, x },
                    noise,
                })
            }
        }
    }

    fn lipschitz(model: &Model, x: &DMatrix<f64>, noise: NoiseSpec) -> Dynamics {
        let (cfg, pr) = (&model.config, &model.params);
        let n = cfg.hidden;
        let dt: Vec<f64> = pr.dt.iter().copied().collect();
        let tau = if dt.iter().all(|&v| v == dt[0]) {
            dt[0]
        } else {
            dt.iter().sum::<f64>() / n as f64
        };
        let inc = Increment::of(&noise, &dt, true);
        Dynamics {
            tau,
            on: inc.on,
            kind: Kind::Lipschitz {
                rec: Recurrence::new(cfg, pr),
                drive: drive(pr, x),
                inc,
                dt,
            },
            noise,
        }
    }

    /// Dimension of the state: the hidden units n of the Lipschitz RNN and the GRU, 2n for
    /// the LSTM's `[h; c]` and the coRNN's `[y; z]`.
    pub fn hidden(&self) -> usize {
        match &self.kind {
            Kind::Lipschitz { rec, .. } => rec.hidden(),
            Kind::Baseline { model, .. } => model.cell.state_len(model.hidden),
        }
    }
    /// Units that receive noise (the read-out part of the state: n).
    fn noise_units(&self) -> usize {
        match &self.kind {
            Kind::Lipschitz { rec, .. } => rec.hidden(),
            Kind::Baseline { model, .. } => model.hidden,
        }
    }
    /// Number of distinct input steps (1 for zero input).
    pub fn input_steps(&self) -> usize {
        match &self.kind {
            Kind::Lipschitz { drive, .. } => drive.ncols(),
            Kind::Baseline { x, .. } => x.ncols(),
        }
    }
    /// Time unit: the time one step advances (`tau = mean(d)` for the Lipschitz RNN, the
    /// coRNN's `dt`, 1 for the LSTM and GRU).
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
    /// Fresh step-noise buffers of this system's form (one normal per noisy unit).
    pub fn step_noise(&self) -> StepNoise {
        StepNoise::new(self.noise.form, self.noise_units())
    }
    /// A path of this system whose noise is drawn from `rng`.
    pub fn path(&self, rng: Stream) -> PathStepper {
        PathStepper {
            rng,
            noise: self.is_noisy().then(|| self.step_noise()),
            work: Work::default(),
        }
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
        let n = self.hidden();
        let cols = x.ncols();
        assert!(
            x.nrows() == n && states >= 1 && states <= cols,
            "Dynamics::step: shape"
        );
        let noise = if self.on { noise } else { None };
        match &self.kind {
            Kind::Lipschitz {
                rec,
                drive,
                dt,
                inc,
            } => Self::step_lipschitz(
                (rec, drive, dt, inc),
                self.noise.form,
                k,
                x,
                states,
                noise,
                work,
            ),
            Kind::Baseline { model, wd, x: xs } => {
                let xk = xs.column(k % xs.ncols());
                let nz = noise.map(|s| (&self.noise, s.xi.as_slice()));
                // Tangents first: they are taken at the first state before its step.
                let (st, tg) = x.as_mut_slice().split_at_mut(states * n);
                model.state_jvp(wd, (&st[..n], xk.as_slice()), nz, tg);
                work.out.resize(n, 0.0);
                for sj in st.chunks_mut(n) {
                    model.state_step(sj, xk.as_slice(), nz, &mut work.out, &mut work.cache);
                    sj.copy_from_slice(&work.out);
                }
            }
        }
    }

    /// [`Dynamics::step`] of the Lipschitz RNN.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn step_lipschitz(
        (rec, drive, dt, inc): (&Recurrence<f64>, &DMatrix<f64>, &[f64], &Increment<f64>),
        form: NoiseForm,
        k: usize,
        x: &mut DMatrix<f64>,
        states: usize,
        noise: Option<&StepNoise>,
        work: &mut Work,
    ) {
        let (n, cols) = x.shape();
        let rows = rec.stacked.nrows();
        work.da.resize(n, 0.0);
        rec.apply(x, &mut work.y);
        let ys = work.y.as_slice();
        let kk = k % drive.ncols();
        let drive = &drive.as_slice()[kk * n..(kk + 1) * n];
        let act = rec.activation;
        let xs = x.as_mut_slice();
        for j in 0..states {
            let yc = &ys[j * rows..(j + 1) * rows];
            let hc = &mut xs[j * n..(j + 1) * n];
            for i in 0..n {
                let (av, f) = rec.drift_unit(yc, drive[i], i);
                if j == 0 {
                    work.da[i] = act.deriv_from_value(av);
                }
                // The step of `model::forward`, so that runs replay its states.
                hc[i] = match noise {
                    Some(s) => inc.state_unit(form, hc[i], f, dt[i], inc.sq[i], s.xi[i], &s.aux, i),
                    None => hc[i] + dt[i] * f,
                };
            }
        }
        if states == cols {
            return;
        }
        let da = &work.da;
        for j in states..cols {
            let yc = &ys[j * rows..(j + 1) * rows];
            let qc = &mut xs[j * n..(j + 1) * n];
            for i in 0..n {
                let jq = rec.jvp_unit(yc, da[i], i);
                qc[i] = match noise {
                    Some(s) => {
                        inc.tangent_unit(form, qc[i], jq, dt[i], inc.sq[i], s.xi[i], &s.aux, i)
                    }
                    None => Increment::tangent_unit_off(qc[i], jq, dt[i]),
                };
            }
        }
    }
}

/// The input steps as a `p x K` matrix from `K * p` step-major values (`None`: one zero
/// step), refusing a length that is not a multiple of `p` and non-finite values.
fn input_steps(p: usize, inputs: Option<&[f64]>) -> Result<DMatrix<f64>> {
    let Some(v) = inputs else {
        return Ok(DMatrix::zeros(p, 1));
    };
    if v.is_empty() || v.len() % p != 0 {
        return Err(Error::param(
            "inputs",
            format!("{} values", v.len()),
            &format!(
                "a non-empty sequence of steps x {p} values (the model's input dimension is {p})"
            ),
        ));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(Error::param(
            "inputs",
            format!("non-finite value at index {i}"),
            "finite numbers",
        ));
    }
    Ok(DMatrix::from_column_slice(p, v.len() / p, v))
}

//! Noise forms of the NRNN and pre-drawn noise that can be replayed.
//!
//! One Euler-Maruyama step (docs/theory.md section 1), with `d` the per-unit step:
//! - `diag`:   `h' = h + d f + eps sqrt(d) (sigma1 + sigma2 h) xi`,  `xi ~ N(0, I_n)`;
//! - `scalar`: `h' = h + d f + eps sqrt(d) (sigma1 xi + sigma2 h zeta)`, one `zeta ~ N(0, 1)`
//!   shared by all units (the classic stochastic-stabilization noise);
//! - `code`:   `h' = h + d m f + s_add xi`, `m = 1 - s_mult u`, `u ~ U[0, 1)` per unit, with
//!   `s_add = eps sigma1` and `s_mult = eps sigma2`: the released script's form, no `sqrt(d)`.

use crate::error::{Error, Result};
use crate::rng::{fill_normal, fill_uniform, stream, Stream};
use nalgebra::DMatrix;

/// Which noise is injected into the hidden state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoiseForm {
    /// `sigma = sigma1 I + sigma2 diag(h)`, independent Brownian motion per unit.
    Diag,
    /// Additive part per unit, multiplicative part `sigma2 h dbeta` with one scalar `beta`.
    Scalar,
    /// The released training script's form (see module docs).
    Code,
}

impl NoiseForm {
    /// Parse a form name (`diag`, `scalar`, `code`).
    pub fn parse(s: &str) -> Result<NoiseForm> {
        match s {
            "diag" => Ok(NoiseForm::Diag),
            "scalar" => Ok(NoiseForm::Scalar),
            "code" => Ok(NoiseForm::Code),
            _ => Err(Error::param(
                "noise.form",
                format!("\"{s}\""),
                "one of \"diag\", \"scalar\", \"code\"",
            )),
        }
    }
    /// The form's name.
    pub fn name(self) -> &'static str {
        match self {
            NoiseForm::Diag => "diag",
            NoiseForm::Scalar => "scalar",
            NoiseForm::Code => "code",
        }
    }
    /// Rows of the auxiliary draw per step: 0 (`diag`), 1 (`scalar`: zeta), n (`code`: u).
    pub fn aux_rows(self, hidden: usize) -> usize {
        match self {
            NoiseForm::Diag => 0,
            NoiseForm::Scalar => 1,
            NoiseForm::Code => hidden,
        }
    }
}

/// Noise form and levels; checked on construction.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NoiseSpec {
    /// The form.
    pub form: NoiseForm,
    /// Overall level eps >= 0 (eps = 0: the deterministic network).
    pub eps: f64,
    /// Additive level sigma1 >= 0.
    pub sigma1: f64,
    /// Multiplicative level sigma2 >= 0.
    pub sigma2: f64,
}

impl NoiseSpec {
    /// A checked noise specification.
    ///
    /// ```
    /// use nrnn::model::{NoiseForm, NoiseSpec};
    /// assert!(NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 1.0).is_ok());
    /// assert!(NoiseSpec::new(NoiseForm::Diag, -0.1, 1.0, 1.0).is_err());
    /// ```
    pub fn new(form: NoiseForm, eps: f64, sigma1: f64, sigma2: f64) -> Result<NoiseSpec> {
        let s = NoiseSpec {
            form,
            eps,
            sigma1,
            sigma2,
        };
        s.validate()?;
        Ok(s)
    }
    /// No noise (the deterministic Lipschitz RNN).
    pub fn off() -> NoiseSpec {
        NoiseSpec {
            form: NoiseForm::Diag,
            eps: 0.0,
            sigma1: 0.0,
            sigma2: 0.0,
        }
    }
    /// Check the levels: finite, non-negative; for `code`, `eps sigma2 <= 1`.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("noise.eps", self.eps),
            ("noise.sigma1", self.sigma1),
            ("noise.sigma2", self.sigma2),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::param(name, v, "a finite number >= 0"));
            }
        }
        if self.form == NoiseForm::Code && self.eps * self.sigma2 > 1.0 {
            return Err(Error::param(
                "noise.sigma2",
                self.sigma2,
                "eps * sigma2 <= 1 for the code form (the drift factor 1 - eps sigma2 u must stay >= 0)",
            ));
        }
        Ok(())
    }
    /// True when the noise vanishes identically.
    pub fn is_off(&self) -> bool {
        self.eps == 0.0 || (self.sigma1 == 0.0 && self.sigma2 == 0.0)
    }
    /// The same form and levels with another eps.
    pub fn with_eps(&self, eps: f64) -> NoiseSpec {
        NoiseSpec { eps, ..*self }
    }
}

/// Standard draws for a batch, replayable: `xi` is `n x (steps * size)` standard normals
/// (step-major: step `k` of example `b` in column `k * size + b`); `aux` holds the scalar
/// normals `zeta` (`1 x ...`, form `scalar`) or the uniforms `u` (`n x ...`, form `code`).
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseDraw {
    /// Number of steps K.
    pub steps: usize,
    /// Number of examples B.
    pub size: usize,
    /// Standard normal draws.
    pub xi: DMatrix<f64>,
    /// Auxiliary draws (see type docs).
    pub aux: DMatrix<f64>,
}

impl NoiseDraw {
    /// Draw the noise of examples `ids`, each from its own stream `stream(seed, tag ++ [id])`,
    /// so a column depends only on its name, never on the batch it sits in or the thread.
    ///
    /// ```
    /// use nrnn::model::{NoiseDraw, NoiseForm};
    /// let a = NoiseDraw::draw(NoiseForm::Diag, 3, 5, 7, &[1], &[10, 11]);
    /// let b = NoiseDraw::draw(NoiseForm::Diag, 3, 5, 7, &[1], &[11]);
    /// assert_eq!(a.columns(1, 1), b);
    /// ```
    pub fn draw(
        form: NoiseForm,
        hidden: usize,
        steps: usize,
        seed: u64,
        tag: &[u64],
        ids: &[u64],
    ) -> NoiseDraw {
        // The streams and the per-example draw of `StepNoise::streams`, written in place.
        Self::from_streams(form, hidden, steps, &mut example_streams(seed, tag, ids))
    }

    /// The next `steps` steps of the examples whose streams are `rngs` (one per example,
    /// in batch order), drawn as [`NoiseDraw::draw`] draws them: a draw continued from
    /// saved stream states gives the columns the whole draw has there, bit for bit.
    ///
    /// ```
    /// use nrnn::model::{NoiseDraw, NoiseForm};
    /// let whole = NoiseDraw::draw(NoiseForm::Code, 3, 5, 7, &[1], &[10, 11]);
    /// let mut rngs = vec![nrnn::rng::stream(7, &[1, 10]), nrnn::rng::stream(7, &[1, 11])];
    /// assert_eq!(NoiseDraw::from_streams(NoiseForm::Code, 3, 5, &mut rngs), whole);
    /// ```
    pub fn from_streams(
        form: NoiseForm,
        hidden: usize,
        steps: usize,
        rngs: &mut [Stream],
    ) -> NoiseDraw {
        let size = rngs.len();
        let ar = form.aux_rows(hidden);
        let mut xi = DMatrix::zeros(hidden, steps * size);
        let mut aux = DMatrix::zeros(ar, steps * size);
        for k in 0..steps {
            for (j, rng) in rngs.iter_mut().enumerate() {
                let c = k * size + j;
                let x = &mut xi.as_mut_slice()[c * hidden..(c + 1) * hidden];
                draw_example(form, rng, x, &mut aux.as_mut_slice()[c * ar..(c + 1) * ar]);
            }
        }
        NoiseDraw {
            steps,
            size,
            xi,
            aux,
        }
    }

    /// The draws of steps `k0..k0 + len` (every example): columns `k0 B ..` of `xi` and
    /// `aux`, the step-major layout being contiguous in the steps.
    ///
    /// ```
    /// use nrnn::model::{NoiseDraw, NoiseForm};
    /// let d = NoiseDraw::draw(NoiseForm::Scalar, 3, 5, 7, &[1], &[10, 11]);
    /// let part = d.step_range(2, 3);
    /// assert_eq!((part.steps, part.xi.columns(0, 2)), (3, d.xi.columns(4, 2)));
    /// ```
    pub fn step_range(&self, k0: usize, len: usize) -> NoiseDraw {
        let cols = |m: &DMatrix<f64>| m.columns(k0 * self.size, len * self.size).into_owned();
        NoiseDraw {
            steps: len,
            size: self.size,
            xi: cols(&self.xi),
            aux: cols(&self.aux),
        }
    }

    /// The draws of examples `start..start + len`.
    pub fn columns(&self, start: usize, len: usize) -> NoiseDraw {
        let pick = |m: &DMatrix<f64>| {
            let mut out = DMatrix::zeros(m.nrows(), self.steps * len);
            for k in 0..self.steps {
                out.columns_mut(k * len, len)
                    .copy_from(&m.columns(k * self.size + start, len));
            }
            out
        };
        NoiseDraw {
            steps: self.steps,
            size: len,
            xi: pick(&self.xi),
            aux: pick(&self.aux),
        }
    }

    /// The antithetic draw: `xi -> -xi`, `zeta -> -zeta`, `u -> 1 - u`.
    pub fn antithetic(&self, form: NoiseForm) -> NoiseDraw {
        let aux = match form {
            NoiseForm::Code => self.aux.map(|u| 1.0 - u),
            _ => -&self.aux,
        };
        NoiseDraw {
            steps: self.steps,
            size: self.size,
            xi: -&self.xi,
            aux,
        }
    }

    /// Check that the draw fits a model with `hidden` units, form `form`, and a batch.
    pub fn check(&self, form: NoiseForm, hidden: usize, steps: usize, size: usize) -> Result<()> {
        let cols = steps * size;
        if self.xi.shape() != (hidden, cols) {
            return Err(Error::shape("noise.xi", self.xi.shape(), (hidden, cols)));
        }
        let ar = form.aux_rows(hidden);
        if self.aux.shape() != (ar, cols) {
            return Err(Error::shape("noise.aux", self.aux.shape(), (ar, cols)));
        }
        Ok(())
    }
}

/// The noise a forward pass reads example by example within each step: none, a pre-drawn
/// [`NoiseDraw`], or fresh draws from one stream per example, made when the example's
/// update needs them and never stored whole (for forward-only passes: backpropagation
/// replays the stored draw).
///
/// The streams are consumed exactly as [`NoiseDraw::draw`] consumes them (it is built on
/// this type): example `b`'s stream is `stream(seed, tag ++ [ids[b]])`, and at each step
/// it yields `n` standard normals, then the auxiliary draws of the form. Drawing on the
/// fly therefore gives the same values as replaying the stored draw, bit for bit.
///
/// ```
/// use nrnn::model::{NoiseDraw, NoiseForm, StepNoise};
/// let d = NoiseDraw::draw(NoiseForm::Scalar, 3, 4, 7, &[1], &[10, 11]);
/// let mut s = StepNoise::streams(NoiseForm::Scalar, 3, 7, &[1], &[10, 11]);
/// for k in 0..4 {
///     for j in 0..2 {
///         let (xi, aux) = s.example(k, j);
///         let c = k * 2 + j;
///         assert_eq!(xi, &d.xi.as_slice()[c * 3..(c + 1) * 3]);
///         assert_eq!(aux, &d.aux.as_slice()[c..c + 1]);
///     }
/// }
/// ```
#[derive(Clone, Debug)]
pub enum StepNoise<'a> {
    /// No noise.
    Off,
    /// A stored draw, read in place.
    Given(&'a NoiseDraw),
    /// One generator per example; `xi` and `aux` hold the draws of the example last asked for.
    Streams {
        /// The noise form (which auxiliary draws follow the normals).
        form: NoiseForm,
        /// Hidden units n.
        hidden: usize,
        /// One generator per example, in batch order.
        rngs: Vec<Stream>,
        /// One example's standard normals (n).
        xi: Vec<f64>,
        /// One example's auxiliary draws.
        aux: Vec<f64>,
    },
}

/// The noise streams of examples `ids`: example `b`'s is `stream(seed, tag ++ [ids[b]])`.
fn example_streams(seed: u64, tag: &[u64], ids: &[u64]) -> Vec<Stream> {
    let mut name = tag.to_vec();
    name.push(0);
    ids.iter()
        .map(|&id| {
            *name.last_mut().unwrap() = id;
            stream(seed, &name)
        })
        .collect()
}

/// One example's draws of one step from its stream: `n` standard normals into `xi`, then
/// the form's auxiliary draws into `aux` (a normal for `scalar`, `n` uniforms for `code`).
#[inline(always)]
pub(crate) fn draw_example(form: NoiseForm, rng: &mut Stream, xi: &mut [f64], aux: &mut [f64]) {
    fill_normal(rng, xi);
    match form {
        NoiseForm::Diag => {}
        NoiseForm::Scalar => fill_normal(rng, aux),
        NoiseForm::Code => fill_uniform(rng, aux),
    }
}

impl<'a> StepNoise<'a> {
    /// Fresh draws for examples `ids`, example `b` from `stream(seed, tag ++ [ids[b]])`.
    pub fn streams(form: NoiseForm, hidden: usize, seed: u64, tag: &[u64], ids: &[u64]) -> Self {
        StepNoise::Streams {
            form,
            hidden,
            rngs: example_streams(seed, tag, ids),
            xi: vec![0.0; hidden],
            aux: vec![0.0; form.aux_rows(hidden)],
        }
    }

    /// The states of the per-example streams (fresh draws), `None` for no noise or a
    /// stored draw: saved at a step, they continue the draw from there
    /// ([`NoiseDraw::from_streams`]).
    pub fn stream_states(&self) -> Option<Vec<Stream>> {
        match self {
            StepNoise::Streams { rngs, .. } => Some(rngs.clone()),
            _ => None,
        }
    }

    /// True when there is noise to read.
    pub fn is_on(&self) -> bool {
        !matches!(self, StepNoise::Off)
    }

    /// Check that the noise fits a pass of a model with `hidden` units and noise form
    /// `form` over `steps` steps of `size` examples.
    ///
    /// ```
    /// use nrnn::model::{NoiseForm, StepNoise};
    /// let s = StepNoise::streams(NoiseForm::Diag, 3, 1, &[], &[0, 1]);
    /// assert!(s.check(NoiseForm::Diag, 3, 10, 2).is_ok());
    /// assert!(s.check(NoiseForm::Diag, 4, 10, 2).is_err());
    /// assert!(s.check(NoiseForm::Code, 3, 10, 2).is_err());
    /// ```
    pub fn check(&self, form: NoiseForm, hidden: usize, steps: usize, size: usize) -> Result<()> {
        match self {
            StepNoise::Off => Ok(()),
            StepNoise::Given(d) => d.check(form, hidden, steps, size),
            StepNoise::Streams {
                form: f,
                hidden: h,
                rngs,
                ..
            } => {
                if *f != form {
                    return Err(Error::param(
                        "noise.form",
                        f.name(),
                        &format!("the model's form \"{}\"", form.name()),
                    ));
                }
                if (*h, rngs.len()) != (hidden, size) {
                    return Err(Error::shape(
                        "noise streams",
                        (*h, rngs.len()),
                        (hidden, size),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Example `j`'s stream when the draws are fresh diag-form normals (no auxiliary
    /// draws): the pass may then take them from the stream as it goes, in
    /// [`crate::rng::fill_normal`]'s order, instead of through [`StepNoise::example`].
    #[inline(always)]
    pub fn diag_stream(&mut self, j: usize) -> Option<&mut Stream> {
        match self {
            StepNoise::Streams {
                form: NoiseForm::Diag,
                rngs,
                ..
            } => Some(&mut rngs[j]),
            _ => None,
        }
    }

    /// The draws of example `j` at step `k`: `n` standard normals and the auxiliary draws
    /// (empty slices when off). Fresh draws are made now, so within a pass each example is
    /// asked for once per step, steps in order `0, 1, ..` (any order of examples).
    #[inline(always)]
    pub fn example(&mut self, k: usize, j: usize) -> (&[f64], &[f64]) {
        match self {
            StepNoise::Off => (&[], &[]),
            StepNoise::Given(d) => {
                let (n, ar, c) = (d.xi.nrows(), d.aux.nrows(), k * d.size + j);
                (
                    &d.xi.as_slice()[c * n..(c + 1) * n],
                    &d.aux.as_slice()[c * ar..(c + 1) * ar],
                )
            }
            StepNoise::Streams {
                form,
                rngs,
                xi,
                aux,
                ..
            } => {
                draw_example(*form, &mut rngs[j], xi, aux);
                (xi, aux)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every form: drawing step by step gives the stored draw, bit for bit, also for a
    /// batch that is not a multiple of anything in particular.
    #[test]
    fn streams_replay_the_stored_draw() {
        for form in [NoiseForm::Diag, NoiseForm::Scalar, NoiseForm::Code] {
            let ids: Vec<u64> = (100..113).collect();
            let d = NoiseDraw::draw(form, 5, 9, 3, &[2, 4], &ids);
            let mut s = StepNoise::streams(form, 5, 3, &[2, 4], &ids);
            let mut given = StepNoise::Given(&d);
            let ar = form.aux_rows(5);
            for k in 0..9 {
                // Examples in reverse: each stream is independent of the others.
                for j in (0..13).rev() {
                    let c = k * 13 + j;
                    let (xi, aux) = s.example(k, j);
                    assert_eq!(xi, &d.xi.as_slice()[c * 5..(c + 1) * 5]);
                    assert_eq!(aux, &d.aux.as_slice()[c * ar..(c + 1) * ar]);
                    assert_eq!(given.example(k, j), (xi, aux));
                }
            }
        }
    }
}

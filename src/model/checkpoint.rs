//! Checkpointed backpropagation through time: the tape of a long pass in O(sqrt K) states.
//!
//! A kept tape ([`fn@super::forward`] with `keep`) holds, for each of the K steps and B
//! examples, the state `h_k`, the activation `a(z_k)`, the noise draw and, with a
//! learnable step, the drift `f_k`; the backward sweep adds `Gz_k`. That is
//! `8 n B (4 K)` bytes and more ([`tape_bytes`]): 206 MB for one work item of 64
//! examples at hidden 128 and 784 steps, two of them at once on two threads.
//!
//! The checkpointed pass ([`gradient`]) splits the steps into segments of `S` steps
//! ([`segment_length`], `S = ceil(sqrt K)`). Its forward pass keeps no tape: it keeps the
//! state at the start of every segment and, for fresh draws, the states of the
//! examples' noise streams there. The backward pass takes the segments last to first:
//! it redraws the segment's noise from the saved stream states
//! ([`NoiseDraw::from_streams`]), reruns the segment's forward from its first state with a
//! kept tape, and sweeps back through it (`bptt::Sweep`). The rerun performs
//! the same floating-point operations on the same numbers as the first pass (the same
//! kernels, the same draws), and the sweeps run the steps in the same order as one sweep
//! over a whole tape, so the gradient is the same, bit for bit. The cost is one more
//! forward pass and one more noise draw; what remains of length K is `Gz_k` (`n x KB`),
//! which `dL/dU` and `dL/db` sum in step order at the end.

use super::bptt::{Backward, Sweep};
use super::{forward, forward_steps, InputColumns, ModelConfig, NoiseDraw, Params, StepNoise};
use crate::linalg::Real;
use crate::rng::Stream;
use nalgebra::DMatrix;

/// Largest whole tape of one work item, in bytes, before [`segment_length`] chooses
/// checkpointing: 64 MiB (hidden 128, 64 examples: up to about 240 steps).
pub const TAPE_BUDGET: usize = 64 << 20;

const F64: usize = std::mem::size_of::<f64>();

/// Bytes of the whole tape of a pass of `steps` steps over `size` examples (f64): the
/// states `(K + 1) n B`, the activations and `Gz` `K n B` each, the drifts `K n B` with a
/// learnable step, the noise draw `K (n + aux) B` with noise, times 8.
///
/// ```
/// use nrnn::model::{checkpoint::tape_bytes, ModelConfig};
/// let cfg = ModelConfig::new(128, 1, 10); // noise off, fixed step
/// assert_eq!(tape_bytes(&cfg, 784, 64), 8 * 128 * 64 * (785 + 2 * 784));
/// ```
pub fn tape_bytes(cfg: &ModelConfig, steps: usize, size: usize) -> usize {
    let (n, k) = (cfg.hidden, steps);
    let mut vectors = (k + 1) * n + 2 * k * n;
    if cfg.learn_dt {
        vectors += k * n;
    }
    if !cfg.noise.is_off() {
        vectors += k * (n + cfg.noise.form.aux_rows(n));
    }
    vectors * size * F64
}

/// Bytes of a checkpointed pass with segments of `seg` steps: `Gz` (`K n B`), the
/// `ceil(K / S)` saved states (and the noise streams' states with noise), and one
/// segment's whole tape ([`tape_bytes`] of `S` steps, less its `Gz`).
///
/// ```
/// use nrnn::model::checkpoint::{checkpointed_bytes, tape_bytes};
/// let cfg = nrnn::model::ModelConfig::new(128, 1, 10);
/// assert!(checkpointed_bytes(&cfg, 784, 64, 28) < tape_bytes(&cfg, 784, 64) / 2);
/// ```
pub fn checkpointed_bytes(cfg: &ModelConfig, steps: usize, size: usize, seg: usize) -> usize {
    let (n, seg) = (cfg.hidden, seg.clamp(1, steps.max(1)));
    let marks = steps.div_ceil(seg);
    let mut bytes = steps * n * size * F64 + marks * n * size * F64;
    if !cfg.noise.is_off() {
        bytes += marks * size * std::mem::size_of::<Stream>();
    }
    bytes + tape_bytes(cfg, seg, size) - seg * n * size * F64
}

/// The segment length of a pass of `steps` steps over `size` examples:
/// `None` (keep the whole tape) when its [`tape_bytes`] is within [`TAPE_BUDGET`], else
/// `Some(ceil(sqrt K))`.
///
/// ```
/// use nrnn::model::{checkpoint::segment_length, ModelConfig};
/// let cfg = ModelConfig::new(128, 1, 10);
/// assert_eq!(segment_length(&cfg, 196, 64), None);
/// assert_eq!(segment_length(&cfg, 784, 64), Some(28));
/// ```
pub fn segment_length(cfg: &ModelConfig, steps: usize, size: usize) -> Option<usize> {
    if steps < 4 || tape_bytes(cfg, steps, size) <= TAPE_BUDGET {
        return None;
    }
    Some((steps as f64).sqrt().ceil() as usize)
}

/// The noise of steps `k0..k0 + len` of a segment: a part of the stored draw, the
/// continuation of the saved stream states, or none.
fn segment_draw(
    cfg: &ModelConfig,
    noise: &StepNoise,
    saved: Option<&mut Vec<Stream>>,
    k0: usize,
    len: usize,
) -> Option<NoiseDraw> {
    match (noise, saved) {
        (StepNoise::Given(d), _) => Some(d.step_range(k0, len)),
        (_, Some(rngs)) => Some(NoiseDraw::from_streams(
            cfg.noise.form,
            cfg.hidden,
            len,
            rngs,
        )),
        _ => None,
    }
}

/// Logits and exact gradients of a pass over `size` examples (inputs `x`, `p x (K B)`,
/// from `h_0 = 0`) by checkpointed BPTT with segments of `seg` steps, bit-identical to
/// [`fn@forward`] with a kept tape followed by [`super::backward`] on the same draw.
/// `noise` is the pass's noise (fresh streams are consumed); `dlogits_of` turns the
/// logits into `dL/d(logits)`.
///
/// ```
/// use nrnn::model::{backward, checkpoint, forward, Model, ModelConfig, NoiseDraw, NoiseForm,
///                   NoiseSpec, StepNoise};
/// let mut cfg = ModelConfig::new(4, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.3, 1.0, 1.0).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_fn(1, 9 * 2, |_, j| (j % 5) as f64 / 4.0);
/// let d = NoiseDraw::draw(NoiseForm::Diag, 4, 9, 3, &[], &[0, 1]);
/// let t = forward(&m.config, &m.params, &x, 9, 2, Some(&d), None, true);
/// let dl = nalgebra::DMatrix::from_element(2, 2, 0.5);
/// let whole = backward(&m.config, &m.params, &t, &x, Some(&d), &dl, false);
/// let fresh = StepNoise::streams(NoiseForm::Diag, 4, 3, &[], &[0, 1]);
/// let (logits, ck) = checkpoint::gradient(&m.config, &m.params, &x, 9, 2, fresh, 3,
///                                         |_| dl.clone(), false);
/// assert_eq!((logits, ck.grad), (t.logits, whole.grad));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn gradient<T: Real>(
    cfg: &ModelConfig,
    p: &Params<T>,
    x: &DMatrix<f64>,
    steps: usize,
    size: usize,
    mut noise: StepNoise,
    seg: usize,
    dlogits_of: impl FnOnce(&DMatrix<T>) -> DMatrix<T>,
    want_dx: bool,
) -> (DMatrix<T>, Backward<T>) {
    assert!(steps > 0, "checkpoint::gradient: no steps");
    let seg = seg.clamp(1, steps);
    let len_of = |k0: usize| seg.min(steps - k0);
    let x_of = |k0: usize| x.columns(k0 * size, len_of(k0) * size).into_owned();
    // Forward without a tape: the first state and the streams' states of every segment.
    let mut marks: Vec<(usize, DMatrix<T>, Option<Vec<Stream>>)> = Vec::new();
    let mut cur = DMatrix::zeros(cfg.hidden, size);
    let mut logits = DMatrix::zeros(0, 0);
    for k0 in (0..steps).step_by(seg) {
        let (xs, len) = (x_of(k0), len_of(k0));
        let saved = noise.stream_states();
        let tape = match &noise {
            StepNoise::Given(d) => {
                let part = d.step_range(k0, len);
                forward(cfg, p, &xs, len, size, Some(&part), Some(&cur), false)
            }
            _ => {
                let cols = InputColumns::all(&xs, size);
                forward_steps(cfg, p, cols, len, size, &mut noise, Some(&cur), false)
            }
        };
        marks.push((k0, std::mem::replace(&mut cur, tape.h_final), saved));
        logits = tape.logits;
    }
    let dlogits = dlogits_of(&logits);
    let mut sweep = Sweep::new(cfg, p, &cur, &dlogits, steps, noise.is_on());
    // Backward, segment by segment from the last: redraw, rerun with a tape, sweep.
    while let Some((k0, h0, mut saved)) = marks.pop() {
        let len = len_of(k0);
        let draw = segment_draw(cfg, &noise, saved.as_mut(), k0, len);
        let tape = forward(cfg, p, &x_of(k0), len, size, draw.as_ref(), Some(&h0), true);
        sweep.sweep(&tape, k0, draw.as_ref());
    }
    (logits, sweep.finish(x, want_dx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{backward, Activation, Model, NoiseForm, NoiseSpec};

    /// The checkpointed pass gives the whole tape's logits, gradient, `dL/dx` and
    /// `dL/dh_0` bit for bit: every noise form, stored and fresh draws, with and without
    /// the `A h` term and a learnable step, segments that do and do not divide K.
    #[test]
    fn checkpointed_equals_whole_tape() {
        let ids = [4, 9, 2];
        let (n, steps, size) = (7, 11, ids.len());
        let x = DMatrix::from_fn(2, steps * size, |i, j| {
            (i as f64 - 0.5) * ((j % 7) as f64 / 3.0 - 1.0)
        });
        let dl = DMatrix::from_fn(3, size, |i, j| (i as f64 - 1.0) * 0.3 + j as f64 * 0.1);
        for form in [NoiseForm::Diag, NoiseForm::Scalar, NoiseForm::Code] {
            for (act, a_term, learn_dt) in [
                (Activation::Tanh, true, false),
                (Activation::Tanh, true, true),
                (Activation::Relu, false, true),
                (Activation::Identity, false, false),
            ] {
                let mut cfg = ModelConfig::new(n, 2, 3);
                cfg.activation = act;
                cfg.a_term = a_term;
                cfg.learn_dt = learn_dt;
                cfg.noise = NoiseSpec::new(form, 0.4, 1.0, 0.5).unwrap();
                let m = Model::init_scaled(cfg, 0.2, 2.0, 5).unwrap();
                let (c, p) = (&m.config, &m.params);
                let d = NoiseDraw::draw(form, n, steps, 8, &[3], &ids);
                let t = forward(c, p, &x, steps, size, Some(&d), None, true);
                let whole = backward(c, p, &t, &x, Some(&d), &dl, true);
                for seg in [1, 3, 4, 11, 20] {
                    for fresh in [false, true] {
                        let src = if fresh {
                            StepNoise::streams(form, n, 8, &[3], &ids)
                        } else {
                            StepNoise::Given(&d)
                        };
                        let (lg, ck) =
                            gradient(c, p, &x, steps, size, src, seg, |_| dl.clone(), true);
                        let what = format!("{form:?} {act:?} {a_term} {learn_dt} {seg} {fresh}");
                        assert_eq!(lg, t.logits, "{what}");
                        assert_eq!(ck.grad, whole.grad, "{what}");
                        assert_eq!((&ck.dx, &ck.dh0), (&whole.dx, &whole.dh0), "{what}");
                    }
                }
                // Noise off: no draw at all.
                let t0 = forward(c, p, &x, steps, size, None, None, true);
                let w0 = backward(c, p, &t0, &x, None, &dl, false);
                let (_, c0) = gradient(
                    c,
                    p,
                    &x,
                    steps,
                    size,
                    StepNoise::Off,
                    4,
                    |_| dl.clone(),
                    false,
                );
                assert_eq!(c0.grad, w0.grad);
            }
        }
    }

    /// The byte counts: checkpointing at 784 steps keeps about a quarter of the tape, and
    /// the choice follows the budget.
    #[test]
    fn bytes_and_choice() {
        let mut cfg = ModelConfig::new(128, 1, 10);
        cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 1.0).unwrap();
        let whole = tape_bytes(&cfg, 784, 64);
        assert_eq!(whole, 8 * 128 * 64 * (785 + 3 * 784));
        let ck = checkpointed_bytes(&cfg, 784, 64, 28);
        assert!(ck < whole / 3 && ck > 8 * 128 * 64 * 784, "{ck} of {whole}");
        assert_eq!(segment_length(&cfg, 196, 64), None);
        assert_eq!(segment_length(&cfg, 784, 64), Some(28));
    }
}

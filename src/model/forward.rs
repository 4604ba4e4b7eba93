//! The batched forward pass: the one loop over time steps of the network.
//!
//! For a batch of B examples, the hidden states form an `n x B` matrix, so each step is
//! one matrix product `[A; W] H_k` (`2n x n` times `n x B`) plus elementwise work:
//!
//! ```text
//! z_k = W h_k + U x_k + b,   f_k = A h_k + a(z_k)
//! diag:   h_{k+1} = h_k + d f_k + eps sqrt(d) (sigma1 + sigma2 h_k) xi_k
//! scalar: h_{k+1} = h_k + d f_k + eps sqrt(d) (sigma1 xi_k + sigma2 h_k zeta_k)
//! code:   h_{k+1} = h_k + d (1 - s_mult u_k) f_k + s_add xi_k
//! ```
//!
//! The noise terms are [`super::increment`]'s; the drift is the Lipschitz cell's
//! ([`super::cell`]), formed here for a whole batch with two matrix products per step.

use super::increment::Increment;
use super::{ModelConfig, NoiseDraw, Params, StepNoise};
use crate::linalg::{affine, gemm, Real};
use nalgebra::DMatrix;

/// What the forward pass records for backpropagation.
#[derive(Clone, Debug)]
pub struct Tape<T: Real> {
    /// Steps K.
    pub steps: usize,
    /// Batch size B.
    pub size: usize,
    /// Hidden states `h_0 .. h_K`, `n x ((K + 1) B)`, step-major (empty unless kept).
    pub h: DMatrix<T>,
    /// Activations `a(z_k)`, `n x (K B)` (empty unless kept).
    pub act: DMatrix<T>,
    /// Drift values `f_k`, `n x (K B)`, kept only when the step is learnable.
    pub f: Option<DMatrix<T>>,
    /// Final states `h_K`, `n x B`.
    pub h_final: DMatrix<T>,
    /// Logits `V h_K + c`, `classes x B`.
    pub logits: DMatrix<T>,
}

/// Run the network on a batch: `x` is `p x (steps * size)` (step-major batch layout),
/// `noise` the standard draws (`None`: deterministic), `h0` the initial state (`None`: 0).
/// With `keep`, the tape holds every state for [`super::backward`]; without, only `h_K`.
///
/// ```
/// use nrnn::model::{forward, Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 5 * 2, 0.5); // 5 steps, 2 examples
/// let t = forward(&m.config, &m.params, &x, 5, 2, None, None, false);
/// assert_eq!(t.logits.shape(), (2, 2));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Real>(
    cfg: &ModelConfig,
    p: &Params<T>,
    x: &DMatrix<f64>,
    steps: usize,
    size: usize,
    noise: Option<&NoiseDraw>,
    h0: Option<&DMatrix<T>>,
    keep: bool,
) -> Tape<T> {
    let mut src = match noise {
        Some(d) => StepNoise::Given(d),
        None => StepNoise::Off,
    };
    forward_steps(
        cfg,
        p,
        InputColumns::all(x, size),
        steps,
        size,
        &mut src,
        h0,
        keep,
    )
}

/// Where a pass finds its inputs in a larger step-major matrix: step `k` of example `j`
/// is column `k stride + start + j` of `x`.
#[derive(Debug, Clone, Copy)]
pub struct InputColumns<'x> {
    /// The inputs, `p x (steps * stride)`.
    pub x: &'x DMatrix<f64>,
    /// Examples per step in `x`.
    pub stride: usize,
    /// The first example of the pass.
    pub start: usize,
}

impl<'x> InputColumns<'x> {
    /// Every example of `x`, a `p x (steps * size)` step-major batch: `stride = size`,
    /// `start = 0`.
    pub fn all(x: &'x DMatrix<f64>, size: usize) -> Self {
        InputColumns {
            x,
            stride: size,
            start: 0,
        }
    }
}

/// [`forward`] for the examples `start..start + size` of a batch whose inputs are
/// `cols.x` (`stride` examples per step), read in place, with the noise read example by
/// example from `noise`, which may draw it on the fly ([`StepNoise::Streams`]): a
/// forward-only Monte Carlo pass then never stores the draw.
///
/// ```
/// use nrnn::model::{forward, forward_steps, InputColumns, Model, ModelConfig, NoiseDraw,
///                   NoiseForm, NoiseSpec, StepNoise};
/// let mut cfg = ModelConfig::new(3, 1, 2);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 1.0).unwrap();
/// let m = Model::init(cfg, 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 5 * 2, 0.5);
/// let d = NoiseDraw::draw(NoiseForm::Diag, 3, 5, 9, &[], &[0, 1]);
/// let stored = forward(&m.config, &m.params, &x, 5, 2, Some(&d), None, false);
/// let mut fresh = StepNoise::streams(NoiseForm::Diag, 3, 9, &[], &[0, 1]);
/// let cols = InputColumns::all(&x, 2);
/// let t = forward_steps(&m.config, &m.params, cols, 5, 2, &mut fresh, None, false);
/// assert_eq!(t.h_final, stored.h_final);
/// ```
#[allow(clippy::too_many_arguments)]
pub fn forward_steps<T: Real>(
    cfg: &ModelConfig,
    p: &Params<T>,
    cols: InputColumns,
    steps: usize,
    size: usize,
    noise: &mut StepNoise,
    h0: Option<&DMatrix<T>>,
    keep: bool,
) -> Tape<T> {
    let n = cfg.hidden;
    let b = size;
    let kb = steps * b;
    let InputColumns { x, stride, start } = cols;
    assert!(
        x.nrows() == cfg.input && start + size <= stride && x.ncols() == steps * stride,
        "forward: input shape"
    );
    noise
        .check(cfg.noise.form, n, steps, size)
        .expect("forward: noise shape");
    let w = p.w_matrix(cfg);
    let a_mat = if cfg.a_term {
        Some(p.a_matrix(cfg))
    } else {
        None
    };
    let inc = Increment::new(cfg, p, noise.is_on());
    let act_fn = cfg.activation;
    let learn_dt = cfg.learn_dt && keep;
    let empty = || DMatrix::zeros(0, 0);
    let mut h_all = if keep {
        DMatrix::zeros(n, kb + b)
    } else {
        empty()
    };
    // Activations: the tape's block of step k when kept, else one step's buffer (none
    // with the A term: a(z) is then added straight into A h).
    let mut act = if keep {
        DMatrix::zeros(n, kb)
    } else if cfg.a_term {
        empty()
    } else {
        DMatrix::zeros(n, b)
    };
    let mut fs = if learn_dt {
        Some(DMatrix::zeros(n, kb))
    } else {
        None
    };
    let mut cur = match h0 {
        Some(h) => h.clone(),
        None => DMatrix::zeros(n, b),
    };
    if keep {
        h_all.columns_mut(0, b).copy_from(&cur);
    }
    // One step's pre-activation z = W h + U x + b and linear part A h (`n x B` each).
    let mut z = DMatrix::zeros(n, b);
    let mut ya = if cfg.a_term {
        DMatrix::zeros(n, b)
    } else {
        empty()
    };
    let mut next = DMatrix::zeros(n, b);
    // Slices re-cut to length n so the compiler drops bounds checks and vectorizes.
    let dt = &p.dt.as_slice()[..n];
    for k in 0..steps {
        affine(&p.u, &x.columns(k * stride + start, b), &p.b, &mut z);
        gemm(T::one(), &w, false, &cur, false, T::one(), &mut z);
        if let Some(a) = &a_mat {
            gemm(T::one(), a, false, &cur, false, T::zero(), &mut ya);
        }
        let hs = cur.as_slice();
        let out = next.as_mut_slice();
        // The drift f_k = A h_k + a(z_k) of the whole step, flat; the activation over the
        // whole step at once (long vectorized runs), added straight into A h_k when the
        // tape does not keep it.
        let f_k: &[T] = if cfg.a_term && !keep {
            act_fn.add_eval_slice(z.as_slice(), ya.as_mut_slice());
            ya.as_slice()
        } else {
            let act_k = if keep {
                &mut act.as_mut_slice()[k * b * n..(k + 1) * b * n]
            } else {
                act.as_mut_slice()
            };
            act_fn.eval_slice(z.as_slice(), act_k);
            if cfg.a_term {
                for (y, &v) in ya.as_mut_slice().iter_mut().zip(&*act_k) {
                    *y += v;
                }
                ya.as_slice()
            } else {
                act_k
            }
        };
        if let Some(fs) = fs.as_mut() {
            fs.as_mut_slice()[k * b * n..(k + 1) * b * n].copy_from_slice(f_k);
        }
        for j in 0..b {
            let h = &hs[j * n..(j + 1) * n];
            let o = &mut out[j * n..(j + 1) * n];
            let f = &f_k[j * n..(j + 1) * n];
            // The example's draws are made now when fresh, right before the update that
            // reads them (diag form: sixteen at a time, straight from the sampler).
            if !inc.on {
                inc.step(o, h, f, &[], &[], dt);
            } else if let Some(rng) = noise.diag_stream(j) {
                inc.step_diag_streamed(o, h, f, rng, dt);
            } else {
                let (xi, aux) = noise.example(k, j);
                inc.step(o, h, f, xi, aux, dt);
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if keep {
            h_all.columns_mut((k + 1) * b, b).copy_from(&cur);
        }
    }
    if !keep {
        act = empty();
    }
    let logits = readout(p, &cur);
    Tape {
        steps,
        size,
        h: h_all,
        act,
        f: fs,
        h_final: cur,
        logits,
    }
}

/// The readout `V h + c` of hidden states `h` (`n x B`): logits, `classes x B`.
///
/// ```
/// use nrnn::model::{forward::readout, Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let h = nalgebra::DMatrix::from_element(3, 4, 0.5);
/// let o = readout(&m.params, &h);
/// assert_eq!(o.shape(), (2, 4));
/// assert_eq!(o.column(0), o.column(3));
/// ```
pub fn readout<T: Real>(p: &Params<T>, h: &DMatrix<T>) -> DMatrix<T> {
    let mut logits = DMatrix::zeros(p.v.nrows(), h.ncols());
    gemm(T::one(), &p.v, false, h, false, T::zero(), &mut logits);
    for mut col in logits.column_iter_mut() {
        col += &p.c;
    }
    logits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activation, Model, NoiseForm, NoiseSpec};

    /// A pass that keeps its tape and one that does not (the drift formed in place) give
    /// the same final states and logits, bit for bit, for every activation and noise form,
    /// with and without the `A h` term and with a learnable step.
    #[test]
    fn kept_and_unkept_passes_agree() {
        let (n, steps, size) = (5, 7, 3);
        let x = DMatrix::from_fn(2, steps * size, |i, j| {
            ((3 * i + 5 * j) % 11) as f64 / 7.0 - 0.6
        });
        for act in [Activation::Tanh, Activation::Identity, Activation::Relu] {
            for form in [NoiseForm::Diag, NoiseForm::Scalar, NoiseForm::Code] {
                for (a_term, learn_dt) in [(true, false), (false, false), (true, true)] {
                    let mut cfg = ModelConfig::new(n, 2, 3);
                    cfg.activation = act;
                    cfg.a_term = a_term;
                    cfg.learn_dt = learn_dt;
                    cfg.noise = NoiseSpec::new(form, 0.3, 1.0, 0.5).unwrap();
                    let m = Model::init_scaled(cfg, 0.1, 2.0, 4).unwrap();
                    let d = NoiseDraw::draw(form, n, steps, 9, &[], &[0, 1, 2]);
                    let run =
                        |keep| forward(&m.config, &m.params, &x, steps, size, Some(&d), None, keep);
                    let (kept, unkept) = (run(true), run(false));
                    assert_eq!(
                        kept.h_final, unkept.h_final,
                        "{act:?} {form:?} {a_term} {learn_dt}"
                    );
                    assert_eq!(kept.logits, unkept.logits);
                }
            }
        }
    }

    /// Fresh draws taken inside the update (diag form: runs of sixteen, the last one
    /// partial) give the pass of the stored draw, bit for bit, for widths below, at and
    /// above one run; so do the other forms, drawn per example.
    #[test]
    fn fresh_draws_replay_the_stored_draw() {
        let (steps, size) = (6, 5);
        let x = DMatrix::from_fn(1, steps * size, |_, j| (j % 7) as f64 / 3.0 - 1.0);
        for n in [3, 16, 21, 37] {
            for form in [NoiseForm::Diag, NoiseForm::Scalar, NoiseForm::Code] {
                let mut cfg = ModelConfig::new(n, 1, 2);
                cfg.noise = NoiseSpec::new(form, 0.4, 1.0, 0.5).unwrap();
                let m = Model::init_scaled(cfg, 0.2, 1.0, 3).unwrap();
                let ids: Vec<u64> = (20..20 + size as u64).collect();
                let d = NoiseDraw::draw(form, n, steps, 5, &[1], &ids);
                let stored = forward(&m.config, &m.params, &x, steps, size, Some(&d), None, false);
                let mut fresh = StepNoise::streams(form, n, 5, &[1], &ids);
                let cols = InputColumns::all(&x, size);
                let t = forward_steps(
                    &m.config, &m.params, cols, steps, size, &mut fresh, None, false,
                );
                assert_eq!(t.h_final, stored.h_final, "n {n}, {form:?}");
            }
        }
    }
}

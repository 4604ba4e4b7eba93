//! Exact gradients (BPTT with the noise draw held fixed) against central differences,
//! over random small models, every noise form, both smooth activations, fixed and
//! learnable steps, and the gradient with respect to the inputs; the same checks for the
//! baseline cells (LSTM, GRU, coRNN) through the [`Recurrent`] interface, with their
//! hidden-state noise.

mod common;

use common::{
    acts, baseline_case, flat_central_differences, forms, proptest_config, random_config,
    random_target,
};
use nalgebra::DMatrix;
use nrnn::data::Batch;
use nrnn::loss::Loss;
use nrnn::model::{Activation, Model, NoiseDraw, NoiseForm, NoiseSource, NoiseSpec, Recurrent};
use nrnn::prec::{FD_ROUNDOFF_SAFETY, FD_STEP, GRAD_REL_TOL, REL_FLOOR};
use nrnn::rng::stream;
use proptest::prelude::*;
use rand::RngExt;

struct Case {
    model: Model,
    batch: Batch,
    draw: NoiseDraw,
    loss: Loss,
}

/// Recurrent weights of order 1/sqrt(n) (spectral radius about 1): rich dynamics without
/// saturating the softmax, where the loss is flat below the resolution of differences.
fn unit_radius_scale(n: usize) -> f64 {
    (n as f64).sqrt()
}

/// A random case: a model of `n` units on `p` inputs and 3 classes (recurrent weights at
/// `weight_scale`, random `beta`, `gamma_a`, `gamma_w`, noise levels and steps), a batch of
/// `bsz` random examples of `k` steps and a noise draw.
#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    p: usize,
    k: usize,
    bsz: usize,
    form: NoiseForm,
    act: Activation,
    learn_dt: bool,
    a_term: bool,
    regression: bool,
    seed: u64,
    weight_scale: f64,
) -> Case {
    let mut rng = stream(seed, &[1]);
    let classes = 3;
    let mut cfg = random_config(&mut rng, (n, p, classes), act, learn_dt, a_term);
    let eps = rng.random_range(0.05..0.6);
    let s2 = if form == NoiseForm::Code {
        rng.random_range(0.0..1.0)
    } else {
        rng.random_range(0.0..1.5)
    };
    cfg.noise = NoiseSpec::new(form, eps, rng.random_range(0.0..1.5), s2).unwrap();
    let mut model = Model::init_scaled(cfg, 0.1, weight_scale, seed).unwrap();
    for d in model.params.dt.iter_mut() {
        *d = rng.random_range(0.05..0.5);
    }
    let x = DMatrix::from_fn(p, k * bsz, |_, _| rng.random_range(-1.0..1.0));
    let target = random_target(&mut rng, classes, bsz, regression);
    let loss = Loss::for_target(&target);
    let ids: Vec<u64> = (0..bsz as u64).collect();
    let draw = NoiseDraw::draw(form, n, k, seed, &[9], &ids);
    Case {
        model,
        batch: Batch {
            x,
            steps: k,
            size: bsz,
            target,
        },
        draw,
        loss,
    }
}

/// Random classes, or (`regression`) real targets in [-1, 1].
fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

use nrnn::prec::normwise_rel_err as rel_err;

/// Resolution of a central difference of the loss: the loss is computed from logits of size
/// `|o|`, so each evaluation carries a round-off of about `eps_mach (1 + |L| + max|o|)`,
/// which the difference divides by `2 h`. Gradient entries below this cannot be resolved.
fn fd_resolution(loss: f64, logits: &DMatrix<f64>) -> f64 {
    FD_ROUNDOFF_SAFETY * f64::EPSILON * (1.0 + loss.abs() + max_abs(logits.as_slice()))
        / (2.0 * FD_STEP)
}

/// Error of an exact gradient against central differences, relative to the gradient's
/// size, after removing the differences' own round-off resolution.
fn grad_err(g: &[f64], fd: &[f64], resolution: f64) -> f64 {
    let diff: Vec<f64> = g
        .iter()
        .zip(fd)
        .map(|(x, y)| ((x - y).abs() - resolution).max(0.0))
        .collect();
    max_abs(&diff) / max_abs(g).max(max_abs(fd)).max(REL_FLOOR)
}

fn check_params(c: &Case) -> f64 {
    params_error(&c.model, &c.batch, &c.draw, c.loss)
}

fn check_inputs(c: &Case) -> f64 {
    inputs_error(&c.model, &c.batch, &c.draw, c.loss)
}

/// Error of the exact parameter gradient of any cell against central differences in its
/// flat coordinates.
fn params_error<M: Recurrent>(model: &M, batch: &Batch, draw: &NoiseDraw, loss: Loss) -> f64 {
    let src = NoiseSource::Given(draw);
    let lg = model.loss_grad(batch, loss, src, false);
    let g = model.flat_grad(&lg.grad);
    let fd = flat_central_differences(model, |m| m.loss_grad(batch, loss, src, false).loss);
    grad_err(&g, &fd, fd_resolution(lg.loss, &lg.logits))
}

/// Error of the exact input gradient of any cell against central differences.
fn inputs_error<M: Recurrent>(model: &M, batch: &Batch, draw: &NoiseDraw, loss: Loss) -> f64 {
    let src = NoiseSource::Given(draw);
    let lg = model.loss_grad(batch, loss, src, true);
    let dx = lg.dx.unwrap();
    let mut b = batch.clone();
    let mut fd = vec![0.0; dx.len()];
    for (i, fdi) in fd.iter_mut().enumerate() {
        let x0 = batch.x.as_slice()[i];
        b.x.as_mut_slice()[i] = x0 + FD_STEP;
        let lp = model.loss_grad(&b, loss, src, false).loss;
        b.x.as_mut_slice()[i] = x0 - FD_STEP;
        let lm = model.loss_grad(&b, loss, src, false).loss;
        b.x.as_mut_slice()[i] = x0;
        *fdi = (lp - lm) / (2.0 * FD_STEP);
    }
    grad_err(dx.as_slice(), &fd, fd_resolution(lg.loss, &lg.logits))
}

proptest! {
    #![proptest_config(proptest_config(48))]

    #[test]
    fn parameter_gradient_matches_central_differences(
        n in 1usize..=6, p in 1usize..=3, k in 1usize..=12, bsz in 1usize..=3,
        form in forms(), act in acts(), learn_dt in any::<bool>(), a_term in any::<bool>(),
        regression in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let scale = unit_radius_scale(n);
        let c = case(n, p, k, bsz, form, act, learn_dt, a_term, regression, seed, scale);
        let e = check_params(&c);
        prop_assert!(e < GRAD_REL_TOL, "relative error {e:e}");
    }

    #[test]
    fn input_gradient_matches_central_differences(
        n in 1usize..=6, p in 1usize..=3, k in 1usize..=12,
        form in forms(), act in acts(), seed in 0u64..1_000_000,
    ) {
        let scale = unit_radius_scale(n);
        let c = case(n, p, k, 2, form, act, false, true, false, seed, scale);
        let e = check_inputs(&c);
        prop_assert!(e < GRAD_REL_TOL, "relative error {e:e}");
    }
}

proptest! {
    #![proptest_config(proptest_config(48))]

    #[test]
    fn baseline_parameter_gradient_matches_central_differences(
        cell in 0u8..3, n in 1usize..=6, p in 1usize..=3, k in 1usize..=12, bsz in 1usize..=3,
        regression in any::<bool>(), noisy in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let (m, b, d, l) = baseline_case(cell, n, p, k, bsz, regression, noisy, seed);
        let e = params_error(&m, &b, &d, l);
        prop_assert!(e < GRAD_REL_TOL, "{:?}: relative error {e:e}", m.cell);
    }

    #[test]
    fn baseline_input_gradient_matches_central_differences(
        cell in 0u8..3, n in 1usize..=6, p in 1usize..=3, k in 1usize..=12,
        noisy in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let (m, b, d, l) = baseline_case(cell, n, p, k, 2, false, noisy, seed);
        let e = inputs_error(&m, &b, &d, l);
        prop_assert!(e < GRAD_REL_TOL, "{:?}: relative error {e:e}", m.cell);
    }
}

/// Every baseline cell: a batch larger than one parallel chunk gives the gradient of the
/// sum of its examples, and its noise enters and replays bit for bit.
#[test]
fn baseline_chunks_and_noise_replay() {
    for cell in 0..3 {
        let (m, batch, draw, loss) = baseline_case(cell, 4, 2, 6, 70, false, true, 5);
        let src = NoiseSource::Given(&draw);
        let whole = m.loss_grad(&batch, loss, src, false);
        let mut acc = vec![0.0; m.n_flat()];
        let mut total = 0.0;
        for b in 0..70 {
            let d = draw.columns(b, 1);
            let lg = m.loss_grad(&batch.columns(b, 1), loss, NoiseSource::Given(&d), false);
            total += lg.loss / 70.0;
            for (a, g) in acc.iter_mut().zip(&lg.grad) {
                *a += g / 70.0;
            }
        }
        assert!((whole.loss - total).abs() < 1e-12, "{:?}", m.cell);
        assert!(rel_err(&whole.grad, &acc) < 1e-12, "{:?}", m.cell);
        let again = m.loss_grad(&batch, loss, src, false).loss;
        let off = m.loss_grad(&batch, loss, NoiseSource::Off, false).loss;
        assert_eq!(whole.loss.to_bits(), again.to_bits());
        assert_ne!(whole.loss, off, "{:?}: the noise does not enter", m.cell);
    }
}

/// Regression found by proptest: large weights (entries ~ N(0, 0.8^2)) and identity
/// activation make the logits grow to ~390 and the loss ~6e-13; the gradient (~1e-10) is then
/// at the resolution of central differences, and the comparison must account for it.
#[test]
fn saturated_softmax_regression() {
    let c = case(
        6,
        3,
        11,
        2,
        NoiseForm::Diag,
        Activation::Identity,
        false,
        true,
        false,
        393237,
        4.8,
    );
    let e = check_inputs(&c);
    assert!(e < GRAD_REL_TOL, "relative error {e:e}");
    let e = check_params(&c);
    assert!(e < GRAD_REL_TOL, "relative error {e:e}");
}

/// A batch larger than one parallel chunk gives the same gradient as the sum of its parts.
#[test]
fn chunked_batch_equals_sum_of_examples() {
    let c = case(
        5,
        2,
        7,
        70,
        NoiseForm::Diag,
        Activation::Tanh,
        true,
        true,
        false,
        5,
        unit_radius_scale(5),
    );
    let src = NoiseSource::Given(&c.draw);
    let whole = c.model.loss_grad(&c.batch, c.loss, src, false);
    let mut acc = vec![0.0; c.model.n_flat()];
    let mut total = 0.0;
    for b in 0..70 {
        let sub = c.batch.columns(b, 1);
        let d = c.draw.columns(b, 1);
        let lg = c
            .model
            .loss_grad(&sub, c.loss, NoiseSource::Given(&d), false);
        total += lg.loss / 70.0;
        for (a, g) in acc.iter_mut().zip(c.model.flat_grad(&lg.grad)) {
            *a += g / 70.0;
        }
    }
    assert!((whole.loss - total).abs() < 1e-12);
    assert!(rel_err(&c.model.flat_grad(&whole.grad), &acc) < 1e-12);
}

/// Noise really enters: with eps > 0 the noisy loss differs from the deterministic one, and
/// replaying the same draw gives the same value bit for bit.
#[test]
fn noise_draw_replays_exactly() {
    let c = case(
        4,
        1,
        10,
        3,
        NoiseForm::Scalar,
        Activation::Tanh,
        false,
        true,
        false,
        11,
        unit_radius_scale(4),
    );
    let a = c
        .model
        .loss_grad(&c.batch, c.loss, NoiseSource::Given(&c.draw), false)
        .loss;
    let b = c
        .model
        .loss_grad(&c.batch, c.loss, NoiseSource::Given(&c.draw), false)
        .loss;
    let d = c
        .model
        .loss_grad(&c.batch, c.loss, NoiseSource::Off, false)
        .loss;
    assert_eq!(a.to_bits(), b.to_bits());
    assert_ne!(a, d);
}

//! The exact gradient of `Q`, `R` and the explicit objective (the adjoint of
//! `regularizer::gradient`) against central differences of the closed form itself, on random
//! small models of both Ito noise forms, with and without the `A h` term, with learnable
//! per-unit steps, for cross-entropy and squared error.

mod common;

use common::{
    flat_central_differences, proptest_config, regularizer_on_sines, success_json, SmallCase,
};
use nalgebra::DMatrix;
use nrnn::data::{Batch, Target};
use nrnn::loss::Loss;
use nrnn::model::{Activation, Model, NoiseForm, NoiseSource};
use nrnn::prec::{normwise_rel_err, FD_STEP, GRAD_REL_TOL};
use nrnn::regularizer::gradient::{batch_gradient, example_gradient, Weights};
use nrnn::regularizer::{closed_form, Options};
use proptest::prelude::*;

/// The three single terms: `l`, `Q`, `R`.
const TERMS: [(&str, Weights); 3] = [
    (
        "l",
        Weights {
            loss: 1.0,
            q: 0.0,
            r: 0.0,
        },
    ),
    (
        "Q",
        Weights {
            loss: 0.0,
            q: 1.0,
            r: 0.0,
        },
    ),
    (
        "R",
        Weights {
            loss: 0.0,
            q: 0.0,
            r: 1.0,
        },
    ),
];

fn weighted(m: &Model, b: &Batch, loss: Loss, w: Weights) -> f64 {
    let c = closed_form(m, b, 0, loss, Options::default()).unwrap();
    w.loss * c.loss + w.q * c.q + w.r * c.r
}

/// Central differences of `w_l l + w_q Q + w_r R` in the flat coordinates (`log d` for the
/// step), and the exact gradient in the same coordinates.
fn both(m: &Model, b: &Batch, loss: Loss, w: Weights) -> (Vec<f64>, Vec<f64>) {
    let g = example_gradient(m, b, 0, loss, w).unwrap();
    let exact = m.flat_grad(&g.grad);
    let fd = flat_central_differences(m, |mm| weighted(mm, b, loss, w));
    (exact, fd)
}

fn case(
    n: usize,
    k: usize,
    form: NoiseForm,
    act: Activation,
    a_term: bool,
    regression: bool,
    seed: u64,
) -> (Model, Batch, Loss) {
    let sc = SmallCase {
        s1: 0.6,
        s2: 0.8,
        regression,
        varied: Some(a_term),
        ..SmallCase::new(n, k, form, act, 17)
    };
    let (mut m, b, loss) = sc.build(seed);
    m.config.learn_dt = true;
    (m, b, loss)
}

proptest! {
    #![proptest_config(proptest_config(32))]

    /// Every parameter block, each of `l`, `Q`, `R` separately.
    #[test]
    fn gradient_of_q_and_r_matches_central_differences(
        n in 1usize..=4, k in 1usize..=8, scalar in any::<bool>(), tanh in any::<bool>(),
        a_term in any::<bool>(), regression in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let form = if scalar { NoiseForm::Scalar } else { NoiseForm::Diag };
        let act = if tanh { Activation::Tanh } else { Activation::Identity };
        let (m, b, loss) = case(n, k, form, act, a_term, regression, seed);
        for (name, w) in TERMS {
            let (exact, fd) = both(&m, &b, loss, w);
            let e = normwise_rel_err(&exact, &fd);
            prop_assert!(e < GRAD_REL_TOL, "{name}: relative error {e:e}");
        }
    }
}

/// The `l` part is the ordinary loss gradient: the same as BPTT with the noise off.
#[test]
fn loss_part_is_the_noise_off_bptt_gradient() {
    let (m, b, loss) = case(4, 6, NoiseForm::Diag, Activation::Tanh, true, false, 3);
    let g = example_gradient(&m, &b, 0, loss, TERMS[0].1).unwrap();
    let bp = m.loss_grad(&b, loss, NoiseSource::Off, false);
    let e = normwise_rel_err(&m.flat_grad(&g.grad), &m.flat_grad(&bp.grad));
    assert!(e < 1e-12, "relative error {e:e}");
}

/// The batch gradient is the mean of the examples' gradients, and its values are the
/// closed form's.
#[test]
fn batch_gradient_is_the_mean_of_examples() {
    let (m, b1, loss) = case(3, 5, NoiseForm::Scalar, Activation::Tanh, true, false, 5);
    let (_, b2, _) = case(3, 5, NoiseForm::Scalar, Activation::Tanh, true, false, 6);
    let (Target::Classes(y1), Target::Classes(y2)) = (&b1.target, &b2.target) else {
        unreachable!()
    };
    // Two examples, step-major columns (step k of example e is column 2 k + e).
    let b = Batch {
        x: DMatrix::from_fn(2, 10, |i, c| {
            if c % 2 == 0 {
                b1.x[(i, c / 2)]
            } else {
                b2.x[(i, c / 2)]
            }
        }),
        steps: 5,
        size: 2,
        target: Target::Classes(vec![y1[0], y2[0]]),
    };
    let w = Weights::explicit(0.3);
    let g = batch_gradient(&m, &b, loss, w).unwrap();
    let g1 = example_gradient(&m, &b1, 0, loss, w).unwrap();
    let g2 = example_gradient(&m, &b2, 0, loss, w).unwrap();
    let mean: Vec<f64> = m
        .flat_grad(&g1.grad)
        .iter()
        .zip(m.flat_grad(&g2.grad))
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    assert!(normwise_rel_err(&m.flat_grad(&g.grad), &mean) < 1e-14);
    assert!((g.r - 0.5 * (g1.r + g2.r)).abs() <= 1e-14 * g.r);
}

/// The `code` form has no gradient here: a clear error naming the field.
#[test]
fn code_form_is_refused() {
    let (m, b, loss) = case(3, 4, NoiseForm::Code, Activation::Tanh, true, false, 1);
    let err = example_gradient(&m, &b, 0, loss, Weights::REGULARIZER).unwrap_err();
    assert!(err.to_string().contains("noise.form"), "{err}");
}

/// `nrnn regularizer ARGS --json` on the model file `path`, parsed.
fn regularizer_json(path: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let flags = "--examples 3 --paths 0 --ode-substeps 0 --json";
    let mut args: Vec<&str> = flags.split(' ').collect();
    args.extend_from_slice(extra);
    let out = regularizer_on_sines(path, &args);
    success_json(&out)
}

/// `nrnn regularizer --grad` against central differences of `nrnn regularizer` itself, on
/// one entry of every block (model files written with the entry moved by +-h).
#[test]
fn cli_gradient_matches_differences_of_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    for form in [NoiseForm::Diag, NoiseForm::Scalar] {
        let mut cfg = nrnn::model::ModelConfig::new(4, 1, 4);
        cfg.noise = nrnn::model::NoiseSpec::new(form, 0.1, 0.7, 0.9).unwrap();
        cfg.learn_dt = true;
        let model = Model::init_scaled(cfg, 0.2, 1.0, 7).unwrap();
        let path = dir.path().join("m.json");
        model.save(&path).unwrap();
        let g = regularizer_json(&path, &["--grad"]);
        let grad = &g["grad"];
        let mut exact = Vec::new();
        let mut fd = Vec::new();
        for (block, idx) in [
            ("m_a", 1),
            ("m_w", 6),
            ("u", 2),
            ("b", 3),
            ("v", 5),
            ("c", 1),
            ("dt", 2),
        ] {
            let flat: Vec<f64> = match &grad[block] {
                serde_json::Value::Array(a) if a.first().is_some_and(|x| x.is_array()) => a
                    .iter()
                    .flat_map(|r| r.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                    .collect(),
                serde_json::Value::Array(a) => a.iter().map(|x| x.as_f64().unwrap()).collect(),
                v => panic!("{block}: {v}"),
            };
            exact.push(flat[idx]);
            let mut val = [0.0; 2];
            for (s, sign) in [1.0, -1.0].iter().enumerate() {
                let mut m = model.clone();
                let p = &mut m.params;
                // Row-major index of the JSON layout into the column-major matrices.
                let bump = sign * FD_STEP;
                match block {
                    "m_a" => p.m_a[(idx / 4, idx % 4)] += bump,
                    "m_w" => p.m_w[(idx / 4, idx % 4)] += bump,
                    "u" => p.u[(idx, 0)] += bump,
                    "b" => p.b[idx] += bump,
                    "v" => p.v[(idx / 4, idx % 4)] += bump,
                    "c" => p.c[idx] += bump,
                    _ => p.dt[idx] += bump,
                }
                m.save(&path).unwrap();
                val[s] = regularizer_json(&path, &[])["regularizer"]
                    .as_f64()
                    .unwrap();
            }
            fd.push((val[0] - val[1]) / (2.0 * FD_STEP));
        }
        let e = normwise_rel_err(&exact, &fd);
        assert!(
            e < GRAD_REL_TOL,
            "{form:?}: exact {exact:?} vs differences {fd:?}: {e:e}"
        );
    }
}

/// Probes of the probe-estimate tests: enough that the estimates' standard errors are a
/// few percent of Q and R.
const PROBES: usize = 400;

/// Largest |z| allowed over the ~60 entries of a probe gradient, each a Student t with 19
/// degrees of freedom under unbiasedness: `P(|t_19| > 5) = 8e-5`, so the family-wise false
/// alarm rate is about 0.5% (a single-entry threshold of `MC_SIGMAS = 4` would give 5%).
const GRAD_Z_MAX: f64 = 5.0;

/// The probe objective with its probes held fixed is a deterministic function of the
/// parameters: its gradient matches central differences of itself (same probes).
#[test]
fn probe_gradient_matches_central_differences_with_fixed_probes() {
    use nrnn::regularizer::probe::example_probe_gradient;
    for (form, seed) in [(NoiseForm::Diag, 11), (NoiseForm::Scalar, 12)] {
        let (m, b, loss) = case(3, 5, form, Activation::Tanh, true, false, seed);
        let w = Weights {
            loss: 0.5,
            q: 1.0,
            r: 1.0,
        };
        let f = |mm: &Model| {
            let (g, _) = example_probe_gradient(mm, &b, 0, loss, w, 8, 3, &[1], 0).unwrap();
            g.value(w)
        };
        let (g, _) = example_probe_gradient(&m, &b, 0, loss, w, 8, 3, &[1], 0).unwrap();
        let exact = m.flat_grad(&g.grad);
        let fd = flat_central_differences(&m, f);
        let e = normwise_rel_err(&exact, &fd);
        assert!(e < GRAD_REL_TOL, "{form:?}: relative error {e:e}");
    }
}

/// The probe estimates are unbiased: Q^ and R^ agree with the closed form, and the mean of
/// the probe gradient with the exact gradient, within `MC_SIGMAS` standard errors (the
/// gradient's standard error estimated over independent probe sets).
#[test]
fn probe_estimates_agree_with_the_exact_values() {
    use nrnn::prec::MC_SIGMAS;
    use nrnn::regularizer::probe::example_probe_gradient;
    for (form, seed) in [(NoiseForm::Diag, 21), (NoiseForm::Scalar, 22)] {
        let (m, b, loss) = case(3, 6, form, Activation::Tanh, true, false, seed);
        let exact = example_gradient(&m, &b, 0, loss, Weights::REGULARIZER).unwrap();
        let (_, est) =
            example_probe_gradient(&m, &b, 0, loss, Weights::REGULARIZER, PROBES, 5, &[], 0)
                .unwrap();
        for (name, e, want) in [("R", &est.r, exact.r), ("Q", &est.q, exact.q)] {
            assert!(
                (e.mean - want).abs() < MC_SIGMAS * e.stderr,
                "{form:?} {name}: {} ± {} vs {want}",
                e.mean,
                e.stderr
            );
        }
        // 20 independent probe sets of PROBES / 20 probes: mean and standard error per entry.
        let sets = 20;
        let grads: Vec<Vec<f64>> = (0..sets)
            .map(|s| {
                let (g, _) = example_probe_gradient(
                    &m,
                    &b,
                    0,
                    loss,
                    Weights::REGULARIZER,
                    PROBES / sets,
                    5,
                    &[s as u64 + 1],
                    0,
                )
                .unwrap();
                m.flat_grad(&g.grad)
            })
            .collect();
        let want = m.flat_grad(&exact.grad);
        let mut worst: f64 = 0.0;
        for (i, &wi) in want.iter().enumerate() {
            let v: Vec<f64> = grads.iter().map(|g| g[i]).collect();
            let e = nrnn::stats::Estimate::of(&v);
            if e.stderr > 0.0 {
                worst = worst.max((e.mean - wi).abs() / e.stderr);
            }
        }
        // Over ~60 entries the largest |z| of an unbiased estimate exceeds MC_SIGMAS (4)
        // with probability about 60 * 6e-5 (t with 19 degrees of freedom: somewhat more).
        assert!(
            worst < GRAD_Z_MAX,
            "{form:?}: largest |z| of the probe gradient {worst}"
        );
    }
}

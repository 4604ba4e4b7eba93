//! Classification margins (docs/theory.md section 5): score margins, the input Jacobian, the
//! Jacobian lower bound, the certified (global Lipschitz) bound and the attack radius.

use nalgebra::DMatrix;
use nrnn::data::{Batch, Dataset, Target, Task};
use nrnn::margin::{
    example_margin, input_jacobian, lipschitz_constant, margins, AttackOptions, Summary,
};
use nrnn::model::{Activation, Model, ModelConfig, NoiseSource};
use nrnn::prec::{EXACT_REL_TOL, FD_STEP, GRAD_REL_TOL, REL_FLOOR};
use nrnn::rng::stream;
use rand::RngExt;

use nrnn::prec::normwise_rel_err as rel_err;

/// A random model with `c` classes and a data set of `size` sequences: the first half
/// labelled with the model's own prediction (correctly classified, so the attack runs), the
/// second half with random labels.
fn setup(act: Activation, c: usize, size: usize, seed: u64) -> (Model, Dataset) {
    setup_scaled(act, c, size, 1.0, seed)
}

/// As [`setup`] with recurrent weights `M ~ N(0, (scale / n)^2)` entrywise (the paper's
/// initialization has scale 0.1; scale 12 saturates tanh and makes the model strongly
/// nonlinear in its input).
fn setup_scaled(act: Activation, c: usize, size: usize, scale: f64, seed: u64) -> (Model, Dataset) {
    let (n, p, k) = (6, 2, 8);
    let mut rng = stream(seed, &[1]);
    let mut cfg = ModelConfig::new(n, p, c);
    cfg.activation = act;
    cfg.beta = rng.random_range(0.0..1.0);
    let mut model = Model::init_scaled(cfg, 0.2, scale, seed).unwrap();
    model.params.v *= 3.0;
    let x: Vec<f64> = (0..size * k * p)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect();
    let mut d = Dataset {
        name: "random".into(),
        steps: k,
        input_dim: p,
        classes: c,
        task: Task::Classification,
        x,
        labels: vec![0; size],
        targets: vec![],
    };
    let o = model.logits(&d.all(), NoiseSource::Off);
    for e in 0..size {
        d.labels[e] = if e < size / 2 {
            o.column(e).imax()
        } else {
            rng.random_range(0..c)
        };
    }
    (model, d)
}

fn logits_of(model: &Model, x: &[f64], steps: usize) -> Vec<f64> {
    let p = model.config.input;
    let b = Batch {
        x: DMatrix::from_column_slice(p, steps, x),
        steps,
        size: 1,
        target: Target::Classes(vec![0]),
    };
    model.logits(&b, NoiseSource::Off).iter().copied().collect()
}

#[test]
fn jacobian_matches_finite_differences() {
    let (model, d) = setup(Activation::Tanh, 4, 2, 1);
    let x = d.sequence(0);
    let (o, j) = input_jacobian(&model, x, d.steps).unwrap();
    assert!(rel_err(&o, &logits_of(&model, x, d.steps)) <= EXACT_REL_TOL);
    let mut fd = DMatrix::zeros(j.nrows(), j.ncols());
    for t in 0..x.len() {
        let mut xp = x.to_vec();
        let mut xm = x.to_vec();
        xp[t] += FD_STEP;
        xm[t] -= FD_STEP;
        let (op, om) = (
            logits_of(&model, &xp, d.steps),
            logits_of(&model, &xm, d.steps),
        );
        for (r, (a, b)) in op.iter().zip(&om).enumerate() {
            fd[(r, t)] = (a - b) / (2.0 * FD_STEP);
        }
    }
    // Normwise over the whole Jacobian: entries of early steps are tiny (fading memory).
    let e = rel_err(j.as_slice(), fd.as_slice());
    assert!(e <= GRAD_REL_TOL, "relative error {e:.3e}");
}

#[test]
fn adding_a_constant_to_all_logits_changes_nothing() {
    let (model, d) = setup(Activation::Tanh, 3, 10, 2);
    let mut shifted = model.clone();
    shifted.params.c.add_scalar_mut(7.25);
    let opts = AttackOptions::default();
    let a = margins(&model, &d, &opts).unwrap();
    let b = margins(&shifted, &d, &opts).unwrap();
    for (ea, eb) in a.examples.iter().zip(&b.examples) {
        assert_eq!(ea.predicted, eb.predicted);
        // Logits of order 10 shifted by 7.25: differences of logits agree to a few ulps.
        assert!(
            (ea.score_margin - eb.score_margin).abs()
                <= EXACT_REL_TOL * (1.0 + ea.score_margin.abs())
        );
        assert!((ea.jacobian_norm - eb.jacobian_norm).abs() <= EXACT_REL_TOL * ea.jacobian_norm);
        assert!(
            (ea.lower_bound - eb.lower_bound).abs() <= EXACT_REL_TOL * (1.0 + ea.lower_bound.abs())
        );
        match (ea.attack_radius, eb.attack_radius) {
            // The bisection brackets the boundary to a relative width bisection_tol; a
            // round-off decision at the last step can move it by at most that much.
            (Some(ra), Some(rb)) => {
                assert!((ra - rb).abs() <= 2.0 * opts.bisection_tol * ra.max(rb) + 1e-300)
            }
            (None, None) => {}
            other => panic!("attack outcome differs: {other:?}"),
        }
    }
}

#[test]
fn sign_of_score_margin_says_whether_the_prediction_is_right() {
    let (model, d) = setup(Activation::Tanh, 5, 40, 3);
    let r = margins(&model, &d, &AttackOptions::default()).unwrap();
    let o = model.logits(&d.all(), NoiseSource::Off);
    let mut right = 0;
    for (e, m) in r.examples.iter().enumerate() {
        let pred = o.column(e).imax();
        assert_eq!(m.predicted, pred);
        assert_eq!(m.score_margin > 0.0, pred == d.labels[e], "example {e}");
        assert_eq!(m.lower_bound > 0.0, m.score_margin > 0.0);
        right += usize::from(pred == d.labels[e]);
    }
    assert!(
        (20..40).contains(&right),
        "the data set mixes right and wrong predictions"
    );
    let acc = nrnn::loss::accuracy(&o, &d.labels);
    assert!((r.accuracy - acc).abs() < 1e-15);
}

/// Checks every example of a margin report: the certified bound is below the attack
/// radius, `||J(x)|| <= L`, the perturbation flips the class and has the reported norm.
/// Returns the number of examples whose Jacobian lower bound exceeds the attack radius.
fn check_report(model: &Model, d: &Dataset, what: &str, allow_failures: bool) -> usize {
    let r = margins(model, d, &AttackOptions::default()).unwrap();
    let lip = lipschitz_constant(model, d.steps).unwrap();
    let mut violations = 0;
    assert_eq!(
        r.lipschitz,
        Some(lip),
        "{what}: the report's Lipschitz constant"
    );
    for (e, m) in r.examples.iter().enumerate() {
        let radius = m.attack_radius.unwrap_or(f64::INFINITY);
        violations += usize::from(m.lower_bound > radius);
        let certified = m
            .certified_bound
            .expect("a Lipschitz RNN has a certified bound");
        assert!(
            certified <= radius,
            "{what} example {e}: certified bound above the radius"
        );
        // ||J(x)|| <= L for every x, so the certified bound is the smaller one.
        assert!(
            m.jacobian_norm <= lip * (1.0 + EXACT_REL_TOL),
            "{what}: ||J|| > L"
        );
        if m.score_margin > 0.0 {
            assert!(certified <= m.lower_bound * (1.0 + EXACT_REL_TOL));
        }
        let Some(rad) = m.attack_radius else {
            assert!(
                allow_failures && m.score_margin > 0.0,
                "{what} example {e}: the attack failed"
            );
            continue;
        };
        let x = d.sequence(e);
        let xp: Vec<f64> = x.iter().zip(&m.perturbation).map(|(a, b)| a + b).collect();
        let o = logits_of(model, &xp, d.steps);
        let pred = DMatrix::from_column_slice(o.len(), 1, &o).column(0).imax();
        assert_ne!(
            pred, d.labels[e],
            "{what} example {e}: the perturbation does not flip the class"
        );
        assert_eq!(Some(pred), m.flipped_to);
        let norm = m.perturbation.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!((norm - rad).abs() <= EXACT_REL_TOL * rad.max(REL_FLOOR));
        if m.score_margin > 0.0 {
            assert!(rad > 0.0 && rad <= m.deepfool_radius.unwrap() * (1.0 + EXACT_REL_TOL));
        } else {
            assert_eq!(rad, 0.0);
        }
    }
    violations
}

#[test]
fn certified_bound_never_exceeds_attack_radius_and_the_attack_flips_the_class() {
    for (act, scale, seed) in [
        (Activation::Tanh, 0.1, 4),
        (Activation::Tanh, 1.0, 5),
        (Activation::Tanh, 12.0, 6),
        (Activation::Identity, 1.0, 7),
        (Activation::Relu, 1.0, 8),
    ] {
        let (model, d) = setup_scaled(act, 3, 30, scale, seed);
        // ReLU models can have unbounded class regions along DeepFool's direction; the
        // attack may fail there (reported as `attack_failures`), never give a wrong radius.
        check_report(
            &model,
            &d,
            &format!("{act:?} scale {scale}"),
            act == Activation::Relu,
        );
    }
}

#[test]
fn lower_bound_never_exceeds_attack_radius_for_models_linear_in_the_input() {
    // Identity activation: o(x) = M x + const, the exact distance to the class boundary is
    // min_j (o_y - o_j) / ||M_y - M_j|| >= m / (sqrt 2 ||M||_2): a theorem.
    for seed in 10..14 {
        let (model, d) = setup(Activation::Identity, 4, 30, seed);
        assert_eq!(
            check_report(&model, &d, "identity", false),
            0,
            "seed {seed}"
        );
    }
}

#[test]
fn pointwise_estimate_is_not_a_bound_even_at_the_papers_initialization() {
    // At the paper's initialization scale (M ~ N(0, (0.1/n)^2)) the recurrence is weak, but
    // the input drive U x + b is of order one, so tanh is not linear over the attack radii
    // and m / (sqrt 2 ||J(x)||) is still only a first-order estimate. With these fixed
    // seeds it exceeds the attack radius for some examples (seed 4: 14 of 60, by up to 6%
    // when written); each such case is verified by check_report (the perturbation flips
    // the class and has the reported length), and the certified bound holds for all.
    let mut violations = 0;
    for seed in 4..8 {
        let (model, d) = setup_scaled(Activation::Tanh, 3, 60, 0.1, seed);
        violations += check_report(&model, &d, "tanh at init", false);
    }
    assert!(violations > 0, "no example exceeds the pointwise estimate");
}

#[test]
fn jacobian_lower_bound_is_first_order_only_for_a_nonlinear_model() {
    // m / (sqrt 2 ||J(x)||) reads like a lower bound on the input margin but is not one
    // (docs/theory.md section 5, Correction). Sokolic
    // et al. bound the margin with the largest ||J|| over the ball, not ||J(x)|| at the point,
    // so for a model that is nonlinear over the attack radius the pointwise value is only a
    // first-order estimate. A verified counterexample (the perturbation flips the class and is
    // shorter than the "bound"); the certified bound holds (checked by check_report).
    let (model, d) = setup_scaled(Activation::Tanh, 3, 60, 12.0, 7);
    let violations = check_report(&model, &d, "tanh, strongly nonlinear", false);
    assert!(
        violations > 0,
        "expected at least one example with m / (sqrt 2 ||J(x)||) > attack radius"
    );
}

#[test]
fn attack_finds_the_exact_distance_for_a_model_linear_in_its_input() {
    // With the identity activation, o(x) = M x + const: the smallest flipping perturbation
    // has norm min_j (o_y - o_j) / ||M_y - M_j|| (distance to the nearest hyperplane).
    let (model, d) = setup(Activation::Identity, 4, 12, 8);
    let opts = AttackOptions::default();
    for e in 0..6 {
        let x = d.sequence(e);
        let y = d.labels[e];
        let (o, j) = input_jacobian(&model, x, d.steps).unwrap();
        let exact = (0..4)
            .filter(|&k| k != y)
            .map(|k| (o[y] - o[k]) / (j.row(y) - j.row(k)).norm())
            .fold(f64::INFINITY, f64::min);
        let m = example_margin(&model, x, d.steps, y, &opts).unwrap();
        let r = m.attack_radius.unwrap();
        assert!(
            r >= exact * (1.0 - 1e-9),
            "example {e}: radius {r} below the exact distance {exact}"
        );
        assert!(
            r <= exact * (1.0 + 2.0 * opts.bisection_tol),
            "example {e}: radius {r} vs exact {exact}"
        );
        assert!(m.lower_bound <= exact);
    }
}

#[test]
fn summaries_and_errors() {
    let s = Summary::of(&[3.0, f64::INFINITY, 1.0, 2.0]);
    assert_eq!((s.count, s.min, s.median, s.max), (3, 1.0, 2.0, 3.0));
    assert!(Summary::of(&[]).mean.is_nan());
    let (model, d) = setup(Activation::Tanh, 3, 4, 9);
    let mut reg = d.clone();
    reg.task = Task::Regression;
    reg.targets = vec![0.0; 4 * 3];
    reg.labels.clear();
    let err = margins(&model, &reg, &AttackOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("task"), "{err}");
    let err = example_margin(&model, &[0.0; 3], d.steps, 0, &AttackOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains('x') && err.contains("16x1"), "{err}");
    let err = example_margin(&model, d.sequence(0), d.steps, 3, &AttackOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("label"), "{err}");
    let mut bad = d.sequence(0).to_vec();
    bad[2] = f64::NAN;
    let err = example_margin(&model, &bad, d.steps, 0, &AttackOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-finite"), "{err}");
}

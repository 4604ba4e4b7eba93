//! Flat minima tooling (docs/theory.md section 3): exact Hessian-vector products against finite
//! differences and dense Hessians on tiny models; Lanczos, power iteration, Hutchinson and
//! stochastic Lanczos quadrature against matrices with a prescribed spectrum.
//!
//! Statistical checks use fixed seeds and [`MC_SIGMAS`] standard errors (a two-sided 99.994%
//! level for a normal estimator). The long timing check is `#[ignore]`d:
//! `cargo test --release --test hessian -- --ignored --nocapture`.

#![allow(clippy::needless_range_loop)] // index loops mirror the formulas

mod common;

use common::{random_config, random_target};

use nalgebra::{DMatrix, DVector};
use nrnn::data::{Batch, Target};
use nrnn::hessian::{
    analyze, dense, hidden_state_hessian, hutchinson, lanczos, power_iteration, slq,
    HessianOptions, LanczosOptions, LinearOperator, ParamHessian, PowerOptions, SlqOptions,
};
use nrnn::loss::Loss;
use nrnn::model::{Activation, Model, ModelConfig};
use nrnn::prec::{
    DENSITY_MASS_TOL, EIG_REL_TOL, EXACT_REL_TOL, FD_STEP, GRAD_REL_TOL, LANCZOS_RESIDUAL_TOL,
    MC_SIGMAS, REL_FLOOR,
};
use nrnn::rng::{fill_normal, stream};
use rand::RngExt;

use nrnn::prec::normwise_rel_err as rel_err;

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0f64, |m, x| m.max(x.abs()))
}

/// A random orthogonal matrix (Q of a QR of a Gaussian matrix) times `diag(spectrum)` times Q^T.
fn with_spectrum(spectrum: &[f64], seed: u64) -> DMatrix<f64> {
    let n = spectrum.len();
    let mut g = vec![0.0; n * n];
    fill_normal(&mut stream(seed, &[11]), &mut g);
    let q = DMatrix::from_vec(n, n, g).qr().q();
    &q * DMatrix::from_diagonal(&DVector::from_column_slice(spectrum)) * q.transpose()
}

/// Lanczos options for the top `k` eigenvalues: at most `max_iter` steps, residual
/// tolerance [`LANCZOS_RESIDUAL_TOL`], start vector from `seed`.
fn lanczos_opts(k: usize, max_iter: usize, seed: u64) -> LanczosOptions {
    LanczosOptions {
        k,
        max_iter,
        tol: LANCZOS_RESIDUAL_TOL,
        seed,
    }
}

/// Outliers 10, 8, 6.5, 5, 4.2 over a bulk of 75 values spread on [-1, 2].
fn test_spectrum() -> Vec<f64> {
    let mut s = vec![10.0, 8.0, 6.5, 5.0, 4.2];
    s.extend((0..75).map(|i| -1.0 + 3.0 * i as f64 / 74.0));
    s
}

#[test]
fn lanczos_recovers_prescribed_top_eigenvalues() {
    let spec = test_spectrum();
    let a = with_spectrum(&spec, 1);
    let k = 5;
    let e = lanczos(&a, &lanczos_opts(k, 80, 3)).unwrap();
    assert!(
        e.converged,
        "Lanczos did not converge in {} steps",
        e.iterations
    );
    for i in 0..k {
        assert!(
            (e.values[i] - spec[i]).abs() <= EIG_REL_TOL * spec[i].abs(),
            "eigenvalue {i}: {} vs {}",
            e.values[i],
            spec[i]
        );
        // The reported residual bounds the error (Weyl) and is small.
        assert!(e.residuals[i] <= 10.0 * LANCZOS_RESIDUAL_TOL * spec[0]);
        assert!((e.values[i] - spec[i]).abs() <= e.residuals[i] + 1e-13 * spec[0]);
    }
    // One product per step plus one residual check per eigenvalue and per deflated restart
    // (one restart here: it finds nothing above the fifth eigenvalue).
    assert_eq!(e.restarts, 1);
    assert_eq!(e.products, e.iterations + k + e.restarts);
    assert!(e.iterations < 80);
}

#[test]
fn lanczos_handles_negative_and_repeated_eigenvalues_and_full_dimension() {
    // Largest algebraic first, even when the largest magnitude is negative.
    let spec = [3.0, 2.0, 1.0, 0.0, -50.0];
    let a = with_spectrum(&spec, 2);
    let e = lanczos(&a, &lanczos_opts(5, 5, 0)).unwrap();
    for i in 0..5 {
        assert!(
            (e.values[i] - spec[i]).abs() <= EIG_REL_TOL * 50.0,
            "{:?}",
            e.values
        );
    }
    // A repeated eigenvalue: the Krylov space is an invariant subspace of dimension 2;
    // the restart finds the second copy.
    let b = with_spectrum(&[2.0, 2.0, 1.0], 4);
    let e = lanczos(&b, &lanczos_opts(3, 3, 0)).unwrap();
    let want = [2.0, 2.0, 1.0];
    for i in 0..3 {
        assert!(
            (e.values[i] - want[i]).abs() <= EIG_REL_TOL * 2.0,
            "{:?}",
            e.values
        );
    }
}

/// Top `k` of `spectrum` (sorted, largest first) against Lanczos on it in a random rotation.
fn check_multiplicities(spectrum: &[f64], k: usize, rot_seed: u64, seed: u64) {
    let a = with_spectrum(spectrum, rot_seed);
    let mut want = spectrum.to_vec();
    want.sort_by(|a, b| b.total_cmp(a));
    let e = lanczos(&a, &lanczos_opts(k, spectrum.len(), seed)).unwrap();
    assert!(e.converged, "{spectrum:?} k={k}: not converged");
    let scale = max_abs(spectrum);
    for i in 0..k {
        assert!(
            (e.values[i] - want[i]).abs() <= EIG_REL_TOL * scale,
            "{spectrum:?} k={k} seed {seed}: {:?}",
            e.values
        );
        assert!(e.residuals[i] <= 100.0 * LANCZOS_RESIDUAL_TOL * scale);
    }
    // The returned vectors are orthonormal: each copy of a repeated value is its own
    // eigenvector.
    for i in 0..k {
        for j in 0..k {
            let d: f64 = e.vectors[i]
                .iter()
                .zip(&e.vectors[j])
                .map(|(x, y)| x * y)
                .sum();
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((d - want).abs() < 1e-8, "vectors {i}, {j}: {d}");
        }
    }
}

#[test]
fn lanczos_returns_repeated_eigenvalues_with_their_multiplicity() {
    // Multiplicity 3 at the top and 2 at the bottom of the window, 2 in the middle, and a
    // repeated zero below distinct values (the cross-entropy case).
    let spectra: [&[f64]; 4] = [
        &[3.0, 3.0, 3.0, 1.0, 0.0, 0.0],
        &[5.0, 2.0, 2.0, 1.0, -1.0, -2.0, -3.0],
        &[4.0, 2.0, 1.0, 0.5, 0.0, 0.0, 0.0, -0.1, -0.5],
        &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    ];
    for spec in spectra {
        for k in 1..=spec.len() {
            for seed in 0..3 {
                check_multiplicities(spec, k, 21 + seed, seed);
            }
        }
    }
}

/// A hidden-1, 2-class model on one input: 8 parameters, and a cross-entropy Hessian whose
/// zero eigenvalue is repeated (shifting both logits changes nothing).
#[test]
fn lanczos_finds_the_repeated_zero_of_a_cross_entropy_hessian() {
    for seed in 0..4 {
        let mut rng = stream(seed, &[2]);
        let (p, c, steps, size) = (1, 2, 4, 6);
        let cfg = ModelConfig::new(1, p, c);
        let model = Model::init_scaled(cfg, 0.5, 1.0, seed).unwrap();
        let x = DMatrix::from_fn(p, steps * size, |_, _| rng.random_range(-1.0..1.0));
        let batch = Batch {
            x,
            steps,
            size,
            target: Target::Classes((0..size).map(|i| i % c).collect()),
        };
        let op = ParamHessian::new(&model, &batch, Loss::CrossEntropy).unwrap();
        assert_eq!(op.dim(), 8);
        let h = dense(&op);
        let h = (&h + h.transpose()) * 0.5;
        let mut ev: Vec<f64> = h.symmetric_eigenvalues().iter().copied().collect();
        ev.sort_by(|a, b| b.total_cmp(a));
        let scale = max_abs(&ev);
        let zeros = ev.iter().filter(|v| v.abs() <= 1e-12 * scale).count();
        assert!(zeros >= 2, "seed {seed}: dense spectrum {ev:?}");
        for k in [6, 7, 8] {
            let e = lanczos(&op, &lanczos_opts(k, 8, seed)).unwrap();
            assert!(e.converged, "seed {seed}, k {k}");
            for i in 0..k {
                assert!(
                    (e.values[i] - ev[i]).abs() <= EIG_REL_TOL * scale,
                    "seed {seed}, k {k}: {:?} vs dense {:?}",
                    e.values,
                    &ev[..k]
                );
            }
        }
    }
}

#[test]
fn power_iteration_agrees_with_lanczos_within_residuals() {
    let spec = test_spectrum();
    let a = with_spectrum(&spec, 5);
    let p = power_iteration(
        &a,
        &PowerOptions {
            k: 3,
            max_iter: 2000,
            tol: 1e-9,
            seed: 1,
        },
    )
    .unwrap();
    assert!(p.converged);
    for i in 0..3 {
        // The eigenvalue error of a Rayleigh quotient is at most the residual (Weyl).
        assert!(
            (p.values[i] - spec[i]).abs() <= p.residuals[i] + 1e-12,
            "{i}: {} vs {}",
            p.values[i],
            spec[i]
        );
    }
    // Power iteration needs many more products than Lanczos for the same accuracy.
    let l = lanczos(
        &a,
        &LanczosOptions {
            k: 3,
            max_iter: 80,
            tol: 1e-9,
            seed: 1,
        },
    )
    .unwrap();
    assert!(
        l.products < p.products,
        "lanczos {} vs power {}",
        l.products,
        p.products
    );
}

#[test]
fn hutchinson_mean_is_within_standard_errors_of_the_trace() {
    let spec = test_spectrum();
    let a = with_spectrum(&spec, 6);
    let exact: f64 = spec.iter().sum();
    for seed in 0..3 {
        let t = hutchinson(&a, 200, seed).unwrap();
        assert_eq!(t.products, 200);
        assert!(t.stderr > 0.0);
        assert!(
            (t.mean - exact).abs() <= MC_SIGMAS * t.stderr,
            "seed {seed}: {} +- {} vs {exact}",
            t.mean,
            t.stderr
        );
    }
    // A diagonal matrix has zero variance: Rademacher probes give the trace exactly.
    let d = DMatrix::from_diagonal(&DVector::from_column_slice(&spec));
    let t = hutchinson(&d, 2, 0).unwrap();
    assert!((t.mean - exact).abs() <= EXACT_REL_TOL * exact.abs() && t.stderr == 0.0);
    assert!(hutchinson(&d, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("probes"));
}

#[test]
fn slq_density_integrates_to_one_and_matches_moments() {
    let spec = test_spectrum();
    let a = with_spectrum(&spec, 7);
    let n = spec.len() as f64;
    for sigma in [None, Some(0.05), Some(1.0)] {
        let d = slq(
            &a,
            &SlqOptions {
                probes: 12,
                steps: 30,
                sigma,
                ..SlqOptions::new()
            },
        )
        .unwrap();
        assert!(
            (d.integral() - 1.0).abs() <= DENSITY_MASS_TOL,
            "mass {}",
            d.integral()
        );
        for w in &d.weights {
            assert!((w.iter().sum::<f64>() - 1.0).abs() <= EXACT_REL_TOL);
        }
        assert!(d.values.iter().all(|v| v.is_finite() && *v >= 0.0));
        // First moment of the density = tr(A) / N, within the probes' standard error.
        let mean_eig: f64 = spec.iter().sum::<f64>() / n;
        assert!((d.trace.mean / n - mean_eig).abs() <= MC_SIGMAS * d.trace.stderr / n);
    }
    // With as many steps as the dimension the rule is exact: every node is an eigenvalue.
    let small = with_spectrum(&[4.0, 1.0, -2.0], 8);
    let d = slq(
        &small,
        &SlqOptions {
            probes: 3,
            steps: 3,
            ..SlqOptions::new()
        },
    )
    .unwrap();
    for ns in &d.nodes {
        for x in ns {
            assert!(
                [4.0, 1.0, -2.0].iter().any(|e| (x - e).abs() < 1e-9),
                "node {x}"
            );
        }
    }
}

#[test]
fn operators_reject_bad_settings() {
    let a = DMatrix::<f64>::identity(3, 3);
    let err = lanczos(&a, &LanczosOptions::new(4))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lanczos.k") && err.contains("[1, 3]"), "{err}");
    let err = lanczos(
        &a,
        &LanczosOptions {
            tol: 0.0,
            ..LanczosOptions::new(1)
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("lanczos.tol"), "{err}");
    let err = slq(
        &a,
        &SlqOptions {
            steps: 0,
            ..SlqOptions::new()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("density.steps"), "{err}");
}

struct Tiny {
    model: Model,
    batch: Batch,
    loss: Loss,
}

fn tiny(
    act: Activation,
    learn_dt: bool,
    a_term: bool,
    regression: bool,
    size: usize,
    seed: u64,
) -> Tiny {
    let mut rng = stream(seed, &[1]);
    let (n, p, c, k) = (3, 2, 3, 5);
    let cfg = random_config(&mut rng, (n, p, c), act, learn_dt, a_term);
    let mut model = Model::init_scaled(cfg, 0.1, 0.8 * n as f64, seed).unwrap();
    for d in model.params.dt.iter_mut() {
        *d = rng.random_range(0.1..0.5);
    }
    let x = DMatrix::from_fn(p, k * size, |_, _| rng.random_range(-1.0..1.0));
    let target = random_target(&mut rng, c, size, regression);
    let loss = Loss::for_target(&target);
    Tiny {
        model,
        batch: Batch {
            x,
            steps: k,
            size,
            target,
        },
        loss,
    }
}

fn tiny_cases() -> Vec<Tiny> {
    vec![
        tiny(Activation::Tanh, false, true, false, 4, 1),
        tiny(Activation::Tanh, true, true, false, 3, 2),
        tiny(Activation::Tanh, true, false, true, 5, 3),
        tiny(Activation::Identity, false, true, true, 2, 4),
        // More examples than one parallel chunk: the chunk sums must be added correctly.
        tiny(Activation::Tanh, true, true, false, 70, 5),
    ]
}

#[test]
fn hvp_equals_dense_finite_difference_hessian_times_v() {
    for (ci, t) in tiny_cases().into_iter().enumerate() {
        let op = ParamHessian::new(&t.model, &t.batch, t.loss).unwrap();
        let h_fd = op.dense_fd(FD_STEP).unwrap();
        for j in 0..3 {
            let mut v = vec![0.0; op.dim()];
            fill_normal(&mut stream(ci as u64, &[2, j]), &mut v);
            let hv = op.hvp(&v).unwrap();
            let want: Vec<f64> = (&h_fd * DVector::from_column_slice(&v))
                .iter()
                .copied()
                .collect();
            let e = rel_err(&hv, &want);
            assert!(
                e <= GRAD_REL_TOL,
                "case {ci}, vector {j}: relative error {e:.3e}"
            );
            let fd = op.fd_hvp(&v, FD_STEP).unwrap();
            assert!(
                rel_err(&hv, &fd) <= GRAD_REL_TOL,
                "case {ci}: against the directional difference"
            );
        }
        // The dual real part is the gradient.
        let (_, g) = op.loss_grad();
        let (g2, _) = op.grad_and_hvp(&vec![1.0; op.dim()]).unwrap();
        assert!(
            rel_err(&g, &g2) <= EXACT_REL_TOL,
            "case {ci}: gradient from the dual pass"
        );
        // The exact Hessian is symmetric up to round-off.
        let h = dense(&op);
        let asym = rel_err(h.as_slice(), h.transpose().as_slice());
        assert!(asym <= EXACT_REL_TOL, "case {ci}: asymmetry {asym:.3e}");
    }
}

#[test]
fn readout_block_is_softmax_curvature_kron_state_outer_product() {
    // docs/theory.md 3: Hess_{vec V} l = (diag(p) - p p^T) kron hbar hbar^T (vec stacking the
    // rows of V), averaged over examples.
    let t = tiny(Activation::Tanh, false, true, false, 6, 9);
    let op = ParamHessian::new(&t.model, &t.batch, t.loss).unwrap();
    let h = dense(&op);
    let cfg = &t.model.config;
    let (n, c) = (cfg.hidden, cfg.classes);
    let off = 2 * n * n + n * cfg.input + n; // m_a, m_w, u, b precede v
    let hs = t
        .model
        .final_states(&t.batch, nrnn::model::NoiseSource::Off);
    let o = t.model.readout(&hs);
    let mut want = DMatrix::zeros(c * n, c * n);
    for b in 0..t.batch.size {
        let s = Loss::CrossEntropy.hessian_logits(&o.column(b).iter().copied().collect::<Vec<_>>());
        for (i, j, k, l) in itertools(c, n) {
            // vec is column-major: V[i, j] at i + c j.
            want[(i + c * j, k + c * l)] +=
                s[(i, k)] * hs[(j, b)] * hs[(l, b)] / t.batch.size as f64;
        }
    }
    let got = h.view((off, off), (c * n, c * n)).into_owned();
    assert!(rel_err(got.as_slice(), want.as_slice()) <= EXACT_REL_TOL);
}

fn itertools(c: usize, n: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..c).flat_map(move |i| {
        (0..n).flat_map(move |j| (0..c).flat_map(move |k| (0..n).map(move |l| (i, j, k, l))))
    })
}

#[test]
fn top_eigenvalues_match_the_dense_eigendecomposition() {
    for (ci, t) in tiny_cases().into_iter().enumerate() {
        let op = ParamHessian::new(&t.model, &t.batch, t.loss).unwrap();
        let h = dense(&op);
        let h = (&h + h.transpose()) * 0.5;
        let mut ev: Vec<f64> = h.symmetric_eigenvalues().iter().copied().collect();
        ev.sort_by(|a, b| b.total_cmp(a));
        let scale = ev.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let k = 3;
        let e = lanczos(&op, &lanczos_opts(k, op.dim(), 7)).unwrap();
        for i in 0..k {
            let err = (e.values[i] - ev[i]).abs();
            assert!(
                err <= EIG_REL_TOL * scale,
                "case {ci}, eigenvalue {i}: {} vs {} ({err:.2e})",
                e.values[i],
                ev[i]
            );
            assert!(e.residuals[i] <= 100.0 * LANCZOS_RESIDUAL_TOL * scale);
        }
        // Against the finite-difference Hessian: Weyl, |dlambda| <= ||H - H_fd||_2.
        let h_fd = op.dense_fd(FD_STEP).unwrap();
        let gap = (&h - &h_fd).norm();
        assert!(
            gap <= GRAD_REL_TOL * scale.max(REL_FLOOR),
            "case {ci}: ||H - H_fd||_F = {gap:.3e}"
        );
        // Hutchinson's trace is within MC_SIGMAS standard errors of the exact trace.
        let tr = hutchinson(&op, 60, 3).unwrap();
        assert!(
            (tr.mean - h.trace()).abs() <= MC_SIGMAS * tr.stderr + EXACT_REL_TOL * scale,
            "case {ci}: trace"
        );
    }
}

#[test]
fn hidden_state_hessian_is_the_curvature_in_the_final_state() {
    let t = tiny(Activation::Tanh, false, true, false, 7, 12);
    let hh = hidden_state_hessian(&t.model, &t.batch, t.loss).unwrap();
    let m = &t.model;
    let hs = m.final_states(&t.batch, nrnn::model::NoiseSource::Off);
    let Target::Classes(y) = &t.batch.target else {
        unreachable!()
    };
    // Finite differences of grad_h l = V^T (p - e_y), averaged over examples.
    let n = m.config.hidden;
    let grad_h = |h: &DVector<f64>, yb: usize| -> DVector<f64> {
        let o = &m.params.v * h + &m.params.c;
        let mut p = DVector::from_vec(nrnn::loss::softmax(o.as_slice()));
        p[yb] -= 1.0;
        m.params.v.transpose() * p
    };
    let mut fd = DMatrix::zeros(n, n);
    let mut tops = Vec::new();
    for b in 0..t.batch.size {
        let h0: DVector<f64> = hs.column(b).into_owned();
        let mut hb = DMatrix::zeros(n, n);
        for j in 0..n {
            let mut e = DVector::zeros(n);
            e[j] = FD_STEP;
            let col = (grad_h(&(&h0 + &e), y[b]) - grad_h(&(&h0 - &e), y[b])) / (2.0 * FD_STEP);
            hb.column_mut(j).copy_from(&col);
        }
        tops.push(hb.clone().symmetric_eigenvalues().max());
        fd += hb / t.batch.size as f64;
    }
    assert!(rel_err(hh.matrix.as_slice(), fd.as_slice()) <= GRAD_REL_TOL);
    assert!(rel_err(&hh.per_example_top, &tops) <= GRAD_REL_TOL);
    // Positive semi-definite.
    assert!(hh.matrix.clone().symmetric_eigenvalues().min() >= -EXACT_REL_TOL * hh.matrix.norm());
}

#[test]
fn analyze_reports_consistent_numbers() {
    let t = tiny(Activation::Tanh, true, true, false, 10, 13);
    let mut o = HessianOptions::new(2, 8, 5);
    o.power = true;
    o.density = Some(SlqOptions {
        probes: 3,
        steps: 10,
        ..SlqOptions::new()
    });
    let r = analyze(&t.model, &t.batch, t.loss, &o).unwrap();
    assert_eq!(r.top.values.len(), 2);
    assert!(r.top.values[0] >= r.top.values[1]);
    let p = r.power.as_ref().unwrap();
    assert_eq!(
        r.hvp_count,
        r.top.products + p.products + r.trace.products + r.density.as_ref().unwrap().products
    );
    assert!(
        (r.hidden.top.values[0] - r.hidden.exact_top[0]).abs()
            <= EIG_REL_TOL * r.hidden.exact_top[0].abs() + 1e-14
    );
    assert!((r.density.as_ref().unwrap().integral() - 1.0).abs() <= DENSITY_MASS_TOL);
    // Same seed, same numbers (whatever the thread count).
    let r2 = analyze(&t.model, &t.batch, t.loss, &o).unwrap();
    assert_eq!(r.top.values, r2.top.values);
    assert_eq!(r.trace.mean, r2.trace.mean);
    // Bad input is refused with the field named.
    let err = analyze(&t.model, &t.batch, t.loss, &HessianOptions::new(0, 8, 5))
        .unwrap_err()
        .to_string();
    assert!(err.contains("top_k"), "{err}");
    let err = analyze(&t.model, &t.batch, t.loss, &HessianOptions::new(1, 1, 5))
        .unwrap_err()
        .to_string();
    assert!(err.contains("probes"), "{err}");
    let err = ParamHessian::new(&t.model, &t.batch, Loss::CrossEntropy)
        .unwrap()
        .hvp(&[1.0])
        .unwrap_err()
        .to_string();
    assert!(err.contains('v'), "{err}");
}

/// Gross-regression bound on the cost of a product in gradients (the goal is about 3;
/// timings on a shared machine scatter by some tens of percent).
const HVP_COST_CEILING: f64 = 4.5;

#[test]
#[ignore = "timing; run with --ignored --nocapture"]
fn hvp_costs_about_three_gradients() {
    for (hidden, k, size) in [(32, 64, 256), (64, 64, 256), (128, 64, 128)] {
        let model = Model::init(ModelConfig::new(hidden, 1, 10), 0.1, 1).unwrap();
        let mut rng = stream(3, &[1]);
        let x = DMatrix::from_fn(1, k * size, |_, _| rng.random_range(0.0..1.0));
        let batch = Batch {
            x,
            steps: k,
            size,
            target: Target::Classes((0..size).map(|i| i % 10).collect()),
        };
        let op = ParamHessian::new(&model, &batch, Loss::CrossEntropy).unwrap();
        let (tg, th) = op.time_ratio(5);
        println!(
            "hidden {hidden}, {k} steps, {size} examples: gradient {tg:.4} s, Hessian-vector product {th:.4} s, ratio {:.2}",
            th / tg
        );
        // Issue 5 asks for about 3 (three f64 products per dual product); the benchmark
        // `nrnn bench hvp` is the reference, this only catches a gross regression.
        assert!(th / tg < HVP_COST_CEILING, "ratio {}", th / tg);
    }
}
#[test]
fn non_finite_products_are_reported_not_propagated() {
    // An exploding linear network overflows to infinity (and inf - inf = NaN in the
    // products): such products must come back as an error, never as NaN eigenvalues.
    let mut t = tiny(Activation::Identity, false, true, false, 4, 21);
    t.model.params.u *= 1e200;
    t.model.params.m_w *= 1e200;
    let err = analyze(&t.model, &t.batch, t.loss, &HessianOptions::new(1, 4, 0))
        .unwrap_err()
        .to_string();
    assert!(err.contains("non-finite"), "{err}");
}

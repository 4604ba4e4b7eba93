//! Convergence orders of the SDE schemes, measured on common Brownian paths.
//!
//! Every step size of a study runs on the same Brownian path (the finest path coarsened
//! by summing increments), errors are averaged over independent paths (one seeded stream
//! per path index, so results do not depend on the thread count), and the order is the
//! least-squares slope of `ln err` against `ln dt`, asserted within
//! `nrnn::prec::ORDER_TOL` of the declared order. Each order test also checks that the
//! fitted slope is NOT within the tolerance of the wrong order, so the test can fail.
//!
//! Run with `--nocapture` to see the tables of errors, standard errors and slopes.

mod common;

use common::proptest_config;
use nalgebra::{DMatrix, DVector};
use nrnn::model::sde::NetworkSde;
use nrnn::model::{forward, Model, ModelConfig, NoiseDraw, NoiseForm, NoiseSpec};
use nrnn::prec::{normwise_rel_err, EXACT_REL_TOL, MC_SIGMAS, ORDER_TOL};
use nrnn::sde::{
    convergence_order, integrate, BrownianPath, EulerMaruyama, GeometricBrownianMotion, Keep,
    Milstein, NoiseKind, OrnsteinUhlenbeck, Scheme, Sde, StochasticHeun,
};
use proptest::prelude::*;
use rayon::prelude::*;

const SEED: u64 = 0x5DE_0DE5;

/// Mean absolute error and its standard error at each level, and the fitted slope.
struct Study {
    dts: Vec<f64>,
    errs: Vec<f64>,
    ses: Vec<f64>,
    slope: f64,
}

/// Strong errors `E|x_n - X_T|` of `scheme` on `sde` (1-dimensional, one Brownian
/// motion) at each of `levels`, over `paths` Brownian paths drawn with `fine` levels;
/// `reference` gives `X_T` from the path.
#[allow(clippy::too_many_arguments)]
fn strong_study(
    label: &str,
    sde: &(dyn Sde + Sync),
    scheme: &(dyn Scheme + Sync),
    x0: f64,
    horizon: f64,
    levels: &[usize],
    fine: usize,
    paths: u64,
    reference: &(dyn Fn(&BrownianPath) -> f64 + Sync),
) -> Study {
    let x0 = DVector::from_element(1, x0);
    error_study(label, horizon, levels, paths, &|p| {
        let path = BrownianPath::new(horizon, fine, 1, SEED, p).unwrap();
        let exact = reference(&path);
        levels
            .iter()
            .map(|&l| {
                let traj = integrate(sde, scheme, &x0, &path, l, Keep::Final).unwrap();
                (traj.final_state()[0] - exact).abs()
            })
            .collect()
    })
}

/// Mean errors over `paths` paths, `errors(p)` giving path `p`'s error at each of
/// `levels` (step `horizon / 2^level`), with their standard errors and the fitted order.
fn error_study(
    label: &str,
    horizon: f64,
    levels: &[usize],
    paths: u64,
    errors: &(dyn Fn(u64) -> Vec<f64> + Sync),
) -> Study {
    let per_path: Vec<Vec<f64>> = (0..paths).into_par_iter().map(errors).collect();
    // Sequential reduction in path order: independent of the thread count.
    let n = paths as f64;
    let mut errs = vec![0.0; levels.len()];
    let mut sq = vec![0.0; levels.len()];
    for row in &per_path {
        for (i, e) in row.iter().enumerate() {
            errs[i] += e / n;
            sq[i] += e * e / n;
        }
    }
    let ses: Vec<f64> = errs
        .iter()
        .zip(&sq)
        .map(|(m, s)| ((s - m * m).max(0.0) / (n - 1.0)).sqrt())
        .collect();
    let dts: Vec<f64> = levels
        .iter()
        .map(|&l| horizon / (1u64 << l) as f64)
        .collect();
    let slope = convergence_order(&dts, &errs).unwrap();
    println!("{label}: {} paths", paths);
    for i in 0..levels.len() {
        println!(
            "  dt = {:<10.4e} err = {:.4e}  (se {:.1e})",
            dts[i], errs[i], ses[i]
        );
    }
    println!("  fitted slope = {slope:.3}");
    Study {
        dts,
        errs,
        ses,
        slope,
    }
}

fn assert_order(label: &str, study: &Study, declared: f64, wrong: f64) {
    assert!(
        study
            .errs
            .iter()
            .zip(&study.ses)
            .all(|(e, s)| *e > MC_SIGMAS * s),
        "{label}: Monte Carlo error not small against the errors: {:?} vs {:?}",
        study.errs,
        study.ses
    );
    assert!(study.dts.windows(2).all(|w| w[1] < w[0]));
    assert!(
        (study.slope - declared).abs() <= ORDER_TOL,
        "{label}: fitted order {:.3}, declared {declared}, tolerance {ORDER_TOL}",
        study.slope
    );
    assert!(
        (study.slope - wrong).abs() > ORDER_TOL,
        "{label}: fitted order {:.3} does not distinguish {declared} from {wrong}",
        study.slope
    );
}

const GBM: GeometricBrownianMotion = GeometricBrownianMotion {
    mu: 1.5,
    sigma: 1.0,
};
const GBM_LEVELS: [usize; 6] = [5, 6, 7, 8, 9, 10];
const GBM_PATHS: u64 = 4000;

/// Strong errors of `scheme` on [`GBM`] from `x0 = 1` to `T = 1` at [`GBM_LEVELS`], over
/// [`GBM_PATHS`] Brownian paths of 10 levels; `reference` gives `X_T` from the path.
fn gbm_study(
    label: &str,
    scheme: &(dyn Scheme + Sync),
    reference: &(dyn Fn(&BrownianPath) -> f64 + Sync),
) -> Study {
    strong_study(
        label,
        &GBM,
        scheme,
        1.0,
        1.0,
        &GBM_LEVELS,
        10,
        GBM_PATHS,
        reference,
    )
}

#[test]
fn euler_maruyama_strong_order_half_on_gbm() {
    let study = gbm_study(
        "euler-maruyama, GBM (mu 1.5, sigma 1, T 1), strong",
        &EulerMaruyama,
        &|p| GBM.exact(1.0, 1.0, p.value_at_end()[0]),
    );
    let declared = EulerMaruyama.strong_order_for(GBM.noise_kind());
    assert_eq!(declared, 0.5);
    assert_order("euler-maruyama on GBM", &study, declared, 1.0);
}

#[test]
fn milstein_strong_order_one_on_gbm() {
    let study = gbm_study(
        "milstein, GBM (mu 1.5, sigma 1, T 1), strong",
        &Milstein,
        &|p| GBM.exact(1.0, 1.0, p.value_at_end()[0]),
    );
    assert_eq!(Milstein.strong_order(), 1.0);
    assert_order("milstein on GBM", &study, Milstein.strong_order(), 0.5);
}

#[test]
fn stochastic_heun_strong_order_one_on_stratonovich_gbm() {
    // Heun converges to the Stratonovich solution x0 exp(mu t + sigma W_t).
    let study = gbm_study(
        "stochastic-heun, Stratonovich GBM (mu 1.5, sigma 1, T 1), strong",
        &StochasticHeun,
        &|p| GBM.exact_stratonovich(1.0, 1.0, p.value_at_end()[0]),
    );
    let declared = StochasticHeun.strong_order_for(NoiseKind::Scalar);
    assert_order("stochastic-heun on GBM", &study, declared, 0.5);
}

const OU: OrnsteinUhlenbeck = OrnsteinUhlenbeck {
    theta: 2.0,
    mu: 1.0,
    sigma: 1.0,
};
const OU_X0: f64 = 0.0;

#[test]
fn euler_maruyama_strong_order_one_on_additive_ou() {
    // Reference: E[X_T | finest increments] on 2^14 steps (OrnsteinUhlenbeck::solution_on_path),
    // at L2 distance ~ sigma theta 2^-14 / sqrt(24) ~ 2.5e-5 from the exact X_T,
    // far below the errors measured at dt >= 2^-9.
    let study = strong_study(
        "euler-maruyama, OU (theta 2, mu 1, sigma 1, x0 0, T 1), strong",
        &OU,
        &EulerMaruyama,
        OU_X0,
        1.0,
        &[4, 5, 6, 7, 8, 9],
        14,
        4000,
        &|p| OU.solution_on_path(OU_X0, p).unwrap(),
    );
    let declared = EulerMaruyama.strong_order_for(NoiseKind::Additive);
    assert_eq!(declared, 1.0);
    assert_order("euler-maruyama on OU", &study, declared, 0.5);
}

#[test]
fn euler_maruyama_weak_order_one_on_ou_second_moment() {
    // Weak error e(dt) = E x_n^2 - E X_T^2 against the closed form.
    //
    // Estimator (control variate on common random numbers): on each path, the EM iterate
    // x_n and the reference X_ref = E[X_T | finest increments] are computed on the same
    // increments; E x_n^2 = E[x_n^2 - X_ref^2] + E X_ref^2, where E X_ref^2 is known in
    // closed form (X_ref is Gaussian, mean E X_T, variance sigma^2 c^2 h (1 - a^{2N}) / (1 - a^2)).
    // Since x_n - X_ref = O(dt) path by path, the standard error is O(dt / sqrt(paths)),
    // far below the O(dt) bias; the test asserts that (bias > MC_SIGMAS standard errors).
    let (horizon, fine, paths) = (1.0, 12usize, 4000u64);
    let levels = [3usize, 4, 5, 6, 7, 8];
    let x0v = DVector::from_element(1, OU_X0);

    let h = horizon / (1u64 << fine) as f64;
    let a = (-OU.theta * h).exp();
    let c = (1.0 - a) / (OU.theta * h);
    let steps = (1u64 << fine) as i32;
    let var_ref = OU.sigma * OU.sigma * c * c * h * (1.0 - a.powi(2 * steps)) / (1.0 - a * a);
    let m_exact = OU.mean(OU_X0, horizon);
    let ref_second = m_exact * m_exact + var_ref;
    let exact_second = OU.second_moment(OU_X0, horizon);
    assert!((ref_second - exact_second).abs() < 1e-7);

    // per path, per level: (x_n^2, x_n^2 - X_ref^2)
    let per_path: Vec<Vec<(f64, f64)>> = (0..paths)
        .into_par_iter()
        .map(|p| {
            let path = BrownianPath::new(horizon, fine, 1, SEED ^ 0xEE, p).unwrap();
            let xr = OU.solution_on_path(OU_X0, &path).unwrap();
            levels
                .iter()
                .map(|&l| {
                    let x = integrate(&OU, &EulerMaruyama, &x0v, &path, l, Keep::Final)
                        .unwrap()
                        .final_state()[0];
                    (x * x, x * x - xr * xr)
                })
                .collect()
        })
        .collect();

    let n = paths as f64;
    let mean_se = |vals: &mut dyn Iterator<Item = f64>| {
        let (mut s, mut s2) = (0.0, 0.0);
        for v in vals {
            s += v;
            s2 += v * v;
        }
        let m = s / n;
        (m, ((s2 / n - m * m).max(0.0) / (n - 1.0)).sqrt())
    };

    let mut dts = Vec::new();
    let mut weak = Vec::new();
    let mut exact_weak = Vec::new();
    println!(
        "euler-maruyama, OU (theta 2, mu 1, sigma 1, x0 0, T 1), weak error of E X_T^2 = {exact_second:.6}, {paths} paths"
    );
    for (i, &l) in levels.iter().enumerate() {
        let dt = horizon / (1u64 << l) as f64;
        let (m_em, v_em) = OU.euler_maruyama_moments(OU_X0, dt, 1 << l);
        let recursion = m_em * m_em + v_em;
        let (plain, plain_se) = mean_se(&mut per_path.iter().map(|r| r[i].0));
        let (diff, cv_se) = mean_se(&mut per_path.iter().map(|r| r[i].1));
        let cv = diff + ref_second;
        println!(
            "  dt = 2^-{l:<2} weak err = {:.4e} (se {:.1e}); recursion {:.4e}; plain MC E x^2 = {plain:.4} (se {plain_se:.1e}) vs recursion {recursion:.4}",
            cv - exact_second,
            cv_se,
            recursion - exact_second
        );
        // The simulation reproduces the scheme's exact second moment.
        assert!(
            (cv - recursion).abs() <= MC_SIGMAS * cv_se,
            "level {l}: control-variate estimate {cv} vs recursion {recursion}, se {cv_se}"
        );
        assert!(
            (plain - recursion).abs() <= MC_SIGMAS * plain_se,
            "level {l}: plain estimate {plain} vs recursion {recursion}, se {plain_se}"
        );
        // The bias dominates the Monte Carlo error.
        assert!(
            (cv - exact_second).abs() > MC_SIGMAS * cv_se,
            "level {l}: weak error {} not resolved, se {cv_se}",
            cv - exact_second
        );
        dts.push(dt);
        weak.push((cv - exact_second).abs());
        exact_weak.push((recursion - exact_second).abs());
    }
    let slope = convergence_order(&dts, &weak).unwrap();
    let exact_slope = convergence_order(&dts, &exact_weak).unwrap();
    println!("  fitted slope (simulation) = {slope:.3}, (recursion) = {exact_slope:.3}");
    let declared = EulerMaruyama.weak_order();
    assert_eq!(declared, 1.0);
    for (what, s) in [("simulation", slope), ("recursion", exact_slope)] {
        assert!(
            (s - declared).abs() <= ORDER_TOL,
            "weak order ({what}) {s:.3}, declared {declared}"
        );
        assert!((s - 0.5).abs() > ORDER_TOL && (s - 2.0).abs() > ORDER_TOL);
    }
}

#[test]
fn brownian_coarsening_sums_exactly() {
    let (levels, m) = (10usize, 3usize);
    let path = BrownianPath::new(2.0, levels, m, SEED, 17).unwrap();
    let end = path.value_at_end();
    let finest = path.increments(levels).unwrap();
    for l in 0..=levels {
        let inc = path.increments(l).unwrap();
        assert_eq!(inc.shape(), (m, 1 << l));
        assert_eq!(path.dt(l) * (1u64 << l) as f64, 2.0);
        // Every level reaches the same endpoint.
        for j in 0..m {
            let total: f64 = inc.row(j).iter().sum();
            assert!((total - end[j]).abs() < 1e-12, "level {l}, component {j}");
        }
        // Each coarse increment is the sum of its two children at the next level.
        if l < levels {
            let finer = path.increments(l + 1).unwrap();
            for k in 0..(1 << l) {
                for j in 0..m {
                    let s = finer[(j, 2 * k)] + finer[(j, 2 * k + 1)];
                    assert!((inc[(j, k)] - s).abs() < 1e-13);
                }
            }
        }
    }
    // The finest level is stored as drawn; the endpoint is its left-to-right sum.
    let w = path.values(levels).unwrap();
    for j in 0..m {
        assert_eq!(w[(j, 1 << levels)], end[j]);
    }
    // Variance of the finest increments is dt = T / 2^L (3 * 1024 draws, se ~ 2.6%).
    let var: f64 = finest.iter().map(|v| v * v).sum::<f64>() / finest.len() as f64;
    let dt = path.dt(levels);
    assert!((var / dt - 1.0).abs() < MC_SIGMAS * (2.0 / finest.len() as f64).sqrt());
    // Invalid parameters are rejected.
    assert!(path.increments(levels + 1).is_err());
    assert!(BrownianPath::new(0.0, 3, 1, 0, 0).is_err());
    assert!(BrownianPath::new(f64::NAN, 3, 1, 0, 0).is_err());
    assert!(BrownianPath::new(1.0, 3, 0, 0, 0).is_err());
    assert!(BrownianPath::new(1.0, 31, 1, 0, 0).is_err());
    assert!(BrownianPath::new(1.0, 27, 2, 0, 0).is_err());
}

proptest! {
    #![proptest_config(proptest_config(32))]
    #[test]
    fn coarsening_preserves_endpoint(levels in 0usize..9, m in 1usize..4, seed in any::<u64>(), l in 0usize..9) {
        let l = l.min(levels);
        let path = BrownianPath::new(1.5, levels, m, seed, 0).unwrap();
        let inc = path.increments(l).unwrap();
        let end = path.value_at_end();
        for j in 0..m {
            let total: f64 = inc.row(j).iter().sum();
            prop_assert!((total - end[j]).abs() < 1e-12);
        }
    }
}

/// A test SDE given by its shape and two plain functions of `(t, x)`. It overrides none
/// of the trait's derivative methods, so Milstein uses the finite-difference defaults.
struct FnSde {
    dim: usize,
    noise_dim: usize,
    kind: NoiseKind,
    drift: fn(f64, &DVector<f64>, &mut DVector<f64>),
    diffusion: fn(f64, &DVector<f64>, &mut DMatrix<f64>),
}

impl Sde for FnSde {
    fn dim(&self) -> usize {
        self.dim
    }
    fn noise_dim(&self) -> usize {
        self.noise_dim
    }
    fn noise_kind(&self) -> NoiseKind {
        self.kind
    }
    fn drift(&self, t: f64, x: &DVector<f64>, out: &mut DVector<f64>) {
        (self.drift)(t, x, out)
    }
    fn diffusion(&self, t: f64, x: &DVector<f64>, out: &mut DMatrix<f64>) {
        (self.diffusion)(t, x, out)
    }
}

/// `dX = A(X) dW` with a full 2 x 2 state-dependent matrix: general noise.
const GENERAL_NOISE: FnSde = FnSde {
    dim: 2,
    noise_dim: 2,
    kind: NoiseKind::General,
    drift: |_t, x, out| out.copy_from(&(-x)),
    diffusion: |_t, x, out| {
        out[(0, 0)] = 0.1 * x[0];
        out[(0, 1)] = 0.1 * x[1];
        out[(1, 0)] = 0.1 * x[1];
        out[(1, 1)] = 0.1 * x[0];
    },
};

/// Declares scalar noise but has two Brownian motions.
const MISLABELLED: FnSde = FnSde {
    dim: 1,
    noise_dim: 2,
    kind: NoiseKind::Scalar,
    drift: |_t, _x, out| out.fill(0.0),
    diffusion: |_t, _x, out| out.fill(1.0),
};

#[test]
fn unsupported_scheme_or_inconsistent_input_is_an_error() {
    let path2 = BrownianPath::new(1.0, 4, 2, SEED, 0).unwrap();
    let x2 = DVector::from_element(2, 1.0);
    let err = integrate(&GENERAL_NOISE, &Milstein, &x2, &path2, 4, Keep::Final).unwrap_err();
    let msg = err.to_string();
    println!("{msg}");
    assert!(msg.contains("milstein") && msg.contains("general"), "{msg}");
    assert!(matches!(err, nrnn::Error::InvalidParameter { .. }));
    // The schemes that support general noise run.
    for scheme in [&EulerMaruyama as &dyn Scheme, &StochasticHeun] {
        let traj = integrate(&GENERAL_NOISE, scheme, &x2, &path2, 4, Keep::Every).unwrap();
        assert_eq!(traj.states.len(), 17);
        assert_eq!(traj.times.len(), 17);
        assert_eq!(traj.states[0], x2);
    }
    // Kind inconsistent with the shape.
    let path1 = BrownianPath::new(1.0, 4, 1, SEED, 0).unwrap();
    let x1 = DVector::from_element(1, 1.0);
    assert!(integrate(&MISLABELLED, &EulerMaruyama, &x1, &path2, 4, Keep::Final).is_err());
    // Wrong x0 length, path noise dimension, level, non-finite x0.
    assert!(integrate(&GBM, &Milstein, &x2, &path1, 4, Keep::Final).is_err());
    assert!(integrate(&GBM, &Milstein, &x1, &path2, 4, Keep::Final).is_err());
    assert!(integrate(&GBM, &Milstein, &x1, &path1, 5, Keep::Final).is_err());
    let nan = DVector::from_element(1, f64::NAN);
    assert!(integrate(&GBM, &Milstein, &nan, &path1, 4, Keep::Final).is_err());
    assert!(integrate(&GBM, &Milstein, &x1, &path1, 4, Keep::Final).is_ok());
    // A blow-up is reported, not returned as a state.
    let wild = GeometricBrownianMotion::new(1e200, 0.0).unwrap();
    // one step of size 1: 1 + 1e200, finite; 16 steps overflow.
    assert!(integrate(&wild, &EulerMaruyama, &x1, &path1, 0, Keep::Final).is_ok());
    let err = integrate(&wild, &EulerMaruyama, &x1, &path1, 4, Keep::Final).unwrap_err();
    assert!(matches!(err, nrnn::Error::NonFinite { .. }), "{err}");
    assert!(err.to_string().contains("euler-maruyama"));
}

/// GBM without the derivative overrides: Milstein must use the finite-difference defaults.
const PLAIN_GBM: FnSde = FnSde {
    dim: 1,
    noise_dim: 1,
    kind: NoiseKind::Scalar,
    drift: |t, x, out| GBM.drift(t, x, out),
    diffusion: |t, x, out| GBM.diffusion(t, x, out),
};

/// `dX_i = -X_i dt + s_i sin(X_i) dW_i`: diagonal noise with a nonlinear diffusion.
const DIAG_SIN: FnSde = FnSde {
    dim: 3,
    noise_dim: 3,
    kind: NoiseKind::Diagonal,
    drift: |_t, x, out| out.copy_from(&(-x)),
    diffusion: |_t, x, out| {
        out.fill(0.0);
        for i in 0..3 {
            out[(i, i)] = (0.5 + i as f64) * x[i].sin();
        }
    },
};

#[test]
fn finite_difference_derivatives_match_exact_ones() {
    let path = BrownianPath::new(1.0, 8, 1, SEED, 3).unwrap();
    let x0 = DVector::from_element(1, 1.0);
    let exact = integrate(&GBM, &Milstein, &x0, &path, 8, Keep::Final).unwrap();
    let fd = integrate(&PLAIN_GBM, &Milstein, &x0, &path, 8, Keep::Final).unwrap();
    let (a, b) = (exact.final_state()[0], fd.final_state()[0]);
    assert!((a - b).abs() <= 1e-7 * a.abs().max(1.0), "{a} vs {b}");

    let x = DVector::from_vec(vec![0.3, -1.2, 2.5]);
    let mut dg = DVector::zeros(3);
    DIAG_SIN.diffusion_diag_derivative(0.0, &x, &mut dg);
    for i in 0..3 {
        let want = (0.5 + i as f64) * x[i].cos();
        assert!((dg[i] - want).abs() < 1e-8, "{i}: {} vs {want}", dg[i]);
    }
    let path3 = BrownianPath::new(1.0, 6, 3, SEED, 4).unwrap();
    let traj = integrate(&DIAG_SIN, &Milstein, &x, &path3, 6, Keep::Final).unwrap();
    assert!(traj.final_state().iter().all(|v| v.is_finite()));
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let run = |threads: usize| -> Vec<f64> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            (0..64u64)
                .into_par_iter()
                .map(|p| {
                    let path = BrownianPath::new(1.0, 6, 1, SEED, p).unwrap();
                    let x0 = DVector::from_element(1, 1.0);
                    integrate(&GBM, &Milstein, &x0, &path, 6, Keep::Final)
                        .unwrap()
                        .final_state()[0]
                })
                .collect()
        })
    };
    assert_eq!(run(1), run(2));
}

// ---------------------------------------------------------------------------------------
// The network itself as an SDE (`nrnn::model::sde::NetworkSde`).

/// Input steps of the network studies (a power of 2, so every dyadic grid with a step of at
/// most one input step puts the input's jumps on grid points).
const NET_STEPS: usize = 8;

/// A small network with per-unit steps, noise `form` at levels `sigma1`, `sigma2`, and a
/// fixed input sequence (`p x NET_STEPS`).
fn network(form: NoiseForm, sigma1: f64, sigma2: f64) -> (Model, DMatrix<f64>) {
    let mut cfg = ModelConfig::new(4, 2, 3);
    cfg.noise = NoiseSpec::new(form, 0.5, sigma1, sigma2).unwrap();
    let mut m = Model::init_scaled(cfg, 0.3, 2.0, 11).unwrap();
    for (i, d) in m.params.dt.iter_mut().enumerate() {
        *d = 0.2 + 0.1 * i as f64;
    }
    let x = DMatrix::from_fn(2, NET_STEPS, |i, k| {
        ((3 * i + 5 * k) % 7) as f64 / 3.0 - 1.0
    });
    (m, x)
}

#[test]
fn network_euler_maruyama_with_unit_steps_is_the_forward_pass() {
    // Euler-Maruyama at ds = 1 on the increments dW_k = xi_k is the network's own step:
    // the two final states agree to rounding (they are computed in different orders).
    for form in [NoiseForm::Diag, NoiseForm::Scalar] {
        let (m, x) = network(form, 1.0, 0.8);
        let sde = NetworkSde::new(&m, &x).unwrap();
        let n = m.config.hidden;
        let levels = NET_STEPS.trailing_zeros() as usize;
        let path = BrownianPath::new(sde.horizon(), levels, sde.noise_dim(), SEED, 3).unwrap();
        let traj = integrate(
            &sde,
            &EulerMaruyama,
            &DVector::zeros(n),
            &path,
            levels,
            Keep::Final,
        )
        .unwrap();
        let dw = path.increments(levels).unwrap();
        let draw = NoiseDraw {
            steps: NET_STEPS,
            size: 1,
            xi: dw.rows(0, n).into_owned(),
            aux: dw.rows(n, dw.nrows() - n).into_owned(),
        };
        let tape = forward(
            &m.config,
            &m.params,
            &x,
            NET_STEPS,
            1,
            Some(&draw),
            None,
            false,
        );
        let err = normwise_rel_err(traj.final_state().as_slice(), tape.h_final.as_slice());
        assert!(err < EXACT_REL_TOL, "{form:?}: relative difference {err:e}");
        // And the noise matters: the deterministic pass is far away.
        let det = forward(&m.config, &m.params, &x, NET_STEPS, 1, None, None, false);
        assert!(normwise_rel_err(det.h_final.as_slice(), tape.h_final.as_slice()) > 1e-3);
    }
}

#[test]
fn network_code_form_is_not_an_sde() {
    let (m, x) = network(NoiseForm::Code, 1.0, 0.5);
    let err = NetworkSde::new(&m, &x).unwrap_err().to_string();
    assert!(err.contains("noise.form") && err.contains("Ito"), "{err}");
}

/// Strong errors of `scheme` on the network against the same scheme at level `fine` on
/// the same Brownian path (self-convergence; the reference's own error is `2^-(fine - l)`
/// smaller in order-1 units, which biases the slope by less than the tolerance).
fn network_strong_study(
    label: &str,
    sde: &NetworkSde,
    scheme: &(dyn Scheme + Sync),
    levels: &[usize],
    fine: usize,
    paths: u64,
) -> Study {
    let h0 = DVector::zeros(sde.dim());
    let horizon = sde.horizon();
    error_study(label, horizon, levels, paths, &|p| {
        let path = BrownianPath::new(horizon, fine, sde.noise_dim(), SEED ^ 0x4E7, p).unwrap();
        let run = |l| integrate(sde, scheme, &h0, &path, l, Keep::Final).unwrap();
        let reference = run(fine);
        levels
            .iter()
            .map(|&l| (run(l).final_state() - reference.final_state()).norm())
            .collect()
    })
}

/// Levels of the network studies: steps of 1/2 to 1/32 input step; reference 1/256.
const NET_LEVELS: [usize; 5] = [4, 5, 6, 7, 8];
const NET_FINE: usize = 11;
const NET_PATHS: u64 = 400;

#[test]
fn network_euler_maruyama_strong_order_half_with_multiplicative_noise() {
    // The error is c1 dt^(1/2) + c2 dt: the order-1/2 part must dominate on the levels
    // measured, so the multiplicative level is larger and the steps finer than above.
    for form in [NoiseForm::Diag, NoiseForm::Scalar] {
        let (m, x) = network(form, 0.5, 3.0);
        let sde = NetworkSde::new(&m, &x).unwrap();
        let label = format!("euler-maruyama on the network, {form:?} noise");
        let levels = NET_LEVELS.map(|l| l + 2);
        let study = network_strong_study(
            &label,
            &sde,
            &EulerMaruyama,
            &levels,
            NET_FINE + 2,
            NET_PATHS,
        );
        assert_order(&label, &study, EulerMaruyama.strong_order(), 1.0);
    }
}

#[test]
fn network_milstein_strong_order_one_with_diagonal_noise() {
    let (m, x) = network(NoiseForm::Diag, 0.5, 1.5);
    let sde = NetworkSde::new(&m, &x).unwrap();
    assert_eq!(sde.noise_kind(), NoiseKind::Diagonal);
    let label = "milstein on the network, diag noise";
    let study = network_strong_study(label, &sde, &Milstein, &NET_LEVELS, NET_FINE, NET_PATHS);
    assert_order(label, &study, Milstein.strong_order(), 0.5);
}

#[test]
fn network_euler_maruyama_strong_order_one_with_additive_noise() {
    let (m, x) = network(NoiseForm::Diag, 1.0, 0.0);
    let sde = NetworkSde::new(&m, &x).unwrap();
    assert_eq!(sde.noise_kind(), NoiseKind::Additive);
    let label = "euler-maruyama on the network, additive noise";
    let study = network_strong_study(
        label,
        &sde,
        &EulerMaruyama,
        &NET_LEVELS,
        NET_FINE,
        NET_PATHS,
    );
    let declared = EulerMaruyama.strong_order_for(NoiseKind::Additive);
    assert_order(label, &study, declared, 0.5);
}

//! Lyapunov exponents on systems whose exponents are known exactly (docs/theory.md section 4).
//!
//! - scalar geometric Brownian motion: a.s. exponent `lambda - s^2/2`, mean-square
//!   exponent `2 lambda + s^2`, with the Euler-Maruyama bias expanded in `d`;
//! - linear deterministic maps `I + d A`: the spectrum is `log|eig(I + d A)| / d`, and
//!   tends to `Re eig(A)` as `d -> 0`;
//! - `A = mu I, W = 0` with either noise form: every exponent is `mu - eps^2 sigma2^2 / 2`;
//! - additive noise leaves the dynamics of `h - h'` of a linear network unchanged;
//! - the network's noisy step replays `model::forward`.
//!
//! Statistical checks fix their seeds and use `LYAP_SIGMAS = 3` standard errors (99.73%
//! two-sided for a normal estimator). All run in a few seconds.

use nalgebra::DMatrix;
use nrnn::dynamics::lyapunov::{gbm_em_exponent_terms, gbm_em_mean_square_exponent, TAG_NOISE};
use nrnn::dynamics::tangent::{StepNoise, Work};
use nrnn::dynamics::{
    mean_square_exponent, pair_separation, spectrum, Dynamics, LyapunovOptions, PairOptions,
};
use nrnn::model::{forward, Activation, Model, ModelConfig, NoiseDraw, NoiseForm, NoiseSpec};
use nrnn::prec::{EM_BIAS_FACTOR, LYAP_ROUND_TOL, LYAP_SIGMAS};
use nrnn::rng::stream;

/// A model whose drift is exactly `A h` (beta = 1/2, M_A = A, gamma_A = 0; W = 0, b = 0).
fn linear_model(a: DMatrix<f64>, d: f64, noise: NoiseSpec) -> Model {
    let n = a.nrows();
    let mut cfg = ModelConfig::new(n, 1, 1);
    cfg.beta = 0.5;
    cfg.gamma_a = 0.0;
    cfg.gamma_w = 0.0;
    cfg.noise = noise;
    let mut m = Model::init(cfg, d, 0).unwrap();
    m.params.m_a = a;
    m.params.m_w.fill(0.0);
    m.params.b.fill(0.0);
    assert!((m.params.a_matrix(&m.config) - &m.params.m_a).amax() < 1e-14);
    m
}

fn opts(k: usize, steps: usize, transient: usize, paths: usize, seed: u64) -> LyapunovOptions {
    LyapunovOptions {
        transient,
        paths,
        seed,
        ..LyapunovOptions::new(k, steps)
    }
}

#[test]
fn gbm_almost_sure_exponent() {
    // dh = lambda h dt + s h dbeta; Euler-Maruyama exponent c0 + c1 d + c2 d^2 + ...
    let (lambda, s, d) = (-0.5, 1.0, 0.01);
    let [c0, c1, c2] = gbm_em_exponent_terms(lambda, s);
    for form in [NoiseForm::Scalar, NoiseForm::Diag] {
        let noise = NoiseSpec::new(form, 1.0, 0.0, s).unwrap();
        let m = linear_model(DMatrix::from_element(1, 1, lambda), d, noise);
        let sys = Dynamics::new(&m, None, noise).unwrap();
        let est = spectrum(&sys, &opts(1, 20_000, 100, 32, 11)).unwrap();
        let (mean, se) = (est.exponents[0], est.stderr[0]);
        eprintln!(
            "GBM {form:?}: measured {mean:.5} +- {se:.5}, SDE {c0}, corrected {:.5}",
            c0 + c1 * d
        );
        // The SDE's exponent, allowing the O(d) bias ...
        let tol0 = LYAP_SIGMAS * se + (c1 * d).abs() + EM_BIAS_FACTOR * (c2 * d * d).abs();
        assert!(
            (mean - c0).abs() <= tol0,
            "{form:?}: {mean} vs {c0} +- {tol0}"
        );
        // ... and the bias-corrected value, allowing only the O(d^2) remainder.
        let tol1 = LYAP_SIGMAS * se + EM_BIAS_FACTOR * (c2 * d * d).abs();
        assert!(
            (mean - (c0 + c1 * d)).abs() <= tol1,
            "{form:?}: {mean} vs {} +- {tol1}",
            c0 + c1 * d
        );
        // The test can fail: the SE is small enough to see the Ito correction many times over.
        assert!(LYAP_SIGMAS * se < 0.1 * s * s / 2.0, "se {se}");
    }
}

#[test]
fn gbm_mean_square_exponent() {
    // Noise never helps in mean square: lambda - s^2/2 < 0 < 2 lambda + s^2.
    let (lambda, s, d) = (0.1, 0.7, 0.01);
    let noise = NoiseSpec::new(NoiseForm::Scalar, 1.0, 0.0, s).unwrap();
    let m = linear_model(DMatrix::from_element(1, 1, lambda), d, noise);
    let sys = Dynamics::new(&m, None, noise).unwrap();
    let est = mean_square_exponent(&sys, 100, 10_000, 5).unwrap();
    let se = est.stderr.unwrap();
    let cont = 2.0 * lambda + s * s;
    let disc = gbm_em_mean_square_exponent(lambda, s, d);
    eprintln!(
        "GBM mean square: measured {:.5} +- {se:.5}, SDE {cont}, Euler {disc:.5}",
        est.mean
    );
    let bias = disc - cont;
    // O(d) bias: d (lambda^2 - (2 lambda + s^2)^2 / 2) + O(d^2).
    let c1 = lambda * lambda - cont * cont / 2.0;
    assert!(
        (bias - c1 * d).abs() <= EM_BIAS_FACTOR * (c1 * d).abs(),
        "bias {bias} vs {}",
        c1 * d
    );
    // log of a mean: Jensen bias ~ -se^2 t / 2, negligible next to se (t = 1).
    assert!(
        (est.mean - cont).abs() <= LYAP_SIGMAS * se + bias.abs(),
        "{} vs {cont} (se {se})",
        est.mean
    );
    assert!(
        (est.mean - disc).abs() <= LYAP_SIGMAS * se,
        "{} vs {disc} (se {se})",
        est.mean
    );
    assert!(LYAP_SIGMAS * se < 0.2, "se {se}");
    // The a.s. exponent of the same system is negative.
    assert!(lambda - s * s / 2.0 < 0.0 && est.mean > 0.0);
}

/// `A = V B V^{-1}` with `B` block diagonal: real eigenvalues and rotation-scaling blocks.
fn nonnormal(blocks: &[(f64, f64)], seed: u64) -> (DMatrix<f64>, Vec<(f64, f64)>, f64) {
    let n: usize = blocks
        .iter()
        .map(|&(_, b)| if b == 0.0 { 1 } else { 2 })
        .sum();
    let mut b = DMatrix::zeros(n, n);
    let mut eig = Vec::new();
    let mut i = 0;
    for &(re, im) in blocks {
        if im == 0.0 {
            b[(i, i)] = re;
            eig.push((re, 0.0));
            i += 1;
        } else {
            b[(i, i)] = re;
            b[(i + 1, i + 1)] = re;
            b[(i, i + 1)] = im;
            b[(i + 1, i)] = -im;
            eig.push((re, im));
            eig.push((re, -im));
            i += 2;
        }
    }
    let mut g = DMatrix::zeros(n, n);
    nrnn::rng::fill_normal(&mut stream(seed, &[1]), g.as_mut_slice());
    let v = DMatrix::identity(n, n) + g * 0.25;
    let sv = v.clone().svd(false, false).singular_values;
    let cond = sv.max() / sv.min();
    let a = &v * b * v.clone().try_inverse().unwrap();
    (a, eig, cond)
}

#[test]
fn linear_map_spectrum() {
    let blocks = [(0.4, 0.0), (-0.3, 2.0), (-1.0, 0.0), (-2.0, 0.0)];
    let (a, eig, cond) = nonnormal(&blocks, 3);
    let n = a.nrows();
    for d in [0.02, 0.005] {
        let m = linear_model(a.clone(), d, NoiseSpec::off());
        let sys = Dynamics::new(&m, None, NoiseSpec::off()).unwrap();
        let t = 400.0;
        let steps = (t / d) as usize;
        let est = spectrum(&sys, &opts(n, steps, steps / 8, 1, 2)).unwrap();
        // Exact exponents of the map, sorted.
        let mut want: Vec<f64> = eig
            .iter()
            .map(|&(re, im)| ((1.0 + d * re).powi(2) + (d * im).powi(2)).sqrt().ln() / d)
            .collect();
        want.sort_by(|x, y| y.total_cmp(x));
        let mut cont: Vec<(f64, f64)> = eig.clone();
        cont.sort_by(|x, y| y.0.total_cmp(&x.0));
        eprintln!(
            "d {d}: cond(V) {cond:.3}, measured {:?}, exact {want:?}",
            est.exponents
        );
        for i in 0..n {
            // After the transient Q spans the Oseledets subspaces; the growth of the volume
            // of its first j columns is N sum_{i<=j} log|mu_i| up to +- j log cond(V), so the
            // i-th exponent (a difference of two sums) is within (2i - 1) log cond(V) / t.
            let tol = (2 * i + 1) as f64 * cond.ln() / t + LYAP_ROUND_TOL;
            assert!(
                (est.exponents[i] - want[i]).abs() <= tol,
                "d {d}, i {i}: {} vs {} +- {tol}",
                est.exponents[i],
                want[i]
            );
            // Continuous limit: |log|1 + z| - Re z| <= |z|^2/2 + |z|^3 / (3 (1 - |z|)), z = d lambda.
            let (re, im) = cont[i];
            let z = d * (re * re + im * im).sqrt();
            let lim = (z * z / 2.0 + z.powi(3) / (3.0 * (1.0 - z))) / d;
            assert!(
                (est.exponents[i] - re).abs() <= tol + lim,
                "d {d}, i {i}: {} vs Re {re}",
                est.exponents[i]
            );
        }
        // The bias towards the continuous limit is visible at d = 0.02 and shrinks with d.
        if d == 0.02 {
            assert!((want[1] - cont[1].0).abs() > 3.0 * (3.0 * cond.ln() / t));
        }
    }
}

#[test]
fn scaled_identity_with_noise() {
    // A = mu I, W = 0: every unit is a geometric Brownian motion; all exponents equal
    // mu - s^2/2 (+ the GBM Euler bias), s = eps sigma2, for both noise forms.
    let (mu, s, d, n) = (0.5, 1.2, 0.01, 4);
    let [c0, c1, c2] = gbm_em_exponent_terms(mu, s);
    let center = c0 + c1 * d;
    let rem = EM_BIAS_FACTOR * (c2 * d * d).abs();
    for form in [NoiseForm::Scalar, NoiseForm::Diag] {
        let noise = NoiseSpec::new(form, 0.5, 0.3, s / 0.5).unwrap();
        let m = linear_model(DMatrix::identity(n, n) * mu, d, noise);
        let sys = Dynamics::new(&m, None, noise).unwrap();
        let (steps, paths) = (20_000, 16);
        let est = spectrum(&sys, &opts(n, steps, 200, paths, 7)).unwrap();
        // The sum of the spectrum is the volume growth: an unbiased mean over paths.
        let sums: Vec<f64> = est
            .per_path
            .iter()
            .map(|p| p.iter().sum::<f64>() / n as f64)
            .collect();
        let mean = sums.iter().sum::<f64>() / paths as f64;
        let sd = (sums.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (paths - 1) as f64).sqrt();
        let se = sd / (paths as f64).sqrt();
        eprintln!("mu I {form:?}: mean exponent {mean:.5} +- {se:.5}, top {:.5} +- {:.5}, center {center:.5}", est.exponents[0], est.stderr[0]);
        assert!(
            (mean - center).abs() <= LYAP_SIGMAS * se + rem,
            "{form:?}: mean exponent {mean} vs {center} (se {se})"
        );
        let t = steps as f64 * d;
        match form {
            NoiseForm::Scalar => {
                // The tangent map is a multiple of I: all exponents are equal, path by path.
                for p in &est.per_path {
                    assert!(p.iter().all(|x| (x - p[0]).abs() < LYAP_ROUND_TOL), "{p:?}");
                }
                let tol = LYAP_SIGMAS * est.stderr[0] + rem;
                assert!(
                    (est.exponents[0] - center).abs() <= tol,
                    "top {} vs {center}",
                    est.exponents[0]
                );
            }
            _ => {
                // Finite time: the top exponent is close to the largest of n independent
                // per-unit exponents, each N(center, s^2/t): E max <= center + s sqrt(2 ln n / t).
                let up = center
                    + s * (2.0 * (n as f64).ln() / t).sqrt()
                    + LYAP_SIGMAS * est.stderr[0]
                    + rem;
                assert!(
                    est.exponents[0] <= up && est.exponents[0] >= mean - LYAP_SIGMAS * se,
                    "top {}",
                    est.exponents[0]
                );
            }
        }
    }
}

#[test]
fn additive_noise_leaves_the_difference_unchanged() {
    // A linear network (identity activation) with additive noise only: h - h' and the
    // tangent obey exactly the deterministic equations, whatever the noise.
    let n = 5;
    let mut cfg = ModelConfig::new(n, 2, 1);
    cfg.activation = Activation::Identity;
    let noisy = NoiseSpec::new(NoiseForm::Diag, 0.5, 1.0, 0.0).unwrap();
    cfg.noise = noisy;
    let m = Model::init_scaled(cfg, 0.05, 3.0, 4).unwrap();
    let inputs: Vec<f64> = (0..20).map(|i| (i as f64 * 0.7).sin()).collect();
    let det = Dynamics::new(&m, Some(&inputs), NoiseSpec::off()).unwrap();
    let sto = Dynamics::new(&m, Some(&inputs), noisy).unwrap();
    assert!(sto.is_noisy());
    let mut po = PairOptions::new(2000, 3);
    po.separation = 1.0;
    po.record_every = 10;
    let a = pair_separation(&det, &po).unwrap();
    let b = pair_separation(&sto, &po).unwrap();
    for (ra, rb) in a.log_ratio.iter().zip(&b.log_ratio) {
        for (x, y) in ra.iter().zip(rb) {
            assert!(
                (x - y).abs() <= LYAP_ROUND_TOL * (1.0 + x.abs()),
                "{x} vs {y}"
            );
        }
    }
    let o = opts(3, 2000, 100, 2, 1);
    let sa = spectrum(&det, &o).unwrap();
    let sb = spectrum(&sto, &o).unwrap();
    assert_eq!(sa.exponents, sb.exponents);
    // Multiplicative noise does change it.
    let mult = NoiseSpec::new(NoiseForm::Diag, 0.5, 1.0, 1.0).unwrap();
    let sc = spectrum(&Dynamics::new(&m, Some(&inputs), mult).unwrap(), &o).unwrap();
    assert!((sc.exponents[0] - sa.exponents[0]).abs() > 1e-3);
}

#[test]
fn noisy_step_replays_forward() {
    // The states of a Lyapunov run are those of `model::forward` with the same draws.
    for form in [NoiseForm::Diag, NoiseForm::Scalar, NoiseForm::Code] {
        let mut cfg = ModelConfig::new(6, 2, 3);
        cfg.noise = NoiseSpec::new(form, 0.3, 0.5, 0.8).unwrap();
        let m = Model::init_scaled(cfg, 0.1, 2.0, 9).unwrap();
        let steps = 30;
        let x: Vec<f64> = (0..steps * 2).map(|i| (i as f64).cos()).collect();
        let sys = Dynamics::new(&m, Some(&x), m.config.noise).unwrap();
        let (seed, path) = (17, 3);
        let draw = NoiseDraw::draw(form, 6, steps, seed, &[TAG_NOISE], &[path]);
        let xm = DMatrix::from_column_slice(2, steps, &x);
        let tape = forward(
            &m.config,
            &m.params,
            &xm,
            steps,
            1,
            Some(&draw),
            None,
            false,
        );
        let mut rng = stream(seed, &[TAG_NOISE, path]);
        let mut sn = StepNoise::new(form, 6);
        let mut h = DMatrix::zeros(6, 1);
        let mut w = Work::default();
        for k in 0..steps {
            sn.draw(&mut rng);
            assert_eq!(sn.xi.as_slice(), draw.xi.column(k).as_slice());
            sys.step(k, &mut h, 1, Some(&sn), &mut w);
        }
        let diff = (&h - &tape.h_final).norm() / (1.0 + tape.h_final.norm());
        assert!(diff < LYAP_ROUND_TOL, "{form:?}: {diff}");
    }
}

#[test]
fn options_are_checked() {
    let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
    let sys = Dynamics::new(&m, None, NoiseSpec::off()).unwrap();
    let e = spectrum(&sys, &LyapunovOptions::new(4, 100))
        .unwrap_err()
        .to_string();
    assert!(e.contains("spectrum") && e.contains("[1, 3]"), "{e}");
    let e = spectrum(&sys, &LyapunovOptions::new(1, 0))
        .unwrap_err()
        .to_string();
    assert!(e.contains("steps"), "{e}");
    let mut o = LyapunovOptions::new(1, 10);
    o.h0 = Some(vec![0.0; 2]);
    assert!(spectrum(&sys, &o).unwrap_err().to_string().contains("h0"));
    // A diverging trajectory is an error, not a NaN.
    let mut cfg = ModelConfig::new(2, 1, 1);
    cfg.activation = Activation::Identity;
    let mut big = Model::init(cfg, 0.5, 1).unwrap();
    big.params.m_a = DMatrix::identity(2, 2) * 50.0;
    let sys = Dynamics::new(&big, None, NoiseSpec::off()).unwrap();
    let mut o = LyapunovOptions::new(1, 5000);
    o.h0 = Some(vec![1.0, 1.0]);
    let e = spectrum(&sys, &o).unwrap_err().to_string();
    assert!(e.contains("non-finite") || e.contains("diverged"), "{e}");
}

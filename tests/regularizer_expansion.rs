//! The closed-form regularizer (docs/theory.md section 2): exact identities over random small
//! models (proptest), an independent naive implementation of the recursions, the loss
//! derivatives against central differences, the discrete-to-continuous convergence (order
//! 1 in dt) and RK4's own order, and the errors on bad input.
//!
//! Monte Carlo checks are in `tests/montecarlo.rs`.

mod common;

use common::{form_of, proptest_config, SmallCase};
use nalgebra::{DMatrix, DVector};
use nrnn::data::{Batch, Target};
use nrnn::loss::Loss;
use nrnn::model::{Activation, Model, ModelConfig, NoiseForm, NoiseSpec};
use nrnn::prec::{EXACT_REL_TOL, FD_STEP, GRAD_REL_TOL, REG_CONT_SLOPE_TOL, REL_FLOOR};
use nrnn::regularizer::{
    closed_form, continuous, discrete::from_linearization, fit_slope, loss_derivatives, r_additive,
    refine, Linearization, Options,
};
use nrnn::rng::stream;
use proptest::prelude::*;
use rand::RngExt;

/// A random small model and one example ([`common::SmallCase`], stream 0xE1). `classes = 3`;
/// step per unit in [0.05, 0.3]; recurrent weights at scale 1 (`M ~ N(0, (1/n)^2)`), so
/// the tanh is well inside its curved range.
#[allow(clippy::too_many_arguments)]
fn case(
    n: usize,
    k: usize,
    form: NoiseForm,
    act: Activation,
    a_term: bool,
    s1: f64,
    s2: f64,
    regression: bool,
    seed: u64,
) -> (Model, Batch, Loss) {
    let base = SmallCase::new(n, k, form, act, 0xE1);
    SmallCase {
        s1,
        s2,
        regression,
        varied: Some(a_term),
        ..base
    }
    .build(seed)
}

/// `a` and `b` agree to the relative tolerance `tol` (absolute `tol REL_FLOOR` near zero),
/// through `approx::relative_eq!`.
fn close(a: f64, b: f64, tol: f64) -> bool {
    approx::relative_eq!(a, b, epsilon = tol * REL_FLOOR, max_relative = tol)
}

/// The recursions of docs/theory.md section 2 written naively with explicit dense matrices:
/// `C_{k+1} = D_k C_k D_k^T + Sigma_k`, `m_{k+1} = D_k m_k + diag(d) v_k / 2`,
/// `R = tr(H C_K)`, `Q = 2 g^T m_K` (the forward mean recursion, where the library uses a
/// backward sweep).
fn naive(lin: &Linearization) -> (f64, f64) {
    let n = lin.hidden();
    let w = lin.rec.w();
    let mut c = DMatrix::<f64>::zeros(n, n);
    let mut m = DVector::<f64>::zeros(n);
    for k in 0..lin.steps {
        let wcw = &w * &c * w.transpose();
        let v = DVector::from_fn(n, |i, _| lin.dda[(i, k)] * wcw[(i, i)]);
        let dk = lin.step_matrix(k);
        m = &dk * m + v.component_mul(&lin.d) * 0.5;
        c = &dk * c * dk.transpose() + lin.sigma(k);
    }
    (2.0 * lin.g.dot(&m), (&lin.hess * &c).trace())
}

proptest! {
    #![proptest_config(proptest_config(48))]

    /// A linear drift has no curvature, so v_k = 0 and Q = 0 exactly (every noise form).
    #[test]
    fn identity_activation_gives_q_zero(n in 1usize..6, k in 1usize..20, f in 0u8..3, a_term: bool, s1 in 0.0..1.5f64, s2 in 0.0..1.0f64, reg: bool, seed: u64) {
        let (m, b, loss) = case(n, k, form_of(f), Activation::Identity, a_term, s1, s2, reg, seed);
        let r = closed_form(&m, &b, 0, loss, Options { per_step: true, code_eps: 0.0 }).unwrap();
        prop_assert_eq!(r.q, 0.0);
        prop_assert!(r.per_step.unwrap().q.iter().all(|&q| q == 0.0));
    }

    /// H is positive semi-definite and C_K too, so lambda_min(H) S <= R <= lambda_max(H) S
    /// with S = tr(C_K) (and R >= 0 for cross-entropy). Round-off allowance: EXACT_REL_TOL
    /// of max|lambda| S.
    #[test]
    fn r_between_hessian_eigenvalue_bounds(n in 1usize..6, k in 1usize..20, f in 0u8..3, tanh: bool, s1 in 0.0..1.5f64, s2 in 0.0..1.0f64, reg: bool, seed: u64) {
        let act = if tanh { Activation::Tanh } else { Activation::Identity };
        let (m, b, loss) = case(n, k, form_of(f), act, true, s1, s2, reg, seed);
        let lin = Linearization::new(&m, &b, 0, loss, 0.0).unwrap();
        let r = from_linearization(&lin, false);
        let ev = lin.hess.symmetric_eigenvalues();
        let (lo, hi) = (ev.min(), ev.max());
        let slack = EXACT_REL_TOL * lo.abs().max(hi.abs()) * r.trace_c;
        prop_assert!(lo >= -EXACT_REL_TOL * hi.abs(), "H not psd: {lo}");
        prop_assert!(r.r >= -slack, "R = {} < 0", r.r);
        prop_assert!(r.r >= lo * r.trace_c - slack && r.r <= hi * r.trace_c + slack,
            "R = {} outside [{}, {}]", r.r, lo * r.trace_c, hi * r.trace_c);
    }

    /// Additive noise only (sigma2 = 0): R from the explicit products H^{1/2} Phi_{K,k+1}
    /// equals R = tr(H C_K) from the covariance recursion.
    #[test]
    fn additive_closed_form_equals_general(n in 1usize..6, k in 1usize..20, f in 0u8..3, tanh: bool, s1 in 0.01..1.5f64, reg: bool, seed: u64) {
        let act = if tanh { Activation::Tanh } else { Activation::Identity };
        let (m, b, loss) = case(n, k, form_of(f), act, true, s1, 0.0, reg, seed);
        let ra = r_additive(&m, &b, 0, loss).unwrap();
        let r = closed_form(&m, &b, 0, loss, Options::default()).unwrap().r;
        prop_assert!(close(ra, r, EXACT_REL_TOL), "additive {ra} vs general {r}");
    }

    /// The unrolled form: sum_k tr(Ŝ_k^T Phi^T H Phi Ŝ_k) (backward matrix sweep) equals
    /// tr(H C_K) (forward covariance sweep), and the per-step Q_k add up to Q.
    #[test]
    fn unrolled_sum_equals_trace(n in 1usize..6, k in 1usize..20, f in 0u8..3, a_term: bool, s1 in 0.0..1.5f64, s2 in 0.0..1.0f64, reg: bool, seed: u64) {
        let (m, b, loss) = case(n, k, form_of(f), Activation::Tanh, a_term, s1, s2, reg, seed);
        let r = closed_form(&m, &b, 0, loss, Options { per_step: true, code_eps: 0.0 }).unwrap();
        let ps = r.per_step.as_ref().unwrap();
        prop_assert_eq!(ps.r.len(), k);
        prop_assert!(close(ps.r.iter().sum::<f64>(), r.r, EXACT_REL_TOL));
        prop_assert!(close(ps.q.iter().sum::<f64>(), r.q, EXACT_REL_TOL));
    }

    /// The library's Q (backward sweep) and R (forward sweep with the stacked products)
    /// against the naive dense recursions, for every noise form (code: at its eps -> 0 and
    /// at eps = 0.3 mean-factor path).
    #[test]
    fn closed_form_matches_naive_recursions(n in 1usize..6, k in 1usize..20, f in 0u8..3, a_term: bool, s1 in 0.0..1.5f64, s2 in 0.0..1.0f64, reg: bool, code_eps in prop::sample::select(vec![0.0, 0.3]), seed: u64) {
        let (m, b, loss) = case(n, k, form_of(f), Activation::Tanh, a_term, s1, s2, reg, seed);
        let lin = Linearization::new(&m, &b, 0, loss, code_eps).unwrap();
        let r = from_linearization(&lin, false);
        let (q0, r0) = naive(&lin);
        let scale = r0.abs().max(q0.abs()).max(REL_FLOOR);
        prop_assert!((r.r - r0).abs() < EXACT_REL_TOL * scale, "R {} vs naive {}", r.r, r0);
        prop_assert!((r.q - q0).abs() < EXACT_REL_TOL * scale, "Q {} vs naive {}", r.q, q0);
    }

    /// g and H of the loss at the final state against central differences of the loss
    /// (cross-entropy and squared error).
    #[test]
    fn loss_derivatives_match_central_differences(n in 1usize..6, reg: bool, seed: u64) {
        let (m, b, loss) = case(n, 3, NoiseForm::Diag, Activation::Tanh, true, 1.0, 0.5, reg, seed);
        let mut rng = stream(seed, &[0xE2]);
        let h = DVector::from_fn(n, |_, _| rng.random_range(-1.0..1.0));
        let (_, g, hess) = loss_derivatives(&m, &h, &b.target, loss).unwrap();
        let lval = |x: &DVector<f64>| loss_derivatives(&m, x, &b.target, loss).unwrap().0;
        let grad = |x: &DVector<f64>| loss_derivatives(&m, x, &b.target, loss).unwrap().1;
        let gmax = g.amax().max(REL_FLOOR);
        let hmax = hess.amax().max(REL_FLOOR);
        for j in 0..n {
            let mut hp = h.clone();
            let mut hm = h.clone();
            hp[j] += FD_STEP;
            hm[j] -= FD_STEP;
            let fd = (lval(&hp) - lval(&hm)) / (2.0 * FD_STEP);
            prop_assert!((fd - g[j]).abs() < GRAD_REL_TOL * gmax.max(1.0), "g[{j}] {} vs fd {fd}", g[j]);
            let fdh = (grad(&hp) - grad(&hm)) / (2.0 * FD_STEP);
            for i in 0..n {
                prop_assert!((fdh[i] - hess[(i, j)]).abs() < GRAD_REL_TOL * hmax.max(1.0), "H[{i},{j}]");
            }
        }
    }
}

/// A fixed tanh model for the convergence checks (n = 5, K = 20, d = 0.1, T = 2).
fn fixed(form: NoiseForm) -> (Model, Batch, Loss) {
    let mut cfg = ModelConfig::new(5, 1, 3);
    cfg.noise = NoiseSpec::new(form, 0.1, 0.8, 0.6).unwrap();
    let model = Model::init_scaled(cfg, 0.1, 1.0, 11).unwrap();
    let d = nrnn::data::sines(1, 20, 3, 4).unwrap();
    (model, d.all(), Loss::CrossEntropy)
}

/// Euler-Maruyama Q + R on the grid refined r = 1, 2, 4, 8, 16 times (time span fixed)
/// converges to the continuous Q + R with order 1 in dt: the fitted log-log slope of the
/// error against dt is within REG_CONT_SLOPE_TOL of 1.
#[test]
fn discrete_converges_to_continuous_with_order_one() {
    for form in [NoiseForm::Diag, NoiseForm::Scalar] {
        let (m, b, loss) = fixed(form);
        let cont = continuous(&m, &b, 0, loss, 8).unwrap();
        let target = cont.q + cont.r;
        let mut dts = Vec::new();
        let mut errs = Vec::new();
        for r in [1usize, 2, 4, 8, 16] {
            let (mr, br) = refine(&m, &b, r).unwrap();
            let d = closed_form(&mr, &br, 0, loss, Options::default()).unwrap();
            dts.push(0.1 / r as f64);
            errs.push(d.q + d.r - target);
        }
        let fit = fit_slope(&dts, &errs).unwrap();
        assert!(
            (fit.slope - 1.0).abs() <= REG_CONT_SLOPE_TOL,
            "{form:?}: slope {} (errors {errs:?})",
            fit.slope
        );
        // The errors keep one sign (the leading term dominates).
        assert!(
            errs.iter().all(|e| e.signum() == errs[0].signum()),
            "{errs:?}"
        );
    }
}

/// RK4 has order 4: halving the step divides the change by about 16; the fitted slope of
/// |v(q) - v(2q)| against 1/q is 4 within REG_CONT_SLOPE_TOL (checked at a coarse step, far
/// above round-off). The error is `C h^4 (1 + O(h))`, so the local slope approaches 4 only
/// as `h` shrinks: the fit starts at two substeps per step (`h = 0.15`), where the `O(h)`
/// correction is below the tolerance, and goes down to `h = 0.3/32` (changes ~1e-10, far
/// above round-off ~1e-15).
#[test]
fn rk4_has_order_four() {
    let (mut m, b, loss) = fixed(NoiseForm::Diag);
    // A larger step makes the RK4 error visible above round-off.
    m.params.dt.fill(0.3);
    let vals: Vec<f64> = [2usize, 4, 8, 16, 32]
        .iter()
        .map(|&q| continuous(&m, &b, 0, loss, q).unwrap().value())
        .collect();
    let diffs: Vec<f64> = vals.windows(2).map(|w| w[0] - w[1]).collect();
    let fit = fit_slope(&[0.5, 0.25, 0.125, 0.0625], &diffs).unwrap();
    assert!(
        (fit.slope - 4.0).abs() <= REG_CONT_SLOPE_TOL,
        "slope {} ({diffs:?})",
        fit.slope
    );
}

/// The code form: no continuous limit (refused, naming the field); the closed form at
/// `code_eps` equals the closed form of the diag-free model with step d (1 - eps sigma2/2)
/// when sigma2 = 0 (the additive part alone has no mean factor).
#[test]
fn code_form_treatment() {
    let (m, b, loss) = case(
        4,
        10,
        NoiseForm::Code,
        Activation::Tanh,
        true,
        0.5,
        0.4,
        false,
        3,
    );
    let e = continuous(&m, &b, 0, loss, 2).unwrap_err().to_string();
    assert!(e.contains("noise.form"), "{e}");
    // Mean-factor path: with code_eps = 0.5, sigma2 = 0.4, the linearization's step is 0.9 d.
    let lin = Linearization::new(&m, &b, 0, loss, 0.5).unwrap();
    for i in 0..4 {
        assert!(close(lin.d[i], 0.9 * m.params.dt[i], 1e-15));
    }
    // With sigma2 = 0 the code form is additive noise sigma1 per step (no sqrt(d)): R equals
    // the diag form's R with sigma1 / sqrt(d) when d is uniform.
    let (mut mc, b, loss) = case(
        4,
        10,
        NoiseForm::Code,
        Activation::Tanh,
        true,
        0.5,
        0.0,
        false,
        5,
    );
    mc.params.dt.fill(0.2);
    let mut md = mc.clone();
    md.config.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 0.5 / 0.2f64.sqrt(), 0.0).unwrap();
    let rc = closed_form(&mc, &b, 0, loss, Options::default()).unwrap();
    let rd = closed_form(&md, &b, 0, loss, Options::default()).unwrap();
    assert!(close(rc.r, rd.r, EXACT_REL_TOL) && close(rc.q, rd.q, EXACT_REL_TOL));
}

/// Bad input is refused with an error that names the field.
#[test]
fn errors_name_the_field() {
    let (m, b, _) = case(
        3,
        5,
        NoiseForm::Diag,
        Activation::Tanh,
        true,
        1.0,
        0.5,
        true,
        1,
    );
    // Cross-entropy with real-valued targets.
    let e = closed_form(&m, &b, 0, Loss::CrossEntropy, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("loss"), "{e}");
    // Example index out of range.
    let e = closed_form(&m, &b, 3, Loss::SquaredError, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("example"), "{e}");
    // Wrong input dimension.
    let bad = Batch {
        x: DMatrix::zeros(5, 5),
        ..b.clone()
    };
    let e = closed_form(&m, &bad, 0, Loss::SquaredError, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("inputs"), "{e}");
    // Non-finite input.
    let mut bad = b.clone();
    bad.x[(0, 2)] = f64::NAN;
    let e = closed_form(&m, &bad, 0, Loss::SquaredError, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("inputs"), "{e}");
    // Label out of range.
    let lb = Batch {
        target: Target::Classes(vec![7]),
        ..b.clone()
    };
    let e = closed_form(&m, &lb, 0, Loss::CrossEntropy, Options::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("target"), "{e}");
    // r_additive needs sigma2 = 0.
    let e = r_additive(&m, &b, 0, Loss::SquaredError)
        .unwrap_err()
        .to_string();
    assert!(e.contains("noise.sigma2"), "{e}");
    // Refinement factor.
    assert!(refine(&m, &b, 0)
        .unwrap_err()
        .to_string()
        .contains("substeps"));
    assert!(continuous(&m, &b, 0, Loss::SquaredError, 0)
        .unwrap_err()
        .to_string()
        .contains("substeps"));
    // Code form: eps * sigma2 > 1 for the mean factor.
    let (mc, bc, lc) = case(
        3,
        5,
        NoiseForm::Code,
        Activation::Tanh,
        true,
        1.0,
        0.5,
        false,
        1,
    );
    let e = closed_form(
        &mc,
        &bc,
        0,
        lc,
        Options {
            per_step: false,
            code_eps: 3.0,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("eps"), "{e}");
}

/// A case a random proptest run once found: a linear network whose softmax saturates
/// (p within round-off of one-hot). H = V^T (diag(p) - p p^T) V must stay positive
/// semi-definite to round-off at the scale of its own entries, and R inside its bounds.
#[test]
fn saturated_softmax_keeps_h_psd() {
    let (m, b, loss) = case(
        2,
        15,
        form_of(0),
        Activation::Identity,
        true,
        0.0,
        0.0,
        false,
        8232377760602021033,
    );
    let lin = Linearization::new(&m, &b, 0, loss, 0.0).unwrap();
    let ev = lin.hess.symmetric_eigenvalues();
    assert!(
        ev.min() >= -EXACT_REL_TOL * lin.hess.amax(),
        "H not psd: {}",
        ev.min()
    );
    assert!(
        ev.min() >= -EXACT_REL_TOL * ev.max().abs(),
        "H not psd: {} vs {}",
        ev.min(),
        ev.max()
    );
}

//! The tools that need only a Jacobian work for the baseline cells (LSTM, GRU, coRNN):
//!
//! - the tangent map of a step (Lyapunov exponents) against central differences of the
//!   step, with and without the hidden-state noise;
//! - the exact Hessian-vector product (dual numbers through the generic cells) against
//!   central differences of the exact gradient, and the symmetry of the Hessian;
//! - the input Jacobian of the logits (margins) against central differences of the logits;
//! - the Lyapunov spectrum of a linear coRNN (W = W_z = V = 0, b = 0), whose exponents are
//!   `log|mu| / dt` for the eigenvalues `mu` of its 2 x 2 step matrix.
//!
//! Tolerances: `GRAD_REL_TOL` for exact derivatives against central differences of step
//! `FD_STEP` (the same as the gradient checks), `EXACT_REL_TOL` for identities that hold up
//! to round-off, and the conditioning bound of `tests/lyapunov_known.rs` for the spectrum.

mod common;

use common::{baseline_case, proptest_config};
use nalgebra::DMatrix;
use nrnn::dynamics::tangent::{StepNoise, Work};
use nrnn::dynamics::{spectrum, Dynamics, LyapunovOptions};
use nrnn::hessian::{dense, LinearOperator, ParamHessian};
use nrnn::margin::{input_jacobian, margins, AttackOptions};
use nrnn::model::baseline::{Baseline, BaselineCell};
use nrnn::model::cornn::CornnHyper;
use nrnn::model::{NoiseSource, NoiseSpec, Recurrent};
use nrnn::prec::{
    normwise_rel_err as rel_err, EXACT_REL_TOL, FD_STEP, GRAD_REL_TOL, LYAP_ROUND_TOL,
};
use nrnn::rng::stream;
use proptest::prelude::*;

/// Central difference of the state step along `q` at `s` (states only, same noise).
fn fd_tangent(sys: &Dynamics, s: &[f64], q: &[f64], noise: Option<&StepNoise>) -> Vec<f64> {
    let n = s.len();
    let mut x = DMatrix::zeros(n, 2);
    for i in 0..n {
        x[(i, 0)] = s[i] + FD_STEP * q[i];
        x[(i, 1)] = s[i] - FD_STEP * q[i];
    }
    sys.step(3, &mut x, 2, noise, &mut Work::default());
    (0..n)
        .map(|i| (x[(i, 0)] - x[(i, 1)]) / (2.0 * FD_STEP))
        .collect()
}

proptest! {
    #![proptest_config(proptest_config(32))]

    /// The tangent column of `Dynamics::step` is the derivative of the state column.
    #[test]
    fn baseline_tangent_map_matches_central_differences(
        cell in 0u8..3, n in 1usize..=5, p in 1usize..=3, k in 1usize..=6,
        noisy in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let (m, b, _, _) = baseline_case(cell, n, p, k, 1, false, noisy, seed);
        let sys = Dynamics::new(&m, Some(b.x.as_slice()), m.noise).unwrap();
        let dim = sys.hidden();
        prop_assert_eq!(dim, m.cell.state_len(n));
        let mut rng = stream(seed, &[7]);
        let mut s = vec![0.0; dim];
        let mut q = vec![0.0; dim];
        nrnn::rng::fill_normal(&mut rng, &mut s);
        nrnn::rng::fill_normal(&mut rng, &mut q);
        let mut sn = sys.step_noise();
        sn.draw(&mut rng);
        let noise = sys.is_noisy().then_some(&sn);
        let mut x = DMatrix::zeros(dim, 2);
        x.column_mut(0).copy_from_slice(&s);
        x.column_mut(1).copy_from_slice(&q);
        sys.step(3, &mut x, 1, noise, &mut Work::default());
        let exact: Vec<f64> = x.column(1).iter().copied().collect();
        let fd = fd_tangent(&sys, &s, &q, noise);
        let e = rel_err(&exact, &fd);
        prop_assert!(e < GRAD_REL_TOL, "{:?}: relative error {e:e}", m.cell);
    }

    /// The baselines' exact Hessian-vector product against the central difference of the
    /// exact gradient, and the dual pass's real part is the gradient.
    #[test]
    fn baseline_hvp_matches_differences_of_the_gradient(
        cell in 0u8..3, n in 1usize..=4, p in 1usize..=2, k in 1usize..=6, bsz in 1usize..=3,
        regression in any::<bool>(), seed in 0u64..1_000_000,
    ) {
        let (m, b, _, loss) = baseline_case(cell, n, p, k, bsz, regression, false, seed);
        let op = ParamHessian::new(&m, &b, loss).unwrap();
        prop_assert_eq!(op.dim(), m.n_flat());
        let mut v = vec![0.0; op.dim()];
        nrnn::rng::fill_normal(&mut stream(seed, &[8]), &mut v);
        let (g, hv) = op.grad_and_hvp(&v).unwrap();
        let fd = op.fd_hvp(&v, FD_STEP).unwrap();
        let e = rel_err(&hv, &fd);
        prop_assert!(e < GRAD_REL_TOL, "{:?}: relative error {e:e}", m.cell);
        let (_, g2) = op.loss_grad();
        prop_assert!(rel_err(&g, &g2) <= EXACT_REL_TOL, "{:?}: gradient of the dual pass", m.cell);
    }

    /// The baselines' input Jacobian of the logits against central differences.
    #[test]
    fn baseline_input_jacobian_matches_central_differences(
        cell in 0u8..3, n in 1usize..=5, p in 1usize..=3, k in 1usize..=8,
        seed in 0u64..1_000_000,
    ) {
        let (m, b, _, _) = baseline_case(cell, n, p, k, 1, false, false, seed);
        let x: Vec<f64> = b.x.iter().copied().collect();
        let (o, jac) = input_jacobian(&m, &x, k).unwrap();
        let logits = |x: &[f64]| -> Vec<f64> {
            let mut bb = b.clone();
            bb.x.as_mut_slice().copy_from_slice(x);
            m.logits(&bb, NoiseSource::Off).iter().copied().collect()
        };
        prop_assert!(rel_err(&o, &logits(&x)) <= EXACT_REL_TOL);
        let mut fd = DMatrix::zeros(o.len(), x.len());
        for t in 0..x.len() {
            let mut xp = x.clone();
            xp[t] += FD_STEP;
            let mut xm = x.clone();
            xm[t] -= FD_STEP;
            let (lp, lm) = (logits(&xp), logits(&xm));
            for j in 0..o.len() {
                fd[(j, t)] = (lp[j] - lm[j]) / (2.0 * FD_STEP);
            }
        }
        let e = rel_err(jac.as_slice(), fd.as_slice());
        prop_assert!(e < GRAD_REL_TOL, "{:?}: relative error {e:e}", m.cell);
    }
}

/// The exact Hessian of a tiny baseline of each cell is symmetric up to round-off.
#[test]
fn baseline_hessians_are_symmetric() {
    for cell in 0..3 {
        let (m, b, _, loss) = baseline_case(cell, 3, 2, 5, 2, false, false, 11);
        let h = dense(&ParamHessian::new(&m, &b, loss).unwrap());
        let asym = rel_err(h.as_slice(), h.transpose().as_slice());
        assert!(asym <= EXACT_REL_TOL, "{:?}: asymmetry {asym:e}", m.cell);
    }
}

/// Margins of a baseline: the Jacobian bound and the attack run; there is no certified
/// bound (it needs the Lipschitz RNN's global constant), and the report says so with
/// `None` rather than a number.
#[test]
fn baseline_margins_have_no_certified_bound() {
    let d = nrnn::data::sines(6, 8, 2, 1).unwrap();
    let m = Baseline::init(BaselineCell::Gru, 4, 1, 2, NoiseSpec::off(), 3).unwrap();
    let r = margins(&m, &d, &AttackOptions::default()).unwrap();
    assert_eq!(r.examples.len(), 6);
    assert_eq!(r.lipschitz, None);
    assert_eq!(r.certified_bound.count, 0);
    assert!(r.examples.iter().all(|e| e.certified_bound.is_none()));
    assert!(r.examples.iter().all(|e| e.jacobian_norm.is_finite()));
}

/// A coRNN with `W = W_z = V = 0` and `b = 0` is linear: per unit
/// `[y; z]' = M [y; z]`, `M = [[1 - dt^2 gamma, dt (1 - dt eps)], [-dt gamma, 1 - dt eps]]`,
/// so its 2n exponents per unit time are `log|mu| / dt` for the two eigenvalues `mu` of
/// `M`, each n times.
#[test]
fn linear_cornn_spectrum_is_known() {
    let hy = CornnHyper {
        dt: 0.042,
        gamma: 2.7,
        eps: 4.7,
    };
    let n = 2;
    let mut m = Baseline::init(BaselineCell::Cornn(hy), n, 1, 2, NoiseSpec::off(), 5).unwrap();
    for b in &mut m.params[..4] {
        b.fill(0.0);
    }
    let (dt, g, e) = (hy.dt, hy.gamma, hy.eps);
    let mm = DMatrix::from_row_slice(
        2,
        2,
        &[
            1.0 - dt * dt * g,
            dt * (1.0 - dt * e),
            -dt * g,
            1.0 - dt * e,
        ],
    );
    let (tr, det) = (mm.trace(), mm.determinant());
    let disc = tr * tr - 4.0 * det;
    assert!(disc > 0.0, "the test's setting has real eigenvalues");
    let mu = [(tr + disc.sqrt()) / 2.0, (tr - disc.sqrt()) / 2.0];
    // Conditioning of the eigenvector basis (unit columns), as in tests/lyapunov_known.rs.
    let vecs = DMatrix::from_fn(2, 2, |i, j| {
        let v = [mm[(0, 1)], mu[j] - mm[(0, 0)]];
        v[i] / (v[0] * v[0] + v[1] * v[1]).sqrt()
    });
    let sv = vecs.singular_values();
    let cond = sv.max() / sv.min();
    let sys = Dynamics::new(&m, None, NoiseSpec::off()).unwrap();
    assert_eq!(sys.time_unit(), dt);
    let t = 400.0;
    let steps = (t / dt) as usize;
    let o = LyapunovOptions {
        transient: steps / 8,
        ..LyapunovOptions::new(2 * n, steps)
    };
    let est = spectrum(&sys, &o).unwrap();
    let want = [
        mu[0].ln() / dt,
        mu[0].ln() / dt,
        mu[1].ln() / dt,
        mu[1].ln() / dt,
    ];
    for (i, (got, want)) in est.exponents.iter().zip(want).enumerate() {
        let tol = (2 * i + 1) as f64 * cond.ln() / t + LYAP_ROUND_TOL;
        assert!(
            (got - want).abs() <= tol,
            "exponent {i}: {got} vs {want} +- {tol}"
        );
    }
}

/// The noisy tangent dynamics of a baseline replay its forward pass: the state after K
/// steps of `Dynamics::step` with the noise of `NoiseDraw` is the forward pass's final
/// read-out state (the logits agree to round-off of the read-out).
#[test]
fn baseline_dynamics_replay_the_forward_pass() {
    for cell in 0..3 {
        let (m, b, draw, _) = baseline_case(cell, 3, 2, 7, 1, false, true, 21);
        let sys = Dynamics::new(&m, Some(b.x.as_slice()), m.noise).unwrap();
        let dim = sys.hidden();
        let mut x = DMatrix::zeros(dim, 1);
        let mut sn = sys.step_noise();
        let mut w = Work::default();
        for step in 0..b.steps {
            sn.xi.copy_from_slice(draw.xi.column(step).as_slice());
            sys.step(step, &mut x, 1, Some(&sn), &mut w);
        }
        let h = x.rows(0, 3).clone_owned();
        let v = m.readout();
        let c = &m.params[m.params.len() - 1];
        let o: Vec<f64> = (v * h + c).iter().copied().collect();
        let want: Vec<f64> = m
            .logits(&b, NoiseSource::Given(&draw))
            .iter()
            .copied()
            .collect();
        assert!(
            rel_err(&o, &want) <= EXACT_REL_TOL,
            "{:?}: {o:?} vs {want:?}",
            m.cell
        );
    }
}

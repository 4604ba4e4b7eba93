//! Named tolerances, one place, each with the reason for its value.
//!
//! Tests and estimators refer to these constants rather than to bare literals, so a
//! tolerance is chosen once, from theory, and can be read and questioned here.

/// Relative error allowed between an exact gradient and a central difference.
/// Central differences with step `FD_STEP` have truncation error O(h^2) ~ 1e-10 and
/// round-off O(eps_mach / h) ~ 1e-11 relative to O(1) quantities; 1e-6 leaves margin
/// for ill-conditioned entries while still failing for any wrong formula.
pub const GRAD_REL_TOL: f64 = 1e-6;

/// Step of central differences: about the cube root of machine epsilon (6e-6), where
/// truncation and round-off errors balance for a second-order difference.
pub const FD_STEP: f64 = 1e-5;

/// Absolute floor added to the denominator of relative comparisons, so that entries
/// that are exactly zero in theory do not make the relative error meaningless.
pub const REL_FLOOR: f64 = 1e-8;

/// Number of standard errors allowed between a Monte Carlo mean and its exact value.
/// For a normal estimator, 4 standard errors is a two-sided 99.994% confidence level.
pub const MC_SIGMAS: f64 = 4.0;

/// Allowed distance between a fitted convergence order and its declared value
/// (issue: "each fitted slope within 0.15 of the declared order").
pub const ORDER_TOL: f64 = 0.15;

/// Rounding allowed when checking that an attack moved an input by exactly its budget
/// `b`: `(x + b) - x` differs from `b` by at most one ulp of `x + b` plus one of the
/// difference, about `2 eps_mach` for inputs and budgets of order 1; `4 eps_mach` leaves
/// a factor 2 while any wrong step (a fraction of `b`) is many orders larger.
pub const PERTURB_ROUNDOFF: f64 = 4.0 * f64::EPSILON;

/// Relative accuracy required of the top eigenvalues found by Lanczos on matrices with a
/// prescribed spectrum (issue 5: "Lanczos recovers the top k to 1e-8"). For a symmetric
/// matrix each Ritz value lies within its residual of an eigenvalue (Weyl), so it is
/// met by running Lanczos to [`LANCZOS_RESIDUAL_TOL`].
pub const EIG_REL_TOL: f64 = 1e-8;

/// Relative residual `||A v - lambda v|| / ||A||` to which tests run Lanczos: a hundred
/// times below [`EIG_REL_TOL`] so that the Weyl bound meets it with margin, and far above
/// the round-off floor of fully reorthogonalized Lanczos (~ sqrt(N) eps_mach ~ 1e-14).
pub const LANCZOS_RESIDUAL_TOL: f64 = 1e-10;

/// Allowed difference between two exact f64 computations of one quantity that differ only
/// in the order of round-off (an exact Hessian and its transpose, a dense matrix times `v`
/// against products accumulated another way): round-off is ~ N eps_mach ~ 1e-13 relative
/// for the sizes tested; 1e-10 leaves three orders of margin and still fails for any
/// wrong term.
pub const EXACT_REL_TOL: f64 = 1e-10;

/// Allowed deviation of a broadened spectral density's total mass from 1. The grid
/// extends 8 widths past the extreme nodes (Gaussian tails beyond: 2 Phi(-8) ~ 1e-15)
/// with spacing at most half a width, where the trapezoid rule's error on a Gaussian is
/// ~ exp(-2 pi^2 (sigma/h)^2) < 1e-30; 1e-9 is a wide margin over round-off.
pub const DENSITY_MASS_TOL: f64 = 1e-9;

/// Standard errors allowed between a measured Lyapunov exponent and its exact value, or
/// above a bound (issue 4's acceptance level): for a normal estimator, 3 standard errors is
/// a two-sided 99.73% (one-sided 99.87%) confidence level. The statistical tests fix
/// their seeds, so a pass is reproducible.
pub const LYAP_SIGMAS: f64 = 3.0;

/// Safety factor on the next term of the Euler-Maruyama bias of a Lyapunov exponent.
/// At step d the measured exponent is the SDE's plus `c1 d + c2 d^2 + ...`; for geometric
/// Brownian motion `dh = lambda h dt + s h dB`, from `E log|1 + d lambda + s sqrt(d) xi|`:
/// `c1 = -lambda^2/2 + lambda s^2 - 3 s^4/4`,
/// `c2 = lambda^3/3 - 3 lambda^2 s^2/2 + 3 lambda s^4 - 5 s^6/2`
/// (`dynamics::lyapunov::gbm_em_exponent_terms`); for a general model the `c1` bound is
/// `dynamics::Conditions::discretization_allowance`. The expansion is asymptotic, so the
/// remainder after a term is of the order of the next term: tests correct for the terms
/// they know and allow twice the first omitted one.
pub const EM_BIAS_FACTOR: f64 = 2.0;

/// Absolute rounding allowed in a Lyapunov exponent computed from exact-in-theory
/// quantities (linear maps, replayed noise): N <= 1e5 accumulated `log |R_ii|`, each with
/// relative error ~ 1e-15 of an O(1) number, divided by t >= 10, give < 1e-11; 1e-9 leaves
/// two orders of margin and is far below any modelling error tested (>= 1e-4).
pub const LYAP_ROUND_TOL: f64 = 1e-9;

/// Allowed distance between a fitted convergence order of the regularizer and its
/// theoretical value: the discrete `Q + R` against the continuous one (order 1 in dt, issue
/// 3's acceptance range 0.8..1.2) and RK4's self-convergence (order 4). The error is
/// `c1 dt + c2 dt^2 + ...`, so the local slope over a grid spanning 16x in dt deviates from 1
/// by about `|c2/c1| dt_max`, ~0.05 on the test models (`d ||J|| ~ 0.1`); 0.2 leaves margin
/// while still failing for order 0.5 or 2.
pub const REG_CONT_SLOPE_TOL: f64 = 0.2;

/// Allowed distance between the fitted slope of the Monte Carlo remainder
/// `log|gap - eps^2 (Q+R)/2|` against `log eps` and its theoretical order 4 (issue 3's
/// acceptance range 3.5..4.5). The fit spans eps in [0.05, 0.4] where the next term
/// (order 6) shifts the local slope by `2 |c6/c4| eps^2`, up to ~0.3 at the top of the range,
/// and each point carries a Monte Carlo error; an O(eps^3) remainder (a wrong expansion or
/// non-symmetric noise) gives slope 3 and fails.
pub const REG_REMAINDER_SLOPE_TOL: f64 = 0.5;

/// Allowance for the `O(eps^2)` remainder of `Y(eps) = gap(eps)/eps^2` when it is compared
/// with `(Q + R)/2`, as a multiple of the Monte Carlo difference `|Y(2 eps) - Y(eps)|`
/// measured with the same draws. With `Y(eps) = r + c eps^2 + c6 eps^4 + ...` (the gap is
/// even in eps, docs/theory.md section 2): `Y(2e) - Y(e) = 3 c e^2 + 15 c6 e^4` and
/// `Y(e) - r = c e^2 + c6 e^4`. If at `2e` the eps^4 term is at most half the eps^2 term
/// (`|c6| (2e)^2 <= |c| / 2`, the asymptotic regime, which the remainder-slope test checks),
/// then `|Y(2e) - Y(e)| >= (3 - 15/8) |c| e^2 = 1.125 |c| e^2` and
/// `|Y(e) - r| <= (1 + 1/8) |c| e^2`, so `|Y(e) - r| <= 1.0 |Y(2e) - Y(e)|`. With no eps^4 term
/// the exact factor would be 1/3 (Richardson); 1.0 is the bound above.
pub const REG_REMAINDER_FACTOR: f64 = 1.0;

/// Safety factor on the round-off resolution of a central difference of the loss,
/// `eps_mach (1 + |L| + max|o|) / (2 h)`: the loss is a sum of a few terms of the logits'
/// size, each rounded once or twice in the forward pass and in the log-sum-exp; 16 covers
/// that count with margin while staying five orders below the gradients compared.
pub const FD_ROUNDOFF_SAFETY: f64 = 16.0;

/// Normwise relative error `max_i |a_i - b_i| / max(max|a|, max|b|, REL_FLOOR)`: the one
/// comparison of two computations of a vector that the tolerances above apply to (the
/// floor keeps vectors that are zero in theory from making the ratio meaningless).
///
/// ```
/// use nrnn::prec::normwise_rel_err;
/// assert_eq!(normwise_rel_err(&[1.0, 2.0], &[1.0, 2.0]), 0.0);
/// assert!((normwise_rel_err(&[1.0, 2.0], &[1.0, 2.2]) - 0.2 / 2.2).abs() < 1e-15);
/// assert!(normwise_rel_err(&[0.0], &[1e-12]) <= 1e-4);
/// ```
pub fn normwise_rel_err(a: &[f64], b: &[f64]) -> f64 {
    let max_abs = |v: &mut dyn Iterator<Item = f64>| v.fold(0.0f64, |m, x| m.max(x.abs()));
    let d = max_abs(&mut a.iter().zip(b).map(|(x, y)| x - y));
    d / max_abs(&mut a.iter().copied())
        .max(max_abs(&mut b.iter().copied()))
        .max(REL_FLOOR)
}

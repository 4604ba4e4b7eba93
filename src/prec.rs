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

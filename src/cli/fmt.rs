//! Numbers in the readable (text) output of the commands: a few significant digits, no
//! `3.559e0`, no `0.39999999999999997`, and a reason instead of `+- NaN`. JSON outputs are
//! not formatted here: they keep every digit.

/// Significant digits of [`num`].
pub const DIGITS: usize = 4;

/// `x` with `digits` significant digits (at least 1): plain decimals for `1e-3 <= |x| <
/// 1e5`, otherwise scientific (`1.23e5`, `-4.5e-7`, never `e0`); trailing zeros of the
/// fraction removed; `0`, `NaN`, `inf` and `-inf` as such
/// ([`crate::report::plot::format_sig`], the rule of the figures' labels).
///
/// ```
/// use nrnn::cli::fmt::sig;
/// assert_eq!(sig(3.559, 4), "3.559");
/// assert_eq!(sig(0.39999999999999997, 4), "0.4");
/// assert_eq!(sig(123456.0, 3), "1.23e5");
/// assert_eq!(sig(-0.000012345, 3), "-1.23e-5");
/// assert_eq!(sig(1500.0, 2), "1500");
/// assert_eq!(sig(0.0, 4), "0");
/// assert_eq!(sig(f64::NAN, 4), "NaN");
/// assert_eq!(sig(0.99996, 4), "1");
/// ```
pub fn sig(x: f64, digits: usize) -> String {
    // The figures' tick labels use the same rule.
    crate::report::plot::format_sig(x, digits)
}

/// `x` with [`DIGITS`] significant digits (see [`sig`]).
///
/// ```
/// assert_eq!(nrnn::cli::fmt::num(2.0 / 3.0), "0.6667");
/// ```
pub fn num(x: f64) -> String {
    sig(x, DIGITS)
}

/// `mean +- stderr` (the error with 2 significant digits), or, when the standard error is
/// missing or not finite, the mean and `why` in parentheses: never `+- NaN`.
///
/// ```
/// use nrnn::cli::fmt::pm;
/// assert_eq!(pm(1.23456, Some(0.0123), "one path"), "1.235 +- 0.012");
/// assert_eq!(pm(1.23456, Some(f64::NAN), "one path"), "1.235 (no standard error: one path)");
/// assert_eq!(pm(1.23456, None, "one path"), "1.235 (no standard error: one path)");
/// ```
pub fn pm(mean: f64, stderr: Option<f64>, why: &str) -> String {
    match stderr {
        Some(e) if e.is_finite() => format!("{} +- {}", num(mean), sig(e, 2)),
        _ => format!("{} (no standard error: {why})", num(mean)),
    }
}

/// A fraction as a percentage with 2 decimals: `0.8125` -> `81.25%`.
///
/// ```
/// assert_eq!(nrnn::cli::fmt::percent(0.8125), "81.25%");
/// ```
pub fn percent(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

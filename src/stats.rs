//! Statistics: the one home of the crate's estimates of random quantities.
//!
//! - [`Estimate`]: mean, sample standard deviation, standard error and Student-t interval
//!   of independent values (`sd^2 = sum (x - mean)^2 / (n - 1)`, `se = sqrt(sd^2 / n)`,
//!   interval `mean +- t_{(1 + level)/2, n - 1} se`), with the two-sided t test of a zero
//!   mean and the smallest effect the design detects ([`Estimate::detectable_effect`]).
//! - [`paired`]: the estimate of per-unit differences `a_i - b_i` (paired designs: the
//!   unit of replication is the seed, the compared models share its random draws).
//! - [`linear_fit`], [`fit_loglog`]: ordinary least squares with standard errors. A trend
//!   over trained models is fitted with the seed as the block: one slope per seed, then the
//!   [`Estimate`] of those slopes (`experiments::per_seed_slope` and the verdict engine),
//!   whose error counts what varies between seeds.
//! - [`holm`]: Holm's step-down adjustment of p-values (family-wise error control).
//!
//! The verdict engine ([`crate::verdict`]) is built on these.

use crate::error::{Error, Result};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Quantile `t_{p, df}` of Student's t distribution with `df > 0` degrees of freedom
/// (NaN when `df` is not positive or `p` is not in `(0, 1)`).
///
/// ```
/// let t = nrnn::stats::t_quantile(0.975, 9.0);
/// assert!((t - 2.262157).abs() < 1e-6);
/// assert!(nrnn::stats::t_quantile(0.975, 0.0).is_nan());
/// ```
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(df > 0.0 && p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |t| t.inverse_cdf(p))
}

/// Two-sided p-value `2 P(T_df > |t|)` of a t statistic (NaN when undefined).
///
/// ```
/// let p = nrnn::stats::t_two_sided_p(2.262157, 9.0);
/// assert!((p - 0.05).abs() < 1e-6);
/// ```
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || t.is_nan() {
        return f64::NAN;
    }
    StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |d| 2.0 * d.sf(t.abs()))
}

/// Mean, spread and standard error of `n` independent values.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// `mean = sum x_i / n` (NaN for no values).
    pub mean: f64,
    /// Sample standard deviation `sqrt(sum (x_i - mean)^2 / (n - 1))` (NaN for `n < 2`).
    pub sd: f64,
    /// Standard error of the mean `sqrt(sd^2 / n)` (NaN for `n < 2`).
    pub stderr: f64,
    /// Number of values `n`.
    pub n: usize,
}

impl Estimate {
    /// The estimate of `values` (all of them: a NaN among them makes the estimate NaN;
    /// see [`Estimate::of_finite`]).
    ///
    /// ```
    /// let e = nrnn::stats::Estimate::of(&[1.0, 2.0, 3.0]);
    /// assert_eq!((e.mean, e.sd, e.n), (2.0, 1.0, 3));
    /// assert!((e.stderr - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
    /// assert!(nrnn::stats::Estimate::of(&[1.0]).sd.is_nan());
    /// ```
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                sd: f64::NAN,
                stderr: f64::NAN,
                n,
            };
        }
        let nf = n as f64;
        let mean = values.iter().sum::<f64>() / nf;
        if n < 2 {
            return Estimate {
                mean,
                sd: f64::NAN,
                stderr: f64::NAN,
                n,
            };
        }
        let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (nf - 1.0);
        Estimate {
            mean,
            sd: var.sqrt(),
            stderr: (var / nf).sqrt(),
            n,
        }
    }

    /// The estimate of the finite values among `values`.
    ///
    /// ```
    /// let e = nrnn::stats::Estimate::of_finite(&[1.0, f64::NAN, 3.0]);
    /// assert_eq!((e.mean, e.n), (2.0, 2));
    /// ```
    pub fn of_finite(values: &[f64]) -> Estimate {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        Estimate::of(&v)
    }

    /// The standard deviation, 0 for fewer than two values (for plots and tables that
    /// draw a band of zero width around a single value).
    pub fn sd_or_zero(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.sd
        }
    }

    /// The standard error, 0 for fewer than two values.
    pub fn stderr_or_zero(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.stderr
        }
    }

    /// Degrees of freedom of the t interval, `n - 1`.
    pub fn df(&self) -> f64 {
        self.n as f64 - 1.0
    }

    /// Half-width `t_{(1 + level)/2, n - 1} se` of the two-sided interval at `level` in
    /// `(0, 1)` (NaN for `n < 2`).
    pub fn half_width(&self, level: f64) -> f64 {
        t_quantile(0.5 + level / 2.0, self.df()) * self.stderr
    }

    /// Two-sided Student-t interval `mean +- half_width(level)`; an error for a level
    /// outside `(0, 1)`.
    ///
    /// ```
    /// let e = nrnn::stats::Estimate::of(&[1.0, 2.0, 3.0]);
    /// let (lo, hi) = e.interval(0.95).unwrap();
    /// assert!((hi - lo - 2.0 * 4.302653 * (1.0f64 / 3.0).sqrt()).abs() < 1e-5);
    /// assert!(e.interval(1.5).is_err());
    /// ```
    pub fn interval(&self, level: f64) -> Result<(f64, f64)> {
        if !(level > 0.0 && level < 1.0) {
            return Err(Error::param("level", level, "a number in (0, 1)"));
        }
        let h = self.half_width(level);
        Ok((self.mean - h, self.mean + h))
    }

    /// The t statistic `mean / se` of the hypothesis "mean = 0".
    pub fn t_statistic(&self) -> f64 {
        self.mean / self.stderr
    }

    /// Two-sided p-value of the hypothesis "mean = 0" (t test with `n - 1` degrees of
    /// freedom).
    ///
    /// ```
    /// let e = nrnn::stats::Estimate::of(&[0.9, 1.1, 1.0, 1.2, 0.8]);
    /// assert!(e.p_value() < 1e-3);
    /// ```
    pub fn p_value(&self) -> f64 {
        t_two_sided_p(self.t_statistic(), self.df())
    }

    /// The smallest true mean that a two-sided t test at level `alpha` detects with
    /// probability `power`, for a design with this standard error and these degrees of
    /// freedom: `(t_{1 - alpha/2, n-1} + t_{power, n-1}) se` (the usual approximation to
    /// the noncentral t; within a few percent of it for `n >= 5`).
    ///
    /// ```
    /// use nrnn::stats::{t_quantile, Estimate};
    /// let e = Estimate::of(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
    /// let d = e.detectable_effect(0.05, 0.8);
    /// // t(0.975, 9) = 2.2622, t(0.8, 9) = 0.8834: about 3.15 standard errors
    /// assert!((t_quantile(0.8, 9.0) - 0.8834).abs() < 1e-4);
    /// assert!((d / e.stderr - 3.1456).abs() < 1e-3);
    /// ```
    pub fn detectable_effect(&self, alpha: f64, power: f64) -> f64 {
        let df = self.df();
        (t_quantile(1.0 - alpha / 2.0, df) + t_quantile(power, df)) * self.stderr
    }
}

/// The per-unit differences `a_i - b_i`; an error when the lengths differ.
///
/// ```
/// assert_eq!(nrnn::stats::differences(&[3.0, 5.0], &[1.0, 1.0]).unwrap(), vec![2.0, 4.0]);
/// assert!(nrnn::stats::differences(&[1.0], &[]).is_err());
/// ```
pub fn differences(a: &[f64], b: &[f64]) -> Result<Vec<f64>> {
    if a.len() != b.len() {
        return Err(Error::Other(format!(
            "paired differences need as many values on each side ({} vs {})",
            a.len(),
            b.len()
        )));
    }
    Ok(a.iter().zip(b).map(|(x, y)| x - y).collect())
}

/// The [`Estimate`] of paired differences `a_i - b_i` (the paired t design).
///
/// ```
/// let e = nrnn::stats::paired(&[3.0, 5.0, 4.0], &[1.0, 2.0, 2.0]).unwrap();
/// assert_eq!(e.mean, 7.0 / 3.0);
/// ```
pub fn paired(a: &[f64], b: &[f64]) -> Result<Estimate> {
    Ok(Estimate::of(&differences(a, b)?))
}

/// Holm's step-down adjustment: with the p-values sorted, `p_(i)` becomes
/// `max_{j <= i} min(1, (m - j + 1) p_(j))`; rejecting the adjusted values below `alpha`
/// controls the family-wise error at `alpha`. NaN p-values stay NaN and do not count in `m`.
///
/// ```
/// let a = nrnn::stats::holm(&[0.01, 0.04, 0.03]);
/// assert!((a[0] - 0.03).abs() < 1e-15 && (a[2] - 0.06).abs() < 1e-15 && (a[1] - 0.06).abs() < 1e-15);
/// ```
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (j, &i) in idx.iter().enumerate() {
        running = running.max(((m - j) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// Result of an ordinary least-squares fit `y = intercept + slope * x`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Fit {
    /// Fitted slope.
    pub slope: f64,
    /// Fitted intercept.
    pub intercept: f64,
    /// Standard error of the slope, `sqrt(SSE / (n - 2) / Sxx)` (NaN when `n < 3`).
    pub slope_stderr: f64,
    /// Standard error of the intercept, `sqrt(SSE / (n - 2) * (1/n + mean(x)^2 / Sxx))`.
    pub intercept_stderr: f64,
    /// Coefficient of determination `1 - SSE / SST` (1 when `SST = 0 = SSE`).
    pub r2: f64,
    /// Number of points used (finite pairs).
    pub n: usize,
}

impl Fit {
    /// The fitted value at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }

    /// True when slope and its standard error are finite.
    pub fn is_valid(&self) -> bool {
        self.slope.is_finite() && self.slope_stderr.is_finite()
    }
}

/// Ordinary least squares `y = intercept + slope * x` over the pairs where both values
/// are finite. With fewer than two distinct x values the fit is all NaN; with exactly two
/// points the standard errors are NaN. The single least-squares routine of the crate.
///
/// ```
/// let f = nrnn::stats::linear_fit(&[0.0, 1.0, 2.0, 3.0], &[1.0, 3.0, 5.0, 7.0]);
/// assert!((f.slope - 2.0).abs() < 1e-12 && (f.intercept - 1.0).abs() < 1e-12);
/// assert!(f.slope_stderr < 1e-12 && (f.r2 - 1.0).abs() < 1e-12 && f.n == 4);
/// ```
pub fn linear_fit(x: &[f64], y: &[f64]) -> Fit {
    let pts: Vec<(f64, f64)> = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(&a, &b)| (a, b))
        .collect();
    fit_pairs(&pts)
}

/// Least squares on `log10 y = intercept + slope * log10 x`, over the pairs where both
/// values are finite and positive. `slope` is the power-law exponent (convergence order).
///
/// ```
/// let xs = [1.0, 2.0, 4.0, 8.0];
/// let ys: Vec<f64> = xs.iter().map(|x: &f64| 3.0 * x.powi(4)).collect();
/// let f = nrnn::stats::fit_loglog(&xs, &ys);
/// assert!((f.slope - 4.0).abs() < 1e-12 && (f.intercept - 3f64.log10()).abs() < 1e-12);
/// ```
pub fn fit_loglog(xs: &[f64], ys: &[f64]) -> Fit {
    let pts: Vec<(f64, f64)> = xs
        .iter()
        .zip(ys)
        .filter(|(a, b)| a.is_finite() && b.is_finite() && **a > 0.0 && **b > 0.0)
        .map(|(a, b)| (a.log10(), b.log10()))
        .collect();
    fit_pairs(&pts)
}

fn fit_pairs(pts: &[(f64, f64)]) -> Fit {
    let n = pts.len();
    let nan = Fit {
        slope: f64::NAN,
        intercept: f64::NAN,
        slope_stderr: f64::NAN,
        intercept_stderr: f64::NAN,
        r2: f64::NAN,
        n,
    };
    if n < 2 {
        return nan;
    }
    let nf = n as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for &(a, b) in pts {
        let (dx, dy) = (a - mx, b - my);
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    if sxx.is_nan() || sxx <= 0.0 {
        return nan;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let sse: f64 = pts
        .iter()
        .map(|&(a, b)| {
            let r = b - (intercept + slope * a);
            r * r
        })
        .sum();
    let (slope_stderr, intercept_stderr) = if n > 2 {
        let s2 = sse / (nf - 2.0);
        ((s2 / sxx).sqrt(), (s2 * (1.0 / nf + mx * mx / sxx)).sqrt())
    } else {
        (f64::NAN, f64::NAN)
    };
    let r2 = if syy > 0.0 {
        1.0 - sse / syy
    } else if sse == 0.0 {
        1.0
    } else {
        f64::NAN
    };
    Fit {
        slope,
        intercept,
        slope_stderr,
        intercept_stderr,
        r2,
        n,
    }
}

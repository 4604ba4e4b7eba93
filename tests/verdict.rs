//! The verdict engine checked on synthetic data with a known effect (docs/theory.md
//! section 8): with no effect its false-positive rate is the test's level, and at the
//! effect it calls detectable it reaches the power it claims.

use nrnn::report::index::Verdict;
use nrnn::rng::{fill_normal, stream};
use nrnn::stats::{holm, t_quantile, Estimate};
use nrnn::verdict::{judge, Direction, Test, ALPHA, POWER};

/// Simulated replications of each design.
const REPLICATIONS: usize = 2000;
/// Seeds per simulated design, as in the quick profile.
const SEEDS: usize = 10;
/// Normal quantile of the two-sided 99.9% binomial interval the rates must fall in: a
/// correct engine fails this test with probability 0.001 per assertion (the draws are
/// seeded, so the outcome is fixed).
const Z: f64 = 3.29;
/// Relative error of the power formula `(t_{1-a/2} + t_power) se` against the noncentral t
/// at 9 degrees of freedom (the formula ignores the lower rejection tail and uses the
/// central t for the alternative); measured power sits within this of the nominal power.
const POWER_FORMULA_SLACK: f64 = 0.03;

/// `REPLICATIONS` designs of `SEEDS` values `mean + N(0, 1)`, judged for an increase.
fn rates(mean: f64, tag: u64) -> (f64, f64) {
    let t = Test::new("synthetic", Direction::Increase);
    let (mut sup, mut con) = (0usize, 0usize);
    for r in 0..REPLICATIONS {
        let mut x = vec![0.0; SEEDS];
        fill_normal(&mut stream(7, &[tag, r as u64]), &mut x);
        let v: Vec<(u64, f64)> = x
            .iter()
            .enumerate()
            .map(|(i, z)| (i as u64, mean + z))
            .collect();
        match judge(&t, &v).verdict {
            Verdict::Supported => sup += 1,
            Verdict::Contradicted => con += 1,
            Verdict::Inconclusive => {}
            v => panic!("unexpected verdict {v}"),
        }
    }
    let n = REPLICATIONS as f64;
    (sup as f64 / n, con as f64 / n)
}

fn binomial_half_width(p: f64) -> f64 {
    Z * (p * (1.0 - p) / REPLICATIONS as f64).sqrt()
}

#[test]
fn no_effect_gives_the_nominal_false_positive_rate() {
    let (sup, con) = rates(0.0, 1);
    let fp = sup + con;
    let hw = binomial_half_width(ALPHA);
    assert!(
        (fp - ALPHA).abs() < hw,
        "false-positive rate {fp} outside {ALPHA} ± {hw}"
    );
    // Symmetric: each side carries half.
    let hw2 = binomial_half_width(ALPHA / 2.0);
    assert!((sup - ALPHA / 2.0).abs() < hw2 && (con - ALPHA / 2.0).abs() < hw2);
}

#[test]
fn the_detectable_effect_is_detected_with_the_claimed_power() {
    // The design's detectable effect for sd 1: (t_{1-a/2, n-1} + t_{power, n-1}) / sqrt(n).
    let df = SEEDS as f64 - 1.0;
    let delta = (t_quantile(1.0 - ALPHA / 2.0, df) + t_quantile(POWER, df)) / (SEEDS as f64).sqrt();
    let (sup, con) = rates(delta, 2);
    let hw = binomial_half_width(POWER) + POWER_FORMULA_SLACK;
    assert!(
        (sup - POWER).abs() < hw,
        "power {sup} at the detectable effect {delta}, expected {POWER} ± {hw}"
    );
    assert!(
        con < 1e-3,
        "an effect of {delta} judged contradicted in {con} of designs"
    );
    // The engine's own estimate of that effect, from one design's data, is of that size.
    let mut x = vec![0.0; 1000];
    fill_normal(&mut stream(7, &[3]), &mut x);
    let e = Estimate::of(&x[..SEEDS]);
    let d = e.detectable_effect(ALPHA, POWER);
    assert!(d > 0.3 * delta && d < 3.0 * delta);
}

#[test]
fn a_large_effect_against_the_prediction_is_contradicted() {
    let (sup, con) = rates(-2.0, 4);
    assert!(
        con > 0.99 && sup == 0.0,
        "supported {sup}, contradicted {con}"
    );
}

#[test]
fn holm_controls_the_family_wise_error() {
    // Five null measures per design: the chance that any Holm-adjusted p is below alpha
    // is at most alpha.
    let t = Test::new("synthetic", Direction::Increase);
    let mut any = 0usize;
    for r in 0..REPLICATIONS {
        let p: Vec<f64> = (0..5)
            .map(|k| {
                let mut x = vec![0.0; SEEDS];
                fill_normal(&mut stream(8, &[r as u64, k]), &mut x);
                let v: Vec<(u64, f64)> =
                    x.iter().enumerate().map(|(i, z)| (i as u64, *z)).collect();
                judge(&t, &v).p_value
            })
            .collect();
        if holm(&p).iter().any(|&q| q < ALPHA) {
            any += 1;
        }
    }
    let rate = any as f64 / REPLICATIONS as f64;
    assert!(
        rate < ALPHA + binomial_half_width(ALPHA),
        "family-wise error {rate} above {ALPHA}"
    );
}

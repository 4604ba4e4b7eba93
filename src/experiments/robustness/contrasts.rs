//! Contrasts and tests: per-seed means over perturbation grids, the paired noise-trained-minus-Lipschitz contrasts, and the pre-registered tests of the verdicts.

use super::*;

/// Mean and sample standard deviation `sqrt(sum (v - mean)^2 / (n - 1))` (NaN for one
/// value; both NaN for none).
///
/// ```
/// let (m, s) = nrnn::experiments::robustness::mean_std(&[1.0, 2.0, 3.0]);
/// assert_eq!((m, s), (2.0, 1.0));
/// assert!(nrnn::experiments::robustness::mean_std(&[1.0]).1.is_nan());
/// ```
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let e = crate::stats::Estimate::of(v);
    (e.mean, e.sd)
}

/// `mean ± std` of accuracies, in percent with one decimal.
pub(super) fn pct(m: f64, s: f64) -> String {
    if s.is_finite() {
        format!("{:.1} ± {:.1}", 100.0 * m, 100.0 * s)
    } else {
        format!("{:.1}", 100.0 * m)
    }
}

/// Accuracies of a model under a perturbation at a strength, one per seed.
pub(super) fn accs(results: &[PieceResult], model: &str, kind: &str, strength: f64) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.model == model)
        .filter_map(|r| {
            r.rows
                .iter()
                .find(|e| e.perturbation == kind && e.strength == strength)
        })
        .map(|e| e.accuracy)
        .collect()
}

/// One piece's accuracy under `kind`, averaged over the strengths `strengths` (the area
/// under its accuracy curve, normalized); NaN when a row is missing.
pub(super) fn piece_grid_mean(r: &PieceResult, kind: &str, strengths: &[f64]) -> f64 {
    let sum: f64 = strengths
        .iter()
        .map(|&s| {
            r.rows
                .iter()
                .find(|e| e.perturbation == kind && e.strength == s)
                .map_or(f64::NAN, |e| e.accuracy)
        })
        .sum();
    sum / strengths.len().max(1) as f64
}

/// Per model: the mean over seeds of [`piece_grid_mean`], and its std over seeds.
pub(super) fn curve_mean(
    results: &[PieceResult],
    model: &str,
    kind: &str,
    strengths: &[f64],
) -> (f64, f64) {
    let per_seed: Vec<f64> = results
        .iter()
        .filter(|r| r.model == model)
        .map(|r| piece_grid_mean(r, kind, strengths))
        .collect();
    mean_std(&per_seed)
}

/// The piece of `model` trained with `seed`.
pub(super) fn piece<'a>(
    results: &'a [PieceResult],
    model: &str,
    seed: u64,
) -> Option<&'a PieceResult> {
    results.iter().find(|r| r.model == model && r.seed == seed)
}

/// [`piece_grid_mean`] of the piece of `model` and `seed` (NaN when it is missing).
pub(super) fn grid_mean(
    results: &[PieceResult],
    model: &str,
    seed: u64,
    kind: &str,
    strengths: &[f64],
) -> f64 {
    piece(results, model, seed).map_or(f64::NAN, |r| piece_grid_mean(r, kind, strengths))
}

/// The paired contrast of a per-model value within one seed: the mean of `value` over the
/// noise-trained models minus its value for the Lipschitz RNN (all of that seed: same data
/// split, initialization, batch order and perturbation draws).
pub(super) fn noisy_minus_lipschitz(value: impl Fn(&str) -> f64) -> f64 {
    let noisy: Vec<f64> = models()
        .iter()
        .filter(|s| s.noisy())
        .map(|s| value(s.name))
        .collect();
    noisy.iter().sum::<f64>() / noisy.len() as f64 - value("lipschitz")
}

/// The paired robustness contrast of one seed and perturbation kind
/// ([`noisy_minus_lipschitz`] of [`grid_mean`]).
pub(super) fn kind_contrast(
    results: &[PieceResult],
    seed: u64,
    kind: &str,
    strengths: &[f64],
) -> f64 {
    noisy_minus_lipschitz(|m| grid_mean(results, m, seed, kind, strengths))
}

/// The pre-registered statistic of claim 7 for one task and seed: the mean over the
/// perturbation kinds of [`kind_contrast`], in accuracy (fraction) units.
pub(super) fn task_contrast(results: &[PieceResult], seed: u64, task: &TaskSpec) -> f64 {
    let kinds = task.grids.perturbations();
    kinds
        .iter()
        .map(|(kind, list)| {
            let st: Vec<f64> = list.iter().map(|p| p.strength()).collect();
            kind_contrast(results, seed, kind, &st)
        })
        .sum::<f64>()
        / kinds.len() as f64
}

/// The pre-registered test of a `robustness_<task>` figure (claim 7).
pub fn task_test() -> Test {
    Test::new(
        "per seed: accuracy under perturbation (mean over each kind's grid of non-zero strengths, then over the 5 \
         kinds), mean of the 5 noise-trained models minus the deterministic Lipschitz RNN, in points",
        Direction::Increase,
    )
}

/// Predicted direction of each theory measure for noise-trained models (docs/theory.md 6,
/// claims 3, 4, 6): `-1` smaller than the deterministic model, `+1` larger.
pub(super) fn predicted_sign(measure: &str) -> f64 {
    match measure {
        "score_margin" | "margin_lower" | "attack_radius" => 1.0,
        _ => -1.0,
    }
}

/// Values of a theory measure for a model, one per seed (non-finite values, such as a
/// margin bound with no correctly classified example, are left out).
pub(super) fn theory_values(results: &[PieceResult], model: &str, measure: &str) -> Vec<f64> {
    results
        .iter()
        .filter(|r| r.model == model)
        .map(|r| piece_theory(r, measure))
        .filter(|v| v.is_finite())
        .collect()
}

/// A theory measure of one piece (NaN when missing).
pub(super) fn piece_theory(r: &PieceResult, measure: &str) -> f64 {
    r.theory
        .as_ref()
        .and_then(|t| t.values.iter().find(|(n, _)| n == measure).map(|(_, v)| *v))
        .unwrap_or(f64::NAN)
}

/// The paired contrast of a theory measure for one seed ([`noisy_minus_lipschitz`]).
pub(super) fn theory_contrast(results: &[PieceResult], seed: u64, measure: &str) -> f64 {
    noisy_minus_lipschitz(|m| {
        piece(results, m, seed).map_or(f64::NAN, |r| piece_theory(r, measure))
    })
}

/// The pre-registered test of the `robustness` overview (claim 7 over every task run).
pub fn overview_test() -> Test {
    Test::new(
        "per seed: the statistic of the per-task figures (noise-trained mean minus Lipschitz RNN, accuracy averaged \
         over each perturbation grid and the 5 kinds, in points), averaged over the tasks run",
        Direction::Increase,
    )
}

/// The pre-registered test of `robustness_theory` (claim 4, stable dynamics).
pub fn theory_test() -> Test {
    Test::new(
        "per seed: top Lyapunov exponent of the deterministic recurrence (per unit time), mean of the 5 \
         noise-trained models minus the Lipschitz RNN, averaged over the tasks with theory measures",
        Direction::Decrease,
    )
}

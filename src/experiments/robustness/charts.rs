//! Charts: the paired-contrast chart of a task and the titles of the perturbation curves.

use super::*;

/// Human-readable name of a perturbation kind and of its strength.
pub(super) fn kind_title(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "white" => ("white noise x + s N(0,1)", "s"),
        "multiplicative" => ("multiplicative noise x (1 + s N(0,1))", "s"),
        "salt-pepper" => ("salt and pepper", "alpha"),
        "fgsm" => ("FGSM attack", "L-inf budget"),
        "pgd" => ("PGD attack", "L-inf budget"),
        _ => ("clean", ""),
    }
}

/// The paired contrasts of a task as one bar chart: per model other than the Lipschitz
/// RNN and per perturbation kind (and clean), the mean over seeds of its grid-mean accuracy
/// minus the Lipschitz RNN's of the same seed, in points, with the 95% Student-t interval.
pub(super) fn contrast_chart(
    ctx: &Ctx,
    task: &TaskSpec,
    results: &[PieceResult],
    seeds: &[u64],
    prefix: &str,
) -> Result<String> {
    use crate::report::plot::{BarChart, Bars, RefLine};
    let kinds = task.grids.perturbations();
    let mut cats: Vec<&str> = vec!["clean"];
    cats.extend(kinds.iter().map(|k| k.0));
    let mut rows = Vec::new();
    for (i, s) in models().iter().enumerate() {
        if s.name == "lipschitz" {
            continue;
        }
        let (mut mu, mut hw) = (Vec::new(), Vec::new());
        for c in &cats {
            let (kind, st): (&str, Vec<f64>) = match kinds.iter().find(|k| k.0 == *c) {
                Some((k, list)) => (k, list.iter().map(|p| p.strength()).collect()),
                None => ("clean-test", vec![0.0]),
            };
            let d: Vec<f64> = seeds
                .iter()
                .map(|&sd| {
                    100.0
                        * (grid_mean(results, s.name, sd, kind, &st)
                            - grid_mean(results, "lipschitz", sd, kind, &st))
                })
                .collect();
            let e = crate::stats::Estimate::of_finite(&d);
            mu.push(e.mean);
            let h = e.half_width(crate::verdict::LEVEL);
            hw.push(if h.is_finite() { h } else { 0.0 });
        }
        rows.push((i, s.label, mu, hw));
    }
    // The data's range, with room below it for the legend.
    let ends = rows
        .iter()
        .flat_map(|r| r.2.iter().zip(&r.3).flat_map(|(m, h)| [m - h, m + h]));
    let (lo, hi) = ends
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1.0);
    let mut chart = BarChart::new(
        Axes::new(
            &format!("{}: each model minus the Lipschitz RNN", task.name),
            "perturbation (accuracy averaged over its grid)",
            "accuracy difference (points)",
        )
        .subtitle(&format!(
            "same seed, mean and 95% interval over {} seeds; above 0: better than the Lipschitz RNN",
            seeds.len()
        ))
        .legend(LegendPos::LowerLeft)
        .y_range(lo - 0.75 * span, hi + 0.05 * span),
        &cats,
    )
    .ref_line(RefLine::horizontal(0.0, "Lipschitz RNN"));
    for (i, label, mu, hw) in rows {
        chart = chart.bars(Bars::symmetric(label, &mu, &hw).color(i));
    }
    let file = format!("{prefix}_contrast.png");
    chart.save(&ctx.out.join(&file))?;
    Ok(file)
}

/// The accuracy curves of a task, one PNG `<prefix>_<kind>.png` per perturbation kind
/// (mean over seeds per model against the strength); returns the file names.
pub(super) fn curve_charts(run: &TaskRun) -> Result<Vec<String>> {
    let (ctx, task, d, results, seeds, prefix) = run.parts();
    let specs = models();
    let kinds = task.grids.perturbations();
    let mut pngs = Vec::new();
    for (kind, list) in &kinds {
        let (title, xlabel) = kind_title(kind);
        let mut xs = vec![0.0];
        xs.extend(list.iter().map(|p| p.strength()));
        let mut plot = LinePlot::new(
            Axes::new(
                &format!("{}: {}", task.title, title),
                xlabel,
                "test accuracy",
            )
            .subtitle(&format!(
                "mean over {} seeds (paired differences with intervals: {prefix}_contrast.png); {} test examples; profile {}",
                seeds.len(),
                if matches!(*kind, "fgsm" | "pgd") {
                    task.attack_examples
                } else {
                    task.eval_examples
                }
                .min(d.test.len()),
                ctx.profile.name()
            ))
            .y_range(0.0, 1.0)
            .legend(LegendPos::LowerLeft),
        );
        for (i, s) in specs.iter().enumerate() {
            let m: Vec<f64> = xs
                .iter()
                .map(|&x| mean_std(&accs(results, s.name, kind, x)).0)
                .collect();
            let mut series = Series::new(s.label, &xs, &m).markers().color(i);
            if !s.noisy() {
                series = series.dashed();
            }
            plot = plot.series(series);
        }
        let file = format!("{prefix}_{kind}.png");
        plot.save(&ctx.out.join(&file))?;
        pngs.push(file);
    }
    Ok(pngs)
}

/// The theory charts of a task: the positive measures relative to the Lipschitz RNN in one
/// chart, kappa and the top Lyapunov exponent (which can be negative) one chart each;
/// returns the file names.
pub(super) fn theory_charts(
    ctx: &Ctx,
    task: &TaskSpec,
    results: &[PieceResult],
    seeds: &[u64],
    measures: &[&str],
) -> Result<Vec<String>> {
    use crate::report::plot::{BarChart, Bars, RefLine};
    let mut pngs = Vec::new();
    // Relative measures (positive ones), each divided by the Lipschitz RNN's mean.
    let rel: Vec<&str> = measures
        .iter()
        .copied()
        .filter(|m| !matches!(*m, "kappa" | "lyapunov_top"))
        .collect();
    let mut chart = BarChart::new(
        Axes::new(&format!("{}: theory measures relative to the Lipschitz RNN", task.title), "", "value / Lipschitz RNN mean")
            .subtitle(&format!("mean ± 1 std over {} seeds; lower is predicted for the first three, higher for the margins", seeds.len())),
        &rel,
    )
    .ref_line(RefLine::horizontal(1.0, "Lipschitz RNN"));
    for (i, s) in theory_models().iter().enumerate() {
        let (mut mu, mut sd) = (Vec::new(), Vec::new());
        for m in &rel {
            let base = mean_std(&theory_values(results, "lipschitz", m)).0;
            let (a, b) = mean_std(&theory_values(results, s.name, m));
            let ok = base.is_finite() && base > 0.0;
            mu.push(if ok { a / base } else { f64::NAN });
            sd.push(if ok && b.is_finite() { b / base } else { 0.0 });
        }
        chart = chart.bars(Bars::symmetric(s.label, &mu, &sd).color(i));
    }
    let file = format!("robustness_theory_{}_relative.png", task.name);
    chart.save(&ctx.out.join(&file))?;
    pngs.push(file);
    // Stability rates can be negative: one chart each, absolute values.
    for (m, title) in [
        (
            "kappa",
            "kappa = lambda_max(A_sym) + ||W||_2 (bound on every exponent)",
        ),
        ("lyapunov_top", "top Lyapunov exponent (deterministic)"),
    ] {
        let mut chart = BarChart::new(
            Axes::new(
                &format!("{}: {title}", task.title),
                "",
                "rate (per unit time)",
            )
            .subtitle(&format!(
                "mean ± 1 std over {} seeds; lower is predicted for noise training",
                seeds.len()
            )),
            &[m],
        )
        .ref_line(RefLine::horizontal(0.0, ""));
        for (i, s) in theory_models().iter().enumerate() {
            let (mu, sd) = mean_std(&theory_values(results, s.name, m));
            chart = chart.bars(
                Bars::symmetric(s.label, &[mu], &[if sd.is_finite() { sd } else { 0.0 }]).color(i),
            );
        }
        let file = format!("robustness_theory_{}_{}.png", task.name, m);
        chart.save(&ctx.out.join(&file))?;
        pngs.push(file);
    }
    Ok(pngs)
}

//! Experiment `margin` (docs/theory.md section 5; section 6, claim 6): classification margins
//! against the training noise level.
//!
//! The models are those of the `hessian` experiment ([`super::hessian::trained_models`]:
//! tanh Lipschitz RNNs on the embedded digits, `diag` noise at several levels, several
//! seeds, stored as pieces in `<out>/pieces/`). For each model, on the first
//! [`super::hessian::Setup::margin_examples`] test examples with the noise off
//! ([`crate::margin::margins`]): the score margin `o_y - max_{j != y} o_j`, the Jacobian
//! lower bound `m / (sqrt 2 ||J(x)||_2)`, the certified bound with the model's global
//! Lipschitz constant, and the attack radius (DeepFool, then bisection). Radii are
//! Euclidean norms over the whole 64-step input sequence (pixels in `[0, 1]`, perturbation
//! not clipped); radius summaries are over the correctly classified examples.
//!
//! Outputs (in `ctx.out`): `margin_examples.csv` (one row per model and example),
//! `margin_vs_noise.csv` (per model: accuracy, medians, means, attack failures and bound
//! violations), `margin_radius_vs_noise.png` (median attack radius and Jacobian lower bound,
//! mean ± 1 std over seeds), `margin_score_vs_noise.png`, `margin_attack_distribution.png` and
//! `margin_lower_distribution.png` (densities of the radii per noise level, pooled over
//! seeds), the manifest `margin_vs_noise.json` and the index entry `margin_vs_noise`.
//! `--replot` redraws the PNGs from the CSVs. Prediction: margins grow with the training
//! noise (at small eps).

use super::figure::{execute, Computed, Figure, Outcome};
use super::hessian::{
    by_eps, fmt_levels, model_file, setup, trend, vs_noise_plot, Setup, Trained, TrainedModel,
};
use super::{per_seed_slope, secondary_slopes, Ctx};
use crate::error::Result;
use crate::margin::{margins, AttackOptions, Summary};
use crate::report::plot::{format_sig, Axes, Histogram, LegendPos, Series};
use crate::report::table::Table;
use crate::stats::Fit;
use crate::table_row;
use crate::train::Split;
use crate::verdict::{judge, secondary_text, Direction, Test};
use std::time::Instant;

/// The claim of the margin figures (docs/theory.md 5 and 6, claim 6).
pub const CLAIM: &str = "Noise training enlarges classification margins: the score margin, its Jacobian lower bound \
and the smallest class-flipping input perturbation grow with the training noise at small eps (docs/theory.md 5; 6, claim 6).";

/// Bins of the radius histograms.
const BINS: usize = 30;

/// Density histogram of the finite values of `v` on `[0, hi]` (`BINS` bins): `(centres, heights)`.
fn histogram(v: &[f64], hi: f64) -> (Vec<f64>, Vec<f64>) {
    let w = hi / BINS as f64;
    let mut h = vec![0.0; BINS];
    let vals: Vec<f64> = v
        .iter()
        .copied()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .collect();
    for &x in &vals {
        let b = ((x / w) as usize).min(BINS - 1);
        h[b] += 1.0;
    }
    let n = vals.len().max(1) as f64;
    let centres = (0..BINS).map(|i| (i as f64 + 0.5) * w).collect();
    (centres, h.into_iter().map(|c| c / (n * w)).collect())
}

fn draw(ctx: &Ctx, per: &Table, ex: &Table, sub: &str) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let f = "margin_radius_vs_noise.png";
    vs_noise_plot(
        per,
        &[
            (
                "median_attack_radius",
                "attack radius (DeepFool + bisection)",
            ),
            ("median_lower_bound", "lower bound m / (sqrt2 ||J(x)||)"),
        ],
        "Input margin of correctly classified test digits (median per model)",
        "Euclidean radius",
        sub,
        false,
    )?
    .save(&ctx.out.join(f))?;
    files.push(f.to_string());
    let f = "margin_score_vs_noise.png";
    vs_noise_plot(
        per,
        &[(
            "median_score_margin",
            "median score margin o_y - max_j o_j (all test examples)",
        )],
        "Score margin against training noise",
        "score margin",
        sub,
        false,
    )?
    .save(&ctx.out.join(f))?;
    files.push(f.to_string());
    let [eps, pred, label] = ex.columns_f64(["eps", "predicted", "label"])?;
    let mut levels: Vec<f64> = Vec::new();
    for &e in &eps {
        if !levels.contains(&e) {
            levels.push(e);
        }
    }
    levels.sort_by(|a, b| a.total_cmp(b));
    for (file, col, title) in [
        (
            "margin_attack_distribution.png",
            "attack_radius",
            "Attack radius of correctly classified test digits",
        ),
        (
            "margin_lower_distribution.png",
            "lower_bound",
            "Jacobian lower bound of correctly classified test digits",
        ),
    ] {
        let vals = ex.column_f64(col)?;
        let right: Vec<bool> = pred.iter().zip(&label).map(|(p, l)| p == l).collect();
        let mut pooled: Vec<f64> = vals
            .iter()
            .zip(&right)
            .filter(|(v, r)| **r && v.is_finite())
            .map(|(v, _)| *v)
            .collect();
        pooled.sort_by(|a, b| a.total_cmp(b));
        let hi = if pooled.is_empty() {
            1.0
        } else {
            pooled[((pooled.len() - 1) as f64 * 0.99) as usize].max(f64::MIN_POSITIVE)
        };
        let mut plot = Histogram::new(
            Axes::new(title, "Euclidean radius", "density")
                .subtitle(sub)
                .legend(LegendPos::UpperRight),
        );
        for (i, &l) in levels.iter().enumerate() {
            let v: Vec<f64> = vals
                .iter()
                .zip(&eps)
                .zip(&right)
                .filter(|((_, e), r)| **e == l && **r)
                .map(|((v, _), _)| *v)
                .collect();
            let (x, y) = histogram(&v, hi);
            let name = if l > 0.0 {
                format!("eps {}", format_sig(l, 3))
            } else {
                "deterministic".into()
            };
            plot = plot.series(Series::new(&name, &x, &y).color(i));
        }
        plot.step(true).save(&ctx.out.join(file))?;
        files.push(file.to_string());
    }
    Ok(files)
}

/// The pre-registered test of `margin_vs_noise`: the per-seed least-squares slope of the
/// median attack radius (the smallest class-flipping input perturbation found, over the
/// correctly classified test examples) against the training noise eps, predicted positive.
/// The attack radius is chosen because it measures the input-space margin itself; the score
/// margin is a logit difference and the Jacobian estimate is first order.
pub fn margin_test() -> Test {
    Test::new(
        "per-seed least-squares slope of the median attack radius (correctly classified test examples) against the training noise eps",
        Direction::Increase,
    )
}

/// Figure `margin_vs_noise` (with the per-example table `margin_examples`).
struct MarginVsNoise<'a> {
    s: &'a Setup,
    sub: String,
    trained: Trained<'a>,
}

impl Figure for MarginVsNoise<'_> {
    fn name(&self) -> &str {
        "margin_vs_noise"
    }
    fn claim(&self) -> &str {
        CLAIM
    }
    fn tables(&self) -> Vec<String> {
        vec!["margin_vs_noise".into(), "margin_examples".into()]
    }
    fn compute(&self, _ctx: &Ctx) -> Result<Computed> {
        let (split, models) = self.trained.get()?;
        let (per, ex) = margin_rows(self.s, split, models)?;
        Ok(Computed {
            tables: vec![per, ex],
            extra: serde_json::Value::Null,
        })
    }
    fn render(&self, ctx: &Ctx, c: &Computed) -> Result<Vec<String>> {
        draw(ctx, &c.tables[0], &c.tables[1], &self.sub)
    }
    fn verdict(&self, ctx: &Ctx, c: &Computed) -> Result<Outcome> {
        outcome(ctx, self.s, c.table())
    }
    fn judges_replot(&self) -> bool {
        false
    }
}

/// The margins of every model: the per-model summary `(eps, seed, measure, value)` and the
/// per-example rows.
fn margin_rows(s: &Setup, split: &Split, models: &[TrainedModel]) -> Result<(Table, Table)> {
    let test = split.test.head(s.margin_examples);
    let opts = AttackOptions::default();
    let mut ex = Table::new(&[
        "eps",
        "seed",
        "example",
        "label",
        "predicted",
        "score_margin",
        "lower_bound",
        "certified_bound",
        "attack_radius",
        "jacobian_norm",
        "attack_steps",
    ]);
    let mut per = Table::new(&["eps", "seed", "measure", "value"]);
    for tm in models {
        let r = margins(&tm.model, &test, &opts)?;
        for (i, e) in r.examples.iter().enumerate() {
            ex.push(table_row![
                tm.eps,
                tm.seed,
                i,
                e.label,
                e.predicted,
                e.score_margin,
                e.lower_bound,
                e.certified_bound.unwrap_or(f64::NAN),
                e.attack_radius.unwrap_or(f64::NAN),
                e.jacobian_norm,
                e.attack_steps
            ])?;
        }
        let mut push = |m: &str, v: f64| per.push(table_row![tm.eps, tm.seed, m, v]);
        let sum = |name: &str, s: &Summary| -> Vec<(String, f64)> {
            vec![
                (format!("median_{name}"), s.median),
                (format!("mean_{name}"), s.mean),
                (format!("q25_{name}"), s.q25),
                (format!("q75_{name}"), s.q75),
            ]
        };
        push("accuracy", r.accuracy)?;
        for (name, s) in [
            ("score_margin", &r.score_margin),
            ("lower_bound", &r.lower_bound),
            ("certified_bound", &r.certified_bound),
            ("attack_radius", &r.attack_radius),
        ] {
            for (m, v) in sum(name, s) {
                push(&m, v)?;
            }
        }
        push("attack_failures", r.attack_failures as f64)?;
        push("bound_violations", r.bound_violations as f64)?;
        push("correct", r.lower_bound.count as f64)?;
        push("lipschitz", r.lipschitz.unwrap_or(f64::NAN))?;
        push("test_accuracy_full", tm.test_accuracy)?;
    }
    Ok((per, ex))
}

/// The sum over models of the values of `measure`.
fn total(per: &Table, measure: &str) -> Result<f64> {
    Ok(per
        .filter_eq("measure", measure)?
        .column_f64("value")?
        .iter()
        .sum())
}

/// The verdict, index text and manifest of `margin_vs_noise` from its per-model table.
fn outcome(ctx: &Ctx, s: &Setup, per: &Table) -> Result<Outcome> {
    let names = [
        "median_attack_radius",
        "median_lower_bound",
        "median_score_margin",
    ];
    let fits: Vec<Fit> = names.iter().map(|m| trend(per, m)).collect::<Result<_>>()?;
    let primary = ctx.judged(judge(
        &margin_test(),
        &per_seed_slope(per, "median_attack_radius")?,
    ));
    let sec = secondary_slopes(
        per,
        &[
            ("median_lower_bound", "median Jacobian margin estimate"),
            ("median_score_margin", "median score margin"),
        ],
        Direction::Increase,
    )?;
    let f3 = |v: f64| format_sig(v, 3);
    let fmt_row = |m: &str| -> Result<String> { Ok(fmt_levels(&by_eps(per, m)?)) };
    let violations = total(per, "bound_violations")?;
    let correct = total(per, "correct")?;
    let failures = total(per, "attack_failures")?;
    let seeds = ctx.seed_list();
    let shows = format!(
        "Medians over the correctly classified test examples, mean over {} seed(s), against the training noise eps. \
         Attack radius: {}. Jacobian lower bound: {}. Score margin (all examples): {}. Accuracy: {}. Pooled least-squares \
         slopes against eps (descriptive): attack radius {} ± {}, lower bound {} ± {}, score margin {} ± {}. \
         Primary statistic (pre-registered): the per-seed slope of the median attack radius against eps; {}. \
         Secondary (per-seed slopes, Holm-adjusted over the two): {}. The attack failed on {} of {} correct examples; the pointwise \
         Jacobian bound exceeded the attack radius on {} of them (it is a first-order estimate, not a bound, for a \
         nonlinear model). The certified bound (global Lipschitz constant, in the CSV) never exceeds the radius but \
         is vacuous here: median {} at eps 0.",
        seeds.len(),
        fmt_row("median_attack_radius")?,
        fmt_row("median_lower_bound")?,
        fmt_row("median_score_margin")?,
        fmt_row("accuracy")?,
        format_sig(fits[0].slope, 3),
        format_sig(fits[0].slope_stderr, 2),
        format_sig(fits[1].slope, 3),
        format_sig(fits[1].slope_stderr, 2),
        format_sig(fits[2].slope, 3),
        format_sig(fits[2].slope_stderr, 2),
        primary.sentence(f3),
        secondary_text(&sec, &["Jacobian estimate", "score margin"], f3),
        failures,
        correct,
        violations,
        format_sig(by_eps(per, "median_certified_bound")?.first().map_or(f64::NAN, |r| r.1), 2),
    );
    let models: Vec<String> = s
        .eps_levels
        .iter()
        .flat_map(|&e| seeds.iter().map(move |&sd| model_file(ctx, s, e, sd)))
        .collect();
    let config =
        serde_json::json!({"setup": s, "attack": AttackOptions::default(), "models": models});
    let mut by = serde_json::Map::new();
    for m in [
        "accuracy",
        "median_attack_radius",
        "median_lower_bound",
        "median_certified_bound",
        "median_score_margin",
    ] {
        by.insert(
            m.into(),
            serde_json::to_value(by_eps(per, m)?).unwrap_or_default(),
        );
    }
    let summary = serde_json::json!({
        "by_eps": by,
        "fits": {"median_attack_radius": fits[0], "median_lower_bound": fits[1], "median_score_margin": fits[2]},
        "attack_failures": failures, "bound_violations": violations, "correct_examples": correct,
        "verdict": primary.verdict.as_str(), "primary": primary, "secondary": sec,
    });
    Ok(Outcome::judged(&primary, shows, seeds, config, summary))
}

/// Run the experiment (see the module docs).
pub fn run(ctx: &Ctx) -> Result<()> {
    let t0 = Instant::now();
    let s = setup(ctx.profile);
    let sub = format!(
        "digits, tanh RNN n={}, {} epochs, diag noise sigma1=sigma2=1; {} test examples; {} seed(s)",
        s.hidden,
        s.epochs,
        s.margin_examples.min(s.test),
        ctx.seeds.max(1)
    );
    let fig = MarginVsNoise {
        s: &s,
        sub,
        trained: Trained::new(ctx, &s),
    };
    execute(ctx, &fig, t0)?;
    Ok(())
}

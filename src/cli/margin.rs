//! `nrnn margin`: classification margins of a model on labelled inputs (noise off).
//!
//! Prints (with `--json`; `--out FILE` also writes it)
//!
//! ```text
//! {"model": path, "data": name, "split": {..} | null,
//!  "examples": [{"index", "label", "predicted", "score_margin", "lower_bound",
//!                "certified_bound", "attack_radius", "jacobian_norm", "attack_steps"}],
//!  "summary": {"accuracy", "score_margin": S, "lower_bound": S, "certified_bound": S,
//!              "attack_radius": S, "attack_failures", "bound_violations", "lipschitz"}}
//! ```
//!
//! with `S = {"count", "mean", "stderr", "min", "q10", "q25", "median", "q75", "q90", "max"}`.
//! `score_margin = o_y - max_{j != y} o_j`; `lower_bound = score_margin / (sqrt 2 ||J(x)||_2)`
//! with the exact input Jacobian; `certified_bound` uses a global Lipschitz constant of the
//! model instead; `attack_radius` is the norm of the smallest class-flipping perturbation
//! found (DeepFool, then bisection; 0 for a misclassified example, null if the attack
//! failed). The radius summaries are over the correctly classified examples. See
//! [`crate::margin`].

use super::eval::check_fit;
use super::fmt::{num, percent, sig};
use crate::json::finite_or_null as jnum;
use crate::margin::{margins, AttackOptions, MarginReport, Summary};
use crate::model::network::Recurrent;
use serde_json::{json, Value};

/// Arguments of `nrnn margin`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model and its inputs.
    #[command(flatten)]
    pub source: super::ModelInputs,
    /// Largest number of DeepFool steps per example.
    #[arg(long, default_value_t = 50)]
    pub max_steps: usize,
    /// DeepFool overshoot, in [0, 1].
    #[arg(long, default_value_t = 0.02)]
    pub overshoot: f64,
    /// `--json` and `--out`.
    #[command(flatten)]
    pub report: super::ReportFlags,
}

fn summary(s: &Summary) -> Value {
    json!({
        "count": s.count, "mean": jnum(s.mean), "stderr": jnum(s.stderr), "min": jnum(s.min),
        "q10": jnum(s.q10), "q25": jnum(s.q25), "median": jnum(s.median), "q75": jnum(s.q75),
        "q90": jnum(s.q90), "max": jnum(s.max),
    })
}

/// A certified bound whose median is below this fraction of the median radius actually
/// needed to flip a prediction (the attack radius, else the first-order lower bound)
/// certifies almost nothing: `nrnn margin` says it is vacuous.
pub const VACUOUS_FRACTION: f64 = 1e-2;

/// Why the certified bound is vacuous (see [`VACUOUS_FRACTION`]), or `None`.
fn vacuous(certified: &Summary, attack: &Summary, lower: &Summary) -> Option<String> {
    let (reference, what) = if attack.count > 0 && attack.median > 0.0 {
        (attack.median, "attack radius")
    } else {
        (lower.median, "first-order lower bound")
    };
    let c = certified.median;
    if certified.count == 0 || !(reference.is_finite() && reference > 0.0 && c.is_finite()) {
        return None;
    }
    (c < VACUOUS_FRACTION * reference).then(|| {
        format!(
            "its median {} is {} times smaller than the median {} {} (below VACUOUS_FRACTION = {}): \
             the global Lipschitz constant of the whole model is far looser than its local slope",
            num(c),
            sig(reference / c.max(f64::MIN_POSITIVE), 2),
            what,
            num(reference),
            num(VACUOUS_FRACTION)
        )
    })
}

/// Run `nrnn margin`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (model, src) = args.source.open(args.report.out.as_deref())?;
    let (d, labeled) = (&src.dataset, src.labeled);
    if !labeled {
        anyhow::bail!("margins need class labels in the inputs file");
    }
    check_fit(&model, d, true)?;
    super::eval::checked_logits(&model, d)?;
    let opts = AttackOptions {
        max_steps: args.max_steps,
        overshoot: args.overshoot,
        ..AttackOptions::default()
    };
    let mut progress = super::progress::Phases::new("margin", 1);
    progress.phase(&format!("bounds and attacks on {} examples", d.len()));
    let r = margins(&model, d, &opts)?;
    drop(progress);
    let out = report_json(&args, &src, &r);
    if args.report.emit(&out)? {
        return Ok(());
    }
    super::print_header(&args.source.model, &model, &src, 10)?;
    print_report(&r, model.cell().name())
}

/// The JSON report (module docs).
fn report_json(args: &Args, src: &super::input::Source, r: &MarginReport) -> Value {
    let examples: Vec<Value> = r
        .examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "index": i, "label": e.label, "predicted": e.predicted,
                "score_margin": jnum(e.score_margin), "lower_bound": jnum(e.lower_bound),
                "certified_bound": e.certified_bound.map_or(Value::Null, jnum),
                "attack_radius": e.attack_radius.map_or(Value::Null, jnum),
                "jacobian_norm": jnum(e.jacobian_norm), "attack_steps": e.attack_steps,
            })
        })
        .collect();
    json!({
        "model": args.source.model.display().to_string(),
        "data": src.dataset.name,
        "split": src.split_json(),
        "examples": examples,
        "summary": {
            "accuracy": jnum(r.accuracy),
            "score_margin": summary(&r.score_margin),
            "lower_bound": summary(&r.lower_bound),
            "certified_bound": summary(&r.certified_bound),
            "attack_radius": summary(&r.attack_radius),
            "attack_failures": r.attack_failures,
            "bound_violations": r.bound_violations,
            "lipschitz": r.lipschitz.map_or(Value::Null, jnum),
        },
    })
}

/// The text report of a model of `cell`.
fn print_report(r: &MarginReport, cell: &str) -> anyhow::Result<()> {
    outln!("accuracy  {}", percent(r.accuracy));
    outln!(
        "{:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>10}",
        "index",
        "label",
        "pred",
        "score",
        "lower",
        "certified",
        "attack"
    );
    let show = r.examples.len().min(20);
    for (i, e) in r.examples.iter().take(show).enumerate() {
        let att = e.attack_radius.map_or("failed".to_string(), num);
        outln!(
            "{:>5} {:>5} {:>5} {:>10} {:>10} {:>10} {:>10}",
            i,
            e.label,
            e.predicted,
            num(e.score_margin),
            num(e.lower_bound),
            e.certified_bound.map_or("n/a".to_string(), num),
            att
        );
    }
    if r.examples.len() > show {
        outln!("  ... {} more (--json prints all)", r.examples.len() - show);
    }
    outln!(
        "{:<16} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "summary",
        "count",
        "mean",
        "q10",
        "median",
        "q90"
    );
    for (name, s) in [
        ("score margin", &r.score_margin),
        ("lower bound", &r.lower_bound),
        ("certified bound", &r.certified_bound),
        ("attack radius", &r.attack_radius),
    ] {
        if s.count == 0 {
            outln!(
                "{:<16} {:>7} (no correctly classified example with this value)",
                name,
                0
            );
            continue;
        }
        outln!(
            "{:<16} {:>7} {:>10} {:>10} {:>10} {:>10}",
            name,
            s.count,
            num(s.mean),
            num(s.q10),
            num(s.median),
            num(s.q90)
        );
    }
    outln!(
        "attack failures {}, lower bound above the attack radius {} (a first-order bound), Lipschitz constant {}",
        r.attack_failures,
        r.bound_violations,
        r.lipschitz.map_or(
            format!("n/a (the {} cell has no certified bound: it needs the Lipschitz RNN's structure)", cell),
            num
        )
    );
    if let Some(why) = vacuous(&r.certified_bound, &r.attack_radius, &r.lower_bound) {
        outln!("note: the certified bound is vacuous: {why}");
    }
    Ok(())
}

//! `nrnn margin`: classification margins of a model on labelled inputs (noise off).
//!
//! Prints (with `--json`; `--out FILE` also writes it)
//!
//! ```text
//! {"model": path, "data": name,
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

use super::eval::{check_fit, load_inputs, load_model};
use crate::margin::{margins, AttackOptions, Summary};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Arguments of `nrnn margin`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model and its inputs.
    #[command(flatten)]
    pub source: super::ModelInputs,
    /// Use the first N examples (default: all).
    #[arg(long)]
    pub examples: Option<usize>,
    /// Seed of synthetic data sets.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Largest number of DeepFool steps per example.
    #[arg(long, default_value_t = 50)]
    pub max_steps: usize,
    /// DeepFool overshoot, in [0, 1].
    #[arg(long, default_value_t = 0.02)]
    pub overshoot: f64,
    /// Print JSON instead of a readable summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file (atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn num(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}

fn summary(s: &Summary) -> Value {
    json!({
        "count": s.count, "mean": num(s.mean), "stderr": num(s.stderr), "min": num(s.min),
        "q10": num(s.q10), "q25": num(s.q25), "median": num(s.median), "q75": num(s.q75),
        "q90": num(s.q90), "max": num(s.max),
    })
}

/// Run `nrnn margin`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(out) = &args.out {
        args.source.check_output("--out", out)?;
    }
    let model = load_model(&args.source.model)?;
    let (d, labeled) = load_inputs(
        args.source.inputs.as_deref(),
        args.source.labels.as_deref(),
        args.source.data.as_deref(),
        args.examples,
        args.seed,
    )?;
    if !labeled {
        anyhow::bail!("margins need class labels in the inputs file");
    }
    check_fit(&model, &d, true)?;
    let opts = AttackOptions {
        max_steps: args.max_steps,
        overshoot: args.overshoot,
        ..AttackOptions::default()
    };
    let r = margins(&model, &d, &opts)?;
    let examples: Vec<Value> = r
        .examples
        .iter()
        .enumerate()
        .map(|(i, e)| {
            json!({
                "index": i, "label": e.label, "predicted": e.predicted,
                "score_margin": num(e.score_margin), "lower_bound": num(e.lower_bound),
                "certified_bound": num(e.certified_bound),
                "attack_radius": e.attack_radius.map_or(Value::Null, num),
                "jacobian_norm": num(e.jacobian_norm), "attack_steps": e.attack_steps,
            })
        })
        .collect();
    let out = json!({
        "model": args.source.model.display().to_string(),
        "data": d.name,
        "examples": examples,
        "summary": {
            "accuracy": num(r.accuracy),
            "score_margin": summary(&r.score_margin),
            "lower_bound": summary(&r.lower_bound),
            "certified_bound": summary(&r.certified_bound),
            "attack_radius": summary(&r.attack_radius),
            "attack_failures": r.attack_failures,
            "bound_violations": r.bound_violations,
            "lipschitz": num(r.lipschitz),
        },
    });
    if super::emit_json(args.out.as_deref(), args.json, &out)? {
        return Ok(());
    }
    super::print_header(&args.source.model, &model, &d, 10)?;
    outln!("accuracy  {:.4}", r.accuracy);
    outln!(
        "{:>5} {:>5} {:>5} {:>12} {:>12} {:>12} {:>12}",
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
        let att = e
            .attack_radius
            .map_or("failed".to_string(), |a| format!("{a:.4e}"));
        outln!(
            "{:>5} {:>5} {:>5} {:>12.4e} {:>12.4e} {:>12.4e} {:>12}",
            i,
            e.label,
            e.predicted,
            e.score_margin,
            e.lower_bound,
            e.certified_bound,
            att
        );
    }
    if r.examples.len() > show {
        outln!("  ... {} more (--json prints all)", r.examples.len() - show);
    }
    outln!(
        "{:<16} {:>7} {:>11} {:>11} {:>11} {:>11}",
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
        outln!(
            "{:<16} {:>7} {:>11.4e} {:>11.4e} {:>11.4e} {:>11.4e}",
            name,
            s.count,
            s.mean,
            s.q10,
            s.median,
            s.q90
        );
    }
    outln!(
        "attack failures {}, lower bound above the attack radius {} (a first-order bound), Lipschitz constant {:.3e}",
        r.attack_failures, r.bound_violations, r.lipschitz
    );
    Ok(())
}

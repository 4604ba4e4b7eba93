//! `nrnn regularizer`: the explicit regularizer `(Q + R)/2` of a model on some inputs, its
//! continuous-time limit, and the Monte Carlo gap it predicts.
//!
//! ```text
//! nrnn regularizer --model M (--inputs X | --data NAME [--examples N]) [--eps 0.2,0.1,0.05]
//!                  [--paths N] [--seed S] [--control-variate] [--per-step] [--grad] [--json]
//! nrnn regularizer --bench [--model M --inputs X] [--bench-hidden 128] [--bench-steps 784]
//! ```
//!
//! The noise form, `sigma1` and `sigma2` come from the model file; the list of eps from the
//! flag (the model file's eps is not used). `Q` and `R` are averaged over the examples. JSON
//! output:
//!
//! ```text
//! {"data", "split": {..} | null, "examples", "loss", "Q", "R", "regularizer": (Q+R)/2, "continuous": {"Q", "R"} | null,
//!  "monte_carlo": [{"eps", "gap_over_eps2", "stderr", "ci_low", "ci_high", "regularizer",
//!                   "remainder", "remainder_stderr"}],
//!  "remainder_slope", "remainder_slope_stderr", "seconds": {"closed_form", "continuous",
//!  "monte_carlo"}, "noise": {...}, "paths", "seed", "control_variate", "confidence",
//!  "per_step": {"q": [..], "r": [..]} (with --per-step: the mean over examples),
//!  "grad": {"m_a", "m_w", "u", "b", "v", "c"[, "dt"]} (with --grad: d((Q + R)/2)/dtheta,
//!          the mean over examples, in the layout of `eval --grad`; "seconds" gains "grad")}
//! ```
//!
//! `continuous` is null for the `code` noise form (no continuous-time limit). Inputs without
//! labels are scored against the deterministic network's own prediction (the arg max of its
//! logits), so `g` and `H` are those of the loss at the predicted class.

use super::fmt::{num, pm, sig};
use super::input::Source;
use crate::data::Target;
use crate::loss::Loss;
use crate::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
use crate::regularizer::{self, McOptions, Options};
use anyhow::{bail, Context};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `nrnn regularizer`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file (`nrnn-model/1` JSON). Required unless `--bench`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The inputs (`--inputs FILE` or `--data NAME --split ...`).
    #[command(flatten)]
    pub input: super::input::InputArgs,
    /// Noise levels eps of the Monte Carlo check, comma-separated, each > 0.
    #[arg(long, value_delimiter = ',', default_value = "0.2,0.1,0.05")]
    pub eps: Vec<f64>,
    /// Antithetic pairs per example (0: skip the Monte Carlo check).
    #[arg(long, default_value_t = 1000)]
    pub paths: usize,
    /// Seed of the Monte Carlo draws (synthetic data sets: `--split-seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use the second-order pathwise term as a control variate.
    #[arg(long)]
    pub control_variate: bool,
    /// Confidence level of the Student-t intervals.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// RK4 steps per input step for the continuous-time values (0: skip them).
    #[arg(long, default_value_t = 2)]
    pub ode_substeps: usize,
    /// Loss: `cross-entropy` or `squared-error` (default: from the data's task).
    #[arg(long)]
    pub loss: Option<String>,
    /// Also report the per-step contributions Q_k, R_k (mean over examples).
    #[arg(long)]
    pub per_step: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also compute the gradient of `(Q + R)/2` (averaged over the examples) in every
    /// parameter, by the exact adjoint (`diag` and `scalar` noise); JSON key `"grad"` in
    /// the layout of `eval --grad`.
    #[arg(long)]
    pub grad: bool,
    /// Benchmark: time the closed form against a Monte Carlo estimate with 1% relative
    /// standard error (extrapolated from a pilot run) on one example. Without `--model`, a
    /// random model of `--bench-hidden` units on a `--bench-steps`-step sine input.
    #[arg(long)]
    pub bench: bool,
    /// Hidden size of the benchmark's random model.
    #[arg(long, default_value_t = 128)]
    pub bench_hidden: usize,
    /// Steps of the benchmark's input.
    #[arg(long, default_value_t = 784)]
    pub bench_steps: usize,
    /// Antithetic pairs of the benchmark's pilot Monte Carlo run.
    #[arg(long, default_value_t = 256)]
    pub bench_pairs: usize,
}

fn parse_loss(s: &str) -> anyhow::Result<Loss> {
    match s {
        "cross-entropy" | "ce" => Ok(Loss::CrossEntropy),
        "squared-error" | "mse" | "se" => Ok(Loss::SquaredError),
        _ => bail!("--loss: \"{s}\" is not one of \"cross-entropy\", \"squared-error\""),
    }
}

/// The data set of the command line (`--inputs` or `--data`), checked against the model;
/// unlabelled inputs get the deterministic network's predicted classes as labels.
fn load_data(args: &Args, model: &Model) -> anyhow::Result<Source> {
    let mut src = args.input.load(None)?;
    let d = &mut src.dataset;
    super::eval::check_fit(model, d, src.labeled)?;
    let o = super::eval::checked_logits(model, d)?;
    if !src.labeled {
        d.labels = (0..o.ncols()).map(|j| o.column(j).imax()).collect();
    }
    d.classes = model.config.classes.max(d.classes);
    Ok(src)
}

/// Everything `nrnn regularizer` computed, for the JSON and the text report.
struct Computed {
    src: Source,
    steps: usize,
    loss: Loss,
    avg: regularizer::DataAverage,
    cont: Option<(f64, f64)>,
    mc: Option<regularizer::MonteCarlo>,
    per_step: Option<(Vec<f64>, Vec<f64>)>,
    grad: Option<regularizer::gradient::ObjectiveGrad>,
    /// Seconds of the closed form, the continuous limit, Monte Carlo and the gradient.
    seconds: [f64; 4],
}

/// Check the flags that do not need the model.
fn check_args(args: &Args) -> anyhow::Result<()> {
    if args.paths > 0 {
        if args.eps.is_empty() {
            bail!("--eps: give at least one noise level");
        }
        if let Some(e) = args.eps.iter().find(|e| !(e.is_finite() && **e > 0.0)) {
            bail!("--eps: {e} is not allowed (expected finite noise levels > 0)");
        }
        if args.paths < 2 {
            bail!(
                "--paths: {} is not allowed (expected 0 to skip, or at least 2 antithetic pairs)",
                args.paths
            );
        }
        if !(args.confidence > 0.0 && args.confidence < 1.0) {
            bail!(
                "--confidence: {} is not allowed (expected a level in (0, 1))",
                args.confidence
            );
        }
    }
    Ok(())
}

/// Run `nrnn regularizer`: closed form (`Q`, `R`, `(Q + R)/2` averaged over the examples),
/// continuous-time values, Monte Carlo estimates of `gap(eps)/eps^2` and the remainder
/// slope; with `--grad`, the gradient of `(Q + R)/2` in every parameter.
///
/// ```
/// use clap::Parser;
/// use nrnn::cli::{Cli, Command};
/// use nrnn::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
/// let dir = tempfile::tempdir().unwrap();
/// let mut cfg = ModelConfig::new(3, 1, 4);
/// cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
/// let path = dir.path().join("m.json");
/// Model::init(cfg, 0.1, 1).unwrap().save(&path).unwrap();
/// let cli = Cli::parse_from(["nrnn", "regularizer", "--model", path.to_str().unwrap(),
///     "--data", "sines", "--examples", "2", "--paths", "20", "--grad", "--json"]);
/// let Command::Regularizer(args) = cli.command else { unreachable!() };
/// nrnn::cli::regularizer::run(args).unwrap();
/// ```
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.bench {
        return run_bench(&args);
    }
    let path = args
        .model
        .as_ref()
        .context("--model is required (or use --bench)")?;
    check_args(&args)?;
    let model = super::eval::load_model(path)?;
    let nz = model.config.noise;
    if nz.sigma1 == 0.0 && nz.sigma2 == 0.0 {
        eprintln!("note: the model's noise has sigma1 = sigma2 = 0, so Q = R = 0");
    }
    if args.grad && nz.form == NoiseForm::Code {
        bail!("--grad: the gradient of Q + R is implemented for the diag and scalar noise forms, not code");
    }
    let c = compute(&args, &model)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json_report(&args, &model, &c))?
        );
        return Ok(());
    }
    text_report(&args, path, &model, &c)
}

/// The closed form, the continuous limit, Monte Carlo and (with `--grad`) the gradient.
fn compute(args: &Args, model: &Model) -> anyhow::Result<Computed> {
    let nz = model.config.noise;
    let src = load_data(args, model)?;
    let batch = src.dataset.all();
    let loss = match &args.loss {
        Some(s) => parse_loss(s)?,
        None => Loss::for_target(&batch.target),
    };
    if loss == Loss::CrossEntropy && matches!(batch.target, Target::Values(_)) {
        bail!("--loss cross-entropy needs class labels; these inputs have real-valued targets");
    }
    let mut progress = super::progress::Phases::new("regularizer", 3 + args.grad as u64);
    progress.phase(&format!("closed form Q, R on {} examples", batch.size));
    let t0 = Instant::now();
    let avg = regularizer::dataset(
        model,
        &batch,
        loss,
        Options {
            per_step: args.per_step,
            code_eps: 0.0,
        },
    )?;
    let closed_seconds = t0.elapsed().as_secs_f64();
    progress.phase("continuous-time limit (RK4)");
    let t1 = Instant::now();
    let cont = if args.ode_substeps > 0 && nz.form != NoiseForm::Code {
        Some(regularizer::continuous::average(
            model,
            &batch,
            loss,
            args.ode_substeps,
        )?)
    } else {
        None
    };
    let cont_seconds = t1.elapsed().as_secs_f64();
    progress.phase(&format!(
        "Monte Carlo: {} eps x {} antithetic pairs x {} examples",
        args.eps.len(),
        args.paths,
        batch.size
    ));
    let t2 = Instant::now();
    let mc = if args.paths > 0 {
        let opts = McOptions {
            eps: args.eps.clone(),
            paths: args.paths,
            seed: args.seed,
            control_variate: args.control_variate,
            confidence: args.confidence,
            keep_samples: false,
        };
        Some(regularizer::monte_carlo(model, &batch, loss, &opts).context("Monte Carlo check")?)
    } else {
        None
    };
    let mc_seconds = t2.elapsed().as_secs_f64();
    let t3 = Instant::now();
    let grad = if args.grad {
        progress.phase(&format!("gradient of (Q + R)/2 on {} examples", batch.size));
        Some(regularizer::gradient::batch_gradient(
            model,
            &batch,
            loss,
            regularizer::gradient::Weights::REGULARIZER,
        )?)
    } else {
        None
    };
    let grad_seconds = t3.elapsed().as_secs_f64();
    drop(progress);
    let per_step = args.per_step.then(|| mean_per_step(&avg, batch.steps));
    Ok(Computed {
        src,
        steps: batch.steps,
        loss,
        avg,
        cont,
        mc,
        per_step,
        grad,
        seconds: [closed_seconds, cont_seconds, mc_seconds, grad_seconds],
    })
}

/// The per-step contributions `Q_k`, `R_k`, averaged over the examples.
fn mean_per_step(avg: &regularizer::DataAverage, k: usize) -> (Vec<f64>, Vec<f64>) {
    let mut q = vec![0.0; k];
    let mut r = vec![0.0; k];
    for reg in &avg.per_example {
        if let Some(ps) = &reg.per_step {
            for i in 0..k {
                q[i] += ps.q[i] / avg.examples as f64;
                r[i] += ps.r[i] / avg.examples as f64;
            }
        }
    }
    (q, r)
}

/// The JSON report (layout in the module docs).
fn json_report(args: &Args, model: &Model, c: &Computed) -> serde_json::Value {
    let nz = model.config.noise;
    let (avg, mc) = (&c.avg, &c.mc);
    let fit = mc.as_ref().and_then(|m| m.remainder_fit.clone());
    let [closed_seconds, cont_seconds, mc_seconds, grad_seconds] = c.seconds;
    let mut out = json!({
        "data": c.src.dataset.name,
        "split": c.src.split_json(),
        "examples": avg.examples,
        "loss": avg.loss,
        "Q": avg.q,
        "R": avg.r,
        "regularizer": avg.value(),
        "continuous": c.cont.map(|(q, r)| json!({"Q": q, "R": r, "substeps": args.ode_substeps})),
        "monte_carlo": mc.as_ref().map(|m| m.estimates.clone()).unwrap_or_default(),
        "remainder_slope": fit.as_ref().map(|f| f.slope),
        "remainder_slope_stderr": fit.as_ref().map(|f| f.stderr),
        "pathwise": mc.as_ref().and_then(|m| m.pathwise).map(|(m, s)| json!({"mean": m, "stderr": s})),
        "seconds": {"closed_form": closed_seconds, "continuous": cont_seconds, "monte_carlo": mc_seconds},
        "noise": {"form": nz.form.name(), "sigma1": nz.sigma1, "sigma2": nz.sigma2},
        "loss_function": match c.loss { Loss::CrossEntropy => "cross-entropy", Loss::SquaredError => "squared-error" },
        "paths": args.paths,
        "seed": args.seed,
        "control_variate": args.control_variate,
        "confidence": args.confidence,
        "per_step": c.per_step.as_ref().map(|(q, r)| json!({"q": q, "r": r})),
    });
    if let Some(g) = &c.grad {
        out["grad"] = crate::model::Recurrent::grad_json(model, &g.grad);
        out["seconds"]["grad"] = json!(grad_seconds);
    }
    out
}

/// The text report.
fn text_report(
    args: &Args,
    path: &std::path::Path,
    model: &Model,
    c: &Computed,
) -> anyhow::Result<()> {
    let nz = model.config.noise;
    let avg = &c.avg;
    let [closed_seconds, cont_seconds, mc_seconds, grad_seconds] = c.seconds;
    outln!(
        "Explicit regularizer of {} on {} ({} examples, {} steps; noise {} sigma1 {} sigma2 {})",
        path.display(),
        c.src.describe(),
        avg.examples,
        c.steps,
        nz.form.name(),
        nz.sigma1,
        nz.sigma2
    );
    outln!("  loss l(hbar_K)     {:>10}", num(avg.loss));
    outln!("  Q                  {:>10}", num(avg.q));
    outln!("  R                  {:>10}", num(avg.r));
    outln!(
        "  (Q + R)/2          {:>10}   ({} s)",
        num(avg.value()),
        sig(closed_seconds, 3)
    );
    match c.cont {
        Some((q, r)) => outln!(
            "  continuous Q, R    {:>10} {:>10}   (RK4, {} substeps, {} s)",
            num(q),
            num(r),
            args.ode_substeps,
            sig(cont_seconds, 3)
        ),
        None if nz.form == NoiseForm::Code => {
            outln!("  continuous         none (the code form has no continuous-time limit)")
        }
        None => {}
    }
    if let Some(m) = &c.mc {
        text_monte_carlo(args, m, mc_seconds)?;
    }
    if let Some((q, r)) = &c.per_step {
        outln!("Per step (mean over examples):");
        outln!("  {:>6} {:>14} {:>14}", "k", "Q_k", "R_k");
        for k in 0..q.len() {
            outln!("  {:>6} {:>10} {:>10}", k, num(q[k]), num(r[k]));
        }
    }
    if let Some(g) = &c.grad {
        outln!(
            "  |grad (Q + R)/2|   {}   ({} s; --json prints it in full)",
            super::eval::grad_norms(&crate::model::Recurrent::grad_json(model, &g.grad), true),
            sig(grad_seconds, 3)
        );
    }
    Ok(())
}

/// The Monte Carlo table of the text report.
fn text_monte_carlo(
    args: &Args,
    m: &regularizer::MonteCarlo,
    mc_seconds: f64,
) -> anyhow::Result<()> {
    outln!(
        "Monte Carlo: {} antithetic pairs per example, seed {}, {}{}% Student-t intervals ({} s)",
        m.paths,
        args.seed,
        if m.control_variate {
            "control variate, "
        } else {
            ""
        },
        sig(100.0 * m.confidence, 3),
        sig(mc_seconds, 3)
    );
    outln!(
        "  {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "eps",
        "gap/eps^2",
        "stderr",
        "ci_low",
        "ci_high",
        "(Q+R)/2"
    );
    for e in &m.estimates {
        outln!(
            "  {:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
            num(e.eps),
            num(e.gap_over_eps2),
            sig(e.stderr, 2),
            num(e.ci_low),
            num(e.ci_high),
            num(e.regularizer)
        );
    }
    match &m.remainder_fit {
        Some(f) => outln!(
            "  remainder slope    {} (expected 4)",
            pm(
                f.slope,
                Some(f.stderr),
                "a line through two points has no residual to estimate it from; give three or more --eps"
            )
        ),
        None => outln!(
            "  remainder slope    not available (needs two eps with a non-zero remainder)"
        ),
    }
    Ok(())
}

fn run_bench(args: &Args) -> anyhow::Result<()> {
    let (model, data) = match &args.model {
        Some(p) => {
            let m = super::eval::load_model(p)?;
            let d = load_data(args, &m)?.dataset;
            (m, d)
        }
        None => {
            if args.bench_hidden == 0 {
                bail!("--bench-hidden must be at least 1");
            }
            crate::error::check_count(
                "bench-steps",
                args.bench_steps,
                1,
                super::bench::MAX_BENCH_STEPS,
            )?;
            let mut cfg = ModelConfig::new(args.bench_hidden, 1, 10);
            cfg.noise = NoiseSpec::new(NoiseForm::Diag, 0.1, 1.0, 1.0)?;
            let m = Model::init(cfg, 0.01, args.seed)?;
            let d = crate::data::sines(1, args.bench_steps, 10, args.seed)?;
            (m, d)
        }
    };
    let batch = data.all();
    let loss = match &args.loss {
        Some(s) => parse_loss(s)?,
        None => Loss::for_target(&batch.target),
    };
    let eps = *args
        .eps
        .last()
        .context("--eps: give at least one noise level")?;
    let r = regularizer::bench(&model, &batch, 0, loss, eps, args.bench_pairs, args.seed)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    outln!(
        "Closed form vs Monte Carlo (hidden {}, {} steps, one example)",
        r.hidden,
        r.steps
    );
    outln!(
        "  closed form        {} s  ({} GFLOP, {} GFLOP/s)",
        sig(r.closed_form_seconds, 3),
        sig(r.closed_form_gflop, 3),
        sig(r.closed_form_gflop / r.closed_form_seconds, 3)
    );
    outln!("  (Q + R)/2          {}", num(r.regularizer));
    outln!(
        "  pilot Monte Carlo  {} pairs at eps {} in {} s: gap/eps^2 = {}",
        r.pilot_pairs,
        num(r.eps),
        sig(r.pilot_seconds, 3),
        pm(r.estimate, Some(r.stderr), "too few pairs")
    );
    outln!("  pairs for 1% rse   {}", sig(r.pairs_for_1pct.ceil(), 3));
    outln!(
        "  Monte Carlo at 1%  {} s (extrapolated)",
        sig(r.mc_seconds_for_1pct, 3)
    );
    outln!("  speed-up           {}x", sig(r.speedup, 3));
    Ok(())
}

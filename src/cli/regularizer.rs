//! `nrnn regularizer`: the explicit regularizer `(Q + R)/2` of a model on some inputs, its
//! continuous-time limit, and the Monte Carlo gap it predicts.
//!
//! ```text
//! nrnn regularizer --model M (--inputs X | --data NAME [--examples N]) [--eps 0.2,0.1,0.05]
//!                  [--paths N] [--seed S] [--control-variate] [--per-step] [--json]
//! nrnn regularizer --bench [--model M --inputs X] [--bench-hidden 128] [--bench-steps 784]
//! ```
//!
//! The noise form, `sigma1` and `sigma2` come from the model file; the list of eps from the
//! flag (the model file's eps is not used). `Q` and `R` are averaged over the examples. JSON
//! output:
//!
//! ```text
//! {"examples", "loss", "Q", "R", "regularizer": (Q+R)/2, "continuous": {"Q", "R"} | null,
//!  "monte_carlo": [{"eps", "gap_over_eps2", "stderr", "ci_low", "ci_high", "regularizer",
//!                   "remainder", "remainder_stderr"}],
//!  "remainder_slope", "remainder_slope_stderr", "seconds": {"closed_form", "continuous",
//!  "monte_carlo"}, "noise": {...}, "paths", "seed", "control_variate", "confidence",
//!  "per_step": {"q": [..], "r": [..]} (with --per-step: the mean over examples)}
//! ```
//!
//! `continuous` is null for the `code` noise form (no continuous-time limit). Inputs without
//! labels are scored against the deterministic network's own prediction (the arg max of its
//! logits), so `g` and `H` are those of the loss at the predicted class.

use crate::data::{Dataset, Target};
use crate::loss::Loss;
use crate::model::{Model, ModelConfig, NoiseForm, NoiseSource, NoiseSpec};
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
    /// Input sequences (`nrnn-inputs/1` JSON, `.npy` or `.npz`).
    #[arg(long, conflicts_with = "data")]
    pub inputs: Option<PathBuf>,
    /// Labels of `.npy` inputs: an integer `.npy` with one label per example.
    #[arg(long, requires = "inputs")]
    pub labels: Option<PathBuf>,
    /// A data set name instead of an inputs file (see `nrnn data list`).
    #[arg(long)]
    pub data: Option<String>,
    /// Number of examples of `--data` (its first N; synthetic sets are generated with N).
    #[arg(long)]
    pub examples: Option<usize>,
    /// Noise levels eps of the Monte Carlo check, comma-separated, each > 0.
    #[arg(long, value_delimiter = ',', default_value = "0.2,0.1,0.05")]
    pub eps: Vec<f64>,
    /// Antithetic pairs per example (0: skip the Monte Carlo check).
    #[arg(long, default_value_t = 1000)]
    pub paths: usize,
    /// Seed of the Monte Carlo draws (and of synthetic data sets).
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
fn load_data(args: &Args, model: &Model) -> anyhow::Result<Dataset> {
    let (mut d, labeled) = super::eval::load_inputs(
        args.inputs.as_deref(),
        args.labels.as_deref(),
        args.data.as_deref(),
        args.examples,
        args.seed,
    )?;
    super::eval::check_fit(model, &d, labeled)?;
    if !labeled {
        let o = model.logits(&d.all(), NoiseSource::Off);
        d.labels = (0..o.ncols()).map(|j| o.column(j).imax()).collect();
    }
    d.classes = model.config.classes.max(d.classes);
    Ok(d)
}

/// Run `nrnn regularizer`: closed form (`Q`, `R`, `(Q + R)/2` averaged over the examples),
/// continuous-time values, Monte Carlo estimates of `gap(eps)/eps^2` and the remainder slope.
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
///     "--data", "sines", "--examples", "2", "--paths", "20", "--json"]);
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
    let model = super::eval::load_model(path)?;
    let nz = model.config.noise;
    if nz.sigma1 == 0.0 && nz.sigma2 == 0.0 {
        eprintln!("note: the model's noise has sigma1 = sigma2 = 0, so Q = R = 0");
    }
    let data = load_data(&args, &model)?;
    let batch = data.all();
    let loss = match &args.loss {
        Some(s) => parse_loss(s)?,
        None => Loss::for_target(&batch.target),
    };
    if loss == Loss::CrossEntropy && matches!(batch.target, Target::Values(_)) {
        bail!("--loss cross-entropy needs class labels; these inputs have real-valued targets");
    }
    let t0 = Instant::now();
    let avg = regularizer::dataset(
        &model,
        &batch,
        loss,
        Options {
            per_step: args.per_step,
            code_eps: 0.0,
        },
    )?;
    let closed_seconds = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let cont = if args.ode_substeps > 0 && nz.form != NoiseForm::Code {
        Some(regularizer::continuous::average(
            &model,
            &batch,
            loss,
            args.ode_substeps,
        )?)
    } else {
        None
    };
    let cont_seconds = t1.elapsed().as_secs_f64();
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
        Some(regularizer::monte_carlo(&model, &batch, loss, &opts).context("Monte Carlo check")?)
    } else {
        None
    };
    let mc_seconds = t2.elapsed().as_secs_f64();
    let per_step = if args.per_step {
        let k = batch.steps;
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
        Some((q, r))
    } else {
        None
    };
    let fit = mc.as_ref().and_then(|m| m.remainder_fit.clone());
    if args.json {
        let out = json!({
            "examples": avg.examples,
            "loss": avg.loss,
            "Q": avg.q,
            "R": avg.r,
            "regularizer": avg.value(),
            "continuous": cont.map(|(q, r)| json!({"Q": q, "R": r, "substeps": args.ode_substeps})),
            "monte_carlo": mc.as_ref().map(|m| m.estimates.clone()).unwrap_or_default(),
            "remainder_slope": fit.as_ref().map(|f| f.slope),
            "remainder_slope_stderr": fit.as_ref().map(|f| f.stderr),
            "pathwise": mc.as_ref().and_then(|m| m.pathwise).map(|(m, s)| json!({"mean": m, "stderr": s})),
            "seconds": {"closed_form": closed_seconds, "continuous": cont_seconds, "monte_carlo": mc_seconds},
            "noise": {"form": nz.form.name(), "sigma1": nz.sigma1, "sigma2": nz.sigma2},
            "loss_function": match loss { Loss::CrossEntropy => "cross-entropy", Loss::SquaredError => "squared-error" },
            "paths": args.paths,
            "seed": args.seed,
            "control_variate": args.control_variate,
            "confidence": args.confidence,
            "per_step": per_step.as_ref().map(|(q, r)| json!({"q": q, "r": r})),
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    outln!(
        "Explicit regularizer of {} ({} examples, {} steps; noise {} sigma1 {} sigma2 {})",
        path.display(),
        avg.examples,
        batch.steps,
        nz.form.name(),
        nz.sigma1,
        nz.sigma2
    );
    outln!("  loss l(hbar_K)     {:>14.6e}", avg.loss);
    outln!("  Q                  {:>14.6e}", avg.q);
    outln!("  R                  {:>14.6e}", avg.r);
    outln!(
        "  (Q + R)/2          {:>14.6e}   ({closed_seconds:.3} s)",
        avg.value()
    );
    match cont {
        Some((q, r)) => outln!(
            "  continuous Q, R    {q:>14.6e} {r:>14.6e}   (RK4, {} substeps, {cont_seconds:.3} s)",
            args.ode_substeps
        ),
        None if nz.form == NoiseForm::Code => {
            outln!("  continuous         none (the code form has no continuous-time limit)")
        }
        None => {}
    }
    if let Some(m) = &mc {
        outln!(
            "Monte Carlo: {} antithetic pairs per example, seed {}, {}{:.0}% Student-t intervals ({mc_seconds:.3} s)",
            m.paths,
            args.seed,
            if m.control_variate { "control variate, " } else { "" },
            100.0 * m.confidence
        );
        outln!(
            "  {:>8} {:>14} {:>12} {:>14} {:>14} {:>14}",
            "eps",
            "gap/eps^2",
            "stderr",
            "ci_low",
            "ci_high",
            "(Q+R)/2"
        );
        for e in &m.estimates {
            outln!(
                "  {:>8} {:>14.6e} {:>12.3e} {:>14.6e} {:>14.6e} {:>14.6e}",
                e.eps,
                e.gap_over_eps2,
                e.stderr,
                e.ci_low,
                e.ci_high,
                e.regularizer
            );
        }
        match &fit {
            Some(f) => outln!(
                "  remainder slope    {:.3} +- {:.3} (expected 4)",
                f.slope,
                f.stderr
            ),
            None => outln!(
                "  remainder slope    not available (needs two eps with a non-zero remainder)"
            ),
        }
    }
    if let Some((q, r)) = &per_step {
        outln!("Per step (mean over examples):");
        outln!("  {:>6} {:>14} {:>14}", "k", "Q_k", "R_k");
        for k in 0..q.len() {
            outln!("  {:>6} {:>14.6e} {:>14.6e}", k, q[k], r[k]);
        }
    }
    Ok(())
}

fn run_bench(args: &Args) -> anyhow::Result<()> {
    let (model, data) = match &args.model {
        Some(p) => {
            let m = super::eval::load_model(p)?;
            let d = load_data(args, &m)?;
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
        "  closed form        {:.3} s  ({:.1} GFLOP, {:.2} GFLOP/s)",
        r.closed_form_seconds,
        r.closed_form_gflop,
        r.closed_form_gflop / r.closed_form_seconds
    );
    outln!("  (Q + R)/2          {:.6e}", r.regularizer);
    outln!(
        "  pilot Monte Carlo  {} pairs at eps {} in {:.3} s: gap/eps^2 = {:.6e} +- {:.2e}",
        r.pilot_pairs,
        r.eps,
        r.pilot_seconds,
        r.estimate,
        r.stderr
    );
    outln!("  pairs for 1% rse   {:.0}", r.pairs_for_1pct);
    outln!(
        "  Monte Carlo at 1%  {:.1} s (extrapolated)",
        r.mc_seconds_for_1pct
    );
    outln!("  speed-up           {:.0}x", r.speedup);
    Ok(())
}

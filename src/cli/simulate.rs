//! `nrnn simulate`: noisy hidden-state trajectories of a model, as a tidy CSV.
//!
//! Path `p` of example `e` runs the Euler-Maruyama recursion of the model's noise form
//! (see [`crate::model::forward`]) with the standard draws of
//! `stream(seed, [TAG_SIMULATE, p, e])` ([`crate::model::NoiseDraw::draw`]), so a path does
//! not depend on which other paths or examples are simulated. The CSV has one row per
//! `(path, example, step, unit)`: `path,example,step,unit,h`, steps `0..=K` (`h_0 = 0`),
//! written atomically.

use super::eval::{check_fit, load_inputs, load_model};
use crate::model::{forward, NoiseDraw, NoiseForm, NoiseSpec};
use rayon::prelude::*;
use std::path::PathBuf;

/// Stream tag of the simulated noise.
pub const TAG_SIMULATE: u64 = 0x5349_4D55_4C00_0001;

/// Largest number of CSV rows `nrnn simulate` writes.
pub const MAX_ROWS: usize = 50_000_000;

/// Arguments of `nrnn simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model and its inputs.
    #[command(flatten)]
    pub source: super::ModelInputs,
    /// Number of examples (the first N; default 1 with --data, all with --inputs).
    #[arg(long)]
    pub examples: Option<usize>,
    /// Noisy paths per example.
    #[arg(long, default_value_t = 10)]
    pub paths: usize,
    /// Seed of the noise (and of synthetic data sets).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Noise level eps (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// Additive level sigma1 (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma1: Option<f64>,
    /// Multiplicative level sigma2 (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma2: Option<f64>,
    /// Noise form diag, scalar or code (default: the model's).
    #[arg(long)]
    pub noise: Option<String>,
    /// Output CSV file.
    #[arg(long)]
    pub out: PathBuf,
}

fn level(name: &str, v: Option<f64>, default: f64) -> anyhow::Result<f64> {
    match v {
        None => Ok(default),
        Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
        Some(x) => anyhow::bail!("invalid parameter `{name}` = {x}: expected a finite number >= 0"),
    }
}

/// Run `nrnn simulate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    args.source.check_output("--out", &args.out)?;
    if args.paths == 0 {
        anyhow::bail!("invalid parameter `paths` = 0: expected at least 1");
    }
    let mut model = load_model(&args.source.model)?;
    let examples = args.examples.or(if args.source.data.is_some() {
        Some(1)
    } else {
        None
    });
    let (d, _) = load_inputs(
        args.source.inputs.as_deref(),
        args.source.labels.as_deref(),
        args.source.data.as_deref(),
        examples,
        args.seed,
    )?;
    check_fit(&model, &d, false)?;
    let spec = model.config.noise;
    let form = match &args.noise {
        Some(f) => NoiseForm::parse(f)
            .map_err(|_| anyhow::anyhow!("invalid parameter `noise` = \"{f}\": expected one of \"diag\", \"scalar\", \"code\""))?,
        None => spec.form,
    };
    let eps = level("eps", args.eps, spec.eps)?;
    let sigma1 = level("sigma1", args.sigma1, spec.sigma1)?;
    let sigma2 = level("sigma2", args.sigma2, spec.sigma2)?;
    model.config.noise = NoiseSpec::new(form, eps, sigma1, sigma2)?;
    let (n, steps, b) = (model.config.hidden, d.steps, d.len());
    let rows = args
        .paths
        .saturating_mul(b)
        .saturating_mul(steps + 1)
        .saturating_mul(n);
    if rows > MAX_ROWS {
        anyhow::bail!(
            "invalid parameter `paths` = {}: {} paths x {b} examples x {} states x {n} units = {rows} rows, more than {MAX_ROWS}; use fewer paths or examples",
            args.paths,
            args.paths,
            steps + 1
        );
    }
    if model.config.noise.is_off() {
        eprintln!("note: the noise is off (eps = {eps}, sigma1 = {sigma1}, sigma2 = {sigma2}): every path is the deterministic trajectory");
    }
    let batch = d.all();
    let ids: Vec<u64> = (0..b as u64).collect();
    let cfg = &model.config;
    let chunks: Vec<String> = (0..args.paths)
        .into_par_iter()
        .map(|p| {
            let draw = if cfg.noise.is_off() {
                None
            } else {
                Some(NoiseDraw::draw(
                    form,
                    n,
                    steps,
                    args.seed,
                    &[TAG_SIMULATE, p as u64],
                    &ids,
                ))
            };
            let tape = forward(
                cfg,
                &model.params,
                &batch.x,
                steps,
                b,
                draw.as_ref(),
                None,
                true,
            );
            let mut s = String::with_capacity(b * (steps + 1) * n * 32);
            for e in 0..b {
                for k in 0..=steps {
                    let col = tape.h.column(k * b + e);
                    for (i, h) in col.iter().enumerate() {
                        s.push_str(&format!(
                            "{p},{e},{k},{i},{}\n",
                            crate::report::table::format_f64(*h)
                        ));
                    }
                }
            }
            s
        })
        .collect();
    let mut text = String::from("path,example,step,unit,h\n");
    for c in &chunks {
        text.push_str(c);
    }
    crate::report::write_atomic(&args.out, text.as_bytes())?;
    eprintln!(
        "{} paths x {b} examples x {} steps x {n} units ({} noise, eps {eps}, sigma1 {sigma1}, sigma2 {sigma2}) -> {}",
        args.paths,
        steps,
        form.name(),
        args.out.display()
    );
    Ok(())
}

//! The `nrnn` command line: one subcommand per tool, each in its own file, each thin
//! (argument parsing and printing; the science is in the library).

pub mod bench;
pub mod data;
pub mod eval;
pub mod hessian;
pub mod lyapunov;
pub mod margin;
pub mod regularizer;
pub mod reproduce;
pub mod simulate;
pub mod stability;
pub mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The model and the inputs a command runs on: `--model FILE` and either `--inputs FILE`
/// or `--data NAME` (shared by `eval`, `simulate`, `hessian` and `margin`).
#[derive(clap::Args, Debug)]
pub struct ModelInputs {
    /// Model file (`nrnn-model/1` JSON, as written by `nrnn train`).
    #[arg(long)]
    pub model: PathBuf,
    /// Inputs file (`nrnn-inputs/1` JSON; `hessian` and `margin` need its labels).
    #[arg(long, conflicts_with = "data", required_unless_present = "data")]
    pub inputs: Option<PathBuf>,
    /// Named data set instead of an inputs file (see `nrnn data list`).
    #[arg(long)]
    pub data: Option<String>,
}

/// Noisy recurrent neural networks: train, evaluate, and check the theory.
#[derive(Parser, Debug)]
#[command(name = "nrnn", version, about, long_about = None)]
pub struct Cli {
    /// Subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
// Parsed once per run, so the size of its largest variant costs nothing worth boxing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model (flags or a config file); writes model JSON, history CSV, manifest.
    Train(train::Args),
    /// Evaluate a model on inputs (noise off): loss, accuracy, logits, optional gradient.
    Eval(eval::Args),
    /// Simulate noisy hidden-state trajectories to CSV.
    Simulate(simulate::Args),
    /// Fetch or list data sets.
    #[command(subcommand)]
    Data(data::DataCmd),
    /// Speed benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// The explicit regularizer (Q + R)/2 against Monte Carlo.
    Regularizer(regularizer::Args),
    /// Stability conditions and Lyapunov exponents side by side.
    Stability(stability::Args),
    /// Lyapunov spectrum of the hidden dynamics.
    Lyapunov(lyapunov::Args),
    /// Hessian spectrum and trace of the training loss.
    Hessian(hessian::Args),
    /// Classification margins: score margin, lower bound, attack radius.
    Margin(margin::Args),
    /// Regenerate every figure and table.
    Reproduce(reproduce::Args),
}

/// Run the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(a) => train::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Data(c) => data::run(c),
        Command::Bench(c) => bench::run(c),
        Command::Regularizer(a) => regularizer::run(a),
        Command::Stability(a) => stability::run(a),
        Command::Lyapunov(a) => lyapunov::run(a),
        Command::Hessian(a) => hessian::run(a),
        Command::Margin(a) => margin::run(a),
        Command::Reproduce(a) => reproduce::run(a),
    }
}

/// Write a command's JSON report to `--out` (atomically) and print it with `--json`.
/// Returns whether it was printed (then the readable report is skipped).
pub(crate) fn emit_json(
    out: Option<&std::path::Path>,
    json: bool,
    report: &serde_json::Value,
) -> anyhow::Result<bool> {
    if let Some(path) = out {
        crate::report::write_json_atomic(path, report)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    }
    Ok(json)
}

/// The first lines of a readable report: the model file and its shape, the data set.
pub(crate) fn print_header(
    model_path: &std::path::Path,
    model: &crate::model::Model,
    d: &crate::data::Dataset,
    width: usize,
) {
    let c = &model.config;
    println!(
        "{:<width$}{} (hidden {}, input {}, classes {})",
        "model",
        model_path.display(),
        c.hidden,
        c.input,
        c.classes
    );
    println!(
        "{:<width$}{} ({} examples of {} steps; noise off)",
        "data",
        d.name,
        d.len(),
        d.steps
    );
}

//! The `nrnn` command line: one subcommand per tool, each in its own file, each thin
//! (argument parsing and printing; the science is in the library).

/// `println!` for the commands: writes a line to the locked standard output and, on failure,
/// returns from the enclosing function with the error: [`StdoutClosed`] when the reader of
/// a pipe has gone (`nrnn ... | head -1`), otherwise the I/O error with "writing to
/// standard output". `println!` would panic instead.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            return Err($crate::cli::stdout_error(e).into());
        }
    }};
}

pub mod bench;
pub mod bench_gemm;
pub mod data;
pub mod eval;
pub mod fmt;
pub mod hessian;
pub mod input;
pub mod interop;
pub mod lyapunov;
pub mod margin;
pub mod pieces;
pub mod progress;
pub mod regularizer;
pub mod reproduce;
pub mod simulate;
pub mod stability;
pub mod train;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// The model and the inputs a command runs on: `--model FILE` and the shared input flags
/// ([`input::InputArgs`]: `--inputs FILE` or `--data NAME --split ...`), shared by `eval`,
/// `simulate`, `hessian` and `margin`.
#[derive(clap::Args, Debug)]
pub struct ModelInputs {
    /// Model file (`nrnn-model/1` JSON, as written by `nrnn train`).
    #[arg(long)]
    pub model: PathBuf,
    /// The inputs.
    #[command(flatten)]
    pub input: input::InputArgs,
}

impl ModelInputs {
    /// Refuse an output path (flag `flag`) that is `--model` or `--inputs` (see
    /// [`check_output_not_input`]).
    pub fn check_output(&self, flag: &str, out: &std::path::Path) -> anyhow::Result<()> {
        check_output_not_input(
            (flag, out),
            &[
                ("--model", Some(&self.model)),
                ("--inputs", self.input.input_path()),
                ("--labels", self.input.labels.as_deref()),
            ],
        )
    }

    /// Refuse an output path `--out` that is an input, then load the model (any cell) and
    /// the inputs.
    pub fn open(
        &self,
        out: Option<&std::path::Path>,
    ) -> anyhow::Result<(crate::model::Network, input::Source)> {
        if let Some(out) = out {
            self.check_output("--out", out)?;
        }
        let model = eval::load_network(&self.model)?;
        Ok((model, self.input.load(None)?))
    }
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
    /// Import another toolkit's weights (the authors' NoisyRNN) as an nrnn-model/1 file.
    #[command(subcommand)]
    Import(interop::ImportCmd),
    /// Export a model as another toolkit's weights (the authors' NoisyRNN).
    #[command(subcommand)]
    Export(interop::ExportCmd),
}

/// The reader of standard output has closed it (a broken pipe, as in `nrnn ... | head -1`).
/// The program stops writing and exits quietly with status 0: the reader asked for no
/// more output, which is not a failure of the command.
#[derive(Debug, thiserror::Error)]
#[error("standard output closed by its reader (broken pipe)")]
pub struct StdoutClosed;

/// The error of a failed write to standard output: [`StdoutClosed`] for a broken pipe,
/// otherwise the I/O error with context.
pub fn stdout_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(StdoutClosed)
    } else {
        anyhow::Error::new(e).context("writing to standard output")
    }
}

/// Whether `a` and `b` name the same existing file: the same device and inode (so also
/// through symbolic and hard links) on Unix, equal canonical paths elsewhere. False when
/// either does not exist.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let (a, b) = (d.path().join("a"), d.path().join("b"));
/// std::fs::write(&a, b"x").unwrap();
/// std::fs::hard_link(&a, &b).unwrap();
/// assert!(nrnn::cli::same_file(&a, &b));
/// assert!(!nrnn::cli::same_file(&a, &d.path().join("c")));
/// ```
pub fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
    }
}

/// Refuse, before any work, an output path that is one of the command's own inputs
/// (compared with [`same_file`]): `out` is the output flag and its path, `inputs` the input
/// flags and their paths (`None` for a flag not given). The message names both flags.
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// let m = d.path().join("m.json");
/// std::fs::write(&m, b"{}").unwrap();
/// let e = nrnn::cli::check_output_not_input(("--out", &m), &[("--model", Some(&m))]).unwrap_err();
/// assert!(e.to_string().contains("--out") && e.to_string().contains("--model"));
/// assert!(nrnn::cli::check_output_not_input(("--out", &d.path().join("o.json")), &[("--model", Some(&m))]).is_ok());
/// ```
pub fn check_output_not_input(
    out: (&str, &std::path::Path),
    inputs: &[(&str, Option<&std::path::Path>)],
) -> anyhow::Result<()> {
    for (flag, path) in inputs {
        if let Some(p) = path {
            if same_file(out.1, p) {
                anyhow::bail!(
                    "{} {} is the same file as {flag} {}: refusing to overwrite an input; choose another output path",
                    out.0,
                    out.1.display(),
                    p.display()
                );
            }
        }
    }
    Ok(())
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
        Command::Import(c) => interop::run_import(c),
        Command::Export(c) => interop::run_export(c),
    }
}

/// The report flags shared by `nrnn eval`, `hessian` and `margin`: `--json` and
/// `--out FILE`.
#[derive(clap::Args, Debug)]
pub struct ReportFlags {
    /// Print JSON instead of a readable summary.
    #[arg(long)]
    pub json: bool,
    /// Also write the JSON report to this file (atomically).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

impl ReportFlags {
    /// Write `report` to `--out` when given, and print it as pretty JSON with `--json`;
    /// returns whether it was printed (the readable summary is then left out).
    pub(crate) fn emit(&self, report: &serde_json::Value) -> anyhow::Result<bool> {
        if let Some(path) = &self.out {
            crate::report::write_json_atomic(path, report)?;
        }
        if self.json {
            outln!("{}", serde_json::to_string_pretty(report)?);
        }
        Ok(self.json)
    }
}

/// The first lines of a readable report: the model file and its shape, the data (which
/// set, which split, how many examples).
pub(crate) fn print_header<M: crate::model::Recurrent>(
    model_path: &std::path::Path,
    model: &M,
    src: &input::Source,
    width: usize,
) -> anyhow::Result<()> {
    // The Lipschitz RNN's header as it always was; another cell is named.
    let cell = match model.cell() {
        crate::model::CellKind::Lipschitz => String::new(),
        c => format!("{} cell, ", c.name()),
    };
    outln!(
        "{:<width$}{} ({cell}hidden {}, input {}, classes {}; noise off)",
        "model",
        model_path.display(),
        model.hidden(),
        model.input(),
        model.classes()
    );
    outln!(
        "{:<width$}{} ({} examples of {} steps)",
        "data",
        src.describe(),
        src.dataset.len(),
        src.dataset.steps
    );
    Ok(())
}

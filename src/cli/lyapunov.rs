//! `nrnn lyapunov`: the Lyapunov spectrum of a model's hidden dynamics.
//!
//! ```text
//! nrnn lyapunov --model M [--inputs X | --data NAME [--split S]] [--eps E] [--spectrum k] [--steps N] [--transient N0]
//!               [--paths P] [--seed S] [--h0-scale s] [--reorth m] [--running FILE.csv] [--json]
//! ```
//! Every cell: the Lipschitz RNN, and the LSTM, GRU and coRNN (their state `[h; c]`, `h`,
//! `[y; z]`, their tangent map by exact Jacobian-vector products; see
//! [`crate::dynamics::tangent`]).
//! The first `k` exponents per unit time (time unit: the mean step of the model; the
//! coRNN's `dt`; one step for the LSTM and GRU), sorted
//! from the largest, by the QR method over `N` steps after a transient of `N0`, averaged
//! over `P` noise paths with standard errors (batch means with one path). Noise: the model
//! file's form, `sigma1`, `sigma2` and `eps`; `--eps` overrides `eps` (`--eps 0`: the
//! deterministic network). Input: zero, or the first example's sequence of `--inputs X` (an
//! `nrnn-inputs/1` file) or of `--data NAME` (its `--split`, default test), cycled when
//! `N0 + N` exceeds its length. The default transient `N0` is [`DEFAULT_TRANSIENT`], the same
//! as `nrnn stability`'s. The state starts at
//! `h_0 = 0` (docs/theory.md section 1), or at `h_0 ~ N(0, s^2 I)` with `--h0-scale s`.
//! `--running` writes the running estimate (tidy CSV `step,time,index,mean,stderr`, about
//! 200 rows per exponent, written atomically).

use super::fmt::{num, sig};
use crate::dynamics::{spectrum, Dynamics, LyapunovOptions, Spectrum};
use crate::model::network::{Network, Recurrent};
use crate::model::{Model, NoiseSpec};
use crate::report::table::{Cell, Table};
use anyhow::Context;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Arguments of `nrnn lyapunov`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model, its input and its noise level.
    #[command(flatten)]
    pub system: SystemArgs,
    /// Number of exponents k (1 to the hidden size).
    #[arg(long, default_value_t = 1)]
    pub spectrum: usize,
    /// Steps N over which the exponents are accumulated.
    #[arg(long, default_value_t = 10_000)]
    pub steps: usize,
    /// Transient steps N0, discarded (the same default as `nrnn stability`).
    #[arg(long, default_value_t = DEFAULT_TRANSIENT)]
    pub transient: usize,
    /// Independent noise paths P.
    #[arg(long, default_value_t = 4)]
    pub paths: usize,
    /// Seed of the noise and of the initial tangent basis.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Initial state `h_0 ~ N(0, s^2 I)` (seeded by `--seed`; default 0: `h_0 = 0`, which
    /// with zero input and `b = 0` is a fixed point).
    #[arg(long, default_value_t = 0.0)]
    pub h0_scale: f64,
    /// Reorthonormalize every m steps (1 is always safe; larger is faster for large k).
    #[arg(long, default_value_t = 1)]
    pub reorth: usize,
    /// Write the running estimate to this CSV file.
    #[arg(long)]
    pub running: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The system a dynamics command runs (`nrnn lyapunov`, `nrnn stability`): a model, its
/// driving input and its noise level.
#[derive(clap::Args, Debug)]
pub struct SystemArgs {
    /// Model file (`nrnn-model/1` JSON).
    #[arg(long)]
    pub model: PathBuf,
    /// The driving input: the first example of `--inputs FILE` or of `--data NAME
    /// --split ...`, cycled. Default: zero input.
    #[command(flatten)]
    pub input: super::input::InputArgs,
    /// Noise level eps, overriding the model file's (0: deterministic).
    #[arg(long, allow_hyphen_values = true)]
    pub eps: Option<f64>,
}

impl SystemArgs {
    /// The model and its input ([`load`]) and the noise of `--eps` ([`noise_of`]).
    pub fn load<M: Recurrent>(&self) -> anyhow::Result<(Loaded<M>, NoiseSpec)> {
        let l = load(&self.model, &self.input)?;
        let noise = noise_of(&l.model, self.eps)?;
        Ok((l, noise))
    }
}

/// A model and its driving input, as read from the command line.
pub struct Loaded<M = Model> {
    /// The model.
    pub model: M,
    /// The input sequence (`steps * p` values, step-major), `None` for zero input.
    pub inputs: Option<Vec<f64>>,
    /// How the input was chosen, for the output.
    pub input_note: String,
}

/// Transient steps discarded before the exponents of `nrnn lyapunov` and `nrnn
/// stability` are accumulated, unless `--transient` is given.
pub const DEFAULT_TRANSIENT: usize = 1_000;

/// Read `--model` and the driving input: the first example of `--inputs` or `--data`
/// (checked against the model's input size), or zero input when neither is given.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let dir = tempfile::tempdir().unwrap();
/// let m = Model::init(ModelConfig::new(2, 1, 2), 0.1, 1).unwrap();
/// m.save(&dir.path().join("m.json")).unwrap();
/// let x = dir.path().join("x.json");
/// std::fs::write(&x, r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [2]], [[3], [4]]]}"#).unwrap();
/// let input = nrnn::cli::input::InputArgs { inputs: Some(x), ..Default::default() };
/// let l: nrnn::cli::lyapunov::Loaded = nrnn::cli::lyapunov::load(&dir.path().join("m.json"), &input).unwrap();
/// assert_eq!(l.inputs, Some(vec![1.0, 2.0]));
/// ```
pub fn load<M: Recurrent>(
    model: &Path,
    input: &super::input::InputArgs,
) -> anyhow::Result<Loaded<M>> {
    let m = crate::model::io::read_model_file(model, M::from_json).context("model file")?;
    if !input.given() {
        return Ok(Loaded {
            model: m,
            inputs: None,
            input_note: "zero input".to_string(),
        });
    }
    let src = input.load(Some(1))?;
    let d = &src.dataset;
    super::eval::check_fit(&m, d, false)?;
    let note = format!(
        "first example of {} ({} steps, cycled)",
        src.describe(),
        d.steps
    );
    Ok(Loaded {
        model: m,
        inputs: Some(d.sequence(0).to_vec()),
        input_note: note,
    })
}

/// The model's noise with `eps` overridden if given (checked).
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(2, 1, 2), 0.1, 1).unwrap();
/// assert_eq!(nrnn::cli::lyapunov::noise_of(&m, Some(0.3)).unwrap().eps, 0.3);
/// assert!(nrnn::cli::lyapunov::noise_of(&m, Some(-0.3)).is_err());
/// ```
pub fn noise_of<M: Recurrent>(model: &M, eps: Option<f64>) -> anyhow::Result<NoiseSpec> {
    let n = match eps {
        Some(e) => model.noise().with_eps(e),
        None => *model.noise(),
    };
    n.validate().context("--eps")?;
    Ok(n)
}

/// The running estimate as a tidy table `step,time,index,mean,stderr` (stderr empty with
/// one path).
///
/// ```
/// use nrnn::dynamics::{spectrum, Dynamics, LyapunovOptions};
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let sys = Dynamics::new(&m, None, m.config.noise).unwrap();
/// let o = LyapunovOptions { record_every: 10, ..LyapunovOptions::new(2, 100) };
/// let t = nrnn::cli::lyapunov::running_table(&spectrum(&sys, &o).unwrap()).unwrap();
/// assert_eq!(t.len(), 10 * 2);
/// ```
pub fn running_table(s: &Spectrum) -> anyhow::Result<Table> {
    let mut t = Table::new(&["step", "time", "index", "mean", "stderr"]);
    for p in &s.running {
        for i in 0..p.mean.len() {
            let se = p
                .stderr
                .as_ref()
                .map_or(Cell::Str(String::new()), |e| Cell::Num(e[i]));
            t.push(vec![
                Cell::from(p.step),
                Cell::from(p.time),
                Cell::from(i + 1),
                Cell::from(p.mean[i]),
                se,
            ])?;
        }
    }
    Ok(t)
}

/// `h_0 ~ N(0, scale^2 I)` from `stream(seed, &[TAG_H0])`, or `None` (zero) for scale 0.
///
/// ```
/// let h = nrnn::cli::lyapunov::initial_state(3, 2.0, 1).unwrap().unwrap();
/// assert_eq!(h.len(), 3);
/// assert!(nrnn::cli::lyapunov::initial_state(3, 0.0, 1).unwrap().is_none());
/// assert!(nrnn::cli::lyapunov::initial_state(3, -1.0, 1).is_err());
/// ```
pub fn initial_state(n: usize, scale: f64, seed: u64) -> anyhow::Result<Option<Vec<f64>>> {
    if !(scale.is_finite() && scale >= 0.0) {
        return Err(crate::Error::param("h0-scale", scale, "a finite number >= 0").into());
    }
    if scale == 0.0 {
        return Ok(None);
    }
    let mut h = vec![0.0; n];
    crate::rng::fill_normal(&mut crate::rng::stream(seed, &[TAG_H0]), &mut h);
    Ok(Some(h.into_iter().map(|v| v * scale).collect()))
}

/// Stream tag of the random initial state of `--h0-scale`.
pub const TAG_H0: u64 = 0x4C59_4150_4830;

/// Run `nrnn lyapunov`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(out) = &args.running {
        super::check_output_not_input(
            ("--running", out),
            &[
                ("--model", Some(&args.system.model)),
                ("--inputs", args.system.input.input_path()),
            ],
        )?;
    }
    crate::dynamics::lyapunov::check_work(args.steps, args.transient, args.paths)?;
    let (l, noise): (Loaded<Network>, _) = args.system.load()?;
    let sys = Dynamics::new(&l.model, l.inputs.as_deref(), noise)?;
    let opts = LyapunovOptions {
        k: args.spectrum,
        steps: args.steps,
        transient: args.transient,
        paths: args.paths,
        seed: args.seed,
        reorth_every: args.reorth,
        record_every: if args.running.is_some() {
            (args.steps / 200).max(1)
        } else {
            0
        },
        h0: initial_state(sys.hidden(), args.h0_scale, args.seed)?,
    };
    let mut progress = super::progress::Phases::new("lyapunov", 1);
    progress.phase(&format!(
        "{} exponent(s) over {} + {} steps x {} path(s)",
        args.spectrum, args.transient, args.steps, args.paths
    ));
    let s = spectrum(&sys, &opts)?;
    drop(progress);
    if let Some(path) = &args.running {
        running_table(&s)?
            .write(path)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.json {
        let out = json!({
            "exponents": s.exponents,
            "stderr": s.stderr,
            "stderr_method": s.stderr_method,
            "stderr_paths": s.stderr_paths,
            "time_unit": s.time_unit,
            "steps": s.steps,
            "transient": s.transient,
            "paths": s.paths,
            "seed": args.seed,
            "h0_scale": args.h0_scale,
            "reorth": args.reorth,
            "noise": noise,
            "noisy": s.noisy,
            "input": l.input_note,
            "seconds": s.seconds,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "Lyapunov exponents per unit time (time unit {}), {} steps after {} transient, {} path(s), noise {} eps {} sigma1 {} sigma2 {}, {}",
            num(s.time_unit),
            s.steps,
            s.transient,
            s.paths,
            noise.form.name(),
            noise.eps,
            noise.sigma1,
            noise.sigma2,
            l.input_note
        );
        outln!("{:>5}  {:>10}  {:>10}", "i", "exponent", "stderr");
        for (i, (e, se)) in s.exponents.iter().zip(&s.stderr).enumerate() {
            let se = if se.is_finite() {
                sig(*se, 2)
            } else {
                "none (too few paths or batches)".to_string()
            };
            outln!("{:>5}  {:>10}  {:>10}", i + 1, num(*e), se);
        }
        outln!(
            "standard errors by {}; {} s",
            s.stderr_method,
            sig(s.seconds, 3)
        );
    }
    Ok(())
}

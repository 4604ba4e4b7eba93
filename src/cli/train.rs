//! `nrnn train`: train a model from flags or a JSON configuration file.
//!
//! The settings start from the defaults ([`crate::train::RunConfig`]), or from `--config
//! FILE`, or with `--resume` from the run's own `config.json`; every flag given overrides
//! them. Everything is checked before anything is written: an invalid value is refused
//! with the flag's name and the allowed range. The run writes `DIR/config.json`,
//! `DIR/history.csv`, `DIR/checkpoint.json` (after each epoch), `DIR/model.json` (the model
//! selected on validation accuracy), `DIR/model_last.json` and `DIR/manifest.json`, and
//! prints one summary line (or the manifest with `--json`). A directory that holds a run is
//! refused unless `--resume` (continue; a setting other than a raised `--epochs` that
//! differs from its `config.json` is refused, naming it) or `--force` (start over); a run
//! holds the lock `DIR/.lock`, so a second run into the same directory is refused
//! ([`crate::train::run_with`]).

use crate::model::{Activation, NoiseForm};
use crate::train::optim::OptimizerKind;
use crate::train::RunConfig;
use std::path::PathBuf;

/// Arguments of `nrnn train`. Unset flags keep the value of the configuration file (or the
/// default shown in `nrnn train --help`).
#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Data set (`digits`, `sines`, `adding`, `mnist`, `mnist14`, `pmnist`, `pmnist255`,
    /// `mnist10k`, `mnist10k14`, `ecg5000`, `ecg5000-binary`; default digits; see
    /// `nrnn data list`).
    #[arg(long)]
    pub data: Option<String>,
    /// Use only the first N examples of the data set.
    #[arg(long)]
    pub examples: Option<usize>,
    /// The split: --val-count, --test-count, --split-seed.
    #[command(flatten)]
    pub split: super::input::SplitCounts,
    /// Hidden units (default 64).
    #[arg(long)]
    pub hidden: Option<usize>,
    /// Step d of the discretization (default 0.5).
    #[arg(long, allow_negative_numbers = true)]
    pub dt: Option<f64>,
    /// Learn a per-unit step (`--learn-dt` or `--learn-dt false`).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub learn_dt: Option<bool>,
    /// Mix of symmetric and skew parts of A and W, in [0, 1] (default 0.75).
    #[arg(long, allow_negative_numbers = true)]
    pub beta: Option<f64>,
    /// Diagonal shift gamma of A and W (default 0.001).
    #[arg(long, allow_negative_numbers = true)]
    pub gamma: Option<f64>,
    /// Activation: tanh, identity, relu (default tanh).
    #[arg(long)]
    pub activation: Option<String>,
    /// Keep the A h term of the drift (`--a-term false`: antisymmetric RNN).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub a_term: Option<bool>,
    /// Initialization scale: M_A, M_W ~ N(0, (s/n)^2) (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub init_scale: Option<f64>,
    /// Noise form: diag, scalar, code (default diag).
    #[arg(long)]
    pub noise: Option<String>,
    /// Noise level eps >= 0 (default 0: deterministic training).
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// Additive noise level sigma1 >= 0 (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma1: Option<f64>,
    /// Multiplicative noise level sigma2 >= 0 (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub sigma2: Option<f64>,
    /// Inject the noise during training (`--train-noise false` trains a noisy model's
    /// configuration deterministically).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub train_noise: Option<bool>,
    /// What to minimize: `noise` (the loss of the noisy network, the default) or
    /// `explicit` (deterministically `l + (eps^2/2)(Q + R)` with the exact gradient of
    /// Q + R, for diag or scalar noise at --eps, --sigma1, --sigma2; the history gains the
    /// columns loss, q, r and noisy_val_loss).
    #[arg(long)]
    pub objective: Option<String>,
    /// With --objective explicit: estimate Q, R and their gradient from this many probes
    /// per example (O(n^2) per step and probe, unbiased) instead of the exact sweep
    /// (O(n^3) per step); in [2, 65536].
    #[arg(long)]
    pub probes: Option<usize>,
    /// Epochs (default 30).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Mini-batch size (default 32).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Learning rate (default 0.005).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Optimizer: adam or sgd (default adam).
    #[arg(long)]
    pub optimizer: Option<String>,
    /// Momentum of sgd, in [0, 1) (default 0.9).
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// Epochs (1-based, comma-separated) at which the learning rate is multiplied by
    /// --decay-factor (default: round(0.55 * epochs), round(0.85 * epochs)); the paper:
    /// --epochs 100 --decay-epochs 90 --decay-factor 0.1.
    #[arg(long, value_delimiter = ',')]
    pub decay_epochs: Option<Vec<usize>>,
    /// Learning-rate multiplier at each decay epoch, in (0, 1] (default 0.3).
    #[arg(long, allow_negative_numbers = true)]
    pub decay_factor: Option<f64>,
    /// Clip the gradient to this global norm (default 5; 0: no clipping).
    #[arg(long, allow_negative_numbers = true)]
    pub clip: Option<f64>,
    /// Seed of initialization, shuffles and noise (default 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The recurrent cell: lipschitz (default), lstm, gru or cornn. The baselines use
    /// --hidden, the noise flags (--noise diag only) and the training flags; the
    /// Lipschitz-only flags (--dt, --beta, --gamma, --activation, --a-term, --init-scale)
    /// do not apply to them, --learn-dt is refused.
    #[arg(long)]
    pub cell: Option<String>,
    /// coRNN step dt, in (0, 10] (default 0.042).
    #[arg(long, allow_negative_numbers = true)]
    pub cornn_dt: Option<f64>,
    /// coRNN gamma, in [0, 1000] (default 2.7).
    #[arg(long, allow_negative_numbers = true)]
    pub cornn_gamma: Option<f64>,
    /// coRNN eps (damping), in [0, 1000] (default 4.7).
    #[arg(long, allow_negative_numbers = true)]
    pub cornn_eps: Option<f64>,
    /// Output directory.
    #[arg(long, default_value = "runs/train")]
    pub out: PathBuf,
    /// Continue the run in --out from its checkpoint, with the settings of its config.json
    /// (only --epochs may be given, to raise the epoch count).
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Start over in an --out that holds a run: its files are removed first (without
    /// --resume or --force such a directory is refused).
    #[arg(long)]
    pub force: bool,
    /// JSON configuration file (keys: the flag names with `_`, e.g. {"hidden": 32,
    /// "val_count": 100}); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the manifest as JSON instead of the summary line.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The run configuration: the base (file, saved run, or defaults) with the flags applied,
    /// checked.
    pub fn run_config(&self) -> crate::Result<RunConfig> {
        let mut c = if let Some(path) = &self.config {
            RunConfig::load(path)?
        } else if self.resume && self.out.join("config.json").is_file() {
            RunConfig::load(&self.out.join("config.json"))?
        } else {
            RunConfig::default()
        };
        macro_rules! set {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.$field = v.clone(); } )* };
        }
        macro_rules! set_train {
            ($($field:ident),*) => { $( if let Some(v) = &self.$field { c.train.$field = v.clone(); } )* };
        }
        set!(data, hidden, dt, learn_dt, beta, gamma, a_term, init_scale, eps, sigma1, sigma2);
        set!(cornn_dt, cornn_gamma, cornn_eps);
        if let Some(cell) = &self.cell {
            c.cell = crate::model::CellKind::parse(cell)?;
        }
        let sp = &self.split;
        if let Some(v) = sp.val_count {
            c.val_count = v;
        }
        if let Some(v) = sp.test_count {
            c.test_count = v;
        }
        if let Some(v) = sp.split_seed {
            c.split_seed = v;
        }
        set_train!(train_noise, epochs, batch, lr, momentum, decay_factor, seed);
        if let Some(n) = self.examples {
            c.examples = Some(n);
        }
        if let Some(a) = &self.activation {
            c.activation = Activation::parse(a)?;
        }
        if let Some(f) = &self.noise {
            c.noise = NoiseForm::parse(f).map_err(|_| {
                crate::Error::param(
                    "noise",
                    format!("\"{f}\""),
                    "one of \"diag\", \"scalar\", \"code\"",
                )
            })?;
        }
        if let Some(o) = &self.objective {
            c.train.objective = crate::train::config::Objective::parse(o)?;
        }
        if let Some(p) = self.probes {
            c.train.probes = Some(p);
        }
        if let Some(o) = &self.optimizer {
            c.train.optimizer = OptimizerKind::parse(o)?;
        }
        if let Some(d) = &self.decay_epochs {
            c.train.decay_epochs = Some(d.clone());
        }
        if let Some(clip) = self.clip {
            c.train.clip = if clip == 0.0 { None } else { Some(clip) };
        }
        if self.quiet {
            c.train.progress = false;
        }
        c.validate()?;
        Ok(c)
    }
}

/// Run `nrnn train`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(config) = &args.config {
        let out = args.out.as_path();
        super::check_output_not_input(("--out", out), &[("--config", Some(config))])?;
        for name in crate::train::RUN_FILES {
            let file = args.out.join(name);
            super::check_output_not_input(
                (&format!("--out (its {name})"), &file),
                &[("--config", Some(config))],
            )?;
        }
    }
    let cfg = args.run_config()?;
    let start = match (args.resume, args.force) {
        (true, _) => crate::train::Start::Resume,
        (false, true) => crate::train::Start::Force,
        (false, false) => crate::train::Start::Fresh,
    };
    let out = crate::train::run_cell(&cfg, Some(&args.out), start)?;
    let m = &out.manifest;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(m)?);
        return Ok(());
    }
    use super::fmt::{num, percent, sig};
    // An accuracy is missing for regression, a test accuracy also without a test set.
    let pct = |a: Option<f64>, examples: usize| match a {
        Some(a) => percent(a),
        None if examples == 0 => "n/a (no test set)".to_string(),
        None => "n/a (regression)".to_string(),
    };
    outln!(
        "{}: test accuracy {} (test loss {}), val accuracy {}, best epoch {} of {}, {} s -> {}",
        m.data.name,
        pct(m.test_accuracy, m.data.test),
        m.test_loss.map_or("n/a".to_string(), num),
        pct(m.val_accuracy, m.data.val),
        m.best_epoch,
        m.epochs_run,
        sig(m.wall_seconds, 3),
        args.out.join("model.json").display()
    );
    Ok(())
}

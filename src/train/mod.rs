//! Training: optimizers on flat parameter vectors ([`optim`]), the trainer that owns the
//! epoch loop, validation and checkpoints ([`trainer`]), the configuration of a run
//! ([`config`]), and [`run`], which does what `nrnn train` does: load and split the data,
//! initialize, fit, evaluate on the test set, write the model and a manifest.
//!
//! ```no_run
//! // The defaults train the embedded digits to > 90% test accuracy in seconds.
//! let out = nrnn::train::run(&nrnn::train::RunConfig::noisy(), None, false).unwrap();
//! assert!(out.manifest.test_accuracy.unwrap() >= 0.9);
//! ```

pub mod config;
pub mod optim;
pub mod trainer;

/// The files a training run writes in its output directory (`nrnn train --out DIR`).
pub const RUN_FILES: [&str; 6] = [
    "config.json",
    trainer::CHECKPOINT_FILE,
    trainer::HISTORY_FILE,
    "model.json",
    "model_last.json",
    "manifest.json",
];

pub use config::{RunConfig, TrainConfig};
pub use optim::{Adam, OptimState, Optimizer, OptimizerKind, Sgd, StepDecay};
pub use trainer::{fit, fit_resume, EpochRecord, Fitted};

use crate::data::{Dataset, Task};
use crate::error::{Error, Result};
use crate::model::Model;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// Format tag of a training manifest.
pub const MANIFEST_FORMAT: &str = "nrnn-train/1";

/// The three parts of a data set used by a run.
#[derive(Clone, Debug)]
pub struct Split {
    /// Training examples.
    pub train: Dataset,
    /// Validation examples (model selection).
    pub val: Dataset,
    /// Test examples (reported only; possibly empty).
    pub test: Dataset,
}

/// How a run's data were split (written into the manifest).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitInfo {
    /// Data set name.
    pub name: String,
    /// Examples available before the split.
    pub total: usize,
    /// Training examples.
    pub train: usize,
    /// Validation examples.
    pub val: usize,
    /// Test examples.
    pub test: usize,
    /// Seed of the split.
    pub split_seed: u64,
    /// How the split is made.
    pub method: String,
}

/// Load the data set of `cfg` and split it into `(train, val, test)` of
/// `total - val_count - test_count`, `val_count` and `test_count` examples: a seeded
/// shuffle ([`Dataset::split_counts`] with `split_seed`), the same for every training seed.
///
/// ```
/// let (s, info) = nrnn::train::load_split(&nrnn::train::RunConfig::default()).unwrap();
/// assert_eq!((s.train.len(), s.val.len(), s.test.len()), (1197, 200, 400));
/// assert_eq!(info.total, 1797);
/// ```
pub fn load_split(cfg: &RunConfig) -> Result<(Split, SplitInfo)> {
    let data = crate::data::by_name(&cfg.data, cfg.examples, cfg.split_seed)?;
    split_dataset(&data, cfg.val_count, cfg.test_count, cfg.split_seed)
}

/// Split `data` into `(train, val, test)` with `val` and `test` examples (at least one
/// training example must remain); see [`load_split`].
///
/// ```
/// let d = nrnn::data::digits().head(100);
/// let (s, _) = nrnn::train::split_dataset(&d, 20, 10, 0).unwrap();
/// assert_eq!((s.train.len(), s.val.len(), s.test.len()), (70, 20, 10));
/// assert!(nrnn::train::split_dataset(&d, 60, 40, 0).unwrap_err().to_string().contains("val_count"));
/// ```
pub fn split_dataset(
    data: &Dataset,
    val: usize,
    test: usize,
    seed: u64,
) -> Result<(Split, SplitInfo)> {
    let n = data.len();
    if val.checked_add(test).is_none_or(|s| s >= n) {
        return Err(Error::param(
            "val_count + test_count",
            format!("{val} + {test}"),
            &format!(
                "less than the {n} examples of `{}` (at least one training example)",
                data.name
            ),
        ));
    }
    let (train, v, t) = data.split_counts(n - val - test, val, test, seed)?;
    let info = SplitInfo {
        name: data.name.clone(),
        total: n,
        train: train.len(),
        val: v.len(),
        test: t.len(),
        split_seed: seed,
        method: "seeded shuffle, then train / val / test in that order (nrnn::data::Dataset::split_counts)".into(),
    };
    Ok((
        Split {
            train,
            val: v,
            test: t,
        },
        info,
    ))
}

/// What `nrnn train` writes to `manifest.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainManifest {
    /// `nrnn-train/1`.
    pub format: String,
    /// The command line of the run.
    pub command: String,
    /// The full configuration.
    pub config: RunConfig,
    /// The data split.
    pub data: SplitInfo,
    /// Training seed (initialization, shuffles, noise).
    pub seed: u64,
    /// Version of this crate.
    pub crate_version: String,
    /// `git rev-parse HEAD` (with `-dirty`), or `unknown`.
    pub git_revision: String,
    /// Creation time, UTC.
    pub created: String,
    /// Wall time of the run in seconds.
    pub wall_seconds: f64,
    /// Threads of the rayon pool (the result does not depend on it).
    pub threads: usize,
    /// Trainable scalars.
    pub parameters: usize,
    /// Epochs in the history.
    pub epochs_run: usize,
    /// Epoch of the selected (best on validation) model.
    pub best_epoch: usize,
    /// Mean training loss of the last epoch.
    pub last_train_loss: f64,
    /// Validation loss of the selected model, noise off.
    pub val_loss: f64,
    /// Validation accuracy of the selected model (classification only).
    pub val_accuracy: Option<f64>,
    /// Test loss of the selected model, noise off (none without a test set).
    pub test_loss: Option<f64>,
    /// Test accuracy of the selected model (classification with a test set).
    pub test_accuracy: Option<f64>,
}

/// The result of [`run`].
#[derive(Clone, Debug)]
pub struct RunOutcome {
    /// Models and history.
    pub fitted: Fitted,
    /// The data used.
    pub split: Split,
    /// The manifest (also written to `out/manifest.json` when `out` is given).
    pub manifest: TrainManifest,
}

/// The model of the checkpoint in `run_dir` (the state after its last epoch).
pub fn checkpoint_model(run_dir: &Path) -> Result<Model> {
    let path = run_dir.join(trainer::CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    Model::from_json(&v["model"]).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Do a whole training run: check `cfg`, load and split the data, initialize the model
/// (`Model::init_scaled` with `dt`, `init_scale`, `seed`), [`fit`] (or [`fit_resume`] from
/// `out/checkpoint.json` with `resume`), evaluate the selected model on the validation and
/// test sets (noise off). With `out`, write `config.json` (before training),
/// `history.csv` and `checkpoint.json` (every epoch), `model.json` (selected model),
/// `model_last.json` and `manifest.json`. Nothing is written when the configuration or
/// the data are invalid.
///
/// ```
/// use nrnn::train::{RunConfig, TrainConfig};
/// let cfg = RunConfig {
///     examples: Some(120), val_count: 30, test_count: 30, hidden: 6,
///     train: TrainConfig { epochs: 2, progress: false, ..Default::default() },
///     ..RunConfig::default()
/// };
/// let dir = tempfile::tempdir().unwrap();
/// let out = nrnn::train::run(&cfg, Some(dir.path()), false).unwrap();
/// assert_eq!(out.manifest.epochs_run, 2);
/// assert!(dir.path().join("model.json").is_file());
/// let bad = RunConfig { eps: -1.0, ..cfg };
/// let empty = tempfile::tempdir().unwrap();
/// assert!(nrnn::train::run(&bad, Some(empty.path()), false).unwrap_err().to_string().contains("eps"));
/// assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
/// ```
pub fn run(cfg: &RunConfig, out: Option<&Path>, resume: bool) -> Result<RunOutcome> {
    let start = Instant::now();
    cfg.validate()?;
    let (split, info) = load_split(cfg)?;
    let mcfg = cfg.model_config(split.train.input_dim, split.train.classes)?;
    let model = Model::init_scaled(mcfg.clone(), cfg.dt, cfg.init_scale, cfg.train.seed)?;
    trainer::check_data(&model, &split.train, "train")?;
    let fitted = match (out, resume) {
        (Some(dir), true) => {
            let prev = checkpoint_model(dir)?;
            if prev.config != mcfg {
                return Err(Error::Format {
                    path: dir.join(trainer::CHECKPOINT_FILE).display().to_string(),
                    message: format!(
                        "the checkpoint's model configuration differs from the given one:\n  checkpoint: {:?}\n  given:      {mcfg:?}",
                        prev.config
                    ),
                });
            }
            let fitted = fit_resume(dir, &split.train, &split.val, &cfg.train)?;
            crate::report::write_json_atomic(&dir.join("config.json"), cfg)?;
            fitted
        }
        (None, true) => {
            return Err(Error::param(
                "resume",
                true,
                "an output directory holding checkpoint.json",
            ))
        }
        (Some(dir), false) => {
            crate::report::write_json_atomic(&dir.join("config.json"), cfg)?;
            fit(model, &split.train, &split.val, &cfg.train, Some(dir))?
        }
        (None, false) => fit(model, &split.train, &split.val, &cfg.train, None)?,
    };
    let loss = trainer::loss_for(split.train.task);
    let classify = split.train.task == Task::Classification;
    let (val_loss, val_acc) = fitted.model.evaluate(&split.val.all(), loss);
    let (test_loss, test_acc) = if split.test.is_empty() {
        (None, None)
    } else {
        let (l, a) = fitted.model.evaluate(&split.test.all(), loss);
        (Some(l), if classify { Some(a) } else { None })
    };
    let mut manifest = TrainManifest {
        format: MANIFEST_FORMAT.into(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        config: cfg.clone(),
        data: info,
        seed: cfg.train.seed,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        git_revision: crate::report::manifest::git_revision(),
        created: crate::report::manifest::utc_now(),
        wall_seconds: 0.0,
        threads: rayon::current_num_threads(),
        parameters: fitted.model.n_flat(),
        epochs_run: fitted.history.len(),
        best_epoch: fitted.best_epoch,
        last_train_loss: fitted.history.last().map_or(f64::NAN, |r| r.train_loss),
        val_loss,
        val_accuracy: if classify { Some(val_acc) } else { None },
        test_loss,
        test_accuracy: test_acc,
    };
    if let Some(dir) = out {
        fitted.model.save(&dir.join("model.json"))?;
        fitted.last.save(&dir.join("model_last.json"))?;
        manifest.wall_seconds = start.elapsed().as_secs_f64();
        crate::report::write_json_atomic(&dir.join("manifest.json"), &manifest)?;
    } else {
        manifest.wall_seconds = start.elapsed().as_secs_f64();
    }
    Ok(RunOutcome {
        fitted,
        split,
        manifest,
    })
}

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
use crate::model::baseline::Baseline;
use crate::model::{Model, Network, Recurrent};
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

/// The result of [`run`] (of [`run_cell`]: with `M` = [`Network`]).
#[derive(Clone, Debug)]
pub struct RunOutcome<M = Model> {
    /// Models and history.
    pub fitted: Fitted<M>,
    /// The data used.
    pub split: Split,
    /// The manifest (also written to `out/manifest.json` when `out` is given).
    pub manifest: TrainManifest,
}

/// The path and JSON value of the checkpoint in `run_dir`.
fn checkpoint_json(run_dir: &Path) -> Result<(std::path::PathBuf, serde_json::Value)> {
    let path = run_dir.join(trainer::CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let v = serde_json::from_str(&text).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    Ok((path, v))
}

/// The model of the checkpoint in `run_dir` (the state after its last epoch).
pub fn checkpoint_model<M: Recurrent>(run_dir: &Path) -> Result<M> {
    let (path, v) = checkpoint_json(run_dir)?;
    M::from_json(&v["model"]).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// What a training run does with an output directory that already holds a run (any of
/// [`RUN_FILES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Refuse a directory that holds a run (finished or partial).
    Fresh,
    /// Continue the run from its `checkpoint.json` (`nrnn train --resume`): the settings must
    /// be those of its `config.json`, except `epochs`, which may be raised.
    Resume,
    /// Start over (`nrnn train --force`): the old run's files are removed before anything
    /// new is written, the finished model and manifest first, so a killed overwrite leaves
    /// at most a part of the old run, never the old model beside the new checkpoint.
    Force,
}

/// File name of the lock a training run holds in its output directory.
pub const LOCK_FILE: &str = ".lock";

/// The exclusive lock of a run directory (`DIR/.lock`, created if missing, left in place),
/// held while the returned file is open. A second run into the same directory is refused,
/// naming the directory.
fn lock_run_dir(dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Other(format!(
            "{}: another `nrnn train` is running into this directory (it holds {LOCK_FILE}); wait for it to end or choose another --out",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// The files of [`RUN_FILES`] present in `dir`.
fn run_files_in(dir: &Path) -> Vec<&'static str> {
    RUN_FILES
        .iter()
        .copied()
        .filter(|f| dir.join(f).exists())
        .collect()
}

/// The first setting in which `a` and `b` differ, as (name, value in `a`, value in `b`),
/// named as in the configuration file and the flags (`lr`, `hidden`), leaving out `epochs`
/// and `progress`.
fn first_difference(a: &RunConfig, b: &RunConfig) -> Option<(String, String, String)> {
    use serde_json::Value;
    fn walk(key: &str, a: &Value, b: &Value) -> Option<(String, String, String)> {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let null = Value::Null;
                for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    if k == "epochs" || k == "progress" {
                        continue;
                    }
                    let (u, v) = (x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null));
                    if let Some(d) = walk(k, u, v) {
                        return Some(d);
                    }
                }
                None
            }
            _ => (a != b).then(|| (key.to_string(), a.to_string(), b.to_string())),
        }
    }
    walk(
        "",
        &serde_json::to_value(a).ok()?,
        &serde_json::to_value(b).ok()?,
    )
}

/// The epoch count of the checkpoint in `run_dir` (its `epoch` field).
fn checkpoint_epoch(run_dir: &Path) -> Result<usize> {
    let (path, v) = checkpoint_json(run_dir)?;
    v["epoch"]
        .as_u64()
        .and_then(|e| usize::try_from(e).ok())
        .ok_or_else(|| Error::Format {
            path: path.display().to_string(),
            message: "field `epoch`: expected a non-negative integer".into(),
        })
}

/// Do a whole training run: check `cfg`, load and split the data, initialize the model
/// (`Model::init_scaled` with `dt`, `init_scale`, `seed`), [`fit`] (or [`fit_resume`] from
/// `out/checkpoint.json` with `resume`), evaluate the selected model on the validation and
/// test sets (noise off). With `out`, write `config.json` (before training),
/// `history.csv` and `checkpoint.json` (every epoch), `model.json` (selected model),
/// `model_last.json` and `manifest.json`. Nothing is written when the configuration or
/// the data are invalid. The same as [`run_with`] with [`Start::Resume`] or
/// [`Start::Fresh`]: a fresh run into a directory that holds a run is refused.
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
    let start = if resume { Start::Resume } else { Start::Fresh };
    run_with(cfg, out, start)
}

/// [`run`], with what to do about a run already in `out` ([`Start`]). While it runs, the
/// run holds the exclusive lock `out/.lock`: a second run into the same directory is
/// refused. With [`Start::Resume`], a setting that differs from the run's `config.json` is
/// refused, naming it (only `epochs` may be raised, never below the checkpoint's epoch),
/// and `config.json` is rewritten only when `epochs` was raised, after every check.
///
/// ```
/// use nrnn::train::{run_with, RunConfig, Start, TrainConfig};
/// let cfg = RunConfig {
///     examples: Some(120), val_count: 30, test_count: 30, hidden: 4,
///     train: TrainConfig { epochs: 1, progress: false, ..Default::default() },
///     ..RunConfig::default()
/// };
/// let dir = tempfile::tempdir().unwrap();
/// run_with(&cfg, Some(dir.path()), Start::Fresh).unwrap();
/// let e = run_with(&cfg, Some(dir.path()), Start::Fresh).unwrap_err().to_string();
/// assert!(e.contains("--resume") && e.contains("--force"), "{e}");
/// run_with(&cfg, Some(dir.path()), Start::Force).unwrap();
/// ```
pub fn run_with(cfg: &RunConfig, out: Option<&Path>, start_mode: Start) -> Result<RunOutcome> {
    if !cfg.cell.is_lipschitz() {
        return Err(Error::param(
            "cell",
            cfg.cell.name(),
            "\"lipschitz\" for train::run_with (train::run_cell trains every cell)",
        ));
    }
    run_model(cfg, out, start_mode, |cfg, input, classes| {
        let mcfg = cfg.model_config(input, classes)?;
        Model::init_scaled(mcfg, cfg.dt, cfg.init_scale, cfg.train.seed)
    })
}

/// The initial model of a run of any cell: [`Model::init_scaled`] for the Lipschitz RNN
/// (the model of [`run_with`]), [`Baseline::init`] with the run's seed for the others.
pub fn init_network(cfg: &RunConfig, input: usize, classes: usize) -> Result<Network> {
    match cfg.cell.baseline(cfg.cornn_hyper()) {
        None => {
            let mcfg = cfg.model_config(input, classes)?;
            let m = Model::init_scaled(mcfg, cfg.dt, cfg.init_scale, cfg.train.seed)?;
            Ok(Network::Lipschitz(m))
        }
        Some(cell) => Ok(Network::Baseline(Baseline::init(
            cell,
            cfg.hidden,
            input,
            classes,
            cfg.noise_spec()?,
            cfg.train.seed,
        )?)),
    }
}

/// [`run_with`] for a model of any cell (`cfg.cell`, [`init_network`]): what `nrnn train`
/// does. A Lipschitz run gives the same files, bit for bit, as [`run_with`].
///
/// ```
/// use nrnn::model::{CellKind, Recurrent};
/// use nrnn::train::{run_cell, RunConfig, Start, TrainConfig};
/// let cfg = RunConfig {
///     examples: Some(60), val_count: 20, test_count: 20, hidden: 4, cell: CellKind::Gru,
///     train: TrainConfig { epochs: 1, progress: false, ..Default::default() },
///     ..RunConfig::default()
/// };
/// let out = run_cell(&cfg, None, Start::Fresh).unwrap();
/// assert_eq!(out.fitted.model.cell(), CellKind::Gru);
/// ```
pub fn run_cell(
    cfg: &RunConfig,
    out: Option<&Path>,
    start_mode: Start,
) -> Result<RunOutcome<Network>> {
    run_model(cfg, out, start_mode, init_network)
}

/// The body of [`run_with`] and [`run_cell`], for the model `init(cfg, input, classes)`.
fn run_model<M: Recurrent>(
    cfg: &RunConfig,
    out: Option<&Path>,
    start_mode: Start,
    init: impl FnOnce(&RunConfig, usize, usize) -> Result<M>,
) -> Result<RunOutcome<M>> {
    let start = Instant::now();
    cfg.validate()?;
    let (split, info) = load_split(cfg)?;
    let model = init(cfg, split.train.input_dim, split.train.classes)?;
    trainer::check_data(&model, &split.train, "train")?;
    // Held until the run ends (dropped with this function's frame).
    let _lock = match out {
        Some(dir)
            if start_mode != Start::Resume || dir.join(trainer::CHECKPOINT_FILE).is_file() =>
        {
            Some(lock_run_dir(dir)?)
        }
        _ => None,
    };
    let fitted = match (out, start_mode) {
        (Some(dir), Start::Resume) => resume_in(dir, cfg, &model, &split)?,
        (None, Start::Resume) => {
            return Err(Error::param(
                "resume",
                true,
                "an output directory holding checkpoint.json",
            ))
        }
        (Some(dir), mode) => {
            clear_run_dir(dir, mode)?;
            crate::report::write_json_atomic(&dir.join("config.json"), cfg)?;
            fit(model, &split.train, &split.val, &cfg.train, Some(dir))?
        }
        (None, _) => fit(model, &split.train, &split.val, &cfg.train, None)?,
    };
    let mut manifest = manifest_of(cfg, &fitted, &split, info)?;
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

/// Resume the run in `dir` from its checkpoint, after checking that the model, the stored
/// settings and the epoch count agree with the given ones (only `--epochs` may be raised).
fn resume_in<M: Recurrent>(
    dir: &Path,
    cfg: &RunConfig,
    model: &M,
    split: &Split,
) -> Result<trainer::Fitted<M>> {
    let prev: M = checkpoint_model(dir)?;
    let (was, given) = (prev.config_text(), model.config_text());
    if was != given {
        return Err(Error::Format {
            path: dir.join(trainer::CHECKPOINT_FILE).display().to_string(),
            message: format!(
                "the checkpoint's model configuration differs from the given one:\n  checkpoint: {was}\n  given:      {given}"
            ),
        });
    }
    let stored_path = dir.join("config.json");
    let stored = if stored_path.is_file() {
        let stored = RunConfig::load(&stored_path)?;
        if let Some((field, was, given)) = first_difference(&stored, cfg) {
            return Err(Error::Format {
                path: stored_path.display().to_string(),
                message: format!(
                    "setting `{field}` = {given} differs from the run's {was}; a resumed run keeps its settings (only --epochs may be raised): drop --{}, or start over with --force",
                    field.replace('_', "-")
                ),
            });
        }
        Some(stored)
    } else {
        None
    };
    let done = checkpoint_epoch(dir)?;
    if done > cfg.train.epochs {
        return Err(Error::param(
            "epochs",
            cfg.train.epochs,
            &format!(
                "at least the {done} epochs the checkpoint has run (only raising --epochs is allowed on resume)"
            ),
        ));
    }
    // Every check of the settings is done: record a raised epoch count before
    // training, so that an interrupted resume resumes with it.
    if stored.as_ref().map(|s| s.train.epochs) != Some(cfg.train.epochs) {
        crate::report::write_json_atomic(&stored_path, cfg)?;
    }
    trainer::fit_resume_as(dir, &split.train, &split.val, &cfg.train)
}

/// Make `dir` ready for a new run: refuse a directory holding a run (`Start::Fresh`), or
/// remove its files (`Start::Force`): the finished run's outputs first, the checkpoint and
/// the configuration last, everything before the first new file is written.
fn clear_run_dir(dir: &Path, mode: Start) -> Result<()> {
    let old = run_files_in(dir);
    if !old.is_empty() {
        if mode == Start::Fresh {
            return Err(Error::Other(format!(
                "{}: holds a training run ({}); continue it with --resume, start over with --force (its files are removed), or choose another --out",
                dir.display(),
                old.join(", ")
            )));
        }
        for name in ["manifest.json", "model.json", "model_last.json"]
            .into_iter()
            .chain(
                RUN_FILES
                    .into_iter()
                    .filter(|f| !["manifest.json", "model.json", "model_last.json"].contains(f)),
            )
        {
            let file = dir.join(name);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&file, e)),
            }
        }
    }
    Ok(())
}

/// The manifest of a finished run: its settings, data, the fitted model's validation and
/// test results (`wall_seconds` is set by the caller).
fn manifest_of<M: Recurrent>(
    cfg: &RunConfig,
    fitted: &trainer::Fitted<M>,
    split: &Split,
    info: SplitInfo,
) -> Result<TrainManifest> {
    let loss = trainer::loss_for(split.train.task);
    let classify = split.train.task == Task::Classification;
    let (val_loss, val_acc) = fitted.model.evaluate(&split.val.all(), loss);
    let (test_loss, test_acc) = if split.test.is_empty() {
        (None, None)
    } else {
        let (l, a) = fitted.model.evaluate(&split.test.all(), loss);
        (Some(l), if classify { Some(a) } else { None })
    };
    Ok(TrainManifest {
        format: MANIFEST_FORMAT.into(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        config: {
            // The decay epochs the schedule used, not `null` for the default ones.
            let mut c = cfg.clone();
            c.train.decay_epochs = Some(cfg.train.decay_schedule()?.epochs);
            c
        },
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
    })
}

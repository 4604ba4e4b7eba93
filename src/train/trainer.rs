//! The trainer: the one owner of the epoch loop.
//!
//! Each epoch `e` (1-based) shuffles the training set with the stream
//! `stream(seed, [TAG_SHUFFLE, e])`, cuts it into mini-batches of `batch` examples, and
//! for mini-batch `s` (0-based) draws the noise of example `i` (its index in the training
//! set) from `stream(seed, [TAG_NOISE, e, s, i])`
//! ([`crate::model::NoiseSource::Seeded`]), so every draw is named and reproducible. The
//! step is `theta <- opt(theta, clip(grad))` on the flat parameter vector of
//! [`Model::flat`]. After each epoch the model is evaluated on the validation set (noise
//! off); the best model is the one with the highest validation accuracy (ties: lower
//! validation loss), or the lowest validation loss for regression. The test set is never
//! seen here.
//!
//! With a run directory, `history.csv` and `checkpoint.json` are rewritten atomically after
//! every epoch. The checkpoint holds everything the loop needs (parameters and optimizer
//! state as exact bit patterns), so [`fit_resume`] ends bit-identical to an uninterrupted
//! run. Gradients are reduced over fixed chunks in index order
//! ([`Model::loss_grad`]), so the result does not depend on the number of threads.

use super::config::{Objective, TrainConfig};
use super::optim::{bits, clip_global_norm, OptimState, Optimizer};
use crate::data::{Dataset, Task};
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::model::{Model, NoiseSource, Recurrent};
use crate::regularizer::probe::Probes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;
use std::time::Instant;

/// Stream tag of the per-epoch shuffles.
pub const TAG_SHUFFLE: u64 = 0x5452_4149_4E00_0001;
/// Stream tag of the training noise.
pub const TAG_NOISE: u64 = 0x5452_4149_4E00_0002;
/// Format tag of `checkpoint.json`.
pub const CHECKPOINT_FORMAT: &str = "nrnn-checkpoint/1";
/// File name of the checkpoint in a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// Stream tag of the noisy validation loss recorded with the explicit objective.
pub const TAG_VAL_NOISE: u64 = 0x5452_4149_4E00_0003;
/// File name of the training history in a run directory.
pub const HISTORY_FILE: &str = "history.csv";

/// One line of the training history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss over the epoch's mini-batches (with training noise if on),
    /// weighted by batch size.
    pub train_loss: f64,
    /// Mean validation loss, noise off.
    pub val_loss: f64,
    /// Validation accuracy, noise off (NaN for regression).
    pub val_accuracy: f64,
    /// Learning rate of the epoch.
    pub lr: f64,
    /// Wall time of the epoch in seconds.
    pub seconds: f64,
    /// The explicit objective's terms (only when training on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit: Option<ExplicitRecord>,
}

/// The terms of the explicit objective `l + (eps^2/2)(Q + R)` over an epoch, and the loss
/// of the noisy network the objective stands for (docs/theory.md section 7).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExplicitRecord {
    /// Mean deterministic loss `l(hbar_K)` over the epoch's mini-batches.
    pub loss: f64,
    /// Mean `Q` over the epoch's mini-batches.
    pub q: f64,
    /// Mean `R` over the epoch's mini-batches.
    pub r: f64,
    /// Validation loss of the noisy network at the model's eps after the epoch (one draw
    /// per example from `stream(seed, [TAG_VAL_NOISE, epoch, i])`): the quantity the
    /// explicit objective approximates to `O(eps^4)`.
    pub noisy_val_loss: f64,
}

/// The result of training (a model of any cell, [`Recurrent`]; the Lipschitz RNN by default).
#[derive(Clone, Debug)]
pub struct Fitted<M = Model> {
    /// The best model on the validation set (accuracy; loss for regression).
    pub model: M,
    /// The model after the last epoch.
    pub last: M,
    /// One record per epoch.
    pub history: Vec<EpochRecord>,
    /// 1-based epoch of `model`.
    pub best_epoch: usize,
}

/// Exact form of an [`EpochRecord`] for the checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RecordBits {
    epoch: usize,
    #[serde(with = "bits::vector")]
    values: Vec<f64>,
}

impl From<&EpochRecord> for RecordBits {
    fn from(r: &EpochRecord) -> Self {
        RecordBits {
            epoch: r.epoch,
            values: {
                let mut v = vec![r.train_loss, r.val_loss, r.val_accuracy, r.lr, r.seconds];
                if let Some(x) = &r.explicit {
                    v.extend([x.loss, x.q, x.r, x.noisy_val_loss]);
                }
                v
            },
        }
    }
}

impl RecordBits {
    fn record(&self) -> Result<EpochRecord> {
        let (base, explicit) = match self.values[..] {
            [a, b, c, d, e] => ([a, b, c, d, e], None),
            [a, b, c, d, e, loss, q, r, noisy_val_loss] => {
                let x = ExplicitRecord {
                    loss,
                    q,
                    r,
                    noisy_val_loss,
                };
                ([a, b, c, d, e], Some(x))
            }
            _ => {
                return Err(Error::param(
                    "history.values",
                    self.values.len(),
                    "5 values per record (9 with the explicit objective)",
                ))
            }
        };
        let [train_loss, val_loss, val_accuracy, lr, seconds] = base;
        Ok(EpochRecord {
            epoch: self.epoch,
            train_loss,
            val_loss,
            val_accuracy,
            lr,
            seconds,
            explicit,
        })
    }
}

/// Everything the loop needs to continue, as written to `checkpoint.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Checkpoint {
    format: String,
    /// Epochs completed.
    epoch: usize,
    config: TrainConfig,
    /// The current model, readable (`nrnn-model/1`).
    model: Value,
    /// Its parameters, every block in [`crate::model::Params::blocks`] order, exact.
    #[serde(with = "bits::vector")]
    params: Vec<f64>,
    /// The optimizer's flat parameter vector, exact.
    #[serde(with = "bits::vector")]
    theta: Vec<f64>,
    optimizer: OptimState,
    best_epoch: usize,
    /// Best model so far, readable.
    best_model: Value,
    #[serde(with = "bits::vector")]
    best_params: Vec<f64>,
    /// (validation accuracy, validation loss) of the best model, exact.
    #[serde(with = "bits::vector")]
    best_score: Vec<f64>,
    /// Readable history (written for people; NaN accuracies become null, so it is not
    /// read back: `history_bits` is).
    #[serde(skip_deserializing, default)]
    history: Vec<EpochRecord>,
    /// Exact history.
    history_bits: Vec<RecordBits>,
    /// Sizes and sha256 of the training and validation data.
    data: DataFingerprint,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct DataFingerprint {
    train: usize,
    val: usize,
    sha256: String,
}

fn fingerprint(train: &Dataset, val: &Dataset) -> DataFingerprint {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for d in [train, val] {
        h.update((d.len() as u64).to_le_bytes());
        h.update((d.steps as u64).to_le_bytes());
        for x in &d.x {
            h.update(x.to_bits().to_le_bytes());
        }
        for &l in &d.labels {
            h.update((l as u64).to_le_bytes());
        }
        for t in &d.targets {
            h.update(t.to_bits().to_le_bytes());
        }
    }
    let digest = h.finalize();
    DataFingerprint {
        train: train.len(),
        val: val.len(),
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn params_vec<M: Recurrent>(m: &M) -> Vec<f64> {
    m.raw_params()
}

fn set_params_vec<M: Recurrent>(m: &mut M, v: &[f64]) -> Result<()> {
    m.set_raw_params(v)
}

/// The loss of a task: cross-entropy for classification, squared error for regression.
///
/// ```
/// use nrnn::{data::Task, loss::Loss};
/// assert_eq!(nrnn::train::trainer::loss_for(Task::Regression), Loss::SquaredError);
/// ```
pub fn loss_for(task: Task) -> Loss {
    match task {
        Task::Classification => Loss::CrossEntropy,
        Task::Regression => Loss::SquaredError,
    }
}

/// A uniformly random permutation of `0..n` for 1-based epoch `epoch` (Fisher-Yates on
/// the stream `stream(seed, [TAG_SHUFFLE, epoch])`).
///
/// ```
/// let p = nrnn::train::trainer::epoch_order(10, 3, 1);
/// let mut s = p.clone();
/// s.sort();
/// assert_eq!(s, (0..10).collect::<Vec<_>>());
/// assert_eq!(p, nrnn::train::trainer::epoch_order(10, 3, 1));
/// assert_ne!(p, nrnn::train::trainer::epoch_order(10, 3, 2));
/// ```
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    use rand::RngExt;
    let mut rng = crate::rng::stream(seed, &[TAG_SHUFFLE, epoch as u64]);
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        idx.swap(i, j);
    }
    idx
}

/// Check that a data set fits a model: input dimension, classes, non-empty, valid
/// labels; the error names `what.field`.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 2, 10), 0.5, 1).unwrap();
/// let e = nrnn::train::trainer::check_data(&m, &nrnn::data::digits().head(5), "train");
/// assert!(e.unwrap_err().to_string().contains("train.input_dim"));
/// ```
pub fn check_data<M: Recurrent>(model: &M, d: &Dataset, what: &str) -> Result<()> {
    if d.is_empty() {
        return Err(Error::param(
            what,
            "an empty data set",
            "at least 1 example",
        ));
    }
    if d.input_dim != model.input() {
        return Err(Error::param(
            &format!("{what}.input_dim"),
            d.input_dim,
            &format!("the model's input dimension {}", model.input()),
        ));
    }
    if d.classes != model.classes() {
        return Err(Error::param(
            &format!("{what}.classes"),
            d.classes,
            &format!("the model's number of outputs {}", model.classes()),
        ));
    }
    d.validate()
}

/// `(validation accuracy, validation loss)`: is `a` better than `b`? Accuracy first (NaN
/// for regression, then the loss decides), lower loss breaks ties.
fn better(a: (f64, f64), b: (f64, f64), task: Task) -> bool {
    match task {
        Task::Classification => a.0 > b.0 || (a.0 == b.0 && a.1 < b.1),
        Task::Regression => a.1 < b.1,
    }
}

/// Write the history as CSV (`epoch,train_loss,val_loss,val_accuracy,lr,seconds`),
/// atomically; floats print so that they parse back to the same bits.
///
/// ```
/// use nrnn::train::EpochRecord;
/// let dir = tempfile::tempdir().unwrap();
/// let r = EpochRecord { epoch: 1, train_loss: 0.5, val_loss: 0.25, val_accuracy: 0.9, lr: 1e-3, seconds: 2.0, explicit: None };
/// nrnn::train::trainer::write_history(&dir.path().join("h.csv"), &[r]).unwrap();
/// let text = std::fs::read_to_string(dir.path().join("h.csv")).unwrap();
/// assert_eq!(text.lines().nth(1), Some("1,0.5,0.25,0.9,0.001,2.0"));
/// ```
pub fn write_history(path: &Path, history: &[EpochRecord]) -> Result<()> {
    use crate::report::table::format_f64 as f;
    let explicit = history.iter().all(|r| r.explicit.is_some()) && !history.is_empty();
    let mut s = String::from("epoch,train_loss,val_loss,val_accuracy,lr,seconds");
    s.push_str(if explicit {
        ",loss,q,r,noisy_val_loss\n"
    } else {
        "\n"
    });
    for r in history {
        s.push_str(&format!(
            "{},{},{},{},{},{}",
            r.epoch,
            f(r.train_loss),
            f(r.val_loss),
            f(r.val_accuracy),
            f(r.lr),
            f(r.seconds)
        ));
        match (&r.explicit, explicit) {
            (Some(x), true) => s.push_str(&format!(
                ",{},{},{},{}\n",
                f(x.loss),
                f(x.q),
                f(x.r),
                f(x.noisy_val_loss)
            )),
            _ => s.push('\n'),
        }
    }
    crate::report::write_atomic(path, s.as_bytes())
}

struct State<M> {
    epoch: usize,
    model: M,
    theta: Vec<f64>,
    opt: OptimState,
    best: M,
    best_epoch: usize,
    best_score: (f64, f64),
    history: Vec<EpochRecord>,
}

/// Train `model` on `train`, select on `val`, as configured by `cfg`; with `run_dir`,
/// write `history.csv` and `checkpoint.json` there after every epoch.
///
/// Errors: an invalid configuration or data that do not fit the model (naming the
/// field), [`Error::Diverged`] with the 1-based epoch and 1-based mini-batch step when
/// the training loss or its gradient is not finite (or the validation loss after an
/// epoch), and I/O errors of the run directory.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// use nrnn::train::{fit, TrainConfig};
/// let data = nrnn::data::sines(60, 16, 2, 1).unwrap();
/// let (train, val, _) = data.split_counts(40, 20, 0, 0).unwrap();
/// let model = Model::init(ModelConfig::new(8, 1, 2), 0.5, 1).unwrap();
/// let cfg = TrainConfig { epochs: 2, batch: 16, progress: false, ..Default::default() };
/// let fitted = fit(model, &train, &val, &cfg, None).unwrap();
/// assert_eq!(fitted.history.len(), 2);
/// assert!(fitted.best_epoch >= 1 && fitted.best_epoch <= 2);
/// ```
pub fn fit<M: Recurrent>(
    model: M,
    train: &Dataset,
    val: &Dataset,
    cfg: &TrainConfig,
    run_dir: Option<&Path>,
) -> Result<Fitted<M>> {
    cfg.validate()?;
    model.validate()?;
    check_data(&model, train, "train")?;
    check_data(&model, val, "val")?;
    let mut model = model;
    let theta = model.flat();
    // The flat vector is the master copy: the step enters as log d, so set the model
    // from it once (exp(log d) may differ from d in the last bit), as a resumed run does.
    model.set_flat(&theta);
    let opt = OptimState::new(cfg.optimizer, cfg.lr, cfg.momentum)?;
    let state = State {
        epoch: 0,
        best: model.clone(),
        model,
        theta,
        opt,
        best_epoch: 0,
        best_score: (f64::NEG_INFINITY, f64::INFINITY),
        history: Vec::new(),
    };
    run_loop(state, train, val, cfg, run_dir)
}

/// Continue the run whose checkpoint is in `run_dir` up to `cfg.epochs` epochs, on the
/// same `train` and `val` data (checked by size and sha256). `cfg` must equal the
/// checkpoint's configuration except for `epochs` and `progress`. The result is
/// bit-identical to an uninterrupted run (unless a larger `epochs` moved the default
/// decay epochs `round(0.55 epochs)`, `round(0.85 epochs)` of the interrupted run: give
/// `decay_epochs` explicitly to extend a run).
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// use nrnn::train::{fit, fit_resume, TrainConfig};
/// let data = nrnn::data::sines(60, 16, 2, 1).unwrap();
/// let (train, val, _) = data.split_counts(40, 20, 0, 0).unwrap();
/// let model = Model::init(ModelConfig::new(6, 1, 2), 0.5, 1).unwrap();
/// let cfg = TrainConfig { epochs: 3, batch: 16, decay_epochs: Some(vec![3]), progress: false, ..Default::default() };
/// let whole = fit(model.clone(), &train, &val, &cfg, None).unwrap();
/// let dir = tempfile::tempdir().unwrap();
/// fit(model, &train, &val, &TrainConfig { epochs: 1, ..cfg.clone() }, Some(dir.path())).unwrap();
/// let resumed = fit_resume(dir.path(), &train, &val, &cfg).unwrap();
/// assert_eq!(resumed.last.params, whole.last.params);
/// ```
pub fn fit_resume(
    run_dir: &Path,
    train: &Dataset,
    val: &Dataset,
    cfg: &TrainConfig,
) -> Result<Fitted> {
    fit_resume_as(run_dir, train, val, cfg)
}

/// [`fit_resume`] for a model of any cell `M` (the type of the checkpoint's model).
pub fn fit_resume_as<M: Recurrent>(
    run_dir: &Path,
    train: &Dataset,
    val: &Dataset,
    cfg: &TrainConfig,
) -> Result<Fitted<M>> {
    cfg.validate()?;
    let path = run_dir.join(CHECKPOINT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let fmt_err = |message: String| Error::Format {
        path: path.display().to_string(),
        message,
    };
    let ck: Checkpoint =
        serde_json::from_str(&text).map_err(|e| fmt_err(format!("not a valid checkpoint: {e}")))?;
    if ck.format != CHECKPOINT_FORMAT {
        return Err(fmt_err(format!(
            "format `{}`: expected `{CHECKPOINT_FORMAT}`",
            ck.format
        )));
    }
    if ck.epoch > cfg.epochs {
        return Err(fmt_err(format!(
            "field `epoch` = {}: beyond the configured epochs ({}); expected an integer in [0, {}]",
            ck.epoch, cfg.epochs, cfg.epochs
        )));
    }
    if ck.history_bits.len() != ck.epoch {
        return Err(fmt_err(format!(
            "field `epoch` = {}: the history holds {} epochs; expected them to agree",
            ck.epoch,
            ck.history_bits.len()
        )));
    }
    if ck.best_epoch > ck.epoch || (ck.epoch > 0 && ck.best_epoch == 0) {
        return Err(fmt_err(format!(
            "field `best_epoch` = {}: expected an integer in [1, {}] (the epochs run)",
            ck.best_epoch, ck.epoch
        )));
    }
    let neutral = |c: &TrainConfig| TrainConfig {
        epochs: 1,
        progress: false,
        ..c.clone()
    };
    if neutral(&ck.config) != neutral(cfg) {
        let (a, b) = (
            serde_json::to_value(neutral(&ck.config)),
            serde_json::to_value(neutral(cfg)),
        );
        let field = match (a, b) {
            (Ok(Value::Object(a)), Ok(Value::Object(b))) => a
                .iter()
                .find(|(k, v)| b.get(*k) != Some(v))
                .map(|(k, _)| k.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        return Err(fmt_err(format!(
            "the checkpoint was written with another training configuration (field `{field}` differs); only `epochs` and `progress` may change on resume"
        )));
    }
    let fp = fingerprint(train, val);
    if fp != ck.data {
        return Err(fmt_err(format!(
            "the checkpoint was trained on other data ({} train / {} val examples, sha256 {}); given {} / {} (sha256 {})",
            ck.data.train, ck.data.val, ck.data.sha256, fp.train, fp.val, fp.sha256
        )));
    }
    let mut model = M::from_json(&ck.model).map_err(|e| fmt_err(format!("model: {e}")))?;
    set_params_vec(&mut model, &ck.params)?;
    let mut best = M::from_json(&ck.best_model).map_err(|e| fmt_err(format!("best_model: {e}")))?;
    set_params_vec(&mut best, &ck.best_params)?;
    if ck.theta.len() != model.n_flat() {
        return Err(Error::shape(
            "checkpoint theta",
            (ck.theta.len(), 1),
            (model.n_flat(), 1),
        ));
    }
    check_data(&model, train, "train")?;
    check_data(&model, val, "val")?;
    let history = ck
        .history_bits
        .iter()
        .map(|r| r.record())
        .collect::<Result<Vec<_>>>()?;
    let best_score = match ck.best_score[..] {
        [a, l] => (a, l),
        _ => return Err(fmt_err("best_score: expected 2 values".into())),
    };
    let state = State {
        epoch: ck.epoch,
        model,
        theta: ck.theta,
        opt: ck.optimizer,
        best,
        best_epoch: ck.best_epoch,
        best_score,
        history,
    };
    run_loop(state, train, val, cfg, Some(run_dir))
}

fn progress_bar(cfg: &TrainConfig, total: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !cfg.progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed} [{bar:24}] {pos}/{len} ETA {eta} {msg}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// The mini-batch objective, its gradient and, for the explicit objective, its terms
/// `(l, Q, R)` ([`Recurrent::explicit_grad`]); `None` when the explicit objective is not
/// finite. With `--probes`, the probes of example `i` of mini-batch
/// `tag = [TAG_NOISE, epoch, step]` come from `stream(seed, [TAG_PROBE, TAG_NOISE, epoch, step, i, p])`.
fn objective_grad<M: Recurrent>(
    model: &M,
    batch: &crate::data::Batch,
    loss: Loss,
    noise: NoiseSource,
    cfg: &TrainConfig,
    tag: &[u64],
    ids: &[u64],
) -> Option<(f64, M::Grad, Option<[f64; 3]>)> {
    match cfg.objective {
        Objective::Noise => {
            let lg = model.loss_grad(batch, loss, noise, false);
            Some((lg.loss, lg.grad, None))
        }
        Objective::Explicit => {
            let probes = cfg.probes.map(|count| Probes {
                count,
                seed: cfg.seed,
                tag,
                ids,
            });
            let (v, g, t) = model.explicit_grad(batch, loss, probes).ok()?;
            Some((v, g, Some(t)))
        }
    }
}

/// Mean loss of the noisy network on `batch` (one draw per example from
/// `stream(seed, [TAG_VAL_NOISE, epoch, i])`).
fn noisy_loss<M: Recurrent>(
    model: &M,
    batch: &crate::data::Batch,
    loss: Loss,
    seed: u64,
    epoch: usize,
) -> f64 {
    let tag = [TAG_VAL_NOISE, epoch as u64];
    let ids: Vec<u64> = (0..batch.size as u64).collect();
    let o = model.logits(
        batch,
        NoiseSource::Seeded {
            seed,
            tag: &tag,
            ids: &ids,
        },
    );
    let (l, _) = loss.value_grad(&o, &batch.target, 1.0);
    l.iter().sum::<f64>() / l.len().max(1) as f64
}

fn run_loop<M: Recurrent>(
    mut st: State<M>,
    train: &Dataset,
    val: &Dataset,
    cfg: &TrainConfig,
    run_dir: Option<&Path>,
) -> Result<Fitted<M>> {
    let task = train.task;
    let loss = loss_for(task);
    let schedule = cfg.decay_schedule()?;
    let n = train.len();
    let per_epoch = n.div_ceil(cfg.batch);
    let val_batch = val.all();
    let fp = fingerprint(train, val);
    let remaining = cfg.epochs.saturating_sub(st.epoch);
    let pb = progress_bar(cfg, (remaining * per_epoch) as u64);
    if cfg.objective == Objective::Explicit {
        // Refused here, before any epoch, for a cell without Q + R or the code form.
        st.model.explicit_grad(&train.batch(&[0]), loss, None)?;
    }
    let noisy = cfg.train_noise && cfg.objective == Objective::Noise && !st.model.noise().is_off();
    for epoch in st.epoch + 1..=cfg.epochs {
        let t0 = Instant::now();
        let lr = schedule.lr_at(epoch);
        st.opt.set_lr(lr);
        let order = epoch_order(n, cfg.seed, epoch);
        let mut total = 0.0;
        let mut explicit_sums = [0.0; 3];
        for (step, idx) in order.chunks(cfg.batch).enumerate() {
            let (value, terms) = match train_step(&mut st, train, idx, (epoch, step), noisy, cfg) {
                Ok(v) => v,
                Err(e) => {
                    pb.abandon();
                    return Err(e);
                }
            };
            if let Some(t) = terms {
                for (a, b) in explicit_sums.iter_mut().zip(t) {
                    *a += b * idx.len() as f64;
                }
            }
            total += value * idx.len() as f64;
            pb.inc(1);
        }
        let (val_loss, val_accuracy) = st.model.evaluate(&val_batch, loss);
        if !val_loss.is_finite() {
            pb.abandon();
            return Err(Error::Diverged {
                epoch,
                step: per_epoch,
                loss: val_loss,
            });
        }
        let rec = EpochRecord {
            epoch,
            train_loss: total / n as f64,
            val_loss,
            val_accuracy,
            lr,
            seconds: t0.elapsed().as_secs_f64(),
            explicit: (cfg.objective == Objective::Explicit).then(|| ExplicitRecord {
                loss: explicit_sums[0] / n as f64,
                q: explicit_sums[1] / n as f64,
                r: explicit_sums[2] / n as f64,
                noisy_val_loss: noisy_loss(&st.model, &val_batch, loss, cfg.seed, epoch),
            }),
        };
        let score = (val_accuracy, val_loss);
        if st.best_epoch == 0 || better(score, st.best_score, task) {
            st.best = st.model.clone();
            st.best_epoch = epoch;
            st.best_score = score;
        }
        pb.set_message(format!(
            "epoch {epoch}/{}: val acc {val_accuracy:.3}",
            cfg.epochs
        ));
        st.history.push(rec);
        st.epoch = epoch;
        if let Some(dir) = run_dir {
            write_history(&dir.join(HISTORY_FILE), &st.history)?;
            write_checkpoint(dir, &st, cfg, &fp)?;
        }
    }
    pb.finish_and_clear();
    Ok(Fitted {
        model: st.best,
        last: st.model,
        history: st.history,
        best_epoch: st.best_epoch,
    })
}

/// One mini-batch step `(epoch, step)` on the examples `idx`: the objective and its
/// gradient (the noise of `stream(seed, [TAG_NOISE, epoch, step, i])` when `noisy`), the
/// clipped update of the parameters; returns the mini-batch objective and, for the
/// explicit objective, its terms `(l, Q, R)`. A non-finite objective or gradient is
/// [`Error::Diverged`].
fn train_step<M: Recurrent>(
    st: &mut State<M>,
    train: &Dataset,
    idx: &[usize],
    (epoch, step): (usize, usize),
    noisy: bool,
    cfg: &TrainConfig,
) -> Result<(f64, Option<[f64; 3]>)> {
    let loss = loss_for(train.task);
    let batch = train.batch(idx);
    let ids: Vec<u64> = idx.iter().map(|&i| i as u64).collect();
    let tag = [TAG_NOISE, epoch as u64, step as u64];
    let noise = if noisy {
        NoiseSource::Seeded {
            seed: cfg.seed,
            tag: &tag,
            ids: &ids,
        }
    } else {
        NoiseSource::Off
    };
    let lg = objective_grad(&st.model, &batch, loss, noise, cfg, &tag, &ids);
    let diverged = |l: f64| Error::Diverged {
        epoch,
        step: step + 1,
        loss: l,
    };
    let Some((value, grad, terms)) = lg else {
        return Err(diverged(f64::NAN));
    };
    if !value.is_finite() {
        return Err(diverged(value));
    }
    let mut grad = st.model.flat_grad(&grad);
    if grad.iter().any(|g| !g.is_finite()) {
        return Err(diverged(value));
    }
    if let Some(c) = cfg.clip {
        clip_global_norm(&mut grad, c);
    }
    st.opt.step(&mut st.theta, &grad)?;
    st.model.set_flat(&st.theta);
    Ok((value, terms))
}

/// Write the checkpoint of the run after epoch `st.epoch` into `dir` (atomically).
fn write_checkpoint<M: Recurrent>(
    dir: &Path,
    st: &State<M>,
    cfg: &TrainConfig,
    fp: &DataFingerprint,
) -> Result<()> {
    let ck = Checkpoint {
        format: CHECKPOINT_FORMAT.into(),
        epoch: st.epoch,
        config: cfg.clone(),
        model: st.model.to_json(),
        params: params_vec(&st.model),
        theta: st.theta.clone(),
        optimizer: st.opt.clone(),
        best_epoch: st.best_epoch,
        best_model: st.best.to_json(),
        best_params: params_vec(&st.best),
        best_score: vec![st.best_score.0, st.best_score.1],
        history: st.history.clone(),
        history_bits: st.history.iter().map(RecordBits::from).collect(),
        data: fp.clone(),
    };
    crate::report::write_json_atomic(&dir.join(CHECKPOINT_FILE), &ck)
}

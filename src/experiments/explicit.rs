//! Experiment `explicit` (docs/theory.md section 7; section 6, claim 8): training on the
//! explicit regularizer against training with noise, on each task of [`tasks`] (the digits;
//! in quick and full also ECG5000).
//!
//! For each task, noise level eps of the grid and seed, two models share everything but the
//! objective: a noise-trained model (tanh Lipschitz RNN, `diag` noise; for the digits the
//! model of the `hessian` experiment, [`super::hessian::trained_models`], cached and
//! shared; for the other tasks a piece of this experiment trained on the same setup) and a
//! model trained from the same initialization, batch order and setup on the deterministic
//! objective `l + (eps^2/2)(Q + R)` ([`crate::train::config::Objective::Explicit`], exact
//! gradient of [`crate::regularizer::gradient`]). eps = 0 is the deterministic model (both
//! kinds coincide there). Measured on each model (noise off unless said): test accuracy,
//! test accuracy under white input noise (standard deviation [`Setup::input_noise`]), top
//! eigenvalue and trace of the training-loss Hessian, the top Lyapunov exponent of the
//! deterministic network driven by the first training input, `kappa`, median score margin
//! of the test examples, `(Q + R)/2`, and the gap between the noisy test loss at the model's eps
//! (Monte Carlo) and the explicit objective `l + (eps^2/2)(Q + R)` on the same examples.
//!
//! Outputs (in `ctx.out`), for the digits: `explicit_vs_noise.csv` (rows `eps, seed,
//! training, measure, value`), `explicit_curves.csv` (validation loss per epoch of seed
//! `ctx.seed`), `explicit_<measure>_vs_eps.png` (mean ± 1 std over seeds of both
//! trainings), `explicit_curves.png`, the manifest `explicit_vs_noise.json` and the index
//! entry; for another task `<task>` the same with `explicit_vs_noise_<task>`,
//! `explicit_curves_<task>` and the prefix `explicit_<task>_` (a figure and verdict per task).
//!
//! **Verdict (pre-registered).** Per eps and measure, the per-seed paired difference
//! `explicit - noise` is judged for equivalence ([`crate::verdict::judge_equivalence`])
//! with the margin "the seed spread": the standard deviation over seeds of the
//! noise-trained models' values at that eps. Primary: test accuracy at the smallest eps > 0.
//! The eps where the trainings part ways is the smallest eps at which any measure's
//! difference is `contradicted` (outside the margin with 95% confidence).

use super::figure::{execute, Computed, Figure, Outcome};
use super::hessian::{self, data, TrainedModel};
use super::pieces::{keep_out_of_git, Piece, PieceStore};
use super::robustness::SplitSpec;
use super::Ctx;
use super::Profile;
use crate::error::{Error, Result};
use crate::hessian::{analyze, HessianOptions};
use crate::loss::Loss;
use crate::model::{Model, NoiseSource};
use crate::regularizer::{dataset, Options};
use crate::report::index::Verdict;
use crate::report::plot::{format_sig, Axes, LegendPos, LinePlot, Series};
use crate::report::table::Table;
use crate::table_row;
use crate::train::config::Objective;
use crate::train::{fit, Split, TrainConfig};
use crate::verdict::{judge_equivalence, Judgement};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The claim of the figure (docs/theory.md 7; 6, claim 8).
pub const CLAIM: &str = "Training on the explicit regularizer behaves like noise training at small eps: models trained \
deterministically on l + (eps^2/2)(Q + R) agree with the noise-trained models of the same seed, within the seed spread, \
in accuracy, flatness and margins; as eps grows the two part ways (docs/theory.md 7; 6, claim 8).";

/// The measures compared, `(column, words)`; the first is the primary one.
pub const MEASURES: [(&str, &str); 8] = [
    ("test_accuracy", "test accuracy"),
    (
        "perturbed_accuracy",
        "test accuracy under white input noise",
    ),
    (
        "top_eigenvalue",
        "top eigenvalue of the training-loss Hessian",
    ),
    ("trace", "trace of the training-loss Hessian"),
    ("lyapunov_top", "top Lyapunov exponent"),
    ("kappa", "kappa = lambda_max(A_sym) + ||W||_2"),
    (
        "median_score_margin",
        "median score margin of the test examples",
    ),
    ("regularizer", "(Q + R)/2 on the test examples"),
];

/// Settings of the experiment (the training setup is the `hessian` experiment's).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setup {
    /// Noise levels with an explicit-trained model (each also in the hessian grid).
    pub eps_levels: Vec<f64>,
    /// Test examples of the regularizer, the noisy loss and the gap.
    pub measure_examples: usize,
    /// Noise draws per example of the noisy test loss.
    pub noisy_draws: usize,
    /// Standard deviation of the white input noise of the perturbed accuracy.
    pub input_noise: f64,
    /// Steps of the top Lyapunov exponent (the deterministic network driven by the first
    /// training example's input, cycled).
    pub lyapunov_steps: usize,
}

/// The setup of a profile: smoke one level, quick a small and a large level of the hessian
/// grid, full four levels.
///
/// ```
/// use nrnn::experiments::{explicit::setup, hessian, Profile};
/// let h = hessian::setup(Profile::Quick);
/// assert!(setup(Profile::Quick).eps_levels.iter().all(|e| h.eps_levels.contains(e)));
/// ```
pub fn setup(profile: crate::experiments::Profile) -> Setup {
    let p = profile;
    Setup {
        eps_levels: p.pick(vec![0.2], vec![0.05, 0.2], vec![0.05, 0.1, 0.2, 0.3]),
        measure_examples: p.pick(20, 100, 200),
        noisy_draws: p.pick(4, 20, 50),
        input_noise: 0.2,
        lyapunov_steps: p.pick(200, 2000, 10000),
    }
}

/// A task of the experiment: data, split, and the model, training and measurement setup.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Task {
    /// Data set name (piece keys, file names).
    pub name: &'static str,
    /// Words of the figures' subtitles.
    pub title: &'static str,
    /// The model, training and measurement setup. For the digits, the `hessian`
    /// experiment's, whose noise-trained models are shared (family `flatness`); elsewhere
    /// the noise-trained partners are pieces of this experiment at the levels
    /// `setup.eps_levels` (0 and the explicit levels), and the split fields of `setup`
    /// repeat [`Task::split`].
    pub setup: hessian::Setup,
    /// The split; `None`: the `hessian` experiment's digits split ([`hessian::data`]).
    pub split: Option<SplitSpec>,
}

impl Task {
    /// Whether the noise-trained models are the `hessian` grid's.
    fn shares_hessian(&self) -> bool {
        self.split.is_none()
    }

    /// Name of the figure: `explicit_vs_noise` for the digits, `explicit_vs_noise_<task>`
    /// otherwise.
    fn figure_name(&self) -> String {
        self.suffixed("explicit_vs_noise")
    }

    /// `stem` for the digits, `stem_<task>` otherwise.
    fn suffixed(&self, stem: &str) -> String {
        match self.shares_hessian() {
            true => stem.to_string(),
            false => format!("{stem}_{}", self.name),
        }
    }

    /// The training, validation and test sets.
    fn split(&self) -> Result<Split> {
        match &self.split {
            None => data(&self.setup),
            Some(sp) => {
                let (train, val, test) = sp.load(self.name)?;
                Ok(Split { train, val, test })
            }
        }
    }
}

/// The tasks of a profile: the digits (every profile) and, in quick and full, ECG5000
/// (5 classes, 140 steps of one z-normalized input; the UCR training set of 500 beats,
/// 500 validation and 4,000 test beats from the UCR test set, as in the robustness
/// experiment), hidden units as for the digits, step 0.1, learning rate 5e-3, 15 epochs
/// (quick) or 30 (full).
///
/// ```
/// use nrnn::experiments::{explicit::tasks, Profile};
/// assert_eq!(tasks(Profile::Smoke).len(), 1);
/// let q = tasks(Profile::Quick);
/// assert_eq!(q[1].name, "ecg5000");
/// assert_eq!(q[1].setup.eps_levels, [0.0, 0.05, 0.2]);
/// ```
pub fn tasks(profile: Profile) -> Vec<Task> {
    let p = profile;
    let digits = Task {
        name: "digits",
        title: "digits",
        setup: hessian::setup(p),
        split: None,
    };
    if p == Profile::Smoke {
        return vec![digits];
    }
    let (val, test, seed) = (500, 4000, 0);
    let mut levels = vec![0.0];
    levels.extend(setup(p).eps_levels);
    let ecg = Task {
        name: "ecg5000",
        title: "ECG5000 (140 steps, 5 classes)",
        setup: hessian::Setup {
            examples: None,
            val,
            test,
            split_seed: seed,
            dt: 0.1,
            epochs: p.pick(2, 15, 30),
            lr: 5e-3,
            eps_levels: levels,
            ..hessian::setup(p)
        },
        split: Some(SplitSpec::Ucr { val, test, seed }),
    };
    vec![digits, ecg]
}

/// The objective a model of the experiment was trained on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Noise training (`hessian` grid's models for the digits).
    Noise,
    /// The explicit objective `l + (eps^2/2)(Q + R)`.
    Explicit,
}

impl Kind {
    fn objective(self) -> Objective {
        match self {
            Kind::Noise => Objective::Noise,
            Kind::Explicit => Objective::Explicit,
        }
    }
    fn word(self) -> &'static str {
        match self {
            Kind::Noise => "noise",
            Kind::Explicit => "explicit",
        }
    }
}

/// One model of the grid: task (index into [`tasks`]), kind, level, seed and piece.
struct Entry {
    task: usize,
    kind: Kind,
    eps: f64,
    seed: u64,
    piece: Piece,
}

/// Stream tag of the noise draws of the noisy test loss.
const TAG_NOISY: u64 = 0x4558_504C_0000_0001;
/// The piece family of the explicit-trained models.
const FAMILY: &str = "explicit";
/// The experiments built from the explicit-trained models.
pub const USED_BY: &[&str] = &["explicit"];

/// An explicit-trained model and its validation-loss curve.
struct ExplicitModel {
    trained: TrainedModel,
    curve: Vec<f64>,
}

/// What an `explicit` piece stores beside its model.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
struct Record {
    best_epoch: usize,
    val_accuracy: f64,
    test_accuracy: f64,
    /// Validation loss (noise off) per epoch.
    val_loss: Vec<f64>,
    /// The explicit objective's terms per epoch: `(l, Q, R, noisy validation loss)`.
    terms: Vec<[f64; 4]>,
}

/// The piece of a model of `(task, kind, eps, seed)`. The digits' explicit-trained model:
/// key `explicit/digits/epsX/seedS`, configuration the hessian grid's setup, the level and
/// the objective. Elsewhere `explicit/<task>/epsX/seedS` (explicit-trained) and
/// `explicit/<task>/noise-epsX/seedS` (noise-trained), configuration also the split.
fn piece(ctx: &Ctx, task: &Task, kind: Kind, eps: f64, seed: u64) -> Piece {
    let (model, config) = match &task.split {
        None => (
            hessian::eps_name(eps),
            serde_json::json!({"data": "digits", "setup": task.setup, "eps": eps, "objective": "explicit"}),
        ),
        Some(sp) => (
            match kind {
                Kind::Explicit => hessian::eps_name(eps),
                Kind::Noise => format!("noise-{}", hessian::eps_name(eps)),
            },
            serde_json::json!({"data": task.name, "split": sp, "setup": task.setup, "eps": eps,
                "objective": kind.word()}),
        ),
    };
    Piece::new(
        ctx.profile,
        FAMILY,
        USED_BY,
        task.name,
        &model,
        seed,
        config,
    )
}

/// The models of the run, per task: the explicit-trained ones (levels first, then seeds),
/// then (tasks without the hessian grid) the noise-trained ones at `setup.eps_levels`.
fn grid(ctx: &Ctx) -> Vec<Entry> {
    let seeds = ctx.seed_list();
    let levels = setup(ctx.profile).eps_levels;
    let mut out = Vec::new();
    for (i, task) in tasks(ctx.profile).iter().enumerate() {
        let mut kinds = vec![(Kind::Explicit, levels.clone())];
        if !task.shares_hessian() {
            kinds.push((Kind::Noise, task.setup.eps_levels.clone()));
        }
        for (kind, lv) in kinds {
            for &eps in &lv {
                for &seed in &seeds {
                    let piece = piece(ctx, task, kind, eps, seed);
                    out.push(Entry {
                        task: i,
                        kind,
                        eps,
                        seed,
                        piece,
                    });
                }
            }
        }
    }
    out
}

/// The pieces of a run (family `explicit`): one explicit-trained model per task, level and
/// seed, and the noise-trained partners of the tasks outside the hessian grid.
///
/// ```
/// use nrnn::experiments::{explicit::pieces, Ctx, Profile};
/// let ctx = Ctx { profile: Profile::Smoke, out: "x".into(), seeds: 2, seed: 0,
///     replot: false, command: String::new(), pieces: Default::default() };
/// let p = pieces(&ctx);
/// assert_eq!(p.len(), 2);
/// assert_eq!(p[1].key, "explicit/digits/eps0.200/seed1");
/// let q = pieces(&Ctx { profile: Profile::Quick, ..ctx });
/// assert_eq!(q.len(), 2 * 2 + 2 * 2 + 3 * 2);
/// assert!(q.iter().any(|p| p.key == "explicit/ecg5000/noise-eps0.000/seed1"));
/// ```
pub fn pieces(ctx: &Ctx) -> Vec<Piece> {
    grid(ctx).into_iter().map(|g| g.piece).collect()
}

/// Train the model of `(eps, seed)` of a task's setup on the objective of `kind` (explicit:
/// `l + (eps^2/2)(Q + R)`).
fn train_one(
    s: &hessian::Setup,
    split: &Split,
    kind: Kind,
    eps: f64,
    seed: u64,
) -> Result<(Model, Record)> {
    let cfg = hessian::model_config(s, eps, &split.train)?;
    let init = Model::init(cfg, s.dt, seed)?;
    let fitted = fit(
        init,
        &split.train,
        &split.val,
        &train_config(s, seed, kind),
        None,
    )?;
    let model = fitted.model;
    let (_, val_accuracy) = model.evaluate(&split.val.all(), Loss::CrossEntropy);
    let (_, test_accuracy) = model.evaluate(&split.test.all(), Loss::CrossEntropy);
    let terms = fitted
        .history
        .iter()
        .filter_map(|r| r.explicit.map(|x| [x.loss, x.q, x.r, x.noisy_val_loss]))
        .collect();
    let rec = Record {
        best_epoch: fitted.best_epoch,
        val_accuracy,
        test_accuracy,
        val_loss: fitted.history.iter().map(|r| r.val_loss).collect(),
        terms,
    };
    Ok((model, rec))
}

/// The training of the hessian grid, on the objective of `kind`.
fn train_config(s: &hessian::Setup, seed: u64, kind: Kind) -> TrainConfig {
    TrainConfig {
        epochs: s.epochs,
        batch: s.batch,
        lr: s.lr,
        seed,
        train_noise: true,
        progress: false,
        objective: kind.objective(),
        ..Default::default()
    }
}

/// The model of a grid entry from the store, trained and stored first when missing; the
/// flag says whether this call trained it.
fn get_one(
    store: &PieceStore,
    task: &Task,
    split: &Split,
    g: &Entry,
) -> Result<(ExplicitModel, bool)> {
    let (st, trained) = store.get_or_compute(&g.piece, || {
        train_one(&task.setup, split, g.kind, g.eps, g.seed)
    })?;
    let r: Record = st.result;
    if trained {
        eprintln!(
            "explicit: {}: trained {:.1} s (best epoch {}, val acc {:.3})",
            g.piece.key, st.wall_seconds, r.best_epoch, r.val_accuracy
        );
    }
    let t = TrainedModel {
        eps: g.eps,
        seed: g.seed,
        model: Model::from_json(&st.model)?,
        val_accuracy: r.val_accuracy,
        test_accuracy: r.test_accuracy,
    };
    Ok((
        ExplicitModel {
            trained: t,
            curve: r.val_loss,
        },
        trained,
    ))
}

/// Train (or load from the store) the entries `todo` of one task, in parallel, on its
/// split; each model with whether this call trained it.
fn get_all(
    ctx: &Ctx,
    task: &Task,
    split: &Split,
    todo: &[Entry],
) -> Result<Vec<(ExplicitModel, bool)>> {
    keep_out_of_git(&ctx.out)?;
    let store = PieceStore::of(ctx, todo.len());
    todo.par_iter()
        .map(|g| get_one(&store, task, split, g))
        .collect()
}

/// Train (or load from the piece store) the explicit pieces that `want` selects, task by
/// task (a task's data are loaded only when one of its pieces is wanted); returns how
/// many were trained by this call.
pub fn run_pieces(ctx: &Ctx, want: &dyn Fn(&Piece) -> bool) -> Result<usize> {
    let mut todo: Vec<Entry> = grid(ctx).into_iter().filter(|g| want(&g.piece)).collect();
    let mut trained = 0;
    for (i, task) in tasks(ctx.profile).iter().enumerate() {
        let (mine, rest): (Vec<Entry>, Vec<Entry>) = todo.into_iter().partition(|g| g.task == i);
        todo = rest;
        if !mine.is_empty() {
            let got = get_all(ctx, task, &task.split()?, &mine)?;
            trained += got.iter().filter(|g| g.1).count();
        }
    }
    Ok(trained)
}

/// The cost class of an explicit piece: `noise` for a noise-trained partner (model
/// `noise-epsX`), `explicit` for a model trained on the explicit objective.
///
/// ```
/// use nrnn::experiments::{explicit, Ctx, Profile};
/// let ctx = Ctx { profile: Profile::Quick, out: "x".into(), seeds: 1, seed: 0,
///     replot: false, command: String::new(), pieces: Default::default() };
/// let classes: Vec<String> = explicit::pieces(&ctx).iter().map(explicit::cost_class).collect();
/// assert!(classes.contains(&"noise".to_string()) && classes.contains(&"explicit".to_string()));
/// ```
pub fn cost_class(piece: &Piece) -> String {
    if piece.model.starts_with("noise-") {
        "noise".into()
    } else {
        "explicit".into()
    }
}

/// The training cost of a piece of `task` and cost `class` ([`cost_class`];
/// [`super::pieces::Probe`]): steps per model and the measured time of a step at the
/// largest level, of the explicit objective or (class `noise`) of the noisy loss. An
/// unknown task is an error.
pub fn probe(ctx: &Ctx, task: &str, class: &str) -> Result<super::pieces::Probe> {
    let all = tasks(ctx.profile);
    let t = all
        .iter()
        .find(|t| t.name == task)
        .ok_or_else(|| Error::Other(format!("explicit: no task `{task}`")))?;
    let s = &t.setup;
    let split = t.split()?;
    let eps = setup(ctx.profile)
        .eps_levels
        .iter()
        .copied()
        .fold(0.0, f64::max);
    let objective = if class == "noise" {
        Objective::Noise
    } else {
        Objective::Explicit
    };
    hessian::probe_at(ctx, s, &split, eps, objective)
}

/// The models of one kind of task `index` of [`tasks`] on its split, ordered by eps,
/// then seed.
fn models_of(
    ctx: &Ctx,
    index: usize,
    task: &Task,
    split: &Split,
    kind: Kind,
) -> Result<Vec<ExplicitModel>> {
    let todo: Vec<Entry> = grid(ctx)
        .into_iter()
        .filter(|g| g.task == index && g.kind == kind)
        .collect();
    Ok(get_all(ctx, task, split, &todo)?
        .into_iter()
        .map(|g| g.0)
        .collect())
}

/// The measures of one model: `(measure, value)`.
fn measures(
    ctx: &Ctx,
    es: &Setup,
    s: &hessian::Setup,
    split: &Split,
    tm: &TrainedModel,
) -> Result<Vec<(String, f64)>> {
    let model = &tm.model;
    let mut out = vec![("test_accuracy".to_string(), tm.test_accuracy)];
    let batch = split.train.head(s.hessian_examples).all();
    let mut o = HessianOptions::new(1, s.trace_probes, ctx.seed);
    o.lanczos_max_iter = s.lanczos_max_iter;
    o.lanczos_tol = s.lanczos_tol;
    let r = analyze(model, &batch, Loss::CrossEntropy, &o)?;
    out.push(("top_eigenvalue".into(), r.top.values[0]));
    out.push(("trace".into(), r.trace.mean));
    let test = split.test.all();
    let logits = model.logits(&test, NoiseSource::Off);
    let margins: Vec<f64> = (0..test.size)
        .map(|j| crate::margin::score_margin(logits.column(j).as_slice(), split.test.labels[j]))
        .collect();
    out.push((
        "median_score_margin".into(),
        crate::margin::Summary::of(&margins).median,
    ));
    let range = crate::perturb::InputRange::of(&split.test)?;
    let noisy_input = crate::perturb::Perturbation::WhiteNoise { s: es.input_noise };
    let pert = crate::perturb::evaluate_under(model, &split.test, &noisy_input, range, ctx.seed)?;
    out.push(("perturbed_accuracy".into(), pert.accuracy));
    let c = crate::dynamics::Conditions::of(model, Some(0.0))?;
    out.push(("kappa".into(), c.kappa));
    let sys = crate::dynamics::Dynamics::new(
        model,
        Some(split.train.sequence(0)),
        crate::model::NoiseSpec::off(),
    )?;
    let lopts = crate::dynamics::LyapunovOptions::new(1, es.lyapunov_steps);
    let spec = crate::dynamics::spectrum(&sys, &lopts)?;
    out.push((
        "lyapunov_top".into(),
        spec.exponents.first().copied().unwrap_or(f64::NAN),
    ));
    let sub = split.test.head(es.measure_examples).all();
    if tm.eps > 0.0 {
        let reg = dataset(model, &sub, Loss::CrossEntropy, Options::default())?;
        let eps = tm.eps;
        let objective = reg.loss + 0.5 * eps * eps * (reg.q + reg.r);
        let noisy = noisy_loss(model, &sub, es.noisy_draws, ctx.seed);
        out.push(("regularizer".into(), reg.value()));
        out.push(("explicit_objective".into(), objective));
        out.push(("noisy_loss".into(), noisy));
        out.push(("gap_noisy_minus_explicit".into(), noisy - objective));
    } else {
        out.push(("regularizer".into(), 0.0));
    }
    Ok(out)
}

/// Mean cross-entropy of the noisy network on `batch` over `draws` draws per example
/// (`stream(seed, [TAG_NOISY, draw, i])`).
fn noisy_loss(model: &Model, batch: &crate::data::Batch, draws: usize, seed: u64) -> f64 {
    let ids: Vec<u64> = (0..batch.size as u64).collect();
    let mut total = 0.0;
    for d in 0..draws {
        let tag = [TAG_NOISY, d as u64];
        let src = NoiseSource::Seeded {
            seed,
            tag: &tag,
            ids: &ids,
        };
        let o = model.logits(batch, src);
        let (l, _) = Loss::CrossEntropy.value_grad(&o, &batch.target, 1.0);
        total += l.iter().sum::<f64>();
    }
    total / (draws.max(1) * batch.size.max(1)) as f64
}

/// Figure `explicit_vs_noise[_<task>]` of one task (with the curves table
/// `explicit_curves[_<task>]`).
struct ExplicitVsNoise {
    /// Index of the task in [`tasks`].
    index: usize,
    task: Task,
    name: String,
    es: Setup,
    sub: String,
    ctx_seed: u64,
}

impl Figure for ExplicitVsNoise {
    fn name(&self) -> &str {
        &self.name
    }
    fn claim(&self) -> &str {
        CLAIM
    }
    fn tables(&self) -> Vec<String> {
        vec![
            self.task.figure_name(),
            self.task.suffixed("explicit_curves"),
        ]
    }
    fn compute(&self, ctx: &Ctx) -> Result<Computed> {
        let task = &self.task;
        let split = task.split()?;
        let noise: Vec<TrainedModel> = match task.shares_hessian() {
            true => hessian::trained_models(ctx, &task.setup, &split)?,
            false => models_of(ctx, self.index, task, &split, Kind::Noise)?
                .into_iter()
                .map(|m| m.trained)
                .collect(),
        };
        let explicit = models_of(ctx, self.index, task, &split, Kind::Explicit)?;
        let mut t = Table::new(&["eps", "seed", "training", "measure", "value"]);
        let wanted = |e: f64| e == 0.0 || self.es.eps_levels.contains(&e);
        let mut jobs: Vec<(&str, &TrainedModel)> = noise
            .iter()
            .filter(|m| wanted(m.eps))
            .map(|m| ("noise", m))
            .collect();
        jobs.extend(explicit.iter().map(|m| ("explicit", &m.trained)));
        let rows: Vec<Result<Vec<(String, f64)>>> = jobs
            .par_iter()
            .map(|(_, tm)| measures(ctx, &self.es, &task.setup, &split, tm))
            .collect();
        for ((kind, tm), r) in jobs.iter().zip(rows) {
            for (m, v) in r? {
                t.push(table_row![tm.eps, tm.seed, *kind, m.as_str(), v])?;
            }
        }
        let mut curves = Table::new(&["eps", "epoch", "val_loss"]);
        for m in explicit.iter().filter(|m| m.trained.seed == self.ctx_seed) {
            for (i, v) in m.curve.iter().enumerate() {
                curves.push(table_row![m.trained.eps, i + 1, *v])?;
            }
        }
        Ok(Computed {
            tables: vec![t, curves],
            extra: serde_json::Value::Null,
        })
    }
    fn render(&self, ctx: &Ctx, c: &Computed) -> Result<Vec<String>> {
        let mut files = Vec::new();
        for (m, words) in MEASURES.iter().chain(
            [(
                "gap_noisy_minus_explicit",
                "noisy test loss minus l + (eps^2/2)(Q + R)",
            )]
            .iter(),
        ) {
            let f = format!("{}_{m}_vs_eps.png", self.task.suffixed("explicit"));
            let mut plot = LinePlot::new(
                Axes::new(words, "noise level eps", words)
                    .subtitle(&self.sub)
                    .legend(LegendPos::UpperLeft),
            );
            for (i, kind) in ["noise", "explicit"].iter().enumerate() {
                let rows = by_eps(c.table(), kind, m)?;
                let x: Vec<f64> = rows.iter().map(|r| r.0).collect();
                let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
                let lo: Vec<f64> = rows.iter().map(|r| r.1 - r.2).collect();
                let hi: Vec<f64> = rows.iter().map(|r| r.1 + r.2).collect();
                let name = format!("{kind}-trained (mean ± 1 std over seeds)");
                plot = plot.series(Series::new(&name, &x, &y).band(&lo, &hi).markers().color(i));
            }
            plot.save(&ctx.out.join(&f))?;
            files.push(f);
        }
        let f = format!("{}_curves.png", self.task.suffixed("explicit"));
        let curves = &c.tables[1];
        let mut plot = LinePlot::new(
            Axes::new(
                "Validation loss while training on l + (eps^2/2)(Q + R)",
                "epoch",
                "validation loss (noise off)",
            )
            .subtitle(&self.sub)
            .legend(LegendPos::UpperRight),
        );
        for (i, e) in curves.distinct("eps")?.iter().enumerate() {
            let sub = curves.filter_eq("eps", e)?;
            let name = format!("eps {e}");
            plot = plot.series(
                Series::new(
                    &name,
                    &sub.column_f64("epoch")?,
                    &sub.column_f64("val_loss")?,
                )
                .color(i),
            );
        }
        plot.save(&ctx.out.join(&f))?;
        files.push(f);
        Ok(files)
    }
    fn verdict(&self, ctx: &Ctx, c: &Computed) -> Result<Outcome> {
        outcome(ctx, &self.es, &self.task, c.table())
    }
}

/// `(eps, mean, std)` over seeds of `measure` for one kind of training, eps 0 (the
/// deterministic model, from the noise grid) included for both.
fn by_eps(t: &Table, kind: &str, measure: &str) -> Result<Vec<(f64, f64, f64)>> {
    let sub = t.filter_eq("measure", measure)?;
    let mut pts: Vec<(f64, f64)> = Vec::new();
    for k in ["noise", "explicit"] {
        let part = sub.filter_eq("training", k)?;
        for (e, v) in part
            .column_f64("eps")?
            .into_iter()
            .zip(part.column_f64("value")?)
        {
            if (k == kind || e == 0.0) && v.is_finite() {
                pts.push((e, v));
            }
        }
    }
    let mut levels: Vec<f64> = pts.iter().map(|p| p.0).collect();
    levels.sort_by(|a, b| a.total_cmp(b));
    levels.dedup();
    Ok(levels
        .into_iter()
        .map(|l| {
            let v: Vec<f64> = pts.iter().filter(|p| p.0 == l).map(|p| p.1).collect();
            let e = crate::stats::Estimate::of(&v);
            (l, e.mean, e.sd_or_zero())
        })
        .collect())
}

/// Per seed, the value of `measure` for one kind of training at `eps`.
fn per_seed(t: &Table, kind: &str, measure: &str, eps: f64) -> Result<Vec<(u64, f64)>> {
    let sub = t
        .filter_eq("measure", measure)?
        .filter_eq("training", kind)?;
    let [e, s, v] = sub.columns_f64(["eps", "seed", "value"])?;
    Ok((0..e.len())
        .filter(|&i| e[i] == eps)
        .map(|i| (s[i] as u64, v[i]))
        .collect())
}

/// The equivalence judgement of `measure` at `eps`: per-seed `explicit - noise`, margin the
/// standard deviation over seeds of the noise-trained values.
fn judge_at(t: &Table, measure: &str, words: &str, eps: f64) -> Result<Judgement> {
    let noise = per_seed(t, "noise", measure, eps)?;
    let explicit = per_seed(t, "explicit", measure, eps)?;
    let diffs: Vec<(u64, f64)> = explicit
        .iter()
        .filter_map(|&(sd, v)| noise.iter().find(|p| p.0 == sd).map(|p| (sd, v - p.1)))
        .collect();
    let spread =
        crate::stats::Estimate::of(&noise.iter().map(|p| p.1).collect::<Vec<_>>()).sd_or_zero();
    Ok(judge_equivalence(
        &format!(
            "per-seed difference (explicit-trained minus noise-trained) of the {words} at eps {}, equivalence margin the standard deviation over seeds of the noise-trained models",
            format_sig(eps, 3)
        ),
        &diffs,
        spread,
    ))
}

/// The verdict, index text and manifest from the table.
fn outcome(ctx: &Ctx, es: &Setup, task: &Task, t: &Table) -> Result<Outcome> {
    let f3 = |v: f64| format_sig(v, 3);
    let mut grid = Vec::new();
    let mut lines = Vec::new();
    let mut part: Option<f64> = None;
    for &eps in &es.eps_levels {
        let mut cells = Vec::new();
        for (m, words) in MEASURES {
            let j = ctx.judged(judge_at(t, m, words, eps)?);
            if j.verdict == Verdict::Contradicted && part.is_none() {
                part = Some(eps);
            }
            cells.push(format!(
                "{words} {} (difference {} [{}, {}], margin ± {})",
                j.verdict,
                f3(j.effect),
                f3(j.ci_low),
                f3(j.ci_high),
                f3(j.margin.unwrap_or(f64::NAN))
            ));
            grid.push(serde_json::json!({"eps": eps, "measure": m, "judgement": j}));
        }
        lines.push(format!("eps {}: {}", f3(eps), cells.join("; ")));
    }
    let eps0 = es.eps_levels[0];
    let primary = ctx.judged(judge_at(t, MEASURES[0].0, MEASURES[0].1, eps0)?);
    let gaps: Vec<String> = es
        .eps_levels
        .iter()
        .map(|&e| {
            let g = by_eps(t, "explicit", "gap_noisy_minus_explicit").unwrap_or_default();
            let v = g.iter().find(|r| r.0 == e).map_or(f64::NAN, |r| r.1);
            format!("eps {}: {}", f3(e), f3(v))
        })
        .collect();
    let seeds = ctx.seed_list();
    let shows = format!(
        "{}Pairs of models per seed ({} seeds), the noise-trained model of the {} and a model trained \
         deterministically on l + (eps^2/2)(Q + R) from the same initialization and batch order. Per eps and measure, \
         the paired difference explicit minus noise, judged for equivalence within the seed spread: {}. Primary \
         (pre-registered): test accuracy at eps {}; {}. {} Gap between the noisy test loss \
         of the explicit-trained model and its explicit objective (predicted O(eps^4)): {}.",
        match task.shares_hessian() {
            true => String::new(),
            false => format!("{}. ", task.title),
        },
        seeds.len(),
        match task.shares_hessian() {
            true => "hessian grid",
            false => "same setup",
        },
        lines.join(" | "),
        f3(eps0),
        primary.sentence(f3),
        part.map_or(
            "No measure parts ways within the grid (no difference lies outside its margin with 95% confidence).".to_string(),
            |e| format!("The trainings part ways at eps {} (the smallest level with a difference outside its margin with 95% confidence).", f3(e)),
        ),
        gaps.join(", "),
    );
    let mut config = serde_json::json!({"setup": es, "training": task.setup});
    if let Some(sp) = &task.split {
        config["task"] = serde_json::json!(task.name);
        config["split"] = serde_json::json!(sp);
    }
    let summary = serde_json::json!({
        "verdict": primary.verdict.as_str(), "primary": primary, "grid": grid,
        "part_ways_eps": part,
    });
    Ok(Outcome::judged(&primary, shows, seeds, config, summary))
}

/// Run the experiment (see the module docs): one figure per task of [`tasks`].
pub fn run(ctx: &Ctx) -> Result<()> {
    let es = setup(ctx.profile);
    for (index, task) in tasks(ctx.profile).into_iter().enumerate() {
        let t0 = Instant::now();
        let s = &task.setup;
        let sub = format!(
            "{}, tanh RNN n={}, {} epochs, diag noise sigma1=sigma2=1; {} seed(s)",
            task.title,
            s.hidden,
            s.epochs,
            ctx.seeds.max(1)
        );
        let fig = ExplicitVsNoise {
            index,
            name: task.figure_name(),
            task,
            es: es.clone(),
            sub,
            ctx_seed: ctx.seed,
        };
        execute(ctx, &fig, t0)?;
    }
    Ok(())
}

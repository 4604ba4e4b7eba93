//! Experiment `hessian` (docs/theory.md section 3; section 6, claim 3): flat minima.
//!
//! Small tanh Lipschitz RNNs are trained on the embedded digits ([`crate::data::digits`],
//! one pixel per step) with `diag` noise (`sigma1 = sigma2 = 1`) at the levels
//! [`Setup::eps_levels`] (0: deterministic), `ctx.seeds` seeds each, with
//! [`crate::train::fit`] (best epoch on the validation set). Each trained model is a piece
//! of the run (family `flatness`, [`pieces`]): stored with its accuracies in the piece
//! store `<out>/pieces/<id>.json` ([`super::pieces`]) and shared with the `margin`
//! experiment ([`trained_models`]); a stored piece is loaded, never retrained (its id
//! hashes the setup, so a changed setup trains anew).
//!
//! For every model, on the first [`Setup::hessian_examples`] training examples with the noise
//! off ([`crate::hessian::analyze`]): the top eigenvalues of the Hessian of the training
//! loss in all parameters (Lanczos on exact Hessian-vector products, with residuals), its
//! trace (Hutchinson, with standard error), and the top eigenvalue and trace of the
//! hidden-state Hessian `V^T Hess_o l V`. For seed 0 of the deterministic and of the
//! noisiest model, the spectral density (stochastic Lanczos quadrature), broadened with one
//! common width on one common grid.
//!
//! Outputs (in `ctx.out`): `hessian_density.{csv,png,json}` and
//! `hessian_vs_noise.{csv,json}` with `hessian_{top,trace,hidden_top,hidden_trace}_vs_noise.png`
//! (mean over seeds with a band of ±1 standard deviation), and the index entries
//! `hessian_density` and `hessian_vs_noise`. `--replot` redraws the PNGs from the CSVs.
//! Prediction: more training noise, smaller top eigenvalue and trace.

use super::figure::{execute, Computed, Figure, Outcome};
use super::pieces::{keep_out_of_git, Piece, PieceStore, PIECES_DIR};
use super::{per_seed_contrast, per_seed_slope, secondary_slopes, Ctx, Profile};
use crate::data::Dataset;
use crate::error::{Error, Result};
use crate::hessian::{analyze, HessianOptions, SlqOptions};
use crate::loss::Loss;
use crate::model::{Model, ModelConfig, NoiseForm, NoiseSpec};
use crate::report::plot::{format_sig, Axes, LegendPos, LinePlot, Series};
use crate::report::table::Table;
use crate::stats::{linear_fit, Fit};
use crate::table_row;
use crate::train::{fit, split_dataset, Split, TrainConfig};
use crate::verdict::{judge, secondary_text, Direction, Test};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// The claim of the Hessian figures (docs/theory.md 3 and 6, claim 3).
pub const CLAIM: &str =
    "Noise training promotes flat minima: models trained with more hidden-state noise have a \
smaller top eigenvalue and trace of the Hessian of the training loss (docs/theory.md 3; 6, claim 3).";

/// Settings of the flatness and margin experiments (shared models).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Setup {
    /// Examples of the digits used (from the start of the file; `None`: all 1,797).
    pub examples: Option<usize>,
    /// Validation examples (model selection).
    pub val: usize,
    /// Test examples (margins are measured there).
    pub test: usize,
    /// Seed of the split.
    pub split_seed: u64,
    /// Hidden units.
    pub hidden: usize,
    /// Step d.
    pub dt: f64,
    /// Training epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Noise form of the noisy models.
    pub noise_form: NoiseForm,
    /// Additive level sigma1.
    pub sigma1: f64,
    /// Multiplicative level sigma2.
    pub sigma2: f64,
    /// Training noise levels eps (0: deterministic).
    pub eps_levels: Vec<f64>,
    /// Training examples the Hessian is taken on.
    pub hessian_examples: usize,
    /// Top eigenvalues computed.
    pub top_k: usize,
    /// Largest Krylov dimension of the Lanczos runs.
    pub lanczos_max_iter: usize,
    /// Relative residual tolerance of the Lanczos runs.
    pub lanczos_tol: f64,
    /// Hutchinson probes.
    pub trace_probes: usize,
    /// SLQ probes of the densities.
    pub density_probes: usize,
    /// Lanczos steps per SLQ probe.
    pub density_steps: usize,
    /// Test examples whose margins are measured.
    pub margin_examples: usize,
}

/// The setup of a profile: smoke (tiny, seconds), quick (the committed figures: 32 hidden
/// units, 30 epochs, 5 noise levels up to 0.2), full (64 hidden units, 60 epochs, 7 levels up
/// to 0.3). The levels stay in the small-noise regime of the theory: at 0.2 the digits models
/// already lose several points of accuracy.
///
/// ```
/// use nrnn::experiments::{hessian::setup, Profile};
/// assert_eq!(setup(Profile::Quick).eps_levels[0], 0.0);
/// assert!(setup(Profile::Smoke).hidden < setup(Profile::Quick).hidden);
/// ```
pub fn setup(profile: Profile) -> Setup {
    let p = profile;
    Setup {
        examples: p.pick(Some(300), None, None),
        val: p.pick(50, 200, 200),
        test: p.pick(40, 400, 400),
        split_seed: 0,
        hidden: p.pick(8, 32, 64),
        dt: 0.5,
        epochs: p.pick(2, 30, 60),
        batch: 32,
        lr: 5e-3,
        noise_form: NoiseForm::Diag,
        sigma1: 1.0,
        sigma2: 1.0,
        eps_levels: p.pick(
            vec![0.0, 0.2],
            vec![0.0, 0.05, 0.1, 0.15, 0.2],
            vec![0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3],
        ),
        hessian_examples: p.pick(32, 256, 512),
        top_k: p.pick(2, 5, 10),
        lanczos_max_iter: p.pick(30, 120, 300),
        lanczos_tol: 1e-6,
        trace_probes: p.pick(4, 30, 100),
        density_probes: p.pick(2, 6, 16),
        density_steps: p.pick(10, 50, 100),
        margin_examples: p.pick(20, 400, 400),
    }
}

/// A trained model of the noise-level grid.
#[derive(Clone, Debug)]
pub struct TrainedModel {
    /// Training noise level.
    pub eps: f64,
    /// Training seed.
    pub seed: u64,
    /// The selected model (best validation accuracy), noise spec included.
    pub model: Model,
    /// Validation accuracy (noise off).
    pub val_accuracy: f64,
    /// Test accuracy (noise off).
    pub test_accuracy: f64,
}

/// The digits split of the setup: `(train, val, test)`.
///
/// ```
/// use nrnn::experiments::{hessian::{data, setup}, Profile};
/// let s = data(&setup(Profile::Smoke)).unwrap();
/// assert_eq!((s.train.len(), s.val.len(), s.test.len()), (210, 50, 40));
/// ```
pub fn data(s: &Setup) -> Result<Split> {
    let d = crate::data::digits();
    let d = match s.examples {
        Some(n) => d.head(n),
        None => d,
    };
    Ok(split_dataset(&d, s.val, s.test, s.split_seed)?.0)
}

/// Label of a noise level in file names.
///
/// ```
/// assert_eq!(nrnn::experiments::hessian::eps_name(0.05), "eps0.050");
/// ```
pub fn eps_name(eps: f64) -> String {
    format!("eps{eps:.3}")
}

/// The piece file of the model of `(eps, seed)`, relative to the output directory.
pub(crate) fn model_file(ctx: &Ctx, s: &Setup, eps: f64, seed: u64) -> String {
    format!("{PIECES_DIR}/{}.json", piece(ctx, s, eps, seed).id)
}

/// The experiments built from the models of the noise-level grid (piece family
/// `flatness`).
pub const USED_BY: &[&str] = &["hessian", "margin", "explicit"];

/// The piece family of the models of the noise-level grid.
const FAMILY: &str = "flatness";

/// The piece of the model of `(eps, seed)`: its configuration is the whole setup (data,
/// split, model, training, measurements) and the level.
fn piece(ctx: &Ctx, s: &Setup, eps: f64, seed: u64) -> Piece {
    Piece::new(
        ctx.profile,
        FAMILY,
        USED_BY,
        "digits",
        &eps_name(eps),
        seed,
        serde_json::json!({"data": "digits", "setup": s, "eps": eps}),
    )
}

/// The noise levels, seeds and pieces of the grid, levels first.
fn grid(ctx: &Ctx, s: &Setup) -> Vec<(f64, u64, Piece)> {
    let seeds = ctx.seed_list();
    s.eps_levels
        .iter()
        .flat_map(|&e| seeds.iter().map(move |&sd| (e, sd)))
        .map(|(e, sd)| (e, sd, piece(ctx, s, e, sd)))
        .collect()
}

/// The pieces of a run (family `flatness`): one trained model per noise level and seed.
///
/// ```
/// use nrnn::experiments::{hessian::pieces, Ctx, Profile};
/// let ctx = Ctx { profile: Profile::Smoke, out: "x".into(), seeds: 2, seed: 0,
///     replot: false, command: String::new(), pieces: Default::default() };
/// let p = pieces(&ctx);
/// assert_eq!(p.len(), 4);
/// assert_eq!(p[1].key, "flatness/digits/eps0.000/seed1");
/// ```
pub fn pieces(ctx: &Ctx) -> Vec<Piece> {
    grid(ctx, &setup(ctx.profile))
        .into_iter()
        .map(|g| g.2)
        .collect()
}

/// What a `flatness` piece stores beside its model.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
struct Accuracies {
    best_epoch: usize,
    val_accuracy: f64,
    test_accuracy: f64,
}

/// The model configuration of the grid at noise level `eps` (noise off at 0).
pub(crate) fn model_config(s: &Setup, eps: f64, data: &Dataset) -> Result<ModelConfig> {
    let mut cfg = ModelConfig::new(s.hidden, data.input_dim, data.classes);
    cfg.noise = if eps > 0.0 {
        NoiseSpec::new(s.noise_form, eps, s.sigma1, s.sigma2)?
    } else {
        NoiseSpec::off()
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Train the model of `(eps, seed)` and measure its accuracies (noise off).
fn train_one(s: &Setup, split: &Split, eps: f64, seed: u64) -> Result<(Model, Accuracies)> {
    let cfg = model_config(s, eps, &split.train)?;
    let init = Model::init(cfg, s.dt, seed)?;
    let tc = TrainConfig {
        epochs: s.epochs,
        batch: s.batch,
        lr: s.lr,
        seed,
        train_noise: true,
        progress: false,
        ..Default::default()
    };
    let fitted = fit(init, &split.train, &split.val, &tc, None)?;
    let model = fitted.model;
    let (_, val_accuracy) = model.evaluate(&split.val.all(), Loss::CrossEntropy);
    let (_, test_accuracy) = model.evaluate(&split.test.all(), Loss::CrossEntropy);
    let acc = Accuracies {
        best_epoch: fitted.best_epoch,
        val_accuracy,
        test_accuracy,
    };
    Ok((model, acc))
}

/// The model of `(eps, seed)` from the store, trained and stored first when missing; the
/// flag says whether it was trained by this call.
fn get_one(
    store: &PieceStore,
    s: &Setup,
    split: &Split,
    (eps, seed, p): &(f64, u64, Piece),
) -> Result<(TrainedModel, bool)> {
    let (st, trained) = store.get_or_compute(p, || train_one(s, split, *eps, *seed))?;
    let r: Accuracies = st.result;
    if trained {
        eprintln!(
            "hessian: {}: trained {:.1} s (best epoch {}, val acc {:.3})",
            p.key, st.wall_seconds, r.best_epoch, r.val_accuracy
        );
    }
    let t = TrainedModel {
        eps: *eps,
        seed: *seed,
        model: Model::from_json(&st.model)?,
        val_accuracy: r.val_accuracy,
        test_accuracy: r.test_accuracy,
    };
    Ok((t, trained))
}

/// Train (or load from the piece store) the pieces of the grid that `want` selects, in
/// parallel; returns how many were trained by this call.
pub fn run_pieces(ctx: &Ctx, want: &dyn Fn(&Piece) -> bool) -> Result<usize> {
    let s = setup(ctx.profile);
    let split = data(&s)?;
    let todo: Vec<_> = grid(ctx, &s).into_iter().filter(|g| want(&g.2)).collect();
    keep_out_of_git(&ctx.out)?;
    let store = PieceStore::of(ctx, todo.len());
    let fresh: Vec<bool> = todo
        .par_iter()
        .map(|g| get_one(&store, &s, &split, g).map(|r| r.1))
        .collect::<Result<_>>()?;
    Ok(fresh.into_iter().filter(|&f| f).count())
}

/// The training cost of a piece ([`super::pieces::Probe`]): steps per model and the
/// measured time of a step of the noisiest model.
pub fn probe(ctx: &Ctx, _task: &str, _class: &str) -> Result<super::pieces::Probe> {
    let s = setup(ctx.profile);
    let eps = s.eps_levels.iter().copied().fold(0.0, f64::max);
    probe_at(
        ctx,
        &s,
        &data(&s)?,
        eps,
        crate::train::config::Objective::Noise,
    )
}

/// The training cost ([`super::pieces::Probe`]) of the model of setting `s` at noise
/// level `eps` on `split`, trained on `objective`: its steps and the measured time of one.
pub(super) fn probe_at(
    ctx: &Ctx,
    s: &Setup,
    split: &Split,
    eps: f64,
    objective: crate::train::config::Objective,
) -> Result<super::pieces::Probe> {
    let model = Model::init(model_config(s, eps, &split.train)?, s.dt, ctx.seed)?;
    let (train, val) = (&split.train, &split.val);
    Ok(super::pieces::Probe {
        steps: s.epochs * split.train.len().div_ceil(s.batch),
        step_seconds: super::pieces::time_steps(model, train, val, s.batch, objective)?,
    })
}

/// Train (or load from the piece store) one model per noise level and seed
/// (`ctx.seed + i`, `i < ctx.seeds`), in parallel over the pieces; results are ordered by
/// noise level, then seed. Shared by the `hessian` and `margin` experiments.
pub fn trained_models(ctx: &Ctx, s: &Setup, split: &Split) -> Result<Vec<TrainedModel>> {
    let todo = grid(ctx, s);
    keep_out_of_git(&ctx.out)?;
    let store = PieceStore::of(ctx, todo.len());
    todo.par_iter()
        .map(|g| get_one(&store, s, split, g).map(|r| r.0))
        .collect()
}

/// Mean and standard deviation (0 for one value) of the values of `measure` at each noise
/// level of a tidy table with columns `eps`, `measure`, `value`: `(eps, mean, std)`.
pub(crate) fn by_eps(t: &Table, measure: &str) -> Result<Vec<(f64, f64, f64)>> {
    let sub = t.filter_eq("measure", measure)?;
    let [eps, vals] = sub.columns_f64(["eps", "value"])?;
    let mut levels: Vec<f64> = Vec::new();
    for &e in &eps {
        if !levels.contains(&e) {
            levels.push(e);
        }
    }
    levels.sort_by(|a, b| a.total_cmp(b));
    Ok(levels
        .into_iter()
        .map(|l| {
            let v: Vec<f64> = eps
                .iter()
                .zip(&vals)
                .filter(|(e, x)| **e == l && x.is_finite())
                .map(|(_, &x)| x)
                .collect();
            let e = crate::stats::Estimate::of(&v);
            (l, e.mean, e.sd_or_zero())
        })
        .collect())
}

/// Least-squares fit of `value` against `eps` over every (level, seed) row of `measure`.
pub(crate) fn trend(t: &Table, measure: &str) -> Result<Fit> {
    let sub = t.filter_eq("measure", measure)?;
    Ok(linear_fit(
        &sub.column_f64("eps")?,
        &sub.column_f64("value")?,
    ))
}

/// A line plot of mean ± 1 std over seeds against the training noise level.
pub(crate) fn vs_noise_plot(
    t: &Table,
    measures: &[(&str, &str)],
    title: &str,
    y_label: &str,
    sub: &str,
    log_y: bool,
) -> Result<LinePlot> {
    let mut axes = Axes::new(title, "training noise eps", y_label)
        .subtitle(sub)
        .legend(LegendPos::UpperRight);
    if log_y {
        axes = axes.log_y();
    }
    let mut plot = LinePlot::new(axes);
    for (i, (measure, label)) in measures.iter().enumerate() {
        let rows = by_eps(t, measure)?;
        let x: Vec<f64> = rows.iter().map(|r| r.0).collect();
        let y: Vec<f64> = rows.iter().map(|r| r.1).collect();
        let lo: Vec<f64> = rows.iter().map(|r| r.1 - r.2).collect();
        let hi: Vec<f64> = rows.iter().map(|r| r.1 + r.2).collect();
        plot = plot.series(Series::new(label, &x, &y).band(&lo, &hi).markers().color(i));
    }
    Ok(plot)
}

const VS_NOISE_PNGS: [(&str, &str, &str, &str); 4] = [
    (
        "hessian_top_vs_noise.png",
        "top_eigenvalue",
        "top eigenvalue of the training-loss Hessian",
        "lambda_max",
    ),
    (
        "hessian_trace_vs_noise.png",
        "trace",
        "trace of the training-loss Hessian (Hutchinson)",
        "trace",
    ),
    (
        "hessian_hidden_top_vs_noise.png",
        "hidden_top",
        "top eigenvalue of the hidden-state Hessian V^T Hess_o l V",
        "lambda_max(H)",
    ),
    (
        "hessian_hidden_trace_vs_noise.png",
        "hidden_trace",
        "trace of the hidden-state Hessian",
        "tr H",
    ),
];

fn draw_vs_noise(ctx: &Ctx, t: &Table, sub: &str) -> Result<Vec<String>> {
    let mut files = Vec::new();
    for (file, measure, title, ylab) in VS_NOISE_PNGS {
        vs_noise_plot(
            t,
            &[(measure, "mean ± 1 std over seeds")],
            title,
            ylab,
            sub,
            false,
        )?
        .save(&ctx.out.join(file))?;
        files.push(file.to_string());
    }
    Ok(files)
}

fn draw_density(ctx: &Ctx, t: &Table, sub: &str) -> Result<String> {
    let labels = t.distinct("model")?;
    let mut ymax: f64 = 0.0;
    let mut series = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let s = t.filter_eq("model", l)?;
        let [x, y, se] = s.columns_f64(["eigenvalue", "density", "stderr"])?;
        ymax = y.iter().fold(ymax, |m, &v| m.max(v));
        let lo: Vec<f64> = y.iter().zip(&se).map(|(v, e)| v - 2.0 * e).collect();
        let hi: Vec<f64> = y.iter().zip(&se).map(|(v, e)| v + 2.0 * e).collect();
        series.push(Series::new(l, &x, &y).band(&lo, &hi).color(i));
    }
    let axes = Axes::new(
        "Spectral density of the training-loss Hessian (SLQ)",
        "eigenvalue",
        "density",
    )
    .subtitle(sub)
    .log_y()
    .y_range((ymax * 1e-7).max(f64::MIN_POSITIVE), ymax * 3.0)
    .legend(LegendPos::UpperRight);
    let mut plot = LinePlot::new(axes);
    for s in series {
        plot = plot.series(s);
    }
    let file = "hessian_density.png".to_string();
    plot.save(&ctx.out.join(&file))?;
    Ok(file)
}

/// The densities of two models broadened with one width on one grid: rows
/// `(model, eps, seed, eigenvalue, density, stderr)`.
fn density_rows(
    ctx: &Ctx,
    s: &Setup,
    split: &Split,
    models: &[&TrainedModel],
) -> Result<(Table, serde_json::Value)> {
    let batch = split.train.head(s.hessian_examples).all();
    let opts = SlqOptions {
        probes: s.density_probes,
        steps: s.density_steps,
        seed: ctx.seed,
        ..SlqOptions::new()
    };
    let mut dens = Vec::new();
    for tm in models {
        let op = crate::hessian::ParamHessian::new(&tm.model, &batch, Loss::CrossEntropy)?;
        dens.push(crate::hessian::slq(&op, &opts)?);
    }
    let lo = dens
        .iter()
        .flat_map(|d| d.nodes.iter().flatten())
        .fold(f64::INFINITY, |a, &b| a.min(b));
    let hi = dens
        .iter()
        .flat_map(|d| d.nodes.iter().flatten())
        .fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let sigma = opts.rel_sigma * (hi - lo).max(f64::MIN_POSITIVE);
    let n = 800;
    let (g0, g1) = (lo - 6.0 * sigma, hi + 6.0 * sigma);
    let grid: Vec<f64> = (0..n)
        .map(|i| g0 + (g1 - g0) * i as f64 / (n - 1) as f64)
        .collect();
    let mut t = Table::new(&["model", "eps", "seed", "eigenvalue", "density", "stderr"]);
    let mut summary = Vec::new();
    for (tm, d) in models.iter().zip(&dens) {
        // Per-probe densities on the common grid, for the mean and its standard error.
        let per: Vec<Vec<f64>> = d
            .nodes
            .iter()
            .zip(&d.weights)
            .map(|(ns, ws)| {
                let one = crate::hessian::SpectralDensity {
                    nodes: vec![ns.clone()],
                    weights: vec![ws.clone()],
                    ..d.clone()
                };
                one.broadened(&grid, sigma)
            })
            .collect::<Result<_>>()?;
        let p = per.len() as f64;
        let label = if tm.eps > 0.0 {
            format!("noise-trained, eps {}", format_sig(tm.eps, 3))
        } else {
            "deterministic".into()
        };
        for (i, &x) in grid.iter().enumerate() {
            let m = per.iter().map(|v| v[i]).sum::<f64>() / p;
            let var = per.iter().map(|v| (v[i] - m).powi(2)).sum::<f64>() / (p - 1.0).max(1.0);
            t.push(table_row![
                label.clone(),
                tm.eps,
                tm.seed,
                x,
                m,
                (var / p).sqrt()
            ])?;
        }
        summary.push(serde_json::json!({
            "model": label, "eps": tm.eps, "seed": tm.seed,
            "node_min": d.nodes.iter().flatten().fold(f64::INFINITY, |a, &b| a.min(b)),
            "node_max": d.nodes.iter().flatten().fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
            "slq_trace": d.trace.mean, "slq_trace_stderr": d.trace.stderr, "products": d.products,
        }));
    }
    Ok((t, serde_json::json!({"sigma": sigma, "models": summary})))
}

/// The pre-registered test of `hessian_vs_noise`: the per-seed least-squares slope of the
/// top eigenvalue of the training-loss Hessian against the training noise eps, predicted
/// negative (flatter minima with more noise).
pub fn vs_noise_test() -> Test {
    Test::new(
        "per-seed least-squares slope of the top eigenvalue of the training-loss Hessian against the training noise eps",
        Direction::Decrease,
    )
}

fn subtitle(s: &Setup, seeds: usize) -> String {
    format!(
        "digits, tanh RNN n={}, {} epochs, diag noise sigma1=sigma2=1; Hessian on {} training examples; {} seed(s)",
        s.hidden, s.epochs, s.hessian_examples, seeds
    )
}

/// The digits split and the trained models of a run, trained (or loaded from the cache) on
/// first use: the figures of a replot never ask for them.
pub(crate) struct Trained<'a> {
    ctx: &'a Ctx,
    s: &'a Setup,
    cell: std::cell::OnceCell<(Split, Vec<TrainedModel>)>,
}

impl<'a> Trained<'a> {
    /// Nothing trained yet.
    pub(crate) fn new(ctx: &'a Ctx, s: &'a Setup) -> Trained<'a> {
        Trained {
            ctx,
            s,
            cell: std::cell::OnceCell::new(),
        }
    }

    /// The split and the models ([`data`], [`trained_models`]).
    pub(crate) fn get(&self) -> Result<&(Split, Vec<TrainedModel>)> {
        if self.cell.get().is_none() {
            let split = data(self.s)?;
            let models = trained_models(self.ctx, self.s, &split)?;
            let _ = self.cell.set((split, models));
        }
        Ok(self.cell.get().expect("set above"))
    }
}

/// Figure `hessian_vs_noise`: top eigenvalue and trace of both Hessians per model.
struct VsNoise<'a> {
    s: &'a Setup,
    sub: String,
    trained: &'a Trained<'a>,
}

impl Figure for VsNoise<'_> {
    fn name(&self) -> &str {
        "hessian_vs_noise"
    }
    fn claim(&self) -> &str {
        CLAIM
    }
    fn compute(&self, ctx: &Ctx) -> Result<Computed> {
        let (split, models) = self.trained.get()?;
        Ok(Computed::of(vs_noise_rows(ctx, self.s, split, models)?))
    }
    fn render(&self, ctx: &Ctx, c: &Computed) -> Result<Vec<String>> {
        draw_vs_noise(ctx, c.table(), &self.sub)
    }
    fn verdict(&self, ctx: &Ctx, c: &Computed) -> Result<Outcome> {
        vs_noise_outcome(ctx, self.s, c.table())
    }
    fn judges_replot(&self) -> bool {
        false
    }
}

/// The per-model Hessian measures: rows `(eps, seed, measure, value, stderr)`.
fn vs_noise_rows(ctx: &Ctx, s: &Setup, split: &Split, models: &[TrainedModel]) -> Result<Table> {
    let batch = split.train.head(s.hessian_examples).all();
    let mut t = Table::new(&["eps", "seed", "measure", "value", "stderr"]);
    for tm in models {
        let mut o = HessianOptions::new(s.top_k.min(tm.model.n_flat()), s.trace_probes, ctx.seed);
        o.lanczos_max_iter = s.lanczos_max_iter;
        o.lanczos_tol = s.lanczos_tol;
        let r = analyze(&tm.model, &batch, Loss::CrossEntropy, &o)?;
        let mut push = |m: &str, v: f64, se: f64| t.push(table_row![tm.eps, tm.seed, m, v, se]);
        push("top_eigenvalue", r.top.values[0], r.top.residuals[0])?;
        for (i, (v, res)) in r
            .top
            .values
            .iter()
            .zip(&r.top.residuals)
            .enumerate()
            .skip(1)
        {
            push(&format!("eigenvalue_{}", i + 1), *v, *res)?;
        }
        push("trace", r.trace.mean, r.trace.stderr)?;
        push("hidden_top", r.hidden.exact_top[0], 0.0)?;
        push("hidden_trace", r.hidden.exact_trace, 0.0)?;
        push(
            "hidden_top_per_example",
            r.hidden.per_example_top_mean,
            r.hidden.per_example_top_stderr,
        )?;
        push("loss", r.loss, 0.0)?;
        push("grad_norm", r.grad_norm, 0.0)?;
        push("hvp_count", r.hvp_count as f64, 0.0)?;
        push(
            "lanczos_converged",
            if r.top.converged { 1.0 } else { 0.0 },
            0.0,
        )?;
        push("val_accuracy", tm.val_accuracy, 0.0)?;
        push("test_accuracy", tm.test_accuracy, 0.0)?;
    }
    Ok(t)
}

/// `eps: mean` pairs of a by-eps summary, for the index text.
pub(crate) fn fmt_levels(rows: &[(f64, f64, f64)]) -> String {
    rows.iter()
        .map(|r| format!("{}: {}", format_sig(r.0, 3), format_sig(r.1, 3)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict, index text and manifest of `hessian_vs_noise` from its table.
fn vs_noise_outcome(ctx: &Ctx, s: &Setup, t: &Table) -> Result<Outcome> {
    let measures = [
        "top_eigenvalue",
        "trace",
        "hidden_top",
        "hidden_trace",
        "test_accuracy",
    ];
    let mut means = serde_json::Map::new();
    for m in measures {
        means.insert(
            m.into(),
            serde_json::to_value(by_eps(t, m)?).map_err(|e| Error::Other(e.to_string()))?,
        );
    }
    let fits: Vec<Fit> = ["top_eigenvalue", "trace", "hidden_top", "hidden_trace"]
        .iter()
        .map(|m| trend(t, m))
        .collect::<Result<_>>()?;
    let primary = ctx.judged(judge(
        &vs_noise_test(),
        &per_seed_slope(t, "top_eigenvalue")?,
    ));
    let sec = secondary_slopes(
        t,
        &[
            ("trace", "trace of the parameter Hessian"),
            ("hidden_top", "top eigenvalue of the hidden-state Hessian"),
            ("hidden_trace", "trace of the hidden-state Hessian"),
        ],
        Direction::Decrease,
    )?;
    let seeds = ctx.seed_list();
    let f3 = |v: f64| format_sig(v, 3);
    let shows = format!(
        "Mean over {} seeds against the training noise eps. Top eigenvalue: {}. Trace: {}. Test accuracy: {}. \
         Primary statistic (pre-registered): the per-seed slope of the top eigenvalue against eps; {}. \
         Secondary measures (per-seed slopes, Holm-adjusted p over the three): {}. \
         Design: within a seed every model shares the data split, the initialization draw and the batch order, \
         and the Hessian probes are the same for every model.",
        seeds.len(),
        fmt_levels(&by_eps(t, "top_eigenvalue")?),
        fmt_levels(&by_eps(t, "trace")?),
        fmt_levels(&by_eps(t, "test_accuracy")?),
        primary.sentence(f3),
        secondary_text(&sec, &["trace", "hidden-state top", "hidden-state trace"], f3),
    );
    let summary = serde_json::json!({"by_eps": means, "fits": {"top_eigenvalue": fits[0], "trace": fits[1],
        "hidden_top": fits[2], "hidden_trace": fits[3]}, "verdict": primary.verdict.as_str(),
        "primary": primary, "secondary": sec});
    Ok(Outcome::judged(&primary, shows, seeds, config(s), summary))
}

/// The manifest configuration of both Hessian figures.
fn config(s: &Setup) -> serde_json::Value {
    serde_json::json!({"setup": s, "data": "digits (embedded)", "loss": "cross-entropy, noise off"})
}

/// Figure `hessian_density`: the spectral densities of the deterministic and the noisiest
/// model of the base seed, judged on the paired top-eigenvalue contrast of `hessian_vs_noise`.
struct Density<'a> {
    s: &'a Setup,
    sub: String,
    trained: &'a Trained<'a>,
    /// The table of `hessian_vs_noise`.
    vs_noise: &'a Table,
}

impl Density<'_> {
    /// The noisiest training level.
    fn emax(&self) -> f64 {
        self.s.eps_levels.iter().copied().fold(0.0, f64::max)
    }
}

impl Figure for Density<'_> {
    fn name(&self) -> &str {
        "hessian_density"
    }
    fn claim(&self) -> &str {
        CLAIM
    }
    fn compute(&self, ctx: &Ctx) -> Result<Computed> {
        let (split, models) = self.trained.get()?;
        let pick = |e: f64| models.iter().find(|m| m.eps == e && m.seed == ctx.seed);
        let pair: Vec<&TrainedModel> = [pick(0.0), pick(self.emax())]
            .into_iter()
            .flatten()
            .collect();
        if pair.len() < 2 {
            return Err(Error::Other(
                "hessian experiment: the deterministic and the noisiest model are needed".into(),
            ));
        }
        let (dt, dsum) = density_rows(ctx, self.s, split, &pair)?;
        Ok(Computed {
            tables: vec![dt],
            extra: dsum,
        })
    }
    fn render(&self, ctx: &Ctx, c: &Computed) -> Result<Vec<String>> {
        Ok(vec![draw_density(ctx, c.table(), &self.sub)?])
    }
    fn verdict(&self, ctx: &Ctx, c: &Computed) -> Result<Outcome> {
        let (s, emax, dsum) = (self.s, self.emax(), &c.extra);
        let top = by_eps(self.vs_noise, "top_eigenvalue")?;
        let dv = |e: f64| top.iter().find(|r| r.0 == e).map_or(f64::NAN, |r| r.1);
        let dprimary = ctx.judged(judge(
            &Test::new(
                format!(
                    "per-seed difference of the top Hessian eigenvalue, model trained at eps {} minus the deterministic model",
                    format_sig(emax, 3)
                ),
                Direction::Decrease,
            ),
            &per_seed_contrast(self.vs_noise, "top_eigenvalue", emax, 0.0)?,
        ));
        let dshows = format!(
            "Spectral density (stochastic Lanczos quadrature, {} probes x {} steps, Gaussian width {} common to both) \
             of the training-loss Hessian of the deterministic model and of the model trained with eps {} (seed {}). \
             Mean top eigenvalue over seeds: {} (deterministic) vs {} (noisy). Primary statistic (pre-registered): {}.",
            s.density_probes,
            s.density_steps,
            format_sig(dsum["sigma"].as_f64().unwrap_or(f64::NAN), 3),
            format_sig(emax, 3),
            ctx.seed,
            format_sig(dv(0.0), 4),
            format_sig(dv(emax), 4),
            dprimary.sentence(|v| format_sig(v, 3)),
        );
        Ok(Outcome::judged(
            &dprimary,
            dshows,
            vec![ctx.seed],
            config(s),
            dsum.clone(),
        ))
    }
    fn judges_replot(&self) -> bool {
        false
    }
}

/// Run the experiment (see the module docs).
pub fn run(ctx: &Ctx) -> Result<()> {
    let t0 = Instant::now();
    let s = setup(ctx.profile);
    let sub = subtitle(&s, ctx.seeds.max(1));
    let trained = Trained::new(ctx, &s);
    let vs = VsNoise {
        s: &s,
        sub: sub.clone(),
        trained: &trained,
    };
    let c = execute(ctx, &vs, t0)?;
    let density = Density {
        s: &s,
        sub,
        trained: &trained,
        vs_noise: c.table(),
    };
    execute(ctx, &density, t0)?;
    Ok(())
}

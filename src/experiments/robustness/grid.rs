//! The training grid: the model variants, the tasks (data, sizes, perturbation grids) and the training of one piece (task, model, seed), kept in the run's piece store.

use super::*;

/// One model of the comparison: architecture switches and training noise.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelSpec {
    /// Identifier used in file names and CSVs.
    pub name: &'static str,
    /// Legend label.
    pub label: &'static str,
    /// Training noise (off for the deterministic baselines).
    pub noise: NoiseSpec,
    /// Mix of symmetric and skew parts of A and W.
    pub beta: f64,
    /// Diagonal shift of A and W.
    pub gamma: f64,
    /// Whether the drift has the `A h` term.
    pub a_term: bool,
    /// Whether the per-unit step is learned.
    pub learn_dt: bool,
}

impl ModelSpec {
    /// Whether the model is trained with noise.
    pub fn noisy(&self) -> bool {
        !self.noise.is_off()
    }
}

/// The seven models, in table order: `lipschitz` (deterministic Lipschitz RNN, beta 0.75,
/// gamma 0.001), `antisymmetric` (beta 1, no `A h` term, gamma 0.0001, as in the paper),
/// `nrnn-add`, `nrnn-mult`, `nrnn-mixed` (`diag` noise, eps [`NRNN_EPS`], `(sigma1,
/// sigma2)` = (1, 0), (0, 1), (1, 1); the step fixed, as in the baselines, so that noise
/// is the only difference), and `code-0.02-0.02`, `code-0.05-0.02` (the released script's
/// form, eps 1, `sigma1` = additive and `sigma2` = multiplicative level: PAPER.md's
/// (add, mult) = (0.02, 0.02) and (0.05, 0.02); learnable per-unit step, as there).
///
/// ```
/// let m = nrnn::experiments::robustness::models();
/// assert_eq!(m.len(), 7);
/// assert_eq!(m.iter().filter(|s| s.noisy()).count(), 5);
/// ```
pub fn models() -> Vec<ModelSpec> {
    let base = |name, label, noise| ModelSpec {
        name,
        label,
        noise,
        beta: 0.75,
        gamma: 0.001,
        a_term: true,
        learn_dt: false,
    };
    let diag = |s1, s2| NoiseSpec {
        form: NoiseForm::Diag,
        eps: NRNN_EPS,
        sigma1: s1,
        sigma2: s2,
    };
    let code = |add, mult| NoiseSpec {
        form: NoiseForm::Code,
        eps: 1.0,
        sigma1: add,
        sigma2: mult,
    };
    vec![
        base("lipschitz", "Lipschitz RNN", NoiseSpec::off()),
        ModelSpec {
            name: "antisymmetric",
            label: "Antisymmetric RNN",
            noise: NoiseSpec::off(),
            beta: 1.0,
            gamma: 0.0001,
            a_term: false,
            learn_dt: false,
        },
        base("nrnn-add", "NRNN additive", diag(1.0, 0.0)),
        base("nrnn-mult", "NRNN multiplicative", diag(0.0, 1.0)),
        base("nrnn-mixed", "NRNN mixed", diag(1.0, 1.0)),
        ModelSpec {
            learn_dt: true,
            ..base("code-0.02-0.02", "NRNN code (0.02, 0.02)", code(0.02, 0.02))
        },
        ModelSpec {
            learn_dt: true,
            ..base("code-0.05-0.02", "NRNN code (0.05, 0.02)", code(0.05, 0.02))
        },
    ]
}

/// Strengths of each perturbation (strength 0, the clean accuracy, is always added).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Grids {
    /// White noise `s` of `x + s N(0, 1)`.
    pub white: Vec<f64>,
    /// Multiplicative noise `s` of `x (1 + s N(0, 1))`.
    pub multiplicative: Vec<f64>,
    /// Salt-and-pepper probability `alpha`.
    pub salt_pepper: Vec<f64>,
    /// L-infinity budgets of FGSM and PGD.
    pub budgets: Vec<f64>,
    /// PGD iterations (the first is the FGSM step).
    pub pgd_steps: usize,
    /// PGD step as a fraction of the budget.
    pub pgd_step_fraction: f64,
}

impl Grids {
    /// The perturbations of every kind at every strength, kinds in table order (white,
    /// multiplicative, salt-pepper, fgsm, pgd; PGD with step `pgd_step_fraction * budget`).
    ///
    /// ```
    /// use nrnn::experiments::{robustness::tasks, Profile};
    /// let g = &tasks(Profile::Smoke)[0].grids;
    /// let kinds: Vec<&str> = g.perturbations().iter().map(|k| k.0).collect();
    /// assert_eq!(kinds, ["white", "multiplicative", "salt-pepper", "fgsm", "pgd"]);
    /// ```
    pub fn perturbations(&self) -> Vec<(&'static str, Vec<Perturbation>)> {
        let pgd = |b: f64| Perturbation::Pgd {
            budget: b,
            steps: self.pgd_steps,
            step_size: self.pgd_step_fraction * b,
        };
        vec![
            (
                "white",
                self.white
                    .iter()
                    .map(|&s| Perturbation::WhiteNoise { s })
                    .collect(),
            ),
            (
                "multiplicative",
                self.multiplicative
                    .iter()
                    .map(|&s| Perturbation::MultiplicativeNoise { s })
                    .collect(),
            ),
            (
                "salt-pepper",
                self.salt_pepper
                    .iter()
                    .map(|&alpha| Perturbation::SaltAndPepper { alpha })
                    .collect(),
            ),
            (
                "fgsm",
                self.budgets
                    .iter()
                    .map(|&budget| Perturbation::Fgsm { budget })
                    .collect(),
            ),
            ("pgd", self.budgets.iter().map(|&b| pgd(b)).collect()),
        ]
    }
}

/// How a task's data are split.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "method", rename_all = "kebab-case")]
pub enum SplitSpec {
    /// Seeded shuffle of the first `examples` examples (all: `None`), then `train`, `val`
    /// and `test` examples in that order ([`Dataset::split_counts`]).
    Shuffle {
        /// Examples used (from the start of the data set's fixed order).
        examples: Option<usize>,
        /// Training examples.
        train: usize,
        /// Validation examples.
        val: usize,
        /// Test examples.
        test: usize,
        /// Seed of the shuffle.
        seed: u64,
    },
    /// The UCR split: all UCR training examples for training; the UCR test set shuffled
    /// (seeded) and cut into `val` validation and `test` test examples (the paper: 500
    /// and the rest).
    Ucr {
        /// Validation examples taken from the UCR test set.
        val: usize,
        /// Test examples taken from the UCR test set.
        test: usize,
        /// Seed of the shuffle.
        seed: u64,
    },
}

impl SplitSpec {
    /// Load the data set `data` and split it: `(train, validation, test)` (registry data
    /// must be in the cache: an error naming `nrnn data fetch` otherwise).
    ///
    /// ```
    /// use nrnn::experiments::robustness::SplitSpec;
    /// let s = SplitSpec::Shuffle { examples: Some(300), train: 200, val: 50, test: 50, seed: 0 };
    /// let (tr, va, te) = s.load("digits").unwrap();
    /// assert_eq!((tr.len(), va.len(), te.len()), (200, 50, 50));
    /// ```
    pub fn load(&self, data: &str) -> Result<(Dataset, Dataset, Dataset)> {
        match self {
            SplitSpec::Shuffle {
                examples,
                train,
                val,
                test,
                seed,
            } => {
                let d = data::load(data)?.whole();
                let d = match examples {
                    Some(n) => d.head(*n),
                    None => d,
                };
                d.split_counts(*train, *val, *test, *seed)
            }
            SplitSpec::Ucr { val, test, seed } => {
                let l = data::load(data)?;
                let ucr_test = l.test.ok_or_else(|| Error::Data {
                    name: data.to_string(),
                    message: "has no official test split to take validation and test sets from"
                        .into(),
                })?;
                let (_, v, t) = ucr_test.split_counts(0, *val, *test, *seed)?;
                Ok((l.train, v, t))
            }
        }
    }
}

/// One task: data, split, model size and training, evaluation sizes and grids.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TaskSpec {
    /// Identifier used in file and figure names.
    pub name: &'static str,
    /// Data set name ([`crate::data::load`]).
    pub data: &'static str,
    /// Title used in figures.
    pub title: &'static str,
    /// Split.
    pub split: SplitSpec,
    /// Hidden units.
    pub hidden: usize,
    /// Step d (initial value when learned).
    pub dt: f64,
    /// Training epochs (learning rate x0.1 at 90% of them).
    pub epochs: usize,
    /// Mini-batch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Test examples used for the random perturbations (the first ones of the test set,
    /// whose order is already shuffled); the clean accuracy uses the whole test set.
    pub eval_examples: usize,
    /// Test examples used for the attacks.
    pub attack_examples: usize,
    /// Perturbation strengths.
    pub grids: Grids,
    /// Training examples on which the theory is measured (0: none).
    pub theory_examples: usize,
}

/// Grids for inputs in [0, 1] (digits, MNIST).
pub(super) fn image_grids(profile: Profile) -> Grids {
    match profile {
        Profile::Smoke => Grids {
            white: vec![0.3],
            multiplicative: vec![0.5],
            salt_pepper: vec![0.1],
            budgets: vec![0.05],
            pgd_steps: 3,
            pgd_step_fraction: 2.5 / 3.0,
        },
        _ => Grids {
            white: vec![0.1, 0.2, 0.3, 0.5],
            multiplicative: vec![0.25, 0.5, 1.0, 1.5],
            salt_pepper: vec![0.02, 0.05, 0.1, 0.2],
            budgets: vec![0.01, 0.02, 0.05, 0.1],
            pgd_steps: profile.pick(3, 5, 10),
            pgd_step_fraction: profile.pick(2.5 / 3.0, 0.5, 0.25),
        },
    }
}

/// Grids for the ECG beats (each series z-normalized: mean 0, standard deviation 1).
pub(super) fn ecg_grids(profile: Profile) -> Grids {
    Grids {
        white: vec![0.25, 0.5, 1.0, 1.5],
        multiplicative: vec![0.25, 0.5, 1.0, 1.5],
        salt_pepper: vec![0.02, 0.05, 0.1, 0.2],
        budgets: vec![0.05, 0.1, 0.2, 0.4],
        pgd_steps: profile.pick(3, 5, 10),
        pgd_step_fraction: profile.pick(2.5 / 3.0, 0.5, 0.25),
    }
}

/// The tasks of a profile. Smoke: the embedded digits only, tiny. Quick: digits, MNIST
/// 14x14 (196 steps, 4,000 of the 10,000 digits: 2,500 / 500 / 1,000), ECG5000 5-class
/// and binary; hidden 32; the theory on the digits models only.
/// Full: digits, MNIST 784 steps (7,000 / 1,000 / 2,000), both ECG tasks; hidden 128,
/// 100 epochs.
///
/// ```
/// use nrnn::experiments::{robustness::tasks, Profile};
/// assert_eq!(tasks(Profile::Smoke).len(), 1);
/// let full = tasks(Profile::Full);
/// assert!(full.iter().any(|t| t.name == "mnist" && t.hidden == 128 && t.epochs == 100));
/// ```
pub fn tasks(profile: Profile) -> Vec<TaskSpec> {
    let p = profile;
    let digits = TaskSpec {
        name: "digits",
        data: "digits",
        title: "digits (8x8, 64 steps)",
        split: match p {
            Profile::Smoke => SplitSpec::Shuffle {
                examples: None,
                train: 400,
                val: 100,
                test: 120,
                seed: 0,
            },
            _ => SplitSpec::Shuffle {
                examples: None,
                train: 1197,
                val: 200,
                test: 400,
                seed: 0,
            },
        },
        hidden: p.pick(16, 32, 128),
        dt: 0.2,
        epochs: p.pick(4, 30, 100),
        batch: 32,
        lr: p.pick(1e-2, 1e-2, 5e-3),
        eval_examples: p.pick(120, 400, 400),
        attack_examples: p.pick(60, 400, 400),
        grids: image_grids(p),
        theory_examples: p.pick(16, 64, 200),
    };
    if p == Profile::Smoke {
        return vec![digits];
    }
    let mnist = match p {
        Profile::Full => TaskSpec {
            name: "mnist",
            data: "mnist10k",
            title: "ordered pixel MNIST (784 steps)",
            split: SplitSpec::Shuffle {
                examples: None,
                train: 7000,
                val: 1000,
                test: 2000,
                seed: 0,
            },
            hidden: 128,
            dt: 0.03,
            epochs: 100,
            batch: 128,
            lr: 3e-3,
            eval_examples: 2000,
            attack_examples: 1000,
            grids: image_grids(p),
            theory_examples: 100,
        },
        _ => TaskSpec {
            name: "mnist14",
            data: "mnist10k14",
            title: "ordered pixel MNIST 14x14 (196 steps)",
            split: SplitSpec::Shuffle {
                examples: None,
                train: 7000,
                val: 1000,
                test: 2000,
                seed: 0,
            },
            hidden: 32,
            dt: 0.2,
            epochs: 15,
            batch: 32,
            lr: 1e-2,
            eval_examples: 2000,
            attack_examples: 300,
            grids: image_grids(p),
            theory_examples: 0,
        },
    };
    let ecg = |name, data, title| TaskSpec {
        name,
        data,
        title,
        split: SplitSpec::Ucr {
            val: 500,
            test: 4000,
            seed: 0,
        },
        hidden: p.pick(16, 32, 128),
        dt: 0.1,
        epochs: p.pick(3, 12, 100),
        batch: 32,
        lr: 5e-3,
        eval_examples: p.pick(100, 800, 4000),
        attack_examples: p.pick(50, 250, 1000),
        grids: ecg_grids(p),
        theory_examples: p.pick(16, 0, 100),
    };
    vec![
        digits,
        mnist,
        ecg("ecg5000", "ecg5000", "ECG5000, 5 classes (140 steps)"),
        ecg(
            "ecg5000-binary",
            "ecg5000-binary",
            "ECG5000, normal vs abnormal (140 steps)",
        ),
    ]
}

/// A task's data, split and described.
pub struct TaskData {
    /// Training examples.
    pub train: Dataset,
    /// Validation examples (model selection).
    pub val: Dataset,
    /// Test examples.
    pub test: Dataset,
    /// Valid input range: min and max over all of the task's inputs.
    pub range: InputRange,
}

/// Load and split the data of a task (registry data must be in the cache: an error
/// naming `nrnn data fetch` otherwise).
///
/// ```
/// use nrnn::experiments::{robustness::{load_task, tasks}, Profile};
/// let d = load_task(&tasks(Profile::Smoke)[0]).unwrap();
/// assert_eq!((d.train.len(), d.val.len(), d.test.len()), (400, 100, 120));
/// assert_eq!((d.range.lo, d.range.hi), (0.0, 1.0));
/// ```
pub fn load_task(task: &TaskSpec) -> Result<TaskData> {
    let (train, val, test) = task.split.load(task.data)?;
    let all = train.concat(&val)?.concat(&test)?;
    let range = InputRange::of(&all)?;
    Ok(TaskData {
        train,
        val,
        test,
        range,
    })
}

/// The model configuration of `spec` for a task.
pub(super) fn model_config(
    spec: &ModelSpec,
    task: &TaskSpec,
    data: &Dataset,
) -> Result<ModelConfig> {
    let cfg = ModelConfig {
        hidden: task.hidden,
        input: data.input_dim,
        classes: data.classes,
        beta: spec.beta,
        gamma_a: spec.gamma,
        gamma_w: spec.gamma,
        activation: crate::model::Activation::Tanh,
        a_term: spec.a_term,
        learn_dt: spec.learn_dt,
        noise: spec.noise,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// The training configuration of a task for one seed.
pub(super) fn train_config(task: &TaskSpec, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: task.epochs,
        batch: task.batch,
        lr: task.lr,
        seed,
        train_noise: true,
        progress: false,
        ..Default::default()
    }
}

/// The experiments built from the robustness pieces.
pub const USED_BY: &[&str] = &["robustness"];

/// The piece of `(task, model, seed)`: its configuration is the task (data set, split,
/// sizes, grids), the model, the training and the base seed (which seeds the theory
/// measures).
fn piece(ctx: &Ctx, task: &TaskSpec, spec: &ModelSpec, seed: u64) -> Piece {
    Piece::new(
        ctx.profile,
        "robustness",
        USED_BY,
        task.name,
        spec.name,
        seed,
        serde_json::json!({"task": task, "model": spec, "train": train_config(task, seed),
                           "base_seed": ctx.seed}),
    )
}

/// The models, seeds and pieces of one task, models first.
pub(super) fn task_pieces(ctx: &Ctx, task: &TaskSpec) -> Vec<(ModelSpec, u64, Piece)> {
    let seeds = ctx.seed_list();
    models()
        .into_iter()
        .flat_map(|m| seeds.iter().map(move |&k| (m.clone(), k)))
        .map(|(m, k)| {
            let p = piece(ctx, task, &m, k);
            (m, k, p)
        })
        .collect()
}

/// The pieces of a run (family `robustness`): every task of the profile, every model,
/// every seed.
///
/// ```
/// use nrnn::experiments::{robustness::pieces, Ctx, Profile};
/// let ctx = Ctx { profile: Profile::Smoke, out: "x".into(), seeds: 2, seed: 0,
///     replot: false, command: String::new(), pieces: Default::default() };
/// let p = pieces(&ctx);
/// assert_eq!(p.len(), 14);
/// assert_eq!(p[0].key, "robustness/digits/lipschitz/seed0");
/// ```
pub fn pieces(ctx: &Ctx) -> Vec<Piece> {
    tasks(ctx.profile)
        .iter()
        .flat_map(|t| task_pieces(ctx, t).into_iter().map(|g| g.2))
        .collect()
}

/// Train (or load from the piece store) the pieces `want` selects, task by task (a task
/// whose data cannot be loaded is an error); returns how many were computed by this call.
pub fn run_pieces(ctx: &Ctx, want: &dyn Fn(&Piece) -> bool) -> Result<usize> {
    keep_out_of_git(&ctx.out)?;
    let mut computed = 0;
    for task in tasks(ctx.profile) {
        let todo: Vec<_> = task_pieces(ctx, &task)
            .into_iter()
            .filter(|g| want(&g.2))
            .collect();
        if todo.is_empty() {
            continue;
        }
        let d = load_task(&task)
            .map_err(|e| Error::Other(format!("robustness: task {}: {e}", task.name)))?;
        let store = PieceStore::of(ctx, todo.len());
        let fresh: Vec<bool> = todo
            .par_iter()
            .map(|(m, k, p)| run_piece(ctx, &task, &d, m, *k, p, &store).map(|r| r.1))
            .collect::<Result<_>>()?;
        computed += fresh.into_iter().filter(|&f| f).count();
    }
    Ok(computed)
}

/// Train and evaluate one piece, or load it from the piece store; the flag says whether
/// this call computed it.
pub(super) fn run_piece(
    ctx: &Ctx,
    task: &TaskSpec,
    d: &TaskData,
    spec: &ModelSpec,
    seed: u64,
    piece: &Piece,
    store: &PieceStore,
) -> Result<(PieceResult, bool)> {
    let key = &piece.key;
    let (st, computed) = store.get_or_compute(piece, || {
        let t = Instant::now();
        let cfg = model_config(spec, task, &d.train)?;
        let model = Model::init(cfg, task.dt, seed)?;
        let fitted = fit(model, &d.train, &d.val, &train_config(task, seed), None)
            .map_err(|e| Error::Other(format!("training {key}: {e}")))?;
        let train_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = evaluate_model(task, d, &fitted.model, seed)?;
        let theory = theory_of(ctx, task, d, &fitted.model)?;
        let eval_seconds = t.elapsed().as_secs_f64();
        let best = fitted.history.iter().find(|r| r.epoch == fitted.best_epoch);
        let r = PieceResult {
            task: task.name.into(),
            model: spec.name.into(),
            seed,
            best_epoch: fitted.best_epoch,
            epochs_run: fitted.history.len(),
            val_accuracy: best.map_or(f64::NAN, |r| r.val_accuracy),
            train_seconds,
            eval_seconds,
            rows,
            theory,
        };
        Ok((fitted.model, r))
    })?;
    let r: PieceResult = st.result;
    if computed {
        let clean = r.rows.first().map_or(f64::NAN, |e| e.accuracy);
        eprintln!(
            "robustness: {key}: trained {:.1} s (best epoch {}, val acc {:.3}), evaluated {:.1} s, test acc {:.3}",
            r.train_seconds, r.best_epoch, r.val_accuracy, r.eval_seconds, clean
        );
    } else {
        eprintln!("robustness: {key}: cached (finished earlier), skipped");
    }
    Ok((r, computed))
}

/// The training cost of a piece of `task` ([`crate::experiments::pieces::Probe`]):
/// steps per model and the measured time of a step of the additive-noise NRNN.
pub fn probe(ctx: &Ctx, task: &str) -> Result<crate::experiments::pieces::Probe> {
    let task = tasks(ctx.profile)
        .into_iter()
        .find(|t| t.name == task)
        .ok_or_else(|| Error::Other(format!("robustness: no task `{task}`")))?;
    let d = load_task(&task)?;
    let spec = &models()[2];
    let model = Model::init(model_config(spec, &task, &d.train)?, task.dt, ctx.seed)?;
    Ok(crate::experiments::pieces::Probe {
        steps: task.epochs * d.train.len().div_ceil(task.batch),
        step_seconds: crate::experiments::pieces::time_steps(
            model,
            &d.train,
            &d.val,
            task.batch,
            crate::train::config::Objective::Noise,
        )?,
    })
}

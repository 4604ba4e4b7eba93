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
    /// The recurrent cell. `beta`, `gamma`, `a_term` and `learn_dt` are the Lipschitz
    /// cell's and are 0 / false for the baselines. Left out of the piece configuration
    /// for the Lipschitz cell, so its pieces keep the ids they had before the baselines.
    #[serde(skip_serializing_if = "CellKind::is_lipschitz")]
    pub cell: CellKind,
    /// The coRNN's fixed step, stiffness and damping (coRNN only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cornn: Option<CornnHyper>,
    /// The model's own step d in place of the task's (the `paper` profile's per-model
    /// values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dt: Option<f64>,
    /// The model's own Adam learning rate in place of the task's (`paper` profile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
}

impl ModelSpec {
    /// Whether the model is trained with noise.
    pub fn noisy(&self) -> bool {
        !self.noise.is_off()
    }
    /// Whether the model is one of the paper's baselines of another cell (LSTM, GRU,
    /// coRNN), not a Lipschitz RNN: the theory measures that need the Lipschitz structure
    /// are not taken on it.
    pub fn is_baseline(&self) -> bool {
        !self.cell.is_lipschitz()
    }
}

/// Rusch and Mishra's coRNN setting for sequential MNIST (`sMNIST_task.py` of their code,
/// tk-rusch/coRNN: `dt` 0.042, `gamma` 2.7, `epsilon` 4.7, learning rate 0.0021, hidden
/// 256, batch 120, 120 epochs with the rate / 10 at epoch 100): the coRNN's hyper-parameters
/// on the unpermuted tasks.
pub const CORNN_SMNIST: CornnHyper = CornnHyper {
    dt: 0.042,
    gamma: 2.7,
    eps: 4.7,
};
/// Learning rate of [`CORNN_SMNIST`].
pub const CORNN_SMNIST_LR: f64 = 0.0021;
/// Their setting for permuted sequential MNIST (`psMNIST_task.py`: `dt` 0.076, `gamma`
/// 0.4, `epsilon` 8.0, learning rate 0.0054): the coRNN's hyper-parameters on the
/// permuted tasks.
pub const CORNN_PSMNIST: CornnHyper = CornnHyper {
    dt: 0.076,
    gamma: 0.4,
    eps: 8.0,
};
/// Learning rate of [`CORNN_PSMNIST`].
pub const CORNN_PSMNIST_LR: f64 = 0.0054;
/// Learning rate of the LSTM and GRU in the `paper` profile (the NRNN paper gives none;
/// Adam's usual 0.001, as for the paper's noisy models).
pub const GATED_PAPER_LR: f64 = 0.001;

/// The ten models, in table order: `lipschitz` (deterministic Lipschitz RNN, beta 0.75,
/// gamma 0.001), `antisymmetric` (beta 1, no `A h` term, gamma 0.0001, as in the paper),
/// `nrnn-add`, `nrnn-mult`, `nrnn-mixed` (`diag` noise, eps [`NRNN_EPS`], `(sigma1,
/// sigma2)` = (1, 0), (0, 1), (1, 1); the step fixed, as in the baselines, so that noise
/// is the only difference), `code-0.02-0.02`, `code-0.05-0.02` (the released script's
/// form, eps 1, `sigma1` = additive and `sigma2` = multiplicative level: PAPER.md's
/// (add, mult) = (0.02, 0.02) and (0.05, 0.02); learnable per-unit step, as there), and
/// the paper's other baselines, deterministic: `lstm`, `gru`, `cornn` (coRNN at
/// [`CORNN_SMNIST`]; [`models_for`] gives each task its own).
///
/// ```
/// let m = nrnn::experiments::robustness::models();
/// assert_eq!(m.len(), 10);
/// assert_eq!(m.iter().filter(|s| s.noisy()).count(), 5);
/// assert_eq!(m.iter().filter(|s| s.is_baseline()).count(), 3);
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
        cell: CellKind::Lipschitz,
        cornn: None,
        dt: None,
        lr: None,
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
    let other = |name, label, cell| ModelSpec {
        beta: 0.0,
        gamma: 0.0,
        a_term: false,
        cell,
        cornn: (cell == CellKind::Cornn).then_some(CORNN_SMNIST),
        ..base(name, label, NoiseSpec::off())
    };
    vec![
        base("lipschitz", "Lipschitz RNN", NoiseSpec::off()),
        ModelSpec {
            beta: 1.0,
            gamma: 0.0001,
            a_term: false,
            ..base("antisymmetric", "Antisymmetric RNN", NoiseSpec::off())
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
        other("lstm", "LSTM", CellKind::Lstm),
        other("gru", "GRU", CellKind::Gru),
        other("cornn", "coRNN", CellKind::Cornn),
    ]
}

/// The models on which the theory measures are taken: the Lipschitz family of
/// [`models`]. Kappa and the regularizer's closed form need its structure; the Hessian,
/// the Lyapunov exponent and the margins take every cell (`nrnn hessian|lyapunov|margin`),
/// but the table keeps one set of rows with every column, and the baselines are trained
/// without noise, which is what the theory's predictions are about.
///
/// ```
/// assert_eq!(nrnn::experiments::robustness::theory_models().len(), 7);
/// ```
pub fn theory_models() -> Vec<ModelSpec> {
    models().into_iter().filter(|m| !m.is_baseline()).collect()
}

/// The models of [`models`] as trained on `task` in `profile`: the coRNN takes Rusch and
/// Mishra's permuted-MNIST setting ([`CORNN_PSMNIST`]) on a permuted task (data set
/// `pmnist*`). In the `paper` profile every model takes its own step and learning rate:
/// the released runs' (PAPER.md: Lipschitz RNN d 0.03, lr 0.003; antisymmetric d 0.01,
/// lr 0.002; the `code` NRNNs d 0.01 learnable, lr 0.001), the Lipschitz RNN's for the
/// `diag` NRNNs (so noise stays the only difference), [`GATED_PAPER_LR`] for the LSTM and
/// GRU, and the coRNN's from its authors' scripts ([`CORNN_SMNIST_LR`],
/// [`CORNN_PSMNIST_LR`]). The released values are for MNIST; the paper gives none for
/// ECG, so they serve there too.
///
/// ```
/// use nrnn::experiments::{robustness::{models_for, tasks, CORNN_PSMNIST}, Profile};
/// let t = tasks(Profile::Paper);
/// let p = t.iter().find(|t| t.name == "pmnist").unwrap();
/// let m = models_for(Profile::Paper, p);
/// let c = m.iter().find(|m| m.name == "cornn").unwrap();
/// assert_eq!((c.cornn, c.lr), (Some(CORNN_PSMNIST), Some(0.0054)));
/// assert_eq!(m[0].dt, Some(0.03));
/// ```
pub fn models_for(profile: Profile, task: &TaskSpec) -> Vec<ModelSpec> {
    let permuted = task.data.starts_with("pmnist");
    models()
        .into_iter()
        .map(|mut m| {
            if m.cell == CellKind::Cornn && permuted {
                m.cornn = Some(CORNN_PSMNIST);
            }
            if profile == Profile::Paper {
                let (dt, lr) = match (m.cell, m.name) {
                    (CellKind::Lstm | CellKind::Gru, _) => (None, GATED_PAPER_LR),
                    (CellKind::Cornn, _) if permuted => (None, CORNN_PSMNIST_LR),
                    (CellKind::Cornn, _) => (None, CORNN_SMNIST_LR),
                    (_, "antisymmetric") => (Some(0.01), 0.002),
                    (_, name) if name.starts_with("code") => (Some(0.01), 0.001),
                    _ => (Some(0.03), 0.003),
                };
                m.dt = dt;
                m.lr = Some(lr);
            }
            m
        })
        .collect()
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
    /// The data set's own split (MNIST: the authors' 58,000 training images in the order
    /// of their split permutation, their 2,000 validation images, the 10,000 test
    /// images): the first `train` training and `val` validation examples (all: `None`)
    /// and `test` test examples drawn by a seeded shuffle of the test set (all, in file
    /// order: `None`).
    Official {
        /// Training examples (the first ones; all: `None`).
        train: Option<usize>,
        /// Validation examples (the first ones; all: `None`).
        val: Option<usize>,
        /// Test examples (a seeded draw; all: `None`).
        test: Option<usize>,
        /// Seed of the test draw.
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
    /// // The digits come as one set: no official split to take.
    /// let o = SplitSpec::Official { train: None, val: None, test: None, seed: 0 };
    /// assert!(o.load("digits").unwrap_err().to_string().contains("no official validation split"));
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
                first(data::load(data)?.whole(), examples).split_counts(*train, *val, *test, *seed)
            }
            SplitSpec::Official {
                train,
                val,
                test,
                seed,
            } => {
                let l = data::load(data)?;
                let missing = |part: &str| Error::Data {
                    name: data.to_string(),
                    message: format!("has no official {part} split"),
                };
                let v = l.val.ok_or_else(|| missing("validation"))?;
                let t = l.test.ok_or_else(|| missing("test"))?;
                let t = match test {
                    Some(n) => t.split_counts(0, 0, *n, *seed)?.2,
                    None => t,
                };
                Ok((first(l.train, train), first(v, val), t))
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

/// The first `n` examples of `d`, or all of them (`None`).
fn first(d: Dataset, n: &Option<usize>) -> Dataset {
    match n {
        Some(n) => d.head(*n),
        None => d,
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
    /// Training epochs.
    pub epochs: usize,
    /// Epochs (1-based) at which the learning rate is multiplied by `decay_factor`
    /// (`None`: the trainer's default, x0.3 at 55% and 85% of the epochs; the `paper`
    /// profile: `[90]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_epochs: Option<Vec<usize>>,
    /// The learning-rate factor at each of `decay_epochs` (`None`: the trainer's
    /// default; the `paper` profile: 0.1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay_factor: Option<f64>,
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

/// The tasks of a profile. Smoke: the embedded digits only, tiny. Quick: digits, ordered
/// and permuted MNIST 14x14 (`mnist14`, `pmnist14`: 196 steps; 7,000 of the authors'
/// training images, 1,000 of their validation images, 2,000 test images), ECG5000
/// 5-class and binary; hidden 32; the theory on the digits models only. Full: digits,
/// ordered and permuted MNIST at 784 steps (same subset sizes), both ECG tasks; hidden
/// 128, 100 epochs. Paper ([`paper_tasks`]): the paper's experiments at its scale.
///
/// ```
/// use nrnn::experiments::{robustness::tasks, Profile};
/// assert_eq!(tasks(Profile::Smoke).len(), 1);
/// let quick: Vec<&str> = tasks(Profile::Quick).iter().map(|t| t.name).collect();
/// assert_eq!(quick, ["digits", "mnist14", "pmnist14", "ecg5000", "ecg5000-binary"]);
/// let full = tasks(Profile::Full);
/// assert!(full.iter().any(|t| t.name == "pmnist" && t.hidden == 128 && t.epochs == 100));
/// ```
pub fn tasks(profile: Profile) -> Vec<TaskSpec> {
    let p = profile;
    let (ordered, permuted) = match p {
        Profile::Paper => return paper_tasks(),
        Profile::Smoke => return vec![digits_task(p)],
        Profile::Quick => (
            ("mnist14", "ordered pixel MNIST 14x14 (196 steps)"),
            ("pmnist14", "permuted pixel MNIST 14x14 (196 steps)"),
        ),
        Profile::Full => (
            ("mnist", "ordered pixel MNIST (784 steps)"),
            ("pmnist", "permuted pixel MNIST (784 steps)"),
        ),
    };
    vec![
        digits_task(p),
        mnist_task(p, ordered.0, ordered.1),
        mnist_task(p, permuted.0, permuted.1),
        ecg_task(p, "ecg5000", "ECG5000, 5 classes (140 steps)"),
        ecg_task(
            p,
            "ecg5000-binary",
            "ECG5000, normal vs abnormal (140 steps)",
        ),
    ]
}

/// The digits task of `p` (smoke, quick, full).
fn digits_task(p: Profile) -> TaskSpec {
    TaskSpec {
        name: "digits",
        data: "digits",
        title: "digits (8x8, 64 steps)",
        split: SplitSpec::Shuffle {
            examples: None,
            train: p.pick(400, 1197, 1197),
            val: p.pick(100, 200, 200),
            test: p.pick(120, 400, 400),
            seed: 0,
        },
        hidden: p.pick(16, 32, 128),
        dt: 0.2,
        epochs: p.pick(4, 30, 100),
        decay_epochs: None,
        decay_factor: None,
        batch: 32,
        lr: p.pick(1e-2, 1e-2, 5e-3),
        eval_examples: p.pick(120, 400, 400),
        attack_examples: p.pick(60, 400, 400),
        grids: image_grids(p),
        theory_examples: p.pick(16, 64, 200),
    }
}

/// An MNIST task of `p` (quick: hidden 32, 15 epochs; full: hidden 128, 100 epochs) on the
/// data set `name`: 7,000 of the authors' training images, 1,000 of their validation
/// images, 2,000 test images.
fn mnist_task(p: Profile, name: &'static str, title: &'static str) -> TaskSpec {
    let quick = p == Profile::Quick;
    TaskSpec {
        name,
        data: name,
        title,
        split: SplitSpec::Official {
            train: Some(7000),
            val: Some(1000),
            test: Some(2000),
            seed: 0,
        },
        hidden: if quick { 32 } else { 128 },
        dt: if quick { 0.2 } else { 0.03 },
        epochs: if quick { 15 } else { 100 },
        decay_epochs: None,
        decay_factor: None,
        batch: if quick { 32 } else { 128 },
        lr: if quick { 1e-2 } else { 3e-3 },
        eval_examples: 2000,
        attack_examples: if quick { 300 } else { 1000 },
        grids: image_grids(p),
        theory_examples: if quick { 0 } else { 100 },
    }
}

/// An ECG5000 task of `p` on the data set `name` (the UCR split: 500 / 500 / 4,000).
fn ecg_task(p: Profile, name: &'static str, title: &'static str) -> TaskSpec {
    TaskSpec {
        name,
        data: name,
        title,
        split: SplitSpec::Ucr {
            val: 500,
            test: 4000,
            seed: 0,
        },
        hidden: p.pick(16, 32, 128),
        dt: 0.1,
        epochs: p.pick(3, 12, 100),
        decay_epochs: None,
        decay_factor: None,
        batch: 32,
        lr: 5e-3,
        eval_examples: p.pick(100, 800, 4000),
        attack_examples: p.pick(50, 250, 1000),
        grids: ecg_grids(p),
        theory_examples: p.pick(16, 0, 100),
    }
}

/// The tasks of the `paper` profile: the paper's robustness experiments as its released
/// runs train them. Ordered and permuted MNIST (`mnist`, `pmnist`: 784 steps, pixels in
/// [0, 1], the authors' split, every image: 58,000 / 2,000 / 10,000), ECG5000
/// normal vs abnormal (the paper's ECG task) and 5-class (the UCR split, 500 / 500 /
/// 4,000); hidden 128, 100 epochs, learning rate x0.1 at epoch 90; batch 128 on MNIST,
/// 32 on ECG (500 training beats: 4 steps an epoch at 128); the per-model step and
/// learning rate of [`models_for`]; every perturbation at every strength on the whole
/// test set (attacks on 1,000 test examples); the theory measures on 100 training
/// examples.
///
/// ```
/// use nrnn::experiments::{robustness::paper_tasks, Profile};
/// let t = paper_tasks();
/// assert_eq!(t.len(), 4);
/// assert!(t.iter().all(|t| t.hidden == 128 && t.epochs == 100));
/// assert_eq!(t[0].decay_epochs, Some(vec![90]));
/// ```
pub fn paper_tasks() -> Vec<TaskSpec> {
    let p = Profile::Paper;
    let image = |name, title| TaskSpec {
        split: SplitSpec::Official {
            train: None,
            val: None,
            test: None,
            seed: 0,
        },
        decay_epochs: Some(vec![90]),
        decay_factor: Some(0.1),
        eval_examples: 10_000,
        ..mnist_task(p, name, title)
    };
    let ecg = |name, title| TaskSpec {
        decay_epochs: Some(vec![90]),
        decay_factor: Some(0.1),
        ..ecg_task(p, name, title)
    };
    vec![
        image("mnist", "ordered pixel MNIST (784 steps)"),
        image("pmnist", "permuted pixel MNIST (784 steps)"),
        ecg("ecg5000-binary", "ECG5000, normal vs abnormal (140 steps)"),
        ecg("ecg5000", "ECG5000, 5 classes (140 steps)"),
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

/// The Lipschitz RNN's configuration of `spec` for a task (`spec` must be of that cell).
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

/// The untrained network of `spec` on a task, initialized from `seed`: a Lipschitz RNN
/// ([`model_config`], step `spec.dt` or the task's) or a baseline cell of `task.hidden`
/// units.
pub(super) fn init_network(
    spec: &ModelSpec,
    task: &TaskSpec,
    data: &Dataset,
    seed: u64,
) -> Result<Network> {
    match spec.cell.baseline(spec.cornn.unwrap_or_default()) {
        None => Ok(Network::Lipschitz(Model::init(
            model_config(spec, task, data)?,
            spec.dt.unwrap_or(task.dt),
            seed,
        )?)),
        Some(cell) => Ok(Network::Baseline(Baseline::init(
            cell,
            task.hidden,
            data.input_dim,
            data.classes,
            spec.noise,
            seed,
        )?)),
    }
}

/// The training configuration of a model on a task for one seed (the model's own
/// learning rate where it has one, the task's schedule).
pub(super) fn train_config(task: &TaskSpec, spec: &ModelSpec, seed: u64) -> TrainConfig {
    let d = TrainConfig::default();
    TrainConfig {
        epochs: task.epochs,
        batch: task.batch,
        lr: spec.lr.unwrap_or(task.lr),
        decay_epochs: task.decay_epochs.clone().or(d.decay_epochs),
        decay_factor: task.decay_factor.unwrap_or(d.decay_factor),
        seed,
        train_noise: true,
        progress: false,
        ..d
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
        serde_json::json!({"task": task, "model": spec, "train": train_config(task, spec, seed),
                           "base_seed": ctx.seed}),
    )
}

/// The models, seeds and pieces of one task, models first.
pub(super) fn task_pieces(ctx: &Ctx, task: &TaskSpec) -> Vec<(ModelSpec, u64, Piece)> {
    let seeds = ctx.seed_list();
    models_for(ctx.profile, task)
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
/// assert_eq!(p.len(), 20);
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
        let model = init_network(spec, task, &d.train, seed)?;
        let fitted = fit(
            model,
            &d.train,
            &d.val,
            &train_config(task, spec, seed),
            None,
        )
        .map_err(|e| Error::Other(format!("training {key}: {e}")))?;
        let train_seconds = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let rows = evaluate_model(task, d, &fitted.model, seed)?;
        let theory = match &fitted.model {
            Network::Lipschitz(m) => theory_of(ctx, task, d, m)?,
            Network::Baseline(_) => None,
        };
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

/// The cost class of a robustness piece: its model's cell (`lipschitz` for every model
/// of the Lipschitz family, whose steps cost about the same; `lstm`, `gru`, `cornn`).
///
/// ```
/// use nrnn::experiments::{robustness, Ctx, Profile};
/// let ctx = Ctx { profile: Profile::Smoke, out: "x".into(), seeds: 1, seed: 0,
///     replot: false, command: String::new(), pieces: Default::default() };
/// let c: Vec<String> = robustness::pieces(&ctx).iter().map(robustness::cost_class).collect();
/// assert_eq!(c[0], "lipschitz");
/// assert_eq!(c[9], "cornn");
/// ```
pub fn cost_class(piece: &Piece) -> String {
    models()
        .iter()
        .find(|m| m.name == piece.model)
        .map_or("lipschitz", |m| m.cell.name())
        .to_string()
}

/// Examples per step at which a baseline's step is timed: its backward pass runs per
/// example, so its cost is linear in the batch and the timed step is scaled by
/// `batch / BASELINE_PROBE_BATCH` (which keeps `--plan` short at the paper's shapes).
pub const BASELINE_PROBE_BATCH: usize = 16;

/// The training cost of a piece of `task` and cost `class` ([`cost_class`];
/// [`crate::experiments::pieces::Probe`]): steps per model and the measured time of a
/// step: of the additive-noise NRNN for the Lipschitz family, of the cell's model for a
/// baseline (timed at [`BASELINE_PROBE_BATCH`] examples and scaled to the batch).
pub fn probe(ctx: &Ctx, task: &str, class: &str) -> Result<crate::experiments::pieces::Probe> {
    let task = tasks(ctx.profile)
        .into_iter()
        .find(|t| t.name == task)
        .ok_or_else(|| Error::Other(format!("robustness: no task `{task}`")))?;
    let d = load_task(&task)?;
    let specs = models_for(ctx.profile, &task);
    let spec = specs
        .iter()
        .find(|m| m.is_baseline() && m.cell.name() == class)
        .unwrap_or(&specs[2]);
    let model = init_network(spec, &task, &d.train, ctx.seed)?;
    let timed = if spec.is_baseline() {
        task.batch.min(BASELINE_PROBE_BATCH)
    } else {
        task.batch
    };
    let step = crate::experiments::pieces::time_steps(
        model,
        &d.train,
        &d.val,
        timed,
        crate::train::config::Objective::Noise,
    )?;
    Ok(crate::experiments::pieces::Probe {
        steps: task.epochs * d.train.len().div_ceil(task.batch),
        step_seconds: step * task.batch as f64 / timed as f64,
    })
}

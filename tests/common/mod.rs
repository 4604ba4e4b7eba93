//! Fixtures shared by the integration tests: the small random case (a small model and one
//! example), the proptest strategies, and the one proptest configuration (fixed seed,
//! failing cases persisted beside the test file).
//!
//! A test file uses it with `mod common;`; not every file uses every item.
#![allow(dead_code)]

use nalgebra::DMatrix;
use nrnn::data::{Batch, Target};
use nrnn::loss::Loss;
use nrnn::model::baseline::{Baseline, BaselineCell};
use nrnn::model::cornn::CornnHyper;
use nrnn::model::{Activation, Model, ModelConfig, NoiseDraw, NoiseForm, NoiseSpec, Recurrent};
use nrnn::prec::FD_STEP;
use nrnn::rng::stream;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, RngSeed};
use rand::RngExt;
use std::path::Path;
use std::process::{Command, Output};

/// Fixed seed of the property tests: every run draws the same random cases, so a
/// failure reproduces and CI does not depend on luck.
pub const PROPTEST_SEED: u64 = 20211206;

/// The configuration of every proptest block: `cases` cases drawn from
/// [`PROPTEST_SEED`]; a failing case is written to `tests/<file>.proptest-regressions`
/// and replayed first by later runs.
pub fn proptest_config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(PROPTEST_SEED),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// The noise forms, uniformly.
pub fn forms() -> impl Strategy<Value = NoiseForm> {
    prop_oneof![
        Just(NoiseForm::Diag),
        Just(NoiseForm::Scalar),
        Just(NoiseForm::Code)
    ]
}

/// The activations with an exact derivative: tanh and the identity.
pub fn acts() -> impl Strategy<Value = Activation> {
    prop_oneof![Just(Activation::Tanh), Just(Activation::Identity)]
}

/// The noise form numbered `i` (mod 3): diag, scalar, code.
pub fn form_of(i: u8) -> NoiseForm {
    match i % 3 {
        0 => NoiseForm::Diag,
        1 => NoiseForm::Scalar,
        _ => NoiseForm::Code,
    }
}

/// A small random case: a model with `n` units on 2 inputs and 3 outputs, step 0.1,
/// recurrent weights at scale 1, noise `form` at eps 0.1 with levels `s1`, `s2`, and one
/// example of `k` steps with inputs in [-1, 1] and a class (or, `regression`, three target
/// values in [-1, 1]).
#[derive(Clone, Copy, Debug)]
pub struct SmallCase {
    /// Hidden units.
    pub n: usize,
    /// Steps.
    pub k: usize,
    /// Noise form.
    pub form: NoiseForm,
    /// Activation.
    pub act: Activation,
    /// Additive noise level sigma1.
    pub s1: f64,
    /// Multiplicative noise level sigma2.
    pub s2: f64,
    /// Squared error on values instead of cross-entropy on a class.
    pub regression: bool,
    /// `Some(a_term)`: also draw `beta` in [0, 1) and per-unit steps in [0.05, 0.3), with
    /// the `A h` term on or off; `None`: the configuration's defaults.
    pub varied: Option<bool>,
    /// Index of the case's random stream (`stream(seed, &[tag])`), so that two test files
    /// draw different cases from one seed.
    pub tag: u64,
}

impl SmallCase {
    /// The case of `n` units, `k` steps, noise `form` and activation `act` on stream `tag`,
    /// with levels 0, a class target and the configuration's defaults (`varied: None`); a
    /// test file sets the other fields by struct update.
    pub fn new(n: usize, k: usize, form: NoiseForm, act: Activation, tag: u64) -> Self {
        SmallCase {
            n,
            k,
            form,
            act,
            s1: 0.0,
            s2: 0.0,
            regression: false,
            varied: None,
            tag,
        }
    }

    /// The model, the example and its loss for `seed`.
    pub fn build(&self, seed: u64) -> (Model, Batch, Loss) {
        let mut rng = stream(seed, &[self.tag]);
        let (p, classes) = (2, 3);
        let mut cfg = ModelConfig::new(self.n, p, classes);
        cfg.activation = self.act;
        if let Some(a_term) = self.varied {
            cfg.a_term = a_term;
            cfg.beta = rng.random_range(0.0..1.0);
        }
        cfg.noise = NoiseSpec::new(self.form, 0.1, self.s1, self.s2).unwrap();
        let mut model = Model::init_scaled(cfg, 0.1, 1.0, seed).unwrap();
        if self.varied.is_some() {
            for d in model.params.dt.iter_mut() {
                *d = rng.random_range(0.05..0.3);
            }
        }
        let x = DMatrix::from_fn(p, self.k, |_, _| rng.random_range(-1.0..1.0));
        let target = if self.regression {
            Target::Values(DMatrix::from_fn(classes, 1, |_, _| {
                rng.random_range(-1.0..1.0)
            }))
        } else {
            Target::Classes(vec![rng.random_range(0..classes)])
        };
        let loss = Loss::for_target(&target);
        let steps = self.k;
        (
            model,
            Batch {
                x,
                steps,
                size: 1,
                target,
            },
            loss,
        )
    }
}

/// A small random baseline case: cell number `cell` (0 LSTM, 1 GRU, 2 coRNN with random
/// dt, gamma, eps), weights at `scale` times PyTorch's initialization, diag hidden-state
/// noise with random levels (off when `noisy` is false), a batch of `bsz` examples.
#[allow(clippy::too_many_arguments)]
pub fn baseline_case(
    cell: u8,
    n: usize,
    p: usize,
    k: usize,
    bsz: usize,
    regression: bool,
    noisy: bool,
    seed: u64,
) -> (Baseline, Batch, NoiseDraw, Loss) {
    let mut rng = stream(seed, &[2]);
    let classes = 3;
    let cell = match cell % 3 {
        0 => BaselineCell::Lstm,
        1 => BaselineCell::Gru,
        _ => BaselineCell::Cornn(CornnHyper {
            dt: rng.random_range(0.05..0.5),
            gamma: rng.random_range(0.0..3.0),
            eps: rng.random_range(0.0..3.0),
        }),
    };
    let noise = if noisy {
        let eps = rng.random_range(0.05..0.6);
        let (s1, s2) = (rng.random_range(0.0..1.5), rng.random_range(0.0..1.5));
        NoiseSpec::new(NoiseForm::Diag, eps, s1, s2).unwrap()
    } else {
        NoiseSpec::off()
    };
    let mut m = Baseline::init(cell, n, p, classes, noise, seed).unwrap();
    let scale = rng.random_range(1.0..3.0);
    for b in &mut m.params {
        *b *= scale;
    }
    let x = DMatrix::from_fn(p, k * bsz, |_, _| rng.random_range(-1.0..1.0));
    let target = random_target(&mut rng, classes, bsz, regression);
    let loss = Loss::for_target(&target);
    let ids: Vec<u64> = (0..bsz as u64).collect();
    let draw = NoiseDraw::draw(NoiseForm::Diag, n, k, seed, &[9], &ids);
    let batch = Batch {
        x,
        steps: k,
        size: bsz,
        target,
    };
    (m, batch, draw, loss)
}

/// Random targets of a batch: class labels, or values in [-1, 1] for `regression`.
pub fn random_target(
    rng: &mut impl RngExt,
    classes: usize,
    bsz: usize,
    regression: bool,
) -> Target {
    if regression {
        Target::Values(DMatrix::from_fn(classes, bsz, |_, _| {
            rng.random_range(-1.0..1.0)
        }))
    } else {
        Target::Classes((0..bsz).map(|_| rng.random_range(0..classes)).collect())
    }
}

/// A configuration of `n` units on `p` inputs and `classes` outputs with activation `act`,
/// learnable steps `learn_dt` and the `A h` term `a_term`, and, drawn from `rng` in this
/// order, `beta` in [0, 1), `gamma_a` and `gamma_w` in [0, 0.5).
pub fn random_config(
    rng: &mut impl RngExt,
    (n, p, classes): (usize, usize, usize),
    act: Activation,
    learn_dt: bool,
    a_term: bool,
) -> ModelConfig {
    let mut cfg = ModelConfig::new(n, p, classes);
    cfg.activation = act;
    cfg.learn_dt = learn_dt;
    cfg.a_term = a_term;
    cfg.beta = rng.random_range(0.0..1.0);
    cfg.gamma_a = rng.random_range(0.0..0.5);
    cfg.gamma_w = rng.random_range(0.0..0.5);
    cfg
}

/// Central differences with step [`FD_STEP`] of `f` in the flat coordinates of `model`:
/// entry `i` is `(f(theta + h e_i) - f(theta - h e_i)) / (2 h)`, `f` evaluated on a copy of
/// `model` set to those coordinates.
pub fn flat_central_differences<M: Recurrent>(model: &M, f: impl Fn(&M) -> f64) -> Vec<f64> {
    let theta = model.flat();
    let mut m = model.clone();
    let mut fd = vec![0.0; theta.len()];
    for i in 0..theta.len() {
        let mut t = theta.clone();
        t[i] = theta[i] + FD_STEP;
        m.set_flat(&t);
        let fp = f(&m);
        t[i] = theta[i] - FD_STEP;
        m.set_flat(&t);
        let fm = f(&m);
        fd[i] = (fp - fm) / (2.0 * FD_STEP);
    }
    fd
}

/// The output of `nrnn regularizer --model MODEL --data sines ARGS`.
pub fn regularizer_on_sines(model: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "regularizer",
        "--model",
        model.to_str().unwrap(),
        "--data",
        "sines",
    ];
    all.extend_from_slice(args);
    nrnn(&all)
}

/// The output of `nrnn ARGS`.
pub fn nrnn(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nrnn"))
        .args(args)
        .output()
        .unwrap()
}

/// Asserts that a run of the binary succeeded (the message is its standard error).
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that a run of the binary succeeded ([`assert_success`]) and returns its standard
/// output parsed as JSON.
pub fn success_json(out: &Output) -> serde_json::Value {
    assert_success(out);
    serde_json::from_slice(&out.stdout).unwrap()
}

//! Configuration of training: [`TrainConfig`] (what the trainer's loop needs) and
//! [`RunConfig`] (a whole `nrnn train` run: data, split, model, training), both with
//! defaults that train the embedded digits to more than 90% test accuracy in seconds.
//!
//! A [`RunConfig`] is written as one flat JSON object whose keys are the flag names of
//! `nrnn train` (`{"hidden": 64, "eps": 0.2, "epochs": 20, ...}`); missing keys take
//! their default, unknown keys are refused.

use super::optim::{OptimizerKind, MAX_LR};
use crate::error::{Error, Result};
use crate::model::cornn::{self, CornnHyper};
use crate::model::{Activation, CellKind, ModelConfig, NoiseForm, NoiseSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Hyper-parameters of the training loop ([`super::fit`]).
///
/// The learning rate of 1-based epoch `e` is `lr * decay_factor^(#{d in decay_epochs: d <= e})`;
/// `decay_epochs = None` means two decays, at `round(0.55 * epochs)` and
/// `round(0.85 * epochs)` (with the default factor 0.3: x0.3 at epoch 17 and x0.09 from
/// epoch 26 of 30). The paper's schedule is `decay_epochs = [90]`, `decay_factor = 0.1`
/// with 100 epochs.
///
/// ```
/// let c = nrnn::train::TrainConfig::default();
/// assert!(c.validate().is_ok());
/// assert_eq!(c.decay_schedule().unwrap().epochs, vec![17, 26]);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Passes over the training set, in `[1, 1000000]`.
    pub epochs: usize,
    /// Examples per mini-batch, in `[1, 65536]` (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Initial learning rate, in `(0, 1e6]`.
    pub lr: f64,
    /// `adam` or `sgd` (with `momentum`).
    pub optimizer: OptimizerKind,
    /// Momentum of SGD, in `[0, 1)`.
    pub momentum: f64,
    /// 1-based epochs from which the learning rate is multiplied by `decay_factor`.
    pub decay_epochs: Option<Vec<usize>>,
    /// Learning-rate multiplier at each decay epoch, in `(0, 1]`.
    pub decay_factor: f64,
    /// Clip the gradient to this global Euclidean norm (`None`: no clipping).
    pub clip: Option<f64>,
    /// Seed of the initialization, the shuffles and the training noise.
    pub seed: u64,
    /// Inject the model's noise ([`crate::model::NoiseSpec`]) during training. Validation
    /// and test are always noise-off.
    pub train_noise: bool,
    /// Show a progress bar on stderr (never shown when stderr is not a terminal).
    pub progress: bool,
    /// What the optimizer minimizes: the loss with the model's noise injected (`noise`,
    /// the default; `train_noise` false makes it the plain loss), or deterministically the
    /// explicit objective `l + (eps^2/2)(Q + R)` with the model's noise form, `eps`,
    /// `sigma1`, `sigma2` (`explicit`; docs/theory.md section 7).
    #[serde(skip_serializing_if = "Objective::is_noise")]
    pub objective: Objective,
    /// With the explicit objective: estimate `Q`, `R` and their gradient from this many
    /// probes per example ([`crate::regularizer::probe`], `O(n^2)` per step and probe)
    /// instead of the exact sweep (`O(n^3)` per step); `None`: exact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub probes: Option<usize>,
}

/// The training objective (see [`TrainConfig::objective`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The loss of the noisy network (noise drawn per mini-batch from seeded streams).
    #[default]
    Noise,
    /// The deterministic explicit objective `l(hbar_K) + (eps^2/2)(Q + R)`, with the exact
    /// gradient of [`crate::regularizer::gradient`].
    Explicit,
}

impl Objective {
    /// Parse `noise` or `explicit`.
    ///
    /// ```
    /// use nrnn::train::config::Objective;
    /// assert_eq!(Objective::parse("explicit").unwrap(), Objective::Explicit);
    /// assert!(Objective::parse("x").unwrap_err().to_string().contains("objective"));
    /// ```
    pub fn parse(s: &str) -> Result<Objective> {
        match s {
            "noise" => Ok(Objective::Noise),
            "explicit" => Ok(Objective::Explicit),
            _ => Err(Error::param(
                "objective",
                format!("\"{s}\""),
                "one of \"noise\", \"explicit\"",
            )),
        }
    }
    /// Whether this is the default noise objective (not written to files then, so that
    /// configurations from before the field keep their bytes).
    pub fn is_noise(&self) -> bool {
        *self == Objective::Noise
    }
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: DEFAULT_EPOCHS,
            batch: DEFAULT_BATCH,
            lr: DEFAULT_LR,
            optimizer: OptimizerKind::Adam,
            momentum: 0.9,
            decay_epochs: None,
            decay_factor: DEFAULT_DECAY_FACTOR,
            clip: Some(DEFAULT_CLIP),
            seed: 0,
            train_noise: true,
            progress: true,
            objective: Objective::Noise,
            probes: None,
        }
    }
}

/// Default number of epochs (digits: > 90% test accuracy, see the crate tests).
pub const DEFAULT_EPOCHS: usize = 30;
/// Default mini-batch size.
pub const DEFAULT_BATCH: usize = 32;
/// Default Adam learning rate.
pub const DEFAULT_LR: f64 = 5e-3;
/// Default global-norm clip of the gradient.
pub const DEFAULT_CLIP: f64 = 5.0;
/// Default learning-rate multiplier at each decay epoch.
pub const DEFAULT_DECAY_FACTOR: f64 = 0.3;

/// Largest hidden size `nrnn train` accepts. Training keeps about a dozen `n x n` matrices
/// (the weights `M_A`, `M_W`, the derived `A`, `W`, their gradients and two Adam moments
/// each): at 4096 units that is 12 x 128 MiB = 1.5 GiB, about what a workstation can give;
/// beyond it the allocation fails (an abort, not an error) or the run takes days per epoch.
pub const MAX_HIDDEN: usize = 4096;

fn count_in(name: &str, v: usize, lo: usize, hi: usize) -> Result<()> {
    crate::error::check_count(name, v, lo, hi).map(|_| ())
}

fn real_in(name: &str, v: f64, lo: f64, hi: f64, open_lo: bool) -> Result<()> {
    let ok = v.is_finite() && v <= hi && if open_lo { v > lo } else { v >= lo };
    if ok {
        Ok(())
    } else {
        let l = if open_lo { "(" } else { "[" };
        Err(Error::param(
            name,
            v,
            &format!("a finite number in {l}{lo}, {hi}]"),
        ))
    }
}

impl TrainConfig {
    /// Check every field; the error names the field and the allowed range.
    ///
    /// ```
    /// let c = nrnn::train::TrainConfig { batch: 0, ..Default::default() };
    /// assert!(c.validate().unwrap_err().to_string().contains("batch"));
    /// ```
    pub fn validate(&self) -> Result<()> {
        count_in("epochs", self.epochs, 1, 1_000_000)?;
        count_in("batch", self.batch, 1, 1 << 16)?;
        real_in("lr", self.lr, 0.0, MAX_LR, true)?;
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return Err(Error::param(
                "momentum",
                self.momentum,
                "a number in [0, 1)",
            ));
        }
        if let Some(d) = &self.decay_epochs {
            if let Some(&e) = d.iter().find(|&&e| e == 0) {
                return Err(Error::param(
                    "decay_epochs",
                    e,
                    "1-based epochs (integers >= 1)",
                ));
            }
        }
        real_in("decay_factor", self.decay_factor, 0.0, 1.0, true)?;
        if let Some(c) = self.clip {
            real_in("clip", c, 0.0, f64::MAX, true)?;
        }
        if let Some(p) = self.probes {
            if self.objective != Objective::Explicit {
                return Err(Error::param(
                    "probes",
                    p,
                    "no value unless the objective is explicit",
                ));
            }
            count_in("probes", p, 2, crate::regularizer::probe::MAX_PROBES)?;
        }
        Ok(())
    }

    /// The learning-rate schedule of this configuration.
    pub fn decay_schedule(&self) -> Result<super::optim::StepDecay> {
        let epochs = match &self.decay_epochs {
            Some(d) => d.clone(),
            None => [0.55, 0.85]
                .iter()
                .map(|f| ((f * self.epochs as f64).round() as usize).max(1))
                .collect(),
        };
        super::optim::StepDecay::new(self.lr, epochs, self.decay_factor)
    }
}

/// Everything `nrnn train` needs: the data set and its split, the model, the training
/// loop. Flat, with the flag names of `nrnn train` as keys (see module docs).
///
/// Defaults: the embedded digits split 1,197 / 200 / 400 (train / validation / test, split
/// seed 0), a tanh Lipschitz RNN with 64 hidden units, step 0.5 (64 steps: T = 32),
/// beta 0.75, gamma 0.001, noise off (`diag` with `sigma1 = sigma2 = 1` once `eps > 0`),
/// Adam with the [`TrainConfig`] defaults.
///
/// ```
/// use nrnn::train::RunConfig;
/// let c = RunConfig::from_json(&serde_json::json!({"hidden": 16, "eps": 0.2})).unwrap();
/// assert_eq!((c.hidden, c.eps, c.train.epochs), (16, 0.2, nrnn::train::config::DEFAULT_EPOCHS));
/// let e = RunConfig::from_json(&serde_json::json!({"hiden": 16})).unwrap_err();
/// assert!(e.to_string().contains("hiden"));
/// let e = RunConfig::from_json(&serde_json::json!({"eps": "x"})).unwrap_err();
/// assert!(e.to_string().contains("eps"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    /// Data set name, as known to [`crate::data::by_name`].
    pub data: String,
    /// Use only the first `examples` examples of the data set (`None`: all).
    pub examples: Option<usize>,
    /// Validation examples, at least 1.
    pub val_count: usize,
    /// Test examples (0: no test set).
    pub test_count: usize,
    /// Seed of the train / validation / test split (fixed, independent of `seed`, so
    /// runs with different seeds are compared on the same test set).
    pub split_seed: u64,
    /// Hidden units n.
    pub hidden: usize,
    /// Step d of the Euler-Maruyama discretization.
    pub dt: f64,
    /// Learn a per-unit step (as `log d`).
    pub learn_dt: bool,
    /// Mix of symmetric and skew parts of A and W, in [0, 1].
    pub beta: f64,
    /// Diagonal shift gamma of both A and W.
    pub gamma: f64,
    /// Activation.
    pub activation: Activation,
    /// Keep the `A h` term of the drift (false: antisymmetric RNN).
    pub a_term: bool,
    /// Initialization scale: `M_A, M_W ~ N(0, (init_scale / n)^2)`.
    pub init_scale: f64,
    /// Noise form.
    pub noise: NoiseForm,
    /// Noise level eps >= 0 (0: deterministic training).
    pub eps: f64,
    /// Additive noise level sigma1 >= 0.
    pub sigma1: f64,
    /// Multiplicative noise level sigma2 >= 0.
    pub sigma2: f64,
    /// The recurrent cell ([`CellKind`]): `lipschitz` (the fields above), or the baselines
    /// `lstm`, `gru`, `cornn`, which read `hidden`, the noise (`diag` only) and the training
    /// loop (coRNN also `cornn_*`). Left out of the file when `lipschitz`.
    #[serde(skip_serializing_if = "CellKind::is_lipschitz")]
    pub cell: CellKind,
    /// The coRNN's step dt, in (0, 10] (left out of the file at its default).
    #[serde(skip_serializing_if = "is_cornn_dt")]
    pub cornn_dt: f64,
    /// The coRNN's gamma, in [0, 1000] (left out of the file at its default).
    #[serde(skip_serializing_if = "is_cornn_gamma")]
    pub cornn_gamma: f64,
    /// The coRNN's eps, in [0, 1000] (left out of the file at its default).
    #[serde(skip_serializing_if = "is_cornn_eps")]
    pub cornn_eps: f64,
    /// The training loop.
    #[serde(flatten)]
    pub train: TrainConfig,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            data: "digits".into(),
            examples: None,
            val_count: DIGITS_VAL,
            test_count: DIGITS_TEST,
            split_seed: 0,
            hidden: DEFAULT_HIDDEN,
            dt: DEFAULT_DT,
            learn_dt: false,
            beta: 0.75,
            gamma: 0.001,
            activation: Activation::Tanh,
            a_term: true,
            init_scale: 0.1,
            noise: NoiseForm::Diag,
            eps: 0.0,
            sigma1: 1.0,
            sigma2: 1.0,
            cell: CellKind::Lipschitz,
            cornn_dt: cornn::DEFAULT_DT,
            cornn_gamma: cornn::DEFAULT_GAMMA,
            cornn_eps: cornn::DEFAULT_EPS,
            train: TrainConfig::default(),
        }
    }
}

fn is_cornn_dt(v: &f64) -> bool {
    *v == cornn::DEFAULT_DT
}
fn is_cornn_gamma(v: &f64) -> bool {
    *v == cornn::DEFAULT_GAMMA
}
fn is_cornn_eps(v: &f64) -> bool {
    *v == cornn::DEFAULT_EPS
}

/// Validation examples of the default digits split (1,197 / 200 / 400).
pub const DIGITS_VAL: usize = 200;
/// Test examples of the default digits split.
pub const DIGITS_TEST: usize = 400;
/// Default hidden units.
pub const DEFAULT_HIDDEN: usize = 64;
/// Default step d.
pub const DEFAULT_DT: f64 = 0.5;
/// The noise level of the default noisy run on the digits (`diag`, `sigma1 = sigma2 = 1`).
pub const DEFAULT_NOISY_EPS: f64 = 0.2;

impl RunConfig {
    /// The defaults with noisy training: `diag` noise, `eps = DEFAULT_NOISY_EPS`,
    /// `sigma1 = sigma2 = 1`.
    pub fn noisy() -> RunConfig {
        RunConfig {
            eps: DEFAULT_NOISY_EPS,
            ..RunConfig::default()
        }
    }

    /// The keys accepted in a JSON configuration (the flag names of `nrnn train`).
    pub fn keys() -> Vec<String> {
        let mut keys: Vec<String> = match serde_json::to_value(RunConfig::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        };
        // The keys left out of the file at their defaults: the training objective's and
        // the cell's.
        keys.extend(
            [
                "objective",
                "probes",
                "cell",
                "cornn_dt",
                "cornn_gamma",
                "cornn_eps",
            ]
            .map(String::from),
        );
        keys.sort();
        keys
    }

    /// Parse a JSON object: defaults for missing keys; an unknown key, a value of the
    /// wrong type or out of range is refused with an error naming the key.
    pub fn from_json(v: &Value) -> Result<RunConfig> {
        let obj = v.as_object().ok_or_else(|| {
            Error::param("(config)", brief(v), "a JSON object of training settings")
        })?;
        let keys = RunConfig::keys();
        for k in obj.keys() {
            if !keys.contains(k) {
                return Err(Error::param(
                    k,
                    "an unknown key",
                    &format!("one of {}", keys.join(", ")),
                ));
            }
        }
        // serde's messages do not name the field: find the first key that fails alone.
        for (k, val) in obj {
            let mut one = serde_json::Map::new();
            one.insert(k.clone(), val.clone());
            if let Err(e) = serde_json::from_value::<RunConfig>(Value::Object(one)) {
                return Err(Error::param(k, brief(val), &format!("a valid value ({e})")));
            }
        }
        let cfg: RunConfig = serde_json::from_value(v.clone())
            .map_err(|e| Error::Other(format!("configuration: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Read a JSON configuration file (see [`RunConfig::from_json`]).
    pub fn load(path: &std::path::Path) -> Result<RunConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let v: Value = crate::json::parse_document(&text).map_err(|message| Error::Format {
            path: path.display().to_string(),
            message,
        })?;
        RunConfig::from_json(&v).map_err(|e| Error::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Check every field; the error names the field (the flag of `nrnn train`) and the
    /// allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.data.trim().is_empty() {
            return Err(Error::param("data", "\"\"", "a data set name"));
        }
        if let Some(n) = self.examples {
            count_in("examples", n, 2, usize::MAX)?;
        }
        count_in("val_count", self.val_count, 1, usize::MAX)?;
        count_in("hidden", self.hidden, 1, MAX_HIDDEN)?;
        real_in("dt", self.dt, 0.0, 1e3, true)?;
        real_in("beta", self.beta, 0.0, 1.0, false)?;
        real_in("gamma", self.gamma, -1e6, 1e6, false)?;
        real_in("init_scale", self.init_scale, 0.0, 1e3, false)?;
        for (name, v) in [
            ("eps", self.eps),
            ("sigma1", self.sigma1),
            ("sigma2", self.sigma2),
        ] {
            real_in(name, v, 0.0, 1e6, false)?;
        }
        if self.noise == NoiseForm::Code && self.eps * self.sigma2 > 1.0 {
            return Err(Error::param(
                "sigma2",
                self.sigma2,
                "eps * sigma2 <= 1 for the code noise form (the drift factor 1 - eps sigma2 u must stay >= 0)",
            ));
        }
        self.validate_cell()?;
        self.train.validate()
    }

    /// The coRNN's hyper-parameters of the run.
    pub fn cornn_hyper(&self) -> CornnHyper {
        CornnHyper {
            dt: self.cornn_dt,
            gamma: self.cornn_gamma,
            eps: self.cornn_eps,
        }
    }

    /// Check the cell's settings: the coRNN's ranges (always), and for a baseline cell no
    /// Lipschitz-only setting that it could not honour (a learnable step, a noise form other
    /// than `diag`).
    fn validate_cell(&self) -> Result<()> {
        self.cornn_hyper().validate("cornn_")?;
        if self.cell.is_lipschitz() {
            return Ok(());
        }
        let cell = self.cell.name();
        if self.learn_dt {
            return Err(Error::param(
                "learn_dt",
                true,
                &format!("false for the {cell} cell (only the Lipschitz RNN has a learnable step)"),
            ));
        }
        if self.eps > 0.0 && self.noise != NoiseForm::Diag {
            return Err(Error::param(
                "noise",
                format!("\"{}\"", self.noise.name()),
                &format!(
                    "\"diag\" for the {cell} cell (hidden-state noise eps (sigma1 + sigma2 h) xi)"
                ),
            ));
        }
        Ok(())
    }

    /// The noise specification of the model.
    pub fn noise_spec(&self) -> Result<NoiseSpec> {
        NoiseSpec::new(self.noise, self.eps, self.sigma1, self.sigma2)
    }

    /// The model configuration for data of input dimension `input` and `classes` outputs.
    ///
    /// ```
    /// let m = nrnn::train::RunConfig::noisy().model_config(1, 10).unwrap();
    /// assert_eq!((m.hidden, m.noise.eps), (64, 0.2));
    /// ```
    pub fn model_config(&self, input: usize, classes: usize) -> Result<ModelConfig> {
        let cfg = ModelConfig {
            hidden: self.hidden,
            input,
            classes,
            beta: self.beta,
            gamma_a: self.gamma,
            gamma_w: self.gamma,
            activation: self.activation,
            a_term: self.a_term,
            learn_dt: self.learn_dt,
            noise: self.noise_spec()?,
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(37).collect::<String>())
    } else {
        s
    }
}

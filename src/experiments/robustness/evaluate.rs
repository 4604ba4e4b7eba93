//! The evaluation of a trained model: accuracy under every perturbation and attack of the task, and the theory measures (regularizer, Hessian, kappa, Lyapunov exponent, margins).

use super::*;

/// JSON has no NaN: `serde_json` writes a non-finite `f64` as `null`. These read `null`
/// back as NaN, so a cached piece whose accuracy or theory measure is undefined (NaN)
/// still loads and is reused on resume.
pub(super) mod nan_as_null {
    use serde::{Deserialize, Deserializer};

    pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }

    pub fn named<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f64)>, D::Error> {
        let v = Vec::<(String, Option<f64>)>::deserialize(d)?;
        Ok(v.into_iter()
            .map(|(k, x)| (k, x.unwrap_or(f64::NAN)))
            .collect())
    }
}

/// One evaluation of one trained model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalRow {
    /// Perturbation kind ([`Perturbation::kind`]); `clean-test` is the whole test set.
    pub perturbation: String,
    /// Strength (0: clean).
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub strength: f64,
    /// Accuracy.
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub accuracy: f64,
    /// Mean cross-entropy.
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub loss: f64,
    /// Examples evaluated.
    pub examples: usize,
}

/// The theory measured on one trained model (deterministic network, noise off).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct TheoryRow {
    /// Measures by name, in a fixed order (see [`THEORY_MEASURES`]).
    #[serde(deserialize_with = "nan_as_null::named")]
    pub values: Vec<(String, f64)>,
}

/// The theory measures, with their labels: name, axis label, prediction.
pub const THEORY_MEASURES: &[(&str, &str)] = &[
    (
        "regularizer",
        "(Q + R)/2 per eps^2, reference diag noise (sigma1 = sigma2 = 1)",
    ),
    ("hessian_top", "top eigenvalue of the training-loss Hessian"),
    (
        "hessian_trace",
        "trace of the training-loss Hessian (Hutchinson)",
    ),
    ("kappa", "kappa = lambda_max(A_sym) + ||W||_2"),
    (
        "lyapunov_top",
        "top Lyapunov exponent (deterministic, on the inputs)",
    ),
    (
        "score_margin",
        "mean score margin o_y - max_j o_j (training examples)",
    ),
    (
        "margin_lower",
        "mean Jacobian lower bound of the input margin (correct examples)",
    ),
    (
        "attack_radius",
        "median L2 radius of the DeepFool + bisection attack (upper estimate)",
    ),
];

/// Everything one piece (task, model, seed) produces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PieceResult {
    /// Task name.
    pub task: String,
    /// Model name.
    pub model: String,
    /// Training seed.
    pub seed: u64,
    /// Epoch of the selected model.
    pub best_epoch: usize,
    /// Epochs trained.
    pub epochs_run: usize,
    /// Validation accuracy of the selected model.
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub val_accuracy: f64,
    /// Training wall time in seconds.
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub train_seconds: f64,
    /// Evaluation wall time in seconds.
    #[serde(deserialize_with = "nan_as_null::f64")]
    pub eval_seconds: f64,
    /// Evaluations.
    pub rows: Vec<EvalRow>,
    /// Theory measures (tasks with `theory_examples > 0`).
    pub theory: Option<TheoryRow>,
}

/// The seed of the evaluation perturbations of a task for the models of training seed
/// `seed`: every model of that seed sees the same perturbation draws (common random
/// numbers, so the paired contrasts do not carry the draws' noise), and each seed its own
/// (so the seeds replicate the perturbation draw too).
pub(super) fn perturbation_seed(seed: u64, task: &str) -> u64 {
    use rand::Rng;
    let h = task
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(131).wrapping_add(b as u64));
    crate::rng::stream(seed, &[0x524F_4255_5354, h]).next_u64()
}

/// Evaluate a trained model under every perturbation of the task.
pub(super) fn evaluate_model<M: Recurrent>(
    task: &TaskSpec,
    d: &TaskData,
    model: &M,
    seed: u64,
) -> Result<Vec<EvalRow>> {
    let loss = crate::loss::Loss::CrossEntropy;
    let mut rows = Vec::new();
    let (l, a) = model.evaluate(&d.test.all(), loss);
    rows.push(EvalRow {
        perturbation: "clean-test".into(),
        strength: 0.0,
        accuracy: a,
        loss: l,
        examples: d.test.len(),
    });
    let eval = d.test.head(task.eval_examples);
    let attack = d.test.head(task.attack_examples);
    let seed = perturbation_seed(seed, task.name);
    for (kind, list) in task.grids.perturbations() {
        let set = if matches!(kind, "fgsm" | "pgd") {
            &attack
        } else {
            &eval
        };
        let clean = evaluate_under(model, set, &Perturbation::Clean, d.range, seed)?;
        rows.push(EvalRow {
            perturbation: kind.into(),
            strength: 0.0,
            accuracy: clean.accuracy,
            loss: clean.loss,
            examples: set.len(),
        });
        for p in list {
            let e = evaluate_under(model, set, &p, d.range, seed)?;
            rows.push(EvalRow {
                perturbation: kind.into(),
                strength: p.strength(),
                accuracy: e.accuracy,
                loss: e.loss,
                examples: set.len(),
            });
        }
    }
    Ok(rows)
}

/// The theory measures of a trained model on the first `task.theory_examples` training
/// examples (noise off), with the library functions of docs/theory.md sections 2-5:
/// the explicit regularizer `(Q + R)/2` per `eps^2` ([`crate::regularizer::dataset`]) for
/// one reference noise shared by every model (`diag`, `sigma1 = sigma2 = 1`: a
/// deterministic model has no noise of its own), the top eigenvalue (Lanczos) and trace
/// (Hutchinson) of the Hessian of the training loss in the parameters
/// ([`crate::hessian::analyze`]; the learned steps of the `code` models are parameters too),
/// `kappa` ([`crate::dynamics::Conditions`]), the top Lyapunov exponent of the
/// deterministic network driven by the first example's input, cycled
/// ([`crate::dynamics::spectrum`]), and the mean score margin, the mean Jacobian lower
/// bound and the median attack radius of the input margin ([`crate::margin::margins`]).
pub(super) fn theory_of(
    ctx: &Ctx,
    task: &TaskSpec,
    d: &TaskData,
    model: &Model,
) -> Result<Option<TheoryRow>> {
    if task.theory_examples == 0 {
        return Ok(None);
    }
    let sub = d.train.head(task.theory_examples);
    let batch = sub.all();
    let loss = crate::loss::Loss::CrossEntropy;
    let mut values = Vec::new();
    let mut reference = model.clone();
    reference.config.noise = NoiseSpec {
        form: NoiseForm::Diag,
        eps: 1.0,
        sigma1: 1.0,
        sigma2: 1.0,
    };
    let reg = crate::regularizer::dataset(
        &reference,
        &batch,
        loss,
        crate::regularizer::Options::default(),
    )?;
    values.push(("regularizer".to_string(), reg.value()));
    let hopts = crate::hessian::HessianOptions::new(1, ctx.profile.pick(4, 10, 30), ctx.seed);
    let h = crate::hessian::analyze(model, &batch, loss, &hopts)?;
    values.push((
        "hessian_top".to_string(),
        h.top.values.first().copied().unwrap_or(f64::NAN),
    ));
    values.push(("hessian_trace".to_string(), h.trace.mean));
    let c = crate::dynamics::Conditions::of(model, Some(0.0))?;
    values.push(("kappa".to_string(), c.kappa));
    let sys = crate::dynamics::Dynamics::new(model, Some(sub.sequence(0)), NoiseSpec::off())?;
    let steps = ctx.profile.pick(200, 2000, 10000);
    let spec = crate::dynamics::spectrum(&sys, &crate::dynamics::LyapunovOptions::new(1, steps))?;
    values.push((
        "lyapunov_top".to_string(),
        spec.exponents.first().copied().unwrap_or(f64::NAN),
    ));
    let m = crate::margin::margins(model, &sub, &crate::margin::AttackOptions::default())?;
    values.push(("score_margin".to_string(), m.score_margin.mean));
    values.push(("margin_lower".to_string(), m.lower_bound.mean));
    values.push(("attack_radius".to_string(), m.attack_radius.median));
    Ok(Some(TheoryRow { values }))
}

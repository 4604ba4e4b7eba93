//! `nrnn eval`: evaluate a model on inputs, noise off.
//!
//! Prints (with `--json`, or writes with `--out FILE`)
//!
//! ```text
//! {"model": path, "data": name, "split": {..} | null (see docs/json.md), "examples": B,
//!  "loss": mean loss (cross-entropy; squared error for regression targets),
//!  "accuracy": fraction correct (null for regression or unlabelled inputs),
//!  "logits": [[o_1 .. o_c] per example],
//!  "grad": {"m_a", "m_w", "u", "b", "v", "c"[, "dt"]}}      (with --grad)
//! ```
//!
//! `grad` is the gradient of the mean loss in every parameter (matrices as row-major nested
//! arrays, `dt` only for a learnable step: the derivative in the step `d` itself). Without
//! `--json` a readable summary is printed.

use super::fmt::{num, percent};
use crate::data::{Dataset, Target, Task};
use crate::loss::Loss;
use crate::model::{Model, Network, NoiseSource, Recurrent};
use anyhow::Context;
use nalgebra::DMatrix;
use serde_json::{json, Value};
use std::path::Path;

/// Arguments of `nrnn eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model and its inputs.
    #[command(flatten)]
    pub source: super::ModelInputs,
    /// Also compute the gradient of the mean loss in every parameter.
    #[arg(long)]
    pub grad: bool,
    /// `--json` and `--out`.
    #[command(flatten)]
    pub report: super::ReportFlags,
}

/// Read and check a model file; errors name the file and the offending field (also when
/// the file is not valid JSON, e.g. a number `1e999` out of range).
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("m.json");
/// std::fs::write(&p, r#"{"format": "nrnn-model/1", "hidden": 1e999}"#).unwrap();
/// let e = nrnn::cli::eval::load_model(&p).unwrap_err();
/// assert!(format!("{e:#}").contains("`hidden`"));
/// ```
pub fn load_model(path: &Path) -> anyhow::Result<Model> {
    Model::load(path).context("model file")
}

/// Load a model file of any cell ([`Network::load`]): what `nrnn eval` reads.
pub fn load_network(path: &Path) -> anyhow::Result<Network> {
    Network::load(path).context("model file")
}

/// Check that data fit a model (input dimension, labels or target dimension).
pub(crate) fn check_fit<M: Recurrent>(model: &M, d: &Dataset, labeled: bool) -> anyhow::Result<()> {
    if d.is_empty() {
        anyhow::bail!("data `{}`: no examples", d.name);
    }
    if d.input_dim != model.input() {
        anyhow::bail!(
            "invalid parameter `input_dim` of data `{}` = {}: expected the model's input dimension {}",
            d.name,
            d.input_dim,
            model.input()
        );
    }
    if labeled {
        match d.task {
            Task::Classification => {
                crate::data::check_labels(&d.labels, model.classes(), "the model's classes")?;
            }
            Task::Regression => {
                if d.classes != model.classes() {
                    anyhow::bail!(
                        "invalid parameter `targets` of dimension {}: expected the model's output dimension {}",
                        d.classes,
                        model.classes()
                    );
                }
            }
        }
    }
    Ok(())
}

/// Largest logit magnitude a report is computed from: 2^53 (about 9.007e15). Above it the
/// spacing of f64 numbers near a logit exceeds 1, so the logit differences that set the
/// softmax probabilities (and so the cross-entropy, its gradient and Hessian) are rounded
/// away; a squared error of such an output is as meaningless. Finite logits beyond it are
/// refused ([`check_finite_logits`]) instead of reported as a silently wrong loss.
pub const MAX_LOGIT: f64 = 9_007_199_254_740_992.0;

/// Refuse logits (one column per example) with a NaN or infinite entry: the error names the
/// first such example and the probable cause, a diverging recurrence (weights too large
/// for the step `dt`), instead of passing NaN on as a loss or an accuracy. Finite logits
/// of magnitude above [`MAX_LOGIT`] are refused too, naming the example, the value and the
/// threshold.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(2, 1, 2), 0.1, 1).unwrap();
/// let ok = nalgebra::DMatrix::from_vec(2, 1, vec![1.0, -3.0]);
/// assert!(nrnn::cli::eval::check_finite_logits(&m, &ok).is_ok());
/// let huge = nalgebra::DMatrix::from_vec(2, 1, vec![1e300, 0.0]);
/// let e = nrnn::cli::eval::check_finite_logits(&m, &huge).unwrap_err().to_string();
/// assert!(e.contains("example 0") && e.contains("MAX_LOGIT"), "{e}");
/// ```
pub fn check_finite_logits<M: Recurrent>(model: &M, logits: &DMatrix<f64>) -> anyhow::Result<()> {
    if let Some(j) = (0..logits.ncols()).find(|&j| logits.column(j).iter().any(|v| !v.is_finite()))
    {
        match model.max_step() {
            Some(dt_max) => anyhow::bail!(
                "example {j}: the logits are not finite (NaN or infinite): the recurrence probably diverges \
                 (the hidden state overflows); try a smaller dt (the model's largest dt is {dt_max}) or smaller weights"
            ),
            None => anyhow::bail!(
                "example {j}: the logits are not finite (NaN or infinite): the hidden state or the readout overflows; \
                 the weights are too large"
            ),
        }
    }
    let big = (0..logits.ncols()).find_map(|j| {
        logits
            .column(j)
            .iter()
            .find(|v| v.abs() > MAX_LOGIT)
            .map(|&v| (j, v))
    });
    if let Some((j, v)) = big {
        anyhow::bail!(
            "example {j}: a logit is {v:e}, beyond the largest magnitude {MAX_LOGIT:e} (MAX_LOGIT = 2^53) at which \
             logit differences below 1 are still represented: the softmax, the loss and its derivatives would be \
             rounding noise; the readout weights (v, c) or the hidden state are far too large"
        );
    }
    Ok(())
}

/// The noise-free logits of every example of `d`, checked with [`check_finite_logits`]: the
/// check `hessian`, `margin` and `regularizer` make before their work.
pub(crate) fn checked_logits<M: Recurrent>(model: &M, d: &Dataset) -> anyhow::Result<DMatrix<f64>> {
    let logits = model.logits(&d.all(), NoiseSource::Off);
    check_finite_logits(model, &logits)?;
    Ok(logits)
}

/// The evaluation report of `model` on `d` (see module docs): noise off; `loss` and
/// `accuracy` are those of [`Model::evaluate`]. `labeled = false`: `loss` and `accuracy`
/// are null and `grad` is refused.
///
/// ```
/// use nrnn::model::{Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(4, 1, 10), 0.5, 1).unwrap();
/// let d = nrnn::data::digits().head(3);
/// let r = nrnn::cli::eval::report(&m, &d, true, true).unwrap();
/// let (loss, acc) = m.evaluate(&d.all(), nrnn::loss::Loss::CrossEntropy);
/// assert_eq!((r["loss"].as_f64(), r["accuracy"].as_f64()), (Some(loss), Some(acc)));
/// assert_eq!(r["grad"]["m_a"].as_array().unwrap().len(), 4);
/// ```
pub fn report<M: Recurrent>(
    model: &M,
    d: &Dataset,
    labeled: bool,
    grad: bool,
) -> anyhow::Result<Value> {
    check_fit(model, d, labeled)?;
    let batch = d.all();
    let logits = model.logits(&batch, NoiseSource::Off);
    check_finite_logits(model, &logits)?;
    let per_example: Vec<Vec<f64>> = logits
        .column_iter()
        .map(|c| c.iter().copied().collect())
        .collect();
    let mut out = json!({
        "data": d.name,
        "examples": d.len(),
        "logits": per_example,
    });
    if !labeled {
        if grad {
            anyhow::bail!("--grad needs labels or targets in the inputs file");
        }
        out["loss"] = Value::Null;
        out["accuracy"] = Value::Null;
        return Ok(out);
    }
    let loss = match batch.target {
        Target::Classes(_) => Loss::CrossEntropy,
        Target::Values(_) => Loss::SquaredError,
    };
    let (l, acc) = model.evaluate(&batch, loss);
    out["loss_kind"] = json!(match loss {
        Loss::CrossEntropy => "cross-entropy",
        Loss::SquaredError => "squared-error",
    });
    out["loss"] = json!(l);
    out["accuracy"] = if acc.is_finite() {
        json!(acc)
    } else {
        Value::Null
    };
    if grad {
        let g = model.loss_grad(&batch, loss, NoiseSource::Off, false).grad;
        out["grad"] = model.grad_json(&g);
    }
    Ok(out)
}

/// The Euclidean norm of each block of a gradient in the layout of `eval --grad`, as one
/// line (`m_a 0.1, m_w 0.2, ...`): the Lipschitz RNN's blocks in their order, another
/// cell's in its file's order.
pub(crate) fn grad_norms(g: &Value, lipschitz: bool) -> String {
    let keys: Vec<String> = match (lipschitz, g.as_object()) {
        (false, Some(o)) => o.keys().cloned().collect(),
        _ => ["m_a", "m_w", "u", "b", "v", "c", "dt"]
            .map(String::from)
            .to_vec(),
    };
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            g.get(k.as_str())
                .map(|v| format!("{k} {}", num(norm_of(v).sqrt())))
        })
        .collect();
    parts.join(", ")
}

fn norm_of(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0).powi(2),
        Value::Array(a) => a.iter().map(norm_of).sum(),
        _ => 0.0,
    }
}

/// Run `nrnn eval`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (model, src) = args.source.open(args.report.out.as_deref())?;
    let (d, labeled) = (&src.dataset, src.labeled);
    let mut rep = report(&model, d, labeled, args.grad)?;
    rep["model"] = json!(args.source.model.display().to_string());
    rep["split"] = src.split_json();
    if args.report.emit(&rep)? {
        return Ok(());
    }
    super::print_header(&args.source.model, &model, &src, 10)?;
    match (rep["loss"].as_f64(), rep["loss_kind"].as_str()) {
        (Some(l), Some(kind)) => outln!("loss      {} (mean {kind})", num(l)),
        _ => outln!("loss      n/a (unlabelled inputs)"),
    }
    if let Some(a) = rep["accuracy"].as_f64() {
        outln!(
            "accuracy  {} ({} of {})",
            percent(a),
            (a * d.len() as f64).round() as usize,
            d.len()
        );
    }
    if let Some(g) = rep.get("grad") {
        outln!("|grad|    {}", grad_norms(g, model.cell().is_lipschitz()));
    }
    outln!("(--json prints the logits and the full gradient)");
    Ok(())
}

//! `nrnn import noisyrnn` and `nrnn export noisyrnn`: the authors' released model
//! (erichson/NoisyRNN) to and from an `nrnn-model/1` file (mapping:
//! [`crate::interop::noisyrnn`]).
//!
//! ```text
//! nrnn import noisyrnn --weights W.safetensors|W.npz [--beta B] [--gamma-a G] [--gamma-w G]
//!      [--alpha A] [--solver base|noisy] [--eps E] [--add-noise S] [--mult-noise S] --out M.json
//! nrnn export noisyrnn --model M.json --out W.safetensors [--dtype f32|f64]
//! ```
//!
//! The hyper-parameter flags are those of their `driver.py` (`--gamma_A`, `--add_noise`,
//! ... are accepted too). Unset, a flag takes the value in the file's metadata (as written
//! by `nrnn export noisyrnn`), else the `driver.py` default. Both print a JSON summary.

use crate::interop::noisyrnn::{self, Hyper, Solver};
use crate::interop::FloatType;
use crate::model::Model;
use anyhow::Context;
use serde_json::json;
use std::path::PathBuf;

/// `nrnn import FORMAT`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImportCmd {
    /// The authors' NoisyRNN `state_dict` (safetensors or .npz) to an nrnn-model/1 file.
    Noisyrnn(ImportArgs),
}

/// `nrnn export FORMAT`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ExportCmd {
    /// An nrnn-model/1 file to the authors' NoisyRNN `state_dict` (safetensors).
    Noisyrnn(ExportArgs),
}

/// Arguments of `nrnn import noisyrnn`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Their weights: `safetensors.torch.save_file(model.state_dict(), F)`, or an `.npz`
    /// of the same keys.
    #[arg(long)]
    pub weights: PathBuf,
    /// Skew level beta in [0, 1] (driver.py default 0.75).
    #[arg(long, allow_negative_numbers = true)]
    pub beta: Option<f64>,
    /// gamma_A (default 0.001).
    #[arg(
        long = "gamma-a",
        visible_alias = "gamma_A",
        alias = "gamma_a",
        alias = "gamma-A",
        allow_negative_numbers = true
    )]
    pub gamma_a: Option<f64>,
    /// gamma_W (default 0.001).
    #[arg(
        long = "gamma-w",
        visible_alias = "gamma_W",
        alias = "gamma_w",
        alias = "gamma-W",
        allow_negative_numbers = true
    )]
    pub gamma_w: Option<f64>,
    /// alpha, the factor of h A (default 1).
    #[arg(long, allow_negative_numbers = true)]
    pub alpha: Option<f64>,
    /// Their solver: base (step eps, no noise) or noisy (step d, noise) (default noisy).
    #[arg(long)]
    pub solver: Option<String>,
    /// Their step eps (default 0.1).
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// Additive noise level (default 0).
    #[arg(
        long = "add-noise",
        visible_alias = "add_noise",
        allow_negative_numbers = true
    )]
    pub add_noise: Option<f64>,
    /// Multiplicative noise level in [0, 1] (default 0).
    #[arg(
        long = "mult-noise",
        visible_alias = "mult_noise",
        allow_negative_numbers = true
    )]
    pub mult_noise: Option<f64>,
    /// Output model file (nrnn-model/1 JSON, written atomically).
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `nrnn export noisyrnn`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Model file (nrnn-model/1).
    #[arg(long)]
    pub model: PathBuf,
    /// Output safetensors file (written atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Element type: f32 (PyTorch's default) or f64 (exact).
    #[arg(long, default_value = "f32")]
    pub dtype: String,
}

/// The hyper-parameters of `args`, over the file's metadata, over the defaults.
pub fn hyper_of(
    args: &ImportArgs,
    meta: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<Hyper> {
    let mut h = Hyper::default()
        .with_metadata(meta)
        .context("the weights file's metadata")?;
    let set = |slot: &mut f64, v: Option<f64>| {
        if let Some(v) = v {
            *slot = v;
        }
    };
    set(&mut h.beta, args.beta);
    set(&mut h.gamma_a, args.gamma_a);
    set(&mut h.gamma_w, args.gamma_w);
    set(&mut h.alpha, args.alpha);
    set(&mut h.eps, args.eps);
    set(&mut h.add_noise, args.add_noise);
    set(&mut h.mult_noise, args.mult_noise);
    if let Some(s) = &args.solver {
        h.solver = Solver::parse(s)?;
    }
    Ok(h)
}

/// Run `nrnn import ...`.
pub fn run_import(cmd: ImportCmd) -> anyhow::Result<()> {
    let ImportCmd::Noisyrnn(args) = cmd;
    super::check_output_not_input(("--out", &args.out), &[("--weights", Some(&args.weights))])?;
    let (tensors, meta) = crate::interop::read_tensors(&args.weights)
        .with_context(|| format!("reading the weights {}", args.weights.display()))?;
    let h = hyper_of(&args, &meta)?;
    let (model, notes) = noisyrnn::import(&tensors, &h)
        .with_context(|| format!("importing {}", args.weights.display()))?;
    model.save(&args.out)?;
    let c = &model.config;
    let rep = json!({
        "model": args.out.display().to_string(),
        "hidden": c.hidden, "input": c.input, "classes": c.classes,
        "solver": h.solver.name(),
        "noise": {"form": c.noise.form.name(), "eps": c.noise.eps,
                  "sigma1": c.noise.sigma1, "sigma2": c.noise.sigma2},
        "notes": notes.notes,
    });
    outln!("{}", serde_json::to_string_pretty(&rep)?);
    Ok(())
}

/// Run `nrnn export ...`: writes the weights and prints their constructor's keyword
/// arguments.
pub fn run_export(cmd: ExportCmd) -> anyhow::Result<()> {
    let ExportCmd::Noisyrnn(args) = cmd;
    super::check_output_not_input(("--out", &args.out), &[("--model", Some(&args.model))])?;
    let dtype = FloatType::parse(&args.dtype)?;
    let model = Model::load(&args.model).context("model file")?;
    let (tensors, h) = noisyrnn::export(&model)?;
    crate::interop::write_safetensors(&args.out, &tensors, dtype, &h.to_metadata())?;
    let c = &model.config;
    let rep = json!({
        "weights": args.out.display().to_string(),
        "constructor": {
            "input_dim": c.input, "output_classes": c.classes, "n_units": c.hidden,
            "eps": h.eps, "beta": h.beta, "gamma_A": h.gamma_a, "gamma_W": h.gamma_w,
            "alpha": h.alpha, "solver": h.solver.name(),
            "add_noise": h.add_noise, "mult_noise": h.mult_noise,
        },
    });
    outln!("{}", serde_json::to_string_pretty(&rep)?);
    Ok(())
}

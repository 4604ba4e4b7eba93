//! `nrnn hessian`: curvature of the training loss of a model on labelled inputs (noise off).
//!
//! Prints (with `--json`; `--out FILE` also writes it)
//!
//! ```text
//! {"model": path, "data": name, "split": {..} | null, "examples": B, "parameters": N, "loss": .., "grad_norm": ..,
//!  "top_eigenvalues": [largest algebraic first], "residuals": [||H v - lambda v||],
//!  "lanczos": {"iterations", "converged", "products", "restarts"},
//!  "hvp_count": Hessian-vector products used in total,
//!  "trace": {"mean", "stderr", "probes"},
//!  "hidden_state": {"top": [..], "residuals": [..], "exact_top": [..],
//!                   "trace": {"mean", "stderr", "exact"}, "per_example_top": {"mean", "stderr"}},
//!  "power": {"values", "residuals", "products", "converged"}          (with --power)
//!  "density": {"grid", "values", "stderr", "sigma", "probes", "steps"} (with --density)
//!  "timing": {"gradient_seconds", "hvp_seconds", "ratio"}}
//! ```
//!
//! The Hessian is that of the mean loss (cross-entropy for labels, squared error for
//! targets) in all trainable parameters, applied by exact Hessian-vector products; the
//! hidden-state Hessian is `V^T Hess_o l V` at the final deterministic state, averaged over
//! examples. Every random draw comes from `--seed`.

use super::eval::check_fit;
use super::fmt::{num, pm, sig};
use crate::hessian::{analyze, HessianOptions, HessianReport, ParamHessian, SlqOptions};
use crate::json::finite_or_null;
use crate::loss::Loss;
use serde_json::{json, Value};

/// Full-batch gradient norm above which `nrnn hessian` notes that the model is not at a
/// minimum of the loss (its Hessian is then not the curvature of a minimum).
pub const GRAD_NORM_AT_MINIMUM: f64 = 1e-2;

/// Arguments of `nrnn hessian`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model and its inputs.
    #[command(flatten)]
    pub source: super::ModelInputs,
    /// Number of top eigenvalues (Lanczos, largest first, repeated ones with their
    /// multiplicity).
    #[arg(long, default_value_t = 5)]
    pub top_k: usize,
    /// Hutchinson probes for the trace (at least 2).
    #[arg(long, default_value_t = 50)]
    pub trace_probes: usize,
    /// Largest Krylov dimension of each Lanczos run (the first and every deflated restart).
    #[arg(long, default_value_t = 300)]
    pub lanczos_steps: usize,
    /// Relative residual tolerance of the Lanczos run, in (0, 1).
    #[arg(long, default_value_t = 1e-8)]
    pub tol: f64,
    /// Also run power iteration with deflation (for comparison). It ranks eigenvalues by
    /// magnitude, Lanczos by value: a negative eigenvalue of large magnitude is among its top
    /// k and not among Lanczos's (the same set at a minimum with small negative eigenvalues).
    #[arg(long)]
    pub power: bool,
    /// Also estimate the spectral density (stochastic Lanczos quadrature).
    #[arg(long)]
    pub density: bool,
    /// Probes of the density.
    #[arg(long, default_value_t = 10)]
    pub density_probes: usize,
    /// Lanczos steps per density probe.
    #[arg(long, default_value_t = 80)]
    pub density_steps: usize,
    /// Gaussian width of the density (default: 1% of the spectrum's range).
    #[arg(long)]
    pub sigma: Option<f64>,
    /// Seed of every random draw (synthetic data sets: `--split-seed`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// `--json` and `--out`.
    #[command(flatten)]
    pub report: super::ReportFlags,
}

/// The analysis settings of the command line.
fn options(args: &Args) -> HessianOptions {
    let mut opts = HessianOptions::new(args.top_k, args.trace_probes, args.seed);
    opts.lanczos_max_iter = args.lanczos_steps;
    opts.lanczos_tol = args.tol;
    opts.power = args.power;
    if args.density {
        opts.density = Some(SlqOptions {
            probes: args.density_probes,
            steps: args.density_steps,
            sigma: args.sigma,
            seed: args.seed,
            ..SlqOptions::new()
        });
    }
    opts
}

/// Timings of one gradient and one Hessian-vector product, seconds.
struct Timing {
    gradient: f64,
    hvp: f64,
}

/// Run `nrnn hessian`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (model, src) = args.source.open(args.report.out.as_deref())?;
    let (d, labeled) = (&src.dataset, src.labeled);
    if !labeled {
        anyhow::bail!(
            "the Hessian of the training loss needs labels or targets in the inputs file"
        );
    }
    check_fit(&model, d, true)?;
    super::eval::checked_logits(&model, d)?;
    let batch = d.all();
    let loss = Loss::for_target(&batch.target);
    let opts = options(&args);
    let mut progress = super::progress::Phases::new("hessian", 2);
    progress.phase(if args.density {
        "Lanczos, Hutchinson trace, spectral density"
    } else {
        "Lanczos, Hutchinson trace"
    });
    let r = analyze(&model, &batch, loss, &opts)?;
    progress.phase("timing a Hessian-vector product");
    let op = ParamHessian::new(&model, &batch, loss)?;
    let (gradient, hvp) = op.time_ratio(1);
    let timing = Timing { gradient, hvp };
    drop(progress);
    let out = report_json(&args, &src, &r, &timing);
    if args.report.emit(&out)? {
        return Ok(());
    }
    super::print_header(&args.source.model, &model, &src, 12)?;
    print_report(&r, &timing)
}

/// The JSON report (module docs).
fn report_json(args: &Args, src: &super::input::Source, r: &HessianReport, t: &Timing) -> Value {
    let h = &r.hidden;
    let mut out = json!({
        "model": args.source.model.display().to_string(),
        "data": src.dataset.name,
        "split": src.split_json(),
        "examples": r.examples,
        "parameters": r.dim,
        "loss": r.loss,
        "grad_norm": r.grad_norm,
        "top_eigenvalues": r.top.values,
        "residuals": r.top.residuals,
        "lanczos": {"iterations": r.top.iterations, "converged": r.top.converged, "products": r.top.products, "restarts": r.top.restarts},
        "hvp_count": r.hvp_count,
        "trace": {"mean": r.trace.mean, "stderr": r.trace.stderr, "probes": r.trace.probes},
        "hidden_state": {
            "top": h.top.values,
            "residuals": h.top.residuals,
            "exact_top": h.exact_top,
            "trace": {"mean": h.trace.mean, "stderr": h.trace.stderr, "exact": h.exact_trace},
            "per_example_top": {"mean": h.per_example_top_mean, "stderr": h.per_example_top_stderr},
        },
        "timing": {"gradient_seconds": t.gradient, "hvp_seconds": t.hvp, "ratio": t.hvp / t.gradient},
    });
    if let Some(p) = &r.power {
        out["power"] = json!({"values": p.values, "residuals": p.residuals, "products": p.products, "converged": p.converged});
    }
    if let Some(dn) = &r.density {
        out["density"] = json!({
            "grid": dn.grid,
            "values": dn.values.iter().map(|&v| finite_or_null(v)).collect::<Vec<_>>(),
            "stderr": dn.stderr,
            "sigma": dn.sigma,
            "probes": dn.nodes.len(),
            "steps": args.density_steps,
        });
    }
    out
}

/// Eigenvalues with their residuals, one per line.
fn print_eigenpairs(values: &[f64], residuals: &[f64]) -> anyhow::Result<()> {
    for (i, (v, res)) in values.iter().zip(residuals).enumerate() {
        outln!(
            "  {:>2}  {:>10}   residual {}",
            i + 1,
            num(*v),
            sig(*res, 2)
        );
    }
    Ok(())
}

/// The text report.
fn print_report(r: &HessianReport, t: &Timing) -> anyhow::Result<()> {
    let h = &r.hidden;
    outln!(
        "parameters  {}   loss {}   |grad| {}",
        r.dim,
        num(r.loss),
        num(r.grad_norm)
    );
    if r.grad_norm > GRAD_NORM_AT_MINIMUM {
        outln!(
            "note        |grad| {} > {} (GRAD_NORM_AT_MINIMUM): the model is not at a minimum of this loss, \
             so this is the curvature of a slope, not of a minimum (its flatness measures assume one)",
            num(r.grad_norm),
            num(GRAD_NORM_AT_MINIMUM)
        );
    }
    outln!(
        "top eigenvalues of the parameter Hessian (Lanczos, {} steps, {} deflated restarts{}):",
        r.top.iterations,
        r.top.restarts,
        if r.top.converged {
            ""
        } else {
            ", NOT converged"
        }
    );
    print_eigenpairs(&r.top.values, &r.top.residuals)?;
    if let Some(p) = &r.power {
        outln!(
            "power iteration ({} products{}):",
            p.products,
            if p.converged { "" } else { ", NOT converged" }
        );
        print_eigenpairs(&p.values, &p.residuals)?;
    }
    outln!(
        "trace       {} (Hutchinson, {} probes)",
        pm(r.trace.mean, Some(r.trace.stderr), "fewer than 2 probes"),
        r.trace.probes
    );
    outln!(
        "hidden-state Hessian: top {} (exact {}), trace {} (exact), per-example top {}",
        num(h.top.values[0]),
        num(h.exact_top[0]),
        num(h.exact_trace),
        pm(
            h.per_example_top_mean,
            Some(h.per_example_top_stderr),
            "one example"
        )
    );
    if let Some(dn) = &r.density {
        outln!(
            "density     {} grid points, width {}, mass {}, nodes in [{}, {}]",
            dn.grid.len(),
            num(dn.sigma),
            sig(dn.integral(), 6),
            num(dn
                .nodes
                .iter()
                .flatten()
                .fold(f64::INFINITY, |a, &b| a.min(b))),
            num(dn
                .nodes
                .iter()
                .flatten()
                .fold(f64::NEG_INFINITY, |a, &b| a.max(b)))
        );
    }
    outln!(
        "products    {} Hessian-vector products; one costs {} gradients ({} s vs {} s)",
        r.hvp_count,
        sig(t.hvp / t.gradient, 3),
        sig(t.hvp, 3),
        sig(t.gradient, 3)
    );
    outln!("(--json prints every number; --density adds the spectral density)");
    Ok(())
}

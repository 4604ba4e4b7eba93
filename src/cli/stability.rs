//! `nrnn stability`: the stability conditions of a model and its measured exponents side
//! by side (docs/theory.md section 4).
//!
//! ```text
//! nrnn stability --model M [--inputs X] [--eps E] [--steps N] [--transient N0] [--paths P]
//!                [--seed S] [--h0-scale s] [--json]
//! ```
//! Prints `lambda_max(A_sym)`, `||W||_2`, `kappa`, the deterministic verdict (`kappa < 0`:
//! globally exponentially stable), the stochastic a.s. bound for the model's noise form,
//! the mean-square bound, the smallest `sigma2` the bound certifies as stabilizing, and the
//! measured top Lyapunov exponent of the deterministic network (one path) and of the noisy
//! one (mean and standard error over `P` paths), plus finite-time exponents of
//! `|h_t - h'_t|` from pairs of runs sharing input and noise. Noise form, `sigma1`,
//! `sigma2` come from the model file, `--eps` overrides its `eps`. Input: zero, or the first
//! example of `--inputs` (cycled).

use super::lyapunov::{load, noise_of};
use crate::dynamics::{
    pair_separation, spectrum, Conditions, Dynamics, LyapunovOptions, PairOptions,
};
use crate::model::NoiseSpec;
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `nrnn stability`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file (`nrnn-model/1` JSON).
    #[arg(long)]
    pub model: PathBuf,
    /// Input sequences (`nrnn-inputs/1`); the first example drives the dynamics, cycled.
    /// Default: zero input.
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// Noise level eps, overriding the model file's.
    #[arg(long, allow_hyphen_values = true)]
    pub eps: Option<f64>,
    /// Steps over which exponents are measured.
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    /// Transient steps, discarded.
    #[arg(long, default_value_t = 2_000)]
    pub transient: usize,
    /// Noise paths for the noisy exponent (>= 2 for a standard error over paths).
    #[arg(long, default_value_t = 8)]
    pub paths: usize,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Initial state `h_0 ~ N(0, s^2 I)` of the tangent runs and of the first state of each
    /// pair (default 0: `h_0 = 0`, a fixed point when the input is zero and `b = 0`).
    #[arg(long, default_value_t = 0.0)]
    pub h0_scale: f64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn opt(v: Option<f64>) -> String {
    v.map_or("none".to_string(), |x| format!("{x:.6}"))
}

/// Run `nrnn stability`.
pub fn run(args: Args) -> anyhow::Result<()> {
    crate::dynamics::lyapunov::check_work(args.steps, args.transient, args.paths)?;
    let t0 = std::time::Instant::now();
    let l = load(&args.model, args.inputs.as_deref())?;
    let noise = noise_of(&l.model, args.eps)?;
    let c = Conditions::of(&l.model, Some(noise.eps))?;
    let inputs = l.inputs.as_deref();
    let det = Dynamics::new(&l.model, inputs, NoiseSpec::off())?;
    let sto = Dynamics::new(&l.model, inputs, noise)?;
    let mut o = LyapunovOptions::new(1, args.steps);
    o.transient = args.transient;
    o.seed = args.seed;
    o.h0 = super::lyapunov::initial_state(c.hidden, args.h0_scale, args.seed)?;
    let sd = spectrum(&det, &o)?;
    o.paths = args.paths;
    let sn = spectrum(&sto, &o)?;
    let mut po = PairOptions::new(args.transient + args.steps, 1);
    po.seed = args.seed;
    po.h0_scale = args.h0_scale;
    let pd = pair_separation(&det, &po)?;
    po.paths = args.paths;
    let pn = pair_separation(&sto, &po)?;
    let seconds = t0.elapsed().as_secs_f64();
    if args.json {
        let out = json!({
            "lambda_max_a_sym": c.lambda_max_a_sym,
            "w_norm": c.w_norm,
            "kappa": c.kappa,
            "deterministic_stable": c.deterministic_stable,
            "stochastic_bound": c.stochastic_bound,
            "mean_square_bound": c.mean_square_bound,
            "lyapunov": {
                "deterministic": sd.exponents[0],
                "noisy": {"mean": sn.exponents[0], "stderr": sn.stderr[0]},
            },
            "conditions": c,
            "finite_time_pairs": {
                "separation": po.separation,
                "steps": po.steps,
                "deterministic": pd.exponent,
                "noisy": pn.exponent,
            },
            "lyapunov_details": {
                "deterministic_stderr": sd.stderr[0],
                "deterministic_stderr_method": sd.stderr_method,
                "noisy_stderr_method": sn.stderr_method,
                "steps": args.steps,
                "transient": args.transient,
                "paths": args.paths,
                "seed": args.seed,
                "h0_scale": args.h0_scale,
                "time_unit": sd.time_unit,
            },
            "input": l.input_note,
            "seconds": seconds,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let nz = &c.noise;
    outln!(
        "Stability of {} (hidden {}, time unit {}; noise {} eps {} sigma1 {} sigma2 {}; {})",
        args.model.display(),
        c.hidden,
        c.time_unit,
        nz.form.name(),
        nz.eps,
        nz.sigma1,
        nz.sigma2,
        l.input_note
    );
    let rows: Vec<(&str, String)> = vec![
        ("lambda_max(A_sym)", format!("{:.6}", c.lambda_max_a_sym)),
        ("||W||_2", format!("{:.6}", c.w_norm)),
        (
            "kappa = lambda_max(A_sym) + L_a ||W||",
            format!("{:.6}", c.kappa),
        ),
        (
            "kappa in the step-weighted norm",
            format!("{:.6}", c.kappa_eff),
        ),
        (
            "deterministic verdict",
            if c.deterministic_stable {
                "globally exponentially stable (kappa < 0)".to_string()
            } else {
                "not certified (kappa >= 0)".to_string()
            },
        ),
        (
            "stochastic a.s. bound",
            format!("{:.6}", c.stochastic_bound),
        ),
        ("mean-square bound", format!("{:.6}", c.mean_square_bound)),
        (
            "smallest stabilizing sigma2 (bound)",
            opt(c.stabilizing_sigma2),
        ),
        (
            "||Phi(t, s)|| <=",
            format!(
                "{:.4} exp({:.4} (t - s))",
                c.log_phi_norm_bound(0.0).exp(),
                c.kappa_eff
            ),
        ),
        (
            "top exponent, deterministic",
            format!(
                "{:.6} +- {:.1e} ({})",
                sd.exponents[0], sd.stderr[0], sd.stderr_method
            ),
        ),
        (
            "top exponent, noisy",
            format!(
                "{:.6} +- {:.1e} ({})",
                sn.exponents[0], sn.stderr[0], sn.stderr_method
            ),
        ),
        (
            "finite-time |h-h'| exponent, deterministic",
            format!("{:.6}", pd.exponent.mean),
        ),
        (
            "finite-time |h-h'| exponent, noisy",
            format!(
                "{:.6} +- {}",
                pn.exponent.mean,
                pn.exponent
                    .stderr
                    .map_or("n/a".into(), |e| format!("{e:.1e}"))
            ),
        ),
    ];
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (k, v) in rows {
        outln!("  {k:<w$}  {v}");
    }
    outln!(
        "  ({} steps after {} transient; {:.2} s)",
        args.steps,
        args.transient,
        seconds
    );
    Ok(())
}

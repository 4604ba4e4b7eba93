//! `nrnn stability`: the stability conditions of a model and its measured exponents side
//! by side (docs/theory.md section 4).
//!
//! ```text
//! nrnn stability --model M [--inputs X | --data NAME [--split S]] [--eps E] [--steps N] [--transient N0] [--paths P]
//!                [--seed S] [--h0-scale s] [--json]
//! ```
//! Prints `lambda_max(A_sym)`, `||W||_2`, `kappa`, the deterministic verdict (`kappa < 0`:
//! globally exponentially stable), the stochastic a.s. bound for the model's noise form,
//! the mean-square bound, the smallest `sigma2` the bound certifies as stabilizing, and the
//! measured top Lyapunov exponent of the deterministic network (one path) and of the noisy
//! one (mean and standard error over `P` paths), plus finite-time exponents of
//! `|h_t - h'_t|` from pairs of runs sharing input and noise. Noise form, `sigma1`,
//! `sigma2` come from the model file, `--eps` overrides its `eps`. Input: zero, or the first
//! example of `--inputs` or `--data` (cycled). The default transient is
//! [`super::lyapunov::DEFAULT_TRANSIENT`] steps, the same as `nrnn lyapunov`'s.

use super::fmt::{num, pm, sig};
use super::lyapunov::Loaded;
use crate::dynamics::{
    pair_separation, spectrum, Conditions, Dynamics, LyapunovOptions, PairOptions, PairRun,
    Spectrum,
};
use crate::json::finite_or_null;
use crate::model::NoiseSpec;
use serde_json::json;

/// Arguments of `nrnn stability`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The model, its input and its noise level.
    #[command(flatten)]
    pub system: super::lyapunov::SystemArgs,
    /// Steps over which exponents are measured.
    #[arg(long, default_value_t = 20_000)]
    pub steps: usize,
    /// Transient steps, discarded (the same default as `nrnn lyapunov`; before 0.4: 2000).
    #[arg(long, default_value_t = super::lyapunov::DEFAULT_TRANSIENT)]
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

/// The smallest stabilizing `sigma2` of the bound, or `none` and why no level is certified
/// (see [`Conditions::stabilizing_sigma2`]).
fn stabilizing(c: &Conditions) -> String {
    if let Some(s) = c.stabilizing_sigma2 {
        return if s == 0.0 {
            "0 (kappa < 0: stable without noise)".to_string()
        } else {
            num(s)
        };
    }
    let why = if c.noise.form == crate::model::NoiseForm::Code {
        "the code form's bound (1 - eps sigma2 / 2) kappa certifies no level while kappa >= 0"
            .to_string()
    } else if c.noise.eps == 0.0 {
        "eps = 0: without noise sigma2 has no effect, and kappa >= 0".to_string()
    } else if c.noise.form == crate::model::NoiseForm::Scalar {
        format!(
            "kappa >= 0 and the bound does not fall as sigma2 grows: for the scalar form that needs the \
             smallest step rate ({}) above half the largest ({})",
            num(c.rate_min),
            num(c.rate_max)
        )
    } else {
        format!(
            "kappa >= 0 and the bound does not fall as sigma2 grows: for the {} form that needs the \
             smallest step rate over the {} units ({} / {} = {}) above half the largest ({} / 2)",
            c.noise.form.name(),
            c.hidden,
            num(c.rate_min),
            c.hidden,
            num(c.rate_min / c.hidden as f64),
            num(c.rate_max)
        )
    };
    format!("none: {why}")
}

/// What `nrnn stability` measures: the conditions, the top exponents and the finite-time
/// pair-separation exponents of the deterministic and the noisy system.
struct Measured {
    c: Conditions,
    sd: Spectrum,
    sn: Spectrum,
    po: PairOptions,
    pd: PairRun,
    pn: PairRun,
    input_note: String,
    seconds: f64,
}

/// The measurements of `nrnn stability`, with progress by phase.
fn measure(args: &Args) -> anyhow::Result<Measured> {
    crate::dynamics::lyapunov::check_work(args.steps, args.transient, args.paths)?;
    let t0 = std::time::Instant::now();
    let (l, noise): (Loaded, _) = args.system.load()?;
    let c = Conditions::of(&l.model, Some(noise.eps))?;
    let inputs = l.inputs.as_deref();
    let det = Dynamics::new(&l.model, inputs, NoiseSpec::off())?;
    let sto = Dynamics::new(&l.model, inputs, noise)?;
    let mut o = LyapunovOptions::new(1, args.steps);
    o.transient = args.transient;
    o.seed = args.seed;
    o.h0 = super::lyapunov::initial_state(c.hidden, args.h0_scale, args.seed)?;
    let mut progress = super::progress::Phases::new("stability", 4);
    progress.phase("deterministic top exponent");
    let sd = spectrum(&det, &o)?;
    progress.phase(&format!("noisy top exponent ({} paths)", args.paths));
    o.paths = args.paths;
    let sn = spectrum(&sto, &o)?;
    let mut po = PairOptions::new(args.transient + args.steps, 1);
    po.seed = args.seed;
    po.h0_scale = args.h0_scale;
    progress.phase("deterministic pair separation");
    let pd = pair_separation(&det, &po)?;
    progress.phase(&format!("noisy pair separation ({} paths)", args.paths));
    po.paths = args.paths;
    let pn = pair_separation(&sto, &po)?;
    drop(progress);
    Ok(Measured {
        c,
        sd,
        sn,
        po,
        pd,
        pn,
        input_note: l.input_note,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// The JSON report of `nrnn stability --json`.
fn json_report(args: &Args, m: &Measured) -> serde_json::Value {
    json!({
        "lambda_max_a_sym": m.c.lambda_max_a_sym,
        "w_norm": m.c.w_norm,
        "kappa": m.c.kappa,
        "deterministic_stable": m.c.deterministic_stable,
        "stochastic_bound": m.c.stochastic_bound,
        "mean_square_bound": m.c.mean_square_bound,
        "lyapunov": {
            "deterministic": {"mean": m.sd.exponents[0], "stderr": finite_or_null(m.sd.stderr[0]), "stderr_method": m.sd.stderr_method},
            "noisy": {"mean": m.sn.exponents[0], "stderr": finite_or_null(m.sn.stderr[0]), "stderr_method": m.sn.stderr_method},
        },
        "conditions": m.c,
        "finite_time_pairs": {
            "separation": m.po.separation,
            "total_steps": m.po.steps,
            "deterministic": m.pd.exponent,
            "noisy": m.pn.exponent,
        },
        "lyapunov_details": {
            "steps": args.steps,
            "transient": args.transient,
            "paths": args.paths,
            "seed": args.seed,
            "h0_scale": args.h0_scale,
            "time_unit": m.sd.time_unit,
        },
        "input": m.input_note,
        "seconds": m.seconds,
    })
}

/// The readable report of `nrnn stability`.
fn print_report(args: &Args, m: &Measured) -> anyhow::Result<()> {
    let nz = &m.c.noise;
    outln!(
        "Stability of {} (hidden {}, time unit {}; noise {} eps {} sigma1 {} sigma2 {}; {})",
        args.system.model.display(),
        m.c.hidden,
        m.c.time_unit,
        nz.form.name(),
        nz.eps,
        nz.sigma1,
        nz.sigma2,
        m.input_note
    );
    let rows: Vec<(&str, String)> = vec![
        ("lambda_max(A_sym)", num(m.c.lambda_max_a_sym)),
        ("||W||_2", num(m.c.w_norm)),
        ("kappa = lambda_max(A_sym) + L_a ||W||", num(m.c.kappa)),
        ("kappa in the step-weighted norm", num(m.c.kappa_eff)),
        (
            "deterministic verdict",
            if m.c.deterministic_stable {
                "globally exponentially stable (kappa < 0)".to_string()
            } else {
                "not certified (kappa >= 0)".to_string()
            },
        ),
        ("stochastic a.s. bound", num(m.c.stochastic_bound)),
        ("mean-square bound", num(m.c.mean_square_bound)),
        ("smallest stabilizing sigma2 (bound)", stabilizing(&m.c)),
        (
            "||Phi(t, s)|| <=",
            format!(
                "{} exp({} (t - s))",
                num(m.c.log_phi_norm_bound(0.0).exp()),
                num(m.c.kappa_eff)
            ),
        ),
        (
            "top exponent, deterministic",
            format!(
                "{} ({})",
                pm(m.sd.exponents[0], Some(m.sd.stderr[0]), "too few batches"),
                m.sd.stderr_method
            ),
        ),
        (
            "top exponent, noisy",
            format!(
                "{} ({})",
                pm(
                    m.sn.exponents[0],
                    Some(m.sn.stderr[0]),
                    "too few paths or batches"
                ),
                m.sn.stderr_method
            ),
        ),
        (
            "finite-time |h-h'| exponent, deterministic",
            num(m.pd.exponent.mean),
        ),
        (
            "finite-time |h-h'| exponent, noisy",
            pm(m.pn.exponent.mean, m.pn.exponent.stderr, "one path"),
        ),
    ];
    let w = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    for (k, v) in rows {
        outln!("  {k:<w$}  {v}");
    }
    outln!(
        "  ({} steps after {} transient; {} s)",
        args.steps,
        args.transient,
        sig(m.seconds, 3)
    );
    Ok(())
}

/// Run `nrnn stability`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let m = measure(&args)?;
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&json_report(&args, &m))?);
        return Ok(());
    }
    print_report(&args, &m)
}

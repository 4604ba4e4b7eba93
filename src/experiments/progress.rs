//! The progress of a `reproduce` run in its output directory: which experiments are
//! finished, keyed by profile, seed count, base seed and build, so that an interrupted run
//! skips the experiments it had finished. (Finished pieces, the trained models inside the
//! experiments, are the files of the piece store, [`super::pieces`], not records here.)

use super::{Ctx, Profile};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Name of the progress file inside the output directory.
pub const PROGRESS_FILE: &str = ".nrnn-progress.json";

/// What one finished experiment took.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    /// Experiment name.
    pub name: String,
    /// Wall time in seconds.
    pub wall_seconds: f64,
}

/// The progress of a run in its output directory: which experiments are finished, for
/// one run key (profile, seeds, base seed and the build fingerprint). Only the process
/// that builds the figures writes it (shards write pieces only).
///
/// ```
/// use nrnn::experiments::progress::Progress;
/// use nrnn::experiments::Profile;
/// let dir = tempfile::tempdir().unwrap();
/// let mut p = Progress::begin(dir.path(), Profile::Smoke, 2, 0, false).unwrap();
/// p.mark_experiment("regularizer", 1.5).unwrap();
/// let again = Progress::begin(dir.path(), Profile::Smoke, 2, 0, false).unwrap();
/// assert!(again.experiment_done("regularizer"));
/// let other = Progress::begin(dir.path(), Profile::Smoke, 3, 0, false).unwrap();
/// assert!(!other.experiment_done("regularizer"));
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
/// let f = nrnn::experiments::progress::build_fingerprint();
/// assert_eq!(f, nrnn::experiments::progress::build_fingerprint());
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
        crate::io::write_json_atomic(&self.path, self)
    }

    /// Whether the experiment `name` is finished.
    pub fn experiment_done(&self, name: &str) -> bool {
        self.experiments.iter().any(|f| f.name == name)
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

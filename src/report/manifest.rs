//! Run manifests: one JSON file next to each figure that says what was run, how, on
//! which code, and which numbers the figure shows.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// What produced a figure. Written as pretty JSON by [`Manifest::write`].
///
/// ```
/// use nrnn::report::manifest::Manifest;
/// let dir = tempfile::tempdir().unwrap();
/// let t0 = std::time::Instant::now();
/// let mut m = Manifest::new("fig1", "noise regularizes", "nrnn fig1 --profile quick");
/// m.profile = "quick".into();
/// m.seeds = vec![0, 1, 2];
/// m.summary = serde_json::json!({ "slope": 1.02 });
/// m.finish(t0);
/// m.write(&dir.path().join("fig1.json")).unwrap();
/// let back = Manifest::read(&dir.path().join("fig1.json")).unwrap();
/// assert_eq!(back, m);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Figure name, e.g. `fig3_regularizer`.
    pub figure: String,
    /// The claim of the paper the figure checks.
    pub claim: String,
    /// The command line that regenerates the figure.
    pub command: String,
    /// Run profile (e.g. `quick`, `full`).
    pub profile: String,
    /// Random seeds used.
    pub seeds: Vec<u64>,
    /// Full configuration of the run.
    pub config: serde_json::Value,
    /// Version of this crate (`CARGO_PKG_VERSION`).
    pub crate_version: String,
    /// `git rev-parse HEAD` at run time, with `-dirty` if the work tree had changes;
    /// `unknown` when git is not available.
    pub git_revision: String,
    /// Wall-clock duration of the run in seconds.
    pub wall_seconds: f64,
    /// The numbers the figure shows (slopes, accuracies, bounds...).
    pub summary: serde_json::Value,
    /// Creation time, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created: String,
}

impl Manifest {
    /// A manifest with `crate_version`, `git_revision` and `created` filled in, the other
    /// fields empty (`config` and `summary` are empty JSON objects).
    pub fn new(figure: &str, claim: &str, command: &str) -> Self {
        Manifest {
            figure: figure.to_string(),
            claim: claim.to_string(),
            command: command.to_string(),
            profile: String::new(),
            seeds: Vec::new(),
            config: serde_json::json!({}),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: git_revision(),
            wall_seconds: 0.0,
            summary: serde_json::json!({}),
            created: utc_now(),
        }
    }

    /// Set `wall_seconds` to the time elapsed since `start` and refresh `created`.
    pub fn finish(&mut self, start: std::time::Instant) {
        self.wall_seconds = start.elapsed().as_secs_f64();
        self.created = utc_now();
    }

    /// Write the manifest atomically as pretty JSON.
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::io::write_json_atomic(path, self)
    }

    /// Read a manifest written by [`Manifest::write`].
    pub fn read(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }
}

fn git_in(dir: Option<&Path>, args: &[&str]) -> Option<String> {
    let mut cmd = Command::new("git");
    if let Some(d) = dir {
        cmd.arg("-C").arg(d);
    }
    let out = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The git revision of the work tree: `git rev-parse HEAD`, plus `-dirty` when
/// `git status --porcelain` lists changes; tried in the current directory, then in the
/// crate's source directory; `unknown` if git fails in both.
pub fn git_revision() -> String {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in [None, Some(manifest_dir)] {
        if let Some(rev) = git_in(dir, &["rev-parse", "HEAD"]) {
            if rev.is_empty() {
                continue;
            }
            // Dirty means the sources differ from the revision; the generated figures
            // (being written by this very run) do not count.
            let dirty = git_in(
                dir,
                &[
                    "status",
                    "--porcelain",
                    "--",
                    ":(top)",
                    ":(top,exclude)figures",
                ],
            )
            .is_none_or(|s| !s.is_empty());
            return if dirty { format!("{rev}-dirty") } else { rev };
        }
    }
    "unknown".to_string()
}

/// The current time, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_utc(secs)
}

/// Format seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian).
///
/// ```
/// assert_eq!(nrnn::report::manifest::format_utc(0), "1970-01-01T00:00:00Z");
/// assert_eq!(nrnn::report::manifest::format_utc(951_827_696), "2000-02-29T12:34:56Z");
/// ```
pub fn format_utc(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let rem = unix_seconds.rem_euclid(86_400);
    // Civil-from-days (H. Hinnant), valid for the whole i64 day range we need.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

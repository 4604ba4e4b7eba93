//! The trained-model cache shared by the experiments that train models (`hessian` and
//! `margin` share one grid of models; `robustness` trains its own): each model is saved as
//! model JSON `<out>/models/<profile>/<family>/<stem>.json` beside a sidecar record
//! `<stem>.<sidecar>.json` (the training setup and accuracies, or the evaluation results)
//! that says what the model is. Whether a cached model may be reused (the run's progress
//! lists it, its setup is unchanged) is the experiment's decision; the cache only stores
//! and loads.

use super::Ctx;
use crate::error::Result;
use crate::model::Model;
use std::path::PathBuf;

/// One family of cached models: the folder `<out>/models/<profile>/<family>/`.
#[derive(Clone, Debug)]
pub struct ModelCache {
    dir: PathBuf,
}

impl ModelCache {
    /// The cache of `family` in the output directory and profile of `ctx`.
    ///
    /// ```
    /// use nrnn::experiments::{models::ModelCache, Ctx, Profile};
    /// let ctx = Ctx { profile: Profile::Quick, out: "out".into(), seeds: 1, seed: 0,
    ///     replot: false, command: String::new() };
    /// let (m, r) = ModelCache::new(&ctx, "flatness").paths("eps0.000-seed0", "meta");
    /// assert_eq!(m, std::path::Path::new("out/models/quick/flatness/eps0.000-seed0.json"));
    /// assert_eq!(r, std::path::Path::new("out/models/quick/flatness/eps0.000-seed0.meta.json"));
    /// ```
    pub fn new(ctx: &Ctx, family: &str) -> ModelCache {
        ModelCache {
            dir: root(ctx).join(ctx.profile.name()).join(family),
        }
    }

    /// The model file and the sidecar file of `stem`.
    pub fn paths(&self, stem: &str, sidecar: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{stem}.json")),
            self.dir.join(format!("{stem}.{sidecar}.json")),
        )
    }

    /// The cached model of `stem` and its sidecar record, when both are there and load.
    pub fn load<T: serde::de::DeserializeOwned>(
        &self,
        stem: &str,
        sidecar: &str,
    ) -> Option<(Model, T)> {
        let (model, record) = self.paths(stem, sidecar);
        let r: T = serde_json::from_slice(&std::fs::read(record).ok()?).ok()?;
        Some((Model::load(&model).ok()?, r))
    }

    /// Save `model` and its sidecar `record` under `stem` (atomic writes).
    pub fn save<T: serde::Serialize>(
        &self,
        stem: &str,
        sidecar: &str,
        model: &Model,
        record: &T,
    ) -> Result<()> {
        let (mp, rp) = self.paths(stem, sidecar);
        model.save(&mp)?;
        crate::io::write_json_atomic(&rp, record)
    }
}

/// The root of every cache of a run, `<out>/models`.
fn root(ctx: &Ctx) -> PathBuf {
    ctx.out.join("models")
}

/// Create `<out>/models/` with a `.gitignore` that ignores it all: the model cache is a
/// by-product of a run, never a figure.
pub fn keep_out_of_git(ctx: &Ctx) -> Result<()> {
    let dir = root(ctx);
    crate::io::create_dir_all(&dir)?;
    crate::io::write_atomic(&dir.join(".gitignore"), b"*\n")
}

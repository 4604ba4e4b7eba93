//! The figure executor: one trait for a figure ([`Figure`]: name, claim, compute a table,
//! render from the table, verdict from the table) and one owner of the scaffolding every
//! figure shares ([`execute`]): replot from the cached CSVs, CSV writing, PNG rendering,
//! the JSON manifest and the index entry.
//!
//! ```text
//! replot and every CSV present ──> read the CSVs ──┐
//! otherwise ──────────────────────> compute ──> write the CSVs
//!                                                   │
//!                                      render ──> PNGs
//!                                      verdict ──> manifest <name>.json + index entry
//! ```
//!
//! A figure whose verdict needs more than its tables (numbers only the computation has,
//! such as a density's broadening width) says so with [`Figure::judges_replot`] `= false`:
//! its replot redraws the PNGs and leaves the manifest and the index entry as they are.

use super::Ctx;
use crate::error::Result;
use crate::report::index::{Evidence, Verdict};
use crate::report::manifest::Manifest;
use crate::report::table::Table;
use crate::verdict::Judgement;
use std::time::Instant;

/// What a figure computed: its tables, in the order of [`Figure::tables`], and the numbers
/// of the computation that are not in the tables (`Null` after a replot).
#[derive(Clone, Debug)]
pub struct Computed {
    /// The tables, written as `<stem>.csv` for the stems of [`Figure::tables`].
    pub tables: Vec<Table>,
    /// Numbers of the computation kept out of the tables (for the manifest).
    pub extra: serde_json::Value,
}

impl Computed {
    /// One table and no extra numbers.
    pub fn of(table: Table) -> Computed {
        Computed {
            tables: vec![table],
            extra: serde_json::Value::Null,
        }
    }

    /// The first table (the figure's own, `<name>.csv`).
    pub fn table(&self) -> &Table {
        &self.tables[0]
    }
}

/// What the verdict step of a figure hands the executor: the index entry's text and
/// verdict, and the manifest's seeds, configuration and summary.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// What the figure shows, in words (the index entry).
    pub shows: String,
    /// The verdict on the claim.
    pub verdict: Verdict,
    /// The verdict engine's evidence, when the verdict comes from it.
    pub evidence: Option<Evidence>,
    /// Seeds recorded in the manifest.
    pub seeds: Vec<u64>,
    /// The configuration recorded in the manifest.
    pub config: serde_json::Value,
    /// The numbers the figure shows, recorded in the manifest.
    pub summary: serde_json::Value,
}

impl Outcome {
    /// An outcome whose verdict and evidence come from the verdict engine's judgement `j`
    /// (already passed through [`Ctx::judged`]).
    pub fn judged(
        j: &Judgement,
        shows: String,
        seeds: Vec<u64>,
        config: serde_json::Value,
        summary: serde_json::Value,
    ) -> Outcome {
        Outcome {
            shows,
            verdict: j.verdict,
            evidence: Some(Evidence::of(j)),
            seeds,
            config,
            summary,
        }
    }

    /// An outcome with a verdict of its own (no verdict-engine evidence), made from the
    /// base seed of `ctx`.
    pub fn plain(
        ctx: &Ctx,
        shows: String,
        verdict: Verdict,
        config: serde_json::Value,
        summary: serde_json::Value,
    ) -> Outcome {
        Outcome {
            shows,
            verdict,
            evidence: None,
            seeds: vec![ctx.seed],
            config,
            summary,
        }
    }
}

/// One figure: a name (the stem of its CSV, manifest and index entry), the claim it
/// checks, how to compute its tables, how to draw them, and how to judge them.
pub trait Figure {
    /// The figure's name: `<name>.csv`, `<name>.json`, index entry `<name>`.
    fn name(&self) -> &str;
    /// The claim the figure checks (manifest and index).
    fn claim(&self) -> &str;
    /// The stems of the CSVs the figure writes, its own (`name`) first.
    fn tables(&self) -> Vec<String> {
        vec![self.name().to_string()]
    }
    /// Compute the tables (in the order of [`Figure::tables`]).
    fn compute(&self, ctx: &Ctx) -> Result<Computed>;
    /// Draw the PNGs from the tables; returns their file names (relative to the output).
    fn render(&self, ctx: &Ctx, c: &Computed) -> Result<Vec<String>>;
    /// Judge the claim from the tables.
    fn verdict(&self, ctx: &Ctx, c: &Computed) -> Result<Outcome>;
    /// Whether a replot from the cached CSVs also rewrites the manifest and the index
    /// entry (the verdict can be rebuilt from the tables alone). Default: yes.
    fn judges_replot(&self) -> bool {
        true
    }
}

/// The cached tables of `fig` when the run replots and every one of its CSVs exists.
fn cached(ctx: &Ctx, fig: &dyn Figure) -> Result<Option<Computed>> {
    let paths: Vec<_> = fig
        .tables()
        .iter()
        .map(|s| ctx.out.join(format!("{s}.csv")))
        .collect();
    if !ctx.replot || !paths.iter().all(|p| p.is_file()) {
        return Ok(None);
    }
    Ok(Some(Computed {
        tables: paths
            .iter()
            .map(|p| Table::read(p))
            .collect::<Result<_>>()?,
        extra: serde_json::Value::Null,
    }))
}

/// Run one figure with `ctx`: read its tables from the CSVs (replot) or compute and write
/// them, draw its PNGs, then write its manifest `<name>.json` (wall time since `t0`) and
/// its index entry (unless a replot of a figure that does not judge on replot). Returns
/// the tables, for figures that build on them.
pub fn execute(ctx: &Ctx, fig: &dyn Figure, t0: Instant) -> Result<Computed> {
    let (c, replotted) = match cached(ctx, fig)? {
        Some(c) => (c, true),
        None => {
            let c = fig.compute(ctx)?;
            for (stem, t) in fig.tables().iter().zip(&c.tables) {
                t.write(&ctx.out.join(format!("{stem}.csv")))?;
            }
            (c, false)
        }
    };
    let png = fig.render(ctx, &c)?;
    if replotted && !fig.judges_replot() {
        return Ok(c);
    }
    publish(ctx, fig.name(), fig.claim(), png, fig.verdict(ctx, &c)?, t0)?;
    Ok(c)
}

/// The table `<name>.csv`: read back when the run replots and the file exists, otherwise
/// computed by `compute` and written (the table step of [`execute`], for experiments whose
/// figures share state between their steps).
pub fn table_or(ctx: &Ctx, name: &str, compute: impl FnOnce() -> Result<Table>) -> Result<Table> {
    let path = ctx.out.join(format!("{name}.csv"));
    if ctx.replot && path.exists() {
        return Table::read(&path);
    }
    let t = compute()?;
    t.write(&path)?;
    Ok(t)
}

/// Record a figure's outcome: its manifest `<name>.json` (wall time since `t0`), then its
/// index entry listing the PNGs `png` (the last step of [`execute`]).
pub fn publish(
    ctx: &Ctx,
    name: &str,
    claim: &str,
    png: Vec<String>,
    o: Outcome,
    t0: Instant,
) -> Result<()> {
    write_manifest(ctx, name, claim, o.seeds, o.config, o.summary, t0)?;
    ctx.entry(name, claim, png, o.shows, o.verdict, o.evidence)
}

/// Write the manifest `<name>.json` of a figure: profile, seeds, configuration, summary,
/// and the wall time since `t0`.
pub(crate) fn write_manifest(
    ctx: &Ctx,
    name: &str,
    claim: &str,
    seeds: Vec<u64>,
    config: serde_json::Value,
    summary: serde_json::Value,
    t0: Instant,
) -> Result<()> {
    let mut m = Manifest::new(name, claim, &ctx.command);
    m.profile = ctx.profile.name().to_string();
    m.seeds = seeds;
    m.config = config;
    m.summary = summary;
    m.finish(t0);
    m.write(&ctx.out.join(format!("{name}.json")))
}

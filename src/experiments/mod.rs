//! Experiments: one file (or folder) per figure family. A figure computes its rows into a
//! tidy table, draws its PNGs from the table and judges its claim from the table
//! ([`figure::Figure`]); one executor ([`figure::execute`]) owns what every figure shares:
//! the replot from cached CSVs, the CSV and PNG files, the JSON manifest and the entry in
//! the figure index (`figures/README.md`). `nrnn reproduce` runs them all.

pub mod explicit;
pub mod figure;
pub mod hessian;
pub mod margin;
pub mod pieces;
pub mod progress;
pub mod regularizer;
pub mod robustness;
pub mod stability;

use crate::report::index::{update_index, Evidence, FigureEntry, Verdict};
use crate::report::table::Table;
use crate::verdict::Judgement;
use std::path::PathBuf;

/// How big a run is: `smoke` (seconds to minutes, used by the tests), `quick` (the
/// committed figures, about an hour and a half on 2 cores), `full` (hidden 128, 100 epochs,
/// long sequences), `paper` (the paper's robustness experiments as released: the full
/// MNIST and permuted MNIST in the authors' split, ECG5000, the released runs'
/// per-model hyper-parameters; a cluster's job, see `nrnn reproduce --plan`). Outside the
/// robustness experiment `paper` is `full`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Seconds to minutes; every code path, tiny sizes.
    Smoke,
    /// The committed figures.
    Quick,
    /// Hidden 128, 100 epochs, long sequences.
    Full,
    /// The paper's robustness experiments at the paper's scale and hyper-parameters
    /// (everything else as `full`).
    Paper,
}

impl Profile {
    /// The profile's name.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Smoke => "smoke",
            Profile::Quick => "quick",
            Profile::Full => "full",
            Profile::Paper => "paper",
        }
    }
    /// Pick a value by profile (`paper` takes `full`'s).
    ///
    /// ```
    /// use nrnn::experiments::Profile;
    /// assert_eq!(Profile::Paper.pick(1, 2, 3), 3);
    /// ```
    pub fn pick<T>(self, smoke: T, quick: T, full: T) -> T {
        match self {
            Profile::Smoke => smoke,
            Profile::Quick => quick,
            Profile::Full | Profile::Paper => full,
        }
    }
}

/// What every experiment is given.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Size of the run.
    pub profile: Profile,
    /// Output directory (CSV, PNG, manifests, index).
    pub out: PathBuf,
    /// Number of seeds (models trained per configuration), at least 1.
    pub seeds: usize,
    /// Base seed.
    pub seed: u64,
    /// Redraw from existing CSVs instead of recomputing, where supported.
    pub replot: bool,
    /// The command line that made the run (written to manifests and the index).
    pub command: String,
    /// What to do with the pieces the run needs ([`pieces::PieceMode`]).
    pub pieces: pieces::PieceMode,
}

impl Ctx {
    /// The seeds of this run: `seed + i` for `i < seeds` (at least one).
    ///
    /// ```
    /// let ctx = nrnn::experiments::Ctx { profile: nrnn::experiments::Profile::Smoke,
    ///     out: "x".into(), seeds: 3, seed: 10, replot: false, command: String::new(),
    ///     pieces: Default::default() };
    /// assert_eq!(ctx.seed_list(), [10, 11, 12]);
    /// ```
    pub fn seed_list(&self) -> Vec<u64> {
        (0..self.seeds.max(1) as u64)
            .map(|i| self.seed + i)
            .collect()
    }

    /// A judgement as this run may state it: a smoke run's designs are too small to mean
    /// anything, so its verdicts are `not checked` (numbers kept).
    pub fn judged(&self, j: Judgement) -> Judgement {
        if self.profile == Profile::Smoke {
            j.not_checked()
        } else {
            j
        }
    }

    /// Add (or replace) the index entry of figure `name` judged by the verdict engine:
    /// its verdict and evidence come from `j` (see [`Ctx::judged`]).
    pub fn judged_entry(
        &self,
        name: &str,
        claim: &str,
        png: Vec<String>,
        shows: String,
        j: &Judgement,
    ) -> crate::Result<()> {
        self.entry(name, claim, png, shows, j.verdict, Some(Evidence::of(j)))
    }

    /// The one writer of this run's index entries.
    pub(crate) fn entry(
        &self,
        name: &str,
        claim: &str,
        png: Vec<String>,
        shows: String,
        verdict: Verdict,
        evidence: Option<Evidence>,
    ) -> crate::Result<()> {
        update_index(
            &self.out,
            &FigureEntry {
                name: name.to_string(),
                png,
                csv: format!("{name}.csv"),
                manifest: format!("{name}.json"),
                claim: claim.to_string(),
                command: self.command.clone(),
                shows,
                verdict,
                evidence,
            },
        )
    }
}

/// One value per seed of a tidy table with columns `eps`, `seed`, `measure`, `value`:
/// `f(rows of that seed as (eps, value))` for each seed, in seed order. The per-seed
/// statistics of the verdict engine are built with it.
pub fn per_seed(
    t: &Table,
    measure: &str,
    f: impl Fn(&[(f64, f64)]) -> f64,
) -> crate::Result<Vec<(u64, f64)>> {
    let sub = t.filter_eq("measure", measure)?;
    let [eps, seed, val] = sub.columns_f64(["eps", "seed", "value"])?;
    let mut seeds: Vec<u64> = seed.iter().map(|&s| s as u64).collect();
    seeds.sort_unstable();
    seeds.dedup();
    Ok(seeds
        .into_iter()
        .map(|sd| {
            let rows: Vec<(f64, f64)> = (0..eps.len())
                .filter(|&i| seed[i] as u64 == sd)
                .map(|i| (eps[i], val[i]))
                .collect();
            (sd, f(&rows))
        })
        .collect())
}

/// Per seed, the least-squares slope of `measure` against the training noise eps
/// ([`per_seed`], [`crate::stats::linear_fit`]): the seed-blocked trend statistic.
///
/// ```
/// use nrnn::{report::table::Table, table_row, experiments::{per_seed_slope, per_seed_contrast}};
/// let mut t = Table::new(&["eps", "seed", "measure", "value"]);
/// for (seed, k) in [(3u64, 1.0), (4, -2.0)] {
///     for e in [0.0, 0.1, 0.2] {
///         t.push(table_row![e, seed, "m", 5.0 + k * e]).unwrap();
///         t.push(table_row![e, seed, "other", 0.0]).unwrap();
///     }
/// }
/// let s = per_seed_slope(&t, "m").unwrap();
/// assert_eq!(s.len(), 2);
/// assert!((s[0].1 - 1.0).abs() < 1e-12 && (s[1].1 + 2.0).abs() < 1e-12 && s[1].0 == 4);
/// let c = per_seed_contrast(&t, "m", 0.2, 0.0).unwrap();
/// assert!((c[0].1 - 0.2).abs() < 1e-12);
/// ```
pub fn per_seed_slope(t: &Table, measure: &str) -> crate::Result<Vec<(u64, f64)>> {
    per_seed(t, measure, |rows| {
        let (x, y): (Vec<f64>, Vec<f64>) = rows.iter().copied().unzip();
        crate::stats::linear_fit(&x, &y).slope
    })
}

/// The secondary measures of a trend figure: for each `(measure, what)`, the per-seed
/// slope of `measure` against eps ([`per_seed_slope`]) tested for the sign `predicted`,
/// judged together with Holm's adjustment ([`crate::verdict::secondary`]).
pub fn secondary_slopes(
    t: &Table,
    measures: &[(&str, &str)],
    predicted: crate::verdict::Direction,
) -> crate::Result<Vec<crate::verdict::Secondary>> {
    let items = measures
        .iter()
        .map(|(m, what)| {
            Ok((
                crate::verdict::Test::new(
                    format!("per-seed slope of the {what} against eps"),
                    predicted,
                ),
                per_seed_slope(t, m)?,
            ))
        })
        .collect::<crate::Result<Vec<_>>>()?;
    Ok(crate::verdict::secondary(&items))
}

/// Per seed, `measure` at noise level `hi` minus `measure` at `lo` (NaN when a level is
/// missing): the paired contrast of two trained models of one seed.
pub fn per_seed_contrast(
    t: &Table,
    measure: &str,
    hi: f64,
    lo: f64,
) -> crate::Result<Vec<(u64, f64)>> {
    per_seed(t, measure, |rows| {
        let at = |e: f64| rows.iter().find(|r| r.0 == e).map_or(f64::NAN, |r| r.1);
        at(hi) - at(lo)
    })
}

/// An experiment: a name and the function that runs it.
pub struct Experiment {
    /// Name used by `nrnn reproduce --only NAME`.
    pub name: &'static str,
    /// What it checks, in one line.
    pub about: &'static str,
    /// Run it.
    pub run: fn(&Ctx) -> crate::Result<()>,
}

/// Every experiment, in the order `nrnn reproduce` runs them.
pub fn all() -> Vec<Experiment> {
    vec![
        Experiment {
            name: "regularizer",
            about: "explicit regularizer vs Monte Carlo",
            run: regularizer::run,
        },
        Experiment {
            name: "stability",
            about: "stability conditions, stochastic stabilization",
            run: stability::run,
        },
        Experiment {
            name: "hessian",
            about: "flat minima: Hessian spectra vs training noise",
            run: hessian::run,
        },
        Experiment {
            name: "margin",
            about: "classification margins vs training noise",
            run: margin::run,
        },
        Experiment {
            name: "explicit",
            about: "training on the explicit regularizer vs noise training",
            run: explicit::run,
        },
        Experiment {
            name: "robustness",
            about: "accuracy under input perturbations",
            run: robustness::run,
        },
    ]
}

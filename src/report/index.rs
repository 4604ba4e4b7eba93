//! The figure index: `<dir>/README.md` shows every figure with its claim, command, what it
//! shows and whether it agrees with the paper; `<dir>/index.json` holds the same entries
//! so that experiments can add or replace their own entry independently
//! ([`update_index`]).

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Whether a figure agrees with the claim it checks.
///
/// Exact claims (the regularizer's expansion, convergence orders, stochastic
/// stabilization: deterministic computations checked against theory) are judged
/// `agrees` / `disagrees` / `partially agrees`. Claims about trained models are judged by
/// the verdict engine ([`crate::verdict`]) from a pre-registered statistic with a
/// confidence interval: `supported` / `contradicted` / `inconclusive`. `not checked`
/// serves both (smoke runs, too few seeds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Verdict {
    /// The figure supports the claim (exact claims).
    #[serde(rename = "agrees", alias = "Agrees")]
    Agrees,
    /// The figure contradicts the claim (exact claims).
    #[serde(rename = "disagrees", alias = "Disagrees")]
    Disagrees,
    /// The figure supports part of the claim, or only under some settings (exact claims).
    #[serde(rename = "partially agrees", alias = "Partial")]
    Partial,
    /// The interval of the pre-registered statistic excludes 0 on the predicted side.
    #[serde(rename = "supported")]
    Supported,
    /// The interval excludes 0 on the other side.
    #[serde(rename = "contradicted")]
    Contradicted,
    /// The interval contains 0.
    #[serde(rename = "inconclusive")]
    Inconclusive,
    /// Not compared with the claim (yet), or a design too small to judge.
    #[default]
    #[serde(rename = "not checked", alias = "NotChecked")]
    NotChecked,
}

impl Verdict {
    /// The verdict of an exact check: [`Verdict::Agrees`] when `ok`, else `otherwise`
    /// ([`Verdict::Disagrees`] or [`Verdict::Partial`]).
    pub fn agrees_if(ok: bool, otherwise: Verdict) -> Verdict {
        if ok {
            Verdict::Agrees
        } else {
            otherwise
        }
    }

    /// Human-readable word used in the README (the same as the JSON spelling).
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Agrees => "agrees",
            Verdict::Disagrees => "disagrees",
            Verdict::Partial => "partially agrees",
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotChecked => "not checked",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One figure in the index. Paths (`png`, `csv`, `manifest`) are relative to the index
/// directory, as they are embedded and linked from `README.md` there.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
pub struct FigureEntry {
    /// Figure name; entries are sorted and replaced by it.
    pub name: String,
    /// PNG files of the figure (relative paths); each is embedded in the README.
    pub png: Vec<String>,
    /// The tidy CSV table behind the figure (relative path; empty if none).
    pub csv: String,
    /// The run manifest (relative path; empty if none).
    pub manifest: String,
    /// The paper's claim the figure checks.
    pub claim: String,
    /// The command that regenerates the figure.
    pub command: String,
    /// What the figure shows, with numbers.
    pub shows: String,
    /// Agreement with the claim.
    pub verdict: Verdict,
    /// For claims about trained models: the pre-registered statistic, its estimate and
    /// interval, seeds, test, and the replication's verdict (fields at the top level of
    /// the entry in `index.json`).
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
}

/// The evidence behind a verdict of the verdict engine, as stored in the index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The pre-registered per-seed statistic, in words.
    pub statistic: String,
    /// The test, in words.
    pub test: String,
    /// Predicted sign: `increase` or `decrease`.
    pub predicted: crate::verdict::Direction,
    /// Mean effect over seeds.
    pub effect: f64,
    /// 95% interval, lower end.
    pub ci_low: f64,
    /// 95% interval, upper end.
    pub ci_high: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Smallest effect this design detects at 80% power.
    pub detectable_effect: f64,
    /// Seeds used.
    pub n_seeds: usize,
    /// Those seeds.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// The same statistic on the disjoint replication seeds, if that run was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::verdict::Replication>,
    /// The equivalence margin of an equivalence test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f64>,
}

impl Evidence {
    /// The evidence of a judgement (no replication yet).
    pub fn of(j: &crate::verdict::Judgement) -> Evidence {
        Evidence {
            statistic: j.statistic.clone(),
            test: j.test.clone(),
            predicted: j.predicted,
            effect: j.effect,
            ci_low: j.ci_low,
            ci_high: j.ci_high,
            p_value: j.p_value,
            detectable_effect: j.detectable_effect,
            n_seeds: j.n_seeds,
            seeds: j.seeds.clone(),
            replication: None,
            margin: j.margin,
        }
    }
}

/// GitHub-style heading anchor: lowercase, spaces to `-`, other punctuation dropped.
fn anchor(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// The README markdown for `entries` (sorted by name, as written by [`write_index`]).
pub fn render_markdown(entries: &[FigureEntry]) -> String {
    let mut es: Vec<&FigureEntry> = entries.iter().collect();
    es.sort_by(|a, b| a.name.cmp(&b.name));
    let mut s = String::new();
    s.push_str("# Figures\n\n");
    s.push_str(
        "Generated by `nrnn`: this file is rewritten from `index.json` each time a figure \
         is regenerated; do not edit it by hand. Each figure lists the claim it checks, \
         the command that regenerates it, what it shows and the verdict.\n\n",
    );
    if !es.is_empty() {
        s.push_str("| figure | verdict | effect [95% interval], seeds | replication | claim |\n|---|---|---|---|---|\n");
        for e in &es {
            let (eff, rep) = match &e.evidence {
                Some(ev) => (
                    format!(
                        "{} [{}, {}], {}",
                        super::plot::format_sig(ev.effect, 3),
                        super::plot::format_sig(ev.ci_low, 3),
                        super::plot::format_sig(ev.ci_high, 3),
                        ev.n_seeds
                    ),
                    ev.replication.as_ref().map_or("not run".to_string(), |r| {
                        if r.agreement == "replicated" {
                            r.verdict.to_string()
                        } else {
                            format!("{} (not replicated)", r.verdict)
                        }
                    }),
                ),
                None => ("exact check".to_string(), String::new()),
            };
            s.push_str(&format!(
                "| [{}](#{}) | {} | {} | {} | {} |\n",
                one_line(&e.name),
                anchor(&e.name),
                e.verdict,
                eff,
                rep,
                one_line(&e.claim)
            ));
        }
        s.push('\n');
    }
    for e in &es {
        s.push_str(&format!("## {}\n\n", e.name.trim()));
        for p in &e.png {
            s.push_str(&format!("![{}]({})\n\n", one_line(&e.name), p));
        }
        if !e.claim.trim().is_empty() {
            s.push_str(&format!("**Claim.** {}\n\n", e.claim.trim()));
        }
        if !e.command.trim().is_empty() {
            s.push_str(&format!(
                "**Command.**\n\n```sh\n{}\n```\n\n",
                e.command.trim()
            ));
        }
        if !e.shows.trim().is_empty() {
            s.push_str(&format!("**What it shows.** {}\n\n", e.shows.trim()));
        }
        s.push_str(&format!("**Verdict: {}.**\n\n", e.verdict));
        if let Some(ev) = &e.evidence {
            s.push_str(&render_evidence(ev));
        }
        let mut links = Vec::new();
        if !e.csv.is_empty() {
            links.push(format!("data: [{}]({})", e.csv, e.csv));
        }
        if !e.manifest.is_empty() {
            links.push(format!("manifest: [{}]({})", e.manifest, e.manifest));
        }
        if !links.is_empty() {
            s.push_str(&format!("{}\n\n", links.join(" · ")));
        }
    }
    s
}

/// The evidence paragraph of an entry: statistic, test, effect with interval, and the
/// replication's verdict.
fn render_evidence(ev: &Evidence) -> String {
    use super::plot::format_sig;
    let f = |v: f64| format_sig(v, 3);
    let mut s = format!(
        "**Pre-registered statistic.** {} (predicted {}). **Test.** {}. **Estimate.** {} [{}, {}] over {} seeds, p = {}",
        one_line(&ev.statistic),
        ev.predicted.predicted_text(ev.margin),
        one_line(&ev.test),
        f(ev.effect),
        f(ev.ci_low),
        f(ev.ci_high),
        ev.n_seeds,
        format_sig(ev.p_value, 2),
    );
    if let (crate::verdict::Direction::Equivalent, Some(m)) = (ev.predicted, ev.margin) {
        let h = 0.5 * (ev.ci_high - ev.ci_low);
        s.push_str(&format!(
            "; the interval's half-width {} is {} the equivalence margin {}",
            f(h),
            if h < m { "below" } else { "not below" },
            f(m)
        ));
    } else if ev.ci_low <= 0.0 && ev.ci_high >= 0.0 {
        s.push_str(&format!(
            "; the smallest effect this design detects at 80% power is {}",
            f(ev.detectable_effect.abs())
        ));
    }
    s.push_str(".\n\n");
    match &ev.replication {
        Some(r) => s.push_str(&format!(
            "**Replication** (disjoint seeds {}..{}): {}: {} [{}, {}] over {} seeds; {}.\n\n",
            r.seeds.first().copied().unwrap_or(0),
            r.seeds.last().copied().unwrap_or(0),
            r.verdict,
            f(r.effect),
            f(r.ci_low),
            f(r.ci_high),
            r.n_seeds,
            one_line(&r.agreement)
        )),
        None => s.push_str("**Replication:** not run (`nrnn reproduce --replicate`).\n\n"),
    }
    s
}

/// Write `<dir>/README.md` for `entries` (sorted by name) and the JSON sidecar
/// `<dir>/index.json` holding the same entries, both atomically.
///
/// ```
/// use nrnn::report::index::{write_index, FigureEntry, Verdict};
/// let dir = tempfile::tempdir().unwrap();
/// let e = FigureEntry { name: "fig1".into(), png: vec!["fig1.png".into()],
///     claim: "noise helps".into(), verdict: Verdict::Agrees, ..Default::default() };
/// write_index(dir.path(), &[e]).unwrap();
/// let md = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
/// assert!(md.contains("![fig1](fig1.png)"));
/// ```
pub fn write_index(dir: &Path, entries: &[FigureEntry]) -> Result<()> {
    let mut sorted = entries.to_vec();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    crate::io::write_json_atomic(&dir.join("index.json"), &sorted)?;
    crate::io::write_atomic(&dir.join("README.md"), render_markdown(&sorted).as_bytes())
}

/// The entries stored in `<dir>/index.json` (empty when the file does not exist).
pub fn read_index(dir: &Path) -> Result<Vec<FigureEntry>> {
    let path = dir.join("index.json");
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::Format {
            path: path.display().to_string(),
            message: e.to_string(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

/// Add `entry` to the index in `dir`, replacing an entry of the same name and keeping
/// all others, then rewrite `README.md` and `index.json` atomically. Concurrent calls
/// from several processes are serialized with an advisory lock on `dir` itself (where
/// the platform allows locking a directory).
///
/// ```
/// use nrnn::report::index::{read_index, update_index, FigureEntry, Verdict};
/// let dir = tempfile::tempdir().unwrap();
/// let a = FigureEntry { name: "a".into(), ..Default::default() };
/// let b = FigureEntry { name: "b".into(), verdict: Verdict::Partial, ..Default::default() };
/// update_index(dir.path(), &b).unwrap();
/// update_index(dir.path(), &a).unwrap();
/// let names: Vec<_> = read_index(dir.path()).unwrap().into_iter().map(|e| e.name).collect();
/// assert_eq!(names, ["a", "b"]);
/// ```
pub fn update_index(dir: &Path, entry: &FigureEntry) -> Result<()> {
    crate::report::create_dir_all(dir)?;
    // Hold an exclusive lock on the directory during read-modify-write; released on drop.
    let lock = std::fs::File::open(dir).ok().filter(|f| f.lock().is_ok());
    let mut entries = read_index(dir)?;
    entries.retain(|e| e.name != entry.name);
    entries.push(entry.clone());
    let result = write_index(dir, &entries);
    drop(lock);
    result
}

/// Record, in the index of `primary`, the verdict that each judged figure received in the
/// index of `replication` (the same experiments on a disjoint seed set), then rewrite the
/// primary index. Returns the names of the judged figures that have no replication entry.
///
/// ```
/// use nrnn::report::index::{attach_replications, read_index, update_index, Evidence, FigureEntry};
/// use nrnn::verdict::{judge, Direction, Test};
/// let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
/// let t = Test::new("d", Direction::Increase);
/// for (dir, shift) in [(a.path(), 0.0), (b.path(), -5.0)] {
///     let j = judge(&t, &[(0, 1.0 + shift), (1, 1.2 + shift), (2, 0.9 + shift)]);
///     let e = FigureEntry { name: "f".into(), verdict: j.verdict, evidence: Some(Evidence::of(&j)), ..Default::default() };
///     update_index(dir, &e).unwrap();
/// }
/// assert!(attach_replications(a.path(), b.path()).unwrap().is_empty());
/// let r = read_index(a.path()).unwrap()[0].evidence.clone().unwrap().replication.unwrap();
/// assert!(r.agreement.starts_with("conflict"));
/// ```
pub fn attach_replications(primary: &Path, replication: &Path) -> Result<Vec<String>> {
    let rep = read_index(replication)?;
    let mut entries = read_index(primary)?;
    let mut missing = Vec::new();
    for e in entries.iter_mut() {
        let verdict = e.verdict;
        let Some(ev) = e.evidence.as_mut() else {
            continue;
        };
        match rep
            .iter()
            .find(|r| r.name == e.name)
            .and_then(|r| r.evidence.as_ref().map(|x| (r.verdict, x)))
        {
            Some((rv, rev)) => {
                ev.replication = Some(crate::verdict::Replication::of(verdict, rv, rev));
            }
            None => missing.push(e.name.clone()),
        }
    }
    write_index(primary, &entries)?;
    Ok(missing)
}

//! The pieces of `nrnn reproduce` on the command line: the run's list of pieces
//! ([`run_pieces`]), `--plan` (the list, what is done, the estimated CPU time), `--shard
//! I/N` and `--piece ID` (compute a subset into the piece store), and the check of
//! `--aggregate` (every piece the figures need is stored). See
//! [`crate::experiments::pieces`] for the store.

use crate::experiments::pieces::{Family, Piece, PieceStore, Probe, Shard, Stored};
use crate::experiments::Ctx;
use std::collections::BTreeMap;

/// One piece of a run, with the run part it belongs to (`ctx`: primary or replication)
/// and its family.
pub struct RunPiece<'a> {
    /// The run part (its output directory holds the piece store).
    pub ctx: &'a Ctx,
    /// The piece's family.
    pub family: &'a Family,
    /// The piece.
    pub piece: Piece,
}

/// Which part of the run a piece belongs to, for listings.
fn part(ctx: &Ctx, primary: &Ctx) -> &'static str {
    if ctx.out == primary.out {
        "primary"
    } else {
        "replication"
    }
}

/// The pieces of a run in canonical order: for each run part (`parts`, each with the
/// experiments it runs) the pieces of every family one of those experiments uses.
pub fn run_pieces<'a>(parts: &'a [(Ctx, Vec<&str>)], fams: &'a [Family]) -> Vec<RunPiece<'a>> {
    let mut out = Vec::new();
    for (ctx, names) in parts {
        for f in fams
            .iter()
            .filter(|f| f.used_by.iter().any(|u| names.contains(u)))
        {
            out.extend((f.list)(ctx).into_iter().map(|piece| RunPiece {
                ctx,
                family: f,
                piece,
            }));
        }
    }
    out
}

/// The pieces of `all` that are not stored.
pub fn missing<'a>(all: &'a [RunPiece<'a>]) -> Vec<&'a RunPiece<'a>> {
    all.iter()
        .filter(|r| !PieceStore::at(&r.ctx.out, Default::default(), 1).has(&r.piece))
        .collect()
}

/// The pieces `--piece` names (an id or a key, repeatable), or an error naming the
/// unknown one.
pub fn named<'a>(
    all: &'a [RunPiece<'a>],
    names: &[String],
) -> anyhow::Result<Vec<&'a RunPiece<'a>>> {
    names
        .iter()
        .map(|n| {
            all.iter()
                .find(|r| r.piece.id == *n || r.piece.key == *n)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "unknown piece `{n}` in --piece: this run has {} pieces; `nrnn reproduce --plan` (with the same --profile, --seeds, --seed, --only and --replicate) lists their ids and keys",
                        all.len()
                    )
                })
        })
        .collect()
}

/// Compute (or find stored) the pieces `todo`, grouped by run part and family, with a
/// progress line per group; returns `(computed, already stored)`.
pub fn compute(todo: &[&RunPiece<'_>], label: &str) -> anyhow::Result<(usize, usize)> {
    let mut computed = 0;
    let mut groups: Vec<(&Ctx, &Family, Vec<String>)> = Vec::new();
    for r in todo {
        match groups
            .iter_mut()
            .find(|g| std::ptr::eq(g.0, r.ctx) && g.1.name == r.family.name)
        {
            Some(g) => g.2.push(r.piece.id.clone()),
            None => groups.push((r.ctx, r.family, vec![r.piece.id.clone()])),
        }
    }
    for (i, (ctx, fam, ids)) in groups.iter().enumerate() {
        eprintln!(
            "reproduce: {label}: group {}/{}: {} {} piece(s) into {}",
            i + 1,
            groups.len(),
            ids.len(),
            fam.name,
            ctx.out
                .join(crate::experiments::pieces::PIECES_DIR)
                .display()
        );
        computed += (fam.run)(ctx, &|p: &Piece| ids.contains(&p.id))?;
    }
    Ok((computed, todo.len() - computed))
}

/// The estimate of one piece: CPU seconds and where the number comes from.
#[derive(Clone, Debug, serde::Serialize)]
struct Estimate {
    cpu_seconds: Option<f64>,
    source: String,
}

/// The estimate group of a piece: `(family, task, cost class)`.
type Group = (String, String, String);

/// ` (class)` after a group's family and task in messages, nothing for a family with one
/// class.
fn class_suffix(class: &str) -> String {
    if class.is_empty() {
        String::new()
    } else {
        format!(" ({class})")
    }
}

fn group(r: &RunPiece<'_>) -> Group {
    (
        r.family.name.to_string(),
        r.piece.task.clone(),
        (r.family.cost_class)(&r.piece),
    )
}

/// The CPU seconds of the stored pieces of `all`, by [`Group`].
fn recorded(all: &[RunPiece<'_>]) -> BTreeMap<Group, Vec<f64>> {
    let mut m: BTreeMap<Group, Vec<f64>> = BTreeMap::new();
    for r in all {
        let store = PieceStore::at(&r.ctx.out, Default::default(), 1);
        if let Ok(Some(s)) = store.load::<serde::de::IgnoredAny>(&r.piece) {
            let s: Stored<serde::de::IgnoredAny> = s;
            m.entry(group(r)).or_default().push(s.cpu_seconds);
        }
    }
    m
}

/// The estimate of each [`Group`] (family, task, cost class): the mean recorded CPU time
/// of its stored pieces, or else a measured training step times the steps of a piece
/// (training only).
fn estimates(all: &[RunPiece<'_>]) -> BTreeMap<Group, (Estimate, Option<Probe>)> {
    let rec = recorded(all);
    let mut out = BTreeMap::new();
    for r in all {
        let k = group(r);
        if out.contains_key(&k) {
            continue;
        }
        let e = match rec.get(&k) {
            Some(v) => (
                Estimate {
                    cpu_seconds: Some(v.iter().sum::<f64>() / v.len() as f64),
                    source: format!("recorded: mean of {} stored piece(s)", v.len()),
                },
                None,
            ),
            None => {
                eprintln!(
                    "reproduce: plan: timing {} training steps of {}/{}{} ...",
                    3 * crate::experiments::pieces::PROBE_STEPS,
                    k.0,
                    k.1,
                    class_suffix(&k.2)
                );
                match (r.family.probe)(r.ctx, &r.piece.task, &k.2) {
                    Ok(p) => (
                        Estimate {
                            cpu_seconds: Some(p.step_seconds * p.steps as f64),
                            source: format!(
                                "measured: {} steps x {:.4} s per step on one thread (training only)",
                                p.steps, p.step_seconds
                            ),
                        },
                        Some(p),
                    ),
                    Err(e) => (
                        Estimate {
                            cpu_seconds: None,
                            source: format!("no estimate: {e}"),
                        },
                        None,
                    ),
                }
            }
        };
        out.insert(k, e);
    }
    out
}

/// `--plan`: print the pieces (id, part, experiment, task, model, seed, done or not) and
/// the estimated CPU hours, as a table or (`json`) as one JSON document.
pub fn plan(all: &[RunPiece<'_>], shown: &[&RunPiece<'_>], json: bool) -> anyhow::Result<()> {
    let est = estimates(all);
    let primary = all.first().map(|r| r.ctx);
    let mut rows = Vec::new();
    let (mut todo_s, mut all_s, mut done) = (0.0, 0.0, 0);
    for r in shown {
        let stored = PieceStore::at(&r.ctx.out, Default::default(), 1).has(&r.piece);
        let cpu = est.get(&group(r)).and_then(|e| e.0.cpu_seconds);
        all_s += cpu.unwrap_or(0.0);
        if stored {
            done += 1;
        } else {
            todo_s += cpu.unwrap_or(0.0);
        }
        rows.push(serde_json::json!({
            "id": r.piece.id, "key": r.piece.key, "part": primary.map_or("primary", |p| part(r.ctx, p)),
            "family": r.family.name, "experiments": r.family.used_by,
            "task": r.piece.task, "model": r.piece.model, "seed": r.piece.seed,
            "done": stored, "estimate_cpu_seconds": cpu,
        }));
    }
    let groups: Vec<serde_json::Value> = est
        .iter()
        .map(|((f, t, c), (e, p))| serde_json::json!({"family": f, "task": t, "cost_class": c, "estimate_cpu_seconds": e.cpu_seconds, "source": e.source, "steps_per_piece": p.map(|p| p.steps), "step_seconds": p.map(|p| p.step_seconds)}))
        .collect();
    if json {
        let doc = serde_json::json!({
            "pieces": rows, "groups": groups, "total": shown.len(), "done": done,
            "to_do": shown.len() - done, "cpu_hours_to_do": todo_s / 3600.0, "cpu_hours_all": all_s / 3600.0,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    outln!(
        "{:<16} {:<11} {:<15} {:<15} {:<15} {:>7} {:<5} {:>9}",
        "id",
        "part",
        "experiments",
        "task",
        "model",
        "seed",
        "done",
        "est. CPU s"
    );
    for r in &rows {
        outln!(
            "{:<16} {:<11} {:<15} {:<15} {:<15} {:>7} {:<5} {:>9}",
            r["id"].as_str().unwrap_or(""),
            r["part"].as_str().unwrap_or(""),
            r["experiments"].as_array().map_or(String::new(), |a| a
                .iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(",")),
            r["task"].as_str().unwrap_or(""),
            r["model"].as_str().unwrap_or(""),
            r["seed"],
            if r["done"] == true { "yes" } else { "no" },
            r["estimate_cpu_seconds"]
                .as_f64()
                .map_or("?".into(), |s| format!("{s:.1}")),
        );
    }
    for g in &groups {
        outln!(
            "estimate {}/{}{}: {}",
            g["family"].as_str().unwrap_or(""),
            g["task"].as_str().unwrap_or(""),
            class_suffix(g["cost_class"].as_str().unwrap_or("")),
            g["source"].as_str().unwrap_or("")
        );
    }
    outln!(
        "{} piece(s), {} done, {} to do; estimated CPU time: {:.3} h ({:.0} s) to do, {:.3} h ({:.0} s) in all (building the figures from the pieces comes on top)",
        shown.len(), done, shown.len() - done, todo_s / 3600.0, todo_s, all_s / 3600.0, all_s
    );
    Ok(())
}

/// `--shard` / `--piece`: the pieces of this process among `all`.
pub fn selection<'a>(
    all: &'a [RunPiece<'a>],
    shard: Option<Shard>,
    names: &[String],
) -> anyhow::Result<Vec<&'a RunPiece<'a>>> {
    if !names.is_empty() {
        return named(all, names);
    }
    Ok(match shard {
        Some(s) => s.select(all),
        None => all.iter().collect(),
    })
}

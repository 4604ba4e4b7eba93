//! The `nrnn-inputs/1` JSON file format for user-supplied sequences.
//!
//! ```json
//! {"format": "nrnn-inputs/1",
//!  "sequences": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6], [0.7, 0.8]]],
//!  "labels": [0, 2]}
//! ```
//!
//! `sequences` is examples x steps x input_dim, all examples of the same shape. Either
//! `labels` (non-negative integers, one per example; a classification task) or `targets`
//! (one equal-length array of numbers per example; a regression task) may be given, or
//! neither (unlabelled inputs). Optional fields: `name` (string), `classes` (integer; for
//! labels it must exceed every label, default max label + 1; at most
//! [`super::MAX_CLASSES`], and every label below it). Every number must be finite;
//! strings such as `"NaN"` or `"inf"` are refused with the field's path.

use super::{Dataset, Task};
use crate::error::{Error, Result};
use serde_json::{Map, Value};
use std::path::Path;

/// The format string of the file.
pub const FORMAT: &str = "nrnn-inputs/1";

/// A parsed inputs file: the data set and whether it carried labels or targets.
#[derive(Clone, Debug)]
pub struct Inputs {
    /// The sequences with their labels or targets. Unlabelled files give a
    /// classification data set with every label 0 (see `labeled`).
    pub dataset: Dataset,
    /// False when the file had neither `labels` nor `targets`.
    pub labeled: bool,
}

/// Read an `nrnn-inputs/1` file into a data set (see [`parse_inputs`]). Unlabelled
/// inputs get placeholder labels 0; use [`read_inputs_file`] to tell them apart.
pub fn read_inputs(path: &Path) -> Result<Dataset> {
    Ok(read_inputs_file(path)?.dataset)
}

/// Read an `nrnn-inputs/1` file, keeping whether it was labelled. A path ending in `.npy`
/// or `.npz` is read as NumPy inputs instead (see [`super::npy::read_inputs_npy`]).
pub fn read_inputs_file(path: &Path) -> Result<Inputs> {
    read_inputs_labeled(path, None)
}

/// As [`read_inputs_file`], with the labels of `.npy` inputs in a second `.npy` file
/// (`--labels FILE`); labels are refused for a JSON inputs file, which carries its own.
pub fn read_inputs_labeled(path: &Path, labels: Option<&Path>) -> Result<Inputs> {
    if super::npy::is_numpy_path(path) {
        return super::npy::read_inputs_npy(path, labels);
    }
    if let Some(l) = labels {
        return Err(err(
            &path.display().to_string(),
            format!(
                "--labels {} is for .npy inputs: an nrnn-inputs/1 file carries its own labels",
                l.display()
            ),
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("inputs");
    let mut inputs = parse_inputs(&text, &path.display().to_string())?;
    if inputs.dataset.name.is_empty() {
        inputs.dataset.name = stem.to_string();
    }
    Ok(inputs)
}

fn err(origin: &str, message: String) -> Error {
    Error::Format {
        path: origin.to_string(),
        message,
    }
}

fn number(v: &Value, field: &str, origin: &str) -> Result<f64> {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => Err(err(origin, format!("`{field}` = {n}: expected a finite number"))),
        },
        Value::String(s) => Err(err(
            origin,
            format!("`{field}` = {s:?}: expected a finite number (NaN and infinities are not allowed, nor numbers as strings)"),
        )),
        other => Err(err(origin, format!("`{field}` = {}: expected a finite number", brief(other)))),
    }
}

fn brief(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 40 {
        format!(
            "{}...",
            &s[..s.char_indices().nth(37).map_or(s.len(), |(i, _)| i)]
        )
    } else {
        s
    }
}

fn array<'a>(v: &'a Value, field: &str, what: &str, origin: &str) -> Result<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| err(origin, format!("`{field}` = {}: expected {what}", brief(v))))
}

fn non_negative_integer(v: &Value, field: &str, origin: &str) -> Result<usize> {
    match v.as_u64() {
        Some(u) => Ok(u as usize),
        None => Err(err(
            origin,
            format!("`{field}` = {}: expected a non-negative integer", brief(v)),
        )),
    }
}

/// Parse the text of an `nrnn-inputs/1` file; `origin` names it in errors. Every error
/// names the offending field (for example `sequences[3][7]`) and what was expected.
///
/// ```
/// let text = r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [2]], [[3], [4]]], "labels": [0, 2]}"#;
/// let inp = nrnn::data::inputs::parse_inputs(text, "inline").unwrap();
/// let d = &inp.dataset;
/// assert_eq!((d.len(), d.steps, d.input_dim, d.classes), (2, 2, 1, 3));
/// assert_eq!(d.sequence(1), &[3.0, 4.0]);
///
/// let bad = r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [2]], [[3]]]}"#;
/// let e = nrnn::data::inputs::parse_inputs(bad, "inline").unwrap_err().to_string();
/// assert!(e.contains("sequences[1]"), "{e}");
/// ```
pub fn parse_inputs(text: &str, origin: &str) -> Result<Inputs> {
    let root: Value = crate::json::parse_document(text).map_err(|e| err(origin, e))?;
    let obj: &Map<String, Value> = root
        .as_object()
        .ok_or_else(|| err(origin, "expected a JSON object at the top level".into()))?;
    let name = header(obj, origin)?;
    let (n, steps, dim, x) = sequences(obj, origin)?;
    let classes_given = classes_field(obj, origin)?;
    let count_check = |len: usize, field: &str| -> Result<()> {
        if len != n {
            return Err(err(
                origin,
                format!("`{field}` has {len} entries: expected {n}, one per sequence"),
            ));
        }
        Ok(())
    };
    let (task, classes, labels, targets, labeled) = match (obj.get("labels"), obj.get("targets")) {
        (Some(_), Some(_)) => {
            return Err(err(
                origin,
                "both `labels` and `targets` given: expected at most one of them".into(),
            ));
        }
        (Some(l), None) => {
            let l = array(l, "labels", "an array of non-negative integers", origin)?;
            count_check(l.len(), "labels")?;
            let (labels, classes) = labels_field(l, classes_given, origin)?;
            (Task::Classification, classes, labels, Vec::new(), true)
        }
        (None, Some(t)) => {
            let t = array(t, "targets", "an array of target arrays", origin)?;
            count_check(t.len(), "targets")?;
            let (targets, out_dim) = targets_field(t, classes_given, origin)?;
            (Task::Regression, out_dim, Vec::new(), targets, true)
        }
        (None, None) => (
            Task::Classification,
            classes_given.unwrap_or(1),
            vec![0; n],
            Vec::new(),
            false,
        ),
    };
    let dataset = Dataset {
        name,
        steps,
        input_dim: dim,
        classes,
        task,
        x,
        labels,
        targets,
    };
    dataset.validate()?;
    Ok(Inputs { dataset, labeled })
}

/// The top level's keys, its `format` and its optional `name` (empty when absent).
fn header(obj: &Map<String, Value>, origin: &str) -> Result<String> {
    crate::json::check_keys(
        obj,
        &[
            "format",
            "name",
            "classes",
            "sequences",
            "labels",
            "targets",
        ],
        "",
    )
    .map_err(|e| err(origin, e))?;
    match obj.get("format") {
        None => {
            return Err(err(
                origin,
                format!("missing field `format`: expected \"{FORMAT}\""),
            ))
        }
        Some(Value::String(s)) if s == FORMAT => {}
        Some(v) => {
            return Err(err(
                origin,
                format!("`format` = {}: expected \"{FORMAT}\"", brief(v)),
            ))
        }
    }
    match obj.get("name") {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(err(
            origin,
            format!("`name` = {}: expected a string", brief(v)),
        )),
    }
}

/// Check the length `got` of a row against the first row's (`*len`, set by the first row,
/// which must not be empty): `empty` is the error of an empty first row, `ragged(got,
/// expected)` the error of a row of another length.
fn row_len(
    got: usize,
    first: bool,
    len: &mut usize,
    empty: &str,
    ragged: impl FnOnce(usize, usize) -> String,
    origin: &str,
) -> Result<()> {
    if first {
        if got == 0 {
            return Err(err(origin, empty.to_string()));
        }
        *len = got;
    } else if got != *len {
        return Err(err(origin, ragged(got, *len)));
    }
    Ok(())
}

/// The `sequences` field: the number of examples, the steps, the input dimension and the
/// values, example by example and step by step.
fn sequences(obj: &Map<String, Value>, origin: &str) -> Result<(usize, usize, usize, Vec<f64>)> {
    let seqs = array(
        obj.get("sequences").ok_or_else(|| {
            err(
                origin,
                "missing field `sequences`: expected examples x steps x input_dim numbers".into(),
            )
        })?,
        "sequences",
        "an array of sequences",
        origin,
    )?;
    if seqs.is_empty() {
        return Err(err(
            origin,
            "`sequences` is empty: expected at least one sequence".into(),
        ));
    }
    let (mut steps, mut dim) = (0, 0);
    let mut x = Vec::new();
    for (e, seq) in seqs.iter().enumerate() {
        let seq = array(seq, &format!("sequences[{e}]"), "an array of steps", origin)?;
        row_len(
            seq.len(),
            e == 0,
            &mut steps,
            "`sequences[0]` has no steps: expected at least one",
            |got, want| {
                format!("`sequences[{e}]` has {got} steps: expected {want} like sequences[0] (ragged sequences)")
            },
            origin,
        )?;
        for (k, step) in seq.iter().enumerate() {
            let field = format!("sequences[{e}][{k}]");
            let step = array(step, &field, "an array of input values", origin)?;
            row_len(
                step.len(),
                e == 0 && k == 0,
                &mut dim,
                "`sequences[0][0]` is empty: expected at least one input value",
                |got, want| {
                    format!("`{field}` has {got} values: expected {want} like sequences[0][0] (ragged input dimension)")
                },
                origin,
            )?;
            for (j, v) in step.iter().enumerate() {
                x.push(number(v, &format!("{field}[{j}]"), origin)?);
            }
        }
    }
    Ok((seqs.len(), steps, dim, x))
}

/// The optional `classes` field, an integer in `[1, MAX_CLASSES]`.
fn classes_field(obj: &Map<String, Value>, origin: &str) -> Result<Option<usize>> {
    let Some(v) = obj.get("classes") else {
        return Ok(None);
    };
    let c = non_negative_integer(v, "classes", origin)?;
    if c == 0 || c > super::MAX_CLASSES {
        return Err(err(
            origin,
            format!(
                "`classes` = {c}: expected an integer in [1, {}]",
                super::MAX_CLASSES
            ),
        ));
    }
    Ok(Some(c))
}

/// The `labels` field (one per sequence, checked by the caller) and the number of classes:
/// `classes` when given (more than the largest label), else the largest label + 1.
fn labels_field(l: &[Value], classes: Option<usize>, origin: &str) -> Result<(Vec<usize>, usize)> {
    let labels = l
        .iter()
        .enumerate()
        .map(|(i, v)| non_negative_integer(v, &format!("labels[{i}]"), origin))
        .collect::<Result<Vec<_>>>()?;
    if let Some(i) = labels.iter().position(|&l| l >= super::MAX_CLASSES) {
        return Err(err(
            origin,
            format!(
                "`labels[{i}]` = {}: expected a label in 0..{} (at most nrnn::data::MAX_CLASSES classes)",
                labels[i],
                super::MAX_CLASSES
            ),
        ));
    }
    let needed = labels.iter().max().map_or(1, |m| m + 1);
    let classes = match classes {
        Some(c) if c < needed => {
            return Err(err(
                origin,
                format!(
                    "`classes` = {c}: expected more than the largest label {}",
                    needed - 1
                ),
            ));
        }
        Some(c) => c,
        None => needed,
    };
    Ok((labels, classes))
}

/// The `targets` field (one row per sequence, checked by the caller) and its dimension,
/// which `classes` must equal when given.
fn targets_field(t: &[Value], classes: Option<usize>, origin: &str) -> Result<(Vec<f64>, usize)> {
    let mut out_dim = 0;
    let mut targets = Vec::new();
    for (i, row) in t.iter().enumerate() {
        let field = format!("targets[{i}]");
        let row = array(row, &field, "an array of numbers", origin)?;
        row_len(
            row.len(),
            i == 0,
            &mut out_dim,
            "`targets[0]` is empty: expected at least one value",
            |got, want| format!("`{field}` has {got} values: expected {want} like targets[0]"),
            origin,
        )?;
        for (j, v) in row.iter().enumerate() {
            targets.push(number(v, &format!("{field}[{j}]"), origin)?);
        }
    }
    if let Some(c) = classes {
        if c != out_dim {
            return Err(err(
                origin,
                format!("`classes` = {c}: expected the target dimension {out_dim}"),
            ));
        }
    }
    Ok((targets, out_dim))
}

/// The `nrnn-inputs/1` JSON text of `d` (with `name`, `classes`, `sequences` and
/// `labels` or `targets`); non-finite values are refused.
///
/// ```
/// let d = nrnn::data::adding(3, 4, 1).unwrap();
/// let text = nrnn::data::inputs::to_json(&d, true).unwrap();
/// let back = nrnn::data::inputs::parse_inputs(&text, "inline").unwrap().dataset;
/// assert_eq!((back.x, back.targets), (d.x, d.targets));
/// ```
pub fn to_json(d: &Dataset, labeled: bool) -> Result<String> {
    d.validate()?;
    let seqs: Vec<Value> = (0..d.len())
        .map(|e| {
            Value::Array(
                d.sequence(e)
                    .chunks_exact(d.input_dim)
                    .map(|step| Value::Array(step.iter().map(|&v| Value::from(v)).collect()))
                    .collect(),
            )
        })
        .collect();
    let mut obj = Map::new();
    obj.insert("format".into(), Value::from(FORMAT));
    obj.insert("name".into(), Value::from(d.name.clone()));
    obj.insert("classes".into(), Value::from(d.classes));
    obj.insert("sequences".into(), Value::Array(seqs));
    if labeled {
        match d.task {
            Task::Classification => {
                obj.insert("labels".into(), Value::from(d.labels.clone()));
            }
            Task::Regression => {
                let t: Vec<Value> = d
                    .targets
                    .chunks_exact(d.classes)
                    .map(|r| Value::from(r.to_vec()))
                    .collect();
                obj.insert("targets".into(), Value::Array(t));
            }
        }
    }
    let mut s =
        serde_json::to_string(&Value::Object(obj)).map_err(|e| Error::Other(e.to_string()))?;
    s.push('\n');
    Ok(s)
}

/// Write `d` atomically to `path` as an `nrnn-inputs/1` file with its labels or targets;
/// [`read_inputs`] reads it back exactly.
pub fn write_inputs(path: &Path, d: &Dataset) -> Result<()> {
    crate::report::write_atomic(path, to_json(d, true)?.as_bytes())
}

/// Write `d` atomically to `path` as an unlabelled `nrnn-inputs/1` file (sequences only).
pub fn write_unlabeled_inputs(path: &Path, d: &Dataset) -> Result<()> {
    crate::report::write_atomic(path, to_json(d, false)?.as_bytes())
}

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
//! labels it must exceed every label, default max label + 1). Every number must be finite;
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

/// Read an `nrnn-inputs/1` file, keeping whether it was labelled.
pub fn read_inputs_file(path: &Path) -> Result<Inputs> {
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
    let root: Value = json::parse(text).map_err(|e| err(origin, format!("not valid JSON: {e}")))?;
    let obj: &Map<String, Value> = root
        .as_object()
        .ok_or_else(|| err(origin, "expected a JSON object at the top level".into()))?;
    for key in obj.keys() {
        if ![
            "format",
            "name",
            "classes",
            "sequences",
            "labels",
            "targets",
        ]
        .contains(&key.as_str())
        {
            return Err(err(
                origin,
                format!("unknown field `{key}`: expected only format, name, classes, sequences, labels, targets"),
            ));
        }
    }
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
    let name = match obj.get("name") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(err(
                origin,
                format!("`name` = {}: expected a string", brief(v)),
            ))
        }
    };
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
    let mut steps = 0;
    let mut dim = 0;
    let mut x = Vec::new();
    for (e, seq) in seqs.iter().enumerate() {
        let seq = array(seq, &format!("sequences[{e}]"), "an array of steps", origin)?;
        if e == 0 {
            if seq.is_empty() {
                return Err(err(
                    origin,
                    "`sequences[0]` has no steps: expected at least one".into(),
                ));
            }
            steps = seq.len();
        } else if seq.len() != steps {
            return Err(err(
                origin,
                format!("`sequences[{e}]` has {} steps: expected {steps} like sequences[0] (ragged sequences)", seq.len()),
            ));
        }
        for (k, step) in seq.iter().enumerate() {
            let field = format!("sequences[{e}][{k}]");
            let step = array(step, &field, "an array of input values", origin)?;
            if e == 0 && k == 0 {
                if step.is_empty() {
                    return Err(err(
                        origin,
                        "`sequences[0][0]` is empty: expected at least one input value".into(),
                    ));
                }
                dim = step.len();
            } else if step.len() != dim {
                return Err(err(
                    origin,
                    format!("`{field}` has {} values: expected {dim} like sequences[0][0] (ragged input dimension)", step.len()),
                ));
            }
            for (j, v) in step.iter().enumerate() {
                x.push(number(v, &format!("{field}[{j}]"), origin)?);
            }
        }
    }
    let n = seqs.len();
    let classes_given = match obj.get("classes") {
        None => None,
        Some(v) => {
            let c = non_negative_integer(v, "classes", origin)?;
            if c == 0 {
                return Err(err(
                    origin,
                    "`classes` = 0: expected a positive integer".into(),
                ));
            }
            Some(c)
        }
    };
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
            let labels = l
                .iter()
                .enumerate()
                .map(|(i, v)| non_negative_integer(v, &format!("labels[{i}]"), origin))
                .collect::<Result<Vec<_>>>()?;
            let needed = labels.iter().max().map_or(1, |m| m + 1);
            let classes = match classes_given {
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
            (Task::Classification, classes, labels, Vec::new(), true)
        }
        (None, Some(t)) => {
            let t = array(t, "targets", "an array of target arrays", origin)?;
            count_check(t.len(), "targets")?;
            let mut out_dim = 0;
            let mut targets = Vec::new();
            for (i, row) in t.iter().enumerate() {
                let field = format!("targets[{i}]");
                let row = array(row, &field, "an array of numbers", origin)?;
                if i == 0 {
                    if row.is_empty() {
                        return Err(err(
                            origin,
                            "`targets[0]` is empty: expected at least one value".into(),
                        ));
                    }
                    out_dim = row.len();
                } else if row.len() != out_dim {
                    return Err(err(
                        origin,
                        format!(
                            "`{field}` has {} values: expected {out_dim} like targets[0]",
                            row.len()
                        ),
                    ));
                }
                for (j, v) in row.iter().enumerate() {
                    targets.push(number(v, &format!("{field}[{j}]"), origin)?);
                }
            }
            if let Some(c) = classes_given {
                if c != out_dim {
                    return Err(err(
                        origin,
                        format!("`classes` = {c}: expected the target dimension {out_dim}"),
                    ));
                }
            }
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

/// A small JSON reader that parses numbers with Rust's correctly rounded `f64` parser, so
/// that every finite `f64` written by `serde_json` (shortest round-trip form) reads back
/// bit for bit. (`serde_json` without its `float_roundtrip` feature may be off by one
/// unit in the last place.) Produces `serde_json::Value`s; integers stay integers.
mod json {
    use serde_json::{Map, Number, Value};

    const MAX_DEPTH: usize = 256;

    pub fn parse(text: &str) -> Result<Value, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
        };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.at("trailing characters after the JSON value"));
        }
        Ok(v)
    }

    struct Parser<'a> {
        s: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn at(&self, msg: &str) -> String {
            let upto = &self.s[..self.i.min(self.s.len())];
            let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = upto.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            format!("{msg} at line {line} column {col}")
        }

        fn ws(&mut self) {
            while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            }
        }

        fn peek(&self) -> Option<u8> {
            self.s.get(self.i).copied()
        }

        fn expect(&mut self, lit: &str) -> Result<(), String> {
            if self.s[self.i..].starts_with(lit.as_bytes()) {
                self.i += lit.len();
                Ok(())
            } else {
                Err(self.at("expected a JSON value (NaN and Infinity are not JSON)"))
            }
        }

        fn value(&mut self, depth: usize) -> Result<Value, String> {
            if depth > MAX_DEPTH {
                return Err(self.at("nesting too deep"));
            }
            match self.peek() {
                None => Err(self.at("unexpected end of input")),
                Some(b'{') => {
                    self.i += 1;
                    let mut map = Map::new();
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                        return Ok(Value::Object(map));
                    }
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.at("expected a string key"));
                        }
                        let k = self.string()?;
                        self.ws();
                        if self.peek() != Some(b':') {
                            return Err(self.at("expected `:`"));
                        }
                        self.i += 1;
                        self.ws();
                        let v = self.value(depth + 1)?;
                        if map.insert(k.clone(), v).is_some() {
                            return Err(self.at(&format!("duplicate key `{k}`")));
                        }
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                return Ok(Value::Object(map));
                            }
                            _ => return Err(self.at("expected `,` or `}`")),
                        }
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let mut arr = Vec::new();
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Ok(Value::Array(arr));
                    }
                    loop {
                        self.ws();
                        arr.push(self.value(depth + 1)?);
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                return Ok(Value::Array(arr));
                            }
                            _ => return Err(self.at("expected `,` or `]`")),
                        }
                    }
                }
                Some(b'"') => Ok(Value::String(self.string()?)),
                Some(b't') => self.expect("true").map(|_| Value::Bool(true)),
                Some(b'f') => self.expect("false").map(|_| Value::Bool(false)),
                Some(b'n') => self.expect("null").map(|_| Value::Null),
                Some(b'-' | b'0'..=b'9') => self.number(),
                Some(_) => Err(self.at("expected a JSON value (NaN and Infinity are not JSON)")),
            }
        }

        fn digits(&mut self) -> usize {
            let start = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            self.i - start
        }

        fn number(&mut self) -> Result<Value, String> {
            let start = self.i;
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            let int_start = self.i;
            if self.digits() == 0 {
                return Err(self.at("expected digits in a number"));
            }
            if self.s[int_start] == b'0' && self.i - int_start > 1 {
                return Err(self.at("leading zeros are not allowed in JSON numbers"));
            }
            let mut integer = true;
            if self.peek() == Some(b'.') {
                integer = false;
                self.i += 1;
                if self.digits() == 0 {
                    return Err(self.at("expected digits after the decimal point"));
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                integer = false;
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if self.digits() == 0 {
                    return Err(self.at("expected digits in the exponent"));
                }
            }
            let text = std::str::from_utf8(&self.s[start..self.i]).expect("ASCII");
            if integer {
                if let Ok(u) = text.parse::<u64>() {
                    return Ok(Value::Number(Number::from(u)));
                }
                if let Ok(i) = text.parse::<i64>() {
                    return Ok(Value::Number(Number::from(i)));
                }
            }
            let f: f64 = text.parse().map_err(|_| self.at("invalid number"))?;
            Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(|| self.at(&format!("number {text} is out of the f64 range")))
        }

        fn hex4(&mut self) -> Result<u32, String> {
            let h = self
                .s
                .get(self.i..self.i + 4)
                .ok_or_else(|| self.at("truncated \\u escape"))?;
            if !h.iter().all(u8::is_ascii_hexdigit) {
                return Err(self.at("bad \\u escape"));
            }
            let h = std::str::from_utf8(h).expect("ASCII");
            let v = u32::from_str_radix(h, 16).map_err(|_| self.at("bad \\u escape"))?;
            self.i += 4;
            Ok(v)
        }

        fn string(&mut self) -> Result<String, String> {
            self.i += 1; // opening quote
            let mut out = String::new();
            loop {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b'"' | b'\\' | 0..=0x1f) {
                    self.i += 1;
                }
                out.push_str(
                    std::str::from_utf8(&self.s[start..self.i])
                        .map_err(|_| self.at("invalid UTF-8"))?,
                );
                match self.peek() {
                    None => return Err(self.at("unterminated string")),
                    Some(b'"') => {
                        self.i += 1;
                        return Ok(out);
                    }
                    Some(b'\\') => {
                        self.i += 1;
                        let c = self.peek().ok_or_else(|| self.at("unterminated string"))?;
                        self.i += 1;
                        match c {
                            b'"' => out.push('"'),
                            b'\\' => out.push('\\'),
                            b'/' => out.push('/'),
                            b'b' => out.push('\u{8}'),
                            b'f' => out.push('\u{c}'),
                            b'n' => out.push('\n'),
                            b'r' => out.push('\r'),
                            b't' => out.push('\t'),
                            b'u' => {
                                let hi = self.hex4()?;
                                let code = if (0xD800..0xDC00).contains(&hi) {
                                    if !self.s[self.i..].starts_with(b"\\u") {
                                        return Err(self.at("unpaired surrogate in \\u escape"));
                                    }
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(self.at("unpaired surrogate in \\u escape"));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    hi
                                };
                                out.push(
                                    char::from_u32(code)
                                        .ok_or_else(|| self.at("invalid \\u escape"))?,
                                );
                            }
                            _ => return Err(self.at("invalid escape in string")),
                        }
                    }
                    Some(_) => return Err(self.at("control character in string")),
                }
            }
        }
    }
}

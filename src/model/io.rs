//! The versioned JSON model file `nrnn-model/1`.
//!
//! ```text
//! {"format": "nrnn-model/1", "hidden": n, "input": p, "classes": c,
//!  "beta": .., "gamma_a": .., "gamma_w": .., "dt": d | [d_1, .., d_n], "activation": "tanh",
//!  "m_a": [[..]], "m_w": [[..]], "u": [[..]], "b": [..], "v": [[..]], "c": [..],
//!  "noise": {"form": "diag" | "scalar" | "code", "eps": .., "sigma1": .., "sigma2": ..},
//!  "a_term": true, "learn_dt": false}            (the last two optional, defaults shown)
//! ```
//!
//! A model of another cell ([`super::network`]) says so in `"cell"` (absent: the Lipschitz
//! RNN above, `"cell": "lipschitz"` is accepted too) and holds its own blocks
//! ([`super::baseline::Baseline::block_shapes`], each a row-major matrix or a vector):
//!
//! ```text
//! {"format": "nrnn-model/1", "cell": "lstm" | "gru" | "cornn", "hidden": n, "input": p, "classes": c,
//!  "noise": {"form": "diag", ..},
//!  lstm:  "w_ih": 4n x p, "w_hh": 4n x n, "b": 4n
//!  gru:   "w_ih": 3n x p, "w_hh": 3n x n, "b_ih": 3n, "b_hh": 3n
//!  cornn: "w": n x n, "w_z": n x n, "v_in": n x p, "b": n, "cornn": {"dt": .., "gamma": .., "eps": ..}
//!  "v": c x n, "c": c}
//! ```
//! Matrices are row-major nested arrays in the column-vector convention
//! (`h' = A h + a(W h + U x + b)`, `logits = V h_K + c`; `u` is n x p, `v` is c x n).
//! Every field is checked: a missing field, a mis-shaped matrix, a non-finite number, a
//! negative noise level or an unknown form is refused with an error naming the field.

use super::baseline::{Baseline, BaselineCell};
use super::cornn::CornnHyper;
use super::network::{block_json, unsupported, CellKind};
use super::{Activation, Model, ModelConfig, NoiseForm, NoiseSpec, Params};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde_json::{json, Map, Value};
use std::path::Path;

/// The format tag of model files.
pub const MODEL_FORMAT: &str = "nrnn-model/1";

/// The keys of a model file; any other key is refused (a typo such as `"a_trem": false`
/// would otherwise leave the A term on silently).
pub const MODEL_KEYS: [&str; 19] = [
    "format",
    "cell",
    "hidden",
    "input",
    "classes",
    "beta",
    "gamma_a",
    "gamma_w",
    "dt",
    "activation",
    "m_a",
    "m_w",
    "u",
    "b",
    "v",
    "c",
    "noise",
    "a_term",
    "learn_dt",
];

/// The keys of the `noise` object of a model file.
pub const NOISE_KEYS: [&str; 4] = ["form", "eps", "sigma1", "sigma2"];

fn ferr(field: &str, expected: &str, found: &Value) -> Error {
    let mut f = found.to_string();
    if f.len() > 60 {
        f.truncate(57);
        f.push_str("...");
    }
    Error::InvalidParameter {
        name: field.to_string(),
        value: f,
        expected: expected.to_string(),
    }
}

fn get<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a Value> {
    obj.get(field).ok_or_else(|| Error::InvalidParameter {
        name: field.to_string(),
        value: "missing".to_string(),
        expected: "the field to be present".to_string(),
    })
}

fn num(v: &Value, field: &str) -> Result<f64> {
    match v.as_f64() {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(ferr(field, "a finite number", v)),
    }
}

fn count(v: &Value, field: &str) -> Result<usize> {
    match v.as_u64() {
        Some(x) if (1..=1 << 16).contains(&x) => Ok(x as usize),
        _ => Err(ferr(field, "an integer in [1, 65536]", v)),
    }
}

fn vector(v: &Value, field: &str, len: usize) -> Result<DVector<f64>> {
    let arr = v
        .as_array()
        .ok_or_else(|| ferr(field, &format!("an array of {len} numbers"), v))?;
    if arr.len() != len {
        return Err(Error::shape(field, (arr.len(), 1), (len, 1)));
    }
    let vals: Result<Vec<f64>> = arr
        .iter()
        .enumerate()
        .map(|(i, x)| num(x, &format!("{field}[{i}]")))
        .collect();
    Ok(DVector::from_vec(vals?))
}

fn matrix(v: &Value, field: &str, rows: usize, cols: usize) -> Result<DMatrix<f64>> {
    let arr = v.as_array().ok_or_else(|| {
        ferr(
            field,
            &format!("a {rows}x{cols} matrix as an array of rows"),
            v,
        )
    })?;
    if arr.len() != rows {
        let c = arr
            .first()
            .and_then(|r| r.as_array())
            .map_or(0, |r| r.len());
        return Err(Error::shape(field, (arr.len(), c), (rows, cols)));
    }
    let mut m = DMatrix::zeros(rows, cols);
    for (i, row) in arr.iter().enumerate() {
        let r = row.as_array().ok_or_else(|| {
            ferr(
                &format!("{field}[{i}]"),
                &format!("a row of {cols} numbers"),
                row,
            )
        })?;
        if r.len() != cols {
            return Err(Error::shape(field, (rows, r.len()), (rows, cols)));
        }
        for (j, x) in r.iter().enumerate() {
            m[(i, j)] = num(x, &format!("{field}[{i}][{j}]"))?;
        }
    }
    Ok(m)
}

fn rows_of(m: &DMatrix<f64>) -> Value {
    Value::Array(
        (0..m.nrows())
            .map(|i| Value::from(m.row(i).iter().copied().collect::<Vec<f64>>()))
            .collect(),
    )
}

/// Read a model file with the strict [`crate::json`] reader and parse it with `parse`; an
/// error of either is a format error naming the path.
pub(crate) fn read_model_file<T>(
    path: &Path,
    parse: impl FnOnce(&Value) -> Result<T>,
) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: Value = crate::json::parse_document(&text).map_err(|message| Error::Format {
        path: path.display().to_string(),
        message,
    })?;
    parse(&v).map_err(|e| Error::Format {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The `"cell"` field of a model file (`None` when absent).
fn cell_of(obj: &Map<String, Value>) -> Result<Option<CellKind>> {
    match obj.get("cell") {
        None => Ok(None),
        Some(v) => {
            let s = v
                .as_str()
                .ok_or_else(|| ferr("cell", "\"lipschitz\", \"lstm\", \"gru\" or \"cornn\"", v))?;
            CellKind::parse(s).map(Some)
        }
    }
}

fn check_format(obj: &Map<String, Value>) -> Result<()> {
    let fmt = get(obj, "format")?;
    if fmt.as_str() != Some(MODEL_FORMAT) {
        return Err(ferr("format", &format!("\"{MODEL_FORMAT}\""), fmt));
    }
    Ok(())
}

/// The `"noise"` object of a model file.
fn noise_of(obj: &Map<String, Value>) -> Result<NoiseSpec> {
    let nz = get(obj, "noise")?;
    let nzo = nz
        .as_object()
        .ok_or_else(|| ferr("noise", "an object {form, eps, sigma1, sigma2}", nz))?;
    crate::json::check_keys(nzo, &NOISE_KEYS, "noise.").map_err(Error::Other)?;
    let form_v = get(nzo, "form").map_err(|_| {
        ferr(
            "noise.form",
            "\"diag\", \"scalar\" or \"code\"",
            &Value::Null,
        )
    })?;
    let form = NoiseForm::parse(
        form_v
            .as_str()
            .ok_or_else(|| ferr("noise.form", "a string", form_v))?,
    )?;
    let mut lv = [0.0; 3];
    for (slot, name) in lv.iter_mut().zip(["eps", "sigma1", "sigma2"]) {
        let field = format!("noise.{name}");
        let val = nzo
            .get(name)
            .ok_or_else(|| ferr(&field, "a number >= 0", &Value::Null))?;
        *slot = num(val, &field)?;
    }
    NoiseSpec::new(form, lv[0], lv[1], lv[2])
}

fn noise_json(nz: &NoiseSpec) -> Value {
    json!({"form": nz.form.name(), "eps": nz.eps, "sigma1": nz.sigma1, "sigma2": nz.sigma2})
}

impl Baseline {
    /// Parse and check a model file of a baseline cell (see the module docs).
    ///
    /// ```
    /// use nrnn::model::{baseline::{Baseline, BaselineCell}, NoiseSpec};
    /// let m = Baseline::init(BaselineCell::Gru, 3, 2, 2, NoiseSpec::off(), 1).unwrap();
    /// assert_eq!(Baseline::from_json(&m.to_json()).unwrap(), m);
    /// let mut bad = m.to_json();
    /// bad["w_hh"][0][0] = serde_json::json!("x");
    /// assert!(Baseline::from_json(&bad).unwrap_err().to_string().contains("w_hh[0][0]"));
    /// ```
    pub fn from_json(v: &Value) -> Result<Baseline> {
        let obj = v
            .as_object()
            .ok_or_else(|| ferr("(top level)", "a JSON object", v))?;
        let kind = cell_of(obj)?.unwrap_or_default();
        let mut cornn = CornnHyper::default();
        if kind == CellKind::Cornn {
            let h = get(obj, "cornn")?;
            let ho = h
                .as_object()
                .ok_or_else(|| ferr("cornn", "an object {dt, gamma, eps}", h))?;
            crate::json::check_keys(ho, &["dt", "gamma", "eps"], "cornn.").map_err(Error::Other)?;
            cornn = CornnHyper {
                dt: num(get(ho, "dt")?, "cornn.dt")?,
                gamma: num(get(ho, "gamma")?, "cornn.gamma")?,
                eps: num(get(ho, "eps")?, "cornn.eps")?,
            };
        }
        let cell = kind.baseline(cornn).ok_or_else(|| {
            ferr(
                "cell",
                "\"lstm\", \"gru\" or \"cornn\"",
                &json!(kind.name()),
            )
        })?;
        let mut m = Baseline {
            cell,
            hidden: count(get(obj, "hidden")?, "hidden")?,
            input: count(get(obj, "input")?, "input")?,
            classes: count(get(obj, "classes")?, "classes")?,
            noise: noise_of(obj)?,
            params: Vec::new(),
        };
        let shapes = m.block_shapes();
        let mut keys: Vec<&str> = vec!["format", "cell", "hidden", "input", "classes", "noise"];
        keys.extend(shapes.iter().map(|s| s.0));
        if kind == CellKind::Cornn {
            keys.push("cornn");
        }
        crate::json::check_keys(obj, &keys, "").map_err(Error::Other)?;
        check_format(obj)?;
        for (name, r, c) in shapes {
            let val = get(obj, name)?;
            m.params.push(if c == 1 {
                vector(val, name, r).map(|v| DMatrix::from_column_slice(r, 1, v.as_slice()))?
            } else {
                matrix(val, name, r, c)?
            });
        }
        m.validate()?;
        Ok(m)
    }

    /// The model as a JSON value in the `nrnn-model/1` format, with its `"cell"`.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("format".into(), json!(MODEL_FORMAT));
        out.insert("cell".into(), json!(self.cell.kind().name()));
        out.insert("hidden".into(), json!(self.hidden));
        out.insert("input".into(), json!(self.input));
        out.insert("classes".into(), json!(self.classes));
        if let BaselineCell::Cornn(h) = &self.cell {
            out.insert(
                "cornn".into(),
                json!({"dt": h.dt, "gamma": h.gamma, "eps": h.eps}),
            );
        }
        for ((name, _, _), m) in self.block_shapes().iter().zip(&self.params) {
            out.insert(name.to_string(), block_json(m));
        }
        out.insert("noise".into(), noise_json(&self.noise));
        Value::Object(out)
    }
}

impl Model {
    /// Parse and check a model from a JSON value.
    ///
    /// ```
    /// use nrnn::model::{Model, ModelConfig};
    /// let m = Model::init(ModelConfig::new(2, 1, 2), 0.1, 3).unwrap();
    /// let back = Model::from_json(&m.to_json()).unwrap();
    /// assert_eq!(back, m);
    /// let mut bad = m.to_json();
    /// bad["noise"]["eps"] = serde_json::json!(-1.0);
    /// assert!(Model::from_json(&bad).unwrap_err().to_string().contains("noise.eps"));
    /// ```
    pub fn from_json(v: &Value) -> Result<Model> {
        let obj = v
            .as_object()
            .ok_or_else(|| ferr("(top level)", "a JSON object", v))?;
        if let Some(kind) = cell_of(obj)? {
            if !kind.is_lipschitz() {
                return Err(unsupported(
                    kind,
                    "this command (stability and kappa, regularizer, lyapunov, hessian, margin and simulate read the model as the Lipschitz RNN)",
                ));
            }
        }
        crate::json::check_keys(obj, &MODEL_KEYS, "").map_err(Error::Other)?;
        check_format(obj)?;
        let n = count(get(obj, "hidden")?, "hidden")?;
        let p = count(get(obj, "input")?, "input")?;
        let c = count(get(obj, "classes")?, "classes")?;
        let act_v = get(obj, "activation")?;
        let activation = Activation::parse(
            act_v
                .as_str()
                .ok_or_else(|| ferr("activation", "a string", act_v))?,
        )?;
        let noise = noise_of(obj)?;
        let flag = |name: &str, default: bool| -> Result<bool> {
            match obj.get(name) {
                None => Ok(default),
                Some(v) => v.as_bool().ok_or_else(|| ferr(name, "true or false", v)),
            }
        };
        let config = ModelConfig {
            hidden: n,
            input: p,
            classes: c,
            beta: num(get(obj, "beta")?, "beta")?,
            gamma_a: num(get(obj, "gamma_a")?, "gamma_a")?,
            gamma_w: num(get(obj, "gamma_w")?, "gamma_w")?,
            activation,
            a_term: flag("a_term", true)?,
            learn_dt: flag("learn_dt", false)?,
            noise,
        };
        config.validate()?;
        let dtv = get(obj, "dt")?;
        let dt = if dtv.is_array() {
            vector(dtv, "dt", n)?
        } else {
            DVector::from_element(n, num(dtv, "dt")?)
        };
        let params = Params {
            m_a: matrix(get(obj, "m_a")?, "m_a", n, n)?,
            m_w: matrix(get(obj, "m_w")?, "m_w", n, n)?,
            u: matrix(get(obj, "u")?, "u", n, p)?,
            b: vector(get(obj, "b")?, "b", n)?,
            v: matrix(get(obj, "v")?, "v", c, n)?,
            c: vector(get(obj, "c")?, "c", c)?,
            dt,
        };
        let m = Model { config, params };
        m.validate()?;
        Ok(m)
    }

    /// The model as a JSON value in the `nrnn-model/1` format.
    pub fn to_json(&self) -> Value {
        let cfg = &self.config;
        let pr = &self.params;
        let d0 = pr.dt[0];
        let dt = if pr.dt.iter().all(|&d| d == d0) && !cfg.learn_dt {
            Value::from(d0)
        } else {
            Value::from(pr.dt.iter().copied().collect::<Vec<f64>>())
        };
        json!({
            "format": MODEL_FORMAT,
            "hidden": cfg.hidden, "input": cfg.input, "classes": cfg.classes,
            "beta": cfg.beta, "gamma_a": cfg.gamma_a, "gamma_w": cfg.gamma_w,
            "dt": dt,
            "activation": cfg.activation.name(),
            "a_term": cfg.a_term, "learn_dt": cfg.learn_dt,
            "m_a": rows_of(&pr.m_a), "m_w": rows_of(&pr.m_w), "u": rows_of(&pr.u),
            "b": pr.b.iter().copied().collect::<Vec<f64>>(),
            "v": rows_of(&pr.v),
            "c": pr.c.iter().copied().collect::<Vec<f64>>(),
            "noise": {"form": cfg.noise.form.name(), "eps": cfg.noise.eps,
                      "sigma1": cfg.noise.sigma1, "sigma2": cfg.noise.sigma2},
        })
    }

    /// Read and check a model file. The text is read by the strict [`crate::json`] reader:
    /// a duplicate key, characters after the JSON object or a number out of the `f64`
    /// range are refused with the line and column; an unknown key with its name.
    pub fn load(path: &Path) -> Result<Model> {
        read_model_file(path, Model::from_json)
    }

    /// Write the model file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::report::write_json_atomic(path, &self.to_json())
    }
}

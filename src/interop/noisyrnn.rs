//! The authors' released model (`NoisyRNN` of erichson/NoisyRNN) to and from an
//! `nrnn-model/1` model.
//!
//! Their `state_dict` holds `E.weight` (n x p), `E.bias` (n), `D.weight` (c x n), `D.bias`
//! (c), `B` and `C` (n x n) and the learnable per-unit step `d` (n); `beta`, `gamma_A`,
//! `gamma_W`, `alpha`, the solver, the step `eps` and the noise levels are constructor
//! arguments ([`Hyper`]). Their recurrence multiplies row vectors:
//!
//! ```text
//! A = beta (B - B^T) + (1-beta)(B + B^T) - gamma_A I,   W likewise from C, gamma_W
//! base:  h <- h + eps (alpha h A + tanh(h W + E(x)))
//! noisy: h <- h + d * m * (alpha h A + tanh(h W + E(x))) + add_noise xi,
//!        m = mult_noise u + 1 - mult_noise,  u ~ U[0, 1),  xi ~ N(0, I)   (training only)
//! out = D(h_T)
//! ```
//!
//! In the column-vector convention of this crate `h A` is `A^T h`, and `A^T` is the
//! Lipschitz matrix of `B^T` with the same `beta` and `gamma_A` (the symmetric part is
//! symmetric, the skew part changes sign with the transpose, the diagonal is kept). So:
//! `m_a = alpha B^T`, `gamma_a = alpha gamma_A` (the factor `alpha` is folded into `A`;
//! `alpha = 0` drops the `A h` term, `a_term = false`, keeping `m_a = B^T`), `m_w = C^T`,
//! `u = E.weight`, `b = E.bias`, `v = D.weight`, `c = D.bias`. The step: `eps` for every
//! unit with the `base` solver, the per-unit `d` with the `noisy` one (a per-unit step is
//! a model parameter here too; `learn_dt` is set since theirs is trained). Their noise is
//! this crate's `code` form with `s_add = add_noise` and `s_mult = mult_noise` (`1 - u`
//! is uniform too), written `{"form": "code", "eps": eps, "sigma1": add_noise / eps,
//! "sigma2": mult_noise / eps}`; their `base` solver injects no noise.

use super::{Tensor, Tensors};
use crate::error::{Error, Result};
use crate::model::{Activation, Model, ModelConfig, NoiseForm, NoiseSpec, Params};
use nalgebra::{DMatrix, DVector};
use std::collections::BTreeMap;

/// The keys of their `state_dict`.
pub const KEYS: [&str; 7] = ["E.weight", "E.bias", "D.weight", "D.bias", "B", "C", "d"];

/// Their solver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
    /// `h + eps * update`, no noise.
    Base,
    /// `h + d * mult * update + add`, the per-unit step `d`.
    Noisy,
}

impl Solver {
    /// Parse `base` or `noisy`.
    pub fn parse(s: &str) -> Result<Solver> {
        match s {
            "base" => Ok(Solver::Base),
            "noisy" => Ok(Solver::Noisy),
            _ => Err(Error::param(
                "solver",
                format!("\"{s}\""),
                "\"base\" or \"noisy\"",
            )),
        }
    }
    /// The name used in their `driver.py`.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Base => "base",
            Solver::Noisy => "noisy",
        }
    }
}

/// Their hyper-parameters, named as in `driver.py`; [`Hyper::default`] has its defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hyper {
    /// `--beta`, skew level in [0, 1].
    pub beta: f64,
    /// `--gamma_A`.
    pub gamma_a: f64,
    /// `--gamma_W`.
    pub gamma_w: f64,
    /// `--alpha`, the factor of `h A`.
    pub alpha: f64,
    /// `--solver`.
    pub solver: Solver,
    /// `--eps`, the step (of every unit with `base`; the initial `d` with `noisy`).
    pub eps: f64,
    /// `--add_noise`, standard deviation of the additive noise.
    pub add_noise: f64,
    /// `--mult_noise`, width of the multiplicative factor, in [0, 1].
    pub mult_noise: f64,
}

impl Default for Hyper {
    /// The defaults of their `driver.py`.
    fn default() -> Hyper {
        Hyper {
            beta: 0.75,
            gamma_a: 0.001,
            gamma_w: 0.001,
            alpha: 1.0,
            solver: Solver::Noisy,
            eps: 0.1,
            add_noise: 0.0,
            mult_noise: 0.0,
        }
    }
}

impl Hyper {
    /// The hyper-parameters as strings under their `driver.py` names (safetensors
    /// metadata, and the keyword arguments of their constructor).
    pub fn to_metadata(&self) -> BTreeMap<String, String> {
        [
            ("beta", self.beta.to_string()),
            ("gamma_A", self.gamma_a.to_string()),
            ("gamma_W", self.gamma_w.to_string()),
            ("alpha", self.alpha.to_string()),
            ("solver", self.solver.name().to_string()),
            ("eps", self.eps.to_string()),
            ("add_noise", self.add_noise.to_string()),
            ("mult_noise", self.mult_noise.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Fill fields from safetensors metadata written by [`Hyper::to_metadata`] (other keys
    /// are ignored); an unreadable value is refused with its key.
    pub fn with_metadata(mut self, meta: &BTreeMap<String, String>) -> Result<Hyper> {
        for (k, v) in meta {
            let num = || -> Result<f64> {
                v.parse::<f64>()
                    .map_err(|_| Error::param(&format!("metadata {k}"), v, "a number"))
            };
            match k.as_str() {
                "beta" => self.beta = num()?,
                "gamma_A" => self.gamma_a = num()?,
                "gamma_W" => self.gamma_w = num()?,
                "alpha" => self.alpha = num()?,
                "eps" => self.eps = num()?,
                "add_noise" => self.add_noise = num()?,
                "mult_noise" => self.mult_noise = num()?,
                "solver" => self.solver = Solver::parse(v)?,
                _ => {}
            }
        }
        Ok(self)
    }

    /// Check every field; the error names it and the allowed range.
    pub fn validate(&self) -> Result<()> {
        crate::error::check_range("beta", self.beta, 0.0, 1.0)?;
        crate::error::check_range("gamma_A", self.gamma_a, -1e6, 1e6)?;
        crate::error::check_range("gamma_W", self.gamma_w, -1e6, 1e6)?;
        crate::error::check_range("alpha", self.alpha, -1e6, 1e6)?;
        crate::error::check_range("add_noise", self.add_noise, 0.0, 1e6)?;
        crate::error::check_range("mult_noise", self.mult_noise, 0.0, 1.0)?;
        if !(self.eps.is_finite() && self.eps > 0.0 && self.eps <= 1e3) {
            return Err(Error::param("eps", self.eps, "a step in (0, 1000]"));
        }
        Ok(())
    }
}

fn tensor<'a>(t: &'a Tensors, key: &str, shape: &[usize], what: &str) -> Result<&'a Tensor> {
    let x = t.get(key).ok_or_else(|| Error::InvalidParameter {
        name: key.to_string(),
        value: "missing".to_string(),
        expected: format!("the tensor {what} of shape {shape:?} in the state_dict"),
    })?;
    if x.shape != shape {
        return Err(Error::Shape {
            name: key.to_string(),
            found: format!("{:?}", x.shape),
            expected: format!("{shape:?} ({what})"),
        });
    }
    if let Some(i) = x.values.iter().position(|v| !v.is_finite()) {
        return Err(Error::param(
            &format!("{key}[flat {i}]"),
            x.values[i],
            "a finite number",
        ));
    }
    Ok(x)
}

fn dims(t: &Tensors, key: &str, what: &str) -> Result<(usize, usize)> {
    match t.get(key).map(|x| x.shape.as_slice()) {
        Some(&[r, c]) => Ok((r, c)),
        Some(s) => Err(Error::Shape {
            name: key.to_string(),
            found: format!("{s:?}"),
            expected: format!("2 axes ({what})"),
        }),
        None => Err(Error::InvalidParameter {
            name: key.to_string(),
            value: "missing".to_string(),
            expected: format!("the tensor {what} in the state_dict"),
        }),
    }
}

fn row_major(t: &Tensor) -> DMatrix<f64> {
    DMatrix::from_row_slice(t.shape[0], t.shape[1], &t.values)
}

/// What [`import`] did beyond the mapping: notes for the user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportNotes {
    /// One sentence per choice made (for example a noise level their solver ignores).
    pub notes: Vec<String>,
}

/// An `nrnn-model/1` model from their `state_dict` and hyper-parameters (module docs for
/// the mapping). A missing or mis-shaped tensor is refused with its key and the expected
/// shape; an unknown key with its name; a step `d` that is not positive with its index.
///
/// ```
/// use nrnn::interop::{noisyrnn, Tensor, Tensors};
/// let mut t = Tensors::new();
/// let mk = |shape: Vec<usize>, v: f64| Tensor { values: vec![v; shape.iter().product()], shape };
/// t.insert("E.weight".into(), mk(vec![2, 1], 0.1));
/// t.insert("E.bias".into(), mk(vec![2], 0.0));
/// t.insert("D.weight".into(), mk(vec![3, 2], 0.2));
/// t.insert("D.bias".into(), mk(vec![3], 0.0));
/// t.insert("B".into(), mk(vec![2, 2], 0.01));
/// t.insert("C".into(), mk(vec![2, 2], 0.01));
/// t.insert("d".into(), mk(vec![2], 0.1));
/// let (m, _) = noisyrnn::import(&t, &noisyrnn::Hyper::default()).unwrap();
/// assert_eq!((m.config.hidden, m.config.input, m.config.classes), (2, 1, 3));
/// t.get_mut("C").unwrap().shape = vec![4];
/// let e = noisyrnn::import(&t, &noisyrnn::Hyper::default()).unwrap_err().to_string();
/// assert!(e.contains("`C`") && e.contains("[2, 2]"), "{e}");
/// ```
pub fn import(t: &Tensors, h: &Hyper) -> Result<(Model, ImportNotes)> {
    h.validate()?;
    if let Some(k) = t.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(Error::param(
            k,
            "present",
            &format!("only the keys {} of NoisyRNN's state_dict", KEYS.join(", ")),
        ));
    }
    let (n, p) = dims(t, "E.weight", "n_units x input_dim")?;
    let (c, _) = dims(t, "D.weight", "output_classes x n_units")?;
    let ew = tensor(t, "E.weight", &[n, p], "n_units x input_dim")?;
    let eb = tensor(t, "E.bias", &[n], "n_units")?;
    let dw = tensor(t, "D.weight", &[c, n], "output_classes x n_units")?;
    let db = tensor(t, "D.bias", &[c], "output_classes")?;
    let bm = tensor(t, "B", &[n, n], "n_units x n_units")?;
    let cm = tensor(t, "C", &[n, n], "n_units x n_units")?;
    let mut notes = ImportNotes::default();
    let dt = match h.solver {
        Solver::Base => {
            if let Some(d) = t.get("d") {
                if d.shape != [n] {
                    tensor(t, "d", &[n], "n_units")?;
                }
            }
            if h.add_noise > 0.0 || h.mult_noise > 0.0 {
                notes.notes.push(
                    "solver base: add_noise and mult_noise are ignored, as their base solver injects no noise"
                        .into(),
                );
            }
            DVector::from_element(n, h.eps)
        }
        Solver::Noisy => {
            let d = tensor(t, "d", &[n], "n_units, the learnable step")?;
            if let Some(i) = d.values.iter().position(|&v| !(v > 0.0 && v <= 1e3)) {
                return Err(Error::param(
                    &format!("d[{i}]"),
                    d.values[i],
                    "a step in (0, 1000] (this crate's per-unit step must be positive)",
                ));
            }
            DVector::from_vec(d.values.clone())
        }
    };
    let noise = if h.solver == Solver::Noisy && (h.add_noise > 0.0 || h.mult_noise > 0.0) {
        NoiseSpec::new(
            NoiseForm::Code,
            h.eps,
            h.add_noise / h.eps,
            h.mult_noise / h.eps,
        )?
    } else {
        NoiseSpec::off()
    };
    let a_term = h.alpha != 0.0;
    let scale = if a_term { h.alpha } else { 1.0 };
    if a_term && h.alpha != 1.0 {
        notes.notes.push(format!(
            "alpha = {} folded into A: m_a = alpha B^T, gamma_a = alpha gamma_A",
            h.alpha
        ));
    }
    if !a_term {
        notes
            .notes
            .push("alpha = 0: the A h term is off (a_term = false)".into());
    }
    let config = ModelConfig {
        hidden: n,
        input: p,
        classes: c,
        beta: h.beta,
        gamma_a: scale * h.gamma_a,
        gamma_w: h.gamma_w,
        activation: Activation::Tanh,
        a_term,
        learn_dt: h.solver == Solver::Noisy,
        noise,
    };
    config.validate()?;
    let params = Params {
        m_a: row_major(bm).transpose() * scale,
        m_w: row_major(cm).transpose(),
        u: row_major(ew),
        b: DVector::from_vec(eb.values.clone()),
        v: row_major(dw),
        c: DVector::from_vec(db.values.clone()),
        dt,
    };
    let model = Model { config, params };
    model.validate()?;
    Ok((model, notes))
}

fn rows_of(m: &DMatrix<f64>) -> Tensor {
    Tensor {
        shape: vec![m.nrows(), m.ncols()],
        values: m.transpose().as_slice().to_vec(),
    }
}

fn vec_of(v: &DVector<f64>) -> Tensor {
    Tensor {
        shape: vec![v.len()],
        values: v.as_slice().to_vec(),
    }
}

/// Their `state_dict` and hyper-parameters for a model of this crate, the inverse of
/// [`import`] up to the factor `alpha` (exported as 1, folded into `B` and `gamma_A`; 0
/// when the `A h` term is off). The solver is `base` for a fixed equal step without
/// noise, else `noisy`. Refused, with the field: an activation other than `tanh`, and
/// noise of the `diag` or `scalar` forms, which their model cannot represent.
pub fn export(model: &Model) -> Result<(Tensors, Hyper)> {
    model.validate()?;
    let cfg = &model.config;
    let pr = &model.params;
    if cfg.activation != Activation::Tanh {
        return Err(Error::param(
            "activation",
            format!("\"{}\"", cfg.activation.name()),
            "\"tanh\" (their model has only tanh)",
        ));
    }
    let noise_on = !cfg.noise.is_off();
    if noise_on && cfg.noise.form != NoiseForm::Code {
        return Err(Error::param(
            "noise.form",
            format!("\"{}\"", cfg.noise.form.name()),
            "\"code\" (their noise), or noise off (eps = 0)",
        ));
    }
    let d0 = pr.dt[0];
    let uniform = pr.dt.iter().all(|&d| d == d0);
    let solver = if noise_on || cfg.learn_dt || !uniform {
        Solver::Noisy
    } else {
        Solver::Base
    };
    let (eps, add, mult) = if noise_on {
        (
            cfg.noise.eps,
            cfg.noise.eps * cfg.noise.sigma1,
            cfg.noise.eps * cfg.noise.sigma2,
        )
    } else {
        (d0, 0.0, 0.0)
    };
    let hyper = Hyper {
        beta: cfg.beta,
        gamma_a: cfg.gamma_a,
        gamma_w: cfg.gamma_w,
        alpha: if cfg.a_term { 1.0 } else { 0.0 },
        solver,
        eps,
        add_noise: add,
        mult_noise: mult,
    };
    let mut t = Tensors::new();
    t.insert("E.weight".into(), rows_of(&pr.u));
    t.insert("E.bias".into(), vec_of(&pr.b));
    t.insert("D.weight".into(), rows_of(&pr.v));
    t.insert("D.bias".into(), vec_of(&pr.c));
    t.insert("B".into(), rows_of(&pr.m_a.transpose()));
    t.insert("C".into(), rows_of(&pr.m_w.transpose()));
    t.insert("d".into(), vec_of(&pr.dt));
    Ok((t, hyper))
}

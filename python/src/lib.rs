//! `nrnn._native`: the compiled half of the Python package `nrnn`.
//!
//! Thin by design: a model object over [`nrnn::model::Model`] (load, save, JSON), the
//! NoisyRNN importer and exporter over [`nrnn::interop::noisyrnn`] on NumPy arrays, and
//! [`run`], which parses a command line with the CLI's own parser and runs the command in
//! this process ([`nrnn::cli::run`]), returning what it printed: the Python functions
//! `nrnn.eval`, `nrnn.hessian`, ... (in `nrnn/__init__.py`) are that command with `--json`,
//! so their results are the command's JSON by construction. Every error is a `ValueError`
//! with the message the CLI prints after `error: `.

use clap::Parser;
use nrnn::interop::noisyrnn::{self, Hyper, Solver};
use nrnn::interop::{Tensor, Tensors};
use numpy::{PyArray1, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;

fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A model: shapes, hyper-parameters and parameters (an `nrnn-model/1` file in memory).
#[pyclass(module = "nrnn._native", name = "Model")]
#[derive(Clone)]
pub struct PyModel {
    inner: nrnn::model::Model,
}

#[pymethods]
impl PyModel {
    /// Parse a model from the text of an `nrnn-model/1` file.
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<PyModel> {
        let v = nrnn::json::parse_document(text).map_err(value_error)?;
        let inner = nrnn::model::Model::from_json(&v).map_err(value_error)?;
        Ok(PyModel { inner })
    }
    /// The `nrnn-model/1` JSON text of the model.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(&self.inner.to_json()).map_err(value_error)
    }
    /// Write the model file (atomically).
    fn save(&self, path: PathBuf) -> PyResult<()> {
        self.inner.save(&path).map_err(value_error)
    }
    /// Hidden units n.
    #[getter]
    fn hidden(&self) -> usize {
        self.inner.config.hidden
    }
    /// Input dimension p.
    #[getter]
    fn input(&self) -> usize {
        self.inner.config.input
    }
    /// Classes (outputs) c.
    #[getter]
    fn classes(&self) -> usize {
        self.inner.config.classes
    }
    fn __repr__(&self) -> String {
        let c = &self.inner.config;
        format!(
            "nrnn.Model(hidden={}, input={}, classes={}, beta={}, noise={}(eps={}))",
            c.hidden,
            c.input,
            c.classes,
            c.beta,
            c.noise.form.name(),
            c.noise.eps
        )
    }
}

/// Read and check an `nrnn-model/1` file.
#[pyfunction]
fn load_model(path: PathBuf) -> PyResult<PyModel> {
    let inner = nrnn::model::Model::load(&path).map_err(value_error)?;
    Ok(PyModel { inner })
}

/// A model from the authors' `state_dict` (a dict of float64 arrays) and their
/// hyper-parameters; returns the model and the importer's notes.
#[pyfunction]
#[pyo3(signature = (state_dict, beta, gamma_a, gamma_w, alpha, solver, eps, add_noise, mult_noise))]
#[allow(clippy::too_many_arguments)]
fn import_noisyrnn(
    state_dict: &Bound<'_, PyDict>,
    beta: f64,
    gamma_a: f64,
    gamma_w: f64,
    alpha: f64,
    solver: &str,
    eps: f64,
    add_noise: f64,
    mult_noise: f64,
) -> PyResult<(PyModel, Vec<String>)> {
    let mut t = Tensors::new();
    for (k, v) in state_dict.iter() {
        let key: String = k.extract()?;
        let arr: PyReadonlyArrayDyn<'_, f64> = v.extract().map_err(|_| {
            value_error(format!(
                "state_dict[{key:?}]: expected a float64 NumPy array"
            ))
        })?;
        let shape = arr.shape().to_vec();
        let values = arr.as_array().iter().copied().collect();
        t.insert(key, Tensor { shape, values });
    }
    let h = Hyper {
        beta,
        gamma_a,
        gamma_w,
        alpha,
        solver: Solver::parse(solver).map_err(value_error)?,
        eps,
        add_noise,
        mult_noise,
    };
    let (inner, notes) = noisyrnn::import(&t, &h).map_err(value_error)?;
    Ok((PyModel { inner }, notes.notes))
}

/// The authors' `state_dict` (float64 arrays) and constructor hyper-parameters of a model.
#[pyfunction]
fn export_noisyrnn<'py>(
    py: Python<'py>,
    model: &PyModel,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyDict>)> {
    let (t, h) = noisyrnn::export(&model.inner).map_err(value_error)?;
    let arrays = PyDict::new(py);
    for (k, v) in t {
        let a = PyArray1::from_vec(py, v.values).reshape(v.shape)?;
        arrays.set_item(k, a)?;
    }
    let hyper = PyDict::new(py);
    hyper.set_item("beta", h.beta)?;
    hyper.set_item("gamma_A", h.gamma_a)?;
    hyper.set_item("gamma_W", h.gamma_w)?;
    hyper.set_item("alpha", h.alpha)?;
    hyper.set_item("solver", h.solver.name())?;
    hyper.set_item("eps", h.eps)?;
    hyper.set_item("add_noise", h.add_noise)?;
    hyper.set_item("mult_noise", h.mult_noise)?;
    hyper.set_item("n_units", model.inner.config.hidden)?;
    hyper.set_item("input_dim", model.inner.config.input)?;
    hyper.set_item("output_classes", model.inner.config.classes)?;
    Ok((arrays, hyper))
}

/// One command runs at a time: standard output is redirected while it runs.
static RUN: Mutex<()> = Mutex::new(());

/// Redirects file descriptor 1 to a temporary file until dropped.
struct Capture {
    file: std::fs::File,
    saved: libc::c_int,
}

impl Capture {
    fn start() -> std::io::Result<Capture> {
        std::io::stdout().flush()?;
        let file = tempfile::tempfile()?;
        use std::os::fd::AsRawFd;
        // SAFETY: plain descriptor calls on descriptors this function owns or on fd 1.
        let saved = unsafe { libc::dup(1) };
        if saved < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if unsafe { libc::dup2(file.as_raw_fd(), 1) } < 0 {
            let e = std::io::Error::last_os_error();
            unsafe { libc::close(saved) };
            return Err(e);
        }
        Ok(Capture { file, saved })
    }
    fn finish(mut self) -> std::io::Result<String> {
        std::io::stdout().flush()?;
        self.restore();
        let mut s = String::new();
        self.file.rewind()?;
        self.file.read_to_string(&mut s)?;
        Ok(s)
    }
    fn restore(&mut self) {
        if self.saved >= 0 {
            // SAFETY: `saved` is the descriptor duplicated in `start`.
            unsafe {
                libc::dup2(self.saved, 1);
                libc::close(self.saved);
            }
            self.saved = -1;
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = std::io::stdout().flush();
        self.restore();
    }
}

/// Run `nrnn ARGS...` in this process, as the command-line program does, and return what
/// it printed on standard output. A parse error or a failed command raises `ValueError`
/// with the program's message.
#[pyfunction]
fn run(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let cli = nrnn::cli::Cli::try_parse_from(std::iter::once("nrnn".to_string()).chain(args))
        .map_err(|e| value_error(e.to_string().trim_end()))?;
    // Python's own buffered output goes first.
    if let Ok(sys) = py.import("sys") {
        if let Ok(out) = sys.getattr("stdout") {
            let _ = out.call_method0("flush");
        }
    }
    let _guard = RUN.lock().unwrap_or_else(|p| p.into_inner());
    let cap = Capture::start().map_err(|e| value_error(format!("capturing the output: {e}")))?;
    let result = nrnn::cli::run(cli);
    let text = cap
        .finish()
        .map_err(|e| value_error(format!("capturing the output: {e}")))?;
    match result {
        Ok(()) => Ok(text),
        Err(e) => Err(value_error(nrnn::error::chain_message(&e))),
    }
}

/// The compiled module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyModel>()?;
    m.add_function(wrap_pyfunction!(load_model, m)?)?;
    m.add_function(wrap_pyfunction!(import_noisyrnn, m)?)?;
    m.add_function(wrap_pyfunction!(export_noisyrnn, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

//! The recurrent-cell interface: [`Recurrent`], the one trait through which training,
//! evaluation, attacks and input gradients see a model, and [`Network`], a model of any
//! cell (what a model file holds).
//!
//! ```text
//! lipschitz  h_{k+1} = h_k + d (.) (A h_k + a(W h_k + U x_k + b)) + noise_k   (super::cell)
//! lstm       [h; c]_{k+1} = LSTM([h; c]_k, x_k) + noise on h                   (super::lstm)
//! gru        h_{k+1} = GRU(h_k, x_k) + noise                                   (super::gru)
//! cornn      [y; z]_{k+1} = coRNN([y; z]_k, x_k) + noise on y                  (super::cornn)
//! logits = V h_K + c        (h: the read-out part of the state)
//! ```
//!
//! The Lipschitz RNN ([`Model`]) keeps its batched kernels: its implementation of the trait
//! calls its own methods, so every result is the one it had before the trait. Tools that
//! need only a Jacobian take any [`Recurrent`] and dispatch once on
//! [`Recurrent::to_network`]: Lyapunov exponents ([`crate::dynamics::Dynamics`]), Hessians
//! ([`crate::hessian::ParamHessian`]) and margins ([`crate::margin::margins`]; the
//! certified bound only for the Lipschitz RNN). Tools that need the Lipschitz structure
//! (A and W: kappa and the stability conditions, the closed-form regularizer, the SDE
//! simulator, the certified margin bound) take a [`Model`]; a model file of another cell
//! is refused by [`Model::from_json`] with an error naming the cell, and
//! [`Network::lipschitz`] gives the same error in code.

use super::baseline::{Baseline, BaselineCell};
use super::cornn::CornnHyper;
use super::{LossGrad, Model, NoiseSource, NoiseSpec, Params};
use crate::data::Batch;
use crate::error::{Error, Result};
use crate::loss::Loss;
use crate::regularizer::probe::Probes;
use nalgebra::DMatrix;
use serde_json::Value;
use std::path::Path;

/// The kind of recurrent cell (`"cell"` in model files and in `nrnn train --cell`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// The (noisy) Lipschitz RNN, the paper's model.
    #[default]
    Lipschitz,
    /// LSTM.
    Lstm,
    /// GRU.
    Gru,
    /// coRNN.
    Cornn,
}

impl CellKind {
    /// Parse a name (`lipschitz`, `lstm`, `gru`, `cornn`).
    ///
    /// ```
    /// use nrnn::model::network::CellKind;
    /// assert_eq!(CellKind::parse("gru").unwrap(), CellKind::Gru);
    /// assert!(CellKind::parse("rnn").unwrap_err().to_string().contains("cell"));
    /// ```
    pub fn parse(s: &str) -> Result<CellKind> {
        match s {
            "lipschitz" => Ok(CellKind::Lipschitz),
            "lstm" => Ok(CellKind::Lstm),
            "gru" => Ok(CellKind::Gru),
            "cornn" => Ok(CellKind::Cornn),
            _ => Err(Error::param(
                "cell",
                format!("\"{s}\""),
                "one of \"lipschitz\", \"lstm\", \"gru\", \"cornn\"",
            )),
        }
    }
    /// The name used in files and flags.
    pub fn name(self) -> &'static str {
        match self {
            CellKind::Lipschitz => "lipschitz",
            CellKind::Lstm => "lstm",
            CellKind::Gru => "gru",
            CellKind::Cornn => "cornn",
        }
    }
    /// Whether this is the Lipschitz RNN (the default, left out of files).
    pub fn is_lipschitz(&self) -> bool {
        *self == CellKind::Lipschitz
    }
    /// The baseline cell of this kind (`None` for the Lipschitz RNN).
    pub fn baseline(self, cornn: CornnHyper) -> Option<BaselineCell> {
        match self {
            CellKind::Lipschitz => None,
            CellKind::Lstm => Some(BaselineCell::Lstm),
            CellKind::Gru => Some(BaselineCell::Gru),
            CellKind::Cornn => Some(BaselineCell::Cornn(cornn)),
        }
    }
}

/// The error of a tool that needs the Lipschitz structure, given a model of `cell`.
pub fn unsupported(cell: CellKind, what: &str) -> Error {
    Error::Other(format!(
        "the {} cell does not support {what}: it needs the Lipschitz RNN's structure (A, W and the Euler step); \
         train a model with --cell lipschitz for it (nrnn eval, lyapunov, hessian, margin, and attacks through nrnn::perturb, work for every cell)",
        cell.name()
    ))
}

/// The explicit objective of a batch, its gradient and its terms `(l, Q, R)`
/// ([`Recurrent::explicit_grad`]).
pub type Explicit<G> = Result<(f64, G, [f64; 3])>;

/// What every consumer of a model needs: shapes, the noisy forward pass, the exact
/// gradient in the parameters and the inputs, the flat parameter vector an optimizer
/// moves, and the file format. Implemented by [`Model`] (the Lipschitz RNN, with its
/// batched kernels), [`Baseline`] (LSTM, GRU, coRNN) and [`Network`] (either).
pub trait Recurrent: Clone + Send + Sync + std::fmt::Debug {
    /// The gradient as computed (converted to flat coordinates by [`Recurrent::flat_grad`]).
    type Grad: Clone + std::fmt::Debug + Send + Sync;
    /// The cell.
    fn cell(&self) -> CellKind;
    /// Hidden units n.
    fn hidden(&self) -> usize;
    /// Input dimension p.
    fn input(&self) -> usize;
    /// Outputs c.
    fn classes(&self) -> usize;
    /// The hidden-state noise injected when noise is on.
    fn noise(&self) -> &NoiseSpec;
    /// The configuration (everything but the parameters) as text, for comparisons and
    /// error messages.
    fn config_text(&self) -> String;
    /// Check the configuration and the parameters.
    fn validate(&self) -> Result<()>;
    /// Mean loss, exact gradient, logits and (with `want_dx`) the input gradient of a batch.
    fn loss_grad(
        &self,
        batch: &Batch,
        loss: Loss,
        noise: NoiseSource,
        want_dx: bool,
    ) -> LossGrad<Self::Grad>;
    /// Logits of a batch (`classes x B`).
    fn logits(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64>;
    /// Mean loss and accuracy of a batch, noise off.
    fn evaluate(&self, batch: &Batch, loss: Loss) -> (f64, f64);
    /// Length of the flat vector.
    fn n_flat(&self) -> usize;
    /// The trainable parameters as one vector (the coordinates the optimizer moves).
    fn flat(&self) -> Vec<f64>;
    /// Set the parameters from a flat vector.
    fn set_flat(&mut self, theta: &[f64]);
    /// The gradient in the flat coordinates.
    fn flat_grad(&self, grad: &Self::Grad) -> Vec<f64>;
    /// Every parameter as stored (exact, for checkpoints).
    fn raw_params(&self) -> Vec<f64>;
    /// Set every parameter from [`Recurrent::raw_params`]'s layout.
    fn set_raw_params(&mut self, v: &[f64]) -> Result<()>;
    /// The gradient as a JSON object of named blocks (`nrnn eval --grad`).
    fn grad_json(&self, grad: &Self::Grad) -> Value;
    /// The largest step of the recurrence, named in the divergence message.
    fn max_step(&self) -> Option<f64>;
    /// The read-out matrix `V` of `logits = V h_K + c` (`classes x hidden`).
    fn readout(&self) -> &DMatrix<f64>;
    /// This model as a [`Network`] (a copy). The tools whose algorithm differs by cell
    /// (Hessian-vector products in dual numbers, tangent maps) dispatch on it once.
    fn to_network(&self) -> Network;
    /// The model file contents.
    fn to_json(&self) -> Value;
    /// Parse and check a model file's contents.
    fn from_json(v: &Value) -> Result<Self>;
    /// Write the model file atomically.
    fn save(&self, path: &Path) -> Result<()> {
        crate::report::write_json_atomic(path, &self.to_json())
    }
    /// The deterministic explicit objective `l + (eps^2/2)(Q + R)` of a batch at the
    /// model's noise (docs/theory.md section 7), its gradient and its terms `(l, Q, R)`:
    /// exact, or with `p = Some(probes)` the probe estimate
    /// ([`crate::regularizer::probe::batch_probe_gradient`]). Only the Lipschitz RNN has a
    /// closed-form `Q + R`: the default refuses.
    fn explicit_grad(&self, b: &Batch, l: Loss, p: Option<Probes>) -> Explicit<Self::Grad> {
        let _ = (b, l, p);
        Err(unsupported(
            self.cell(),
            "the explicit objective (--objective explicit)",
        ))
    }
}

fn rows(m: &DMatrix<f64>) -> Value {
    Value::Array(
        (0..m.nrows())
            .map(|i| Value::from(m.row(i).iter().copied().collect::<Vec<f64>>()))
            .collect(),
    )
}

/// A vector block (one column) as a flat array, a matrix as rows.
pub(crate) fn block_json(m: &DMatrix<f64>) -> Value {
    if m.ncols() == 1 {
        Value::from(m.iter().copied().collect::<Vec<f64>>())
    } else {
        rows(m)
    }
}

/// The trait methods that call the type's own method of the same name.
macro_rules! own_methods {
    ($t:ty, $g:ty) => {
        fn validate(&self) -> Result<()> {
            <$t>::validate(self)
        }
        fn loss_grad(&self, b: &Batch, l: Loss, n: NoiseSource, dx: bool) -> LossGrad<$g> {
            <$t>::loss_grad(self, b, l, n, dx)
        }
        fn logits(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64> {
            <$t>::logits(self, batch, noise)
        }
        fn evaluate(&self, batch: &Batch, loss: Loss) -> (f64, f64) {
            <$t>::evaluate(self, batch, loss)
        }
        fn n_flat(&self) -> usize {
            <$t>::n_flat(self)
        }
        fn flat(&self) -> Vec<f64> {
            <$t>::flat(self)
        }
        fn to_json(&self) -> Value {
            <$t>::to_json(self)
        }
        fn from_json(v: &Value) -> Result<Self> {
            <$t>::from_json(v)
        }
    };
}

impl Recurrent for Model {
    type Grad = Params<f64>;
    own_methods!(Model, Params<f64>);
    fn cell(&self) -> CellKind {
        CellKind::Lipschitz
    }
    fn hidden(&self) -> usize {
        self.config.hidden
    }
    fn input(&self) -> usize {
        self.config.input
    }
    fn classes(&self) -> usize {
        self.config.classes
    }
    fn noise(&self) -> &NoiseSpec {
        &self.config.noise
    }
    fn config_text(&self) -> String {
        format!("{:?}", self.config)
    }
    fn set_flat(&mut self, theta: &[f64]) {
        Model::set_flat(self, theta)
    }
    fn flat_grad(&self, grad: &Params<f64>) -> Vec<f64> {
        Model::flat_grad(self, grad)
    }
    fn raw_params(&self) -> Vec<f64> {
        self.params
            .blocks()
            .iter()
            .flat_map(|(_, s)| s.iter().copied())
            .collect()
    }
    fn set_raw_params(&mut self, v: &[f64]) -> Result<()> {
        let total: usize = self.params.blocks().iter().map(|(_, s)| s.len()).sum();
        if v.len() != total {
            return Err(Error::shape("checkpoint params", (v.len(), 1), (total, 1)));
        }
        let mut at = 0;
        for (_, s) in self.params.blocks_mut() {
            let len = s.len();
            s.copy_from_slice(&v[at..at + len]);
            at += len;
        }
        Ok(())
    }
    fn grad_json(&self, g: &Params<f64>) -> Value {
        let mut gj = serde_json::json!({
            "m_a": rows(&g.m_a), "m_w": rows(&g.m_w), "u": rows(&g.u),
            "b": g.b.iter().copied().collect::<Vec<f64>>(),
            "v": rows(&g.v),
            "c": g.c.iter().copied().collect::<Vec<f64>>(),
        });
        if self.config.learn_dt {
            gj["dt"] = serde_json::json!(g.dt.iter().copied().collect::<Vec<f64>>());
        }
        gj
    }
    fn max_step(&self) -> Option<f64> {
        Some(self.params.dt.iter().fold(0.0f64, |m, &d| m.max(d)))
    }
    fn readout(&self) -> &DMatrix<f64> {
        &self.params.v
    }
    fn to_network(&self) -> Network {
        Network::Lipschitz(self.clone())
    }
    fn explicit_grad(&self, b: &Batch, l: Loss, p: Option<Probes>) -> Explicit<Params<f64>> {
        use crate::regularizer::{gradient, probe};
        let w = gradient::Weights::explicit(self.config.noise.eps);
        let g = match p {
            None => gradient::batch_gradient(self, b, l, w)?,
            Some(pr) => probe::batch_probe_gradient(self, b, l, w, pr)?.0,
        };
        Ok((g.value(w), g.grad.clone(), [g.loss, g.q, g.r]))
    }
}

impl Recurrent for Baseline {
    type Grad = Vec<f64>;
    own_methods!(Baseline, Vec<f64>);
    fn cell(&self) -> CellKind {
        self.cell.kind()
    }
    fn hidden(&self) -> usize {
        self.hidden
    }
    fn input(&self) -> usize {
        self.input
    }
    fn classes(&self) -> usize {
        self.classes
    }
    fn noise(&self) -> &NoiseSpec {
        &self.noise
    }
    fn config_text(&self) -> String {
        format!(
            "{:?} hidden {} input {} classes {} noise {:?}",
            self.cell, self.hidden, self.input, self.classes, self.noise
        )
    }
    fn set_flat(&mut self, theta: &[f64]) {
        Baseline::set_flat(self, theta).expect("flat parameter vector has the wrong length")
    }
    fn flat_grad(&self, grad: &Vec<f64>) -> Vec<f64> {
        grad.clone()
    }
    fn raw_params(&self) -> Vec<f64> {
        Baseline::flat(self)
    }
    fn set_raw_params(&mut self, v: &[f64]) -> Result<()> {
        Baseline::set_flat(self, v)
    }
    fn grad_json(&self, g: &Vec<f64>) -> Value {
        let mut out = serde_json::Map::new();
        let mut at = 0;
        for (name, r, c) in self.block_shapes() {
            let m = DMatrix::from_column_slice(r, c, &g[at..at + r * c]);
            at += r * c;
            out.insert(name.to_string(), block_json(&m));
        }
        Value::Object(out)
    }
    fn max_step(&self) -> Option<f64> {
        match &self.cell {
            BaselineCell::Cornn(hy) => Some(hy.dt),
            _ => None,
        }
    }
    fn readout(&self) -> &DMatrix<f64> {
        &self.params[self.params.len() - 2]
    }
    fn to_network(&self) -> Network {
        Network::Baseline(self.clone())
    }
}

/// A model of any cell: what a model file holds. (The variants differ in size; a model
/// is moved rarely, so it is not boxed.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Network {
    /// The Lipschitz RNN.
    Lipschitz(Model),
    /// LSTM, GRU or coRNN.
    Baseline(Baseline),
}

/// The gradient of a [`Network`].
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum NetworkGrad {
    /// Of the Lipschitz RNN, by block.
    Lipschitz(Params<f64>),
    /// Of a baseline, in its flat layout.
    Baseline(Vec<f64>),
}

impl Network {
    /// Read and check a model file of any cell (`"cell"` absent: the Lipschitz RNN, read
    /// by [`Model::load`] exactly as before).
    pub fn load(path: &Path) -> Result<Network> {
        super::io::read_model_file(path, Network::from_json)
    }

    /// The Lipschitz RNN, or the error of a tool (`what`) that needs its structure.
    ///
    /// ```
    /// use nrnn::model::{baseline::{Baseline, BaselineCell}, network::Network, NoiseSpec};
    /// let b = Baseline::init(BaselineCell::Gru, 3, 1, 2, NoiseSpec::off(), 1).unwrap();
    /// let e = Network::Baseline(b).lipschitz("kappa").unwrap_err().to_string();
    /// assert!(e.contains("gru cell does not support kappa"), "{e}");
    /// ```
    pub fn lipschitz(&self, what: &str) -> Result<&Model> {
        match self {
            Network::Lipschitz(m) => Ok(m),
            Network::Baseline(b) => Err(unsupported(b.cell.kind(), what)),
        }
    }
}

macro_rules! both {
    ($self:expr, $m:ident => $e:expr) => {
        match $self {
            Network::Lipschitz($m) => $e,
            Network::Baseline($m) => $e,
        }
    };
}

impl Recurrent for Network {
    type Grad = NetworkGrad;
    fn cell(&self) -> CellKind {
        both!(self, m => m.cell())
    }
    fn hidden(&self) -> usize {
        both!(self, m => Recurrent::hidden(m))
    }
    fn input(&self) -> usize {
        both!(self, m => Recurrent::input(m))
    }
    fn classes(&self) -> usize {
        both!(self, m => Recurrent::classes(m))
    }
    fn noise(&self) -> &NoiseSpec {
        both!(self, m => Recurrent::noise(m))
    }
    fn config_text(&self) -> String {
        both!(self, m => m.config_text())
    }
    fn validate(&self) -> Result<()> {
        both!(self, m => m.validate())
    }
    fn loss_grad(&self, b: &Batch, l: Loss, n: NoiseSource, dx: bool) -> LossGrad<NetworkGrad> {
        match self {
            Network::Lipschitz(m) => m.loss_grad(b, l, n, dx).map_grad(NetworkGrad::Lipschitz),
            Network::Baseline(m) => m.loss_grad(b, l, n, dx).map_grad(NetworkGrad::Baseline),
        }
    }
    fn logits(&self, batch: &Batch, noise: NoiseSource) -> DMatrix<f64> {
        both!(self, m => m.logits(batch, noise))
    }
    fn evaluate(&self, batch: &Batch, loss: Loss) -> (f64, f64) {
        both!(self, m => m.evaluate(batch, loss))
    }
    fn n_flat(&self) -> usize {
        both!(self, m => m.n_flat())
    }
    fn flat(&self) -> Vec<f64> {
        both!(self, m => m.flat())
    }
    fn set_flat(&mut self, theta: &[f64]) {
        both!(self, m => Recurrent::set_flat(m, theta))
    }
    fn flat_grad(&self, grad: &NetworkGrad) -> Vec<f64> {
        match (self, grad) {
            (Network::Lipschitz(m), NetworkGrad::Lipschitz(g)) => m.flat_grad(g),
            (Network::Baseline(m), NetworkGrad::Baseline(g)) => Recurrent::flat_grad(m, g),
            _ => panic!("flat_grad: a gradient of another cell"),
        }
    }
    fn raw_params(&self) -> Vec<f64> {
        both!(self, m => m.raw_params())
    }
    fn set_raw_params(&mut self, v: &[f64]) -> Result<()> {
        both!(self, m => m.set_raw_params(v))
    }
    fn grad_json(&self, grad: &NetworkGrad) -> Value {
        match (self, grad) {
            (Network::Lipschitz(m), NetworkGrad::Lipschitz(g)) => m.grad_json(g),
            (Network::Baseline(m), NetworkGrad::Baseline(g)) => m.grad_json(g),
            _ => panic!("grad_json: a gradient of another cell"),
        }
    }
    fn max_step(&self) -> Option<f64> {
        both!(self, m => m.max_step())
    }
    fn readout(&self) -> &DMatrix<f64> {
        both!(self, m => Recurrent::readout(m))
    }
    fn to_network(&self) -> Network {
        self.clone()
    }
    fn explicit_grad(&self, b: &Batch, l: Loss, p: Option<Probes>) -> Explicit<NetworkGrad> {
        match self {
            Network::Lipschitz(m) => m
                .explicit_grad(b, l, p)
                .map(|(v, g, t)| (v, NetworkGrad::Lipschitz(g), t)),
            Network::Baseline(m) => m
                .explicit_grad(b, l, p)
                .map(|(v, g, t)| (v, NetworkGrad::Baseline(g), t)),
        }
    }
    fn to_json(&self) -> Value {
        both!(self, m => m.to_json())
    }
    fn from_json(v: &Value) -> Result<Self> {
        match v.get("cell") {
            None => Ok(Network::Lipschitz(Model::from_json(v)?)),
            Some(c) => {
                let kind = CellKind::parse(c.as_str().unwrap_or("(not a string)"))?;
                if kind.is_lipschitz() {
                    Ok(Network::Lipschitz(Model::from_json(v)?))
                } else {
                    Ok(Network::Baseline(Baseline::from_json(v)?))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    fn baselines() -> Vec<Baseline> {
        let noise = NoiseSpec::new(crate::model::NoiseForm::Diag, 0.1, 1.0, 0.5).unwrap();
        [
            BaselineCell::Lstm,
            BaselineCell::Gru,
            BaselineCell::Cornn(CornnHyper::default()),
        ]
        .into_iter()
        .map(|c| Baseline::init(c, 3, 2, 4, noise, 7).unwrap())
        .collect()
    }

    /// A model file of every cell reads back as the same model; a Lipschitz file reads as
    /// the Lipschitz variant and writes the same JSON as before.
    #[test]
    fn files_of_every_cell_round_trip() {
        for b in baselines() {
            let v = b.to_json();
            assert_eq!(v["cell"], b.cell.kind().name());
            assert_eq!(
                Network::from_json(&v).unwrap(),
                Network::Baseline(b.clone())
            );
        }
        let m = Model::init(ModelConfig::new(3, 2, 4), 0.1, 1).unwrap();
        let net = Network::from_json(&m.to_json()).unwrap();
        assert_eq!(net.to_json(), m.to_json());
        assert!(m.to_json().get("cell").is_none());
        let mut named = m.to_json();
        named["cell"] = serde_json::json!("lipschitz");
        assert_eq!(Network::from_json(&named).unwrap(), net);
    }

    /// A Lipschitz-only reader refuses another cell by name; unknown cells and keys are refused.
    #[test]
    fn lipschitz_tools_refuse_other_cells() {
        for b in baselines() {
            let name = b.cell.kind().name();
            let e = Model::from_json(&b.to_json()).unwrap_err().to_string();
            assert!(
                e.contains(&format!("the {name} cell does not support")),
                "{e}"
            );
            let e = Network::Baseline(b.clone())
                .lipschitz("kappa")
                .unwrap_err()
                .to_string();
            assert!(e.contains("kappa"), "{e}");
            let mut bad = b.to_json();
            bad["m_a"] = serde_json::json!([[0.0]]);
            let e = Network::from_json(&bad).unwrap_err().to_string();
            assert!(e.contains("m_a"), "{e}");
        }
        let mut v = baselines()[0].to_json();
        v["cell"] = serde_json::json!("rnn");
        assert!(Network::from_json(&v)
            .unwrap_err()
            .to_string()
            .contains("cell"));
    }

    /// The attacks of `perturb` run on every cell through the interface: FGSM and PGD stay
    /// within their budget, and PGD is at least as strong as FGSM on every example.
    #[test]
    fn attacks_run_on_every_cell() {
        use crate::perturb::{fgsm, pgd, InputRange};
        let d = crate::data::digits().head(6);
        let clean = d.all();
        let loss = Loss::CrossEntropy;
        let range = InputRange::new(0.0, 1.0).unwrap();
        for c in [
            BaselineCell::Lstm,
            BaselineCell::Gru,
            BaselineCell::Cornn(CornnHyper::default()),
        ] {
            let net = Network::Baseline(Baseline::init(c, 5, 1, 10, NoiseSpec::off(), 3).unwrap());
            let a = fgsm(&net, &clean, loss, 0.05, range).unwrap();
            let b = pgd(&net, &clean, loss, 0.05, 3, 0.02, range).unwrap();
            for adv in [&a, &b] {
                let moved = adv.batch.x.iter().zip(clean.x.iter());
                assert!(moved
                    .into_iter()
                    .all(|(p, q)| (p - q).abs() <= 0.05 + 1e-15));
            }
            // PGD's first iterate is the FGSM point and it keeps its best iterate.
            for (p, f) in b.losses.iter().zip(&a.losses) {
                assert!(p >= f, "{c:?}: pgd {p} < fgsm {f}");
            }
            assert!(a.losses.iter().all(|l| l.is_finite()));
        }
    }

    /// The noise of a baseline is refused in a form other than diag.
    #[test]
    fn baselines_take_diag_noise_only() {
        let nz = NoiseSpec::new(crate::model::NoiseForm::Scalar, 0.1, 1.0, 0.5).unwrap();
        let e = Baseline::init(BaselineCell::Gru, 3, 1, 2, nz, 1)
            .unwrap_err()
            .to_string();
        assert!(e.contains("noise") && e.contains("diag"), "{e}");
    }
}

//! # nrnn: noisy recurrent neural networks, computed and checked
//!
//! An RNN is read as the Euler-Maruyama discretization of an SDE driven by its input,
//! `dh = (A h + a(W h + U x + b)) dt + eps sigma(h) dB` (Lim, Erichson, Hodgkinson, Mahoney,
//! "Noisy Recurrent Neural Networks", NeurIPS 2021). Map from the paper's claims to modules:
//!
//! | claim | module |
//! |---|---|
//! | the RNN as an SDE, noise forms, exact gradients | [`model`], [`sde`], [`loss`] |
//! | noisy training | [`train`] |
//! | data sets (synthetic, embedded digits, MNIST, ECG5000) | [`data`] |
//! | explicit regularizer (Q + R)/2, Monte Carlo check | [`regularizer`] |
//! | stability conditions, Lyapunov exponents, stochastic stabilization | [`dynamics`] |
//! | flat minima: Hessian spectra and trace | [`hessian`] |
//! | classification margins | [`margin`] |
//! | input perturbations and attacks (robustness) | [`perturb`] |
//! | figures, CSV, manifests | [`report`], [`experiments`] |
//! | atomic file writes | [`io`] |
//! | dense linear algebra; fast `tanh`, `ln`, `sin`, `cos` | [`linalg`], [`elementary`] |
//! | statistics: estimates, intervals, paired designs, trends, Holm | [`stats`] |
//! | verdicts on the claims about trained models | [`verdict`] |
//! | the theory (docs/theory.md): formulas, derivations, corrections | [`theory`] |

pub mod cli;
pub mod data;
pub mod dynamics;
pub mod elementary;
pub mod error;
pub mod experiments;
pub mod hessian;
pub mod interop;
pub mod io;
pub mod json;
pub mod linalg;
pub mod loss;
pub mod margin;
pub mod model;
pub mod perturb;
pub mod prec;
pub mod regularizer;
pub mod report;
pub mod rng;
pub mod sde;
pub mod stats;
pub mod theory;
pub mod train;
pub mod verdict;

pub use error::{Error, Result};

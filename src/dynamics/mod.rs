//! Dynamics of the hidden state: stability conditions, the tangent (linearized) dynamics
//! and Lyapunov exponents (docs/theory.md section 4).
//!
//! - [`conditions`]: `kappa = lambda_max(A_sym) + L_a ||W||_2`, the deterministic verdict,
//!   the stochastic almost-sure and mean-square bounds for the model's noise form, the
//!   smallest stabilizing `sigma2`, bounds on `||Phi||` ([`Conditions`]).
//! - [`tangent`]: one Euler-Maruyama step of the network together with its tangent map
//!   (the same noise for state and tangent) ([`Dynamics`]).
//! - [`lyapunov`]: the QR (Benettin) spectrum with a transient, averaged over noise paths
//!   with standard errors and a running estimate ([`spectrum`]); finite-time exponents of
//!   `|h_t - h'_t|` from pairs of runs sharing input and noise ([`pair_separation`]); the
//!   mean-square exponent ([`mean_square_exponent`]).
//!
//! ```
//! use nrnn::dynamics::{spectrum, Conditions, Dynamics, LyapunovOptions};
//! use nrnn::model::{Model, ModelConfig};
//! let m = Model::init(ModelConfig::new(8, 1, 2), 0.1, 1).unwrap();
//! let c = Conditions::of(&m, None).unwrap();
//! let sys = Dynamics::new(&m, None, m.config.noise).unwrap();
//! let s = spectrum(&sys, &LyapunovOptions::new(1, 500)).unwrap();
//! assert!(s.exponents[0] <= c.kappa); // the measured exponent lies below the bound
//! ```

pub mod conditions;
pub mod lyapunov;
pub mod tangent;

pub use conditions::Conditions;
pub use lyapunov::{
    mean_square_exponent, pair_separation, spectrum, Estimate, LyapunovOptions, PairOptions,
    PairRun, RunningPoint, Spectrum,
};
pub use tangent::{Dynamics, StepNoise};

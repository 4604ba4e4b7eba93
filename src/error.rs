//! One error type for the library. Binaries wrap it with `anyhow` for context.

use std::path::PathBuf;

/// Every way a library call can fail. Each variant names the offending field or file,
/// so a user can fix the input without reading the source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter outside its allowed range: `name` = `value`, expected `expected`.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        name: String,
        value: String,
        expected: String,
    },
    /// A matrix or vector of the wrong shape.
    #[error("field `{name}` has shape {found}, expected {expected}")]
    Shape {
        name: String,
        found: String,
        expected: String,
    },
    /// A file that could not be parsed or that misses a field.
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The loss became NaN or infinite during training.
    #[error("training diverged at epoch {epoch}, step {step}: loss = {loss}")]
    Diverged {
        epoch: usize,
        step: usize,
        loss: f64,
    },
    /// A data set that is not known or not available.
    #[error("data set `{name}`: {message}")]
    Data { name: String, message: String },
    /// A computation that produced a non-finite number where a finite one was required.
    #[error("non-finite result in {what}")]
    NonFinite { what: String },
    /// Anything else, with a message.
    #[error("{0}")]
    Other(String),
}

/// Library result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidParameter`].
    pub fn param(name: &str, value: impl std::fmt::Display, expected: &str) -> Self {
        Error::InvalidParameter {
            name: name.to_string(),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }
    /// Shorthand for [`Error::Shape`].
    pub fn shape(name: &str, found: (usize, usize), expected: (usize, usize)) -> Self {
        Error::Shape {
            name: name.to_string(),
            found: format!("{}x{}", found.0, found.1),
            expected: format!("{}x{}", expected.0, expected.1),
        }
    }
    /// Wrap an I/O error with its path.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Check that a value is finite and within `[lo, hi]`; the error names the field.
pub fn check_range(name: &str, value: f64, lo: f64, hi: f64) -> Result<f64> {
    if value.is_finite() && value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(Error::param(
            name,
            value,
            &format!("a finite number in [{lo}, {hi}]"),
        ))
    }
}

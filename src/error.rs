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

/// Check that a count is within `[lo, hi]`; the error names the field and the range.
///
/// ```
/// assert_eq!(nrnn::error::check_count("paths", 3, 1, 10).unwrap(), 3);
/// let e = nrnn::error::check_count("paths", 11, 1, 10).unwrap_err().to_string();
/// assert!(e.contains("`paths` = 11") && e.contains("[1, 10]"), "{e}");
/// ```
pub fn check_count(name: &str, value: usize, lo: usize, hi: usize) -> Result<usize> {
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(Error::param(
            name,
            value,
            &format!("an integer in [{lo}, {hi}]"),
        ))
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

/// The message of `e` and of its causes, joined by `": "`, as `{:#}` prints it, but
/// without repeating a cause whose text already ends the message (an [`Error::Io`] shows
/// its `std::io::Error` and also has it as its source: `{:#}` would print it twice).
///
/// ```
/// use anyhow::Context;
/// let io = std::io::Error::from(std::io::ErrorKind::NotFound);
/// let e = anyhow::Error::from(nrnn::Error::io("m.json", io)).context("model file");
/// let m = nrnn::error::chain_message(&e);
/// assert_eq!(m.matches("not found").count(), 1, "{m}");
/// assert!(m.starts_with("model file: m.json: "), "{m}");
/// ```
pub fn chain_message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if s.is_empty() || msg.ends_with(&s) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&s);
    }
    msg
}

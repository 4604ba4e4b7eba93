//! The 1,797 8x8 handwritten digits, embedded in the crate.
//!
//! Source: `sklearn/datasets/data/digits.csv.gz` from the PyPI wheel of scikit-learn
//! 1.5.2, copied byte for byte to `data/digits.csv.gz` (57,523 bytes, sha256
//! [`DIGITS_SHA256`]). scikit-learn is BSD-3-Clause licensed; the data are the test set
//! of the UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin,
//! C. Kaynak, 1998), licensed CC BY 4.0. Each of the 1,797 gzip-compressed CSV lines
//! holds 65 integers: 64 pixels in `0..=16` (row-major 8x8 block counts of a 32x32
//! bitmap) and the label `0..=9`. See `data/README.md`.

use super::Dataset;
use crate::error::{Error, Result};
use std::io::{BufRead, BufReader, Read};

/// The gzip-compressed CSV, as shipped by scikit-learn.
pub static DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits.csv.gz");

/// sha256 of `data/digits.csv.gz` (checked by the tests).
pub const DIGITS_SHA256: &str = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22";

/// Number of examples in the embedded data set.
pub const DIGITS_LEN: usize = 1797;

/// The embedded 8x8 digits as a 64-step, 1-channel, 10-class data set named `digits`:
/// pixel `k` (row-major) of an image is step `k`, scaled to `[0, 1]` by dividing by 16.
/// Examples are in file order.
///
/// ```
/// let d = nrnn::data::digits();
/// assert_eq!((d.len(), d.steps, d.input_dim, d.classes), (1797, 64, 1, 10));
/// assert_eq!(&d.labels[..3], &[0, 1, 2]);
/// assert_eq!(d.sequence(0)[2], 5.0 / 16.0);
/// ```
pub fn digits() -> Dataset {
    let gz = flate2::read::GzDecoder::new(DIGITS_CSV_GZ);
    parse_digits_csv(gz, "data/digits.csv.gz")
        .expect("the embedded digits file is valid (checked by the tests)")
}

/// Parse the scikit-learn digits CSV (64 pixel integers in `0..=16` and a label in
/// `0..=9` per line, already decompressed) into a 64-step, 1-channel, 10-class data set
/// with pixels divided by 16. `origin` names the source in error messages.
///
/// ```
/// let line = format!("{}16,3\n", "0,".repeat(63));
/// let d = nrnn::data::digits::parse_digits_csv(line.as_bytes(), "inline").unwrap();
/// assert_eq!((d.len(), d.labels[0], d.sequence(0)[63]), (1, 3, 1.0));
/// ```
pub fn parse_digits_csv<R: Read>(reader: R, origin: &str) -> Result<Dataset> {
    let fmt = |line: usize, message: String| Error::Format {
        path: origin.to_string(),
        message: format!("line {line}: {message}"),
    };
    let mut x = Vec::with_capacity(DIGITS_LEN * 64);
    let mut labels = Vec::with_capacity(DIGITS_LEN);
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| Error::io(origin, e))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 65 {
            return Err(fmt(
                i + 1,
                format!(
                    "{} fields, expected 65 (64 pixels and a label)",
                    fields.len()
                ),
            ));
        }
        for (j, f) in fields.iter().enumerate() {
            let v: u32 = f.trim().parse().map_err(|_| {
                fmt(
                    i + 1,
                    format!("field {} = {f:?}: expected an integer", j + 1),
                )
            })?;
            if j < 64 {
                if v > 16 {
                    return Err(fmt(i + 1, format!("pixel {j} = {v}: expected 0..=16")));
                }
                x.push(v as f64 / 16.0);
            } else {
                if v > 9 {
                    return Err(fmt(i + 1, format!("label = {v}: expected 0..=9")));
                }
                labels.push(v as usize);
            }
        }
    }
    Ok(Dataset::classification("digits", 64, 1, 10, x, labels))
}

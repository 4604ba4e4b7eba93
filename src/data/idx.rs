//! The IDX file format of the MNIST distribution (Y. LeCun's `train-images-idx3-ubyte`
//! and friends): the one parser of the crate.
//!
//! An IDX file is a big-endian header followed by the raw array:
//!
//! | bytes | meaning |
//! |---|---|
//! | 0, 1 | zero |
//! | 2 | element type: `0x08` unsigned byte (the only type MNIST uses, and the only one read here) |
//! | 3 | number of dimensions `d` (1 for labels, 3 for images) |
//! | 4 .. 4 + 4d | each dimension as a `u32`, big-endian |
//! | then | the product of the dimensions, one byte each, row-major |
//!
//! So the MNIST magic numbers are `0x00000801` (labels) and `0x00000803` (images).
//! [`parse`] checks the zero bytes, the type, the dimension count, and that the file holds
//! exactly the header plus the product of the dimensions (a truncated file and one with
//! trailing bytes are both errors naming the file).

use crate::error::{Error, Result};

/// The IDX type code of unsigned bytes.
pub const TYPE_U8: u8 = 0x08;

/// Magic number of an IDX file of unsigned-byte labels (1 dimension).
pub const MAGIC_LABELS: u32 = 0x0000_0801;

/// Magic number of an IDX file of unsigned-byte images (3 dimensions).
pub const MAGIC_IMAGES: u32 = 0x0000_0803;

/// A parsed unsigned-byte IDX array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost first (`[n, rows, cols]` for images, `[n]` for labels).
    pub dims: Vec<usize>,
    /// The `dims.iter().product()` values, row-major.
    pub data: Vec<u8>,
}

impl Idx {
    /// The IDX encoding of this array (header and data); [`parse`] reads it back.
    ///
    /// ```
    /// use nrnn::data::idx::Idx;
    /// let a = Idx { dims: vec![3], data: vec![7, 2, 1] };
    /// let bytes = a.encode();
    /// assert_eq!(&bytes[..8], &[0, 0, 8, 1, 0, 0, 0, 3]);
    /// assert_eq!(nrnn::data::idx::parse(&bytes, "labels").unwrap(), a);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.dims.len() + self.data.len());
        out.extend_from_slice(&[0, 0, TYPE_U8, self.dims.len() as u8]);
        for &d in &self.dims {
            out.extend_from_slice(&(d as u32).to_be_bytes());
        }
        out.extend_from_slice(&self.data);
        out
    }
}

fn bad(origin: &str, message: String) -> Error {
    Error::Format {
        path: origin.to_string(),
        message: format!("IDX file: {message}"),
    }
}

/// Parse an unsigned-byte IDX file; `origin` names it in errors.
///
/// ```
/// let bytes = [0u8, 0, 8, 1, 0, 0, 0, 2, 5, 0];
/// let a = nrnn::data::idx::parse(&bytes, "labels").unwrap();
/// assert_eq!((a.dims, a.data), (vec![2], vec![5, 0]));
/// let e = nrnn::data::idx::parse(&bytes[..9], "labels").unwrap_err().to_string();
/// assert!(e.contains("labels") && e.contains("truncated"), "{e}");
/// ```
pub fn parse(bytes: &[u8], origin: &str) -> Result<Idx> {
    if bytes.len() < 4 {
        return Err(bad(
            origin,
            format!(
                "truncated: {} bytes, shorter than the 4-byte magic number",
                bytes.len()
            ),
        ));
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(
            origin,
            format!("magic number 0x{magic:08x}: its first two bytes must be zero"),
        ));
    }
    if bytes[2] != TYPE_U8 {
        return Err(bad(
            origin,
            format!(
                "magic number 0x{magic:08x}: element type 0x{:02x} is not supported (expected 0x08, unsigned byte)",
                bytes[2]
            ),
        ));
    }
    let ndim = bytes[3] as usize;
    if ndim == 0 {
        return Err(bad(
            origin,
            format!("magic number 0x{magic:08x}: 0 dimensions (expected at least 1)"),
        ));
    }
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        return Err(bad(
            origin,
            format!(
                "truncated: {} bytes, shorter than the {header}-byte header of {ndim} dimensions",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(origin, format!("dimensions {dims:?} overflow")))?;
    let body = bytes.len() - header;
    if body != count {
        let what = if body < count {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(bad(
            origin,
            format!(
                "{what}: dimensions {dims:?} need {count} data bytes after the {header}-byte header, the file has {body}"
            ),
        ));
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Parse an IDX file of images: magic [`MAGIC_IMAGES`], dimensions exactly
/// `[n, rows, cols]`. Returns `n` and the `n * rows * cols` pixels, image by image.
///
/// ```
/// use nrnn::data::idx::{parse_images, Idx};
/// let img = Idx { dims: vec![1, 2, 2], data: vec![0, 255, 3, 4] }.encode();
/// assert_eq!(parse_images(&img, "img", 2, 2).unwrap(), (1, vec![0, 255, 3, 4]));
/// let e = parse_images(&img, "img", 28, 28).unwrap_err().to_string();
/// assert!(e.contains("28x28"), "{e}");
/// ```
pub fn parse_images(
    bytes: &[u8],
    origin: &str,
    rows: usize,
    cols: usize,
) -> Result<(usize, Vec<u8>)> {
    let a = parse(bytes, origin)?;
    if a.dims.len() != 3 || a.dims[1] != rows || a.dims[2] != cols {
        return Err(bad(
            origin,
            format!(
                "dimensions {:?}: expected images [n, {rows}, {cols}] (magic 0x{MAGIC_IMAGES:08x}) of {rows}x{cols} pixels",
                a.dims
            ),
        ));
    }
    Ok((a.dims[0], a.data))
}

/// Parse an IDX file of labels: magic [`MAGIC_LABELS`], one dimension `[n]`, every
/// label below `classes`.
///
/// ```
/// use nrnn::data::idx::{parse_labels, Idx};
/// let l = Idx { dims: vec![3], data: vec![5, 0, 4] }.encode();
/// assert_eq!(parse_labels(&l, "lab", 10).unwrap(), vec![5, 0, 4]);
/// assert!(parse_labels(&l, "lab", 5).unwrap_err().to_string().contains("0..5"));
/// ```
pub fn parse_labels(bytes: &[u8], origin: &str, classes: usize) -> Result<Vec<u8>> {
    let a = parse(bytes, origin)?;
    if a.dims.len() != 1 {
        return Err(bad(
            origin,
            format!(
                "dimensions {:?}: expected labels [n] (magic 0x{MAGIC_LABELS:08x})",
                a.dims
            ),
        ));
    }
    if let Some(i) = a.data.iter().position(|&l| l as usize >= classes) {
        return Err(bad(
            origin,
            format!(
                "label {i} is {}: expected a label in 0..{classes}",
                a.data[i]
            ),
        ));
    }
    Ok(a.data)
}

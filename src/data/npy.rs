//! NumPy `.npy` and `.npz` files, read strictly and written plainly.
//!
//! An `.npy` file (format versions 1.0, 2.0 and 3.0) is the magic `\x93NUMPY`, two version
//! bytes, a little-endian header length, and a header that is a Python dict literal
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (E, K, P), }`, then the raw data.
//! Read here: little-endian (or byte-order-free) `f4`, `f8` and integer dtypes `i1`..`i8`,
//! `u1`..`u8`, C order only. Everything else is refused with a message that names the
//! field: a big-endian or object dtype, `fortran_order: True`, a shape with more than
//! [`MAX_DIMS`] axes or more than [`MAX_ELEMENTS`] values, a header longer than
//! [`MAX_HEADER`] bytes, data shorter or longer than the shape says, a non-finite float.
//! An `.npz` file is a zip archive of `.npy` members (`np.savez`, `np.savez_compressed`).
//!
//! Inputs for the commands ([`read_inputs_npy`]): `x` is `examples x steps x input`
//! (float32 or float64) and labels, if any, `examples` integers (another `.npy` file, or
//! the member `y` of an `.npz` whose inputs are the member `x`).

use super::Dataset;
use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::path::Path;

/// Largest number of axes of an array.
pub const MAX_DIMS: usize = 8;
/// Largest number of values of an array (2^31: 16 GiB of float64).
pub const MAX_ELEMENTS: usize = 1 << 31;
/// Largest header, in bytes.
pub const MAX_HEADER: usize = 1 << 16;

/// The values of an array, widened: floats to `f64`, integers to `i64`.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// A float32 or float64 array.
    Float(Vec<f64>),
    /// An integer array (signed or unsigned, up to 64 bits; unsigned values above
    /// `i64::MAX` are refused).
    Int(Vec<i64>),
}

/// An array read from an `.npy` file, in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The dtype as written in the file (for example `<f4`).
    pub descr: String,
    /// The values.
    pub data: NpyData,
}

impl NpyArray {
    /// Number of values (the product of the shape).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }
    /// True when the array has no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The values as `f64` when the dtype is a float one; the error names `what` and the
    /// dtype found.
    pub fn floats(&self, what: &str) -> Result<&[f64]> {
        match &self.data {
            NpyData::Float(v) => Ok(v),
            NpyData::Int(_) => Err(Error::param(
                &format!("{what} dtype"),
                &self.descr,
                "a float dtype (float32 or float64)",
            )),
        }
    }
}

fn ferr(origin: &str, message: String) -> Error {
    Error::Format {
        path: origin.to_string(),
        message,
    }
}

/// The header's Python literal, parsed: a string, a boolean, a tuple of integers.
#[derive(Debug)]
enum Lit {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

struct HeaderParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl HeaderParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn string(&mut self) -> std::result::Result<String, String> {
        self.ws();
        let q = match self.s.get(self.i) {
            Some(&q @ (b'\'' | b'"')) => q,
            _ => return Err(format!("expected a quoted string at byte {}", self.i)),
        };
        self.i += 1;
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != q {
            if self.s[self.i] == b'\\' {
                return Err("escapes in header strings are not supported".into());
            }
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err("unterminated string in the header".into());
        }
        let out = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
        self.i += 1;
        Ok(out)
    }
    fn value(&mut self) -> std::result::Result<Lit, String> {
        self.ws();
        let rest = &self.s[self.i..];
        if rest.starts_with(b"True") {
            self.i += 4;
            return Ok(Lit::Bool(true));
        }
        if rest.starts_with(b"False") {
            self.i += 5;
            return Ok(Lit::Bool(false));
        }
        match rest.first() {
            Some(b'\'' | b'"') => Ok(Lit::Str(self.string()?)),
            Some(b'(') => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.eat(b')') {
                        break;
                    }
                    self.ws();
                    let start = self.i;
                    while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                        self.i += 1;
                    }
                    if start == self.i {
                        return Err(format!(
                            "`shape`: expected a non-negative integer at byte {start}"
                        ));
                    }
                    let t = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
                    let d: usize = t
                        .parse()
                        .map_err(|_| format!("`shape`: the dimension {t} is too large"))?;
                    dims.push(d);
                    if dims.len() > MAX_DIMS {
                        return Err(format!("`shape`: more than {MAX_DIMS} axes"));
                    }
                    if !self.eat(b',') {
                        if self.eat(b')') {
                            break;
                        }
                        return Err(format!("`shape`: expected `,` or `)` at byte {}", self.i));
                    }
                }
                Ok(Lit::Tuple(dims))
            }
            _ => Err(format!(
                "expected a string, True, False or a tuple at byte {}",
                self.i
            )),
        }
    }
}

/// Parse the header dict into (descr, fortran_order, shape).
fn parse_header(h: &[u8]) -> std::result::Result<(String, bool, Vec<usize>), String> {
    let mut p = HeaderParser { s: h, i: 0 };
    if !p.eat(b'{') {
        return Err("the header is not a dict literal `{...}`".into());
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string()?;
        if !p.eat(b':') {
            return Err(format!("expected `:` after the key '{key}'"));
        }
        let v = p.value()?;
        let dup = match (key.as_str(), v) {
            ("descr", Lit::Str(s)) => descr.replace(s).is_some(),
            ("fortran_order", Lit::Bool(b)) => fortran.replace(b).is_some(),
            ("shape", Lit::Tuple(t)) => shape.replace(t).is_some(),
            ("descr", _) => return Err("`descr`: expected a dtype string such as '<f8' (structured dtypes are not supported)".into()),
            ("fortran_order", _) => return Err("`fortran_order`: expected True or False".into()),
            ("shape", _) => return Err("`shape`: expected a tuple of integers".into()),
            (k, _) => return Err(format!("unknown header key '{k}' (expected descr, fortran_order, shape)")),
        };
        if dup {
            return Err(format!("the header key '{key}' is repeated"));
        }
        if !p.eat(b',') {
            if p.eat(b'}') {
                break;
            }
            return Err(format!("expected `,` or `}}` at byte {}", p.i));
        }
    }
    p.ws();
    if p.i != h.len() {
        return Err(format!("characters after the header dict at byte {}", p.i));
    }
    Ok((
        descr.ok_or("the header has no 'descr'")?,
        fortran.ok_or("the header has no 'fortran_order'")?,
        shape.ok_or("the header has no 'shape'")?,
    ))
}

/// Element kind and size of a supported dtype string.
fn dtype(descr: &str) -> std::result::Result<(char, usize), String> {
    let b = descr.as_bytes();
    let bad = || {
        format!(
            "`descr` = '{descr}': expected a little-endian float32/float64 or integer dtype \
             ('<f4', '<f8', '<i1'..'<i8', '<u1'..'<u8')"
        )
    };
    if b.len() != 3 {
        return Err(bad());
    }
    let (order, kind, size) = (b[0], b[1] as char, b[2]);
    let size = match size {
        b'1' => 1,
        b'2' => 2,
        b'4' => 4,
        b'8' => 8,
        _ => return Err(bad()),
    };
    match (order, kind, size) {
        (b'>', _, s) if s > 1 => Err(format!(
            "`descr` = '{descr}': big-endian data is not supported; save with \
             x.astype(x.dtype.newbyteorder('<'))"
        )),
        (b'<' | b'|' | b'=', 'f', 4 | 8) | (b'<' | b'|' | b'=' | b'>', 'i' | 'u', _) => {
            if order == b'|' && size > 1 && kind != 'f' {
                return Err(bad());
            }
            Ok((kind, size))
        }
        _ => Err(bad()),
    }
}

/// Parse the bytes of an `.npy` file; `origin` names it in errors.
///
/// ```
/// let mut buf = Vec::new();
/// nrnn::data::npy::write_npy_f64(&mut buf, &[2, 1], &[1.5, -2.0]).unwrap();
/// let a = nrnn::data::npy::parse_npy(&buf, "inline").unwrap();
/// assert_eq!(a.shape, vec![2, 1]);
/// assert_eq!(a.data, nrnn::data::npy::NpyData::Float(vec![1.5, -2.0]));
/// ```
pub fn parse_npy(bytes: &[u8], origin: &str) -> Result<NpyArray> {
    let e = |m: String| ferr(origin, m);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(e(
            "not an .npy file (no \\x93NUMPY magic; save with numpy.save)".into(),
        ));
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(e("truncated .npy header".into()));
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        _ => {
            return Err(e(format!(
                ".npy format version {major}.{minor}: expected 1.0, 2.0 or 3.0"
            )))
        }
    };
    if hlen > MAX_HEADER {
        return Err(e(format!(
            "header of {hlen} bytes: expected at most {MAX_HEADER}"
        )));
    }
    let end = start + hlen;
    if bytes.len() < end {
        return Err(e(format!(
            "truncated .npy header: {} bytes, the header says {hlen}",
            bytes.len() - start
        )));
    }
    let (descr, fortran, shape) = parse_header(&bytes[start..end]).map_err(e)?;
    if fortran {
        return Err(e(
            "`fortran_order` = True: expected C order (save np.ascontiguousarray(x))".into(),
        ));
    }
    let (kind, size) = dtype(&descr).map_err(e)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&c| c <= MAX_ELEMENTS)
        .ok_or_else(|| {
            e(format!(
                "`shape` = {shape:?}: expected at most {MAX_ELEMENTS} values"
            ))
        })?;
    let data = &bytes[end..];
    if data.len() != count * size {
        return Err(e(format!(
            "the data has {} bytes: the shape {shape:?} of '{descr}' needs exactly {}",
            data.len(),
            count * size
        )));
    }
    let big = descr.starts_with('>');
    let word = |c: &[u8]| -> [u8; 8] {
        let mut w = [0u8; 8];
        if big {
            for (k, &b) in c.iter().rev().enumerate() {
                w[k] = b;
            }
        } else {
            w[..c.len()].copy_from_slice(c);
        }
        w
    };
    let chunks = data.chunks_exact(size);
    let values = match kind {
        'f' => {
            let v: Vec<f64> = if size == 4 {
                chunks
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                    .collect()
            } else {
                chunks.map(|c| f64::from_le_bytes(word(c))).collect()
            };
            if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                return Err(e(format!(
                    "value {} at flat index {i}: expected finite numbers (no NaN or infinity)",
                    v[i]
                )));
            }
            NpyData::Float(v)
        }
        'i' => NpyData::Int(
            chunks
                .map(|c| {
                    let w = word(c);
                    let shift = 64 - 8 * size as u32;
                    (i64::from_le_bytes(w) << shift) >> shift
                })
                .collect(),
        ),
        _ => {
            let mut out = Vec::with_capacity(count);
            for (i, c) in chunks.enumerate() {
                let u = u64::from_le_bytes(word(c));
                out.push(i64::try_from(u).map_err(|_| {
                    e(format!(
                        "value {u} at flat index {i}: expected at most {}",
                        i64::MAX
                    ))
                })?);
            }
            NpyData::Int(out)
        }
    };
    Ok(NpyArray {
        shape,
        descr,
        data: values,
    })
}

fn read_limited(path: &Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let limit = (MAX_ELEMENTS as u64) * 8 + MAX_HEADER as u64 + 16;
    if meta.len() > limit {
        return Err(ferr(
            &path.display().to_string(),
            format!("{} bytes: expected at most {limit}", meta.len()),
        ));
    }
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// Read an `.npy` file (see [`parse_npy`]).
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    parse_npy(&read_limited(path)?, &path.display().to_string())
}

/// Parse the bytes of an `.npz` file into its members, by name without the `.npy`
/// suffix, in archive order. A member that is not an `.npy` file, a repeated name, or a
/// member larger than an `.npy` can be is refused.
pub fn parse_npz(bytes: &[u8], origin: &str) -> Result<Vec<(String, NpyArray)>> {
    let e = |m: String| ferr(origin, m);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|z| e(format!("not an .npz (zip) archive: {z}")))?;
    let limit = (MAX_ELEMENTS as u64) * 8 + MAX_HEADER as u64 + 16;
    let mut out: Vec<(String, NpyArray)> = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|z| e(format!("member {i}: {z}")))?;
        let name = f.name().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            return Err(e(format!(
                "member '{name}': expected only .npy members (as numpy.savez writes)"
            )));
        };
        if f.size() > limit {
            return Err(e(format!(
                "member '{name}' of {} bytes: expected at most {limit}",
                f.size()
            )));
        }
        let mut buf = Vec::new();
        (&mut f)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|z| e(format!("member '{name}': {z}")))?;
        let arr = parse_npy(&buf, &format!("{origin}:{name}"))?;
        if out.iter().any(|(k, _)| k == key) {
            return Err(e(format!("member '{name}' is repeated")));
        }
        out.push((key.to_string(), arr));
    }
    Ok(out)
}

/// Read an `.npz` file (see [`parse_npz`]).
pub fn read_npz(path: &Path) -> Result<Vec<(String, NpyArray)>> {
    parse_npz(&read_limited(path)?, &path.display().to_string())
}

fn header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let tuple = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {tuple}, }}");
    // Pad so that the data starts at a multiple of 64 bytes, the header ending in '\n'.
    while (10 + h.len() + 1) % 64 != 0 {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out
}

fn check_shape(shape: &[usize], len: usize) -> Result<()> {
    if shape.len() > MAX_DIMS || shape.iter().product::<usize>() != len {
        return Err(Error::param(
            "shape",
            format!("{shape:?}"),
            &format!("at most {MAX_DIMS} axes whose product is the {len} values"),
        ));
    }
    Ok(())
}

fn write_raw(
    w: &mut impl Write,
    descr: &str,
    shape: &[usize],
    len: usize,
    data: Vec<u8>,
) -> Result<()> {
    check_shape(shape, len)?;
    let mut out = header(descr, shape);
    out.extend(data);
    w.write_all(&out)
        .map_err(|e| Error::Other(format!("writing .npy: {e}")))
}

/// Write a float64 array (C order) as `.npy` (format 1.0) to `w`.
pub fn write_npy_f64(w: &mut impl Write, shape: &[usize], values: &[f64]) -> Result<()> {
    let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw(w, "<f8", shape, values.len(), data)
}

/// Write an int64 array (C order) as `.npy` (format 1.0) to `w`.
pub fn write_npy_i64(w: &mut impl Write, shape: &[usize], values: &[i64]) -> Result<()> {
    let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_raw(w, "<i8", shape, values.len(), data)
}

/// Labels from an integer array of shape `(examples,)`: each in `0..MAX_CLASSES`.
fn labels_of(a: &NpyArray, examples: usize, origin: &str) -> Result<Vec<usize>> {
    let NpyData::Int(v) = &a.data else {
        return Err(ferr(
            origin,
            format!(
                "labels of dtype '{}': expected an integer dtype (int64, int32, uint8, ...)",
                a.descr
            ),
        ));
    };
    if a.shape != [examples] {
        return Err(ferr(
            origin,
            format!(
                "labels of shape {:?}: expected ({examples},), one per example of the inputs",
                a.shape
            ),
        ));
    }
    v.iter()
        .enumerate()
        .map(|(i, &l)| {
            usize::try_from(l)
                .ok()
                .filter(|&l| l < super::MAX_CLASSES)
                .ok_or_else(|| {
                    ferr(
                        origin,
                        format!(
                            "`labels[{i}]` = {l}: expected a label in 0..{}",
                            super::MAX_CLASSES
                        ),
                    )
                })
        })
        .collect()
}

/// A data set from NumPy arrays: `x` of shape `(examples, steps, input)` (float) and
/// optional integer labels of shape `(examples,)`; `name` names the data set and `origin`
/// the file in errors. Returns the data set and whether it carries labels (without,
/// every label is a placeholder 0 and there is one class).
pub fn dataset_from_arrays(
    name: &str,
    x: &NpyArray,
    labels: Option<(&NpyArray, &str)>,
    origin: &str,
) -> Result<(Dataset, bool)> {
    let vals = x
        .floats("inputs")
        .map_err(|e| ferr(origin, e.to_string()))?;
    let [e, k, p] = x.shape[..] else {
        return Err(ferr(
            origin,
            format!(
                "inputs of shape {:?}: expected 3 axes (examples, steps, input)",
                x.shape
            ),
        ));
    };
    if e == 0 || k == 0 || p == 0 {
        return Err(ferr(
            origin,
            format!("inputs of shape {:?}: expected every axis >= 1", x.shape),
        ));
    }
    let (labels, classes, labeled) = match labels {
        Some((a, lorigin)) => {
            let l = labels_of(a, e, lorigin)?;
            let c = l.iter().max().map_or(1, |m| m + 1);
            (l, c, true)
        }
        None => (vec![0; e], 1, false),
    };
    let d = Dataset::classification(name, k, p, classes, vals.to_vec(), labels);
    d.validate()?;
    Ok((d, labeled))
}

/// Whether a path names a NumPy file (`.npy` or `.npz` extension).
pub fn is_numpy_path(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("npy" | "npz")
    )
}

/// Read inputs from NumPy files: `path` an `.npy` of inputs (with `labels` an optional
/// `.npy` of integer labels), or an `.npz` with the member `x` (inputs) and optionally `y`
/// (labels; then `labels` must not be given). The data set is named after the file stem.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
/// let mut f = std::fs::File::create(&x).unwrap();
/// nrnn::data::npy::write_npy_f64(&mut f, &[2, 3, 1], &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
/// let mut f = std::fs::File::create(&y).unwrap();
/// nrnn::data::npy::write_npy_i64(&mut f, &[2], &[1, 0]).unwrap();
/// let inp = nrnn::data::npy::read_inputs_npy(&x, Some(&y)).unwrap();
/// assert_eq!((inp.dataset.steps, inp.dataset.labels.clone(), inp.labeled), (3, vec![1, 0], true));
/// ```
pub fn read_inputs_npy(path: &Path, labels: Option<&Path>) -> Result<super::inputs::Inputs> {
    let origin = path.display().to_string();
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("inputs");
    let is_npz = path.extension().and_then(|e| e.to_str()) == Some("npz");
    let (dataset, labeled) = if is_npz {
        let members = read_npz(path)?;
        if let Some((k, _)) = members.iter().find(|(k, _)| k != "x" && k != "y") {
            return Err(ferr(
                &origin,
                format!("member '{k}.npy': expected only the arrays x (inputs) and y (labels)"),
            ));
        }
        let x = members.iter().find(|(k, _)| k == "x").ok_or_else(|| {
            ferr(
                &origin,
                "no array `x`: save with numpy.savez(f, x=inputs, y=labels)".into(),
            )
        })?;
        let y = members.iter().find(|(k, _)| k == "y");
        if y.is_some() && labels.is_some() {
            return Err(ferr(
                &origin,
                "the archive has labels `y` and --labels was given too: give one".into(),
            ));
        }
        match (y, labels) {
            (Some((_, ya)), _) => {
                dataset_from_arrays(stem, &x.1, Some((ya, &format!("{origin}:y"))), &origin)?
            }
            (None, Some(lp)) => {
                let ya = read_npy(lp)?;
                dataset_from_arrays(stem, &x.1, Some((&ya, &lp.display().to_string())), &origin)?
            }
            (None, None) => dataset_from_arrays(stem, &x.1, None, &origin)?,
        }
    } else {
        let x = read_npy(path)?;
        match labels {
            Some(lp) => {
                let ya = read_npy(lp)?;
                dataset_from_arrays(stem, &x, Some((&ya, &lp.display().to_string())), &origin)?
            }
            None => dataset_from_arrays(stem, &x, None, &origin)?,
        }
    };
    Ok(super::inputs::Inputs { dataset, labeled })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_and_small_ints_are_widened() {
        let mut b = header("<f4", &[2]);
        b.extend_from_slice(&1.5f32.to_le_bytes());
        b.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(
            parse_npy(&b, "t").unwrap().data,
            NpyData::Float(vec![1.5, -2.0])
        );
        let mut b = header("|i1", &[2]);
        b.extend_from_slice(&[0xff, 3]);
        assert_eq!(parse_npy(&b, "t").unwrap().data, NpyData::Int(vec![-1, 3]));
        let mut b = header("<u2", &[1]);
        b.extend_from_slice(&[0xff, 0xff]);
        assert_eq!(parse_npy(&b, "t").unwrap().data, NpyData::Int(vec![65535]));
    }

    /// The message of the error of parsing `b`, which must be refused.
    fn refusal(b: &[u8]) -> String {
        parse_npy(b, "t").unwrap_err().to_string()
    }

    /// A version 1.0 `.npy` header with the given header dictionary text.
    fn raw_header(dict: &[u8]) -> Vec<u8> {
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        b.extend_from_slice(dict);
        b
    }

    #[test]
    fn refusals_name_the_field() {
        let mut b = header("<f8", &[2]);
        b.extend_from_slice(&1.0f64.to_le_bytes());
        let e = refusal(&b);
        assert!(e.contains("needs exactly 16"), "{e}");
        assert!(refusal(&header(">f8", &[0])).contains("big-endian"));
        assert!(refusal(&header("<c16", &[0])).contains("descr"));
        let mut b = header("<f8", &[1]);
        b.extend_from_slice(&f64::NAN.to_le_bytes());
        assert!(refusal(&b).contains("finite"));
        let mut b = raw_header(b"{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }");
        b.extend_from_slice(&0.0f64.to_le_bytes());
        assert!(refusal(&b).contains("fortran_order"));
        let h = b"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }";
        assert!(refusal(&raw_header(h)).contains("at most"));
    }
}

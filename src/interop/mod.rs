//! Weights from and to other toolkits: named tensors read from safetensors or `.npz`
//! files and written as safetensors, and the mapping of the authors' released model
//! ([`noisyrnn`]).

pub mod noisyrnn;

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// A dense tensor: its shape and its values in C (row-major) order, widened to `f64`.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// The shape (`[]` for a scalar).
    pub shape: Vec<usize>,
    /// The values, row-major.
    pub values: Vec<f64>,
}

/// Named tensors, as in a PyTorch `state_dict`.
pub type Tensors = BTreeMap<String, Tensor>;

/// Largest weights file read, in bytes (4 GiB).
pub const MAX_WEIGHTS_BYTES: u64 = 1 << 32;

fn ferr(path: &Path, message: String) -> Error {
    Error::Format {
        path: path.display().to_string(),
        message,
    }
}

/// Parse safetensors bytes: float32 and float64 tensors (other dtypes are refused with
/// the tensor's name), and the header's string metadata.
pub fn parse_safetensors(
    bytes: &[u8],
    origin: &Path,
) -> Result<(Tensors, BTreeMap<String, String>)> {
    use safetensors::{Dtype, SafeTensors};
    let (_, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| ferr(origin, format!("not a safetensors file: {e}")))?;
    let st = SafeTensors::deserialize(bytes)
        .map_err(|e| ferr(origin, format!("not a safetensors file: {e}")))?;
    let mut out = Tensors::new();
    for (name, view) in st.tensors() {
        let data = view.data();
        let values: Vec<f64> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)
                .collect(),
            Dtype::F64 => data
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            other => {
                return Err(ferr(
                    origin,
                    format!(
                        "tensor `{name}` has dtype {other:?}: expected F32 or F64 \
                         (convert with tensor.double() before saving)"
                    ),
                ))
            }
        };
        out.insert(
            name,
            Tensor {
                shape: view.shape().to_vec(),
                values,
            },
        );
    }
    let metadata = meta
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok((out, metadata))
}

/// Read named tensors from a safetensors file (`.safetensors`) or a NumPy archive
/// (`.npz`, one float array per key), with the safetensors metadata (empty for `.npz`).
pub fn read_tensors(path: &Path) -> Result<(Tensors, BTreeMap<String, String>)> {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ext == "npz" {
        let mut out = Tensors::new();
        for (name, a) in crate::data::npy::read_npz(path)? {
            let values = a
                .floats(&format!("array `{name}`"))
                .map_err(|e| ferr(path, e.to_string()))?
                .to_vec();
            out.insert(
                name,
                Tensor {
                    shape: a.shape,
                    values,
                },
            );
        }
        return Ok((out, BTreeMap::new()));
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.len() > MAX_WEIGHTS_BYTES {
        return Err(ferr(
            path,
            format!("{} bytes: expected at most {MAX_WEIGHTS_BYTES}", meta.len()),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_safetensors(&bytes, path)
}

/// Element type of a written safetensors file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatType {
    /// float32 (PyTorch's default; rounds every weight to 24 bits).
    F32,
    /// float64 (exact).
    F64,
}

impl FloatType {
    /// Parse `f32`/`float32` or `f64`/`float64`.
    pub fn parse(s: &str) -> Result<FloatType> {
        match s {
            "f32" | "float32" => Ok(FloatType::F32),
            "f64" | "float64" => Ok(FloatType::F64),
            _ => Err(Error::param(
                "dtype",
                format!("\"{s}\""),
                "\"f32\" or \"f64\"",
            )),
        }
    }
}

/// The safetensors bytes of `tensors` (keys in sorted order) with string `metadata`.
pub fn safetensors_bytes(
    tensors: &Tensors,
    dtype: FloatType,
    metadata: &BTreeMap<String, String>,
) -> Result<Vec<u8>> {
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;
    let raw: Vec<(String, Vec<u8>, Vec<usize>)> = tensors
        .iter()
        .map(|(k, t)| {
            let bytes = match dtype {
                FloatType::F32 => t
                    .values
                    .iter()
                    .flat_map(|&v| (v as f32).to_le_bytes())
                    .collect(),
                FloatType::F64 => t.values.iter().flat_map(|&v| v.to_le_bytes()).collect(),
            };
            (k.clone(), bytes, t.shape.clone())
        })
        .collect();
    let dt = match dtype {
        FloatType::F32 => Dtype::F32,
        FloatType::F64 => Dtype::F64,
    };
    let views = raw
        .iter()
        .map(|(k, b, s)| {
            TensorView::new(dt, s.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| Error::Other(format!("tensor `{k}`: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = (!metadata.is_empty()).then(|| metadata.clone().into_iter().collect());
    safetensors::serialize(views, meta)
        .map_err(|e| Error::Other(format!("writing safetensors: {e}")))
}

/// Write `tensors` as a safetensors file, atomically (a temporary file renamed).
pub fn write_safetensors(
    path: &Path,
    tensors: &Tensors,
    dtype: FloatType,
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    crate::report::write_atomic(path, &safetensors_bytes(tensors, dtype, metadata)?)
}

//! PNG files of 8-bit RGB buffers (the layout of plotters' `BitMapBackend`), so figures
//! are drawn in memory and written with [`crate::report::write_atomic`].
//!
//! The `png` crate writes the file: the signature, the `IHDR`, `IDAT` and `IEND` chunks
//! and their CRCs. The image data are filtered and compressed here, as the figures
//! committed under `figures/` were: per row the filter (None, Sub, Up, Average, Paeth)
//! with the least sum of absolute filtered bytes, the first on a tie, then zlib (flate2)
//! at level 6, in one `IDAT` chunk. The `png` crate's own adaptive filter tries only
//! Sub, Up, Average and Paeth and takes the last on a tie, so its bytes differ from the
//! committed figures (the pixels do not); its data are not used, to keep every figure
//! byte-identical. Output is deterministic.

use crate::error::{Error, Result};
use std::io::Write;

/// The eight bytes every PNG file starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// CRC-32 (ISO-HDLC, as used by PNG and zlib's `crc32`) of `bytes`, by `crc32fast`
/// (the implementation the `png` crate uses for its chunks).
///
/// ```
/// assert_eq!(nrnn::report::png::crc32(b"IEND"), 0xae42_6082);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = a as i16 + b as i16 - c as i16;
    let pa = (p - a as i16).abs();
    let pb = (p - b as i16).abs();
    let pc = (p - c as i16).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Apply PNG filter `kind` (0..=4) to `row` given the previous raw row `prev`.
fn filter_row(kind: u8, row: &[u8], prev: &[u8], bpp: usize, out: &mut Vec<u8>) {
    out.clear();
    out.push(kind);
    for i in 0..row.len() {
        let a = if i >= bpp { row[i - bpp] } else { 0 };
        let b = prev[i];
        let c = if i >= bpp { prev[i - bpp] } else { 0 };
        let x = row[i];
        let v = match kind {
            0 => x,
            1 => x.wrapping_sub(a),
            2 => x.wrapping_sub(b),
            3 => x.wrapping_sub(((a as u16 + b as u16) / 2) as u8),
            _ => x.wrapping_sub(paeth(a, b, c)),
        };
        out.push(v);
    }
}

/// Encode a `width` x `height` image of packed 8-bit RGB pixels (row-major, 3 bytes
/// per pixel, no padding) as a PNG file.
///
/// ```
/// let rgb = vec![255u8; 4 * 2 * 3];
/// let png = nrnn::report::png::encode_rgb(4, 2, &rgb).unwrap();
/// assert_eq!(&png[..8], &nrnn::report::png::PNG_SIGNATURE);
/// ```
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let (w, h) = (width as usize, height as usize);
    if w == 0 || h == 0 || rgb.len() != w * h * 3 {
        return Err(Error::param(
            "rgb buffer length",
            rgb.len(),
            &format!("3 * width * height = {} with width, height > 0", w * h * 3),
        ));
    }
    let stride = w * 3;
    let zero = vec![0u8; stride];
    let mut raw = Vec::with_capacity(h * (stride + 1));
    let mut best = Vec::with_capacity(stride + 1);
    let mut trial = Vec::with_capacity(stride + 1);
    for y in 0..h {
        let row = &rgb[y * stride..(y + 1) * stride];
        let prev = if y == 0 {
            &zero[..]
        } else {
            &rgb[(y - 1) * stride..y * stride]
        };
        let mut best_score = u64::MAX;
        for kind in 0..=4u8 {
            filter_row(kind, row, prev, 3, &mut trial);
            let score: u64 = trial[1..]
                .iter()
                .map(|&v| (v as i8).unsigned_abs() as u64)
                .sum();
            if score < best_score {
                best_score = score;
                std::mem::swap(&mut best, &mut trial);
            }
        }
        raw.extend_from_slice(&best);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    z.write_all(&raw)
        .map_err(|e| Error::Other(format!("png compression: {e}")))?;
    let idat = z
        .finish()
        .map_err(|e| Error::Other(format!("png compression: {e}")))?;

    let png_error = |e: png::EncodingError| Error::Other(format!("png encoding: {e}"));
    let mut out = Vec::with_capacity(idat.len() + 64);
    let mut enc = png::Encoder::new(&mut out, width, height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(png_error)?;
    writer
        .write_chunk(png::chunk::IDAT, &idat)
        .map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

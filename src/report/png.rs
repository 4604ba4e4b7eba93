//! A small PNG encoder for 8-bit RGB buffers (the layout of plotters' `BitMapBackend`),
//! so figures are drawn in memory and written with [`crate::report::write_atomic`].
//! Compression is zlib (flate2) with an adaptive per-row filter; output is deterministic.

use crate::error::{Error, Result};
use std::io::Write;

/// The eight bytes every PNG file starts with.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut n = 0;
    while n < 256 {
        let mut c = n as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[n] = c;
        n += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 (ISO-HDLC, as used by PNG and zlib's `crc32`) of `bytes`.
///
/// ```
/// assert_eq!(nrnn::report::png::crc32(b"IEND"), 0xae42_6082);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    c ^ 0xffff_ffff
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
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

    let mut out = Vec::with_capacity(idat.len() + 64);
    out.extend_from_slice(&PNG_SIGNATURE);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolor RGB, deflate, adaptive, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

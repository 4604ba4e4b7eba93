//! The embedded font. Figures must render text on a machine with no system font, so
//! DejaVu Sans (`assets/DejaVuSans.ttf`, license in `assets/DejaVuSans-LICENSE.txt`) is
//! compiled into the binary and registered with plotters' `ab_glyph` text renderer.

use crate::error::{Error, Result};
use std::sync::OnceLock;

/// The bytes of DejaVu Sans 2.37, embedded at compile time.
pub const DEJAVU_SANS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/DejaVuSans.ttf"
));

/// The font family name every plot in [`crate::report::plot`] uses.
pub const FAMILY: &str = "sans-serif";

static REGISTERED: OnceLock<bool> = OnceLock::new();

/// Register the embedded font with plotters under the family names `sans-serif`,
/// `serif` and `monospace` (all DejaVu Sans), once per process. Every plot function in
/// this crate calls it before drawing; call it yourself only if you draw with plotters
/// directly. Thread-safe and cheap after the first call.
///
/// ```
/// nrnn::report::fonts::ensure_fonts().unwrap();
/// nrnn::report::fonts::ensure_fonts().unwrap(); // idempotent
/// ```
pub fn ensure_fonts() -> Result<()> {
    let ok = *REGISTERED.get_or_init(|| {
        use plotters::style::{register_font, FontStyle};
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|name| register_font(name, FontStyle::Normal, DEJAVU_SANS).is_ok())
    });
    if ok {
        Ok(())
    } else {
        Err(Error::Other(
            "the embedded font assets/DejaVuSans.ttf could not be parsed".to_string(),
        ))
    }
}

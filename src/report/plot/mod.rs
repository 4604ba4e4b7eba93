//! PNG figures with one visual language: white background, light grid, DejaVu Sans text
//! (embedded, see [`super::fonts`]), a colour-blind-friendly palette ([`PALETTE`]), 2 px
//! lines, shaded Monte Carlo bands, dashed grey reference lines, 1000x700 pixels.
//!
//! Every plot kind is a struct of options with a `save(&self, path)` method that draws in
//! memory, encodes a PNG and writes it atomically ([`crate::io::write_atomic`]):
//!
//! | kind | use |
//! |---|---|
//! | [`LinePlot`] | curves with optional confidence bands and reference lines |
//! | [`LogLogFit`] | convergence orders: points, least-squares line, slope ± stderr |
//! | [`ScatterPlot`] | measured vs bound, with optional `y = x` line |
//! | [`Heatmap`] | a value over a 2-D grid, diverging colours, zero contour |
//! | [`Histogram`] | densities as lines or steps |
//! | [`BarChart`] | means with error bars per group |
//!
//! Data points that are NaN or infinite (or not positive on a log axis) are skipped:
//! lines break there. Empty series draw an empty frame with the title. Axes can be linear
//! or log10 independently ([`Scale`]). The one least-squares implementation of the crate
//! lives in [`crate::stats`] ([`linear_fit`], [`fit_loglog`]).
//!
//! Files: one per chart kind (`line.rs`, `loglog.rs`, `scatter.rs`, `heatmap.rs`,
//! `histogram.rs`, `bars.rs`); what they share in one place each: `axes.rs` (scales and
//! tick placement), `layout.rs` (canvas, title block, chart frame, legend, lines, markers,
//! bands, reference lines), `series.rs`, `clip.rs` (geometry) and `format.rs` (numbers).

use super::fonts::{ensure_fonts, FAMILY};
use crate::error::{Error, Result};
#[cfg(doc)]
use crate::stats::linear_fit;
use crate::stats::{fit_loglog, Fit};
type BackendCoord = (i32, i32);
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::element::IntoDynElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::Path;

/// Default figure size in pixels (width, height).
pub const DEFAULT_SIZE: (u32, u32) = (1000, 700);

/// Series colours, in order of use (Tableau 10, reordered so neighbours contrast).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7), // blue
    RGBColor(0xf2, 0x8e, 0x2b), // orange
    RGBColor(0xe1, 0x57, 0x59), // red
    RGBColor(0x59, 0xa1, 0x4f), // green
    RGBColor(0xb0, 0x7a, 0xa1), // purple
    RGBColor(0x76, 0xb7, 0xb2), // teal
    RGBColor(0x9c, 0x75, 0x5f), // brown
    RGBColor(0xff, 0x9d, 0xa7), // pink
    RGBColor(0xed, 0xc9, 0x48), // yellow
    RGBColor(0x79, 0x70, 0x6e), // grey
];

/// Colour of reference lines and their labels.
pub const REFERENCE_COLOR: RGBColor = RGBColor(0x44, 0x44, 0x44);

const TITLE_SIZE: f64 = 30.0;
const SUBTITLE_SIZE: f64 = 19.0;
const LABEL_SIZE: f64 = 22.0;
const TICK_SIZE: f64 = 17.0;
const LEGEND_SIZE: f64 = 18.0;
const ANNOT_SIZE: f64 = 16.0;
const LINE_WIDTH: u32 = 2;
const MARKER_SIZE: i32 = 5;
const BAND_ALPHA: f64 = 0.22;

/// The palette colour for index `i` (wraps around).
pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

// Shared by every chart kind: number formatting, axes and ticks, series and reference
// lines, clipping, and the layout (canvas, title, frame, legend, drawing primitives).
mod axes;
mod clip;
mod format;
mod layout;
mod series;
pub use axes::*;
use clip::Rect;
pub use clip::*;
pub use format::*;
use layout::*;
pub use series::*;

/// Writes, for each chart kind `$kind` with the fields `axes` and `ref_lines` (and
/// `Default`), the two builder methods they share: `new(axes)`, the chart with that frame
/// and everything else empty or default, and `ref_line(r)`, which appends `r`.
macro_rules! frame_builders {
    ($($kind:ident),+ $(,)?) => {$(
        impl $kind {
            /// An empty chart with the given frame.
            pub fn new(axes: Axes) -> Self {
                $kind {
                    axes,
                    ..Default::default()
                }
            }
            /// Add a reference line.
            pub fn ref_line(mut self, r: RefLine) -> Self {
                self.ref_lines.push(r);
                self
            }
        }
    )+};
}
frame_builders!(LinePlot, ScatterPlot, Histogram);

// One file per chart kind.
mod bars;
mod heatmap;
mod histogram;
mod line;
mod loglog;
mod scatter;
pub use bars::*;
pub use heatmap::*;
pub use histogram::Histogram;
pub use histogram::*;
pub use line::*;
pub use loglog::*;
pub use scatter::*;

#[cfg(test)]
mod tests;

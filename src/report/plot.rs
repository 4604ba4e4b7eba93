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

// ---------------------------------------------------------------------------------------
// Number formatting
// ---------------------------------------------------------------------------------------

/// Format `v` with `sig` significant digits, compactly: trailing zeros dropped, scientific
/// notation below 1e-3 or from 1e5 in magnitude (`2.5e-4`), `NaN`, `inf`.
///
/// ```
/// use nrnn::report::plot::format_sig;
/// assert_eq!(format_sig(3.14159, 3), "3.14");
/// assert_eq!(format_sig(0.000251, 2), "2.5e-4");
/// assert_eq!(format_sig(1200.0, 3), "1200");
/// ```
pub fn format_sig(v: f64, sig: usize) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.max(1);
    let e = v.abs().log10().floor() as i32;
    if !(-3..5).contains(&e) {
        let s = format!("{:.*e}", sig - 1, v);
        // Rust prints e.g. "2.50e-4": trim zeros of the mantissa.
        match s.split_once('e') {
            Some((m, ex)) => format!("{}e{}", trim_zeros(m), ex),
            None => s,
        }
    } else {
        let decimals = (sig as i32 - 1 - e).max(0) as usize;
        let s = trim_zeros(&format!("{:.*}", decimals, v));
        if s == "-0" {
            "0".into()
        } else {
            s
        }
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// `value ± error` with the error to two significant digits and the value to the same
/// decimal place, e.g. `4.013 ± 0.021`.
///
/// ```
/// assert_eq!(nrnn::report::plot::format_pm(4.01321, 0.0213), "4.013 ± 0.021");
/// ```
pub fn format_pm(value: f64, err: f64) -> String {
    if !value.is_finite() {
        return format_sig(value, 3);
    }
    if !err.is_finite() || err <= 0.0 {
        let e = if err.is_nan() {
            "?".to_string()
        } else {
            format_sig(err, 2)
        };
        return format!("{} ± {}", format_sig(value, 4), e);
    }
    let decimals = (1 - err.log10().floor() as i32).clamp(0, 12) as usize;
    let dv = if err < 1e-12 { 3 } else { decimals };
    let de = if err < 1e-12 { 0 } else { decimals };
    if err < 1e-12 {
        return format!("{:.*} ± {}", dv, value, format_sig(err, 1));
    }
    format!("{:.*} ± {:.*}", dv, value, de, err)
}

fn superscript(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            c => c,
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Axes
// ---------------------------------------------------------------------------------------

/// Axis scale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Scale {
    /// Linear axis.
    #[default]
    Linear,
    /// Base-10 logarithmic axis; values `<= 0` are skipped.
    Log10,
}

impl Scale {
    /// Map a data value to plot coordinates (`log10` on a log axis); `None` for values
    /// the axis cannot show (non-finite, or `<= 0` on a log axis).
    pub fn forward(self, v: f64) -> Option<f64> {
        match self {
            _ if !v.is_finite() => None,
            Scale::Linear => Some(v),
            Scale::Log10 if v > 0.0 => Some(v.log10()),
            Scale::Log10 => None,
        }
    }
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegendPos {
    /// Top right corner of the plotting area.
    #[default]
    UpperRight,
    /// Top left corner.
    UpperLeft,
    /// Bottom right corner.
    LowerRight,
    /// Bottom left corner.
    LowerLeft,
    /// Top, centred.
    UpperMiddle,
    /// No legend.
    Hidden,
}

/// Frame options shared by every plot kind: title, axis labels, scales, ranges, legend
/// position and size.
///
/// ```
/// use nrnn::report::plot::{Axes, Scale};
/// let a = Axes::new("Error vs step", "step h", "error").loglog().size(800, 600);
/// assert_eq!((a.x_scale, a.y_scale), (Scale::Log10, Scale::Log10));
/// ```
#[derive(Clone, Debug)]
pub struct Axes {
    /// Title drawn above the plot.
    pub title: String,
    /// Smaller second line under the title (empty: none), e.g. the run settings.
    pub subtitle: String,
    /// Horizontal axis label.
    pub x_label: String,
    /// Vertical axis label.
    pub y_label: String,
    /// Horizontal axis scale.
    pub x_scale: Scale,
    /// Vertical axis scale.
    pub y_scale: Scale,
    /// Fixed horizontal range in data units (default: data extent plus a margin).
    pub x_range: Option<(f64, f64)>,
    /// Fixed vertical range in data units.
    pub y_range: Option<(f64, f64)>,
    /// Legend position.
    pub legend: LegendPos,
    /// Image size in pixels.
    pub size: (u32, u32),
}

impl Default for Axes {
    fn default() -> Self {
        Axes {
            title: String::new(),
            subtitle: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_scale: Scale::Linear,
            y_scale: Scale::Linear,
            x_range: None,
            y_range: None,
            legend: LegendPos::UpperRight,
            size: DEFAULT_SIZE,
        }
    }
}

impl Axes {
    /// Linear axes with a title and axis labels, default size.
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        Axes {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            ..Default::default()
        }
    }
    /// Set the subtitle line.
    pub fn subtitle(mut self, s: &str) -> Self {
        self.subtitle = s.to_string();
        self
    }
    /// Log10 horizontal axis.
    pub fn log_x(mut self) -> Self {
        self.x_scale = Scale::Log10;
        self
    }
    /// Log10 vertical axis.
    pub fn log_y(mut self) -> Self {
        self.y_scale = Scale::Log10;
        self
    }
    /// Log10 on both axes.
    pub fn loglog(self) -> Self {
        self.log_x().log_y()
    }
    /// Fix the horizontal range (data units).
    pub fn x_range(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }
    /// Fix the vertical range (data units).
    pub fn y_range(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }
    /// Set the legend position.
    pub fn legend(mut self, pos: LegendPos) -> Self {
        self.legend = pos;
        self
    }
    /// Set the image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width, height);
        self
    }
}

/// Running min/max of plot coordinates.
#[derive(Clone, Copy, Debug)]
struct Extent {
    lo: f64,
    hi: f64,
}

impl Extent {
    fn new() -> Self {
        Extent {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        }
    }
    fn add(&mut self, t: f64) {
        if t.is_finite() {
            self.lo = self.lo.min(t);
            self.hi = self.hi.max(t);
        }
    }
    fn add_opt(&mut self, t: Option<f64>) {
        if let Some(t) = t {
            self.add(t)
        }
    }
    fn is_empty(&self) -> bool {
        self.lo > self.hi
    }
    fn union(&self, o: &Extent) -> Extent {
        Extent {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }
}

/// A computed axis: range in plot coordinates, tick positions and their labels.
#[derive(Clone, Debug)]
struct AxisSpec {
    scale: Scale,
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
    decimals: Option<usize>,
}

fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target).max(1e-300);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm < 1.5 {
        1.0
    } else if norm < 3.0 {
        2.0
    } else if norm < 7.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    if step.is_nan() || step <= 0.0 || !lo.is_finite() || !hi.is_finite() {
        return vec![];
    }
    let k0 = (lo / step - 1e-9).ceil() as i64;
    let k1 = (hi / step + 1e-9).floor() as i64;
    if k1 < k0 || k1 - k0 > 10_000 {
        return vec![];
    }
    (k0..=k1).map(|k| k as f64 * step).collect()
}

/// Linear ticks: (bold, light, decimals for labels or None for significant-digit labels).
fn linear_ticks(lo: f64, hi: f64, target: f64) -> (Vec<f64>, Vec<f64>, Option<usize>) {
    let step = nice_step(hi - lo, target);
    let bold = multiples(lo, hi, step);
    let mant = step / 10f64.powf(step.log10().floor());
    let sub = if (mant - 2.0).abs() < 0.5 {
        step / 4.0
    } else {
        step / 5.0
    };
    let light = multiples(lo, hi, sub);
    let amax = lo.abs().max(hi.abs());
    let decimals = if (1e-3..1e6).contains(&amax) && step >= 1e-12 {
        Some((-step.log10().floor()).clamp(0.0, 12.0) as usize)
    } else {
        None
    };
    (bold, light, decimals)
}

/// Log ticks in exponent coordinates.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = hi - lo;
    if span < 1.0 {
        // Less than a decade: linear ticks in value space.
        let (vlo, vhi) = (10f64.powf(lo), 10f64.powf(hi));
        let (b, l, _) = linear_ticks(vlo, vhi, 5.0);
        let f = |v: Vec<f64>| v.into_iter().filter(|x| *x > 0.0).map(f64::log10).collect();
        return (f(b), f(l));
    }
    let every = ((span / 8.0).ceil() as i64).max(1);
    let k0 = lo.ceil() as i64;
    let k1 = hi.floor() as i64;
    let mut bold: Vec<f64> = (k0..=k1)
        .filter(|k| k.rem_euclid(every) == 0)
        .map(|k| k as f64)
        .collect();
    let mut light: Vec<f64> = Vec::new();
    let d0 = lo.floor() as i64;
    let d1 = hi.ceil() as i64;
    if every == 1 {
        for k in d0..=d1 {
            for m in 2..=9 {
                let t = k as f64 + (m as f64).log10();
                if t >= lo && t <= hi {
                    light.push(t);
                }
            }
        }
        if bold.len() < 3 || span < 3.5 {
            for k in d0..=d1 {
                for m in [2.0f64, 5.0] {
                    let t = k as f64 + m.log10();
                    if t >= lo && t <= hi {
                        bold.push(t);
                    }
                }
            }
            bold.sort_by(|a, b| a.total_cmp(b));
        }
    } else {
        light = (k0..=k1).map(|k| k as f64).collect();
    }
    (bold, light)
}

impl AxisSpec {
    fn new(
        scale: Scale,
        user: Option<(f64, f64)>,
        data: Extent,
        name: &str,
        pad: f64,
    ) -> Result<AxisSpec> {
        let (lo, hi) = match user {
            Some((a, b)) => {
                let (ta, tb) = (scale.forward(a), scale.forward(b));
                match (ta, tb) {
                    (Some(ta), Some(tb)) if ta < tb => (ta, tb),
                    _ => {
                        return Err(Error::param(
                            name,
                            format!("({a}, {b})"),
                            match scale {
                                Scale::Linear => "finite lo < hi",
                                Scale::Log10 => "finite 0 < lo < hi on a log axis",
                            },
                        ))
                    }
                }
            }
            None if data.is_empty() => (0.0, 1.0),
            None if data.hi - data.lo <= 1e-12 * data.lo.abs().max(data.hi.abs()).max(1e-300) => {
                let c = data.lo;
                let h = match scale {
                    Scale::Log10 => 0.5,
                    Scale::Linear if c == 0.0 => 1.0,
                    Scale::Linear => 0.1 * c.abs(),
                };
                (c - h, c + h)
            }
            None => {
                let p = pad * (data.hi - data.lo);
                (data.lo - p, data.hi + p)
            }
        };
        // Keep the span finite even for data near f64::MAX.
        let lim = f64::MAX / 8.0;
        let (lo, hi) = (lo.max(-lim), hi.min(lim));
        let (bold, light, decimals) = match scale {
            Scale::Linear => linear_ticks(lo, hi, 8.0),
            Scale::Log10 => {
                let (b, l) = log_ticks(lo, hi);
                (b, l, None)
            }
        };
        Ok(AxisSpec {
            scale,
            lo,
            hi,
            bold,
            light,
            decimals,
        })
    }

    fn label(&self, t: f64) -> String {
        match self.scale {
            Scale::Linear => match self.decimals {
                Some(d) => {
                    let s = format!("{:.*}", d, t);
                    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
                        s[1..].to_string()
                    } else {
                        s
                    }
                }
                None => {
                    // Enough significant digits to tell neighbouring ticks apart.
                    let step = match self.bold.as_slice() {
                        [a, b, ..] => (b - a).abs(),
                        _ => (self.hi - self.lo).abs(),
                    };
                    let amax = self.lo.abs().max(self.hi.abs());
                    let sig = if step > 0.0 && amax > 0.0 {
                        (amax.log10().floor() - step.log10().floor() + 1.0).clamp(2.0, 15.0)
                    } else {
                        3.0
                    };
                    format_sig(t, sig as usize)
                }
            },
            Scale::Log10 => {
                let k = t.round();
                if (t - k).abs() < 1e-9 {
                    if (-2.0..=3.0).contains(&k) {
                        format_sig(10f64.powi(k as i32), 3)
                    } else {
                        format!("10{}", superscript(&format!("{}", k as i64)))
                    }
                } else {
                    format_sig(10f64.powf(t), 2)
                }
            }
        }
    }

    fn contains(&self, t: f64) -> bool {
        t >= self.lo && t <= self.hi
    }
}

/// The axis as a plotters coordinate: linear in plot coordinates, with our own ticks
/// (bold ticks are labelled, light ticks only draw the fine grid).
impl Ranged for AxisSpec {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        let p = limit.0 as f64 + t * (limit.1 - limit.0) as f64;
        p.round().clamp(-1.0e7, 1.0e7) as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

// ---------------------------------------------------------------------------------------
// Series and reference lines
// ---------------------------------------------------------------------------------------

/// A named data series: points `(x[i], y[i])`, an optional shaded band
/// `(lower[i], upper[i])` around it, and style options.
///
/// ```
/// use nrnn::report::plot::Series;
/// let s = Series::new("mean", &[1.0, 2.0], &[0.5, 0.7])
///     .band(&[0.4, 0.6], &[0.6, 0.8])
///     .markers()
///     .dashed()
///     .color(3);
/// assert_eq!(s.x.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// Legend label (empty: no legend entry).
    pub name: String,
    /// Horizontal coordinates.
    pub x: Vec<f64>,
    /// Vertical coordinates, same length as `x`.
    pub y: Vec<f64>,
    /// Optional band `(lower, upper)`, each the same length as `x`.
    pub band: Option<(Vec<f64>, Vec<f64>)>,
    /// Palette index (default: the series' position).
    pub color: Option<usize>,
    /// Draw a marker at each point (line plots; scatter groups always have markers).
    pub markers: bool,
    /// Dashed line.
    pub dashed: bool,
}

impl Series {
    /// A series from x and y coordinates.
    pub fn new(name: &str, x: &[f64], y: &[f64]) -> Self {
        Series {
            name: name.to_string(),
            x: x.to_vec(),
            y: y.to_vec(),
            ..Default::default()
        }
    }
    /// A series from `(x, y)` points.
    pub fn from_points(name: &str, points: &[(f64, f64)]) -> Self {
        Series {
            name: name.to_string(),
            x: points.iter().map(|p| p.0).collect(),
            y: points.iter().map(|p| p.1).collect(),
            ..Default::default()
        }
    }
    /// Add a shaded band from `lower` to `upper` (e.g. a Monte Carlo confidence interval).
    pub fn band(mut self, lower: &[f64], upper: &[f64]) -> Self {
        self.band = Some((lower.to_vec(), upper.to_vec()));
        self
    }
    /// Draw markers at the points.
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }
    /// Draw the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    /// Use palette colour `i`.
    pub fn color(mut self, i: usize) -> Self {
        self.color = Some(i);
        self
    }

    fn check(&self) -> Result<()> {
        let n = self.x.len();
        let bad = |what: &str, len: usize| {
            Error::param(
                &format!("series `{}`: {what} length", self.name),
                len,
                &format!("{n}, the length of x"),
            )
        };
        if self.y.len() != n {
            return Err(bad("y", self.y.len()));
        }
        if let Some((lo, hi)) = &self.band {
            if lo.len() != n {
                return Err(bad("band lower", lo.len()));
            }
            if hi.len() != n {
                return Err(bad("band upper", hi.len()));
            }
        }
        Ok(())
    }

    fn rgb(&self, idx: usize) -> RGBColor {
        palette(self.color.unwrap_or(idx))
    }

    /// Points in plot coordinates (None where not drawable).
    fn transformed(&self, xs: Scale, ys: Scale) -> Vec<Option<(f64, f64)>> {
        self.x
            .iter()
            .zip(&self.y)
            .map(|(&a, &b)| Some((xs.forward(a)?, ys.forward(b)?)))
            .collect()
    }

    fn extend_extent(&self, xs: Scale, ys: Scale, ex: &mut Extent, ey: &mut Extent) {
        for p in self.transformed(xs, ys).into_iter().flatten() {
            ex.add(p.0);
            ey.add(p.1);
        }
        if let Some((lo, hi)) = &self.band {
            for i in 0..self.x.len().min(lo.len()).min(hi.len()) {
                if let Some(tx) = xs.forward(self.x[i]) {
                    ex.add(tx);
                    ey.add_opt(ys.forward(lo[i]));
                    ey.add_opt(ys.forward(hi[i]));
                }
            }
        }
    }
}

/// The series as one tidy table with columns `series, x, y, lower, upper` (band ends are
/// NaN when a series has no band), for the CSV written next to a figure.
///
/// ```
/// use nrnn::report::plot::{series_from_table, series_table, Series};
/// let s = vec![Series::new("a", &[1.0, 2.0], &[3.0, 4.0]).band(&[2.5, 3.5], &[3.5, 4.5])];
/// let t = series_table(&s);
/// assert_eq!(t.header, ["series", "x", "y", "lower", "upper"]);
/// let back = series_from_table(&t).unwrap();
/// assert_eq!((back[0].x.clone(), back[0].band.clone()), (s[0].x.clone(), s[0].band.clone()));
/// ```
pub fn series_table(series: &[Series]) -> super::table::Table {
    use super::table::{Cell, Table};
    let mut t = Table::new(&["series", "x", "y", "lower", "upper"]);
    for s in series {
        for i in 0..s.x.len().min(s.y.len()) {
            let (lo, hi) = match &s.band {
                Some((l, h)) => (
                    l.get(i).copied().unwrap_or(f64::NAN),
                    h.get(i).copied().unwrap_or(f64::NAN),
                ),
                None => (f64::NAN, f64::NAN),
            };
            t.rows.push(vec![
                Cell::Str(s.name.clone()),
                Cell::Num(s.x[i]),
                Cell::Num(s.y[i]),
                Cell::Num(lo),
                Cell::Num(hi),
            ]);
        }
    }
    t
}

/// Series back from a table written by [`series_table`] (for `--replot`): one series per
/// distinct `series` value, in order of first appearance; a band only where some band
/// value is not NaN. The `lower`/`upper` columns are optional.
pub fn series_from_table(t: &super::table::Table) -> Result<Vec<Series>> {
    let names = t.column_str("series")?;
    let x = t.column_f64("x")?;
    let y = t.column_f64("y")?;
    let nan = vec![f64::NAN; t.len()];
    let lo = t.column_f64("lower").unwrap_or_else(|_| nan.clone());
    let hi = t.column_f64("upper").unwrap_or(nan);
    let mut out: Vec<Series> = Vec::new();
    let mut bands: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    for i in 0..t.len() {
        let k = match out.iter().position(|s| s.name == names[i]) {
            Some(k) => k,
            None => {
                out.push(Series::new(&names[i], &[], &[]));
                bands.push((vec![], vec![]));
                out.len() - 1
            }
        };
        out[k].x.push(x[i]);
        out[k].y.push(y[i]);
        bands[k].0.push(lo[i]);
        bands[k].1.push(hi[i]);
    }
    for (s, b) in out.iter_mut().zip(bands) {
        if b.0.iter().chain(&b.1).any(|v| !v.is_nan()) {
            s.band = Some(b);
        }
    }
    Ok(out)
}

/// Orientation of a reference line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Orientation {
    /// `y = value`.
    Horizontal,
    /// `x = value`.
    Vertical,
}

/// A labelled dashed reference line across the plot (a theoretical value, a threshold).
#[derive(Clone, Debug)]
pub struct RefLine {
    /// Horizontal or vertical.
    pub orientation: Orientation,
    /// Position in data units.
    pub value: f64,
    /// Text drawn next to the line (empty: none).
    pub label: String,
    /// Palette index; default dark grey.
    pub color: Option<usize>,
}

impl RefLine {
    /// The line `y = value`.
    pub fn horizontal(value: f64, label: &str) -> Self {
        RefLine {
            orientation: Orientation::Horizontal,
            value,
            label: label.to_string(),
            color: None,
        }
    }
    /// The line `x = value`.
    pub fn vertical(value: f64, label: &str) -> Self {
        RefLine {
            orientation: Orientation::Vertical,
            value,
            label: label.to_string(),
            color: None,
        }
    }
    /// Use palette colour `i` instead of grey.
    pub fn color(mut self, i: usize) -> Self {
        self.color = Some(i);
        self
    }
    fn rgb(&self) -> RGBColor {
        self.color.map(palette).unwrap_or(REFERENCE_COLOR)
    }
}

fn ref_extents(refs: &[RefLine], xs: Scale, ys: Scale, ex: &mut Extent, ey: &mut Extent) {
    for r in refs {
        match r.orientation {
            Orientation::Horizontal => ey.add_opt(ys.forward(r.value)),
            Orientation::Vertical => ex.add_opt(xs.forward(r.value)),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Geometry: clipping, polylines
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Rect {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Rect {
    fn of(xa: &AxisSpec, ya: &AxisSpec) -> Rect {
        Rect {
            x0: xa.lo,
            x1: xa.hi,
            y0: ya.lo,
            y1: ya.hi,
        }
    }
    fn contains(&self, p: (f64, f64)) -> bool {
        p.0 >= self.x0 && p.0 <= self.x1 && p.1 >= self.y0 && p.1 <= self.y1
    }
}

/// Liang-Barsky: the part of segment a-b inside the rectangle.
fn clip_segment(a: (f64, f64), b: (f64, f64), r: &Rect) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return None;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return None;
                }
                t1 = t1.min(t);
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// Split a sequence of optional points at the gaps, then clip each piece to `r`.
fn polylines(points: &[Option<(f64, f64)>], r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let flush = |cur: &mut Vec<(f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    let mut prev: Option<(f64, f64)> = None;
    for p in points {
        match (prev, *p) {
            (Some(a), Some(b)) => {
                if let Some((c, d)) = clip_segment(a, b, r) {
                    let continues = cur
                        .last()
                        .is_some_and(|l| (l.0 - c.0).abs() < 1e-12 && (l.1 - c.1).abs() < 1e-12);
                    if !continues {
                        flush(&mut cur, &mut out);
                        cur.push(c);
                    }
                    cur.push(d);
                } else {
                    flush(&mut cur, &mut out);
                }
            }
            _ => flush(&mut cur, &mut out),
        }
        prev = *p;
    }
    flush(&mut cur, &mut out);
    out
}

/// Drawable points whose neighbours are both missing: a line cannot show them, so they
/// get a small dot.
fn isolated(points: &[Option<(f64, f64)>], r: &Rect) -> Vec<Option<(f64, f64)>> {
    let n = points.len();
    (0..n)
        .filter(|&i| {
            points[i].is_some_and(|p| r.contains(p))
                && (i == 0 || points[i - 1].is_none())
                && (i + 1 >= n || points[i + 1].is_none())
        })
        .map(|i| points[i])
        .collect()
}

/// Sutherland-Hodgman clipping of a polygon to the rectangle.
fn clip_polygon(poly: &[(f64, f64)], r: &Rect) -> Vec<(f64, f64)> {
    type Inside = fn(&Rect, (f64, f64)) -> bool;
    type Cut = fn(&Rect, (f64, f64), (f64, f64)) -> (f64, f64);
    let edges: [(Inside, Cut); 4] = [
        (
            |r, p| p.0 >= r.x0,
            |r, a, b| {
                let t = (r.x0 - a.0) / (b.0 - a.0);
                (r.x0, a.1 + t * (b.1 - a.1))
            },
        ),
        (
            |r, p| p.0 <= r.x1,
            |r, a, b| {
                let t = (r.x1 - a.0) / (b.0 - a.0);
                (r.x1, a.1 + t * (b.1 - a.1))
            },
        ),
        (
            |r, p| p.1 >= r.y0,
            |r, a, b| {
                let t = (r.y0 - a.1) / (b.1 - a.1);
                (a.0 + t * (b.0 - a.0), r.y0)
            },
        ),
        (
            |r, p| p.1 <= r.y1,
            |r, a, b| {
                let t = (r.y1 - a.1) / (b.1 - a.1);
                (a.0 + t * (b.0 - a.0), r.y1)
            },
        ),
    ];
    let mut cur = poly.to_vec();
    for (inside, cut) in edges {
        if cur.is_empty() {
            break;
        }
        let input = std::mem::take(&mut cur);
        let n = input.len();
        for i in 0..n {
            let p = input[i];
            let q = input[(i + n - 1) % n];
            match (inside(r, q), inside(r, p)) {
                (true, true) => cur.push(p),
                (true, false) => cur.push(cut(r, q, p)),
                (false, true) => {
                    cur.push(cut(r, q, p));
                    cur.push(p);
                }
                (false, false) => {}
            }
        }
    }
    cur
}

/// Band polygons (one per run of drawable points), in plot coordinates, clipped.
fn band_polygons(s: &Series, xs: Scale, ys: Scale, r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let Some((lo, hi)) = &s.band else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let n = s.x.len().min(lo.len()).min(hi.len());
    let mut flush = |run: &mut Vec<(f64, f64, f64)>| {
        if run.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.2)).collect();
            poly.extend(run.iter().rev().map(|p| (p.0, p.1)));
            let c = clip_polygon(&poly, r);
            if c.len() >= 3 {
                out.push(c);
            }
        }
        run.clear();
    };
    for i in 0..n {
        match (xs.forward(s.x[i]), ys.forward(lo[i]), ys.forward(hi[i])) {
            (Some(x), Some(l), Some(h)) => run.push((x, l, h)),
            _ => flush(&mut run),
        }
    }
    flush(&mut run);
    out
}

/// Line segments of the contour `z = level` of a grid by marching squares.
/// `z[j][i]` is the value at `(x[i], y[j])`; cells with a non-finite corner are skipped;
/// saddles are resolved with the cell-centre average. Coordinates are interpolated
/// linearly in the units of `x` and `y`.
///
/// ```
/// // z = x - 0.5 on the unit square: the contour is the vertical line x = 0.5.
/// let x = [0.0, 1.0];
/// let y = [0.0, 1.0];
/// let z = vec![vec![-0.5, 0.5], vec![-0.5, 0.5]];
/// let segs = nrnn::report::plot::contour_segments(&x, &y, &z, 0.0);
/// assert_eq!(segs.len(), 1);
/// assert!((segs[0].0 .0 - 0.5).abs() < 1e-12 && (segs[0].1 .0 - 0.5).abs() < 1e-12);
/// ```
pub fn contour_segments(
    x: &[f64],
    y: &[f64],
    z: &[Vec<f64>],
    level: f64,
) -> Vec<((f64, f64), (f64, f64))> {
    let mut out = Vec::new();
    let ny = y.len().min(z.len());
    for j in 0..ny.saturating_sub(1) {
        let nx = x.len().min(z[j].len()).min(z[j + 1].len());
        for i in 0..nx.saturating_sub(1) {
            // corners: 0 (i,j), 1 (i+1,j), 2 (i+1,j+1), 3 (i,j+1)
            let c = [
                (x[i], y[j], z[j][i]),
                (x[i + 1], y[j], z[j][i + 1]),
                (x[i + 1], y[j + 1], z[j + 1][i + 1]),
                (x[i], y[j + 1], z[j + 1][i]),
            ];
            if c.iter()
                .any(|p| !p.2.is_finite() || !p.0.is_finite() || !p.1.is_finite())
            {
                continue;
            }
            let above: Vec<bool> = c.iter().map(|p| p.2 >= level).collect();
            let cross = |a: usize, b: usize| -> Option<(f64, f64)> {
                if above[a] == above[b] {
                    return None;
                }
                let (pa, pb) = (c[a], c[b]);
                let t = (level - pa.2) / (pb.2 - pa.2);
                Some((pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1)))
            };
            // edges: bottom 0-1, right 1-2, top 2-3, left 3-0
            let e = [cross(0, 1), cross(1, 2), cross(2, 3), cross(3, 0)];
            let pts: Vec<(usize, (f64, f64))> = e
                .iter()
                .enumerate()
                .filter_map(|(k, p)| p.map(|p| (k, p)))
                .collect();
            match pts.len() {
                2 => out.push((pts[0].1, pts[1].1)),
                4 => {
                    let centre = c.iter().map(|p| p.2).sum::<f64>() / 4.0 >= level;
                    let [b, r, t, l] = [e[0].unwrap(), e[1].unwrap(), e[2].unwrap(), e[3].unwrap()];
                    if centre == above[0] {
                        // corners 1 and 3 are cut off
                        out.push((b, r));
                        out.push((t, l));
                    } else {
                        // corners 0 and 2 are cut off
                        out.push((l, b));
                        out.push((r, t));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Rendering core
// ---------------------------------------------------------------------------------------

type DResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;
type Coord2 = Cartesian2d<AxisSpec, AxisSpec>;
type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Coord2>;
type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;

fn check_size(size: (u32, u32)) -> Result<()> {
    let ok = |v: u32| (200..=8000).contains(&v);
    if ok(size.0) && ok(size.1) {
        Ok(())
    } else {
        Err(Error::param(
            "plot size",
            format!("{}x{}", size.0, size.1),
            "width and height in 200..=8000 pixels",
        ))
    }
}

/// Draw with `draw` into an in-memory RGB canvas of `size`, then write a PNG atomically.
fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> DResult<()>,
{
    ensure_fonts()?;
    check_size(size)?;
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> DResult<()> {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    }));
    let fail = |m: String| Error::Other(format!("drawing {}: {m}", path.display()));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(fail(e.to_string())),
        Err(p) => {
            let m = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            return Err(fail(format!("plotting library panicked: {m}")));
        }
    }
    let png = super::png::encode_rgb(w, h, &buf)?;
    crate::io::write_atomic(path, &png)
}

/// Title and subtitle; returns the area below them.
fn titled<'b>(root: &Area<'b>, axes: &Axes) -> DResult<Area<'b>> {
    let mut area = root.margin(8, 0, 0, 0);
    if !axes.title.trim().is_empty() {
        area = area.titled(axes.title.trim(), (FAMILY, TITLE_SIZE))?;
    }
    if !axes.subtitle.trim().is_empty() {
        let style = (FAMILY, SUBTITLE_SIZE)
            .into_font()
            .color(&RGBColor(90, 90, 90));
        area = area.titled(axes.subtitle.trim(), style)?;
    }
    Ok(area)
}

struct ChartOpts<'f> {
    x_fmt: Option<&'f dyn Fn(&f64) -> String>,
    x_mesh: bool,
    y_label_area: u32,
}

impl Default for ChartOpts<'_> {
    fn default() -> Self {
        ChartOpts {
            x_fmt: None,
            x_mesh: true,
            y_label_area: 100,
        }
    }
}

fn build_chart<'a, 'b>(
    area: &'a Area<'b>,
    axes: &Axes,
    xa: &AxisSpec,
    ya: &AxisSpec,
    opts: ChartOpts<'_>,
) -> DResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_right(34)
        .x_label_area_size(68)
        .y_label_area_size(opts.y_label_area)
        .build_cartesian_2d(xa.clone(), ya.clone())?;
    let xf = |v: &f64| xa.label(*v);
    let yf = |v: &f64| ya.label(*v);
    let x_fmt: &dyn Fn(&f64) -> String = opts.x_fmt.unwrap_or(&xf);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(axes.x_label.as_str())
        .y_desc(axes.y_label.as_str())
        .axis_desc_style((FAMILY, LABEL_SIZE))
        .label_style((FAMILY, TICK_SIZE))
        .x_label_formatter(x_fmt)
        .y_label_formatter(&yf)
        .bold_line_style(RGBColor(210, 210, 210))
        .light_line_style(RGBColor(241, 241, 241))
        .axis_style(RGBColor(60, 60, 60))
        .set_all_tick_mark_size(5);
    if !opts.x_mesh {
        mesh.disable_x_mesh();
    }
    mesh.draw()?;
    Ok(chart)
}

/// Legend glyph: optional filled box (band), optional line (maybe dashed), optional marker.
#[derive(Clone, Copy)]
struct Glyph {
    color: RGBColor,
    line: bool,
    dash: Dash,
    fill: f64,
    marker: Option<usize>,
}

impl Glyph {
    fn line(color: RGBColor, dash: Dash) -> Self {
        Glyph {
            color,
            line: true,
            dash,
            fill: 0.0,
            marker: None,
        }
    }
}

const GLYPH_W: i32 = 30;

/// Line pattern: `None` solid, `Some((dash, gap))` in pixels.
type Dash = Option<(i32, i32)>;
/// The dash pattern of dashed series and reference lines.
const DASHED: Dash = Some((10, 7));
/// Alternative patterns for further reference lines.
const REF_DASHES: [Dash; 3] = [Some((10, 7)), Some((3, 5)), Some((16, 5))];

/// Colour and dash pattern of the `k`-th reference slope (alternating so that several
/// reference slopes stay distinguishable).
fn ref_style(k: usize) -> (RGBColor, Dash) {
    const GREYS: [RGBColor; 3] = [
        REFERENCE_COLOR,
        RGBColor(0x88, 0x88, 0x88),
        RGBColor(0x22, 0x22, 0x22),
    ];
    (GREYS[k % 3], REF_DASHES[k % 3])
}

fn dash_of(dashed: bool) -> Dash {
    if dashed {
        DASHED
    } else {
        None
    }
}

/// Up to four (start, end) pixel segments drawing `dash` across the legend glyph.
fn glyph_segments(dash: Dash) -> [(i32, i32); 4] {
    let mut out = [(0, 0); 4];
    match dash {
        None => out[0] = (0, GLYPH_W),
        Some((d, g)) => {
            let (d, g) = (d.max(1), g.max(1));
            let mut x = 0;
            for seg in out.iter_mut() {
                if x >= GLYPH_W {
                    break;
                }
                *seg = (x, (x + d).min(GLYPH_W));
                x += d + g;
            }
        }
    }
    out
}

fn marker_vertices(shape: usize, size: i32) -> Vec<(i32, i32)> {
    let s = size as f64;
    let poly = |n: usize, r: f64, phase: f64| -> Vec<(i32, i32)> {
        (0..n)
            .map(|k| {
                let a = phase + std::f64::consts::TAU * k as f64 / n as f64;
                ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
            })
            .collect()
    };
    match shape % 5 {
        0 => poly(16, s, 0.0),                                // circle
        1 => poly(4, s * 1.2, std::f64::consts::FRAC_PI_4),   // square
        2 => poly(3, s * 1.35, -std::f64::consts::FRAC_PI_2), // triangle up
        3 => poly(4, s * 1.35, 0.0),                          // diamond
        _ => poly(3, s * 1.35, std::f64::consts::FRAC_PI_2),  // triangle down
    }
}

fn glyph_element<'x, DB: DrawingBackend + 'x>(
    g: Glyph,
    c: BackendCoord,
) -> impl IntoDynElement<'x, DB, BackendCoord> {
    let fill = if g.fill > 0.0 {
        g.color.mix(g.fill).filled()
    } else {
        TRANSPARENT.filled()
    };
    let line = if g.line {
        g.color.stroke_width(LINE_WIDTH + 1)
    } else {
        TRANSPARENT.stroke_width(1)
    };
    let segs = glyph_segments(g.dash);
    let seg = |k: usize| {
        let (a, b) = segs[k];
        let st = if b > a {
            line
        } else {
            TRANSPARENT.stroke_width(1)
        };
        PathElement::new(vec![(a, 0), (b, 0)], st)
    };
    let (mverts, mstyle) = match g.marker {
        Some(shape) => (
            marker_vertices(shape, MARKER_SIZE)
                .into_iter()
                .map(|(x, y)| (x + GLYPH_W / 2, y))
                .collect(),
            g.color.filled(),
        ),
        None => (vec![(0, 0), (0, 0), (0, 0)], TRANSPARENT.filled()),
    };
    EmptyElement::at(c)
        + Rectangle::new([(0, -8), (GLYPH_W, 8)], fill)
        + seg(0)
        + seg(1)
        + seg(2)
        + seg(3)
        + Polygon::new(mverts, mstyle)
}

/// Register a legend entry (an empty series carrying the label and glyph); `count`
/// tracks the number of entries (plotters does not expose it).
fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    count: &mut usize,
    name: &str,
    g: Glyph,
) -> DResult<()> {
    if name.trim().is_empty() {
        return Ok(());
    }
    *count += 1;
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label(name.trim())
        .legend(move |c| glyph_element(g, c));
    Ok(())
}

fn draw_legend<'a, 'b: 'a>(chart: &mut Chart<'a, 'b>, count: usize, pos: LegendPos) -> DResult<()> {
    let has = count > 0;
    let p = match pos {
        LegendPos::Hidden => return Ok(()),
        LegendPos::UpperRight => SeriesLabelPosition::UpperRight,
        LegendPos::UpperLeft => SeriesLabelPosition::UpperLeft,
        LegendPos::LowerRight => SeriesLabelPosition::LowerRight,
        LegendPos::LowerLeft => SeriesLabelPosition::LowerLeft,
        LegendPos::UpperMiddle => SeriesLabelPosition::UpperMiddle,
    };
    if has {
        chart
            .configure_series_labels()
            .position(p)
            .margin(10)
            .legend_area_size(GLYPH_W + 8)
            .label_font((FAMILY, LEGEND_SIZE))
            .background_style(WHITE.mix(0.88))
            .border_style(RGBColor(150, 150, 150))
            .draw()?;
    }
    Ok(())
}

fn draw_lines(
    chart: &mut Chart<'_, '_>,
    lines: Vec<Vec<(f64, f64)>>,
    color: RGBColor,
    width: u32,
    dash: Dash,
) -> DResult<()> {
    let style = color.stroke_width(width);
    for l in lines {
        match dash {
            Some((d, g)) => {
                chart.draw_series(DashedLineSeries::new(l, d, g, style))?;
            }
            None => {
                chart.draw_series(LineSeries::new(l, style))?;
            }
        }
    }
    Ok(())
}

/// A curve through `pts` (plot coordinates, `None` = gap), clipped to `r`; points with
/// no drawable neighbour get a small dot.
fn draw_curve(
    chart: &mut Chart<'_, '_>,
    pts: &[Option<(f64, f64)>],
    r: &Rect,
    color: RGBColor,
    width: u32,
    dash: Dash,
) -> DResult<()> {
    draw_lines(chart, polylines(pts, r), color, width, dash)?;
    let verts = marker_vertices(0, 3);
    let style = color.filled();
    chart.draw_series(
        isolated(pts, r)
            .into_iter()
            .flatten()
            .map(|p| EmptyElement::at(p) + Polygon::new(verts.clone(), style)),
    )?;
    Ok(())
}

fn draw_markers(
    chart: &mut Chart<'_, '_>,
    pts: &[Option<(f64, f64)>],
    r: &Rect,
    shape: usize,
    color: RGBColor,
) -> DResult<()> {
    let verts = marker_vertices(shape, MARKER_SIZE);
    let style = color.filled();
    chart.draw_series(
        pts.iter()
            .flatten()
            .filter(|p| r.contains(**p))
            .map(|&p| EmptyElement::at(p) + Polygon::new(verts.clone(), style)),
    )?;
    Ok(())
}

fn draw_bands(
    chart: &mut Chart<'_, '_>,
    polys: Vec<Vec<(f64, f64)>>,
    color: RGBColor,
) -> DResult<()> {
    let style = color.mix(BAND_ALPHA).filled();
    chart.draw_series(polys.into_iter().map(|p| Polygon::new(p, style)))?;
    Ok(())
}

fn draw_ref_lines(
    chart: &mut Chart<'_, '_>,
    refs: &[RefLine],
    xa: &AxisSpec,
    ya: &AxisSpec,
) -> DResult<()> {
    for r in refs {
        let color = r.rgb();
        let font = (FAMILY, ANNOT_SIZE).into_font().color(&color);
        match r.orientation {
            Orientation::Horizontal => {
                let Some(t) = ya.scale.forward(r.value) else {
                    continue;
                };
                if !ya.contains(t) {
                    continue;
                }
                draw_lines(
                    chart,
                    vec![vec![(xa.lo, t), (xa.hi, t)]],
                    color,
                    LINE_WIDTH,
                    DASHED,
                )?;
                if !r.label.is_empty() {
                    let style = font.pos(Pos::new(HPos::Right, VPos::Bottom));
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((xa.hi, t)) + Text::new(r.label.clone(), (-8, -5), style),
                    ))?;
                }
            }
            Orientation::Vertical => {
                let Some(t) = xa.scale.forward(r.value) else {
                    continue;
                };
                if !xa.contains(t) {
                    continue;
                }
                draw_lines(
                    chart,
                    vec![vec![(t, ya.lo), (t, ya.hi)]],
                    color,
                    LINE_WIDTH,
                    DASHED,
                )?;
                if !r.label.is_empty() {
                    let style = font.pos(Pos::new(HPos::Left, VPos::Top));
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((t, ya.hi)) + Text::new(r.label.clone(), (6, 6), style),
                    ))?;
                }
            }
        }
    }
    Ok(())
}

/// Write "no finite data" in the middle of an empty plot, so it is not mistaken for a
/// plot whose curves are off-range.
fn no_data_note(chart: &mut Chart<'_, '_>, xa: &AxisSpec, ya: &AxisSpec) -> DResult<()> {
    let style = (FAMILY, LABEL_SIZE)
        .into_font()
        .color(&RGBColor(150, 150, 150))
        .pos(Pos::new(HPos::Center, VPos::Center));
    let c = (0.5 * (xa.lo + xa.hi), 0.5 * (ya.lo + ya.hi));
    chart.draw_series(std::iter::once(Text::new("no finite data", c, style)))?;
    Ok(())
}

fn no_points(series: &[Series], xs: Scale, ys: Scale) -> bool {
    series
        .iter()
        .all(|s| s.transformed(xs, ys).iter().all(Option::is_none))
}

fn check_all(series: &[Series]) -> Result<()> {
    series.iter().try_for_each(Series::check)
}

// ---------------------------------------------------------------------------------------
// LinePlot
// ---------------------------------------------------------------------------------------

/// Curves `y(x)` with optional shaded bands (confidence intervals), optional markers and
/// labelled horizontal/vertical reference lines; linear or log axes.
///
/// ```
/// use nrnn::report::plot::{Axes, LinePlot, RefLine, Series};
/// let dir = tempfile::tempdir().unwrap();
/// let x: Vec<f64> = (1..=20).map(|i| i as f64 * 0.05).collect();
/// let y: Vec<f64> = x.iter().map(|t| t * t).collect();
/// let lo: Vec<f64> = y.iter().map(|v| v * 0.8).collect();
/// let hi: Vec<f64> = y.iter().map(|v| v * 1.2).collect();
/// LinePlot::new(Axes::new("Second moment", "time t", "E|h|²").log_y())
///     .series(Series::new("noisy RNN", &x, &y).band(&lo, &hi))
///     .ref_line(RefLine::horizontal(0.5, "bound"))
///     .save(&dir.path().join("line.png"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct LinePlot {
    /// Frame options.
    pub axes: Axes,
    /// Curves, drawn in order (bands first, then lines).
    pub series: Vec<Series>,
    /// Reference lines.
    pub ref_lines: Vec<RefLine>,
}

impl LinePlot {
    /// An empty line plot with the given frame.
    pub fn new(axes: Axes) -> Self {
        LinePlot {
            axes,
            ..Default::default()
        }
    }
    /// Add a curve.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    /// Add a reference line.
    pub fn ref_line(mut self, r: RefLine) -> Self {
        self.ref_lines.push(r);
        self
    }

    /// Draw the plot and write it as a PNG to `path` (atomically; directories created).
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.series)?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let (mut ex, mut ey) = (Extent::new(), Extent::new());
        for s in &self.series {
            s.extend_extent(xs, ys, &mut ex, &mut ey);
        }
        ref_extents(&self.ref_lines, xs, ys, &mut ex, &mut ey);
        let xa = AxisSpec::new(xs, self.axes.x_range, ex, "x_range", 0.02)?;
        let ya = AxisSpec::new(ys, self.axes.y_range, ey, "y_range", 0.05)?;
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let mut chart = build_chart(&area, &self.axes, &xa, &ya, ChartOpts::default())?;
            let r = Rect::of(&xa, &ya);
            for (i, s) in self.series.iter().enumerate() {
                draw_bands(&mut chart, band_polygons(s, xs, ys, &r), s.rgb(i))?;
            }
            draw_ref_lines(&mut chart, &self.ref_lines, &xa, &ya)?;
            for (i, s) in self.series.iter().enumerate() {
                let c = s.rgb(i);
                let pts = s.transformed(xs, ys);
                draw_curve(&mut chart, &pts, &r, c, LINE_WIDTH, dash_of(s.dashed))?;
                if s.markers {
                    draw_markers(&mut chart, &pts, &r, i, c)?;
                }
                let g = Glyph {
                    fill: if s.band.is_some() { BAND_ALPHA } else { 0.0 },
                    marker: s.markers.then_some(i),
                    ..Glyph::line(c, dash_of(s.dashed))
                };
                legend(&mut chart, &mut nl, &s.name, g)?;
            }
            if no_points(&self.series, xs, ys) {
                no_data_note(&mut chart, &xa, &ya)?;
            }
            draw_legend(&mut chart, nl, self.axes.legend)
        })
    }
}

// ---------------------------------------------------------------------------------------
// LogLogFit
// ---------------------------------------------------------------------------------------

/// A reference power law `y ∝ x^slope` drawn as a dashed grey line.
#[derive(Clone, Debug)]
pub struct RefSlope {
    /// The exponent.
    pub slope: f64,
    /// Legend text, e.g. `order 1/2 (theory)`.
    pub label: String,
    /// A point the line passes through (data units). Default: the first drawable point
    /// of the first series.
    pub anchor: Option<(f64, f64)>,
}

/// Log-log plot of points per series with each series' least-squares line in
/// `log10 y = a + b log10 x` and the slope `b ± stderr` in the legend, plus optional
/// reference slopes. The way to show a convergence order or a power law.
///
/// ```
/// use nrnn::report::plot::{Axes, LogLogFit, Series};
/// let dir = tempfile::tempdir().unwrap();
/// let h = [0.1, 0.05, 0.025, 0.0125];
/// let err: Vec<f64> = h.iter().map(|h: &f64| 2.0 * h.sqrt()).collect();
/// let plot = LogLogFit::new(Axes::new("Strong error", "step h", "error"))
///     .series(Series::new("Euler-Maruyama", &h, &err))
///     .reference_slope(0.5, "order 1/2");
/// assert!((plot.fits()[0].slope - 0.5).abs() < 1e-12);
/// plot.save(&dir.path().join("order.png")).unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct LogLogFit {
    /// Frame options; both scales are forced to log10.
    pub axes: Axes,
    /// Point sets; each gets its own fitted line.
    pub series: Vec<Series>,
    /// Reference power laws.
    pub reference_slopes: Vec<RefSlope>,
    /// Fit only the points with `x` in this range (data units); all points are drawn.
    pub fit_x_range: Option<(f64, f64)>,
}

impl LogLogFit {
    /// An empty log-log fit plot.
    pub fn new(axes: Axes) -> Self {
        LogLogFit {
            axes: axes.loglog(),
            ..Default::default()
        }
    }
    /// Add a point set.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    /// Add a reference slope through the default anchor.
    pub fn reference_slope(mut self, slope: f64, label: &str) -> Self {
        self.reference_slopes.push(RefSlope {
            slope,
            label: label.to_string(),
            anchor: None,
        });
        self
    }
    /// Restrict the fits to `lo <= x <= hi`.
    pub fn fit_x_range(mut self, lo: f64, hi: f64) -> Self {
        self.fit_x_range = Some((lo, hi));
        self
    }

    fn fit_points(&self, s: &Series) -> (Vec<f64>, Vec<f64>) {
        s.x.iter()
            .zip(&s.y)
            .filter(|(x, _)| {
                self.fit_x_range
                    .is_none_or(|(lo, hi)| **x >= lo && **x <= hi)
            })
            .map(|(a, b)| (*a, *b))
            .unzip()
    }

    /// The fit of each series, as drawn (see [`fit_loglog`]).
    pub fn fits(&self) -> Vec<Fit> {
        self.series
            .iter()
            .map(|s| {
                let (x, y) = self.fit_points(s);
                fit_loglog(&x, &y)
            })
            .collect()
    }

    /// Draw the plot and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.series)?;
        let (xs, ys) = (Scale::Log10, Scale::Log10);
        let (mut ex, mut ey) = (Extent::new(), Extent::new());
        for s in &self.series {
            s.extend_extent(xs, ys, &mut ex, &mut ey);
        }
        let xa = AxisSpec::new(xs, self.axes.x_range, ex, "x_range", 0.06)?;
        let ya = AxisSpec::new(ys, self.axes.y_range, ey, "y_range", 0.06)?;
        let fits = self.fits();
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let mut chart = build_chart(&area, &self.axes, &xa, &ya, ChartOpts::default())?;
            let r = Rect::of(&xa, &ya);
            for (k, rs) in self.reference_slopes.iter().enumerate() {
                let (rc, rd) = ref_style(k);
                let anchor = rs
                    .anchor
                    .and_then(|(a, b)| Some((xs.forward(a)?, ys.forward(b)?)))
                    .or_else(|| {
                        self.series
                            .first()
                            .and_then(|s| s.transformed(xs, ys).into_iter().flatten().next())
                    });
                if let (Some((ax, ay)), true) = (anchor, rs.slope.is_finite()) {
                    let line = [
                        Some((xa.lo, ay + rs.slope * (xa.lo - ax))),
                        Some((xa.hi, ay + rs.slope * (xa.hi - ax))),
                    ];
                    draw_lines(&mut chart, polylines(&line, &r), rc, LINE_WIDTH, rd)?;
                }
                legend(&mut chart, &mut nl, &rs.label, Glyph::line(rc, rd))?;
            }
            for (i, (s, f)) in self.series.iter().zip(&fits).enumerate() {
                let c = s.rgb(i);
                let pts = s.transformed(xs, ys);
                if f.slope.is_finite() {
                    let (fx, _) = self.fit_points(s);
                    let mut e = Extent::new();
                    fx.iter().for_each(|&v| e.add_opt(xs.forward(v)));
                    if !e.is_empty() {
                        let line = [Some((e.lo, f.predict(e.lo))), Some((e.hi, f.predict(e.hi)))];
                        draw_lines(
                            &mut chart,
                            polylines(&line, &r),
                            c,
                            LINE_WIDTH,
                            dash_of(s.dashed),
                        )?;
                    }
                }
                draw_markers(&mut chart, &pts, &r, i, c)?;
                let label = if s.name.trim().is_empty() {
                    String::new()
                } else if f.slope.is_finite() {
                    format!(
                        "{}: slope {}",
                        s.name.trim(),
                        format_pm(f.slope, f.slope_stderr)
                    )
                } else {
                    format!("{}: no fit (n = {})", s.name.trim(), f.n)
                };
                let g = Glyph {
                    marker: Some(i),
                    ..Glyph::line(c, dash_of(s.dashed))
                };
                legend(&mut chart, &mut nl, &label, g)?;
            }
            if no_points(&self.series, xs, ys) {
                no_data_note(&mut chart, &xa, &ya)?;
            }
            draw_legend(&mut chart, nl, self.axes.legend)
        })
    }
}

// ---------------------------------------------------------------------------------------
// ScatterPlot
// ---------------------------------------------------------------------------------------

/// Coloured groups of points, optional curves (e.g. a bound as a function of x), an
/// optional dashed `y = x` line (for measured vs bound) and reference lines. When the
/// `y = x` line is shown and no range is fixed, both axes get the same range.
///
/// ```
/// use nrnn::report::plot::{Axes, ScatterPlot, Series};
/// let dir = tempfile::tempdir().unwrap();
/// ScatterPlot::new(Axes::new("Gap vs bound", "bound", "measured gap"))
///     .group(Series::new("eps = 0.1", &[0.1, 0.2, 0.3], &[0.05, 0.15, 0.2]))
///     .group(Series::new("eps = 0.2", &[0.2, 0.4], &[0.1, 0.3]))
///     .identity("y = x")
///     .save(&dir.path().join("scatter.png"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct ScatterPlot {
    /// Frame options.
    pub axes: Axes,
    /// Point groups (markers, one colour and shape per group).
    pub groups: Vec<Series>,
    /// Curves drawn as lines.
    pub lines: Vec<Series>,
    /// Legend label of the `y = x` line; `None`: no such line.
    pub identity: Option<String>,
    /// Reference lines.
    pub ref_lines: Vec<RefLine>,
}

impl ScatterPlot {
    /// An empty scatter plot.
    pub fn new(axes: Axes) -> Self {
        ScatterPlot {
            axes,
            ..Default::default()
        }
    }
    /// Add a group of points.
    pub fn group(mut self, s: Series) -> Self {
        self.groups.push(s);
        self
    }
    /// Add a curve.
    pub fn line(mut self, s: Series) -> Self {
        self.lines.push(s);
        self
    }
    /// Show the `y = x` line with this legend label.
    pub fn identity(mut self, label: &str) -> Self {
        self.identity = Some(label.to_string());
        self
    }
    /// Add a reference line.
    pub fn ref_line(mut self, r: RefLine) -> Self {
        self.ref_lines.push(r);
        self
    }

    /// Draw the plot and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.groups)?;
        check_all(&self.lines)?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let (mut ex, mut ey) = (Extent::new(), Extent::new());
        for s in self.groups.iter().chain(&self.lines) {
            s.extend_extent(xs, ys, &mut ex, &mut ey);
        }
        ref_extents(&self.ref_lines, xs, ys, &mut ex, &mut ey);
        if self.identity.is_some() && xs == ys && !ex.is_empty() && !ey.is_empty() {
            let u = ex.union(&ey);
            if self.axes.x_range.is_none() && self.axes.y_range.is_none() {
                ex = u;
                ey = u;
            }
        }
        let xa = AxisSpec::new(xs, self.axes.x_range, ex, "x_range", 0.05)?;
        let ya = AxisSpec::new(ys, self.axes.y_range, ey, "y_range", 0.05)?;
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let mut chart = build_chart(&area, &self.axes, &xa, &ya, ChartOpts::default())?;
            let r = Rect::of(&xa, &ya);
            draw_ref_lines(&mut chart, &self.ref_lines, &xa, &ya)?;
            if let Some(label) = &self.identity {
                // y = x sampled in data space so that it is right for any pair of scales.
                let n = if xs == ys { 1 } else { 256 };
                let pts: Vec<Option<(f64, f64)>> = (0..=n)
                    .map(|k| {
                        let t = xa.lo + (xa.hi - xa.lo) * k as f64 / n as f64;
                        let v = match xs {
                            Scale::Linear => t,
                            Scale::Log10 => 10f64.powf(t),
                        };
                        Some((t, ys.forward(v)?))
                    })
                    .collect();
                draw_lines(&mut chart, polylines(&pts, &r), BLACK, LINE_WIDTH, DASHED)?;
                legend(&mut chart, &mut nl, label, Glyph::line(BLACK, DASHED))?;
            }
            let ng = self.groups.len();
            for (k, s) in self.lines.iter().enumerate() {
                let c = s.rgb(ng + k);
                let pts = s.transformed(xs, ys);
                draw_bands(&mut chart, band_polygons(s, xs, ys, &r), c)?;
                draw_curve(&mut chart, &pts, &r, c, LINE_WIDTH, dash_of(s.dashed))?;
                legend(
                    &mut chart,
                    &mut nl,
                    &s.name,
                    Glyph::line(c, dash_of(s.dashed)),
                )?;
            }
            for (i, s) in self.groups.iter().enumerate() {
                let c = s.rgb(i);
                draw_markers(&mut chart, &s.transformed(xs, ys), &r, i, c)?;
                let g = Glyph {
                    line: false,
                    marker: Some(i),
                    ..Glyph::line(c, None)
                };
                legend(&mut chart, &mut nl, &s.name, g)?;
            }
            if no_points(&[&self.groups[..], &self.lines[..]].concat(), xs, ys) {
                no_data_note(&mut chart, &xa, &ya)?;
            }
            draw_legend(&mut chart, nl, self.axes.legend)
        })
    }
}

// ---------------------------------------------------------------------------------------
// Heatmap
// ---------------------------------------------------------------------------------------

/// Colour scale of a [`Heatmap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorScale {
    /// Blue (negative) – white (0) – red (positive), symmetric around 0.
    #[default]
    Diverging,
    /// Viridis-like dark blue to yellow, from the minimum to the maximum.
    Sequential,
}

const DIVERGING: [(u8, u8, u8); 7] = [
    (0x21, 0x66, 0xac),
    (0x67, 0xa9, 0xcf),
    (0xd1, 0xe5, 0xf0),
    (0xf7, 0xf7, 0xf7),
    (0xfd, 0xdb, 0xc7),
    (0xef, 0x8a, 0x62),
    (0xb2, 0x18, 0x2b),
];

const VIRIDIS: [(u8, u8, u8); 7] = [
    (0x44, 0x01, 0x54),
    (0x44, 0x3a, 0x83),
    (0x31, 0x68, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x35, 0xb7, 0x79),
    (0x90, 0xd7, 0x43),
    (0xfd, 0xe7, 0x25),
];

impl ColorScale {
    /// The colour at position `t` in `[0, 1]` (clamped) along the scale.
    pub fn at(self, t: f64) -> RGBColor {
        let stops = match self {
            ColorScale::Diverging => &DIVERGING,
            ColorScale::Sequential => &VIRIDIS,
        };
        let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
        let f = t * (stops.len() - 1) as f64;
        let k = (f.floor() as usize).min(stops.len() - 2);
        let u = f - k as f64;
        let (a, b) = (stops[k], stops[k + 1]);
        let mix = |p: u8, q: u8| (p as f64 + u * (q as f64 - p as f64)).round() as u8;
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// Cell edges in plot coordinates from cell centres (midpoints, ends extended).
fn cell_edges(centres: &[f64]) -> Vec<f64> {
    let n = centres.len();
    match n {
        0 => vec![],
        1 => vec![centres[0] - 0.5, centres[0] + 0.5],
        _ => {
            let mut e = Vec::with_capacity(n + 1);
            e.push(centres[0] - 0.5 * (centres[1] - centres[0]));
            for i in 0..n - 1 {
                e.push(0.5 * (centres[i] + centres[i + 1]));
            }
            e.push(centres[n - 1] + 0.5 * (centres[n - 1] - centres[n - 2]));
            e
        }
    }
}

/// A value `z` over a grid of cell centres `(x[i], y[j])`, coloured by a diverging (or
/// sequential) scale with a colour bar, optional contour lines of `z` (e.g. the zero
/// line of a bound) and optional overlaid curves.
///
/// ```
/// use nrnn::report::plot::{Axes, Heatmap};
/// let dir = tempfile::tempdir().unwrap();
/// let x: Vec<f64> = (0..30).map(|i| i as f64 / 29.0).collect();
/// let y = x.clone();
/// let z: Vec<Vec<f64>> = y.iter().map(|b| x.iter().map(|a| a - b * b).collect()).collect();
/// Heatmap::new(Axes::new("Bound", "noise level", "step size"), &x, &y, z)
///     .z_label("bound")
///     .contour(0.0, "bound = 0")
///     .save(&dir.path().join("heat.png"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Heatmap {
    /// Frame options (scales apply to the cell centres).
    pub axes: Axes,
    /// Cell centres along x, strictly increasing.
    pub x: Vec<f64>,
    /// Cell centres along y, strictly increasing.
    pub y: Vec<f64>,
    /// Values: `z[j][i]` at `(x[i], y[j])`; NaN cells are drawn light grey.
    pub z: Vec<Vec<f64>>,
    /// Colour bar label.
    pub z_label: String,
    /// Colour scale.
    pub colors: ColorScale,
    /// Fixed colour range (default: symmetric `±max|z|` for diverging, data range else).
    pub z_range: Option<(f64, f64)>,
    /// Contour levels to draw, with their legend labels.
    pub contours: Vec<(f64, String)>,
    /// Curves drawn over the map.
    pub curves: Vec<Series>,
}

impl Heatmap {
    /// A heatmap of `z[j][i]` at `(x[i], y[j])`.
    pub fn new(axes: Axes, x: &[f64], y: &[f64], z: Vec<Vec<f64>>) -> Self {
        Heatmap {
            axes,
            x: x.to_vec(),
            y: y.to_vec(),
            z,
            ..Default::default()
        }
    }
    /// Set the colour bar label.
    pub fn z_label(mut self, s: &str) -> Self {
        self.z_label = s.to_string();
        self
    }
    /// Set the colour scale.
    pub fn colors(mut self, c: ColorScale) -> Self {
        self.colors = c;
        self
    }
    /// Fix the colour range.
    pub fn z_range(mut self, lo: f64, hi: f64) -> Self {
        self.z_range = Some((lo, hi));
        self
    }
    /// Draw the contour `z = level` (black) with a legend label.
    pub fn contour(mut self, level: f64, label: &str) -> Self {
        self.contours.push((level, label.to_string()));
        self
    }
    /// Overlay a curve.
    pub fn curve(mut self, s: Series) -> Self {
        self.curves.push(s);
        self
    }

    fn check(&self) -> Result<()> {
        let inc = |v: &[f64]| v.windows(2).all(|w| w[0] < w[1]) && v.iter().all(|t| t.is_finite());
        if !inc(&self.x) {
            return Err(Error::param(
                "heatmap x",
                format!("{:?}", self.x),
                "finite, strictly increasing",
            ));
        }
        if !inc(&self.y) {
            return Err(Error::param(
                "heatmap y",
                format!("{:?}", self.y),
                "finite, strictly increasing",
            ));
        }
        if self.z.len() != self.y.len() || self.z.iter().any(|r| r.len() != self.x.len()) {
            let found = (self.z.len(), self.z.first().map_or(0, |r| r.len()));
            return Err(Error::shape(
                "heatmap z",
                found,
                (self.y.len(), self.x.len()),
            ));
        }
        check_all(&self.curves)
    }

    fn color_range(&self) -> Result<(f64, f64)> {
        if let Some((a, b)) = self.z_range {
            if !(a.is_finite() && b.is_finite() && a < b) {
                return Err(Error::param(
                    "z_range",
                    format!("({a}, {b})"),
                    "finite lo < hi",
                ));
            }
            return Ok((a, b));
        }
        let mut e = Extent::new();
        self.z.iter().flatten().for_each(|&v| e.add(v));
        Ok(match self.colors {
            ColorScale::Diverging => {
                let m = if e.is_empty() {
                    1.0
                } else {
                    e.lo.abs().max(e.hi.abs())
                };
                let m = if m > 0.0 { m } else { 1.0 };
                (-m, m)
            }
            ColorScale::Sequential if e.is_empty() => (0.0, 1.0),
            ColorScale::Sequential if e.hi > e.lo => (e.lo, e.hi),
            ColorScale::Sequential => (e.lo - 0.5, e.hi + 0.5),
        })
    }

    /// Draw the heatmap and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.check()?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let txs: Vec<Option<f64>> = self.x.iter().map(|&v| xs.forward(v)).collect();
        let tys: Vec<Option<f64>> = self.y.iter().map(|&v| ys.forward(v)).collect();
        if txs.iter().chain(&tys).any(Option::is_none) {
            return Err(Error::param(
                "heatmap grid",
                "a value <= 0",
                "positive cell centres on a log axis",
            ));
        }
        let txs: Vec<f64> = txs.into_iter().flatten().collect();
        let tys: Vec<f64> = tys.into_iter().flatten().collect();
        let (xe, ye) = (cell_edges(&txs), cell_edges(&tys));
        let (mut ex, mut ey) = (Extent::new(), Extent::new());
        xe.iter().for_each(|&v| ex.add(v));
        ye.iter().for_each(|&v| ey.add(v));
        // Edges are already in plot coordinates: build axes in plot units, then restore.
        let axis = |scale, user: Option<(f64, f64)>, e: Extent, name| match user {
            None if !e.is_empty() => Ok(axis_from_plot_range(scale, e.lo, e.hi)),
            _ => AxisSpec::new(scale, user, Extent::new(), name, 0.0),
        };
        let xa = axis(xs, self.axes.x_range, ex, "x_range")?;
        let ya = axis(ys, self.axes.y_range, ey, "y_range")?;
        let (zlo, zhi) = self.color_range()?;
        let (zb, _, zdec) = linear_ticks(zlo, zhi, 7.0);
        let za = AxisSpec {
            scale: Scale::Linear,
            lo: zlo,
            hi: zhi,
            bold: zb,
            light: vec![],
            decimals: zdec,
        };
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let (w, _) = area.dim_in_pixel();
            let (main, bar) = area.split_horizontally(w.saturating_sub(150));
            let mut chart = build_chart(&main, &self.axes, &xa, &ya, ChartOpts::default())?;
            let r = Rect::of(&xa, &ya);
            let nan_color = RGBColor(215, 215, 215);
            let mut cells = Vec::with_capacity(txs.len() * tys.len());
            for j in 0..tys.len() {
                for i in 0..txs.len() {
                    let (x0, x1) = (xe[i].max(r.x0), xe[i + 1].min(r.x1));
                    let (y0, y1) = (ye[j].max(r.y0), ye[j + 1].min(r.y1));
                    if x0 >= x1 || y0 >= y1 {
                        continue;
                    }
                    let v = self.z[j][i];
                    let c = if v.is_finite() {
                        self.colors.at((v - zlo) / (zhi - zlo))
                    } else {
                        nan_color
                    };
                    cells.push(Rectangle::new([(x0, y1), (x1, y0)], c.filled()));
                }
            }
            chart.draw_series(cells)?;
            for (level, label) in &self.contours {
                let segs = contour_segments(&txs, &tys, &self.z, *level);
                let lines: Vec<Vec<(f64, f64)>> = segs
                    .into_iter()
                    .filter_map(|(a, b)| clip_segment(a, b, &r))
                    .map(|(a, b)| vec![a, b])
                    .collect();
                draw_lines(&mut chart, lines, BLACK, LINE_WIDTH + 1, None)?;
                legend(&mut chart, &mut nl, label, Glyph::line(BLACK, None))?;
            }
            for (k, s) in self.curves.iter().enumerate() {
                let c = palette(s.color.unwrap_or(k + 3));
                let pts = s.transformed(xs, ys);
                draw_curve(&mut chart, &pts, &r, c, LINE_WIDTH + 1, dash_of(s.dashed))?;
                if s.markers {
                    draw_markers(&mut chart, &pts, &r, k, c)?;
                }
                legend(
                    &mut chart,
                    &mut nl,
                    &s.name,
                    Glyph::line(c, dash_of(s.dashed)),
                )?;
            }
            // Frame over the cells.
            chart.draw_series(std::iter::once(Rectangle::new(
                [(r.x0, r.y1), (r.x1, r.y0)],
                RGBColor(60, 60, 60).stroke_width(1),
            )))?;
            draw_legend(&mut chart, nl, self.axes.legend)?;
            // Colour bar.
            let mut cb = ChartBuilder::on(&bar)
                .margin(14)
                .margin_left(4)
                .margin_right(10)
                .x_label_area_size(68)
                .right_y_label_area_size(96)
                .build_cartesian_2d(axis_from_plot_range(Scale::Linear, 0.0, 1.0), za.clone())?;
            let n = 200;
            cb.draw_series((0..n).map(|k| {
                let a = za.lo + (za.hi - za.lo) * k as f64 / n as f64;
                let b = za.lo + (za.hi - za.lo) * (k + 1) as f64 / n as f64;
                let c = self.colors.at((k as f64 + 0.5) / n as f64);
                Rectangle::new([(0.0, b), (1.0, a)], c.filled())
            }))?;
            cb.draw_series(std::iter::once(Rectangle::new(
                [(0.0, za.hi), (1.0, za.lo)],
                RGBColor(60, 60, 60).stroke_width(1),
            )))?;
            let zf = |v: &f64| za.label(*v);
            cb.configure_mesh()
                .disable_x_mesh()
                .disable_y_mesh()
                .disable_x_axis()
                .y_desc(self.z_label.as_str())
                .axis_desc_style((FAMILY, LABEL_SIZE))
                .label_style((FAMILY, TICK_SIZE))
                .y_label_formatter(&zf)
                .axis_style(RGBColor(60, 60, 60))
                .draw()?;
            Ok(())
        })
    }
}

/// An axis whose range is given in plot coordinates (already transformed).
fn axis_from_plot_range(scale: Scale, lo: f64, hi: f64) -> AxisSpec {
    let (bold, light, decimals) = match scale {
        Scale::Linear => linear_ticks(lo, hi, 8.0),
        Scale::Log10 => {
            let (b, l) = log_ticks(lo, hi);
            (b, l, None)
        }
    };
    AxisSpec {
        scale,
        lo,
        hi,
        bold,
        light,
        decimals,
    }
}

// ---------------------------------------------------------------------------------------
// Histogram
// ---------------------------------------------------------------------------------------

/// Normalized histogram of the finite `values` with `bins` equal bins over `range`
/// (default: min..max of the values): returns `(bin centres, density)`, where the
/// density integrates to 1 over the range (values outside it are not counted).
///
/// ```
/// let (c, d) = nrnn::report::plot::density(&[0.1, 0.2, 0.6, 0.9], 2, Some((0.0, 1.0)));
/// assert_eq!(c, vec![0.25, 0.75]);
/// assert_eq!(d, vec![1.0, 1.0]);
/// ```
pub fn density(values: &[f64], bins: usize, range: Option<(f64, f64)>) -> (Vec<f64>, Vec<f64>) {
    let bins = bins.max(1);
    let mut e = Extent::new();
    values.iter().for_each(|&v| e.add(v));
    let (lo, hi) = match range {
        Some((a, b)) if a.is_finite() && b.is_finite() && a < b => (a, b),
        _ if e.is_empty() => (0.0, 1.0),
        _ if e.hi > e.lo => (e.lo, e.hi),
        _ => (e.lo - 0.5, e.lo + 0.5),
    };
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    let mut n = 0usize;
    for &v in values {
        if v.is_finite() && v >= lo && v <= hi {
            let k = (((v - lo) / w) as usize).min(bins - 1);
            counts[k] += 1;
            n += 1;
        }
    }
    let centres = (0..bins).map(|k| lo + (k as f64 + 0.5) * w).collect();
    let dens = counts
        .iter()
        .map(|&c| {
            if n > 0 {
                c as f64 / (n as f64 * w)
            } else {
                0.0
            }
        })
        .collect();
    (centres, dens)
}

/// Densities (or any binned curves): each series gives bin centres and heights, drawn
/// as lines or as step outlines, optionally filled; use `Axes::log_y` for a log density.
///
/// ```
/// use nrnn::report::plot::{density, Axes, Histogram, Series};
/// let dir = tempfile::tempdir().unwrap();
/// let v: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
/// let (c, d) = density(&v, 20, None);
/// Histogram::new(Axes::new("Hidden state", "h", "density"))
///     .series(Series::new("uniform", &c, &d))
///     .step(true)
///     .save(&dir.path().join("hist.png"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Frame options.
    pub axes: Axes,
    /// Curves of (bin centre, height).
    pub series: Vec<Series>,
    /// Draw step outlines (bin edges at the midpoints between centres) instead of lines.
    pub step: bool,
    /// Fill under each curve, lightly.
    pub fill: bool,
    /// Reference lines.
    pub ref_lines: Vec<RefLine>,
}

impl Histogram {
    /// An empty histogram plot.
    pub fn new(axes: Axes) -> Self {
        Histogram {
            axes,
            ..Default::default()
        }
    }
    /// Add a curve.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }
    /// Step outlines or plain lines.
    pub fn step(mut self, step: bool) -> Self {
        self.step = step;
        self
    }
    /// Fill under the curves.
    pub fn fill(mut self, fill: bool) -> Self {
        self.fill = fill;
        self
    }
    /// Add a reference line.
    pub fn ref_line(mut self, r: RefLine) -> Self {
        self.ref_lines.push(r);
        self
    }

    /// Points of the curve to draw, in data units (step outline when `step`).
    fn outline(&self, s: &Series) -> Vec<(f64, f64)> {
        if !self.step || s.x.is_empty() {
            return s.x.iter().copied().zip(s.y.iter().copied()).collect();
        }
        // Edges in plot coordinates of x, mapped back to data units.
        let xs = self.axes.x_scale;
        let tx: Vec<f64> =
            s.x.iter()
                .map(|&v| xs.forward(v).unwrap_or(f64::NAN))
                .collect();
        let edges = cell_edges(&tx);
        let back = |t: f64| match xs {
            Scale::Linear => t,
            Scale::Log10 => 10f64.powf(t),
        };
        let mut out = Vec::with_capacity(2 * s.x.len() + 2);
        let linear_y = self.axes.y_scale == Scale::Linear;
        if linear_y {
            out.push((back(edges[0]), 0.0));
        }
        for i in 0..s.x.len() {
            out.push((back(edges[i]), s.y[i]));
            out.push((back(edges[i + 1]), s.y[i]));
        }
        if linear_y {
            out.push((back(edges[s.x.len()]), 0.0));
        }
        out
    }

    /// Draw the plot and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.series)?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let outlines: Vec<Series> = self
            .series
            .iter()
            .map(|s| {
                let o = self.outline(s);
                Series::from_points(&s.name, &o)
            })
            .collect();
        let (mut ex, mut ey) = (Extent::new(), Extent::new());
        for s in &outlines {
            s.extend_extent(xs, ys, &mut ex, &mut ey);
        }
        if ys == Scale::Linear && !ey.is_empty() && ey.lo > 0.0 {
            ey.add(0.0);
        }
        ref_extents(&self.ref_lines, xs, ys, &mut ex, &mut ey);
        let xa = AxisSpec::new(xs, self.axes.x_range, ex, "x_range", 0.02)?;
        let ya = match self.axes.y_range {
            // Densities start at 0: no padding below.
            None if ys == Scale::Linear && !ey.is_empty() && ey.lo >= 0.0 && ey.hi > 0.0 => {
                axis_from_plot_range(ys, 0.0, ey.hi * 1.05)
            }
            user => AxisSpec::new(ys, user, ey, "y_range", 0.05)?,
        };
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let mut chart = build_chart(&area, &self.axes, &xa, &ya, ChartOpts::default())?;
            let r = Rect::of(&xa, &ya);
            if self.fill {
                for (i, (s, o)) in self.series.iter().zip(&outlines).enumerate() {
                    let base = ya.lo.max(match ys {
                        Scale::Linear => 0.0,
                        Scale::Log10 => ya.lo,
                    });
                    let mut band = o.clone();
                    // lower edge: the baseline, in data units
                    let b = match ys {
                        Scale::Linear => base,
                        Scale::Log10 => 10f64.powf(base),
                    };
                    band.band = Some((vec![b; o.x.len()], o.y.clone()));
                    draw_bands(&mut chart, band_polygons(&band, xs, ys, &r), s.rgb(i))?;
                }
            }
            draw_ref_lines(&mut chart, &self.ref_lines, &xa, &ya)?;
            for (i, (s, o)) in self.series.iter().zip(&outlines).enumerate() {
                let c = s.rgb(i);
                let pts = o.transformed(xs, ys);
                draw_curve(&mut chart, &pts, &r, c, LINE_WIDTH, dash_of(s.dashed))?;
                if s.markers {
                    draw_markers(&mut chart, &s.transformed(xs, ys), &r, i, c)?;
                }
                let g = Glyph {
                    fill: if self.fill { BAND_ALPHA } else { 0.0 },
                    ..Glyph::line(c, dash_of(s.dashed))
                };
                legend(&mut chart, &mut nl, &s.name, g)?;
            }
            if no_points(&self.series, xs, ys) {
                no_data_note(&mut chart, &xa, &ya)?;
            }
            draw_legend(&mut chart, nl, self.axes.legend)
        })
    }
}

// ---------------------------------------------------------------------------------------
// BarChart
// ---------------------------------------------------------------------------------------

/// One set of bars of a [`BarChart`]: a mean per category and an error interval.
#[derive(Clone, Debug, Default)]
pub struct Bars {
    /// Legend label.
    pub name: String,
    /// Bar heights, one per category (NaN: no bar).
    pub means: Vec<f64>,
    /// Lower ends of the error bars (data units; NaN: no error bar).
    pub lower: Vec<f64>,
    /// Upper ends of the error bars.
    pub upper: Vec<f64>,
    /// Palette index (default: position).
    pub color: Option<usize>,
}

impl Bars {
    /// Bars without error bars.
    pub fn new(name: &str, means: &[f64]) -> Self {
        let nan = vec![f64::NAN; means.len()];
        Bars {
            name: name.to_string(),
            means: means.to_vec(),
            lower: nan.clone(),
            upper: nan,
            color: None,
        }
    }
    /// Bars with symmetric error bars `mean ± spread` (e.g. standard deviation over seeds).
    pub fn symmetric(name: &str, means: &[f64], spread: &[f64]) -> Self {
        Bars {
            name: name.to_string(),
            means: means.to_vec(),
            lower: means.iter().zip(spread).map(|(m, s)| m - s).collect(),
            upper: means.iter().zip(spread).map(|(m, s)| m + s).collect(),
            color: None,
        }
    }
    /// Bars with error bars from `lower` to `upper` (e.g. min and max over seeds).
    pub fn interval(name: &str, means: &[f64], lower: &[f64], upper: &[f64]) -> Self {
        Bars {
            name: name.to_string(),
            means: means.to_vec(),
            lower: lower.to_vec(),
            upper: upper.to_vec(),
            color: None,
        }
    }
    /// Use palette colour `i`.
    pub fn color(mut self, i: usize) -> Self {
        self.color = Some(i);
        self
    }
}

/// Grouped bar chart with error bars: one group per category, one bar per [`Bars`] set;
/// optional value labels above the bars (for accuracy or robustness tables).
///
/// ```
/// use nrnn::report::plot::{Axes, BarChart, Bars};
/// let dir = tempfile::tempdir().unwrap();
/// BarChart::new(Axes::new("Test accuracy", "", "accuracy"), &["clean", "noisy input"])
///     .bars(Bars::symmetric("deterministic RNN", &[0.97, 0.81], &[0.004, 0.02]))
///     .bars(Bars::symmetric("noisy RNN", &[0.975, 0.90], &[0.003, 0.01]))
///     .value_labels(true)
///     .save(&dir.path().join("bars.png"))
///     .unwrap();
/// ```
#[derive(Clone, Debug, Default)]
pub struct BarChart {
    /// Frame options (`x_scale` is ignored; `y_scale` may be log).
    pub axes: Axes,
    /// Category names along x.
    pub categories: Vec<String>,
    /// Bar sets, each with one value per category.
    pub series: Vec<Bars>,
    /// Print each mean above its bar.
    pub value_labels: bool,
    /// Horizontal reference lines (vertical ones are ignored).
    pub ref_lines: Vec<RefLine>,
}

impl BarChart {
    /// An empty bar chart over the given categories.
    pub fn new(axes: Axes, categories: &[&str]) -> Self {
        BarChart {
            axes,
            categories: categories.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }
    /// Add a bar set.
    pub fn bars(mut self, b: Bars) -> Self {
        self.series.push(b);
        self
    }
    /// Print the means above the bars.
    pub fn value_labels(mut self, on: bool) -> Self {
        self.value_labels = on;
        self
    }
    /// Add a horizontal reference line.
    pub fn ref_line(mut self, r: RefLine) -> Self {
        self.ref_lines.push(r);
        self
    }

    /// Draw the chart and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        let nc = self.categories.len();
        for b in &self.series {
            for (what, v) in [
                ("means", &b.means),
                ("lower", &b.lower),
                ("upper", &b.upper),
            ] {
                if v.len() != nc {
                    return Err(Error::param(
                        &format!("bars `{}`: {what} length", b.name),
                        v.len(),
                        &format!("{nc}, one per category"),
                    ));
                }
            }
        }
        let ys = self.axes.y_scale;
        let mut ey = Extent::new();
        for b in &self.series {
            for k in 0..nc {
                ey.add_opt(ys.forward(b.means[k]));
                ey.add_opt(ys.forward(b.lower[k]));
                ey.add_opt(ys.forward(b.upper[k]));
            }
        }
        for r in &self.ref_lines {
            if r.orientation == Orientation::Horizontal {
                ey.add_opt(ys.forward(r.value));
            }
        }
        let ya = if self.axes.y_range.is_none() && ys == Scale::Linear && !ey.is_empty() {
            // Bars start at 0: include it, pad only away from 0.
            let (mut lo, mut hi) = (ey.lo.min(0.0), ey.hi.max(0.0));
            let span = (hi - lo).max(1e-300);
            let top = if self.value_labels { 0.12 } else { 0.05 };
            if hi > 0.0 {
                hi += top * span;
            }
            if lo < 0.0 {
                lo -= 0.05 * span;
            }
            axis_from_plot_range(Scale::Linear, lo, hi)
        } else {
            if !ey.is_empty() && self.value_labels && self.axes.y_range.is_none() {
                ey.hi += 0.08 * (ey.hi - ey.lo).max(0.1);
            }
            AxisSpec::new(ys, self.axes.y_range, ey, "y_range", 0.05)?
        };
        let xa = AxisSpec {
            scale: Scale::Linear,
            lo: -0.5,
            hi: nc.max(1) as f64 - 0.5,
            bold: (0..nc).map(|k| k as f64).collect(),
            light: vec![],
            decimals: None,
        };
        let cats = self.categories.clone();
        let x_fmt = move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < cats.len() {
                cats[k as usize].clone()
            } else {
                String::new()
            }
        };
        // Value labels share one number of decimals: 3 significant digits of the smallest.
        let finite_means = self
            .series
            .iter()
            .flat_map(|b| b.means.iter())
            .filter(|v| v.is_finite() && **v != 0.0);
        let label_decimals = finite_means
            .clone()
            .map(|v| 2 - v.abs().log10().floor() as i32)
            .max()
            .filter(|d| (0..=6).contains(d) && finite_means.clone().all(|v| v.abs() < 1e5));
        let value_label = |v: f64| match label_decimals {
            Some(d) => format!("{:.*}", d as usize, v),
            None => format_sig(v, 3),
        };
        render(path, self.axes.size, |root| {
            let mut nl = 0usize;
            let area = titled(root, &self.axes)?;
            let opts = ChartOpts {
                x_fmt: Some(&x_fmt),
                x_mesh: false,
                ..Default::default()
            };
            let mut chart = build_chart(&area, &self.axes, &xa, &ya, opts)?;
            let r = Rect::of(&xa, &ya);
            let base = if ys == Scale::Linear {
                0f64.clamp(ya.lo, ya.hi)
            } else {
                ya.lo
            };
            let ns = self.series.len().max(1);
            let group = 0.8;
            let bw = group / ns as f64;
            for (si, b) in self.series.iter().enumerate() {
                let c = palette(b.color.unwrap_or(si));
                for k in 0..nc {
                    let x0 = k as f64 - group / 2.0 + si as f64 * bw + 0.06 * bw;
                    let x1 = x0 + bw * 0.88;
                    let xm = 0.5 * (x0 + x1);
                    if let Some(m) = ys.forward(b.means[k]) {
                        let top = m.clamp(r.y0, r.y1);
                        chart.draw_series(std::iter::once(Rectangle::new(
                            [(x0, top), (x1, base)],
                            c.filled(),
                        )))?;
                    }
                    let lo = ys.forward(b.lower[k]);
                    let hi = ys.forward(b.upper[k]);
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        let (lo, hi) = (lo.clamp(r.y0, r.y1), hi.clamp(r.y0, r.y1));
                        let cap = 0.18 * bw;
                        let st = BLACK.stroke_width(2);
                        chart.draw_series([
                            PathElement::new(vec![(xm, lo), (xm, hi)], st),
                            PathElement::new(vec![(xm - cap, lo), (xm + cap, lo)], st),
                            PathElement::new(vec![(xm - cap, hi), (xm + cap, hi)], st),
                        ])?;
                    }
                    if self.value_labels && b.means[k].is_finite() {
                        let top = [ys.forward(b.means[k]), ys.forward(b.upper[k])]
                            .into_iter()
                            .flatten()
                            .fold(f64::NEG_INFINITY, f64::max);
                        if top.is_finite() && top <= r.y1 {
                            let style = (FAMILY, ANNOT_SIZE)
                                .into_font()
                                .color(&BLACK)
                                .pos(Pos::new(HPos::Center, VPos::Bottom));
                            chart.draw_series(std::iter::once(
                                EmptyElement::at((xm, top))
                                    + Text::new(value_label(b.means[k]), (0, -6), style),
                            ))?;
                        }
                    }
                }
                let g = Glyph {
                    fill: 1.0,
                    line: false,
                    ..Glyph::line(c, None)
                };
                legend(&mut chart, &mut nl, &b.name, g)?;
            }
            let hrefs: Vec<RefLine> = self
                .ref_lines
                .iter()
                .filter(|r| r.orientation == Orientation::Horizontal)
                .cloned()
                .collect();
            draw_ref_lines(&mut chart, &hrefs, &xa, &ya)?;
            draw_legend(&mut chart, nl, self.axes.legend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_segment_inside_and_crossing() {
        let r = Rect {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        };
        assert!(clip_segment((0.2, 0.2), (0.8, 0.8), &r).is_some());
        let (a, b) = clip_segment((-1.0, 0.5), (2.0, 0.5), &r).unwrap();
        assert_eq!((a.0, b.0), (0.0, 1.0));
        assert!(clip_segment((2.0, 2.0), (3.0, 3.0), &r).is_none());
    }

    #[test]
    fn polylines_break_at_gaps() {
        let r = Rect {
            x0: 0.0,
            x1: 10.0,
            y0: 0.0,
            y1: 10.0,
        };
        let p = [
            Some((1.0, 1.0)),
            Some((2.0, 2.0)),
            None,
            Some((3.0, 3.0)),
            Some((4.0, 4.0)),
            Some((5.0, 5.0)),
        ];
        let l = polylines(&p, &r);
        assert_eq!(l.len(), 2);
        assert_eq!(l[1].len(), 3);
    }

    #[test]
    fn polygon_clip_square() {
        let r = Rect {
            x0: 0.0,
            x1: 1.0,
            y0: 0.0,
            y1: 1.0,
        };
        let c = clip_polygon(&[(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)], &r);
        assert_eq!(c.len(), 4);
        assert!(c.iter().all(|p| r.contains(*p)));
    }

    #[test]
    fn ticks_are_sensible() {
        let (b, _, d) = linear_ticks(0.0, 1.0, 8.0);
        assert!(b.len() >= 5 && b.len() <= 11);
        assert_eq!(d, Some(1));
        let (b, l) = log_ticks(-3.0, 2.0);
        assert_eq!(b, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]);
        assert!(!l.is_empty());
        let (b, _) = log_ticks(0.1, 0.6);
        assert!(b.len() >= 2);
    }

    #[test]
    fn tick_labels_are_distinct() {
        for (lo, hi) in [
            (1.0, 1.0 + 2e-10),
            (1e-9, 3e-9),
            (1e7, 1e7 + 5.0),
            (-1e300, 1e300),
            (0.0, 0.002),
        ] {
            let mut e = Extent::new();
            e.add(lo);
            e.add(hi);
            let a = AxisSpec::new(Scale::Linear, None, e, "x", 0.05).unwrap();
            let labels: Vec<String> = a.bold.iter().map(|t| a.label(*t)).collect();
            let mut d = labels.clone();
            d.dedup();
            assert!(labels.len() >= 3, "{lo}..{hi}: {labels:?}");
            assert_eq!(d.len(), labels.len(), "{lo}..{hi}: {labels:?}");
        }
    }

    #[test]
    fn log_labels() {
        let a = axis_from_plot_range(Scale::Log10, -6.0, 1.0);
        assert_eq!(a.label(-6.0), "10⁻⁶");
        assert_eq!(a.label(-1.0), "0.1");
        assert_eq!(a.label(0.0), "1");
    }
}

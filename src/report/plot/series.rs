//! Series (curves with bands) and reference lines.

use super::*;

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

    pub(super) fn check(&self) -> Result<()> {
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

    pub(super) fn rgb(&self, idx: usize) -> RGBColor {
        palette(self.color.unwrap_or(idx))
    }

    /// The dash pattern of the line: [`DASHED`] when `dashed`, else solid.
    pub(super) fn dash(&self) -> Dash {
        dash_of(self.dashed)
    }

    /// The legend glyph of the curve: a line in `color`, dashed like the curve.
    pub(super) fn glyph(&self, color: RGBColor) -> Glyph {
        Glyph::line(color, self.dash())
    }

    /// Points in plot coordinates (None where not drawable).
    pub(super) fn transformed(&self, xs: Scale, ys: Scale) -> Vec<Option<(f64, f64)>> {
        self.x
            .iter()
            .zip(&self.y)
            .map(|(&a, &b)| Some((xs.forward(a)?, ys.forward(b)?)))
            .collect()
    }

    pub(super) fn extend_extent(&self, xs: Scale, ys: Scale, ex: &mut Extent, ey: &mut Extent) {
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
pub fn series_table(series: &[Series]) -> crate::report::table::Table {
    use crate::report::table::{Cell, Table};
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
pub fn series_from_table(t: &crate::report::table::Table) -> Result<Vec<Series>> {
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
    pub(super) fn rgb(&self) -> RGBColor {
        self.color.map(palette).unwrap_or(REFERENCE_COLOR)
    }
}

/// Add to `ex` (vertical lines) and `ey` (horizontal lines) each reference line's
/// position in plot coordinates, where it is drawable.
pub(super) fn ref_extents(
    refs: &[RefLine],
    xs: Scale,
    ys: Scale,
    ex: &mut Extent,
    ey: &mut Extent,
) {
    for r in refs {
        match r.orientation {
            Orientation::Horizontal => ey.add_opt(ys.forward(r.value)),
            Orientation::Vertical => ex.add_opt(xs.forward(r.value)),
        }
    }
}

/// The extents `(ex, ey)` in plot coordinates of what a frame must show: every drawable
/// point and band end of `series` ([`Series::extend_extent`]), then the positions of the
/// reference lines `refs` ([`ref_extents`]).
pub(super) fn extents<'a>(
    series: impl IntoIterator<Item = &'a Series>,
    refs: &[RefLine],
    xs: Scale,
    ys: Scale,
) -> (Extent, Extent) {
    let (mut ex, mut ey) = (Extent::new(), Extent::new());
    for s in series {
        s.extend_extent(xs, ys, &mut ex, &mut ey);
    }
    ref_extents(refs, xs, ys, &mut ex, &mut ey);
    (ex, ey)
}

//! Heatmaps: a value over a 2-D grid, colour scales, zero contour.

use super::*;

/// Colour scale of a [`Heatmap`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ColorScale {
    /// Blue (negative) – white (0) – red (positive), symmetric around 0.
    #[default]
    Diverging,
    /// Viridis-like dark blue to yellow, from the minimum to the maximum.
    Sequential,
}

pub(super) const DIVERGING: [(u8, u8, u8); 7] = [
    (0x21, 0x66, 0xac),
    (0x67, 0xa9, 0xcf),
    (0xd1, 0xe5, 0xf0),
    (0xf7, 0xf7, 0xf7),
    (0xfd, 0xdb, 0xc7),
    (0xef, 0x8a, 0x62),
    (0xb2, 0x18, 0x2b),
];

pub(super) const VIRIDIS: [(u8, u8, u8); 7] = [
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
pub(super) fn cell_edges(centres: &[f64]) -> Vec<f64> {
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

    pub(super) fn check(&self) -> Result<()> {
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

    pub(super) fn color_range(&self) -> Result<(f64, f64)> {
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

    /// The cell centres in plot coordinates (log10 on a log axis), refused when a centre
    /// is not positive on a log axis.
    fn plot_centres(&self) -> Result<(Vec<f64>, Vec<f64>)> {
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
        Ok((
            txs.into_iter().flatten().collect(),
            tys.into_iter().flatten().collect(),
        ))
    }

    /// Draw the heatmap and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.check()?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let (txs, tys) = self.plot_centres()?;
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
                draw_curve(&mut chart, &pts, &r, c, LINE_WIDTH + 1, s.dash())?;
                if s.markers {
                    draw_markers(&mut chart, &pts, &r, k, c)?;
                }
                legend(&mut chart, &mut nl, &s.name, s.glyph(c))?;
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

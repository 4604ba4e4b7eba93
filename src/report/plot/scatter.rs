//! Scatter plots: measured vs bound, optional `y = x` line.

use super::*;

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

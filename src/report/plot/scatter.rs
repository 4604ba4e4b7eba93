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

    /// Draw the plot and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.groups)?;
        check_all(&self.lines)?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let (mut ex, mut ey) = extents(
            self.groups.iter().chain(&self.lines),
            &self.ref_lines,
            xs,
            ys,
        );
        if self.identity.is_some() && xs == ys && !ex.is_empty() && !ey.is_empty() {
            let u = ex.union(&ey);
            if self.axes.x_range.is_none() && self.axes.y_range.is_none() {
                ex = u;
                ey = u;
            }
        }
        let (xa, ya) = frame_axes(&self.axes, (xs, ys), (ex, ey), (0.05, 0.05))?;
        let empty = no_points(&[&self.groups[..], &self.lines[..]].concat(), xs, ys);
        render_chart(path, &self.axes, (&xa, &ya), empty, |chart, r, entries| {
            draw_ref_lines(chart, &self.ref_lines, &xa, &ya)?;
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
                draw_lines(chart, polylines(&pts, r), BLACK, LINE_WIDTH, DASHED)?;
                entries.add(label, Glyph::line(BLACK, DASHED));
            }
            let ng = self.groups.len();
            for (k, s) in self.lines.iter().enumerate() {
                let c = s.rgb(ng + k);
                let pts = s.transformed(xs, ys);
                draw_bands(chart, band_polygons(s, xs, ys, r), c)?;
                draw_curve(chart, &pts, r, c, LINE_WIDTH, s.dash())?;
                entries.add(&s.name, s.glyph(c));
            }
            for (i, s) in self.groups.iter().enumerate() {
                let c = s.rgb(i);
                draw_markers(chart, &s.transformed(xs, ys), r, i, c)?;
                let g = Glyph {
                    line: false,
                    marker: Some(i),
                    ..Glyph::line(c, None)
                };
                entries.add(&s.name, g);
            }
            Ok(())
        })
    }
}

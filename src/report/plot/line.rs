//! Line plots: curves with optional bands and reference lines.

use super::*;

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
    /// Add a curve.
    pub fn series(mut self, s: Series) -> Self {
        self.series.push(s);
        self
    }

    /// Draw the plot and write it as a PNG to `path` (atomically; directories created).
    pub fn save(&self, path: &Path) -> Result<()> {
        check_all(&self.series)?;
        let (xs, ys) = (self.axes.x_scale, self.axes.y_scale);
        let e = extents(&self.series, &self.ref_lines, xs, ys);
        let (xa, ya) = frame_axes(&self.axes, (xs, ys), e, (0.02, 0.05))?;
        let empty = no_points(&self.series, xs, ys);
        render_chart(path, &self.axes, (&xa, &ya), empty, |chart, r, entries| {
            for (i, s) in self.series.iter().enumerate() {
                draw_bands(chart, band_polygons(s, xs, ys, r), s.rgb(i))?;
            }
            draw_ref_lines(chart, &self.ref_lines, &xa, &ya)?;
            for (i, s) in self.series.iter().enumerate() {
                let c = s.rgb(i);
                let pts = s.transformed(xs, ys);
                draw_curve(chart, &pts, r, c, LINE_WIDTH, s.dash())?;
                if s.markers {
                    draw_markers(chart, &pts, r, i, c)?;
                }
                let g = Glyph {
                    fill: if s.band.is_some() { BAND_ALPHA } else { 0.0 },
                    marker: s.markers.then_some(i),
                    ..s.glyph(c)
                };
                entries.add(&s.name, g);
            }
            Ok(())
        })
    }
}

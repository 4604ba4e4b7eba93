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

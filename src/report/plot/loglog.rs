//! Log-log fits: points, least-squares line, slope ± stderr, reference slopes.

use super::*;

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

    pub(super) fn fit_points(&self, s: &Series) -> (Vec<f64>, Vec<f64>) {
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
        let e = extents(&self.series, &[], xs, ys);
        let (xa, ya) = frame_axes(&self.axes, (xs, ys), e, (0.06, 0.06))?;
        let fits = self.fits();
        let empty = no_points(&self.series, xs, ys);
        render_chart(path, &self.axes, (&xa, &ya), empty, |chart, r, entries| {
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
                    draw_lines(chart, polylines(&line, r), rc, LINE_WIDTH, rd)?;
                }
                entries.add(&rs.label, Glyph::line(rc, rd));
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
                        draw_lines(chart, polylines(&line, r), c, LINE_WIDTH, s.dash())?;
                    }
                }
                draw_markers(chart, &pts, r, i, c)?;
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
                    ..s.glyph(c)
                };
                entries.add(&label, g);
            }
            Ok(())
        })
    }
}

//! Histograms: densities as lines or steps.

use super::*;

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
    /// Points of the curve to draw, in data units (step outline when `step`).
    pub(super) fn outline(&self, s: &Series) -> Vec<(f64, f64)> {
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
        // 0 joins the curves' extent before the reference lines do.
        let (mut ex, mut ey) = extents(&outlines, &[], xs, ys);
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
        let empty = no_points(&self.series, xs, ys);
        render_chart(path, &self.axes, (&xa, &ya), empty, |chart, r, entries| {
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
                    draw_bands(chart, band_polygons(&band, xs, ys, r), s.rgb(i))?;
                }
            }
            draw_ref_lines(chart, &self.ref_lines, &xa, &ya)?;
            for (i, (s, o)) in self.series.iter().zip(&outlines).enumerate() {
                let c = s.rgb(i);
                let pts = o.transformed(xs, ys);
                draw_curve(chart, &pts, r, c, LINE_WIDTH, s.dash())?;
                if s.markers {
                    draw_markers(chart, &s.transformed(xs, ys), r, i, c)?;
                }
                let g = Glyph {
                    fill: if self.fill { BAND_ALPHA } else { 0.0 },
                    ..s.glyph(c)
                };
                entries.add(&s.name, g);
            }
            Ok(())
        })
    }
}

//! Bar charts: means with error bars per group.

use super::*;

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

    /// Every series has one mean and one interval per category.
    fn check_lengths(&self) -> Result<()> {
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
        Ok(())
    }

    /// The value axis: the extent of the means, intervals and horizontal reference lines;
    /// on a linear axis without a given range, bars start at 0 (included, padded away
    /// from 0, with room for the value labels).
    fn y_axis(&self) -> Result<AxisSpec> {
        let nc = self.categories.len();
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
        if self.axes.y_range.is_none() && ys == Scale::Linear && !ey.is_empty() {
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
            Ok(axis_from_plot_range(Scale::Linear, lo, hi))
        } else {
            if !ey.is_empty() && self.value_labels && self.axes.y_range.is_none() {
                ey.hi += 0.08 * (ey.hi - ey.lo).max(0.1);
            }
            AxisSpec::new(ys, self.axes.y_range, ey, "y_range", 0.05)
        }
    }

    /// The category axis: one bold tick per category at 0, 1, ...
    fn category_axis(&self) -> AxisSpec {
        let nc = self.categories.len();
        AxisSpec {
            scale: Scale::Linear,
            lo: -0.5,
            hi: nc.max(1) as f64 - 0.5,
            bold: (0..nc).map(|k| k as f64).collect(),
            light: vec![],
            decimals: None,
        }
    }

    /// The one number of decimals of the value labels: 3 significant digits of the
    /// smallest finite nonzero mean (`None`: out of range, [`format_sig`] per label).
    fn label_decimals(&self) -> Option<i32> {
        let finite_means = self
            .series
            .iter()
            .flat_map(|b| b.means.iter())
            .filter(|v| v.is_finite() && **v != 0.0);
        finite_means
            .clone()
            .map(|v| 2 - v.abs().log10().floor() as i32)
            .max()
            .filter(|d| (0..=6).contains(d) && finite_means.clone().all(|v| v.abs() < 1e5))
    }

    /// Draw the chart and write it as a PNG to `path`.
    pub fn save(&self, path: &Path) -> Result<()> {
        self.check_lengths()?;
        let nc = self.categories.len();
        let ys = self.axes.y_scale;
        let ya = self.y_axis()?;
        let xa = self.category_axis();
        let cats = self.categories.clone();
        let x_fmt = move |v: &f64| {
            let k = v.round();
            if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < cats.len() {
                cats[k as usize].clone()
            } else {
                String::new()
            }
        };
        let label_decimals = self.label_decimals();
        let value_label = |v: f64| match label_decimals {
            Some(d) => format!("{:.*}", d as usize, v),
            None => format_sig(v, 3),
        };
        let opts = ChartOpts {
            x_fmt: Some(&x_fmt),
            x_mesh: false,
            ..Default::default()
        };
        render_chart_with(
            path,
            &self.axes,
            (&xa, &ya),
            opts,
            false,
            |chart, r, entries| {
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
                    entries.add(&b.name, g);
                }
                let hrefs: Vec<RefLine> = self
                    .ref_lines
                    .iter()
                    .filter(|r| r.orientation == Orientation::Horizontal)
                    .cloned()
                    .collect();
                draw_ref_lines(chart, &hrefs, &xa, &ya)?;
                Ok(())
            },
        )
    }
}

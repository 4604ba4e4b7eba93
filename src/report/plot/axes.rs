//! Axes: scales, options, extents and the shared tick placement.

use super::*;

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
pub(super) struct Extent {
    pub(super) lo: f64,
    pub(super) hi: f64,
}

impl Extent {
    pub(super) fn new() -> Self {
        Extent {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
        }
    }
    pub(super) fn add(&mut self, t: f64) {
        if t.is_finite() {
            self.lo = self.lo.min(t);
            self.hi = self.hi.max(t);
        }
    }
    pub(super) fn add_opt(&mut self, t: Option<f64>) {
        if let Some(t) = t {
            self.add(t)
        }
    }
    pub(super) fn is_empty(&self) -> bool {
        self.lo > self.hi
    }
    pub(super) fn union(&self, o: &Extent) -> Extent {
        Extent {
            lo: self.lo.min(o.lo),
            hi: self.hi.max(o.hi),
        }
    }
}

/// A computed axis: range in plot coordinates, tick positions and their labels.
#[derive(Clone, Debug)]
pub(super) struct AxisSpec {
    pub(super) scale: Scale,
    pub(super) lo: f64,
    pub(super) hi: f64,
    pub(super) bold: Vec<f64>,
    pub(super) light: Vec<f64>,
    pub(super) decimals: Option<usize>,
}

pub(super) fn nice_step(span: f64, target: f64) -> f64 {
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

pub(super) fn multiples(lo: f64, hi: f64, step: f64) -> Vec<f64> {
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
pub(super) fn linear_ticks(lo: f64, hi: f64, target: f64) -> (Vec<f64>, Vec<f64>, Option<usize>) {
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
pub(super) fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
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

/// An axis whose range `[lo, hi]` is given in plot coordinates (already transformed), with
/// the ticks of its scale ([`linear_ticks`] aiming at 8, or [`log_ticks`]).
pub(super) fn axis_from_plot_range(scale: Scale, lo: f64, hi: f64) -> AxisSpec {
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

/// The horizontal and vertical axes of the frame `axes`, on the scales `xs` and `ys`, over
/// the data extents `ex` and `ey` (plot coordinates): each axis spans the user's range
/// (`x_range`, `y_range`) if one is set, else its extent `[lo, hi]` widened to
/// `[lo - pad (hi - lo), hi + pad (hi - lo)]` with `pad` = `pad_x` resp. `pad_y`
/// ([`AxisSpec::new`]).
pub(super) fn frame_axes(
    axes: &Axes,
    (xs, ys): (Scale, Scale),
    (ex, ey): (Extent, Extent),
    (pad_x, pad_y): (f64, f64),
) -> Result<(AxisSpec, AxisSpec)> {
    Ok((
        AxisSpec::new(xs, axes.x_range, ex, "x_range", pad_x)?,
        AxisSpec::new(ys, axes.y_range, ey, "y_range", pad_y)?,
    ))
}

impl AxisSpec {
    pub(super) fn new(
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
        Ok(axis_from_plot_range(scale, lo.max(-lim), hi.min(lim)))
    }

    pub(super) fn label(&self, t: f64) -> String {
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

    pub(super) fn contains(&self, t: f64) -> bool {
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

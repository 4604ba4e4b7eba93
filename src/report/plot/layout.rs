//! The rendering core shared by every chart kind: canvas, title and layout, chart frame, legend glyphs, lines, markers, bands and reference lines.

use super::*;

pub(super) type DResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;
pub(super) type Coord2 = Cartesian2d<AxisSpec, AxisSpec>;
pub(super) type Chart<'a, 'b> = ChartContext<'a, BitMapBackend<'b>, Coord2>;
pub(super) type Area<'b> = DrawingArea<BitMapBackend<'b>, Shift>;

pub(super) fn check_size(size: (u32, u32)) -> Result<()> {
    let ok = |v: u32| (200..=8000).contains(&v);
    if ok(size.0) && ok(size.1) {
        Ok(())
    } else {
        Err(Error::param(
            "plot size",
            format!("{}x{}", size.0, size.1),
            "width and height in 200..=8000 pixels",
        ))
    }
}

/// Draw with `draw` into an in-memory RGB canvas of `size`, then write a PNG atomically.
pub(super) fn render<F>(path: &Path, size: (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> DResult<()>,
{
    ensure_fonts()?;
    check_size(size)?;
    let (w, h) = size;
    let mut buf = vec![255u8; w as usize * h as usize * 3];
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| -> DResult<()> {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        Ok(())
    }));
    let fail = |m: String| Error::Other(format!("drawing {}: {m}", path.display()));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(fail(e.to_string())),
        Err(p) => {
            let m = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            return Err(fail(format!("plotting library panicked: {m}")));
        }
    }
    let png = crate::report::png::encode_rgb(w, h, &buf)?;
    crate::io::write_atomic(path, &png)
}

/// Title and subtitle; returns the area below them.
pub(super) fn titled<'b>(root: &Area<'b>, axes: &Axes) -> DResult<Area<'b>> {
    let mut area = root.margin(8, 0, 0, 0);
    if !axes.title.trim().is_empty() {
        area = area.titled(axes.title.trim(), (FAMILY, TITLE_SIZE))?;
    }
    if !axes.subtitle.trim().is_empty() {
        let style = (FAMILY, SUBTITLE_SIZE)
            .into_font()
            .color(&RGBColor(90, 90, 90));
        area = area.titled(axes.subtitle.trim(), style)?;
    }
    Ok(area)
}

pub(super) struct ChartOpts<'f> {
    pub(super) x_fmt: Option<&'f dyn Fn(&f64) -> String>,
    pub(super) x_mesh: bool,
    pub(super) y_label_area: u32,
}

impl Default for ChartOpts<'_> {
    fn default() -> Self {
        ChartOpts {
            x_fmt: None,
            x_mesh: true,
            y_label_area: 100,
        }
    }
}

pub(super) fn build_chart<'a, 'b>(
    area: &'a Area<'b>,
    axes: &Axes,
    xa: &AxisSpec,
    ya: &AxisSpec,
    opts: ChartOpts<'_>,
) -> DResult<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .margin_right(34)
        .x_label_area_size(68)
        .y_label_area_size(opts.y_label_area)
        .build_cartesian_2d(xa.clone(), ya.clone())?;
    let xf = |v: &f64| xa.label(*v);
    let yf = |v: &f64| ya.label(*v);
    let x_fmt: &dyn Fn(&f64) -> String = opts.x_fmt.unwrap_or(&xf);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(axes.x_label.as_str())
        .y_desc(axes.y_label.as_str())
        .axis_desc_style((FAMILY, LABEL_SIZE))
        .label_style((FAMILY, TICK_SIZE))
        .x_label_formatter(x_fmt)
        .y_label_formatter(&yf)
        .bold_line_style(RGBColor(210, 210, 210))
        .light_line_style(RGBColor(241, 241, 241))
        .axis_style(RGBColor(60, 60, 60))
        .set_all_tick_mark_size(5);
    if !opts.x_mesh {
        mesh.disable_x_mesh();
    }
    mesh.draw()?;
    Ok(chart)
}

/// Draw a chart with the default frame options and write it as a PNG to `path`: see
/// [`render_chart_with`].
pub(super) fn render_chart<F>(
    path: &Path,
    axes: &Axes,
    frame: (&AxisSpec, &AxisSpec),
    empty: bool,
    draw: F,
) -> Result<()>
where
    F: FnOnce(&mut Chart<'_, '_>, &Rect, &mut LegendEntries) -> DResult<()>,
{
    render_chart_with(path, axes, frame, ChartOpts::default(), empty, draw)
}

/// Draw a chart and write it as a PNG to `path` ([`render`]): the title block of `axes`
/// ([`titled`]), the frame on the axes `(xa, ya)` ([`build_chart`] with `opts`), then
/// the content by `draw`, which gets the chart, its clip rectangle and the legend entries
/// to fill; then the entries are registered in their order ([`legend`]), the "no finite
/// data" note is written when `empty` ([`no_data_note`]), last the legend at
/// `axes.legend`.
pub(super) fn render_chart_with<F>(
    path: &Path,
    axes: &Axes,
    (xa, ya): (&AxisSpec, &AxisSpec),
    opts: ChartOpts<'_>,
    empty: bool,
    draw: F,
) -> Result<()>
where
    F: FnOnce(&mut Chart<'_, '_>, &Rect, &mut LegendEntries) -> DResult<()>,
{
    render(path, axes.size, |root| {
        let area = titled(root, axes)?;
        let mut chart = build_chart(&area, axes, xa, ya, opts)?;
        let mut entries = LegendEntries::default();
        draw(&mut chart, &Rect::of(xa, ya), &mut entries)?;
        let mut nl = 0usize;
        for (name, g) in entries.0 {
            legend(&mut chart, &mut nl, &name, g)?;
        }
        if empty {
            no_data_note(&mut chart, xa, ya)?;
        }
        draw_legend(&mut chart, nl, axes.legend)
    })
}

/// The legend entries (label, glyph) of a chart, collected while it is drawn and
/// registered afterwards by [`render_chart`]: a legend entry draws nothing, so only
/// their order matters.
#[derive(Default)]
pub(super) struct LegendEntries(Vec<(String, Glyph)>);

impl LegendEntries {
    /// Append the entry `name` with glyph `g` (an empty name gets no entry, see
    /// [`legend`]).
    pub(super) fn add(&mut self, name: &str, g: Glyph) {
        self.0.push((name.to_string(), g));
    }
}

/// Legend glyph: optional filled box (band), optional line (maybe dashed), optional marker.
#[derive(Clone, Copy)]
pub(super) struct Glyph {
    pub(super) color: RGBColor,
    pub(super) line: bool,
    pub(super) dash: Dash,
    pub(super) fill: f64,
    pub(super) marker: Option<usize>,
}

impl Glyph {
    pub(super) fn line(color: RGBColor, dash: Dash) -> Self {
        Glyph {
            color,
            line: true,
            dash,
            fill: 0.0,
            marker: None,
        }
    }
}

pub(super) const GLYPH_W: i32 = 30;

/// Line pattern: `None` solid, `Some((dash, gap))` in pixels.
pub(super) type Dash = Option<(i32, i32)>;
/// The dash pattern of dashed series and reference lines.
pub(super) const DASHED: Dash = Some((10, 7));
/// Alternative patterns for further reference lines.
pub(super) const REF_DASHES: [Dash; 3] = [Some((10, 7)), Some((3, 5)), Some((16, 5))];

/// Colour and dash pattern of the `k`-th reference slope (alternating so that several
/// reference slopes stay distinguishable).
pub(super) fn ref_style(k: usize) -> (RGBColor, Dash) {
    const GREYS: [RGBColor; 3] = [
        REFERENCE_COLOR,
        RGBColor(0x88, 0x88, 0x88),
        RGBColor(0x22, 0x22, 0x22),
    ];
    (GREYS[k % 3], REF_DASHES[k % 3])
}

pub(super) fn dash_of(dashed: bool) -> Dash {
    if dashed {
        DASHED
    } else {
        None
    }
}

/// Up to four (start, end) pixel segments drawing `dash` across the legend glyph.
pub(super) fn glyph_segments(dash: Dash) -> [(i32, i32); 4] {
    let mut out = [(0, 0); 4];
    match dash {
        None => out[0] = (0, GLYPH_W),
        Some((d, g)) => {
            let (d, g) = (d.max(1), g.max(1));
            let mut x = 0;
            for seg in out.iter_mut() {
                if x >= GLYPH_W {
                    break;
                }
                *seg = (x, (x + d).min(GLYPH_W));
                x += d + g;
            }
        }
    }
    out
}

pub(super) fn marker_vertices(shape: usize, size: i32) -> Vec<(i32, i32)> {
    let s = size as f64;
    let poly = |n: usize, r: f64, phase: f64| -> Vec<(i32, i32)> {
        (0..n)
            .map(|k| {
                let a = phase + std::f64::consts::TAU * k as f64 / n as f64;
                ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
            })
            .collect()
    };
    match shape % 5 {
        0 => poly(16, s, 0.0),                                // circle
        1 => poly(4, s * 1.2, std::f64::consts::FRAC_PI_4),   // square
        2 => poly(3, s * 1.35, -std::f64::consts::FRAC_PI_2), // triangle up
        3 => poly(4, s * 1.35, 0.0),                          // diamond
        _ => poly(3, s * 1.35, std::f64::consts::FRAC_PI_2),  // triangle down
    }
}

pub(super) fn glyph_element<'x, DB: DrawingBackend + 'x>(
    g: Glyph,
    c: BackendCoord,
) -> impl IntoDynElement<'x, DB, BackendCoord> {
    let fill = if g.fill > 0.0 {
        g.color.mix(g.fill).filled()
    } else {
        TRANSPARENT.filled()
    };
    let line = if g.line {
        g.color.stroke_width(LINE_WIDTH + 1)
    } else {
        TRANSPARENT.stroke_width(1)
    };
    let segs = glyph_segments(g.dash);
    let seg = |k: usize| {
        let (a, b) = segs[k];
        let st = if b > a {
            line
        } else {
            TRANSPARENT.stroke_width(1)
        };
        PathElement::new(vec![(a, 0), (b, 0)], st)
    };
    let (mverts, mstyle) = match g.marker {
        Some(shape) => (
            marker_vertices(shape, MARKER_SIZE)
                .into_iter()
                .map(|(x, y)| (x + GLYPH_W / 2, y))
                .collect(),
            g.color.filled(),
        ),
        None => (vec![(0, 0), (0, 0), (0, 0)], TRANSPARENT.filled()),
    };
    EmptyElement::at(c)
        + Rectangle::new([(0, -8), (GLYPH_W, 8)], fill)
        + seg(0)
        + seg(1)
        + seg(2)
        + seg(3)
        + Polygon::new(mverts, mstyle)
}

/// Register a legend entry (an empty series carrying the label and glyph); `count`
/// tracks the number of entries (plotters does not expose it).
pub(super) fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    count: &mut usize,
    name: &str,
    g: Glyph,
) -> DResult<()> {
    if name.trim().is_empty() {
        return Ok(());
    }
    *count += 1;
    chart
        .draw_series(std::iter::empty::<PathElement<(f64, f64)>>())?
        .label(name.trim())
        .legend(move |c| glyph_element(g, c));
    Ok(())
}

pub(super) fn draw_legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    count: usize,
    pos: LegendPos,
) -> DResult<()> {
    let has = count > 0;
    let p = match pos {
        LegendPos::Hidden => return Ok(()),
        LegendPos::UpperRight => SeriesLabelPosition::UpperRight,
        LegendPos::UpperLeft => SeriesLabelPosition::UpperLeft,
        LegendPos::LowerRight => SeriesLabelPosition::LowerRight,
        LegendPos::LowerLeft => SeriesLabelPosition::LowerLeft,
        LegendPos::UpperMiddle => SeriesLabelPosition::UpperMiddle,
    };
    if has {
        chart
            .configure_series_labels()
            .position(p)
            .margin(10)
            .legend_area_size(GLYPH_W + 8)
            .label_font((FAMILY, LEGEND_SIZE))
            .background_style(WHITE.mix(0.88))
            .border_style(RGBColor(150, 150, 150))
            .draw()?;
    }
    Ok(())
}

pub(super) fn draw_lines(
    chart: &mut Chart<'_, '_>,
    lines: Vec<Vec<(f64, f64)>>,
    color: RGBColor,
    width: u32,
    dash: Dash,
) -> DResult<()> {
    let style = color.stroke_width(width);
    for l in lines {
        match dash {
            Some((d, g)) => {
                chart.draw_series(DashedLineSeries::new(l, d, g, style))?;
            }
            None => {
                chart.draw_series(LineSeries::new(l, style))?;
            }
        }
    }
    Ok(())
}

/// A curve through `pts` (plot coordinates, `None` = gap), clipped to `r`; points with
/// no drawable neighbour get a small dot.
pub(super) fn draw_curve(
    chart: &mut Chart<'_, '_>,
    pts: &[Option<(f64, f64)>],
    r: &Rect,
    color: RGBColor,
    width: u32,
    dash: Dash,
) -> DResult<()> {
    draw_lines(chart, polylines(pts, r), color, width, dash)?;
    let dots = isolated(pts, r).into_iter().flatten();
    draw_shapes(chart, dots, 0, 3, color)
}

/// A filled marker of `shape` ([`marker_vertices`]) at each of the drawable points `pts`
/// inside `r`.
pub(super) fn draw_markers(
    chart: &mut Chart<'_, '_>,
    pts: &[Option<(f64, f64)>],
    r: &Rect,
    shape: usize,
    color: RGBColor,
) -> DResult<()> {
    let inside = pts.iter().flatten().copied().filter(|p| r.contains(*p));
    draw_shapes(chart, inside, shape, MARKER_SIZE, color)
}

/// The filled polygon [`marker_vertices`]`(shape, size)` in `color`, centred at each point
/// of `at` (plot coordinates), all in one series.
fn draw_shapes(
    chart: &mut Chart<'_, '_>,
    at: impl Iterator<Item = (f64, f64)>,
    shape: usize,
    size: i32,
    color: RGBColor,
) -> DResult<()> {
    let verts = marker_vertices(shape, size);
    let style = color.filled();
    chart.draw_series(at.map(|p| EmptyElement::at(p) + Polygon::new(verts.clone(), style)))?;
    Ok(())
}

pub(super) fn draw_bands(
    chart: &mut Chart<'_, '_>,
    polys: Vec<Vec<(f64, f64)>>,
    color: RGBColor,
) -> DResult<()> {
    let style = color.mix(BAND_ALPHA).filled();
    chart.draw_series(polys.into_iter().map(|p| Polygon::new(p, style)))?;
    Ok(())
}

pub(super) fn draw_ref_lines(
    chart: &mut Chart<'_, '_>,
    refs: &[RefLine],
    xa: &AxisSpec,
    ya: &AxisSpec,
) -> DResult<()> {
    for r in refs {
        let color = r.rgb();
        let font = (FAMILY, ANNOT_SIZE).into_font().color(&color);
        // The axis the line sits on, its two ends across the frame, and where its label
        // goes (at the top or right end; pixel offset and anchor).
        let along = match r.orientation {
            Orientation::Horizontal => ya,
            Orientation::Vertical => xa,
        };
        let Some(t) = along.scale.forward(r.value) else {
            continue;
        };
        if !along.contains(t) {
            continue;
        }
        let (ends, offset, anchor) = match r.orientation {
            Orientation::Horizontal => (
                [(xa.lo, t), (xa.hi, t)],
                (-8, -5),
                Pos::new(HPos::Right, VPos::Bottom),
            ),
            Orientation::Vertical => (
                [(t, ya.lo), (t, ya.hi)],
                (6, 6),
                Pos::new(HPos::Left, VPos::Top),
            ),
        };
        draw_lines(chart, vec![ends.to_vec()], color, LINE_WIDTH, DASHED)?;
        if !r.label.is_empty() {
            chart.draw_series(std::iter::once(
                EmptyElement::at(ends[1]) + Text::new(r.label.clone(), offset, font.pos(anchor)),
            ))?;
        }
    }
    Ok(())
}

/// Write "no finite data" in the middle of an empty plot, so it is not mistaken for a
/// plot whose curves are off-range.
pub(super) fn no_data_note(chart: &mut Chart<'_, '_>, xa: &AxisSpec, ya: &AxisSpec) -> DResult<()> {
    let style = (FAMILY, LABEL_SIZE)
        .into_font()
        .color(&RGBColor(150, 150, 150))
        .pos(Pos::new(HPos::Center, VPos::Center));
    let c = (0.5 * (xa.lo + xa.hi), 0.5 * (ya.lo + ya.hi));
    chart.draw_series(std::iter::once(Text::new("no finite data", c, style)))?;
    Ok(())
}

pub(super) fn no_points(series: &[Series], xs: Scale, ys: Scale) -> bool {
    series
        .iter()
        .all(|s| s.transformed(xs, ys).iter().all(Option::is_none))
}

pub(super) fn check_all(series: &[Series]) -> Result<()> {
    series.iter().try_for_each(Series::check)
}

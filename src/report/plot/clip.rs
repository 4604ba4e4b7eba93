//! Geometry: clipping of segments and polygons, polylines with gaps, contours.

use super::*;

#[derive(Clone, Copy, Debug)]
pub(super) struct Rect {
    pub(super) x0: f64,
    pub(super) x1: f64,
    pub(super) y0: f64,
    pub(super) y1: f64,
}

impl Rect {
    pub(super) fn of(xa: &AxisSpec, ya: &AxisSpec) -> Rect {
        Rect {
            x0: xa.lo,
            x1: xa.hi,
            y0: ya.lo,
            y1: ya.hi,
        }
    }
    pub(super) fn contains(&self, p: (f64, f64)) -> bool {
        p.0 >= self.x0 && p.0 <= self.x1 && p.1 >= self.y0 && p.1 <= self.y1
    }
}

/// Liang-Barsky: the part of segment a-b inside the rectangle.
pub(super) fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    r: &Rect,
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                if t > t1 {
                    return None;
                }
                t0 = t0.max(t);
            } else {
                if t < t0 {
                    return None;
                }
                t1 = t1.min(t);
            }
        }
    }
    Some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// Split a sequence of optional points at the gaps, then clip each piece to `r`.
pub(super) fn polylines(points: &[Option<(f64, f64)>], r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let flush = |cur: &mut Vec<(f64, f64)>, out: &mut Vec<Vec<(f64, f64)>>| {
        if cur.len() >= 2 {
            out.push(std::mem::take(cur));
        } else {
            cur.clear();
        }
    };
    let mut prev: Option<(f64, f64)> = None;
    for p in points {
        match (prev, *p) {
            (Some(a), Some(b)) => {
                if let Some((c, d)) = clip_segment(a, b, r) {
                    let continues = cur
                        .last()
                        .is_some_and(|l| (l.0 - c.0).abs() < 1e-12 && (l.1 - c.1).abs() < 1e-12);
                    if !continues {
                        flush(&mut cur, &mut out);
                        cur.push(c);
                    }
                    cur.push(d);
                } else {
                    flush(&mut cur, &mut out);
                }
            }
            _ => flush(&mut cur, &mut out),
        }
        prev = *p;
    }
    flush(&mut cur, &mut out);
    out
}

/// Drawable points whose neighbours are both missing: a line cannot show them, so they
/// get a small dot.
pub(super) fn isolated(points: &[Option<(f64, f64)>], r: &Rect) -> Vec<Option<(f64, f64)>> {
    let n = points.len();
    (0..n)
        .filter(|&i| {
            points[i].is_some_and(|p| r.contains(p))
                && (i == 0 || points[i - 1].is_none())
                && (i + 1 >= n || points[i + 1].is_none())
        })
        .map(|i| points[i])
        .collect()
}

/// Sutherland-Hodgman clipping of a polygon to the rectangle.
pub(super) fn clip_polygon(poly: &[(f64, f64)], r: &Rect) -> Vec<(f64, f64)> {
    type Inside = fn(&Rect, (f64, f64)) -> bool;
    type Cut = fn(&Rect, (f64, f64), (f64, f64)) -> (f64, f64);
    let edges: [(Inside, Cut); 4] = [
        (
            |r, p| p.0 >= r.x0,
            |r, a, b| {
                let t = (r.x0 - a.0) / (b.0 - a.0);
                (r.x0, a.1 + t * (b.1 - a.1))
            },
        ),
        (
            |r, p| p.0 <= r.x1,
            |r, a, b| {
                let t = (r.x1 - a.0) / (b.0 - a.0);
                (r.x1, a.1 + t * (b.1 - a.1))
            },
        ),
        (
            |r, p| p.1 >= r.y0,
            |r, a, b| {
                let t = (r.y0 - a.1) / (b.1 - a.1);
                (a.0 + t * (b.0 - a.0), r.y0)
            },
        ),
        (
            |r, p| p.1 <= r.y1,
            |r, a, b| {
                let t = (r.y1 - a.1) / (b.1 - a.1);
                (a.0 + t * (b.0 - a.0), r.y1)
            },
        ),
    ];
    let mut cur = poly.to_vec();
    for (inside, cut) in edges {
        if cur.is_empty() {
            break;
        }
        let input = std::mem::take(&mut cur);
        let n = input.len();
        for i in 0..n {
            let p = input[i];
            let q = input[(i + n - 1) % n];
            match (inside(r, q), inside(r, p)) {
                (true, true) => cur.push(p),
                (true, false) => cur.push(cut(r, q, p)),
                (false, true) => {
                    cur.push(cut(r, q, p));
                    cur.push(p);
                }
                (false, false) => {}
            }
        }
    }
    cur
}

/// Band polygons (one per run of drawable points), in plot coordinates, clipped.
pub(super) fn band_polygons(s: &Series, xs: Scale, ys: Scale, r: &Rect) -> Vec<Vec<(f64, f64)>> {
    let Some((lo, hi)) = &s.band else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let n = s.x.len().min(lo.len()).min(hi.len());
    let mut flush = |run: &mut Vec<(f64, f64, f64)>| {
        if run.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|p| (p.0, p.2)).collect();
            poly.extend(run.iter().rev().map(|p| (p.0, p.1)));
            let c = clip_polygon(&poly, r);
            if c.len() >= 3 {
                out.push(c);
            }
        }
        run.clear();
    };
    for i in 0..n {
        match (xs.forward(s.x[i]), ys.forward(lo[i]), ys.forward(hi[i])) {
            (Some(x), Some(l), Some(h)) => run.push((x, l, h)),
            _ => flush(&mut run),
        }
    }
    flush(&mut run);
    out
}

/// Line segments of the contour `z = level` of a grid by marching squares.
/// `z[j][i]` is the value at `(x[i], y[j])`; cells with a non-finite corner are skipped;
/// saddles are resolved with the cell-centre average. Coordinates are interpolated
/// linearly in the units of `x` and `y`.
///
/// ```
/// // z = x - 0.5 on the unit square: the contour is the vertical line x = 0.5.
/// let x = [0.0, 1.0];
/// let y = [0.0, 1.0];
/// let z = vec![vec![-0.5, 0.5], vec![-0.5, 0.5]];
/// let segs = nrnn::report::plot::contour_segments(&x, &y, &z, 0.0);
/// assert_eq!(segs.len(), 1);
/// assert!((segs[0].0 .0 - 0.5).abs() < 1e-12 && (segs[0].1 .0 - 0.5).abs() < 1e-12);
/// ```
pub fn contour_segments(
    x: &[f64],
    y: &[f64],
    z: &[Vec<f64>],
    level: f64,
) -> Vec<((f64, f64), (f64, f64))> {
    let mut out = Vec::new();
    let ny = y.len().min(z.len());
    for j in 0..ny.saturating_sub(1) {
        let nx = x.len().min(z[j].len()).min(z[j + 1].len());
        for i in 0..nx.saturating_sub(1) {
            // corners: 0 (i,j), 1 (i+1,j), 2 (i+1,j+1), 3 (i,j+1)
            let c = [
                (x[i], y[j], z[j][i]),
                (x[i + 1], y[j], z[j][i + 1]),
                (x[i + 1], y[j + 1], z[j + 1][i + 1]),
                (x[i], y[j + 1], z[j + 1][i]),
            ];
            if c.iter()
                .any(|p| !p.2.is_finite() || !p.0.is_finite() || !p.1.is_finite())
            {
                continue;
            }
            let above: Vec<bool> = c.iter().map(|p| p.2 >= level).collect();
            let cross = |a: usize, b: usize| -> Option<(f64, f64)> {
                if above[a] == above[b] {
                    return None;
                }
                let (pa, pb) = (c[a], c[b]);
                let t = (level - pa.2) / (pb.2 - pa.2);
                Some((pa.0 + t * (pb.0 - pa.0), pa.1 + t * (pb.1 - pa.1)))
            };
            // edges: bottom 0-1, right 1-2, top 2-3, left 3-0
            let e = [cross(0, 1), cross(1, 2), cross(2, 3), cross(3, 0)];
            let pts: Vec<(usize, (f64, f64))> = e
                .iter()
                .enumerate()
                .filter_map(|(k, p)| p.map(|p| (k, p)))
                .collect();
            match pts.len() {
                2 => out.push((pts[0].1, pts[1].1)),
                4 => {
                    let centre = c.iter().map(|p| p.2).sum::<f64>() / 4.0 >= level;
                    let [b, r, t, l] = [e[0].unwrap(), e[1].unwrap(), e[2].unwrap(), e[3].unwrap()];
                    if centre == above[0] {
                        // corners 1 and 3 are cut off
                        out.push((b, r));
                        out.push((t, l));
                    } else {
                        // corners 0 and 2 are cut off
                        out.push((l, b));
                        out.push((r, t));
                    }
                }
                _ => {}
            }
        }
    }
    out
}

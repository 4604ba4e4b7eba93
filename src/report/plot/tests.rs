//! Unit tests of the plotting helpers (ticks, clipping, formatting, rendering).

use super::*;

#[test]
fn clip_segment_inside_and_crossing() {
    let r = Rect {
        x0: 0.0,
        x1: 1.0,
        y0: 0.0,
        y1: 1.0,
    };
    assert!(clip_segment((0.2, 0.2), (0.8, 0.8), &r).is_some());
    let (a, b) = clip_segment((-1.0, 0.5), (2.0, 0.5), &r).unwrap();
    assert_eq!((a.0, b.0), (0.0, 1.0));
    assert!(clip_segment((2.0, 2.0), (3.0, 3.0), &r).is_none());
}

#[test]
fn polylines_break_at_gaps() {
    let r = Rect {
        x0: 0.0,
        x1: 10.0,
        y0: 0.0,
        y1: 10.0,
    };
    let p = [
        Some((1.0, 1.0)),
        Some((2.0, 2.0)),
        None,
        Some((3.0, 3.0)),
        Some((4.0, 4.0)),
        Some((5.0, 5.0)),
    ];
    let l = polylines(&p, &r);
    assert_eq!(l.len(), 2);
    assert_eq!(l[1].len(), 3);
}

#[test]
fn polygon_clip_square() {
    let r = Rect {
        x0: 0.0,
        x1: 1.0,
        y0: 0.0,
        y1: 1.0,
    };
    let c = clip_polygon(&[(-1.0, -1.0), (2.0, -1.0), (2.0, 2.0), (-1.0, 2.0)], &r);
    assert_eq!(c.len(), 4);
    assert!(c.iter().all(|p| r.contains(*p)));
}

#[test]
fn ticks_are_sensible() {
    let (b, _, d) = linear_ticks(0.0, 1.0, 8.0);
    assert!(b.len() >= 5 && b.len() <= 11);
    assert_eq!(d, Some(1));
    let (b, l) = log_ticks(-3.0, 2.0);
    assert_eq!(b, vec![-3.0, -2.0, -1.0, 0.0, 1.0, 2.0]);
    assert!(!l.is_empty());
    let (b, _) = log_ticks(0.1, 0.6);
    assert!(b.len() >= 2);
}

#[test]
fn tick_labels_are_distinct() {
    for (lo, hi) in [
        (1.0, 1.0 + 2e-10),
        (1e-9, 3e-9),
        (1e7, 1e7 + 5.0),
        (-1e300, 1e300),
        (0.0, 0.002),
    ] {
        let mut e = Extent::new();
        e.add(lo);
        e.add(hi);
        let a = AxisSpec::new(Scale::Linear, None, e, "x", 0.05).unwrap();
        let labels: Vec<String> = a.bold.iter().map(|t| a.label(*t)).collect();
        let mut d = labels.clone();
        d.dedup();
        assert!(labels.len() >= 3, "{lo}..{hi}: {labels:?}");
        assert_eq!(d.len(), labels.len(), "{lo}..{hi}: {labels:?}");
    }
}

#[test]
fn log_labels() {
    let a = axis_from_plot_range(Scale::Log10, -6.0, 1.0);
    assert_eq!(a.label(-6.0), "10⁻⁶");
    assert_eq!(a.label(-1.0), "0.1");
    assert_eq!(a.label(0.0), "1");
}

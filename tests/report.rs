//! Reports: PNG plots of every kind, least-squares fits, CSV round trip, manifests and
//! the figure index. Set `NRNN_KEEP_PLOTS=<dir>` to keep the PNGs for inspection.

use nrnn::report::index::{read_index, update_index, write_index, FigureEntry, Verdict};
use nrnn::report::manifest::{format_utc, Manifest};
use nrnn::report::plot::{
    density, format_sig, Axes, BarChart, Bars, ColorScale, Heatmap, Histogram, LegendPos, LinePlot,
    LogLogFit, RefLine, ScatterPlot, Series,
};
use nrnn::report::png::{crc32, PNG_SIGNATURE};
use nrnn::report::table::{Cell, Table};
use nrnn::stats::{fit_loglog, linear_fit};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Output directory: `NRNN_KEEP_PLOTS` if set, else a temporary directory.
fn out_dir() -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("NRNN_KEEP_PLOTS") {
        Some(d) => {
            let p = PathBuf::from(d);
            std::fs::create_dir_all(&p).unwrap();
            (None, p)
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    }
}

/// Decode a PNG written by `nrnn::report::png` fully: signature, chunk CRCs, IHDR, zlib
/// stream of the right length. Returns (width, height, number of distinct colours seen).
fn check_png(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 5_000,
        "{}: only {} bytes",
        path.display(),
        bytes.len()
    );
    assert_eq!(
        &bytes[..8],
        &PNG_SIGNATURE,
        "{}: bad signature",
        path.display()
    );
    let mut pos = 8;
    let (mut w, mut h) = (0u32, 0u32);
    let mut idat = Vec::new();
    let mut seen_end = false;
    while pos + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let data = &bytes[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(bytes[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&bytes[pos + 4..pos + 8 + len]), "chunk CRC");
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(&data[8..10], &[8, 2], "8-bit RGB");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => seen_end = true,
            _ => {}
        }
        pos += 12 + len;
    }
    assert!(seen_end && pos == bytes.len(), "IEND last");
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = 1 + 3 * w as usize;
    assert_eq!(raw.len(), stride * h as usize);
    // Count distinct filter-row byte patterns as a cheap proxy for "something is drawn":
    // an empty white image has one row pattern.
    let mut rows: Vec<&[u8]> = raw.chunks(stride).collect();
    rows.sort();
    rows.dedup();
    (w, h, rows.len())
}

fn assert_drawn(path: &Path) {
    let (w, h, distinct_rows) = check_png(path);
    assert_eq!((w, h), (1000, 700));
    assert!(distinct_rows > 50, "{}: looks empty", path.display());
}

#[test]
fn line_plot_with_band_and_log_axes() {
    let (_t, dir) = out_dir();
    let x: Vec<f64> = (0..60)
        .map(|i| 10f64.powf(-3.0 + i as f64 * 0.06))
        .collect();
    let mut plot = LinePlot::new(
        Axes::new(
            "Second moment of the hidden state",
            "noise level ε",
            "E‖h_T‖²",
        )
        .loglog()
        .subtitle("mean over 200 Monte Carlo paths, shaded: 95% CI")
        .legend(LegendPos::UpperLeft),
    );
    for (k, name) in ["deterministic", "additive noise", "multiplicative noise"]
        .iter()
        .enumerate()
    {
        let y: Vec<f64> = x
            .iter()
            .map(|e| (1.0 + k as f64) * e.powf(1.0 + 0.5 * k as f64) + 1e-4)
            .collect();
        let lo: Vec<f64> = y.iter().map(|v| v * 0.8).collect();
        let hi: Vec<f64> = y.iter().map(|v| v * 1.25).collect();
        let mut s = Series::new(name, &x, &y).band(&lo, &hi);
        if k == 2 {
            s = s.markers().dashed();
        }
        plot = plot.series(s);
    }
    // NaN and non-positive points are skipped, not fatal.
    plot = plot.series(Series::new(
        "with gaps",
        &[1e-3, 1e-2, 1e-1, 1.0],
        &[f64::NAN, 1e-2, -1.0, 0.5],
    ));
    plot = plot
        .ref_line(RefLine::horizontal(1e-2, "stability threshold"))
        .ref_line(RefLine::vertical(0.1, "ε used in training").color(3));
    let p = dir.join("line_band_loglog.png");
    plot.save(&p).unwrap();
    assert_drawn(&p);

    // Linear axes, fixed range narrower than the data (clipping), markers.
    let t: Vec<f64> = (0..100).map(|i| i as f64 * 0.1).collect();
    let y: Vec<f64> = t.iter().map(|v| v.sin() * 3.0).collect();
    let p2 = dir.join("line_linear_clipped.png");
    LinePlot::new(Axes::new("Clipped", "t", "y").y_range(-1.0, 1.0))
        .series(Series::new("3 sin t", &t, &y).markers())
        .save(&p2)
        .unwrap();
    assert_drawn(&p2);
}

#[test]
fn empty_and_degenerate_plots_draw_a_frame() {
    let (_t, dir) = out_dir();
    let p = dir.join("empty.png");
    LinePlot::new(Axes::new("Nothing to show", "x", "y").loglog())
        .series(Series::new("empty", &[], &[]))
        .series(Series::new("all NaN", &[f64::NAN], &[f64::NAN]))
        .save(&p)
        .unwrap();
    let (w, h, _) = check_png(&p);
    assert_eq!((w, h), (1000, 700));
    // a single point
    let p = dir.join("single.png");
    LinePlot::new(Axes::new("One point", "x", "y"))
        .series(Series::new("one", &[1.0], &[2.0]).markers())
        .save(&p)
        .unwrap();
    check_png(&p);
    // mismatched lengths are an error, not a panic
    let err = LinePlot::new(Axes::default())
        .series(Series::new("bad", &[1.0, 2.0], &[1.0]))
        .save(&dir.join("bad.png"))
        .unwrap_err();
    assert!(err.to_string().contains("bad"), "{err}");
    // invalid log range is an error
    assert!(LinePlot::new(Axes::default().log_y().y_range(-1.0, 1.0))
        .save(&dir.join("bad2.png"))
        .is_err());
}

#[test]
fn loglog_fit_recovers_known_slope() {
    let xs: Vec<f64> = (0..8).map(|k| 2f64.powi(k)).collect();
    let ys: Vec<f64> = xs.iter().map(|x| 3.0 * x.powi(4)).collect();
    let f = fit_loglog(&xs, &ys);
    assert!((f.slope - 4.0).abs() < 1e-12, "{f:?}");
    assert!((f.intercept - 3f64.log10()).abs() < 1e-12);
    assert!(f.slope_stderr < 1e-10, "{f:?}");
    assert!((f.r2 - 1.0).abs() < 1e-12);
    assert_eq!(f.n, 8);

    // Noisy line: slope stderr matches the textbook formula sqrt(SSE/(n-2)/Sxx).
    let x = [0.0, 1.0, 2.0, 3.0, 4.0];
    let y = [0.1, 0.9, 2.2, 2.8, 4.1];
    let f = linear_fit(&x, &y);
    let (mx, my) = (2.0, 2.02);
    let sxx: f64 = x.iter().map(|v| (v - mx) * (v - mx)).sum();
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let b = sxy / sxx;
    let a = my - b * mx;
    let sse: f64 = x.iter().zip(&y).map(|(u, v)| (v - a - b * u).powi(2)).sum();
    assert!((f.slope - b).abs() < 1e-12);
    assert!((f.slope_stderr - (sse / 3.0 / sxx).sqrt()).abs() < 1e-12);

    // Degenerate inputs give NaN, not a panic; non-finite points are skipped.
    assert!(linear_fit(&[1.0], &[2.0]).slope.is_nan());
    assert!(linear_fit(&[1.0, 1.0], &[2.0, 3.0]).slope.is_nan());
    let f = linear_fit(&[0.0, f64::NAN, 1.0, 2.0], &[0.0, 5.0, 1.0, 2.0]);
    assert_eq!(f.n, 3);
    assert!((f.slope - 1.0).abs() < 1e-12);

    // The plot.
    let (_t, dir) = out_dir();
    let h: Vec<f64> = (0..6).map(|k| 0.1 / 2f64.powi(k)).collect();
    let em: Vec<f64> = h
        .iter()
        .enumerate()
        .map(|(k, h)| 0.8 * h.sqrt() * (1.0 + 0.03 * (k as f64).sin()))
        .collect();
    let mil: Vec<f64> = h.iter().map(|h| 0.5 * h).collect();
    let plot = LogLogFit::new(
        Axes::new("Strong convergence order", "step size h", "E|X_T − X_T^h|")
            .legend(LegendPos::LowerRight),
    )
    .series(Series::new("Euler–Maruyama", &h, &em))
    .series(Series::new("Milstein", &h, &mil))
    .reference_slope(0.5, "reference slope 1/2")
    .reference_slope(1.0, "reference slope 1");
    let fits = plot.fits();
    assert!((fits[0].slope - 0.5).abs() < 0.05);
    assert!((fits[1].slope - 1.0).abs() < 1e-12);
    let p = dir.join("loglog_fit.png");
    plot.save(&p).unwrap();
    assert_drawn(&p);
}

#[test]
fn scatter_with_identity_line() {
    let (_t, dir) = out_dir();
    let mut plot = ScatterPlot::new(
        Axes::new(
            "Measured gap vs bound",
            "bound",
            "measured generalization gap",
        )
        .legend(LegendPos::UpperLeft),
    )
    .identity("y = x");
    for g in 0..3 {
        let b: Vec<f64> = (1..=12)
            .map(|i| 0.05 * i as f64 * (1.0 + g as f64 * 0.3))
            .collect();
        let m: Vec<f64> = b
            .iter()
            .enumerate()
            .map(|(i, v)| v * (0.5 + 0.04 * i as f64))
            .collect();
        plot = plot.group(Series::new(
            &format!("ε = {}", format_sig(0.05 * (g + 1) as f64, 3)),
            &b,
            &m,
        ));
    }
    let p = dir.join("scatter.png");
    plot.save(&p).unwrap();
    assert_drawn(&p);

    let p = dir.join("scatter_loglog.png");
    ScatterPlot::new(Axes::new("log-log", "bound", "gap").loglog())
        .group(Series::new("runs", &[0.01, 0.1, 1.0], &[0.005, 0.08, 0.7]))
        .line(Series::new("bound curve", &[0.01, 1.0], &[0.02, 2.0]).dashed())
        .identity("y = x")
        .save(&p)
        .unwrap();
    check_png(&p);
}

#[test]
fn heatmap_with_zero_contour() {
    let (_t, dir) = out_dir();
    let x: Vec<f64> = (0..60).map(|i| i as f64 / 59.0 * 2.0).collect();
    let y: Vec<f64> = (0..40).map(|j| j as f64 / 39.0).collect();
    let mut z: Vec<Vec<f64>> = y
        .iter()
        .map(|b| {
            x.iter()
                .map(|a| (a - 1.0) * 2.0 - (b - 0.5) * 3.0 + (a * 3.0).sin() * 0.3)
                .collect()
        })
        .collect();
    z[5][5] = f64::NAN; // a missing cell is drawn grey
    let curve_x: Vec<f64> = x.clone();
    let curve_y: Vec<f64> = x.iter().map(|a| 0.5 + (a - 1.0) * 2.0 / 3.0).collect();
    let p = dir.join("heatmap.png");
    Heatmap::new(
        Axes::new(
            "Regularizer sign over (ε, step)",
            "noise level ε",
            "step size Δt",
        )
        .legend(LegendPos::LowerRight),
        &x,
        &y,
        z.clone(),
    )
    .z_label("bound value")
    .contour(0.0, "zero line (grid)")
    .curve(Series::new("zero line (analytic, no sine)", &curve_x, &curve_y).dashed())
    .save(&p)
    .unwrap();
    let (w, h, rows) = check_png(&p);
    assert_eq!((w, h), (1000, 700));
    assert!(rows > 100);

    let p = dir.join("heatmap_seq.png");
    Heatmap::new(Axes::new("Sequential", "x", "y"), &x, &y, z)
        .colors(ColorScale::Sequential)
        .z_label("value")
        .save(&p)
        .unwrap();
    check_png(&p);

    // Shape errors are reported.
    assert!(
        Heatmap::new(Axes::default(), &[0.0, 1.0], &[0.0], vec![vec![1.0]])
            .save(&dir.join("bad.png"))
            .is_err()
    );
}

#[test]
fn histogram_density() {
    let (_t, dir) = out_dir();
    // Deterministic pseudo-normal samples (sum of uniforms).
    let mut state = 12345u64;
    let mut unif = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let a: Vec<f64> = (0..5000)
        .map(|_| (0..12).map(|_| unif()).sum::<f64>() - 6.0)
        .collect();
    let b: Vec<f64> = a.iter().map(|v| v * 0.5 + 0.5).collect();
    let (ca, da) = density(&a, 40, Some((-4.0, 4.0)));
    let (cb, db) = density(&b, 40, Some((-4.0, 4.0)));
    let w = ca[1] - ca[0];
    assert!((da.iter().sum::<f64>() * w - 1.0).abs() < 1e-9);
    let p = dir.join("hist.png");
    Histogram::new(Axes::new("Hidden-state distribution", "h", "density"))
        .series(Series::new("σ = 1", &ca, &da))
        .series(Series::new("σ = 0.5", &cb, &db))
        .step(true)
        .fill(true)
        .ref_line(RefLine::vertical(0.0, "h = 0"))
        .save(&p)
        .unwrap();
    assert_drawn(&p);
    let p = dir.join("hist_logy.png");
    Histogram::new(Axes::new("Log density", "h", "density").log_y())
        .series(Series::new("σ = 1", &ca, &da))
        .series(Series::new("σ = 0.5", &cb, &db))
        .save(&p)
        .unwrap();
    check_png(&p);
}

#[test]
fn bar_chart_with_error_bars() {
    let (_t, dir) = out_dir();
    let p = dir.join("bars.png");
    BarChart::new(
        Axes::new("Test accuracy under input perturbations", "", "accuracy")
            .legend(LegendPos::LowerLeft),
        &["clean", "Gaussian σ=0.1", "salt & pepper", "adversarial"],
    )
    .bars(Bars::symmetric(
        "deterministic",
        &[0.971, 0.90, 0.78, 0.41],
        &[0.003, 0.01, 0.02, 0.04],
    ))
    .bars(Bars::symmetric(
        "noisy (additive)",
        &[0.975, 0.94, 0.85, 0.55],
        &[0.002, 0.008, 0.015, 0.03],
    ))
    .bars(Bars::interval(
        "noisy (multiplicative)",
        &[0.974, 0.95, 0.86, f64::NAN],
        &[0.97, 0.94, 0.84, f64::NAN],
        &[0.978, 0.96, 0.88, f64::NAN],
    ))
    .value_labels(true)
    .ref_line(RefLine::horizontal(0.5, "chance"))
    .save(&p)
    .unwrap();
    assert_drawn(&p);
    // Wrong length is an error.
    assert!(BarChart::new(Axes::default(), &["a", "b"])
        .bars(Bars::new("x", &[1.0]))
        .save(&dir.join("bad.png"))
        .is_err());
}

#[test]
fn csv_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/table.csv");
    let mut t = Table::new(&["method", "seed", "eps", "loss", "note"]);
    t.push(nrnn::table_row![
        "noisy",
        0u64,
        0.1,
        1.0,
        "a, \"quoted\" note"
    ])
    .unwrap();
    t.push(nrnn::table_row!["noisy", 1, 0.1, 0.30000000000000004, ""])
        .unwrap();
    t.push(nrnn::table_row![
        "deterministic",
        -3,
        1e-300,
        f64::NAN,
        "line\nbreak"
    ])
    .unwrap();
    t.push(nrnn::table_row![
        "deterministic",
        2,
        f64::INFINITY,
        f64::NEG_INFINITY,
        "x"
    ])
    .unwrap();
    assert!(t.push(nrnn::table_row!["short"]).is_err());
    t.write(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("method,seed,eps,loss,note\nnoisy,0,0.1,1.0,"));
    let back = Table::read(&path).unwrap();
    assert_eq!(back.header, t.header);
    assert_eq!(back.len(), 4);
    for (r0, r1) in t.rows.iter().zip(&back.rows) {
        for (a, b) in r0.iter().zip(r1) {
            match (a, b) {
                (Cell::Num(x), Cell::Num(y)) => {
                    assert!(x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
                }
                _ => assert_eq!(a, b),
            }
        }
    }
    assert_eq!(back.column_f64("seed").unwrap(), vec![0.0, 1.0, -3.0, 2.0]);
    assert!(back.column_f64("method").is_err());
    assert!(back.column_index("missing").is_err());
    assert_eq!(
        back.distinct("method").unwrap(),
        vec!["noisy", "deterministic"]
    );
    assert_eq!(back.filter_eq("method", "noisy").unwrap().len(), 2);

    let cols = Table::from_columns(&[("x", &[1.0, 2.0]), ("y", &[0.5, 0.25])]).unwrap();
    cols.write(&path).unwrap();
    assert_eq!(
        Table::read(&path).unwrap().column_f64("y").unwrap(),
        vec![0.5, 0.25]
    );
    assert!(Table::from_columns(&[("x", &[1.0, 2.0]), ("y", &[0.5])]).is_err());
}

#[test]
fn manifest_fields() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = std::time::Instant::now();
    let mut m = Manifest::new(
        "fig2_regularizer",
        "noise adds an explicit regularizer",
        "nrnn fig2",
    );
    m.profile = "quick".into();
    m.seeds = vec![0, 1, 2];
    m.config = serde_json::json!({"eps": 0.1, "steps": 100});
    m.summary = serde_json::json!({"slope": 1.98, "slope_stderr": 0.02});
    m.finish(t0);
    assert_eq!(m.crate_version, env!("CARGO_PKG_VERSION"));
    assert!(!m.git_revision.is_empty());
    assert!(
        m.git_revision == "unknown" || m.git_revision.len() >= 40,
        "{}",
        m.git_revision
    );
    assert!(m.wall_seconds >= 0.0);
    let c = &m.created;
    assert_eq!(c.len(), 20, "{c}");
    assert!(
        c.ends_with('Z') && &c[4..5] == "-" && &c[10..11] == "T",
        "{c}"
    );
    assert!(c.as_str() > "2024-01-01", "{c}");
    let p = dir.path().join("fig2.json");
    m.write(&p).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    for key in [
        "figure",
        "claim",
        "command",
        "profile",
        "seeds",
        "config",
        "crate_version",
        "git_revision",
        "wall_seconds",
        "summary",
        "created",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["seeds"], serde_json::json!([0, 1, 2]));
    assert_eq!(Manifest::read(&p).unwrap(), m);

    assert_eq!(format_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_utc(1_709_210_096), "2024-02-29T12:34:56Z");
    assert_eq!(format_utc(4_102_444_799), "2099-12-31T23:59:59Z");
}

#[test]
fn index_update_keeps_other_entries() {
    let (_t, out) = out_dir();
    let dir = out.join("index");
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.as_path();
    let entry = |name: &str, verdict: Verdict| FigureEntry {
        name: name.into(),
        png: vec![format!("{name}.png")],
        csv: format!("{name}.csv"),
        manifest: format!("{name}.json"),
        claim: format!("claim of {name}"),
        command: format!("nrnn {name}"),
        shows: format!("{name} shows slope 1.00 ± 0.02"),
        verdict,
        evidence: None,
    };
    update_index(d, &entry("fig_b", Verdict::NotChecked)).unwrap();
    update_index(d, &entry("fig_a", Verdict::Agrees)).unwrap();
    update_index(d, &entry("fig_c", Verdict::Partial)).unwrap();
    // Replace fig_b.
    update_index(d, &entry("fig_b", Verdict::Disagrees)).unwrap();
    let entries = read_index(d).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["fig_a", "fig_b", "fig_c"]);
    assert_eq!(entries[1].verdict, Verdict::Disagrees);
    let md = std::fs::read_to_string(d.join("README.md")).unwrap();
    let (ia, ib, ic) = (
        md.find("## fig_a").unwrap(),
        md.find("## fig_b").unwrap(),
        md.find("## fig_c").unwrap(),
    );
    assert!(ia < ib && ib < ic);
    assert!(md.contains("![fig_a](fig_a.png)"));
    assert!(md.contains("```sh\nnrnn fig_c\n```"));
    assert!(md.contains("**Verdict: disagrees.**"));
    assert!(md.contains("fig_a shows slope 1.00 ± 0.02"));
    assert_eq!(md.matches("## fig_b").count(), 1);

    // write_index rewrites both files.
    write_index(d, &[entry("only", Verdict::Agrees)]).unwrap();
    assert_eq!(read_index(d).unwrap().len(), 1);

    // Concurrent updates from several threads all land.
    let d2 = tempfile::tempdir().unwrap();
    let p = d2.path().to_path_buf();
    let handles: Vec<_> = (0..8)
        .map(|k| {
            let p = p.clone();
            std::thread::spawn(move || {
                let e = FigureEntry {
                    name: format!("f{k}"),
                    ..Default::default()
                };
                update_index(&p, &e).unwrap();
            })
        })
        .collect();
    handles.into_iter().for_each(|h| h.join().unwrap());
    assert_eq!(read_index(&p).unwrap().len(), 8);
}

#[test]
fn odd_data_never_panics() {
    let (_t, dir) = out_dir();
    let big = f64::MAX;
    let cases: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("huge", vec![0.0, 1.0, 2.0], vec![-big, big, 0.0]),
        (
            "tiny span",
            vec![0.0, 1.0, 2.0],
            vec![1.0, 1.0 + 1e-10, 1.0 + 2e-10],
        ),
        ("constant", vec![3.0, 3.0], vec![5.0, 5.0]),
        (
            "infinities",
            vec![f64::NEG_INFINITY, 1.0, f64::INFINITY],
            vec![1.0, f64::INFINITY, 2.0],
        ),
        (
            "tiny values",
            vec![1e-9, 2e-9, 3e-9],
            vec![1e-12, 3e-12, 2e-12],
        ),
    ];
    for (k, (name, x, y)) in cases.iter().enumerate() {
        for log in [false, true] {
            let axes = Axes::new(name, "x", "y");
            let axes = if log { axes.loglog() } else { axes };
            let p = dir.join(format!("odd_{k}_{log}.png"));
            LinePlot::new(axes.clone())
                .series(Series::new(name, x, y).band(y, y).markers())
                .save(&p)
                .unwrap();
            check_png(&p);
            LogLogFit::new(axes.clone())
                .series(Series::new(name, x, y))
                .reference_slope(1.0, "ref")
                .save(&p)
                .unwrap();
            ScatterPlot::new(axes.clone())
                .group(Series::new(name, x, y))
                .identity("y = x")
                .save(&p)
                .unwrap();
            Histogram::new(axes.clone())
                .series(Series::new(name, x, y))
                .step(true)
                .fill(true)
                .save(&p)
                .unwrap();
            check_png(&p);
        }
    }
    // Degenerate heatmaps and bar charts.
    let p = dir.join("odd_heat.png");
    Heatmap::new(Axes::default(), &[1.0], &[2.0], vec![vec![f64::NAN]])
        .contour(0.0, "zero")
        .save(&p)
        .unwrap();
    Heatmap::new(
        Axes::default(),
        &[1.0, 2.0],
        &[2.0, 3.0],
        vec![vec![0.0; 2]; 2],
    )
    .colors(ColorScale::Sequential)
    .contour(0.0, "zero")
    .save(&p)
    .unwrap();
    BarChart::new(Axes::default(), &[]).save(&p).unwrap();
    BarChart::new(Axes::default().log_y(), &["a"])
        .bars(Bars::new("nan", &[f64::NAN]))
        .value_labels(true)
        .save(&p)
        .unwrap();
    // Bad sizes are errors.
    assert!(LinePlot::new(Axes::default().size(10, 10))
        .save(&p)
        .is_err());
}

#[test]
fn index_evidence_is_flat_in_json_and_shown_in_the_readme() {
    use nrnn::report::index::Evidence;
    use nrnn::verdict::{judge, Direction, Replication, Test};
    let dir = tempfile::tempdir().unwrap();
    let t = Test::new("per-seed slope", Direction::Decrease);
    let primary = judge(
        &t,
        &(0..10)
            .map(|s| (s, -1.0 - 0.1 * (s % 4) as f64))
            .collect::<Vec<_>>(),
    );
    let rep = judge(
        &t,
        &(0..10)
            .map(|s| (1_000_000 + s, 0.3 - 0.2 * (s % 4) as f64))
            .collect::<Vec<_>>(),
    );
    let mut ev = Evidence::of(&primary);
    ev.replication = Some(Replication::of(
        primary.verdict,
        rep.verdict,
        &Evidence::of(&rep),
    ));
    let e = FigureEntry {
        name: "fig".into(),
        verdict: primary.verdict,
        evidence: Some(ev),
        ..Default::default()
    };
    update_index(dir.path(), &e).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let j = &json[0];
    assert_eq!(j["verdict"], "supported");
    for k in [
        "effect",
        "ci_low",
        "ci_high",
        "n_seeds",
        "test",
        "statistic",
        "replication",
    ] {
        assert!(!j[k].is_null(), "index.json entry lacks `{k}`");
    }
    assert_eq!(j["n_seeds"], 10);
    assert_eq!(j["replication"]["verdict"], "inconclusive");
    assert_eq!(read_index(dir.path()).unwrap()[0], e);
    let md = std::fs::read_to_string(dir.path().join("README.md")).unwrap();
    assert!(md.contains("**Pre-registered statistic.** per-seed slope"));
    assert!(md.contains("**Replication** (disjoint seeds 1000000..1000009): inconclusive"));
    assert!(md.contains("not replicated"));
    assert!(
        md.contains("| inconclusive (not replicated) |"),
        "summary table marks it"
    );
}

#[test]
fn index_written_by_earlier_versions_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.json"),
        r#"[{"name":"a","png":[],"csv":"","manifest":"","claim":"","command":"","shows":"","verdict":"Agrees"},
            {"name":"b","png":[],"csv":"","manifest":"","claim":"","command":"","shows":"","verdict":"NotChecked"},
            {"name":"c","png":[],"csv":"","manifest":"","claim":"","command":"","shows":"","verdict":"Partial"}]"#,
    )
    .unwrap();
    let v: Vec<Verdict> = read_index(dir.path())
        .unwrap()
        .into_iter()
        .map(|e| e.verdict)
        .collect();
    assert_eq!(v, [Verdict::Agrees, Verdict::NotChecked, Verdict::Partial]);
}

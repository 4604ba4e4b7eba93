//! Fuzzing of the file parsers by proptest: model JSON (`Model::load`), inputs JSON
//! (`read_inputs_file`), training configuration JSON (`RunConfig::load`) and the UCR TSV
//! of ECG5000 (`ecg::parse_ucr`) and the IDX files of MNIST (`idx::parse_images`,
//! `idx::parse_labels`). Each starts from a valid file and applies random byte
//! mutations (bit flips, replaced, deleted, inserted and repeated bytes, truncation) or
//! structure-aware ones (a value replaced by a wrong type, a huge or out-of-range number,
//! deep nesting, a long string; a key removed, added or repeated; for TSV, fields and
//! lines; for IDX, the magic number, the dimension count, huge dimensions, a short or long
//! body). Every case must return without panicking (`catch_unwind`), and every failure
//! must be an `Err` with a non-empty message; an IDX case must also end within
//! [`IDX_CASE_LIMIT`] (no allocation or loop sized by a hostile header).
//!
//! Bounded: [`CASES`] cases per mutation kind and parser, a few seconds in all, with the
//! fixed seed of the crate's other property tests (a failure reproduces).

mod common;

use nrnn::data::ecg::parse_ucr;
use nrnn::data::idx::{self, Idx};
use nrnn::data::inputs::read_inputs_file;
use nrnn::model::Model;
use nrnn::train::RunConfig;
use proptest::prelude::*;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

/// Cases per mutation kind and parser.
const CASES: u32 = 128;

fn config() -> ProptestConfig {
    common::proptest_config(CASES)
}

fn corpus(rel: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/corpus")
            .join(rel),
    )
    .unwrap()
}

const CONFIG: &str = r#"{"data": "digits", "examples": 120, "val_count": 30, "test_count": 30,
 "hidden": 6, "dt": 0.1, "eps": 0.1, "sigma1": 1.0, "sigma2": 0.5, "noise": "diag",
 "activation": "tanh", "epochs": 2, "batch": 16, "lr": 0.01, "decay_epochs": [1],
 "optimizer": "adam", "clip": 5.0, "seed": 3, "progress": false}"#;

const UCR: &str = "1\t0.5\t-1.0\t2.0\n3.0000000e+00\t0.0\t0.1\t0.2\n5,1e-3,2,3\n\n2 4 5 6\n";

/// One byte-level edit at a relative position (`pos` in [0, 1)).
#[derive(Clone, Debug)]
enum ByteEdit {
    Flip(f64, u8),
    Set(f64, u8),
    Delete(f64),
    Insert(f64, u8),
    Repeat(f64, usize),
    Truncate(f64),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    let pos = 0.0..1.0f64;
    prop_oneof![
        (pos.clone(), 0u8..8).prop_map(|(p, b)| ByteEdit::Flip(p, b)),
        (pos.clone(), any::<u8>()).prop_map(|(p, b)| ByteEdit::Set(p, b)),
        pos.clone().prop_map(ByteEdit::Delete),
        (pos.clone(), any::<u8>()).prop_map(|(p, b)| ByteEdit::Insert(p, b)),
        (pos.clone(), 1usize..64).prop_map(|(p, n)| ByteEdit::Repeat(p, n)),
        pos.prop_map(ByteEdit::Truncate),
    ]
}

fn apply_bytes(mut b: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        let at = |p: f64, len: usize| ((p * len as f64) as usize).min(len.saturating_sub(1));
        match *e {
            ByteEdit::Flip(p, bit) if !b.is_empty() => {
                let i = at(p, b.len());
                b[i] ^= 1 << bit;
            }
            ByteEdit::Set(p, v) if !b.is_empty() => {
                let i = at(p, b.len());
                b[i] = v;
            }
            ByteEdit::Delete(p) if !b.is_empty() => {
                b.remove(at(p, b.len()));
            }
            ByteEdit::Insert(p, v) => {
                let i = at(p, b.len() + 1);
                b.insert(i, v);
            }
            ByteEdit::Repeat(p, n) if !b.is_empty() => {
                let i = at(p, b.len());
                let end = (i + n).min(b.len());
                let piece = b[i..end].to_vec();
                b.splice(i..i, piece);
            }
            ByteEdit::Truncate(p) => b.truncate((p * b.len() as f64) as usize),
            _ => {}
        }
    }
    b
}

/// What replaces a JSON value: raw text, so that numbers out of every range can be written.
fn replacement() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("\"tanh\"".to_string()),
        Just("{}".to_string()),
        Just("[]".to_string()),
        Just("[[]]".to_string()),
        Just("{\"a\": 1}".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("0.5".to_string()),
        Just("1e308".to_string()),
        Just("-1e308".to_string()),
        Just("1e400".to_string()),
        Just("-0".to_string()),
        Just("5e-324".to_string()),
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("-9223372036854775808".to_string()),
        Just("4294967296".to_string()),
        Just("1048576".to_string()),
        Just("\"NaN\"".to_string()),
        Just("\"inf\"".to_string()),
        (1usize..400).prop_map(|d| format!("{}1{}", "[".repeat(d), "]".repeat(d))),
        (1usize..400).prop_map(|d| format!("{}{}", "{\"a\": ".repeat(d), "}".repeat(d))),
        (0usize..5000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
        (0usize..2000).prop_map(|n| format!("[{}]", vec!["0.25"; n].join(","))),
    ]
}

/// A structure-aware edit of a JSON document: the value at a random path (`picks` choose
/// the child at each level) is replaced, a key is removed, an unknown key is added, or a
/// key is repeated.
#[derive(Clone, Debug)]
enum JsonEdit {
    Replace(Vec<usize>, String),
    Remove(Vec<usize>),
    AddKey(Vec<usize>),
    RepeatKey(Vec<usize>),
}

fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let path = proptest::collection::vec(any::<usize>(), 0..5);
    prop_oneof![
        4 => (path.clone(), replacement()).prop_map(|(p, r)| JsonEdit::Replace(p, r)),
        1 => path.clone().prop_map(JsonEdit::Remove),
        1 => path.clone().prop_map(JsonEdit::AddKey),
        1 => path.prop_map(JsonEdit::RepeatKey),
    ]
}

const MARK: &str = "\u{1}MARK\u{1}";

/// The value at the path chosen by `picks` (the child `pick % len` at each level, stopping
/// at a leaf or an empty container), as a mutable reference.
fn walk<'a>(v: &'a mut Value, picks: &[usize]) -> &'a mut Value {
    let Some((&p, rest)) = picks.split_first() else {
        return v;
    };
    let len = match &*v {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    if len == 0 {
        return v;
    }
    match v {
        Value::Object(m) => {
            let k = m.keys().nth(p % len).unwrap().clone();
            walk(m.get_mut(&k).unwrap(), rest)
        }
        Value::Array(a) => walk(&mut a[p % len], rest),
        _ => unreachable!("a container"),
    }
}

fn apply_json(text: &[u8], edit: &JsonEdit) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(text).unwrap();
    let raw = match edit {
        JsonEdit::Replace(path, raw) => {
            *walk(&mut v, path) = Value::String(MARK.into());
            raw.clone()
        }
        JsonEdit::Remove(path) => {
            let (last, init) = path.split_last().unwrap_or((&0, &[]));
            match walk(&mut v, init) {
                Value::Object(m) if !m.is_empty() => {
                    let k = m.keys().nth(last % m.len()).unwrap().clone();
                    m.remove(&k);
                }
                Value::Array(a) if !a.is_empty() => {
                    let n = a.len();
                    a.remove(last % n);
                }
                _ => {}
            }
            String::new()
        }
        JsonEdit::AddKey(path) => {
            if let Value::Object(m) = walk(&mut v, path) {
                m.insert("unknown_key".into(), Value::from(1));
            }
            String::new()
        }
        JsonEdit::RepeatKey(path) => {
            let target = walk(&mut v, path);
            if let Value::Object(m) = target {
                if let Some(k) = m.keys().next().cloned() {
                    // Written twice in the text: the first key again, before the others.
                    let first = serde_json::to_string(&m[&k]).unwrap();
                    let rest = serde_json::to_string(&Value::Object(m.clone())).unwrap();
                    let twice = format!(
                        "{{{}: {first}, {}",
                        serde_json::to_string(&k).unwrap(),
                        &rest[1..]
                    );
                    *target = Value::String(MARK.into());
                    twice
                } else {
                    String::new()
                }
            } else {
                String::new()
            }
        }
    };
    let text = serde_json::to_string_pretty(&v).unwrap();
    let mark = serde_json::to_string(MARK).unwrap();
    text.replace(&mark, &raw).into_bytes()
}

/// Run `parse` on `bytes` (through a file when `file`), asserting no panic and, on failure,
/// a non-empty message.
fn check<T>(what: &str, bytes: &[u8], parse: impl FnOnce(&[u8]) -> nrnn::Result<T>) {
    let r = catch_unwind(AssertUnwindSafe(|| parse(bytes)));
    match r {
        Err(_) => panic!(
            "{what}: the parser panicked on {:?}",
            String::from_utf8_lossy(bytes)
        ),
        Ok(Err(e)) => assert!(
            !e.to_string().trim().is_empty(),
            "{what}: empty error message on {:?}",
            String::from_utf8_lossy(bytes)
        ),
        Ok(Ok(_)) => {}
    }
}

/// Write `bytes` to a fresh file and read it with `load`.
fn via_file<T>(bytes: &[u8], load: impl FnOnce(&Path) -> nrnn::Result<T>) -> nrnn::Result<T> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("fuzz.json");
    std::fs::write(&p, bytes).unwrap();
    load(&p)
}

fn model(b: &[u8]) {
    check("model", b, |b| via_file(b, Model::load));
}

fn inputs(b: &[u8]) {
    check("inputs", b, |b| via_file(b, read_inputs_file));
}

fn run_config(b: &[u8]) {
    check("config", b, |b| via_file(b, RunConfig::load));
}

fn ucr(b: &[u8]) {
    check("ucr", b, |b| {
        parse_ucr(b, "fuzz.tsv").and_then(|d| d.validate())
    });
}

/// A structure-aware edit of a UCR file: a field replaced, added or removed, a line
/// repeated, emptied or filled with separators.
fn ucr_edit() -> impl Strategy<Value = (usize, usize, u8, String)> {
    let field = prop_oneof![
        Just(String::new()),
        Just("nan".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e999".to_string()),
        Just("-0".to_string()),
        Just("0".to_string()),
        Just("6".to_string()),
        Just("1.5".to_string()),
        Just("18446744073709551615".to_string()),
        Just("1e300".to_string()),
        Just(",,,".to_string()),
        Just("\t\t".to_string()),
        Just("x".to_string()),
        Just("\r".to_string()),
    ];
    (any::<usize>(), any::<usize>(), 0u8..5, field)
}

fn apply_ucr(text: &str, (line, col, op, field): &(usize, usize, u8, String)) -> Vec<u8> {
    let mut lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(['\t', ',', ' ']).map(String::from).collect())
        .collect();
    let n = lines.len();
    let l = &mut lines[line % n];
    let c = col % l.len().max(1);
    match op {
        0 if !l.is_empty() => l[c] = field.clone(),
        1 => l.insert(c.min(l.len()), field.clone()),
        2 if !l.is_empty() => {
            l.remove(c);
        }
        3 => {
            let copy = l.clone();
            lines.insert(line % n, copy);
        }
        _ => *l = vec![field.clone()],
    }
    lines
        .iter()
        .map(|l| l.join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes()
}

/// Longest time one IDX case may take (a parse of at most a few hundred bytes).
const IDX_CASE_LIMIT: Duration = Duration::from_secs(2);

/// A valid IDX images file (2 images of 3x3) and its labels file.
fn idx_seeds() -> (Vec<u8>, Vec<u8>) {
    let images = Idx {
        dims: vec![2, 3, 3],
        data: (0..18).collect(),
    };
    let labels = Idx {
        dims: vec![2],
        data: vec![7, 1],
    };
    (images.encode(), labels.encode())
}

/// Parse `b` as images (3x3) and as labels (10 classes): no panic, a message on failure,
/// and within [`IDX_CASE_LIMIT`].
fn idx_parse(b: &[u8]) {
    let t = Instant::now();
    check("idx images", b, |b| {
        idx::parse_images(b, "fuzz-images", 3, 3)
    });
    check("idx labels", b, |b| idx::parse_labels(b, "fuzz-labels", 10));
    check("idx", b, |b| idx::parse(b, "fuzz"));
    assert!(
        t.elapsed() < IDX_CASE_LIMIT,
        "idx: {:?} on {} bytes",
        t.elapsed(),
        b.len()
    );
}

/// A structure-aware edit of an IDX file: `(kind, index, value)`; kind 0 sets a byte of
/// the magic number, 1 the dimension count, 2 a dimension (to a hostile size), 3 cuts
/// the body, 4 appends bytes.
fn idx_edit() -> impl Strategy<Value = (u8, usize, u32)> {
    let size = prop_oneof![
        Just(0u32),
        Just(1),
        Just(2),
        Just(3),
        Just(255),
        Just(1 << 16),
        Just(1 << 31),
        Just(u32::MAX),
        any::<u32>(),
    ];
    (0u8..5, any::<usize>(), size)
}

fn apply_idx(mut b: Vec<u8>, (kind, index, value): &(u8, usize, u32)) -> Vec<u8> {
    let ndim = b[3] as usize;
    match kind {
        0 => b[index % 4] = *value as u8,
        1 => b[3] = *value as u8,
        2 => {
            let at = 4 + 4 * (index % ndim.max(1));
            b[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        3 => b.truncate(index % (b.len() + 1)),
        _ => b.extend(std::iter::repeat_n(*value as u8, 1 + index % 64)),
    }
    b
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn model_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6), j in json_edit()) {
        let good = corpus("model/good.json");
        model(&apply_bytes(good.clone(), &edits));
        model(&apply_json(&good, &j));
    }

    #[test]
    fn inputs_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6), j in json_edit()) {
        let good = corpus("inputs/good.json");
        inputs(&apply_bytes(good.clone(), &edits));
        inputs(&apply_json(&good, &j));
    }

    #[test]
    fn config_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6), j in json_edit()) {
        let good = CONFIG.as_bytes().to_vec();
        run_config(&apply_bytes(good.clone(), &edits));
        run_config(&apply_json(&good, &j));
    }

    #[test]
    fn ucr_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6), e in ucr_edit()) {
        ucr(&apply_bytes(UCR.as_bytes().to_vec(), &edits));
        ucr(&apply_ucr(UCR, &e));
    }

    #[test]
    fn idx_files_never_panic_nor_hang(edits in proptest::collection::vec(byte_edit(), 1..6), e in idx_edit()) {
        let (images, labels) = idx_seeds();
        idx_parse(&apply_bytes(images.clone(), &edits));
        idx_parse(&apply_bytes(labels.clone(), &edits));
        idx_parse(&apply_idx(images, &e));
        idx_parse(&apply_idx(labels, &e));
    }
}

/// The valid starting points parse (so the mutations start from a valid file), and a few
/// hand-picked hostile cases are refused with a message.
#[test]
fn seeds_parse_and_hostile_cases_are_refused() {
    via_file(&corpus("model/good.json"), Model::load).unwrap();
    via_file(&corpus("inputs/good.json"), read_inputs_file).unwrap();
    via_file(CONFIG.as_bytes(), RunConfig::load).unwrap();
    parse_ucr(UCR.as_bytes(), "u.tsv")
        .unwrap()
        .validate()
        .unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    for bad in [deep.as_str(), "", "\u{feff}{}", "{\"format\": 1e400}"] {
        assert!(via_file(bad.as_bytes(), Model::load).is_err());
        assert!(via_file(bad.as_bytes(), read_inputs_file).is_err());
        assert!(via_file(bad.as_bytes(), RunConfig::load).is_err());
    }
    for bad in [
        ",,,\n",
        "1\t0.5\n,\n",
        "\u{0}\n",
        "1\n",
        "0\t1\n",
        "6\t1\n",
        "1\tnan\n",
    ] {
        let e = parse_ucr(bad.as_bytes(), "u.tsv").unwrap_err().to_string();
        assert!(e.contains("u.tsv"), "{bad:?}: {e}");
    }
    let (images, labels) = idx_seeds();
    assert_eq!(idx::parse_images(&images, "i", 3, 3).unwrap().0, 2);
    assert_eq!(idx::parse_labels(&labels, "l", 10).unwrap(), [7, 1]);
    // Hostile headers: dimensions whose product overflows or dwarfs the body, 255
    // dimensions, a header cut short; each refused at once, naming the file.
    let mut huge = vec![0, 0, 8, 3];
    for _ in 0..3 {
        huge.extend_from_slice(&u32::MAX.to_be_bytes());
    }
    let mut wide = vec![0, 0, 8, 255];
    wide.extend(std::iter::repeat_n(0xff, 4 * 255));
    for bad in [
        huge,
        wide,
        vec![0, 0, 8, 3, 0, 0],
        vec![0, 0, 9, 1, 0, 0, 0, 1, 5],
    ] {
        let t = Instant::now();
        let e = idx::parse(&bad, "hostile.idx").unwrap_err().to_string();
        assert!(e.contains("hostile.idx"), "{e}");
        assert!(t.elapsed() < IDX_CASE_LIMIT);
    }
    // Invalid UTF-8 is an error, not a panic.
    check("model", &[0xff, 0xfe, b'{'], |b| via_file(b, Model::load));
    check("ucr", &[b'1', b'\t', 0xff, b'\n'], |b| {
        parse_ucr(b, "u.tsv")
    });
}

/// A valid `.npy` of `examples x steps x input` float64 inputs, with the header `header`
/// (the dict literal; the length field and padding are computed).
fn npy_with_header(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(data);
    b
}

fn good_npy() -> Vec<u8> {
    let mut b = Vec::new();
    let x: Vec<f64> = (0..12).map(|i| i as f64 * 0.25).collect();
    nrnn::data::npy::write_npy_f64(&mut b, &[2, 3, 2], &x).unwrap();
    b
}

/// Parse `.npy` bytes and build inputs from them (the path of `--inputs x.npy`).
fn npy(b: &[u8]) {
    check("npy", b, |b| {
        let a = nrnn::data::npy::parse_npy(b, "fuzz.npy")?;
        if matches!(a.data, nrnn::data::npy::NpyData::Int(_)) {
            return Ok(());
        }
        nrnn::data::npy::dataset_from_arrays("fuzz", &a, None, "fuzz.npy").map(|_| ())
    });
}

/// A header field replaced by a hostile value.
fn npy_header_edit() -> impl Strategy<Value = (usize, String)> {
    let value = prop_oneof![
        Just("'<f8'".to_string()),
        Just("'<f4'".to_string()),
        Just("'>f8'".to_string()),
        Just("'|u1'".to_string()),
        Just("'<i8'".to_string()),
        Just("'<u8'".to_string()),
        Just("'<c16'".to_string()),
        Just("'O'".to_string()),
        Just("[('a', '<f8')]".to_string()),
        Just("True".to_string()),
        Just("False".to_string()),
        Just("()".to_string()),
        Just("(0,)".to_string()),
        Just("(2, 3, 2)".to_string()),
        Just("(12,)".to_string()),
        Just("(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)".to_string()),
        Just("(18446744073709551615, 2)".to_string()),
        Just("(99999999999999999999999,)".to_string()),
        Just("(4294967296, 4294967296)".to_string()),
        Just("(-1, 3)".to_string()),
        Just("'".to_string()),
        Just("".to_string()),
        (0usize..3000).prop_map(|n| format!("'{}'", "x".repeat(n))),
    ];
    (0usize..3, value)
}

fn apply_npy_header(&(field, ref v): &(usize, String)) -> Vec<u8> {
    let mut parts = [
        "'<f8'".to_string(),
        "False".to_string(),
        "(2, 3, 2)".to_string(),
    ];
    parts[field] = v.clone();
    let header = format!(
        "{{'descr': {}, 'fortran_order': {}, 'shape': {}, }}",
        parts[0], parts[1], parts[2]
    );
    let data = &good_npy()[128..];
    npy_with_header(&header, data)
}

fn good_npz() -> Vec<u8> {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("x.npy", opts).unwrap();
    z.write_all(&good_npy()).unwrap();
    z.start_file("y.npy", opts).unwrap();
    let mut y = Vec::new();
    nrnn::data::npy::write_npy_i64(&mut y, &[2], &[1, 0]).unwrap();
    z.write_all(&y).unwrap();
    z.finish().unwrap().into_inner()
}

fn good_safetensors() -> Vec<u8> {
    let mut t = nrnn::interop::Tensors::new();
    for (k, shape) in [("B", vec![2, 2]), ("d", vec![2])] {
        let len = shape.iter().product();
        t.insert(
            k.to_string(),
            nrnn::interop::Tensor {
                shape,
                values: vec![0.5; len],
            },
        );
    }
    nrnn::interop::safetensors_bytes(&t, nrnn::interop::FloatType::F32, &Default::default())
        .unwrap()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn npy_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6), h in npy_header_edit()) {
        npy(&apply_bytes(good_npy(), &edits));
        npy(&apply_npy_header(&h));
    }

    #[test]
    fn npz_and_safetensors_files_never_panic(edits in proptest::collection::vec(byte_edit(), 1..6)) {
        let z = apply_bytes(good_npz(), &edits);
        check("npz", &z, |b| nrnn::data::npy::parse_npz(b, "fuzz.npz").map(|_| ()));
        check("npz inputs", &z, |b| {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("fuzz.npz");
            std::fs::write(&p, b).unwrap();
            nrnn::data::npy::read_inputs_npy(&p, None).map(|_| ())
        });
        let s = apply_bytes(good_safetensors(), &edits);
        check("safetensors", &s, |b| {
            nrnn::interop::parse_safetensors(b, Path::new("fuzz.safetensors")).map(|_| ())
        });
    }
}

/// The NumPy and safetensors seeds parse.
#[test]
fn numpy_and_safetensors_seeds_parse() {
    npy(&good_npy());
    assert_eq!(
        nrnn::data::npy::parse_npy(&apply_npy_header(&(2, "(2, 3, 2)".into())), "s")
            .unwrap()
            .shape,
        vec![2, 3, 2]
    );
    assert_eq!(
        nrnn::data::npy::parse_npz(&good_npz(), "s").unwrap().len(),
        2
    );
    let (t, _) = nrnn::interop::parse_safetensors(&good_safetensors(), Path::new("s")).unwrap();
    assert_eq!(t["B"].values, vec![0.5; 4]);
}

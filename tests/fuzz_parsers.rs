//! Fuzzing of the file parsers by proptest: model JSON (`Model::load`), inputs JSON
//! (`read_inputs_file`), training configuration JSON (`RunConfig::load`) and the UCR TSV
//! of ECG5000 (`ecg::parse_ucr`). Each starts from a valid file and applies random byte
//! mutations (bit flips, replaced, deleted, inserted and repeated bytes, truncation) or
//! structure-aware ones (a value replaced by a wrong type, a huge or out-of-range number,
//! deep nesting, a long string; a key removed, added or repeated; for TSV, fields and
//! lines). Every case must return without panicking (`catch_unwind`), and every failure
//! must be an `Err` with a non-empty message.
//!
//! Bounded: [`CASES`] cases per mutation kind and parser, a few seconds in all, with the
//! fixed seed of the crate's other property tests (a failure reproduces).

mod common;

use nrnn::data::ecg::parse_ucr;
use nrnn::data::inputs::read_inputs_file;
use nrnn::model::Model;
use nrnn::train::RunConfig;
use proptest::prelude::*;
use serde_json::Value;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

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
    // Invalid UTF-8 is an error, not a panic.
    check("model", &[0xff, 0xfe, b'{'], |b| via_file(b, Model::load));
    check("ucr", &[b'1', b'\t', 0xff, b'\n'], |b| {
        parse_ucr(b, "u.tsv")
    });
}

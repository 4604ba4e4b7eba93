//! The command line: `train`, `eval`, `simulate`, `bench` on good and bad input. Every bad
//! input exits non-zero with a message naming the field, flag, name or path, and writes
//! no output file.

use nrnn::loss::Loss;
use nrnn::model::Model;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_nrnn");
/// Examples of the digits used by the eval tests.
const EVAL_EXAMPLES: usize = 40;

fn nrnn(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run nrnn")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// One small model trained once by `nrnn train` and shared by the tests.
fn trained() -> &'static (tempfile::TempDir, PathBuf) {
    static RUN: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let flags = "--examples 300 --val-count 50 --test-count 50 --hidden 8 --epochs 2 --eps 0.1 --learn-dt --quiet";
        let o = nrnn(&args_out(&["train"], &words(flags), &out));
        assert!(o.status.success(), "train failed: {}", stderr(&o));
        assert!(stdout(&o).contains("test accuracy"), "{}", stdout(&o));
        let model = out.join("model.json");
        (dir, model)
    })
}

fn model_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(&trained().1).unwrap()).unwrap()
}

/// Run `args` (which must write to `out`) and check: non-zero exit, stderr contains every
/// `needles`, `out` not created.
fn refused(args: &[&str], out: &Path, needles: &[&str]) {
    let o = nrnn(args);
    let err = stderr(&o);
    assert!(!o.status.success(), "{args:?} succeeded: {}", stdout(&o));
    for n in needles {
        assert!(
            err.contains(n),
            "{args:?}: message {err:?} does not contain {n:?}"
        );
    }
    assert!(!out.exists(), "{args:?} wrote {}", out.display());
}

/// The words of `flags`, split at single spaces.
fn words(flags: &str) -> Vec<&str> {
    flags.split(' ').collect()
}

/// The arguments of a run that writes `out`: `head`, then `flags`, then `--out out`.
fn args_out<'a>(head: &[&'a str], flags: &[&'a str], out: &'a Path) -> Vec<&'a str> {
    let mut args = head.to_vec();
    args.extend_from_slice(flags);
    args.extend(["--out", out.to_str().unwrap()]);
    args
}

#[test]
fn train_writes_model_history_and_manifest() {
    let (_, model) = trained();
    let dir = model.parent().unwrap();
    for f in [
        "model.json",
        "history.csv",
        "manifest.json",
        "checkpoint.json",
        "config.json",
    ] {
        assert!(dir.join(f).is_file(), "{f}");
    }
    let man: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    for k in [
        "config",
        "data",
        "seed",
        "crate_version",
        "git_revision",
        "wall_seconds",
        "val_accuracy",
        "test_accuracy",
    ] {
        assert!(man.get(k).is_some(), "manifest lacks {k}");
    }
    assert_eq!(man["data"]["val"], 50);
    assert_eq!(man["config"]["eps"], 0.1);
    let m = Model::load(model).unwrap();
    assert!(m.config.learn_dt && m.config.hidden == 8);
}

#[test]
fn train_resume_and_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let cfg = dir.path().join("cfg.json");
    std::fs::write(&cfg, r#"{"examples": 200, "val_count": 40, "test_count": 40, "hidden": 6, "epochs": 1, "progress": false}"#)
        .unwrap();
    let o = nrnn(&args_out(
        &["train"],
        &["--config", cfg.to_str().unwrap()],
        &out,
    ));
    assert!(o.status.success(), "{}", stderr(&o));
    let o = nrnn(&[
        "train",
        "--resume",
        "--epochs",
        "2",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let man: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(man["epochs_run"], 2);
    assert_eq!(man["config"]["hidden"], 6);
    let hist = std::fs::read_to_string(out.join("history.csv")).unwrap();
    assert_eq!(hist.lines().count(), 3);
    assert!(hist.starts_with("epoch,train_loss,val_loss,val_accuracy,lr,seconds\n"));

    // A config file with an unknown key or a bad value is refused, naming the key.
    let out2 = dir.path().join("run2");
    for (text, key) in [
        (r#"{"hiden": 6}"#, "hiden"),
        (r#"{"epochs": -3}"#, "epochs"),
    ] {
        std::fs::write(&cfg, text).unwrap();
        let args = args_out(&["train"], &["--config", cfg.to_str().unwrap()], &out2);
        refused(&args, &out2, &[key]);
    }
}

#[test]
fn train_refuses_invalid_flags_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    // (flags, what the error names)
    let cases: [(&[&str], &[&str]); 12] = [
        (&["--eps", "-1"], &["eps", "[0, "]),
        (&["--eps", "nan"], &["eps"]),
        (&["--lr", "0"], &["lr", "(0, "]),
        (&["--batch", "0"], &["batch", "[1, 65536]"]),
        (&["--beta", "2"], &["beta", "[0, 1]"]),
        (&["--noise", "gaussian"], &["noise", "diag"]),
        (&["--optimizer", "lbfgs"], &["optimizer", "adam"]),
        (&["--activation", "sigmoid"], &["activation"]),
        (&["--data", "no-such-set"], &["no-such-set"]),
        (&["--val-count", "5000"], &["val_count"]),
        (
            &["--config", "/no/such/config.json"],
            &["/no/such/config.json"],
        ),
        (&["--resume"], &["checkpoint.json"]),
    ];
    for (flags, needles) in cases {
        refused(&args_out(&["train"], flags, &out), &out, needles);
    }
}

/// The first `n` examples of the digits as a `nrnn-inputs/1` file.
fn inputs_file(dir: &Path, n: usize) -> PathBuf {
    let d = nrnn::data::digits().head(n);
    let p = dir.join("inputs.json");
    nrnn::data::write_inputs(&p, &d).unwrap();
    p
}

/// The value of top-level number `key` in JSON text, parsed exactly by `str::parse`
/// (serde_json's default float parser may differ from the printed value in the last bit).
fn exact_number(text: &str, key: &str) -> f64 {
    let pat = format!("\"{key}\": ");
    let start = text
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} in {text}"))
        + pat.len();
    let end = start + text[start..].find([',', '\n', '}']).unwrap();
    text[start..end].trim().parse().unwrap()
}

#[test]
fn eval_json_matches_the_library() {
    let (_, model) = trained();
    let dir = tempfile::tempdir().unwrap();
    let n = EVAL_EXAMPLES.to_string();
    let o = nrnn(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        "digits",
        "--split",
        "all",
        "--examples",
        &n,
        "--grad",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let v: Value = serde_json::from_str(&text).unwrap();
    let m = Model::load(model).unwrap();
    let (loss, acc) = m.evaluate(
        &nrnn::data::digits().head(EVAL_EXAMPLES).all(),
        Loss::CrossEntropy,
    );
    assert_eq!(exact_number(&text, "loss").to_bits(), loss.to_bits());
    assert_eq!(exact_number(&text, "accuracy").to_bits(), acc.to_bits());
    let logits = v["logits"].as_array().unwrap();
    assert_eq!(logits.len(), EVAL_EXAMPLES);
    assert!(logits.iter().all(|l| l.as_array().unwrap().len() == 10));
    let g = &v["grad"];
    let shape = |k: &str| {
        let a = g[k].as_array().unwrap();
        (a.len(), a[0].as_array().map_or(0, |r| r.len()))
    };
    assert_eq!(
        (shape("m_a"), shape("m_w"), shape("u"), shape("v")),
        ((8, 8), (8, 8), (8, 1), (10, 8))
    );
    assert_eq!(
        (
            g["b"].as_array().unwrap().len(),
            g["c"].as_array().unwrap().len()
        ),
        (8, 10)
    );
    assert_eq!(
        g["dt"].as_array().unwrap().len(),
        8,
        "learnable step: dt gradient present"
    );

    // The same through an inputs file, written with --out; the readable form without --json.
    let inp = inputs_file(dir.path(), EVAL_EXAMPLES);
    let out = dir.path().join("eval.json");
    let eval = ["eval", "--model", model.to_str().unwrap()];
    let o = nrnn(&args_out(&eval, &["--inputs", inp.to_str().unwrap()], &out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("accuracy"), "{}", stdout(&o));
    let w: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(w["accuracy"], v["accuracy"]);
    assert_eq!(w["logits"], v["logits"]);
}

#[test]
fn bad_model_files_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let inp = inputs_file(dir.path(), 3);
    let good = model_json();
    let text_with = |edit: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        edit(&mut v);
        serde_json::to_string_pretty(&v).unwrap()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "missing",
            text_with(&|v| {
                v.as_object_mut().unwrap().remove("m_w");
            }),
            "m_w",
        ),
        (
            "misshaped",
            text_with(&|v| {
                v["m_a"][0].as_array_mut().unwrap().pop();
            }),
            "m_a",
        ),
        (
            "nan-string",
            text_with(&|v| v["u"][1][0] = Value::from("NaN")),
            "u[1][0]",
        ),
        (
            "huge",
            text_with(&|v| v["b"][2] = Value::from(12345.678)).replacen("12345.678", "1e999", 1),
            "b",
        ),
        (
            "negative-noise",
            text_with(&|v| v["noise"]["eps"] = Value::from(-0.1)),
            "noise.eps",
        ),
        (
            "unknown-form",
            text_with(&|v| v["noise"]["form"] = Value::from("gaussian")),
            "noise.form",
        ),
    ];
    for (name, text, field) in cases {
        let path = dir.path().join(format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        let m = path.to_str().unwrap();
        let out = dir.path().join(format!("{name}.out.json"));
        let eval = ["eval", "--model", m];
        refused(
            &args_out(&eval, &["--inputs", inp.to_str().unwrap()], &out),
            &out,
            &[field],
        );
        let csv = dir.path().join(format!("{name}.csv"));
        let simulate = ["simulate", "--model", m];
        let flags = ["--data", "digits", "--paths", "2"];
        refused(&args_out(&simulate, &flags, &csv), &csv, &[field]);
    }
}

#[test]
fn bad_names_and_paths_are_refused() {
    let (_, model) = trained();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.json");
    let m = model.to_str().unwrap();
    let bad_inputs = dir.path().join("bad-inputs.json");
    std::fs::write(
        &bad_inputs,
        r#"{"format": "nrnn-inputs/1", "sequences": [[[0.1], ["NaN"]]], "labels": [0]}"#,
    )
    .unwrap();
    // (eval's flags, what the error names)
    let eval_cases: [(&[&str], &str); 4] = [
        (&["--model", m, "--data", "no-such-set"], "no-such-set"),
        (
            &["--model", "/no/such/model.json", "--data", "digits"],
            "/no/such/model.json",
        ),
        (
            &["--model", m, "--inputs", "/no/such/inputs.json"],
            "/no/such/inputs.json",
        ),
        (
            &["--model", m, "--inputs", bad_inputs.to_str().unwrap()],
            "sequences[0][1]",
        ),
    ];
    for (flags, needle) in eval_cases {
        refused(&args_out(&["eval"], flags, &out), &out, &[needle]);
    }
    let csv = dir.path().join("x.csv");
    // (simulate's flags after the model, what the error names)
    let simulate_cases: [(&[&str], &str); 4] = [
        (
            &["--data", "digits", "--paths", "2", "--eps", "-0.5"],
            "eps",
        ),
        (
            &["--data", "digits", "--paths", "2", "--noise", "pink"],
            "noise",
        ),
        (&["--data", "adding", "--paths", "2"], "input_dim"),
        (&["--data", "digits", "--paths", "0"], "paths"),
    ];
    for (flags, needle) in simulate_cases {
        let args = args_out(&["simulate", "--model", m], flags, &csv);
        refused(&args, &csv, &[needle]);
    }
}

#[test]
fn simulate_writes_reproducible_tidy_csv() {
    let (_, model) = trained();
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    let m = model.to_str().unwrap();
    for out in [&a, &b] {
        let flags = "--data digits --examples 2 --paths 3 --seed 9 --eps 0.3";
        let o = nrnn(&args_out(&["simulate", "--model", m], &words(flags), out));
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let text = std::fs::read_to_string(&a).unwrap();
    assert_eq!(text, std::fs::read_to_string(&b).unwrap());
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("path,example,step,unit,h"));
    // 3 paths x 2 examples x 65 states (h_0 .. h_64) x 8 units.
    assert_eq!(lines.clone().count(), 3 * 2 * 65 * 8);
    let first: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(first, vec!["0", "0", "0", "0", "0.0"]);
    // Different paths differ (noise on).
    let h_at = |path: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{path},0,64,0,")))
            .unwrap()
            .to_string()
    };
    assert_ne!(h_at("0").split(',').nth(4), h_at("1").split(',').nth(4));
}

/// The JSON a successful `nrnn ARGS` prints.
fn json_of(args: &[&str]) -> Value {
    let o = nrnn(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// `nrnn ARGS` fails, naming `what`.
fn fails_naming(args: &[&str], what: &str) {
    let o = nrnn(args);
    assert!(
        !o.status.success() && stderr(&o).contains(what),
        "{}",
        stderr(&o)
    );
}

/// Every key of `keys` (separated by spaces) is in the object `v` (`what` names it in
/// the message).
fn has_keys(v: &Value, keys: &str, what: &str) {
    for k in keys.split_whitespace() {
        assert!(v.get(k).is_some(), "{what} lacks {k}");
    }
}

#[test]
fn bench_reports_its_fields() {
    let v = json_of(&[
        "bench", "train", "--hidden", "8", "--steps", "12", "--batch", "40", "--iters", "2",
        "--json",
    ]);
    let keys = "seconds_per_iter min_seconds hidden steps batch threads gflops seconds_per_step gemm_gflops gemm_fraction tape peak_rss_bytes";
    has_keys(&v, keys, "bench train");
    assert!(v["seconds_per_iter"].as_f64().unwrap() > 0.0);
    let tape = "segment items_at_once peak_bytes whole_peak_bytes budget_bytes_per_item";
    has_keys(&v["tape"], tape, "bench train's tape");
    // 12 steps of 40 examples at hidden 8: one item, the whole tape (states, activations,
    // Gz, noise), 8 bytes each.
    assert_eq!(v["tape"]["peak_bytes"], 8 * 8 * 40 * (13 + 3 * 12));
    assert!(v["tape"]["segment"].is_null());
    assert!(v["gemm_gflops"].as_f64().unwrap() > 0.0);
    let v = json_of(&[
        "bench",
        "train",
        "--hidden",
        "4",
        "--steps",
        "3",
        "--batch",
        "2",
        "--iters",
        "1",
        "--gemm-seconds",
        "0",
        "--json",
    ]);
    assert!(v["gemm_gflops"].is_null() && v["gemm_fraction"].is_null());
    fails_naming(
        &["bench", "train", "--gemm-seconds=-1", "--json"],
        "gemm-seconds",
    );
    let v = json_of(&[
        "bench",
        "gemm",
        "--size",
        "16",
        "--seconds",
        "0.01",
        "--json",
    ]);
    let gemm = "size seconds path gflops_1_thread gflops_2_threads faer_gflops_1_thread faer_gflops_2_threads attainable_gflops_2_threads";
    has_keys(&v, gemm, "bench gemm");
    assert!(v["gflops_1_thread"].as_f64().unwrap() > 0.0);
    fails_naming(&["bench", "gemm", "--size", "0", "--json"], "size");
    let o = nrnn(&["bench", "gemm", "--size", "16", "--seconds", "0.01"]);
    assert!(
        o.status.success() && stdout(&o).contains("GFLOP/s"),
        "{}",
        stderr(&o)
    );
    let v = json_of(&[
        "bench", "mc", "--hidden", "4", "--steps", "10", "--paths", "100", "--iters", "2", "--json",
    ]);
    assert!(v["seconds"].as_f64().unwrap() > 0.0);
    assert!(v["mean_cross_entropy"].as_f64().unwrap().is_finite());
    fails_naming(&["bench", "mc", "--paths", "0", "--json"], "paths");
    let v = json_of(&[
        "bench", "hvp", "--hidden", "4", "--steps", "6", "--batch", "10", "--iters", "1", "--json",
    ]);
    assert!(v["ratio"].as_f64().unwrap() > 0.0);
    assert!(v["parameters"].as_u64().unwrap() > 0);
    fails_naming(&["bench", "hvp", "--hidden", "0", "--json"], "hidden");
}

/// `nrnn train --cell` trains every baseline cell; `eval --grad` evaluates it with its own
/// blocks and reproduces the manifest's test loss; a Lipschitz-only command refuses it by
/// name; bad cell flags are refused naming the flag.
#[test]
fn train_and_eval_every_cell() {
    let dir = tempfile::tempdir().unwrap();
    for (cell, block) in [("lstm", "w_ih"), ("gru", "b_hh"), ("cornn", "w_z")] {
        let out = dir.path().join(cell);
        let train = format!(
            "train --cell {cell} --examples 200 --val-count 40 --test-count 40 --hidden 5 --epochs 1 --eps 0.1 --quiet --out"
        );
        let mut args: Vec<&str> = train.split(' ').collect();
        args.push(out.to_str().unwrap());
        let o = nrnn(&args);
        assert!(o.status.success(), "{cell}: {}", stderr(&o));
        let model = out.join("model.json");
        let m: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
        assert_eq!(m["cell"], cell);
        let split =
            "--data digits --data-examples 200 --val-count 40 --test-count 40 --grad --json";
        let mut args = vec!["eval", "--model", model.to_str().unwrap()];
        args.extend(split.split(' '));
        let o = nrnn(&args);
        assert!(o.status.success(), "{cell}: {}", stderr(&o));
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert!(r["grad"][block].is_array(), "{cell}: {}", r["grad"]);
        let manifest: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap())
                .unwrap();
        assert_eq!(r["loss"].as_f64(), manifest["test_loss"].as_f64(), "{cell}");
        // The tools that need only a Jacobian take every cell.
        let data = "--data digits --data-examples 200 --val-count 40 --test-count 40 --examples 4";
        let tool = |name: &str| -> Value {
            let mut args = vec![name, "--model", model.to_str().unwrap(), "--json"];
            args.extend(data.split(' '));
            let o = nrnn(&args);
            assert!(o.status.success(), "{cell} {name}: {}", stderr(&o));
            serde_json::from_str(&stdout(&o)).unwrap()
        };
        let r = tool("margin");
        let summary = &r["summary"];
        assert!(summary["lipschitz"].is_null(), "{cell}: {summary}");
        assert_eq!(r["examples"].as_array().unwrap().len(), 4);
        let top = tool("hessian")["top_eigenvalues"][0].as_f64().unwrap();
        assert!(top.is_finite(), "{cell}: {top}");
        let mut args = vec!["lyapunov", "--model", model.to_str().unwrap()];
        args.extend(words(
            "--spectrum 2 --steps 500 --transient 100 --paths 2 --json",
        ));
        let o = nrnn(&args);
        assert!(o.status.success(), "{cell} lyapunov: {}", stderr(&o));
        let r: Value = serde_json::from_str(&stdout(&o)).unwrap();
        let ex = r["exponents"].as_array().unwrap();
        assert!(ex.len() == 2 && ex.iter().all(|e| e.as_f64().unwrap().is_finite()));
        let o = nrnn(&["stability", "--model", model.to_str().unwrap()]);
        assert!(!o.status.success());
        let e = stderr(&o);
        assert!(
            e.contains(&format!("the {cell} cell does not support")),
            "{e}"
        );
    }
    for (args, needle) in [
        (vec!["--cell", "rnn"], "`cell`"),
        (vec!["--cell", "cornn", "--cornn-dt", "0"], "`cornn_dt`"),
        (
            vec!["--cell", "gru", "--noise", "code", "--eps", "0.1"],
            "`noise`",
        ),
        (vec!["--cell", "lstm", "--learn-dt"], "`learn_dt`"),
    ] {
        let out = dir.path().join("bad");
        let mut a = vec!["train", "--quiet", "--out", out.to_str().unwrap()];
        a.extend(args);
        let o = nrnn(&a);
        assert!(!o.status.success());
        assert!(stderr(&o).contains(needle), "{}", stderr(&o));
        assert!(!out.exists(), "a refused run wrote {}", out.display());
    }
}

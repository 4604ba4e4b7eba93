//! The importer of the authors' NoisyRNN weights against a re-implementation, written here
//! from their published update rule in their row-vector convention (`h @ A`), on random
//! weights: the `base` and `noisy` solvers, alpha 1, between 0 and 1, and 0, deterministic
//! (their `model.eval()`) and with a given noise draw (their training mode). Fixtures are
//! safetensors and `.npz` files written by the test; the CLI `import`/`export` round trip.

use nalgebra::DMatrix;
use nrnn::data::{Batch, Dataset, Task};
use nrnn::interop::noisyrnn::{self, Hyper, Solver};
use nrnn::interop::{read_tensors, write_safetensors, FloatType, Tensor, Tensors};
use nrnn::model::{Model, NoiseDraw, NoiseSource};
use rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;

const BIN: &str = env!("CARGO_BIN_EXE_nrnn");
const N: usize = 6;
const P: usize = 3;
const C: usize = 4;
const STEPS: usize = 7;
const EXAMPLES: usize = 5;

fn random(shape: &[usize], scale: f64, rng: &mut rand::rngs::StdRng) -> Tensor {
    let len = shape.iter().product();
    Tensor {
        shape: shape.to_vec(),
        values: (0..len)
            .map(|_| scale * rng.random_range(-1.0..1.0))
            .collect(),
    }
}

fn state_dict(seed: u64) -> Tensors {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut t = Tensors::new();
    t.insert("E.weight".into(), random(&[N, P], 0.8, &mut rng));
    t.insert("E.bias".into(), random(&[N], 0.3, &mut rng));
    t.insert("D.weight".into(), random(&[C, N], 0.5, &mut rng));
    t.insert("D.bias".into(), random(&[C], 0.2, &mut rng));
    t.insert("B".into(), random(&[N, N], 0.6, &mut rng));
    t.insert("C".into(), random(&[N, N], 0.6, &mut rng));
    let mut d = random(&[N], 0.05, &mut rng);
    d.values.iter_mut().for_each(|v| *v += 0.1);
    t.insert("d".into(), d);
    t
}

fn inputs(seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..EXAMPLES * STEPS * P)
        .map(|_| rng.random_range(-1.0..1.0))
        .collect()
}

fn mat(t: &Tensor) -> DMatrix<f64> {
    DMatrix::from_row_slice(t.shape[0], t.shape[1], &t.values)
}

/// Their forward pass, row vectors: `h` is 1 x n, `E(x) = x E.weight^T + E.bias`. With
/// `noise = Some((xi, u))` their training mode: `add = add_noise xi`, their uniform `U` is
/// `1 - u` (so `mult = mult_noise (1 - u) + 1 - mult_noise`).
fn theirs(t: &Tensors, h: &Hyper, x: &[f64], noise: Option<&NoiseDraw>) -> Vec<Vec<f64>> {
    let (b, c) = (mat(&t["B"]), mat(&t["C"]));
    let eye = DMatrix::<f64>::identity(N, N);
    let a =
        (&b - b.transpose()) * h.beta + (&b + b.transpose()) * (1.0 - h.beta) - &eye * h.gamma_a;
    let w =
        (&c - c.transpose()) * h.beta + (&c + c.transpose()) * (1.0 - h.beta) - &eye * h.gamma_w;
    let (ew, eb) = (mat(&t["E.weight"]), &t["E.bias"].values);
    let (dw, db) = (mat(&t["D.weight"]), &t["D.bias"].values);
    let d = &t["d"].values;
    let mut out = Vec::new();
    for e in 0..EXAMPLES {
        let mut hs = DMatrix::<f64>::zeros(1, N);
        for k in 0..STEPS {
            let xs =
                DMatrix::from_row_slice(1, P, &x[(e * STEPS + k) * P..(e * STEPS + k + 1) * P]);
            let mut z = xs * ew.transpose();
            for j in 0..N {
                z[(0, j)] += eb[j];
            }
            let pre = &hs * &w + z;
            let upd = (&hs * &a) * h.alpha + pre.map(f64::tanh);
            match h.solver {
                Solver::Base => hs += upd * h.eps,
                Solver::Noisy => {
                    for j in 0..N {
                        let (add, mult) = match noise {
                            Some(dr) => {
                                let col = k * EXAMPLES + e;
                                let uu = 1.0 - dr.aux[(j, col)];
                                (
                                    h.add_noise * dr.xi[(j, col)],
                                    h.mult_noise * uu + (1.0 - h.mult_noise),
                                )
                            }
                            None => (0.0, 1.0),
                        };
                        hs[(0, j)] += d[j] * mult * upd[(0, j)] + add;
                    }
                }
            }
        }
        let mut o = &hs * dw.transpose();
        for j in 0..C {
            o[(0, j)] += db[j];
        }
        out.push(o.iter().copied().collect());
    }
    out
}

fn dataset(x: &[f64]) -> Dataset {
    Dataset {
        name: "fixture".into(),
        steps: STEPS,
        input_dim: P,
        classes: C,
        task: Task::Classification,
        x: x.to_vec(),
        labels: vec![0; EXAMPLES],
        targets: Vec::new(),
    }
}

fn max_diff(ours: &DMatrix<f64>, theirs: &[Vec<f64>]) -> f64 {
    let mut m = 0.0f64;
    for (e, row) in theirs.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            m = m.max((ours[(j, e)] - v).abs());
        }
    }
    m
}

fn hyper(solver: Solver, alpha: f64, add: f64, mult: f64) -> Hyper {
    Hyper {
        beta: 0.7,
        gamma_a: 0.05,
        gamma_w: 0.02,
        alpha,
        solver,
        eps: 0.1,
        add_noise: add,
        mult_noise: mult,
    }
}

/// The inputs of `x_seed` (flat, and as one batch), the state dict of `seed` and the model
/// imported from it with `h`.
fn imported(x_seed: u64, seed: u64, h: &Hyper) -> (Vec<f64>, Batch, Tensors, Model) {
    let x = inputs(x_seed);
    let batch = dataset(&x).all();
    let t = state_dict(seed);
    let (m, _) = noisyrnn::import(&t, h).unwrap();
    (x, batch, t, m)
}

#[test]
fn logits_match_their_update_rule() {
    let x = inputs(2);
    let batch = dataset(&x).all();
    let mut worst = 0.0f64;
    for (seed, solver, alpha) in [
        (1, Solver::Base, 1.0),
        (2, Solver::Noisy, 1.0),
        (3, Solver::Base, 0.4),
        (4, Solver::Noisy, 0.4),
        (5, Solver::Noisy, 0.0),
    ] {
        let t = state_dict(seed);
        let h = hyper(solver, alpha, 0.0, 0.0);
        let (m, _) = noisyrnn::import(&t, &h).unwrap();
        let ours = m.logits(&batch, NoiseSource::Off);
        let diff = max_diff(&ours, &theirs(&t, &h, &x, None));
        assert!(
            diff < 1e-12,
            "{solver:?} alpha {alpha}: max |logit diff| {diff}"
        );
        worst = worst.max(diff);
    }
    println!("max |logit difference| over the deterministic cases: {worst:e}");
}

#[test]
fn noisy_solver_with_their_noise_matches_on_a_given_draw() {
    let h = hyper(Solver::Noisy, 0.6, 0.05, 0.3);
    let (x, batch, t, m) = imported(3, 9, &h);
    assert_eq!(m.config.noise.form.name(), "code");
    let ids: Vec<u64> = (0..EXAMPLES as u64).collect();
    let draw = NoiseDraw::draw(m.config.noise.form, N, STEPS, 11, &[1], &ids);
    let ours = m.logits(&batch, NoiseSource::Given(&draw));
    let diff = max_diff(&ours, &theirs(&t, &h, &x, Some(&draw)));
    assert!(diff < 1e-12, "max |logit diff| {diff}");
}

#[test]
fn without_the_transposes_the_logits_differ() {
    // The mapping is not trivially right: importing B and C untransposed moves the logits.
    let h = hyper(Solver::Noisy, 1.0, 0.0, 0.0);
    let (x, batch, t, mut m) = imported(4, 6, &h);
    m.params.m_a = m.params.m_a.transpose();
    m.params.m_w = m.params.m_w.transpose();
    let diff = max_diff(
        &m.logits(&batch, NoiseSource::Off),
        &theirs(&t, &h, &x, None),
    );
    assert!(diff > 1e-6, "{diff}");
}

#[test]
fn errors_name_the_key_and_shape() {
    let h = Hyper::default();
    let mut t = state_dict(1);
    t.remove("D.bias");
    let e = noisyrnn::import(&t, &h).unwrap_err().to_string();
    assert!(e.contains("D.bias") && e.contains("[4]"), "{e}");
    let mut t = state_dict(1);
    t.get_mut("B").unwrap().shape = vec![N, N + 1];
    t.get_mut("B").unwrap().values.extend([0.0; N]);
    let e = noisyrnn::import(&t, &h).unwrap_err().to_string();
    assert!(e.contains("`B`") && e.contains("[6, 6]"), "{e}");
    let mut t = state_dict(1);
    t.get_mut("d").unwrap().values[2] = -0.1;
    let e = noisyrnn::import(&t, &h).unwrap_err().to_string();
    assert!(e.contains("d[2]"), "{e}");
    let mut t = state_dict(1);
    t.insert(
        "W.weight".into(),
        random(&[1], 1.0, &mut rand::rngs::StdRng::seed_from_u64(0)),
    );
    let e = noisyrnn::import(&t, &h).unwrap_err().to_string();
    assert!(e.contains("W.weight"), "{e}");
    let t = state_dict(1);
    let e = noisyrnn::import(&t, &Hyper { beta: 1.5, ..h })
        .unwrap_err()
        .to_string();
    assert!(e.contains("beta") && e.contains("[0, 1]"), "{e}");
    let e = noisyrnn::import(
        &t,
        &Hyper {
            mult_noise: 2.0,
            ..h
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("mult_noise"), "{e}");
}

fn write_npz(path: &std::path::Path, t: &Tensors) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (k, v) in t {
        z.start_file(
            format!("{k}.npy"),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        let mut buf = Vec::new();
        nrnn::data::npy::write_npy_f64(&mut buf, &v.shape, &v.values).unwrap();
        z.write_all(&buf).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn files_and_the_cli_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let t = state_dict(12);
    let st = dir.path().join("w.safetensors");
    write_safetensors(&st, &t, FloatType::F64, &BTreeMap::new()).unwrap();
    let npz = dir.path().join("w.npz");
    write_npz(&npz, &t);
    assert_eq!(read_tensors(&st).unwrap().0, t);
    assert_eq!(read_tensors(&npz).unwrap().0, t);

    let h = hyper(Solver::Noisy, 0.5, 0.02, 0.1);
    let (want, _) = noisyrnn::import(&t, &h).unwrap();
    for (w, flags) in [
        (
            &st,
            ["--gamma-a", "--gamma-w", "--add-noise", "--mult-noise"],
        ),
        (
            &npz,
            ["--gamma_A", "--gamma_W", "--add_noise", "--mult_noise"],
        ),
    ] {
        let out = dir.path().join("m.json");
        let o = std::process::Command::new(BIN)
            .args(["import", "noisyrnn", "--weights", w.to_str().unwrap()])
            .args([
                "--beta", "0.7", flags[0], "0.05", flags[1], "0.02", "--alpha", "0.5",
            ])
            .args([
                "--solver", "noisy", "--eps", "0.1", flags[2], "0.02", flags[3], "0.1",
            ])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(nrnn::model::Model::load(&out).unwrap(), want);
    }

    // Export and import again: the same forward pass (alpha folded into B and gamma_A).
    let model = dir.path().join("m.json");
    let back = dir.path().join("back.safetensors");
    let o = std::process::Command::new(BIN)
        .args(["export", "noisyrnn", "--model", model.to_str().unwrap()])
        .args(["--out", back.to_str().unwrap(), "--dtype", "f64"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rep: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rep["constructor"]["solver"], "noisy");
    let (tb, meta) = read_tensors(&back).unwrap();
    let hb = Hyper::default().with_metadata(&meta).unwrap();
    let (again, _) = noisyrnn::import(&tb, &hb).unwrap();
    let x = inputs(5);
    let batch = dataset(&x).all();
    let d = (want.logits(&batch, NoiseSource::Off) - again.logits(&batch, NoiseSource::Off)).amax();
    assert!(d < 1e-12, "{d}");
    assert_eq!(again.config.noise, want.config.noise);

    // A wrong file is refused with its path.
    std::fs::write(
        dir.path().join("bad.safetensors"),
        b"not a safetensors file",
    )
    .unwrap();
    let o = std::process::Command::new(BIN)
        .args(["import", "noisyrnn", "--weights"])
        .arg(dir.path().join("bad.safetensors"))
        .args(["--out", dir.path().join("x.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("bad.safetensors"));
}

"""The Python package against the command line, and the NoisyRNN importer against a NumPy
re-implementation of the authors' forward pass.

The CLI binary is ``$NRNN_BIN`` (set by ``.ci/run``), else ``target/debug/nrnn`` or
``target/release/nrnn`` of the repository, else ``nrnn`` on ``PATH``.
"""

import json
import os
import pathlib
import shutil
import subprocess
import warnings

import numpy as np
import pytest

import nrnn

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _bin():
    for cand in [
        os.environ.get("NRNN_BIN"),
        ROOT / "target" / "debug" / "nrnn",
        ROOT / "target" / "release" / "nrnn",
        shutil.which("nrnn"),
    ]:
        if cand and pathlib.Path(cand).is_file():
            return str(cand)
    pytest.fail("no nrnn binary: build it with `cargo build` or set NRNN_BIN")


def cli(*args, ok=True):
    p = subprocess.run([_bin(), *map(str, args)], capture_output=True, text=True)
    if ok:
        assert p.returncode == 0, p.stderr
        return p.stdout
    assert p.returncode != 0
    return p.stderr


def cli_json(*args):
    return plain(json.loads(cli(*args, "--json")))


def timing(key):
    """A field that measures wall-clock time (differs from run to run)."""
    return key in ("timing", "created", "threads") or "seconds" in key


def plain(v):
    """Arrays back to lists, to compare with the CLI's JSON; wall-clock timings dropped."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, dict):
        return {k: plain(e) for k, e in v.items() if not timing(k)}
    if isinstance(v, list):
        return [plain(e) for e in v]
    return v


N, P, C, STEPS, EXAMPLES = 5, 2, 3, 6, 8


def model_json(seed, noise=("diag", 0.1, 1.0, 0.5)):
    rng = np.random.default_rng(seed)
    mat = lambda r, c, s: (s * rng.standard_normal((r, c))).tolist()
    form, eps, s1, s2 = noise
    return {
        "format": "nrnn-model/1", "hidden": N, "input": P, "classes": C,
        "beta": 0.75, "gamma_a": 0.01, "gamma_w": 0.01, "dt": 0.2, "activation": "tanh",
        "m_a": mat(N, N, 0.3), "m_w": mat(N, N, 0.3), "u": mat(N, P, 0.7),
        "b": (0.1 * rng.standard_normal(N)).tolist(), "v": mat(C, N, 0.5),
        "c": (0.1 * rng.standard_normal(C)).tolist(),
        "noise": {"form": form, "eps": eps, "sigma1": s1, "sigma2": s2},
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixture")
    rng = np.random.default_rng(3)
    x = rng.standard_normal((EXAMPLES, STEPS, P))
    y = rng.integers(0, C, EXAMPLES)
    model = d / "model.json"
    model.write_text(json.dumps(model_json(1)))
    np.savez(d / "inputs.npz", x=x, y=y)
    np.save(d / "x.npy", x.astype(np.float32))
    np.save(d / "y.npy", y.astype(np.int32))
    return {"dir": d, "model": model, "npz": d / "inputs.npz", "x": x, "y": y,
            "xnpy": d / "x.npy", "ynpy": d / "y.npy"}


COMMANDS = [
    ("eval", {"grad": True}, True),
    ("regularizer", {"paths": 20, "eps": [0.1, 0.05], "seed": 2}, True),
    ("stability", {"steps": 300, "transient": 30, "paths": 2, "seed": 1}, False),
    ("lyapunov", {"steps": 300, "transient": 30, "paths": 2, "spectrum": 2}, False),
    ("hessian", {"top_k": 2, "trace_probes": 4, "lanczos_steps": 15, "seed": 1}, True),
    ("margin", {"max_steps": 10}, True),
]


@pytest.mark.parametrize("name,flags,labelled", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_functions_return_the_cli_json(files, name, flags, labelled):
    args = []
    for k, v in flags.items():
        f = "--" + k.replace("_", "-")
        args += [f] if v is True else [f, ",".join(map(str, v)) if isinstance(v, list) else v]
    want = cli_json(name, "--model", files["model"], "--inputs", files["npz"], *args)
    fn = getattr(nrnn, name)
    # Same files: the same JSON, numbers and all.
    got = fn(str(files["model"]), str(files["npz"]), **flags)
    assert plain(got) == want
    # Arrays and a model object: the same numbers (only the file names differ).
    model = nrnn.load_model(files["model"])
    kw = dict(flags)
    if labelled:
        got = fn(model, files["x"], files["y"], **kw)
    else:
        got = fn(model, files["x"], **kw)
    got, w = plain(got), dict(want)
    for k in ("model", "inputs", "input"):
        got.pop(k, None)
        w.pop(k, None)
    assert got == w


def test_eval_arrays_are_numpy_and_npy_labels_work(files):
    r = nrnn.eval(files["model"], str(files["xnpy"]), str(files["ynpy"]))
    assert isinstance(r["logits"], np.ndarray) and r["logits"].shape == (EXAMPLES, C)
    want = cli_json("eval", "--model", files["model"], "--inputs", files["xnpy"],
                    "--labels", files["ynpy"])
    assert plain(r) == want


def test_errors_are_value_errors_with_the_cli_message(files, tmp_path):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 3)))
    msg = cli("eval", "--model", files["model"], "--inputs", bad, ok=False)
    with pytest.raises(ValueError) as e:
        nrnn.eval(str(files["model"]), str(bad))
    assert msg.strip() == "error: " + str(e.value)
    assert "expected 3 axes" in str(e.value)
    with pytest.raises(ValueError, match="fortran_order"):
        np.save(bad, np.asfortranarray(np.zeros((2, 3, 2))))
        nrnn.eval(str(files["model"]), str(bad))
    with pytest.raises(ValueError, match="integer dtype"):
        nrnn.eval(files["model"], files["x"], files["x"][:, 0, 0])
    with pytest.raises(ValueError, match="hidden"):
        nrnn.Model.from_json('{"format": "nrnn-model/1", "hidden": 0}')


def test_model_load_save_round_trip(files, tmp_path):
    m = nrnn.load_model(files["model"])
    assert (m.hidden, m.input, m.classes) == (N, P, C)
    m.save(tmp_path / "m.json")
    assert json.loads(nrnn.load_model(tmp_path / "m.json").to_json()) == json.loads(m.to_json())


def test_train_matches_the_cli(tmp_path):
    flags = dict(data="digits", examples=60, val_count=10, test_count=10, hidden=4,
                 epochs=1, batch=16, seed=5)
    args = []
    for k, v in flags.items():
        args += ["--" + k.replace("_", "-"), v]
    want = cli_json("train", "--out", tmp_path / "cli", *args)
    manifest, model = nrnn.train(out=tmp_path / "py", **flags)
    for k in ("created", "wall_seconds", "command", "threads"):
        want.pop(k, None)
        manifest.pop(k, None)
    assert plain(manifest) == want
    assert model.to_json() == nrnn.load_model(tmp_path / "cli" / "model.json").to_json()


# --- The importer against the authors' forward pass (their models.py update rule). -------


def their_forward(sd, hp, x, add=None, u=None):
    """Their NoisyRNN.forward in NumPy, row vectors (h @ A); add/u: their noise draws."""
    beta, I = hp["beta"], np.eye(sd["B"].shape[0])
    B, Cm = sd["B"], sd["C"]
    A = beta * (B - B.T) + (1 - beta) * (B + B.T) - hp["gamma_A"] * I
    W = beta * (Cm - Cm.T) + (1 - beta) * (Cm + Cm.T) - hp["gamma_W"] * I
    h = np.zeros((x.shape[0], B.shape[0]))
    for i in range(x.shape[1]):
        z = x[:, i, :] @ sd["E.weight"].T + sd["E.bias"]
        upd = hp["alpha"] * h @ A + np.tanh(h @ W + z)
        if hp["solver"] == "base":
            h = h + hp["eps"] * upd
        else:
            mult = 1.0 if u is None else hp["mult_noise"] * u[i] + (1 - hp["mult_noise"])
            h = h + sd["d"] * mult * upd + (0.0 if add is None else hp["add_noise"] * add[i])
    return h @ sd["D.weight"].T + sd["D.bias"]


def their_state_dict(seed, n=7, p=3, c=4):
    rng = np.random.default_rng(seed)
    return {
        "E.weight": rng.uniform(-0.8, 0.8, (n, p)), "E.bias": rng.uniform(-0.3, 0.3, n),
        "D.weight": rng.uniform(-0.5, 0.5, (c, n)), "D.bias": rng.uniform(-0.2, 0.2, c),
        "B": rng.normal(0, 0.4, (n, n)), "C": rng.normal(0, 0.4, (n, n)),
        "d": 0.1 + rng.uniform(0, 0.05, n),
    }


CASES = [
    ("base", 1.0), ("noisy", 1.0), ("base", 0.35), ("noisy", 0.35), ("noisy", 0.0),
]


@pytest.mark.parametrize("solver,alpha", CASES)
def test_importer_matches_their_forward_pass(solver, alpha):
    sd = their_state_dict(10 + CASES.index((solver, alpha)))
    hp = dict(beta=0.6, gamma_A=0.03, gamma_W=0.02, alpha=alpha, solver=solver, eps=0.1,
              add_noise=0.0, mult_noise=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = nrnn.import_noisyrnn(sd, **hp)
    x = np.random.default_rng(1).standard_normal((9, 12, 3))
    ours = nrnn.eval(model, x)["logits"]
    diff = np.abs(ours - their_forward(sd, hp, x)).max()
    print(f"{solver} alpha={alpha}: max |logit difference| {diff:.3e}")
    assert diff <= 1e-12


def test_importer_file_paths_and_export(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    sd = their_state_dict(4)
    hp = dict(beta=0.7, gamma_A=0.01, gamma_W=0.02, alpha=1.0, solver="noisy", eps=0.1,
              add_noise=0.05, mult_noise=0.2)
    st.save_file(sd, str(tmp_path / "w.safetensors"))
    nrnn.run("import", "noisyrnn", "--weights", tmp_path / "w.safetensors", "--beta", 0.7,
             "--gamma_A", 0.01, "--gamma_W", 0.02, "--solver", "noisy", "--eps", 0.1,
             "--add_noise", 0.05, "--mult_noise", 0.2, "--out", tmp_path / "m.json")
    direct = nrnn.import_noisyrnn(sd, **hp)
    assert nrnn.load_model(tmp_path / "m.json").to_json() == direct.to_json()
    arrays, hyper = nrnn.export_noisyrnn(direct, tmp_path / "back.safetensors", dtype="f64")
    for k, v in sd.items():
        np.testing.assert_array_equal(arrays[k], v)
    back = st.load_file(str(tmp_path / "back.safetensors"))
    for k, v in sd.items():
        np.testing.assert_array_equal(back[k], v)
    assert hyper["solver"] == "noisy" and abs(hyper["add_noise"] - 0.05) < 1e-15
    with pytest.raises(ValueError, match="D.bias"):
        nrnn.import_noisyrnn({k: v for k, v in sd.items() if k != "D.bias"})

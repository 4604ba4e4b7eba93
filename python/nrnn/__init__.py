"""nrnn: noisy recurrent neural networks, from Python.

A thin layer over the Rust library ``nrnn`` (the one implementation): each function named
after a command (``eval``, ``regularizer``, ``stability``, ``lyapunov``, ``hessian``,
``margin``, ``train``) runs that command in this process with ``--json`` and returns its
JSON report as a dict, with numeric lists (vectors, matrices) as NumPy arrays. Keyword
arguments are the command's flags (``top_k=5`` is ``--top-k 5``; ``True`` sets a switch).
NumPy inputs ``x`` are ``examples x steps x input`` (float32 or float64) with integer
``labels``, handed to the command as an ``.npz`` file. Errors raise ``ValueError`` with the
command's message.
"""

import json
import os
import tempfile
import warnings

import numpy as np

from ._native import Model, __version__, load_model
from ._native import export_noisyrnn as _export_noisyrnn
from ._native import import_noisyrnn as _import_noisyrnn
from ._native import run as _run

__all__ = [
    "Model",
    "load_model",
    "import_noisyrnn",
    "export_noisyrnn",
    "eval",
    "regularizer",
    "stability",
    "lyapunov",
    "hessian",
    "margin",
    "train",
    "run",
    "__version__",
]


def run(*args):
    """Run ``nrnn ARGS...`` in this process; return what it printed (a string)."""
    return _run([os.fspath(a) if isinstance(a, os.PathLike) else str(a) for a in args])


def _numeric_array(v):
    """A NumPy array for a list of numbers or a rectangular list of such lists, else None."""
    if not isinstance(v, list) or not v:
        return None
    if all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v):
        return np.asarray(v, dtype=np.float64)
    if all(isinstance(e, list) for e in v):
        rows = [_numeric_array(e) for e in v]
        if all(r is not None and r.ndim == 1 for r in rows) and len({r.shape for r in rows}) == 1:
            return np.stack(rows)
    return None


def _arrays(v):
    """The JSON value ``v`` with numeric lists as NumPy arrays."""
    a = _numeric_array(v)
    if a is not None:
        return a
    if isinstance(v, dict):
        return {k: _arrays(e) for k, e in v.items()}
    if isinstance(v, list):
        return [_arrays(e) for e in v]
    return v


def _flags(kwargs):
    out = []
    for k, v in kwargs.items():
        flag = "--" + k.replace("_", "-")
        if v is None or v is False:
            continue
        if v is True:
            out.append(flag)
        elif isinstance(v, (list, tuple)):
            out += [flag, ",".join(str(e) for e in v)]
        else:
            out += [flag, os.fspath(v) if isinstance(v, os.PathLike) else str(v)]
    return out


def _model_file(model, tmp):
    if isinstance(model, Model):
        path = os.path.join(tmp, "model.json")
        model.save(path)
        return path
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model)
    raise TypeError("model: expected an nrnn.Model or a path to an nrnn-model/1 file")


def _source(x, labels, data, tmp):
    """The flags naming the inputs: an array (written as .npz), a path, or a data set name."""
    if x is None:
        if labels is not None:
            raise ValueError("labels given without inputs x")
        return ["--data", data] if data is not None else []
    if data is not None:
        raise ValueError("give inputs x or a data set name data, not both")
    if isinstance(x, (str, os.PathLike)):
        flags = ["--inputs", os.fspath(x)]
        if labels is not None:
            flags += ["--labels", os.fspath(labels)]
        return flags
    path = os.path.join(tmp, "inputs.npz")
    arrays = {"x": np.ascontiguousarray(x)}
    if labels is not None:
        arrays["y"] = np.ascontiguousarray(labels)
    np.savez(path, **arrays)
    return ["--inputs", path]


def _command(name, model, x=None, labels=None, data=None, model_flag="--model", **kwargs):
    with tempfile.TemporaryDirectory(prefix="nrnn-") as tmp:
        args = [name]
        if model is not None:
            args += [model_flag, _model_file(model, tmp)]
        args += _source(x, labels, data, tmp)
        args += _flags(kwargs) + ["--json"]
        out = json.loads(_run(args))
        if isinstance(model, Model) and "model" in out:
            out["model"] = None  # the temporary file the object was written to
        return _arrays(out)


def eval(model, x=None, labels=None, grad=False, data=None, **flags):
    """``nrnn eval``: loss, accuracy and logits (noise off); the gradient with grad=True."""
    return _command("eval", model, x, labels, data, grad=grad, **flags)


def regularizer(model, x=None, labels=None, data=None, **flags):
    """``nrnn regularizer``: the explicit regularizer (Q + R)/2 against Monte Carlo."""
    return _command("regularizer", model, x, labels, data, **flags)


def stability(model, x=None, **flags):
    """``nrnn stability``: stability conditions and Lyapunov exponents (first example of x)."""
    return _command("stability", model, x, **flags)


def lyapunov(model, x=None, **flags):
    """``nrnn lyapunov``: the Lyapunov spectrum of the hidden dynamics (first example of x)."""
    return _command("lyapunov", model, x, **flags)


def hessian(model, x=None, labels=None, data=None, **flags):
    """``nrnn hessian``: Hessian spectrum and trace of the loss on labelled inputs."""
    return _command("hessian", model, x, labels, data, **flags)


def margin(model, x=None, labels=None, data=None, **flags):
    """``nrnn margin``: classification margins, their lower bound and attack radii."""
    return _command("margin", model, x, labels, data, **flags)


def train(out=None, **flags):
    """``nrnn train`` on a named data set (``data="digits"``, ...) or a ``config`` file.

    Returns the run's manifest (the command's JSON) and the trained model:
    ``(manifest, model)``. Without ``out`` the run folder is a temporary one, removed
    afterwards.
    """
    with tempfile.TemporaryDirectory(prefix="nrnn-train-") as tmp:
        folder = os.fspath(out) if out is not None else os.path.join(tmp, "run")
        args = ["train", "--out", folder] + _flags(flags) + ["--json"]
        manifest = _arrays(json.loads(_run(args)))
        return manifest, load_model(os.path.join(folder, "model.json"))


def _as_float64(name, v):
    if hasattr(v, "detach"):  # a torch tensor
        v = v.detach().cpu().double().numpy()
    a = np.ascontiguousarray(np.asarray(v, dtype=np.float64))
    return a


def import_noisyrnn(
    state_dict,
    beta=0.75,
    gamma_A=0.001,
    gamma_W=0.001,
    alpha=1.0,
    solver="noisy",
    eps=0.1,
    add_noise=0.0,
    mult_noise=0.0,
    **aliases,
):
    """An ``nrnn.Model`` from the authors' NoisyRNN ``state_dict`` (torch tensors or arrays).

    The hyper-parameters are their ``driver.py`` arguments, with its defaults;
    ``gamma_a``/``gamma_w`` are accepted for ``gamma_A``/``gamma_W``. The importer's notes
    (alpha folded into A, a noise level their base solver ignores) are issued as warnings.
    """
    for k, v in aliases.items():
        if k == "gamma_a":
            gamma_A = v
        elif k == "gamma_w":
            gamma_W = v
        else:
            raise TypeError(f"import_noisyrnn() got an unexpected keyword argument {k!r}")
    arrays = {str(k): _as_float64(k, v) for k, v in dict(state_dict).items()}
    model, notes = _import_noisyrnn(
        arrays,
        float(beta),
        float(gamma_A),
        float(gamma_W),
        float(alpha),
        str(solver),
        float(eps),
        float(add_noise),
        float(mult_noise),
    )
    for n in notes:
        warnings.warn(n, stacklevel=2)
    return model


def export_noisyrnn(model, path=None, dtype="f32"):
    """The authors' ``state_dict`` (float64 arrays) and constructor arguments of a model.

    With ``path`` also writes it as safetensors (``nrnn export noisyrnn``; ``dtype`` f32 or
    f64), loadable with ``model.load_state_dict(safetensors.torch.load_file(path))``.
    """
    if isinstance(model, (str, os.PathLike)):
        model = load_model(model)
    arrays, hyper = _export_noisyrnn(model)
    if path is not None:
        with tempfile.TemporaryDirectory(prefix="nrnn-") as tmp:
            m = _model_file(model, tmp)
            _run(["export", "noisyrnn", "--model", m, "--out", os.fspath(path), "--dtype", dtype])
    return arrays, hyper

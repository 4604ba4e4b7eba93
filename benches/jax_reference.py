"""Plain JAX (CPU, f64) version of the `nrnn bench train` workload, the peer of
`benches/pytorch_reference.py` with the same shapes, the same step and the same output.

    python3 benches/jax_reference.py [train] [--steps 196] [--hidden 128] [--batch 128]
                                     [--threads 2] [--iters 5]

Measured with jax 0.10.2 and jaxlib 0.10.2 (`pip install "jax[cpu]==0.10.2"`); nothing in
the crate imports or runs it. It prints one JSON line with the median and minimum seconds
of one training step over the timed iterations (after one warm-up, which also compiles),
in the shape of `nrnn bench train --json`.

The step is the Rust benchmark's: Lipschitz-RNN drift, diag noise (eps = 0.1,
sigma1 = sigma2 = 1, dt = 0.1), 1-dim input, 10 classes, cross-entropy of the last state's
logits; the forward pass is one `lax.scan` over the steps with fresh standard normals per
step, backpropagation through time is `jax.value_and_grad` of it, then one Adam step
(lr 1e-3), all in one `jax.jit`. The random values differ from the crate's, which does not
matter for the timing. `--threads` sets XLA's CPU thread pool through `XLA_FLAGS`
(`--xla_cpu_multi_thread_eigen`, `intra_op_parallelism_threads`) and pins the process to
that many cores where the OS allows it.
"""

import argparse
import json
import math
import os
import statistics
import sys
import time

EPS, SIGMA1, SIGMA2, DT, CLASSES = 0.1, 1.0, 1.0, 0.1, 10
BETA, GAMMA, LR = 0.75, 0.001, 1e-3


def set_threads(threads):
    """Before jax is imported: XLA's CPU threads and the process's cores."""
    flags = os.environ.get("XLA_FLAGS", "")
    os.environ["XLA_FLAGS"] = (
        f"{flags} --xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'} "
        f"intra_op_parallelism_threads={threads}"
    ).strip()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if hasattr(os, "sched_setaffinity"):
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cores[:threads])


def build(jax, jnp, hidden, steps, batch):
    """Parameters (the crate's initialization), data and the jitted training step."""
    key = jax.random.PRNGKey(0)
    k = jax.random.split(key, 9)
    sd, bv = 0.1 / hidden, 1.0 / math.sqrt(hidden)

    def unif(kk, shape, bound):
        return jax.random.uniform(kk, shape, jnp.float64, -bound, bound)

    params = {
        "m_a": jax.random.normal(k[0], (hidden, hidden), jnp.float64) * sd,
        "m_w": jax.random.normal(k[1], (hidden, hidden), jnp.float64) * sd,
        "u": unif(k[2], (hidden, 1), 1.0),
        "b": unif(k[3], (hidden,), 1.0),
        "v": unif(k[4], (CLASSES, hidden), bv),
        "c": unif(k[5], (CLASSES,), bv),
    }
    x = jax.random.uniform(k[6], (steps, batch, 1), jnp.float64)
    y = jax.random.randint(k[7], (batch,), 0, CLASSES)
    eye = jnp.eye(hidden, dtype=jnp.float64)
    scale = EPS * math.sqrt(DT)

    def lipschitz(m):
        return (1 - BETA) * (m + m.T) + BETA * (m - m.T) - GAMMA * eye

    def loss_fn(p, noise_key):
        a, w = lipschitz(p["m_a"]), lipschitz(p["m_w"])
        keys = jax.random.split(noise_key, steps)

        def step(h, inp):
            xk, kk = inp
            z = h @ w.T + xk @ p["u"].T + p["b"]
            f = h @ a.T + jnp.tanh(z)
            xi = jax.random.normal(kk, h.shape, jnp.float64)
            return h + DT * f + scale * (SIGMA1 + SIGMA2 * h) * xi, None

        h0 = jnp.zeros((batch, hidden), jnp.float64)
        h, _ = jax.lax.scan(step, h0, (x, keys))
        logits = h @ p["v"].T + p["c"]
        logp = jax.nn.log_softmax(logits, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    b1, b2, eps_adam = 0.9, 0.999, 1e-8

    @jax.jit
    def train_step(p, m, v, t, noise_key):
        loss, g = jax.value_and_grad(loss_fn)(p, noise_key)
        t = t + 1
        m = jax.tree_util.tree_map(lambda mm, gg: b1 * mm + (1 - b1) * gg, m, g)
        v = jax.tree_util.tree_map(lambda vv, gg: b2 * vv + (1 - b2) * gg * gg, v, g)
        mhat = 1 - b1**t
        vhat = 1 - b2**t
        p = jax.tree_util.tree_map(
            lambda pp, mm, vv: pp - LR * (mm / mhat) / (jnp.sqrt(vv / vhat) + eps_adam), p, m, v
        )
        return p, m, v, t, loss

    return params, train_step, k[8]


def bench_train(hidden, steps, batch, iters):
    import jax
    import jax.numpy as jnp

    params, train_step, key = build(jax, jnp, hidden, steps, batch)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, zeros, jnp.float64(0.0)]
    out = {}

    def run():
        nonlocal key
        key, sub = jax.random.split(key)
        p, m, v, t, loss = train_step(*state, sub)
        loss.block_until_ready()
        state[:] = [p, m, v, t]
        out["loss"] = float(loss)

    run()  # warm-up and compilation
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    med, low = statistics.median(times), min(times)
    return {"bench": "train", "impl": "jax", "seconds_per_iter": med, "median_seconds": med,
            "min_seconds": low, "hidden": hidden, "steps": steps, "batch": batch,
            "loss": out["loss"], "jax": jax.__version__,
            "devices": [str(d) for d in jax.devices()]}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("which", nargs="?", default="train", choices=["train"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--steps", type=int, default=196)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--batch", type=int, default=128)
    a = p.parse_args()
    set_threads(a.threads)
    import jax

    jax.config.update("jax_enable_x64", True)
    r = bench_train(a.hidden, a.steps, a.batch, a.iters)
    r.update({"threads": a.threads})
    print(json.dumps(r))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""Plain PyTorch (CPU, f64) versions of the two `nrnn bench` workloads, the reference that
the speed goals of the core engine are stated against ("at least 5x faster than PyTorch").

    python3 benches/pytorch_reference.py [mc|train|both] [--threads 2] [--iters 5]
                                         [--steps 196] [--hidden 128] [--batch 128]

It needs `torch` (measured with torch 2.15.0 from PyPI, `pip install torch==2.15.0`; its
CPU code is used, no GPU); nothing in the crate imports or runs it. It prints
one JSON line per workload with the median and minimum seconds over the timed iterations
(one warm-up first), in the shape of `nrnn bench ... --json`. Same shapes and model as the
Rust benchmarks (Lipschitz-RNN drift, diag noise eps = 0.1, sigma1 = sigma2 = 1, dt = 0.1,
1-dim input, 10 classes); the random values differ, which does not matter for the timing.

- mc: 20000 noisy paths x 200 steps, hidden 16, no gradient; ends with the mean final
  cross-entropy.
- train: one training step at hidden 128, 196 steps, batch 128 (`--steps`, `--hidden`,
  `--batch` change them): noisy forward pass, backpropagation through time by autograd,
  one Adam step. Its peer in JAX is `benches/jax_reference.py`.
"""

import argparse
import json
import math
import statistics
import time

import torch

EPS, SIGMA1, SIGMA2, DT, CLASSES = 0.1, 1.0, 1.0, 0.1, 10


class Lipschitz(torch.nn.Module):
    """h' = h + dt (A h + tanh(W h + U x + b)) + eps sqrt(dt) (sigma1 + sigma2 h) xi, with
    A = (1 - beta)(M_A + M_A^T) + beta (M_A - M_A^T) - gamma I and W likewise from M_W
    (beta = 0.75, gamma = 0.001, the crate's defaults); logits V h_K + c."""

    def __init__(self, hidden, beta=0.75, gamma=0.001):
        super().__init__()
        # The crate's initialization (Model::init): M ~ N(0, (0.1/n)^2), U, b ~ U(-1, 1)
        # (one input), V, c ~ U(-1/sqrt(n), 1/sqrt(n)).
        def unif(*shape, bound):
            return torch.nn.Parameter((2 * torch.rand(*shape) - 1) * bound)

        sd, bv = 0.1 / hidden, 1.0 / math.sqrt(hidden)
        self.m_a = torch.nn.Parameter(torch.randn(hidden, hidden) * sd)
        self.m_w = torch.nn.Parameter(torch.randn(hidden, hidden) * sd)
        self.u = unif(hidden, 1, bound=1.0)
        self.b = unif(hidden, bound=1.0)
        self.v = unif(CLASSES, hidden, bound=bv)
        self.c = unif(CLASSES, bound=bv)
        self.beta, self.gamma = beta, gamma

    def mats(self):
        eye = torch.eye(self.m_a.shape[0])

        def build(m):
            return (1 - self.beta) * (m + m.T) + self.beta * (m - m.T) - self.gamma * eye

        return build(self.m_a), build(self.m_w)

    def forward(self, x):
        # x: steps x batch x 1
        a, w = self.mats()
        steps, batch, _ = x.shape
        h = torch.zeros(batch, a.shape[0])
        scale = EPS * math.sqrt(DT)
        for k in range(steps):
            z = h @ w.T + x[k] @ self.u.T + self.b
            f = h @ a.T + torch.tanh(z)
            xi = torch.randn_like(h)
            h = h + DT * f + scale * (SIGMA1 + SIGMA2 * h) * xi
        return h @ self.v.T + self.c


def timed(fn, iters):
    fn()  # warm-up
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def bench_mc(iters):
    hidden, steps, paths = 16, 200, 20000
    model = Lipschitz(hidden)
    x = torch.rand(steps, paths, 1)
    y = torch.randint(0, CLASSES, (paths,))
    out = {}

    def run():
        with torch.no_grad():
            out["ce"] = torch.nn.functional.cross_entropy(model(x), y).item()

    med, low = timed(run, iters)
    return {"bench": "mc", "impl": "pytorch", "median_seconds": med, "min_seconds": low,
            "hidden": hidden, "steps": steps, "paths": paths, "mean_cross_entropy": out["ce"]}


def bench_train(iters, hidden=128, steps=196, batch=128):
    model = Lipschitz(hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(steps, batch, 1)
    y = torch.randint(0, CLASSES, (batch,))

    def run():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    med, low = timed(run, iters)
    return {"bench": "train", "impl": "pytorch", "seconds_per_iter": med, "median_seconds": med,
            "min_seconds": low, "hidden": hidden, "steps": steps, "batch": batch}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("which", nargs="?", default="both", choices=["mc", "train", "both"])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--steps", type=int, default=196, help="train: sequence length")
    p.add_argument("--hidden", type=int, default=128, help="train: hidden units")
    p.add_argument("--batch", type=int, default=128, help="train: batch size")
    a = p.parse_args()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    runs = [("mc", lambda: bench_mc(a.iters)),
            ("train", lambda: bench_train(a.iters, a.hidden, a.steps, a.batch))]
    for name, fn in runs:
        if a.which in (name, "both"):
            r = fn()
            r.update({"threads": torch.get_num_threads(), "torch": torch.__version__})
            print(json.dumps(r))


if __name__ == "__main__":
    main()

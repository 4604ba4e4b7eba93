//! The batched forward pass: the one loop over time steps of the network.
//!
//! For a batch of B examples, the hidden states form an `n x B` matrix, so each step is
//! one matrix product `[A; W] H_k` (`2n x n` times `n x B`) plus elementwise work:
//!
//! ```text
//! z_k = W h_k + U x_k + b,   f_k = A h_k + a(z_k)
//! diag:   h_{k+1} = h_k + d f_k + eps sqrt(d) (sigma1 + sigma2 h_k) xi_k
//! scalar: h_{k+1} = h_k + d f_k + eps sqrt(d) (sigma1 xi_k + sigma2 h_k zeta_k)
//! code:   h_{k+1} = h_k + d (1 - s_mult u_k) f_k + s_add xi_k
//! ```

use super::{ModelConfig, NoiseDraw, NoiseForm, Params};
use crate::linalg::{gemm, Real};
use nalgebra::DMatrix;

/// What the forward pass records for backpropagation.
#[derive(Clone, Debug)]
pub struct Tape<T: Real> {
    /// Steps K.
    pub steps: usize,
    /// Batch size B.
    pub size: usize,
    /// Hidden states `h_0 .. h_K`, `n x ((K + 1) B)`, step-major (empty unless kept).
    pub h: DMatrix<T>,
    /// Activations `a(z_k)`, `n x (K B)` (empty unless kept).
    pub act: DMatrix<T>,
    /// Drift values `f_k`, `n x (K B)`, kept only when the step is learnable.
    pub f: Option<DMatrix<T>>,
    /// Final states `h_K`, `n x B`.
    pub h_final: DMatrix<T>,
    /// Logits `V h_K + c`, `classes x B`.
    pub logits: DMatrix<T>,
}

/// `[A; W]` stacked (`2n x n`), or `W` alone without the `A h` term, and the row offset of W.
pub(crate) fn stacked_recurrence<T: Real>(cfg: &ModelConfig, p: &Params<T>) -> (DMatrix<T>, usize) {
    let n = cfg.hidden;
    let w = p.w_matrix(cfg);
    if cfg.a_term {
        let mut s = DMatrix::zeros(2 * n, n);
        s.rows_mut(0, n).copy_from(&p.a_matrix(cfg));
        s.rows_mut(n, n).copy_from(&w);
        (s, n)
    } else {
        (w, 0)
    }
}

/// Noise constants per unit: `eps sqrt(d_i)` for `diag`/`scalar`; for `code`, `s_add`, `s_mult`.
pub(crate) struct NoiseConsts<T> {
    pub form: NoiseForm,
    pub on: bool,
    pub eps: T,
    pub s1: T,
    pub s2: T,
    pub sq: Vec<T>,
}

impl<T: Real> NoiseConsts<T> {
    pub fn new(cfg: &ModelConfig, p: &Params<T>, on: bool) -> Self {
        let nz = cfg.noise;
        let eps = T::of(nz.eps);
        let (s1, s2) = match nz.form {
            NoiseForm::Code => (T::of(nz.eps * nz.sigma1), T::of(nz.eps * nz.sigma2)),
            _ => (T::of(nz.sigma1), T::of(nz.sigma2)),
        };
        let sq = p.dt.iter().map(|&d| eps * d.sqrt()).collect();
        NoiseConsts {
            form: nz.form,
            on: on && !nz.is_off(),
            eps,
            s1,
            s2,
            sq,
        }
    }
}

/// Run the network on a batch: `x` is `p x (steps * size)` (step-major batch layout),
/// `noise` the standard draws (`None`: deterministic), `h0` the initial state (`None`: 0).
/// With `keep`, the tape holds every state for [`super::backward`]; without, only `h_K`.
///
/// ```
/// use nrnn::model::{forward, Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 5 * 2, 0.5); // 5 steps, 2 examples
/// let t = forward(&m.config, &m.params, &x, 5, 2, None, None, false);
/// assert_eq!(t.logits.shape(), (2, 2));
/// ```
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Real>(
    cfg: &ModelConfig,
    p: &Params<T>,
    x: &DMatrix<f64>,
    steps: usize,
    size: usize,
    noise: Option<&NoiseDraw>,
    h0: Option<&DMatrix<T>>,
    keep: bool,
) -> Tape<T> {
    let n = cfg.hidden;
    let b = size;
    let kb = steps * b;
    assert_eq!(x.shape(), (cfg.input, kb), "forward: input shape");
    if let Some(d) = noise {
        d.check(cfg.noise.form, n, steps, size)
            .expect("forward: noise draw shape");
    }
    let (stacked, woff) = stacked_recurrence(cfg, p);
    let rows = stacked.nrows();
    let xt: DMatrix<T> = x.map(T::of);
    let mut drive = DMatrix::zeros(n, kb);
    gemm(T::one(), &p.u, false, &xt, false, T::zero(), &mut drive);
    for mut col in drive.column_iter_mut() {
        col += &p.b;
    }
    let nc = NoiseConsts::new(cfg, p, noise.is_some());
    let act_fn = cfg.activation;
    let learn_dt = cfg.learn_dt && keep;
    let mut h_all = if keep {
        DMatrix::zeros(n, kb + b)
    } else {
        DMatrix::zeros(0, 0)
    };
    let mut act = if keep {
        DMatrix::zeros(n, kb)
    } else {
        DMatrix::zeros(0, 0)
    };
    let mut fs = if learn_dt {
        Some(DMatrix::zeros(n, kb))
    } else {
        None
    };
    let mut cur = match h0 {
        Some(h) => h.clone(),
        None => DMatrix::zeros(n, b),
    };
    if keep {
        h_all.columns_mut(0, b).copy_from(&cur);
    }
    let mut y = DMatrix::zeros(rows, b);
    let mut next = DMatrix::zeros(n, b);
    // Slices re-cut to length n so the compiler drops bounds checks and vectorizes.
    let dt = &p.dt.as_slice()[..n];
    let sq = &nc.sq[..n];
    let mut zbuf = vec![T::zero(); n];
    let mut abuf = vec![T::zero(); n];
    let mut fbuf = vec![T::zero(); n];
    let (xis, auxs): (&[f64], &[f64]) = match noise {
        Some(d) if nc.on => (d.xi.as_slice(), d.aux.as_slice()),
        _ => (&[], &[]),
    };
    for k in 0..steps {
        gemm(T::one(), &stacked, false, &cur, false, T::zero(), &mut y);
        let ys = y.as_slice();
        let ds = drive.as_slice();
        let hs = cur.as_slice();
        let out = next.as_mut_slice();
        for j in 0..b {
            let col = k * b + j;
            let yj = &ys[j * rows..(j + 1) * rows];
            let dcol = &ds[col * n..(col + 1) * n];
            let h = &hs[j * n..(j + 1) * n];
            let o = &mut out[j * n..(j + 1) * n];
            let yw = &yj[woff..woff + n];
            for ((z, &a), &d) in zbuf.iter_mut().zip(yw).zip(dcol) {
                *z = a + d;
            }
            act_fn.eval_slice(&zbuf, &mut abuf);
            if cfg.a_term {
                for ((f, &a), &v) in fbuf.iter_mut().zip(&yj[..n]).zip(&abuf) {
                    *f = a + v;
                }
            } else {
                fbuf.copy_from_slice(&abuf);
            }
            if !nc.on {
                for i in 0..n {
                    o[i] = h[i] + dt[i] * fbuf[i];
                }
            } else {
                let xi = &xis[col * n..(col + 1) * n];
                match nc.form {
                    NoiseForm::Diag => {
                        for i in 0..n {
                            o[i] = h[i]
                                + dt[i] * fbuf[i]
                                + sq[i] * (nc.s1 + nc.s2 * h[i]) * T::of(xi[i]);
                        }
                    }
                    NoiseForm::Scalar => {
                        let ze = T::of(auxs[col]);
                        for i in 0..n {
                            o[i] = h[i]
                                + dt[i] * fbuf[i]
                                + sq[i] * (nc.s1 * T::of(xi[i]) + nc.s2 * h[i] * ze);
                        }
                    }
                    NoiseForm::Code => {
                        let u = &auxs[col * n..(col + 1) * n];
                        for i in 0..n {
                            let m = T::one() - nc.s2 * T::of(u[i]);
                            o[i] = h[i] + dt[i] * m * fbuf[i] + nc.s1 * T::of(xi[i]);
                        }
                    }
                }
            }
            if keep {
                act.column_mut(col).copy_from_slice(&abuf);
                if let Some(fs) = fs.as_mut() {
                    fs.column_mut(col).copy_from_slice(&fbuf);
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
        if keep {
            h_all.columns_mut((k + 1) * b, b).copy_from(&cur);
        }
    }
    let mut logits = DMatrix::zeros(cfg.classes, b);
    gemm(T::one(), &p.v, false, &cur, false, T::zero(), &mut logits);
    for mut col in logits.column_iter_mut() {
        col += &p.c;
    }
    Tape {
        steps,
        size,
        h: h_all,
        act,
        f: fs,
        h_final: cur,
        logits,
    }
}

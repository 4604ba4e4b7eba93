//! Exact gradients by backpropagation through time, with the noise draw held fixed.
//!
//! With `G_{k+1} = dL/dh_{k+1}` and `P_k = d (.) m_k (.) G_{k+1}` (`m_k = 1` except for the
//! `code` form), `Gz_k = P_k (.) a'(z_k)`:
//!
//! ```text
//! G_k  = G_{k+1} + A^T P_k + W^T Gz_k + gain_k (.) G_{k+1}       (gain = dn/dh)
//! dL/dA = sum_k P_k h_k^T,  dL/dW = sum_k Gz_k h_k^T,  dL/dU = sum_k Gz_k x_k^T,  dL/db = sum_k Gz_k 1
//! dL/dM_A = (1-beta)(dA + dA^T) + beta (dA - dA^T)     (likewise M_W)
//! dL/dV = dL/do h_K^T,  dL/dc = dL/do 1,  dL/dx_k = U^T Gz_k
//! dL/dd_i = sum_k,b G_{k+1} (.) (m_k f_k + dn_k/dd)
//! ```
//! The noise factors `m`, `gain = dn/dh` and `dn/dd` of each form are
//! [`super::increment`]'s. The sums over k of `Gz_k` (`dL/dU`, `dL/db`, `dL/dx`) are taken
//! at the end as one product over the whole tape, in step order, from the stored `Gz`
//! (`n x K B`); `[dA; dW]` accumulates step by step. The loop over the steps is
//! `Sweep`, which a checkpointed pass ([`super::checkpoint`]) runs segment by segment.

use super::cell::Recurrence;
use super::increment::Increment;
use super::{lipschitz_matrix_adjoint, ModelConfig, NoiseDraw, NoiseForm, Params, Tape};
use crate::linalg::{gemm, Real};
use nalgebra::{DMatrix, DVector};

/// Gradients from one backward pass.
#[derive(Clone, Debug)]
pub struct Backward<T: Real> {
    /// Gradient in every parameter (the `dt` block is `dL/dd`, the step itself).
    pub grad: Params<T>,
    /// `dL/dx`, `p x (K B)` in the batch layout, when asked.
    pub dx: Option<DMatrix<T>>,
    /// `dL/dh_0`, `n x B`.
    pub dh0: DMatrix<T>,
}

fn row_sums<T: Real, S: nalgebra::Storage<T, nalgebra::Dyn, nalgebra::Dyn>>(
    m: &nalgebra::Matrix<T, nalgebra::Dyn, nalgebra::Dyn, S>,
) -> DVector<T> {
    let mut s = DVector::zeros(m.nrows());
    for col in m.column_iter() {
        s += col;
    }
    s
}

/// Backpropagate `dlogits = dL/d(logits)` (`classes x B`) through a kept tape of
/// [`super::forward`] run with the same parameters, inputs and noise draw.
///
/// ```
/// use nrnn::model::{backward, forward, Model, ModelConfig};
/// let m = Model::init(ModelConfig::new(3, 1, 2), 0.1, 1).unwrap();
/// let x = nalgebra::DMatrix::from_element(1, 4, 0.5);
/// let t = forward(&m.config, &m.params, &x, 4, 1, None, None, true);
/// let g = backward(&m.config, &m.params, &t, &x, None, &nalgebra::DMatrix::from_element(2, 1, 1.0), false);
/// assert_eq!(g.grad.v.shape(), (2, 3));
/// ```
pub fn backward<T: Real>(
    cfg: &ModelConfig,
    p: &Params<T>,
    tape: &Tape<T>,
    x: &DMatrix<f64>,
    noise: Option<&NoiseDraw>,
    dlogits: &DMatrix<T>,
    want_dx: bool,
) -> Backward<T> {
    let mut sweep = Sweep::new(cfg, p, &tape.h_final, dlogits, tape.steps, noise.is_some());
    sweep.sweep(tape, 0, noise);
    sweep.finish(x, want_dx)
}

/// The running state of one backward pass: the gradient `G` of the state reached, the
/// weight-gradient sums and the stored `Gz_k` of every step (`n x (K B)`), which the
/// input gradients `dL/dU = sum_k Gz_k x_k^T` and `dL/db` take at the end as one product
/// over the whole tape, in step order.
///
/// [`backward`] runs one sweep over a whole tape; a checkpointed pass
/// ([`super::checkpoint`]) runs one sweep per recomputed segment, last segment first:
/// the same operations in the same order, so the same bits.
pub(crate) struct Sweep<'a, T: Real> {
    cfg: &'a ModelConfig,
    p: &'a Params<T>,
    rec: Recurrence<T>,
    nc: Increment<T>,
    b: usize,
    grad: Params<T>,
    /// `G`, the gradient in the state the sweep has reached (`n x B`).
    g: DMatrix<T>,
    /// `[dA; dW] = sum_k P_k h_k^T` so far.
    daw: DMatrix<T>,
    /// `dL/dd` so far.
    ddt: Vec<T>,
    /// `Gz_k` of every step, column `k B + j`.
    gz: DMatrix<T>,
    /// One step's `[P_k; Gz_k]` (`rows x B`).
    pk: DMatrix<T>,
    /// Drift factor m (code form), 1 otherwise.
    mbuf: Vec<T>,
    /// `d(noise)/dh_k`.
    nbuf: Vec<T>,
    /// `d(noise)/dd`.
    ebuf: Vec<T>,
}

impl<'a, T: Real> Sweep<'a, T> {
    /// Start the sweep of a pass of `steps` steps over `b` examples at its end: the
    /// readout gradients `dL/dV = dL/do h_K^T`, `dL/dc = dL/do 1` and `G_K = V^T dL/do`.
    /// `noise_on`: the pass was run with a noise draw.
    pub(crate) fn new(
        cfg: &'a ModelConfig,
        p: &'a Params<T>,
        h_final: &DMatrix<T>,
        dlogits: &DMatrix<T>,
        steps: usize,
        noise_on: bool,
    ) -> Self {
        let n = cfg.hidden;
        let b = h_final.ncols();
        let mut grad = Params::zeros(cfg);
        gemm(
            T::one(),
            dlogits,
            false,
            h_final,
            true,
            T::zero(),
            &mut grad.v,
        );
        grad.c = row_sums(dlogits);
        let mut g = DMatrix::zeros(n, b);
        gemm(T::one(), &p.v, true, dlogits, false, T::zero(), &mut g);
        let rec = Recurrence::new(cfg, p);
        let rows = rec.stacked.nrows();
        Sweep {
            cfg,
            p,
            nc: Increment::new(cfg, p, noise_on),
            b,
            grad,
            g,
            daw: DMatrix::zeros(rows, n),
            ddt: vec![T::zero(); n],
            gz: DMatrix::zeros(n, steps * b),
            pk: DMatrix::zeros(rows, b),
            mbuf: vec![T::one(); n],
            nbuf: vec![T::zero(); n],
            ebuf: vec![T::zero(); n],
            rec,
        }
    }

    /// Backpropagate through the kept tape `tape` of steps `k0 .. k0 + tape.steps`
    /// (its states `h_{k0} ..`, its activations and drifts), run with the noise draw
    /// `noise` of those steps, from the gradient in its last state to the gradient in
    /// `h_{k0}`. Sweeps go from the last steps to the first.
    pub(crate) fn sweep(&mut self, tape: &Tape<T>, k0: usize, noise: Option<&NoiseDraw>) {
        let n = self.cfg.hidden;
        let b = self.b;
        assert_eq!(
            tape.h.ncols(),
            (tape.steps + 1) * b,
            "backward needs a tape kept by forward(.., keep = true)"
        );
        let nc = &self.nc;
        let (stacked, woff) = (&self.rec.stacked, self.rec.woff);
        let rows = stacked.nrows();
        let act_fn = self.cfg.activation;
        let a_term = self.cfg.a_term;
        let dt = self.p.dt.as_slice();
        let (xis, auxs): (&[f64], &[f64]) = match noise {
            Some(d) if nc.on => (d.xi.as_slice(), d.aux.as_slice()),
            _ => (&[], &[]),
        };
        let ar = nc.form.aux_rows(n); // auxiliary draws per column
        let (mbuf, nbuf, ebuf) = (&mut self.mbuf, &mut self.nbuf, &mut self.ebuf);
        let ddt = &mut self.ddt;
        for kl in (0..tape.steps).rev() {
            {
                let gs = self.g.as_mut_slice();
                let ps = self.pk.as_mut_slice();
                let acts = tape.act.as_slice();
                let hs = tape.h.as_slice();
                for j in 0..b {
                    let col = kl * b + j;
                    let gcol = &mut gs[j * n..(j + 1) * n];
                    let acol = &acts[col * n..(col + 1) * n];
                    let h = &hs[col * n..(col + 1) * n];
                    if nc.on {
                        let xi = &xis[col * n..(col + 1) * n];
                        let aux = &auxs[col * ar..(col + 1) * ar];
                        match nc.form {
                            NoiseForm::Code => {
                                for (i, m) in mbuf.iter_mut().enumerate() {
                                    *m = nc.drift_factor(NoiseForm::Code, aux, i);
                                }
                            }
                            // One loop per form (the form a literal: straight-line code).
                            NoiseForm::Diag => {
                                for i in 0..n {
                                    let f = NoiseForm::Diag;
                                    nbuf[i] = nc.gain_unit(f, nc.sq[i], xi[i], aux);
                                    ebuf[i] = nc.step_derivative_unit(f, h[i], dt[i], xi[i], aux);
                                }
                            }
                            NoiseForm::Scalar => {
                                for i in 0..n {
                                    let f = NoiseForm::Scalar;
                                    nbuf[i] = nc.gain_unit(f, nc.sq[i], xi[i], aux);
                                    ebuf[i] = nc.step_derivative_unit(f, h[i], dt[i], xi[i], aux);
                                }
                            }
                        }
                    }
                    let pcol = &mut ps[j * rows..(j + 1) * rows];
                    for i in 0..n {
                        let pv = dt[i] * mbuf[i] * gcol[i];
                        if a_term {
                            pcol[i] = pv;
                        }
                        pcol[woff + i] = pv * act_fn.deriv_from_value(acol[i]);
                    }
                    if let Some(fs) = tape.f.as_ref() {
                        let fcol = &fs.as_slice()[col * n..(col + 1) * n];
                        for i in 0..n {
                            ddt[i] += gcol[i] * (mbuf[i] * fcol[i] + ebuf[i]);
                        }
                    }
                    if nc.on && nc.form != NoiseForm::Code {
                        for i in 0..n {
                            gcol[i] += gcol[i] * nbuf[i];
                        }
                    }
                }
            }
            let k = k0 + kl;
            self.gz
                .columns_mut(k * b, b)
                .copy_from(&self.pk.rows(woff, n));
            gemm(
                T::one(),
                stacked,
                true,
                &self.pk,
                false,
                T::one(),
                &mut self.g,
            );
            // The weight gradient [dA; dW] += P_k h_k^T, while P_k and h_k are in cache.
            gemm(
                T::one(),
                &self.pk,
                false,
                &tape.h.columns(kl * b, b),
                true,
                T::one(),
                &mut self.daw,
            );
        }
    }

    /// End the sweep at `h_0`: `dL/dM_A`, `dL/dM_W` from the sums, `dL/dU = Gz X^T`,
    /// `dL/db = Gz 1` and `dL/dx = U^T Gz` (when `want_dx`) over the whole tape, `x` the
    /// pass's inputs.
    pub(crate) fn finish(self, x: &DMatrix<f64>, want_dx: bool) -> Backward<T> {
        let (cfg, p) = (self.cfg, self.p);
        let n = cfg.hidden;
        let woff = self.rec.woff;
        let mut grad = self.grad;
        if cfg.a_term {
            grad.m_a = lipschitz_matrix_adjoint(&self.daw.rows(0, n).into_owned(), cfg.beta);
        }
        grad.m_w = lipschitz_matrix_adjoint(&self.daw.rows(woff, n).into_owned(), cfg.beta);
        let gz_all = &self.gz;
        let xt: DMatrix<T> = x.map(T::of);
        gemm(T::one(), gz_all, false, &xt, true, T::zero(), &mut grad.u);
        grad.b = row_sums(gz_all);
        grad.dt = DVector::from_vec(self.ddt);
        let dx = if want_dx {
            let mut dx = DMatrix::zeros(cfg.input, gz_all.ncols());
            gemm(T::one(), &p.u, true, gz_all, false, T::zero(), &mut dx);
            Some(dx)
        } else {
            None
        };
        Backward {
            grad,
            dx,
            dh0: self.g,
        }
    }
}

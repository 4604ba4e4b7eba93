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
//! [`super::increment`]'s. The sums over k are taken as one matrix product over the whole
//! tape.

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
    let n = cfg.hidden;
    let (steps, b) = (tape.steps, tape.size);
    let kb = steps * b;
    assert_eq!(
        tape.h.ncols(),
        kb + b,
        "backward needs a tape kept by forward(.., keep = true)"
    );
    let mut grad = Params::zeros(cfg);
    gemm(
        T::one(),
        dlogits,
        false,
        &tape.h_final,
        true,
        T::zero(),
        &mut grad.v,
    );
    grad.c = row_sums(dlogits);
    let mut g = DMatrix::zeros(n, b);
    gemm(T::one(), &p.v, true, dlogits, false, T::zero(), &mut g);

    let Recurrence { stacked, woff, .. } = Recurrence::new(cfg, p);
    let rows = stacked.nrows();
    let nc = Increment::new(cfg, p, noise.is_some());
    let act_fn = cfg.activation;
    let mut pg = DMatrix::zeros(rows, kb);
    let mut daw = DMatrix::zeros(rows, n);
    let mut ddt = vec![T::zero(); n];
    let dt = p.dt.as_slice();
    let (xis, auxs): (&[f64], &[f64]) = match noise {
        Some(d) if nc.on => (d.xi.as_slice(), d.aux.as_slice()),
        _ => (&[], &[]),
    };
    let ar = nc.form.aux_rows(n); // auxiliary draws per column
    let mut mbuf = vec![T::one(); n]; // drift factor m (code form), 1 otherwise
    let mut nbuf = vec![T::zero(); n]; // d(noise)/dh_k
    let mut ebuf = vec![T::zero(); n]; // d(noise)/dd
    for k in (0..steps).rev() {
        {
            let gs = g.as_mut_slice();
            let ps = pg.as_mut_slice();
            let acts = tape.act.as_slice();
            let hs = tape.h.as_slice();
            for j in 0..b {
                let col = k * b + j;
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
                let pcol = &mut ps[col * rows..(col + 1) * rows];
                for i in 0..n {
                    let pv = dt[i] * mbuf[i] * gcol[i];
                    if cfg.a_term {
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
        let pk = pg.columns(k * b, b);
        gemm(T::one(), &stacked, true, &pk, false, T::one(), &mut g);
        // The weight gradient [dA; dW] += P_k h_k^T, while P_k and h_k are in cache.
        gemm(
            T::one(),
            &pk,
            false,
            &tape.h.columns(k * b, b),
            true,
            T::one(),
            &mut daw,
        );
    }
    if cfg.a_term {
        grad.m_a = lipschitz_matrix_adjoint(&daw.rows(0, n).into_owned(), cfg.beta);
    }
    grad.m_w = lipschitz_matrix_adjoint(&daw.rows(woff, n).into_owned(), cfg.beta);
    let gz_all = pg.rows(woff, n);
    let xt: DMatrix<T> = x.map(T::of);
    gemm(T::one(), &gz_all, false, &xt, true, T::zero(), &mut grad.u);
    grad.b = row_sums(&gz_all);
    grad.dt = DVector::from_vec(ddt);
    let dx = if want_dx {
        let mut dx = DMatrix::zeros(cfg.input, kb);
        gemm(T::one(), &p.u, true, &gz_all, false, T::zero(), &mut dx);
        Some(dx)
    } else {
        None
    };
    Backward { grad, dx, dh0: g }
}

//! `nrnn bench gemm`: the attainable f64 matrix-product rate of this machine, the yardstick
//! of `nrnn bench train`'s GFLOP/s.
//!
//! `threads` products `C = A B` of `size x size` matrices run at once, one per thread,
//! each repeated for a fixed time; the rate is `sum_t reps_t 2 size^3 / seconds_t`. Two
//! kernels are measured ([`Kernel`]): the crate's [`crate::linalg::gemm`] dispatch, which
//! for `size > 32` is `matrixmultiply::dgemm` (single-threaded per product; the training
//! step runs one product per work item on each thread, as here), and faer's sequential
//! matmul (AVX-512 kernels where the CPU has them). The attainable rate is the faster of
//! the two.

use crate::linalg::gemm;
use nalgebra::DMatrix;
use serde_json::json;
use std::time::Instant;

/// Arguments of `nrnn bench gemm`.
#[derive(clap::Args, Debug)]
pub struct GemmArgs {
    /// Matrix size n of the products (n x n times n x n).
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Seconds each thread repeats its product.
    #[arg(long, default_value_t = 1.0)]
    pub seconds: f64,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// The f64 matrix-product kernel a rate is measured for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// [`crate::linalg::gemm`] (matrixmultiply above 32 x 32): what training runs.
    Nrnn,
    /// `faer::linalg::matmul::matmul`, sequential (`Par::Seq`).
    Faer,
}

/// GFLOP/s of `threads` concurrent f64 products `C = A B` of size `size` with `kernel`,
/// each thread repeating its own product for `seconds` (after one product not counted):
/// `sum_t reps_t 2 size^3 / elapsed_t / 1e9`.
pub fn gemm_rate(size: usize, threads: usize, seconds: f64, kernel: Kernel) -> anyhow::Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let flops = 2.0 * (size as f64).powi(3);
    let rates = pool.broadcast(|ctx| {
        let fill = |s: usize| {
            DMatrix::from_fn(size, size, |i, j| {
                ((i * 7 + j * 13 + s + ctx.index()) % 17) as f64 / 8.0 - 1.0
            })
        };
        let (a, b) = (fill(1), fill(2));
        let mut c = DMatrix::zeros(size, size);
        let (fa, fb) = (faer_of(&a), faer_of(&b));
        let mut fc = faer::Mat::<f64>::zeros(size, size);
        let mut product = || match kernel {
            Kernel::Nrnn => gemm(1.0, &a, false, &b, false, 0.0, &mut c),
            Kernel::Faer => faer::linalg::matmul::matmul(
                fc.as_mut(),
                faer::Accum::Replace,
                fa.as_ref(),
                fb.as_ref(),
                1.0,
                faer::Par::Seq,
            ),
        };
        product();
        let t = Instant::now();
        let mut reps = 0u64;
        while reps == 0 || t.elapsed().as_secs_f64() < seconds {
            product();
            reps += 1;
        }
        std::hint::black_box((&c, &fc));
        reps as f64 * flops / t.elapsed().as_secs_f64() / 1e9
    });
    Ok(rates.iter().sum())
}

/// `m` as a faer matrix.
fn faer_of(m: &DMatrix<f64>) -> faer::Mat<f64> {
    faer::Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)])
}

/// The attainable rate on `threads` threads: the faster of the two kernels, measured one
/// after the other for `seconds` each.
pub fn attainable_rate(size: usize, threads: usize, seconds: f64) -> anyhow::Result<f64> {
    let nrnn = gemm_rate(size, threads, seconds, Kernel::Nrnn)?;
    Ok(nrnn.max(gemm_rate(size, threads, seconds, Kernel::Faer)?))
}

/// Run `nrnn bench gemm`: the rate of each kernel on 1 and 2 threads, the kernels
/// alternated (the host's speed drifts between runs: compare within one run).
pub fn run_gemm(a: GemmArgs) -> anyhow::Result<()> {
    crate::error::check_count("size", a.size, 1, 4096)?;
    crate::error::check_range("seconds", a.seconds, 1e-3, 600.0)?;
    let mut rates = [[0.0; 2]; 2];
    for (t, threads) in [1, 2].into_iter().enumerate() {
        for (k, kernel) in [Kernel::Nrnn, Kernel::Faer].into_iter().enumerate() {
            rates[k][t] = gemm_rate(a.size, threads, a.seconds, kernel)?;
        }
    }
    let [[m1, m2], [f1, f2]] = rates;
    let out = json!({
        "bench": "gemm",
        "size": a.size,
        "seconds": a.seconds,
        "path": "nrnn::linalg::gemm (matrixmultiply::dgemm)",
        "gflops_1_thread": m1,
        "gflops_2_threads": m2,
        "faer_gflops_1_thread": f1,
        "faer_gflops_2_threads": f2,
        "attainable_gflops_2_threads": m2.max(f2),
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "f64 gemm {s}x{s}x{s}, one product per thread: nrnn::linalg::gemm (matrixmultiply) {m1:.1} GFLOP/s on 1 thread, {m2:.1} on 2; faer {f1:.1} on 1, {f2:.1} on 2 (faer/matrixmultiply {:.2} and {:.2})",
            f1 / m1,
            f2 / m2,
            s = a.size
        );
    }
    Ok(())
}

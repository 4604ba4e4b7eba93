//! `nrnn bench gemm`: the attainable f64 matrix-product rate of this machine, the yardstick
//! of `nrnn bench train`'s GFLOP/s.
//!
//! `threads` products `C = A B` of `size x size` matrices run at once, one per thread,
//! each repeated for a fixed time; the rate is `sum_t reps_t 2 size^3 / seconds_t`. The
//! path measured is the crate's [`crate::linalg::gemm`] dispatch, which for `size > 32`
//! is `matrixmultiply::dgemm` (single-threaded per product; the training step runs one
//! product per work item on each thread, as here). No other gemm library is a
//! dependency.

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

/// GFLOP/s of `threads` concurrent f64 products `C = A B` of size `size` through
/// [`crate::linalg::gemm`], each thread repeating its own product for `seconds` (after one
/// product not counted): `sum_t reps_t 2 size^3 / elapsed_t / 1e9`.
pub fn gemm_rate(size: usize, threads: usize, seconds: f64) -> anyhow::Result<f64> {
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
        gemm(1.0, &a, false, &b, false, 0.0, &mut c);
        let t = Instant::now();
        let mut reps = 0u64;
        while reps == 0 || t.elapsed().as_secs_f64() < seconds {
            gemm(1.0, &a, false, &b, false, 0.0, &mut c);
            reps += 1;
        }
        std::hint::black_box(&c);
        reps as f64 * flops / t.elapsed().as_secs_f64() / 1e9
    });
    Ok(rates.iter().sum())
}

/// Run `nrnn bench gemm`: the rate on 1 and 2 threads.
pub fn run_gemm(a: GemmArgs) -> anyhow::Result<()> {
    crate::error::check_count("size", a.size, 1, 4096)?;
    crate::error::check_range("seconds", a.seconds, 1e-3, 600.0)?;
    let one = gemm_rate(a.size, 1, a.seconds)?;
    let two = gemm_rate(a.size, 2, a.seconds)?;
    let out = json!({
        "bench": "gemm",
        "size": a.size,
        "seconds": a.seconds,
        "path": "nrnn::linalg::gemm (matrixmultiply::dgemm)",
        "gflops_1_thread": one,
        "gflops_2_threads": two,
    });
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        outln!(
            "f64 gemm {s}x{s}x{s} (nrnn::linalg::gemm = matrixmultiply): {one:.1} GFLOP/s on 1 thread, {two:.1} GFLOP/s on 2 threads (one product per thread)",
            s = a.size
        );
    }
    Ok(())
}

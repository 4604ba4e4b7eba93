//! A Brownian path drawn once on the finest dyadic grid and coarsened by summation.

use crate::error::{Error, Result};
use crate::rng::{fill_normal, stream};
use nalgebra::{DMatrix, DVector};

/// An `m`-dimensional Brownian path on `[0, T]`, stored as its increments on the finest
/// dyadic grid `t_k = k T / 2^L`, `k = 0..=2^L`:
///
/// ```text
/// dW_k = W(t_{k+1}) - W(t_k) = sqrt(T / 2^L) Z_k,   Z_k ~ N(0, I_m) i.i.d.
/// ```
///
/// The normals come from `crate::rng::stream(seed, &[path_index])`, so path `p` of a
/// Monte Carlo run depends only on `(seed, p)`, whatever the thread count.
/// [`BrownianPath::increments`] at a coarser level `l <= L` sums `2^(L-l)` consecutive
/// finest increments, so every step size `T / 2^l` sees the same path (the standard
/// set-up for measuring strong convergence).
///
/// ```
/// use nrnn::sde::BrownianPath;
/// let path = BrownianPath::new(1.0, 6, 2, 42, 0)?;
/// let coarse = path.increments(2)?; // 2 x 4 matrix, column k = W(t_{k+1}) - W(t_k)
/// let fine = path.increments(6)?;   // 2 x 64
/// let first: f64 = (0..16).map(|k| fine[(0, k)]).sum();
/// assert!((coarse[(0, 0)] - first).abs() < 1e-14);
/// # Ok::<(), nrnn::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct BrownianPath {
    horizon: f64,
    levels: usize,
    noise_dim: usize,
    /// Finest increments, step-major: entry `k * noise_dim + j` is `dW_k` component `j`.
    finest: Vec<f64>,
}

impl BrownianPath {
    /// Largest number of dyadic levels accepted by [`BrownianPath::new`]
    /// (`2^30` finest steps).
    pub const MAX_LEVELS: usize = 30;

    /// Largest number of stored increments `2^L * m` (2^27 doubles, 1 GiB): a guard
    /// against accidental huge allocations.
    pub const MAX_ENTRIES: usize = 1 << 27;

    /// Draw the path `(seed, path_index)` on `[0, horizon]` with `2^levels` finest steps
    /// of size `horizon / 2^levels` and `noise_dim` independent components.
    ///
    /// Errors: `horizon` not positive and finite, `levels > MAX_LEVELS`,
    /// `noise_dim == 0`, or `2^levels * noise_dim > MAX_ENTRIES`.
    ///
    /// ```
    /// use nrnn::sde::BrownianPath;
    /// let a = BrownianPath::new(1.0, 4, 1, 9, 3)?;
    /// let b = BrownianPath::new(1.0, 4, 1, 9, 3)?;
    /// assert_eq!(a, b); // same (seed, path_index), same path
    /// assert!(BrownianPath::new(-1.0, 4, 1, 9, 3).is_err());
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn new(
        horizon: f64,
        levels: usize,
        noise_dim: usize,
        seed: u64,
        path_index: u64,
    ) -> Result<Self> {
        if !(horizon.is_finite() && horizon > 0.0) {
            return Err(Error::param("horizon", horizon, "a positive finite number"));
        }
        if levels > Self::MAX_LEVELS {
            return Err(Error::param(
                "levels",
                levels,
                &format!("at most {}", Self::MAX_LEVELS),
            ));
        }
        if noise_dim == 0 {
            return Err(Error::param("noise_dim", noise_dim, "at least 1"));
        }
        let steps = 1usize << levels;
        let entries = steps
            .checked_mul(noise_dim)
            .filter(|&e| e <= Self::MAX_ENTRIES);
        let Some(entries) = entries else {
            return Err(Error::param(
                "levels",
                levels,
                &format!(
                    "2^levels * noise_dim (noise_dim = {noise_dim}) at most {}",
                    Self::MAX_ENTRIES
                ),
            ));
        };
        let mut finest = vec![0.0; entries];
        let mut rng = stream(seed, &[path_index]);
        fill_normal(&mut rng, &mut finest);
        let scale = (horizon / steps as f64).sqrt();
        finest.iter_mut().for_each(|z| *z *= scale);
        Ok(BrownianPath {
            horizon,
            levels,
            noise_dim,
            finest,
        })
    }

    /// The horizon `T`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// assert_eq!(BrownianPath::new(2.5, 3, 1, 0, 0)?.horizon(), 2.5);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn horizon(&self) -> f64 {
        self.horizon
    }

    /// The finest level `L` (`2^L` finest steps).
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// assert_eq!(BrownianPath::new(1.0, 5, 1, 0, 0)?.levels(), 5);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn levels(&self) -> usize {
        self.levels
    }

    /// The Brownian dimension `m`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// assert_eq!(BrownianPath::new(1.0, 5, 3, 0, 0)?.noise_dim(), 3);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn noise_dim(&self) -> usize {
        self.noise_dim
    }

    /// Number of steps at `level`: `2^level`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// assert_eq!(BrownianPath::new(1.0, 5, 1, 0, 0)?.steps(3), 8);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn steps(&self, level: usize) -> usize {
        1usize << level
    }

    /// Step size at `level`: `dt = T / 2^level` (exact in floating point: a power-of-two
    /// scaling).
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// assert_eq!(BrownianPath::new(3.0, 5, 1, 0, 0)?.dt(2), 0.75);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn dt(&self, level: usize) -> f64 {
        self.horizon * (-(level as f64)).exp2()
    }

    /// Increments at step `T / 2^level`, an `m x 2^level` matrix whose column `k` is
    ///
    /// ```text
    /// W(t_{k+1}) - W(t_k) = sum_{r = 0}^{b - 1} dW^{finest}_{k b + r},   b = 2^(L - level),
    /// ```
    ///
    /// summed left to right. `level = L` returns the finest increments unchanged.
    /// Errors if `level > L`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// let path = BrownianPath::new(1.0, 3, 1, 5, 0)?;
    /// let one = path.increments(0)?;
    /// assert_eq!(one.shape(), (1, 1));
    /// assert!((one[(0, 0)] - path.value_at_end()[0]).abs() < 1e-15);
    /// assert!(path.increments(4).is_err());
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn increments(&self, level: usize) -> Result<DMatrix<f64>> {
        if level > self.levels {
            return Err(Error::param(
                "level",
                level,
                &format!("at most the path's finest level {}", self.levels),
            ));
        }
        let m = self.noise_dim;
        let n = self.steps(level);
        let block = 1usize << (self.levels - level);
        let mut out = DMatrix::zeros(m, n);
        for k in 0..n {
            for r in 0..block {
                let base = (k * block + r) * m;
                for j in 0..m {
                    out[(j, k)] += self.finest[base + j];
                }
            }
        }
        Ok(out)
    }

    /// Path values on the grid of `level`: an `m x (2^level + 1)` matrix whose column `k`
    /// is `W(t_k) = sum_{i < k} dW_i` (column 0 is `W(0) = 0`). Errors if `level > L`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// let path = BrownianPath::new(1.0, 4, 2, 5, 0)?;
    /// let w = path.values(2)?;
    /// assert_eq!(w.shape(), (2, 5));
    /// assert_eq!(w[(1, 0)], 0.0);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn values(&self, level: usize) -> Result<DMatrix<f64>> {
        let inc = self.increments(level)?;
        let (m, n) = inc.shape();
        let mut w = DMatrix::zeros(m, n + 1);
        for k in 0..n {
            for j in 0..m {
                w[(j, k + 1)] = w[(j, k)] + inc[(j, k)];
            }
        }
        Ok(w)
    }

    /// The endpoint `W(T) = sum_k dW^{finest}_k` (summed left to right on the finest
    /// grid), a vector of length `m`.
    ///
    /// ```
    /// # use nrnn::sde::BrownianPath;
    /// let path = BrownianPath::new(1.0, 10, 1, 5, 0)?;
    /// let w = path.values(10)?;
    /// assert_eq!(path.value_at_end()[0], w[(0, 1024)]);
    /// # Ok::<(), nrnn::Error>(())
    /// ```
    pub fn value_at_end(&self) -> DVector<f64> {
        let m = self.noise_dim;
        let mut w = DVector::zeros(m);
        for chunk in self.finest.chunks_exact(m) {
            for j in 0..m {
                w[j] += chunk[j];
            }
        }
        w
    }
}

//! Synthetic sequence tasks, generated in code from a seed.
//!
//! Every example `e` is drawn from its own stream `crate::rng::stream(seed, [tag, e])`, so
//! a data set of `n` examples is a prefix of the one with `m > n` examples (same seed and
//! shape), and generation does not depend on thread count or call order.

use super::{Dataset, Task};
use crate::error::{Error, Result};
use crate::rng::stream;
use rand::RngExt;
use std::f64::consts::PI;

const TAG_ADDING: u64 = 0xADD1_0000_0000_0001;
const TAG_SINES: u64 = 0x5133_0000_0000_0001;

/// Standard deviation of the additive Gaussian noise of [`sines`].
pub const SINES_NOISE: f64 = 0.1;

/// The adding problem (Hochreiter & Schmidhuber 1997): `steps` steps of 2 channels.
/// Channel 0 holds independent uniform values on `[0, 1)`; channel 1 is a marker that is
/// 1 at exactly two steps, one drawn uniformly from the first half `0..steps/2` and one
/// from the second half `steps/2..steps`, and 0 elsewhere. The target is the sum of the
/// two marked values (in `[0, 2)`), a regression task with `classes = 1`. Always
/// predicting 1 gives mean squared error 1/6.
///
/// Errors when `steps < 2`.
///
/// ```
/// let d = nrnn::data::adding(5, 10, 42).unwrap();
/// assert_eq!((d.len(), d.steps, d.input_dim, d.classes), (5, 10, 2, 1));
/// let seq = d.sequence(0);
/// let sum: f64 = (0..10).map(|k| seq[2 * k] * seq[2 * k + 1]).sum();
/// assert!((sum - d.targets[0]).abs() < 1e-12);
/// ```
pub fn adding(n_examples: usize, steps: usize, seed: u64) -> Result<Dataset> {
    if steps < 2 {
        return Err(Error::param(
            "steps",
            steps,
            "at least 2 for the adding problem",
        ));
    }
    let half = steps / 2;
    let mut x = Vec::with_capacity(n_examples * steps * 2);
    let mut targets = Vec::with_capacity(n_examples);
    for e in 0..n_examples {
        let mut rng = stream(seed, &[TAG_ADDING, e as u64]);
        let first = rng.random_range(0..half);
        let second = rng.random_range(half..steps);
        let mut sum = 0.0;
        for k in 0..steps {
            let v: f64 = rng.random::<f64>();
            let marked = k == first || k == second;
            if marked {
                sum += v;
            }
            x.push(v);
            x.push(if marked { 1.0 } else { 0.0 });
        }
        targets.push(sum);
    }
    Ok(Dataset {
        name: "adding".into(),
        steps,
        input_dim: 2,
        classes: 1,
        task: Task::Regression,
        x,
        labels: Vec::new(),
        targets,
    })
}

/// Noisy sinusoid frequency classification with [`SINES_NOISE`] noise: see
/// [`sines_with_noise`].
///
/// ```
/// let d = nrnn::data::sines(100, 32, 4, 3).unwrap();
/// assert_eq!((d.len(), d.steps, d.input_dim, d.classes), (100, 32, 1, 4));
/// assert!(d.labels.iter().all(|&l| l < 4));
/// ```
pub fn sines(n_examples: usize, steps: usize, classes: usize, seed: u64) -> Result<Dataset> {
    sines_with_noise(n_examples, steps, classes, SINES_NOISE, seed)
}

/// Noisy sinusoid frequency classification, 1 channel, `classes` classes. Example `e`
/// draws a label `c` uniformly from `0..classes`, an amplitude `A ~ U[0.5, 1.5)`, a phase
/// `phi ~ U[0, 2 pi)` and a relative frequency jitter `d ~ U[-0.1, 0.1)`, and reads
/// `x_k = A sin(2 pi (c + 1)(1 + d) k / steps + phi) + noise * z_k` with `z_k` standard
/// normal: class `c` completes about `c + 1` cycles over the sequence. A small RNN learns
/// it quickly at the default noise.
///
/// Errors unless `classes >= 2`, `steps >= 4 * classes` (well below the Nyquist limit)
/// and `noise` is finite and non-negative.
pub fn sines_with_noise(
    n_examples: usize,
    steps: usize,
    classes: usize,
    noise: f64,
    seed: u64,
) -> Result<Dataset> {
    if classes < 2 {
        return Err(Error::param("classes", classes, "at least 2"));
    }
    if steps < 4 * classes {
        return Err(Error::param(
            "steps",
            steps,
            &format!(
                "at least 4 * classes = {} so that every frequency is resolved",
                4 * classes
            ),
        ));
    }
    if !(noise.is_finite() && noise >= 0.0) {
        return Err(Error::param(
            "noise",
            noise,
            "a finite, non-negative standard deviation",
        ));
    }
    let mut x = Vec::with_capacity(n_examples * steps);
    let mut labels = Vec::with_capacity(n_examples);
    for e in 0..n_examples {
        let mut rng = stream(seed, &[TAG_SINES, e as u64]);
        let c = rng.random_range(0..classes);
        let amp = rng.random_range(0.5..1.5);
        let phase = rng.random_range(0.0..2.0 * PI);
        let jitter = rng.random_range(-0.1..0.1);
        let omega = 2.0 * PI * (c as f64 + 1.0) * (1.0 + jitter) / steps as f64;
        for k in 0..steps {
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            x.push(amp * (omega * k as f64 + phase).sin() + noise * z);
        }
        labels.push(c);
    }
    Ok(Dataset::classification(
        "sines", steps, 1, classes, x, labels,
    ))
}

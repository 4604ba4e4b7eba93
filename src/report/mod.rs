//! Reports: atomic file writes, CSV tables, JSON manifests, plots and the figure index.

pub mod fonts;
pub mod index;
pub mod manifest;
pub mod plot;
pub mod png;
pub mod table;

use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically: write a temporary file in the same directory,
/// flush it to disk, then rename it over `path`. A crash leaves either the old file or
/// the new one, never a half-written file. Parent directories are created.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("a/b.txt");
/// nrnn::report::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| Error::io(&dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        // Temporary files are created owner-only; give the result the usual mode.
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Serialize `value` as pretty JSON and write it atomically to `path`.
pub fn write_json_atomic<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::Other(e.to_string()))?;
    s.push('\n');
    write_atomic(path, s.as_bytes())
}

//! Atomic file writes: every output of the crate (CSV, PNG, JSON, models) is written to a
//! temporary file beside its target, flushed, and renamed over it ([`write_atomic`]), so a
//! crash leaves the old file or the new one, never half of one.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Prefix of the temporary files of [`write_atomic`]: the temporary file of `DIR/NAME` is
/// `DIR/.NAME.nrnn-tmp-XXXXXX`.
pub const TEMP_INFIX: &str = ".nrnn-tmp-";

/// Age after which a temporary file of [`write_atomic`] left beside its target is taken
/// to be stale (its writer was killed) and removed by the next write of that target.
pub const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Create `dir` and its parents. When a component of the path exists as a file the error
/// says so ("cannot create directory X: a file with that name exists") instead of the
/// system's bare "File exists".
///
/// ```
/// let d = tempfile::tempdir().unwrap();
/// std::fs::write(d.path().join("f"), b"").unwrap();
/// let e = nrnn::io::create_dir_all(&d.path().join("f/sub")).unwrap_err().to_string();
/// assert!(e.contains("a file with that name exists"), "{e}");
/// ```
pub fn create_dir_all(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| {
        let file = dir
            .ancestors()
            .find(|a| std::fs::metadata(a).is_ok_and(|m| !m.is_dir()));
        match file {
            Some(f) => Error::Other(format!(
                "cannot create directory {}: a file with that name exists",
                f.display()
            )),
            None => Error::Other(format!("cannot create directory {}: {e}", dir.display())),
        }
    })
}

/// The file a write to `path` replaces: `path` itself, or, when `path` is a symbolic link,
/// the file it points to (links followed to the end, relative targets resolved from the
/// link's directory; at most 40 links, as the kernel allows). `None` when the chain passes
/// through `/proc` (`/dev/stdout` is a link to `/proc/self/fd/1`): those links name open
/// files, not places to put a new one, so the write must go into the file itself.
fn resolve_links(path: &Path) -> Result<Option<PathBuf>> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        if p.starts_with("/proc") {
            return Ok(None);
        }
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p).map_err(|e| Error::io(&p, e))?;
                p = match p.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(Some(p)),
        }
    }
    Err(Error::Other(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Write `bytes` into the existing file `path` as it is (no temporary file, no rename),
/// appending, so that a file already holding output (`--out /dev/stdout >> log`) keeps it.
fn write_into(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(bytes).map_err(|e| Error::io(path, e))?;
    f.flush().map_err(|e| Error::io(path, e))
}

/// Remove the temporary files of earlier writes of `dir/name` older than [`STALE_TEMP`]
/// (left by a writer that was killed: a `NamedTempFile` removes itself on every other
/// path). Best effort: failures are ignored.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}{TEMP_INFIX}");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let stale = e
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
            && e.metadata().is_ok_and(|m| {
                m.is_file()
                    && m.modified()
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > STALE_TEMP)
            });
        if stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Write `bytes` to `path` atomically: write a temporary file in the same directory,
/// flush it to disk, then rename it over `path`. A crash leaves either the old file or
/// the new one, never a half-written file. Parent directories are created.
///
/// - A symbolic link is written through: the file it points to is replaced (atomically,
///   beside the target) and the link is left as it is.
/// - A path that exists and is not a regular file (a FIFO, a character device such as
///   `/dev/null`, a socket), or that leads through `/proc` (`/dev/stdout`, `/dev/fd/N`,
///   whatever they are), is opened and written into directly (appending): no temporary
///   file, no rename, so it is never replaced by a regular file. A directory is refused.
/// - The temporary file is `.NAME.nrnn-tmp-XXXXXX` beside the target. It is removed on
///   every error path; only a killed process (SIGKILL, power loss) can leave one, and the
///   next write of the same target removes those older than [`STALE_TEMP`].
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("a/b.txt");
/// nrnn::io::write_atomic(&p, b"hello").unwrap();
/// assert_eq!(std::fs::read(&p).unwrap(), b"hello");
/// nrnn::io::write_atomic(std::path::Path::new("/dev/null"), b"gone").unwrap();
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Ok(m) = std::fs::metadata(path) {
        if m.is_dir() {
            return Err(Error::Other(format!(
                "{}: is a directory, expected a file path",
                path.display()
            )));
        }
        if !m.is_file() {
            return write_into(path, bytes);
        }
    }
    let Some(target) = resolve_links(path)? else {
        return write_into(path, bytes);
    };
    let tmp = temp_beside(&target, path, bytes)?;
    tmp.persist(&target).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// A temporary file `.NAME.nrnn-tmp-XXXXXX` beside `target` (its directory created,
/// stale temporaries of the same target removed) holding `bytes`, flushed to disk and
/// given the usual mode; errors name `path`.
fn temp_beside(target: &Path, path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    create_dir_all(&dir)?;
    let name = target
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    remove_stale_temps(&dir, &name);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}{TEMP_INFIX}"))
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
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
    Ok(tmp)
}

/// Write `bytes` to the regular file `path` only if no file of that name exists, atomically
/// and without ever replacing one: a temporary file beside it is written and flushed to
/// disk as in [`write_atomic`], then linked into place with a no-replace rename
/// (`renameat2(RENAME_NOREPLACE)`, or a hard link where the file system lacks it), and
/// the directory is flushed. Returns `true` when this call created the file, `false` when
/// another writer's file was already there (it is left untouched, the temporary removed).
/// Many processes, also on several hosts sharing the directory, may race on one path: one
/// complete file wins, the others see `false`.
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let p = dir.path().join("piece.json");
/// assert!(nrnn::io::write_new_atomic(&p, b"first").unwrap());
/// assert!(!nrnn::io::write_new_atomic(&p, b"second").unwrap());
/// assert_eq!(std::fs::read(&p).unwrap(), b"first");
/// ```
pub fn write_new_atomic(path: &Path, bytes: &[u8]) -> Result<bool> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    let tmp = temp_beside(path, path, bytes)?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // Best effort: make the new directory entry durable too.
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(true)
        }
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(Error::io(path, e.error)),
    }
}

/// Serialize `value` as pretty JSON and write it atomically to `path`.
pub fn write_json_atomic<S: serde::Serialize>(path: &Path, value: &S) -> Result<()> {
    let mut s = serde_json::to_string_pretty(value).map_err(|e| Error::Other(e.to_string()))?;
    s.push('\n');
    write_atomic(path, s.as_bytes())
}

//! Files that are whole or absent: everything tufwatch writes goes to a temporary name in the
//! destination's directory, is synced, then renamed into place, so a reader (or a run killed
//! midway) sees the old file or the new one, never a part of one.
//!
//! Temporary names are `.tufwatch-<pid>-<kind>-<random>`. A run killed with SIGKILL cannot remove
//! its own; [`sweep`] lets a later run remove them once their process is gone, so a nightly job
//! that is killed now and then does not fill the disk with partial images.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

const PREFIX: &str = ".tufwatch-";

/// How long a leftover must have been untouched before [`sweep`] removes it, besides its
/// process being gone: a margin for a run in another PID namespace (a container) writing to a
/// shared directory, whose process this one cannot see.
pub const LEFTOVER_AGE: Duration = Duration::from_secs(600);

/// The prefix of a temporary name for `kind` (`write`, `partial`, `evidence`, ...) made by this
/// process.
pub fn prefix(kind: &str) -> String {
    format!("{PREFIX}{}-{kind}-", std::process::id())
}

/// Write `bytes` to `path` through a temporary file beside it, synced, then renamed over the old
/// file; the directory is synced too, so the rename survives a power loss. `mode` sets the
/// permissions on Unix (a temporary file is 0600 otherwise).
///
/// Only a regular file is ever replaced: anything else at `path` (a directory, a symbolic link,
/// a device, a FIFO, a socket) is refused before a temporary file is made ([`replaceable`]).
pub fn write(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    stage(path, bytes, mode)?.commit()
}

/// A file written whole and synced under a temporary name beside its destination, not yet in
/// place: [`Staged::commit`] renames it there; dropped, it is removed. Several staged files
/// committed together replace a set of files all or none when the disk fills.
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

/// Stage `bytes` for `path` (see [`write`]).
pub fn stage(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<Staged> {
    replaceable(path)?;
    let dir = parent(path);
    let prefix = prefix("write");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix);
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = b.tempfile_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    Ok(Staged {
        tmp,
        path: path.to_owned(),
    })
}

impl Staged {
    /// Rename the file into place (only over a regular file) and sync its directory.
    pub fn commit(self) -> std::io::Result<()> {
        replaceable(&self.path)?;
        self.tmp.persist(&self.path).map_err(|e| e.error)?;
        sync_dir(&parent(&self.path))
    }
}

/// Whether a file may be written at `path`: nothing is there, or a regular file (not followed
/// if it is a symbolic link). Anything else is an `InvalidInput` error naming what it is, so
/// `--out /dev/null` or a FIFO is refused rather than replaced by a regular file.
pub fn replaceable(path: &Path) -> std::io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if meta.file_type().is_file() {
        return Ok(());
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is {}, not a regular file; tufwatch replaces only regular files (name a file, or remove what is there)",
            kind_of(&meta.file_type())
        ),
    ))
}

/// What a file system entry is, in words.
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// The directory a path is in (`.` for a bare file name).
pub fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Flush a directory's entries (a rename in it) to disk. A no-op where directories cannot be
/// opened as files.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Remove from `dir` (not below it) the temporary files and directories of tufwatch runs that
/// are no longer running and have not been touched for [`LEFTOVER_AGE`]. Best effort: what
/// cannot be removed stays, and where this system does not show which processes run (no
/// `/proc`), nothing is removed. Returns the names removed.
pub fn sweep(dir: &Path) -> Vec<String> {
    let mut removed = Vec::new();
    if !Path::new("/proc/self").exists() {
        return removed;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return removed;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = leftover_pid(&name) else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        // symlink_metadata: a link named like a leftover is removed as a link, never followed.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let idle = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if idle < LEFTOVER_AGE {
            continue;
        }
        let gone = if meta.is_dir() {
            std::fs::remove_dir_all(entry.path())
        } else {
            std::fs::remove_file(entry.path())
        };
        if gone.is_ok() {
            tracing::info!(path = %entry.path().display(), "removed what a killed run left");
            removed.push(name);
        }
    }
    removed
}

/// The process id in a temporary name `.tufwatch-<pid>-<kind>-<random>`.
fn leftover_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let (pid, rest) = rest.split_once('-')?;
    if rest.is_empty() || pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_process() {
        assert_eq!(leftover_pid(".tufwatch-123-partial-AbC"), Some(123));
        assert_eq!(leftover_pid(".tufwatch-partial-AbC"), None);
        assert_eq!(leftover_pid(".tufwatch-12x-partial-AbC"), None);
        assert_eq!(leftover_pid("tufwatch-123-partial"), None);
        let dir = tempfile::tempdir().unwrap();
        let tmp = tempfile::Builder::new()
            .prefix(&prefix("partial"))
            .tempfile_in(dir.path())
            .unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(leftover_pid(&name), Some(std::process::id()));
    }

    #[test]
    fn only_regular_files_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("report.txt");
        write(&file, b"one", None).unwrap();
        write(&file, b"two", None).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        let e = write(&sub, b"x", None).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            let e = write(&link, b"x", None).unwrap_err();
            assert!(e.to_string().contains("symbolic link"), "{e}");
            assert_eq!(std::fs::read(&file).unwrap(), b"two");
        }
        // Nothing was left beside them.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), if cfg!(unix) { 3 } else { 2 }, "{names:?}");
    }

    #[test]
    fn only_old_leftovers_of_gone_processes_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        // A pid above the kernel's limit (2^22) cannot be running.
        let dead = dir.path().join(".tufwatch-4194305-partial-x");
        let dead_dir = dir.path().join(".tufwatch-4194305-evidence-y");
        let fresh = dir.path().join(".tufwatch-4194305-partial-z");
        let mine = dir
            .path()
            .join(format!(".tufwatch-{}-partial-w", std::process::id()));
        let other = dir.path().join("image.img");
        for f in [&dead, &fresh, &mine, &other] {
            std::fs::write(f, b"x").unwrap();
        }
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("statement.json"), b"{}").unwrap();
        let old = SystemTime::now() - 2 * LEFTOVER_AGE;
        for f in [&dead, &mine, &other, &dead_dir] {
            std::fs::File::open(f).unwrap().set_modified(old).unwrap();
        }
        let mut removed = sweep(dir.path());
        removed.sort();
        if Path::new("/proc/self").exists() {
            assert_eq!(
                removed,
                [
                    ".tufwatch-4194305-evidence-y",
                    ".tufwatch-4194305-partial-x"
                ]
            );
        }
        assert!(fresh.exists() && mine.exists() && other.exists());
    }
}

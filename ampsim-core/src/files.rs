//! Writing files atomically: through a temporary file in the same folder and a rename, so
//! readers never see a half-written file and a failure leaves the old file (or none) in place.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Write a file at `path` by calling `write` with a temporary path beside it (same extension,
/// so writers that go by it choose the right format), then renaming it into place. The folder
/// must exist. On any failure the temporary file is removed.
pub fn write_atomic_with(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| Error::invalid("path", format!("{} has no file name", path.display())))?;
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    let tmp = dir.join(format!(".{}.{}.tmp{ext}", name.to_string_lossy(), std::process::id()));
    let result = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write `bytes` to `path` atomically (see [`write_atomic_with`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |tmp| {
        let mut f = std::fs::File::create(tmp).map_err(|e| Error::io(path, e))?;
        f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| Error::io(path, e))
    })
}

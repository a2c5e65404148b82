//! A plugin binary that carries its model. `ampsim plugin` appends to a copy of the plugin's
//! shared library what the plugin is (its identifier, name and parameters) and the `.nam` it
//! plays; the dynamic loader ignores bytes after the ELF image, and the plugin reads them back
//! from its own file when the host loads it. One file per model: a `.clap` can be copied alone,
//! and an LV2 bundle's binary is the same file. A library with nothing appended is the loader.
//!
//! Layout at the end of the file: `header JSON`, `model bytes`, then 32 bytes: the header's
//! length and the model's length (u64, little-endian) and [`MAGIC`].

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::params::ParamSpec;

/// The last 16 bytes of a plugin binary that carries a model.
pub const MAGIC: &[u8; 16] = b"ampsim-plugin-1\0";

/// Largest header and model read back (a `.nam` of NAM's largest presets is a few MB).
const MAX_HEADER_BYTES: u64 = 1 << 20;
const MAX_MODEL_BYTES: u64 = 256 << 20;

/// What a plugin that carries a model is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// The plugin's identity: `urn:ampsim:<slug>` (LV2 URI) and `org.ampsim.<slug>` (CLAP id).
    pub slug: String,
    /// The name a host lists.
    pub name: String,
    /// The model's sample rate.
    pub sample_rate_hz: u32,
    /// The parameters, in port order after the audio ports.
    pub params: Vec<ParamSpec>,
}

/// `binary` with `header` and `model` appended.
pub fn append(binary: &[u8], header: &Header, model: &[u8]) -> Vec<u8> {
    let head = serde_json::to_vec(header).expect("a header serialises");
    let mut out = Vec::with_capacity(binary.len() + head.len() + model.len() + 32);
    out.extend_from_slice(binary);
    out.extend_from_slice(&head);
    out.extend_from_slice(model);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&(model.len() as u64).to_le_bytes());
    out.extend_from_slice(MAGIC);
    out
}

/// The header and model a plugin binary carries: `Ok(None)` for a plain library (the loader).
pub fn read(path: &Path) -> Result<Option<(Header, Vec<u8>)>, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::File::open(path).map_err(fail)?;
    let len = f.seek(SeekFrom::End(0)).map_err(fail)?;
    if len < 32 {
        return Ok(None);
    }
    let mut tail = [0u8; 32];
    f.seek(SeekFrom::End(-32)).map_err(fail)?;
    f.read_exact(&mut tail).map_err(fail)?;
    if &tail[16..] != MAGIC {
        return Ok(None);
    }
    let head_len = u64::from_le_bytes(tail[..8].try_into().unwrap());
    let model_len = u64::from_le_bytes(tail[8..16].try_into().unwrap());
    if head_len > MAX_HEADER_BYTES || model_len > MAX_MODEL_BYTES || head_len + model_len + 32 > len {
        return Err(format!("{}: the model it carries is damaged (lengths {head_len} and {model_len} do not fit the file)", path.display()));
    }
    f.seek(SeekFrom::Start(len - 32 - model_len - head_len)).map_err(fail)?;
    let mut head = vec![0u8; head_len as usize];
    f.read_exact(&mut head).map_err(fail)?;
    let mut model = vec![0u8; model_len as usize];
    f.read_exact(&mut model).map_err(fail)?;
    let header = serde_json::from_slice(&head).map_err(|e| format!("{}: the plugin header it carries is damaged ({e})", path.display()))?;
    Ok(Some((header, model)))
}

/// The file this code was loaded from (the plugin's shared library), found by the dynamic
/// loader's record of the address of a function in it.
pub fn own_library() -> Option<std::path::PathBuf> {
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let here = own_library as *const () as *const libc::c_void;
    // SAFETY: dladdr only reads the loader's tables and fills `info`.
    if unsafe { libc::dladdr(here, &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated path owned by the loader.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt;
    Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_appended_to_a_library_reads_back_and_a_plain_or_damaged_file_is_told_apart() {
        let dir = std::env::temp_dir().join(format!("ampsim-embedded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = Header { slug: "jvm".into(), name: "JVM".into(), sample_rate_hz: 48_000, params: crate::params::for_model(&[]) };
        let binary = b"\x7fELF pretend library".to_vec();
        let carrying = append(&binary, &header, b"{\"model\": 1}");
        let (plain, with) = (dir.join("plain.so"), dir.join("with.so"));
        std::fs::write(&plain, &binary).unwrap();
        std::fs::write(&with, &carrying).unwrap();
        assert_eq!(read(&plain).unwrap(), None);
        assert_eq!(read(&with).unwrap(), Some((header, b"{\"model\": 1}".to_vec())));
        // Lengths that point outside the file: an error, not a panic or a huge allocation.
        let mut damaged = carrying.clone();
        let at = damaged.len() - 32;
        damaged[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        std::fs::write(&with, &damaged).unwrap();
        assert!(read(&with).unwrap_err().contains("damaged"));
        assert!(read(&dir.join("missing.so")).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}

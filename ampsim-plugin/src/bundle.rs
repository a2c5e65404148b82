//! Writing a model as its own plugin: an LV2 bundle (`lv2/<slug>.lv2/` with `manifest.ttl`, the
//! plugin's description and its binary) and a CLAP file (`clap/<slug>.clap`), both carrying the
//! model inside the binary ([`crate::embedded`]). Written atomically: a folder or file appears
//! complete under its name, or not at all.

use std::path::{Path, PathBuf};

use ampsim_engine::nam::NamFile;

use crate::embedded::{self, Header};
use crate::lv2::ttl;
use crate::params;

/// File name of the plugin library cargo builds.
pub const LIBRARY_FILE: &str = "libampsim_plugin.so";
/// The binary's name inside an LV2 bundle.
pub const LV2_BINARY: &str = "ampsim_plugin.so";
/// The plugin description's name inside an LV2 bundle.
pub const LV2_DESCRIPTION: &str = "plugin.ttl";

/// What went wrong while writing a plugin.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },
    #[error("{0}")]
    Model(String),
    #[error("the plugin library ({LIBRARY_FILE}) was not found: {0}")]
    NoLibrary(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |cause| BundleError::Io { path: path.to_path_buf(), cause }
}

/// What was written.
#[derive(Debug)]
pub struct Written {
    pub header: Header,
    pub lv2_bundle: PathBuf,
    pub clap_file: PathBuf,
}

/// A plugin's slug from its name: lower-case letters, digits and `-`.
pub fn slug_of(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-').to_string();
    if slug.is_empty() {
        "model".into()
    } else {
        slug
    }
}

/// The plugin library: `$AMPSIM_PLUGIN_LIB`, else the optimised build `make plugin` writes
/// (`target/release/`, beside the running program's `target/<profile>/`), else the one beside the
/// running program (cargo puts the library and `ampsim` in one folder), the folder above it
/// (tests run from `deps/`), or `deps/` beside it (a library built only as `ampsim`'s dependency).
pub fn find_library() -> Result<PathBuf, BundleError> {
    if let Some(p) = std::env::var_os("AMPSIM_PLUGIN_LIB").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if p.is_file() { Ok(p) } else { Err(BundleError::NoLibrary(format!("AMPSIM_PLUGIN_LIB={} is not a file", p.display()))) };
    }
    let exe = std::env::current_exe().map_err(|e| BundleError::NoLibrary(e.to_string()))?;
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(target) = exe.parent().and_then(Path::parent) {
        dirs.push(target.join("release"));
    }
    dirs.extend(exe.ancestors().skip(1).take(2).map(Path::to_path_buf));
    // Built only as a dependency of `ampsim`, cargo leaves the library in `deps/`; `make
    // install` puts it in `PREFIX/lib/ampsim/` beside `PREFIX/bin/ampsim`.
    if let Some(dir) = exe.parent() {
        dirs.push(dir.join("deps"));
        dirs.push(dir.join("../lib/ampsim"));
    }
    for d in &dirs {
        let p = d.join(LIBRARY_FILE);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(BundleError::NoLibrary(format!("looked beside {} (build it with `make plugin`, or set AMPSIM_PLUGIN_LIB)", exe.display())))
}

/// Where plugins go: LV2 bundles and CLAP files in folders of their own (an LV2 host reads
/// every entry of its folders as a bundle).
#[derive(Clone, Debug)]
pub struct Destination {
    pub lv2_dir: PathBuf,
    pub clap_dir: PathBuf,
}

impl Destination {
    /// `<dir>/lv2/` and `<dir>/clap/`.
    pub fn under(dir: &Path) -> Destination {
        Destination { lv2_dir: dir.join("lv2"), clap_dir: dir.join("clap") }
    }

    /// The user's own plugin folders on Linux: `~/.lv2/` and `~/.clap/`.
    pub fn user() -> Result<Destination, BundleError> {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty()).ok_or_else(|| BundleError::Model("HOME is not set: give --out".into()))?;
        let home = PathBuf::from(home);
        Ok(Destination { lv2_dir: home.join(".lv2"), clap_dir: home.join(".clap") })
    }
}

/// Write `model` as the plugin `name`: `<slug>.lv2/` and `<slug>.clap` in `to`, from the plugin
/// library `library`.
pub fn write_model_plugin(library: &Path, model: &Path, name: &str, to: &Destination) -> Result<Written, BundleError> {
    let text = std::fs::read_to_string(model).map_err(io(model))?;
    let file = NamFile::parse(&text, &model.display().to_string()).map_err(|e| BundleError::Model(e.to_string()))?;
    // Refuse here what would fail in the host.
    file.renderer().map_err(|e| BundleError::Model(e.to_string()))?;
    let binary = std::fs::read(library).map_err(io(library))?;
    if embedded::read(library).map_err(BundleError::Model)?.is_some() {
        return Err(BundleError::NoLibrary(format!("{} already carries a model", library.display())));
    }
    let header = Header { slug: slug_of(name), name: name.trim().to_string(), sample_rate_hz: file.sample_rate_hz.unwrap_or(48_000), params: params::for_model(&file.controls) };
    let carrying = embedded::append(&binary, &header, text.as_bytes());
    for dir in [&to.lv2_dir, &to.clap_dir] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let lv2_bundle = to.lv2_dir.join(format!("{}.lv2", header.slug));
    let files = [
        ("manifest.ttl", ttl::manifest(&header, LV2_BINARY, LV2_DESCRIPTION).into_bytes()),
        (LV2_DESCRIPTION, ttl::plugin(&header, false).into_bytes()),
        (LV2_BINARY, carrying.clone()),
    ];
    write_folder(&lv2_bundle, &files)?;
    let clap_file = to.clap_dir.join(format!("{}.clap", header.slug));
    write_file(&clap_file, &carrying, true)?;
    Ok(Written { header, lv2_bundle, clap_file })
}

/// Write the loader, the plugin that plays any `.nam` the host gives it: `ampsim.lv2/` and
/// `ampsim.clap` in `to`, from the plugin library `library` (which must carry no model).
pub fn write_loader(library: &Path, to: &Destination) -> Result<Written, BundleError> {
    let binary = std::fs::read(library).map_err(io(library))?;
    if embedded::read(library).map_err(BundleError::Model)?.is_some() {
        return Err(BundleError::NoLibrary(format!("{} carries a model: the loader is the plain library", library.display())));
    }
    let header = crate::lv2::loader_header();
    for dir in [&to.lv2_dir, &to.clap_dir] {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let lv2_bundle = to.lv2_dir.join("ampsim.lv2");
    let files = [
        ("manifest.ttl", ttl::manifest(&header, LV2_BINARY, LV2_DESCRIPTION).into_bytes()),
        (LV2_DESCRIPTION, ttl::plugin(&header, true).into_bytes()),
        (LV2_BINARY, binary.clone()),
    ];
    write_folder(&lv2_bundle, &files)?;
    let clap_file = to.clap_dir.join("ampsim.clap");
    write_file(&clap_file, &binary, true)?;
    Ok(Written { header, lv2_bundle, clap_file })
}

/// Write `bytes` to `path` through a temporary file beside it.
pub fn write_file(path: &Path, bytes: &[u8], executable: bool) -> Result<(), BundleError> {
    let tmp = path.with_file_name(format!(".{}.tmp-{}", path.file_name().unwrap_or_default().to_string_lossy(), std::process::id()));
    let result = (|| {
        std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
        if executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Write a folder of files: built beside it, then renamed into place (an older one replaced).
pub fn write_folder(path: &Path, files: &[(&str, Vec<u8>)]) -> Result<(), BundleError> {
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let old = path.with_file_name(format!(".{name}.old-{}", std::process::id()));
    let result = (|| {
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        for (file, bytes) in files {
            std::fs::write(tmp.join(file), bytes).map_err(io(&tmp.join(file)))?;
        }
        if path.exists() {
            std::fs::rename(path, &old).map_err(io(path))?;
        }
        std::fs::rename(&tmp, path).map_err(io(path))
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_dir_all(&old);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_slugs() {
        assert_eq!(slug_of("JVM410H crunch"), "jvm410h-crunch");
        assert_eq!(slug_of("  Marshall -- JVM (OD1)! "), "marshall-jvm-od1");
        assert_eq!(slug_of("ünïcode"), "n-code");
        assert_eq!(slug_of("!!"), "model");
    }
}

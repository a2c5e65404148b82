//! What the notebooks need to know about where they run: quick mode, libtorch, threads, device.

use std::path::{Path, PathBuf};

/// Name of the environment variable that switches the notebooks to quick mode.
pub const QUICK_ENV: &str = "AMPSIM_QUICK";

/// `true` when `AMPSIM_QUICK` is set to `1`, `true` or `yes` (case-insensitive).
///
/// Quick mode is what `make test` uses: notebooks shrink data ranges and epochs so the
/// whole suite runs in minutes. Full mode (the default) uses the blog post's numbers.
pub fn quick_mode() -> bool {
    std::env::var(QUICK_ENV)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// Pick `full` normally and `quick` in quick mode.
pub fn quick_or<T>(quick: T, full: T) -> T {
    if quick_mode() {
        quick
    } else {
        full
    }
}

/// The libtorch version tch 0.26 is built against.
pub const REQUIRED_LIBTORCH: &str = "2.13.0";

/// Seconds of audio processed per second of wall time when `work` renders `audio_seconds` of
/// audio on one libtorch thread (the thread count is restored afterwards).
pub fn one_thread_real_time_factor<T>(audio_seconds: f64, work: impl FnOnce() -> crate::Result<T>) -> crate::Result<f64> {
    let threads = tch::get_num_threads();
    tch::set_num_threads(1);
    let t = std::time::Instant::now();
    let out = work();
    let seconds = t.elapsed().as_secs_f64();
    tch::set_num_threads(threads);
    out?;
    Ok(audio_seconds / seconds.max(1e-9))
}

/// Facts about the libtorch runtime, printed by the environment notebook.
#[derive(Debug, Clone)]
pub struct RuntimeInfo {
    /// Version string of the loaded libtorch when it can be found (e.g. `2.13.0+cu128`).
    pub libtorch_version: Option<String>,
    /// Directory the libtorch shared libraries come from, when known.
    pub libtorch_dir: Option<PathBuf>,
    pub cuda_available: bool,
    pub cuda_device_count: i64,
    pub cudnn_available: bool,
    /// Intra-op threads libtorch uses.
    pub threads: i32,
    /// The device training will use: CUDA 0 when available, otherwise CPU.
    pub device: tch::Device,
    pub quick_mode: bool,
}

impl RuntimeInfo {
    /// Query libtorch and the environment.
    pub fn query() -> Self {
        let libtorch_dir = find_libtorch_dir();
        let libtorch_version = libtorch_dir.as_deref().and_then(read_libtorch_version);
        RuntimeInfo {
            libtorch_version,
            libtorch_dir,
            cuda_available: tch::Cuda::is_available(),
            cuda_device_count: tch::Cuda::device_count(),
            cudnn_available: tch::Cuda::cudnn_is_available(),
            threads: tch::get_num_threads(),
            device: tch::Device::cuda_if_available(),
            quick_mode: quick_mode(),
        }
    }
}

impl std::fmt::Display for RuntimeInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "libtorch version : {} (tch 0.26 requires {REQUIRED_LIBTORCH})",
            self.libtorch_version.as_deref().unwrap_or("unknown")
        )?;
        if let Some(dir) = &self.libtorch_dir {
            writeln!(f, "libtorch dir     : {}", dir.display())?;
        }
        writeln!(
            f,
            "CUDA available   : {} ({} device(s), cuDNN {})",
            self.cuda_available, self.cuda_device_count, self.cudnn_available
        )?;
        writeln!(f, "threads          : {}", self.threads)?;
        writeln!(f, "training device  : {:?}", self.device)?;
        write!(f, "quick mode       : {}", self.quick_mode)
    }
}

/// The libtorch library directory: `$LIBTORCH/lib`, else the first entry of
/// `LD_LIBRARY_PATH` that holds `libtorch_cpu.so`.
fn find_libtorch_dir() -> Option<PathBuf> {
    if let Ok(root) = std::env::var("LIBTORCH") {
        let lib = Path::new(&root).join("lib");
        if lib.is_dir() {
            return Some(lib);
        }
    }
    let paths = std::env::var_os("LD_LIBRARY_PATH")?;
    std::env::split_paths(&paths).find(|p| p.join("libtorch_cpu.so").exists())
}

/// Read the version from a PyTorch wheel (`torch/version.py` beside `torch/lib`) or a
/// libtorch archive (`build-version` beside `lib`).
fn read_libtorch_version(lib_dir: &Path) -> Option<String> {
    let root = lib_dir.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("build-version")) {
        return Some(text.trim().to_string());
    }
    let text = std::fs::read_to_string(root.join("version.py")).ok()?;
    text.lines()
        .find(|l| l.starts_with("__version__"))
        .and_then(|l| l.split(['\'', '"']).nth(1))
        .map(str::to_string)
}

/// Environment variable that points the notebooks at another recording (default: the built-in one).
pub const DATA_ENV: &str = "AMPSIM_DATA";

/// The project root: the nearest folder at or above the current directory whose `Cargo.toml`
/// declares the workspace. Falls back to the current directory.
pub fn project_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    for dir in cwd.ancestors() {
        if let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) {
            if text.contains("[workspace]") {
                return dir.to_path_buf();
            }
        }
    }
    cwd
}

/// The recording the notebooks read: `$AMPSIM_DATA` when set, else `default` (relative paths
/// are taken from the notebook's folder, as written).
pub fn data_path(default: &str) -> PathBuf {
    std::env::var_os(DATA_ENV).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

/// Where figures go: `figures/` in full mode; `target/quick/figures/` in quick mode, so that
/// `make test` never overwrites the figures of a full run.
pub fn figures_dir() -> PathBuf {
    mode_dir("figures")
}

/// Where trained models go: `models/` in full mode; `target/quick/models/` in quick mode.
pub fn models_dir() -> PathBuf {
    mode_dir("models")
}

fn mode_dir(name: &str) -> PathBuf {
    let root = project_root();
    if quick_mode() {
        root.join("target").join("quick").join(name)
    } else {
        root.join(name)
    }
}

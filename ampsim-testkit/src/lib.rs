//! What ampsim's tests share.
//!
//! ## Real data beside the repository
//! The tests on real recordings and on NAM's own files read them from a folder beside the
//! checkout, `../shared/` (or `$AMPSIM_SHARED`): it is not part of the project, so a fresh clone
//! has none. [`shared`] finds a path under it; when it is absent the test skips:
//! - it says so on stderr and, when `$AMPSIM_SKIP_LOG` names a file, adds one line there
//!   (`make test` prints that file at the end, since cargo hides a passing test's output);
//! - unless `AMPSIM_REQUIRE_SHARED=1` (as CI sets, beside `../shared`): then a missing fixture
//!   fails the test, so a green CI proves the real-data tests ran.
//!
//! ## Counting allocations
//! The real-time contract (no allocation while playing) is tested by counting: a test binary
//! installs [`alloc::Counting`] as its global allocator and runs the audio code inside
//! [`alloc::allocations`].

use std::io::Write;
use std::path::PathBuf;

/// The folder of real data: `$AMPSIM_SHARED`, else `shared/` beside the repository. The
/// repository is the one the test runs in (cargo sets `CARGO_MANIFEST_DIR` when it runs a test),
/// not the one this crate was compiled in: a build copied to another checkout looks beside that.
pub fn shared_root() -> PathBuf {
    match std::env::var_os("AMPSIM_SHARED") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let package = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
            package.join("../../shared")
        }
    }
}

/// Whether missing real data must fail the tests (`AMPSIM_REQUIRE_SHARED=1`).
pub fn shared_required() -> bool {
    std::env::var("AMPSIM_REQUIRE_SHARED").is_ok_and(|v| v == "1")
}

/// `relative` under [`shared_root`] if it exists; else the test skips (see the crate doc):
/// `None`, or a panic when the shared data are required.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let path = shared_root().join(relative);
    if path.exists() {
        return Some(path);
    }
    let why = format!("{} is absent", path.display());
    assert!(!shared_required(), "AMPSIM_REQUIRE_SHARED=1 but {why}");
    skipped(&why);
    None
}

/// Record that the running test skipped its work, and why.
pub fn skipped(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    eprintln!("skipping {test}: {why}");
    if let Some(log) = std::env::var_os("AMPSIM_SKIP_LOG").filter(|p| !p.is_empty()) {
        let binary = std::env::args().next().map(|a| PathBuf::from(a)).and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())).unwrap_or_default();
        // One short write per line with O_APPEND: lines from parallel tests do not mix.
        let line = format!("{} {test}: {why}\n", binary.rsplit_once('-').map_or(binary.as_str(), |(name, _hash)| name));
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&log) {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// `n` pseudo-random values, uniform in ±`amplitude`, from `seed` (the same on every machine):
/// the weights of the models the tests and benchmarks build without training.
pub fn seeded_weights(n: usize, seed: u64, amplitude: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * amplitude
        })
        .collect()
}

pub mod alloc {
    //! An allocator that counts, per thread, the allocations made while asked to.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    /// Install with `#[global_allocator] static A: Counting = Counting;`.
    pub struct Counting;

    thread_local! {
        static COUNTING: Cell<bool> = const { Cell::new(false) };
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    fn count() {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|a| a.set(a.get() + 1));
        }
    }

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            count();
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            count();
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            count();
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Allocations (and frees) made while running `f` on this thread.
    pub fn allocations(f: impl FnOnce()) -> usize {
        ALLOCATIONS.with(|a| a.set(0));
        COUNTING.with(|c| c.set(true));
        f();
        COUNTING.with(|c| c.set(false));
        ALLOCATIONS.with(Cell::get)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_is_skipped_and_logged_unless_required() {
        let dir = std::env::temp_dir().join(format!("ampsim-testkit-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("present")).unwrap();
        let log = dir.join("skipped.txt");
        // Tests in this crate's binary share the environment: this is the only one touching it.
        std::env::set_var("AMPSIM_SHARED", &dir);
        std::env::set_var("AMPSIM_SKIP_LOG", &log);
        std::env::remove_var("AMPSIM_REQUIRE_SHARED");
        assert_eq!(shared("present"), Some(dir.join("present")));
        assert!(!log.exists(), "nothing skipped yet");
        assert_eq!(shared("absent"), None);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("a_missing_folder_is_skipped_and_logged_unless_required") && text.contains("absent is absent"), "{text}");
        std::env::set_var("AMPSIM_REQUIRE_SHARED", "1");
        let required = std::panic::catch_unwind(|| shared("absent"));
        std::env::remove_var("AMPSIM_REQUIRE_SHARED");
        assert!(required.is_err(), "a missing fixture must fail when required");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Play `x` through `process` in blocks of the given sizes, cycling through them (as a host
/// calls a plugin): the output, as long as `x`. `process(input, output)` is a model's
/// `Renderer::process`, or anything that plays in blocks.
pub fn play_in_blocks(x: &[f32], blocks: &[usize], mut process: impl FnMut(&[f32], &mut [f32])) -> Vec<f32> {
    assert!(blocks.iter().all(|&b| b > 0), "block sizes must be positive");
    let mut y = vec![0.0; x.len()];
    let (mut at, mut i) = (0, 0);
    while at < x.len() {
        let n = blocks[i % blocks.len()].min(x.len() - at);
        process(&x[at..at + n], &mut y[at..at + n]);
        at += n;
        i += 1;
    }
    y
}

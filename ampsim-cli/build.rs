//! The `ampsim` binary finds its libtorch by itself: the folder torch-sys linked against
//! (PyTorch's wheel in the project's cached venv, or $LIBTORCH) is written into the binary as its
//! run path, so it starts from any shell, without `tools/env.sh` or LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg-bins=-Wl,-rpath,{dir}");
    }
}

//! Real-time factor of a `.nam` file in ampsim-engine on one thread, with the same arguments as
//! the `bench_rt` of NAM's C++ core (`../shared/peers/namcore`), so that both can be run side by
//! side on the same pinned core, file and input (`make bench` does when that build is there):
//!
//! `bench_nam MODEL.nam SECONDS BLOCK [--slim F] [--in IN.wav]` → "real-time factor: X" and
//! "us per block: Y". The input (channel 0 of IN.wav, looped) or a guitar-like test signal;
//! only the processing loop is timed.

use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: bench_nam MODEL.nam SECONDS BLOCK [--slim F] [--in IN.wav]");
        std::process::exit(2);
    }
    let (seconds, block): (f64, usize) = (args[2].parse().expect("SECONDS"), args[3].parse().expect("BLOCK"));
    let (mut slim, mut input) = (None, None);
    let mut i = 4;
    while i < args.len() {
        match args[i].as_str() {
            "--slim" => slim = args.get(i + 1).and_then(|v| v.parse::<f64>().ok()),
            "--in" => input = args.get(i + 1).cloned(),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    let file = ampsim_engine::nam::NamFile::read(&args[1]).unwrap_or_else(|e| panic!("{e}"));
    let chosen = match slim {
        Some(s) if !file.submodels().is_empty() => file.slimmed(s),
        _ => &file,
    };
    let mut model = chosen.renderer().unwrap_or_else(|e| panic!("{e}"));
    if let (Some(s), true) = (slim, file.submodels().is_empty()) {
        model.set_slim(s);
    }
    let n = (seconds * 48_000.0) as usize;
    let source: Vec<f32> = match input {
        Some(p) => hound::WavReader::open(&p).unwrap_or_else(|e| panic!("{p}: {e}")).into_samples::<f32>().map(Result::unwrap).collect(),
        None => (0..48_000).map(|i| 0.25 * (-(i % 24_000) as f32 / 8_000.0).exp() * (i as f32 * 0.0144).sin()).collect(),
    };
    let x: Vec<f32> = source.iter().cycle().take(n).copied().collect();
    let mut y = vec![0.0f32; block];
    let _flush = DenormalsOff::new();
    let start = Instant::now();
    for chunk in x.chunks(block) {
        model.process(chunk, &mut y[..chunk.len()]);
    }
    let s = start.elapsed().as_secs_f64();
    std::hint::black_box(&y);
    println!("real-time factor: {:.2}", seconds / s);
    println!("us per block: {:.3}", s * 1e6 / (n as f64 / block as f64));
}

/// Denormals flushed to zero, as a plugin (and NAM's) runs.
struct DenormalsOff;

impl DenormalsOff {
    fn new() -> DenormalsOff {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: sets this thread's SSE control flags (FTZ, DAZ).
        unsafe {
            let mut csr: u32 = 0;
            std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
            csr |= 0x8040;
            std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack));
        }
        DenormalsOff
    }
}

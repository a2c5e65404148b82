//! Join stereo takes end to end with digital silence between them, as a DAW exports a session:
//!
//!     cargo run --release -p ampsim-core --example join_takes -- OUT.wav GAP_SECONDS TAKE.wav...
//!
//! The README's *Your own recording* trains on the JVM410H takes joined this way (0.2-s gaps).

use ampsim_core::data::audio::{write_wav, WavEncoding};
use ampsim_core::Recording;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [out, gap, takes @ ..] = &args[..] else {
        return Err("usage: join_takes OUT.wav GAP_SECONDS TAKE.wav...".into());
    };
    let takes = takes.iter().map(Recording::load).collect::<ampsim_core::Result<Vec<_>>>()?;
    let gap_seconds: f64 = gap.parse()?;
    let rate = takes.first().ok_or("no takes given")?.sample_rate_hz;
    let rec = Recording::joined(&takes, (gap_seconds * rate as f64).round() as usize)?;
    write_wav(out, &[&rec.direct, &rec.amp], rec.sample_rate_hz, WavEncoding::Float32)?;
    println!("wrote {out}: {} takes, {:.1} s at {} Hz", takes.len(), rec.duration_seconds(), rec.sample_rate_hz);
    Ok(())
}

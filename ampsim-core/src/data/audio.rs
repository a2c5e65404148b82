//! Audio I/O: read any common WAV file into `f32` channels, write WAV files atomically.
//!
//! Supported on input: 8/16/24/32-bit integer PCM and 32-bit float, any sample rate, any
//! number of channels. The sample rate always travels with the samples ([`WavAudio`]).

use std::path::{Path, PathBuf};

use crate::files::write_atomic;
use crate::{Error, Result};

/// Decoded WAV file: one `Vec<f32>` per channel, in [-1, 1] for integer formats.
#[derive(Debug, Clone)]
pub struct WavAudio {
    pub path: PathBuf,
    pub sample_rate_hz: u32,
    /// Samples per channel, de-interleaved.
    pub channels: Vec<Vec<f32>>,
    /// Bits per sample in the file.
    pub bits_per_sample: u16,
    /// `true` for IEEE float files.
    pub is_float: bool,
}

impl WavAudio {
    /// Frames (samples per channel).
    pub fn len_frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// Duration in seconds.
    pub fn duration_seconds(&self) -> f64 {
        self.len_frames() as f64 / self.sample_rate_hz as f64
    }

    /// Short description of the encoding, e.g. `16-bit PCM`.
    pub fn format_name(&self) -> String {
        if self.is_float {
            format!("{}-bit float", self.bits_per_sample)
        } else {
            format!("{}-bit PCM", self.bits_per_sample)
        }
    }
}

/// Read a WAV file. Errors name the file and say what is wrong: missing, not a WAV,
/// unsupported encoding, truncated, or empty.
pub fn read_wav(path: impl AsRef<Path>) -> Result<WavAudio> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let wav_err = |reason: String| Error::Wav { path: path.to_path_buf(), reason };
    let reader = hound::WavReader::new(std::io::BufReader::new(file)).map_err(|e| wav_err(describe(e)))?;
    let spec = reader.spec();
    if spec.channels == 0 {
        return Err(wav_err("header declares 0 channels".into()));
    }
    if spec.sample_rate == 0 {
        return Err(wav_err("header declares a sample rate of 0 Hz".into()));
    }
    let n_ch = spec.channels as usize;
    let declared = reader.len() as usize;
    let mut interleaved: Vec<f32> = Vec::with_capacity(declared);
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            for s in reader.into_samples::<f32>() {
                interleaved.push(s.map_err(|e| wav_err(truncated(e, interleaved.len(), declared)))?);
            }
        }
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f64;
            for s in reader.into_samples::<i32>() {
                let v = s.map_err(|e| wav_err(truncated(e, interleaved.len(), declared)))?;
                interleaved.push((v as f64 * scale) as f32);
            }
        }
        (fmt, bits) => {
            return Err(wav_err(format!("unsupported encoding: {bits}-bit {fmt:?}")));
        }
    }
    if interleaved.is_empty() {
        return Err(Error::Audio { path: path.to_path_buf(), reason: "contains no samples".into() });
    }
    let frames = interleaved.len() / n_ch;
    let mut channels = vec![Vec::with_capacity(frames); n_ch];
    for frame in interleaved.chunks_exact(n_ch) {
        for (c, &s) in frame.iter().enumerate() {
            channels[c].push(s);
        }
    }
    Ok(WavAudio {
        path: path.to_path_buf(),
        sample_rate_hz: spec.sample_rate,
        channels,
        bits_per_sample: spec.bits_per_sample,
        is_float: spec.sample_format == hound::SampleFormat::Float,
    })
}

fn describe(e: hound::Error) -> String {
    match e {
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "file ends inside the header (truncated or empty)".into()
        }
        hound::Error::FormatError(m) => format!("bad format: {m}"),
        hound::Error::Unsupported => "unsupported WAV variant".into(),
        other => other.to_string(),
    }
}

fn truncated(e: hound::Error, read: usize, declared: usize) -> String {
    match e {
        hound::Error::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            format!("truncated: header declares {declared} samples, file holds only {read}")
        }
        other if other.to_string().contains("enough bytes") => {
            format!("truncated: header declares {declared} samples, file holds only {read}")
        }
        other => describe(other),
    }
}

/// Sample encoding for [`write_wav`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WavEncoding {
    /// 16-bit integer PCM, values clipped to [-1, 1].
    Pcm16,
    /// 32-bit IEEE float.
    Float32,
}

/// Convert a sample in [-1, 1] to 16-bit PCM (scale 32768 as on reading; rounded, clipped).
pub fn f32_to_i16(s: f32) -> i16 {
    (s as f64 * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Write channels of equal length as an interleaved WAV file, atomically.
pub fn write_wav(
    path: impl AsRef<Path>,
    channels: &[&[f32]],
    sample_rate_hz: u32,
    encoding: WavEncoding,
) -> Result<()> {
    let path = path.as_ref();
    if channels.is_empty() {
        return Err(Error::invalid("channels", "no channels to write"));
    }
    if sample_rate_hz == 0 {
        return Err(Error::invalid("sample_rate_hz", "must be positive"));
    }
    let n = channels[0].len();
    if channels.iter().any(|c| c.len() != n) {
        return Err(Error::invalid("channels", "channels differ in length"));
    }
    let spec = hound::WavSpec {
        channels: channels.len() as u16,
        sample_rate: sample_rate_hz,
        bits_per_sample: if encoding == WavEncoding::Pcm16 { 16 } else { 32 },
        sample_format: if encoding == WavEncoding::Pcm16 {
            hound::SampleFormat::Int
        } else {
            hound::SampleFormat::Float
        },
    };
    let mut bytes = std::io::Cursor::new(Vec::with_capacity(n * channels.len() * 4 + 64));
    {
        let hound_err = |e: hound::Error| Error::Wav { path: path.to_path_buf(), reason: e.to_string() };
        let mut w = hound::WavWriter::new(&mut bytes, spec).map_err(hound_err)?;
        for i in 0..n {
            for c in channels {
                match encoding {
                    WavEncoding::Pcm16 => w.write_sample(f32_to_i16(c[i])),
                    WavEncoding::Float32 => w.write_sample(c[i]),
                }
                .map_err(hound_err)?;
            }
        }
        w.finalize().map_err(hound_err)?;
    }
    write_atomic(path, bytes.get_ref())
}

/// Why `x` cannot be used: NaN or infinite samples (how many, the first where), or `None`.
pub fn non_finite(channel: &str, x: &[f32], sample_rate_hz: u32) -> Option<String> {
    let first = x.iter().position(|v| !v.is_finite())?;
    let count = x.iter().filter(|v| !v.is_finite()).count();
    Some(format!("the {channel} channel has {count} NaN or infinite samples, the first at {:.3} s (sample {first}): the file is damaged; export it again", first as f64 / sample_rate_hz as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        crate::test_util::tmpdir("audio", tag)
    }

    #[test]
    fn roundtrip_pcm16_and_float() {
        let d = tmpdir("rt");
        let l: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin() * 0.8).collect();
        let r: Vec<f32> = l.iter().map(|x| -x * 0.5).collect();
        for enc in [WavEncoding::Pcm16, WavEncoding::Float32] {
            let p = d.join(format!("{enc:?}.wav"));
            write_wav(&p, &[&l, &r], 48_000, enc).unwrap();
            let a = read_wav(&p).unwrap();
            assert_eq!(a.sample_rate_hz, 48_000);
            assert_eq!(a.channels.len(), 2);
            assert_eq!(a.len_frames(), 1000);
            let tol = if enc == WavEncoding::Pcm16 { 0.5 / 32768.0 + 1e-7 } else { 0.0 };
            for i in 0..1000 {
                assert!((a.channels[0][i] - l[i]).abs() <= tol);
                assert!((a.channels[1][i] - r[i]).abs() <= tol);
            }
        }
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn reads_24_and_32_bit_integer() {
        let d = tmpdir("int");
        for bits in [24u16, 32] {
            let p = d.join(format!("i{bits}.wav"));
            let spec = hound::WavSpec { channels: 1, sample_rate: 44_100, bits_per_sample: bits, sample_format: hound::SampleFormat::Int };
            let mut w = hound::WavWriter::create(&p, spec).unwrap();
            let full = (1i64 << (bits - 1)) as f64;
            w.write_sample((0.5 * full) as i32).unwrap();
            w.write_sample((-0.25 * full) as i32).unwrap();
            w.finalize().unwrap();
            let a = read_wav(&p).unwrap();
            assert_eq!(a.format_name(), format!("{bits}-bit PCM"));
            assert!((a.channels[0][0] - 0.5).abs() < 1e-6 && (a.channels[0][1] + 0.25).abs() < 1e-6);
        }
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn bad_files_give_errors_naming_the_file() {
        let d = tmpdir("bad");
        let missing = d.join("missing.wav");
        let e = read_wav(&missing).unwrap_err().to_string();
        assert!(e.contains("missing.wav"), "{e}");

        let text = d.join("notes.wav");
        std::fs::write(&text, "this is not audio at all, just text").unwrap();
        let e = read_wav(&text).unwrap_err().to_string();
        assert!(e.contains("notes.wav") && e.contains("not a readable WAV"), "{e}");

        let empty_file = d.join("zero.wav");
        std::fs::write(&empty_file, b"").unwrap();
        let e = read_wav(&empty_file).unwrap_err().to_string();
        assert!(e.contains("zero.wav"), "{e}");

        let good = d.join("good.wav");
        let x = vec![0.1f32; 10_000];
        write_wav(&good, &[&x, &x], 44_100, WavEncoding::Pcm16).unwrap();
        let bytes = std::fs::read(&good).unwrap();
        let cut = d.join("cut.wav");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = read_wav(&cut).unwrap_err().to_string();
        assert!(e.contains("cut.wav") && e.contains("truncated"), "{e}");

        let no_samples = d.join("nosamples.wav");
        write_wav(&no_samples, &[&[], &[]], 44_100, WavEncoding::Pcm16).unwrap();
        let e = read_wav(&no_samples).unwrap_err().to_string();
        assert!(e.contains("nosamples.wav") && e.contains("no samples"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn atomic_write_failure_leaves_no_file() {
        let d = tmpdir("atomic");
        let target = d.join("no-such-dir").join("out.wav");
        assert!(write_wav(&target, &[&[0.0f32; 4]], 44_100, WavEncoding::Pcm16).is_err());
        assert!(!target.exists());
        std::fs::remove_dir_all(d).unwrap();
    }
}

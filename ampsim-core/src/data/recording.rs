//! A paired recording: the guitar straight from the pickup ("direct") and the amp through a
//! microphone ("amp"), with the sample rate that came with the file.
//!
//! The blog post's layout is one stereo WAV, left = direct, right = amp
//! ([`Recording::load`]); two mono files work too ([`Recording::load_pair`]). The built-in
//! default is synthesised ([`Recording::synthetic`], written by `make data`).

use std::path::Path;

use polars::prelude::*;

use crate::data::align::{click_preamble_samples, estimate_latency, find_clicks, shift_by_lag, LatencyEstimate};
use crate::data::amp::{self, AmpConfig};
use crate::data::audio::{read_wav, write_wav, WavEncoding};
use crate::data::synth::{guitar_di, GuitarConfig};
use crate::{Error, Result};

/// Default file written by `make data`, relative to the project root.
pub const DEFAULT_DATA_FILE: &str = "data/GuitarTraining.wav";
/// Length of the default recording: three minutes, as long as NAM's standard capture (the
/// post's index ranges lie in its first 34 s; why not shorter: docs/experiments.md).
pub const DEFAULT_SECONDS: f64 = 180.0;
/// Seed of the default recording.
pub const DEFAULT_SEED: u64 = 2019;
/// Digital silence in both channels at least this long separates takes ([`Recording::takes`]).
pub const TAKE_GAP_SECONDS: f64 = 0.1;
/// Pieces between such gaps shorter than this are not takes ([`Recording::takes`]).
pub const MIN_TAKE_SECONDS: f64 = 1.0;

/// Direct and amp signals of equal length at one sample rate.
#[derive(Clone, Debug)]
pub struct Recording {
    /// Where it came from (a path or a description).
    pub name: String,
    pub sample_rate_hz: u32,
    pub direct: Vec<f32>,
    pub amp: Vec<f32>,
}

fn audio_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Audio { path: path.to_path_buf(), reason: reason.into() }
}

impl Recording {
    /// Pair two signals; they must have the same, non-zero length.
    pub fn new(name: impl Into<String>, direct: Vec<f32>, amp: Vec<f32>, sample_rate_hz: u32) -> Result<Recording> {
        if sample_rate_hz == 0 {
            return Err(Error::invalid("sample_rate_hz", "must be positive"));
        }
        if direct.is_empty() {
            return Err(Error::invalid("direct", "is empty"));
        }
        if direct.len() != amp.len() {
            return Err(Error::invalid("amp", format!("{} samples, but direct has {}", amp.len(), direct.len())));
        }
        let name = name.into();
        for (channel, x) in [("left (direct)", &direct), ("right (amp)", &amp)] {
            if let Some(reason) = crate::data::audio::non_finite(channel, x, sample_rate_hz) {
                return Err(Error::BadRecording { name, reason });
            }
        }
        Ok(Recording { name, sample_rate_hz, direct, amp })
    }

    /// Load one stereo WAV: left channel = direct, right channel = amp.
    pub fn load(path: impl AsRef<Path>) -> Result<Recording> {
        let path = path.as_ref();
        let wav = read_wav(path)?;
        if wav.channels.len() != 2 {
            return Err(audio_err(
                path,
                format!(
                    "expected 2 channels (left = direct, right = amp), found {}; for two mono files use Recording::load_pair",
                    wav.channels.len()
                ),
            ));
        }
        let mut ch = wav.channels.into_iter();
        let (direct, amp) = (ch.next().unwrap_or_default(), ch.next().unwrap_or_default());
        Recording::new(path.display().to_string(), direct, amp, wav.sample_rate_hz)
    }

    /// Load two mono WAV files of the same sample rate and length.
    pub fn load_pair(direct_path: impl AsRef<Path>, amp_path: impl AsRef<Path>) -> Result<Recording> {
        let (dp, ap) = (direct_path.as_ref(), amp_path.as_ref());
        let d = read_wav(dp)?;
        let a = read_wav(ap)?;
        for w in [&d, &a] {
            if w.channels.len() != 1 {
                return Err(audio_err(&w.path, format!("expected a mono file, found {} channels", w.channels.len())));
            }
        }
        if d.sample_rate_hz != a.sample_rate_hz {
            return Err(audio_err(
                ap,
                format!("sample rate {} Hz differs from {} Hz of {}", a.sample_rate_hz, d.sample_rate_hz, dp.display()),
            ));
        }
        if d.len_frames() != a.len_frames() {
            return Err(audio_err(
                ap,
                format!("{} samples, but {} has {}: the files must be the same length", a.len_frames(), dp.display(), d.len_frames()),
            ));
        }
        let name = format!("{} + {}", dp.display(), ap.display());
        let sr = d.sample_rate_hz;
        Recording::new(name, d.channels.into_iter().next().unwrap_or_default(), a.channels.into_iter().next().unwrap_or_default(), sr)
    }

    /// The built-in recording: the scripted guitar performance through the reference amp.
    pub fn synthetic(seconds: f64, seed: u64, guitar: &GuitarConfig, amp_cfg: &AmpConfig) -> Result<Recording> {
        let direct = guitar_di(seconds, seed, guitar)?;
        let amp = amp::render(&direct, amp_cfg, guitar.sample_rate_hz)?;
        Recording::new(format!("synthetic (seed {seed})"), direct, amp, guitar.sample_rate_hz)
    }

    /// The built-in recording with default settings ([`DEFAULT_SECONDS`], [`DEFAULT_SEED`]).
    pub fn synthetic_default() -> Result<Recording> {
        Recording::synthetic(DEFAULT_SECONDS, DEFAULT_SEED, &GuitarConfig::default(), &AmpConfig::default())
    }

    /// Write as a stereo 16-bit WAV (left direct, right amp), atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_wav(path, &[&self.direct, &self.amp], self.sample_rate_hz, WavEncoding::Pcm16)
    }

    pub fn len_samples(&self) -> usize {
        self.direct.len()
    }

    pub fn duration_seconds(&self) -> f64 {
        self.direct.len() as f64 / self.sample_rate_hz as f64
    }

    /// Per-channel statistics: samples, seconds, peak and RMS in dBFS, crest factor in dB.
    pub fn stats(&self) -> Result<DataFrame> {
        let s = [ChannelStats::of(&self.direct), ChannelStats::of(&self.amp)];
        let n = self.len_samples() as u64;
        Ok(df!(
            "channel" => ["direct", "amp"],
            "samples" => [n, n],
            "seconds" => [self.duration_seconds(); 2],
            "sample_rate_hz" => [self.sample_rate_hz; 2],
            "peak_dbfs" => [s[0].peak_dbfs, s[1].peak_dbfs],
            "rms_dbfs" => [s[0].rms_dbfs, s[1].rms_dbfs],
            "crest_db" => [s[0].peak_dbfs - s[0].rms_dbfs, s[1].peak_dbfs - s[1].rms_dbfs],
        )?)
    }

    /// The amp channel's latency: measured on the calibration clicks when the DI begins with
    /// them ([`crate::data::align::find_clicks`]), otherwise estimated from the playing over every
    /// stretch that carries signal ([`crate::data::align::estimate_latency`], searching ±2048 samples).
    pub fn estimate_latency(&self) -> Result<LatencyEstimate> {
        if let Some(clicks) = find_clicks(&self.direct, &self.amp, self.sample_rate_hz) {
            return Ok(clicks);
        }
        estimate_latency(&self.direct, &self.amp, crate::data::align::MAX_LAG_SAMPLES, self.sample_rate_hz)
    }

    /// A copy with the latency removed (see [`Self::estimate_latency`]), and the estimate. An
    /// amp channel unrelated to the DI ([`LatencyEstimate::unrelated`]) or a lag no DI → amp chain
    /// can have ([`LatencyEstimate::implausible`]) is an error: give the latency with
    /// [`Self::aligned_by`]. An uncertain estimate is applied; check
    /// [`LatencyEstimate::is_uncertain`]. The polarity is left as recorded; the estimate reports it.
    /// Several takes of one rig: [`Self::aligned_together`].
    pub fn aligned(&self) -> Result<(Recording, LatencyEstimate)> {
        let est = self.checked_latency()?;
        Ok((self.aligned_by(est.lag_samples)?, est))
    }

    /// The latency, refused when the amp looks unrelated or the lag is implausible.
    fn checked_latency(&self) -> Result<LatencyEstimate> {
        let est = self.estimate_latency().map_err(|e| Error::Alignment { name: self.name.clone(), reason: e.to_string() })?;
        if let Some(reason) = est.unrelated() {
            return Err(Error::BadRecording { name: self.name.clone(), reason });
        }
        if let Some(reason) = est.implausible() {
            return Err(Error::Alignment { name: self.name.clone(), reason });
        }
        Ok(est)
    }

    /// Takes recorded through the same rig, all shifted by one lag: the smallest of the takes'
    /// own estimates (returned too, in order). The latency belongs to the interface and the
    /// amp, not to the playing, yet estimated take by take it scatters by a sample or two; takes
    /// shifted by different lags teach a model a smeared delay, and a take shifted too far asks
    /// it to predict the future, while a sample or two of delay left in costs a causal model
    /// nothing (see docs/experiments.md).
    pub fn aligned_together(takes: &[Recording]) -> Result<(Vec<Recording>, i64, Vec<LatencyEstimate>)> {
        let estimates = takes.iter().map(|t| t.checked_latency()).collect::<Result<Vec<_>>>()?;
        let Some(lag) = estimates.iter().map(|e| e.lag_samples).min() else {
            return Err(Error::invalid("takes", "no recordings given to align"));
        };
        let shifted = takes.iter().map(|t| t.aligned_by(lag)).collect::<Result<Vec<_>>>()?;
        Ok((shifted, lag, estimates))
    }

    /// A copy with `amp` advanced by `lag_samples` (the recording gets shorter by |lag|), and
    /// without the calibration clicks when the DI begins with them: ready to train on.
    pub fn aligned_by(&self, lag_samples: i64) -> Result<Recording> {
        let skip = if crate::data::align::has_clicks(&self.direct, self.sample_rate_hz) { click_preamble_samples(self.sample_rate_hz) } else { 0 };
        let (d, a) = shift_by_lag(&self.direct[skip..], &self.amp[skip..], lag_samples)?;
        Recording::new(format!("{} (aligned by {lag_samples})", self.name), d, a, self.sample_rate_hz)
    }

    /// Takes end to end with `gap_samples` of digital silence between them, as a DAW exports a
    /// session of takes; they must share one sample rate.
    pub fn joined(takes: &[Recording], gap_samples: usize) -> Result<Recording> {
        let Some(first) = takes.first() else {
            return Err(Error::invalid("takes", "no recordings given to join"));
        };
        let (mut direct, mut amp) = (Vec::new(), Vec::new());
        for (i, t) in takes.iter().enumerate() {
            if t.sample_rate_hz != first.sample_rate_hz {
                return Err(Error::invalid("takes", format!("{} is at {} Hz, {} at {} Hz", t.name, t.sample_rate_hz, first.name, first.sample_rate_hz)));
            }
            if i > 0 {
                direct.resize(direct.len() + gap_samples, 0.0);
                amp.resize(amp.len() + gap_samples, 0.0);
            }
            direct.extend_from_slice(&t.direct);
            amp.extend_from_slice(&t.amp);
        }
        Recording::new(format!("{} takes joined", takes.len()), direct, amp, first.sample_rate_hz)
    }

    /// The takes of a recording made by joining takes with digital silence between them, as a
    /// DAW exports them: the pieces between runs of at least [`TAKE_GAP_SECONDS`] in which both
    /// channels are exactly zero, each at least [`MIN_TAKE_SECONDS`] long (shorter pieces and the
    /// silence are dropped). A recording without such gaps, or one whose DI begins with
    /// calibration clicks (silence between them), is one take: itself.
    pub fn takes(&self) -> Vec<Recording> {
        if crate::data::align::has_clicks(&self.direct, self.sample_rate_hz) {
            return vec![self.clone()];
        }
        let rate = self.sample_rate_hz as f64;
        let (min_gap, min_take) = ((TAKE_GAP_SECONDS * rate) as usize, (MIN_TAKE_SECONDS * rate) as usize);
        let silent = |i: usize| self.direct[i] == 0.0 && self.amp[i] == 0.0;
        let mut pieces = Vec::new();
        let (mut start, mut i, n) = (0, 0, self.len_samples());
        while i < n {
            if !silent(i) {
                i += 1;
                continue;
            }
            let gap_start = i;
            while i < n && silent(i) {
                i += 1;
            }
            if i - gap_start >= min_gap {
                pieces.push(start..gap_start);
                start = i;
            }
        }
        pieces.push(start..n);
        pieces.retain(|r| r.len() >= min_take);
        if pieces.len() < 2 {
            return vec![self.clone()];
        }
        let count = pieces.len();
        pieces
            .into_iter()
            .enumerate()
            .map(|(k, r)| Recording { name: format!("{} (take {} of {count})", self.name, k + 1), sample_rate_hz: self.sample_rate_hz, direct: self.direct[r.clone()].to_vec(), amp: self.amp[r].to_vec() })
            .collect()
    }

    /// A copy of the samples in `range` (e.g. one part of a [`crate::data::windows::Split`]).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Result<Recording> {
        if range.start >= range.end || range.end > self.len_samples() {
            return Err(Error::invalid("range", format!("{range:?} is empty or outside the recording's {} samples", self.len_samples())));
        }
        let name = format!("{} [{:.1}–{:.1} s]", self.name, range.start as f64 / self.sample_rate_hz as f64, range.end as f64 / self.sample_rate_hz as f64);
        Recording::new(name, self.direct[range.clone()].to_vec(), self.amp[range].to_vec(), self.sample_rate_hz)
    }
}

/// The WAV files in a folder of takes, sorted by name; an error when there are fewer than `min_takes`.
pub fn wav_files_in(folder: impl AsRef<Path>, min_takes: usize) -> Result<Vec<std::path::PathBuf>> {
    let folder = folder.as_ref();
    let entries = std::fs::read_dir(folder).map_err(|e| Error::io(folder, e))?;
    let mut files: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("wav"))).collect();
    files.sort();
    if files.len() < min_takes {
        return Err(Error::invalid("folder", format!("{} holds {} WAV files; need at least {min_takes}", folder.display(), files.len())));
    }
    Ok(files)
}

/// Level statistics of one channel.
#[derive(Clone, Copy, Debug)]
pub struct ChannelStats {
    pub peak_dbfs: f64,
    pub rms_dbfs: f64,
}

impl ChannelStats {
    pub fn of(x: &[f32]) -> ChannelStats {
        let peak = x.iter().fold(0.0f64, |m, &v| m.max((v as f64).abs()));
        let ms = x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / x.len().max(1) as f64;
        ChannelStats { peak_dbfs: 20.0 * peak.max(1e-10).log10(), rms_dbfs: 10.0 * ms.max(1e-20).log10() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn tmpdir(tag: &str) -> PathBuf {
        crate::test_util::tmpdir("rec", tag)
    }

    #[test]
    fn stereo_roundtrip_and_stats() {
        let d = tmpdir("rt");
        let rec = Recording::synthetic(3.0, 1, &GuitarConfig::default(), &AmpConfig::default()).unwrap();
        let p = d.join("take.wav");
        rec.save(&p).unwrap();
        let back = Recording::load(&p).unwrap();
        assert_eq!(back.sample_rate_hz, 44_100);
        assert_eq!(back.len_samples(), rec.len_samples());
        let stats = back.stats().unwrap();
        assert_eq!(stats.height(), 2);
        let peak = stats.column("peak_dbfs").unwrap().f64().unwrap().get(1).unwrap();
        assert!((-4.0..=-2.0).contains(&peak), "amp peak {peak}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn the_built_in_recording_is_one_take_and_short_pieces_are_not_takes() {
        let rec = Recording::synthetic(6.0, 3, &GuitarConfig::default(), &AmpConfig::default()).unwrap();
        assert_eq!(rec.takes().len(), 1);
        let rate = rec.sample_rate_hz as usize;
        // Two pieces of 3 s, and one of 0.5 s that is not a take.
        let (a, b) = (rec.slice(0..3 * rate).unwrap(), rec.slice(3 * rate..6 * rate).unwrap());
        let blip = rec.slice(0..rate / 2).unwrap();
        let found = Recording::joined(&[a.clone(), blip, b.clone()], rate / 5).unwrap().takes();
        assert_eq!(found.len(), 2);
        assert!(found[0].direct == a.direct && found[1].amp == b.amp);
        assert!(found[1].name.contains("take 2 of 2"), "{}", found[1].name);
    }

    #[test]
    fn every_bad_input_gets_its_error() {
        let d = tmpdir("bad");
        let x = vec![0.1f32; 20_000];
        let mono = d.join("mono.wav");
        write_wav(&mono, &[&x], 44_100, WavEncoding::Pcm16).unwrap();
        let e = Recording::load(&mono).unwrap_err().to_string();
        assert!(e.contains("mono.wav") && e.contains("expected 2 channels"), "{e}");

        let three = d.join("three.wav");
        write_wav(&three, &[&x, &x, &x], 44_100, WavEncoding::Pcm16).unwrap();
        let e = Recording::load(&three).unwrap_err().to_string();
        assert!(e.contains("three.wav") && e.contains("found 3"), "{e}");
        let e = Recording::load_pair(&mono, &three).unwrap_err().to_string();
        assert!(e.contains("three.wav") && e.contains("expected a mono file"), "{e}");

        let other_rate = d.join("rate48k.wav");
        write_wav(&other_rate, &[&x], 48_000, WavEncoding::Float32).unwrap();
        let e = Recording::load_pair(&mono, &other_rate).unwrap_err().to_string();
        assert!(e.contains("rate48k.wav") && e.contains("48000 Hz differs from 44100 Hz"), "{e}");

        let short = d.join("short.wav");
        write_wav(&short, &[&x[..1000]], 44_100, WavEncoding::Pcm16).unwrap();
        let e = Recording::load_pair(&mono, &short).unwrap_err().to_string();
        assert!(e.contains("short.wav") && e.contains("same length"), "{e}");

        let ok = Recording::load_pair(&mono, &mono).unwrap();
        assert_eq!(ok.len_samples(), 20_000);

        let junk = d.join("junk.wav");
        std::fs::write(&junk, b"RIFF....WAVEjunk").unwrap();
        assert!(Recording::load(&junk).unwrap_err().to_string().contains("junk.wav"));
        assert!(Recording::load(d.join("absent.wav")).unwrap_err().to_string().contains("absent.wav"));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn takes_of_one_rig_are_shifted_by_their_smallest_lag() {
        let take = |seed, latency_samples| {
            Recording::synthetic(3.0, seed, &GuitarConfig::default(), &AmpConfig { latency_samples, ..AmpConfig::default() }).unwrap()
        };
        let takes = [take(1, 25), take(2, 23), take(3, 30)];
        let (aligned, lag, estimates) = Recording::aligned_together(&takes).unwrap();
        let lags: Vec<i64> = estimates.iter().map(|e| e.lag_samples).collect();
        // Each take's own estimate follows its latency (within a sample on 3 s of audio) ...
        assert!(lags.iter().zip([25, 23, 30]).all(|(l, want)| (l - want).abs() <= 1), "{lags:?}");
        // ... and all takes are shifted by the smallest of them.
        assert_eq!(lag, lags[1]);
        let l = lag as usize;
        for (a, t) in aligned.iter().zip(&takes) {
            assert_eq!(a.len_samples(), t.len_samples() - l);
            assert_eq!(a.amp[..], t.amp[l..]);
            assert_eq!(a.direct[..], t.direct[..t.len_samples() - l]);
        }
        // One take: its own lag, as `aligned` gives.
        let (one, lag_one, _) = Recording::aligned_together(&takes[..1]).unwrap();
        assert_eq!((lag_one, &one[0].amp), (lags[0], &takes[0].aligned().unwrap().0.amp));
        assert!(Recording::aligned_together(&[]).is_err());
        let silent = Recording::new("silent take", vec![0.0; 20_000], vec![0.0; 20_000], 44_100).unwrap();
        let err = Recording::aligned_together(&[takes[0].clone(), silent]).unwrap_err().to_string();
        assert!(err.contains("silent take"), "{err}");
    }
}

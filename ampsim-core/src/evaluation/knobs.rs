//! How a model of the whole amp follows its knobs: scores at held-out settings, and how the
//! amp's and the model's level and brightness move as one knob turns.

use polars::prelude::*;
use tch::Device;

use crate::data::captures::{LoadedCaptures, Role};
use crate::evaluation::compare::{score, verdict, Scores, SCORING_BAND_HZ, SPECTRUM_FFT_SIZE};
use crate::evaluation::spectrum::average_spectrum;
use crate::models::CausalModel;
use crate::training::seq_data::{predict_scored, SeqData};
use crate::{Error, Result};

/// The model's scores at each setting of `role` (all its recordings together, after the
/// model's warm-up), with the setting described.
pub fn scores_by_setting<M: CausalModel + ?Sized>(model: &M, captures: &LoadedCaptures, role: Role, device: Device) -> Result<Vec<(String, Scores)>> {
    let mut out = Vec::new();
    for values in captures.captures.settings(role) {
        let (y, y_hat) = predict_scored(model, &SeqData::at_setting(captures, &values, device)?)?;
        out.push((captures.captures.describe(&values), score(&y, &y_hat, captures.sample_rate_hz)?));
    }
    Ok(out)
}

/// [`scores_by_setting`] as a table, with the mean.
pub fn scores_table(rows: &[(String, Scores)]) -> Result<DataFrame> {
    if rows.is_empty() {
        return Err(Error::invalid("rows", "no settings to show"));
    }
    let n = rows.len() as f64;
    let mean = |f: fn(&Scores) -> f64| rows.iter().map(|(_, s)| f(&s)).sum::<f64>() / n;
    let mut names: Vec<String> = rows.iter().map(|(n, _)| n.clone()).collect();
    names.push("mean".into());
    let col = |f: fn(&Scores) -> f64, digits: i32| -> Vec<f64> {
        let p = 10f64.powi(digits);
        rows.iter().map(|(_, s)| f(s)).chain([mean(f)]).map(|v| (v * p).round() / p).collect()
    };
    let esr = col(|s| s.esr, 4);
    let verdicts: Vec<&str> = esr.iter().map(|&e| verdict(e)).collect();
    Ok(DataFrame::new(rows.len() + 1, vec![
        Column::new("setting".into(), names),
        Column::new("ESR".into(), esr),
        Column::new("pre-emphasised ESR".into(), col(|s| s.esr_pre_emphasised, 4)),
        Column::new("spectral distance (dB)".into(), col(|s| s.spectral_distance_db, 2)),
        Column::new("verdict".into(), verdicts),
    ])?)
}

/// RMS level in dBFS.
pub fn level_db(x: &[f32]) -> f64 {
    let ms = x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64;
    10.0 * ms.max(1e-20).log10()
}

/// Brightness: the centroid of the long-term average power spectrum over the scoring band
/// (80 Hz – 8 kHz), in Hz.
pub fn brightness_hz(x: &[f32], sample_rate_hz: u32) -> Result<f64> {
    let (f, db) = average_spectrum(x, sample_rate_hz, SPECTRUM_FFT_SIZE)?;
    let (mut num, mut den) = (0.0, 0.0);
    for (&hz, &d) in f.iter().zip(&db) {
        if (SCORING_BAND_HZ.0..=SCORING_BAND_HZ.1).contains(&hz) {
            let p = 10f64.powf(d / 10.0);
            num += hz * p;
            den += p;
        }
    }
    Ok(if den > 0.0 { num / den } else { 0.0 })
}

/// One knob turned through `values`: at each, the amp's and the model's output level and
/// brightness, and the model's ESR against the amp (`amp[i]`, `model[i]`: the same DI through
/// both at `values[i]`).
pub fn knob_response(knob: &str, values: &[f64], amp: &[Vec<f32>], model: &[Vec<f32>], sample_rate_hz: u32) -> Result<DataFrame> {
    if amp.len() != values.len() || model.len() != values.len() {
        return Err(Error::invalid("values", "one amp and one model rendering per knob value"));
    }
    let r = |v: f64, d: i32| (v * 10f64.powi(d)).round() / 10f64.powi(d);
    let (mut al, mut ml, mut ab, mut mb, mut e) = (vec![], vec![], vec![], vec![], vec![]);
    for (a, m) in amp.iter().zip(model) {
        al.push(r(level_db(a), 2));
        ml.push(r(level_db(m), 2));
        ab.push(r(brightness_hz(a, sample_rate_hz)?, 0));
        mb.push(r(brightness_hz(m, sample_rate_hz)?, 0));
        e.push(r(crate::training::losses::esr(a, m)?, 4));
    }
    Ok(DataFrame::new(values.len(), vec![
        Column::new(knob.into(), values.to_vec()),
        Column::new("amp level (dBFS)".into(), al),
        Column::new("model level (dBFS)".into(), ml),
        Column::new("amp brightness (Hz)".into(), ab),
        Column::new("model brightness (Hz)".into(), mb),
        Column::new("ESR".into(), e),
    ])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_and_brightness_follow_the_signal() {
        let rate = 44_100;
        let tone = |hz: f32, amp: f32| (0..44_100).map(|i| amp * (i as f32 * hz * std::f32::consts::TAU / rate as f32).sin()).collect::<Vec<f32>>();
        assert!((level_db(&tone(440.0, 1.0)) + 3.01).abs() < 0.05);
        assert!((level_db(&tone(440.0, 0.1)) + 23.01).abs() < 0.05);
        let (low, high) = (brightness_hz(&tone(300.0, 0.5), rate).unwrap(), brightness_hz(&tone(3000.0, 0.5), rate).unwrap());
        assert!((low - 300.0).abs() < 30.0 && (high - 3000.0).abs() < 100.0, "{low} {high}");
        let t = knob_response("treble", &[0.0, 1.0], &[tone(300.0, 0.5), tone(3000.0, 0.5)], &[tone(300.0, 0.5), tone(2000.0, 0.5)], rate).unwrap();
        assert_eq!(t.shape(), (2, 6));
    }
}

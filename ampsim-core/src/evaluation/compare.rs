//! Comparing models with the real amp over the same samples: the scores of notebook 04's table
//! (and of `ampsim compare`), the table itself and the training curves.

use polars::prelude::*;
use tch::{nn, Device};

use crate::evaluation::display::Figure;
use crate::training::losses::{esr, esr_pre_emphasised};
use crate::models::parameter_count;
use crate::training::dense::{self, predict, WindowModel};
use crate::training::seq_data::{predict_scored, SeqData};
use crate::training::history::History;
use crate::models::CausalModel;
use crate::data::windows::Windows;
use crate::evaluation::plot::{Line, LineChart, PALETTE};
use crate::evaluation::plot_spectra;
use crate::evaluation::spectrum::{average_spectrum, spectral_distance_db, spectrogram, Spectrogram, SpectrogramConfig};
use crate::{Error, Result};

/// How close a model's output is to the real amp.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Error-to-signal ratio Σe²/Σy²: 0 is perfect, 1 is as bad as silence.
    pub esr: f64,
    /// ESR after the 0.85 first-order pre-emphasis of both signals: errors in the upper mids
    /// and treble count more, as they do for the ear.
    pub esr_pre_emphasised: f64,
    /// Mean |difference| of the long-term average spectra between 80 Hz and 8 kHz, in dB.
    pub spectral_distance_db: f64,
}

/// A plain word on a test ESR, on the scale NAM's trainer uses: below 0.01 great, below 0.035
/// not bad, below 0.1 might sound OK, below 0.3 probably won't sound great, else something
/// went wrong (most often the alignment, or an amp channel that is not the DI's).
pub fn verdict(esr: f64) -> &'static str {
    match esr {
        e if e < 0.01 => "great",
        e if e < 0.035 => "not bad",
        e if e < 0.1 => "might sound OK",
        e if e < 0.3 => "probably won't sound great",
        _ => "something went wrong",
    }
}

/// FFT size of the long-term average spectra behind [`Scores::spectral_distance_db`].
pub const SPECTRUM_FFT_SIZE: usize = 4096;
/// The band over which spectra are compared (Hz): where a guitar amp's tone lives.
pub const SCORING_BAND_HZ: (f64, f64) = (80.0, 8000.0);

/// Score `predicted` against `real` (the same samples of the same recording).
pub fn score(real: &[f32], predicted: &[f32], sample_rate_hz: u32) -> Result<Scores> {
    if real.len() != predicted.len() {
        return Err(Error::invalid("predicted", format!("{} samples, but the real amp has {}", predicted.len(), real.len())));
    }
    let (f, a) = average_spectrum(real, sample_rate_hz, SPECTRUM_FFT_SIZE)?;
    let (_, b) = average_spectrum(predicted, sample_rate_hz, SPECTRUM_FFT_SIZE)?;
    Ok(Scores {
        esr: esr(real, predicted)?,
        esr_pre_emphasised: esr_pre_emphasised(real, predicted, 0.85)?,
        spectral_distance_db: spectral_distance_db(&f, &a, &b, SCORING_BAND_HZ.0, SCORING_BAND_HZ.1)?,
    })
}

/// How a model's output scored against the amp at the lag that fits it best.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaggedScores {
    /// The lag searched around (the model's trained latency, a given one or an estimate).
    pub center_samples: i64,
    /// The best lag within the search: the amp advanced by this many samples.
    pub lag_samples: i64,
    /// At the best lag.
    pub scores: Scores,
    /// At the center lag.
    pub at_center: Scores,
}

/// Score `output` (a model's output on the DI's time line) against the amp recorded with that
/// DI, `amp` advanced by each lag within `radius_samples` of `center_samples` (a sample or two
/// of latency the model learned, or an estimate a sample off, would otherwise score as a poor
/// model); the lag with the lowest ESR wins. Both are cut to their common length at each lag.
pub fn score_at_best_lag(amp: &[f32], output: &[f32], center_samples: i64, radius_samples: i64, sample_rate_hz: u32) -> Result<LaggedScores> {
    let at = |lag: i64| -> Result<Scores> {
        let (a, o) = overlap_at_lag(amp, output, lag);
        if a.len() < SPECTRUM_FFT_SIZE {
            return Err(Error::invalid("output", format!("only {} samples overlap the amp at a lag of {lag} samples; at least {SPECTRUM_FFT_SIZE} are needed", a.len())));
        }
        score(a, o, sample_rate_hz)
    };
    let at_center = at(center_samples)?;
    let (mut lag_samples, mut scores) = (center_samples, at_center);
    for lag in (center_samples - radius_samples..=center_samples + radius_samples).filter(|&l| l != center_samples) {
        let s = at(lag)?;
        if s.esr < scores.esr {
            (lag_samples, scores) = (lag, s);
        }
    }
    Ok(LaggedScores { center_samples, lag_samples, scores, at_center })
}

/// `amp` advanced by `lag_samples` against `output`, both cut to the samples they then share.
pub fn overlap_at_lag<'a>(amp: &'a [f32], output: &'a [f32], lag_samples: i64) -> (&'a [f32], &'a [f32]) {
    let skip = |x: &'a [f32]| x.get(lag_samples.unsigned_abs() as usize..).unwrap_or(&[]);
    let (a, o) = if lag_samples >= 0 { (skip(amp), output) } else { (amp, skip(output)) };
    let n = a.len().min(o.len());
    (&a[..n], &o[..n])
}

/// The largest |a − b| over two renderings of the same samples (e.g. a model and its `.nam`).
pub fn max_abs_difference(a: &[f32], b: &[f32]) -> Result<f32> {
    if a.len() != b.len() {
        return Err(Error::invalid("b", format!("{} samples, but a has {}", b.len(), a.len())));
    }
    Ok(a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max))
}

/// One trained model in a comparison.
#[derive(Clone, Debug)]
pub struct ModelReport {
    pub name: String,
    pub parameters: usize,
    pub train_seconds: f64,
    pub epochs: usize,
    /// Scores on the test samples.
    pub scores: Scores,
    /// Seconds of audio rendered per second on one thread by the real-time engine in 64-sample
    /// blocks, as a plugin plays the model (libtorch for a model the engine does not play).
    pub real_time_factor: f64,
    /// Validation ESR against seconds of training, for the curves.
    pub curve: Vec<(f64, f64)>,
    /// The model's output for the test samples.
    pub predictions: Vec<f32>,
}

impl ModelReport {
    /// Evaluate a trained dense (windowed) model on `test` windows.
    pub fn for_windows<M: WindowModel>(name: &str, model: &M, vs: &nn::VarStore, history: &History, test: &Windows, sample_rate_hz: u32) -> Result<ModelReport> {
        let predictions = predict(model, test, crate::training::dense::PREDICT_BATCH)?;
        let real = test.target_samples()?;
        let rtf = match model.engine(test.spec.future_samples) {
            Some(engine) => crate::interop::render::play_real_time_factor(engine?.as_mut(), &test.direct_samples()?, sample_rate_hz)?,
            None => dense::real_time_factor(model, test, sample_rate_hz)?,
        };
        ModelReport::new(name, vs, history, &real, predictions, rtf, sample_rate_hz)
    }

    /// Evaluate a trained sequence model on the scored samples of `test`.
    pub fn for_sequence<M: CausalModel + ?Sized>(name: &str, model: &M, vs: &nn::VarStore, history: &History, test: &SeqData, sample_rate_hz: u32) -> Result<ModelReport> {
        let (real, predictions) = predict_scored(model, test)?;
        let mut rtf_input: Vec<f32> = Vec::new();
        for (direct, _) in test.pieces() {
            if rtf_input.len() >= 10 * sample_rate_hz as usize {
                break;
            }
            // The audio (a conditioned model's pieces carry the control values beside it).
            let audio = if direct.dim() == 2 { direct.select(1, 0) } else { direct.shallow_clone() };
            rtf_input.extend(Vec::<f32>::try_from(audio.to_device(Device::Cpu))?);
        }
        let rtf = crate::interop::render::engine_real_time_factor(model, &rtf_input, sample_rate_hz)?;
        ModelReport::new(name, vs, history, &real, predictions, rtf, sample_rate_hz)
    }

    /// The one constructor: the training time, epochs and validation curve come from `history`.
    fn new(name: &str, vs: &nn::VarStore, history: &History, real: &[f32], predictions: Vec<f32>, real_time_factor: f64, sample_rate_hz: u32) -> Result<ModelReport> {
        let curve = history.epochs.iter().filter_map(|e| Some((e.elapsed_seconds, e.val_esr?))).collect();
        let scores = score(real, &predictions, sample_rate_hz)?;
        let (train_seconds, epochs) = (history.seconds(), history.epochs.len());
        Ok(ModelReport { name: name.into(), parameters: parameter_count(vs) as usize, train_seconds, epochs, scores, real_time_factor, curve, predictions })
    }
}

/// One row per model: parameters, training time, epochs, test ESR with its [`verdict`], pre-emphasised ESR,
/// spectral distance, real-time factor.
pub fn reports_table(reports: &[ModelReport]) -> Result<DataFrame> {
    let col = |f: &dyn Fn(&ModelReport) -> f64| reports.iter().map(f).collect::<Vec<f64>>();
    Ok(df!(
        "model" => reports.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "parameters" => reports.iter().map(|r| r.parameters as u64).collect::<Vec<_>>(),
        "train_seconds" => col(&|r| r.train_seconds),
        "epochs" => reports.iter().map(|r| r.epochs as u32).collect::<Vec<_>>(),
        "test_esr" => col(&|r| r.scores.esr),
        "verdict" => reports.iter().map(|r| verdict(r.scores.esr)).collect::<Vec<_>>(),
        "test_esr_pre_emphasised" => col(&|r| r.scores.esr_pre_emphasised),
        "spectral_distance_db" => col(&|r| r.scores.spectral_distance_db),
        "real_time_factor" => col(&|r| r.real_time_factor),
    )?)
}

/// Test ESR block by block: one row per range of `ranges` (whose samples, concatenated in
/// order, are `real` and each report's predictions) with its start time, the real amp's RMS
/// level and each model's ESR — where the models struggle (soft playing, chords, ...).
pub fn esr_by_block(real: &[f32], reports: &[ModelReport], ranges: &[std::ops::Range<usize>], sample_rate_hz: u32) -> Result<DataFrame> {
    let total: usize = ranges.iter().map(|r| r.len()).sum();
    if total != real.len() || reports.iter().any(|r| r.predictions.len() != total) {
        return Err(Error::invalid("ranges", format!("cover {total} samples, but the real amp has {} and the predictions {:?}", real.len(), reports.iter().map(|r| r.predictions.len()).collect::<Vec<_>>())));
    }
    let mut columns = vec![
        Column::new("start_seconds".into(), ranges.iter().map(|r| r.start as f64 / sample_rate_hz as f64).collect::<Vec<_>>()),
        Column::new("amp_rms_dbfs".into(), Vec::<f64>::new()),
    ];
    let mut levels = Vec::new();
    let mut per_model: Vec<Vec<f64>> = vec![Vec::new(); reports.len()];
    let mut at = 0;
    for r in ranges {
        let y = &real[at..at + r.len()];
        levels.push(10.0 * (y.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / y.len().max(1) as f64).max(1e-20).log10());
        for (m, report) in reports.iter().enumerate() {
            per_model[m].push(esr(y, &report.predictions[at..at + r.len()])?);
        }
        at += r.len();
    }
    columns[1] = Column::new("amp_rms_dbfs".into(), levels);
    for (report, values) in reports.iter().zip(per_model) {
        columns.push(Column::new(format!("esr {}", report.name).into(), values));
    }
    Ok(DataFrame::new(ranges.len(), columns)?)
}

/// One sentence per model after the first, saying how it compares with the first (the
/// reference): ESR and pre-emphasised ESR ratios, spectral distance gained, parameters.
pub fn versus_first(reports: &[ModelReport]) -> Vec<String> {
    let Some((reference, others)) = reports.split_first() else { return Vec::new() };
    others
        .iter()
        .map(|r| {
            let times = |reference: f64, model: f64| {
                let ratio = reference / model;
                if ratio >= 1.0 { format!("{ratio:.1}x lower") } else { format!("{:.1}x higher", 1.0 / ratio) }
            };
            format!(
                "{}: {} test ESR, {} pre-emphasised ESR, {:.1} dB {} in spectrum, {:.0}x fewer parameters than {}",
                r.name,
                times(reference.scores.esr, r.scores.esr),
                times(reference.scores.esr_pre_emphasised, r.scores.esr_pre_emphasised),
                (reference.scores.spectral_distance_db - r.scores.spectral_distance_db).abs(),
                if r.scores.spectral_distance_db <= reference.scores.spectral_distance_db { "closer" } else { "further" },
                reference.parameters as f64 / r.parameters.max(1) as f64,
                reference.name
            )
        })
        .collect()
}

/// Spectrograms of the real amp and of every model's output, side by side on one colour scale.
pub fn spectrograms_figure(title: &str, real: &[f32], reports: &[ModelReport], sample_rate_hz: u32) -> Result<Figure> {
    let cfg = SpectrogramConfig::default();
    let mut specs = vec![("Real Amplifier".to_string(), spectrogram(real, sample_rate_hz, &cfg)?)];
    for r in reports {
        specs.push((r.name.clone(), spectrogram(&r.predictions, sample_rate_hz, &cfg)?));
    }
    let panels: Vec<(&str, &Spectrogram)> = specs.iter().map(|(n, s)| (n.as_str(), s)).collect();
    plot_spectra::spectrograms(title, &panels, plot_spectra::VIEW_MAX_HZ, plot_spectra::VIEW_RANGE_DB)
}

/// Long-term average spectra of the real amp and of every model's output.
pub fn average_spectra_figure(title: &str, real: &[f32], reports: &[ModelReport], sample_rate_hz: u32) -> Result<Figure> {
    let (f, db_real) = average_spectrum(real, sample_rate_hz, SPECTRUM_FFT_SIZE)?;
    let mut curves = vec![("Real Amplifier".to_string(), db_real)];
    for r in reports {
        curves.push((r.name.clone(), average_spectrum(&r.predictions, sample_rate_hz, SPECTRUM_FFT_SIZE)?.1));
    }
    let lines: Vec<(&str, &[f64], &[f64])> = curves.iter().map(|(n, db)| (n.as_str(), &f[..], &db[..])).collect();
    plot_spectra::average_spectra(title, &lines, plot_spectra::AVERAGE_VIEW_MAX_HZ)
}

/// Validation ESR against training time for each model, on a logarithmic ESR axis.
pub fn training_curves(title: &str, reports: &[ModelReport]) -> Result<Figure> {
    let mut chart = LineChart::new(title, "training time (s)", "validation ESR");
    chart.log_y = true;
    for (i, r) in reports.iter().enumerate() {
        chart = chart.line(Line::new(r.name.clone(), r.curve.clone(), PALETTE[(i + 2) % PALETTE.len()]));
    }
    chart.figure()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_best_lag_is_found_within_the_search_and_the_center_is_reported() {
        let rec = crate::Recording::synthetic(4.0, 3, &Default::default(), &Default::default()).unwrap();
        // The model's output: the amp as it sounded 2 samples earlier (it learned a lag of 2).
        let out: Vec<f32> = rec.amp[2..].to_vec();
        let l = super::score_at_best_lag(&rec.amp, &out, 0, 3, rec.sample_rate_hz).unwrap();
        assert_eq!((l.center_samples, l.lag_samples), (0, 2));
        assert!(l.scores.esr < 1e-12 && l.at_center.esr > 0.01, "{l:?}");
        let far = super::score_at_best_lag(&rec.amp, &out, 6, 3, rec.sample_rate_hz).unwrap();
        assert_eq!(far.lag_samples, 3, "only within the radius");
    }

    use super::*;
    use crate::Recording;

    #[test]
    fn scores_rank_a_close_copy_above_a_dull_one() {
        // Real amp samples; a copy 1 dB down and a copy with its treble smoothed away.
        let rec = Recording::synthetic(3.0, 5, &Default::default(), &Default::default()).unwrap();
        let y = &rec.amp;
        let quieter: Vec<f32> = y.iter().map(|v| v * 0.891).collect();
        let mut s = 0.0f32;
        let dull: Vec<f32> = y.iter().map(|v| { s = 0.9 * s + 0.1 * v; s }).collect();
        let a = score(y, &quieter, rec.sample_rate_hz).unwrap();
        let b = score(y, &dull, rec.sample_rate_hz).unwrap();
        assert!((a.esr - 0.0119).abs() < 1e-3 && (a.esr_pre_emphasised - a.esr).abs() < 1e-3, "{a:?}");
        assert!((a.spectral_distance_db - 1.0).abs() < 0.05, "{a:?}");
        assert!(b.esr_pre_emphasised > b.esr && b.spectral_distance_db > 3.0, "{b:?}");
        assert!(score(y, &dull[1..], rec.sample_rate_hz).is_err());
        assert_eq!(max_abs_difference(&[0.0, 1.0, -2.0], &[0.5, 1.0, 1.0]).unwrap(), 3.0);
        assert!(max_abs_difference(&[0.0], &[]).is_err());
        let report = |name: &str, scores| ModelReport { name: name.into(), parameters: 10, train_seconds: 1.0, epochs: 1, scores, real_time_factor: 5.0, curve: vec![(1.0, 0.5), (2.0, 0.1)], predictions: vec![] };
        let table = reports_table(&[report("a", a), report("b", b)]).unwrap();
        assert_eq!(table.shape(), (2, 9));
        let verdicts = table.column("verdict").unwrap().str().unwrap().clone();
        assert_eq!([verdicts.get(0), verdicts.get(1)], [Some(verdict(a.esr)), Some(verdict(b.esr))]);
        assert_eq!([verdict(0.005), verdict(0.02), verdict(0.05), verdict(0.2), verdict(0.7)], ["great", "not bad", "might sound OK", "probably won't sound great", "something went wrong"]);
        training_curves("curves", &[report("a", a), report("b", b)]).unwrap();
        let line = &versus_first(&[report("a", a), report("b", b)])[0];
        assert!(line.starts_with("b: ") && line.contains("than a"), "{line}");
        let with_output = |name: &str, p: &[f32]| ModelReport { predictions: p.to_vec(), ..report(name, a) };
        spectrograms_figure("s", y, &[with_output("q", &quieter), with_output("d", &dull)], rec.sample_rate_hz).unwrap();
        average_spectra_figure("s", y, &[with_output("q", &quieter)], rec.sample_rate_hz).unwrap();
        // Block by block: the quieter copy is off by the same 1.2 % everywhere.
        let ranges = [0..rec.len_samples() / 2, rec.len_samples() / 2..rec.len_samples()];
        let blocks = esr_by_block(y, &[ModelReport { predictions: quieter.clone(), ..report("q", a) }], &ranges, rec.sample_rate_hz).unwrap();
        assert_eq!(blocks.shape(), (2, 3));
        let col = blocks.column("esr q").unwrap().f64().unwrap().into_no_null_iter().collect::<Vec<_>>();
        assert!(col.iter().all(|v| (v - 0.0119).abs() < 1e-3), "{col:?}");
        assert!(esr_by_block(y, &[report("empty", a)], &ranges, rec.sample_rate_hz).is_err());
    }

    #[test]
    fn reports_score_every_model_on_the_same_test_samples() {
        use crate::models::{Mlp, MlpConfig, WaveNet, WaveNetConfig};
        use crate::training::dense::{fit, FitConfig};
        use crate::data::windows::{make_xy_ranges, Split, WindowSpec};
        let rec = Recording::synthetic(8.0, 3, &Default::default(), &Default::default()).unwrap();
        let spec = WindowSpec { window_samples: 400, future_samples: 30 };
        let split = Split::standard(rec.len_samples() - spec.future_samples - 1, rec.sample_rate_hz).unwrap();
        let real = Split::gather(&rec.amp, &split.test);

        let vs = nn::VarStore::new(Device::Cpu);
        let mlp = Mlp::new(&vs.root(), &MlpConfig { input_samples: 400, hidden: vec![16], ..MlpConfig::default() }).unwrap();
        let w = |r: &[std::ops::Range<usize>]| make_xy_ranges(&rec.direct, &rec.amp, r, spec, Device::Cpu).unwrap();
        let (train_w, val_w, test_w) = (w(&split.train), w(&split.validation), w(&split.test));
        let history = fit(&mlp, &vs, &train_w, Some(&val_w), &FitConfig { epochs: 2, ..FitConfig::default() }, &crate::training::RunControl::quiet()).unwrap();
        let a = ModelReport::for_windows("mlp", &mlp, &vs, &history, &test_w, rec.sample_rate_hz).unwrap();
        assert_eq!((a.predictions.len(), a.curve.len(), a.epochs), (real.len(), 2, 2));
        assert_eq!(a.scores, score(&real, &a.predictions, rec.sample_rate_hz).unwrap());

        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let [_, _, test] = SeqData::from_split(&rec.direct, &rec.amp, &split, wn.warm_up_samples(), Device::Cpu).unwrap();
        let b = ModelReport::for_sequence("wavenet", &wn, &vs, &History::default(), &test, rec.sample_rate_hz).unwrap();
        assert_eq!(b.predictions.len(), real.len());
        assert_eq!(b.scores, score(&real, &b.predictions, rec.sample_rate_hz).unwrap());
        assert!(b.real_time_factor > 0.0 && b.parameters > 0);
    }
}

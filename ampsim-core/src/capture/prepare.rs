//! The steps of a capture: the data for each kind of job, then training and scoring.

use std::sync::Arc;

use tch::{nn, Device};

use super::{build_model, Architecture, Capture, CaptureConfig, Finding, Job, Scored, Source, Trained, Unheard, UnheardScores};
use crate::data::align::LatencyEstimate;
use crate::data::captures::{Captures, LoadedCaptures, Role};
use crate::data::checks;
use crate::data::windows::{make_xy_ranges, Split, WindowSpec};
use crate::evaluation::compare::ModelReport;
use crate::models::{CausalModel, Mlp, MlpConfig, NamWeights, NamWeightsOut};
use crate::training::{self, fit_sequence, Epoch, EpochHook, FitConfig, History, RunControl, SeqData, SeqFitConfig};
use crate::{Error, Recording, Result};

pub(super) fn prepare(source: Source, config: CaptureConfig, device: Device) -> Result<Capture> {
    let mut findings = Vec::new();
    if config.architecture == Architecture::GreyBox && !matches!(source, Source::Captures(_) | Source::LoadedCaptures(_)) {
        return Err(Error::invalid("architecture", "the grey-box model is a model of the knobs: train it on a captures set (recordings at several settings)"));
    }
    if config.architecture == Architecture::Dense && matches!(source, Source::Captures(_) | Source::LoadedCaptures(_)) {
        return Err(Error::invalid("architecture", "a captures set trains an LSTM or a WaveNet conditioned on the controls; the dense network has no controls"));
    }
    let (job, vs, training) = match source {
        Source::Captures(manifest) => {
            let captures = Captures::read(&manifest)?;
            let names: Vec<&str> = captures.controls.iter().map(|c| c.name.as_str()).collect();
            findings.push(Finding::Note(format!("{}: {} recordings, {} control(s): {}", manifest.display(), captures.captures.len(), names.len(), names.join(", "))));
            let (loaded, warnings) = LoadedCaptures::load(captures, config.latency_samples)?;
            findings.extend(warnings.into_iter().map(Finding::Warning));
            knobs_job(loaded, &config, device, &mut findings)?
        }
        Source::LoadedCaptures(loaded) => knobs_job(loaded, &config, device, &mut findings)?,
        Source::Recording { path, amp, more, unheard } => {
            let raw = match &amp {
                Some(a) => Recording::load_pair(&path, a)?,
                None => Recording::load(&path)?,
            };
            let more = more.iter().map(|p| more_take(p, &path, &raw)).collect::<Result<Vec<_>>>()?;
            let unheard = unheard.iter().map(|p| more_take(p, &path, &raw)).collect::<Result<Vec<_>>>()?;
            recording_job(raw, more, unheard, &path.display().to_string(), &config, device, &mut findings)?
        }
        Source::Loaded(raw) => {
            let origin = raw.name.clone();
            recording_job(raw, Vec::new(), Vec::new(), &origin, &config, device, &mut findings)?
        }
        Source::Takes { mut takes, unheard } => {
            if takes.is_empty() {
                return Err(Error::invalid("takes", "no takes given to train on"));
            }
            let first = takes.remove(0);
            if let Some(t) = takes.iter().chain(&unheard).find(|t| t.sample_rate_hz != first.sample_rate_hz) {
                return Err(Error::invalid("takes", format!("{} is at {} Hz, {} at {} Hz", t.name, t.sample_rate_hz, first.name, first.sample_rate_hz)));
            }
            let origin = first.name.clone();
            recording_job(first, takes, unheard, &origin, &config, device, &mut findings)?
        }
    };
    Ok(Capture { config, findings, job, training, vs, device })
}

/// How a causal model trains in a capture: its defaults, with the capture's budget.
fn training_of(model: &dyn crate::models::CausalModel, config: &CaptureConfig) -> SeqFitConfig {
    SeqFitConfig { max_epochs: config.max_epochs, max_seconds: Some(config.budget_seconds), loss: config.loss.clone(), seed: config.seed, ..SeqFitConfig::for_model(model) }
}

/// A `--more-data` recording, as recorded, at the sample rate of the main one.
fn more_take(path: &std::path::Path, main: &std::path::Path, rec: &Recording) -> Result<Recording> {
    let extra = Recording::load(path)?;
    if extra.sample_rate_hz != rec.sample_rate_hz {
        return Err(Error::Audio { path: path.to_path_buf(), reason: format!("{} Hz, but {} is {} Hz; resample it first", extra.sample_rate_hz, main.display(), rec.sample_rate_hz) });
    }
    Ok(extra)
}

type Prepared = (Job, nn::VarStore, Option<SeqFitConfig>);

/// One rig at one setting: its takes checked and aligned together, the first split into
/// training, validation and test blocks, the others (and `more`) training whole but for the
/// `unheard` ones (or, when none is given, the last of several), kept for the test of playing
/// the model never heard.
fn recording_job(raw: Recording, mut more: Vec<Recording>, unheard: Vec<Recording>, origin: &str, config: &CaptureConfig, device: Device, findings: &mut Vec<Finding>) -> Result<Prepared> {
    let dense = config.architecture == Architecture::Dense;
    if dense && !more.is_empty() {
        return Err(Error::invalid("more", "more takes work for the LSTM and WaveNet; the dense network trains on one recording (it may be tested on others)"));
    }
    // Takes joined with digital silence train as the takes they are (as more takes do).
    let mut takes = raw.takes();
    let raw = takes.remove(0);
    if !takes.is_empty() {
        if dense {
            let reason = format!("{} takes joined with digital silence; the dense network trains on one recording (give one take)", takes.len() + 1);
            return Err(Error::BadRecording { name: origin.to_string(), reason });
        }
        findings.push(Finding::Note(format!("{origin}: {} takes separated by digital silence: the first holds validation and test, the others train whole (as --more-data)", takes.len() + 1)));
        more.splice(0..0, takes);
    }
    let mut unheard: Vec<Recording> = unheard.iter().flat_map(Recording::takes).collect();
    if unheard.is_empty() && config.hold_out_last_take && !more.is_empty() && !dense {
        unheard.push(more.pop().expect("a take"));
    }
    let held = unheard.len();
    for rec in std::iter::once(&raw).chain(&more).chain(&unheard) {
        findings.extend(checks::check(rec)?.into_iter().map(|w| Finding::Warning(format!("{}: {w}", rec.name))));
    }
    let (rec, mut more, latency) = align_takes(raw, more.into_iter().chain(unheard).collect(), config.latency_samples, findings)?;
    let unheard = more.split_off(more.len() - held);
    if held > 0 {
        let seconds: f64 = unheard.iter().map(Recording::duration_seconds).sum();
        findings.push(Finding::Note(format!("held out, never trained on: {} ({seconds:.1} s), the test of playing it never heard", unheard.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "))));
        let trained: Vec<&Recording> = std::iter::once(&rec).chain(&more).collect();
        findings.extend(unheard.iter().filter_map(|u| checks::coverage(&trained, u)).map(Finding::Warning));
    } else {
        findings.push(Finding::Note("one take: the test is on blocks of the take it trains on, which promises more than new playing will give; a second take (--test-data) tests playing it never heard".into()));
    }
    training::seed_everything(config.seed);
    let vs = nn::VarStore::new(device);
    let split = Split::standard_with_signal(&rec.amp[..usable_samples(&rec)?], rec.sample_rate_hz)?;
    findings.push(Finding::Note(format!("split: {}", split.describe(rec.sample_rate_hz))));
    let (job, training) = if dense {
        (dense_job(rec, split, unheard, latency, &vs, device)?, None)
    } else {
        let job = sequence_job(rec, split, more, unheard, latency, config, &vs, device, findings)?;
        let Job::Sequence { model, .. } = &job else { unreachable!("a sequence job") };
        let training = training_of(model.as_ref(), config);
        (job, Some(training))
    };
    Ok((job, vs, training))
}

/// The samples every architecture can score: the dense network needs its future samples after
/// the last target, so the split of any model stops that far before the end (the same test
/// samples for all).
fn usable_samples(rec: &Recording) -> Result<usize> {
    let spec = WindowSpec::default();
    let usable = rec.len_samples().checked_sub(spec.future_samples + 1).filter(|&n| n > spec.window_samples * 2);
    usable.ok_or_else(|| Error::BadRecording { name: rec.name.clone(), reason: format!("too short to train on: {:.1} s", rec.duration_seconds()) })
}

/// The recording and `more`, all shifted by one lag: `given` when known, else the smallest of
/// their own estimates (one rig, one latency; see `Recording::aligned_together`), which refuses
/// an unrelated amp channel or an implausible lag.
fn align_takes(raw: Recording, more: Vec<Recording>, given: Option<i64>, findings: &mut Vec<Finding>) -> Result<(Recording, Vec<Recording>, LatencyEstimate)> {
    let all: Vec<Recording> = std::iter::once(raw).chain(more).collect();
    let names: Vec<String> = all.iter().map(|r| r.name.clone()).collect();
    if let Some(lag) = given {
        let mut aligned = all.iter().map(|r| r.aligned_by(lag)).collect::<Result<Vec<_>>>()?;
        let latency = LatencyEstimate::given(lag, all[0].sample_rate_hz);
        for (name, rec) in names.iter().zip(&aligned) {
            findings.push(Finding::Note(format!("{name}: {:.1} s at {} Hz; {latency}", rec.duration_seconds(), rec.sample_rate_hz)));
        }
        let rec = aligned.remove(0);
        return Ok((rec, aligned, latency));
    }
    let (mut aligned, lag, mut estimates) = Recording::aligned_together(&all)?;
    for ((name, est), rec) in names.iter().zip(&estimates).zip(&aligned) {
        findings.push(Finding::Note(format!("{name}: {:.1} s at {} Hz; {est}", rec.duration_seconds(), rec.sample_rate_hz)));
        if est.is_uncertain() {
            findings.push(Finding::Warning(format!("{name}: the latency estimate is uncertain; check it with `ampsim info`, or give it with --latency")));
        }
    }
    if aligned.len() > 1 {
        findings.push(Finding::Note(format!("all {} recordings shifted by {lag} samples, the smallest of their lags (one rig, one latency)", aligned.len())));
    }
    let rec = aligned.remove(0);
    let mut latency = estimates.remove(0);
    latency.lag_samples = lag;
    Ok((rec, aligned, latency))
}

#[allow(clippy::too_many_arguments)]
fn sequence_job(rec: Recording, split: Split, more: Vec<Recording>, unheard: Vec<Recording>, latency: LatencyEstimate, config: &CaptureConfig, vs: &nn::VarStore, device: Device, findings: &mut Vec<Finding>) -> Result<Job> {
    let model = build_model(vs, config, &[], rec.sample_rate_hz)?;
    checks::long_enough(&rec, model.warm_up_samples(), &format!("{} {}", config.architecture.label(), config.preset))?;
    let [mut train, validation, test] = SeqData::from_split(&rec.direct, &rec.amp, &split, model.warm_up_samples(), device)?;
    for extra in &more {
        train.push_take(&extra.direct, &extra.amp)?;
    }
    findings.push(Finding::Note(format!("training audio: {:.2} s", train.len() as f64 / rec.sample_rate_hz as f64)));
    let unheard = match unheard.is_empty() {
        true => None,
        false => {
            let takes: Vec<(&[f32], &[f32])> = unheard.iter().map(|r| (r.direct.as_slice(), r.amp.as_slice())).collect();
            Some(Unheard { data: SeqData::from_takes(&takes, device)?, names: unheard.iter().map(|r| r.name.clone()).collect() })
        }
    };
    Ok(Job::Sequence { model, train, validation, test, unheard, rec, split, latency })
}

fn dense_job(rec: Recording, split: Split, unheard: Vec<Recording>, latency: LatencyEstimate, vs: &nn::VarStore, device: Device) -> Result<Job> {
    let spec = WindowSpec::default();
    checks::long_enough(&rec, spec.window_samples, "dense network")?;
    let unheard = match unheard.as_slice() {
        [] => None,
        [take] => Some(Unheard { data: make_xy_ranges(&take.direct, &take.amp, &[0..usable_samples(take)?], spec, device)?, names: vec![take.name.clone()] }),
        _ => return Err(Error::invalid("unheard", "the dense network is tested on one take it never heard; give one")),
    };
    let model = Mlp::new(&vs.root(), &MlpConfig::default())?;
    let windows = |r: &[std::ops::Range<usize>]| make_xy_ranges(&rec.direct, &rec.amp, r, spec, device);
    let (train, validation, test) = (windows(&split.train)?, windows(&split.validation)?, windows(&split.test)?);
    Ok(Job::Dense { model, train, validation, test, unheard, rec, split, latency })
}

/// Several settings of one rig, loaded and aligned by one lag: a model that reads the knobs.
fn knobs_job(loaded: LoadedCaptures, config: &CaptureConfig, device: Device, findings: &mut Vec<Finding>) -> Result<Prepared> {
    let c = &loaded.captures;
    findings.push(Finding::Note(format!("aligned: {}", loaded.describe_alignment())));
    let test = if c.settings(Role::Test).is_empty() { "none held out".into() } else { c.describe_settings(Role::Test) };
    findings.push(Finding::Note(format!("training: {} settings, {:.1} s; validation {}; test {test}", c.settings(Role::Train).len(), loaded.seconds(Role::Train), c.describe_settings(Role::Validation))));
    training::seed_everything(config.seed);
    let vs = nn::VarStore::new(device);
    let model = build_model(&vs, config, &c.controls, loaded.sample_rate_hz)?;
    let (train, validation) = (SeqData::from_captures(&loaded, Role::Train, device)?, SeqData::from_captures(&loaded, Role::Validation, device)?);
    let training = training_of(model.as_ref(), config);
    Ok((Job::Knobs { model, train, validation, captures: loaded }, vs, Some(training)))
}

pub(super) fn fit(capture: Capture, control: &RunControl) -> Result<Trained> {
    let title = capture.title();
    let Capture { config, job, mut vs, device, training, .. } = capture;
    let seq_cfg = training.unwrap_or_default();
    let (history, scored, model) = match job {
        Job::Sequence { model, train, validation, test, unheard, rec, latency, .. } => {
            let history = fit_causal(model.as_ref(), &mut vs, &train, &validation, &seq_cfg, &config, control)?;
            let report = ModelReport::for_sequence(&title, model.as_ref(), &vs, &history, &test, rec.sample_rate_hz)?;
            let unheard = unheard.map(|u| score_unheard(model.as_ref(), u, rec.sample_rate_hz)).transpose()?;
            (history, Scored::Recording { report: Box::new(report), unheard, latency, sample_rate_hz: rec.sample_rate_hz }, Some(model))
        }
        Job::Dense { model, train, validation, test, unheard, rec, latency, .. } => {
            if control.resume {
                return Err(Error::invalid("resume", "resuming works for the LSTM and WaveNet; the dense network trains from scratch"));
            }
            let cfg = FitConfig { epochs: config.max_epochs, max_seconds: Some(config.budget_seconds), seed: config.seed, ..FitConfig::default() };
            let history = started(training::fit(&model, &vs, &train, Some(&validation), &cfg, control)?)?;
            let report = ModelReport::for_windows(&title, &model, &vs, &history, &test, rec.sample_rate_hz)?;
            let unheard = match unheard {
                Some(u) => {
                    let predicted = training::dense::predict(&model, &u.data, training::dense::PREDICT_BATCH)?;
                    Some(unheard_scores(&u.data.target_samples()?, &predicted, u.names, rec.sample_rate_hz)?)
                }
                None => None,
            };
            (history, Scored::Recording { report: Box::new(report), unheard, latency, sample_rate_hz: rec.sample_rate_hz }, None)
        }
        Job::Knobs { model, train, validation, captures } => {
            let history = fit_causal(model.as_ref(), &mut vs, &train, &validation, &seq_cfg, &config, control)?;
            let mut rows = Vec::new();
            for values in captures.captures.settings(Role::Test) {
                rows.push((captures.captures.describe(&values), training::validation_esr(&model, &SeqData::at_setting(&captures, &values, device)?)?));
            }
            let parameters = crate::models::parameter_count(&vs);
            (history, Scored::Settings { rows, captures: Box::new(captures), parameters }, Some(model))
        }
    };
    Ok(Trained { config, title, history, scored, model, vs, device })
}

/// Train a causal model by `cfg`; an ensemble member by member (see [`fit_members`]).
fn fit_causal(model: &dyn CausalModel, vs: &mut nn::VarStore, train: &SeqData, validation: &SeqData, cfg: &SeqFitConfig, config: &CaptureConfig, control: &RunControl) -> Result<History> {
    if model.members().is_empty() {
        return started(fit_sequence(model, vs, train, validation, cfg, control)?);
    }
    fit_members(model, vs, train, validation, config, control)
}

/// Train an ensemble's members one after the other, each in a store of its own (so a batch
/// still splits over the CPU's threads) on an equal share of the budget, by its own defaults
/// (seeded `seed + i`); then load their weights into the ensemble. The history is theirs in
/// turn, its best validation ESR the ensemble's. Not resumable; a stop loses the run.
fn fit_members(model: &dyn CausalModel, vs: &mut nn::VarStore, train: &SeqData, validation: &SeqData, config: &CaptureConfig, control: &RunControl) -> Result<History> {
    if control.resume {
        return Err(Error::invalid("resume", "an ensemble trains its members one after the other and cannot resume; train it again"));
    }
    let members = model.members();
    let share = config.budget_seconds / members.len() as f64;
    let (mut weights, mut history, mut reasons) = (NamWeightsOut::new(), History::default(), Vec::new());
    for (i, m) in members.iter().enumerate() {
        training::seed_everything(config.seed + i as u64);
        let mut own = nn::VarStore::new(vs.device());
        let fresh = m.replica(&own.root())?;
        let cfg = SeqFitConfig { max_seconds: Some(share), seed: config.seed + i as u64, ..training_of(fresh.as_ref(), config) };
        // Epochs counted on from the members before, so a progress bar only moves forward.
        let (epochs_before, seconds_before) = (history.epochs.len(), history.seconds());
        let on = move |e: Epoch| Epoch { epoch: e.epoch + epochs_before, elapsed_seconds: e.elapsed_seconds + seconds_before, ..e };
        let on_epoch = control.on_epoch.clone().map(|EpochHook(f)| EpochHook(Arc::new(move |e: &Epoch| f(&on(e.clone())))));
        let h = started(fit_sequence(&fresh, &mut own, train, validation, &cfg, &RunControl { checkpoint: None, on_epoch, ..control.clone() })?)?;
        if control.stop_requested() {
            return Err(Error::Stopped);
        }
        fresh.write_nam_weights(&mut weights)?;
        reasons.push(format!("member {} ({}): {} epochs, {}", i + 1, fresh.nam_architecture(), h.epochs.len(), h.stopped_because));
        history.epochs.extend(h.epochs.into_iter().map(on));
    }
    let all = weights.into_vec();
    let mut reader = NamWeights::new(&all);
    model.read_nam_weights(&mut reader).and_then(|()| reader.finish()).map_err(|e| Error::invalid("ensemble", e.0))?;
    history.best_val_esr = training::validation_esr(model, validation)?;
    history.best_epoch = history.epochs.len();
    history.stopped_because = reasons.join("; ");
    Ok(history)
}

/// How `model` plays the takes it never heard, each from silence (as a guitarist starts).
fn score_unheard(model: &dyn crate::models::CausalModel, unheard: Unheard<SeqData>, sample_rate_hz: u32) -> Result<UnheardScores> {
    let (real, predicted) = training::predict_scored(model, &unheard.data)?;
    unheard_scores(&real, &predicted, unheard.names, sample_rate_hz)
}

/// The scores of `predicted` against `real` over the takes `names`.
fn unheard_scores(real: &[f32], predicted: &[f32], names: Vec<String>, sample_rate_hz: u32) -> Result<UnheardScores> {
    let scores = crate::evaluation::compare::score(real, predicted, sample_rate_hz)?;
    Ok(UnheardScores { scores, takes: names, seconds: real.len() as f64 / sample_rate_hz as f64 })
}

/// The history of a run that finished at least one epoch.
fn started(history: History) -> Result<History> {
    if history.epochs.is_empty() {
        return Err(Error::Stopped);
    }
    Ok(history)
}

//! `summary.txt`: what was trained, how long, how it scored on NAM's scale, and the files.

use std::path::{Path, PathBuf};

use super::{Scored, Trained};
use crate::data::captures::Role;
use crate::evaluation::compare::verdict;
use crate::training::checkpoint_files;

/// The summary of `t`, its run folder `dir` holding the `.nam` (if any) and the history.
pub(super) fn summary(t: &Trained, dir: &Path, nam: Option<&Path>, history: &Path) -> String {
    let checkpoint = dir.join("model.safetensors");
    let mut files: Vec<PathBuf> = match nam {
        Some(_) => checkpoint_files(&checkpoint).into_iter().filter(|p| p.exists()).collect(),
        None => vec![checkpoint],
    };
    files.extend(nam.map(Path::to_path_buf));
    files.push(history.to_path_buf());
    let files = files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    match &t.scored {
        Scored::Recording { .. } => recording_summary(t, &files),
        Scored::Settings { .. } => settings_summary(t, dir, &files),
    }
}

fn recording_summary(t: &Trained, files: &str) -> String {
    let Scored::Recording { report, unheard, latency, .. } = &t.scored else { unreachable!("a recording's run") };
    let stopped = &t.history.stopped_because;
    let mut s = String::new();
    s.push_str(&format!("model            : {}\n", report.name));
    s.push_str(&format!("parameters       : {}\n", report.parameters));
    s.push_str(&format!("training         : {:.0} s, {} epochs ({stopped})\n", report.train_seconds, report.epochs));
    s.push_str(&format!("validation ESR   : {:.4} (best)\n", t.history.best_val_esr));
    let sc = &report.scores;
    let on = |sc: &crate::evaluation::compare::Scores| format!("{:.4} (pre-emphasised {:.4}, spectral distance {:.2} dB)", sc.esr, sc.esr_pre_emphasised, sc.spectral_distance_db);
    let scale = "NAM's scale: < 0.01 great, < 0.035 not bad, < 0.1 might sound OK, < 0.3 probably won't sound great, else something went wrong";
    match unheard {
        Some(u) => {
            s.push_str(&format!("test ESR         : {} on held-out blocks of the takes it trained on\n", on(sc)));
            s.push_str(&format!("unheard ESR      : {} on playing it never heard ({:.1} s: {})\n", on(&u.scores), u.seconds, u.takes.join(", ")));
            s.push_str(&format!("verdict          : {} (for playing it never heard; {scale})\n", verdict(u.scores.esr)));
        }
        None => {
            s.push_str(&format!("test ESR         : {}\n", on(sc)));
            s.push_str(&format!("verdict          : {} (on held-out blocks of the one take it trained on, which new playing rarely matches; give a second take with --test-data for an honest one; {scale})\n", verdict(sc.esr)));
        }
    }
    s.push_str(&format!("alignment        : {latency} (written into model.nam: compare its output with the amp advanced by {} samples)\n", latency.lag_samples));
    if latency.is_uncertain() {
        s.push_str("                   the alignment was uncertain: a poor test ESR may come from it; check with `ampsim info`, or give --latency\n");
    }
    s.push_str(&format!("real-time factor : {:.1}x on one CPU thread\n", report.real_time_factor));
    s.push_str(&format!("files            : {files}\n"));
    s
}

fn settings_summary(t: &Trained, dir: &Path, files: &str) -> String {
    let Scored::Settings { rows, captures, parameters } = &t.scored else { unreachable!("a captures set's run") };
    let c = &captures.captures;
    let h = &t.history;
    let mut s = String::new();
    s.push_str(&format!("model            : {} ({parameters} parameters)\n", t.title));
    for spec in &c.controls {
        s.push_str(&format!("control          : {} (reads {}..{} as 0..1; trained on {}..{})\n", spec.name, spec.min, spec.max, spec.trained_min, spec.trained_max));
    }
    s.push_str(&format!("training         : {:.0} s, {} epochs ({}); {} settings, {:.1} s of audio\n", h.seconds(), h.epochs.len(), h.stopped_because, c.settings(Role::Train).len(), captures.seconds(Role::Train)));
    s.push_str(&format!("validation ESR   : {:.4} (best; held-out setting {})\n", h.best_val_esr, c.describe_settings(Role::Validation)));
    for (setting, esr) in rows {
        s.push_str(&format!("test ESR         : {esr:.4} at {setting} (held out; {})\n", verdict(*esr)));
    }
    match t.test_esr() {
        Some(mean) => s.push_str(&format!("mean test ESR    : {mean:.4} over {} held-out settings ({})\n", rows.len(), verdict(mean))),
        None => s.push_str("test ESR         : no test setting held out (name some under `test` in the manifest)\n"),
    }
    s.push_str(&format!("alignment        : {}\n", captures.describe_alignment()));
    s.push_str(&format!("files            : {files}\n"));
    let knobs = c.controls.iter().map(|spec| format!("--set {}=…", spec.name)).collect::<Vec<_>>().join(" ");
    s.push_str(&format!("play it          : ampsim process --model {} {knobs} IN.wav OUT.wav\n", dir.join("model.nam").display()));
    s
}

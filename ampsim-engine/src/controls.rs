//! Control values (an amp's knobs) as a model reads them while playing: a new setting is
//! reached by a linear ramp over [`RAMP_SAMPLES`], so a knob turned between blocks does not
//! click; before the first sample after a reset it applies at once.

/// Samples over which a control moves to a new value (about 21 ms at 48 kHz).
pub const RAMP_SAMPLES: usize = 1024;

/// The control values of a playing model, each ramping towards its target.
#[derive(Clone, Debug, Default)]
pub(crate) struct Controls {
    current: Vec<f32>,
    target: Vec<f32>,
    step: Vec<f32>,
    /// Samples left in the ramp.
    left: usize,
    /// Nothing played since the reset: a new setting applies at once.
    fresh: bool,
}

impl Controls {
    /// `count` controls at 0.
    pub(crate) fn new(count: usize) -> Controls {
        Controls { current: vec![0.0; count], target: vec![0.0; count], step: vec![0.0; count], left: 0, fresh: true }
    }

    pub(crate) fn count(&self) -> usize {
        self.current.len()
    }

    /// The values now.
    pub(crate) fn current(&self) -> &[f32] {
        &self.current
    }

    /// Aim at `values` (extra ones ignored, missing ones keep their target; a non-finite value
    /// reads as 0). Returns whether the values jumped (nothing played since the reset).
    pub(crate) fn set(&mut self, values: &[f32]) -> bool {
        for (t, &v) in self.target.iter_mut().zip(values) {
            *t = if v.is_finite() { v } else { 0.0 };
        }
        if self.fresh {
            self.current.copy_from_slice(&self.target);
            self.left = 0;
            return true;
        }
        for ((s, &t), &c) in self.step.iter_mut().zip(&self.target).zip(&self.current) {
            *s = (t - c) / RAMP_SAMPLES as f32;
        }
        self.left = RAMP_SAMPLES;
        false
    }

    /// Audio was played: later settings ramp.
    #[inline(always)]
    pub(crate) fn played(&mut self) {
        self.fresh = false;
    }

    /// One sample along the ramp (nothing when none is under way).
    #[inline(always)]
    pub(crate) fn advance(&mut self) {
        if self.left > 0 {
            self.left -= 1;
            if self.left == 0 {
                self.current.copy_from_slice(&self.target);
            } else {
                self.current.iter_mut().zip(&self.step).for_each(|(c, s)| *c += s);
            }
        }
    }

    /// Whether a ramp is under way.
    #[inline(always)]
    pub(crate) fn moving(&self) -> bool {
        self.left > 0
    }

    /// A reset: the targets apply at once, and the next setting too.
    pub(crate) fn settle(&mut self) {
        self.current.copy_from_slice(&self.target);
        self.left = 0;
        self.fresh = true;
    }
}

/// A control of a conditioned model (an amp's knob) as its file names it: the model reads
/// `(value − min) / (max − min)`, and was trained on values from `trained_min` to
/// `trained_max` (outside them it extrapolates).
///
/// In a `.nam` file, a conditioned model lists its controls, in the order the model reads
/// them, under the top-level key `"controls"`: `[{"name": "treble", "min": 0, "max": 10,
/// "trained_min": 0, "trained_max": 10}, …]` (see `docs/conditioned-models.md`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ControlSpec {
    pub name: String,
    /// The value the model reads as 0.
    pub min: f64,
    /// The value the model reads as 1.
    pub max: f64,
    /// The lowest value in the training recordings.
    pub trained_min: f64,
    /// The highest value in the training recordings.
    pub trained_max: f64,
}

impl ControlSpec {
    /// A control over `min..=max`, trained over all of it.
    pub fn new(name: impl Into<String>, min: f64, max: f64) -> ControlSpec {
        ControlSpec { name: name.into(), min, max, trained_min: min, trained_max: max }
    }

    /// `value` as the model reads it: 0 at `min`, 1 at `max`.
    pub fn normalise(&self, value: f64) -> f32 {
        ((value - self.min) / (self.max - self.min)) as f32
    }

    /// Whether `value` lies in the range the model was trained on.
    pub fn trained_on(&self, value: f64) -> bool {
        (self.trained_min..=self.trained_max).contains(&value)
    }

    /// What is wrong with the spec, if anything.
    pub fn problem(&self) -> Option<String> {
        let finite = [self.min, self.max, self.trained_min, self.trained_max].iter().all(|v| v.is_finite());
        if self.name.trim().is_empty() {
            Some("a control without a name".into())
        } else if !finite || self.max <= self.min {
            Some(format!("control `{}`: its range {}..{} is not a range", self.name, self.min, self.max))
        } else if !finite || self.trained_max < self.trained_min {
            Some(format!("control `{}`: its trained range {}..{} is not a range", self.name, self.trained_min, self.trained_max))
        } else {
            None
        }
    }
}

/// What a model's controls are, for messages comparing two models: `no controls`, or
/// `controls gain 0..1, treble 0..10`.
pub fn describe_controls(specs: &[ControlSpec]) -> String {
    if specs.is_empty() {
        return "no controls".into();
    }
    format!("controls {}", specs.iter().map(|c| format!("{} {}..{}", c.name, c.min, c.max)).collect::<Vec<_>>().join(", "))
}

/// The normalised values of `specs` for a setting given as `(name, value)` pairs: one clear
/// error for an unknown name, a name given twice, a control left out, or (unless
/// `extrapolate`) a value outside the trained range; with `extrapolate`, such values are
/// returned with a warning each.
pub fn normalise_setting(specs: &[ControlSpec], setting: &[(String, f64)], extrapolate: bool) -> Result<(Vec<f32>, Vec<String>), String> {
    let names = || specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ");
    if specs.is_empty() {
        return match setting.first() {
            Some((name, _)) => Err(format!("the model has no controls (a capture of one setting), so `{name}` cannot be set")),
            None => Ok((Vec::new(), Vec::new())),
        };
    }
    for (i, (name, value)) in setting.iter().enumerate() {
        if !specs.iter().any(|s| &s.name == name) {
            return Err(format!("unknown control `{name}` (the model's controls: {})", names()));
        }
        if setting[..i].iter().any(|(n, _)| n == name) {
            return Err(format!("control `{name}` is set twice"));
        }
        if !value.is_finite() {
            return Err(format!("control `{name}`: {value} is not a number"));
        }
    }
    let missing: Vec<&str> = specs.iter().filter(|s| !setting.iter().any(|(n, _)| n == &s.name)).map(|s| s.name.as_str()).collect();
    if !missing.is_empty() {
        return Err(format!("no value for {} (the model reads {}: give each, e.g. `--set {}=…`)", missing.join(", "), names(), missing[0]));
    }
    let (mut values, mut warnings) = (Vec::with_capacity(specs.len()), Vec::new());
    for s in specs {
        let v = setting.iter().find(|(n, _)| n == &s.name).map_or(0.0, |(_, v)| *v);
        if !s.trained_on(v) {
            let what = format!("{} = {v} is outside the range the model was trained on ({}..{})", s.name, s.trained_min, s.trained_max);
            if !extrapolate {
                return Err(format!("{what}; ask for it explicitly to let the model extrapolate"));
            }
            warnings.push(format!("{what}: the model extrapolates"));
        }
        values.push(s.normalise(v));
    }
    Ok((values, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_setting_jumps_before_playing_and_ramps_after() {
        let mut c = Controls::new(2);
        assert!(c.set(&[1.0, -1.0]));
        assert_eq!(c.current(), [1.0, -1.0]);
        c.played();
        assert!(!c.set(&[0.0, f32::NAN]));
        for i in 1..=RAMP_SAMPLES {
            assert!(c.moving());
            c.advance();
            let expected = 1.0 - i as f32 / RAMP_SAMPLES as f32;
            assert!((c.current()[0] - expected).abs() < 1e-4 && (c.current()[1] + expected).abs() < 1e-4, "{i}: {:?}", c.current());
        }
        assert!(!c.moving() && c.current() == [0.0, 0.0]);
    }

    #[test]
    fn a_setting_is_checked_against_the_controls() {
        let specs = [ControlSpec::new("bass", 0.0, 10.0), ControlSpec { trained_max: 8.0, ..ControlSpec::new("treble", 0.0, 10.0) }];
        let set = |pairs: &[(&str, f64)], x: bool| normalise_setting(&specs, &pairs.iter().map(|(n, v)| (n.to_string(), *v)).collect::<Vec<_>>(), x);
        assert_eq!(set(&[("treble", 5.0), ("bass", 2.5)], false).unwrap(), (vec![0.25, 0.5], vec![]));
        assert!(set(&[("bass", 1.0)], false).unwrap_err().contains("no value for treble"));
        assert!(set(&[("bass", 1.0), ("trebel", 1.0)], false).unwrap_err().contains("unknown control `trebel`"));
        assert!(set(&[("bass", 1.0), ("bass", 2.0), ("treble", 1.0)], false).unwrap_err().contains("twice"));
        assert!(set(&[("bass", 1.0), ("treble", 9.0)], false).unwrap_err().contains("outside the range"));
        let (values, warnings) = set(&[("bass", 1.0), ("treble", 9.0)], true).unwrap();
        assert_eq!((values, warnings.len()), (vec![0.1, 0.9], 1));
        assert!(normalise_setting(&[], &[("bass".into(), 1.0)], false).unwrap_err().contains("no controls"));
        assert!(ControlSpec::new("x", 1.0, 1.0).problem().is_some() && ControlSpec::new("", 0.0, 1.0).problem().is_some());
    }
}

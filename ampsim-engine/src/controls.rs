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

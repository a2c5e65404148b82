//! The train/validation/test split of one recording: 10-second blocks, each split into a
//! training, a validation and a test part, so that every set hears the same mix of playing;
//! test parts move off pauses.

use std::ops::Range;

use crate::{Error, Result};

/// Training, validation and test ranges of sample indices, interleaved along the recording:
/// in every block the first part trains, the next validates and the last tests. A performance
/// changes as it goes (loud riffs, soft passages, chords), so interleaving gives all three sets
/// the same mix of playing; a single test range at the end would measure only the last minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    pub train: Vec<Range<usize>>,
    pub validation: Vec<Range<usize>>,
    pub test: Vec<Range<usize>>,
}

impl Split {
    /// Blocks of `block_samples` (the last one may be shorter); in each, the first `train`
    /// fraction trains, the next `validation` fraction validates and the rest tests.
    pub fn interleaved(len_samples: usize, block_samples: usize, train: f64, validation: f64) -> Result<Split> {
        if !(train > 0.0 && validation > 0.0 && train + validation < 1.0) {
            return Err(Error::invalid("split", format!("fractions {train} (train) and {validation} (validation) must be positive and leave room for a test range")));
        }
        if block_samples == 0 || len_samples < block_samples {
            return Err(Error::invalid("split", format!("{len_samples} samples do not fill one block of {block_samples}")));
        }
        let mut split = Split { train: Vec::new(), validation: Vec::new(), test: Vec::new() };
        let mut start = 0;
        while start < len_samples {
            let mut end = (start + block_samples).min(len_samples);
            // A short remainder joins the block before it.
            if len_samples - end < block_samples / 2 {
                end = len_samples;
            }
            let len = (end - start) as f64;
            let (a, b) = (start + (len * train) as usize, start + (len * (train + validation)) as usize);
            split.train.push(start..a);
            split.validation.push(a..b);
            split.test.push(b..end);
            start = end;
        }
        Ok(split)
    }

    /// Blocks of 10 s (a quarter of the recording when it is shorter than 40 s), each split
    /// 60 % training, 20 % validation, 20 % test.
    pub fn standard(len_samples: usize, sample_rate_hz: u32) -> Result<Split> {
        Split::interleaved(len_samples, (10 * sample_rate_hz as usize).min(len_samples / 4), 0.6, 0.2)
    }

    /// [`Self::standard`], with every block's validation and test parts on fifths of the block
    /// that carry signal: a part whose amp is more than [`crate::data::align::ACTIVE_RANGE_DB`] below
    /// the recording's loud passages would score the noise floor, not the model. Such a part
    /// trades places with a fifth of the same block that carries signal (the last ones first);
    /// a block with fewer than two such fifths trains whole. An error when no block is left
    /// to validate and test on.
    pub fn standard_with_signal(amp: &[f32], sample_rate_hz: u32) -> Result<Split> {
        let base = Split::standard(amp.len(), sample_rate_hz)?;
        let loud = crate::data::align::loud_level_db(amp);
        let mut split = Split { train: Vec::new(), validation: Vec::new(), test: Vec::new() };
        let carries_signal = |r: &Range<usize>| crate::data::align::level_db(&amp[r.clone()]) > loud - crate::data::align::ACTIVE_RANGE_DB;
        for ((t, v), e) in base.train.iter().zip(&base.validation).zip(&base.test) {
            // The standard parts, when both carry signal.
            if carries_signal(v) && carries_signal(e) {
                split.train.push(t.clone());
                split.validation.push(v.clone());
                split.test.push(e.clone());
                continue;
            }
            let (start, len) = (t.start, e.end - t.start);
            let fifths: Vec<Range<usize>> = (0..5).map(|i| start + len * i / 5..start + len * (i + 1) / 5).collect();
            // Otherwise the last two fifths that carry signal validate and test.
            let chosen: Vec<usize> = (0..5).rev().filter(|&i| carries_signal(&fifths[i])).take(2).collect();
            if chosen.len() < 2 {
                split.train.push(start..start + len);
                continue;
            }
            let (val, test) = (chosen[1], chosen[0]);
            split.validation.push(fifths[val].clone());
            split.test.push(fifths[test].clone());
            for (i, f) in fifths.into_iter().enumerate() {
                if i == val || i == test {
                    continue;
                }
                match split.train.last_mut() {
                    Some(last) if last.end == f.start => last.end = f.end,
                    _ => split.train.push(f),
                }
            }
        }
        if split.validation.is_empty() {
            return Err(Error::invalid("amp", format!("no block of the recording carries signal in two of its fifths (within {} dB of its loud passages): nothing to validate and test on", crate::data::align::ACTIVE_RANGE_DB)));
        }
        Ok(split)
    }

    /// The samples of `signal` in `ranges`, concatenated (e.g. the real amp over the test ranges).
    pub fn gather(signal: &[f32], ranges: &[Range<usize>]) -> Vec<f32> {
        ranges.iter().flat_map(|r| signal[r.start.min(signal.len())..r.end.min(signal.len())].iter().copied()).collect()
    }

    /// Total samples in a set of ranges.
    pub fn total(ranges: &[Range<usize>]) -> usize {
        ranges.iter().map(|r| r.len()).sum()
    }

    /// A short description in seconds, e.g. "train 24.0 s, validation 8.0 s, test 8.0 s in 4 blocks of 10.0 s".
    pub fn describe(&self, sample_rate_hz: u32) -> String {
        let s = |r: &[Range<usize>]| Split::total(r) as f64 / sample_rate_hz as f64;
        let block = self.train.first().map_or(0, |r| r.start) as f64;
        let block_len = self.test.first().map_or(0.0, |r| r.end as f64 - block) / sample_rate_hz as f64;
        format!("train {:.1} s, validation {:.1} s, test {:.1} s in {} blocks of {block_len:.1} s", s(&self.train), s(&self.validation), s(&self.test), self.validation.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_interleaves_train_validation_and_test() {
        let s = Split::standard(1_764_000, 44_100).unwrap();
        assert_eq!(s.train.len(), 4);
        assert_eq!((s.train[1].clone(), s.validation[1].clone(), s.test[1].clone()), (441_000..705_600, 705_600..793_800, 793_800..882_000));
        assert_eq!(s.test[3].end, 1_764_000);
        assert_eq!(s.describe(44_100), "train 24.0 s, validation 8.0 s, test 8.0 s in 4 blocks of 10.0 s");
        // Every sample belongs to exactly one set.
        let mut all: Vec<_> = s.train.iter().chain(&s.validation).chain(&s.test).cloned().collect();
        all.sort_by_key(|r| r.start);
        assert!(all.windows(2).all(|w| w[0].end == w[1].start) && all[0].start == 0);
        // A short tail joins the last block instead of making a tiny one.
        let s = Split::interleaved(1040, 100, 0.6, 0.2).unwrap();
        assert_eq!((s.train.len(), s.test.last().unwrap().end, s.train.last().unwrap().clone()), (10, 1040, 900..984));
        assert!(Split::interleaved(100, 100, 0.8, 0.2).is_err());
        // A 5-second take still gets every set, in 1.25-second blocks.
        let s = Split::standard(220_500, 44_100).unwrap();
        assert_eq!((s.train.len(), s.test[0].clone()), (4, 44_100..55_125));
        assert_eq!(Split::gather(&(0..10).map(|v| v as f32).collect::<Vec<_>>(), &[1..3, 7..9]), vec![1.0, 2.0, 7.0, 8.0]);
        assert!(Split::interleaved(50, 100, 0.6, 0.2).is_err());
        // Signal everywhere: the standard split as it is. A pause in a test part: that block's
        // test part moves onto a fifth that carries signal.
        let mut amp: Vec<f32> = (0..220_500).map(|i| ((i as f32) * 0.05).sin() * 0.5).collect();
        assert_eq!(Split::standard_with_signal(&amp, 44_100).unwrap(), s);
        amp[44_100..55_125].iter_mut().for_each(|v| *v *= 1e-4);
        let moved = Split::standard_with_signal(&amp, 44_100).unwrap();
        assert_eq!((moved.test[0].clone(), moved.validation[0].clone()), (33_075..44_100, 22_050..33_075));
        assert_eq!(moved.test[1..], s.test[1..]);
        assert!(Split::standard_with_signal(&vec![0.0; 220_500], 44_100).is_err());
    }
}

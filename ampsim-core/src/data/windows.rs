//! Windows of the direct signal paired with amp samples — the post's `make_xy`, made lazy.
//!
//! For every k in [start, end) the input row is `direct[k - window + future .. k + future]` and
//! the target is `amp[k]`, with `start = max(start, window)`. The post materialised these rows
//! (550 000 × 4000 floats = 8.8 GB for its training range); here the rows are strided views
//! of one copy of the signal (`Tensor::unfold`), and a batch is gathered only when it is
//! asked for: memory grows with the signal's length, not with window × rows.

use std::ops::Range;

use rand::seq::SliceRandom;
use rand_pcg::Pcg64;
use tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// The train/validation/test split lives in its own module; re-exported here where it was.
pub use super::split::Split;

/// Window geometry. Defaults are the post's: 4000 samples, 300 of them after k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// Samples in one input row.
    pub window_samples: usize,
    /// How many of them come after the target sample k (the "future").
    pub future_samples: usize,
}

impl Default for WindowSpec {
    fn default() -> Self {
        WindowSpec { window_samples: 4000, future_samples: 300 }
    }
}

/// The post's index ranges (training and test targets k), for a 4000-sample window.
pub const POST_TRAIN: Range<usize> = 250_000..800_000;
pub const POST_TEST: Range<usize> = 800_000..1_500_000;

/// Lazily windowed (x, y) pairs over one recording.
pub struct Windows {
    /// The whole direct signal, 1-D, on `device`.
    direct: Tensor,
    /// The amp samples of every row, as a column `[n, 1]`.
    targets: Tensor,
    /// Each row's target index k, when the rows come from several ranges.
    ks: Option<Tensor>,
    /// First and one past the last target index (the span, when there are several ranges).
    pub start: usize,
    pub end: usize,
    pub spec: WindowSpec,
    pub device: Device,
}

impl std::fmt::Debug for Windows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Windows(k in {}..{}, {} rows of {} samples)", self.start, self.end, self.len(), self.spec.window_samples)
    }
}

/// Build the windows for targets k in `start..end` (the post's `make_xy`).
///
/// Errors as the post's: "Indices extend beyond data" when `end + future >= len(direct)`, and
/// when the signals differ in length; also when the window is empty or longer than the data.
pub fn make_xy(direct: &[f32], amp: &[f32], start: usize, end: usize, spec: WindowSpec, device: Device) -> Result<Windows> {
    let (start, end) = check_range(direct.len(), amp.len(), start, end, spec)?;
    let direct_t = Tensor::from_slice(direct).to_device(device);
    let targets = Tensor::from_slice(&amp[start..end]).view([-1, 1]).to_device(device);
    Ok(Windows { direct: direct_t, targets, ks: None, start, end, spec, device })
}

/// The rows `make_xy` would build for `start..end` (start raised to the window), or its error.
fn check_range(direct_len: usize, amp_len: usize, start: usize, end: usize, spec: WindowSpec) -> Result<(usize, usize)> {
    if direct_len != amp_len {
        return Err(Error::invalid("amp", format!("length {amp_len} differs from direct's {direct_len}")));
    }
    if spec.window_samples == 0 || spec.future_samples >= spec.window_samples {
        return Err(Error::invalid(
            "spec",
            format!("window {} must be positive and larger than future {}", spec.window_samples, spec.future_samples),
        ));
    }
    let start = start.max(spec.window_samples);
    if end + spec.future_samples >= direct_len {
        return Err(Error::invalid(
            "end",
            format!("Indices extend beyond data: end {end} + future {} >= {direct_len} samples", spec.future_samples),
        ));
    }
    if start >= end {
        return Err(Error::invalid("start", format!("no rows: start {start} (at least the window) is not below end {end}")));
    }
    Ok((start, end))
}

/// Windows for the targets k of several ranges (e.g. the training blocks of a [`Split`]),
/// over one copy of the signal. Each range is checked as in [`make_xy`].
pub fn make_xy_ranges(direct: &[f32], amp: &[f32], ranges: &[Range<usize>], spec: WindowSpec, device: Device) -> Result<Windows> {
    if ranges.is_empty() {
        return Err(Error::invalid("ranges", "no ranges given"));
    }
    let mut ks: Vec<i64> = Vec::new();
    let mut targets: Vec<f32> = Vec::new();
    for r in ranges {
        let (start, end) = check_range(direct.len(), amp.len(), r.start, r.end, spec).map_err(|e| Error::invalid("ranges", format!("{r:?}: {e}")))?;
        ks.extend(start as i64..end as i64);
        targets.extend_from_slice(&amp[start..end]);
    }
    let start = ks[0] as usize;
    let end = *ks.last().expect("at least one row") as usize + 1;
    Ok(Windows {
        direct: Tensor::from_slice(direct).to_device(device),
        targets: Tensor::from_slice(&targets).view([-1, 1]).to_device(device),
        ks: Some(Tensor::from_slice(&ks).to_device(device)),
        start,
        end,
        spec,
        device,
    })
}

impl Windows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.targets.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every window of the signal: row i starts at sample i.
    fn all_windows(&self) -> Tensor {
        self.direct.unfold(0, self.spec.window_samples as i64, 1)
    }

    /// Index into [`Self::all_windows`] of the row with target k.
    fn window_of(&self, k: &Tensor) -> Tensor {
        k + (self.spec.future_samples as i64 - self.spec.window_samples as i64)
    }

    /// All rows as `[n, window]`: a view of the signal (no copy) for one range; a gathered
    /// copy for several (prefer [`Self::rows`] or [`Self::batch`] there).
    pub fn x(&self) -> Tensor {
        self.rows(0, self.len())
    }

    /// Rows `first..first + count` as `[count, window]` (a view for one range).
    pub fn rows(&self, first: usize, count: usize) -> Tensor {
        match &self.ks {
            None => {
                let first_window = (self.start + first + self.spec.future_samples - self.spec.window_samples) as i64;
                self.all_windows().narrow(0, first_window, count as i64)
            }
            Some(ks) => self.all_windows().index_select(0, &self.window_of(&ks.narrow(0, first as i64, count as i64))),
        }
    }

    /// All targets as `[n, 1]`.
    pub fn y(&self) -> &Tensor {
        &self.targets
    }

    /// The targets as samples on the CPU, one per window.
    /// The direct signal the windows cover, as a plugin would receive it: samples
    /// `start − window + future .. end + future` (clipped to the signal).
    pub fn direct_samples(&self) -> Result<Vec<f32>> {
        let len = self.direct.size()[0] as usize;
        let from = (self.start + self.spec.future_samples).saturating_sub(self.spec.window_samples);
        let to = (self.end + self.spec.future_samples).min(len);
        Ok(Vec::<f32>::try_from(self.direct.narrow(0, from as i64, (to - from) as i64).to_device(Device::Cpu))?)
    }

    pub fn target_samples(&self) -> Result<Vec<f32>> {
        Ok(Vec::<f32>::try_from(self.targets.to_device(Device::Cpu).view([-1]))?)
    }

    /// Gather the rows and targets at positions `rows` (0-based, into `start..end`).
    pub fn batch(&self, rows: &Tensor) -> (Tensor, Tensor) {
        let x = match &self.ks {
            None => self.x().index_select(0, rows),
            Some(ks) => self.all_windows().index_select(0, &self.window_of(&ks.index_select(0, rows))),
        };
        (x, self.targets.index_select(0, rows))
    }

    /// Row positions in batches of `batch_size`, shuffled by `shuffle` when given.
    pub fn batches(&self, batch_size: usize, shuffle: Option<&mut Pcg64>) -> Vec<Tensor> {
        let mut order: Vec<i64> = (0..self.len() as i64).collect();
        if let Some(rng) = shuffle {
            order.shuffle(rng);
        }
        order
            .chunks(batch_size.max(1))
            .map(|c| Tensor::from_slice(c).to_kind(Kind::Int64).to_device(self.device))
            .collect()
    }

    /// Bytes held: the signal and the targets (not window × rows), and row indices if any.
    pub fn memory_bytes(&self) -> usize {
        (self.direct.numel() + self.targets.numel()) * 4 + self.ks.as_ref().map_or(0, |k| k.numel() * 8)
    }
}

/// Windows per range in quick mode ([`Ranges::for_notebook`]).
pub const QUICK_ROWS: usize = 40_000;

/// Training and test ranges of target indices for a recording of `len_samples`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ranges {
    pub train: Range<usize>,
    pub test: Range<usize>,
    /// Set when the post's ranges did not fit and were adapted, saying how.
    pub note: Option<String>,
}

impl Ranges {
    /// The post's ranges when the recording is long enough; otherwise the first 45 % of the
    /// usable indices for training and the rest for testing, with a note saying so.
    pub fn post_or_adapted(len_samples: usize, spec: WindowSpec) -> Result<Ranges> {
        if POST_TEST.end + spec.future_samples < len_samples && spec.window_samples <= POST_TRAIN.start {
            return Ok(Ranges { train: POST_TRAIN, test: POST_TEST, note: None });
        }
        let first = spec.window_samples;
        let last = len_samples.saturating_sub(spec.future_samples + 1);
        if last <= first + 1000 {
            return Err(Error::invalid(
                "len_samples",
                format!("{len_samples} samples leave fewer than 1000 rows for a {}-sample window", spec.window_samples),
            ));
        }
        let split = first + (last - first) * 45 / 100;
        let note = format!(
            "the recording has {len_samples} samples, shorter than the post's ranges need ({}): \
             training on k in {first}..{split}, testing on k in {split}..{last}",
            POST_TEST.end + spec.future_samples + 1
        );
        Ok(Ranges { train: first..split, test: split..last, note: Some(note) })
    }

    /// The post's ranges for a notebook: adapted to a short recording (see [`Self::note`]) and,
    /// in quick mode ([`crate::runtime::quick_mode`]), shrunk to [`QUICK_ROWS`] windows each.
    pub fn for_notebook(len_samples: usize, spec: WindowSpec) -> Result<Ranges> {
        let ranges = Ranges::post_or_adapted(len_samples, spec)?;
        Ok(if crate::runtime::quick_mode() { ranges.shrunk(QUICK_ROWS, QUICK_ROWS) } else { ranges })
    }

    /// These ranges shrunk for quick mode: at most `train_rows` and `test_rows` from the start of each.
    pub fn shrunk(&self, train_rows: usize, test_rows: usize) -> Ranges {
        let cut = |r: &Range<usize>, n: usize| r.start..r.end.min(r.start + n);
        Ranges { train: cut(&self.train, train_rows), test: cut(&self.test, test_rows), note: self.note.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The post's loop, transcribed literally (the reference for the lazy version).
    #[allow(clippy::type_complexity)]
    fn post_make_xy(direct: &[f32], amp: &[f32], start: usize, end: usize, window: usize, future: usize) -> Result<(Vec<Vec<f32>>, Vec<f32>), String> {
        if direct.len() != amp.len() {
            return Err("lengths differ".into());
        }
        let start = start.max(window);
        if end + future >= direct.len() {
            return Err("Indices extend beyond data".into());
        }
        let mut x = Vec::new();
        let mut y = Vec::new();
        for k in start..end {
            x.push(direct[k - window + future..k + future].to_vec());
            y.push(amp[k]);
        }
        Ok((x, y))
    }

    fn signals(n: usize) -> (Vec<f32>, Vec<f32>) {
        let d: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin() + i as f32 * 1e-3).collect();
        let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
        (d, a)
    }

    #[test]
    fn rows_and_targets_match_the_posts_loop() {
        let (d, a) = signals(500);
        let spec = WindowSpec { window_samples: 40, future_samples: 3 };
        for (start, end) in [(0usize, 100usize), (50, 300), (10, 496)] {
            let (px, py) = post_make_xy(&d, &a, start, end, 40, 3).unwrap();
            let w = make_xy(&d, &a, start, end, spec, Device::Cpu).unwrap();
            assert_eq!(w.len(), px.len());
            let x: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(w.x()).unwrap();
            assert_eq!(x, px);
            let y: Vec<f32> = Vec::<f32>::try_from(w.y().view([-1])).unwrap();
            assert_eq!(y, py);
            // Gathered batches equal the same rows.
            let rows = Tensor::from_slice(&[0i64, 5, 2]);
            let (bx, by) = w.batch(&rows);
            let bx: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(bx).unwrap();
            assert_eq!(bx, vec![px[0].clone(), px[5].clone(), px[2].clone()]);
            assert_eq!(Vec::<f32>::try_from(by.view([-1])).unwrap(), vec![py[0], py[5], py[2]]);
        }
    }

    #[test]
    fn several_ranges_are_the_rows_of_each_range_in_order() {
        let (d, a) = signals(500);
        let spec = WindowSpec { window_samples: 40, future_samples: 3 };
        let w = make_xy_ranges(&d, &a, &[(10..60), (100..130), (400..496)], spec, Device::Cpu).unwrap();
        let mut px = Vec::new();
        let mut py = Vec::new();
        for (s, e) in [(10, 60), (100, 130), (400, 496)] {
            let (x, y) = post_make_xy(&d, &a, s, e, 40, 3).unwrap();
            px.extend(x);
            py.extend(y);
        }
        assert_eq!((w.len(), w.start, w.end), (px.len(), 40, 496));
        assert_eq!(Vec::<Vec<f32>>::try_from(w.x()).unwrap(), px);
        assert_eq!(Vec::<f32>::try_from(w.y().view([-1])).unwrap(), py);
        assert_eq!(Vec::<Vec<f32>>::try_from(w.rows(19, 3)).unwrap(), px[19..22].to_vec());
        let (bx, by) = w.batch(&Tensor::from_slice(&[25i64, 0, 60]));
        assert_eq!(Vec::<Vec<f32>>::try_from(bx).unwrap(), vec![px[25].clone(), px[0].clone(), px[60].clone()]);
        assert_eq!(Vec::<f32>::try_from(by.view([-1])).unwrap(), vec![py[25], py[0], py[60]]);
        let e = make_xy_ranges(&d, &a, &[(10..60), (450..497)], spec, Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("450..497") && e.contains("Indices extend beyond data"), "{e}");
    }

    #[test]
    fn error_cases_match_the_posts_loop() {
        let (d, a) = signals(500);
        let spec = WindowSpec { window_samples: 40, future_samples: 3 };
        // end + future >= len
        assert!(post_make_xy(&d, &a, 0, 497, 40, 3).is_err());
        let e = make_xy(&d, &a, 0, 497, spec, Device::Cpu).unwrap_err().to_string();
        assert!(e.contains("Indices extend beyond data"), "{e}");
        assert!(post_make_xy(&d, &a, 0, 496, 40, 3).is_ok());
        assert!(make_xy(&d, &a, 0, 496, spec, Device::Cpu).is_ok());
        // Lengths differ.
        assert!(post_make_xy(&d, &a[..499], 0, 100, 40, 3).is_err());
        assert!(make_xy(&d, &a[..499], 0, 100, spec, Device::Cpu).is_err());
        // No rows left after start = max(start, window).
        assert!(make_xy(&d, &a, 0, 30, spec, Device::Cpu).is_err());
    }

    #[test]
    fn memory_grows_with_the_signal_not_with_rows_times_window() {
        let (d, a) = signals(200_000);
        let w = make_xy(&d, &a, 0, 150_000, WindowSpec::default(), Device::Cpu).unwrap();
        let dense = w.len() * 4000 * 4;
        assert!(w.memory_bytes() < 2 * 200_000 * 4, "{} bytes", w.memory_bytes());
        assert!(w.memory_bytes() * 100 < dense);
        // The view shares storage with the signal.
        assert_eq!(w.x().size(), vec![146_000, 4000]);
    }

    #[test]
    fn batches_cover_every_row_once() {
        let (d, a) = signals(2000);
        let w = make_xy(&d, &a, 0, 1500, WindowSpec { window_samples: 100, future_samples: 10 }, Device::Cpu).unwrap();
        let mut seen: Vec<i64> = w.batches(256, Some(&mut <Pcg64 as rand::SeedableRng>::seed_from_u64(1))).into_iter().flat_map(|b| Vec::<i64>::try_from(b).unwrap()).collect();
        assert_ne!(seen[..10], (0..10).collect::<Vec<i64>>()[..]);
        seen.sort();
        assert_eq!(seen, (0..1400).collect::<Vec<i64>>());
    }

    #[test]
    fn ranges_follow_the_post_or_adapt() {
        let r = Ranges::post_or_adapted(1_764_000, WindowSpec::default()).unwrap();
        assert_eq!((r.train, r.test, r.note), (POST_TRAIN, POST_TEST, None));
        let r = Ranges::post_or_adapted(220_500, WindowSpec::default()).unwrap();
        assert!(r.note.is_some() && r.train.start == 4000 && r.test.end == 220_500 - 301);
        assert!(Ranges::post_or_adapted(4500, WindowSpec::default()).is_err());
    }
}

//! Spectrogram figures: heat maps side by side on the same axes and colour scale, with a
//! colour bar (the post's "Spectrograms"), a difference view, and average spectra.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::evaluation::display::{Chart, Figure};
use crate::evaluation::plot::{e2s, Line, LineChart, PALETTE};
use crate::evaluation::spectrum::Spectrogram;
use crate::{Error, Result};

/// Colour scales for heat maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorScale {
    /// Perceptually uniform dark-blue → yellow, for levels.
    Viridis,
    /// Blue → white → red, for signed differences.
    Diverging,
}

/// Spectrograms are shown up to this frequency (Hz), where the post's figures end.
pub const VIEW_MAX_HZ: f64 = 10_000.0;
/// Spectrograms show this many dB below their loudest cell.
pub const VIEW_RANGE_DB: f64 = 90.0;
/// A spectrogram difference shows ±this many dB.
pub const DIFFERENCE_RANGE_DB: f64 = 20.0;
/// Average spectra are shown up to this frequency (Hz).
pub const AVERAGE_VIEW_MAX_HZ: f64 = 20_000.0;

const VIRIDIS: [(u8, u8, u8); 9] = [
    (0x44, 0x01, 0x54),
    (0x47, 0x2d, 0x7b),
    (0x3b, 0x52, 0x8b),
    (0x2c, 0x72, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x28, 0xae, 0x80),
    (0x5e, 0xc9, 0x62),
    (0xad, 0xdc, 0x30),
    (0xfd, 0xe7, 0x25),
];
const DIVERGING: [(u8, u8, u8); 3] = [(0x3b, 0x4c, 0xc0), (0xf7, 0xf7, 0xf7), (0xb4, 0x04, 0x26)];

impl ColorScale {
    /// Colour of `t` in 0..=1 (clamped; NaN maps to 0).
    pub fn color(self, t: f64) -> RGBColor {
        let stops: &[(u8, u8, u8)] = match self {
            ColorScale::Viridis => &VIRIDIS,
            ColorScale::Diverging => &DIVERGING,
        };
        let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
        let pos = t * (stops.len() - 1) as f64;
        let i = (pos.floor() as usize).min(stops.len() - 2);
        let f = pos - i as f64;
        let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
        let (a, b) = (stops[i], stops[i + 1]);
        RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }
}

/// One heat-map panel, already reduced to a drawable grid.
#[derive(Clone, Debug)]
pub struct HeatPanel {
    pub name: String,
    /// Column edges in seconds (len = columns + 1).
    pub t_edges: Vec<f64>,
    /// Row edges in Hz (len = rows + 1).
    pub f_edges: Vec<f64>,
    /// `values[column][row]`.
    pub values: Vec<Vec<f64>>,
}

/// Heat maps side by side with one colour bar.
#[derive(Clone, Debug)]
pub struct HeatMaps {
    pub title: String,
    pub panels: Vec<HeatPanel>,
    pub value_range: (f64, f64),
    pub scale: ColorScale,
    pub unit: String,
}

/// Reduce a spectrogram to at most `columns` × `rows` cells below `max_freq_hz` (cell = mean dB).
pub fn reduce(s: &Spectrogram, name: &str, max_freq_hz: f64, columns: usize, rows: usize) -> Result<HeatPanel> {
    let bins = s.freqs_hz.iter().take_while(|&&f| f <= max_freq_hz).count();
    if s.db.is_empty() || bins < 2 {
        return Err(Error::invalid("s", format!("spectrogram `{name}` has no frames or no bins below {max_freq_hz} Hz")));
    }
    let cols = columns.clamp(1, s.db.len());
    let rws = rows.clamp(1, bins);
    let frame_dt = s.hop_samples as f64 / s.sample_rate_hz as f64;
    let t0 = s.times_s[0] - frame_dt / 2.0;
    let t1 = s.times_s[s.times_s.len() - 1] + frame_dt / 2.0;
    let bin_df = s.freqs_hz[1];
    let f1 = bins as f64 * bin_df;
    let mut values = vec![vec![0.0; rws]; cols];
    for (c, col) in values.iter_mut().enumerate() {
        let (fa, fb) = (c * s.db.len() / cols, ((c + 1) * s.db.len() / cols).max(c * s.db.len() / cols + 1));
        for (r, v) in col.iter_mut().enumerate() {
            let (ba, bb) = (r * bins / rws, ((r + 1) * bins / rws).max(r * bins / rws + 1));
            let mut sum = 0.0;
            for frame in &s.db[fa..fb] {
                sum += frame[ba..bb].iter().map(|&x| x as f64).sum::<f64>();
            }
            *v = sum / ((fb - fa) * (bb - ba)) as f64;
        }
    }
    Ok(HeatPanel {
        name: name.to_string(),
        t_edges: (0..=cols).map(|c| t0 + (t1 - t0) * c as f64 / cols as f64).collect(),
        f_edges: (0..=rws).map(|r| -bin_df / 2.0 + f1 * r as f64 / rws as f64).collect(),
        values,
    })
}

impl Chart for HeatMaps {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        if self.panels.is_empty() {
            return Err("no panels to draw".into());
        }
        let (vmin, vmax) = self.value_range;
        if !(vmax > vmin) {
            return Err(format!("empty value range {vmin}..{vmax}"));
        }
        let area = root.titled(&self.title, ("sans-serif", 30)).map_err(e2s)?;
        let (w, _) = area.dim_in_pixel();
        let bar_w = 120u32;
        let (maps, bar) = area.split_horizontally(w.saturating_sub(bar_w));
        let panels = maps.split_evenly((1, self.panels.len()));
        let levels = 64usize;
        let level_of = |v: f64| (((v - vmin) / (vmax - vmin)) * (levels - 1) as f64).round().clamp(0.0, (levels - 1) as f64) as usize;
        for (p, panel_area) in self.panels.iter().zip(panels.iter()) {
            let (t0, t1) = (p.t_edges[0], *p.t_edges.last().unwrap_or(&1.0));
            let (f0, f1) = (p.f_edges[0].max(0.0), *p.f_edges.last().unwrap_or(&1.0));
            let mut chart = ChartBuilder::on(panel_area)
                .caption(&p.name, ("sans-serif", 22))
                .margin(10)
                .x_label_area_size(50)
                .y_label_area_size(70)
                .build_cartesian_2d(t0..t1, f0..f1)
                .map_err(e2s)?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("time (s)")
                .y_desc("frequency (Hz)")
                .x_label_formatter(&|v| crate::evaluation::plot::tick(v))
                .y_label_formatter(&|v| crate::evaluation::plot::tick(v))
                .label_style(("sans-serif", 16))
                .axis_desc_style(("sans-serif", 18))
                .draw()
                .map_err(e2s)?;
            // Merge runs of equal colour along frequency: far fewer rectangles (and a smaller SVG).
            let mut rects = Vec::new();
            for (c, col) in p.values.iter().enumerate() {
                let mut r = 0;
                while r < col.len() {
                    let level = level_of(col[r]);
                    let mut end = r + 1;
                    while end < col.len() && level_of(col[end]) == level {
                        end += 1;
                    }
                    let color = self.scale.color(level as f64 / (levels - 1) as f64);
                    rects.push(Rectangle::new([(p.t_edges[c], p.f_edges[r].max(0.0)), (p.t_edges[c + 1], p.f_edges[end])], color.filled()));
                    r = end;
                }
            }
            chart.draw_series(rects).map_err(e2s)?;
        }
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(40)
            .margin_bottom(60)
            .margin_right(10)
            .y_label_area_size(60)
            .caption(&self.unit, ("sans-serif", 18))
            .build_cartesian_2d(0f64..1f64, vmin..vmax)
            .map_err(e2s)?;
        cb.configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_label_formatter(&|v| crate::evaluation::plot::tick(v))
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(e2s)?;
        let steps = 64;
        cb.draw_series((0..steps).map(|i| {
            let a = vmin + (vmax - vmin) * i as f64 / steps as f64;
            let b = vmin + (vmax - vmin) * (i + 1) as f64 / steps as f64;
            Rectangle::new([(0.0, a), (1.0, b)], self.scale.color((i as f64 + 0.5) / steps as f64).filled())
        }))
        .map_err(e2s)?;
        Ok(())
    }
}

/// Default grid of a spectrogram panel.
const COLUMNS: usize = 240;
const ROWS: usize = 160;

/// The post's "Spectrograms": each spectrogram as a panel, side by side, on the same time and
/// frequency axes (0..`max_freq_hz`) and one colour scale spanning `dynamic_range_db` below
/// the loudest cell.
pub fn spectrograms(title: &str, spectra: &[(&str, &Spectrogram)], max_freq_hz: f64, dynamic_range_db: f64) -> Result<Figure> {
    let panels = spectra.iter().map(|(n, s)| reduce(s, n, max_freq_hz, COLUMNS, ROWS)).collect::<Result<Vec<_>>>()?;
    let top = panels.iter().flat_map(|p| p.values.iter().flatten()).fold(f64::MIN, |m, &v| m.max(v));
    let top = (top / 10.0).ceil() * 10.0;
    let maps = HeatMaps {
        title: title.to_string(),
        panels,
        value_range: (top - dynamic_range_db, top),
        scale: ColorScale::Viridis,
        unit: "dBFS".into(),
    };
    Figure::render(&maps, (600 * spectra.len() as u32 + 120, 560))
}

/// Difference `model − reference` in dB per cell, on a blue–white–red scale of ±`range_db`.
pub fn spectrogram_difference(title: &str, reference: &Spectrogram, model: &Spectrogram, max_freq_hz: f64, range_db: f64) -> Result<Figure> {
    let a = reduce(reference, "reference", max_freq_hz, COLUMNS, ROWS)?;
    let b = reduce(model, "model", max_freq_hz, COLUMNS, ROWS)?;
    if a.values.len() != b.values.len() || a.values[0].len() != b.values[0].len() {
        return Err(Error::invalid("model", "spectrograms differ in size"));
    }
    let values = a.values.iter().zip(&b.values).map(|(ca, cb)| ca.iter().zip(cb).map(|(x, y)| y - x).collect()).collect();
    let maps = HeatMaps {
        title: title.to_string(),
        panels: vec![HeatPanel { name: "model − reference".into(), values, ..a }],
        value_range: (-range_db, range_db),
        scale: ColorScale::Diverging,
        unit: "dB".into(),
    };
    Figure::render(&maps, (1000, 560))
}

/// Long-term average spectra on one log-frequency chart (20 Hz .. `max_freq_hz`).
pub fn average_spectra(title: &str, spectra: &[(&str, &[f64], &[f64])], max_freq_hz: f64) -> Result<Figure> {
    let mut chart = LineChart::new(title, "frequency (Hz)", "level (dB)");
    chart.log_x = true;
    for (i, (name, f, db)) in spectra.iter().enumerate() {
        let pts = f.iter().zip(db.iter()).filter(|(f, _)| (20.0..=max_freq_hz).contains(*f)).map(|(&f, &d)| (f, d)).collect();
        chart = chart.line(Line::new(*name, pts, PALETTE[(i + 1) % PALETTE.len()]));
    }
    chart.figure()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::spectrum::{spectrogram, SpectrogramConfig};

    #[test]
    fn colour_scales_are_safe_and_ordered() {
        assert_eq!(ColorScale::Viridis.color(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(ColorScale::Viridis.color(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(ColorScale::Viridis.color(f64::NAN), ColorScale::Viridis.color(0.0));
        assert_eq!(ColorScale::Diverging.color(0.5), RGBColor(0xf7, 0xf7, 0xf7));
        assert_eq!(ColorScale::Diverging.color(7.0), ColorScale::Diverging.color(1.0));
    }

    #[test]
    fn spectrogram_figures_render() {
        let sr = 16_000;
        let x: Vec<f32> = (0..sr).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / sr as f32).sin() * 0.5).collect();
        let s = spectrogram(&x, sr as u32, &SpectrogramConfig { fft_size: 512, hop_samples: 128, floor_db: -120.0 }).unwrap();
        let p = reduce(&s, "sine", 4000.0, 50, 40).unwrap();
        // The loudest row is the one holding 1 kHz.
        let col = &p.values[10];
        let row = col.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!(p.f_edges[row] <= 1000.0 && 1000.0 <= p.f_edges[row + 1], "{:?}", &p.f_edges[row..row + 2]);
        let fig = spectrograms("Spectrograms", &[("a", &s), ("b", &s)], 4000.0, 80.0).unwrap();
        assert!(fig.svg().contains("Spectrograms") && fig.svg().contains("dBFS"));
        let diff = spectrogram_difference("diff", &s, &s, 4000.0, 20.0).unwrap();
        assert!(diff.png_bytes().len() > 1000);
    }
}

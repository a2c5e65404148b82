//! Figures of the story: waveforms, close-ups and line charts, rendered with plotters to a
//! [`Figure`] that shows inline in Jupyter and saves as PNG and SVG.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::evaluation::display::{Chart, Figure};
use crate::data::recording::Recording;
use crate::{Error, Result};

/// Colours used throughout: direct (blue), amp (orange), model (green), then red, purple, brown,
/// pink, grey, olive and cyan for more lines (ten before any repeats).
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One named line.
#[derive(Clone, Debug)]
pub struct Line {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// Stroke width in pixels (default 2; dense outlines use 1).
    pub width_px: u32,
}

impl Line {
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor) -> Line {
        Line { name: name.into(), points, color, width_px: 2 }
    }

    /// The same line with another stroke width.
    pub fn width(mut self, width_px: u32) -> Line {
        self.width_px = width_px.max(1);
        self
    }
}

/// A chart of lines on shared axes, with a legend.
#[derive(Clone, Debug)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// Logarithmic x axis (for spectra).
    pub log_x: bool,
    /// Logarithmic y axis (for losses and ESR over training); points ≤ 0 are left out.
    pub log_y: bool,
}

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> LineChart {
        LineChart { title: title.into(), x_label: x_label.into(), y_label: y_label.into(), lines: Vec::new(), y_range: None, log_x: false, log_y: false }
    }

    pub fn line(mut self, line: Line) -> LineChart {
        self.lines.push(line);
        self
    }

    fn ranges(&self) -> Result<((f64, f64), (f64, f64)), String> {
        let pts = || self.lines.iter().flat_map(|l| l.points.iter()).filter(|p| p.0.is_finite() && p.1.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts() {
            if (self.log_x && x <= 0.0) || (self.log_y && y <= 0.0) {
                continue;
            }
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            return Err("no finite points to plot".into());
        }
        if let Some(r) = self.y_range {
            (y0, y1) = r;
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        if y1 <= y0 {
            y0 -= 0.5;
            y1 += 0.5;
        }
        if self.log_y {
            let pad = if self.y_range.is_some() { 1.0 } else { (y1 / y0).powf(0.04) };
            return Ok(((x0, x1), (y0 / pad, y1 * pad)));
        }
        let pad = 0.04 * (y1 - y0);
        Ok(((x0, x1), (y0 - if self.y_range.is_some() { 0.0 } else { pad }, y1 + if self.y_range.is_some() { 0.0 } else { pad })))
    }

    /// Render to a figure of the default size.
    pub fn figure(&self) -> Result<Figure> {
        Figure::render(self, Figure::DEFAULT_SIZE_PX)
    }
}

/// A plotters error as text (for `Chart::draw`).
pub(crate) fn e2s<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Axis tick text: whole numbers without decimals, others with at most three, trailing zeros cut.
pub fn tick(v: &f64) -> String {
    if v.abs() < 1e-9 {
        "0".to_string()
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{:.0}", v)
    } else {
        let s = format!("{:.3}", v);
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

impl Chart for LineChart {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let ((x0, x1), (y0, y1)) = self.ranges()?;
        let mut builder = ChartBuilder::on(root);
        builder.caption(&self.title, ("sans-serif", 30)).margin(20).x_label_area_size(55).y_label_area_size(80);
        macro_rules! finish {
            ($chart:expr) => {{
                let mut chart = $chart;
                chart
                    .configure_mesh()
                    .x_desc(self.x_label.as_str())
                    .y_desc(self.y_label.as_str())
                    .x_label_formatter(&|v| tick(v))
                    .y_label_formatter(&|v| tick(v))
                    .label_style(("sans-serif", 18))
                    .axis_desc_style(("sans-serif", 20))
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw()
                    .map_err(e2s)?;
                for line in &self.lines {
                    let (color, width) = (line.color, line.width_px);
                    let pts = line.points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite() && (!self.log_x || p.0 > 0.0) && (!self.log_y || p.1 > 0.0));
                    chart
                        .draw_series(LineSeries::new(pts, color.stroke_width(width)))
                        .map_err(e2s)?
                        .label(line.name.as_str())
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3)));
                }
                if self.lines.iter().any(|l| !l.name.is_empty()) {
                    chart
                        .configure_series_labels()
                        .label_font(("sans-serif", 18))
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK)
                        .position(SeriesLabelPosition::UpperRight)
                        .draw()
                        .map_err(e2s)?;
                }
            }};
        }
        if self.log_x && self.log_y {
            finish!(builder.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()).map_err(e2s)?);
        } else if self.log_x {
            finish!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(e2s)?);
        } else if self.log_y {
            finish!(builder.build_cartesian_2d(x0..x1, (y0..y1).log_scale()).map_err(e2s)?);
        } else {
            finish!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(e2s)?);
        }
        Ok(())
    }
}

/// Line charts side by side, `columns` to a row, under one title.
#[derive(Clone, Debug)]
pub struct ChartGrid {
    pub title: String,
    pub charts: Vec<LineChart>,
    pub columns: usize,
}

impl ChartGrid {
    /// Render at `cell_px` per chart.
    pub fn figure(&self, cell_px: (u32, u32)) -> Result<Figure> {
        let columns = self.columns.clamp(1, self.charts.len().max(1));
        let rows = self.charts.len().div_ceil(columns).max(1);
        Figure::render(self, (cell_px.0 * columns as u32, cell_px.1 * rows as u32 + 50))
    }
}

impl Chart for ChartGrid {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        let columns = self.columns.clamp(1, self.charts.len().max(1));
        let rows = self.charts.len().div_ceil(columns).max(1);
        let body = root.titled(&self.title, ("sans-serif", 32)).map_err(e2s)?;
        for (chart, area) in self.charts.iter().zip(body.split_evenly((rows, columns))) {
            chart.draw(&area)?;
        }
        Ok(())
    }
}

/// Min/max envelope of `x` in `buckets` columns: two points per column, so that a long signal
/// plots as its true outline. The x value is the time in seconds at `sample_rate_hz`.
pub fn envelope_points(x: &[f32], sample_rate_hz: u32, buckets: usize) -> Vec<(f64, f64)> {
    if x.is_empty() || buckets == 0 {
        return Vec::new();
    }
    let per = x.len().div_ceil(buckets).max(1);
    let mut pts = Vec::with_capacity(2 * buckets);
    for (i, chunk) in x.chunks(per).enumerate() {
        let t = (i * per) as f64 / sample_rate_hz as f64;
        let (lo, hi) = chunk.iter().fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        pts.push((t, lo as f64));
        pts.push((t, hi as f64));
    }
    pts
}

/// The post's "OverallGuitar" figure: the whole direct and amp signals over time, direct drawn
/// over the amp — the amp's squashed dynamics are visible at a glance.
pub fn waveforms(rec: &Recording) -> Result<Figure> {
    let buckets = 1500;
    // Thin strokes: a dense outline drawn 2 px wide smears in the bitmap backend.
    LineChart::new(format!("OverallGuitar — {}", rec.name), "time (s)", "amplitude")
        .line(Line::new("amp", envelope_points(&rec.amp, rec.sample_rate_hz, buckets), PALETTE[1]).width(1))
        .line(Line::new("direct", envelope_points(&rec.direct, rec.sample_rate_hz, buckets), PALETTE[0]).width(1))
        .figure()
}

/// The post's "Waveforms Closeup": `len_samples` samples from `start_sample`, each signal
/// drawn with its own vertical offset (the post: direct at 0, amp at +0.5).
pub fn closeup(
    title: &str,
    signals: &[(&str, &[f32], f64)],
    start_sample: usize,
    len_samples: usize,
) -> Result<Figure> {
    let mut chart = LineChart::new(title, "sample index", "amplitude (offset)");
    for (i, (name, x, offset)) in signals.iter().enumerate() {
        let end = start_sample.checked_add(len_samples).filter(|&e| e <= x.len()).ok_or_else(|| {
            Error::invalid("start_sample", format!("{start_sample}+{len_samples} is beyond the {} samples of `{name}`", x.len()))
        })?;
        let pts = (start_sample..end).map(|k| (k as f64, x[k] as f64 + offset)).collect();
        chart = chart.line(Line::new(*name, pts, PALETTE[i % PALETTE.len()]));
    }
    chart.figure()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(&10000.0), "10000");
        assert_eq!(tick(&0.25), "0.25");
        assert_eq!(tick(&-0.5), "-0.5");
        assert_eq!(tick(&0.1234567), "0.123");
        assert_eq!(tick(&-0.0), "0");
        assert_eq!(tick(&-1e-12), "0");
    }

    #[test]
    fn envelope_keeps_extremes() {
        let x: Vec<f32> = (0..10_000).map(|i| if i == 1234 { 0.9 } else if i == 8000 { -0.7 } else { 0.0 }).collect();
        let pts = envelope_points(&x, 1000, 100);
        assert_eq!(pts.len(), 200);
        assert!(pts.iter().any(|p| (p.1 - 0.9).abs() < 1e-6));
        assert!(pts.iter().any(|p| (p.1 + 0.7).abs() < 1e-6));
    }

    #[test]
    fn waveform_figures_render() {
        let rec = Recording::new("test", (0..20_000).map(|i| (i as f32 * 0.01).sin()).collect(), vec![0.1; 20_000], 44_100).unwrap();
        let fig = waveforms(&rec).unwrap();
        assert!(fig.svg().contains("OverallGuitar"));
        let fig = closeup("Waveforms Closeup", &[("direct", &rec.direct, 0.0), ("amp", &rec.amp, 0.5)], 1000, 500).unwrap();
        assert!(fig.svg().contains("Waveforms Closeup"));
        assert!(closeup("x", &[("direct", &rec.direct, 0.0)], 19_900, 500).is_err());
    }

    #[test]
    fn empty_chart_is_an_error_not_a_panic() {
        let err = LineChart::new("empty", "x", "y").figure().unwrap_err().to_string();
        assert!(err.contains("empty") && err.contains("no finite points"), "{err}");
    }
}

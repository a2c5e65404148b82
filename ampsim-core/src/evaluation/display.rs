//! Rich display in Jupyter (evcxr) and export to files.
//!
//! evcxr shows a value richly when its type has a method `evcxr_display(&self)` that
//! prints `EVCXR_BEGIN_CONTENT <mime>`, the content, and `EVCXR_END_CONTENT`. The types
//! here follow that convention:
//!
//! * [`Figure`] — a rendered chart; shows as PNG, saves as PNG and SVG.
//! * [`Audio`] — an HTML5 audio player for a clip of samples (16-bit WAV in a data URI).
//! * [`Table`] — a polars `DataFrame` as an HTML table.
//! * [`Html`] — any HTML snippet.
//!
//! Files are written atomically ([`crate::files::write_atomic`]): a failure never leaves a
//! half-written file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::files::write_atomic;
use crate::{Error, Result};

fn print_content(mime: &str, body: &str) {
    println!("EVCXR_BEGIN_CONTENT {mime}\n{body}\nEVCXR_END_CONTENT");
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Escape text for HTML.
pub fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Something that can draw itself onto any plotters drawing area. Plot specifications in
/// [`crate::evaluation::plot`] implement it; [`Figure::render`] draws them to PNG and SVG.
pub trait Chart {
    /// Title used for error messages and default file names.
    fn title(&self) -> String;
    /// Draw onto `root` (already cleared to white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Register the bundled DejaVu Sans font with plotters (no system fonts, no fontconfig).
pub fn ensure_fonts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            let _ = plotters::style::register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = plotters::style::register_font(family, FontStyle::Bold, dejavu::sans::bold());
            let _ = plotters::style::register_font(family, FontStyle::Italic, dejavu::sans::oblique());
            let _ = plotters::style::register_font(family, FontStyle::Oblique, dejavu::sans::oblique());
        }
    });
}

/// A rendered figure: PNG bytes for display and SVG text for vector export.
#[derive(Clone)]
pub struct Figure {
    pub title: String,
    pub width_px: u32,
    pub height_px: u32,
    png: Vec<u8>,
    svg: String,
}

impl std::fmt::Debug for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Figure({:?}, {}x{} px)", self.title, self.width_px, self.height_px)
    }
}

impl Figure {
    /// Default size: wide enough for a blog post at 2x pixel density.
    pub const DEFAULT_SIZE_PX: (u32, u32) = (1200, 600);

    /// Draw `chart` to a PNG bitmap and to SVG.
    pub fn render(chart: &impl Chart, size_px: (u32, u32)) -> Result<Figure> {
        ensure_fonts();
        let (w, h) = size_px;
        if w < 50 || h < 50 || w > 8000 || h > 8000 {
            return Err(Error::invalid("size_px", format!("{w}x{h} px is outside 50..8000")));
        }
        let title = chart.title();
        let plot_err = |reason: String| Error::Plot { title: title.clone(), reason };
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
            chart.draw(&root).map_err(plot_err)?;
            root.present().map_err(|e| plot_err(e.to_string()))?;
        }
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| plot_err(e.to_string()))?;
            chart.draw(&root).map_err(plot_err)?;
            root.present().map_err(|e| plot_err(e.to_string()))?;
        }
        let png = encode_png(&rgb, w, h).map_err(plot_err)?;
        Ok(Figure { title, width_px: w, height_px: h, png, svg })
    }

    /// PNG-encoded bytes.
    pub fn png_bytes(&self) -> &[u8] {
        &self.png
    }

    /// SVG document.
    pub fn svg(&self) -> &str {
        &self.svg
    }

    /// Write the PNG to `path` (atomically).
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.png)
    }

    /// Write the SVG to `path` (atomically).
    pub fn save_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), self.svg.as_bytes())
    }

    /// Save `<name>.png` and `<name>.svg` in the figures folder ([`crate::runtime::figures_dir`])
    /// and return the figure, so a notebook cell can end with it and show it.
    pub fn saved_as(self, name: &str) -> Result<Figure> {
        self.save(crate::runtime::figures_dir(), name)?;
        Ok(self)
    }

    /// Save `<dir>/<name>.png` and `<dir>/<name>.svg`, creating `dir`; returns both paths.
    pub fn save(&self, dir: impl AsRef<Path>, name: &str) -> Result<(PathBuf, PathBuf)> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let png = dir.join(format!("{name}.png"));
        let svg = dir.join(format!("{name}.svg"));
        self.save_png(&png)?;
        self.save_svg(&svg)?;
        Ok((png, svg))
    }

    /// Show inline in Jupyter (evcxr).
    pub fn evcxr_display(&self) {
        print_content("image/png", &b64(&self.png));
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// An HTML5 audio player for a clip of samples.
#[derive(Clone)]
pub struct Audio {
    pub title: String,
    pub sample_rate_hz: u32,
    /// Samples actually embedded (after trimming to `max_seconds`).
    pub samples: Vec<f32>,
    /// Seconds of audio before trimming.
    pub original_seconds: f64,
}

impl std::fmt::Debug for Audio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Audio({:?}, {} samples at {} Hz)", self.title, self.samples.len(), self.sample_rate_hz)
    }
}

impl Audio {
    /// Default longest clip embedded in a notebook: 6 s of 16-bit mono is ~0.7 MB of base64.
    pub const DEFAULT_MAX_SECONDS: f64 = 6.0;

    /// A player for `samples` at `sample_rate_hz`, trimmed to [`Self::DEFAULT_MAX_SECONDS`].
    pub fn new(title: impl Into<String>, samples: &[f32], sample_rate_hz: u32) -> Result<Audio> {
        Self::with_max_seconds(title, samples, sample_rate_hz, Self::DEFAULT_MAX_SECONDS)
    }

    /// As [`Audio::new`] with an explicit maximum length in seconds.
    pub fn with_max_seconds(
        title: impl Into<String>,
        samples: &[f32],
        sample_rate_hz: u32,
        max_seconds: f64,
    ) -> Result<Audio> {
        if sample_rate_hz == 0 {
            return Err(Error::invalid("sample_rate_hz", "must be positive"));
        }
        if max_seconds.is_nan() || max_seconds <= 0.0 {
            return Err(Error::invalid("max_seconds", format!("{max_seconds} is not positive")));
        }
        let max_len = (max_seconds * sample_rate_hz as f64) as usize;
        let keep = samples.len().min(max_len);
        Ok(Audio {
            title: title.into(),
            sample_rate_hz,
            samples: samples[..keep].to_vec(),
            original_seconds: samples.len() as f64 / sample_rate_hz as f64,
        })
    }

    /// The clip as a 16-bit mono WAV file in memory.
    pub fn wav_bytes(&self) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: self.sample_rate_hz,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut cursor = Cursor::new(Vec::new());
        {
            // Writing to memory cannot fail except on >4 GiB data, which trimming prevents.
            let mut w = hound::WavWriter::new(&mut cursor, spec).expect("in-memory WAV header");
            for &s in &self.samples {
                w.write_sample(crate::data::audio::f32_to_i16(s)).expect("in-memory WAV sample");
            }
            w.finalize().expect("in-memory WAV finalize");
        }
        cursor.into_inner()
    }

    /// The player as HTML.
    pub fn to_html(&self) -> String {
        let shown = self.samples.len() as f64 / self.sample_rate_hz as f64;
        let note = if shown + 1e-9 < self.original_seconds {
            format!(" (first {shown:.1} s of {:.1} s)", self.original_seconds)
        } else {
            format!(" ({shown:.1} s)")
        };
        format!(
            "<div><b>{}</b>{}<br><audio controls preload=\"none\" src=\"data:audio/wav;base64,{}\"></audio></div>",
            escape_html(&self.title),
            escape_html(&note),
            b64(&self.wav_bytes())
        )
    }

    /// Show inline in Jupyter (evcxr).
    pub fn evcxr_display(&self) {
        print_content("text/html", &self.to_html());
    }
}

/// Several audio players in one output. (evcxr keeps one output per MIME type per cell, so
/// two players displayed separately in one cell would show only the last.)
pub fn players(clips: &[Audio]) -> Html {
    Html(clips.iter().map(Audio::to_html).collect::<Vec<_>>().join("\n"))
}

/// A polars `DataFrame` shown as an HTML table.
#[derive(Clone, Debug)]
pub struct Table {
    pub df: polars::prelude::DataFrame,
    /// Digits after the decimal point for floating-point cells.
    pub float_digits: usize,
}

impl Table {
    pub fn new(df: polars::prelude::DataFrame) -> Table {
        Table { df, float_digits: 4 }
    }

    /// The table as HTML.
    pub fn to_html(&self) -> String {
        use polars::prelude::AnyValue;
        let mut html = String::from("<table><thead><tr>");
        for name in self.df.get_column_names() {
            html += &format!("<th>{}</th>", escape_html(name.as_str()));
        }
        html += "</tr></thead><tbody>";
        for row in 0..self.df.height() {
            html += "<tr>";
            for col in self.df.columns() {
                let cell = match col.get(row) {
                    Ok(AnyValue::Float64(v)) => fmt_float(v, self.float_digits),
                    Ok(AnyValue::Float32(v)) => fmt_float(v as f64, self.float_digits),
                    Ok(AnyValue::String(s)) => s.to_string(),
                    Ok(AnyValue::Null) => String::new(),
                    Ok(v) => v.to_string(),
                    Err(e) => e.to_string(),
                };
                html += &format!("<td>{}</td>", escape_html(&cell));
            }
            html += "</tr>";
        }
        html += "</tbody></table>";
        html
    }

    /// Show inline in Jupyter (evcxr).
    pub fn evcxr_display(&self) {
        print_content("text/html", &self.to_html());
    }
}

impl From<polars::prelude::DataFrame> for Table {
    fn from(df: polars::prelude::DataFrame) -> Table {
        Table::new(df)
    }
}

fn fmt_float(v: f64, digits: usize) -> String {
    if v != 0.0 && (v.abs() < 10f64.powi(-(digits as i32)) || v.abs() >= 1e7) {
        format!("{v:.*e}", digits.saturating_sub(1).max(1))
    } else {
        format!("{v:.digits$}")
    }
}

/// Any HTML snippet, shown as-is.
#[derive(Clone, Debug)]
pub struct Html(pub String);

impl Html {
    pub fn evcxr_display(&self) {
        print_content("text/html", &self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    struct Diagonal;
    impl Chart for Diagonal {
        fn title(&self) -> String {
            "diagonal".into()
        }
        fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
            let mut chart = ChartBuilder::on(root)
                .caption("diagonal", ("sans-serif", 20))
                .x_label_area_size(30)
                .y_label_area_size(30)
                .build_cartesian_2d(0f32..1f32, 0f32..1f32)
                .map_err(|e| e.to_string())?;
            chart.configure_mesh().draw().map_err(|e| e.to_string())?;
            chart
                .draw_series(LineSeries::new((0..10).map(|i| (i as f32 / 9.0, i as f32 / 9.0)), &RED))
                .map_err(|e| e.to_string())?;
            Ok(())
        }
    }

    #[test]
    fn figure_renders_png_and_svg_with_text() {
        let fig = Figure::render(&Diagonal, (320, 200)).unwrap();
        assert_eq!(&fig.png_bytes()[1..4], b"PNG");
        assert!(fig.svg().contains("<svg") && fig.svg().contains("diagonal"));
        let dir = std::env::temp_dir().join(format!("ampsim-fig-{}", std::process::id()));
        let (png, svg) = fig.save(&dir, "diag").unwrap();
        assert!(png.metadata().unwrap().len() > 1000);
        assert!(svg.metadata().unwrap().len() > 500);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn figure_rejects_absurd_sizes() {
        assert!(Figure::render(&Diagonal, (10, 10)).is_err());
    }

    #[test]
    fn audio_trims_and_encodes_wav() {
        let sr = 8000;
        let tone: Vec<f32> = (0..sr * 3).map(|i| (i as f32 * 0.1).sin() * 0.5).collect();
        let a = Audio::with_max_seconds("tone", &tone, sr as u32, 1.0).unwrap();
        assert_eq!(a.samples.len(), sr);
        let wav = a.wav_bytes();
        let r = hound::WavReader::new(Cursor::new(wav)).unwrap();
        assert_eq!(r.spec().sample_rate, sr as u32);
        assert_eq!(r.len() as usize, sr);
        let html = a.to_html();
        assert!(html.contains("data:audio/wav;base64,") && html.contains("first 1.0 s of 3.0 s"));
        let both = players(&[a.clone(), Audio::new("other", &tone, sr as u32).unwrap()]);
        assert_eq!(both.0.matches("<audio").count(), 2);
    }

    #[test]
    fn table_renders_all_cells() {
        let df = df!("model" => ["a<b", "c"], "mse" => [0.0025f64, 0.0015]).unwrap();
        let html = Table::new(df).to_html();
        assert!(html.contains("<th>model</th>") && html.contains("a&lt;b"));
        assert!(html.contains("0.0025") && html.contains("0.0015"));
    }
}

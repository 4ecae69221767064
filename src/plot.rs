//! PNG figures (heatmaps) drawn with plotters' bitmap backend and an embedded font.
//!
//! Reports need figures that look the same on every machine, so nothing here asks the
//! system for fonts: DejaVu Sans 2.37 (`assets/fonts/`, copied from Debian's
//! `fonts-dejavu-core`; its Bitstream Vera licence and copyright file beside it) is
//! compiled into the binary and registered with plotters' `ab_glyph` text renderer. Figures
//! are drawn into an RGB buffer, encoded with the `png` crate and written atomically; the
//! same input always gives the same bytes. DejaVu Sans has no CJK glyphs, so Chinese labels
//! draw as empty boxes in figures; the CSV/JSON next to every figure carries them exactly.

use crate::io::{write_atomic, IoError};
use plotters::prelude::*;
use plotters::style::{FontStyle, FontTransform};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// DejaVu Sans, embedded so that figures never depend on the fonts of the machine.
pub const FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// The family name the embedded font is registered under.
const FAMILY: &str = "nerprep-dejavu-sans";
/// Labels longer than this are shortened with an ellipsis in figures.
const MAX_LABEL_CHARS: usize = 32;

/// Drawing or writing a figure failed.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The embedded font could not be parsed (a broken build, not bad input).
    #[error("the embedded font could not be loaded")]
    Font,
    /// plotters refused to draw.
    #[error("{path}: drawing failed: {message}")]
    Draw {
        /// The figure being drawn.
        path: PathBuf,
        /// What plotters said.
        message: String,
    },
    /// The pixels could not be encoded as PNG.
    #[error("{path}: PNG encoding failed: {source}")]
    Png {
        /// The figure being written.
        path: PathBuf,
        /// What the encoder said.
        #[source]
        source: png::EncodingError,
    },
    /// The file could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
}

/// Registers the embedded font with plotters once per process; the family name to draw
/// text with (plotters' `sans-serif` is not available: no system fonts are asked for).
pub(crate) fn font_family() -> Result<&'static str, PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok { Ok(FAMILY) } else { Err(PlotError::Font) }
}

/// A labelled matrix drawn as coloured cells: rows top to bottom, columns left to right.
///
/// # Example
/// ```
/// use nerprep::plot::Heatmap;
/// let map = Heatmap {
///     title: "gold x predicted".into(),
///     row_axis: "gold".into(),
///     col_axis: "predicted".into(),
///     rows: vec!["PER".into(), "LOC".into()],
///     cols: vec!["PER".into(), "LOC".into()],
///     intensity: vec![vec![1.0, 0.0], vec![0.25, 0.75]],
///     annotations: vec![vec!["4".into(), "".into()], vec!["1".into(), "3".into()]],
/// };
/// let dir = tempfile::tempdir().unwrap();
/// map.write_png(dir.path().join("m.png")).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// The line above the figure.
    pub title: String,
    /// What the rows are (written to the left of the row labels).
    pub row_axis: String,
    /// What the columns are (written above the column labels).
    pub col_axis: String,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// Column labels, left to right.
    pub cols: Vec<String>,
    /// Colour of each cell, row-major, in `[0, 1]` (0 white, 1 darkest); clamped.
    pub intensity: Vec<Vec<f64>>,
    /// Text written in each cell, row-major (may be empty strings).
    pub annotations: Vec<Vec<String>>,
}

/// Pixel geometry of a heatmap, computed from its labels.
struct Layout {
    cell: u32,
    left: u32,
    top: u32,
    width: u32,
    height: u32,
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let mut s: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

/// White to dark blue.
fn shade(t: f64) -> RGBColor {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let mix = |lo: f64, hi: f64| (hi + (lo - hi) * t).round() as u8;
    RGBColor(mix(8.0, 255.0), mix(48.0, 255.0), mix(107.0, 255.0))
}

impl Heatmap {
    const FONT_SIZE: f64 = 14.0;
    const TITLE_SIZE: f64 = 18.0;
    const MARGIN: u32 = 12;

    fn text_width(&self, family: &str, size: f64, text: &str) -> u32 {
        FontDesc::new(FontFamily::Name(family), size, FontStyle::Normal).box_size(text).map(|(w, _)| w).unwrap_or(0)
    }

    fn layout(&self, family: &str) -> Layout {
        let widest = |labels: &[String]| {
            labels.iter().map(|l| self.text_width(family, Self::FONT_SIZE, &shorten(l))).max().unwrap_or(0)
        };
        let widest_note = self
            .annotations
            .iter()
            .flatten()
            .map(|a| self.text_width(family, Self::FONT_SIZE - 2.0, a))
            .max()
            .unwrap_or(0);
        let cell = (widest_note + 8).max(30);
        let left = Self::MARGIN + 24 + widest(&self.rows) + 8;
        let top = Self::MARGIN + 28 + 22 + widest(&self.cols) + 8;
        let title_w = self.text_width(family, Self::TITLE_SIZE, &self.title) + 2 * Self::MARGIN;
        let axis_w = left + self.text_width(family, Self::FONT_SIZE, &self.col_axis) + Self::MARGIN;
        let width = (left + cell * self.cols.len() as u32 + Self::MARGIN).max(title_w).max(axis_w);
        let height = top + cell * self.rows.len() as u32 + Self::MARGIN;
        Layout { cell, left, top, width, height }
    }

    /// Draws the heatmap into an RGB buffer; returns `(width, height, pixels)`.
    pub fn render_rgb(&self) -> Result<(u32, u32, Vec<u8>), PlotError> {
        self.render_rgb_for(Path::new("<memory>"))
    }

    fn render_rgb_for(&self, path: &Path) -> Result<(u32, u32, Vec<u8>), PlotError> {
        let family = font_family()?;
        let l = self.layout(family);
        let mut buf = vec![0u8; (l.width * l.height * 3) as usize];
        let draw_err = |e: &dyn std::fmt::Display| PlotError::Draw { path: path.to_path_buf(), message: e.to_string() };
        {
            let root = BitMapBackend::with_buffer(&mut buf, (l.width, l.height)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| draw_err(&e))?;
            let font = |size: f64| FontDesc::new(FontFamily::Name(family), size, FontStyle::Normal);
            let m = Self::MARGIN as i32;
            root.draw(&Text::new(self.title.clone(), (m, m), font(Self::TITLE_SIZE).color(&BLACK)))
                .map_err(|e| draw_err(&e))?;
            root.draw(&Text::new(self.col_axis.clone(), (l.left as i32, m + 28), font(Self::FONT_SIZE).color(&BLACK)))
                .map_err(|e| draw_err(&e))?;
            let row_axis = font(Self::FONT_SIZE).transform(FontTransform::Rotate270).color(&BLACK);
            let axis_y = (l.top + self.text_width(family, Self::FONT_SIZE, &self.row_axis)) as i32;
            root.draw(&Text::new(self.row_axis.clone(), (m, axis_y), row_axis)).map_err(|e| draw_err(&e))?;
            let cell = l.cell as i32;
            for (j, col) in self.cols.iter().enumerate() {
                let style = font(Self::FONT_SIZE).transform(FontTransform::Rotate270).color(&BLACK);
                let x = l.left as i32 + j as i32 * cell + cell / 2 - 8;
                root.draw(&Text::new(shorten(col), (x, l.top as i32 - 6), style)).map_err(|e| draw_err(&e))?;
            }
            for (i, row) in self.rows.iter().enumerate() {
                let y0 = l.top as i32 + i as i32 * cell;
                let label = shorten(row);
                let w = self.text_width(family, Self::FONT_SIZE, &label) as i32;
                root.draw(&Text::new(label, (l.left as i32 - 8 - w, y0 + cell / 2 - 8), font(Self::FONT_SIZE).color(&BLACK)))
                    .map_err(|e| draw_err(&e))?;
                for j in 0..self.cols.len() {
                    let t = self.intensity.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0);
                    let x0 = l.left as i32 + j as i32 * cell;
                    let rect = Rectangle::new([(x0, y0), (x0 + cell, y0 + cell)], shade(t).filled());
                    root.draw(&rect).map_err(|e| draw_err(&e))?;
                    let border = Rectangle::new([(x0, y0), (x0 + cell, y0 + cell)], RGBColor(220, 220, 220));
                    root.draw(&border).map_err(|e| draw_err(&e))?;
                    let note = self.annotations.get(i).and_then(|r| r.get(j)).map(String::as_str).unwrap_or("");
                    if !note.is_empty() {
                        let size = Self::FONT_SIZE - 2.0;
                        let w = self.text_width(family, size, note) as i32;
                        let ink = if t > 0.5 { WHITE } else { BLACK };
                        let at = (x0 + (cell - w) / 2, y0 + cell / 2 - 6);
                        root.draw(&Text::new(note.to_string(), at, font(size).color(&ink))).map_err(|e| draw_err(&e))?;
                    }
                }
            }
            root.present().map_err(|e| draw_err(&e))?;
        }
        Ok((l.width, l.height, buf))
    }

    /// Draws the heatmap and writes it to `path` as PNG, atomically.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<(), PlotError> {
        let path = path.as_ref();
        write_atomic(path, &self.png_bytes(path)?)?;
        Ok(())
    }

    /// The heatmap as PNG bytes; `path` is only named in errors (for outputs that are
    /// committed together with others).
    pub fn png_bytes(&self, path: &Path) -> Result<Vec<u8>, PlotError> {
        let (w, h, pixels) = self.render_rgb_for(path)?;
        rgb_png_bytes(path, w, h, &pixels)
    }
}

/// Encodes an RGB buffer of `w`×`h` pixels as PNG and writes it to `path` atomically.
pub(crate) fn write_rgb_png(path: &Path, w: u32, h: u32, pixels: &[u8]) -> Result<(), PlotError> {
    write_atomic(path, &rgb_png_bytes(path, w, h, pixels)?)?;
    Ok(())
}

/// Encodes an RGB buffer of `w`×`h` pixels as PNG; `path` is only named in errors.
pub(crate) fn rgb_png_bytes(path: &Path, w: u32, h: u32, pixels: &[u8]) -> Result<Vec<u8>, PlotError> {
    let png_err = |source| PlotError::Png { path: path.to_path_buf(), source };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(png_err)?;
        writer.write_image_data(pixels).map_err(png_err)?;
        writer.finish().map_err(png_err)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> Heatmap {
        Heatmap {
            title: "t".into(),
            row_axis: "gold".into(),
            col_axis: "predicted".into(),
            rows: vec!["A".into(), "B".into()],
            cols: vec!["A".into(), "B".into(), "O".into()],
            intensity: vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.5, 0.5]],
            annotations: vec![vec!["9".into(), "".into(), "".into()], vec!["".into(), "1".into(), "1".into()]],
        }
    }

    #[test]
    fn cells_are_coloured_by_intensity_and_text_is_drawn() {
        let m = map();
        let (w, h, px) = m.render_rgb().unwrap();
        let l = m.layout(font_family().unwrap());
        assert_eq!((w, h), (l.width, l.height));
        let at = |x: u32, y: u32| {
            let i = ((y * w + x) * 3) as usize;
            (px[i], px[i + 1], px[i + 2])
        };
        // Top-left corner of cell (0, 1) is white (intensity 0); of cell (0, 0) dark blue.
        assert_eq!(at(l.left + l.cell + 3, l.top + 3), (255, 255, 255));
        assert_eq!(at(l.left + 3, l.top + 3), (8, 48, 107));
        // The title was drawn with the embedded font: some dark pixels near the top-left.
        let inked = (0..40).flat_map(|x| (0..30).map(move |y| (x, y))).filter(|&(x, y)| at(x, y).0 < 128).count();
        assert!(inked > 5, "no title ink");
    }

    #[test]
    fn png_bytes_are_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        map().write_png(&a).unwrap();
        map().write_png(&b).unwrap();
        let bytes = std::fs::read(&a).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(bytes, std::fs::read(&b).unwrap());
    }

    #[test]
    fn long_labels_are_shortened() {
        assert_eq!(shorten(&"x".repeat(40)).chars().count(), MAX_LABEL_CHARS);
        assert_eq!(shorten("PER"), "PER");
    }
}

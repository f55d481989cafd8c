//! The pictures of the HTML report, drawn as SVG by plotters: rows of bars along an axis (time
//! or a count), each row a label and segments of a tone, with marks (a vertical line: "now") and
//! bands (a shaded span: the warning window). Text in the SVG is escaped by plotters' SVG
//! backend; no font is read (plotters' own estimate of text widths serves the layout, and the
//! browser draws the text with its fonts).

use super::RenderError;
use plotters::coord::ranged1d::{SegmentValue, SegmentedCoord};
use plotters::coord::types::{RangedCoordf64, RangedCoordusize};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What a segment means, as a color.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// All is well: valid, current.
    Good,
    /// Soon a problem: expiring within the warning window, rolling out.
    Warn,
    /// A problem: expired, behind.
    Bad,
    /// To come: the part of a rollout that has not started.
    Pending,
    /// Unknown or not judged.
    Neutral,
}

impl Tone {
    fn color(self) -> RGBColor {
        match self {
            Tone::Good => RGBColor(0x2e, 0x7d, 0x32),
            Tone::Warn => RGBColor(0xef, 0x8f, 0x00),
            Tone::Bad => RGBColor(0xc6, 0x28, 0x28),
            Tone::Pending => RGBColor(0xb0, 0xbe, 0xc5),
            Tone::Neutral => RGBColor(0x75, 0x75, 0x75),
        }
    }
}

/// A span of a row: from, to (in the axis' unit), its tone.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Where it starts.
    pub from: f64,
    /// Where it ends.
    pub to: f64,
    /// Its tone.
    pub tone: Tone,
}

/// One row: its label, its segments, points on it (dots), and a note written after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Row {
    /// The label on the left.
    pub label: String,
    /// Its segments.
    pub segments: Vec<Segment>,
    /// Dots on the row (a wave's start).
    pub points: Vec<f64>,
    /// A note at the right end of its segments.
    pub note: String,
}

/// A chart of rows along one axis; the first row is drawn at the top. Leave room at the right of
/// `range` for the notes.
pub struct RowsChart<'a> {
    /// Its rows, top first.
    pub rows: Vec<Row>,
    /// The span of the axis.
    pub range: (f64, f64),
    /// The label of a value of the axis.
    pub axis_label: &'a dyn Fn(f64) -> String,
    /// Vertical lines: where, and their caption.
    pub marks: Vec<(f64, String)>,
    /// Shaded spans of the axis, with a caption.
    pub bands: Vec<(f64, f64, String)>,
    /// Labels of the axis to show, at most.
    pub axis_labels: usize,
    /// Where bars stop: a bar that runs past it ends there in a point (it goes on), its note
    /// after it, and the axis has no labels past it (that room is the notes').
    pub clip: Option<f64>,
}

const WIDTH: u32 = 760;
const ROW_HEIGHT: u32 = 30;

/// The chart being drawn: the axis (`f64`) across, the rows (segments of `0..n`) up, in SVG.
type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, SegmentedCoord<RangedCoordusize>>>;

/// Where things fall on a chart, as its parts share them.
struct Frame {
    /// The low end of the axis.
    lo: f64,
    /// The high end of the axis, above `lo`.
    hi: f64,
    /// How many rows there are room for (at least one).
    n: usize,
    /// Where bars stop (the clip, or `hi`).
    bar_end: f64,
    /// About 6 pixels along the axis, in its unit.
    gap: f64,
}

impl Frame {
    /// Where row `i` is drawn.
    fn at(&self, i: usize) -> usize {
        // Row i is drawn at n - 1 - i, so that the first row is at the top.
        self.n - 1 - i
    }

    /// `x` brought within the axis.
    fn clamp(&self, x: f64) -> f64 {
        within(x, self.lo, self.hi)
    }
}

/// Draw the chart as an SVG document (`<svg>` with a `viewBox`, so it scales to its box).
pub fn render(chart: &RowsChart<'_>) -> Result<String, RenderError> {
    let n = chart.rows.len().max(1);
    let height = 60 + ROW_HEIGHT * n as u32;
    let (lo, hi) = chart.range;
    let hi = if hi > lo { hi } else { lo + 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)
            .map_err(|e| RenderError::Chart(e.to_string()))?;
        let label_width = label_width(chart);
        let mut c = ChartBuilder::on(&root)
            .margin_top(22)
            .margin_right(16)
            .margin_left(8)
            .x_label_area_size(26)
            .y_label_area_size(label_width)
            .build_cartesian_2d(lo..hi, (0..n).into_segmented())
            .map_err(|e| RenderError::Chart(e.to_string()))?;
        let bar_end = chart.clip.map_or(hi, |c| within(c, lo, hi));
        // About 6 pixels along the axis: the gap between a bar's end (or its last dot) and its
        // note.
        let gap = (hi - lo) * 6.0 / f64::from(WIDTH.saturating_sub(label_width).max(100));
        let f = Frame {
            lo,
            hi,
            n,
            bar_end,
            gap,
        };
        draw_axes(&mut c, chart, &f)?;
        draw_bands(&mut c, chart, &f)?;
        draw_rows(&mut c, chart, &f)?;
        draw_marks(&mut c, chart, &f)?;
        root.present()
            .map_err(|e| RenderError::Chart(e.to_string()))?;
    }
    Ok(svg)
}

/// The width of the rows' labels, in pixels: 7 a character, of 4 to 28 characters, and 12 more.
fn label_width(chart: &RowsChart<'_>) -> u32 {
    chart
        .rows
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 28) as u32
        * 7
        + 12
}

/// The axes: the grid, the axis' labels (none past the clip), and the rows' labels.
fn draw_axes(c: &mut Chart<'_, '_>, chart: &RowsChart<'_>, f: &Frame) -> Result<(), RenderError> {
    let (lo, hi, n, bar_end) = (f.lo, f.hi, f.n, f.bar_end);
    let labels: Vec<&str> = chart.rows.iter().map(|r| r.label.as_str()).collect();
    // Labels are spread over the whole range; with a clip, more are asked for, so that
    // about `axis_labels` fall before it (none is written past it).
    let axis_labels = if bar_end > lo && bar_end < hi {
        (chart.axis_labels as f64 * (hi - lo) / (bar_end - lo)).ceil() as usize
    } else {
        chart.axis_labels
    };
    c.configure_mesh()
        .disable_y_mesh()
        .x_labels(axis_labels)
        .x_label_formatter(&|x| {
            if *x <= bar_end {
                (chart.axis_label)(*x)
            } else {
                String::new()
            }
        })
        .y_labels(n)
        .y_label_formatter(&|y| match y {
            SegmentValue::CenterOf(i) if *i < n => labels
                .get(n - 1 - *i)
                .map(|l| (*l).to_owned())
                .unwrap_or_default(),
            _ => String::new(),
        })
        .light_line_style(RGBColor(0xee, 0xee, 0xee))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(())
}

/// The bands: a shaded span of the axis each, its caption beside its end.
fn draw_bands(c: &mut Chart<'_, '_>, chart: &RowsChart<'_>, f: &Frame) -> Result<(), RenderError> {
    for (from, to, caption) in &chart.bands {
        let band = Rectangle::new(
            [
                (f.clamp(*from), SegmentValue::Exact(0)),
                (f.clamp(*to), SegmentValue::Last),
            ],
            Tone::Warn.color().mix(0.12).filled(),
        );
        c.draw_series(std::iter::once(band))
            .map_err(|e| RenderError::Chart(e.to_string()))?;
        // Beside the band's end, clear of a mark at its start ("now").
        let text = Text::new(
            format!(" {caption}"),
            (f.clamp(*to), SegmentValue::Last),
            ("sans-serif", 12)
                .into_font()
                .color(&Tone::Warn.color())
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
        );
        c.draw_series(std::iter::once(text))
            .map_err(|e| RenderError::Chart(e.to_string()))?;
    }
    Ok(())
}

/// The rows, top first: each one's bars, their points past the clip, its dots and its note.
fn draw_rows(c: &mut Chart<'_, '_>, chart: &RowsChart<'_>, f: &Frame) -> Result<(), RenderError> {
    for (i, row) in chart.rows.iter().enumerate() {
        let y = f.at(i);
        draw_bars(c, row, y, f)?;
        draw_tips(c, row, y, f)?;
        draw_dots(c, row, y, f)?;
        if !row.note.is_empty() {
            draw_note(c, row, y, f)?;
        }
    }
    Ok(())
}

/// A row's bars, its segments cut at the clip.
fn draw_bars(c: &mut Chart<'_, '_>, row: &Row, y: usize, f: &Frame) -> Result<(), RenderError> {
    let clip = |x: f64| within(x, f.lo, f.bar_end);
    let bars = row.segments.iter().map(|s| {
        let mut r = Rectangle::new(
            [
                (clip(s.from), SegmentValue::Exact(y)),
                (clip(s.to), SegmentValue::Exact(y + 1)),
            ],
            s.tone.color().filled(),
        );
        r.set_margin(6, 6, 0, 0);
        r
    });
    c.draw_series(bars)
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(())
}

/// The points of a row's bars that go on past the clip.
fn draw_tips(c: &mut Chart<'_, '_>, row: &Row, y: usize, f: &Frame) -> Result<(), RenderError> {
    let bar_end = f.bar_end;
    // A bar that goes on past the clip ends in a point.
    for s in row
        .segments
        .iter()
        .filter(|s| s.to > bar_end && s.from < bar_end)
    {
        let tip = Polygon::new(
            vec![
                (bar_end, SegmentValue::Exact(y)),
                (bar_end + f.gap * 1.5, SegmentValue::CenterOf(y)),
                (bar_end, SegmentValue::Exact(y + 1)),
            ],
            s.tone.color().filled(),
        );
        c.draw_series(std::iter::once(tip))
            .map_err(|e| RenderError::Chart(e.to_string()))?;
    }
    Ok(())
}

/// A row's dots (a wave's start).
fn draw_dots(c: &mut Chart<'_, '_>, row: &Row, y: usize, f: &Frame) -> Result<(), RenderError> {
    let dots = row
        .points
        .iter()
        .map(|p| Circle::new((f.clamp(*p), SegmentValue::CenterOf(y)), 3, BLACK.filled()));
    c.draw_series(dots)
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(())
}

/// A row's note, after the end of its bars and dots.
fn draw_note(c: &mut Chart<'_, '_>, row: &Row, y: usize, f: &Frame) -> Result<(), RenderError> {
    let (lo, hi, bar_end, gap) = (f.lo, f.hi, f.bar_end, f.gap);
    let end = row
        .segments
        .iter()
        .map(|s| s.to.max(s.from))
        .chain(row.points.iter().copied())
        .fold(lo, f64::max);
    let end = if end > bar_end {
        bar_end + gap * 1.5
    } else {
        end
    };
    let style = ("sans-serif", 12)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    // After the bar's end; a bar that runs off the axis has its note over its end,
    // not past the chart.
    let text = Text::new(
        row.note.clone(),
        (
            (end + gap).min(lo + (hi - lo) * 0.72),
            SegmentValue::CenterOf(y),
        ),
        style,
    );
    c.draw_series(std::iter::once(text))
        .map_err(|e| RenderError::Chart(e.to_string()))?;
    Ok(())
}

/// The marks: a vertical line each ("now"), its caption left of it.
fn draw_marks(c: &mut Chart<'_, '_>, chart: &RowsChart<'_>, f: &Frame) -> Result<(), RenderError> {
    for (x, caption) in &chart.marks {
        let line = PathElement::new(
            vec![
                (f.clamp(*x), SegmentValue::Exact(0)),
                (f.clamp(*x), SegmentValue::Last),
            ],
            BLACK.stroke_width(2),
        );
        c.draw_series(std::iter::once(line))
            .map_err(|e| RenderError::Chart(e.to_string()))?;
        // Left of its line, clear of a band's caption at the right of the band.
        let text = Text::new(
            format!("{caption} "),
            (f.clamp(*x), SegmentValue::Last),
            ("sans-serif", 12)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        );
        c.draw_series(std::iter::once(text))
            .map_err(|e| RenderError::Chart(e.to_string()))?;
    }
    Ok(())
}

/// `x` brought within `lo..=hi`, never panicking as `f64::clamp` does when the bounds are the
/// wrong way round or not numbers (data from a signed manifest decides them): then `hi`, or
/// `x` where a bound is NaN.
pub fn within(x: f64, lo: f64, hi: f64) -> f64 {
    x.max(lo).min(hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_in_a_chart_is_escaped_and_the_svg_scales() {
        let label = |x: f64| format!("{x:.0}");
        let chart = RowsChart {
            rows: vec![Row {
                label: "<script>alert(1)</script>".to_owned(),
                segments: vec![Segment {
                    from: 0.0,
                    to: 3.0,
                    tone: Tone::Good,
                }],
                points: vec![1.0],
                note: "\"quoted\" & <b>".to_owned(),
            }],
            range: (0.0, 10.0),
            axis_label: &label,
            marks: vec![(2.0, "now".to_owned())],
            bands: vec![(2.0, 4.0, "warning".to_owned())],
            axis_labels: 5,
            clip: Some(8.0),
        };
        let svg = render(&chart).unwrap();
        assert!(svg.contains("viewBox"), "{svg}");
        // The bar stops short of the clip: no point.
        assert!(!svg.contains("<polygon"), "{svg}");
        assert!(!svg.contains("<script"), "{svg}");
        assert!(!svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;"), "{svg}");
    }

    #[test]
    fn a_bar_past_the_clip_ends_in_a_point_and_the_axis_stops_there() {
        let label = |x: f64| format!("day{x:.0}");
        let chart = RowsChart {
            rows: vec![Row {
                label: "root".to_owned(),
                segments: vec![Segment {
                    from: 0.0,
                    to: 2000.0,
                    tone: Tone::Good,
                }],
                points: Vec::new(),
                note: "expires in 2000 days".to_owned(),
            }],
            range: (0.0, 130.0),
            axis_label: &label,
            marks: Vec::new(),
            bands: Vec::new(),
            axis_labels: 14,
            clip: Some(90.0),
        };
        let svg = render(&chart).unwrap();
        assert!(svg.contains("<polygon"), "{svg}");
        assert!(svg.contains("expires in 2000 days"), "{svg}");
        // Labels up to the clip, none past it.
        assert!(svg.contains("day80"), "{svg}");
        assert!(!svg.contains("day100"), "{svg}");
        assert!(!svg.contains("day120"), "{svg}");
    }
}

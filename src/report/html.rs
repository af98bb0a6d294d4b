//! The HTML case report: one self-contained file (no scripts, fonts, images
//! or other requests; a Content-Security-Policy forbids them) that prints
//! cleanly to PDF. It is rendered with minijinja from a view of the report,
//! and names the SHA-256 of the JSON report it was rendered from.

use super::stream::Streamed;
use super::timeline::{CoverageStatus, Segment};
use super::{Report, Verdict};
use jiff::{SignedDuration, Timestamp};
use minijinja::Environment;
use serde::Serialize;
use std::io;

/// Manifest rows shown in the HTML report; the complete manifest is in the
/// JSON report and `--report manifest=FILE`.
pub const MANIFEST_ROWS: usize = super::stream::HTML_MANIFEST_ROWS;

/// Width of one hour in the timeline grid, in SVG user units.
const CELL: i64 = 30;
/// Height of one row (a day) of the timeline grid.
const ROW: i64 = 18;
/// Width of the day labels left of the grid.
const LABEL: i64 = 150;

const TEMPLATE: &str = include_str!("templates/report.html");

/// Writes the HTML report.
///
/// # Errors
/// When writing fails, or (a bug) when the template does not render.
pub fn write(report: &Report, streamed: &Streamed, out: &mut dyn io::Write) -> io::Result<()> {
    let mut env = Environment::new();
    // Evidence text with control and bidi characters spelt out before HTML
    // escaping, so a name cannot reorder what a reader sees.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if !value.is_safe() => minijinja::escape_formatter(
            out,
            state,
            &minijinja::Value::from(crate::text::escape_control(text).as_ref()),
        ),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_template("report.html", TEMPLATE)
        .map_err(io::Error::other)?;
    let template = env.get_template("report.html").map_err(io::Error::other)?;
    let view = View::new(report, streamed)?;
    template
        .render_captured_to(minijinja::value::Serde(&view), out)
        .map_err(io::Error::other)?;
    Ok(())
}

/// Everything the template shows, precomputed. The template gets the
/// report without its manifest (minijinja copies its context, and a
/// manifest can hold millions of entries), and the first rows of it.
#[derive(Serialize)]
struct View<'a> {
    report: ReportView<'a>,
    verdict: &'static str,
    headline: String,
    command_line: String,
    json_sha256: &'a str,
    manifest_sha256: &'a str,
    manifest_total: usize,
    manifest: &'a [super::manifest::ManifestEntry],
    chains: Vec<ChainView<'a>>,
    legend: Vec<LegendItem>,
}

/// The report's fields the template reads (all but the manifest).
#[derive(Serialize)]
struct ReportView<'a> {
    schema_version: u32,
    tool: &'a super::Tool,
    run: &'a super::Run,
    inputs: &'a super::Inputs,
    summary: &'a super::Summary,
    chains: &'a [super::ChainReport],
    findings: &'a [crate::finding::Finding],
}

#[derive(Serialize)]
struct LegendItem {
    status: &'static str,
    label: &'static str,
    fill: String,
}

#[derive(Serialize)]
struct ChainView<'a> {
    id: &'a str,
    width: i64,
    height: i64,
    grid_left: i64,
    grid_width: i64,
    hours: Vec<HourTick>,
    rows: Vec<Row>,
    problems: Vec<SegmentView>,
}

#[derive(Serialize)]
struct HourTick {
    x: i64,
    label: String,
}

/// One line of the grid: a UTC day, or a run of whole days with one status.
#[derive(Serialize)]
struct Row {
    y: i64,
    text_y: i64,
    label: String,
    cells: Vec<Cell>,
}

/// A stretch with one status on one row.
#[derive(Serialize)]
struct Cell {
    x: f64,
    width: f64,
    status: &'static str,
    fill: String,
    start: String,
    end: String,
    title: String,
}

#[derive(Serialize)]
struct SegmentView {
    status: &'static str,
    label: &'static str,
    start: String,
    end: String,
}

impl<'a> View<'a> {
    fn new(report: &'a Report, streamed: &'a Streamed) -> io::Result<Self> {
        Ok(View {
            report: ReportView {
                schema_version: report.schema_version,
                tool: &report.tool,
                run: &report.run,
                inputs: &report.inputs,
                summary: &report.summary,
                chains: &report.chains,
                findings: &report.findings,
            },
            verdict: match report.verdict {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Incomplete => "INCOMPLETE",
            },
            headline: report.headline(),
            command_line: shlex::try_join(report.run.command_line.iter().map(String::as_str))
                .unwrap_or_else(|_| report.run.command_line.join(" ")),
            json_sha256: &streamed.json_sha256,
            manifest_sha256: &streamed.manifest_sha256,
            manifest_total: streamed.manifest_total,
            manifest: &streamed.manifest_rows,
            chains: report
                .chains
                .iter()
                .map(|c| ChainView::new(&c.id, &c.timeline))
                .collect(),
            legend: CoverageStatus::ALL
                .iter()
                .rev()
                .map(|&s| LegendItem {
                    status: s.as_str(),
                    label: s.label(),
                    fill: fill(s),
                })
                .collect(),
        })
    }
}

/// The fill of a status: a colour, plus a pattern for every status but
/// "verified", so the grid reads in black and white too.
fn fill(status: CoverageStatus) -> String {
    format!("url(#tp-{})", status.as_str())
}

impl<'a> ChainView<'a> {
    fn new(id: &'a str, timeline: &[Segment]) -> Self {
        let rows = grid_rows(timeline);
        let height = ROW * i64::try_from(rows.len()).unwrap_or(0) + ROW + 4;
        ChainView {
            id,
            width: LABEL + 24 * CELL + 4,
            height,
            grid_left: LABEL,
            grid_width: 24 * CELL,
            hours: (0..24)
                .step_by(3)
                .map(|h| HourTick {
                    x: LABEL + h * CELL + 2,
                    label: format!("{h:02}"),
                })
                .collect(),
            rows,
            problems: timeline
                .iter()
                .filter(|s| s.status != CoverageStatus::Verified)
                .map(|s| SegmentView {
                    status: s.status.as_str(),
                    label: s.status.label(),
                    start: s.start.to_string(),
                    end: s.end.to_string(),
                })
                .collect(),
        }
    }
}

/// Lays the timeline out as one row per UTC day, 24 hour columns wide, with
/// every stretch drawn to the second (a digest's hour runs from :17 to :17,
/// and the grid shows exactly that). Time outside the chain's span is left
/// empty. Runs of whole days with a single status fold into one row, so a
/// long or hostile span stays small.
fn grid_rows(timeline: &[Segment]) -> Vec<Row> {
    let (Some(first), Some(last)) = (timeline.first(), timeline.last()) else {
        return Vec::new();
    };
    let day = SignedDuration::from_hours(24);
    let mut rows = Vec::new();
    let mut day_start = floor(first.start, 86_400);
    let mut next_segment = 0;
    while day_start < last.end {
        let day_end = day_start.checked_add(day).unwrap_or(last.end);
        while timeline
            .get(next_segment)
            .is_some_and(|s| s.end <= day_start)
        {
            next_segment += 1;
        }
        // Fold whole days that one stretch covers.
        if let Some(segment) = timeline.get(next_segment)
            && segment.start <= day_start
            && segment.end >= day_end.checked_add(day).unwrap_or(day_end)
        {
            let fold_end = floor(segment.end, 86_400);
            let days = (fold_end.as_second() - day_start.as_second()) / 86_400;
            rows.push(folded_row(
                rows.len(),
                day_start,
                fold_end,
                days,
                segment.status,
            ));
            day_start = fold_end;
            continue;
        }
        let pieces = timeline
            .iter()
            .skip(next_segment)
            .take_while(|s| s.start < day_end)
            .map(|s| (s.start.max(day_start), s.end.min(day_end), s.status));
        rows.push(day_row(rows.len(), day_start, pieces));
        day_start = day_end;
    }
    rows
}

fn floor(t: Timestamp, unit: i64) -> Timestamp {
    let s = t.as_second();
    Timestamp::from_second(s - s.rem_euclid(unit)).unwrap_or(t)
}

fn row_y(index: usize) -> i64 {
    ROW + i64::try_from(index).unwrap_or(0) * ROW
}

/// Where a time of the day lies on the grid, in SVG units.
fn x_of(day_start: Timestamp, at: Timestamp) -> f64 {
    let seconds = (at.as_second() - day_start.as_second()) as f64;
    (LABEL as f64 + seconds * CELL as f64 / 3600.0).clamp(LABEL as f64, (LABEL + 24 * CELL) as f64)
}

fn day_row(
    index: usize,
    day_start: Timestamp,
    pieces: impl Iterator<Item = (Timestamp, Timestamp, CoverageStatus)>,
) -> Row {
    let y = row_y(index);
    let cells = pieces
        .filter(|(start, end, _)| start < end)
        .map(|(start, end, status)| {
            let x = x_of(day_start, start);
            // Even a one-minute stretch stays visible.
            let width = (x_of(day_start, end) - x).max(1.0);
            Cell {
                x: round2(x),
                width: round2(width),
                status: status.as_str(),
                fill: fill(status),
                title: format!("{start} to {end}: {}", status.label()),
                start: start.to_string(),
                end: end.to_string(),
            }
        })
        .collect();
    Row {
        y,
        text_y: y + ROW - 5,
        label: day_start.strftime("%Y-%m-%d").to_string(),
        cells,
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn folded_row(
    index: usize,
    start: Timestamp,
    end: Timestamp,
    days: i64,
    status: CoverageStatus,
) -> Row {
    let y = row_y(index);
    let last_day = end
        .checked_sub(SignedDuration::from_hours(24))
        .unwrap_or(end);
    Row {
        y,
        text_y: y + ROW - 5,
        label: format!(
            "{} … {} ({days} d)",
            start.strftime("%Y-%m-%d"),
            last_day.strftime("%m-%d")
        ),
        cells: vec![Cell {
            x: LABEL as f64,
            width: (24 * CELL) as f64,
            status: status.as_str(),
            fill: fill(status),
            title: format!("{start} to {end}: {} ({days} whole days)", status.label()),
            start: start.to_string(),
            end: end.to_string(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> Timestamp {
        // 2026-03-01T00:00:00Z plus h hours.
        Timestamp::from_second(1_772_323_200 + h * 3600).unwrap()
    }

    #[test]
    fn grid_rows_split_by_day_and_fold_whole_days() {
        use CoverageStatus::*;
        let seg = |a: i64, b: i64, status| Segment {
            start: t(a),
            end: t(b),
            status,
        };
        // Day 1: verified from 01:00, tampered 05:00-06:00; days 2-4 verified; day 5 partly.
        let timeline = [
            seg(1, 5, Verified),
            seg(5, 6, Tampered),
            seg(6, 24 * 4 + 3, Verified),
        ];
        let rows = grid_rows(&timeline);
        let statuses: Vec<Vec<(&str, f64)>> = rows
            .iter()
            .map(|r| {
                r.cells
                    .iter()
                    .map(|c| (c.status, c.width / CELL as f64))
                    .collect()
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                vec![("verified", 4.0), ("tampered", 1.0), ("verified", 18.0)],
                vec![("verified", 24.0)],
                vec![("verified", 3.0)],
            ]
        );
        assert_eq!(rows[1].label, "2026-03-02 … 03-04 (3 d)");
        assert_eq!(rows[0].cells[1].start, "2026-03-01T05:00:00Z");
    }

    #[test]
    fn stretches_are_drawn_to_the_minute() {
        let at = |h: i64, m: i64| t(h).checked_add(SignedDuration::from_mins(m)).unwrap();
        let timeline = [
            Segment {
                start: at(0, 17),
                end: at(1, 17),
                status: CoverageStatus::Tampered,
            },
            Segment {
                start: at(1, 17),
                end: at(6, 17),
                status: CoverageStatus::Verified,
            },
        ];
        let rows = grid_rows(&timeline);
        let cells = &rows[0].cells;
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0].start, "2026-03-01T00:17:00Z");
        assert_eq!(cells[0].end, "2026-03-01T01:17:00Z");
        assert_eq!(cells[0].x, round2(LABEL as f64 + 17.0 / 60.0 * CELL as f64));
        assert_eq!(cells[0].width, CELL as f64);
        assert_eq!(cells[1].width, 5.0 * CELL as f64);
    }

    #[test]
    fn a_hostile_span_stays_small() {
        let timeline = [Segment {
            start: Timestamp::from_second(0).unwrap(),
            end: Timestamp::from_second(250_000_000_000).unwrap(),
            status: CoverageStatus::Unsigned,
        }];
        assert!(grid_rows(&timeline).len() <= 3);
    }
}

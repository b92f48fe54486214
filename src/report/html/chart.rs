//! Line charts as inline SVG geometry: where each point, line and label goes
//! in a fixed view box. The template only draws what is computed here, so a
//! chart needs no script and no library, prints, and scales with the page.

use serde::Serialize;

use crate::units::human_size;

/// The view box's size; the SVG scales to the page's width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
/// Room for the axes' labels.
const LEFT: f64 = 56.0;
const RIGHT: f64 = 64.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;
/// Labels along the time axis, at most.
const TIME_LABELS: usize = 6;
/// The room a date takes on the time axis.
const LABEL_WIDTH: f64 = 100.0;

/// What a series counts, for its axis labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Plain numbers.
    Count,
    /// Bytes, said as `1.5 MB`.
    Bytes,
}

impl Unit {
    fn say(self, value: u64) -> String {
        match self {
            Unit::Count => value.to_string(),
            Unit::Bytes => human_size(value),
        }
    }
}

/// One line of a chart.
#[derive(Debug, Clone, Copy)]
pub struct SeriesSpec {
    /// Its name in the legend, and its CSS class (the stylesheet gives it its
    /// colour).
    pub name: &'static str,
    /// What it counts.
    pub unit: Unit,
    /// Measured on the right-hand axis rather than the left.
    pub right: bool,
}

/// One point in time: a key for the page (`data-run`), a time, and one value
/// per series.
#[derive(Debug, Clone)]
pub struct Column {
    /// What the point is (a run's number).
    pub key: String,
    /// When (RFC 3339); its date goes on the axis.
    pub time: String,
    /// One value per series, in the series' order.
    pub values: Vec<u64>,
}

/// A chart, ready to draw.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    /// View box width.
    pub width: f64,
    /// View box height.
    pub height: f64,
    /// The plot area's edges.
    pub left: f64,
    /// Right edge of the plot area.
    pub right: f64,
    /// Top edge of the plot area.
    pub top: f64,
    /// Bottom edge of the plot area.
    pub bottom: f64,
    /// The lines.
    pub series: Vec<Line>,
    /// The points, one group per column.
    pub columns: Vec<Marks>,
    /// Labels under the time axis.
    pub x_labels: Vec<Label>,
    /// Labels of the left axis.
    pub y_labels: Vec<Label>,
    /// Labels of the right axis (empty when no series uses it).
    pub y2_labels: Vec<Label>,
}

/// A series' line.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    /// Its legend name.
    pub name: &'static str,
    /// Its CSS class.
    pub class: &'static str,
    /// SVG `points`: `x,y x,y …`.
    pub points: String,
}

/// The points of one column.
#[derive(Debug, Clone, Serialize)]
pub struct Marks {
    /// The column's key.
    pub key: String,
    /// Its tooltip: the time and every value.
    pub title: String,
    /// Where it stands.
    pub x: f64,
    /// One mark per series.
    pub points: Vec<Mark>,
}

/// One point.
#[derive(Debug, Clone, Serialize)]
pub struct Mark {
    /// The series' CSS class.
    pub class: &'static str,
    /// Height in the view box.
    pub y: f64,
}

/// A label on an axis.
#[derive(Debug, Clone, Serialize)]
pub struct Label {
    /// Where along the axis.
    pub at: f64,
    /// What it says.
    pub text: String,
}

/// Draws `columns`, oldest first, as one line per series; `None` without
/// columns.
#[must_use]
pub fn draw(columns: &[Column], specs: &[SeriesSpec]) -> Option<Chart> {
    if columns.is_empty() {
        return None;
    }
    let (plot_right, plot_bottom) = (WIDTH - RIGHT, HEIGHT - BOTTOM);
    let max_of = |right: bool| {
        specs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.right == right)
            .flat_map(|(i, _)| columns.iter().map(move |c| c.values[i]))
            .max()
            .unwrap_or(0)
            .max(1)
    };
    let (max_left, max_right) = (max_of(false), max_of(true));
    let x_of = |i: usize| {
        if columns.len() == 1 {
            f64::midpoint(LEFT, plot_right)
        } else {
            LEFT + (plot_right - LEFT) * ratio(i as u64, (columns.len() - 1) as u64)
        }
    };
    let y_of = |value: u64, right: bool| {
        let max = if right { max_right } else { max_left };
        plot_bottom - (plot_bottom - TOP) * ratio(value, max)
    };
    let series = specs
        .iter()
        .enumerate()
        .map(|(s, spec)| Line {
            name: spec.name,
            class: spec.name,
            points: columns
                .iter()
                .enumerate()
                .map(|(i, c)| format!("{:.1},{:.1}", x_of(i), y_of(c.values[s], spec.right)))
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect();
    let marks = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Marks {
            key: c.key.clone(),
            title: tooltip(c, specs),
            x: round(x_of(i)),
            points: specs
                .iter()
                .zip(&c.values)
                .map(|(spec, v)| Mark {
                    class: spec.name,
                    y: round(y_of(*v, spec.right)),
                })
                .collect(),
        })
        .collect();
    let axis = |right: bool, max: u64| -> Vec<Label> {
        let Some(unit) = specs.iter().find(|s| s.right == right).map(|s| s.unit) else {
            return Vec::new();
        };
        let mut labels: Vec<Label> = Vec::new();
        for v in [0, max / 2, max] {
            // A small maximum would say its half twice (0, 0, 1).
            if labels.last().is_none_or(|l| l.text != unit.say(v)) {
                labels.push(Label {
                    at: round(y_of(v, right)),
                    text: unit.say(v),
                });
            }
        }
        labels
    };
    Some(Chart {
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        right: plot_right,
        top: TOP,
        bottom: plot_bottom,
        series,
        columns: marks,
        x_labels: time_labels(columns, x_of),
        y_labels: axis(false, max_left),
        y2_labels: axis(true, max_right),
    })
}

/// `part / whole` for positions in the view box.
#[allow(clippy::cast_precision_loss)] // a position on a screen
fn ratio(part: u64, whole: u64) -> f64 {
    part as f64 / whole.max(1) as f64
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn tooltip(column: &Column, specs: &[SeriesSpec]) -> String {
    let values: Vec<String> = specs
        .iter()
        .zip(&column.values)
        .map(|(spec, v)| format!("{} {}", spec.unit.say(*v), spec.name))
        .collect();
    format!("{}: {}", column.time, values.join(", "))
}

/// A few evenly spread dates under the axis, the first and last among them.
fn time_labels(columns: &[Column], x_of: impl Fn(usize) -> f64) -> Vec<Label> {
    let n = columns.len();
    let step = n.div_ceil(TIME_LABELS).max(1);
    let mut at: Vec<usize> = (0..n).step_by(step).collect();
    if at.last() != Some(&(n - 1)) {
        // The last date always shows; the one before it gives way if the two
        // would overlap.
        if at.len() > 1 && x_of(n - 1) - x_of(at[at.len() - 1]) < LABEL_WIDTH {
            at.pop();
        }
        at.push(n - 1);
    }
    at.into_iter()
        .map(|i| Label {
            at: round(x_of(i)),
            text: short_time(&columns[i].time),
        })
        .collect()
}

/// `2026-11-20 03:00` from an RFC 3339 time.
fn short_time(time: &str) -> String {
    match (time.get(..10), time.get(11..16)) {
        (Some(day), Some(clock)) => format!("{day} {clock}"),
        _ => time.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // positions are rounded to tenths, then compared
mod tests {
    use super::*;

    const SPECS: [SeriesSpec; 2] = [
        SeriesSpec {
            name: "failing",
            unit: Unit::Count,
            right: false,
        },
        SeriesSpec {
            name: "bytes",
            unit: Unit::Bytes,
            right: true,
        },
    ];

    fn column(key: &str, values: [u64; 2]) -> Column {
        Column {
            key: key.into(),
            time: format!("2026-11-0{key}T03:00:00Z"),
            values: values.to_vec(),
        }
    }

    #[test]
    fn every_column_is_a_point_of_every_series() {
        let columns = [
            column("1", [0, 10]),
            column("2", [4, 2_000_000]),
            column("3", [2, 3]),
        ];
        let chart = draw(&columns, &SPECS).unwrap();
        assert_eq!(chart.columns.len(), 3);
        assert!(chart.columns.iter().all(|c| c.points.len() == 2));
        assert_eq!(chart.series[0].points.split(' ').count(), 3);
        // The highest value reaches the top; zero sits on the bottom.
        assert_eq!(chart.columns[1].points[0].y, TOP);
        assert_eq!(chart.columns[0].points[0].y, HEIGHT - BOTTOM);
        assert_eq!(chart.y2_labels.last().unwrap().text, "2.0 MB");
        assert_eq!(chart.x_labels[0].text, "2026-11-01 03:00");
        assert_eq!(chart.x_labels.last().unwrap().text, "2026-11-03 03:00");
        assert!(chart.columns[1].title.contains("4 failing"));
    }

    #[test]
    fn no_columns_no_chart_and_one_column_stands_in_the_middle() {
        assert!(draw(&[], &SPECS).is_none());
        let chart = draw(&[column("1", [1, 1])], &SPECS).unwrap();
        assert_eq!(
            chart.columns[0].x,
            round(f64::midpoint(LEFT, WIDTH - RIGHT))
        );
    }

    #[test]
    fn many_columns_get_a_few_dates() {
        let columns: Vec<Column> = (0..100)
            .map(|i| Column {
                key: i.to_string(),
                time: "2026-11-01T00:00:00Z".into(),
                values: vec![i, i],
            })
            .collect();
        let chart = draw(&columns, &SPECS).unwrap();
        assert!(chart.x_labels.len() <= TIME_LABELS + 1);
        assert_eq!(chart.x_labels.last().unwrap().at, round(WIDTH - RIGHT));
    }
}

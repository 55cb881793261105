//! Small inline SVG charts for the HTML results page: histograms and labelled bar charts, drawn
//! without scripts or external resources.

use maud::{html, Markup};

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 24.0;
const BOTTOM: f64 = 34.0;

/// One bar: its label under the axis, its height, and a note drawn above it.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub note: String,
}

/// Histogram of scores in [0, 1] with `bins` equal bins (1.0 falls in the last one).
pub fn histogram(title: &str, values: &[f64], bins: usize) -> Markup {
    let bins = bins.max(1);
    let mut counts = vec![0usize; bins];
    for &value in values.iter().filter(|v| v.is_finite()) {
        let bin = ((value.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        counts[bin] += 1;
    }
    let bars: Vec<Bar> = counts
        .iter()
        .enumerate()
        .map(|(i, &count)| Bar {
            label: if i % 2 == 0 || bins <= 5 {
                format!("{:.1}", i as f64 / bins as f64)
            } else {
                String::new()
            },
            value: count as f64,
            note: if count > 0 {
                count.to_string()
            } else {
                String::new()
            },
        })
        .collect();
    let top = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    bar_chart(title, &bars, top, "reports")
}

/// Bars from 0 to `y_max`, with `y_label` beside the axis.
pub fn bar_chart(title: &str, bars: &[Bar], y_max: f64, y_label: &str) -> Markup {
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let y_max = if y_max > 0.0 && y_max.is_finite() {
        y_max
    } else {
        1.0
    };
    let slot = plot_width / bars.len().max(1) as f64;
    let bar_width = (slot * 0.8).max(1.0);
    let y_of = |v: f64| TOP + plot_height * (1.0 - (v / y_max).clamp(0.0, 1.0));
    let ticks = [0.0, y_max / 2.0, y_max];
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(title) {
            title { (title) }
            text x=(WIDTH / 2.0) y="14" text-anchor="middle" class="chart-title" { (title) }
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(TOP + plot_height) class="axis" {}
            line x1=(LEFT) y1=(TOP + plot_height) x2=(WIDTH - RIGHT) y2=(TOP + plot_height) class="axis" {}
            @for tick in ticks {
                text x=(LEFT - 4.0) y=(y_of(tick) + 3.0) text-anchor="end" class="tick" { (tick_label(tick)) }
                line x1=(LEFT - 2.0) y1=(y_of(tick)) x2=(LEFT) y2=(y_of(tick)) class="axis" {}
            }
            text x="10" y=(TOP + plot_height / 2.0) class="tick" text-anchor="middle"
                transform=(format!("rotate(-90 10 {})", TOP + plot_height / 2.0)) { (y_label) }
            @for (i, bar) in bars.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar_width) / 2.0;
                @let y = y_of(bar.value);
                rect x=(fmt(x)) y=(fmt(y)) width=(fmt(bar_width)) height=(fmt(TOP + plot_height - y)) class="bar" {
                    title { (bar.label) ": " (format!("{:.3}", bar.value)) }
                }
                @if !bar.note.is_empty() {
                    text x=(fmt(x + bar_width / 2.0)) y=(fmt(y - 3.0)) text-anchor="middle" class="note" { (bar.note) }
                }
                text x=(fmt(x + bar_width / 2.0)) y=(fmt(TOP + plot_height + 14.0)) text-anchor="middle" class="tick" { (bar.label) }
            }
        }
    }
}

fn fmt(value: f64) -> String {
    format!("{value:.1}")
}

fn tick_label(value: f64) -> String {
    if value.fract() == 0.0 || value >= 10.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

//! A time-series line chart in SVG: labelled axes with units, a legend, each line with
//! its own dash pattern and a direct label at its end (readable without colour), an
//! optional threshold line (a budget), and the same figures as a table for screen
//! readers and anyone who wants the numbers.
//!
//! ```ignore
//! <LineChart caption="Latency of /fn/admin/carriers, last 24 hours" unit="ms"
//!     series=vec![ChartSeries::new("p95", "p95", points)] format=|us| format_latency(us)
//!     threshold=Some(("budget".into(), 200_000))/>
//! ```

use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// One line: a label, its style (`p50`, `p95`, `p99`, `rate`, `errors`) and its points
/// `(RFC 3339 UTC, value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartSeries {
    pub label: String,
    pub style: &'static str,
    pub points: Vec<(String, i64)>,
}

impl ChartSeries {
    pub fn new(label: impl Into<String>, style: &'static str, points: Vec<(String, i64)>) -> Self {
        ChartSeries {
            label: label.into(),
            style,
            points,
        }
    }
}

fn seconds(t: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|d| d.with_timezone(&Utc).timestamp())
}

fn clock(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.format("%H:%M").to_string())
        .unwrap_or_default()
}

/// The chart.
#[component]
pub fn LineChart(
    /// What the chart shows (its caption and accessible name).
    #[prop(into)]
    caption: String,
    /// The lines.
    series: Vec<ChartSeries>,
    /// How a value reads for people (with its unit), e.g. `format_latency`.
    format: fn(i64) -> String,
    /// The y axis's unit, for its title (e.g. "latency").
    #[prop(into)]
    axis: String,
    /// A horizontal line to compare against: `(label, value)`.
    #[prop(default = None)]
    threshold: Option<(String, i64)>,
    /// Test id of the figure.
    #[prop(optional)]
    testid: &'static str,
) -> impl IntoView {
    const W: i64 = 960;
    const H: i64 = 240;
    const LEFT: i64 = 76;
    const RIGHT: i64 = 110;
    const TOP: i64 = 12;
    const BOTTOM: i64 = 40;
    let times: Vec<i64> = series
        .iter()
        .flat_map(|s| s.points.iter().filter_map(|(t, _)| seconds(t)))
        .collect();
    let (t0, t1) = (
        times.iter().copied().min().unwrap_or(0),
        times.iter().copied().max().unwrap_or(0),
    );
    let top = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, v)| *v))
        .chain(threshold.iter().map(|(_, v)| *v))
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x = move |t: i64| {
        LEFT + if t1 > t0 {
            (t - t0) * plot_w / (t1 - t0)
        } else {
            plot_w / 2
        }
    };
    let y = move |v: i64| TOP + plot_h - (v.max(0) as i128 * plot_h as i128 / top as i128) as i64;
    let id = format!(
        "chart-{}",
        caption
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let summary = format!(
        "{caption}: {}",
        series
            .iter()
            .map(|s| format!(
                "{} latest {}",
                s.label,
                s.points
                    .last()
                    .map(|(_, v)| format(*v))
                    .unwrap_or_else(|| "none".into())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let empty = times.is_empty();
    // Direct labels at the lines' ends, pushed apart so none overlaps another.
    let mut ends: Vec<(usize, i64)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.points.last().map(|(_, v)| (i, y(*v))))
        .collect();
    ends.sort_by_key(|(_, y)| *y);
    for k in 1..ends.len() {
        if ends[k].1 < ends[k - 1].1 + 12 {
            ends[k].1 = ends[k - 1].1 + 12;
        }
    }
    let label_y = move |i: usize| ends.iter().find(|(j, _)| *j == i).map(|(_, y)| *y);
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let points: Vec<(i64, i64)> = s
                .points
                .iter()
                .filter_map(|(t, v)| seconds(t).map(|t| (x(t), y(*v))))
                .collect();
            let path = points
                .iter()
                .map(|(px, py)| format!("{px},{py}"))
                .collect::<Vec<_>>()
                .join(" ");
            let end = points
                .last()
                .map(|(ex, ey)| (*ex, label_y(i).unwrap_or(*ey)));
            let class = format!("chart__line chart__line--{}", s.style);
            let label = s.label.clone();
            view! {
                <polyline points=path class=class fill="none"/>
                {end.map(|(ex, ey)| view! {
                    <text x=ex + 4 y=ey + 4 class="chart__label">{label.clone()}</text>
                })}
            }
        })
        .collect_view();
    let limit = threshold.clone().map(|(label, v)| {
        let ty = y(v);
        view! {
            <line x1=LEFT y1=ty x2=W - RIGHT y2=ty class="chart__threshold"/>
            <text x=W - RIGHT + 4 y=ty - 4 class="chart__label">{label}</text>
        }
    });
    let rows: Vec<(String, Vec<String>)> = {
        let mut at: Vec<String> = series
            .iter()
            .flat_map(|s| s.points.iter().map(|(t, _)| t.clone()))
            .collect();
        at.sort();
        at.dedup();
        at.into_iter()
            .map(|t| {
                let cells = series
                    .iter()
                    .map(|s| {
                        s.points
                            .iter()
                            .find(|(pt, _)| *pt == t)
                            .map(|(_, v)| format(*v))
                            .unwrap_or_else(|| "—".into())
                    })
                    .collect();
                (t, cells)
            })
            .collect()
    };
    let heads: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    let legend = series
        .iter()
        .map(|s| {
            let class = format!("chart__swatch chart__swatch--{}", s.style);
            view! { <span class="chart__legend-item"><span class=class aria-hidden="true"></span>{s.label.clone()}</span> }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid=testid>
            <figcaption class="chart__caption">{caption.clone()}</figcaption>
            <div class="chart__legend">{legend}
                {threshold.as_ref().map(|(l, v)| view! {
                    <span class="chart__legend-item"><span class="chart__swatch chart__swatch--threshold" aria-hidden="true"></span>{format!("{l} ({})", format(*v))}</span>
                })}
            </div>
            {if empty {
                view! { <p class="empty">"No figures yet for this period: they appear after the next collector cycle."</p> }.into_any()
            } else {
                view! {
                    <svg role="img" aria-labelledby=id.clone() viewBox=format!("0 0 {W} {H}") class="chart__svg">
                        <title id=id.clone()>{summary}</title>
                        <line x1=LEFT y1=TOP + plot_h x2=W - RIGHT y2=TOP + plot_h class="chart__axis"/>
                        <line x1=LEFT y1=TOP x2=LEFT y2=TOP + plot_h class="chart__axis"/>
                        <text x=LEFT - 6 y=TOP + 8 class="chart__label" text-anchor="end">{format(top)}</text>
                        <text x=LEFT - 6 y=TOP + plot_h class="chart__label" text-anchor="end">{format(0)}</text>
                        <text x=12 y=TOP + plot_h / 2 class="chart__label" text-anchor="middle"
                            transform=format!("rotate(-90 12 {})", TOP + plot_h / 2)>{axis.clone()}</text>
                        <text x=LEFT y=H - 22 class="chart__label" text-anchor="start">{clock(t0)}</text>
                        <text x=LEFT + plot_w / 2 y=H - 22 class="chart__label" text-anchor="middle">{clock((t0 + t1) / 2)}</text>
                        <text x=W - RIGHT y=H - 22 class="chart__label" text-anchor="end">{clock(t1)}</text>
                        <text x=LEFT + plot_w / 2 y=H - 6 class="chart__label" text-anchor="middle">"time (UTC)"</text>
                        {limit}
                        {lines}
                    </svg>
                }.into_any()
            }}
            <details class="chart__table">
                <summary>"Show the figures as a table"</summary>
                <div class="table-wrap">
                    <table class="table">
                        <caption class="visually-hidden">{caption}</caption>
                        <thead><tr>
                            <th scope="col">"Time (UTC)"</th>
                            {heads.into_iter().map(|h| view! { <th scope="col" class="num">{h}</th> }).collect_view()}
                        </tr></thead>
                        <tbody>
                            {rows.into_iter().map(|(t, cells)| view! {
                                <tr><td class="num">{t.get(..19).unwrap_or(&t).replace('T', " ")}</td>
                                {cells.into_iter().map(|c| view! { <td class="num">{c}</td> }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

//! A horizontal bar chart of the revm/interp ratio per workload, written as plain SVG text.
//!
//! One bar per workload, green where MetisVM is faster (ratio at least 1) and red where it is
//! slower, a dashed reference line at 1.0 and, when given, a dotted line at the geometric mean.

use std::fmt::Write as _;

/// Height of one row (bar and gap), in pixels.
const ROW: f64 = 22.0;
/// Height of a bar.
const BAR: f64 = 14.0;
/// Width of the plotting area.
const PLOT_WIDTH: f64 = 560.0;
/// Space above the bars (title) and below them (axis labels).
const TOP: f64 = 48.0;
const BOTTOM: f64 = 44.0;
/// Space right of the plot for the value labels.
const RIGHT: f64 = 70.0;
/// Approximate width of one character of the 12px labels.
const CHAR_WIDTH: f64 = 7.0;

/// The chart of `bars` (label, ratio) with an optional geometric-mean line.
pub fn ratio_chart(bars: &[(String, f64)], geomean: Option<f64>) -> String {
    let longest = bars.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0);
    let left = (longest as f64 * CHAR_WIDTH + 16.0).clamp(120.0, 420.0);
    let highest = bars.iter().map(|(_, r)| *r).chain(geomean).fold(1.0_f64, f64::max);
    let (x_max, step) = axis(highest);
    let width = left + PLOT_WIDTH + RIGHT;
    let height = TOP + ROW * bars.len().max(1) as f64 + BOTTOM;
    let x = |ratio: f64| left + PLOT_WIDTH * (ratio / x_max).clamp(0.0, 1.0);

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="22" font-size="15" font-weight="bold">revm median / MetisVM median per workload (&gt;1: MetisVM faster)</text>"#,
        left
    );
    let plot_bottom = TOP + ROW * bars.len().max(1) as f64;
    // Grid and axis labels.
    let mut tick = 0.0;
    while tick <= x_max + 1e-9 {
        let tx = x(tick);
        let _ = writeln!(
            out,
            r##"<line x1="{tx:.1}" y1="{TOP:.1}" x2="{tx:.1}" y2="{plot_bottom:.1}" stroke="#e4e4e4"/>"##
        );
        let _ = writeln!(
            out,
            r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            plot_bottom + 16.0,
            tick_label(tick)
        );
        tick += step;
    }
    for (i, (label, ratio)) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64 + (ROW - BAR) / 2.0;
        let end = x(*ratio);
        let colour = if *ratio >= 1.0 { "#2e8b57" } else { "#c0392b" };
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + BAR - 3.0,
            escape(label)
        );
        let _ = writeln!(
            out,
            r#"<rect x="{left:.1}" y="{y:.1}" width="{:.1}" height="{BAR:.1}" fill="{colour}"/>"#,
            (end - left).max(0.5)
        );
        let _ = writeln!(out, r#"<text x="{:.1}" y="{:.1}">{ratio:.2}x</text>"#, end + 4.0, y + BAR - 3.0);
    }
    let one = x(1.0);
    let _ = writeln!(
        out,
        r##"<line x1="{one:.1}" y1="{:.1}" x2="{one:.1}" y2="{plot_bottom:.1}" stroke="#333" stroke-dasharray="5,3"/>"##,
        TOP - 6.0
    );
    let _ = writeln!(out, r#"<text x="{one:.1}" y="{:.1}" text-anchor="middle">1.0</text>"#, TOP - 9.0);
    if let Some(g) = geomean {
        let gx = x(g);
        let _ = writeln!(
            out,
            r##"<line x1="{gx:.1}" y1="{TOP:.1}" x2="{gx:.1}" y2="{plot_bottom:.1}" stroke="#1f5fbf" stroke-dasharray="2,2"/>"##
        );
        let _ = writeln!(
            out,
            r##"<text x="{gx:.1}" y="{:.1}" text-anchor="middle" fill="#1f5fbf">geomean {g:.2}x</text>"##,
            plot_bottom + 32.0
        );
    }
    out.push_str("</svg>\n");
    out
}

/// The axis end (a little beyond `highest`) and the tick step.
fn axis(highest: f64) -> (f64, f64) {
    let step = if highest <= 2.0 {
        0.25
    } else if highest <= 5.0 {
        0.5
    } else if highest <= 12.0 {
        1.0
    } else {
        (highest / 10.0).ceil()
    };
    let end = ((highest * 1.05) / step).ceil() * step;
    (end.max(step), step)
}

/// A tick value with at most two decimals and no trailing zeros: `0`, `0.25`, `1.5`, `2`.
fn tick_label(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Text made safe for SVG: `&`, `<`, `>` and quotes escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_has_bars_labels_and_reference_line() {
        let bars = vec![("main/a<b>".to_string(), 1.5), ("micro/c".to_string(), 0.5)];
        let svg = ratio_chart(&bars, Some(0.87));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect x=").count(), 2);
        assert!(svg.contains("main/a&lt;b&gt;") && svg.contains("1.50x") && svg.contains("0.50x"));
        assert!(svg.contains("#2e8b57") && svg.contains("#c0392b"));
        assert!(svg.contains("stroke-dasharray=\"5,3\"") && svg.contains("geomean 0.87x"));
    }

    #[test]
    fn empty_chart_is_valid() {
        let svg = ratio_chart(&[], None);
        assert!(svg.contains("</svg>") && !svg.contains("geomean"));
    }

    #[test]
    fn axis_covers_the_highest_ratio() {
        assert_eq!(axis(1.0), (1.25, 0.25));
        let (end, step) = axis(3.7);
        assert!(end >= 3.7 && step == 0.5);
        let (end, _) = axis(40.0);
        assert!(end >= 40.0);
        assert_eq!(
            [tick_label(0.0), tick_label(0.25), tick_label(1.5), tick_label(2.0)],
            ["0", "0.25", "1.5", "2"]
        );
    }
}

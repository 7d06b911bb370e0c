//! Charts as SVG, drawn on the server: no script, no chart library, and
//! readable by screen readers (a title, a description, and the figures in
//! a table beside the picture).

use serde::Serialize;

/// One bar: its label, its value and the value as the user reads it.
#[derive(Debug, Clone, Serialize)]
pub(in super::super) struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
}

/// A chart ready for a template: the SVG markup and the data behind it.
#[derive(Debug, Clone, Serialize)]
pub(in super::super) struct Chart {
    pub title: String,
    pub svg: String,
    pub bars: Vec<Bar>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const COLORS: &[&str] = &["#0b5cad", "#2e8540", "#c77700", "#7a3fa0", "#b0283a", "#137f8a", "#5a6470"];

/// A horizontal bar chart: one row per bar, scaled to the largest value.
pub(in super::super) fn bars(id: &str, title: &str, description: &str, bars: Vec<Bar>) -> Chart {
    // Drawn at its own size (never scaled below it on wide screens), with
    // room for a count and an amount after the bar.
    const WIDTH: f64 = 440.0;
    const LABEL: f64 = 150.0;
    const ROW: f64 = 28.0;
    const VALUE: f64 = 140.0;
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let height = (bars.len().max(1) as f64) * ROW + 8.0;
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" style="max-width:100%;height:auto" role="img" aria-labelledby="{id}-t {id}-d" class="chart"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        escape(title),
        escape(description)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW;
        let room = WIDTH - LABEL - VALUE;
        let w = if max > 0.0 { (b.value / max * room).max(if b.value > 0.0 { 2.0 } else { 0.0 }) } else { 0.0 };
        let color = COLORS[i % COLORS.len()];
        svg.push_str(&format!(
            r##"<text x="{}" y="{}" text-anchor="end" font-size="13" fill="#1b1f24">{}</text><rect x="{LABEL}" y="{}" width="{w:.1}" height="{}" rx="3" fill="{color}"/><text x="{}" y="{}" font-size="13" fill="#3d4650">{}</text>"##,
            LABEL - 6.0,
            y + 17.0,
            escape(&truncate(&b.label, 19)),
            y + 4.0,
            ROW - 10.0,
            LABEL + w + 6.0,
            y + 17.0,
            escape(&b.shown),
        ));
    }
    svg.push_str("</svg>");
    Chart { title: title.to_string(), svg, bars }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar { label: label.into(), value, shown: value.to_string() }
    }

    #[test]
    fn bars_scale_to_the_largest_and_escape_labels() {
        let c = bars(
            "c",
            "Pipeline <by stage>",
            "Amount per stage",
            vec![bar("Qualify & more", 50.0), bar("Close", 100.0)],
        );
        assert!(c.svg.starts_with("<svg"));
        assert!(c.svg.contains("<title id=\"c-t\">Pipeline &lt;by stage&gt;</title>"), "{}", c.svg);
        assert!(c.svg.contains("Qualify &amp; more"));
        // The largest bar takes the whole room (400 − 150 − 100 = 150), the other half.
        assert!(c.svg.contains("width=\"150.0\""), "{}", c.svg);
        assert!(c.svg.contains("width=\"75.0\""), "{}", c.svg);
    }

    #[test]
    fn empty_and_zero_charts_draw_no_bars() {
        let c = bars("c", "Nothing", "", vec![bar("A", 0.0)]);
        assert!(c.svg.contains("width=\"0.0\""));
        assert!(bars("c", "Empty", "", Vec::new()).svg.ends_with("</svg>"));
    }
}

//! The `/district` page: a district's month as a server-rendered table (one row per village,
//! the current version's figures; villages not closed marked so; earlier versions listed) and an
//! inline SVG bar chart of person-times by service type per village. No scripts, nothing loaded
//! from elsewhere.

use carebank_core::domain::Figure;
use carebank_core::report::district::{DistrictMonth, figure_value};

/// Person-time kinds shown, in order (the report's `person_times` keys).
const KINDS: [&str; 9] = [
    "visit",
    "meal",
    "bath",
    "cleaning",
    "mobility",
    "medical_escort",
    "companionship",
    "emergency",
    "other",
];
/// A bar colour per kind.
const COLOURS: [&str; 9] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f",
];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page for `month`.
pub fn render(month: &DistrictMonth) -> String {
    let title = format!("{} — {}", escape(&month.district), escape(&month.month));
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #999;padding:2px 6px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}.not-closed{{color:#b00}}</style>\
         </head><body><h1>{title}</h1>"
    );
    let closed = month
        .villages
        .iter()
        .filter(|v| v.current.is_some())
        .count();
    html += &format!(
        "<p id=\"summary\">{closed} / {} villages closed the month (村已报送)</p>",
        month.villages.len()
    );
    html += &table(month);
    html += &chart(month);
    html += &versions(month);
    html += "</body></html>";
    html
}

fn table(month: &DistrictMonth) -> String {
    let mut html =
        String::from("<table id=\"figures\"><thead><tr><th>village 村</th><th>version</th>");
    for kind in KINDS {
        html += &format!("<th>{kind}</th>");
    }
    html += "<th>minutes (all funding)</th><th>time bank earned</th><th>overdue elders</th></tr></thead><tbody>";
    for v in &month.villages {
        let name = escape(&v.village.name);
        let circle = v.village.circle;
        let Some(c) = &v.current else {
            html += &format!(
                "<tr class=\"not-closed\" data-circle=\"{circle}\"><td>{name}</td><td colspan=\"{}\">not closed 未报送</td></tr>",
                KINDS.len() + 4
            );
            continue;
        };
        html += &format!(
            "<tr class=\"closed\" data-circle=\"{circle}\"><td>{name}</td><td>{}</td>{}</tr>",
            c.version,
            cells(&c.figures)
        );
    }
    html += &format!(
        "<tr class=\"total\"><td>total 合计</td><td></td>{}</tr></tbody></table>",
        cells(&month.totals)
    );
    html
}

/// A row's figure cells: person-times by kind, minutes of all funding, time-bank minutes
/// earned, elders overdue.
fn cells(figures: &[Figure]) -> String {
    let mut html = String::new();
    for kind in KINDS {
        let value = figure_value(figures, "person_times", kind);
        html += &format!("<td data-kind=\"{kind}\">{value}</td>");
    }
    let funded: i64 = figures
        .iter()
        .filter(|f| f.section == "minutes_by_funding")
        .map(|f| f.value)
        .sum();
    html += &format!(
        "<td>{funded}</td><td>{}</td><td>{}</td>",
        figure_value(figures, "time_bank", "earned"),
        figure_value(figures, "overdue_visit", "elders")
    );
    html
}

/// Grouped bars: one group per closed village, one bar per kind, heights to scale.
fn chart(month: &DistrictMonth) -> String {
    const BAR: usize = 12;
    const HEIGHT: f64 = 200.0;
    let closed: Vec<_> = month
        .villages
        .iter()
        .filter_map(|v| v.current.as_ref().map(|c| (v, c)))
        .collect();
    let max = closed
        .iter()
        .flat_map(|(_, c)| KINDS.map(|k| figure_value(&c.figures, "person_times", k)))
        .max()
        .unwrap_or(0)
        .max(1);
    let group = BAR * KINDS.len() + 24;
    let width = 40 + group * closed.len().max(1);
    let mut svg = format!(
        "<h2>person-times by service type 服务人次</h2><svg id=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{}\" role=\"img\">",
        HEIGHT as usize + 40
    );
    for (i, (v, c)) in closed.iter().enumerate() {
        let x0 = 40 + i * group;
        for (k, kind) in KINDS.iter().enumerate() {
            let value = figure_value(&c.figures, "person_times", kind);
            let h = HEIGHT * value as f64 / max as f64;
            svg += &format!(
                "<rect class=\"bar\" data-circle=\"{}\" data-kind=\"{kind}\" data-value=\"{value}\" x=\"{}\" y=\"{:.1}\" width=\"{}\" height=\"{h:.1}\" fill=\"{}\"><title>{}: {kind} {value}</title></rect>",
                v.village.circle,
                x0 + k * BAR,
                HEIGHT - h + 10.0,
                BAR - 2,
                COLOURS[k],
                escape(&v.village.name)
            );
        }
        svg += &format!(
            "<text x=\"{x0}\" y=\"{}\" font-size=\"12\">{}</text>",
            HEIGHT as usize + 28,
            escape(&v.village.name)
        );
    }
    svg += "</svg>";
    svg
}

/// Every version of every village, the superseded ones included.
fn versions(month: &DistrictMonth) -> String {
    let mut html = String::from(
        "<h2>versions 版本</h2><table id=\"versions\"><thead><tr><th>village</th><th>version</th><th>status</th><th>record</th><th>supersedes</th></tr></thead><tbody>",
    );
    for v in &month.villages {
        let current = v.current.iter().map(|c| (c, "current"));
        let older = v.superseded.iter().map(|c| (c, "superseded"));
        for (c, status) in current.chain(older) {
            html += &format!(
                "<tr class=\"{status}\"><td>{}</td><td>{}</td><td>{status}</td><td>{}</td><td>{}</td></tr>",
                escape(&v.village.name),
                c.version,
                c.record_id,
                c.supersedes.map(|id| id.to_string()).unwrap_or_default()
            );
        }
    }
    html += "</tbody></table>";
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_certificates_is_escaped() {
        assert_eq!(escape("<b>\"镇\"&'"), "&lt;b&gt;&quot;镇&quot;&amp;&#39;");
        let month = DistrictMonth::assemble("2026-11", "<script>", &[], &[]);
        let page = render(&month);
        assert!(!page.contains("<script>"));
        assert!(page.contains("0 / 0 villages"));
    }
}

//! The status page for people: the flow matrix, shaped like the STIG table.

use super::FlowView;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn render(flows: &[FlowView], origin: &str, ready: bool) -> String {
    let mut rows = String::new();
    for f in flows {
        let (status, class, reason, detail) = match &f.last {
            None => ("PENDING", "pending", "pending".to_string(), String::new()),
            Some(r) if r.up => ("UP", "up", r.reason.to_string(), r.detail.clone()),
            Some(r) => ("DOWN", "down", r.reason.to_string(), r.detail.clone()),
        };
        rows.push_str(&format!(
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}:{}</td><td>{}</td><td>{}</td><td>{}</td><td><b>{status}</b></td><td>{}</td><td>{}</td></tr>\n",
            esc(&f.vantage),
            esc(&f.name),
            esc(&f.host),
            f.port,
            f.check,
            f.expect,
            f.severity,
            esc(&reason),
            esc(&detail),
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>flowprobe</title>\
<style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px}}\
tr.up td{{background:#e6ffe6}}tr.down td{{background:#ffe6e6}}tr.pending td{{background:#f4f4f4}}</style></head>\
<body><h1>flowprobe</h1><p>Configuration: {}; {}. <a href=\"/metrics\">metrics</a> · <a href=\"/api/v1/flows\">API</a></p>\
<table><tr><th>vantage</th><th>flow</th><th>target</th><th>check</th><th>expect</th><th>severity</th><th>status</th><th>reason</th><th>detail</th></tr>\n{rows}</table></body></html>\n",
        esc(origin),
        if ready {
            "ready"
        } else {
            "first round running"
        },
    )
}

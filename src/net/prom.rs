//! Reading the fleet's last results from a central Prometheus-compatible
//! store (Prometheus, Thanos, Mimir, VictoriaMetrics: anything that serves
//! `GET /api/v1/query`) that the sites' agents remote-write to: the core of
//! `flowprobe check --fleet` with `[fleet.prometheus]`.
//!
//! A few instant queries (definition, state, reason, last probe time,
//! duration, interval), each answer read through [`Client::fetch`] (one
//! timeout, [`MAX_BODY`](super::remote::MAX_BODY)) and parsed into typed
//! structs; the series are joined per (site, instance, vantage, flow).
//! The store is not trusted more than an instance: a malformed or hostile
//! answer is one [`RemoteError`], every label kept is bounded and stripped
//! of control characters.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::remote::{Client, RemoteError, bounded, percent_encode};

/// Longest label value kept (flow, vantage, host, site, instance, reason).
const MAX_LABEL: usize = 256;

/// The queries, one per fact of a row. Each returns one series per flow
/// and instance (per site, with the agents' external label).
const INFO: &str = "flowprobe_flow_info";
const UP: &str = "flowprobe_flow_up";
const REASON: &str = "flowprobe_flow_reason == 1";
const LAST: &str = "flowprobe_probe_last_timestamp_seconds";
const TOTAL: &str = "flowprobe_probe_duration_seconds{phase=\"total\"}";
const INTERVAL: &str = "flowprobe_flow_interval_seconds";

/// One series of an instant vector: its labels, the evaluation time and
/// the value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    pub labels: BTreeMap<String, String>,
    /// Unix seconds: the store's evaluation time of the query.
    pub at: f64,
    pub value: f64,
}

/// What the store knows of one flow probed by one instance at one site.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoreFlow {
    /// The `site` label; `None` when the series have none (a Prometheus
    /// that scrapes the instances itself).
    pub site: Option<String>,
    pub instance: String,
    pub vantage: String,
    pub name: String,
    pub from: String,
    pub to: String,
    pub host: String,
    pub port: u16,
    pub check: String,
    pub expect: String,
    pub severity: String,
    /// `flowprobe_flow_up`; `None` when the store has no such series.
    pub up: Option<bool>,
    /// The reason whose `flowprobe_flow_reason` is 1 (`pending` before the
    /// first probe).
    pub reason: Option<String>,
    /// When the last probe started (Unix seconds); `None`: never probed.
    pub started: Option<f64>,
    pub total_seconds: Option<f64>,
    pub interval_seconds: Option<f64>,
    /// The store's evaluation time (Unix seconds): ages are measured
    /// against it, not against this host's clock.
    pub at: f64,
}

/// The identity of a row: series that differ only in other labels (`job`,
/// a replica label of an HA pair of agents) are one row.
type Key = (Option<String>, String, String, String);

/// The answers to the queries, one vector each.
#[derive(Debug, Default)]
pub(crate) struct Answers {
    pub info: Vec<Sample>,
    pub up: Vec<Sample>,
    pub reason: Vec<Sample>,
    pub last: Vec<Sample>,
    pub total: Vec<Sample>,
    pub interval: Vec<Sample>,
}

/// Ask the store, all queries at once, the whole within `timeout`.
pub(crate) async fn read(
    client: &Client,
    timeout: Duration,
) -> Result<Vec<StoreFlow>, RemoteError> {
    let ask = |q: &'static str| async move {
        let path = format!("/api/v1/query?query={}", percent_encode(q));
        let body = client.fetch(hyper::Method::GET, &path, timeout).await?;
        parse_vector(&body)
    };
    let work = async {
        let (info, up, reason, last, total, interval) = tokio::try_join!(
            ask(INFO),
            ask(UP),
            ask(REASON),
            ask(LAST),
            ask(TOTAL),
            ask(INTERVAL)
        )?;
        assemble(Answers {
            info,
            up,
            reason,
            last,
            total,
            interval,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or(Err(RemoteError::Timeout(timeout)))
}

/// The API's envelope (`status`, `data` or `errorType`/`error`).
#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    metric: BTreeMap<String, String>,
    /// `[unix seconds, "value"]`: the value is a string, so `NaN` and
    /// `+Inf` survive JSON.
    value: (f64, String),
}

/// One instant query's answer: an instant vector, every label bounded; an
/// error answer, another result type or a non-finite time is malformed.
pub(crate) fn parse_vector(body: &[u8]) -> Result<Vec<Sample>, RemoteError> {
    let e: Envelope = serde_json::from_slice(body)
        .map_err(|e| RemoteError::Malformed(bounded(&e.to_string(), 512)))?;
    if e.status != "success" {
        return Err(RemoteError::Malformed(bounded(
            &format!(
                "the store answered {}: {}",
                e.error_type.as_deref().unwrap_or("an error"),
                e.error.as_deref().unwrap_or("(no reason)")
            ),
            512,
        )));
    }
    let Some(data) = e.data else {
        return Err(RemoteError::Malformed("a success without data".into()));
    };
    if data.result_type != "vector" {
        return Err(RemoteError::Malformed(bounded(
            &format!("a {} where an instant vector was due", data.result_type),
            64,
        )));
    }
    data.result
        .into_iter()
        .map(|s| {
            let (at, value) = s.value;
            if !at.is_finite() || at < 0.0 {
                return Err(RemoteError::Malformed("a sample time out of range".into()));
            }
            let labels = s
                .metric
                .into_iter()
                .map(|(k, v)| (bounded(&k, MAX_LABEL), bounded(&v, MAX_LABEL)))
                .collect();
            Ok(Sample {
                labels,
                at,
                // Unparsable values count as unknown, like NaN.
                value: value.trim().parse().unwrap_or(f64::NAN),
            })
        })
        .collect()
}

fn label<'a>(s: &'a Sample, name: &str) -> Option<&'a str> {
    s.labels.get(name).map(String::as_str)
}

fn key(s: &Sample) -> Option<Key> {
    let site = label(s, "site").filter(|v| !v.is_empty()).map(String::from);
    Some((
        site,
        label(s, "instance").unwrap_or_default().to_string(),
        label(s, "vantage")?.to_string(),
        label(s, "flow")?.to_string(),
    ))
}

/// The first finite value per key (a second series of the same key, from
/// another job or replica, adds nothing).
fn values(samples: &[Sample]) -> BTreeMap<Key, &Sample> {
    let mut out = BTreeMap::new();
    for s in samples.iter().filter(|s| s.value.is_finite()) {
        if let Some(k) = key(s) {
            out.entry(k).or_insert(s);
        }
    }
    out
}

/// Join the answers into rows: one per `flowprobe_flow_info` series (a
/// configured flow), its state from the others.
pub(crate) fn assemble(a: Answers) -> Result<Vec<StoreFlow>, RemoteError> {
    let up = values(&a.up);
    let reason = values(&a.reason);
    let last = values(&a.last);
    let total = values(&a.total);
    let interval = values(&a.interval);
    let mut rows: BTreeMap<Key, StoreFlow> = BTreeMap::new();
    for s in &a.info {
        let Some(k) = key(s) else {
            return Err(RemoteError::Malformed(
                "a flowprobe_flow_info series without vantage or flow".into(),
            ));
        };
        if rows.contains_key(&k) {
            continue;
        }
        let text = |name: &str| label(s, name).unwrap_or_default().to_string();
        let port = label(s, "port")
            .and_then(|p| p.parse::<u16>().ok())
            .filter(|p| *p != 0)
            .ok_or_else(|| {
                RemoteError::Malformed(format!(
                    "flowprobe_flow_info of flow {} has no valid port",
                    k.3
                ))
            })?;
        let flow = StoreFlow {
            site: k.0.clone(),
            instance: k.1.clone(),
            vantage: k.2.clone(),
            name: k.3.clone(),
            from: text("from"),
            to: text("to"),
            host: text("host"),
            port,
            check: text("check"),
            expect: text("expect"),
            severity: text("severity"),
            up: up.get(&k).map(|s| s.value == 1.0),
            reason: reason
                .get(&k)
                .and_then(|s| label(s, "reason"))
                .map(String::from),
            started: last.get(&k).map(|s| s.value).filter(|t| *t > 0.0),
            total_seconds: total.get(&k).map(|s| s.value).filter(|t| *t >= 0.0),
            interval_seconds: interval.get(&k).map(|s| s.value).filter(|t| *t > 0.0),
            at: s.at,
        };
        rows.insert(k, flow);
    }
    Ok(rows.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(series: &[(&str, f64, &str)]) -> String {
        let result: Vec<String> = series
            .iter()
            .map(|(labels, at, v)| format!(r#"{{"metric":{{{labels}}},"value":[{at},"{v}"]}}"#))
            .collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{}]}}}}"#,
            result.join(",")
        )
    }

    const EAST: &str = r#""site":"east","instance":"127.0.0.1:9725","job":"flowprobe","vantage":"branch","flow":"app""#;

    #[test]
    fn parses_an_instant_vector() {
        let v = parse_vector(vector(&[(EAST, 1700000000.5, "1")]).as_bytes()).expect("parses");
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].at, 1700000000.5);
        assert_eq!(v[0].value, 1.0);
        assert_eq!(v[0].labels["site"], "east");
        let nan = parse_vector(vector(&[(EAST, 1.0, "NaN")]).as_bytes()).expect("parses");
        assert!(nan[0].value.is_nan());
    }

    #[test]
    fn hostile_or_malformed_answers_are_errors() {
        for bad in [
            "<html>",
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
            r#"{"status":"success"}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["x","1"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[-5,"1"]}]}}"#,
        ] {
            assert!(
                matches!(parse_vector(bad.as_bytes()), Err(RemoteError::Malformed(_))),
                "{bad}"
            );
        }
        let e = parse_vector(br#"{"status":"error","errorType":"bad_data","error":"x"}"#)
            .expect_err("error");
        assert!(e.to_string().contains("bad_data"), "{e}");
    }

    #[test]
    fn labels_are_bounded_and_stripped() {
        let long = "x".repeat(10_000);
        let body = vector(&[(
            &format!(r#""vantage":"a\u001b[2J","flow":"{long}""#),
            1.0,
            "1",
        )]);
        let v = parse_vector(body.as_bytes()).expect("parses");
        assert_eq!(v[0].labels["vantage"], "a [2J");
        assert!(v[0].labels["flow"].chars().count() <= MAX_LABEL + 1);
    }

    fn sample(labels: &str, value: f64) -> Sample {
        let body = vector(&[(labels, 100.0, &value.to_string())]);
        parse_vector(body.as_bytes()).expect("sample").remove(0)
    }

    #[test]
    fn rows_join_per_site_instance_vantage_and_flow() {
        let info = |site: &str| {
            sample(
                &format!(
                    r#""site":"{site}","instance":"127.0.0.1:9725","job":"flowprobe","vantage":"branch","flow":"app","from":"branch","to":"gw","target":"gw","host":"10.0.0.1","port":"443","check":"tcp","expect":"open","severity":"critical""#
                ),
                1.0,
            )
        };
        let west = EAST.replace("east", "west");
        let rows = assemble(Answers {
            info: vec![info("east"), info("west"), info("east")],
            up: vec![sample(EAST, 0.0), sample(&west, 1.0)],
            reason: vec![sample(&format!(r#"{EAST},"reason":"refused""#), 1.0)],
            last: vec![sample(EAST, 95.0)],
            total: vec![sample(EAST, 0.002)],
            interval: vec![sample(EAST, 1.0)],
        })
        .expect("rows");
        assert_eq!(rows.len(), 2, "a duplicate info series is one row");
        let east = &rows[0];
        assert_eq!(east.site.as_deref(), Some("east"));
        assert_eq!(east.up, Some(false));
        assert_eq!(east.reason.as_deref(), Some("refused"));
        assert_eq!(east.started, Some(95.0));
        assert_eq!(east.port, 443);
        assert_eq!(east.at, 100.0);
        let west = &rows[1];
        assert_eq!(west.up, Some(true));
        assert_eq!(west.started, None, "never probed");
        assert_eq!(west.reason, None);
    }

    #[test]
    fn a_flow_info_without_identity_or_port_is_malformed() {
        for labels in [
            r#""vantage":"v""#,
            r#""vantage":"v","flow":"f","port":"0""#,
            r#""vantage":"v","flow":"f","port":"x""#,
        ] {
            let a = Answers {
                info: vec![sample(labels, 1.0)],
                ..Answers::default()
            };
            assert!(
                matches!(assemble(a), Err(RemoteError::Malformed(_))),
                "{labels}"
            );
        }
    }
}

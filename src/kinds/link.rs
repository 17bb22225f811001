//! Linking flows once every flow is validated: a flow that reads another
//! flow's captured chain (`crl`, `ocsp`) must name an enabled flow that
//! captures chains (`tls`), and inherits its trust stores unless it sets
//! its own. Kinds take part through `Kind::chain_source` and
//! `Kind::captures_chains`.

use crate::config::Collector;

/// Check every `from_flow` and hand down the source's trust stores.
pub(crate) fn link(
    flows: &mut [crate::config::Flow],
    named: &std::collections::BTreeSet<String>,
    disabled: &std::collections::BTreeSet<String>,
    errs: &mut Collector,
) {
    let sources: std::collections::BTreeMap<String, Vec<String>> = flows
        .iter()
        .filter(|f| f.check.captures_chains())
        .map(|f| {
            let trust = f.check.trust().map(<[String]>::to_vec).unwrap_or_default();
            (f.name.clone(), trust)
        })
        .collect();
    // A set: a ring of 50k CRL flows naming each other stays linear.
    let valid: std::collections::BTreeSet<String> = flows.iter().map(|f| f.name.clone()).collect();
    for f in flows.iter_mut() {
        let table = f.check.kind().as_str();
        let Some(source) = f.check.chain_source() else {
            continue;
        };
        let Some(src) = source.from_flow else {
            continue;
        };
        let key = format!("flow[{}].{table}.from_flow", f.name);
        if let Some(trust) = sources.get(&src) {
            if !source.trust_set {
                *source.trust = trust.clone();
            }
        } else if valid.contains(&src) {
            errs.push(
                key,
                format!(
                    "flow {src:?} is not a check = \"tls\" flow: only TLS flows capture chains"
                ),
            );
        } else if disabled.contains(&src) {
            errs.push(
                key,
                format!("flow {src:?} is disabled: enable it or remove from_flow"),
            );
        } else if !named.contains(&src) {
            errs.push(key, format!("no flow named {src:?}"));
        }
        // Otherwise the source flow is invalid and its own errors say why.
    }
}

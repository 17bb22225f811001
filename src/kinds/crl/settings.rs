//! `crl = { ... }` on a flow: where the CRLs come from and how they are
//! judged.

use std::time::Duration;

use crate::config::Collector;
use crate::config::Target;
use crate::config::validate::{FlowCtx, Keys, check_table};
use crate::kinds::http::settings::{DEFAULT_MAX_BODY, DEFAULT_MAX_REDIRECTS};

const KEYS: [&str; 7] = [
    "urls",
    "from_flow",
    "rewrite",
    "stale_margin",
    "max_size",
    "max_redirects",
    "trust",
];

pub(crate) const DEFAULT_STALE_MARGIN: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq)]
pub struct CrlSpec {
    /// Configured `http://` URLs, fetched as written.
    pub urls: Vec<String>,
    /// A `tls` flow whose last captured chain gives CRL Distribution
    /// Points and issuer certificates.
    pub from_flow: Option<String>,
    /// Discovered URLs go to this flow's target and port, keeping the path.
    pub rewrite: bool,
    /// A CRL whose nextUpdate is closer than this is stale already.
    pub stale_margin: Duration,
    pub max_size: u64,
    pub max_redirects: u32,
    /// Trust stores whose anchors may have signed a CRL (the top CA's CRL is
    /// signed by an anchor the server does not send). Default: the
    /// `from_flow`'s `tls.trust`; none without `from_flow`.
    pub trust: Vec<String>,
    /// Whether `trust` was written (otherwise it is inherited).
    pub trust_set: bool,
    /// The table as written (after catalog merge), for `config show`.
    pub table: toml::Table,
}

impl CrlSpec {
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<CrlSpec> {
        let key = format!("{key}.crl");
        let table = check_table(
            value,
            &key,
            "crl = { from_flow = \"mobile-mdm-https\" }",
            errs,
        )?;
        let before = errs.errors.len();
        let k = Keys {
            table: &table,
            key: key.clone(),
        };
        k.only(&KEYS, errs);
        let urls = k.strings("urls", errs).unwrap_or_default();
        for (i, u) in urls.iter().enumerate() {
            if let Err(e) = Target::parse(u) {
                errs.push(format!("{key}.urls[{i}]"), e);
            }
        }
        let from_flow = k.string("from_flow", errs);
        if urls.is_empty() && from_flow.is_none() {
            errs.push(
                &key,
                "needs urls = [\"http://...\"] or from_flow = \"<a tls flow>\" (or both)",
            );
        }
        let rewrite = k.bool("rewrite", errs).unwrap_or(true);
        let stale_margin = k
            .duration("stale_margin", errs)
            .unwrap_or(DEFAULT_STALE_MARGIN);
        let max_size = k.size("max_size", errs).unwrap_or(DEFAULT_MAX_BODY);
        let max_redirects = k
            .uint("max_redirects", 20, errs)
            .map_or(DEFAULT_MAX_REDIRECTS, |n| n as u32);
        let trust = k.strings("trust", errs);
        if let Some(names) = &trust {
            crate::kinds::tls::settings::check_store_names(
                names,
                &format!("{key}.trust"),
                ctx,
                errs,
            );
        }
        if errs.errors.len() != before {
            return None;
        }
        Some(CrlSpec {
            urls,
            from_flow,
            rewrite,
            stale_margin,
            max_size,
            max_redirects,
            trust_set: trust.is_some(),
            trust: trust.unwrap_or_default(),
            table,
        })
    }
}

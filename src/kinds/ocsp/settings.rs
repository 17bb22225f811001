//! `ocsp = { ... }` on a flow: which certificates are asked about (those of
//! another TLS flow's last chain) and where the responders are.

use crate::config::Collector;
use crate::config::Target;
use crate::config::validate::{FlowCtx, Keys, check_table};

const KEYS: [&str; 6] = [
    "urls",
    "from_flow",
    "rewrite",
    "max_size",
    "max_redirects",
    "trust",
];

/// OCSP responses are a few kilobytes (DoD's, with the responder
/// certificate, about 2 KiB); anything much larger is not one.
pub(crate) const DEFAULT_MAX_SIZE: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub struct OcspSpec {
    /// Responder `http://` URLs asked instead of the certificates' own
    /// (Authority Information Access), fetched as written.
    pub urls: Vec<String>,
    /// The `tls` flow whose last captured chain gives the certificates,
    /// their issuers and their responders.
    pub from_flow: String,
    /// Discovered responder URLs go to this flow's target and port,
    /// keeping the path.
    pub rewrite: bool,
    pub max_size: u64,
    pub max_redirects: u32,
    /// Trust stores whose anchors may have issued the top sent certificate.
    /// Default: the `from_flow`'s `tls.trust`.
    pub trust: Vec<String>,
    /// Whether `trust` was written (otherwise it is inherited).
    pub trust_set: bool,
    /// The table as written (after catalog merge), for `config show`.
    pub table: toml::Table,
}

impl OcspSpec {
    pub(crate) fn validate(
        value: Option<&toml::Value>,
        key: &str,
        ctx: &FlowCtx,
        errs: &mut Collector,
    ) -> Option<OcspSpec> {
        let key = format!("{key}.ocsp");
        let table = check_table(
            value,
            &key,
            "ocsp = { from_flow = \"mobile-mdm-https\" }",
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
        if from_flow.is_none() && table.get("from_flow").is_none() {
            errs.push(
                format!("{key}.from_flow"),
                "required: the tls flow whose chain is checked, e.g. from_flow = \"mobile-mdm-https\"",
            );
        }
        let rewrite = k.bool("rewrite", errs).unwrap_or(true);
        let max_size = k.size("max_size", errs).unwrap_or(DEFAULT_MAX_SIZE);
        let max_redirects = k
            .uint("max_redirects", 20, errs)
            .map_or(crate::kinds::http::settings::DEFAULT_MAX_REDIRECTS, |n| {
                n as u32
            });
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
        Some(OcspSpec {
            urls,
            from_flow: from_flow?,
            rewrite,
            max_size,
            max_redirects,
            trust_set: trust.is_some(),
            trust: trust.unwrap_or_default(),
            table,
        })
    }
}

//! DNS through hickory-resolver: the vantage's own servers or the system's.
//!
//! The cache is kept tiny and short-lived on purpose: a prober that answers
//! from cache would keep reporting a name that the network can no longer
//! resolve.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::RecordType;

use super::dns_socket::{self, ConnectedUdp};
use crate::config::{IpFamily, Vantage};
use crate::outcome::Reason;

/// Why a lookup failed. Serialized as a probe's `cause` (`{"stage":
/// "dns", "error": "no_address", "name": "...", "family": "IPv6"}`).
#[derive(Debug, Clone, thiserror::Error, serde::Serialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum DnsError {
    #[error("{name}: no such domain (NXDOMAIN)")]
    NxDomain { name: String },
    #[error("{name}: no {family} address")]
    NoAddress { name: String, family: &'static str },
    #[error("{name}: lookup timed out")]
    Timeout { name: String },
    /// Every server refused (ICMP port-unreachable on UDP, a refused TCP
    /// connection) or has no route: known at once, no timeout waited.
    #[error("{name}: server unreachable ({detail})")]
    Unreachable { name: String, detail: String },
    /// The server answered with an error code (SERVFAIL: its upstream
    /// failed; REFUSED: it will not resolve for this vantage). The code is
    /// kept, since the two call for different fixes.
    #[error("{name}: server answered {code}")]
    Answered {
        name: String,
        /// Serialized as its number (2 SERVFAIL, 5 REFUSED).
        #[serde(serialize_with = "rcode_number")]
        code: hickory_resolver::proto::op::ResponseCode,
    },
    #[error("{name}: {detail}")]
    Other { name: String, detail: String },
    #[error("resolver setup: {detail}")]
    Setup { detail: String },
}

fn rcode_number<S: serde::Serializer>(
    code: &hickory_resolver::proto::op::ResponseCode,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_u16(u16::from(*code))
}

impl DnsError {
    pub fn reason(&self) -> Reason {
        match self {
            DnsError::NxDomain { .. } => Reason::DnsNxdomain,
            DnsError::Timeout { .. } => Reason::DnsTimeout,
            _ => Reason::DnsError,
        }
    }
}

/// A vantage's view of DNS.
#[derive(Clone)]
pub struct Resolver {
    inner: hickory_resolver::Resolver<ConnectedUdp>,
}

impl Resolver {
    /// Build the resolver for a vantage: its `dns_servers` (queried from its
    /// source address) or, without them, the system configuration.
    pub(crate) fn for_vantage(v: &Vantage) -> Result<Self, DnsError> {
        let provider = ConnectedUdp::default();
        let mut builder = if v.dns_servers.is_empty() {
            hickory_resolver::Resolver::builder(provider).map_err(|e| DnsError::Setup {
                detail: e.to_string(),
            })?
        } else {
            let servers = v
                .dns_servers
                .iter()
                .map(|s| name_server(*s, v.source_address))
                .collect();
            hickory_resolver::Resolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                provider,
            )
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = Duration::from_secs(2);
        opts.attempts = 2;
        opts.cache_size = 64;
        opts.positive_max_ttl = Some(Duration::from_secs(5));
        opts.negative_max_ttl = Some(Duration::from_secs(1));
        let inner = builder.build().map_err(|e| DnsError::Setup {
            detail: e.to_string(),
        })?;
        Ok(Resolver { inner })
    }

    /// Addresses to probe for `name` under `family`: one of each family for
    /// `Both`, otherwise one.
    pub(crate) async fn resolve(
        &self,
        name: &str,
        family: IpFamily,
    ) -> Result<Vec<IpAddr>, DnsError> {
        // Fully qualified: no search-list expansion, one query per family.
        let fqdn = if name.ends_with('.') {
            name.to_string()
        } else if name.contains('.') {
            format!("{name}.")
        } else {
            name.to_string()
        };
        match family {
            IpFamily::Ipv4 => self
                .first(&fqdn, name, RecordType::A)
                .await
                .map(|a| vec![a]),
            IpFamily::Ipv6 => self
                .first(&fqdn, name, RecordType::AAAA)
                .await
                .map(|a| vec![a]),
            IpFamily::Both => {
                let (a, aaaa) = tokio::join!(
                    self.first(&fqdn, name, RecordType::A),
                    self.first(&fqdn, name, RecordType::AAAA)
                );
                match (a, aaaa) {
                    (Ok(a), Ok(b)) => Ok(vec![a, b]),
                    // Both were asked for: a missing family is a finding.
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            }
            IpFamily::PreferIpv4 | IpFamily::PreferIpv6 => {
                let (first, second) = if family == IpFamily::PreferIpv4 {
                    (RecordType::A, RecordType::AAAA)
                } else {
                    (RecordType::AAAA, RecordType::A)
                };
                match self.first(&fqdn, name, first).await {
                    Ok(a) => Ok(vec![a]),
                    Err(DnsError::NoAddress { .. }) => {
                        self.first(&fqdn, name, second).await.map(|a| vec![a])
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    async fn first(&self, fqdn: &str, name: &str, rt: RecordType) -> Result<IpAddr, DnsError> {
        let family = if rt == RecordType::A { "IPv4" } else { "IPv6" };
        match self.inner.lookup(fqdn, rt).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .find_map(|r| r.data.ip_addr())
                .ok_or(DnsError::NoAddress {
                    name: name.to_string(),
                    family,
                }),
            Err(e) if e.is_nx_domain() => Err(DnsError::NxDomain {
                name: name.to_string(),
            }),
            Err(NetError::Timeout) => Err(DnsError::Timeout {
                name: name.to_string(),
            }),
            Err(e) if e.is_no_records_found() => Err(DnsError::NoAddress {
                name: name.to_string(),
                family,
            }),
            // Every server refused or has no route: hickory reports the
            // I/O error, or, once the failed servers are out of its pool
            // on a retry, that no connection is left.
            Err(e @ (NetError::Io(_) | NetError::NoConnections))
                if dns_socket::is_unreachable(&e) =>
            {
                Err(DnsError::Unreachable {
                    name: name.to_string(),
                    detail: e.to_string(),
                })
            }
            Err(NetError::Dns(hickory_resolver::net::DnsError::ResponseCode(code))) => {
                Err(DnsError::Answered {
                    name: name.to_string(),
                    code,
                })
            }
            Err(e) => Err(DnsError::Other {
                name: name.to_string(),
                detail: e.to_string(),
            }),
        }
    }
}

fn name_server(addr: SocketAddr, source: Option<IpAddr>) -> NameServerConfig {
    let mut conns = Vec::new();
    for mut c in [ConnectionConfig::udp(), ConnectionConfig::tcp()] {
        c.port = addr.port();
        c.bind_addr = source.map(|ip| SocketAddr::new(ip, 0));
        conns.push(c);
    }
    NameServerConfig::new(addr.ip(), true, conns)
}

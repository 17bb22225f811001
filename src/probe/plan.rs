//! The plan of a run, shared by the daemon and `flowprobe check`: every
//! vantage's network identity, every active flow prepared once, and the
//! file-descriptor budget that bounds how many probes run at once.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::Config;
use crate::net::dns::Resolver;
use crate::net::fds::{self, Budget};
use crate::probe::board::ChainBoard;
use crate::probe::{Prepared, VantageNet};

/// Build every selected vantage's network identity.
pub fn build_nets(c: &Config) -> Result<Nets, Vec<String>> {
    let mut nets = BTreeMap::new();
    let mut errors = Vec::new();
    for name in &c.vantages {
        let vantage = c.vantage(name);
        match Resolver::for_vantage(&vantage) {
            Ok(resolver) => {
                nets.insert(name.clone(), Arc::new(VantageNet { vantage, resolver }));
            }
            Err(e) => errors.push(format!("vantage.{name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(nets)
    } else {
        Err(errors)
    }
}

/// Prepare every active flow once (checks build their clients here).
pub fn prepare(c: &Config) -> Result<Vec<Arc<Prepared>>, Vec<String>> {
    prepare_with(c, ChainBoard::new())
}

/// Prepare every active flow around one chain board (the daemon keeps one
/// for its lifetime, so reloads keep TLS and CRL flows connected).
pub(crate) fn prepare_with(
    c: &Config,
    board: Arc<ChainBoard>,
) -> Result<Vec<Arc<Prepared>>, Vec<String>> {
    let wanted: Vec<String> = c
        .active_flows()
        .filter_map(|f| f.check.trust().map(<[String]>::to_vec))
        .flatten()
        .collect();
    let stores = crate::probe::load_stores(&c.trust, &wanted)?;
    let mut flows = Vec::new();
    let mut errors = Vec::new();
    for f in c.active_flows() {
        match Prepared::with_board(f.clone(), &stores, Arc::clone(&board)) {
            Ok(p) => flows.push(Arc::new(p)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(flows)
    } else {
        Err(errors)
    }
}

/// Vantage networks by name.
pub(crate) type Nets = BTreeMap<String, Arc<VantageNet>>;

/// Raise the soft descriptor limit to the hard one and cut the probes'
/// share from it (see `net::fds`), saying what was done.
pub(crate) fn descriptor_budget() -> Budget {
    let (limits, err) = fds::raise_nofile();
    if let Some(e) = err {
        tracing::warn!(soft = limits.soft, hard = limits.hard, error = %e,
            "cannot raise the soft RLIMIT_NOFILE to the hard limit; probes share the soft limit (set LimitNOFILE= in the unit)");
    }
    let budget = Budget::of_process(&limits);
    tracing::info!(
        soft = limits.soft,
        hard = limits.hard,
        raised_from = ?limits.raised_from,
        open = budget.open,
        reserved = budget.reserved,
        probes = budget.probes,
        "file-descriptor budget"
    );
    if budget.open > budget.soft / 2 {
        // Seen in CI: a runner that leaks descriptors into its children.
        tracing::warn!(
            open = budget.open,
            soft = budget.soft,
            probes = budget.probes,
            "more than half the descriptor limit is open at start (inherited from the parent process?); probes get what is left"
        );
    }
    budget
}

/// The probes-in-flight limit for a configuration, under the budget.
pub(crate) fn in_flight_limit(budget: &Budget, configured: Option<usize>) -> usize {
    let limit = budget.max_in_flight(configured);
    if let Some(c) = configured
        && c > limit
    {
        tracing::warn!(
            configured = c,
            budget = budget.probes,
            soft_limit = budget.soft,
            "defaults.max_in_flight is above the file-descriptor budget; using the budget (raise LimitNOFILE to allow more)"
        );
    }
    limit
}

//! Certificate-policy processing of RFC 5280 6.1.3 (d)-(f), 6.1.4 (a)-(b)
//! and 6.1.5 (g) on the policy graph of RFC 9618.
//!
//! RFC 5280's `valid_policy_tree` copies a policy once per path from the
//! root, so policy mappings make it grow exponentially with the chain
//! (CVE-2023-0464). RFC 9618 keeps one node per (depth, policy) with a set
//! of parents; the set of valid policies, and so every verdict, is the
//! same, and the graph is linear in the size of the policy extensions. The
//! extensions themselves are capped by the caller ([`MAX_POLICIES`]).

use std::collections::BTreeSet;

/// `anyPolicy` (RFC 5280 4.2.1.4).
pub const ANY_POLICY: &str = "2.5.29.32.0";

/// Policies or mappings one certificate may carry before the path is
/// refused as too costly to judge; real Federal PKI cross-certificates
/// carry a few dozen.
pub const MAX_POLICIES: usize = 256;

#[derive(Debug, Clone)]
struct Node {
    policy: String,
    expected: BTreeSet<String>,
    /// Indices into the level above.
    parents: BTreeSet<usize>,
}

/// The graph, level by level: level 0 is the anchor's `anyPolicy` root,
/// level `d` the nodes of the `d`-th certificate below the anchor.
#[derive(Debug, Clone)]
pub(crate) struct PolicyGraph {
    levels: Vec<Vec<Node>>,
}

/// One policy that survived the whole path: as the anchor's domain names it
/// (what `initial_policies` are written in) and as the leaf asserts it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct QualifiedPolicy {
    pub authority: String,
    pub leaf: String,
}

impl PolicyGraph {
    pub(super) fn new() -> Self {
        PolicyGraph {
            levels: vec![vec![Node {
                policy: ANY_POLICY.to_owned(),
                expected: BTreeSet::from([ANY_POLICY.to_owned()]),
                parents: BTreeSet::new(),
            }]],
        }
    }

    fn depth(&self) -> usize {
        self.levels.len() - 1
    }

    fn find(level: &[Node], policy: &str) -> Option<usize> {
        level.iter().position(|n| n.policy == policy)
    }

    /// The policies the deepest level expects a child to assert: what the
    /// certificate just processed may be judged against in explanations.
    pub(crate) fn expected(&self) -> BTreeSet<String> {
        self.levels
            .last()
            .map(|l| l.iter().flat_map(|n| n.expected.iter().cloned()).collect())
            .unwrap_or_default()
    }

    /// RFC 5280 6.1.3 (d): adds the level of a certificate asserting
    /// `policies`; `any_allowed` is whether its `anyPolicy` may be used
    /// (inhibit_anyPolicy > 0, or a self-issued intermediate). Returns
    /// `false` when the graph became NULL.
    pub(crate) fn add_certificate(&mut self, policies: &[String], any_allowed: bool) -> bool {
        let above = self.levels.last().cloned().unwrap_or_default();
        let any_above = Self::find(&above, ANY_POLICY);
        let mut level: Vec<Node> = Vec::new();
        for policy in policies.iter().filter(|p| p.as_str() != ANY_POLICY) {
            if Self::find(&level, policy).is_some() {
                continue;
            }
            let parents: BTreeSet<usize> = above
                .iter()
                .enumerate()
                .filter(|(_, n)| n.expected.contains(policy))
                .map(|(i, _)| i)
                .collect();
            let parents = match (parents.is_empty(), any_above) {
                (false, _) => parents,
                (true, Some(any)) => BTreeSet::from([any]),
                (true, None) => continue,
            };
            level.push(Node {
                policy: policy.clone(),
                expected: BTreeSet::from([policy.clone()]),
                parents,
            });
        }
        if any_allowed && policies.iter().any(|p| p == ANY_POLICY) {
            // (d)(2): every expected policy above without a child yet gets
            // one, and anyPolicy continues under anyPolicy.
            let wanted: BTreeSet<String> = above
                .iter()
                .flat_map(|n| n.expected.iter().cloned())
                .collect();
            for policy in wanted {
                if Self::find(&level, &policy).is_some() {
                    continue;
                }
                let parents: BTreeSet<usize> = above
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.expected.contains(&policy))
                    .map(|(i, _)| i)
                    .collect();
                level.push(Node {
                    expected: BTreeSet::from([policy.clone()]),
                    policy,
                    parents,
                });
            }
        }
        self.levels.push(level);
        self.prune()
    }

    /// RFC 5280 6.1.4 (b): applies `mappings` (issuer-domain, subject-domain
    /// pairs, anyPolicy already refused) at the deepest level, or deletes
    /// the mapped policies when mapping is inhibited. Returns `false` when
    /// the graph became NULL.
    pub(crate) fn map(&mut self, mappings: &[(String, String)], mapping_allowed: bool) -> bool {
        let issuer_policies: BTreeSet<&String> = mappings.iter().map(|(i, _)| i).collect();
        let depth = self.depth();
        if depth == 0 {
            return true;
        }
        if !mapping_allowed {
            self.levels[depth].retain(|n| !issuer_policies.contains(&n.policy));
            return self.prune();
        }
        let any_parents = Self::find(&self.levels[depth], ANY_POLICY)
            .map(|i| self.levels[depth][i].parents.clone());
        for issuer in issuer_policies {
            let mapped: BTreeSet<String> = mappings
                .iter()
                .filter(|(i, _)| i == issuer)
                .map(|(_, s)| s.clone())
                .collect();
            match Self::find(&self.levels[depth], issuer) {
                Some(i) => self.levels[depth][i].expected = mapped,
                None => {
                    if let Some(parents) = &any_parents {
                        self.levels[depth].push(Node {
                            policy: issuer.clone(),
                            expected: mapped,
                            parents: parents.clone(),
                        });
                    }
                }
            }
        }
        true
    }

    /// Deletes, bottom up, every node above the deepest level without a
    /// child; `false` when the deepest level is empty (the NULL graph).
    fn prune(&mut self) -> bool {
        for d in (1..self.levels.len()).rev() {
            let used: BTreeSet<usize> = self.levels[d]
                .iter()
                .flat_map(|n| n.parents.iter().copied())
                .collect();
            let above = &self.levels[d - 1];
            let keep: Vec<bool> = (0..above.len()).map(|i| used.contains(&i)).collect();
            let renumber: Vec<Option<usize>> = keep
                .iter()
                .scan(0usize, |next, k| {
                    Some(k.then(|| {
                        *next += 1;
                        *next - 1
                    }))
                })
                .collect();
            let mut i = 0;
            self.levels[d - 1].retain(|_| {
                i += 1;
                keep[i - 1]
            });
            for node in &mut self.levels[d] {
                node.parents = node
                    .parents
                    .iter()
                    .filter_map(|p| renumber.get(*p).copied().flatten())
                    .collect();
            }
        }
        self.levels.last().is_some_and(|l| !l.is_empty())
    }

    /// RFC 5280 6.1.5 (g) on the graph (RFC 9618 section 4.2.4): the
    /// policies that are valid for the whole path and acceptable to the
    /// relying party's `initial` set (`anyPolicy` accepts all), each with
    /// its name in the anchor's domain and in the leaf's.
    pub(crate) fn user_constrained(&self, initial: &BTreeSet<String>) -> BTreeSet<QualifiedPolicy> {
        let any_initial = initial.is_empty() || initial.contains(ANY_POLICY);
        // For every node: the authority-domain policies it descends from
        // (the first non-anyPolicy ancestor), or "under anyPolicy only".
        let mut roots: Vec<Vec<BTreeSet<String>>> = Vec::with_capacity(self.levels.len());
        roots.push(vec![BTreeSet::from([ANY_POLICY.to_owned()])]);
        for d in 1..self.levels.len() {
            let row = self.levels[d]
                .iter()
                .map(|n| {
                    let mut out = BTreeSet::new();
                    for p in &n.parents {
                        for r in &roots[d - 1][*p] {
                            if r == ANY_POLICY {
                                // The first policy below anyPolicy names
                                // this branch in the anchor's domain.
                                out.insert(n.policy.clone());
                            } else {
                                out.insert(r.clone());
                            }
                        }
                    }
                    out
                })
                .collect();
            roots.push(row);
        }
        let mut out = BTreeSet::new();
        let Some(last) = self.levels.last() else {
            return out;
        };
        for (i, node) in last.iter().enumerate() {
            for root in &roots[self.levels.len() - 1][i] {
                if root == ANY_POLICY {
                    // A branch under anyPolicy all the way down: every
                    // initial policy is acceptable through it.
                    if any_initial {
                        out.insert(QualifiedPolicy {
                            authority: ANY_POLICY.to_owned(),
                            leaf: node.policy.clone(),
                        });
                    } else {
                        for p in initial {
                            out.insert(QualifiedPolicy {
                                authority: p.clone(),
                                leaf: if node.policy == ANY_POLICY {
                                    p.clone()
                                } else {
                                    node.policy.clone()
                                },
                            });
                        }
                    }
                } else if any_initial || initial.contains(root) {
                    out.insert(QualifiedPolicy {
                        authority: root.clone(),
                        leaf: node.policy.clone(),
                    });
                }
            }
        }
        out
    }
}

impl Default for PolicyGraph {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn a_mapped_policy_is_named_in_both_domains() {
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1", "1.2"]), true));
        assert!(g.map(&[("1.1".into(), "2.1".into())], true));
        assert!(g.add_certificate(&s(&["2.1"]), true));
        let set = g.user_constrained(&BTreeSet::new());
        assert_eq!(
            set.into_iter().collect::<Vec<_>>(),
            vec![QualifiedPolicy {
                authority: "1.1".into(),
                leaf: "2.1".into()
            }]
        );
    }

    #[test]
    fn an_unmapped_policy_empties_the_graph() {
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1"]), true));
        assert!(g.map(&[("1.1".into(), "2.1".into())], true));
        assert!(!g.add_certificate(&s(&["2.9"]), true));
    }

    #[test]
    fn inhibited_mapping_deletes_the_mapped_policy() {
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1"]), true));
        assert!(!g.map(&[("1.1".into(), "2.1".into())], false));
    }

    #[test]
    fn any_policy_under_inhibit_creates_nothing() {
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1"]), true));
        assert!(!g.add_certificate(&s(&[ANY_POLICY]), false));
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1"]), true));
        assert!(g.add_certificate(&s(&[ANY_POLICY]), true));
        assert!(g.add_certificate(&s(&["1.1"]), true));
    }

    #[test]
    fn initial_set_filters_in_the_anchor_domain() {
        let mut g = PolicyGraph::new();
        assert!(g.add_certificate(&s(&["1.1", "1.2"]), true));
        assert!(g.add_certificate(&s(&["1.1", "1.2"]), true));
        let only = g.user_constrained(&BTreeSet::from(["1.2".to_owned()]));
        assert_eq!(only.len(), 1);
        assert!(
            g.user_constrained(&BTreeSet::from(["1.3".to_owned()]))
                .is_empty()
        );
    }

    /// The CVE-2023-0464 shape: every certificate maps each of k policies
    /// to all k. The tree would hold k^depth nodes; the graph holds k per
    /// level.
    #[test]
    fn mapping_fan_out_stays_linear() {
        let k = 64;
        let policies: Vec<String> = (0..k).map(|i| format!("1.{i}")).collect();
        let mappings: Vec<(String, String)> = policies
            .iter()
            .flat_map(|a| policies.iter().map(move |b| (a.clone(), b.clone())))
            .collect();
        let mut g = PolicyGraph::new();
        for _ in 0..10 {
            assert!(g.add_certificate(&policies, true));
            assert!(g.map(&mappings, true));
        }
        assert!(g.levels.iter().all(|l| l.len() <= k));
        assert_eq!(g.user_constrained(&BTreeSet::new()).len(), k * k);
    }
}

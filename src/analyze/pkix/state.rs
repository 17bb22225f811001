//! The state of RFC 5280 6.1.2 and the per-certificate steps of 6.1.3
//! (basic processing), 6.1.4 (preparing for the next certificate) and
//! 6.1.5 (wrap-up), with who set each constraint so a refusal can name it.

use super::extensions::{mappings, name_constraints, policies, sans};
use super::policy::PolicyGraph;
use super::rules::{leaf_rules, profile};
use super::{
    ANY_POLICY, Link, MAX_POLICIES, Purpose, RelyingParty, RequiredBy, Validated, Violation, names,
};
use crate::analyze::x509::{ext_key_usage, is_weak_signature, key_usage, signature_name};
use std::collections::BTreeSet;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{BasicConstraints, NameConstraints, ParsedExtension};

/// The state variables of RFC 5280 6.1.2, with who set each constraint
/// (for the explanation).
pub(super) struct State<'a> {
    graph: Option<PolicyGraph>,
    /// Where the graph became NULL: position, what it asserted, what the
    /// path above accepted.
    emptied: Option<(usize, Vec<String>, Vec<String>)>,
    explicit_policy: usize,
    explicit_by: RequiredBy,
    inhibit_any: usize,
    inhibit_any_by: Option<usize>,
    policy_mapping: usize,
    max_path_length: usize,
    /// The certificate whose pathLenConstraint set `max_path_length`, and
    /// its value; non-self-issued CAs seen below it.
    path_len_by: Option<(usize, u32, usize)>,
    pub(super) constraints: Vec<(Option<usize>, NameConstraints<'a>)>,
}

impl<'a> State<'a> {
    pub(super) fn new(n: usize, rp: &RelyingParty) -> Self {
        let start = |inhibited: bool| if inhibited { 0 } else { n + 1 };
        State {
            graph: Some(PolicyGraph::new()),
            emptied: None,
            explicit_policy: start(rp.require_explicit_policy),
            explicit_by: if rp.require_explicit_policy {
                RequiredBy::Setting
            } else {
                RequiredBy::Nobody
            },
            inhibit_any: start(rp.inhibit_any_policy),
            inhibit_any_by: None,
            policy_mapping: start(rp.inhibit_policy_mapping),
            max_path_length: n,
            path_len_by: None,
            constraints: Vec::new(),
        }
    }

    /// RFC 5280 6.1.3 for the certificate of `link`, and the certificate
    /// profile rules a relying party refuses a path for.
    pub(super) fn process(
        &mut self,
        link: &Link<'_, 'a>,
        is_leaf: bool,
        self_issued: bool,
        now: i64,
        purpose: Purpose,
    ) -> Result<(), Violation> {
        let (p, cert) = (link.position, link.cert);
        let validity = cert.validity();
        if now < validity.not_before.timestamp() {
            return Err(Violation::NotYetValid {
                position: p,
                not_before: validity.not_before.timestamp(),
            });
        }
        if now > validity.not_after.timestamp() {
            return Err(Violation::Expired {
                position: p,
                not_after: validity.not_after.timestamp(),
            });
        }
        let algorithm = signature_name(&cert.signature_algorithm.algorithm.to_id_string());
        if is_weak_signature(&algorithm) {
            return Err(Violation::WeakSignature {
                position: p,
                algorithm,
            });
        }
        profile(p, cert, is_leaf && purpose != Purpose::Ca)?;

        // (b), (c): names, unless a self-issued intermediate.
        if is_leaf || !self_issued {
            let (san_list, _) = sans(cert);
            let subjects = names::subjects(cert.subject(), &san_list);
            for (by, nc) in &self.constraints {
                let checks = names::checks(nc, subjects.len());
                if checks > names::MAX_CHECKS {
                    return Err(Violation::NameConstraintsTooLarge {
                        position: *by,
                        constrained: p,
                        checks,
                    });
                }
                if let Some(outside) = names::first_outside(nc, &subjects) {
                    return Err(Violation::NameConstraints {
                        position: *by,
                        constraints: crate::analyze::x509::render_name_constraints(nc),
                        names: vec![outside.render()],
                        constrained: p,
                    });
                }
            }
        }

        // (d)-(f): policies.
        let asserted = policies(cert);
        if let Some(list) = &asserted
            && list.len() > MAX_POLICIES
        {
            return Err(Violation::PolicyTooLarge {
                position: p,
                entries: list.len(),
            });
        }
        let any_allowed = self.inhibit_any > 0 || (!is_leaf && self_issued);
        if let Some(graph) = &mut self.graph {
            let acceptable: Vec<String> = graph.expected().into_iter().take(16).collect();
            let alive = match &asserted {
                Some(list) => graph.add_certificate(list, any_allowed),
                None => false,
            };
            if !alive {
                self.graph = None;
                self.emptied = Some((p, asserted.clone().unwrap_or_default(), acceptable));
            }
        }
        if self.explicit_policy == 0 && self.graph.is_none() {
            return Err(self.policy_failure(asserted.as_deref(), any_allowed));
        }
        if is_leaf {
            leaf_rules(p, cert, purpose)?;
        }
        Ok(())
    }

    fn policy_failure(&self, asserted: Option<&[String]>, any_allowed: bool) -> Violation {
        let (position, asserted_there, acceptable) = self.emptied.clone().unwrap_or_default();
        let only_any = asserted.is_some_and(|a| a.iter().all(|p| p == ANY_POLICY) && !a.is_empty());
        let emptied_only_any =
            !asserted_there.is_empty() && asserted_there.iter().all(|p| p == ANY_POLICY);
        if (only_any && !any_allowed) || emptied_only_any {
            return Violation::AnyPolicyInhibited {
                position,
                inhibited_by: self.inhibit_any_by,
            };
        }
        Violation::Policy {
            position,
            required_by: self.explicit_by.clone(),
            asserted: asserted_there,
            acceptable,
        }
    }

    /// RFC 5280 6.1.4 for the CA certificate of `link`.
    /// `remaining` counts the CA certificates from this one down to the
    /// leaf (for the explanation of a pathLenConstraint).
    pub(super) fn prepare(
        &mut self,
        link: &Link<'_, 'a>,
        self_issued: bool,
        purpose: Purpose,
        remaining: usize,
    ) -> Result<(), Violation> {
        let (p, cert) = (link.position, link.cert);
        self.map_policies(p, cert)?;
        // (g): name constraints.
        if let Some(nc) = name_constraints(cert) {
            self.constraints.push((Some(p), nc));
        }
        self.count_down(p, cert, self_issued);
        // (k): a CA.
        let basic = cert.basic_constraints().ok().flatten().map(|b| b.value);
        if !basic.as_ref().is_some_and(|b| b.ca) {
            return Err(Violation::NotCa {
                position: p,
                basic_constraints: basic.is_some(),
            });
        }
        self.path_length(p, basic, self_issued, remaining)?;
        may_sign(p, cert, purpose)
    }

    /// (a), (b): the policy mappings of the certificate at position `p`.
    fn map_policies(&mut self, p: usize, cert: &X509Certificate<'_>) -> Result<(), Violation> {
        let mapped = mappings(cert);
        if mapped.len() > MAX_POLICIES {
            return Err(Violation::PolicyTooLarge {
                position: p,
                entries: mapped.len(),
            });
        }
        if mapped
            .iter()
            .any(|(i, s)| i == ANY_POLICY || s == ANY_POLICY)
        {
            return Err(Violation::AnyPolicyMapped { position: p });
        }
        if !mapped.is_empty()
            && let Some(graph) = &mut self.graph
        {
            let acceptable: Vec<String> = graph.expected().into_iter().take(16).collect();
            if !graph.map(&mapped, self.policy_mapping > 0) {
                self.graph = None;
                self.emptied = Some((
                    p,
                    mapped.iter().map(|(i, _)| i.clone()).collect(),
                    acceptable,
                ));
            }
        }
        Ok(())
    }

    /// (h): the policy counters, one certificate down; (i), (j): the
    /// constraints the certificate at position `p` puts on them.
    fn count_down(&mut self, p: usize, cert: &X509Certificate<'_>, self_issued: bool) {
        if !self_issued {
            self.explicit_policy = self.explicit_policy.saturating_sub(1);
            self.policy_mapping = self.policy_mapping.saturating_sub(1);
            self.inhibit_any = self.inhibit_any.saturating_sub(1);
        }
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::PolicyConstraints(pc) => {
                    if let Some(r) = pc.require_explicit_policy
                        && (r as usize) < self.explicit_policy
                    {
                        self.explicit_policy = r as usize;
                        self.explicit_by = RequiredBy::Certificate {
                            position: p,
                            require_explicit_policy: r,
                        };
                    }
                    if let Some(m) = pc.inhibit_policy_mapping {
                        self.policy_mapping = self.policy_mapping.min(m as usize);
                    }
                }
                ParsedExtension::InhibitAnyPolicy(ia)
                    if (ia.skip_certs as usize) < self.inhibit_any =>
                {
                    self.inhibit_any = ia.skip_certs as usize;
                    self.inhibit_any_by = Some(p);
                }
                _ => {}
            }
        }
    }

    /// (l), (m): the path length, with the CA at position `p` and its
    /// `basic` constraints.
    fn path_length(
        &mut self,
        p: usize,
        basic: Option<&BasicConstraints>,
        self_issued: bool,
        remaining: usize,
    ) -> Result<(), Violation> {
        if !self_issued {
            if self.max_path_length == 0 {
                let (position, path_len, below) = self.path_len_by.unwrap_or((p, 0, 0));
                return Err(Violation::PathLen {
                    position,
                    path_len,
                    below: below + remaining,
                });
            }
            self.max_path_length -= 1;
            if let Some(by) = &mut self.path_len_by {
                by.2 += 1;
            }
        }
        if let Some(len) = basic.and_then(|b| b.path_len_constraint)
            && (len as usize) < self.max_path_length
        {
            self.max_path_length = len as usize;
            self.path_len_by = Some((p, len, 0));
        }
        Ok(())
    }

    /// RFC 5280 6.1.5 for the leaf.
    pub(super) fn wrap_up(
        mut self,
        leaf: &Link<'_, '_>,
        rp: &RelyingParty,
    ) -> Result<Validated, Violation> {
        self.explicit_policy = self.explicit_policy.saturating_sub(1);
        for ext in leaf.cert.extensions() {
            if let ParsedExtension::PolicyConstraints(pc) = ext.parsed_extension()
                && pc.require_explicit_policy == Some(0)
            {
                self.explicit_policy = 0;
                self.explicit_by = RequiredBy::Certificate {
                    position: leaf.position,
                    require_explicit_policy: 0,
                };
            }
        }
        let required = self.explicit_policy == 0;
        let Some(graph) = &self.graph else {
            if required {
                return Err(self.policy_failure(None, true));
            }
            return Ok(Validated {
                policies: Vec::new(),
                policy_required: false,
            });
        };
        let set = graph.user_constrained(&rp.initial_policies);
        if set.is_empty() && required {
            let valid = graph
                .user_constrained(&BTreeSet::new())
                .into_iter()
                .map(|q| q.authority)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            return Err(Violation::PolicyNotAcceptable {
                initial: rp.initial_policies.iter().cloned().collect(),
                valid,
                required_by: self.explicit_by.clone(),
            });
        }
        Ok(Validated {
            policies: set.into_iter().collect(),
            policy_required: required,
        })
    }
}

/// Whether the CA at position `p` may sign what the path needs: a
/// certificate, and for a TLS server, one for serverAuth.
fn may_sign(p: usize, cert: &X509Certificate<'_>, purpose: Purpose) -> Result<(), Violation> {
    // (n): keyUsage.
    if let Some(ku) = key_usage(cert)
        && !ku.iter().any(|b| b == "keyCertSign")
    {
        return Err(Violation::NoKeyCertSign {
            position: p,
            present: ku,
        });
    }
    // EKU on a CA constrains what it may issue (as webpki and devices
    // apply it).
    if purpose == Purpose::TlsServer
        && let Some(eku) = ext_key_usage(cert)
        && !eku.iter().any(|e| e == "serverAuth" || e == "any")
    {
        return Err(Violation::CaEku {
            position: p,
            present: eku,
        });
    }
    Ok(())
}

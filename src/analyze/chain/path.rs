//! Path building over the sent certificates only.
//!
//! "Path pushed" means the server's own certificates reach the anchor: no
//! AIA fetching and no local intermediates. Cross-certificates give one
//! subject several issuers, so the search branches; it is bounded in depth,
//! branching and total work so a hostile 60-certificate chain stays cheap.

use crate::analyze::pkix::{NameKey, name_key};
use crate::analyze::trust::{Anchor, TrustStore};
use std::cell::RefCell;
use std::collections::HashMap;
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo, X509Certificate};

/// Longest path (in sent certificates) the search follows; real paths
/// have at most six.
pub const MAX_DEPTH: usize = 10;
/// Issuer candidates with a matching name considered per certificate.
pub const MAX_CANDIDATES: usize = 8;
/// Certificates expanded per store before the search gives up.
pub const MAX_EXPANSIONS: usize = 256;

/// The sent certificates with a memo of "does `parent` certify `child`":
/// signature checks dominate the cost and are shared by every store, the
/// order check and the extras check.
pub(crate) struct SentGraph<'a> {
    certs: &'a [Option<X509Certificate<'a>>],
    certifies_memo: RefCell<HashMap<(usize, usize), bool>>,
    self_signed: Vec<bool>,
    /// (subject, issuer) of each certificate in comparable form, made once:
    /// names are compared for every pair.
    keys: Vec<Option<(NameKey, NameKey)>>,
}

/// Why the search for one store found no linked path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathOutcome {
    /// The deepest path stops at `stops_at`, whose issuer was not sent.
    Incomplete { path: Vec<usize>, detail: String },
    /// The deepest path ends at a certificate the store does not trust.
    Untrusted { path: Vec<usize>, detail: String },
}

impl<'a> SentGraph<'a> {
    pub(super) fn new(certs: &'a [Option<X509Certificate<'a>>], self_signed: Vec<bool>) -> Self {
        SentGraph {
            certs,
            certifies_memo: RefCell::new(HashMap::new()),
            keys: certs
                .iter()
                .map(|c| {
                    c.as_ref()
                        .map(|c| (name_key(c.subject()), name_key(c.issuer())))
                })
                .collect(),
            self_signed,
        }
    }

    /// Whether the subject of `parent` is the issuer name of `child`
    /// (RFC 5280 7.1: byte for byte, or after folding).
    fn names_issuer(&self, parent: usize, child: usize) -> bool {
        match (self.keys.get(parent), self.keys.get(child)) {
            (Some(Some((subject, _))), Some(Some((_, issuer)))) => subject == issuer,
            _ => false,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.certs.len()
    }

    pub(crate) fn cert(&self, position: usize) -> Option<&X509Certificate<'a>> {
        self.certs.get(position).and_then(Option::as_ref)
    }

    /// Whether `parent` issued `child`: names match byte for byte and the
    /// signature verifies with the parent's key.
    pub(crate) fn certifies(&self, parent: usize, child: usize) -> bool {
        if parent == child {
            return false;
        }
        if let Some(known) = self.certifies_memo.borrow().get(&(parent, child)) {
            return *known;
        }
        let result = match (self.cert(parent), self.cert(child)) {
            (Some(p), Some(c)) => {
                self.names_issuer(parent, child) && c.verify_signature(Some(p.public_key())).is_ok()
            }
            _ => false,
        };
        self.certifies_memo
            .borrow_mut()
            .insert((parent, child), result);
        result
    }

    /// Sent certificates that issued `child`, at most [`MAX_CANDIDATES`]
    /// name matches examined.
    pub(crate) fn issuers_of(&self, child: usize) -> Vec<usize> {
        let Some(c) = self.cert(child) else {
            return Vec::new();
        };
        let issuer = c.issuer();
        (0..self.certs.len())
            .filter(|p| *p != child)
            .filter(|p| {
                self.cert(*p).is_some_and(|pc| {
                    pc.subject().as_raw() == issuer.as_raw() || self.names_issuer(*p, child)
                })
            })
            .take(MAX_CANDIDATES)
            .filter(|p| self.certifies(*p, child))
            .collect()
    }

    /// Positions reachable from the leaf by following issuers: the
    /// certificates that belong to some path.
    pub(crate) fn reachable_from_leaf(&self) -> Vec<bool> {
        let mut seen = vec![false; self.certs.len()];
        if self.certs.is_empty() {
            return seen;
        }
        seen[0] = true;
        let mut queue = vec![0];
        let mut expansions = 0;
        while let Some(node) = queue.pop() {
            expansions += 1;
            if expansions > MAX_EXPANSIONS {
                break;
            }
            for parent in self.issuers_of(node) {
                if !seen[parent] {
                    seen[parent] = true;
                    queue.push(parent);
                }
            }
        }
        seen
    }

    /// The store anchor the sent certificate at `position` is a copy of
    /// (same name and key).
    pub(crate) fn anchor_index(&self, position: usize, store: &TrustStore) -> Option<usize> {
        let c = self.cert(position)?;
        store
            .anchors_named(c.subject())
            .find(|(_, a)| a.spki_der == c.public_key().raw)
            .map(|(i, _)| i)
    }

    /// Every path (up to [`MAX_LINKED`]) from the leaf to one of `store`'s
    /// anchors by names and signatures alone, and the deepest dead end.
    /// These are candidates to explain a verdict, never a verdict: the
    /// validator decides whether a path is valid.
    pub(crate) fn search(&self, store: &TrustStore) -> PathSearch {
        if self.cert(0).is_none() {
            let detail = if self.certs.is_empty() {
                "no certificate sent".to_owned()
            } else {
                "the leaf certificate could not be parsed".to_owned()
            };
            return PathSearch {
                linked: Vec::new(),
                dead_end: Some(PathOutcome::Incomplete {
                    path: Vec::new(),
                    detail,
                }),
            };
        }
        let mut search = Search {
            graph: self,
            store,
            expansions: 0,
            linked: Vec::new(),
            deepest: None,
        };
        let mut path = vec![0];
        search.visit(&mut path);
        let dead_end = match (&search.deepest, search.linked.is_empty()) {
            (None, true) => Some(PathOutcome::Incomplete {
                path: vec![0],
                detail: "path search exhausted its budget".to_owned(),
            }),
            _ => search.deepest,
        };
        PathSearch {
            linked: search.linked,
            dead_end,
        }
    }
}

/// At most this many linked paths are collected per store; real
/// hierarchies have two or three (one per cross-certificate generation).
pub const MAX_LINKED: usize = 8;

/// What the name-and-signature search found for one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathSearch {
    /// Paths that reach an anchor, shortest search order first.
    pub linked: Vec<Linked>,
    /// The deepest path that reached no anchor, when one was seen.
    pub dead_end: Option<PathOutcome>,
}

/// A path whose names and signatures link the leaf to an anchor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Linked {
    /// Sent positions from the leaf.
    pub path: Vec<usize>,
    /// Index into the store's anchors.
    pub anchor: usize,
    /// The last position is a sent copy of that anchor (not a certificate
    /// the anchor issued).
    pub sent_anchor: bool,
    pub anchor_subject: String,
}

struct Search<'g, 'a> {
    graph: &'g SentGraph<'a>,
    store: &'g TrustStore,
    expansions: usize,
    linked: Vec<Linked>,
    /// The longest dead end seen so far, reported when no path exists.
    deepest: Option<PathOutcome>,
}

impl Search<'_, '_> {
    fn visit(&mut self, path: &mut Vec<usize>) {
        if self.linked.len() >= MAX_LINKED {
            return;
        }
        let Some(node) = path.last().copied() else {
            return;
        };
        let Some(cert) = self.graph.cert(node) else {
            return;
        };
        let subject = crate::analyze::x509::render_name(cert.subject());
        if let Some(index) = self.graph.anchor_index(node, self.store) {
            self.linked.push(Linked {
                path: path.clone(),
                anchor: index,
                sent_anchor: true,
                anchor_subject: subject,
            });
            return;
        }
        let issuer = crate::analyze::x509::render_name(cert.issuer());
        let mut named_anchor_rejected = false;
        let mut linked_here = false;
        for (index, anchor) in self.store.anchors_named(cert.issuer()) {
            if anchor_signed(anchor, cert) {
                self.linked.push(Linked {
                    path: path.clone(),
                    anchor: index,
                    sent_anchor: false,
                    anchor_subject: anchor.subject.clone(),
                });
                linked_here = true;
            } else {
                named_anchor_rejected = true;
            }
        }
        if linked_here {
            return;
        }
        self.expansions += 1;
        if self.expansions > MAX_EXPANSIONS {
            self.note_dead_end(PathOutcome::Incomplete {
                path: path.clone(),
                detail: format!("path search budget exhausted at {subject}"),
            });
            return;
        }
        let issuers = if path.len() < MAX_DEPTH {
            self.graph.issuers_of(node)
        } else {
            Vec::new()
        };
        let mut descended = false;
        for parent in issuers {
            if path.contains(&parent) {
                continue;
            }
            descended = true;
            path.push(parent);
            self.visit(path);
            path.pop();
        }
        if descended {
            return;
        }
        let dead_end = if named_anchor_rejected {
            PathOutcome::Untrusted {
                path: path.clone(),
                detail: format!(
                    "path stops at {subject}: its issuer {issuer} is named like an anchor of \
                     store {} but the signature does not verify with the anchor's key",
                    self.store.name()
                ),
            }
        } else if self.graph.self_signed[node] {
            PathOutcome::Untrusted {
                path: path.clone(),
                detail: format!(
                    "path ends at self-signed {subject}, which is not an anchor of store {}",
                    self.store.name()
                ),
            }
        } else if path.len() >= MAX_DEPTH {
            PathOutcome::Incomplete {
                path: path.clone(),
                detail: format!("path longer than {MAX_DEPTH} certificates at {subject}"),
            }
        } else {
            PathOutcome::Incomplete {
                path: path.clone(),
                detail: format!("path stops at {subject}, issuer {issuer} not sent"),
            }
        };
        self.note_dead_end(dead_end);
    }

    fn note_dead_end(&mut self, outcome: PathOutcome) {
        let len = |o: &PathOutcome| match o {
            PathOutcome::Incomplete { path, .. } | PathOutcome::Untrusted { path, .. } => {
                path.len()
            }
        };
        if self.deepest.as_ref().is_none_or(|d| len(&outcome) > len(d)) {
            self.deepest = Some(outcome);
        }
    }
}

fn anchor_signed(anchor: &Anchor, cert: &X509Certificate<'_>) -> bool {
    match SubjectPublicKeyInfo::from_der(&anchor.spki_der) {
        Ok((_, spki)) => cert.verify_signature(Some(&spki)).is_ok(),
        Err(_) => false,
    }
}

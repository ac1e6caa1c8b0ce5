//! Which connections an output shows, by namespace, source and destination, applied once,
//! here, for every format of `connectivity` (tables, JSON, CSV, summary, graphs).
//!
//! - [`Criterion::Namespace`] (any of them): connections with at least one end in one of these
//!   namespaces, so a namespace is shown with its neighbours.
//! - [`Criterion::From`] / [`Criterion::To`] (any of them): the source / destination is one
//!   of the endpoints a selector resolves to ([`EndpointSelector`]).
//! - Given together, every criterion must hold. The caller words the criteria (the CLI as its
//!   `--namespace`, `--from` and `--to` options, [`ConnectionFilter::described_as`]).
//!
//! Lists of nodes (JSON `nodes`, graph nodes) keep the endpoints that appear in a shown
//! connection and the endpoints the filter itself names ([`ConnectionFilter::selects`]), so a
//! selected pod that reaches nothing still appears.

use crate::analysis::Analysis;
use crate::select::{EndpointSelector, ResolveError, SelectorParseError};
use netreach_model::{ConnectionCounts, Protocol};

/// A predicate on (source endpoint, destination endpoint), built once per run.
#[derive(Clone, Debug, Default)]
pub struct ConnectionFilter {
    /// Per endpoint: in one of the filter's namespaces (None: no such criterion).
    namespaces: Option<Vec<bool>>,
    from: Option<Vec<bool>>,
    to: Option<Vec<bool>>,
    /// The criteria as given, in order (namespaces, then sources, then destinations).
    criteria: Vec<(Criterion, String)>,
    /// The caller's wording of the criteria ([`ConnectionFilter::described_as`]).
    description: Option<String>,
}

/// Which side of a connection a filter criterion constrains; the caller names it (the CLI
/// as the option the value came from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Criterion {
    /// An end of the connection is in this namespace.
    Namespace,
    /// The source is an endpoint the selector resolves to.
    From,
    /// The destination is an endpoint the selector resolves to.
    To,
}

impl Criterion {
    /// The criterion in plain words, e.g. `from`.
    pub fn name(self) -> &'static str {
        match self {
            Criterion::Namespace => "namespace",
            Criterion::From => "from",
            Criterion::To => "to",
        }
    }
}

fn member_set(count: usize, members: impl IntoIterator<Item = usize>) -> Vec<bool> {
    let mut set = vec![false; count];
    for e in members {
        set[e] = true;
    }
    set
}

/// A filter selector that does not parse, or names nothing; `criterion` is the one it was given for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("{}: {source}", criterion.name())]
    Parse { criterion: Criterion, source: SelectorParseError },
    #[error("{} {selector}: {source}", criterion.name())]
    Resolve { criterion: Criterion, selector: String, source: ResolveError },
}

impl ConnectionFilter {
    /// Shows everything.
    pub fn none() -> ConnectionFilter {
        ConnectionFilter::default()
    }

    /// Parses the selectors and resolves everything against the analysis. An unknown namespace
    /// or a selector naming no pod or workload is an error (a typo is likelier than intent).
    pub fn new(
        analysis: &Analysis,
        namespaces: &[String],
        from: &[String],
        to: &[String],
    ) -> Result<ConnectionFilter, FilterError> {
        let count = analysis.reach.endpoint_count();
        let resolve_all = |selectors: &[String], criterion: Criterion| -> Result<Option<Vec<bool>>, FilterError> {
            if selectors.is_empty() {
                return Ok(None);
            }
            let mut members = Vec::new();
            for s in selectors {
                let selector = EndpointSelector::parse(s).map_err(|source| FilterError::Parse { criterion, source })?;
                let resolved = selector.resolve(analysis);
                members.extend(resolved.map_err(|source| FilterError::Resolve {
                    criterion,
                    selector: s.clone(),
                    source,
                })?);
            }
            Ok(Some(member_set(count, members)))
        };
        let mut ns_members = Vec::new();
        for ns in namespaces {
            ns_members.extend(EndpointSelector::Namespace(ns.clone()).resolve(analysis).map_err(|source| {
                FilterError::Resolve { criterion: Criterion::Namespace, selector: ns.clone(), source }
            })?);
        }
        let criteria = [(Criterion::Namespace, namespaces), (Criterion::From, from), (Criterion::To, to)]
            .into_iter()
            .flat_map(|(criterion, values)| values.iter().map(move |v| (criterion, v.clone())))
            .collect();
        Ok(ConnectionFilter {
            namespaces: (!namespaces.is_empty()).then(|| member_set(count, ns_members)),
            from: resolve_all(from, Criterion::From)?,
            to: resolve_all(to, Criterion::To)?,
            criteria,
            description: None,
        })
    }

    /// The same filter, described in the caller's words (the CLI spells its options).
    pub fn described_as(self, description: String) -> ConnectionFilter {
        ConnectionFilter { description: Some(description), ..self }
    }

    /// The criteria as given, in order: namespaces, sources, destinations.
    pub fn criteria(&self) -> &[(Criterion, String)] {
        &self.criteria
    }

    /// False when the filter shows everything: outputs are then exactly the unfiltered ones.
    pub fn is_active(&self) -> bool {
        self.namespaces.is_some() || self.from.is_some() || self.to.is_some()
    }

    /// The caller's description, else the criteria in plain words, e.g. `namespace shop to internet`;
    /// empty when inactive.
    pub fn description(&self) -> String {
        match &self.description {
            Some(description) => description.clone(),
            None => self.criteria.iter().map(|(c, v)| format!("{} {v}", c.name())).collect::<Vec<_>>().join(" "),
        }
    }

    /// Whether the connection from endpoint `src` to endpoint `dst` is shown.
    pub fn keeps(&self, src: usize, dst: usize) -> bool {
        self.namespaces.as_ref().is_none_or(|ns| ns[src] || ns[dst])
            && self.from.as_ref().is_none_or(|f| f[src])
            && self.to.as_ref().is_none_or(|t| t[dst])
    }

    /// Whether the filter itself names this endpoint (it is listed as a node even when none of
    /// its connections is shown): in the namespaces, if given, and among the source or destination
    /// endpoints, if given. Everything when inactive.
    pub fn selects(&self, endpoint: usize) -> bool {
        let in_namespaces = self.namespaces.as_ref().is_none_or(|ns| ns[endpoint]);
        let named = match (&self.from, &self.to) {
            (None, None) => true,
            (f, t) => f.as_ref().is_some_and(|f| f[endpoint]) || t.as_ref().is_some_and(|t| t[endpoint]),
        };
        in_namespaces && named
    }

    /// Endpoints to list: those the filter selects and those in a shown connection.
    pub fn shown_endpoints(&self, analysis: &Analysis) -> Vec<bool> {
        let count = analysis.reach.endpoint_count();
        let mut shown: Vec<bool> = (0..count).map(|e| self.selects(e)).collect();
        if self.is_active() {
            let _ = analysis.reach.for_each_connection::<std::convert::Infallible>(|s, d, _| {
                if self.keeps(s, d) {
                    shown[s] = true;
                    shown[d] = true;
                }
                Ok(())
            });
        }
        shown
    }

    /// Pairs shown, counted like [`netreach_model::Reachability::count_connections`].
    pub fn count(&self, analysis: &Analysis) -> ConnectionCounts {
        let mut counts = ConnectionCounts::default();
        let _ = analysis.reach.for_each_connection::<std::convert::Infallible>(|s, d, ports| {
            if self.keeps(s, d) {
                counts.pairs += 1;
                for (k, protocol) in Protocol::ALL.into_iter().enumerate() {
                    if !ports.ranges(protocol).is_empty() {
                        counts.by_protocol[k] += 1;
                    }
                }
            }
            Ok(())
        });
        counts
    }
}

/// The endpoints a command's question may be about under `-n/--namespace`: the pods of
/// `namespaces` and every external range, as a mask over endpoints; `None` when `namespaces`
/// is empty (no limit). An unknown namespace is an error, as a typo is likelier than intent.
pub fn namespace_scope(analysis: &Analysis, namespaces: &[String]) -> Result<Option<Vec<bool>>, ResolveError> {
    if namespaces.is_empty() {
        return Ok(None);
    }
    let mut scope: Vec<bool> = (0..analysis.reach.endpoint_count()).map(|e| e >= analysis.reach.pod_count()).collect();
    for ns in namespaces {
        for e in EndpointSelector::Namespace(ns.clone()).resolve(analysis)? {
            scope[e] = true;
        }
    }
    Ok(Some(scope))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{Cluster, EngineOptions, Labels, Pod};

    fn analysis() -> Analysis {
        let cluster = Cluster {
            pods: vec![
                Pod::new("a", "x", Labels::new()),
                Pod::new("a", "y", Labels::new()),
                Pod::new("b", "z", Labels::new()),
            ],
            ..Default::default()
        };
        Analysis::new(cluster, &EngineOptions::default())
    }

    #[test]
    fn criteria_combine_with_and_and_namespaces_match_either_end() {
        let a = analysis();
        let (x, y, z, ext) = (0, 1, 2, 3);
        let none = ConnectionFilter::none();
        assert!(!none.is_active() && none.keeps(x, z) && none.selects(ext));
        let ns = ConnectionFilter::new(&a, &["b".into()], &[], &[]).unwrap();
        assert!(ns.keeps(x, z) && ns.keeps(z, ext) && !ns.keeps(x, y) && !ns.keeps(ext, y));
        assert!(ns.selects(z) && !ns.selects(x));
        let from = ConnectionFilter::new(&a, &[], &["a/x".into()], &["internet".into(), "b/z".into()]).unwrap();
        assert!(from.keeps(x, ext) && from.keeps(x, z) && !from.keeps(x, y) && !from.keeps(y, z));
        assert!(from.selects(x) && from.selects(ext) && !from.selects(y));
        assert_eq!(from.description(), "from a/x to internet to b/z");
        assert_eq!(from.criteria()[0], (Criterion::From, "a/x".to_string()));
        assert_eq!(from.clone().described_as("--from a/x".into()).description(), "--from a/x");
        let both = ConnectionFilter::new(&a, &["a".into()], &[], &["internet".into()]).unwrap();
        assert!(both.keeps(y, ext) && !both.keeps(z, ext) && !both.selects(ext), "externals are in no namespace");
        assert_eq!(both.count(&a).pairs, 2);
        assert_eq!(both.shown_endpoints(&a), [true, true, false, true]);
    }

    #[test]
    fn unknown_names_are_errors() {
        let a = analysis();
        assert!(ConnectionFilter::new(&a, &["nope".into()], &[], &[])
            .unwrap_err()
            .to_string()
            .contains("namespace nope"));
        assert!(ConnectionFilter::new(&a, &[], &["a/nope".into()], &[])
            .unwrap_err()
            .to_string()
            .contains("from a/nope"));
        assert!(ConnectionFilter::new(&a, &[], &[], &["a/b/c/d".into()]).unwrap_err().to_string().starts_with("to: "));
    }
}

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

    /// Endpoints to list: those the filter selects and those in a shown connection. Works on
    /// class rows ([`FilterTally`]), never on pairs.
    pub fn shown_endpoints(&self, analysis: &Analysis) -> Vec<bool> {
        let count = analysis.reach.endpoint_count();
        let mut shown: Vec<bool> = (0..count).map(|e| self.selects(e)).collect();
        if self.is_active() {
            let in_connections = FilterTally::new(self, analysis).endpoints_in_kept_connections(self, analysis);
            for (shown, in_connection) in shown.iter_mut().zip(in_connections) {
                *shown = *shown || in_connection;
            }
        }
        shown
    }

    /// Pairs shown, counted like [`netreach_model::Reachability::count_connections`]: in time
    /// linear in the row entries, as kept pairs of a (row, destination class) entry are a
    /// product of per-category member counts.
    pub fn count(&self, analysis: &Analysis) -> ConnectionCounts {
        let reach = &analysis.reach;
        let tally = FilterTally::new(self, analysis);
        let mut counts = ConnectionCounts::default();
        let mut add = |n: u64, ports: &netreach_model::PortSet, negative: bool| {
            let apply = |total: &mut u64| if negative { *total -= n } else { *total += n };
            apply(&mut counts.pairs);
            for (k, protocol) in Protocol::ALL.into_iter().enumerate() {
                if !ports.ranges(protocol).is_empty() {
                    apply(&mut counts.by_protocol[k]);
                }
            }
        };
        for (row, &representative) in tally.row_representative.iter().enumerate() {
            for (dst_class, ports) in reach.class_row(representative) {
                add(kept_pairs(&tally.row_sources[row], &tally.destinations[dst_class]), ports, false);
            }
        }
        // An endpoint kept as both ends of its own class's entry was counted paired with itself.
        for e in 0..reach.endpoint_count() {
            let class = reach.class_of(reach.endpoint(e));
            if let Some(ports) = reach.class_allowed(class, class) {
                if self.keeps(e, e) && e < reach.pod_count() {
                    add(1, ports, true);
                }
            }
        }
        counts
    }

    /// The category of an endpoint for [`kept_pairs`]: (in the namespaces, external) as two bits.
    fn category(&self, analysis: &Analysis, endpoint: usize) -> usize {
        let in_namespaces = self.namespaces.as_ref().is_none_or(|ns| ns[endpoint]);
        usize::from(in_namespaces) * 2 + usize::from(endpoint >= analysis.reach.pod_count())
    }
}

/// Whether a source of category `a` and a destination of category `b` ([`ConnectionFilter::category`])
/// make a pair that is both listed (not external to external) and kept by the namespace criterion
/// (one end in the namespaces).
fn category_pair_kept(a: usize, b: usize) -> bool {
    let (ns_a, ext_a, ns_b, ext_b) = (a & 2 != 0, a & 1 != 0, b & 2 != 0, b & 1 != 0);
    (ns_a || ns_b) && !(ext_a && ext_b)
}

/// Kept pairs between sources and destinations counted per category, self pairs included.
fn kept_pairs(sources: &[u64; 4], destinations: &[u64; 4]) -> u64 {
    let mut pairs = 0;
    for (a, &s) in sources.iter().enumerate() {
        for (b, &d) in destinations.iter().enumerate() {
            if category_pair_kept(a, b) {
                pairs += s * d;
            }
        }
    }
    pairs
}

/// Per-category member counts of the filter's sources (per row) and destinations (per class), so
/// a (row, destination class) entry's kept pairs are a product, not a walk over pairs.
struct FilterTally {
    /// Per row: one class that reads it.
    row_representative: Vec<usize>,
    /// Per row: sources the `from` criterion keeps among the classes reading the row, by category.
    row_sources: Vec<[u64; 4]>,
    /// Per class: destinations the `to` criterion keeps, by category.
    destinations: Vec<[u64; 4]>,
}

impl FilterTally {
    fn new(filter: &ConnectionFilter, analysis: &Analysis) -> FilterTally {
        let reach = &analysis.reach;
        let mut row_representative = vec![usize::MAX; reach.row_count()];
        let mut row_sources = vec![[0u64; 4]; reach.row_count()];
        let mut destinations = vec![[0u64; 4]; reach.class_count()];
        for (class, class_destinations) in destinations.iter_mut().enumerate() {
            let row = reach.row_of(class);
            row_representative[row] = class;
            for &e in reach.class_members(class) {
                let e = e as usize;
                let category = filter.category(analysis, e);
                if filter.from.as_ref().is_none_or(|f| f[e]) {
                    row_sources[row][category] += 1;
                }
                if filter.to.as_ref().is_none_or(|t| t[e]) {
                    class_destinations[category] += 1;
                }
            }
        }
        FilterTally { row_representative, row_sources, destinations }
    }

    /// Per endpoint: whether some kept connection other than to itself starts or ends there.
    fn endpoints_in_kept_connections(&self, filter: &ConnectionFilter, analysis: &Analysis) -> Vec<bool> {
        let reach = &analysis.reach;
        let single = |c: usize| {
            let mut counts = [0u64; 4];
            counts[c] = 1;
            counts
        };
        // Per row and source category: kept destinations; per class and destination category:
        // kept sources. One pass over the row entries.
        let mut outgoing = vec![[0u64; 4]; reach.row_count()];
        let mut incoming = vec![[0u64; 4]; reach.class_count()];
        for (row, &representative) in self.row_representative.iter().enumerate() {
            for (dst, _) in reach.class_row(representative) {
                for c in 0..4 {
                    outgoing[row][c] += kept_pairs(&single(c), &self.destinations[dst]);
                    incoming[dst][c] += kept_pairs(&self.row_sources[row], &single(c));
                }
            }
        }
        (0..reach.endpoint_count())
            .map(|e| {
                let class = reach.class_of(reach.endpoint(e));
                let category = filter.category(analysis, e);
                let self_pair = u64::from(
                    e < reach.pod_count() && filter.keeps(e, e) && reach.class_allowed(class, class).is_some(),
                );
                let as_source =
                    filter.from.as_ref().is_none_or(|f| f[e]) && outgoing[reach.row_of(class)][category] > self_pair;
                let as_destination = filter.to.as_ref().is_none_or(|t| t[e]) && incoming[class][category] > self_pair;
                as_source || as_destination
            })
            .collect()
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
    /// The pair-by-pair answers the class-level [`ConnectionFilter::count`] and
    /// [`ConnectionFilter::shown_endpoints`] must equal.
    fn walked(filter: &ConnectionFilter, a: &Analysis) -> (ConnectionCounts, Vec<bool>) {
        let mut counts = ConnectionCounts::default();
        let mut shown: Vec<bool> = (0..a.reach.endpoint_count()).map(|e| filter.selects(e)).collect();
        let _ = a.reach.for_each_connection::<std::convert::Infallible>(|s, d, ports| {
            if filter.keeps(s, d) {
                counts.pairs += 1;
                for (k, protocol) in Protocol::ALL.into_iter().enumerate() {
                    if !ports.ranges(protocol).is_empty() {
                        counts.by_protocol[k] += 1;
                    }
                }
                shown[s] = true;
                shown[d] = true;
            }
            Ok(())
        });
        (counts, shown)
    }

    #[test]
    fn class_level_counts_and_shown_endpoints_equal_the_pair_walk() {
        let mut analyses: Vec<Analysis> = crate::lateral::tests::test_clusters()
            .into_iter()
            .map(|(_, cluster)| Analysis::new(cluster, &EngineOptions::default()))
            .collect();
        analyses.push(analysis());
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        for a in &analyses {
            let namespaces: Vec<String> = a
                .cluster
                .pods
                .iter()
                .map(|p| p.namespace.clone())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .take(2)
                .collect();
            let first_ns = namespaces[..1].to_vec();
            let cases: Vec<(Vec<String>, Vec<String>, Vec<String>)> = vec![
                (vec![], vec![], vec![]),
                (first_ns.clone(), vec![], vec![]),
                (namespaces.clone(), vec![], s(&["internet"])),
                (vec![], first_ns.clone(), vec![]),
                (vec![], vec![], first_ns.clone()),
                (vec![], s(&["internet"]), namespaces.clone()),
                (first_ns.clone(), namespaces.clone(), namespaces.clone()),
                (vec![], namespaces.clone(), s(&["internet"])),
            ];
            for (ns, from, to) in cases {
                let Ok(filter) = ConnectionFilter::new(a, &ns, &from, &to) else { continue };
                let (counts, shown) = walked(&filter, a);
                assert_eq!(filter.count(a), counts, "-n {ns:?} --from {from:?} --to {to:?}");
                assert_eq!(filter.shown_endpoints(a), shown, "-n {ns:?} --from {from:?} --to {to:?}");
            }
        }
    }
}

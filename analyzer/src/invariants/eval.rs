//! Evaluating invariants on a computed reachability.
//!
//! Pair invariants (deny, allowOnly, allow) never walk pod pairs: endpoints are grouped by
//! engine class and by the role they play in the invariant (e.g. "a source that an `except`
//! exempts"), one `Reachability::allowed` call answers for each pair of classes, and pairs are
//! counted by multiplying group sizes. Only the first `limit` violating pairs are expanded and
//! explained (`explain_pair`, once per class pair).

use super::{Assertion, Invariant, Selection};
use crate::analysis::Analysis;
use crate::explain::{explain_pair, PairVerdict, SideVerdict};
use crate::exposure::{entry_routes, exposure, EntryHops, EntryRoute, Exposure, ExposureOptions, InternetStart};
use crate::lateral;
use crate::render;
use crate::select::EndpointSelector;
use netreach_model::{Direction, PortSet};
use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The outcome of one invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
}

/// One thing that breaks an invariant, with endpoint ids (`namespace/name`, `external:…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A connection the invariant forbids (deny, allowOnly): the ports at fault and, one line
    /// each, the rules that allow them on each side.
    Allowed { src: String, dst: String, ports: PortSet, rules: Vec<String> },
    /// A connection the invariant requires (allow) that policy does not allow: the ports
    /// missing (`None`: nothing at all is allowed), what is allowed, and why.
    Missing { src: String, dst: String, missing: Option<PortSet>, allowed: PortSet, reasons: Vec<String> },
    /// A pod that no NetworkPolicy selects in these directions.
    NotIsolated { pod: String, directions: Vec<Direction>, reason: String },
    /// A source reaching more pods than allowed, with a few of the paths (the longest first).
    Reach { src: String, reached: u64, hops: u32, paths: Vec<String> },
    /// An attack target a `deny` forbids, reached: from the nearest source, one line per step.
    AttackPath { src: String, target: String, steps: Vec<String> },
}

/// The result of one invariant on one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evaluation {
    pub name: String,
    pub description: Option<String>,
    /// `deny`, `allowOnly`, `allow`, `isolated`, `maxReach` or `mtls`.
    pub kind: &'static str,
    /// The invariant restated, e.g. `deny from "ns:dev" to "ns:prod"`.
    pub statement: String,
    pub status: Status,
    /// How many violations there are in all (pairs, pods or sources).
    pub count: u64,
    /// How many pairs, pods or sources were checked.
    pub checked: u64,
    /// One line on the outcome: `3 of 40 pair(s) allowed`.
    pub detail: String,
    /// The first violations (at most the checker's limit), in endpoint order.
    pub violations: Vec<Violation>,
    /// What the reader should know, e.g. a selector that selects nothing.
    pub notes: Vec<String>,
}

impl Evaluation {
    pub fn passed(&self) -> bool {
        self.status == Status::Pass
    }

    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// An invariant that does not fit the cluster: a name that matches nothing (a typo is
/// likelier than an intentionally empty set), as in `netreach connectivity --from`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "field {}: {}", self.field, self.message)
    }
}

/// Evaluates invariants on one analysis; the class grouping is built once and shared.
pub struct Checker<'a> {
    analysis: &'a Analysis,
    limit: usize,
    /// `-n/--namespace`: the namespaces selections are limited to, and the endpoints that
    /// leaves (their pods and every external range); `None`: the whole cluster.
    scope: Option<(Vec<String>, Vec<bool>)>,
    /// How the selector `internet` is judged as a source, and the entry choices.
    internet: InternetStart,
    entry: ExposureOptions,
    /// The entry paths, found once when an invariant from `internet` asks.
    entered: OnceCell<Entered>,
}

/// What outside reaches through the entry points (`netreach exposure`'s paths).
struct Entered {
    exposures: Vec<Exposure>,
    /// Per receiver (endpoint index): its entry routes, in `exposure`'s order.
    routes: BTreeMap<usize, Vec<EntryRoute>>,
    /// The first hop per receiver: where searches from `internet` start.
    hops: EntryHops,
}

/// The source `maxReach` counts for `internet` through the entry points (no endpoint index).
const INTERNET: usize = usize::MAX;

/// Roles of an endpoint in a pair invariant: 0 = not in it, 1..=3 = a group (see each kind).
const ROLES: usize = 4;

struct PairScan {
    count: u64,
    checked: u64,
    /// (source, destination, offending ports) of the first violating pairs.
    shown: Vec<(usize, usize, PortSet)>,
}

impl<'a> Checker<'a> {
    /// At most 10 violations are listed per invariant (all are counted).
    pub fn new(analysis: &'a Analysis) -> Checker<'a> {
        Checker {
            analysis,
            limit: 10,
            scope: None,
            internet: InternetStart::EntryPoints,
            entry: ExposureOptions::default(),
            entered: OnceCell::new(),
        }
    }

    /// How `internet` as a source is judged: through the entry points (the default: what
    /// `exposure` lists with `entry`'s choices, as `paths --from internet` starts) or, with
    /// [`InternetStart::PolicyOnly`], by policy alone (every external range a pair source).
    pub fn judging_internet(mut self, start: InternetStart, entry: ExposureOptions) -> Checker<'a> {
        self.internet = start;
        self.entry = entry;
        self.entered = OnceCell::new();
        self
    }

    fn entered(&self) -> &Entered {
        self.entered.get_or_init(|| {
            let exposures = exposure(self.analysis, &self.entry).exposures;
            let mut routes: BTreeMap<usize, Vec<EntryRoute>> = BTreeMap::new();
            for route in entry_routes(self.analysis, &exposures) {
                let list = routes.entry(route.hop.to).or_default();
                // One route per entry point and level: a Service's ports, or a hostNetwork pod's
                // declared ports and every port it admits, together.
                match list.iter_mut().find(|r| r.hop.via == route.hop.via && r.hop.level == route.hop.level) {
                    Some(kept) => kept.ports.union_with(&route.ports),
                    None => list.push(route),
                }
            }
            let hops = EntryHops::from_routes(routes.values().flatten());
            Entered { exposures, routes, hops }
        })
    }

    /// The external ranges `internet` selects (every one).
    fn outside(&self) -> Vec<usize> {
        let reach = &self.analysis.reach;
        (reach.pod_count()..reach.endpoint_count()).collect()
    }

    /// Limits every selection to the pods of `namespaces` (external ranges stay selectable) and
    /// `isolated` to these namespaces; an empty list changes nothing. Connections still come
    /// from the whole cluster: a pod elsewhere reaching a selected one is still seen.
    pub fn within_namespaces(mut self, namespaces: &[String]) -> Checker<'a> {
        if namespaces.is_empty() {
            return self;
        }
        let reach = &self.analysis.reach;
        let mask = (0..reach.endpoint_count())
            .map(|e| match reach.endpoint(e) {
                netreach_model::Endpoint::Pod(i) => {
                    namespaces.contains(&self.analysis.cluster.pods[i as usize].namespace)
                }
                netreach_model::Endpoint::External(_) => true,
            })
            .collect();
        self.scope = Some((namespaces.to_vec(), mask));
        self
    }

    fn in_scope_namespace(&self, ns: &str) -> bool {
        self.scope.as_ref().is_none_or(|(names, _)| names.iter().any(|n| n == ns))
    }

    /// How many violations to list (and explain) per invariant.
    pub fn with_limit(mut self, limit: usize) -> Checker<'a> {
        self.limit = limit;
        self
    }

    pub fn analysis(&self) -> &Analysis {
        self.analysis
    }

    fn endpoint_count(&self) -> usize {
        self.analysis.reach.endpoint_count()
    }

    /// The equivalence class of an endpoint index.
    fn class(&self, e: usize) -> usize {
        let reach = &self.analysis.reach;
        reach.class_of(reach.endpoint(e))
    }

    /// Evaluates one invariant. An error names the field whose selector matches no name of
    /// this cluster (`no namespace "dev"`).
    pub fn evaluate(&self, invariant: &Invariant) -> Result<Evaluation, FieldError> {
        let kind = invariant.assertion.kind();
        let mut eval = Evaluation {
            name: invariant.name.clone(),
            description: invariant.description.clone(),
            kind,
            statement: invariant.assertion.to_string(),
            status: Status::Pass,
            count: 0,
            checked: 0,
            detail: String::new(),
            violations: Vec::new(),
            notes: Vec::new(),
        };
        match &invariant.assertion {
            Assertion::Deny { from, to, except, ports } => {
                let (from_set, from_internet) = self.resolve_sources(from, "deny.from", &mut eval.notes)?;
                let to_set = self.resolve(to, "deny.to", &mut eval.notes)?;
                let ports = ports.clone().or_else(|| self.destination_ports(to, &mut eval.notes));
                let ex_from = except
                    .as_ref()
                    .and_then(|e| e.from.as_ref())
                    .map(|s| self.resolve(s, "deny.except.from", &mut Vec::new()))
                    .transpose()?;
                let ex_to = except
                    .as_ref()
                    .and_then(|e| e.to.as_ref())
                    .map(|s| self.resolve(s, "deny.except.to", &mut Vec::new()))
                    .transpose()?;
                // Sources: 1 not exempt, 2 in except.from; destinations likewise with except.to.
                let role = |set: &[bool], ex: &Option<Vec<bool>>| -> Vec<u8> {
                    set.iter()
                        .enumerate()
                        .map(|(e, &i)| {
                            if !i {
                                0
                            } else if ex.as_ref().is_some_and(|x| x[e]) {
                                2
                            } else {
                                1
                            }
                        })
                        .collect()
                };
                let (src, dst) = (role(&from_set, &ex_from), role(&to_set, &ex_to));
                let has_except = except.is_some();
                let (exempt_any_src, exempt_any_dst) = (ex_from.is_none(), ex_to.is_none());
                let scan = self.scan_pairs(&src, &dst, false, |a, b, allowed| {
                    let exempt = has_except && (exempt_any_src || a == 2) && (exempt_any_dst || b == 2);
                    if exempt {
                        return None;
                    }
                    let offending = match &ports {
                        Some(p) => allowed.intersection(p),
                        None => allowed.clone(),
                    };
                    (!offending.is_empty()).then_some(offending)
                });
                self.finish_pairs(&mut eval, scan, false);
                if from_internet {
                    // An entry path is exempt when every client outside that can use it is in except.from.
                    let pods = self.analysis.reach.pod_count();
                    let clients_exempt = |route: &EntryRoute| match (&ex_from, &route.clients) {
                        (None, _) => true,
                        (Some(m), None) => (pods..m.len()).all(|e| m[e]),
                        (Some(m), Some(clients)) => clients.iter().all(|&e| m[e]),
                    };
                    let at_fault = |role: u8, route: &EntryRoute| {
                        if has_except && clients_exempt(route) && (exempt_any_dst || role == 2) {
                            return None;
                        }
                        let offending = match &ports {
                            Some(p) => route.ports.intersection(p),
                            None => route.ports.clone(),
                        };
                        (!offending.is_empty()).then_some(offending)
                    };
                    self.internet_pairs(
                        &mut eval,
                        &dst,
                        |role, routes| routes.iter().any(|r| at_fault(role, r).is_some()),
                        |d, role, routes| {
                            let (mut ports, mut rules) = (PortSet::empty(), Vec::new());
                            for route in routes {
                                if let Some(p) = at_fault(role, route) {
                                    ports.union_with(&p);
                                    rules.push(self.route_line(route));
                                }
                            }
                            Violation::Allowed { src: "internet".into(), dst: self.analysis.id(d), ports, rules }
                        },
                    );
                }
                eval.detail =
                    format!("{} of {} pair(s) allowed{}", eval.count, eval.checked, entered_words(from_internet));
            }
            Assertion::AllowOnly { to, from, ports } => {
                let to_set = self.resolve(to, "allowOnly.to", &mut eval.notes)?;
                let from_set = from.as_ref().map(|f| self.resolve(f, "allowOnly.from", &mut eval.notes)).transpose()?;
                // Sources: 1 in `from` (or everyone without it), 2 anyone else.
                let src: Vec<u8> = (0..self.endpoint_count())
                    .map(|e| if from_set.as_ref().is_none_or(|f| f[e]) { 1 } else { 2 })
                    .collect();
                let dst: Vec<u8> = to_set.iter().map(|&t| t as u8).collect();
                let scan = self.scan_pairs(&src, &dst, false, |a, _, allowed| {
                    let offending = match (a, ports) {
                        (1, Some(p)) => allowed.difference(p),
                        (1, None) => PortSet::empty(),
                        _ => allowed.clone(),
                    };
                    (!offending.is_empty()).then_some(offending)
                });
                eval.detail = format!("{} of {} pair(s) into {to} break it", scan.count, scan.checked);
                self.finish_pairs(&mut eval, scan, false);
            }
            Assertion::Allow { from, to, ports } => {
                let (from_set, from_internet) = self.resolve_sources(from, "allow.from", &mut eval.notes)?;
                let src: Vec<u8> = from_set.iter().map(|&b| b as u8).collect();
                let dst: Vec<u8> = self.resolve(to, "allow.to", &mut eval.notes)?.iter().map(|&b| b as u8).collect();
                let own = if ports.is_none() { self.destination_ports(to, &mut eval.notes) } else { None };
                let lacking = |allowed: &PortSet| match (ports, &own) {
                    (Some(p), _) => Some(p.difference(allowed)).filter(|m| !m.is_empty()),
                    // Some port of the destination's own suffices, as some port does without them.
                    (None, Some(own)) => allowed.intersection(own).is_empty().then(|| own.clone()),
                    (None, None) => allowed.is_empty().then(PortSet::all),
                };
                let scan = self.scan_pairs(&src, &dst, true, |_, _, allowed| lacking(allowed));
                self.finish_pairs(&mut eval, scan, ports.is_none());
                if from_internet {
                    let entered = |routes: &[EntryRoute]| {
                        routes.iter().fold(PortSet::empty(), |mut all, r| {
                            all.union_with(&r.ports);
                            all
                        })
                    };
                    self.internet_pairs(
                        &mut eval,
                        &dst,
                        |_, routes| lacking(&entered(routes)).is_some(),
                        |d, _, routes| {
                            let allowed = entered(routes);
                            let missing = lacking(&allowed).filter(|_| ports.is_some());
                            let reasons = self.entry_misses(d, routes);
                            Violation::Missing {
                                src: "internet".into(),
                                dst: self.analysis.id(d),
                                missing,
                                allowed,
                                reasons,
                            }
                        },
                    );
                }
                let entered = entered_words(from_internet);
                eval.detail = match ports {
                    Some(_) => format!("{} of {} pair(s) lack a port listed{entered}", eval.count, eval.checked),
                    None => format!("{} of {} pair(s) not allowed{entered}", eval.count, eval.checked),
                };
            }
            Assertion::Isolated { namespaces, except, ingress, egress } => {
                self.isolated(&mut eval, namespaces.as_deref(), except, *ingress, *egress)?
            }
            Assertion::MaxReach { from, hops, at_most, node_hops, identity_hops } => {
                let (sources, from_internet) = self.resolve_sources(from, "maxReach.from", &mut eval.notes)?;
                let mut sources: Vec<usize> = (0..sources.len()).filter(|&s| sources[s]).collect();
                // The internet through the entry points is one source, after the endpoints.
                if from_internet {
                    sources.push(INTERNET);
                }
                if *identity_hops {
                    self.max_reach_with_identity(&mut eval, &sources, *hops, *at_most, *node_hops);
                } else {
                    self.max_reach(&mut eval, &sources, *hops, *at_most, *node_hops);
                }
            }
            Assertion::DenyAttack { from, to } => {
                let (sources, from_internet) = self.resolve_sources(from, "deny.from", &mut eval.notes)?;
                let sources: Vec<usize> = (0..sources.len()).filter(|&s| sources[s]).collect();
                self.deny_attack(&mut eval, &sources, from_internet, to)?;
            }
            Assertion::Mtls { from, to } => {
                let sources = match from {
                    Some(from) => Some(self.resolve(from, "mtls.from", &mut eval.notes)?),
                    None => None,
                };
                let destinations = self.resolve(to, "mtls.to", &mut eval.notes)?;
                self.mtls(&mut eval, sources.as_deref(), &destinations);
            }
        }
        if eval.status == Status::Pass && eval.count > 0 {
            eval.status = Status::Fail;
        }
        Ok(eval)
    }

    /// Every connection policy allows from a pod (of `sources`, when given) into `destinations`
    /// must run with enforced mTLS on every allowed port: plaintext and permissive ports are
    /// violations; rejected ones are not (the mesh refuses them) and external ends are out of scope.
    fn mtls(&self, eval: &mut Evaluation, sources: Option<&[bool]>, destinations: &[bool]) {
        use netreach_model::mesh::MtlsStatus;
        let view = crate::mesh::MeshView::new(self.analysis, self.analysis.mesh_options.clone());
        let pods = self.analysis.reach.pod_count();
        let _ = view.for_each_connection::<std::convert::Infallible>(|s, d, split| {
            if s >= pods || d >= pods || !destinations[d] || sources.is_some_and(|m| !m[s]) {
                return Ok(());
            }
            eval.checked += 1;
            let mut bad = PortSet::empty();
            let mut why = Vec::new();
            for (status, ports) in
                split.iter().filter(|(st, _)| matches!(st, MtlsStatus::Plaintext | MtlsStatus::Permissive))
            {
                bad.union_with(ports);
                why.push(format!("{} on {ports}", status.as_str()));
            }
            if !bad.is_empty() {
                eval.count += 1;
                if eval.violations.len() < self.limit {
                    eval.violations.push(Violation::Allowed {
                        src: self.analysis.id(s),
                        dst: self.analysis.id(d),
                        ports: bad,
                        rules: why,
                    });
                }
            }
            Ok(())
        });
        eval.detail = format!("{} of {} allowed pod connection(s) run without enforced mTLS", eval.count, eval.checked);
    }

    /// Endpoints a selection selects, as a mask over endpoint indices.
    /// The ports a selection's infrastructure destinations listen on (`kubelet`: TCP 10250),
    /// when every selector of it is one that has ports: an invariant without `ports` about
    /// them is about those ports (a node's other ports are `nodes`).
    fn destination_ports(&self, selection: &Selection, notes: &mut Vec<String>) -> Option<PortSet> {
        let mut union = PortSet::empty();
        for (_, selector) in &selection.selectors {
            let crate::select::EndpointSelector::Infrastructure(d) = selector else { return None };
            let found = self.analysis.cluster.infrastructure.iter().find(|o| o.destination == *d)?;
            union.union_with(found.ports.as_ref()?);
        }
        notes.push(format!("{selection}: the destination's own ports, {union}"));
        Some(union)
    }

    fn resolve(&self, selection: &Selection, field: &str, notes: &mut Vec<String>) -> Result<Vec<bool>, FieldError> {
        self.resolve_except(selection, field, notes, false)
    }

    /// A source selection: the endpoints judged by policy, and whether `internet` is in it and
    /// judged through the entry points instead (then its external ranges are left out).
    fn resolve_sources(
        &self,
        selection: &Selection,
        field: &str,
        notes: &mut Vec<String>,
    ) -> Result<(Vec<bool>, bool), FieldError> {
        let entered = self.internet == InternetStart::EntryPoints
            && selection.selectors.iter().any(|(_, s)| *s == EndpointSelector::Internet);
        Ok((self.resolve_except(selection, field, notes, entered)?, entered))
    }

    /// [`Checker::resolve`], without the selector `internet` when `entered`.
    fn resolve_except(
        &self,
        selection: &Selection,
        field: &str,
        notes: &mut Vec<String>,
        entered: bool,
    ) -> Result<Vec<bool>, FieldError> {
        let mut mask = vec![false; self.endpoint_count()];
        for (i, (_, selector)) in selection.selectors.iter().enumerate() {
            if entered && *selector == EndpointSelector::Internet {
                continue;
            }
            let field = if selection.selectors.len() > 1 { format!("{field}[{i}]") } else { field.to_string() };
            let selected = selector.resolve(self.analysis).map_err(|e| FieldError { field, message: e.to_string() })?;
            for e in selected {
                mask[e] = self.scope.as_ref().is_none_or(|(_, scope)| scope[e]);
            }
        }
        if !entered && !mask.contains(&true) {
            notes.push(format!("{field} {selection} selects no endpoint"));
        }
        Ok(mask)
    }

    /// Pairs from `internet` through the entry points, one per destination pod of `dst` (a
    /// non-zero role), added to the evaluation: `violates(role, routes)` says whether the routes
    /// into it break the invariant, `show` words a violation listed. Cost: one look-up per pod.
    fn internet_pairs(
        &self,
        eval: &mut Evaluation,
        dst: &[u8],
        violates: impl Fn(u8, &[EntryRoute]) -> bool,
        show: impl Fn(usize, u8, &[EntryRoute]) -> Violation,
    ) {
        let entered = self.entered();
        for d in (0..self.analysis.reach.pod_count()).filter(|&d| dst[d] > 0) {
            eval.checked += 1;
            let routes = entered.routes.get(&d).map_or(&[][..], Vec::as_slice);
            if violates(dst[d], routes) {
                eval.count += 1;
                if eval.violations.len() < self.limit {
                    eval.violations.push(show(d, dst[d], routes));
                }
            }
        }
    }

    /// One entry route for people: `entry: via LoadBalancer shop/web on TCP 8080: sees …`.
    fn route_line(&self, route: &EntryRoute) -> String {
        let hop = &route.hop;
        let through = if hop.level > 1 { format!(" through {}", self.analysis.id(hop.from)) } else { String::new() };
        format!(
            "entry: via {} {}{through} on {}: sees {}",
            hop.via.kind.as_str(),
            hop.via.name,
            route.ports,
            hop.source
        )
    }

    /// Why outside does not reach `d` on what an `allow` requires: the entry paths to it that a
    /// hop's policy denies, or that nothing publishes it.
    fn entry_misses(&self, d: usize, routes: &[EntryRoute]) -> Vec<String> {
        let mut lines: Vec<String> = routes.iter().map(|r| self.route_line(r)).collect();
        for e in self.entered().exposures.iter().filter(|e| e.pod == d && !e.reachable()) {
            let (i, hop) = e.hops.iter().enumerate().find(|(_, h)| !h.admitted()).expect("a hop is not admitted");
            lines.push(format!(
                "entry: via {} {} to {}/{}: hop {} denied by policy (sees {})",
                e.via.kind.as_str(),
                e.via.name,
                e.port,
                e.protocol.as_str(),
                i + 1,
                hop.source
            ));
        }
        if lines.is_empty() {
            lines.push(format!(
                "entry: nothing publishes {} (no LoadBalancer, NodePort, externalIP, Ingress, Gateway, hostPort or hostNetwork delivers to it)",
                self.analysis.id(d)
            ));
        }
        lines
    }

    /// Counts the violating pairs and lists the first ones. `src[e]`/`dst[e]` give each endpoint's
    /// role (0: not a source / destination); `offending(src role, dst role, allowed ports)` gives
    /// the ports at fault for a pair of that kind, `None` when it is fine. With `include_empty`,
    /// pairs with nothing allowed are asked too (for `allow`).
    fn scan_pairs(
        &self,
        src: &[u8],
        dst: &[u8],
        include_empty: bool,
        offending: impl Fn(u8, u8, &PortSet) -> Option<PortSet>,
    ) -> PairScan {
        let reach = &self.analysis.reach;
        let pods = reach.pod_count();
        let classes = reach.class_count();
        // Per class and role: how many members are pods [0] and external ranges [1].
        let mut src_n = vec![[[0u64; 2]; ROLES]; classes];
        let mut dst_n = vec![[[0u64; 2]; ROLES]; classes];
        // Pods that are source (role a) and destination (role b) at once: their self pair.
        let mut selfs: HashMap<u32, [[u64; ROLES]; ROLES]> = HashMap::new();
        let mut totals = ([[0u64; 2]; ROLES], [[0u64; 2]; ROLES], 0u64);
        for e in 0..self.endpoint_count() {
            let c = self.class(e);
            let ext = (e >= pods) as usize;
            let (a, b) = (src[e] as usize, dst[e] as usize);
            if a > 0 {
                src_n[c][a][ext] += 1;
                totals.0[a][ext] += 1;
            }
            if b > 0 {
                dst_n[c][b][ext] += 1;
                totals.1[b][ext] += 1;
            }
            if a > 0 && b > 0 && ext == 0 {
                selfs.entry(c as u32).or_insert([[0; ROLES]; ROLES])[a][b] += 1;
                totals.2 += 1;
            }
        }
        let mut checked = 0u64;
        for a in 1..ROLES {
            for b in 1..ROLES {
                let (s, d) = (totals.0[a], totals.1[b]);
                checked += s[0] * (d[0] + d[1]) + s[1] * d[0];
            }
        }
        checked -= totals.2;
        let pairs = |sc: usize, dc: usize, a: usize, b: usize| -> u64 {
            let (s, d) = (src_n[sc][a], dst_n[dc][b]);
            let mut n = s[0] * (d[0] + d[1]) + s[1] * d[0];
            if sc == dc {
                n -= selfs.get(&(sc as u32)).map_or(0, |m| m[a][b]);
            }
            n
        };
        let nonzero = |n: &[[u64; 2]; ROLES]| n.iter().any(|r| r[0] + r[1] > 0);
        let src_classes: Vec<usize> = (0..classes).filter(|&c| nonzero(&src_n[c])).collect();
        let dst_classes: Vec<usize> = (0..classes).filter(|&c| nonzero(&dst_n[c])).collect();
        // Per source class: (destination class, src role, dst role, index into `faults`).
        let mut violating: Vec<Vec<(u32, u8, u8, u32)>> = vec![Vec::new(); classes];
        let mut faults: Vec<PortSet> = Vec::new();
        let mut count = 0u64;
        let nothing = PortSet::empty();
        let mut is_dst = vec![false; classes];
        for &dc in &dst_classes {
            is_dst[dc] = true;
        }
        let mut row: Vec<(usize, &PortSet)> = Vec::new();
        for &sc in &src_classes {
            // Borrowed from the row: every destination class, or only those allowed anything.
            row.clear();
            if include_empty {
                crate::rows::row_against(reach, sc, &dst_classes, |dc, p| row.push((dc, p.unwrap_or(&nothing))));
            } else {
                row.extend(reach.class_row(sc).filter(|&(dc, p)| is_dst[dc] && !p.is_empty()));
            }
            for &(dc, allowed) in &row {
                for (a, src_count) in src_n[sc].iter().enumerate().skip(1) {
                    if *src_count == [0, 0] {
                        continue;
                    }
                    for (b, dst_count) in dst_n[dc].iter().enumerate().skip(1) {
                        if *dst_count == [0, 0] {
                            continue;
                        }
                        let n = pairs(sc, dc, a, b);
                        if n == 0 {
                            continue;
                        }
                        if let Some(fault) = offending(a as u8, b as u8, allowed) {
                            count += n;
                            violating[sc].push((dc as u32, a as u8, b as u8, faults.len() as u32));
                            faults.push(fault);
                        }
                    }
                }
            }
        }
        // The first violating pairs in (source, destination) order.
        let mut shown = Vec::new();
        let mut candidates: Vec<(u32, u32)> = Vec::new();
        for s in 0..self.endpoint_count() {
            if shown.len() >= self.limit || count == 0 {
                break;
            }
            let list = &violating[self.class(s)];
            if src[s] == 0 || list.is_empty() {
                continue;
            }
            candidates.clear();
            for &(dc, a, b, fault) in list {
                if a != src[s] {
                    continue;
                }
                for &d in reach.class_members(dc as usize) {
                    let d_us = d as usize;
                    if dst[d_us] == b && d_us != s && !(s >= pods && d_us >= pods) {
                        candidates.push((d, fault));
                    }
                }
            }
            candidates.sort_unstable();
            for &(d, fault) in candidates.iter().take(self.limit - shown.len()) {
                shown.push((s, d as usize, faults[fault as usize].clone()));
            }
        }
        PairScan { count, checked, shown }
    }

    /// Fills in the listed pair violations with their explanations (one per class pair).
    fn finish_pairs(&self, eval: &mut Evaluation, scan: PairScan, nothing_required: bool) {
        let reach = &self.analysis.reach;
        eval.count = scan.count;
        eval.checked = scan.checked;
        let mut verdicts: HashMap<(usize, usize), PairVerdict> = HashMap::new();
        for (s, d, fault) in scan.shown {
            let key = (self.class(s), self.class(d));
            let verdict = verdicts.entry(key).or_insert_with(|| explain_pair(self.analysis, s, d, None));
            let (src, dst) = (self.analysis.id(s), self.analysis.id(d));
            let violation = if eval.kind == "allow" {
                let allowed = reach.allowed(reach.endpoint(s), reach.endpoint(d));
                let mut reasons = Vec::new();
                for side in [&verdict.egress, &verdict.ingress] {
                    reasons.extend(self.denial_lines(verdict, side, s, d));
                }
                reasons.extend(self.note_lines(verdict));
                Violation::Missing { src, dst, missing: (!nothing_required).then_some(fault), allowed, reasons }
            } else {
                let mut rules = Vec::new();
                for side in [&verdict.egress, &verdict.ingress] {
                    rules.extend(self.allow_lines(side, s, d, &fault));
                }
                rules.extend(self.note_lines(verdict));
                Violation::Allowed { src, dst, ports: fault, rules }
            };
            eval.violations.push(violation);
        }
    }

    /// `note: …`, one line per note of the explanation.
    fn note_lines(&self, verdict: &PairVerdict) -> Vec<String> {
        verdict.notes.iter().map(|note| format!("note: {}", render::can::note_text(self.analysis, note))).collect()
    }

    /// Why one side lets the offending ports through: its rules, or that nothing isolates it.
    fn allow_lines(&self, side: &SideVerdict, s: usize, d: usize, fault: &PortSet) -> Vec<String> {
        let (dir, subject) = (side.direction.field(), subject(side.direction, s, d));
        if side.isolated_by.is_empty() {
            return vec![match self.analysis.pod(subject) {
                None => format!("{dir}: {} is outside the cluster: no policy applies to it", self.analysis.id(subject)),
                Some(pod) => format!("{dir}: {} is not isolated for {dir}: no NetworkPolicy selects it", pod.id()),
            }];
        }
        let lines: Vec<String> = side
            .allowed_by
            .iter()
            .filter(|r| !r.ports.intersection(fault).is_empty())
            .map(|r| format!("{dir}: {}", render::can::rule_text(self.analysis, &r.rule)))
            .collect();
        if lines.is_empty() {
            vec![format!(
                "{dir}: no NetworkPolicy rule allows it; a cluster-scoped tier does (ask `netreach can` with --port)"
            )]
        } else {
            lines
        }
    }

    /// Why one side does not let a required connection through (nothing when it allows it).
    /// (`verdict` explains the first pair of the class pair: its misses name that pair.)
    fn denial_lines(&self, verdict: &PairVerdict, side: &SideVerdict, s: usize, d: usize) -> Vec<String> {
        let (dir, subject) = (side.direction.field(), subject(side.direction, s, d));
        if side.isolated_by.is_empty() {
            return Vec::new();
        }
        let id = self.analysis.id(subject);
        if side.allowed_by.is_empty() {
            let mut out = vec![format!(
                "{dir}: {id} is isolated by {} and no {dir} rule admits the pair",
                side.isolated_by.join(", ")
            )];
            out.extend(
                side.closest_misses
                    .iter()
                    .take(3)
                    .map(|m| format!("{dir}: closest: {}", render::can::miss_text(self.analysis, verdict, side, m))),
            );
            return out;
        }
        let mut ports = PortSet::empty();
        for r in &side.allowed_by {
            ports.union_with(&r.ports);
        }
        vec![format!("{dir}: the rules of {} admit only {ports} for this pair", side.isolated_by.join(", "))]
    }

    fn isolated(
        &self,
        eval: &mut Evaluation,
        namespaces: Option<&[String]>,
        except: &[String],
        ingress: bool,
        egress: bool,
    ) -> Result<(), FieldError> {
        let cluster = &self.analysis.cluster;
        let reach = &self.analysis.reach;
        let known = |ns: &str| {
            cluster.namespaces.iter().any(|n| n.name == ns) || cluster.pods.iter().any(|p| p.namespace == ns)
        };
        for (i, ns) in namespaces.unwrap_or(&[]).iter().enumerate() {
            if !known(ns) {
                return Err(FieldError {
                    field: format!("isolated.namespaces[{i}]"),
                    message: format!("no namespace {ns:?}"),
                });
            }
        }
        for (i, ns) in except.iter().enumerate() {
            if !known(ns) {
                return Err(FieldError {
                    field: format!("isolated.except[{i}]"),
                    message: format!("no namespace {ns:?}"),
                });
            }
        }
        let wanted = |ns: &str| {
            namespaces.is_none_or(|list| list.iter().any(|n| n == ns))
                && !except.iter().any(|n| n == ns)
                && self.in_scope_namespace(ns)
        };
        let directions: Vec<Direction> = [(ingress, Direction::Ingress), (egress, Direction::Egress)]
            .into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, d)| d)
            .collect();
        // Per class: the directions in which no policy isolates it.
        let mut open_of: HashMap<usize, Vec<Direction>> = HashMap::new();
        let mut per_ns: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (i, pod) in cluster.pods.iter().enumerate() {
            if !wanted(&pod.namespace) {
                continue;
            }
            let e = reach.index_of(netreach_model::Endpoint::Pod(i as u32));
            let c = self.class(e);
            let open = open_of.entry(c).or_insert_with(|| {
                directions
                    .iter()
                    .copied()
                    .filter(|&d| reach.isolating_policies(reach.endpoint(e), d).is_empty())
                    .collect()
            });
            let entry = per_ns.entry(pod.namespace.as_str()).or_default();
            entry.1 += 1;
            eval.checked += 1;
            if open.is_empty() {
                continue;
            }
            entry.0 += 1;
            eval.count += 1;
            if eval.violations.len() < self.limit {
                let words: Vec<&str> = open.iter().map(|d| d.as_str()).collect();
                let reason = if pod.host_network {
                    "a hostNetwork pod: NetworkPolicy pod selectors do not select it (with the default --host-network node)".to_string()
                } else {
                    format!("no NetworkPolicy of namespace {} selects it for {}", pod.namespace, words.join(" or "))
                };
                eval.violations.push(Violation::NotIsolated { pod: pod.id(), directions: open.clone(), reason });
            }
        }
        let listed: Vec<String> = match namespaces {
            Some(list) => list.iter().filter(|n| wanted(n)).cloned().collect(),
            None => {
                let mut all: Vec<String> =
                    cluster.namespaces.iter().map(|n| n.name.clone()).filter(|n| wanted(n)).collect();
                all.sort();
                all
            }
        };
        let empty: Vec<&str> = listed.iter().map(String::as_str).filter(|n| !per_ns.contains_key(n)).collect();
        if !empty.is_empty() {
            eval.notes.push(format!("namespace(s) without pods: {}", empty.join(", ")));
        }
        if eval.count == 0 {
            eval.detail = format!("{} pod(s) in {} namespace(s), all isolated", eval.checked, per_ns.len());
        } else {
            let bad: Vec<String> = per_ns
                .iter()
                .filter(|(_, (open, _))| *open > 0)
                .map(|(ns, (open, all))| format!("{ns} {open}/{all}"))
                .collect();
            eval.detail = format!("{} of {} pod(s) not isolated: {}", eval.count, eval.checked, bad.join(", "));
        }
        Ok(())
    }

    fn max_reach(&self, eval: &mut Evaluation, sources: &[usize], hops: u32, at_most: u64, node_hops: bool) {
        let (cluster, reach) = (&self.analysis.cluster, &self.analysis.reach);
        let endpoints: Vec<usize> = sources.iter().copied().filter(|&s| s != INTERNET).collect();
        let radius = lateral::blast_radius(self.analysis, &endpoints, hops, node_hops);
        let mut totals: Vec<(usize, u64)> = radius.iter().map(|r| (r.source, r.total())).collect();
        // The internet: one search from every external range, entering as `paths --from internet`.
        let internet = sources.contains(&INTERNET).then(|| {
            let entries = self.entered().hops.clone();
            let answer = lateral::paths_entered(self.analysis, (&self.outside(), &[]), hops, node_hops, entries);
            totals.push((INTERNET, answer.blast_radius.first().map_or(0, lateral::BlastRadius::total)));
            answer
        });
        self.judge_reach(eval, &totals, hops, at_most, |s| {
            if let (INTERNET, Some(answer)) = (s, &internet) {
                return farthest_pods(&answer.lateral.distance, reach.pod_count(), hops)
                    .map(|t| {
                        let path = answer.path(self.analysis, t);
                        render::paths::path_text(self.analysis, path.first().map_or(t, |h| h.src), &path)
                    })
                    .collect();
            }
            let search = reach.lateral(cluster, &[s], hops, node_hops);
            farthest_pods(&search.distance, reach.pod_count(), hops)
                .map(|t| render::paths::path_text(self.analysis, s, &lateral::path(self.analysis, &search, t)))
                .collect()
        });
    }

    /// `maxReach` counting the steps of attack paths: the pods of each source's attack blast radius.
    fn max_reach_with_identity(
        &self,
        eval: &mut Evaluation,
        sources: &[usize],
        hops: u32,
        at_most: u64,
        node_hops: bool,
    ) {
        let reach = &self.analysis.reach;
        let mut graph = crate::attack::AttackGraph::new(self.analysis, &[]);
        if sources.contains(&INTERNET) {
            graph.entries = Some(self.entered().hops.clone());
        }
        let endpoints: Vec<usize> = sources.iter().copied().filter(|&s| s != INTERNET).collect();
        let radius = crate::attack::blast_radius(&graph, &endpoints, hops, node_hops);
        let mut totals: Vec<(usize, u64)> =
            radius.iter().map(|r| (r.source, r.pods.last().copied().unwrap_or(0))).collect();
        let outside = self.outside();
        let internet = (sources.contains(&INTERNET)).then(|| graph.search_entered(&outside, hops, node_hops));
        if let Some(search) = &internet {
            let total = outside.first().map_or(0, |&first| {
                crate::attack::radius::of_search(&graph, search, first, hops).pods.last().copied().unwrap_or(0)
            });
            totals.push((INTERNET, total));
        }
        self.judge_reach(eval, &totals, hops, at_most, |s| {
            let search = match (s, &internet) {
                (INTERNET, Some(search)) => search.clone(),
                _ => graph.search(&[s], hops, true, node_hops),
            };
            let mut targets: Vec<usize> = (0..reach.pod_count()).filter(|&e| search.reached(e)).collect();
            targets.sort_by_key(|&e| (std::cmp::Reverse(search.distance[e]), e));
            targets.iter().take(5).map(|&t| attack_path_text(&graph.steps(&search, t))).collect()
        });
    }

    /// Counts the sources reaching more than `at_most` pods; `paths_of` shows a few of a violator's paths.
    fn judge_reach(
        &self,
        eval: &mut Evaluation,
        totals: &[(usize, u64)],
        hops: u32,
        at_most: u64,
        paths_of: impl Fn(usize) -> Vec<String>,
    ) {
        let most = totals.iter().map(|&(_, n)| n).max().unwrap_or(0);
        for &(s, reached) in totals {
            eval.checked += 1;
            if reached <= at_most {
                continue;
            }
            eval.count += 1;
            if eval.violations.len() < self.limit {
                let paths = paths_of(s);
                let src = if s == INTERNET {
                    lateral::INTERNET_THROUGH_ENTRY_POINTS.to_string()
                } else {
                    self.analysis.id(s)
                };
                eval.violations.push(Violation::Reach { src, reached, hops, paths });
            }
        }
        eval.detail = if eval.count == 0 {
            format!("{} source(s); the most any reaches within {hops} hop(s) is {most} pod(s)", eval.checked)
        } else {
            format!(
                "{} of {} source(s) reach more than {at_most} pod(s) within {hops} hop(s) (most: {most})",
                eval.count, eval.checked
            )
        };
    }

    /// `deny` to an attack target: one attack-path search from every source at once; each target
    /// reached is a violation, shown with its shortest path.
    /// With `from_internet`, the search also starts from outside through the entry points.
    fn deny_attack(
        &self,
        eval: &mut Evaluation,
        sources: &[usize],
        from_internet: bool,
        to: &str,
    ) -> Result<(), FieldError> {
        let graph = crate::attack::AttackGraph::new(self.analysis, &crate::attack::named_secret(to));
        let targets = crate::attack::resolve_targets(&graph, to)
            .map_err(|message| FieldError { field: "deny.to".to_string(), message })?;
        let (graph, search) = if from_internet {
            let mut graph = graph;
            graph.entries = Some(self.entered().hops.clone());
            let mut all = sources.to_vec();
            all.extend(self.outside());
            all.sort_unstable();
            all.dedup();
            let search = graph.search_entered(&all, netreach_model::MAX_HOPS, true);
            (graph, search)
        } else {
            let search = graph.search(sources, netreach_model::MAX_HOPS, true, true);
            (graph, search)
        };
        let mut reached: Vec<usize> = targets.iter().copied().filter(|&t| search.reached(t)).collect();
        reached.sort_by_key(|&t| (search.distance[t], search.non_network[t], t));
        eval.checked = targets.len() as u64;
        eval.count = reached.len() as u64;
        for &t in reached.iter().take(self.limit) {
            let steps = graph.steps(&search, t);
            let src = steps.first().map_or_else(String::new, |s| s.from.clone());
            let path =
                steps.iter().map(|s| format!("{} -[{}]-> {}: {}", s.from, s.kind.as_str(), s.to, s.reason)).collect();
            eval.violations.push(Violation::AttackPath { src, target: graph.name(graph.vertex(t)), steps: path });
        }
        eval.detail = format!(
            "{} of {} target(s) reached from {} source(s){}",
            eval.count,
            eval.checked,
            sources.len() + from_internet as usize,
            entered_words(from_internet)
        );
        Ok(())
    }
}

/// The five pods reached farthest within `hops` (the long paths are the ones nobody planned).
fn farthest_pods(distance: &[u32], pods: usize, hops: u32) -> impl Iterator<Item = usize> {
    let mut targets: Vec<usize> = (0..pods).filter(|&e| distance[e] >= 1 && distance[e] <= hops).collect();
    targets.sort_by_key(|&e| (std::cmp::Reverse(distance[e]), e));
    targets.into_iter().take(5)
}

/// What a detail adds when `internet` was judged through the entry points.
fn entered_words(entered: bool) -> &'static str {
    if entered {
        " (internet through its entry points)"
    } else {
        ""
    }
}

/// An attack path on one line: `a -[network]-> b -[token]-> sa/NS/NAME`.
fn attack_path_text(steps: &[crate::attack::Step]) -> String {
    let mut text = steps.first().map_or_else(String::new, |s| s.from.clone());
    for step in steps {
        text.push_str(&format!(" -[{}]-> {}", step.kind.as_str(), step.to));
    }
    text
}

/// Whose side it is: the source's egress, the destination's ingress.
fn subject(direction: Direction, s: usize, d: usize) -> usize {
    match direction {
        Direction::Egress => s,
        Direction::Ingress => d,
    }
}

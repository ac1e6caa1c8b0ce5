//! `netreach mesh`: service-mesh (Istio, Linkerd) mTLS coverage of the connections that
//! NetworkPolicy allows.
//!
//! Each pod gets a mesh membership (`none`, `istio-sidecar`, `istio-ambient`, `linkerd`) and, as
//! a destination, the mode of each of its TCP ports (Istio's resolved PeerAuthentication mode,
//! Linkerd's default inbound policy, or plain when no proxy is on the path): the rules live in
//! [`netreach_model::mesh`]. The status of a connection on a port depends only on the source's
//! membership and the destination's port mode, so statuses are computed once per (source mesh,
//! destination profile, allowed ports) and reused; counts and group-level listings read each
//! distinct engine row once, its destination classes' members summed by (group, destination
//! profile, port set), and multiply by the source buckets (group, mesh) reading the row — never
//! per class pair or pod pair. Pods are expanded only for `--level pod` output.

mod authz;
mod authz_findings;
mod effective;
mod findings;
mod layer;
mod render;
mod waypoint;

pub use authz::AuthzIndex;
pub use effective::{CustomPorts, EffectiveConnections, EffectiveCounts, MeshPorts};
pub use findings::{audit_findings, mesh_findings, MESH_CHECKS};
pub use layer::{layer_json, layer_text, MeshLayer, MeshPairs};
pub use render::{mesh_graph, write_mesh};

use crate::aggregate::{Grouping, Level};
use crate::analysis::Analysis;
use crate::rows::PortIds;
use netreach_model::mesh::authz::{AuthzDecision, AuthzVerdict};
use netreach_model::mesh::{
    self as rules, keys, DestinationModes, IstioPolicy, Membership, MeshKind, MeshOptions, MtlsStatus, OutsideReason,
    PortMode,
};
use netreach_model::{Labels, PortSet, Protocol};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The source side of an external endpoint.
const EXTERNAL: u32 = u32::MAX;
/// The destination profile of an external endpoint.
const EXTERNAL_PROFILE: u32 = u32::MAX;

fn kind_code(kind: MeshKind) -> u8 {
    kind as u8
}

/// Statuses of one allowed port set: each status with the ports it covers, in status order.
pub type Split = Rc<[(MtlsStatus, PortSet)]>;

/// Authorization decisions on one port set of one status, in decision order.
pub type AuthzSplit = Rc<[(AuthzDecision, PortSet)]>;

/// The memo and pass maps hash small integer keys millions of times on a dense cluster:
/// foldhash, not SipHash (nothing here is keyed by untrusted input an attacker could collide).
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Default)]
struct Memo {
    ports: PortIds,
    split: FastMap<(u8, u32, u32), Split>,
    authz: FastMap<(u32, u32, MtlsStatus, u32), AuthzSplit>,
    verdicts: FastMap<(u32, u32, u32), Rc<Verdicts>>,
}

/// The whole mesh layer on one port set from one source side to one destination profile:
/// each (status, decision) with its ports, and what the coverage counts of them.
pub struct Verdicts {
    /// In status order, then decision order; no empty port set.
    pub pieces: Vec<(MtlsStatus, AuthzDecision, PortSet)>,
    /// [`weakest`] of the statuses.
    pub weakest: MtlsStatus,
    /// An AuthorizationPolicy decides some port.
    pub protected: bool,
    /// Some port stays open after mTLS and authorization (neither rejected nor denied, nor left
    /// to an external authorizer).
    pub effective: bool,
}

/// Per class: members by (source group, side) and by (destination group, profile), and per
/// (source group, side, destination group, profile) the members counted in both.
struct ClassBuckets {
    srcs: Vec<Vec<((u32, u32), u64)>>,
    dsts: Vec<Vec<((u32, u32), u64)>>,
    selfs: Vec<HashMap<(u32, u32, u32, u32), u64>>,
}

/// A row's destination members summed by (destination group, profile, port set id).
type RowSums = Rc<[(u32, u32, u32, u64)]>;

/// How many row-sum entries a group pass keeps for later readers at once (24 bytes each): past
/// it, a row read by several groups is summed again for each, so memory stays bounded when
/// groups are small (pods) and rows long.
const CACHED_ROW_SUMS: usize = 1 << 22;

/// Mesh membership and destination modes of every pod of an analysis.
pub struct MeshView<'a> {
    pub analysis: &'a Analysis,
    pub options: MeshOptions,
    /// Per pod (`Cluster::pods` order).
    pub membership: Vec<Membership>,
    /// Per pod: the PeerAuthentications that decide its mode (pods in an Istio mesh only).
    pub istio: Vec<Option<IstioPolicy>>,
    /// Distinct destination profiles (port modes; authorization key in `profile_target`);
    /// `profile_of[pod]` indexes it.
    pub profiles: Vec<DestinationModes>,
    profile_target: Vec<Option<u32>>,
    profile_of: Vec<u32>,
    /// Distinct source sides: the mesh and the authorization source key; `side_of[pod]`
    /// indexes it.
    sides: Vec<(MeshKind, Option<u32>)>,
    side_of: Vec<u32>,
    /// Istio AuthorizationPolicies and what they tell apart.
    pub authz: AuthzIndex<'a>,
    /// Settings that could not be read (unknown annotation values), for stderr.
    pub notes: Vec<String>,
    /// `-n/--namespace` with files: the namespaces the report is narrowed to (empty: all).
    /// The whole cluster is analyzed; only what is shown changes ([`MeshView::narrow`]).
    pub shown_namespaces: Vec<String>,
    memo: RefCell<Memo>,
}

/// One namespace's coverage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamespaceCoverage {
    pub namespace: String,
    /// The mesh the namespace enables, if any.
    pub mesh: Option<MeshKind>,
    pub pods: u64,
    /// Pods per [`MeshKind`] (`MeshKind::ALL` order).
    pub pods_by_mesh: [u64; 4],
    /// Ordered pairs (source pod anywhere, destination pod here) with anything allowed.
    pub pairs: u64,
    /// Those pairs by their weakest status: plaintext if any allowed port is plaintext, else
    /// permissive, else mtls; rejected when every allowed port is rejected.
    pub mtls: u64,
    pub permissive: u64,
    pub plaintext: u64,
    pub rejected: u64,
    /// Pairs between a pod of this namespace and an external range, either way.
    pub not_applicable: u64,
    /// Pairs (of `pairs`) on which an Istio AuthorizationPolicy decides some port.
    pub authz_protected: u64,
    /// Pairs (of `pairs`) with some port open after NetworkPolicy, mTLS and authorization.
    pub effective: u64,
}

impl NamespaceCoverage {
    pub fn pods_in_mesh(&self) -> u64 {
        self.pods - self.pods_by_mesh[0]
    }

    /// Share of the namespace's pods in a mesh; `None` without pods.
    pub fn pod_coverage(&self) -> Option<f64> {
        (self.pods > 0).then(|| self.pods_in_mesh() as f64 / self.pods as f64)
    }

    /// Share of the allowed pairs into the namespace that are mTLS on every port.
    pub fn connection_coverage(&self) -> Option<f64> {
        (self.pairs > 0).then(|| self.mtls as f64 / self.pairs as f64)
    }

    fn add(&mut self, other: &NamespaceCoverage) {
        self.pods += other.pods;
        for (a, b) in self.pods_by_mesh.iter_mut().zip(other.pods_by_mesh) {
            *a += b;
        }
        self.pairs += other.pairs;
        self.mtls += other.mtls;
        self.permissive += other.permissive;
        self.plaintext += other.plaintext;
        self.rejected += other.rejected;
        self.not_applicable += other.not_applicable;
        self.authz_protected += other.authz_protected;
        self.effective += other.effective;
    }
}

/// Allowed traffic between two groups with one status, merged over their member pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupStatus {
    pub src: usize,
    pub dst: usize,
    pub status: MtlsStatus,
    /// The authorization decision on these ports.
    pub authz: AuthzDecision,
    /// Union of the ports with this status and decision over the member pairs.
    pub ports: PortSet,
    /// Member pairs with this status on some port.
    pub pairs: u64,
}

/// A pod outside the mesh its namespace enables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutsidePod {
    pub pod: usize,
    pub namespace_mesh: MeshKind,
    pub reason: OutsideReason,
}

/// The weakest status among a pair's ports (see [`NamespaceCoverage`]).
pub fn weakest(split: &[(MtlsStatus, PortSet)]) -> MtlsStatus {
    [MtlsStatus::NotApplicable, MtlsStatus::Plaintext, MtlsStatus::Permissive, MtlsStatus::Mtls]
        .into_iter()
        .find(|s| split.iter().any(|(x, _)| x == s))
        .unwrap_or(MtlsStatus::Rejected)
}

impl<'a> MeshView<'a> {
    pub fn new(analysis: &'a Analysis, options: MeshOptions) -> MeshView<'a> {
        let cluster = &analysis.cluster;
        let empty = Labels::new();
        let ns_labels: HashMap<&str, &Labels> =
            cluster.namespaces.iter().map(|n| (n.name.as_str(), &n.labels)).collect();
        let mut notes = Vec::new();
        let mut membership = Vec::with_capacity(cluster.pods.len());
        let mut istio = Vec::with_capacity(cluster.pods.len());
        let mut profiles: Vec<DestinationModes> = Vec::new();
        let mut interned: HashMap<(DestinationModes, Option<u32>), u32> = HashMap::new();
        let mut profile_target = Vec::new();
        let mut profile_of: Vec<DestinationModes> = Vec::with_capacity(cluster.pods.len());
        let root = options.istio_root_namespace.as_str();
        for pod in &cluster.pods {
            let labels = ns_labels.get(pod.namespace.as_str()).copied().unwrap_or(&empty);
            let annotations = cluster.mesh.namespace_annotations.get(&pod.namespace).unwrap_or(&empty);
            let m = rules::membership(labels, annotations, pod);
            let mut policy = None;
            let modes = match m.kind {
                MeshKind::None => DestinationModes::uniform(PortMode::Plain),
                MeshKind::IstioSidecar | MeshKind::IstioAmbient => {
                    let p = cluster.mesh.istio_policy(root, &pod.namespace, &pod.labels);
                    let wrap = |mode| {
                        if m.kind == MeshKind::IstioSidecar {
                            PortMode::IstioSidecar(mode)
                        } else {
                            PortMode::IstioAmbient(mode)
                        }
                    };
                    let mut layers: Vec<(u16, u16, PortMode)> =
                        p.port_modes.iter().map(|(&port, &mode)| (port, port, wrap(mode))).collect();
                    // Ports excluded from the sidecar's inbound capture reach the app directly.
                    if m.kind == MeshKind::IstioSidecar {
                        layers.extend(bypass(pod, None, keys::ISTIO_EXCLUDE_INBOUND_PORTS, &mut notes));
                    }
                    let modes = DestinationModes::layered(wrap(p.mode), layers);
                    policy = Some(p);
                    modes
                }
                MeshKind::Linkerd => {
                    let policy = rules::linkerd_policy(annotations, pod, options.linkerd_default_policy)
                        .unwrap_or_else(|bad| {
                            notes.push(format!(
                                "{}: unknown {} {bad:?}; the default {} applies",
                                pod.id(),
                                keys::LINKERD_DEFAULT_INBOUND_POLICY,
                                options.linkerd_default_policy
                            ));
                            options.linkerd_default_policy
                        });
                    let layers = bypass(pod, Some(annotations), keys::LINKERD_SKIP_INBOUND_PORTS, &mut notes);
                    DestinationModes::layered(PortMode::Linkerd(policy), layers)
                }
            };
            membership.push(m);
            istio.push(policy);
            profile_of.push(modes);
        }
        let authz = AuthzIndex::new(cluster, &membership, &options);
        notes.extend(authz.notes.iter().cloned());
        let profile_of: Vec<u32> = profile_of
            .into_iter()
            .enumerate()
            .map(|(pod, modes)| {
                let key = (modes, authz.target_of(pod));
                *interned.entry(key.clone()).or_insert_with(|| {
                    profiles.push(key.0);
                    profile_target.push(key.1);
                    (profiles.len() - 1) as u32
                })
            })
            .collect();
        let mut side_ids: HashMap<(MeshKind, Option<u32>), u32> = HashMap::new();
        let mut sides = Vec::new();
        let side_of = (0..cluster.pods.len())
            .map(|pod| {
                let key = (membership[pod].kind, authz.source_of(pod));
                *side_ids.entry(key).or_insert_with(|| {
                    sides.push(key);
                    (sides.len() - 1) as u32
                })
            })
            .collect();
        MeshView {
            analysis,
            options,
            membership,
            istio,
            profiles,
            profile_target,
            profile_of,
            sides,
            side_of,
            authz,
            notes,
            shown_namespaces: Vec::new(),
            memo: RefCell::default(),
        }
    }

    /// Narrows what the report shows to `namespaces`, as `-n` does for `connectivity` and
    /// `audit`: coverage rows and pods outside the mesh of these namespaces, connections with an
    /// end in one of them, and the findings that concern them. Empty: everything.
    pub fn narrow(mut self, namespaces: &[String]) -> Self {
        self.shown_namespaces = namespaces.to_vec();
        self
    }

    /// Whether something in `namespace` (`None`: an external range) is shown.
    pub fn shows(&self, namespace: Option<&str>) -> bool {
        self.shown_namespaces.is_empty() || namespace.is_some_and(|ns| self.shown_namespaces.iter().any(|n| n == ns))
    }

    /// Whether the endpoint is shown: a pod of a shown namespace.
    pub fn shows_endpoint(&self, endpoint: usize) -> bool {
        // Checked per connection at pod level: no pod lookup when nothing is narrowed.
        self.shown_namespaces.is_empty() || self.shows(self.analysis.pod(endpoint).map(|p| p.namespace.as_str()))
    }

    /// The mesh findings (NR101–NR109) that concern the shown namespaces.
    pub fn shown_findings(&self) -> Vec<crate::findings::Finding> {
        let mut found = findings::mesh_findings(self);
        if !self.shown_namespaces.is_empty() {
            found.retain(|f| f.concerns(&self.shown_namespaces));
        }
        found
    }

    /// What the mesh layer reads of an endpoint: its source side and destination profile.
    pub fn authz_key(&self, endpoint: usize) -> (u32, u32) {
        (self.side(endpoint), self.profile(endpoint))
    }

    fn side(&self, endpoint: usize) -> u32 {
        self.side_of.get(endpoint).copied().unwrap_or(EXTERNAL)
    }

    /// The policies this view does not evaluate: the cluster's, but the AuthorizationPolicies it
    /// applies.
    pub fn unevaluated_policies(&self) -> Vec<netreach_model::UnevaluatedPolicy> {
        let evaluated = crate::load::AUTHZ_EVALUATED_BY_MESH;
        let cluster = &self.analysis.cluster;
        cluster.unevaluated_policies.iter().filter(|p| p.effect != evaluated).cloned().collect()
    }

    /// The mesh of a source side; `None` for an external range.
    fn side_kind(&self, side: u32) -> Option<MeshKind> {
        self.sides.get(side as usize).map(|s| s.0)
    }

    fn profile(&self, endpoint: usize) -> u32 {
        self.profile_of.get(endpoint).copied().unwrap_or(EXTERNAL_PROFILE)
    }

    /// The mesh of an endpoint: `None` for external ranges.
    pub fn mesh_of(&self, endpoint: usize) -> Option<MeshKind> {
        self.membership.get(endpoint).map(|m| m.kind)
    }

    /// The destination profile of a pod (index into `profiles`).
    pub fn profile_of(&self, pod: usize) -> &DestinationModes {
        &self.profiles[self.profile_of[pod] as usize]
    }

    fn split_for(&self, side: u32, profile: u32, ports: &PortSet) -> Split {
        let port_id = self.memo.borrow_mut().ports.intern(ports);
        self.split_of(side, profile, port_id)
    }

    /// The id of a port set borrowed from the engine (looked up by address first).
    fn engine_ports(&self, ports: &PortSet) -> u32 {
        self.memo.borrow_mut().ports.id_of(ports)
    }

    fn split_of(&self, side: u32, profile: u32, port_id: u32) -> Split {
        // The statuses depend on the source's mesh only.
        let source = self.side_kind(side);
        let code = source.map_or(u8::MAX, kind_code);
        if let Some(s) = self.memo.borrow().split.get(&(code, profile, port_id)) {
            return s.clone();
        }
        let ports = self.memo.borrow().ports.values[port_id as usize].clone();
        let split: Split = self.compute_split(source, profile, &ports).into();
        self.memo.borrow_mut().split.insert((code, profile, port_id), split.clone());
        split
    }

    /// The authorization decisions on `ports` of one `status` from `side` to `profile`.
    pub fn authz_of(&self, side: u32, profile: u32, status: MtlsStatus, ports: &PortSet) -> AuthzSplit {
        let port_id = self.memo.borrow_mut().ports.intern(ports);
        let key = (side, profile, status, port_id);
        if let Some(s) = self.memo.borrow().authz.get(&key) {
            return s.clone();
        }
        let split: AuthzSplit = self.decide(side, profile, status, ports).into();
        self.memo.borrow_mut().authz.insert(key, split.clone());
        split
    }

    /// [`authz_of`](Self::authz_of) without the memo, for callers that keep the result.
    fn decide(&self, side: u32, profile: u32, status: MtlsStatus, ports: &PortSet) -> Vec<(AuthzDecision, PortSet)> {
        let source = self.sides.get(side as usize).and_then(|s| s.1);
        let (target, pieces) = match self.profile_target.get(profile as usize) {
            Some(&target) => (target, self.profiles[profile as usize].pieces()),
            None => (None, Vec::new()),
        };
        self.authz.decide(source, target, &pieces, status, ports)
    }

    /// [`Verdicts`] of `port_id` from `side` to `profile`, memoized.
    fn verdicts(&self, side: u32, profile: u32, port_id: u32) -> Rc<Verdicts> {
        if let Some(v) = self.memo.borrow().verdicts.get(&(side, profile, port_id)) {
            return v.clone();
        }
        let split = self.split_of(side, profile, port_id);
        let mut pieces = Vec::new();
        let (mut protected, mut effective) = (false, false);
        for (status, status_ports) in split.iter() {
            // Kept here only: the per-status memo would hold the same decisions twice.
            for (decision, ports) in self.decide(side, profile, *status, status_ports) {
                protected |= decision.basis.is_protected();
                effective |= *status != MtlsStatus::Rejected && decision.verdict == AuthzVerdict::Allow;
                pieces.push((*status, decision, ports));
            }
        }
        let v = Rc::new(Verdicts { pieces, weakest: weakest(&split), protected, effective });
        self.memo.borrow_mut().verdicts.insert((side, profile, port_id), v.clone());
        v
    }

    /// The authorization decisions of the connection `src → dst` (endpoint indices) on `ports`
    /// of one status.
    pub fn authz_between(&self, src: usize, dst: usize, status: MtlsStatus, ports: &PortSet) -> AuthzSplit {
        self.authz_of(self.side(src), self.profile(dst), status, ports)
    }

    fn compute_split(&self, source: Option<MeshKind>, profile: u32, ports: &PortSet) -> Vec<(MtlsStatus, PortSet)> {
        let Some(source) = source.filter(|_| profile != EXTERNAL_PROFILE) else {
            return vec![(MtlsStatus::NotApplicable, ports.clone())];
        };
        let mut by_status: Vec<(MtlsStatus, PortSet)> = Vec::new();
        let mut add = |status: MtlsStatus, set: PortSet| merge_ports(&mut by_status, status, set);
        // The meshes carry TCP only: UDP and SCTP travel in plaintext whatever the modes.
        add(MtlsStatus::Plaintext, ports.difference(&PortSet::all_of(Protocol::Tcp)));
        for (lo, hi, mode) in self.profiles[profile as usize].pieces() {
            let part = ports.intersection(&PortSet::range(Protocol::Tcp, lo, hi));
            add(rules::status(source, mode), part);
        }
        by_status.sort_by_key(|(s, _)| *s);
        by_status
    }

    /// Statuses of the connection `src → dst` (endpoint indices) on `ports`.
    pub fn statuses(&self, src: usize, dst: usize, ports: &PortSet) -> Split {
        self.split_for(self.side(src), self.profile(dst), ports)
    }

    /// Statuses of everything policy allows from `src` to `dst` (empty when denied).
    pub fn between(&self, src: usize, dst: usize) -> Split {
        let reach = &self.analysis.reach;
        match reach.class_allowed(reach.class_of(reach.endpoint(src)), reach.class_of(reach.endpoint(dst))) {
            Some(ports) if !ports.is_empty() => {
                self.split_of(self.side(src), self.profile(dst), self.engine_ports(ports))
            }
            _ => Vec::new().into(),
        }
    }

    /// Every allowed connection with its statuses, in (source, destination) order, as
    /// `connectivity` lists them: `f(src, dst, split)`.
    pub fn for_each_connection<E>(
        &self,
        mut f: impl FnMut(usize, usize, &[(MtlsStatus, PortSet)]) -> Result<(), E>,
    ) -> Result<(), E> {
        self.analysis.reach.for_each_connection(|s, d, ports| f(s, d, &self.statuses(s, d, ports)))
    }

    /// Per class: its members bucketed by (source group, mesh) and by (destination group,
    /// destination profile), and the members in both buckets at once (their pair with
    /// themselves is not counted).
    fn buckets(&self, src_group: impl Fn(usize) -> u32, dst_group: impl Fn(usize) -> u32) -> ClassBuckets {
        let reach = &self.analysis.reach;
        let classes = reach.class_count();
        let mut buckets = ClassBuckets {
            srcs: Vec::with_capacity(classes),
            dsts: Vec::with_capacity(classes),
            selfs: Vec::with_capacity(classes),
        };
        for c in 0..classes {
            let mut s: HashMap<(u32, u32), u64> = HashMap::new();
            let mut d: HashMap<(u32, u32), u64> = HashMap::new();
            let mut me: HashMap<(u32, u32, u32, u32), u64> = HashMap::new();
            for &e in reach.class_members(c) {
                let e = e as usize;
                let (gs, gd, side, profile) = (src_group(e), dst_group(e), self.side(e), self.profile(e));
                *s.entry((gs, side)).or_default() += 1;
                *d.entry((gd, profile)).or_default() += 1;
                *me.entry((gs, side, gd, profile)).or_default() += 1;
            }
            let mut s: Vec<_> = s.into_iter().collect();
            let mut d: Vec<_> = d.into_iter().collect();
            s.sort_unstable();
            d.sort_unstable();
            buckets.srcs.push(s);
            buckets.dsts.push(d);
            buckets.selfs.push(me);
        }
        buckets
    }

    /// What a row reaches, summed by (destination group, profile, port set id) over its
    /// destination classes' members: computed once per row, it lets a pass multiply per source
    /// bucket instead of walking the row per source class.
    fn row_sums(&self, class: usize, buckets: &ClassBuckets) -> RowSums {
        let mut sums: FastMap<(u32, u32, u32), u64> = FastMap::default();
        for (dc, ports) in self.analysis.reach.class_row(class) {
            let port_id = self.engine_ports(ports);
            for &((gd, profile), nd) in &buckets.dsts[dc] {
                *sums.entry((gd, profile, port_id)).or_default() += nd;
            }
        }
        sums.into_iter().map(|((gd, profile, port_id), n)| (gd, profile, port_id, n)).collect()
    }

    /// The port set id of what a class allows to itself, if anything: its members' pairs with
    /// themselves are in the row sums and must come off.
    fn self_ports(&self, class: usize) -> Option<u32> {
        let reach = &self.analysis.reach;
        reach.class_allowed(class, class).filter(|p| !p.is_empty()).map(|p| self.engine_ports(p))
    }

    /// Walks every row once, the sources of the row (every class reading it) bucketed by
    /// (source group, mesh) against its [`row_sums`](Self::row_sums): `visit(src group, source
    /// side, dst group, destination profile, member pairs, port set id)` once per distinct key.
    /// Pairs of an endpoint with itself and of two external ranges are not counted. Cost: per
    /// row, its entries plus (source buckets × distinct destination keys); never per class pair.
    fn class_pass(
        &self,
        src_group: impl Fn(usize) -> u32,
        dst_group: impl Fn(usize) -> u32,
        mut visit: impl FnMut(u32, u32, u32, u32, u64, u32),
    ) {
        let reach = &self.analysis.reach;
        let buckets = self.buckets(src_group, dst_group);
        // Per row: its sources' buckets, summed over the classes reading it, and those classes.
        let mut row_srcs: Vec<FastMap<(u32, u32), u64>> = vec![FastMap::default(); reach.row_count()];
        let mut row_classes: Vec<Vec<usize>> = vec![Vec::new(); reach.row_count()];
        for (c, srcs) in buckets.srcs.iter().enumerate() {
            row_classes[reach.row_of(c)].push(c);
            for &(key, n) in srcs {
                *row_srcs[reach.row_of(c)].entry(key).or_default() += n;
            }
        }
        let mut selfs: FastMap<(u32, u32, u32, u32, u32), u64> = FastMap::default();
        for (r, srcs) in row_srcs.into_iter().enumerate() {
            if srcs.is_empty() {
                continue;
            }
            selfs.clear();
            for &c in &row_classes[r] {
                let Some(port_id) = self.self_ports(c) else { continue };
                for (&(gs, side, gd, profile), &n) in &buckets.selfs[c] {
                    *selfs.entry((gs, side, gd, profile, port_id)).or_default() += n;
                }
            }
            let sums = self.row_sums(row_classes[r][0], &buckets);
            for (&(gs, side), &ns) in &srcs {
                for &(gd, profile, port_id, nd) in sums.iter() {
                    if side == EXTERNAL && profile == EXTERNAL_PROFILE {
                        continue;
                    }
                    let mut pairs = ns * nd;
                    if !selfs.is_empty() {
                        pairs -= selfs.get(&(gs, side, gd, profile, port_id)).copied().unwrap_or(0);
                    }
                    if pairs > 0 {
                        visit(gs, side, gd, profile, pairs, port_id);
                    }
                }
            }
        }
    }

    /// [`class_pass`](Self::class_pass) with the sources told apart by side only, destination
    /// major: per destination class, the sources of the rows reaching it summed by (side, port
    /// set), then multiplied by the class's destination buckets: `visit(source side, dst group,
    /// destination profile, member pairs, port set id)`. A fine destination grouping (workloads)
    /// then costs per (destination class, side, port set, bucket), not per (row, destination
    /// member). Rows are walked once, a slice of destination classes at a time, so the sums held
    /// stay bounded.
    fn destination_pass(&self, dst_group: impl Fn(usize) -> u32, mut visit: impl FnMut(u32, u32, u32, u64, u32)) {
        const SLICE: usize = 1024;
        let reach = &self.analysis.reach;
        let buckets = self.buckets(|_| 0, dst_group);
        let rep = crate::rows::representatives(reach);
        let mut row_sides: Vec<FastMap<u32, u64>> = vec![FastMap::default(); reach.row_count()];
        for (c, srcs) in buckets.srcs.iter().enumerate() {
            for &((_, side), n) in srcs {
                *row_sides[reach.row_of(c)].entry(side).or_default() += n;
            }
        }
        // Rows with sources, each with its sides and its entries still to read (ascending).
        let mut rows: Vec<_> = row_sides
            .into_iter()
            .enumerate()
            .filter(|(_, sides)| !sides.is_empty())
            .map(|(r, sides)| (sides.into_iter().collect::<Vec<_>>(), reach.class_row(rep[r]).peekable()))
            .collect();
        let classes = reach.class_count();
        let mut into: Vec<FastMap<(u32, u32), u64>> = vec![FastMap::default(); SLICE.min(classes)];
        for start in (0..classes).step_by(SLICE) {
            let end = (start + SLICE).min(classes);
            for (sides, row) in &mut rows {
                while let Some((dc, ports)) = row.next_if(|&(dc, _)| dc < end) {
                    let port_id = self.engine_ports(ports);
                    for &(side, n) in sides.iter() {
                        *into[dc - start].entry((side, port_id)).or_default() += n;
                    }
                }
            }
            for dc in start..end {
                // A member's pair with itself is counted on what its class allows to itself.
                let self_port = self.self_ports(dc);
                for ((side, port_id), ns) in into[dc - start].drain() {
                    for &((gd, profile), nd) in &buckets.dsts[dc] {
                        if side == EXTERNAL && profile == EXTERNAL_PROFILE {
                            continue;
                        }
                        let mut pairs = ns * nd;
                        if self_port == Some(port_id) {
                            pairs -= buckets.selfs[dc].get(&(0, side, gd, profile)).copied().unwrap_or(0);
                        }
                        if pairs > 0 {
                            visit(side, gd, profile, pairs, port_id);
                        }
                    }
                }
            }
        }
    }

    /// Namespace names in order: those of the cluster, then any a pod uses without a Namespace.
    fn namespace_names(&self) -> Vec<String> {
        let cluster = &self.analysis.cluster;
        let names: std::collections::BTreeSet<&str> = cluster
            .namespaces
            .iter()
            .map(|n| n.name.as_str())
            .chain(cluster.pods.iter().map(|p| p.namespace.as_str()))
            .collect();
        names.into_iter().map(str::to_string).collect()
    }

    /// Coverage per namespace with pods, by name; counts per class pair, never per pod pair.
    pub fn coverage(&self) -> Vec<NamespaceCoverage> {
        let cluster = &self.analysis.cluster;
        let names = self.namespace_names();
        let index: HashMap<&str, u32> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i as u32)).collect();
        let empty = Labels::new();
        let mut out: Vec<NamespaceCoverage> = names
            .iter()
            .map(|n| {
                let labels = cluster.namespaces.iter().find(|x| &x.name == n).map_or(&empty, |x| &x.labels);
                let annotations = cluster.mesh.namespace_annotations.get(n).unwrap_or(&empty);
                NamespaceCoverage {
                    namespace: n.clone(),
                    mesh: rules::namespace_mesh(labels, annotations),
                    ..Default::default()
                }
            })
            .collect();
        let pod_ns: Vec<u32> = cluster.pods.iter().map(|p| index[p.namespace.as_str()]).collect();
        for (p, m) in self.membership.iter().enumerate() {
            let c = &mut out[pod_ns[p] as usize];
            c.pods += 1;
            c.pods_by_mesh[kind_code(m.kind) as usize] += 1;
        }
        let ns_of = |e: usize| pod_ns.get(e).copied().unwrap_or(u32::MAX);
        self.class_pass(ns_of, ns_of, |gs, side, gd, profile, pairs, port_id| {
            if side == EXTERNAL {
                out[gd as usize].not_applicable += pairs;
            } else if profile == EXTERNAL_PROFILE {
                out[gs as usize].not_applicable += pairs;
            } else {
                let v = self.verdicts(side, profile, port_id);
                let c = &mut out[gd as usize];
                c.pairs += pairs;
                c.authz_protected += if v.protected { pairs } else { 0 };
                c.effective += if v.effective { pairs } else { 0 };
                match v.weakest {
                    MtlsStatus::Mtls => c.mtls += pairs,
                    MtlsStatus::Permissive => c.permissive += pairs,
                    MtlsStatus::Plaintext => c.plaintext += pairs,
                    _ => c.rejected += pairs,
                }
            }
        });
        out.retain(|c| c.pods > 0);
        out
    }

    /// The whole cluster's coverage (namespace `*`).
    pub fn total(coverage: &[NamespaceCoverage]) -> NamespaceCoverage {
        let mut total = NamespaceCoverage { namespace: "*".into(), ..Default::default() };
        for c in coverage {
            total.add(c);
        }
        total
    }

    /// Allowed traffic between groups of `grouping`, one entry per (group pair, status), sorted
    /// by source, destination and status. A group's traffic to itself is included.
    pub fn group_statuses(&self, grouping: &Grouping) -> Vec<GroupStatus> {
        let mut out = Vec::new();
        let _ = self.for_each_group_status::<std::convert::Infallible>(grouping, |g| {
            out.push(g);
            Ok(())
        });
        out
    }

    /// [`group_statuses`](Self::group_statuses) one source group at a time, in the same order,
    /// so memory follows one group's entries, not all of them: `f(entry)`. A source group reads
    /// the [`row_sums`](Self::row_sums) of its members' rows once per (row, side); each row's
    /// sums are built once and dropped after the last group reading it (within
    /// [`CACHED_ROW_SUMS`]). The statuses and
    /// decisions are looked up once per distinct (side, destination group, profile, port set).
    pub fn for_each_group_status<E>(
        &self,
        grouping: &Grouping,
        mut f: impl FnMut(GroupStatus) -> Result<(), E>,
    ) -> Result<(), E> {
        let reach = &self.analysis.reach;
        let group_of = |e: usize| grouping.group_of(e) as u32;
        let buckets = self.buckets(group_of, group_of);
        let rep = crate::rows::representatives(reach);
        // Per source group: (row, side) of its members with counts, in first-seen order.
        let mut sources: Vec<Vec<((usize, u32), u64)>> = Vec::with_capacity(grouping.groups.len());
        let mut readers = vec![0u32; reach.row_count()];
        for group in &grouping.groups {
            let mut keys: Vec<((usize, u32), u64)> = Vec::new();
            for &e in &group.members {
                let key = (reach.row_of(reach.class_of(reach.endpoint(e))), self.side(e));
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 += 1,
                    None => keys.push((key, 1)),
                }
            }
            for (i, &((r, _), _)) in keys.iter().enumerate() {
                if !keys[..i].iter().any(|((r2, _), _)| *r2 == r) {
                    readers[r] += 1;
                }
            }
            sources.push(keys);
        }
        let mut sums: Vec<Option<RowSums>> = vec![None; reach.row_count()];
        let mut cached = 0usize;
        let mut pairs_of: FastMap<(u32, u32, u32, u32), u64> = FastMap::default();
        // Per (destination group, status, decision): its index in `entries` while the source
        // group is open.
        let mut slot: FastMap<(u32, MtlsStatus, AuthzDecision), usize> = FastMap::default();
        let mut entries: Vec<GroupStatus> = Vec::new();
        for (gs, group) in grouping.groups.iter().enumerate() {
            pairs_of.clear();
            for (i, &((r, side), ns)) in sources[gs].iter().enumerate() {
                let row = match &sums[r] {
                    Some(row) => row.clone(),
                    None => {
                        let row = self.row_sums(rep[r], &buckets);
                        if readers[r] > 1 && cached + row.len() <= CACHED_ROW_SUMS {
                            cached += row.len();
                            sums[r] = Some(row.clone());
                        }
                        row
                    }
                };
                for &(gd, profile, port_id, nd) in row.iter() {
                    if side == EXTERNAL && profile == EXTERNAL_PROFILE {
                        continue;
                    }
                    *pairs_of.entry((side, gd, profile, port_id)).or_default() += ns * nd;
                }
                if !sources[gs][..i].iter().any(|((r2, _), _)| *r2 == r) {
                    readers[r] -= 1;
                    if readers[r] == 0 {
                        cached -= sums[r].take().map_or(0, |row| row.len());
                    }
                }
            }
            // A member's pair with itself is in its row's sums: take it off.
            for &e in &group.members {
                let Some(port_id) = self.self_ports(reach.class_of(reach.endpoint(e))) else { continue };
                if let Some(n) = pairs_of.get_mut(&(self.side(e), gs as u32, self.profile(e), port_id)) {
                    *n -= 1;
                }
            }
            for (&(side, gd, profile, port_id), &pairs) in &pairs_of {
                if pairs == 0 {
                    continue;
                }
                for (status, authz, ports) in &self.verdicts(side, profile, port_id).pieces {
                    let k = (gd, *status, *authz);
                    match slot.get(&k) {
                        Some(&i) => {
                            entries[i].ports.union_with(ports);
                            entries[i].pairs += pairs;
                        }
                        None => {
                            slot.insert(k, entries.len());
                            entries.push(GroupStatus {
                                src: gs,
                                dst: gd as usize,
                                status: *status,
                                authz: *authz,
                                ports: ports.clone(),
                                pairs,
                            });
                        }
                    }
                }
            }
            entries.sort_unstable_by_key(|g| (g.dst, g.status, g.authz));
            slot.clear();
            for entry in entries.drain(..) {
                f(entry)?;
            }
        }
        Ok(())
    }

    /// Pods outside the mesh their namespace enables, in pod order.
    pub fn outside(&self) -> Vec<OutsidePod> {
        self.membership
            .iter()
            .enumerate()
            .filter_map(|(pod, m)| {
                let reason = m.outside.clone()?;
                Some(OutsidePod { pod, namespace_mesh: m.namespace_mesh?, reason })
            })
            .collect()
    }

    /// The grouping of `level` over this analysis.
    pub fn grouping(&self, level: Level) -> Grouping {
        Grouping::new(self.analysis, level)
    }
}

/// Where a decision was taken when a waypoint is on the path: `at waypoint ns/name`, or
/// `behind waypoint ns/name` (the destination's policies, which see the waypoint's identity).
fn waypoint_words(view: &MeshView, d: &AuthzDecision) -> Option<String> {
    use netreach_model::mesh::authz::Enforcement;
    let route = d.at.route()?;
    let waypoint = view.authz.waypoint_of_route(route);
    Some(match d.at {
        Enforcement::Waypoint(_) => format!("at waypoint {waypoint}"),
        _ => format!("at the destination, behind waypoint {waypoint} (whose identity it sees)"),
    })
}

/// Adds `set` to the entry of `key` in a (key, ports) list, or appends one; an empty set adds
/// nothing.
fn merge_ports<K: PartialEq>(list: &mut Vec<(K, PortSet)>, key: K, set: PortSet) {
    if set.is_empty() {
        return;
    }
    match list.iter_mut().find(|(k, _)| *k == key) {
        Some((_, p)) => p.union_with(&set),
        None => list.push((key, set)),
    }
}

/// Ports of `key` on the pod (else, when `ns` is given, on its namespace) that bypass the
/// proxy, as plain layers; an unreadable value is a note and bypasses nothing.
fn bypass(
    pod: &netreach_model::Pod,
    ns: Option<&Labels>,
    key: &str,
    notes: &mut Vec<String>,
) -> Vec<(u16, u16, PortMode)> {
    let Some(value) = pod.annotations.get(key).or_else(|| ns.and_then(|a| a.get(key))) else {
        return Vec::new();
    };
    match rules::parse_port_list(value) {
        Ok(ranges) => ranges.into_iter().map(|(lo, hi)| (lo, hi, PortMode::Plain)).collect(),
        Err(e) => {
            notes.push(format!("{}: {key}: {e}; ignored", pod.id()));
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::{Cluster, EngineOptions, Namespace, Pod};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn statuses_split_ports_and_protocols() {
        // One sidecar namespace without PeerAuthentication (PERMISSIVE), a pod opting out.
        let ns = Namespace::new("a", labels(&[("istio-injection", "enabled")]));
        let meshed = Pod::new("a", "m", Labels::new());
        let plain = Pod::new("a", "p", labels(&[("sidecar.istio.io/inject", "false")]));
        let cluster = Cluster { namespaces: vec![ns], pods: vec![meshed, plain], ..Default::default() };
        let analysis = Analysis::new(cluster, &EngineOptions::default());
        let view = MeshView::new(&analysis, MeshOptions::default());
        assert_eq!(view.mesh_of(0), Some(MeshKind::IstioSidecar));
        assert_eq!(view.mesh_of(1), Some(MeshKind::None));
        let split = view.between(0, 1);
        assert_eq!(&*split, &[(MtlsStatus::Plaintext, PortSet::all())]);
        let split = view.between(1, 0);
        assert_eq!(split.len(), 1);
        let split = view.between(0, 0);
        assert_eq!(
            split.iter().map(|(s, p)| (*s, p.to_string())).collect::<Vec<_>>(),
            [(MtlsStatus::Permissive, "TCP all".to_string()), (MtlsStatus::Plaintext, "UDP all; SCTP all".to_string())]
        );
        let cov = view.coverage();
        assert_eq!((cov[0].pods, cov[0].pods_in_mesh(), cov[0].pairs, cov[0].plaintext), (2, 1, 2, 2));
        assert_eq!(view.outside().len(), 1);
    }
}

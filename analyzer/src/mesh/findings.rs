//! Mesh findings ([`crate::findings::Finding`], like the audit's): stable ids NR101-NR106, a
//! fixed severity, the objects involved and a one-line fix. `netreach mesh` shows them, and
//! `netreach audit` appends [`audit_findings`] to its own.

use super::{FastMap, MeshView, EXTERNAL_PROFILE};
use crate::aggregate::{Grouping, Level};
use crate::findings::{Check, Finding, ObjectRef, Severity};
use netreach_model::mesh::{keys, MeshKind, MtlsMode, MtlsStatus, OutsideReason, PortMode};
use netreach_model::{PeerAuthentication, Pod, PortSet, Protocol};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

pub(super) const POD_OUTSIDE_MESH: Check = Check {
    id: "NR101",
    name: "pod-outside-enabled-mesh",
    severity: Severity::Medium,
    summary:
        "pods outside the mesh their namespace enables: opted out, hostNetwork, or created before injection was enabled",
};
pub(super) const PLAINTEXT_INTO_MESH: Check = Check {
    id: "NR102",
    name: "plaintext-into-mesh",
    severity: Severity::Medium,
    summary: "a meshed workload accepting plaintext that NetworkPolicy allows from pods outside its mesh (PERMISSIVE, unauthenticated Linkerd policy)",
};
pub(super) const MTLS_DISABLED: Check = Check {
    id: "NR103",
    name: "mtls-disabled-or-bypassed",
    severity: Severity::Medium,
    summary: "a meshed workload with mTLS disabled (PeerAuthentication DISABLE) or inbound ports bypassing its proxy",
};
pub(super) const PERMISSIVE_WITH_MESHED_CLIENTS: Check = Check {
    id: "NR104",
    name: "permissive-with-only-meshed-clients",
    severity: Severity::Low,
    summary: "a meshed workload accepting plaintext although every client NetworkPolicy allows is in its mesh: it can require mTLS",
};
pub(super) const REJECTED_BY_MESH: Check = Check {
    id: "NR105",
    name: "allowed-but-rejected-by-mesh",
    severity: Severity::Low,
    summary: "connections NetworkPolicy allows that the destination's mesh rejects (it requires mTLS, the client cannot speak it)",
};
pub(super) const PEER_AUTHENTICATION_IGNORED: Check = Check {
    id: "NR106",
    name: "peer-authentication-ignored",
    severity: Severity::Low,
    summary: "a PeerAuthentication Istio ignores (a newer second mesh- or namespace-wide policy, a selector in the root namespace, older workload policies win on every pod it selects) or that selects no pod",
};

/// Every mesh check, in id order.
pub const MESH_CHECKS: [Check; 9] = [
    POD_OUTSIDE_MESH,
    PLAINTEXT_INTO_MESH,
    MTLS_DISABLED,
    PERMISSIVE_WITH_MESHED_CLIENTS,
    REJECTED_BY_MESH,
    PEER_AUTHENTICATION_IGNORED,
    super::authz_findings::ALLOW_ADMITS_PLAINTEXT,
    super::authz_findings::POLICY_WITHOUT_EFFECT,
    super::authz_findings::HTTP_RULE_ON_TCP,
];

fn pa_ref(pa: &PeerAuthentication, field: Option<String>) -> ObjectRef {
    ObjectRef { kind: "PeerAuthentication".into(), namespace: Some(pa.namespace.clone()), name: pa.name.clone(), field }
}

fn annotation_ref(pod: &Pod, key: &str) -> ObjectRef {
    let mut r = ObjectRef::workload_of(pod);
    let prefix = if pod.workload.is_some() { "spec.template.metadata" } else { "metadata" };
    r.field = Some(format!("{prefix}.annotations[{key}]"));
    r
}

/// The TCP ports of a set, as `80,9000-9100` (other protocols are never mTLS).
fn tcp_ports(ports: &PortSet) -> String {
    let ranges: Vec<String> = ports
        .ranges(Protocol::Tcp)
        .iter()
        .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
        .collect();
    if ranges.is_empty() {
        "none".into()
    } else {
        ranges.join(",")
    }
}

/// The mesh whose mTLS a destination profile speaks, if any.
fn family(mode: PortMode) -> Option<MeshKind> {
    match mode {
        PortMode::IstioSidecar(_) | PortMode::IstioAmbient(_) => Some(MeshKind::IstioSidecar),
        PortMode::Linkerd(_) => Some(MeshKind::Linkerd),
        PortMode::Plain => None,
    }
}

fn speaks(source: Option<MeshKind>, family: MeshKind) -> bool {
    let Some(kind) = source else { return false };
    match family {
        MeshKind::Linkerd => kind == MeshKind::Linkerd,
        _ => kind.is_istio(),
    }
}

/// What flows into one destination workload, from the class pass.
#[derive(Clone, Default)]
struct Inbound {
    /// Plaintext accepted (TCP) from sources that cannot speak the workload's mTLS, and pairs.
    plaintext_from_outside: (PortSet, u64),
    /// Any source that cannot speak its mTLS, external ranges included.
    outside_sources: bool,
    permissive: (PortSet, u64),
    rejected: (PortSet, u64),
}

/// The mesh findings of an analysis with the default mesh options (Istio root namespace
/// `istio-system`, Linkerd default policy `all-unauthenticated`): what `netreach audit` appends.
pub fn audit_findings(analysis: &crate::analysis::Analysis) -> Vec<Finding> {
    mesh_findings(&MeshView::new(analysis, analysis.mesh_options.clone()))
}

/// Findings about the meshes, sorted as the audit sorts (severity, id, namespace, objects).
pub fn mesh_findings(view: &MeshView) -> Vec<Finding> {
    let mut out = Vec::new();
    outside(view, &mut out);
    let grouping = Grouping::new(view.analysis, Level::Workload);
    traffic(view, &grouping, &mut out);
    disabled(view, &mut out);
    ignored(view, &mut out);
    super::authz_findings::authz_findings(view, &mut out);
    crate::findings::sort(&mut out);
    out
}

/// NR101: per workload and reason.
fn outside(view: &MeshView, out: &mut Vec<Finding>) {
    let pods = &view.analysis.cluster.pods;
    let mut by: BTreeMap<(ObjectRef, MeshKind, OutsideReason), usize> = BTreeMap::new();
    for o in view.outside() {
        *by.entry((ObjectRef::workload_of(&pods[o.pod]), o.namespace_mesh, o.reason)).or_default() += 1;
    }
    for ((workload, mesh, reason), n) in by {
        let ns = workload.namespace.clone();
        let fix = match &reason {
            OutsideReason::HostNetwork => {
                "run it without hostNetwork if it serves mesh traffic, or accept it as outside the mesh".to_string()
            }
            OutsideReason::OptedOut(how) => format!("remove {how} unless the workload cannot run in the mesh"),
            OutsideReason::NotRestarted => {
                "restart the workload (kubectl rollout restart) so the injector adds the proxy".to_string()
            }
        };
        let message = format!(
            "{n} pod(s) of {workload} run outside the {mesh} mesh that namespace {} enables: {reason}",
            ns.as_deref().unwrap_or("")
        );
        out.push(Finding::new(POD_OUTSIDE_MESH, ns.as_deref(), vec![workload], message, fix));
    }
}

/// NR102, NR104, NR105: per destination workload, from one pass over the class pairs.
fn traffic(view: &MeshView, grouping: &Grouping, out: &mut Vec<Finding>) {
    // Per destination workload (group index).
    let mut inbound: Vec<Option<Inbound>> = vec![None; grouping.groups.len()];
    // Only destinations in a mesh have findings here: without any, nothing to walk.
    if !view.profiles.iter().any(|modes| family(modes.default).is_some()) {
        return;
    }
    // What one visit adds depends on (side, profile, ports) only: worked out once per key.
    let mut memo: FastMap<(u32, u32, u32), Option<Rc<Inbound>>> = FastMap::default();
    let contribution = |side: u32, profile: u32, port_id: u32| -> Option<Rc<Inbound>> {
        let modes = &view.profiles[profile as usize];
        let fam = family(modes.default)?;
        let outsider = !speaks(view.side_kind(side), fam);
        let mut c = Inbound { outside_sources: outsider, ..Default::default() };
        for (status, ports) in view.split_of(side, profile, port_id).iter() {
            let tcp = ports.intersection(&PortSet::all_of(Protocol::Tcp));
            match status {
                // Plaintext from an outsider on a port where the proxy listens: the mode lets it in.
                MtlsStatus::Plaintext if outsider => {
                    let proxied: PortSet = modes
                        .pieces()
                        .into_iter()
                        .filter(|(_, _, m)| *m != PortMode::Plain && *m != PortMode::IstioSidecar(MtlsMode::Disable))
                        .map(|(lo, hi, _)| PortSet::range(Protocol::Tcp, lo, hi))
                        .fold(PortSet::empty(), |a, b| a.union(&b));
                    c.plaintext_from_outside.0.union_with(&tcp.intersection(&proxied));
                }
                MtlsStatus::Permissive => c.permissive.0.union_with(&tcp),
                MtlsStatus::Rejected => c.rejected.0.union_with(&tcp),
                _ => {}
            }
        }
        Some(Rc::new(c))
    };
    // Sources are told apart by their side only; destinations are workloads, many per row.
    view.destination_pass(
        |e| grouping.group_of(e) as u32,
        |side, gd, profile, pairs, port_id| {
            if profile == EXTERNAL_PROFILE {
                return;
            }
            let found = memo.entry((side, profile, port_id)).or_insert_with(|| contribution(side, profile, port_id));
            let Some(c) = found else { return };
            let entry = inbound[gd as usize].get_or_insert_with(Inbound::default);
            entry.outside_sources |= c.outside_sources;
            for (slot, add) in [
                (&mut entry.plaintext_from_outside, &c.plaintext_from_outside),
                (&mut entry.permissive, &c.permissive),
                (&mut entry.rejected, &c.rejected),
            ] {
                if !add.0.is_empty() {
                    slot.0.union_with(&add.0);
                    slot.1 += pairs;
                }
            }
        },
    );
    let pods = &view.analysis.cluster.pods;
    for (g, inb) in inbound.into_iter().enumerate().filter_map(|(g, inb)| Some((g, inb?))) {
        let group = &grouping.groups[g];
        let Some(&first) = group.members.first() else { continue };
        let Some(pod) = pods.get(first) else { continue };
        let workload = ObjectRef::workload_of(pod);
        let ns = Some(pod.namespace.as_str());
        let mesh = view.membership[first].kind;
        if inb.plaintext_from_outside.1 > 0 {
            let (ports, n) = &inb.plaintext_from_outside;
            out.push(Finding::new(
                PLAINTEXT_INTO_MESH,
                ns,
                vec![workload.clone()],
                format!("{workload} ({mesh}) accepts plaintext on TCP {} in {n} pod pair(s) NetworkPolicy allows from pods outside its mesh", tcp_ports(ports)),
                "require mTLS (PeerAuthentication STRICT, or a Linkerd *-authenticated policy) once its clients are meshed, or narrow the NetworkPolicy to meshed clients".into(),
            ));
        } else if inb.permissive.1 > 0 && !inb.outside_sources {
            let (ports, n) = &inb.permissive;
            out.push(Finding::new(
                PERMISSIVE_WITH_MESHED_CLIENTS,
                ns,
                vec![workload.clone()],
                format!("{workload} ({mesh}) accepts plaintext on TCP {} although all {n} pod pair(s) NetworkPolicy allows into it come from its mesh", tcp_ports(ports)),
                "require mTLS: PeerAuthentication mode STRICT (Istio) or default-inbound-policy all-authenticated (Linkerd)".into(),
            ));
        }
        if inb.rejected.1 > 0 {
            let (ports, n) = &inb.rejected;
            out.push(Finding::new(
                REJECTED_BY_MESH,
                ns,
                vec![workload.clone()],
                format!("{n} pod pair(s) NetworkPolicy allows into {workload} on TCP {} are rejected by its mesh: the clients cannot speak its mTLS", tcp_ports(ports)),
                "narrow the NetworkPolicy to the clients that should connect, or mesh those clients".into(),
            ));
        }
    }
}

/// NR103: DISABLE modes and bypassed ports, per workload and the object that says so.
fn disabled(view: &MeshView, out: &mut Vec<Finding>) {
    let cluster = &view.analysis.cluster;
    let pas = &cluster.mesh.peer_authentications;
    // (workload, object) -> (ports, mesh)
    let mut by: BTreeMap<(ObjectRef, ObjectRef), (BTreeSet<String>, MeshKind)> = BTreeMap::new();
    for (i, pod) in cluster.pods.iter().enumerate() {
        let kind = view.membership[i].kind;
        if !kind.in_mesh() {
            continue;
        }
        let workload = ObjectRef::workload_of(pod);
        if let Some(policy) = &view.istio[i] {
            let deciding = [policy.workload, policy.namespace_wide, policy.mesh_wide]
                .into_iter()
                .flatten()
                .find(|&p| pas[p].mode != MtlsMode::Unset);
            if policy.mode == MtlsMode::Disable {
                if let Some(p) = deciding {
                    let e = by
                        .entry((workload.clone(), pa_ref(&pas[p], Some("spec.mtls.mode".into()))))
                        .or_insert((BTreeSet::new(), kind));
                    e.0.insert("every port".into());
                }
            }
            if let Some(w) = policy.workload {
                for (&port, &mode) in &policy.port_modes {
                    if mode == MtlsMode::Disable && pas[w].port_modes.contains_key(&port) {
                        let e = by
                            .entry((workload.clone(), pa_ref(&pas[w], Some(format!("spec.portLevelMtls.{port}")))))
                            .or_insert((BTreeSet::new(), kind));
                        e.0.insert(format!("TCP {port}"));
                    }
                }
            }
        }
        let annotations = cluster.mesh.namespace_annotations.get(&pod.namespace);
        let keys: &[&str] = match kind {
            MeshKind::IstioSidecar => &[keys::ISTIO_EXCLUDE_INBOUND_PORTS],
            MeshKind::Linkerd => &[keys::LINKERD_SKIP_INBOUND_PORTS],
            _ => &[],
        };
        for &key in keys {
            let object = if let Some(v) = pod.annotations.get(key) {
                Some((annotation_ref(pod, key), v))
            } else if kind == MeshKind::Linkerd {
                annotations.and_then(|a| a.get(key)).map(|v| {
                    let mut r = ObjectRef::namespace(&pod.namespace);
                    r.field = Some(format!("metadata.annotations[{key}]"));
                    (r, v)
                })
            } else {
                None
            };
            if let Some((object, value)) = object {
                if netreach_model::mesh::parse_port_list(value).is_ok_and(|r| !r.is_empty()) {
                    let e = by.entry((workload.clone(), object)).or_insert((BTreeSet::new(), kind));
                    e.0.insert(format!("TCP {value} (bypassing the proxy)"));
                }
            }
        }
    }
    for ((workload, object), (ports, mesh)) in by {
        let ns = workload.namespace.clone();
        let what = ports.into_iter().collect::<Vec<_>>().join(", ");
        let note = if mesh == MeshKind::IstioAmbient {
            " (DISABLE is not supported in ambient mode: ztunnel keeps tunnelling but accepts plaintext)"
        } else {
            ""
        };
        out.push(Finding::new(
            MTLS_DISABLED,
            ns.as_deref(),
            if object.kind == workload.kind && object.name == workload.name && object.namespace == workload.namespace {
                vec![object.clone()]
            } else {
                vec![workload.clone(), object.clone()]
            },
            format!("{workload} ({mesh}) has mTLS disabled or bypassed on {what} by {object}{note}"),
            "remove the exception, or keep it only for ports that cannot be meshed (health checks from outside the mesh, protocols the proxy breaks)".into(),
        ));
    }
}

/// NR106: PeerAuthentications Istio ignores, or that select nothing.
fn ignored(view: &MeshView, out: &mut Vec<Finding>) {
    let cluster = &view.analysis.cluster;
    let cfg = &cluster.mesh;
    let root = view.options.istio_root_namespace.as_str();
    let pas = &cfg.peer_authentications;
    let mut push = |i: usize, why: String| {
        let pa = &pas[i];
        out.push(Finding::new(
            PEER_AUTHENTICATION_IGNORED,
            Some(&pa.namespace),
            vec![pa_ref(pa, None)],
            format!("PeerAuthentication {} {why}", pa.id()),
            "delete it, or merge its settings into the policy that applies".into(),
        ));
    };
    let (mesh_wide, newer) = cfg.mesh_wide(root);
    for i in newer {
        push(i, format!("is ignored: {} is the older mesh-wide policy", pas[mesh_wide.unwrap()].id()));
    }
    let namespaces: BTreeSet<&str> = pas.iter().map(|p| p.namespace.as_str()).collect();
    for ns in namespaces {
        let (kept, newer) = cfg.namespace_wide(root, ns);
        for i in newer {
            push(i, format!("is ignored: {} is the older namespace-wide policy of {ns}", pas[kept.unwrap()].id()));
        }
    }
    for (i, pa) in pas.iter().enumerate() {
        if !pa.has_selector() {
            continue;
        }
        if pa.namespace == root {
            push(i, format!("is ignored: policies with a workload selector are ignored in the root namespace {root}"));
            continue;
        }
        let selected: Vec<usize> = (0..cluster.pods.len())
            .filter(|&p| cluster.pods[p].namespace == pa.namespace && pa.selects(&cluster.pods[p].labels))
            .collect();
        if selected.is_empty() {
            push(i, "selects no pod".into());
        } else if selected.iter().all(|&p| view.istio[p].as_ref().is_some_and(|r| r.shadowed.contains(&i))) {
            push(
                i,
                format!(
                    "is ignored on all {} pod(s) it selects: an older workload policy selects them too",
                    selected.len()
                ),
            );
        }
    }
}

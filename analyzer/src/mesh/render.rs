//! `netreach mesh` output: a readable report, Markdown, and JSON (schemaVersion 1, documented
//! in the README). Connections stream: `--level pod` never builds the whole list.

use super::{MeshView, NamespaceCoverage, OutsidePod};
use crate::aggregate::Level;
use crate::findings::{self, Finding};
use crate::render::graph::{EdgeStyle, GraphEdge, GraphError, GraphOptions, IdGraph, ReachGraph};
use crate::render::table::{write_wrapped, Column, Table};
use crate::render::terminal::{self, styles};
use crate::render::text::{md_cell, percent};
use crate::render::Format;
use crate::render::{allowed_json, Allowed};
use netreach_model::mesh::authz::{AuthzDecision, AuthzVerdict};
use netreach_model::mesh::MtlsStatus;
use netreach_model::PortSet;
use serde::Serialize;
use std::io::{self, Write};

/// Everything but the connections, which stream.
struct Report {
    coverage: Vec<NamespaceCoverage>,
    total: NamespaceCoverage,
    outside: Vec<OutsidePod>,
    findings: Vec<Finding>,
}

impl Report {
    fn new(view: &MeshView) -> Report {
        let mut coverage = view.coverage();
        coverage.retain(|c| view.shows(Some(&c.namespace)));
        let total = MeshView::total(&coverage);
        let mut outside = view.outside();
        outside.retain(|o| view.shows_endpoint(o.pod));
        Report { coverage, total, outside, findings: view.shown_findings() }
    }
}

pub fn write_mesh(view: &MeshView, level: Level, format: Format, out: &mut dyn Write) -> io::Result<()> {
    let report = Report::new(view);
    match format {
        Format::Text => write_text(view, &report, level, out),
        Format::Md => write_md(view, &report, level, out),
        Format::Json => write_json(view, &report, level, out),
    }
}

/// A coverage row, for the text and Markdown tables: namespace, mesh, pods, pods in the mesh,
/// pairs, pairs by status, mTLS share.
fn coverage_cells(c: &NamespaceCoverage) -> [String; 11] {
    [
        c.namespace.clone(),
        c.mesh.map_or("-", |m| m.as_str()).to_string(),
        c.pods.to_string(),
        c.pods_in_mesh().to_string(),
        c.pairs.to_string(),
        c.mtls.to_string(),
        c.permissive.to_string(),
        c.plaintext.to_string(),
        c.rejected.to_string(),
        c.not_applicable.to_string(),
        percent(c.connection_coverage()),
    ]
}

/// One listed entry: a connection (or merged group pairs) with one mTLS status and one
/// authorization decision.
struct Entry<'e> {
    src: &'e str,
    dst: &'e str,
    status: MtlsStatus,
    authz: AuthzDecision,
    ports: &'e PortSet,
    /// `None` at pod level.
    pairs: Option<u64>,
}

/// Calls `f(entry)` for every listed entry with a status and decision that `keep` accepts, in
/// (source, destination, status, decision) order. Both levels stream.
fn each_entry(
    view: &MeshView,
    level: Level,
    keep: impl Fn(MtlsStatus, &AuthzDecision) -> bool,
    mut f: impl FnMut(Entry) -> io::Result<()>,
) -> io::Result<()> {
    if level != Level::Pod {
        let grouping = view.grouping(level);
        let shown = |g: usize| view.shows(grouping.groups[g].namespace.as_deref());
        return view.for_each_group_status(&grouping, |g| {
            if !keep(g.status, &g.authz) || !(shown(g.src) || shown(g.dst)) {
                return Ok(());
            }
            f(Entry {
                src: &grouping.groups[g.src].id,
                dst: &grouping.groups[g.dst].id,
                status: g.status,
                authz: g.authz,
                ports: &g.ports,
                pairs: Some(g.pairs),
            })
        });
    }
    let ids: Vec<String> = (0..view.analysis.reach.endpoint_count()).map(|i| view.analysis.id(i)).collect();
    view.for_each_connection(|s, d, split| {
        if !(view.shows_endpoint(s) || view.shows_endpoint(d)) {
            return Ok(());
        }
        for (status, status_ports) in split.iter() {
            for (authz, ports) in view.authz_between(s, d, *status, status_ports).iter() {
                if keep(*status, authz) {
                    f(Entry { src: &ids[s], dst: &ids[d], status: *status, authz: *authz, ports, pairs: None })?;
                }
            }
        }
        Ok(())
    })
}

/// `verdict by ns/name rule N` (or the basis without a deciding policy), and the waypoint on
/// the path, for text.
fn authz_words(view: &MeshView, d: &AuthzDecision) -> String {
    let words = match (d.policy, d.rule) {
        (Some(p), Some(r)) => {
            let policy = &view.authz.policies[p as usize];
            format!("{} by {} {} rules[{r}]", d.verdict.as_str(), policy.action.as_str(), policy.id())
        }
        _ => format!("{} ({})", d.verdict.as_str(), d.basis.as_str()),
    };
    match super::waypoint_words(view, d) {
        Some(place) => format!("{words} {place}"),
        None => words,
    }
}

/// The colour of an mTLS status in text.
fn status_style(status: MtlsStatus) -> anstyle::Style {
    match status {
        MtlsStatus::Mtls => styles::GOOD,
        MtlsStatus::Permissive => styles::WARN,
        MtlsStatus::Plaintext | MtlsStatus::Rejected => styles::BAD,
        MtlsStatus::NotApplicable => anstyle::Style::new(),
    }
}

fn header(view: &MeshView) -> String {
    format!(
        "Istio root namespace {}; Linkerd default inbound policy {}",
        view.options.istio_root_namespace, view.options.linkerd_default_policy
    )
}

fn write_text(view: &MeshView, r: &Report, level: Level, out: &mut dyn Write) -> io::Result<()> {
    write_wrapped(0, &format!("mesh coverage ({})", header(view)), out)?;
    writeln!(out)?;
    let mut table = Table::new(vec![
        Column::left("NAMESPACE"),
        Column::left("MESH"),
        Column::right("PODS"),
        Column::right("IN MESH"),
        Column::right("PAIRS"),
        Column::right("MTLS"),
        Column::right("PERMISSIVE"),
        Column::right("PLAINTEXT"),
        Column::right("REJECTED"),
        Column::right("EXTERNAL"),
        Column::right("MTLS %"),
    ]);
    for c in r.coverage.iter().chain(std::iter::once(&r.total)) {
        table.row(coverage_cells(c));
    }
    table.write(out)?;
    write_wrapped(0, "(pairs: source pod anywhere, destination pod in the namespace, by their weakest port: plaintext, then permissive, then mtls; EXTERNAL: pairs with an external range, not applicable)", out)?;
    type Keep = fn(MtlsStatus, &AuthzDecision) -> bool;
    let mut sections: Vec<(&str, Keep)> = vec![
        ("plaintext and permissive connections", |s, _| s.is_gap()),
        (
            "rejected by the mesh (NetworkPolicy allows; the destination requires mTLS the source cannot speak)",
            |s, _| s == MtlsStatus::Rejected,
        ),
    ];
    let with_authz = !view.authz.is_empty();
    if with_authz {
        sections.push(("denied by Istio AuthorizationPolicy, or left to an external authorizer (CUSTOM)", |s, d| {
            s != MtlsStatus::Rejected && d.verdict != AuthzVerdict::Allow
        }));
    }
    for (title, keep) in sections {
        writeln!(out)?;
        writeln!(out, "{title} ({} level)", Level::name(level))?;
        let mut any = false;
        each_entry(view, level, keep, |e| {
            any = true;
            let pairs = e.pairs.map(|n| format!("  ({n} pair(s))")).unwrap_or_default();
            let authz = if with_authz { format!("  [{}]", authz_words(view, &e.authz)) } else { String::new() };
            let status = format!("{:<10}", e.status.as_str());
            let status =
                status.replacen(e.status.as_str(), &terminal::paint(e.status.as_str(), status_style(e.status)), 1);
            writeln!(out, "  {status} {} -> {}  {}{pairs}{authz}", e.src, e.dst, e.ports)
        })?;
        if !any {
            writeln!(out, "  none")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "pods outside the mesh their namespace enables")?;
    if r.outside.is_empty() {
        writeln!(out, "  none")?;
    }
    for o in &r.outside {
        writeln!(out, "  {}  ({} namespace): {}", view.analysis.display_name(o.pod), o.namespace_mesh, o.reason)?;
    }
    writeln!(out)?;
    writeln!(out, "findings")?;
    findings::render::write_text(&r.findings, out)
}

fn write_md(view: &MeshView, r: &Report, level: Level, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## netreach mesh")?;
    writeln!(out)?;
    writeln!(out, "{}.", header(view))?;
    writeln!(out)?;
    writeln!(out, "| Namespace | Mesh | Pods | In mesh | Pairs | mTLS | Permissive | Plaintext | Rejected | External | mTLS share |")?;
    writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    for c in r.coverage.iter().chain(std::iter::once(&r.total)) {
        let cells = coverage_cells(c);
        writeln!(out, "| `{}` | {} |", cells[0], cells[1..].join(" | "))?;
    }
    writeln!(out)?;
    writeln!(out, "### Plaintext, permissive and rejected connections ({} level)", Level::name(level))?;
    writeln!(out)?;
    let mut any = false;
    let with_authz = !view.authz.is_empty();
    each_entry(
        view,
        level,
        |s, d| s.is_gap() || s == MtlsStatus::Rejected || d.verdict != AuthzVerdict::Allow,
        |e| {
            if !any {
                let authz = if with_authz { " Authorization |" } else { "" };
                let rule = if with_authz { "---|" } else { "" };
                writeln!(out, "| Status | Source | Destination | Ports | Pairs |{authz}")?;
                writeln!(out, "|---|---|---|---|---:|{rule}")?;
                any = true;
            }
            let pairs = e.pairs.map_or_else(|| "1".to_string(), |n| n.to_string());
            let authz =
                if with_authz { format!(" {} |", md_cell(&authz_words(view, &e.authz))) } else { String::new() };
            writeln!(
                out,
                "| {} | `{}` | `{}` | {} | {pairs} |{authz}",
                e.status,
                md_cell(e.src),
                md_cell(e.dst),
                e.ports
            )
        },
    )?;
    if !any {
        writeln!(out, "None.")?;
    }
    writeln!(out)?;
    writeln!(out, "### Pods outside the mesh their namespace enables")?;
    writeln!(out)?;
    if r.outside.is_empty() {
        writeln!(out, "None.")?;
    } else {
        writeln!(out, "| Pod | Namespace mesh | Reason |")?;
        writeln!(out, "|---|---|---|")?;
        for o in &r.outside {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                md_cell(&view.analysis.display_name(o.pod)),
                o.namespace_mesh,
                md_cell(&o.reason.to_string())
            )?;
        }
    }
    writeln!(out)?;
    writeln!(out, "### Findings")?;
    writeln!(out)?;
    if r.findings.is_empty() {
        writeln!(out, "None.")?;
        return Ok(());
    }
    findings::render::write_md_table(&r.findings, None, out)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonCoverage<'a> {
    namespace: &'a str,
    mesh: Option<&'static str>,
    pods: u64,
    pods_in_mesh: u64,
    pods_by_mesh: JsonByMesh,
    pairs: u64,
    mtls: u64,
    permissive: u64,
    plaintext: u64,
    rejected: u64,
    not_applicable: u64,
    authz_protected: u64,
    effective: u64,
    pod_coverage: Option<f64>,
    connection_coverage: Option<f64>,
}

#[derive(Serialize)]
struct JsonByMesh {
    none: u64,
    #[serde(rename = "istio-sidecar")]
    istio_sidecar: u64,
    #[serde(rename = "istio-ambient")]
    istio_ambient: u64,
    linkerd: u64,
}

impl<'a> From<&'a NamespaceCoverage> for JsonCoverage<'a> {
    fn from(c: &'a NamespaceCoverage) -> JsonCoverage<'a> {
        let [none, istio_sidecar, istio_ambient, linkerd] = c.pods_by_mesh;
        JsonCoverage {
            namespace: &c.namespace,
            mesh: c.mesh.map(|m| m.as_str()),
            pods: c.pods,
            pods_in_mesh: c.pods_in_mesh(),
            pods_by_mesh: JsonByMesh { none, istio_sidecar, istio_ambient, linkerd },
            pairs: c.pairs,
            mtls: c.mtls,
            permissive: c.permissive,
            plaintext: c.plaintext,
            rejected: c.rejected,
            not_applicable: c.not_applicable,
            authz_protected: c.authz_protected,
            effective: c.effective,
            pod_coverage: c.pod_coverage(),
            connection_coverage: c.connection_coverage(),
        }
    }
}

#[derive(Serialize)]
struct JsonPod<'a> {
    id: String,
    mesh: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonOutside {
    id: String,
    workload: Option<String>,
    namespace_mesh: &'static str,
    reason: String,
}

/// One entry per (source, destination, status, decision): the protocols go in `allowed`, as in
/// `connectivity -o json`, so a level's entries are not multiplied by the protocols.
#[derive(Serialize)]
struct JsonConnection<'a> {
    src: &'a str,
    dst: &'a str,
    allowed: Vec<Allowed>,
    status: &'static str,
    authz: JsonAuthz,
    /// Open after NetworkPolicy, mTLS and authorization: `allow`, `deny` or `custom`.
    effective: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairs: Option<u64>,
}

#[derive(Serialize)]
struct JsonAuthz {
    verdict: &'static str,
    basis: &'static str,
    policy: Option<String>,
    action: Option<&'static str>,
    rule: Option<u32>,
    waypoint: Option<String>,
    #[serde(rename = "enforcedBy")]
    enforced_by: &'static str,
}

impl JsonAuthz {
    fn new(view: &MeshView, d: &AuthzDecision) -> JsonAuthz {
        let policy = d.policy.map(|p| &view.authz.policies[p as usize]);
        JsonAuthz {
            verdict: d.verdict.as_str(),
            basis: d.basis.as_str(),
            policy: policy.map(|p| p.id()),
            action: policy.map(|p| p.action.as_str()),
            rule: d.rule,
            waypoint: d.at.route().map(|r| view.authz.waypoint_of_route(r)),
            enforced_by: d.at.as_str(),
        }
    }
}

/// The verdict of all layers together: mTLS rejection first, then authorization.
fn effective(status: MtlsStatus, d: &AuthzDecision) -> &'static str {
    if status == MtlsStatus::Rejected {
        "deny"
    } else {
        d.verdict.as_str()
    }
}

fn write_json(view: &MeshView, r: &Report, level: Level, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        crate::render::unevaluated_policies_json(&view.unevaluated_policies())
    )?;
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&view.analysis.cluster.skipped_invalid))?;
    writeln!(out, "  \"level\": \"{}\",", Level::name(level))?;
    write!(out, "  \"istioRootNamespace\": ")?;
    json(out, &view.options.istio_root_namespace)?;
    writeln!(out, ",\n  \"linkerdDefaultInboundPolicy\": \"{}\",", view.options.linkerd_default_policy)?;
    write!(out, "  \"istioTrustDomain\": ")?;
    json(out, &view.options.istio_trust_domain)?;
    writeln!(out, ",")?;
    write!(out, "  \"summary\": ")?;
    json(out, &JsonCoverage::from(&r.total))?;
    writeln!(out, ",\n  \"namespaces\": [")?;
    for (i, c) in r.coverage.iter().enumerate() {
        out.write_all(b"    ")?;
        json(out, &JsonCoverage::from(c))?;
        writeln!(out, "{}", if i + 1 < r.coverage.len() { "," } else { "" })?;
    }
    writeln!(out, "  ],\n  \"pods\": [")?;
    let pods = &view.analysis.cluster.pods;
    let shown: Vec<usize> = (0..pods.len()).filter(|&i| view.shows_endpoint(i)).collect();
    for (n, &i) in shown.iter().enumerate() {
        out.write_all(b"    ")?;
        json(out, &JsonPod { id: pods[i].id(), mesh: view.membership[i].kind.as_str() })?;
        writeln!(out, "{}", if n + 1 < shown.len() { "," } else { "" })?;
    }
    writeln!(out, "  ],\n  \"outsideMesh\": [")?;
    for (i, o) in r.outside.iter().enumerate() {
        let pod = &pods[o.pod];
        let entry = JsonOutside {
            id: pod.id(),
            workload: pod.workload.as_ref().map(|w| format!("{}/{}/{}", pod.namespace, w.kind, w.name)),
            namespace_mesh: o.namespace_mesh.as_str(),
            reason: o.reason.to_string(),
        };
        out.write_all(b"    ")?;
        json(out, &entry)?;
        writeln!(out, "{}", if i + 1 < r.outside.len() { "," } else { "" })?;
    }
    writeln!(out, "  ],\n  \"connections\": [")?;
    let mut first = true;
    each_entry(
        view,
        level,
        |_, _| true,
        |e| {
            if !first {
                writeln!(out, ",")?;
            }
            first = false;
            out.write_all(b"    ")?;
            let entry = JsonConnection {
                src: e.src,
                dst: e.dst,
                allowed: allowed_json(e.ports),
                status: e.status.as_str(),
                authz: JsonAuthz::new(view, &e.authz),
                effective: effective(e.status, &e.authz),
                pairs: e.pairs,
            };
            json(out, &entry)
        },
    )?;
    if !first {
        writeln!(out)?;
    }
    writeln!(out, "  ],\n  \"findings\": [")?;
    for (i, f) in r.findings.iter().enumerate() {
        out.write_all(b"    ")?;
        json(out, f)?;
        writeln!(out, "{}", if i + 1 < r.findings.len() { "," } else { "" })?;
    }
    writeln!(out, "  ]\n}}")
}

/// The view as a picture (`-o dot|svg`): one edge per connection and mTLS status at `level`,
/// coloured by the status.
pub fn mesh_graph(view: &MeshView, level: Level, options: &GraphOptions) -> Result<ReachGraph, GraphError> {
    let mut graph = IdGraph::new(level);
    each_entry(
        view,
        level,
        |_, _| true,
        |e| {
            let (s, d) = (graph.node(e.src), graph.node(e.dst));
            let mut tooltip = format!("{} → {}: {}, {}", e.src, e.dst, e.ports, e.status.as_str());
            if let Some(pairs) = e.pairs {
                tooltip.push_str(&format!(" ({pairs} pod pair(s))"));
            }
            if !view.authz.is_empty() {
                tooltip.push_str(&format!(", authorization {}", authz_words(view, &e.authz)));
            }
            let edge = GraphEdge::new(s, d, e.ports.clone(), EdgeStyle::Mesh(e.status));
            graph.edge(GraphEdge { tooltip: Some(tooltip), ..edge });
            Ok(())
        },
    )?;
    graph.finish(options)
}

/// Compact JSON for one value.
fn json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::other)
}

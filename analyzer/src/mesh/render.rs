//! `netreach mesh` output: a readable report, Markdown, and JSON (schemaVersion 1, documented
//! in the README). Connections stream: `--level pod` never builds the whole list.

use super::{mesh_findings, MeshView, NamespaceCoverage, OutsidePod};
use crate::aggregate::Level;
use crate::findings::{self, Finding};
use crate::render::graph::{EdgeStyle, GraphEdge, GraphError, GraphOptions, IdGraph, ReachGraph};
use crate::render::text::{md_cell, percent};
use crate::render::Format;
use crate::render::{allowed_json, Allowed};
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
        let coverage = view.coverage();
        let total = MeshView::total(&coverage);
        Report { coverage, total, outside: view.outside(), findings: mesh_findings(view) }
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

/// Calls `f(src id, dst id, status, ports, pairs)` for every listed entry with a status that
/// `keep` accepts, in (source, destination, status) order; `pairs` is `None` at pod level. Both
/// levels stream.
fn each_entry(
    view: &MeshView,
    level: Level,
    keep: impl Fn(MtlsStatus) -> bool,
    mut f: impl FnMut(&str, &str, MtlsStatus, &PortSet, Option<u64>) -> io::Result<()>,
) -> io::Result<()> {
    if level != Level::Pod {
        let grouping = view.grouping(level);
        return view.for_each_group_status(&grouping, |g| {
            if !keep(g.status) {
                return Ok(());
            }
            f(&grouping.groups[g.src].id, &grouping.groups[g.dst].id, g.status, &g.ports, Some(g.pairs))
        });
    }
    let ids: Vec<String> = (0..view.analysis.reach.endpoint_count()).map(|i| view.analysis.id(i)).collect();
    view.for_each_connection(|s, d, split| {
        for (status, ports) in split.iter().filter(|(st, _)| keep(*st)) {
            f(&ids[s], &ids[d], *status, ports, None)?;
        }
        Ok(())
    })
}

fn header(view: &MeshView) -> String {
    format!(
        "Istio root namespace {}; Linkerd default inbound policy {}",
        view.options.istio_root_namespace, view.options.linkerd_default_policy
    )
}

/// One line of the text coverage table (the header, or a namespace's cells).
fn write_coverage_line(out: &mut dyn Write, width: usize, cells: [&str; 11]) -> io::Result<()> {
    let [namespace, mesh, pods, in_mesh, pairs, mtls, permissive, plaintext, rejected, external, share] = cells;
    writeln!(
        out,
        "{namespace:<width$}  {mesh:<13}  {pods:>6}  {in_mesh:>7}  {pairs:>7}  {mtls:>7}  {permissive:>10}  \
         {plaintext:>9}  {rejected:>8}  {external:>8}  {share:>7}"
    )
}

fn write_text(view: &MeshView, r: &Report, level: Level, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "mesh coverage ({})", header(view))?;
    writeln!(out)?;
    let width = r.coverage.iter().map(|c| c.namespace.len()).max().unwrap_or(0).max("NAMESPACE".len());
    let header = [
        "NAMESPACE",
        "MESH",
        "PODS",
        "IN MESH",
        "PAIRS",
        "MTLS",
        "PERMISSIVE",
        "PLAINTEXT",
        "REJECTED",
        "EXTERNAL",
        "MTLS %",
    ];
    write_coverage_line(out, width, header)?;
    for c in r.coverage.iter().chain(std::iter::once(&r.total)) {
        write_coverage_line(out, width, coverage_cells(c).each_ref().map(String::as_str))?;
    }
    writeln!(out, "(pairs: source pod anywhere, destination pod in the namespace, by their weakest port: plaintext, then permissive, then mtls; EXTERNAL: pairs with an external range, not applicable)")?;
    for (title, keep) in [
        ("plaintext and permissive connections", MtlsStatus::is_gap as fn(MtlsStatus) -> bool),
        ("rejected by the mesh (NetworkPolicy allows; the destination requires mTLS the source cannot speak)", |s| {
            s == MtlsStatus::Rejected
        }),
    ] {
        writeln!(out)?;
        writeln!(out, "{title} ({} level)", Level::name(level))?;
        let mut any = false;
        each_entry(view, level, keep, |src, dst, status, ports, pairs| {
            any = true;
            let pairs = pairs.map(|n| format!("  ({n} pair(s))")).unwrap_or_default();
            writeln!(out, "  {:<10} {src} -> {dst}  {ports}{pairs}", status.as_str())
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
    each_entry(
        view,
        level,
        |s| s.is_gap() || s == MtlsStatus::Rejected,
        |src, dst, status, ports, pairs| {
            if !any {
                writeln!(out, "| Status | Source | Destination | Ports | Pairs |")?;
                writeln!(out, "|---|---|---|---|---:|")?;
                any = true;
            }
            let pairs = pairs.map_or_else(|| "1".to_string(), |n| n.to_string());
            writeln!(out, "| {status} | `{}` | `{}` | {ports} | {pairs} |", md_cell(src), md_cell(dst))
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

#[derive(Serialize)]
struct JsonConnection<'a> {
    src: &'a str,
    dst: &'a str,
    #[serde(flatten)]
    allowed: Allowed,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pairs: Option<u64>,
}

fn write_json(view: &MeshView, r: &Report, level: Level, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        crate::render::unevaluated_policies_json(&view.analysis.cluster.unevaluated_policies)
    )?;
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&view.analysis.cluster.skipped_invalid))?;
    writeln!(out, "  \"level\": \"{}\",", Level::name(level))?;
    write!(out, "  \"istioRootNamespace\": ")?;
    json(out, &view.options.istio_root_namespace)?;
    writeln!(out, ",\n  \"linkerdDefaultInboundPolicy\": \"{}\",", view.options.linkerd_default_policy)?;
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
    for (i, m) in view.membership.iter().enumerate() {
        out.write_all(b"    ")?;
        json(out, &JsonPod { id: pods[i].id(), mesh: m.kind.as_str() })?;
        writeln!(out, "{}", if i + 1 < pods.len() { "," } else { "" })?;
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
        |_| true,
        |src, dst, status, ports, pairs| {
            for allowed in allowed_json(ports) {
                if !first {
                    writeln!(out, ",")?;
                }
                first = false;
                out.write_all(b"    ")?;
                json(out, &JsonConnection { src, dst, allowed, status: status.as_str(), pairs })?;
            }
            Ok(())
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
        |_| true,
        |src, dst, status, ports, pairs| {
            let (s, d) = (graph.node(src), graph.node(dst));
            let mut tooltip = format!("{src} → {dst}: {ports}, {}", status.as_str());
            if let Some(pairs) = pairs {
                tooltip.push_str(&format!(" ({pairs} pod pair(s))"));
            }
            let edge = GraphEdge::new(s, d, ports.clone(), EdgeStyle::Mesh(status));
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

//! `netreach exposure` in text, JSON and Markdown.

use super::{Exposure, ExposureReport, Hop, ABSTRACT_CONTROLLER};
use crate::analysis::Analysis;
use crate::render::text::{md_cell, plural};
use crate::render::Format;
use serde::Serialize;
use std::io::{self, Write};

/// Writes the report in `format`.
pub fn write_exposure(
    analysis: &Analysis,
    report: &ExposureReport,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    let names = Names { analysis, report };
    match format {
        Format::Text => write_text(&names, out),
        Format::Json => write_json(&names, out),
        Format::Md => write_md(&names, out),
    }
}

/// Endpoint names as outputs print them: the abstract controller as `{ingress-controller}`.
struct Names<'a> {
    analysis: &'a Analysis,
    report: &'a ExposureReport,
}

impl Names<'_> {
    fn id(&self, endpoint: usize) -> String {
        if self.report.abstract_controller == Some(endpoint) {
            ABSTRACT_CONTROLLER.to_string()
        } else {
            self.analysis.id(endpoint)
        }
    }

    fn ids(&self, endpoints: &[usize]) -> Vec<String> {
        endpoints.iter().map(|&e| self.id(e)).collect()
    }

    /// `shop/web:8080/TCP`-style port list of a hop: `80/TCP, 443/TCP`.
    fn ports(hop: &Hop) -> Vec<String> {
        hop.ports.iter().map(|(protocol, port)| format!("{port}/{}", protocol.as_str())).collect()
    }

    /// One hop for people: `→ shop/web on 8080/TCP, sees a node address: admitted from external 10.0.0.0/8`.
    fn hop_words(&self, hop: &Hop) -> String {
        let to = self.ids(&hop.to);
        let shown =
            if to.len() > 3 { format!("{} and {} more", to[..3].join(", "), to.len() - 3) } else { to.join(", ") };
        let clients = match &hop.clients {
            Some(clients) if clients.is_empty() => ", no client outside can enter".to_string(),
            Some(clients) => format!(", entered by clients in {}", self.ids(clients).join(", ")),
            None => String::new(),
        };
        let verdict = if hop.admitted() {
            let from = self.ids(&hop.admitted_from);
            let from = if from.len() > 3 {
                format!("{} and {} more", from[..3].join(", "), from.len() - 3)
            } else {
                from.join(", ")
            };
            format!("admitted from {from}")
        } else if hop.reached.is_empty() {
            "denied by policy".to_string()
        } else {
            "nobody outside can send it".to_string()
        };
        format!("{shown} on {}, sees {}{clients}: {verdict}", Self::ports(hop).join(", "), hop.source)
    }

    fn entry(exposure: &Exposure) -> String {
        exposure.entry_port.map_or_else(|| "-".to_string(), |p| p.to_string())
    }
}

fn write_text(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let report = names.report;
    let reachable = report.exposures.iter().filter(|e| e.reachable()).count() as u64;
    writeln!(
        out,
        "{} from outside the cluster ({} reachable, {} denied by policy)",
        plural(report.exposures.len() as u64, "entry path", "entry paths"),
        reachable,
        report.exposures.len() as u64 - reachable
    )?;
    if let Some(line) = crate::render::incompleteness(&names.analysis.cluster) {
        writeln!(out, "{line}")?;
    }
    for e in &report.exposures {
        writeln!(out)?;
        writeln!(
            out,
            "{} {}/{} via {} {} (entry port {}): {}",
            names.id(e.pod),
            e.port,
            e.protocol.as_str(),
            e.via.kind.as_str(),
            e.via.name,
            Names::entry(e),
            if e.reachable() { "reachable" } else { "not reachable" }
        )?;
        for (i, hop) in e.hops.iter().enumerate() {
            writeln!(out, "  {}. {} → {}", i + 1, if i == 0 { "outside" } else { "then" }, names.hop_words(hop))?;
        }
    }
    if !report.notes.is_empty() {
        writeln!(out, "\nNotes:")?;
        for note in &report.notes {
            writeln!(out, "  - {note}")?;
        }
    }
    Ok(())
}

fn write_md(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let report = names.report;
    writeln!(out, "## Exposure\n")?;
    if let Some(line) = crate::render::incompleteness(&names.analysis.cluster) {
        writeln!(out, "{line}\n")?;
    }
    if report.exposures.is_empty() {
        writeln!(out, "No entry path from outside the cluster.")?;
    } else {
        writeln!(out, "| Pod | Port | Via | Entry port | Reachable | Hops |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for e in &report.exposures {
            let hops: Vec<String> =
                e.hops.iter().enumerate().map(|(i, h)| format!("{}. {}", i + 1, names.hop_words(h))).collect();
            writeln!(
                out,
                "| {} | {}/{} | {} {} | {} | {} | {} |",
                md_cell(&names.id(e.pod)),
                e.port,
                e.protocol.as_str(),
                e.via.kind.as_str(),
                md_cell(&e.via.name),
                Names::entry(e),
                if e.reachable() { "yes" } else { "no" },
                md_cell(&hops.join("<br>"))
            )?;
        }
    }
    if !report.notes.is_empty() {
        writeln!(out, "\n### Notes\n")?;
        for note in &report.notes {
            writeln!(out, "- {}", md_cell(note))?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHop {
    to: Vec<String>,
    ports: Vec<String>,
    source: String,
    admitted_from: Vec<String>,
    reached: Vec<String>,
    /// Who outside can send along the path: null for any address outside.
    clients: Option<Vec<String>>,
}

#[derive(Serialize)]
struct JsonVia<'a> {
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonExposure<'a> {
    pod: String,
    workload: Option<String>,
    port: u16,
    protocol: &'static str,
    via: JsonVia<'a>,
    entry_port: Option<u16>,
    reachable: bool,
    hops: Vec<JsonHop>,
}

fn write_json(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let cluster = &names.analysis.cluster;
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        crate::render::unevaluated_policies_json(&cluster.unevaluated_policies)
    )?;
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&cluster.skipped_invalid))?;
    write!(out, "  \"exposures\": [")?;
    for (i, e) in names.report.exposures.iter().enumerate() {
        let hops = e
            .hops
            .iter()
            .map(|h| JsonHop {
                to: names.ids(&h.to),
                ports: Names::ports(h),
                source: h.source.clone(),
                admitted_from: names.ids(&h.admitted_from),
                reached: names.ids(&h.reached),
                clients: h.clients.as_ref().map(|c| names.ids(c)),
            })
            .collect();
        let exposure = JsonExposure {
            pod: names.id(e.pod),
            workload: names.analysis.pod(e.pod).and_then(|p| p.workload.as_ref()).map(|w| w.to_string()),
            port: e.port,
            protocol: e.protocol.as_str(),
            via: JsonVia { kind: e.via.kind.as_str(), name: &e.via.name },
            entry_port: e.entry_port,
            reachable: e.reachable(),
            hops,
        };
        write!(out, "{}\n    ", if i == 0 { "" } else { "," })?;
        serde_json::to_writer(&mut *out, &exposure)?;
    }
    writeln!(out, "{}],", if names.report.exposures.is_empty() { "" } else { "\n  " })?;
    writeln!(out, "  \"notes\": {}", serde_json::json!(names.report.notes))?;
    writeln!(out, "}}")
}

/// `can internet X`'s entry-path lines, after the policy verdict: each entry path to X on the
/// asked port(s), or that none exists. `item` starts each line (`  ` in text, `- ` in Markdown).
pub fn entry_paths_text(analysis: &Analysis, paths: &[Exposure], item: &str, out: &mut dyn Write) -> io::Result<()> {
    let reachable = paths.iter().filter(|e| e.reachable()).count();
    if paths.is_empty() {
        return writeln!(
            out,
            "Entry paths from outside: none (no LoadBalancer, NodePort, externalIP, Ingress, Gateway, hostPort or hostNetwork delivers there: the verdict above is policy's alone)"
        );
    }
    writeln!(out, "Entry paths from outside: {} ({reachable} reachable through every hop's policy)", paths.len())?;
    for e in paths {
        let blocked = e.hops.iter().position(|h| !h.admitted()).map(|i| format!(": hop {} denied by policy", i + 1));
        writeln!(
            out,
            "{item}{} {} to {} {}/{} (entry port {}){}",
            e.via.kind.as_str(),
            e.via.name,
            analysis.id(e.pod),
            e.port,
            e.protocol.as_str(),
            Names::entry(e),
            blocked.as_deref().unwrap_or(": reachable")
        )?;
    }
    Ok(())
}

/// `can internet X -o json`'s `entryPaths`: one object per entry path to X on the asked port(s).
pub fn entry_paths_json(analysis: &Analysis, paths: &[Exposure]) -> serde_json::Value {
    serde_json::Value::Array(
        paths
            .iter()
            .map(|e| {
                serde_json::json!({
                    "pod": analysis.id(e.pod),
                    "port": e.port,
                    "protocol": e.protocol.as_str(),
                    "via": {"kind": e.via.kind.as_str(), "name": e.via.name},
                    "entryPort": e.entry_port,
                    "reachable": e.reachable(),
                })
            })
            .collect(),
    )
}

impl super::ViaKind {
    /// The DOT shape of an entry point of this kind, and its legend line.
    fn shape(self) -> (&'static str, &'static str) {
        use super::ViaKind::*;
        match self {
            LoadBalancer => ("doubleoctagon", "LoadBalancer Service"),
            NodePort => ("octagon", "NodePort Service"),
            ExternalIp => ("diamond", "Service on externalIPs"),
            Ingress => ("house", "Ingress (outside → controller pods → backends)"),
            Gateway => ("invhouse", "Gateway (outside → gateway pods → backends)"),
            HostPort => ("cds", "container hostPort"),
            HostNetwork => ("component", "hostNetwork pod listening on its node's addresses"),
        }
    }
}

/// The internet node of the picture.
const OUTSIDE: &str = "external:outside the cluster";

/// The entry paths as a picture (`exposure -o dot|svg`): outside the cluster as one hexagon,
/// each entry point a node shaped by its kind (in its namespace), the pods grouped by
/// namespace, and each hop an edge, dashed grey where the receiver's policy does not admit it.
/// One edge per (sender, receiver, admitted), whatever the number of paths sharing it.
pub fn graph(
    analysis: &Analysis,
    report: &ExposureReport,
    options: &crate::render::graph::GraphOptions,
) -> Result<crate::render::graph::ReachGraph, crate::render::graph::GraphError> {
    use crate::render::graph::{EdgeStyle, GraphEdge, GraphNode, IdGraph};
    use netreach_model::PortSet;
    let names = Names { analysis, report };
    let mut drawn = IdGraph::new(crate::aggregate::Level::Pod);
    let mut seen = std::collections::HashSet::new();
    let outside = drawn.node(OUTSIDE);
    for e in &report.exposures {
        let (namespace, name) = e.via.name.split_once('/').unwrap_or(("", &e.via.name));
        let entry = drawn.node_as(GraphNode {
            id: format!("entry:{}:{}", e.via.kind.as_str(), e.via.name),
            kind: crate::aggregate::GroupKind::Workload,
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
            details: vec![e.via.kind.as_str().to_string()],
            host_network: false,
            shape: Some(e.via.kind.shape()),
            tooltip: Some(format!("{} {}", e.via.kind.as_str(), e.via.name)),
        });
        let entry_ports = match e.entry_port {
            Some(port) => PortSet::single(e.protocol, port),
            None => PortSet::all(),
        };
        let mut edge = |drawn: &mut IdGraph, s: usize, d: usize, ports: PortSet, admitted: bool, tooltip: String| {
            if seen.insert((s, d, admitted, ports.clone())) {
                let style = if admitted { drawn.reach_style(s, d) } else { EdgeStyle::NotAdmitted };
                drawn.edge(GraphEdge { tooltip: Some(tooltip), ..GraphEdge::new(s, d, ports, style) });
            }
        };
        let into = format!("outside → {} {}", e.via.kind.as_str(), e.via.name);
        let first_admitted = e.hops.first().is_none_or(Hop::admitted);
        edge(&mut drawn, outside, entry, entry_ports, first_admitted, into);
        // The senders of each hop: the entry point first, then the previous hop's receivers.
        let mut senders = vec![entry];
        for (i, hop) in e.hops.iter().enumerate() {
            let ports = hop.ports.iter().map(|&(protocol, port)| PortSet::single(protocol, port)).fold(
                PortSet::empty(),
                |mut all, p| {
                    all.union_with(&p);
                    all
                },
            );
            let (mut receivers, mut reached) = (Vec::new(), Vec::new());
            for &to in &hop.to {
                let d = drawn.node(&names.id(to));
                let admitted = hop.reached.contains(&to);
                for &s in &senders {
                    let tooltip = format!("hop {}: sees {}", i + 1, hop.source);
                    edge(&mut drawn, s, d, ports.clone(), admitted, tooltip);
                }
                receivers.push(d);
                if admitted {
                    reached.push(d);
                }
            }
            // The next hop leaves from the receivers reached, as `exposure` judges it.
            senders = if reached.is_empty() { receivers } else { reached };
        }
        if e.hops.is_empty() {
            let d = drawn.node(&names.id(e.pod));
            edge(
                &mut drawn,
                entry,
                d,
                PortSet::single(e.protocol, e.port),
                true,
                "controller not in the input: assumed to pass".into(),
            );
        }
    }
    drawn.mark(outside, "clients and load balancers");
    drawn.finish(options)
}

//! `netreach connectivity` output in every format.

use super::json::JsonArray;
use super::table::{write_wrapped, Cell, Column, Layout};
use super::terminal::styles;
use super::OutputFormat;
use crate::analysis::Analysis;
use crate::filter::ConnectionFilter;
use crate::mesh::{CustomPorts, EffectiveConnections};
use netreach_model::{Endpoint, PortSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PodNode<'a> {
    id: String,
    kind: &'static str,
    namespace: &'a str,
    name: &'a str,
    workload: Option<String>,
    labels: &'a BTreeMap<String, String>,
    ips: Vec<String>,
    host_network: bool,
    node: Option<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    synthesized: bool,
}

#[derive(Serialize)]
struct ExternalNode<'a> {
    id: &'a str,
    kind: &'static str,
    cidrs: Vec<String>,
    except: Vec<String>,
}

#[derive(Serialize)]
pub struct Allowed {
    protocol: &'static str,
    ports: Vec<[u16; 2]>,
}

/// `allowed` of the JSON contract: one entry per protocol, merged inclusive ranges.
pub fn allowed_json(ports: &PortSet) -> Vec<Allowed> {
    ports
        .iter()
        .map(|(p, ranges)| Allowed { protocol: p.as_str(), ports: ranges.iter().map(|&(lo, hi)| [lo, hi]).collect() })
        .collect()
}

/// Writes the connection list; `Summary` is written by [`super::write_summary`], which needs
/// the phase times.
pub fn write_connectivity(analysis: &Analysis, format: OutputFormat, out: &mut dyn Write) -> io::Result<()> {
    write_connectivity_filtered(analysis, format, &ConnectionFilter::none(), out)
}

/// [`write_connectivity`] showing only the connections `filter` keeps (`--namespace`, `--from`,
/// `--to`); with an inactive filter the output is exactly the unfiltered one. Graphs use the
/// default [`super::graph::GraphOptions`].
pub fn write_connectivity_filtered(
    analysis: &Analysis,
    format: OutputFormat,
    filter: &ConnectionFilter,
    out: &mut dyn Write,
) -> io::Result<()> {
    write_connectivity_layered(analysis, None, format, filter, out)
}

/// [`write_connectivity_filtered`], with the mesh layer applied when `mesh` is given
/// (`connectivity --mesh`): only the ports NetworkPolicy, mTLS and Istio authorization all
/// leave open, and apart those an external authorizer decides. Graphs take no mesh layer
/// (`netreach mesh -o svg` draws it).
pub fn write_connectivity_layered(
    analysis: &Analysis,
    mesh: Option<&EffectiveConnections>,
    format: OutputFormat,
    filter: &ConnectionFilter,
    out: &mut dyn Write,
) -> io::Result<()> {
    let shown = Shown { analysis, mesh, filter };
    match format {
        OutputFormat::Summary => super::write_summary(analysis, &super::PhaseTimes::default(), mesh, filter, out),
        OutputFormat::Json => write_json(&shown, out),
        OutputFormat::Text => write_text(&shown, out),
        OutputFormat::Csv => write_csv(&shown, out),
        OutputFormat::Md => write_md(&shown, out),
        OutputFormat::Dot | OutputFormat::Svg => {
            super::graph::write_graph(analysis, format, filter, &Default::default(), out).map_err(|e| match e {
                super::graph::GraphError::Io(e) => e,
                e => io::Error::other(e),
            })
        }
    }
}

/// The connections a listing shows: what NetworkPolicy allows, or with the mesh layer what
/// both layers leave, of the pairs `filter` keeps.
struct Shown<'s, 'v, 'a> {
    analysis: &'s Analysis,
    mesh: Option<&'s EffectiveConnections<'v, 'a>>,
    filter: &'s ConnectionFilter,
}

impl Shown<'_, '_, '_> {
    /// `f(src, dst, open ports, ports an external authorizer decides)` per shown connection.
    fn each(&self, mut f: impl FnMut(usize, usize, &PortSet, &[CustomPorts]) -> io::Result<()>) -> io::Result<()> {
        let filter = self.filter;
        match self.mesh {
            None => self.analysis.reach.for_each_connection(|src, dst, ports| {
                if filter.keeps(src, dst) {
                    f(src, dst, ports, &[])
                } else {
                    Ok(())
                }
            }),
            Some(mesh) => mesh.for_each_connection(|src, dst, left| {
                if filter.keeps(src, dst) {
                    f(src, dst, &left.open, &left.custom)
                } else {
                    Ok(())
                }
            }),
        }
    }

    /// The policies the answer leaves out: with the mesh layer, all but the
    /// AuthorizationPolicies it applies.
    fn unevaluated(&self) -> Vec<netreach_model::UnevaluatedPolicy> {
        match self.mesh {
            Some(mesh) => mesh.view.unevaluated_policies(),
            None => self.analysis.cluster.unevaluated_policies.clone(),
        }
    }

    fn incompleteness(&self) -> Option<String> {
        super::incompleteness_of(&self.analysis.cluster.skipped_invalid, &self.unevaluated())
    }
}

/// `custom` of the JSON contract: per CUSTOM policy, its provider and the ports it decides.
pub fn custom_json(custom: &[CustomPorts]) -> serde_json::Value {
    custom
        .iter()
        .map(|c| serde_json::json!({"policy": c.policy, "provider": c.provider, "allowed": allowed_json(&c.ports)}))
        .collect()
}

/// Ports left to an external authorizer, in words: `custom by provider P (CUSTOM ns/name): TCP 80`.
fn custom_text(c: &CustomPorts) -> String {
    format!("custom by provider {} (CUSTOM {}): {}", c.provider, c.policy, c.ports)
}

/// The ALLOWED cell of text and Markdown: open ports, then those an external authorizer decides.
pub fn ports_text(open: &PortSet, custom: &[CustomPorts]) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !open.is_empty() || custom.is_empty() {
        parts.push(open.to_string());
    }
    parts.extend(custom.iter().map(custom_text));
    parts.join(" | ")
}

/// Appended to `-o summary`: with a filter, the pairs it shows per protocol; with the mesh
/// layer, the pairs it leaves open per protocol and those left to an external authorizer.
pub(super) fn write_layered_counts(
    analysis: &Analysis,
    mesh: Option<&EffectiveConnections>,
    filter: &ConnectionFilter,
    out: &mut dyn Write,
) -> io::Result<()> {
    const PROTOCOLS: [&str; 3] = ["TCP", "UDP", "SCTP"];
    if filter.is_active() {
        let counts = filter.count(analysis);
        writeln!(out, "{:<20} {}", "filter:", filter.description())?;
        writeln!(out, "{:<20} {}", "shown pairs:", counts.pairs)?;
        for (k, protocol) in PROTOCOLS.iter().enumerate() {
            writeln!(out, "{:<20} {}", format!("shown pairs {protocol}:"), counts.by_protocol[k])?;
        }
    }
    if let Some(mesh) = mesh {
        let counts = mesh.count(filter);
        let shown = if filter.is_active() { "shown " } else { "" };
        writeln!(out, "{:<20} {}", format!("{shown}mesh-open pairs:"), counts.open)?;
        for (k, protocol) in PROTOCOLS.iter().enumerate() {
            writeln!(out, "{:<20} {}", format!("{shown}mesh-open pairs {protocol}:"), counts.open_by_protocol[k])?;
        }
        writeln!(out, "{:<20} {}", format!("{shown}custom pairs:"), counts.custom)?;
    }
    Ok(())
}

fn write_json(shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    let (analysis, filter) = (shown.analysis, shown.filter);
    let reach = &analysis.reach;
    let ids: Vec<String> = (0..reach.endpoint_count()).map(|i| analysis.id(i)).collect();
    // Filtered: only the nodes in a shown connection or selected by the filter.
    let shown_nodes = filter.is_active().then(|| filter.shown_endpoints(analysis));
    let mesh_layer = if shown.mesh.is_some() { "\n  \"meshLayer\": true," } else { "" };
    write!(
        out,
        "{{\n  \"schemaVersion\": 1,\n  \"profile\": \"{}\",{mesh_layer}\n  \"unevaluatedPolicies\": {},\n  \"incomplete\": {},\n  \"nodes\": [",
        reach.profile().as_str(),
        super::unevaluated_policies_json(&shown.unevaluated()),
        super::incomplete_json(&analysis.cluster.skipped_invalid)
    )?;
    let mut nodes = JsonArray::new("    ");
    for i in 0..reach.endpoint_count() {
        if shown_nodes.as_ref().is_some_and(|s| !s[i]) {
            continue;
        }
        nodes.element(out)?;
        match reach.endpoint(i) {
            Endpoint::Pod(p) => {
                let pod = &analysis.cluster.pods[p as usize];
                serde_json::to_writer(
                    &mut *out,
                    &PodNode {
                        id: ids[i].clone(),
                        kind: "Pod",
                        namespace: &pod.namespace,
                        name: &pod.name,
                        workload: pod.workload.as_ref().map(|w| w.to_string()),
                        labels: &pod.labels,
                        ips: pod.ips.iter().map(|ip| ip.to_string()).collect(),
                        host_network: pod.host_network,
                        node: pod.node.as_deref(),
                        synthesized: pod.synthesized,
                    },
                )?;
            }
            Endpoint::External(e) => {
                let ext = &reach.externals()[e as usize];
                serde_json::to_writer(
                    &mut *out,
                    &ExternalNode {
                        id: &ext.id,
                        kind: "External",
                        cidrs: ext.cidrs.iter().map(|c| c.to_string()).collect(),
                        except: ext.except.iter().map(|c| c.to_string()).collect(),
                    },
                )?;
            }
        }
    }
    write!(out, "\n  ],\n  \"connections\": [")?;
    let mut connections = JsonArray::new("    ");
    // Each pair is written from pieces serialized once: the ids, and `allowed` per port set (a
    // cluster has few distinct ones; keyed by address, the engine's sets live as long as it).
    let id_json: Vec<String> = ids.iter().map(|id| serde_json::to_string(id).expect("strings serialize")).collect();
    let mut allowed_cache: HashMap<*const PortSet, String> = HashMap::new();
    shown.each(|src, dst, ports, custom| {
        connections.element(out)?;
        let allowed = allowed_cache
            .entry(ports as *const PortSet)
            .or_insert_with(|| serde_json::to_string(&allowed_json(ports)).expect("port lists serialize"));
        write!(out, "{{\"src\":{},\"dst\":{},\"allowed\":{allowed}", id_json[src], id_json[dst])?;
        if !custom.is_empty() {
            write!(out, ",\"custom\":{}", custom_json(custom))?;
        }
        write!(out, "}}")
    })?;
    writeln!(out, "\n  ]\n}}")
}

fn write_text(shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    let (analysis, filter) = (shown.analysis, shown.filter);
    let reach = &analysis.reach;
    let names: Vec<String> = (0..reach.endpoint_count()).map(|i| analysis.display_name(i)).collect();
    // Padded over the endpoints of the rows shown, as the table writer does for held tables.
    let (sources, destinations) = shown_sides(analysis, filter);
    let widest =
        |shown: &[bool]| names.iter().zip(shown).filter(|(_, &s)| s).map(|(n, _)| n.chars().count()).max().unwrap_or(0);
    let columns = [Column::left("SOURCE"), Column::left("DESTINATION"), Column::left("ALLOWED")];
    // ALLOWED is streamed, its width unknown: the layout gives it what the names leave.
    let natural = [widest(&sources), widest(&destinations), ALLOWED_WIDTH];
    let layout = Layout::fit(&columns, &natural, 0, super::terminal::width());
    layout.write_header(&columns, out)?;
    let mut count = 0usize;
    shown.each(|src, dst, ports, custom| {
        count += 1;
        let allowed = Cell::styled(ports_text(ports, custom), styles::GOOD);
        layout.write_row(&[Cell::from(names[src].as_str()), Cell::from(names[dst].as_str()), allowed], out)
    })?;
    let pods = reach.pod_count();
    writeln!(out)?;
    let line = format!(
        "{count} connection(s) among {pods} pod(s) and {} external range(s); a pod's traffic to itself is always allowed and not listed.",
        reach.externals().len()
    );
    write_wrapped(0, &line, out)?;
    if shown.mesh.is_some() {
        write_wrapped(0, MESH_LAYER_NOTE, out)?;
    }
    if filter.is_active() {
        writeln!(out, "Filtered by {}.", filter.description())?;
    }
    if let Some(line) = shown.incompleteness() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Said under text and Markdown listings with the mesh layer.
const MESH_LAYER_NOTE: &str = "Mesh layer applied: ports that Istio mTLS or AuthorizationPolicy close are not listed; ports a CUSTOM policy leaves to an external authorizer are listed as custom, not as allowed.";

/// What the ALLOWED column is assumed to need when fitting a terminal (`TCP 80, 443; UDP 53`).
const ALLOWED_WIDTH: usize = 24;

/// Per endpoint: whether it is the source, and whether the destination, of a shown connection.
/// Filtered: one pass over the pairs, as the filter decides per pair. Unfiltered: from the
/// class rows, so the cost follows classes, not pairs.
fn shown_sides(analysis: &Analysis, filter: &ConnectionFilter) -> (Vec<bool>, Vec<bool>) {
    let reach = &analysis.reach;
    let count = reach.endpoint_count();
    let (mut sources, mut destinations) = (vec![false; count], vec![false; count]);
    if filter.is_active() {
        let _ = reach.for_each_connection::<std::convert::Infallible>(|s, d, _| {
            if filter.keeps(s, d) {
                sources[s] = true;
                destinations[d] = true;
            }
            Ok(())
        });
        return (sources, destinations);
    }
    // A connection joins distinct endpoints, never two external ranges.
    let pods = reach.pod_count();
    let pods_in = |class: usize| reach.class_members(class).partition_point(|&m| (m as usize) < pods);
    let mut reached_whole = vec![false; reach.class_count()];
    for class in 0..reach.class_count() {
        let members = reach.class_members(class);
        let source_pods = pods_in(class);
        for &src in members {
            let src_external = src as usize >= pods;
            // Short-circuits on the first destination class: cost per endpoint, not per pair.
            sources[src as usize] = reach.class_row(class).any(|(dst_class, _)| {
                let dst_members = reach.class_members(dst_class);
                if src_external {
                    pods_in(dst_class) > 0
                } else {
                    dst_members.iter().any(|&d| d != src)
                }
            });
        }
        for (dst_class, _) in reach.class_row(class) {
            let dst_members = reach.class_members(dst_class);
            if reached_whole[dst_class] {
                continue;
            }
            // A pod of another class, or a second pod of this one, reaches every member.
            if source_pods > 0 && (dst_class != class || source_pods > 1) {
                reached_whole[dst_class] = true;
                dst_members.iter().for_each(|&d| destinations[d as usize] = true);
                continue;
            }
            for &d in dst_members {
                let d_external = d as usize >= pods;
                destinations[d as usize] |= members.iter().any(|&s| s != d && !(d_external && s as usize >= pods));
            }
        }
    }
    (sources, destinations)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV: one row per connection, protocol and (with the mesh layer) authorization, `allow` or
/// `custom:PROVIDER:NAMESPACE/NAME`.
fn write_csv(shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    let analysis = shown.analysis;
    let ids: Vec<String> = (0..analysis.reach.endpoint_count()).map(|i| csv_field(&analysis.id(i))).collect();
    let mesh = shown.mesh.is_some();
    writeln!(out, "src,dst,protocol,ports{}", if mesh { ",authz" } else { "" })?;
    shown.each(|src, dst, ports, custom| {
        let open = (ports, if mesh { ",allow".to_string() } else { String::new() });
        let decided = custom
            .iter()
            .map(|c| (&c.ports, format!(",{}", csv_field(&format!("custom:{}:{}", c.provider, c.policy)))));
        for (ports, authz) in std::iter::once(open).chain(decided) {
            for (protocol, ranges) in ports.iter() {
                let list: Vec<String> = ranges
                    .iter()
                    .map(|&(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") })
                    .collect();
                writeln!(out, "{},{},{},{}{authz}", ids[src], ids[dst], protocol, csv_field(&list.join(",")))?;
            }
        }
        Ok(())
    })
}

fn write_md(shown: &Shown, out: &mut dyn Write) -> io::Result<()> {
    let analysis = shown.analysis;
    let names: Vec<String> =
        (0..analysis.reach.endpoint_count()).map(|i| analysis.display_name(i).replace('|', "\\|")).collect();
    writeln!(out, "| Source | Destination | Allowed |\n|---|---|---|")?;
    shown.each(|src, dst, ports, custom| {
        let cell = ports_text(ports, custom).replace('|', "\\|");
        writeln!(out, "| `{}` | `{}` | {cell} |", names[src], names[dst])
    })?;
    if shown.mesh.is_some() {
        writeln!(out, "\n{MESH_LAYER_NOTE}")?;
    }
    if let Some(line) = shown.incompleteness() {
        writeln!(out, "\n{line}")?;
    }
    Ok(())
}

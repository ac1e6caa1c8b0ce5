//! The `paths` answer ([`crate::lateral`]) in text, Markdown and JSON (schemaVersion 1), and the
//! one spelling of a path (`a -[TCP 8080]-> b -[node-local]-> c`) that `invariants` shares.

use crate::aggregate::Level;
use crate::analysis::Analysis;
use crate::exposure::Via;
use crate::lateral::{BlastRadius, Hop, PathsAnswer};
use crate::render::allowed_json;
use crate::render::graph::{EdgeStyle, GraphEdge, GraphError, GraphOptions, IdGraph, ReachGraph};
use crate::render::table::{Column, Table};
use crate::render::text::md_cell;
use netreach_model::HopKind;
use serde_json::json;
use std::io::{self, Write};

/// What was asked, as typed, and how many rows readable outputs list.
pub struct Asked<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// Targets (and sources) listed in text and Markdown; JSON lists all.
    pub limit: usize,
}

/// `a -[TCP 8080]-> b -[node-local]-> c`: the source, then each hop.
pub fn path_text(analysis: &Analysis, source: usize, hops: &[Hop]) -> String {
    let mut text = analysis.id(source);
    for hop in hops {
        let via = match (hop.kind, &hop.entry) {
            (HopKind::Policy, _) => hop.ports.to_string(),
            (HopKind::NodeLocal, _) => "node-local".to_string(),
            (HopKind::Entry, Some(entry)) => format!("{} via {}", hop.ports, via_text(&entry.via)),
            (HopKind::Entry, None) => "entry".to_string(),
        };
        text.push_str(&format!(" -[{via}]-> {}", analysis.id(hop.dst)));
    }
    text
}

/// `LoadBalancer shop/web`: an entry point as hops and tables name it.
pub fn via_text(via: &Via) -> String {
    format!("{} {}", via.kind.as_str(), via.name)
}

/// `{"kind": "LoadBalancer", "name": "shop/web"}`, as `exposure -o json` writes it.
pub fn via_json(via: &Via) -> serde_json::Value {
    json!({"kind": via.kind.as_str(), "name": via.name})
}

/// The two summary lines, the second one never a heading.
fn summary(heading: &str, asked: &Asked, answer: &PathsAnswer, out: &mut dyn Write) -> io::Result<()> {
    let counts = Counts {
        sources: answer.sources.len(),
        max_hops: answer.max_hops,
        reached: answer.reached.len(),
        targets: answer.target_count(),
        node_hops: answer.node_hops,
    };
    summary_lines(heading, asked, &counts, "", out)
}

/// What the summary lines of `paths` count.
pub struct Counts {
    pub sources: usize,
    pub max_hops: u32,
    pub reached: usize,
    pub targets: usize,
    pub node_hops: bool,
}

/// `Compromised: …` and `Reached within N hop(s)<how>: …`, for network and attack paths alike.
pub fn summary_lines(heading: &str, asked: &Asked, counts: &Counts, how: &str, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{heading}Compromised: {} endpoint(s) selected by {:?}", counts.sources, asked.from)?;
    writeln!(
        out,
        "Reached within {} hop(s){how}: {} of {} target(s) selected by {:?}{}",
        counts.max_hops,
        counts.reached,
        counts.targets,
        asked.to,
        if counts.node_hops { "" } else { " (node-local hops off)" }
    )
}

/// The reached targets, the nearest first, each with its path.
fn shown_paths(analysis: &Analysis, answer: &PathsAnswer) -> Vec<(usize, Vec<Hop>)> {
    let mut shown: Vec<usize> = answer.reached.clone();
    shown.sort_by_key(|&t| (answer.lateral.distance[t], t));
    shown.into_iter().map(|t| (t, answer.path(analysis, t))).collect()
}

/// The sources, the widest blast radius first.
fn radius_rows(answer: &PathsAnswer) -> Vec<&BlastRadius> {
    let mut rows: Vec<&BlastRadius> = answer.blast_radius.iter().collect();
    rows.sort_by(|a, b| b.total().cmp(&a.total()).then(a.source.cmp(&b.source)));
    rows
}

fn more_targets(shown: usize, asked: &Asked, out: &mut dyn Write) -> io::Result<()> {
    if shown > asked.limit {
        writeln!(out, "… and {} more target(s) (--limit, or -o json for all)", shown - asked.limit)?;
    }
    Ok(())
}

fn more_sources(rows: usize, asked: &Asked, out: &mut dyn Write) -> io::Result<()> {
    if rows > asked.limit {
        writeln!(out, "… and {} more source(s)", rows - asked.limit)?;
    }
    Ok(())
}

fn radius_heading(heading: &str, answer: &PathsAnswer, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{heading}Blast radius: pods reached within 1..{} hop(s), per source", answer.max_hops)
}

/// The answer as readable text: paths, then a blast-radius table in aligned columns.
pub fn text(analysis: &Analysis, asked: &Asked, answer: &PathsAnswer, out: &mut dyn Write) -> io::Result<()> {
    summary("", asked, answer, out)?;
    writeln!(out)?;
    let shown = shown_paths(analysis, answer);
    for (t, path) in shown.iter().take(asked.limit) {
        writeln!(out, "{}  {} hop(s): {}", analysis.id(*t), path.len(), path_text(analysis, path[0].src, path))?;
    }
    more_targets(shown.len(), asked, out)?;
    writeln!(out)?;
    radius_heading("", answer, out)?;
    let rows = radius_rows(answer);
    let hops: Vec<String> = (1..=answer.max_hops).map(|k| k.to_string()).collect();
    let columns = std::iter::once(Column::left("SOURCE")).chain(hops.iter().map(|h| Column::right(h))).collect();
    let mut table = Table::new(columns);
    for r in rows.iter().take(asked.limit) {
        table.row(
            std::iter::once(answer.source_name(analysis, r.source)).chain(r.reached.iter().map(|n| n.to_string())),
        );
    }
    table.write(out)?;
    more_sources(rows.len(), asked, out)
}

/// The answer as Markdown: a table of paths and a blast-radius table.
pub fn markdown(analysis: &Analysis, asked: &Asked, answer: &PathsAnswer, out: &mut dyn Write) -> io::Result<()> {
    summary("## ", asked, answer, out)?;
    writeln!(out)?;
    writeln!(out, "| Target | Hops | Path |\n|---|---|---|")?;
    let shown = shown_paths(analysis, answer);
    for (t, path) in shown.iter().take(asked.limit) {
        let text = path_text(analysis, path[0].src, path);
        writeln!(out, "| `{}` | {} | `{}` |", analysis.id(*t), path.len(), md_cell(&text))?;
    }
    more_targets(shown.len(), asked, out)?;
    writeln!(out)?;
    radius_heading("## ", answer, out)?;
    let heads: Vec<String> = (1..=answer.max_hops).map(|k| k.to_string()).collect();
    writeln!(out, "| Source | {} |\n|---|{}", heads.join(" | "), "---|".repeat(heads.len()))?;
    let rows = radius_rows(answer);
    for r in rows.iter().take(asked.limit) {
        let counts: Vec<String> = r.reached.iter().map(|n| n.to_string()).collect();
        writeln!(out, "| `{}` | {} |", answer.source_name(analysis, r.source), counts.join(" | "))?;
    }
    more_sources(rows.len(), asked, out)
}

fn hop_json(analysis: &Analysis, hop: &Hop) -> serde_json::Value {
    let (protocol, port) = match (hop.kind, hop.port()) {
        (HopKind::Policy | HopKind::Entry, Some((p, n))) => (json!(p), json!(n)),
        _ => (json!(null), json!(null)),
    };
    let mut value = json!({
        "src": analysis.id(hop.src),
        "dst": analysis.id(hop.dst),
        "protocol": protocol,
        "port": port,
        "kind": match hop.kind { HopKind::Policy => "policy", HopKind::NodeLocal => "node-local", HopKind::Entry => "entry" },
        "allowed": allowed_json(&hop.ports),
    });
    if let Some(entry) = &hop.entry {
        value["via"] = via_json(&entry.via);
        value["source"] = json!(entry.source);
    }
    value
}

/// The answer as a picture (`-o dot|svg`), pod by pod: every hop of every path shown (each
/// once), the compromised sources marked, node-local hops dashed.
pub fn graph(analysis: &Analysis, answer: &PathsAnswer, options: &GraphOptions) -> Result<ReachGraph, GraphError> {
    let mut graph = IdGraph::new(Level::Pod);
    let mut drawn = std::collections::HashSet::new();
    for &t in &answer.reached {
        for hop in answer.path(analysis, t) {
            if !drawn.insert((hop.src, hop.dst, hop.kind == HopKind::NodeLocal)) {
                continue;
            }
            let (src, dst) = (analysis.id(hop.src), analysis.id(hop.dst));
            let (s, d) = (graph.node(&src), graph.node(&dst));
            let style = match hop.kind {
                HopKind::NodeLocal => EdgeStyle::NodeLocal,
                HopKind::Policy | HopKind::Entry => graph.reach_style(s, d),
            };
            let through = hop.entry.as_ref().map(|e| format!(" via {}", via_text(&e.via))).unwrap_or_default();
            let tooltip = format!("{src} → {dst}: {}{through}", hop.ports);
            graph.edge(GraphEdge { tooltip: Some(tooltip), ..GraphEdge::new(s, d, hop.ports, style) });
        }
    }
    for &source in &answer.sources {
        let id = analysis.id(source);
        let s = graph.node(&id);
        graph.mark(s, "compromised (--from)");
    }
    graph.finish(options)
}

/// The fields before `paths` that every paths answer starts with; `mode` only for attack paths.
pub(crate) fn json_header(
    cluster: &netreach_model::Cluster,
    asked: &Asked,
    (max_hops, node_hops): (u32, bool),
    mode: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        crate::render::unevaluated_policies_json(&cluster.unevaluated_policies)
    )?;
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&cluster.skipped_invalid))?;
    write!(
        out,
        "  \"from\": {},\n  \"to\": {},\n  \"maxHops\": {max_hops},\n  \"nodeHops\": {node_hops},",
        json!(asked.from),
        json!(asked.to)
    )?;
    match mode {
        Some(mode) => writeln!(out, "\n  \"mode\": {},", json!(mode)),
        None => writeln!(out),
    }
}

/// The answer as JSON (schemaVersion 1), one path and one source per line; every target and
/// source, whatever the limit.
pub fn json(analysis: &Analysis, asked: &Asked, answer: &PathsAnswer, out: &mut dyn Write) -> io::Result<()> {
    json_header(&analysis.cluster, asked, (answer.max_hops, answer.node_hops), None, out)?;
    writeln!(out, "  \"paths\": [")?;
    for (i, &t) in answer.reached.iter().enumerate() {
        let hops: Vec<serde_json::Value> = answer.path(analysis, t).iter().map(|hop| hop_json(analysis, hop)).collect();
        let sep = if i + 1 < answer.reached.len() { "," } else { "" };
        writeln!(out, "    {}{sep}", json!({"target": analysis.id(t), "hops": hops}))?;
    }
    writeln!(out, "  ],\n  \"blastRadius\": [")?;
    for (i, r) in answer.blast_radius.iter().enumerate() {
        let sep = if i + 1 < answer.blast_radius.len() { "," } else { "" };
        writeln!(out, "    {}{sep}", json!({"source": answer.source_name(analysis, r.source), "reached": r.reached}))?;
    }
    writeln!(out, "  ]\n}}")
}

//! The attack-path answer in text (an attack story, one step a line), Markdown and JSON
//! (schemaVersion 1, `"mode": "attack"`; `netreach schema paths`).

use super::{AttackAnswer, AttackRadius, Step, StepKind};
use crate::render::paths::{summary_lines, via_json, via_text, Asked, Counts};
use crate::render::text::md_cell;
use serde_json::json;
use std::io::{self, Write};

fn summary(heading: &str, asked: &Asked, answer: &AttackAnswer, out: &mut dyn Write) -> io::Result<()> {
    let counts = Counts {
        sources: answer.sources.len(),
        max_hops: answer.max_hops,
        reached: answer.reached.len(),
        targets: answer.target_count(),
        node_hops: answer.node_hops,
    };
    summary_lines(heading, asked, &counts, ", following network, posture and RBAC", out)
}

/// `TCP 8080` for a network step, else its kind.
fn via(step: &Step) -> String {
    let through = step.via.as_ref().map(|v| format!(" via {}", via_text(v))).unwrap_or_default();
    match (step.kind, step.port) {
        (StepKind::Network, Some((protocol, port))) => format!("{protocol} {port}{through}"),
        (kind, _) => format!("{}{through}", kind.as_str()),
    }
}

/// The blast radius at the last hop.
fn totals(r: &AttackRadius) -> [u64; 4] {
    let last = |v: &Vec<u64>| v.last().copied().unwrap_or(0);
    [last(&r.pods), last(&r.nodes), last(&r.secrets), last(&r.identities)]
}

fn radius_rows<'r>(answer: &'r AttackAnswer) -> Vec<&'r AttackRadius> {
    let mut rows: Vec<&AttackRadius> = answer.blast_radius.iter().collect();
    let key = |r: &AttackRadius| (r.cluster_admin.is_some(), totals(r));
    rows.sort_by(|a, b| key(b).cmp(&key(a)).then(a.source.cmp(&b.source)));
    rows
}

fn admin_cell(r: &AttackRadius) -> String {
    r.cluster_admin.map_or_else(|| "-".to_string(), |h| format!("{h} hop(s)"))
}

/// The answer as an attack story: per target its steps, one a line, then the blast radius.
pub fn text(asked: &Asked, answer: &AttackAnswer, out: &mut dyn Write) -> io::Result<()> {
    summary("", asked, answer, out)?;
    let g = &answer.graph;
    for &t in answer.reached.iter().take(asked.limit) {
        let steps = answer.steps(t);
        writeln!(out, "\n{}  {} hop(s):", g.name(g.vertex(t)), steps.len())?;
        for (i, step) in steps.iter().enumerate() {
            writeln!(out, "  {}. {} -[{}]-> {}: {}", i + 1, step.from, via(step), step.to, step.reason)?;
        }
    }
    if answer.reached.len() > asked.limit {
        writeln!(out, "… and {} more target(s) (--limit, or -o json for all)", answer.reached.len() - asked.limit)?;
    }
    writeln!(out, "\nBlast radius within {} hop(s), per source", answer.max_hops)?;
    let rows = radius_rows(answer);
    let names: Vec<String> = rows.iter().take(asked.limit).map(|r| answer.source_name(r.source)).collect();
    let width = names.iter().map(String::len).max().unwrap_or(6).max(6);
    writeln!(
        out,
        "{:width$}  {:>6} {:>6} {:>8} {:>11}  CLUSTER-ADMIN",
        "SOURCE", "PODS", "NODES", "SECRETS", "IDENTITIES"
    )?;
    for (r, name) in rows.iter().zip(&names) {
        let [pods, nodes, secrets, identities] = totals(r);
        writeln!(out, "{name:width$}  {pods:>6} {nodes:>6} {secrets:>8} {identities:>11}  {}", admin_cell(r))?;
    }
    if rows.len() > asked.limit {
        writeln!(out, "… and {} more source(s)", rows.len() - asked.limit)?;
    }
    for note in &g.notes {
        writeln!(out, "\nNote: {note}")?;
    }
    Ok(())
}

/// The answer as Markdown: a table of steps per target and a blast-radius table.
pub fn markdown(asked: &Asked, answer: &AttackAnswer, out: &mut dyn Write) -> io::Result<()> {
    summary("## ", asked, answer, out)?;
    let g = &answer.graph;
    writeln!(out, "\n| Target | Hop | From | Via | To | Why |\n|---|---|---|---|---|---|")?;
    for &t in answer.reached.iter().take(asked.limit) {
        for (i, step) in answer.steps(t).iter().enumerate() {
            writeln!(
                out,
                "| `{}` | {} | `{}` | {} | `{}` | {} |",
                md_cell(&g.name(g.vertex(t))),
                i + 1,
                md_cell(&step.from),
                via(step),
                md_cell(&step.to),
                md_cell(&step.reason)
            )?;
        }
    }
    if answer.reached.len() > asked.limit {
        writeln!(out, "… and {} more target(s) (--limit, or -o json for all)", answer.reached.len() - asked.limit)?;
    }
    writeln!(out, "\n## Blast radius within {} hop(s)\n", answer.max_hops)?;
    writeln!(out, "| Source | Pods | Nodes | Secrets | Identities | cluster-admin |\n|---|---|---|---|---|---|")?;
    let rows = radius_rows(answer);
    for r in rows.iter().take(asked.limit) {
        let [pods, nodes, secrets, identities] = totals(r);
        writeln!(
            out,
            "| `{}` | {pods} | {nodes} | {secrets} | {identities} | {} |",
            answer.source_name(r.source),
            admin_cell(r)
        )?;
    }
    if rows.len() > asked.limit {
        writeln!(out, "… and {} more source(s)", rows.len() - asked.limit)?;
    }
    for note in &g.notes {
        writeln!(out, "\n> Note: {}", md_cell(note))?;
    }
    Ok(())
}

fn step_json(step: &Step) -> serde_json::Value {
    let mut hop = json!({"kind": step.kind.as_str(), "from": step.from, "to": step.to, "reason": step.reason});
    if let Some((protocol, port)) = step.port {
        hop["protocol"] = json!(protocol);
        hop["port"] = json!(port);
    }
    if let Some(via) = &step.via {
        hop["via"] = via_json(via);
    }
    hop
}

/// The answer as JSON, one path and one source per line; every target and source.
pub fn json(asked: &Asked, answer: &AttackAnswer, out: &mut dyn Write) -> io::Result<()> {
    let g = &answer.graph;
    let cluster = &g.analysis.cluster;
    crate::render::paths::json_header(cluster, asked, (answer.max_hops, answer.node_hops), Some("attack"), out)?;
    writeln!(out, "  \"paths\": [")?;
    for (i, &t) in answer.reached.iter().enumerate() {
        let hops: Vec<serde_json::Value> = answer.steps(t).iter().map(step_json).collect();
        let sep = if i + 1 < answer.reached.len() { "," } else { "" };
        writeln!(out, "    {}{sep}", json!({"target": g.name(g.vertex(t)), "hops": hops}))?;
    }
    writeln!(out, "  ],\n  \"blastRadius\": [")?;
    for (i, r) in answer.blast_radius.iter().enumerate() {
        let sep = if i + 1 < answer.blast_radius.len() { "," } else { "" };
        let row = json!({
            "source": answer.source_name(r.source),
            "pods": r.pods,
            "nodes": r.nodes,
            "secrets": r.secrets,
            "identities": r.identities,
            "clusterAdmin": r.cluster_admin,
        });
        writeln!(out, "    {row}{sep}")?;
    }
    writeln!(out, "  ],\n  \"notes\": {}\n}}", json!(g.notes))
}

/// The answer as a picture (`-o dot|svg`): every step of every path shown once, coloured by
/// kind; network steps as `paths` colours them, the sources marked.
pub fn graph(
    answer: &AttackAnswer,
    options: &crate::render::graph::GraphOptions,
) -> Result<crate::render::graph::ReachGraph, crate::render::graph::GraphError> {
    use crate::render::graph::{EdgeStyle, GraphEdge, IdGraph};
    use netreach_model::PortSet;
    let mut drawn = IdGraph::new(crate::aggregate::Level::Pod);
    let mut seen = std::collections::HashSet::new();
    for &t in &answer.reached {
        for step in answer.steps(t) {
            if !seen.insert((step.from.clone(), step.to.clone(), step.kind)) {
                continue;
            }
            let (s, d) = (drawn.node(&step.from), drawn.node(&step.to));
            let style = match step.kind {
                StepKind::Network => drawn.reach_style(s, d),
                StepKind::NodeLocal => EdgeStyle::NodeLocal,
                StepKind::Escape => EdgeStyle::Escape,
                StepKind::Token => EdgeStyle::Token,
                StepKind::Rbac => EdgeStyle::Rbac,
            };
            let ports = match step.port {
                Some((p, n)) => {
                    PortSet::single(netreach_model::Protocol::parse(p).unwrap_or(netreach_model::Protocol::Tcp), n)
                }
                None => PortSet::all(),
            };
            let tooltip = format!("{} → {}: {}", step.from, step.to, step.reason);
            let label = (step.kind != StepKind::Network).then(|| step.kind.as_str().to_string());
            drawn.edge(GraphEdge { tooltip: Some(tooltip), label, ..GraphEdge::new(s, d, ports, style) });
        }
    }
    for &source in &answer.sources {
        let s = drawn.node(&answer.graph.analysis.id(source));
        drawn.mark(s, "compromised (--from)");
    }
    drawn.finish(options)
}

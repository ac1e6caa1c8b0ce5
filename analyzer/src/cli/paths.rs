//! `netreach paths`: lateral movement from a compromised set, with blast radius.

use super::{write_stdout, ExitStatus, InputArgs, Outcome};
use clap::Args;
use netreach::render::allowed_json;
use netreach::render::Format;
use netreach::select::EndpointSelector;
use netreach::Analysis;
use netreach_model::{HopKind, LateralReach, PortSet};
use serde_json::json;
use std::collections::HashMap;
use std::io::Write;

#[derive(Args)]
pub struct PathsArgs {
    /// The compromised set: ns/pod, ns/Kind/name, ns:NAME, a label selector (app=db,tier!=web),
    /// internet, any, an IP or a CIDR.
    #[arg(long, value_name = "SEL")]
    pub from: String,
    /// The targets to report, in the same forms.
    #[arg(long, value_name = "SEL", default_value = "any")]
    pub to: String,
    /// Longest path considered (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=netreach_model::MAX_HOPS as i64))]
    pub max_hops: u32,
    /// Do not model node-local hops (a hostNetwork pod reaching the pods on its node).
    #[arg(long)]
    pub no_node_hops: bool,
    /// Targets listed in text and Markdown output (JSON lists all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

/// One hop as printed: the port used is the lowest allowed one of the first protocol.
struct Hop {
    src: usize,
    dst: usize,
    kind: HopKind,
    ports: PortSet,
}

impl Hop {
    fn port(&self) -> Option<(&'static str, u16)> {
        self.ports.iter().next().map(|(p, ranges)| (p.as_str(), ranges[0].0))
    }
}

fn hops(analysis: &Analysis, lateral: &LateralReach, target: usize) -> Vec<Hop> {
    let reach = &analysis.reach;
    lateral
        .path(target)
        .into_iter()
        .map(|(src, dst, kind)| Hop {
            src,
            dst,
            kind,
            ports: match kind {
                HopKind::Policy => reach.allowed(reach.endpoint(src), reach.endpoint(dst)),
                HopKind::NodeLocal => PortSet::all(),
            },
        })
        .collect()
}

fn resolve(analysis: &Analysis, text: &str) -> Result<Vec<usize>, String> {
    EndpointSelector::parse(text).map_err(|e| e.to_string())?.resolve(analysis)
}

pub fn run(args: PathsArgs) -> Outcome {
    let analysis = args.input.analyze()?.analysis;
    let reach = &analysis.reach;
    let sources = resolve(&analysis, &args.from)?;
    if sources.is_empty() {
        return Err(format!("--from {:?} selects nothing", args.from).into());
    }
    let targets = resolve(&analysis, &args.to)?;
    let node_hops = !args.no_node_hops;
    let lateral = reach.lateral(&analysis.cluster, &sources, args.max_hops, node_hops);
    let reached: Vec<usize> =
        targets.iter().copied().filter(|&t| lateral.distance[t] >= 1 && lateral.distance[t] != u32::MAX).collect();

    // Blast radius per source. Sources of one class on one node reach the same number of pods,
    // so one search serves them all.
    let is_pod = |e: usize| e < reach.pod_count();
    let mut radius_of: HashMap<(usize, Option<&str>), Vec<u64>> = HashMap::new();
    let mut radius = Vec::with_capacity(sources.len());
    for &s in &sources {
        let node = analysis.pod(s).filter(|p| p.host_network).and_then(|p| p.node.as_deref());
        let key = (reach.class_of(reach.endpoint(s)), node);
        let r = radius_of
            .entry(key)
            .or_insert_with(|| {
                reach.lateral(&analysis.cluster, &[s], args.max_hops, node_hops).radius(args.max_hops, is_pod)
            })
            .clone();
        radius.push((s, r));
    }

    write_stdout(|out| match args.output {
        Format::Json => write_json(&analysis, &args, &lateral, &reached, &radius, out),
        Format::Text | Format::Md => write_text(
            &analysis,
            &args,
            &sources,
            &targets,
            &lateral,
            &reached,
            &radius,
            args.output == Format::Md,
            out,
        ),
    })?;
    Ok(ExitStatus::Success)
}

fn hop_text(analysis: &Analysis, hop: &Hop) -> String {
    let via = match hop.kind {
        HopKind::Policy => hop.ports.to_string(),
        HopKind::NodeLocal => "node-local".to_string(),
    };
    format!(" -[{via}]-> {}", analysis.id(hop.dst))
}

#[allow(clippy::too_many_arguments)]
fn write_text(
    analysis: &Analysis,
    args: &PathsArgs,
    sources: &[usize],
    targets: &[usize],
    lateral: &LateralReach,
    reached: &[usize],
    radius: &[(usize, Vec<u64>)],
    md: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let h = if md { "## " } else { "" };
    writeln!(out, "{h}Compromised: {} endpoint(s) selected by {:?}", sources.len(), args.from)?;
    writeln!(
        out,
        "Reached within {} hop(s): {} of {} target(s) selected by {:?}{}",
        args.max_hops,
        reached.len(),
        targets.iter().filter(|t| lateral.distance[**t] != 0).count(),
        args.to,
        if args.no_node_hops { " (node-local hops off)" } else { "" }
    )?;
    let mut shown: Vec<usize> = reached.to_vec();
    shown.sort_by_key(|&t| (lateral.distance[t], t));
    writeln!(out)?;
    if md {
        writeln!(out, "| Target | Hops | Path |\n|---|---|---|")?;
    }
    for &t in shown.iter().take(args.limit) {
        let path = hops(analysis, lateral, t);
        let mut text = analysis.id(path[0].src);
        for hop in &path {
            text.push_str(&hop_text(analysis, hop));
        }
        if md {
            writeln!(out, "| `{}` | {} | `{}` |", analysis.id(t), path.len(), text.replace('|', "\\|"))?;
        } else {
            writeln!(out, "{}  {} hop(s): {text}", analysis.id(t), path.len())?;
        }
    }
    if shown.len() > args.limit {
        writeln!(out, "… and {} more target(s) (--limit, or -o json for all)", shown.len() - args.limit)?;
    }
    writeln!(out)?;
    writeln!(out, "{h}Blast radius: pods reached within 1..{} hop(s), per source", args.max_hops)?;
    let heads: Vec<String> = (1..=args.max_hops).map(|k| k.to_string()).collect();
    if md {
        writeln!(out, "| Source | {} |\n|---|{}", heads.join(" | "), "---|".repeat(heads.len()))?;
    }
    let mut rows: Vec<&(usize, Vec<u64>)> = radius.iter().collect();
    rows.sort_by(|a, b| b.1.last().cmp(&a.1.last()).then(a.0.cmp(&b.0)));
    let width = rows.iter().take(args.limit).map(|(s, _)| analysis.id(*s).len()).max().unwrap_or(6).max(6);
    if !md {
        writeln!(out, "{:width$}  {}", "SOURCE", heads.iter().map(|k| format!("{k:>7}")).collect::<String>())?;
    }
    for (s, r) in rows.iter().take(args.limit) {
        let counts: Vec<String> = r.iter().map(|n| n.to_string()).collect();
        if md {
            writeln!(out, "| `{}` | {} |", analysis.id(*s), counts.join(" | "))?;
        } else {
            writeln!(
                out,
                "{:width$}  {}",
                analysis.id(*s),
                counts.iter().map(|n| format!("{n:>7}")).collect::<String>()
            )?;
        }
    }
    if rows.len() > args.limit {
        writeln!(out, "… and {} more source(s)", rows.len() - args.limit)?;
    }
    Ok(())
}

fn write_json(
    analysis: &Analysis,
    args: &PathsArgs,
    lateral: &LateralReach,
    reached: &[usize],
    radius: &[(usize, Vec<u64>)],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        netreach::render::unevaluated_policies_json(&analysis.cluster.unevaluated_policies)
    )?;
    writeln!(out, "  \"incomplete\": {},", netreach::render::incomplete_json(&analysis.cluster.skipped_invalid))?;
    writeln!(
        out,
        "  \"from\": {},\n  \"to\": {},\n  \"maxHops\": {},\n  \"nodeHops\": {},",
        json!(args.from),
        json!(args.to),
        args.max_hops,
        !args.no_node_hops
    )?;
    writeln!(out, "  \"paths\": [")?;
    for (i, &t) in reached.iter().enumerate() {
        let hops: Vec<serde_json::Value> = hops(analysis, lateral, t)
            .iter()
            .map(|hop| {
                let (protocol, port) = match (hop.kind, hop.port()) {
                    (HopKind::Policy, Some((p, n))) => (json!(p), json!(n)),
                    _ => (json!(null), json!(null)),
                };
                json!({
                    "src": analysis.id(hop.src),
                    "dst": analysis.id(hop.dst),
                    "protocol": protocol,
                    "port": port,
                    "kind": match hop.kind { HopKind::Policy => "policy", HopKind::NodeLocal => "node-local" },
                    "allowed": allowed_json(&hop.ports),
                })
            })
            .collect();
        let sep = if i + 1 < reached.len() { "," } else { "" };
        writeln!(out, "    {}{sep}", json!({"target": analysis.id(t), "hops": hops}))?;
    }
    writeln!(out, "  ],\n  \"blastRadius\": [")?;
    for (i, (s, r)) in radius.iter().enumerate() {
        let sep = if i + 1 < radius.len() { "," } else { "" };
        writeln!(out, "    {}{sep}", json!({"source": analysis.id(*s), "reached": r}))?;
    }
    writeln!(out, "  ]\n}}")
}

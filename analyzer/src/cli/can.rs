//! `netreach can FROM TO`: the verdict and the full reason.

use super::{write_stdout, ExitStatus, InputArgs, Outcome};
use clap::Args;
use netreach::explain::{explain_pair, PairVerdict, SideVerdict};
use netreach::render::allowed_json;
use netreach::render::Format;
use netreach::select::EndpointSelector;
use netreach::Analysis;
use netreach_model::Protocol;
use serde_json::json;
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Args)]
pub struct CanArgs {
    /// The source: ns/pod, ns/Kind/name, ns/workload, an IP address or a CIDR.
    #[arg(value_name = "FROM")]
    pub from: String,
    /// The destination, in the same forms.
    #[arg(value_name = "TO")]
    pub to: String,
    /// Ask about one port: 5432, 5432/TCP, 53/UDP. Without it, every allowed port is reported.
    #[arg(long, value_name = "PORT[/PROTO]", value_parser = parse_port)]
    pub port: Option<(Protocol, u16)>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

fn parse_port(s: &str) -> Result<(Protocol, u16), String> {
    let (port, proto) = s.split_once('/').unwrap_or((s, "TCP"));
    let protocol = Protocol::parse(&proto.to_uppercase())
        .ok_or_else(|| format!("unknown protocol {proto:?} (TCP, UDP or SCTP)"))?;
    let port: u16 = port.parse().ok().filter(|p| *p > 0).ok_or_else(|| format!("{port:?} is not a port (1-65535)"))?;
    Ok((protocol, port))
}

fn resolve(analysis: &Analysis, text: &str) -> Result<Vec<usize>, String> {
    let selector = EndpointSelector::parse(text).map_err(|e| e.to_string())?;
    let endpoints = selector.resolve(analysis)?;
    if endpoints.is_empty() {
        return Err(format!("{text:?} selects no pod or address range"));
    }
    Ok(endpoints)
}

pub fn run(args: CanArgs) -> Outcome {
    let analysis = args.input.analyze()?.analysis;
    let (from, to) = (resolve(&analysis, &args.from)?, resolve(&analysis, &args.to)?);
    // One explanation per pair of equivalence classes: their members are treated alike. A
    // pod's traffic to itself is always allowed and left out, unless it is all that is asked
    // (`can ns/pod ns/pod`): `can ns/Deployment/x ns/Deployment/x` asks about two different
    // replicas.
    let only_self = from.iter().all(|s| to.iter().all(|d| s == d));
    let mut groups: BTreeMap<(usize, usize), Vec<(usize, usize)>> = BTreeMap::new();
    for &s in &from {
        for &d in &to {
            if s == d && !only_self {
                continue;
            }
            let key = (
                analysis.reach.class_of(analysis.reach.endpoint(s)),
                analysis.reach.class_of(analysis.reach.endpoint(d)),
            );
            let key = if s == d { (usize::MAX, s) } else { key }; // self-traffic is its own case
            groups.entry(key).or_default().push((s, d));
        }
    }
    let verdicts: Vec<(PairVerdict, Vec<(usize, usize)>)> =
        groups.into_values().map(|pairs| (explain_pair(&analysis, pairs[0].0, pairs[0].1, args.port), pairs)).collect();
    let allowed_pairs: usize = verdicts.iter().filter(|(v, _)| v.allowed).map(|(_, p)| p.len()).sum();
    let total: usize = verdicts.iter().map(|(_, p)| p.len()).sum();
    write_stdout(|out| match args.output {
        Format::Json => write_json(&analysis, &args, &verdicts, allowed_pairs, out),
        Format::Text => write_text(&analysis, &args, &verdicts, allowed_pairs, total, out, false),
        Format::Md => write_text(&analysis, &args, &verdicts, allowed_pairs, total, out, true),
    })?;
    Ok(if allowed_pairs > 0 { ExitStatus::Success } else { ExitStatus::No })
}

fn query_text(args: &CanArgs) -> String {
    args.port.map_or("any port".to_string(), |(p, n)| format!("{p}/{n}"))
}

fn write_side(
    analysis: &Analysis,
    side: &SideVerdict,
    endpoint: usize,
    md: bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let dir = if side.direction == netreach_model::Direction::Egress { "egress of" } else { "ingress of" };
    // Every line of a side is indented (text) or bulleted (Markdown), tier lines included.
    let (bullet, indent) = if md { ("- ", "  - ") } else { ("  ", "    ") };
    let name = analysis.display_name(endpoint);
    for t in &side.tiers {
        writeln!(out, "{bullet}{dir} {name}: {t}")?;
    }
    if side.isolated_by.is_empty() {
        return writeln!(
            out,
            "{bullet}{dir} {name}: not isolated (no policy selects it for {}): allowed",
            side.direction.as_str().to_lowercase()
        );
    }
    writeln!(out, "{bullet}{dir} {name}: isolated by {}", side.isolated_by.join(", "))?;
    for m in &side.allowed_by {
        writeln!(out, "{indent}allowed by {} → {}", m.text, m.ports)?;
    }
    if side.allowed_by.is_empty() {
        writeln!(out, "{indent}no rule matched")?;
        for miss in &side.closest_misses {
            writeln!(out, "{indent}closest: {miss}")?;
        }
    }
    Ok(())
}

fn write_text(
    analysis: &Analysis,
    args: &CanArgs,
    verdicts: &[(PairVerdict, Vec<(usize, usize)>)],
    allowed_pairs: usize,
    total: usize,
    out: &mut dyn Write,
    md: bool,
) -> std::io::Result<()> {
    let answer = match (allowed_pairs, total) {
        (0, _) => "DENIED".to_string(),
        (a, t) if a == t => "ALLOWED".to_string(),
        (a, t) => format!("ALLOWED for {a} of {t} pod pairs"),
    };
    let heading = if md { "## " } else { "" };
    writeln!(out, "{heading}{} → {} on {}: {answer}", args.from, args.to, query_text(args))?;
    for (v, pairs) in verdicts {
        writeln!(out)?;
        let pair = format!("{} → {}", analysis.display_name(v.src), analysis.display_name(v.dst));
        let verdict = if v.allowed { "allowed" } else { "denied" };
        if md {
            writeln!(out, "### {pair}: {verdict}")?;
        } else {
            writeln!(out, "{pair}: {verdict}")?;
        }
        if pairs.len() > 1 {
            writeln!(out, "{}(and {} more pair(s) treated identically)", if md { "" } else { "  " }, pairs.len() - 1)?;
        }
        if args.port.is_none() || !v.allowed_ports.is_empty() {
            writeln!(out, "{}allowed ports: {}", if md { "- " } else { "  " }, v.allowed_ports)?;
        }
        for note in &v.notes {
            writeln!(out, "{}note: {note}", if md { "- " } else { "  " })?;
        }
        if v.src != v.dst {
            write_side(analysis, &v.egress, v.src, md, out)?;
            write_side(analysis, &v.ingress, v.dst, md, out)?;
        }
    }
    Ok(())
}

fn side_json(side: &SideVerdict) -> serde_json::Value {
    json!({
        "isolated": !side.isolated_by.is_empty(),
        "isolatedBy": side.isolated_by,
        "allows": side.allows(),
        "allowedBy": side.allowed_by.iter().map(|m| json!({
            "policy": m.policy, "rule": m.rule, "peer": m.peer, "port": m.port,
            "allowed": allowed_json(&m.ports), "text": m.text,
        })).collect::<Vec<_>>(),
        "closestMisses": side.closest_misses,
        "tiers": side.tiers,
    })
}

fn write_json(
    analysis: &Analysis,
    args: &CanArgs,
    verdicts: &[(PairVerdict, Vec<(usize, usize)>)],
    allowed_pairs: usize,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let doc = json!({
        "schemaVersion": 1,
        "unevaluatedPolicies": netreach::render::unevaluated_policies_json(&analysis.cluster.unevaluated_policies),
        "incomplete": netreach::render::incomplete_json(&analysis.cluster.skipped_invalid),
        "from": args.from,
        "to": args.to,
        "protocol": args.port.map(|(p, _)| p.as_str()),
        "port": args.port.map(|(_, n)| n),
        "allowed": allowed_pairs > 0,
        "verdicts": verdicts.iter().map(|(v, pairs)| json!({
            "src": analysis.id(v.src),
            "dst": analysis.id(v.dst),
            "pairs": pairs.iter().map(|&(s, d)| [analysis.id(s), analysis.id(d)]).collect::<Vec<_>>(),
            "allowed": v.allowed,
            "allowedPorts": allowed_json(&v.allowed_ports),
            "egress": side_json(&v.egress),
            "ingress": side_json(&v.ingress),
            "notes": v.notes,
        })).collect::<Vec<_>>(),
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

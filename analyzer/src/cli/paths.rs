//! `netreach paths`: lateral movement from a compromised set, with blast radius.

use super::{within_scope, write_stdout, ExitStatus, InputArgs, InternetArgs, Outcome};
use clap::Args;
use netreach::exposure::InternetStart;
use netreach::render::graph::{GraphError, GraphOptions, ReachGraph};
use netreach::render::{self, DrawnFormat, Format};
use netreach::select::EndpointSelector;
use netreach::suggest::did_you_mean;
use netreach::Analysis;
use netreach::{attack, lateral};

#[derive(Args)]
pub(crate) struct PathsArgs {
    /// The compromised set: ns/pod, ns/Kind/name, ns:NAME, a label selector (app=db,tier!=web),
    /// internet, any, an IP or a CIDR.
    #[arg(long, value_name = "SEL")]
    pub(crate) from: String,
    /// The targets to report, in the same forms, or (attack paths) nodes, node/NAME,
    /// secrets/NS, secret/NS/NAME or cluster-admin.
    #[arg(long, value_name = "TARGET", default_value = "any")]
    pub(crate) to: String,
    /// Longest path considered (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=netreach_model::MAX_HOPS as i64))]
    pub(crate) max_hops: u32,
    /// Do not model node-local hops (a hostNetwork pod reaching the pods on its node).
    #[arg(long)]
    pub(crate) no_node_hops: bool,
    /// Follow network hops only, as before attack paths: no container escapes, ServiceAccount
    /// tokens or RBAC grants. Without it, paths follow them whenever the input holds RBAC
    /// objects (Roles, ClusterRoles, bindings) or --to names nodes, Secrets or cluster-admin.
    #[arg(long)]
    pub(crate) network_only: bool,
    #[command(flatten)]
    pub(crate) internet: InternetArgs,
    /// Targets listed in text and Markdown output (JSON lists all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub(crate) limit: usize,
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output format; dot and svg draw every hop of the paths found, pod by pod.
    #[arg(short, long, value_enum, default_value_t = DrawnFormat::Text)]
    pub(crate) output: DrawnFormat,
}

/// The endpoints `text` selects, and what it may have meant when that is none.
fn resolve(analysis: &Analysis, text: &str) -> Result<(Vec<usize>, Vec<String>), String> {
    let selector = EndpointSelector::parse(text).map_err(|e| e.to_string())?;
    let endpoints = selector.resolve(analysis).map_err(|e| e.to_string())?;
    let suggestions = if endpoints.is_empty() { selector.suggestions(text, analysis) } else { Vec::new() };
    Ok((endpoints, suggestions))
}

pub(crate) fn run(mut args: PathsArgs) -> Outcome {
    args.input.infra.named = vec![args.from.clone(), args.to.clone()];
    let analysis = args.input.analyze()?.analysis;
    let scope = args.input.namespace_scope(&analysis)?;
    let namespaces = &args.input.live.namespaces;
    let (sources, suggestions) = resolve(&analysis, &args.from)?;
    if sources.is_empty() {
        return Err(format!("--from {:?} selects nothing{}", args.from, did_you_mean(&suggestions)).into());
    }
    let sources = within_scope(sources, scope.as_deref(), &args.from, namespaces)?;
    let entered = args.internet.internet == InternetStart::EntryPoints
        && EndpointSelector::parse(&args.from).is_ok_and(|s| s == EndpointSelector::Internet);
    // Resolved even when unused, so that a wrong --ingress-controller is said whatever --from is.
    let entry = args.internet.entry.options(&analysis)?;
    if !args.network_only && (attack::parse_target(&args.to).is_some() || analysis.cluster.identity.has_rbac()) {
        let graph = attack::AttackGraph::new(&analysis, &attack::named_secret(&args.to));
        let graph = if entered { graph.entered(&entry) } else { graph };
        return run_attack(&args, graph, &sources, scope.as_deref());
    }
    let (targets, _) = resolve(&analysis, &args.to)?;
    let targets = within_scope(targets, scope.as_deref(), &args.to, namespaces)?;
    let answer = if entered {
        lateral::paths_from_internet(&analysis, (&sources, &targets), args.max_hops, !args.no_node_hops, &entry)
    } else {
        lateral::paths(&analysis, &sources, &targets, args.max_hops, !args.no_node_hops)
    };
    let asked = render::paths::Asked { from: &args.from, to: &args.to, limit: args.limit };
    let Some(format) = args.output.report() else {
        return draw(&args, render::paths::graph(&analysis, &answer, &GraphOptions::default()), "paths");
    };
    let write = match format {
        Format::Text => render::paths::text,
        Format::Md => render::paths::markdown,
        Format::Json => render::paths::json,
    };
    write_stdout(|out| write(&analysis, &asked, &answer, out))?;
    Ok(ExitStatus::Success)
}

/// `paths` following network, posture and identity together.
fn run_attack(args: &PathsArgs, graph: attack::AttackGraph, sources: &[usize], scope: Option<&[bool]>) -> Outcome {
    let targets = attack::resolve_targets(&graph, &args.to)?;
    let targets = match attack::parse_target(&args.to) {
        Some(_) => targets,
        None => within_scope(targets, scope, &args.to, &args.input.live.namespaces)?,
    };
    let answer = attack::attack_paths(graph, sources, &targets, args.max_hops, !args.no_node_hops);
    let asked = render::paths::Asked { from: &args.from, to: &args.to, limit: args.limit };
    let Some(format) = args.output.report() else {
        return draw(args, attack::render::graph(&answer, &GraphOptions::default()), "attack paths");
    };
    let write = match format {
        Format::Text => attack::render::text,
        Format::Md => attack::render::markdown,
        Format::Json => attack::render::json,
    };
    write_stdout(|out| write(&asked, &answer, out))?;
    Ok(ExitStatus::Success)
}

/// Writes the picture of a paths answer (`-o dot|svg`), titled with what was asked.
fn draw(args: &PathsArgs, drawn: Result<ReachGraph, GraphError>, what: &str) -> Outcome {
    use super::picture::{picture, title, too_big};
    let mut graph = drawn.map_err(|e| too_big(e, "a narrower --from or --to, or a smaller --max-hops"))?;
    let what = format!("{what} from {} to {} within {} hop(s)", args.from, args.to, args.max_hops);
    graph.title = Some(title("paths", &args.input.paths, &what, &graph));
    let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
    write_stdout(|out| std::io::Write::write_all(out, &bytes))?;
    Ok(ExitStatus::Success)
}

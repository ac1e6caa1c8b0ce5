//! `netreach connectivity`: every allowed connection, as a table, data or a graph.

use super::output::{command_inputs, refuse_if_input};
use super::{messages, open_output, Analyzed, Error, ExitStatus, FilterArgs, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::aggregate::Level;
use netreach::filter::ConnectionFilter;
use netreach::mesh::{EffectiveConnections, MeshView};
use netreach::render::graph::{self, GraphError, GraphOptions};
use netreach::render::{self, OutputFormat};
use netreach::Analysis;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct ConnectivityArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Output format [default: text, or the --out file's extension: .json .csv .md .dot .gv .svg].
    #[arg(short, long, value_enum)]
    pub(crate) output: Option<OutputFormat>,

    #[command(flatten)]
    pub(crate) filter: FilterArgs,

    /// How graph nodes (-o dot, -o svg) group endpoints [default: workload].
    #[arg(long, value_enum)]
    pub(crate) level: Option<Level>,

    /// Draw a graph even past the readability limits (150 nodes or 200 edges).
    #[arg(long)]
    pub(crate) force: bool,

    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,

    /// Apply the service-mesh layer: list only the ports that Istio mTLS and AuthorizationPolicy
    /// also leave open, and apart those a CUSTOM policy leaves to an external authorizer (not
    /// with -o dot/svg: `netreach mesh -o svg` draws the mesh).
    #[arg(long)]
    pub(crate) mesh: bool,

    #[command(flatten)]
    pub(crate) mesh_settings: MeshArgs,
}

fn format_from_extension(path: &Path) -> Option<OutputFormat> {
    match path.extension()?.to_str()? {
        "json" => Some(OutputFormat::Json),
        "csv" => Some(OutputFormat::Csv),
        "md" => Some(OutputFormat::Md),
        "dot" | "gv" => Some(OutputFormat::Dot),
        "svg" => Some(OutputFormat::Svg),
        "txt" => Some(OutputFormat::Text),
        _ => None,
    }
}

pub(crate) fn run(mut args: ConnectivityArgs) -> Outcome {
    let format = args
        .output
        .unwrap_or_else(|| args.out.as_deref().and_then(format_from_extension).unwrap_or(OutputFormat::Text));
    let is_graph = matches!(format, OutputFormat::Dot | OutputFormat::Svg);
    if !is_graph && (args.level.is_some() || args.force) {
        return Err("--level and --force apply to graphs (-o dot, -o svg); the other formats list every pod".into());
    }
    if is_graph && args.mesh {
        return Err("--mesh applies to the listings (-o text, json, csv, md, summary); `netreach mesh -o dot/svg` draws the connections with their mesh status".into());
    }
    if let Some(out) = &args.out {
        // Before anything is read.
        refuse_if_input(out, &command_inputs(&args.input))?;
    }
    // `--to kube-apiserver` lists the API server's own ranges, as `can` does.
    args.input.infra.named = args.filter.from.iter().chain(&args.filter.to).cloned().collect();
    let Analyzed { analysis, times, .. } = args.input.analyze_with(args.mesh_settings.options())?;
    let filter = args.filter.filter(&analysis, &args.input.live.namespaces)?;
    if is_graph {
        return write_graph(&args, format, &analysis, &filter);
    }
    let view = args.mesh.then(|| MeshView::new(&analysis, analysis.mesh_options.clone()));
    if let Some(view) = view.as_ref().filter(|_| !args.input.notes.quiet) {
        for note in &view.notes {
            messages::note(note);
        }
    }
    let mesh = view.as_ref().map(EffectiveConnections::new);
    let mut out = open_output(args.out.as_deref())?;
    let written = match format {
        OutputFormat::Summary => render::write_summary(&analysis, &times, mesh.as_ref(), &filter, &mut out),
        format => render::write_connectivity_layered(&analysis, mesh.as_ref(), format, &filter, &mut out),
    };
    out.finish(written)?;
    Ok(ExitStatus::Success)
}

/// A graph too big to draw, with the options that narrow it; other errors as they are.
fn with_ways_out(e: GraphError) -> Error {
    let GraphError::TooBig { namespace_level, busiest, .. } = &e else { return e.into() };
    let mut ways = Vec::new();
    if let Some((nodes, edges)) = namespace_level {
        ways.push(format!("--level namespace ({nodes} nodes, {edges} edges)"));
    }
    if !busiest.is_empty() {
        ways.push(format!("--namespace NS (largest: {})", busiest.join(", ")));
    } else {
        ways.push("--namespace NS".to_string());
    }
    ways.push("--from SEL / --to SEL".to_string());
    format!("{e} Narrow it with {}; or pass --force to draw it anyway", ways.join(", or ")).into()
}

/// DOT or SVG. Nothing is written when the graph is too big or, for SVG, when Graphviz's `dot`
/// is missing (exit 2 with the package to install: a `.dot` in place of the SVG would pass a
/// script that expects a picture).
fn write_graph(
    args: &ConnectivityArgs,
    format: OutputFormat,
    analysis: &Analysis,
    filter: &ConnectionFilter,
) -> Outcome {
    let level = args.level.unwrap_or(Level::Workload);
    let options = GraphOptions { level, force: args.force, ..Default::default() };
    let mut reach_graph = graph::connectivity_graph(analysis, filter, &options).map_err(with_ways_out)?;
    let mut title = format!("netreach connectivity {}: {}s", args.input.paths.join(" "), level.name());
    if filter.is_active() {
        title.push_str(&format!(", {}", filter.description()));
    }
    title.push_str(&format!(" ({} nodes, {} edges)", reach_graph.nodes.len(), reach_graph.edges.len()));
    reach_graph.title = Some(title);
    let bytes = super::picture::picture(&reach_graph, format == OutputFormat::Svg)?;
    let mut out = open_output(args.out.as_deref())?;
    let written = out.write_all(&bytes);
    out.finish(written)?;
    Ok(ExitStatus::Success)
}

//! `netreach mesh`: service-mesh mTLS coverage of the connections NetworkPolicy allows.

use super::picture::{picture, title, too_big};
use super::{messages, write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::aggregate::Level;
use netreach::findings::{suppress, Severity};
use netreach::mesh::{mesh_graph, write_mesh, MeshView};
use netreach::render::graph::GraphOptions;
use netreach::render::DrawnFormat;
use std::io::Write;

#[derive(Args)]
pub(crate) struct MeshCoverageArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// List connections per pod pair, or merged per workload or per namespace.
    #[arg(long, value_enum, default_value_t = Level::Workload)]
    pub(crate) level: Level,

    /// Output format; dot and svg draw the connections coloured by mTLS status.
    #[arg(short, long, value_enum, default_value_t = DrawnFormat::Text)]
    pub(crate) output: DrawnFormat,

    /// Exit 1 when a mesh finding (NR101-NR109) of this severity or higher exists, as `audit
    /// --fail-on` does; findings a netreach.io/ignore annotation accepts do not count.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<Severity>,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

pub(crate) fn run(args: MeshCoverageArgs) -> Outcome {
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    // With files, -n narrows what is shown; live, it already limited what was read.
    let shown: &[String] = if args.input.live.is_live() { &[] } else { &args.input.live.namespaces };
    let view = MeshView::new(&analyzed.analysis, analyzed.analysis.mesh_options.clone()).narrow(shown);
    if !args.input.notes.quiet {
        for note in &view.notes {
            messages::note(note);
        }
    }
    match args.output.report() {
        Some(format) => write_stdout(|out| write_mesh(&view, args.level, format, out))?,
        None => {
            let options = GraphOptions { level: args.level, ..Default::default() };
            let mut graph = mesh_graph(&view, args.level, &options).map_err(|e| too_big(e, "--level namespace"))?;
            graph.title = Some(title("mesh", &args.input.paths, &format!("mTLS per {}", args.level.name()), &graph));
            let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
            write_stdout(|out| out.write_all(&bytes))?;
        }
    }
    let Some(threshold) = args.fail_on else { return Ok(ExitStatus::Success) };
    let (counted, _) = suppress::suppress(view.shown_findings(), &analyzed.index, None);
    Ok(if counted.iter().any(|f| f.severity >= threshold) { ExitStatus::No } else { ExitStatus::Success })
}

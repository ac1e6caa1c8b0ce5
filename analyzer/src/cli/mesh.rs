//! `netreach mesh`: service-mesh mTLS coverage of the connections NetworkPolicy allows.

use super::picture::{picture, title, too_big};
use super::{messages, write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::aggregate::Level;
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

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

pub(crate) fn run(args: MeshCoverageArgs) -> Outcome {
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    let view = MeshView::new(&analyzed.analysis, analyzed.analysis.mesh_options.clone());
    if !args.input.notes.quiet {
        for note in &view.notes {
            messages::note(note);
        }
    }
    let Some(format) = args.output.report() else {
        let options = GraphOptions { level: args.level, ..Default::default() };
        let mut graph = mesh_graph(&view, args.level, &options).map_err(|e| too_big(e, "--level namespace"))?;
        graph.title = Some(title("mesh", &args.input.paths, &format!("mTLS per {}", args.level.name()), &graph));
        let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
        write_stdout(|out| out.write_all(&bytes))?;
        return Ok(ExitStatus::Success);
    };
    write_stdout(|out| write_mesh(&view, args.level, format, out))?;
    Ok(ExitStatus::Success)
}

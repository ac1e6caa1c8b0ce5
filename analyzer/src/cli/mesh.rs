//! `netreach mesh`: service-mesh mTLS coverage of the connections NetworkPolicy allows.

use super::{messages, write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::aggregate::Level;
use netreach::mesh::{write_mesh, MeshView};
use netreach::render::Format;

#[derive(Args)]
pub(crate) struct MeshCoverageArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// List connections per pod pair, or merged per workload or per namespace.
    #[arg(long, value_enum, default_value_t = Level::Workload)]
    pub(crate) level: Level,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub(crate) output: Format,

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
    write_stdout(|out| write_mesh(&view, args.level, args.output, out))?;
    Ok(ExitStatus::Success)
}

//! `netreach audit`: segmentation findings and per-namespace scores.

use super::{write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::audit::{self, Severity};
use netreach::render::Format;

#[derive(Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Exit 1 when a finding of this severity or higher exists (without it, exit 0).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<Severity>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub(crate) output: Format,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

pub(crate) fn run(args: AuditArgs) -> Outcome {
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    let analysis = &analyzed.analysis;
    let report = audit::audit_with(analysis, &analyzed.report.skipped_objects);
    write_stdout(|out| audit::write_audit(&report, args.output, out))?;
    Ok(match args.fail_on {
        Some(threshold) if report.fails(threshold) => ExitStatus::No,
        _ => ExitStatus::Success,
    })
}

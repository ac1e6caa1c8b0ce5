//! `netreach audit`: segmentation findings and per-namespace scores.

use super::{write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::audit::{self, AuditFormat, Severity};
use netreach::findings::suppress::Baseline;
use netreach::render::Format;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct AuditArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Exit 1 when a finding of this severity or higher exists (without it, exit 0); suppressed
    /// findings do not count.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub(crate) fail_on: Option<Severity>,

    /// Output format (sarif: SARIF 2.1.0 for code scanning).
    #[arg(short, long, value_enum, default_value_t = AuditFormat::Text)]
    pub(crate) output: AuditFormat,

    /// Suppress the findings of an earlier `netreach audit -o json` (matched by id, namespace
    /// and objects): they are listed as suppressed, not counted for --fail-on.
    #[arg(long, value_name = "FILE")]
    pub(crate) baseline: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

pub(crate) fn run(mut args: AuditArgs) -> Outcome {
    // Before the cluster is read: a bad baseline is reported at once.
    let baseline = args.baseline.as_deref().map(Baseline::read).transpose()?;
    args.input.locate_objects = args.output == AuditFormat::Sarif;
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    let analysis = &analyzed.analysis;
    let status = netreach::status::StatusLine::new(!args.input.notes.quiet);
    status.phase(format!("auditing: {} checks", audit::CHECKS.len()));
    let mut report = audit::audit_with(analysis, &analyzed.report.skipped_objects);
    status.finish();
    report.suppress(&analyzed.index, baseline.as_ref());
    // The checks read the whole cluster (policies elsewhere decide what reaches NS); -n keeps
    // what concerns NS.
    args.input.namespace_scope(analysis)?;
    report.retain_namespaces(&args.input.live.namespaces);
    write_stdout(|out| match args.output {
        AuditFormat::Sarif => audit::write_audit_sarif(&report, &analyzed.index, out),
        AuditFormat::Text => audit::write_audit(&report, Format::Text, out),
        AuditFormat::Json => audit::write_audit(&report, Format::Json, out),
        AuditFormat::Md => audit::write_audit(&report, Format::Md, out),
    })?;
    Ok(match args.fail_on {
        Some(threshold) if report.fails(threshold) => ExitStatus::No,
        _ => ExitStatus::Success,
    })
}

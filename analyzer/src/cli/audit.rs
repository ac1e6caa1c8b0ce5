//! `netreach audit`: segmentation findings and per-namespace scores.

use super::{finish_output, stdout, InputArgs, Outcome, EXIT_NO, EXIT_YES};
use clap::Args;
use netreach::audit::{self, Severity};
use netreach::render::Format;
use std::io::Write;

#[derive(Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Exit 1 when a finding of this severity or higher exists (without it, exit 0).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

pub fn run(args: AuditArgs) -> Outcome {
    let (analysis, _, loaded) = args.input.analyze_with_report().map_err(|e| e.to_string())?;
    let report = audit::audit_with(&analysis, &args.input.engine_options(), &loaded.skipped_objects);
    let mut out = stdout();
    finish_output(audit::write_audit(&report, args.output, &mut out).and_then(|_| out.flush()))?;
    Ok(match args.fail_on {
        Some(threshold) if report.fails(threshold) => EXIT_NO,
        _ => EXIT_YES,
    })
}

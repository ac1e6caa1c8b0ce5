//! `netreach report`: one self-contained HTML file (graph, findings, scores, mesh coverage).

use super::output::{command_inputs, refuse_if_input};
use super::{open_output, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::report::{write_report, ReportData, ReportSources};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Write the HTML to FILE (- for stdout, which is refused on a terminal otherwise).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

pub(crate) fn run(args: ReportArgs) -> Outcome {
    let to_stdout = args.out.as_deref().is_none_or(|p| p.as_os_str() == "-");
    // Before anything is read: a page of minified script is no answer on a terminal.
    if args.out.is_none() && std::io::stdout().is_terminal() {
        return Err(
            "refusing to write HTML to a terminal: give --out report.html (or --out - to write it anyway)".into()
        );
    }
    let out_file = if to_stdout { None } else { args.out.clone() };
    if let Some(out) = &out_file {
        refuse_if_input(out, &command_inputs(&args.input))?;
    }
    // The findings table counts what `audit` counts, with the same suppressions.
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    let analysis = &analyzed.analysis;
    let mut audit = netreach::audit::audit_with(analysis, &analyzed.report.skipped_objects);
    audit.suppress(&analyzed.index, None);
    let mut warnings: Vec<String> = analyzed.report.unevaluated.clone();
    warnings.extend(analyzed.report.warnings.iter().cloned());
    warnings.extend(netreach::render::incompleteness(&analysis.cluster));
    let sources = if args.input.live.is_live() {
        vec![match &args.input.live.context {
            Some(context) => format!("live cluster (context {context})"),
            None => "live cluster (current context)".to_string(),
        }]
    } else {
        args.input.paths.clone()
    };
    let data = ReportData::new(analysis, ReportSources { sources, warnings, audit: &audit });
    let mut out = open_output(out_file.as_deref())?;
    let written = write_report(&data, &mut out);
    out.finish(written)?;
    Ok(ExitStatus::Success)
}

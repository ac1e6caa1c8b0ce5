//! `netreach exposure`: what outside the cluster can reach, and through which entry point.

use super::{write_stdout, EntryArgs, ExitStatus, InputArgs, Outcome};
use clap::Args;
use netreach::exposure::{add_abstract_controller, exposure, write_exposure};
use netreach::render::graph::GraphOptions;
use netreach::render::DrawnFormat;

#[derive(Args)]
pub(crate) struct ExposureArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Output format; dot and svg draw the entry points (shaped by kind), the pods behind them
    /// by namespace, and each hop, dashed grey where policy does not admit it.
    #[arg(short, long, value_enum, default_value_t = DrawnFormat::Text)]
    pub(crate) output: DrawnFormat,

    #[command(flatten)]
    pub(crate) entry: EntryArgs,

    /// List only the entry paths that every hop's policy admits.
    #[arg(long)]
    pub(crate) reachable_only: bool,
}

pub(crate) fn run(args: ExposureArgs) -> Outcome {
    let analyzed = args.input.analyze_prepared(Default::default(), add_abstract_controller)?;
    let analysis = &analyzed.analysis;
    let options = args.entry.options(analysis)?;
    let mut report = exposure(analysis, &options);
    if args.reachable_only {
        report.exposures.retain(|e| e.reachable());
    }
    let Some(format) = args.output.report() else {
        use super::picture::{picture, title, too_big};
        let mut graph = netreach::exposure::render::graph(analysis, &report, &GraphOptions::default())
            .map_err(|e| too_big(e, "--reachable-only"))?;
        graph.title = Some(title("exposure", &args.input.paths, "entry paths from outside the cluster", &graph));
        let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
        write_stdout(|out| std::io::Write::write_all(out, &bytes))?;
        return Ok(ExitStatus::Success);
    };
    write_stdout(|out| write_exposure(analysis, &report, format, out))?;
    Ok(ExitStatus::Success)
}

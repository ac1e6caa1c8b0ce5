//! `netreach connectivity`: every allowed connection.

use super::{finish_output, stdout, InputArgs, Outcome, EXIT_YES};
use clap::Args;
use netreach::render::{self, OutputFormat};
use std::io::Write;

#[derive(Args)]
pub struct ConnectivityArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

pub fn run(args: ConnectivityArgs) -> Outcome {
    let (analysis, times) = args.input.analyze().map_err(|e| e.to_string())?;
    let mut out = stdout();
    let written = match args.output {
        OutputFormat::Summary => render::write_summary(&analysis, &times, &mut out),
        format => render::write_connectivity(&analysis, format, &mut out),
    };
    finish_output(written.and_then(|_| out.flush()))?;
    Ok(EXIT_YES)
}

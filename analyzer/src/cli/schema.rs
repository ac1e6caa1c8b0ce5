//! `netreach schema COMMAND`: the JSON Schema of that command's `-o json`, for scripts and
//! editors that validate what they read.

use super::{write_stdout, ExitStatus, Outcome};
use clap::Args;
use netreach::schema::{schema, SchemaCommand};
use std::io::Write;

#[derive(Args)]
pub(crate) struct SchemaArgs {
    /// The command whose `-o json` to describe.
    #[arg(value_enum, value_name = "COMMAND")]
    pub(crate) command: SchemaCommand,
}

pub(crate) fn run(args: SchemaArgs) -> Outcome {
    write_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, &schema(args.command))?;
        writeln!(out)
    })?;
    Ok(ExitStatus::Success)
}

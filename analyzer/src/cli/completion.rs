//! `netreach completion SHELL`: the shell's completion script, written from the same clap
//! definition as `--help` (kubectl's `completion bash|zsh|fish|powershell`).

use super::{write_stdout, ExitStatus, Outcome};
use clap::Args;
use clap_complete::Shell;

#[derive(Args)]
pub(crate) struct CompletionArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub(crate) shell: Shell,
}

/// Writes the script for `command` (the whole netreach command line) on stdout.
pub(crate) fn run(args: CompletionArgs, mut command: clap::Command) -> Outcome {
    // The name the shell completes is the one the user types: `kubectl-netreach` for the plugin.
    let name = command.get_bin_name().unwrap_or(command.get_name()).replace(' ', "-");
    write_stdout(|out| {
        clap_complete::generate(args.shell, &mut command, name, out);
        Ok(())
    })?;
    Ok(ExitStatus::Success)
}

//! `netreach man [COMMAND]`: the manual page (roff) of netreach or of one of its commands,
//! written from the same clap definition as `--help`.

use super::{write_stdout, ExitStatus, Outcome};
use clap::Args;
use netreach::suggest::{closest, did_you_mean};

#[derive(Args)]
pub(crate) struct ManArgs {
    /// The command whose page to write (netreach-COMMAND(1)); without it, netreach(1).
    #[arg(value_name = "COMMAND")]
    pub(crate) command: Option<String>,
}

/// Writes the page on stdout, e.g. `netreach man | man -l -`.
pub(crate) fn run(args: ManArgs, command: clap::Command) -> Outcome {
    // Built as clap_mangen::generate_to builds it: subcommands get their `netreach-NAME` titles,
    // and no `help` pseudo-command is listed.
    let mut command = command.disable_help_subcommand(true);
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => match command.find_subcommand(name) {
            // The version goes in the page's footer; subcommands carry none of their own.
            Some(sub) => sub.clone().version(env!("CARGO_PKG_VERSION")),
            None => {
                let names: Vec<&str> = command.get_subcommands().map(|c| c.get_name()).collect();
                let suggestions = closest(name, names.iter().map(|n| n.to_string()));
                return Err(format!(
                    "no command {name:?}{}; the commands are {}",
                    did_you_mean(&suggestions),
                    names.join(", ")
                )
                .into());
            }
        },
    };
    write_stdout(|out| clap_mangen::Man::new(page).render(out))?;
    Ok(ExitStatus::Success)
}

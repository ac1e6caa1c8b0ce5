//! Pieces every subcommand shares: input arguments, exit codes, stderr labels, output.

pub mod audit;
pub mod can;
pub mod connectivity;
pub mod diff;
pub mod generate;
pub mod paths;

use clap::{Args, ValueEnum};
use netreach::load::{self, Input};
use netreach::render::PhaseTimes;
use netreach::Analysis;
use netreach_model::{EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

/// Exit codes, stable for scripts.
pub const EXIT_YES: u8 = 0;
pub const EXIT_NO: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// What a subcommand ends with: an exit code (0 or 1), or an error message (exit 2).
pub type Outcome = Result<u8, String>;

pub fn exit(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("{} {message}", label("error:", "31"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[derive(Args)]
pub struct InputArgs {
    /// Files, folders (read recursively: .yaml, .yml, .json) or - for stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<String>,

    /// How hostNetwork pods are treated (implementation-defined upstream).
    #[arg(long, value_enum, default_value_t = HostNetworkArg::Node)]
    pub host_network: HostNetworkArg,

    /// Whether ipBlock peers match pod IPs as well as external addresses.
    #[arg(long, value_enum, default_value_t = IpBlockPodsArg::Match)]
    pub ipblock_pods: IpBlockPodsArg,

    /// Do not print notes (skipped objects, assumed namespaces) on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum HostNetworkArg {
    /// The pod is its node: never selected by selectors; ipBlocks match the node IP (most common).
    Node,
    /// Selectors match hostNetwork pods like any other pod.
    Pod,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum IpBlockPodsArg {
    /// ipBlocks match pod IPs too, as the upstream conformance tests assume.
    Match,
    /// ipBlocks match only addresses outside the cluster's pods.
    Ignore,
}

impl InputArgs {
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            host_network: match self.host_network {
                HostNetworkArg::Node => HostNetworkSelection::NodeIdentity,
                HostNetworkArg::Pod => HostNetworkSelection::LikePods,
            },
            ip_block_pods: match self.ipblock_pods {
                IpBlockPodsArg::Match => IpBlockPodMatching::Match,
                IpBlockPodsArg::Ignore => IpBlockPodMatching::Ignore,
            },
        }
    }

    /// Loads the inputs, prints notes on stderr, and runs the engine.
    pub fn analyze(&self) -> Result<(Analysis, PhaseTimes), load::LoadError> {
        let inputs: Vec<Input> = self.paths.iter().map(|p| Input::parse(p)).collect();
        let started = Instant::now();
        let loaded = load::load(&inputs)?;
        let load_time = started.elapsed();
        if !self.quiet {
            for warning in &loaded.report.warnings {
                eprintln!("{} {warning}", label("warning:", "33"));
            }
            for note in loaded.report.notes() {
                eprintln!("{} {note}", label("note:", "36"));
            }
        }
        let started = Instant::now();
        let analysis = Analysis::new(loaded.cluster, &self.engine_options());
        Ok((analysis, PhaseTimes { load: load_time, engine: started.elapsed() }))
    }
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub fn label(text: &str, colour: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[1;{colour}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `netreach … | head` closes the pipe early: that is not an error.
pub fn finish_output(written: std::io::Result<()>) -> Result<(), String> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
        Ok(()) => Ok(()),
    }
}

/// A buffered, locked stdout for streaming output.
pub fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock())
}

/// Where output goes: stdout, or `--out FILE` (created when this is called, so call it only
/// once there is something to write).
pub fn open_output(path: Option<&std::path::Path>) -> Result<Box<dyn std::io::Write>, String> {
    match path {
        None => Ok(Box::new(stdout())),
        Some(p) => std::fs::File::create(p)
            .map(|f| Box::new(std::io::BufWriter::with_capacity(1 << 16, f)) as Box<dyn std::io::Write>)
            .map_err(|e| format!("cannot write {}: {e}", p.display())),
    }
}

/// `--namespace`, `--from`, `--to`: which connections an output shows, in every format.
#[derive(Args)]
pub struct FilterArgs {
    /// Only connections with an end in namespace NS (repeatable: any of them).
    #[arg(long = "namespace", value_name = "NS")]
    pub namespaces: Vec<String>,

    /// Only connections from what SEL selects (repeatable: any of them): ns/pod, ns/Kind/name,
    /// ns/workload, ns:NAME, a label selector (app=db,tier!=web), internet, any, an IP or a CIDR.
    #[arg(long, value_name = "SEL")]
    pub from: Vec<String>,

    /// Only connections to what SEL selects (repeatable: any of them; same forms as --from).
    #[arg(long, value_name = "SEL")]
    pub to: Vec<String>,
}

impl FilterArgs {
    pub fn filter(&self, analysis: &Analysis) -> Result<netreach::filter::ConnectionFilter, String> {
        netreach::filter::ConnectionFilter::new(analysis, &self.namespaces, &self.from, &self.to)
    }
}

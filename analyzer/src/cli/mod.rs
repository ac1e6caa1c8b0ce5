//! Pieces every subcommand shares: input arguments, exit codes, stderr labels, output.

pub mod audit;
pub mod can;
pub mod check;
pub mod connectivity;
pub mod diff;
pub mod generate;
pub mod mesh;
pub mod output;
pub mod paths;
pub mod snapshot;

use clap::{Args, ValueEnum};
use netreach::load::{self, Input};
use netreach::render::PhaseTimes;
use netreach::Analysis;
use netreach_model::{EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use std::io::IsTerminal;
use std::mem::ManuallyDrop;
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
            // Several errors (every invalid document of a run) are one per line.
            for line in message.lines() {
                eprintln!("{} {line}", label("error:", "31"));
            }
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[derive(Args)]
pub struct InputArgs {
    /// Files, folders (read recursively: .yaml, .yml, .json) or - for stdin.
    #[arg(value_name = "PATH", required_unless_present_any = ["cluster", "context", "kubeconfig"], conflicts_with_all = ["cluster", "context", "kubeconfig"])]
    pub paths: Vec<String>,

    #[command(flatten)]
    pub live: LiveArgs,

    #[command(flatten)]
    pub engine: EngineArgs,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Do not print notes (skipped objects, assumed namespaces) on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// How manifest files are read, shared by every command that reads them.
#[derive(Args, Clone, Copy)]
pub struct ReadArgs {
    /// The largest file (or stdin) read, e.g. 512MiB, 4GiB: a guard against endless or hostile input.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = load::parse_size)]
    pub max_input_size: u64,

    /// For CI: an object defined twice is an error (by default the later one wins, with a
    /// warning, as kubectl apply does); with `check`, invariants that cannot be evaluated fail.
    #[arg(long)]
    pub strict: bool,

    /// Analyze what is valid: each invalid file or document is a warning, and every output says
    /// the answer leaves it out (default: any invalid document is an error, exit 2).
    #[arg(long)]
    pub skip_invalid: bool,
}

impl ReadArgs {
    pub fn options(&self) -> load::LoadOptions {
        load::LoadOptions { max_file_bytes: self.max_input_size, strict: self.strict, skip_invalid: self.skip_invalid }
    }
}

/// The implementation-defined choices of the engine, shared by every command that analyzes.
#[derive(Args, Clone, Copy)]
pub struct EngineArgs {
    /// How hostNetwork pods are treated (implementation-defined upstream).
    #[arg(long, value_enum, default_value_t = HostNetworkArg::Node)]
    pub host_network: HostNetworkArg,

    /// Whether ipBlock peers match pod IPs as well as external addresses.
    #[arg(long, value_enum, default_value_t = IpBlockPodsArg::Match)]
    pub ipblock_pods: IpBlockPodsArg,
}

impl EngineArgs {
    pub fn options(&self) -> EngineOptions {
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
        self.engine.options()
    }

    /// Loads the inputs (files, or a live cluster with `--cluster/--context/--kubeconfig`),
    /// prints warnings and notes on stderr, and runs the engine.
    ///
    /// The analysis is never freed: a command runs once and exits, and freeing a large one
    /// (millions of small allocations) costs a noticeable share of a run; the process's end frees it.
    pub fn analyze(&self) -> Result<(ManuallyDrop<Analysis>, PhaseTimes), InputError> {
        self.analyze_with_report().map(|(analysis, times, _)| (analysis, times))
    }

    /// [`InputArgs::analyze`], keeping the loader's report (the audit reads its skipped objects).
    pub fn analyze_with_report(&self) -> Result<(ManuallyDrop<Analysis>, PhaseTimes, load::LoadReport), InputError> {
        let started = Instant::now();
        let loaded = if self.live.is_live() {
            let read = self.live.read(self.quiet)?;
            load::load_values(read.into_values())?
        } else {
            let inputs: Vec<Input> = self.paths.iter().map(|p| Input::parse(p)).collect();
            load::load_with(&inputs, &self.read.options())?
        };
        let load_time = started.elapsed();
        for line in &loaded.report.unevaluated {
            eprintln!("{} {line}", label("warning:", "33"));
        }
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
        Ok((ManuallyDrop::new(analysis), PhaseTimes { load: load_time, engine: started.elapsed() }, loaded.report))
    }
}

/// Why inputs could not be analyzed: files, or a live cluster.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Load(#[from] load::LoadError),
    #[error(transparent)]
    Live(#[from] netreach::live::LiveError),
}

/// Reading a live cluster instead of files (read-only: get and list, never Secrets).
///
/// `-n/--namespace` is shared with [`FilterArgs`] (connectivity's filter): both read it from
/// the command line without consuming it, so their order in a command does not matter.
#[derive(Clone, Default)]
pub struct LiveArgs {
    pub cluster: bool,
    pub context: Option<String>,
    pub kubeconfig: Option<std::path::PathBuf>,
    /// `-n/--namespace`, repeatable; empty: every namespace.
    pub namespaces: Vec<String>,
    pub all_namespaces: bool,
    pub request_timeout: std::time::Duration,
    pub list_timeout: std::time::Duration,
}

/// The live flags clap derives; `-n/--namespace` is added by hand (see [`LiveArgs`]).
#[derive(Args)]
struct LiveFlags {
    /// Read the cluster of the current kubeconfig context instead of files (read-only).
    #[arg(long, help_heading = "Live cluster")]
    cluster: bool,

    /// Read the cluster of kubeconfig context NAME (implies --cluster).
    #[arg(long, value_name = "NAME", help_heading = "Live cluster")]
    context: Option<String>,

    /// Kubeconfig file (implies --cluster) [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, value_name = "FILE", help_heading = "Live cluster")]
    kubeconfig: Option<std::path::PathBuf>,

    /// Read every namespace (the default; for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespaces", help_heading = "Live cluster")]
    all_namespaces: bool,

    /// Give up on a request after this long (e.g. 30s, 1m, 500ms; 0: never), like kubectl.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = netreach::live::parse_duration, help_heading = "Live cluster")]
    request_timeout: std::time::Duration,

    /// Give up on listing one resource (all its pages) after this long (0: never).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = netreach::live::parse_duration, help_heading = "Live cluster")]
    list_timeout: std::time::Duration,
}

/// `-n NS` as given, without consuming it from the matches.
fn namespaces_of(matches: &clap::ArgMatches) -> Vec<String> {
    matches.try_get_many::<String>("namespaces").ok().flatten().map(|v| v.cloned().collect()).unwrap_or_default()
}

impl clap::FromArgMatches for LiveArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let f = LiveFlags::from_arg_matches(matches)?;
        Ok(LiveArgs {
            cluster: f.cluster,
            context: f.context,
            kubeconfig: f.kubeconfig,
            namespaces: namespaces_of(matches),
            all_namespaces: f.all_namespaces,
            request_timeout: f.request_timeout,
            list_timeout: f.list_timeout,
        })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for LiveArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        LiveFlags::augment_args(cmd).arg(
            clap::Arg::new("namespaces")
                .short('n')
                .long("namespace")
                .value_name("NS")
                .action(clap::ArgAction::Append)
                .help_heading("Live cluster")
                .help(
                    "With a cluster, read only namespace NS, like kubectl -n (repeatable); pods elsewhere are then \
unknown. `connectivity` also shows only connections with an end in NS (with files too). Default: every namespace",
                ),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl LiveArgs {
    /// True when a cluster is to be read instead of files.
    pub fn is_live(&self) -> bool {
        self.cluster || self.context.is_some() || self.kubeconfig.is_some()
    }

    pub fn options(&self, quiet: bool) -> netreach::live::LiveOptions {
        netreach::live::LiveOptions {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespaces: if self.all_namespaces { Vec::new() } else { self.namespaces.clone() },
            request_timeout: Some(self.request_timeout).filter(|t| !t.is_zero()),
            list_timeout: Some(self.list_timeout).filter(|t| !t.is_zero()),
            progress: !quiet,
        }
    }

    /// Reads the cluster; prints the skipped resources (403) and, with -n, the scope on stderr.
    pub fn read(&self, quiet: bool) -> Result<netreach::live::ClusterRead, netreach::live::LiveError> {
        let read = netreach::live::read(&self.options(quiet))?;
        if !quiet {
            for warning in &read.warnings {
                eprintln!("{} {warning}", label("warning:", "33"));
            }
            if !read.namespaces.is_empty() {
                eprintln!(
                    "{} read only namespace(s) {} of {}: pods elsewhere are unknown, so connections with them are missing (-A reads every namespace)",
                    label("note:", "36"),
                    read.namespaces.join(", "),
                    read.describe()
                );
            }
        }
        Ok(read)
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

/// Where output goes: stdout, or `--out FILE` through a temporary file that
/// [`output::Output::finish`] renames over FILE only when everything was written. Call
/// [`output::refuse_if_input`] on FILE before reading the inputs.
pub fn open_output(path: Option<&std::path::Path>) -> Result<output::Output, String> {
    match path {
        None => Ok(output::Output::Stdout(stdout())),
        Some(p) => output::OutputFile::create(p).map(output::Output::File),
    }
}

/// `-n/--namespace`, `--from`, `--to`: which connections an output shows, in every format.
///
/// `-n/--namespace` is one flag with [`LiveArgs`] (kubectl users type `-n` for both): it is
/// declared there, and this struct reads its values from the same command line. So FilterArgs
/// must be flattened next to an [`InputArgs`]; without one, `namespaces` stays empty.
pub struct FilterArgs {
    /// Only connections with an end in namespace NS (repeatable: any of them).
    pub namespaces: Vec<String>,
    pub from: Vec<String>,
    pub to: Vec<String>,
}

/// The flags FilterArgs declares itself.
#[derive(Args)]
struct SelectorFlags {
    /// Only connections from what SEL selects (repeatable: any of them): ns/pod, ns/Kind/name,
    /// ns/workload, ns:NAME, a label selector (app=db,tier!=web), internet, any, an IP or a CIDR.
    #[arg(long, value_name = "SEL")]
    from: Vec<String>,

    /// Only connections to what SEL selects (repeatable: any of them; same forms as --from).
    #[arg(long, value_name = "SEL")]
    to: Vec<String>,
}

impl clap::FromArgMatches for FilterArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let flags = SelectorFlags::from_arg_matches(matches)?;
        Ok(FilterArgs { namespaces: namespaces_of(matches), from: flags.from, to: flags.to })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for FilterArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        SelectorFlags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        SelectorFlags::augment_args_for_update(cmd)
    }
}

impl FilterArgs {
    pub fn filter(&self, analysis: &Analysis) -> Result<netreach::filter::ConnectionFilter, String> {
        netreach::filter::ConnectionFilter::new(analysis, &self.namespaces, &self.from, &self.to)
            .map_err(|e| e.to_string())
    }
}

//! The `netreach` command: a thin layer of argument parsing and exit codes over the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use netreach::load::{self, Input};
use netreach::render::{self, OutputFormat, PhaseTimes};
use netreach::Analysis;
use netreach_model::{EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

/// Exit codes, stable for scripts: 0 success, 1 "no" answers (later commands), 2 errors.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "netreach",
    version,
    about = "Who can talk to whom in a Kubernetes cluster, exactly as NetworkPolicy says.",
    long_about = "netreach reads Kubernetes manifests (kubectl -o yaml/json exports, multi-document YAML, \
List objects, Helm-rendered output, whole folders) and computes which pods and external address \
ranges can reach which, on which ports and protocols, following the networking.k8s.io/v1 \
NetworkPolicy specification to the letter. It never talks to a cluster unless asked to and never \
writes to one.",
    after_help = "Examples:\n  \
netreach connectivity fixtures/shop\n  \
kubectl get ns,pods,networkpolicies -A -o yaml | netreach connectivity -\n  \
netreach connectivity cluster/ -o json | jq '.connections | length'\n\n\
Exit codes: 0 success, 2 invalid input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every allowed connection between pods and external address ranges.
    #[command(
        long_about = "List every allowed connection: for each ordered pair of distinct endpoints (pods, and the \
external address ranges that the policies' ipBlocks carve out), the protocols and ports that \
both the source's egress and the destination's ingress allow. A pod's traffic to itself is always \
allowed and not listed; external-to-external pairs are not listed.",
        after_help = "Examples:\n  \
netreach connectivity fixtures/shop\n  \
netreach connectivity manifests/ policies.yaml -o json\n  \
netreach connectivity - -o csv < export.yaml\n\n\
Controllers (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, ReplicationController) \
without live pods in the input stand in as one pod built from their template, named after the \
workload.\n\nExit codes: 0 success, 2 invalid input (the message names file, document, object and field)."
    )]
    Connectivity(ConnectivityArgs),

    /// Write a deterministic synthetic cluster (one JSON List) for benchmarks and demos.
    #[command(after_help = "Example:\n  netreach generate --pods 5000 --policies 500 --namespaces 50 --seed 1 > cluster.json\n\n\
Namespaces are named per team and environment; deployments of 2-6 replicas; per namespace a \
default-deny and a DNS allow policy, then allow rules by app and tier with named ports, endPort \
ranges, namespace selectors and ipBlocks. kube-system adds 2 CoreDNS and 3 hostNetwork pods.")]
    Generate(GenerateArgs),
}

#[derive(Args)]
struct GenerateArgs {
    /// Application pods (kube-system adds 5 more).
    #[arg(long, default_value_t = 1000)]
    pods: usize,
    /// NetworkPolicies, spread over the namespaces.
    #[arg(long, default_value_t = 100)]
    policies: usize,
    /// Team namespaces (kube-system comes on top).
    #[arg(long, default_value_t = 10)]
    namespaces: usize,
    /// Seed: the same arguments always give the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

#[derive(Args)]
struct InputArgs {
    /// Files, folders (read recursively: .yaml, .yml, .json) or - for stdin.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<String>,

    /// How hostNetwork pods are treated (implementation-defined upstream).
    #[arg(long, value_enum, default_value_t = HostNetworkArg::Node)]
    host_network: HostNetworkArg,

    /// Whether ipBlock peers match pod IPs as well as external addresses.
    #[arg(long, value_enum, default_value_t = IpBlockPodsArg::Match)]
    ipblock_pods: IpBlockPodsArg,

    /// Do not print notes (skipped objects, assumed namespaces) on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum HostNetworkArg {
    /// The pod is its node: never selected by selectors; ipBlocks match the node IP (most common).
    Node,
    /// Selectors match hostNetwork pods like any other pod.
    Pod,
}

#[derive(Clone, Copy, ValueEnum)]
enum IpBlockPodsArg {
    /// ipBlocks match pod IPs too, as the upstream conformance tests assume.
    Match,
    /// ipBlocks match only addresses outside the cluster's pods.
    Ignore,
}

#[derive(Args)]
struct ConnectivityArgs {
    #[command(flatten)]
    input: InputArgs,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
}

impl InputArgs {
    fn engine_options(&self) -> EngineOptions {
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

    fn analyze(&self) -> Result<(Analysis, PhaseTimes), load::LoadError> {
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
fn label(text: &str, colour: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[1;{colour}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// `netreach … | head` closes the pipe early: that is not an error.
fn finish_output(written: std::io::Result<()>) -> Result<(), String> {
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}")),
        Ok(()) => Ok(()),
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Generate(a) => {
            let params = netreach::generate::GenerateParams { pods: a.pods, policies: a.policies, namespaces: a.namespaces, seed: a.seed };
            finish_output(netreach::generate::write_cluster(&params, &mut std::io::stdout().lock()))
        }
        Command::Connectivity(args) => {
            let (analysis, times) = args.input.analyze().map_err(|e| e.to_string())?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
            let written = match args.output {
                OutputFormat::Summary => render::write_summary(&analysis, &times, &mut out),
                format => render::write_connectivity(&analysis, format, &mut out),
            };
            finish_output(written.and_then(|_| out.flush()))
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{} {message}", label("error:", "31"));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

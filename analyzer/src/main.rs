//! The `netreach` command: a thin layer of argument parsing and exit codes over the library.
//! Each subcommand lives in its own module under `cli/`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "netreach",
    version,
    about = "Who can talk to whom in a Kubernetes cluster, exactly as NetworkPolicy says.",
    long_about = "netreach reads Kubernetes manifests (kubectl -o yaml/json exports, multi-document YAML, \
List objects, Helm-rendered output, whole folders) and computes which pods and external address \
ranges can reach which, on which ports and protocols, following the networking.k8s.io/v1 \
NetworkPolicy specification to the letter. It never writes to a cluster.",
    after_help = "Examples:\n  \
netreach connectivity fixtures/shop\n  \
kubectl get ns,pods,networkpolicies -A -o yaml | netreach connectivity -\n  \
netreach connectivity cluster/ -o json | jq '.connections | length'\n\n\
Exit codes: 0 success (or \"yes\"), 1 a \"no\" answer (commands that ask a question), 2 invalid \
input or usage."
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
    Connectivity(cli::connectivity::ConnectivityArgs),

    /// Write a deterministic synthetic cluster (one JSON List) for benchmarks and demos.
    #[command(after_help = "Example:\n  netreach generate --pods 5000 --policies 500 --namespaces 50 --seed 1 > cluster.json\n\n\
Namespaces are named per team and environment; deployments of 2-6 replicas; per namespace a \
default-deny and a DNS allow policy, then allow rules by app and tier with named ports, endPort \
ranges, namespace selectors and ipBlocks. kube-system adds 2 CoreDNS and 3 hostNetwork pods.")]
    Generate(cli::generate::GenerateArgs),
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Connectivity(args) => cli::connectivity::run(args),
        Command::Generate(args) => cli::generate::run(args),
    };
    cli::exit(outcome)
}

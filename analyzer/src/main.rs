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

    /// Can FROM reach TO? The verdict and the full reason (exit 0 allowed, 1 denied).
    #[command(
        long_about = "Can FROM reach TO? Prints the verdict and the reason as a reviewer would reconstruct it: for the \
source's egress and the destination's ingress, the policies that isolate it and the exact rule, peer \
and port entry that allowed the traffic, or, when denied, the rules that came closest (e.g. the peer \
matched but the port is not listed). FROM and TO are a pod (ns/name), a workload (ns/Kind/name, or \
ns/name when no pod has that name), an IP address or a CIDR.",
        after_help = "Examples:\n  \
netreach can shop/frontend shop/cart --port 7070 fixtures/shop\n  \
netreach can shop/Deployment/checkout payments/payment-gateway fixtures/shop\n  \
netreach can 203.0.113.10 shop/frontend --port 8080/TCP fixtures/shop -o json\n\n\
Exit codes (like grep): 0 allowed (for at least one pod pair), 1 denied, 2 invalid input or usage."
    )]
    Can(cli::can::CanArgs),

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
        Command::Can(args) => cli::can::run(args),
        Command::Generate(args) => cli::generate::run(args),
    };
    cli::exit(outcome)
}

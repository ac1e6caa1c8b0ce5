//! The `netreach` command: a thin layer of argument parsing and exit codes over the library.
//! Each subcommand lives in its own module under `cli/`; errors are printed here, once.

mod cli;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
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
input, nothing to analyze (empty stdin, no manifests) or usage."
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
without live pods in the input stand for the pods they would run, built from their template: \
spec.replicas of them (NAME when one, NAME-1... when more; a StatefulSet's NAME-0...), a Job's \
parallelism, a DaemonSet's one per matching Node.\n\nExit codes: 0 success, 2 invalid input (the message names file, document, object and field)."
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

    /// Lateral movement: what an attacker who takes FROM reaches next, hop by hop.
    #[command(
        long_about = "Lateral movement: from a compromised set (--from), the shortest path to every target (--to) \
within --max-hops, with the port used on each hop, and the blast radius of each source (pods reached \
within 1, 2, … hops). A hostNetwork pod shares its node's network, and traffic from a node to the \
pods on it is allowed by most implementations whatever the policies say: such node-local hops are \
modelled and marked (--no-node-hops turns them off). External ranges can be sources (internet) and \
targets, never stepping stones.\n\n\
Attack paths: when the input holds RBAC objects, or --to names nodes, node/NAME, secrets/NS, \
secret/NS/NAME or cluster-admin, paths also climb: a container escapes to its node (privileged, \
hostPID with SYS_PTRACE, SYS_ADMIN, SYS_MODULE, sensitive hostPath mounts), a mounted ServiceAccount \
token is used when the policies let the pod reach the kube-apiserver, and RBAC grants lead to \
Secrets, pods, nodes, other ServiceAccounts or cluster-admin. Each hop says why. --network-only \
keeps the network answer.",
        after_help = "Examples:\n  \
netreach paths --from shop/frontend --to ns:data fixtures/shop\n  \
netreach paths --from internet --to app=postgres --max-hops 4 fixtures/shop\n  \
netreach paths --from 'tier=web' fixtures/shop -o json\n  \
netreach paths --from shop/web --to secrets/shop fixtures/attack/privileged\n\n\
Exit codes: 0 success, 2 invalid input or usage."
    )]
    Paths(cli::paths::PathsArgs),

    /// What a change opens, closes or alters: the reachability of BEFORE against AFTER.
    #[command(
        long_about = "Compare the reachability of two cluster states: connections added, removed and changed \
(ports gained or lost), per pod pair or merged per workload or namespace (--level). Pods are matched \
by namespace/name; pods present on one side only are listed, not counted as added or removed edges. \
External address ranges are compared on their common parts (a BEFORE range intersected with an AFTER \
range). With --apply/--delete, AFTER is BEFORE with the given manifests created or replaced by \
kind/namespace/name, or removed: the pre-deploy gate for a policy change.",
        after_help = "Examples:\n  \
netreach diff before/ after/\n  \
netreach diff cluster/ --apply pr/policies.yaml -o md --exit-code\n  \
netreach diff cluster/ --delete old-policy.yaml --level pod -o json\n\n\
Exit codes: 0 success (with --exit-code: no difference), 1 with --exit-code: something differs, \
2 invalid input or usage."
    )]
    Diff(cli::diff::DiffArgs),

    /// Segmentation findings (stable ids, severity, objects, fix) and per-namespace scores.
    #[command(
        long_about = "Audit the cluster's segmentation: namespaces without default-deny, pods no policy \
selects, hostNetwork and privileged pods, pods reachable from the internet through an entry point, egress to the whole \
internet on every port, cross-namespace allow-all rules, pods reaching kube-system beyond DNS, policies \
selecting no pod, peers matching nothing, unresolved named ports, misplaced ipBlock excepts, shadowed and \
conflicting cluster-policy rules, pods reaching cloud-metadata, the API server without a token, the \
kubelets or etcd, internet admitted where nothing publishes the pod and published Services that \
policy closes (NR001..NR022); Calico policy mistakes and tiers whose end-of-tier drop isolates pods, \
Cilium rules open to the world, denies that deny nothing and disabled default deny (NR201..NR224); \
when the input holds RBAC objects, attack paths from the internet to cluster-admin, nodes or Secrets, \
mounted cluster-admin tokens and escape-capable pods other namespaces reach (NR301..NR305); and service-mesh gaps (NR101..NR109). Each finding has a \
stable id, a severity (high, medium, low, info), the objects involved and a one-line fix; findings that a \
policy netreach does not evaluate could falsify say so. A table gives, per namespace, the share of (source \
pod, destination pod) pairs into it that policy denies.",
        after_help = "Examples:\n  \
netreach audit fixtures/weak\n  \
netreach audit cluster/ --fail-on high -o md\n  \
netreach audit cluster/ -o json | jq '.findings[] | select(.severity == \"high\")'\n\n\
Exit codes: 0 no finding at or above --fail-on (always 0 without it), 1 such a finding exists, \
2 invalid input."
    )]
    Audit(cli::audit::AuditArgs),

    /// Check segmentation invariants (deny, allowOnly, allow, isolated, maxReach) from a YAML file.
    #[command(
        long_about = "Check named segmentation invariants, written once in a YAML file, against the cluster: \
deny (no connection from/to, with except and ports), allowOnly (into a set, only these sources and ports), \
allow (these pairs must be allowed), isolated (every pod of these namespaces selected by a policy for ingress, \
egress or both), maxReach (blast radius of any one source within N hops) and mtls (every connection between \
the two sets uses mutual TLS under the service meshes the manifests configure). Selectors are those of \
`netreach paths`. \
Each failing invariant lists the first violating pairs (--limit), their count, and the policy rules that \
allow them.",
        after_help = "Examples:\n  \
netreach check --invariants fixtures/invariants/shop.yaml fixtures/shop\n  \
netreach check --invariants invariants.yaml cluster/ --junit report.xml\n  \
netreach check --invariants invariants.yaml cluster/ -o json | jq '.invariants[] | select(.status == \"fail\")'\n\n\
Exit codes: 0 every invariant passed, 1 an invariant failed, \
2 invalid invariants file (the message names the invariant and the field), invalid input or usage."
    )]
    Check(cli::check::CheckArgs),

    /// Service-mesh (Istio, Linkerd) mTLS coverage of the allowed connections.
    #[command(
        long_about = "For every connection NetworkPolicy allows between pods, the mTLS status on each port under \
the service meshes the manifests configure: mtls, permissive (mTLS, but the destination also accepts \
plaintext), plaintext, rejected (the network allows it; the destination requires mTLS the source cannot \
speak) or not-applicable (external ranges). Reads Istio sidecar injection (istio-injection, istio.io/rev, \
sidecar.istio.io/inject, injected istio-proxy containers), ambient mode (istio.io/dataplane-mode), \
PeerAuthentications (security.istio.io v1 and v1beta1: mesh-wide, namespace-wide, workload, portLevelMtls), \
AuthorizationPolicies (CUSTOM, DENY, ALLOW, AUDIT; identity only with mTLS; HTTP-only fields on TCP as Istio \
reads them: each connection gets an authorization verdict and the deciding policy and rule) \
and Linkerd (linkerd.io/inject, linkerd-proxy containers, config.linkerd.io/default-inbound-policy). Reports \
coverage by pods and by connections per namespace, the plaintext and permissive connections, pods outside \
the mesh their namespace enables, and findings NR101-NR109.",
        after_help = "Examples:\n  \
netreach mesh fixtures/mesh/istio-bookinfo-like\n  \
netreach mesh cluster/ --level pod -o json | jq '.connections[] | select(.status == \"plaintext\")'\n  \
netreach mesh cluster/ --istio-root-namespace istio-config -o md\n  \
netreach mesh cluster/ --level pod -o json | jq '.connections[] | select(.effective != \"allow\")'\n\n\
Exit codes: 0 success, 2 invalid input or usage."
    )]
    Mesh(cli::mesh::MeshCoverageArgs),

    /// What outside the cluster reaches: every pod, port and entry path (Services, Ingress, Gateway API, host ports).
    #[command(
        long_about = "Every (pod, port, protocol) that traffic from outside the cluster can enter through, with the \
path: a Service of type LoadBalancer or NodePort or with externalIPs, an Ingress (networking.k8s.io/v1), a Gateway \
(gateway.networking.k8s.io: HTTPRoute, GRPCRoute, TCPRoute, TLSRoute, UDPRoute, ReferenceGrant), a container \
hostPort or a hostNetwork pod. Each hop names the source address its receivers see and whether their policies \
admit it: externalTrafficPolicy Cluster masquerades the client to a node address (policy must admit the nodes); \
Local keeps the client's address, narrowed by loadBalancerSourceRanges; Ingress and Gateway traffic goes outside \
-> controller or gateway pods (their own policies apply) -> backend pods (which must admit the controller pods). \
Controller pods are found by the gateway.networking.k8s.io/gateway-name label, the IngressClass controller and \
well-known controllers' labels, or --ingress-controller; else the abstract {ingress-controller} (a pod in \
namespace ingress-nginx) stands for them. Service targetPorts (numbers or names) are resolved per pod; \
Services without a selector are backed by their EndpointSlices or Endpoints.",
        after_help = "Examples:\n  \
netreach exposure fixtures/exposure\n  \
netreach exposure cluster/ --reachable-only -o json | jq '.exposures[] | select(.via.kind == \"LoadBalancer\")'\n  \
netreach exposure cluster/ --ingress-controller ns:ingress-nginx -o md\n\n\
Exit codes: 0 success, 2 invalid input or usage."
    )]
    Exposure(cli::exposure::ExposureArgs),
    /// One self-contained HTML report: namespace graph, findings, scores, mesh coverage.
    #[command(
        long_about = "Write one HTML file that opens in a browser from disk, with no network access (every script \
and style inlined): the namespace graph (each namespace a node, edges with the allowed ports; scroll to zoom, \
drag to pan), where clicking a namespace expands its workloads and clicking an edge lists its ports and the \
rules that allow it as `netreach can` words them; a search box for pods and workloads with one-hop \"from \
here\" and \"to here\" highlighting; the audit findings (as `netreach audit` lists them) with a severity \
filter; the segmentation score and mesh coverage of each namespace; and a header with what was read and \
what the answer misses.",
        after_help = "Examples:\n  \
netreach report fixtures/shop --out shop.html\n  \
netreach report --context prod --out prod.html\n  \
netreach report cluster/ --out - | gzip > report.html.gz\n\n\
Without --out the HTML goes to stdout, unless stdout is a terminal (refused: use --out FILE, or --out -).\n\n\
Exit codes: 0 success, 2 invalid input or usage."
    )]
    Report(cli::report::ReportArgs),

    /// Write a deterministic synthetic cluster (one JSON List) for benchmarks and demos.
    #[command(
        after_help = "Example:\n  netreach generate --pods 5000 --policies 500 --namespaces 50 --seed 1 > cluster.json\n\n\
Namespaces are named per team and environment; deployments of 2-6 replicas; per namespace a \
default-deny and a DNS allow policy, then allow rules by app and tier with named ports, endPort \
ranges, namespace selectors and ipBlocks. kube-system adds 2 CoreDNS and 3 hostNetwork pods."
    )]
    Generate(cli::generate::GenerateArgs),

    /// Write what netreach reads from a live cluster as one manifest file (read-only).
    #[command(
        long_about = "Read a live cluster through a kubeconfig, exactly as --cluster/--context/--kubeconfig do \
for every command, and write what was read as one manifest (a kind: List) that every command accepts: \
analyzing the file gives the same answers as analyzing the cluster. metadata.managedFields, the \
kubectl.kubernetes.io/last-applied-configuration annotation and environment variable values (env[].value; \
names stay) are dropped; credential-looking values in container command and args (--token=..., --password VALUE, \
--client-secret=..., URL passwords) are replaced by REDACTED. Secrets are never read; nothing is written to the cluster. \
--out FILE is replaced only once everything was written, and never when FILE is the kubeconfig.",
        after_help = "Examples:\n  \
netreach snapshot --cluster > cluster.yaml\n  \
netreach snapshot --context prod -n shop -n payments -o json > shop.json\n  \
netreach connectivity cluster.yaml\n\n\
Resources a credential may not list (403) are skipped with a warning (also written as a YAML comment). \
deploy/rbac.yaml is a ClusterRole with exactly the permissions needed.\n\n\
Exit codes: 0 success, 2 no kubeconfig/context, 401, unreachable server, TLS error or timeout (nothing on stdout)."
    )]
    Snapshot(cli::snapshot::SnapshotArgs),

    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = "Examples:\n  \
source <(netreach completion bash)\n  \
netreach completion zsh > \"${fpath[1]}/_netreach\"\n  \
netreach completion fish > ~/.config/fish/completions/netreach.fish\n  \
netreach completion powershell | Out-String | Invoke-Expression\n\n\
Exit codes: 0 success, 2 usage.")]
    Completion(cli::completion::CompletionArgs),

    /// Print the manual page (roff) of netreach or of one command.
    #[command(after_help = "Examples:\n  \
netreach man | man -l -\n  \
netreach man audit > netreach-audit.1\n\n\
Exit codes: 0 success, 2 unknown command or usage.")]
    Man(cli::man::ManArgs),

    /// Print the JSON Schema (draft 2020-12) of a command's -o json.
    #[command(after_help = "Examples:\n  \
netreach schema audit > audit.schema.json\n  \
netreach schema connectivity | jq '.properties | keys'\n\n\
Every object in the schemas is closed (additionalProperties: false), and every output carries \
schemaVersion 1.\n\nExit codes: 0 success, 2 unknown command or usage.")]
    Schema(cli::schema::SchemaArgs),
}

/// What kubectl runs for `kubectl netreach …`: a file of this name on PATH.
const KUBECTL_PLUGIN: &str = "kubectl-netreach";

/// The command line as the user typed it: `kubectl netreach` in usage, help and the examples
/// when this binary was run as the kubectl plugin, `netreach` otherwise.
fn command() -> clap::Command {
    let invoked_as = std::env::args_os().next().map(std::path::PathBuf::from);
    let plugin = invoked_as.as_deref().and_then(|p| p.file_stem()).is_some_and(|name| name == KUBECTL_PLUGIN);
    if !plugin {
        return Cli::command();
    }
    let as_plugin = |text: &str| {
        text.replace("\n  netreach ", "\n  kubectl netreach ").replace("| netreach ", "| kubectl netreach ")
    };
    let mut command = Cli::command().bin_name("kubectl netreach");
    if let Some(help) = command.get_after_help().map(|h| as_plugin(&h.to_string())) {
        command = command.after_help(help);
    }
    command.mut_subcommands(|sub| match sub.get_after_help().map(|h| as_plugin(&h.to_string())) {
        Some(help) => sub.after_help(help),
        None => sub,
    })
}

fn main() -> ExitCode {
    let cli = Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit());
    cli::output::describe_stdout();
    let outcome = match cli.command {
        Command::Connectivity(args) => cli::connectivity::run(args),
        Command::Can(args) => cli::can::run(args),
        Command::Paths(args) => cli::paths::run(args),
        Command::Diff(args) => cli::diff::run(args),
        Command::Audit(args) => cli::audit::run(args),
        Command::Check(args) => cli::check::run(args),
        Command::Mesh(args) => cli::mesh::run(args),
        Command::Exposure(args) => cli::exposure::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Generate(args) => cli::generate::run(args),
        Command::Snapshot(args) => cli::snapshot::run(args),
        Command::Completion(args) => cli::completion::run(args, command()),
        Command::Man(args) => cli::man::run(args, command()),
        Command::Schema(args) => cli::schema::run(args),
    };
    match outcome {
        Ok(status) => status.into(),
        Err(error) => {
            cli::messages::error(&error);
            cli::ExitStatus::Error.into()
        }
    }
}

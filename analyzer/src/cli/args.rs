//! The argument groups commands share, and what they resolve to: the inputs and the loader's
//! report (`InputArgs`, `NotesArgs`, `ReadArgs`, `LiveArgs`), the engine and mesh options
//! (`EngineArgs`, `MeshArgs`), the connection filter (`FilterArgs`), and how traffic from
//! outside enters (`EntryArgs`, `InternetArgs`). A flag is declared in
//! exactly one group; a group that needs another's value takes it when it resolves
//! (`FilterArgs::filter` takes `-n/--namespace` from `LiveArgs`).

use super::messages;
use clap::{Args, ValueEnum};
use netreach::exposure::{ClusterSource, ExposureOptions, InternetStart};
use netreach::load::{self, Input, LoadReport};
use netreach::render::text::thousands;
use netreach::render::PhaseTimes;
use netreach::select::EndpointSelector;
use netreach::status::StatusLine;
use netreach::Analysis;
use netreach_model::mesh::{LinkerdPolicy, MeshOptions, ISTIO_ROOT_NAMESPACE};
use netreach_model::{AllowLocalhost, CniProfile, EngineOptions, HostNetworkSelection, IpBlockPodMatching};
use std::mem::ManuallyDrop;
use std::time::Instant;

/// The inputs of a command that analyzes one cluster state: PATHs or a live cluster, how they
/// are read, the engine's options, and `-q`.
#[derive(Args)]
pub(crate) struct InputArgs {
    /// Files, folders (read recursively: .yaml, .yml, .json) or - for stdin.
    #[arg(value_name = "PATH", required_unless_present_any = ["cluster", "context", "kubeconfig"], conflicts_with_all = ["cluster", "context", "kubeconfig"])]
    pub(crate) paths: Vec<String>,

    #[command(flatten)]
    pub(crate) live: LiveArgs,

    #[command(flatten)]
    pub(crate) engine: EngineArgs,

    #[command(flatten)]
    pub(crate) read: ReadArgs,

    #[command(flatten)]
    pub(crate) notes: NotesArgs,

    #[command(flatten)]
    pub(crate) infra: InfraArgs,

    /// Keep each object's file and line for the output (`-o sarif`); set by the command.
    #[arg(skip)]
    pub(crate) locate_objects: bool,
}

/// `-q/--quiet`, and the loader's report printed under it, for every command that loads manifests.
#[derive(Args, Clone, Copy)]
pub(crate) struct NotesArgs {
    /// Do not print notes (skipped objects, assumed namespaces) on stderr.
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

impl NotesArgs {
    /// The loader's report on stderr: policies netreach does not evaluate always (the answer
    /// leaves them out), warnings and notes unless `--quiet`. Each line starts with `side`
    /// (`before: ` in a diff); lines already in `printed` are not repeated.
    pub(crate) fn print_load_report(&self, side: &str, report: &LoadReport, printed: Option<&LoadReport>) {
        // What the other side printed, gathered once (not once per line).
        let (printed_unevaluated, printed_warnings, printed_notes) = match printed {
            Some(r) => (r.unevaluated.as_slice(), r.warnings.as_slice(), r.notes()),
            None => (&[][..], &[][..], Vec::new()),
        };
        for line in &report.unevaluated {
            if !printed_unevaluated.contains(line) {
                messages::warning(format_args!("{side}{line}"));
            }
        }
        if self.quiet {
            return;
        }
        for warning in &report.warnings {
            if !printed_warnings.contains(warning) {
                messages::warning(format_args!("{side}{warning}"));
            }
        }
        for note in report.notes() {
            if !printed_notes.contains(&note) {
                messages::note(format_args!("{side}{note}"));
            }
        }
    }
}

/// How manifest files are read, shared by every command that reads them.
#[derive(Args, Clone, Copy)]
pub(crate) struct ReadArgs {
    /// The largest file (or stdin) read, e.g. 512MiB, 4GiB: a guard against endless or hostile input.
    #[arg(long, value_name = "SIZE", default_value = "1GiB", value_parser = load::parse_size)]
    pub(crate) max_input_size: u64,

    /// For CI: an object defined twice is an error (by default the later one wins, with a
    /// warning, as kubectl apply does).
    #[arg(long)]
    pub(crate) strict: bool,

    /// Analyze what is valid: each invalid file or document is a warning, and every output says
    /// the answer leaves it out (default: any invalid document is an error, exit 2).
    #[arg(long)]
    pub(crate) skip_invalid: bool,
}

impl ReadArgs {
    pub(crate) fn options(&self) -> load::LoadOptions {
        load::LoadOptions {
            max_file_bytes: self.max_input_size,
            strict: self.strict,
            skip_invalid: self.skip_invalid,
            index: false,
        }
    }
}

/// The implementation-defined choices of the engine, shared by every command that analyzes.
#[derive(Args, Clone, Copy)]
pub(crate) struct EngineArgs {
    /// How hostNetwork pods are treated (implementation-defined upstream).
    #[arg(long, value_enum, default_value_t = HostNetworkArg::Node)]
    pub(crate) host_network: HostNetworkArg,

    /// Whether ipBlock peers match pod IPs as well as external addresses.
    #[arg(long, value_enum, default_value_t = IpBlockPodsArg::Match)]
    pub(crate) ipblock_pods: IpBlockPodsArg,

    /// The CNI's enforcement rules: cilium when the input holds a cilium.io policy, calico when
    /// it holds a Calico policy or Tier (auto). Under cilium, ipBlocks and CIDR rules never match
    /// pods or nodes and hostNetwork pods are the host entity; under calico, NetworkPolicies
    /// run in Calico's default tier and admin policies in its kube-admin/kube-baseline tiers,
    /// hostNetwork pods are never selected and ipBlocks match pods (both override
    /// --host-network and --ipblock-pods).
    #[arg(long, value_enum, default_value_t = CniArg::Auto)]
    pub(crate) cni: CniArg,

    /// Under cilium: whether the local host (hostNetwork pods) reaches the pods on its node
    /// whatever the allow rules say, as Cilium's agent flag --allow-localhost (auto, Cilium's
    /// default, is always under Kubernetes); deny rules beat it either way.
    #[arg(long, value_enum, default_value_t = AllowLocalhostArg::Auto)]
    pub(crate) cilium_allow_localhost: AllowLocalhostArg,
}

impl EngineArgs {
    pub(crate) fn options(&self) -> EngineOptions {
        EngineOptions {
            host_network: match self.host_network {
                HostNetworkArg::Node => HostNetworkSelection::NodeIdentity,
                HostNetworkArg::Pod => HostNetworkSelection::LikePods,
            },
            ip_block_pods: match self.ipblock_pods {
                IpBlockPodsArg::Match => IpBlockPodMatching::Match,
                IpBlockPodsArg::Ignore => IpBlockPodMatching::Ignore,
            },
            cni: match self.cni {
                CniArg::Auto => CniProfile::Auto,
                CniArg::Cilium => CniProfile::Cilium,
                CniArg::Calico => CniProfile::Calico,
                CniArg::Generic => CniProfile::Generic,
            },
            cilium_allow_localhost: match self.cilium_allow_localhost {
                AllowLocalhostArg::Auto => AllowLocalhost::Auto,
                AllowLocalhostArg::Always => AllowLocalhost::Always,
                AllowLocalhostArg::Policy => AllowLocalhost::Policy,
            },
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum HostNetworkArg {
    /// The pod is its node: never selected by selectors; ipBlocks match the node IP (most common).
    Node,
    /// Selectors match hostNetwork pods like any other pod.
    Pod,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum AllowLocalhostArg {
    /// Cilium's default: always, as Cilium runs under Kubernetes.
    Auto,
    /// The local host reaches the pods on its node.
    Always,
    /// The local host needs an allow rule (fromEntities: [host]).
    Policy,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CniArg {
    /// Cilium when the input holds a Cilium policy, calico when it holds a Calico policy or Tier, else generic.
    Auto,
    /// Cilium's rules (CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy are evaluated either way).
    Cilium,
    /// Calico's tiers (Calico policies are evaluated in their tiers either way).
    Calico,
    /// The options as given: no CNI-specific rule.
    Generic,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum IpBlockPodsArg {
    /// ipBlocks match pod IPs too, as the upstream conformance tests assume.
    Match,
    /// ipBlocks match only addresses outside the cluster's pods.
    Ignore,
}

/// The installation-wide service-mesh settings that manifests do not carry, shared by every
/// command that reads the meshes (`mesh`, and the NR1xx findings and `mtls` invariants of
/// `audit`, `check` and `diff`).
#[derive(Args, Clone)]
pub(crate) struct MeshArgs {
    /// Istio's root namespace (meshConfig.rootNamespace): where mesh-wide PeerAuthentications and
    /// AuthorizationPolicies live.
    #[arg(long, value_name = "NS", default_value = ISTIO_ROOT_NAMESPACE)]
    pub(crate) istio_root_namespace: String,

    /// Linkerd's cluster-wide default inbound policy (proxy.defaultInboundPolicy at install).
    #[arg(long, value_name = "POLICY", default_value = "all-unauthenticated", value_parser = parse_linkerd_policy)]
    pub(crate) linkerd_default_inbound_policy: LinkerdPolicy,

    /// Istio's trust domain (meshConfig.trustDomain): AuthorizationPolicy principals read
    /// TRUST-DOMAIN/ns/NAMESPACE/sa/SERVICE-ACCOUNT.
    #[arg(long, value_name = "DOMAIN", default_value = netreach_model::mesh::authz::DEFAULT_TRUST_DOMAIN)]
    pub(crate) istio_trust_domain: String,
}

impl MeshArgs {
    pub(crate) fn options(&self) -> MeshOptions {
        MeshOptions {
            istio_root_namespace: self.istio_root_namespace.clone(),
            linkerd_default_policy: self.linkerd_default_inbound_policy,
            istio_trust_domain: self.istio_trust_domain.clone(),
        }
    }
}

fn parse_linkerd_policy(s: &str) -> Result<LinkerdPolicy, String> {
    LinkerdPolicy::parse(s).ok_or_else(|| {
        let all: Vec<&str> = LinkerdPolicy::ALL.iter().map(|p| p.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

/// The choices `exposure` makes about entry paths, shared by every command that follows them
/// (`exposure`, `paths --from internet`, `check`'s invariants from `internet`).
#[derive(Args, Clone)]
pub(crate) struct EntryArgs {
    /// The ingress controller's pods (an endpoint selector: `ns:ingress-nginx`,
    /// `app.kubernetes.io/name=traefik`, `ns/Deployment/name`): they run every Ingress, and every
    /// Gateway whose pods carry no gateway.networking.k8s.io/gateway-name label. Default: found by
    /// the IngressClass's controller and well-known controllers' labels, else the abstract
    /// {ingress-controller}.
    #[arg(long, value_name = "SEL")]
    pub(crate) ingress_controller: Option<String>,

    /// What backends of externalTrafficPolicy: Cluster Services see for traffic from outside: node
    /// (kube-proxy masquerades the client to the forwarding node's address) or client (a
    /// dataplane that keeps it, e.g. Cilium with DSR).
    #[arg(long, value_enum, default_value_t = ClusterSource::Node)]
    pub(crate) cluster_source: ClusterSource,
}

impl EntryArgs {
    /// The options `exposure` takes, `--ingress-controller` resolved to pods of `analysis`.
    pub(crate) fn options(&self, analysis: &Analysis) -> Result<ExposureOptions, String> {
        let ingress_controller = match &self.ingress_controller {
            None => None,
            Some(text) => {
                let selector = EndpointSelector::parse(text).map_err(|e| format!("--ingress-controller: {e}"))?;
                let endpoints = selector.resolve(analysis).map_err(|e| format!("--ingress-controller: {e}"))?;
                let pods: Vec<usize> = endpoints.into_iter().filter(|&e| analysis.pod(e).is_some()).collect();
                if pods.is_empty() {
                    return Err(format!("--ingress-controller {text:?} selects no pod"));
                }
                Some(pods)
            }
        };
        Ok(ExposureOptions { cluster_source: self.cluster_source, ingress_controller })
    }
}

/// How `internet` as a source is judged (`paths --from internet`, `check`'s invariants from
/// `internet`), with the entry choices that apply.
#[derive(Args, Clone)]
pub(crate) struct InternetArgs {
    /// How `internet` as a source is judged: entry-points starts at the entry points `netreach
    /// exposure` lists (published Services, Ingress and Gateway controllers then backends,
    /// hostPort, hostNetwork), each hop only where policy admits the source it sees;
    /// policy-only takes every pod whose policy admits an outside range, published or not
    /// (netreach before entry points).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = InternetStart::EntryPoints)]
    pub(crate) internet: InternetStart,

    #[command(flatten)]
    pub(crate) entry: EntryArgs,
}

/// An analysis with how it was obtained: the phase times and the loader's report.
pub(crate) struct Analyzed {
    pub(crate) analysis: ManuallyDrop<Analysis>,
    pub(crate) times: PhaseTimes,
    /// The audit reads its skipped objects.
    pub(crate) report: LoadReport,
    /// Where objects were read, and their `netreach.io/ignore` annotations.
    pub(crate) index: load::ObjectIndex,
}

impl InputArgs {
    /// [`analyze_with`](Self::analyze_with) for commands that do not read the meshes.
    pub(crate) fn analyze(&self) -> Result<Analyzed, InputError> {
        self.analyze_with(MeshOptions::default())
    }

    /// Loads the inputs (files, or a live cluster with `--cluster/--context/--kubeconfig`),
    /// prints warnings and notes on stderr, and runs the engine; the analysis reads the meshes
    /// with `mesh_options`.
    ///
    /// The analysis is never freed: a command runs once and exits, and freeing a large one
    /// (millions of small allocations) costs a noticeable share of a run; the process's end frees it.
    pub(crate) fn analyze_with(&self, mesh_options: MeshOptions) -> Result<Analyzed, InputError> {
        self.analyze_prepared(mesh_options, |_| {})
    }

    /// [`analyze_with`](Self::analyze_with), with `prepare` run on the loaded cluster before the
    /// engine (`exposure` adds its abstract ingress controller there).
    pub(crate) fn analyze_prepared(
        &self,
        mesh_options: MeshOptions,
        prepare: impl FnOnce(&mut netreach_model::Cluster),
    ) -> Result<Analyzed, InputError> {
        let started = Instant::now();
        let status = StatusLine::new(!self.notes.quiet);
        let mut loaded = if self.live.is_live() {
            let read = self.live.read(self.notes.quiet)?;
            status.phase("loading the objects read");
            load::load_values(read.into_values())?
        } else {
            status.phase(format!("reading {}", describe_paths(&self.paths)));
            let inputs: Vec<Input> = self.paths.iter().map(|p| Input::parse(p)).collect();
            let options = load::LoadOptions { index: self.locate_objects, ..self.read.options() };
            load::load_with(&inputs, &options).map_err(|e| empty_input("", e))?
        };
        self.infra.apply(&mut loaded.cluster);
        let load_time = started.elapsed();
        status.clear();
        self.notes.print_load_report("", &loaded.report, None);
        refuse_empty("", &loaded)?;
        prepare(&mut loaded.cluster);
        let started = Instant::now();
        status.phase(format!(
            "computing reachability: {} pods, {} policies",
            thousands(loaded.cluster.pods.len() as u64),
            thousands(policy_count(&loaded.cluster) as u64)
        ));
        let analysis = Analysis::new(loaded.cluster, &self.engine.options()).with_mesh_options(mesh_options);
        status.finish();
        Ok(Analyzed {
            analysis: ManuallyDrop::new(analysis),
            times: PhaseTimes { load: load_time, engine: started.elapsed() },
            report: loaded.report,
            index: loaded.index,
        })
    }
}

/// Policies the engine evaluates, of every dialect, for the status line.
fn policy_count(cluster: &netreach_model::Cluster) -> usize {
    cluster.policies.len()
        + cluster.cluster_policies.len()
        + cluster.cilium_policies.len()
        + cluster.calico.policies.len()
}

/// The inputs, for the status line: `shop.yaml`, `standard input`, `3 paths`.
fn describe_paths(paths: &[String]) -> String {
    match paths {
        [one] if one == "-" => "standard input".to_string(),
        [one] => one.clone(),
        many => format!("{} paths", many.len()),
    }
}

/// Why inputs could not be analyzed: files, or a live cluster.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InputError {
    #[error(transparent)]
    Load(#[from] load::LoadError),
    #[error(transparent)]
    Live(#[from] netreach::live::LiveError),
    /// Input read without error that holds nothing to analyze, or no object at all.
    #[error("{0}")]
    Empty(String),
}

/// Input holding no namespace, pod, workload or policy (only kinds netreach does not read, or
/// only invalid documents left out by `--skip-invalid`) is an error: an empty answer ("no
/// findings", exit 0) would turn a broken pipeline green. `side` starts the message (`after: `).
pub(crate) fn refuse_empty(side: &str, loaded: &load::LoadedCluster) -> Result<(), InputError> {
    let cluster = &loaded.cluster;
    // Namespaces only assumed (named by a Service, say) are no input of their own.
    let nothing = cluster.namespaces.len() == loaded.report.undefined_namespaces.len()
        && cluster.pods.is_empty()
        && cluster.policies.is_empty()
        && cluster.cluster_policies.is_empty()
        && cluster.unevaluated_policies.is_empty();
    if !nothing {
        return Ok(());
    }
    let mut left_out = Vec::new();
    let skipped: usize = loaded.report.skipped.values().sum();
    if skipped > 0 {
        left_out.push(format!("{skipped} object(s) of kinds netreach does not read"));
    }
    if !cluster.skipped_invalid.is_empty() {
        left_out.push(format!("{} invalid document(s) left out (--skip-invalid)", cluster.skipped_invalid.len()));
    }
    let only = if left_out.is_empty() { String::new() } else { format!(": only {}", left_out.join(" and ")) };
    Err(InputError::Empty(format!(
        "{side}nothing to analyze: no namespace, pod, workload or policy in the input{only}"
    )))
}

/// Input that held no object (no object at all, or an empty stdin), said of one `side` of a
/// diff (`after: `); other load errors name their file already.
pub(crate) fn empty_input(side: &str, error: load::LoadError) -> InputError {
    match error {
        load::LoadError::NoObjects { .. } | load::LoadError::EmptyStdin => InputError::Empty(format!("{side}{error}")),
        error => InputError::Load(error),
    }
}

/// Reading a live cluster instead of files (read-only: get and list, never Secrets).
#[derive(Args, Clone)]
pub(crate) struct LiveArgs {
    /// Read the cluster of the current kubeconfig context instead of files (read-only).
    #[arg(long, help_heading = "Live cluster")]
    pub(crate) cluster: bool,

    /// Read the cluster of kubeconfig context NAME (implies --cluster).
    #[arg(long, value_name = "NAME", help_heading = "Live cluster")]
    pub(crate) context: Option<String>,

    /// Kubeconfig file (implies --cluster) [default: $KUBECONFIG, then ~/.kube/config].
    #[arg(long, value_name = "FILE", help_heading = "Live cluster")]
    pub(crate) kubeconfig: Option<std::path::PathBuf>,

    /// Read every namespace (the default; for kubectl habits).
    #[arg(short = 'A', long, conflicts_with = "namespaces", help_heading = "Live cluster")]
    pub(crate) all_namespaces: bool,

    /// Give up on a request after this long (e.g. 30s, 1m, 500ms; 0: never), like kubectl.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = netreach::live::parse_duration, help_heading = "Live cluster")]
    pub(crate) request_timeout: std::time::Duration,

    /// Give up on listing one resource (all its pages) after this long (0: never).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = netreach::live::parse_duration, help_heading = "Live cluster")]
    pub(crate) list_timeout: std::time::Duration,

    /// `-n/--namespace`, repeatable; empty: every namespace. One flag for the live read and for
    /// `connectivity`'s filter ([`FilterArgs::filter`] takes it), as kubectl users type `-n` for both.
    #[arg(
        short = 'n',
        long = "namespace",
        value_name = "NS",
        help_heading = "Live cluster",
        help = "With a cluster, read only namespace NS, like kubectl -n (repeatable); pods elsewhere are then \
unknown (diff reads every namespace). With files every namespace is analyzed and NS narrows the answer: \
connections with an end in NS (connectivity; mesh, with NS's coverage and findings), findings and scores \
concerning NS (audit), the pods that \
FROM, TO and selectors pick (can, paths, check), changes with an end in NS and findings concerning NS \
(diff). Default: every namespace"
    )]
    pub(crate) namespaces: Vec<String>,
}

impl LiveArgs {
    /// True when a cluster is to be read instead of files.
    pub(crate) fn is_live(&self) -> bool {
        self.cluster || self.context.is_some() || self.kubeconfig.is_some()
    }

    pub(crate) fn options(&self, quiet: bool) -> netreach::live::LiveOptions {
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
    pub(crate) fn read(&self, quiet: bool) -> Result<netreach::live::ClusterRead, netreach::live::LiveError> {
        let read = netreach::live::read(&self.options(quiet))?;
        if !quiet {
            for warning in &read.warnings {
                messages::warning(warning);
            }
            if !read.namespaces.is_empty() {
                messages::note(format_args!(
                    "read only namespace(s) {} of {}: pods elsewhere are unknown, so connections with them are missing (-A reads every namespace)",
                    read.namespaces.join(", "),
                    read.describe()
                ));
            }
        }
        Ok(read)
    }
}

/// `--from`, `--to` (and `-n/--namespace`, declared in [`LiveArgs`]): which connections an
/// output shows, in every format.
#[derive(Args)]
pub(crate) struct FilterArgs {
    /// Only connections from what SEL selects (repeatable: any of them): ns/pod, ns/Kind/name,
    /// ns/workload, ns:NAME, a label selector (app=db,tier!=web), internet, any, an IP or a CIDR.
    #[arg(long, value_name = "SEL")]
    pub(crate) from: Vec<String>,

    /// Only connections to what SEL selects (repeatable: any of them; same forms as --from).
    #[arg(long, value_name = "SEL")]
    pub(crate) to: Vec<String>,
}

impl FilterArgs {
    /// The filter, given `-n/--namespace` (only connections with an end in one of `namespaces`).
    pub(crate) fn filter(
        &self,
        analysis: &Analysis,
        namespaces: &[String],
    ) -> Result<netreach::filter::ConnectionFilter, String> {
        use netreach::filter::{ConnectionFilter, FilterError};
        let filter = ConnectionFilter::new(analysis, namespaces, &self.from, &self.to).map_err(|e| match e {
            FilterError::Parse { criterion, source } => format!("{}: {source}", filter_flag(criterion)),
            FilterError::Resolve { criterion, selector, source } => {
                format!("{} {selector}: {source}", filter_flag(criterion))
            }
        })?;
        let flags: Vec<String> =
            filter.criteria().iter().map(|(criterion, value)| format!("{} {value}", filter_flag(*criterion))).collect();
        Ok(filter.described_as(flags.join(" ")))
    }
}

/// The option a filter criterion is given with.
fn filter_flag(criterion: netreach::filter::Criterion) -> &'static str {
    use netreach::filter::Criterion;
    match criterion {
        Criterion::Namespace => "--namespace",
        Criterion::From => "--from",
        Criterion::To => "--to",
    }
}

/// Where the infrastructure destinations (`cloud-metadata`, `kube-apiserver`, `kubelet`,
/// `nodes`, `etcd`) are when the input does not say, and which ones a command names.
#[derive(Args, Clone, Default)]
pub(crate) struct InfraArgs {
    /// The API server as pods reach it (after the kubernetes Service's address is translated),
    /// for kube-apiserver: IP or IP:PORT (443 and 6443 without a port); repeatable. Default: the
    /// endpoints of Service default/kubernetes in the input.
    #[arg(long, value_name = "IP[:PORT]", value_parser = load::infrastructure::parse_apiserver)]
    pub(crate) apiserver: Vec<(std::net::IpAddr, Option<u16>)>,

    /// etcd's addresses, for etcd (TCP 2379-2380); repeatable. Default: the control-plane
    /// nodes' InternalIPs.
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr)]
    pub(crate) etcd: Vec<ipnet::IpNet>,

    /// The cloud the nodes run in: where cloud-metadata is (any: 169.254.169.254 and fd00:ec2::254).
    #[arg(long, value_enum, value_name = "CLOUD", default_value = "any")]
    pub(crate) cloud: load::infrastructure::Cloud,

    /// The selectors the command names: destinations among them get external ranges of their own.
    #[arg(skip)]
    pub(crate) named: Vec<String>,
}

impl InfraArgs {
    /// The cluster's destinations with the flags applied, and those named cut out as ranges.
    pub(crate) fn apply(&self, cluster: &mut netreach_model::Cluster) {
        let options = load::infrastructure::InfraOptions {
            apiserver: self.apiserver.clone(),
            etcd: self.etcd.clone(),
            cloud: self.cloud,
        };
        options.apply(&mut cluster.infrastructure);
        load::infrastructure::name_ranges(cluster, self.named.iter().map(String::as_str));
    }
}

fn parse_cidr(s: &str) -> Result<ipnet::IpNet, String> {
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "expected a CIDR (10.0.0.0/24) or an address".to_string())
}

impl InputArgs {
    /// `-n/--namespace` as the scope of a question (`can`, `paths`, `check`): the pods of these
    /// namespaces and every external range, `None` without `-n`. An unknown namespace is an error.
    pub(crate) fn namespace_scope(&self, analysis: &Analysis) -> Result<Option<Vec<bool>>, String> {
        netreach::filter::namespace_scope(analysis, &self.live.namespaces).map_err(|e| format!("--namespace: {e}"))
    }
}

/// `endpoints` limited to `scope` (see [`InputArgs::namespace_scope`]); `what` is the selector
/// as typed, for the error when `-n` leaves nothing of what it selected.
pub(crate) fn within_scope(
    endpoints: Vec<usize>,
    scope: Option<&[bool]>,
    what: &str,
    namespaces: &[String],
) -> Result<Vec<usize>, String> {
    let Some(scope) = scope else { return Ok(endpoints) };
    let had = !endpoints.is_empty();
    let kept: Vec<usize> = endpoints.into_iter().filter(|&e| scope[e]).collect();
    if had && kept.is_empty() {
        return Err(format!(
            "{what:?} selects no pod in namespace(s) {} (-n/--namespace limits the question to them)",
            namespaces.join(", ")
        ));
    }
    Ok(kept)
}

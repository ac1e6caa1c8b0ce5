//! `netreach exposure`: what outside the cluster can reach, and through which entry point.

use super::{write_stdout, ExitStatus, InputArgs, Outcome};
use clap::Args;
use netreach::exposure::{add_abstract_controller, exposure, write_exposure, ClusterSource, ExposureOptions};
use netreach::model::Endpoint;
use netreach::render::graph::GraphOptions;
use netreach::render::DrawnFormat;
use netreach::select::EndpointSelector;

#[derive(Args)]
pub(crate) struct ExposureArgs {
    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Output format; dot and svg draw the entry points (shaped by kind), the pods behind them
    /// by namespace, and each hop, dashed grey where policy does not admit it.
    #[arg(short, long, value_enum, default_value_t = DrawnFormat::Text)]
    pub(crate) output: DrawnFormat,

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

    /// List only the entry paths that every hop's policy admits.
    #[arg(long)]
    pub(crate) reachable_only: bool,
}

pub(crate) fn run(args: ExposureArgs) -> Outcome {
    let analyzed = args.input.analyze_prepared(Default::default(), add_abstract_controller)?;
    let analysis = &analyzed.analysis;
    let ingress_controller = match &args.ingress_controller {
        None => None,
        Some(text) => {
            let selector = EndpointSelector::parse(text).map_err(|e| format!("--ingress-controller: {e}"))?;
            let endpoints = selector.resolve(analysis).map_err(|e| format!("--ingress-controller: {e}"))?;
            let pods: Vec<usize> =
                endpoints.into_iter().filter(|&e| matches!(analysis.reach.endpoint(e), Endpoint::Pod(_))).collect();
            if pods.is_empty() {
                return Err(format!("--ingress-controller {text:?} selects no pod").into());
            }
            Some(pods)
        }
    };
    let mut report = exposure(analysis, &ExposureOptions { cluster_source: args.cluster_source, ingress_controller });
    if args.reachable_only {
        report.exposures.retain(|e| e.reachable());
    }
    let Some(format) = args.output.report() else {
        use super::picture::{picture, title, too_big};
        let mut graph = netreach::exposure::render::graph(analysis, &report, &GraphOptions::default())
            .map_err(|e| too_big(e, "--reachable-only"))?;
        graph.title = Some(title("exposure", &args.input.paths, "entry paths from outside the cluster", &graph));
        let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
        write_stdout(|out| std::io::Write::write_all(out, &bytes))?;
        return Ok(ExitStatus::Success);
    };
    write_stdout(|out| write_exposure(analysis, &report, format, out))?;
    Ok(ExitStatus::Success)
}

//! `netreach can FROM TO`: the verdict and the full reason.

use super::{within_scope, write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::explain;
use netreach::mesh::{layer_json, layer_text, MeshLayer, MeshView};
use netreach::render::{self, Format};
use netreach::select::EndpointSelector;
use netreach::suggest::did_you_mean;
use netreach::Analysis;
use netreach_model::{PortParseError, PortRange, Protocol};

#[derive(Args)]
pub(crate) struct CanArgs {
    /// The source: ns/pod, ns/Kind/name, ns/workload, an IP address or a CIDR.
    #[arg(value_name = "FROM")]
    pub(crate) from: String,
    /// The destination, in the same forms.
    #[arg(value_name = "TO")]
    pub(crate) to: String,
    /// Ask about one port: 5432, 5432/TCP, 53/UDP. Without it, every allowed port is reported.
    #[arg(long, value_name = "PORT[/PROTO]", value_parser = parse_port)]
    pub(crate) port: Option<(Protocol, u16)>,
    #[command(flatten)]
    pub(crate) input: InputArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Text)]
    pub(crate) output: Format,
    /// With Istio AuthorizationPolicies in the input, the answer adds the mesh layer (mTLS
    /// status and authorization of each allowed port), read with these settings.
    #[command(flatten)]
    pub(crate) mesh: MeshArgs,
}

/// One port, as `PortRange::parse` reads it, but neither a range nor space around the number.
fn parse_port(s: &str) -> Result<(Protocol, u16), PortParseError> {
    let port = s.split_once('/').map_or(s, |(port, _)| port);
    match PortRange::parse(s)? {
        PortRange { protocol, lo, hi } if lo == hi && !port.contains(char::is_whitespace) => Ok((protocol, lo)),
        _ => Err(PortParseError::NotAPort(port.to_string())),
    }
}

fn resolve(
    analysis: &Analysis,
    text: &str,
    scope: Option<&[bool]>,
    namespaces: &[String],
) -> Result<Vec<usize>, String> {
    let selector = EndpointSelector::parse(text).map_err(|e| e.to_string())?;
    let endpoints = selector.resolve(analysis).map_err(|e| e.to_string())?;
    let endpoints = within_scope(endpoints, scope, text, namespaces)?;
    if endpoints.is_empty() {
        let suggestions = selector.suggestions(text, analysis);
        return Err(format!("{text:?} selects no pod or address range{}", did_you_mean(&suggestions)));
    }
    Ok(endpoints)
}

/// The ports of an infrastructure destination named by `text` that listens on at most 16 of them.
fn destination_ports(analysis: &Analysis, text: &str) -> Option<Vec<(Protocol, u16)>> {
    let EndpointSelector::Infrastructure(destination) = EndpointSelector::parse(text).ok()? else { return None };
    let ports = analysis.cluster.infrastructure.iter().find(|d| d.destination == destination)?.ports.as_ref()?;
    let listed: Vec<(Protocol, u16)> = ports
        .iter()
        .flat_map(|(protocol, ranges)| {
            ranges.iter().flat_map(move |&(lo, hi)| (lo..=hi).take(17).map(move |p| (protocol, p)))
        })
        .take(17)
        .collect();
    (listed.len() <= 16).then_some(listed)
}

pub(crate) fn run(mut args: CanArgs) -> Outcome {
    args.input.infra.named = vec![args.from.clone(), args.to.clone()];
    let analysis = args.input.analyze_with(args.mesh.options())?.analysis;
    let scope = args.input.namespace_scope(&analysis)?;
    let namespaces = &args.input.live.namespaces;
    let from = resolve(&analysis, &args.from, scope.as_deref(), namespaces)?;
    let to = resolve(&analysis, &args.to, scope.as_deref(), namespaces)?;
    let answer = match (args.port, destination_ports(&analysis, &args.to)) {
        // A destination that listens on a few ports (kubelet, etcd, the API server) is asked
        // about those: the first port allowed answers, else the first port.
        (None, Some(ports)) => {
            let answers: Vec<explain::CanAnswer> =
                ports.iter().map(|&port| explain::can(&analysis, &from, &to, Some(port))).collect();
            let first_allowed = answers.iter().position(|a| a.allowed()).unwrap_or(0);
            answers.into_iter().nth(first_allowed).expect("a destination with ports")
        }
        (port, _) => explain::can(&analysis, &from, &to, port),
    };
    // The mesh layer only where AuthorizationPolicies can change the answer.
    let view = (!analysis.cluster.mesh.authorization_policies.is_empty())
        .then(|| MeshView::new(&analysis, analysis.mesh_options.clone()));
    let layer = view.as_ref().map(|v| MeshLayer::new(v, &answer));
    write_stdout(|out| {
        match args.output {
            Format::Text => render::can::text(&analysis, &args.from, &args.to, &answer, out)?,
            Format::Md => render::can::markdown(&analysis, &args.from, &args.to, &answer, out)?,
            Format::Json => {
                let mut doc = render::can::json_value(&analysis, &args.from, &args.to, &answer);
                if let (Some(view), Some(layer)) = (&view, &layer) {
                    doc["mesh"] = layer_json(view, layer);
                }
                return render::can::write_json_value(&doc, out);
            }
        }
        match (&view, &layer) {
            (Some(view), Some(layer)) => {
                let item = if args.output == Format::Md { "- " } else { "  " };
                layer_text(view, layer, item, out)
            }
            _ => Ok(()),
        }
    })?;
    // Exit 1 also when NetworkPolicy allows but authorization (or mTLS) closes every port asked.
    let open = answer.allowed() && !layer.as_ref().is_some_and(MeshLayer::closes_everything);
    Ok(if open { ExitStatus::Success } else { ExitStatus::No })
}

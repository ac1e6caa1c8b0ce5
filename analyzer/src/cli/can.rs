//! `netreach can FROM TO`: the verdict and the full reason.

use super::{within_scope, write_stdout, ExitStatus, InputArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::mesh::{layer_json, layer_text, MeshLayer, MeshView};
use netreach::render::{self, Format};
use netreach::select::EndpointSelector;
use netreach::suggest::did_you_mean;
use netreach::Analysis;
use netreach::{explain, exposure};
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

/// Backing pods (endpoint indices) that receive a Service port on one (protocol, port).
type TargetGroup = ((Protocol, u16), Vec<usize>);

/// `can X ns/Service/NAME --port P`: P is the Service's port; each backing pod is asked about
/// the port it receives P on (its targetPort, a name resolved per pod). The backing pods of `to`,
/// grouped by that port; `None` when TO is no Service or no port is asked.
fn service_targets(
    analysis: &Analysis,
    text: &str,
    to: &[usize],
    port: Option<(Protocol, u16)>,
    notes: &mut Vec<String>,
) -> Result<Option<Vec<TargetGroup>>, String> {
    let (Some((protocol, number)), Ok(EndpointSelector::Workload { namespace, kind, name })) =
        (port, EndpointSelector::parse(text))
    else {
        return Ok(None);
    };
    if !netreach::select::is_service_kind(&kind) {
        return Ok(None);
    }
    let cluster = &analysis.cluster;
    let Some(service) = netreach::services::find(cluster, &namespace, &name) else { return Ok(None) };
    let Some(service_port) = service.ports.iter().find(|p| p.port == number && p.protocol == protocol) else {
        let ports: Vec<String> = service
            .ports
            .iter()
            .map(|p| match &p.name {
                Some(n) => format!("{}/{} ({n})", p.port, p.protocol.as_str()),
                None => format!("{}/{}", p.port, p.protocol.as_str()),
            })
            .collect();
        let has = if ports.is_empty() { "no port".to_string() } else { format!("ports {}", ports.join(", ")) };
        return Err(format!("Service {namespace}/{name} has no port {number}/{}: it has {has}", protocol.as_str()));
    };
    let mut groups: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
    for (pod, target) in netreach::services::backends(cluster, service, service_port, notes) {
        let endpoint = analysis.reach.index_of(netreach_model::Endpoint::Pod(pod as u32));
        if to.contains(&endpoint) {
            groups.entry(target).or_default().push(endpoint);
        }
    }
    if groups.is_empty() {
        return Err(format!(
            "Service {namespace}/{name} port {number}/{} has no backing pod in the input",
            protocol.as_str()
        ));
    }
    Ok(Some(groups.into_iter().map(|(target, pods)| ((protocol, target), pods)).collect()))
}

pub(crate) fn run(mut args: CanArgs) -> Outcome {
    args.input.infra.named = vec![args.from.clone(), args.to.clone()];
    let analysis = args.input.analyze_with(args.mesh.options())?.analysis;
    let scope = args.input.namespace_scope(&analysis)?;
    let namespaces = &args.input.live.namespaces;
    let from = resolve(&analysis, &args.from, scope.as_deref(), namespaces)?;
    let to = resolve(&analysis, &args.to, scope.as_deref(), namespaces)?;
    let mut notes = Vec::new();
    if let Some(groups) = service_targets(&analysis, &args.to, &to, args.port, &mut notes)? {
        if !args.input.notes.quiet {
            for note in &notes {
                super::messages::note(note);
            }
        }
        return service_answers(&analysis, &args, &from, groups);
    }
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
    let entries = entry_paths(&analysis, &args.from, &to, args.port);
    write_stdout(|out| {
        match args.output {
            Format::Text => render::can::text(&analysis, &args.from, &args.to, &answer, out)?,
            Format::Md => render::can::markdown(&analysis, &args.from, &args.to, &answer, out)?,
            Format::Json => {
                let mut doc = render::can::json_value(&analysis, &args.from, &args.to, &answer);
                if let (Some(view), Some(layer)) = (&view, &layer) {
                    doc["mesh"] = layer_json(view, layer);
                }
                if let Some(paths) = &entries {
                    doc["entryPaths"] = exposure::render::entry_paths_json(&analysis, paths);
                }
                return render::can::write_json_value(&doc, out);
            }
        }
        if let Some(paths) = &entries {
            let item = if args.output == Format::Md { "- " } else { "  " };
            exposure::render::entry_paths_text(&analysis, paths, item, out)?;
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

/// `can internet X`: the entry paths (`netreach exposure`'s, default choices) to X on the
/// asked port, or on every port without `--port`; `None` for any other source. They are said
/// beside the verdict and do not change the exit code, which stays the policy verdict's.
fn entry_paths(
    analysis: &Analysis,
    from: &str,
    to: &[usize],
    port: Option<(Protocol, u16)>,
) -> Option<Vec<exposure::Exposure>> {
    if EndpointSelector::parse(from).ok()? != EndpointSelector::Internet {
        return None;
    }
    let report = exposure::exposure(analysis, &exposure::ExposureOptions::default());
    Some(exposure::entry::entry_paths_to(&report.exposures, to, port))
}

/// The answers for a Service port, one per targetPort its backing pods receive it on; exit 0
/// when some backing pod is reached. In JSON, one document: the Service port's, every target
/// port's verdicts together, and `targetPorts` saying which pods receive it on which port.
fn service_answers(analysis: &Analysis, args: &CanArgs, from: &[usize], groups: Vec<TargetGroup>) -> Outcome {
    let answers: Vec<(String, Vec<usize>, explain::CanAnswer)> = groups
        .into_iter()
        .map(|(port, pods)| {
            let answer = explain::can(analysis, from, &pods, Some(port));
            (format!("{} (targetPort {})", args.to, port.1), pods, answer)
        })
        .collect();
    let any = answers.iter().any(|(_, _, answer)| answer.allowed());
    // Entry paths to the backing pods, each on the target port it receives the Service port on.
    let entries: Option<Vec<exposure::Exposure>> = answers
        .iter()
        .map(|(_, pods, answer)| entry_paths(analysis, &args.from, pods, answer.query))
        .collect::<Option<Vec<_>>>()
        .map(|groups| groups.concat());
    write_stdout(|out| match args.output {
        Format::Json => {
            let mut doc = match answers.as_slice() {
                [(to, _, answer)] => render::can::json_value(analysis, &args.from, to, answer),
                _ => several_targets_json(analysis, args, &answers),
            };
            if let Some(paths) = &entries {
                doc["entryPaths"] = exposure::render::entry_paths_json(analysis, paths);
            }
            render::can::write_json_value(&doc, out)
        }
        output => {
            let write = if output == Format::Md { render::can::markdown } else { render::can::text };
            answers.iter().try_for_each(|(to, _, answer)| write(analysis, &args.from, to, answer, out))?;
            match &entries {
                Some(paths) => {
                    let item = if output == Format::Md { "- " } else { "  " };
                    exposure::render::entry_paths_text(analysis, paths, item, out)
                }
                None => Ok(()),
            }
        }
    })?;
    Ok(if any { ExitStatus::Success } else { ExitStatus::No })
}

/// A Service port its backing pods receive on several target ports, as one `can` document: `port`
/// is the Service's, `allowed` whether any backing pod is reached, `verdicts` every target port's
/// (each verdict's `allowedPorts` names its target port), and `targetPorts` the pods per port.
fn several_targets_json(
    analysis: &Analysis,
    args: &CanArgs,
    answers: &[(String, Vec<usize>, explain::CanAnswer)],
) -> serde_json::Value {
    let (_, _, first) = &answers[0];
    let mut doc = render::can::json_value(analysis, &args.from, &args.to, first);
    let mut verdicts = Vec::new();
    let mut targets = Vec::new();
    for (_, pods, answer) in answers {
        let one = render::can::json_value(analysis, &args.from, &args.to, answer);
        if let serde_json::Value::Array(list) = &one["verdicts"] {
            verdicts.extend(list.iter().cloned());
        }
        targets.push(serde_json::json!({
            "targetPort": answer.query.map(|(_, n)| n),
            "pods": pods.iter().map(|&p| analysis.id(p)).collect::<Vec<_>>(),
            "allowed": answer.allowed(),
        }));
    }
    doc["port"] = serde_json::json!(args.port.map(|(_, n)| n));
    doc["allowed"] = serde_json::json!(answers.iter().any(|(_, _, a)| a.allowed()));
    doc["verdicts"] = serde_json::Value::Array(verdicts);
    doc["targetPorts"] = serde_json::Value::Array(targets);
    doc
}

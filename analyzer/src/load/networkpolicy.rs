//! Dialect loader: Kubernetes NetworkPolicy (networking.k8s.io/v1), typed by k8s-openapi, into
//! [`netreach_model::NetworkPolicy`], validating what the API server validates for the fields the
//! engine reads. Reference: https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/

use super::convert::{convert_selector, protocol, valid_port, At};
use super::LoadError;
use k8s_openapi::api::networking::v1 as net;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use netreach_model::{Direction, IpBlock, LabelSelector, NetworkPolicy, Peer, PortEntry, PortSpec, Rule};

pub(super) fn convert_policy(
    np: net::NetworkPolicy,
    namespace: &str,
    at: &At,
    warnings: &mut Vec<String>,
) -> Result<NetworkPolicy, LoadError> {
    let spec = np.spec.ok_or_else(|| at.err("spec", "missing"))?;
    // The API requires podSelector; an empty one (`{}`) selects every pod in the namespace.
    let pod_selector = match &spec.pod_selector {
        Some(s) => convert_selector(s, at, "spec.podSelector")?,
        None => LabelSelector::everything(),
    };
    let policy_types = match &spec.policy_types {
        None => None,
        Some(types) => {
            let mut out = Vec::new();
            for (i, t) in types.iter().enumerate() {
                out.push(match t.as_str() {
                    "Ingress" => Direction::Ingress,
                    "Egress" => Direction::Egress,
                    other => {
                        return Err(at.err(
                            format!("spec.policyTypes[{i}]"),
                            format!("unknown policy type {other:?} (expected Ingress or Egress)"),
                        ))
                    }
                });
            }
            Some(out)
        }
    };
    let mut ingress = Vec::new();
    for (i, r) in spec.ingress.iter().flatten().enumerate() {
        let field = format!("spec.ingress[{i}]");
        ingress.push(convert_rule(r.from.as_deref(), r.ports.as_deref(), at, &field, "from", warnings)?);
    }
    let mut egress = Vec::new();
    for (i, r) in spec.egress.iter().flatten().enumerate() {
        let field = format!("spec.egress[{i}]");
        egress.push(convert_rule(r.to.as_deref(), r.ports.as_deref(), at, &field, "to", warnings)?);
    }
    Ok(NetworkPolicy {
        namespace: namespace.to_string(),
        name: np.metadata.name.clone().unwrap_or_default(),
        pod_selector,
        policy_types,
        ingress,
        egress,
    })
}

fn convert_rule(
    peers: Option<&[net::NetworkPolicyPeer]>,
    ports: Option<&[net::NetworkPolicyPort]>,
    at: &At,
    field: &str,
    peers_name: &str,
    warnings: &mut Vec<String>,
) -> Result<Rule, LoadError> {
    let mut rule = Rule::default();
    for (j, peer) in peers.unwrap_or(&[]).iter().enumerate() {
        let pfield = format!("{field}.{peers_name}[{j}]");
        rule.peers.push(match (&peer.ip_block, &peer.pod_selector, &peer.namespace_selector) {
            (Some(block), None, None) => {
                let except = block.except.clone().unwrap_or_default();
                let parsed = IpBlock::parse(&block.cidr, &except).map_err(|e| {
                    let netreach_model::IpBlockError::InvalidCidr(bad) = &e;
                    let field = match except.iter().position(|x| x == bad) {
                        Some(i) if *bad != block.cidr => format!("{pfield}.ipBlock.except[{i}]"),
                        _ => format!("{pfield}.ipBlock.cidr"),
                    };
                    at.err(field, e.to_string())
                })?;
                for ex in parsed.misplaced_excepts() {
                    warnings.push(format!(
                        "{}: {}: field {pfield}.ipBlock.except: {ex} is not a strict subset of cidr {} \
                         (the API server rejects this); evaluated as cidr minus except",
                        at.origin, at.object, parsed.cidr
                    ));
                }
                Peer::IpBlock(parsed)
            }
            (Some(_), _, _) => {
                return Err(at.err(pfield, "ipBlock cannot be combined with podSelector or namespaceSelector"))
            }
            (None, None, None) => return Err(at.err(pfield, "a peer needs podSelector, namespaceSelector or ipBlock")),
            (None, pods, namespaces) => Peer::Pods {
                pod_selector: pods
                    .as_ref()
                    .map(|s| convert_selector(s, at, &format!("{pfield}.podSelector")))
                    .transpose()?,
                namespace_selector: namespaces
                    .as_ref()
                    .map(|s| convert_selector(s, at, &format!("{pfield}.namespaceSelector")))
                    .transpose()?,
            },
        });
    }
    for (k, p) in ports.unwrap_or(&[]).iter().enumerate() {
        let pfield = format!("{field}.ports[{k}]");
        let protocol = protocol(p.protocol.as_deref(), at, &format!("{pfield}.protocol"))?;
        let port = match &p.port {
            None => None,
            Some(IntOrString::Int(n)) => Some(PortSpec::Number(valid_port(*n, at, &format!("{pfield}.port"))?)),
            Some(IntOrString::String(s)) if s.is_empty() => {
                return Err(at.err(format!("{pfield}.port"), "empty port name"))
            }
            Some(IntOrString::String(s)) => Some(PortSpec::Name(s.clone())),
        };
        let end_port = match (p.end_port, &port) {
            (None, _) => None,
            (Some(end), Some(PortSpec::Number(start))) => {
                let end16 = valid_port(end, at, &format!("{pfield}.endPort"))?;
                if end16 < *start {
                    return Err(at.err(format!("{pfield}.endPort"), format!("{end} is below port {start}")));
                }
                Some(end16)
            }
            (Some(_), _) => return Err(at.err(format!("{pfield}.endPort"), "endPort needs a numeric port")),
        };
        rule.ports.push(PortEntry { protocol, port, end_port });
    }
    Ok(rule)
}

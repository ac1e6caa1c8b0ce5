//! The JSON Schema (draft 2020-12) of each command's `-o json`, printed by `netreach schema`.
//!
//! Most JSON is written by hand, piece by piece, for speed (see `render/json.rs`), so there are
//! no types to derive a schema from: each schema is written here as a typed description, and
//! tests validate every command's output on the fixtures against it ([`validate`]). Objects are
//! closed (`additionalProperties: false`): a field a writer adds without its schema fails them.

mod validate;

pub use validate::{validate, SchemaError};

use crate::aggregate::Level;
use crate::findings::Severity;
use netreach_model::cilium::{CniProfile, Section};
use netreach_model::mesh::authz::{AuthzAction, AuthzBasis, AuthzVerdict};
use netreach_model::mesh::{LinkerdPolicy, MeshKind, MtlsStatus};
use netreach_model::{Destination, Direction, Protocol};
use serde_json::{json, Map, Value};

/// A command whose `-o json` has a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum SchemaCommand {
    Connectivity,
    Audit,
    Mesh,
    Diff,
    Paths,
    Check,
    Exposure,
    Can,
}

impl SchemaCommand {
    pub const ALL: [SchemaCommand; 8] = [
        SchemaCommand::Connectivity,
        SchemaCommand::Audit,
        SchemaCommand::Mesh,
        SchemaCommand::Diff,
        SchemaCommand::Paths,
        SchemaCommand::Check,
        SchemaCommand::Exposure,
        SchemaCommand::Can,
    ];

    /// The subcommand's name.
    pub fn name(self) -> &'static str {
        match self {
            SchemaCommand::Connectivity => "connectivity",
            SchemaCommand::Audit => "audit",
            SchemaCommand::Mesh => "mesh",
            SchemaCommand::Diff => "diff",
            SchemaCommand::Paths => "paths",
            SchemaCommand::Check => "check",
            SchemaCommand::Exposure => "exposure",
            SchemaCommand::Can => "can",
        }
    }
}

/// The schema of `netreach COMMAND -o json`.
pub fn schema(command: SchemaCommand) -> Value {
    let (description, properties) = match command {
        SchemaCommand::Connectivity => {
            ("Every allowed connection between pods and external address ranges.", connectivity())
        }
        SchemaCommand::Audit => ("Segmentation findings and per-namespace scores.", audit()),
        SchemaCommand::Mesh => ("Service-mesh mTLS coverage of the allowed connections.", mesh()),
        SchemaCommand::Diff => ("What a change opens, closes or alters.", diff()),
        SchemaCommand::Paths => ("Lateral movement: shortest paths to each target and blast radius.", paths()),
        SchemaCommand::Check => ("Segmentation invariants checked against the cluster.", check()),
        SchemaCommand::Exposure => ("What outside the cluster reaches, and through which entry point.", exposure()),
        SchemaCommand::Can => ("Whether FROM can reach TO, with the deciding rules of each side.", can()),
    };
    let mut root = object(properties);
    let fields = root.as_object_mut().expect("an object schema");
    fields.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    fields.insert("title".into(), json!(format!("netreach {} -o json", command.name())));
    fields.insert("description".into(), json!(description));
    fields.insert("$defs".into(), definitions());
    root
}

/// A property; `Optional` ones may be absent (serde's `skip_serializing_if`).
enum Field {
    Required(&'static str, Value),
    Optional(&'static str, Value),
}
use Field::{Optional, Required};

/// A closed object: these properties, the required ones always present, no others.
fn object(fields: Vec<Field>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for field in fields {
        let (name, schema) = match field {
            Required(name, schema) => {
                required.push(json!(name));
                (name, schema)
            }
            Optional(name, schema) => (name, schema),
        };
        properties.insert(name.into(), schema);
    }
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// A port number.
fn port_number() -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": 65535})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn boolean() -> Value {
    json!({"type": "boolean"})
}

/// A count: an integer, never negative.
fn count() -> Value {
    json!({"type": "integer", "minimum": 0})
}

/// A share in [0, 1], or null when there is nothing to share.
fn share() -> Value {
    nullable(json!({"type": "number", "minimum": 0, "maximum": 1}))
}

fn array(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn nullable(schema: Value) -> Value {
    json!({"anyOf": [schema, {"type": "null"}]})
}

fn one_of(words: impl IntoIterator<Item = &'static str>) -> Value {
    json!({"type": "string", "enum": words.into_iter().collect::<Vec<_>>()})
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/$defs/{name}")})
}

fn strings() -> Value {
    array(string())
}

/// What every `-o json` starts with.
fn preamble() -> Vec<Field> {
    vec![
        Required("schemaVersion", json!({"const": 1})),
        Required("unevaluatedPolicies", array(reference("unevaluatedPolicy"))),
        Required("incomplete", strings()),
    ]
}

/// The shapes several outputs share.
fn definitions() -> Value {
    let port = json!({"type": "integer", "minimum": 0, "maximum": 65535});
    let range = json!({"type": "array", "items": port, "minItems": 2, "maxItems": 2});
    json!({
        "protocol": one_of(Protocol::ALL.map(Protocol::as_str)),
        "ports": array(range),
        "allowed": array(object(vec![
            Required("protocol", reference("protocol")),
            Required("ports", reference("ports")),
        ])),
        "unevaluatedPolicy": object(vec![
            Required("kind", string()),
            Required("apiVersion", string()),
            Required("namespace", nullable(string())),
            Required("name", string()),
            Required("effect", string()),
        ]),
        "finding": object(finding_fields()),
        "suppressedFinding": object({
            let mut fields = finding_fields();
            fields.push(Required("suppressedBy", json!({"oneOf": [
                object(vec![Required("kind", json!({"const": "annotation"})), Required("objects", strings())]),
                object(vec![Required("kind", json!({"const": "baseline"})), Required("file", string())]),
            ]})));
            fields
        }),
        "level": one_of([Level::Pod, Level::Workload, Level::Namespace].map(Level::name)),
    })
}

/// The fields of one finding (`Finding`'s serialization).
fn finding_fields() -> Vec<Field> {
    let severities = [Severity::High, Severity::Medium, Severity::Low, Severity::Info].map(Severity::as_str);
    vec![
        Required("id", string()),
        Required("name", string()),
        Required("severity", one_of(severities)),
        Required("namespace", nullable(string())),
        Required(
            "objects",
            array(object(vec![
                Required("kind", string()),
                Required("namespace", nullable(string())),
                Required("name", string()),
                Required("field", nullable(string())),
            ])),
        ),
        Required("message", string()),
        Required("fix", string()),
        Optional("destination", one_of(Destination::ALL.map(Destination::keyword))),
    ]
}

/// `custom` (the mesh layer): per CUSTOM AuthorizationPolicy, the ports it leaves to an external
/// authorizer.
fn custom_ports() -> Value {
    array(object(vec![
        Required("policy", string()),
        Required("provider", string()),
        Required("allowed", reference("allowed")),
    ]))
}

fn connectivity() -> Vec<Field> {
    let pod = object(vec![
        Required("id", string()),
        Required("kind", json!({"const": "Pod"})),
        Required("namespace", string()),
        Required("name", string()),
        Required("workload", nullable(string())),
        Required("labels", json!({"type": "object", "additionalProperties": string()})),
        Required("ips", strings()),
        Required("hostNetwork", boolean()),
        Required("node", nullable(string())),
        Optional("synthesized", json!({"const": true})),
    ]);
    let external = object(vec![
        Required("id", string()),
        Required("kind", json!({"const": "External"})),
        Required("cidrs", strings()),
        Required("except", strings()),
    ]);
    let connection = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("allowed", reference("allowed")),
        Optional("custom", custom_ports()),
    ]);
    let mut fields = preamble();
    fields.insert(
        1,
        Required(
            "profile",
            one_of([CniProfile::Generic, CniProfile::Cilium, CniProfile::Calico].map(CniProfile::as_str)),
        ),
    );
    // With --mesh: `allowed` is what NetworkPolicy, mTLS and Istio authorization all leave open.
    fields.insert(2, Optional("meshLayer", json!({"const": true})));
    fields.push(Required("nodes", array(json!({"oneOf": [pod, external]}))));
    fields.push(Required("connections", array(connection)));
    fields
}

fn can() -> Vec<Field> {
    let rule_match = object(vec![
        Required("policy", string()),
        Required("rule", count()),
        Required("peer", nullable(count())),
        Required("port", nullable(count())),
        Required("allowed", reference("allowed")),
        Required("text", string()),
    ]);
    let cilium_match = object(vec![
        Required("policy", string()),
        Required("section", one_of(Section::ALL.map(Section::field))),
        Required("rule", count()),
        Required("peer", nullable(count())),
        Required("effect", one_of(["allow", "deny"])),
        Required("ports", reference("allowed")),
        Required("text", string()),
    ]);
    let side = object(vec![
        Required("isolated", boolean()),
        Required("isolatedBy", strings()),
        Required("allows", boolean()),
        Required("allowedBy", array(rule_match)),
        Required("cilium", array(cilium_match)),
        Required("closestMisses", strings()),
        Required("tiers", strings()),
    ]);
    let port = port_number();
    let verdict = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("pairs", array(json!({"type": "array", "items": string(), "minItems": 2, "maxItems": 2}))),
        Required("allowed", boolean()),
        Required("allowedPorts", reference("allowed")),
        Required("egress", side.clone()),
        Required("ingress", side),
        Required("notes", strings()),
    ]);
    // The mesh layer (Istio authorization over mTLS), when the input has a mesh.
    let mesh_port = object(vec![
        Required(
            "allowed",
            object(vec![Required("protocol", reference("protocol")), Required("ports", reference("ports"))]),
        ),
        Required("status", one_of(MtlsStatus::ALL.map(MtlsStatus::as_str))),
        Required("verdict", one_of(AuthzVerdict::ALL.map(AuthzVerdict::as_str))),
        Required("basis", one_of(AuthzBasis::ALL.map(AuthzBasis::as_str))),
        Required("policy", nullable(string())),
        Required("action", nullable(one_of(AuthzAction::NAMES))),
        Required("rule", nullable(count())),
        Required("text", string()),
        // Ambient waypoints: the waypoint on the route, and where the decision is taken.
        Required("waypoint", nullable(string())),
        Required("enforcedBy", one_of(["destination", "waypoint"])),
    ]);
    let mesh = object(vec![
        Required("allowed", boolean()),
        Required(
            "groups",
            array(object(vec![
                Required("src", string()),
                Required("dst", string()),
                Required("pairs", count()),
                Required("open", boolean()),
                Required("ports", array(mesh_port)),
            ])),
        ),
    ]);
    // A Service port that maps to several target ports: the pods behind each.
    let target_port = object(vec![
        Required("targetPort", nullable(port.clone())),
        Required("pods", strings()),
        Required("allowed", boolean()),
    ]);
    let mut fields = preamble();
    fields.extend([
        Required("from", string()),
        Required("to", string()),
        Required("protocol", nullable(reference("protocol"))),
        Required("port", nullable(port)),
        Required("allowed", boolean()),
        Required("verdicts", array(verdict)),
        Optional("mesh", mesh),
        Optional("targetPorts", array(target_port)),
        // `can internet X`: the entry paths to X on the ports asked, as `exposure` finds them.
        Optional(
            "entryPaths",
            array(object(vec![
                Required("pod", string()),
                Required("port", port_number()),
                Required("protocol", reference("protocol")),
                Required("via", via()),
                Required("entryPort", nullable(port_number())),
                Required("reachable", boolean()),
            ])),
        ),
    ]);
    fields
}

fn audit() -> Vec<Field> {
    let score = object(vec![
        Required("namespace", string()),
        Required("pods", count()),
        Required("possiblePairs", count()),
        Required("allowedPairs", count()),
        Required("deniedPairs", count()),
        Required("score", share()),
    ]);
    let mut fields = preamble();
    fields.push(Required("findings", array(reference("finding"))));
    fields.push(Required("suppressed", array(reference("suppressedFinding"))));
    fields.push(Required("segmentation", array(score)));
    fields
}

fn mesh() -> Vec<Field> {
    let meshes = || one_of(MeshKind::ALL.map(MeshKind::as_str));
    let by_mesh = object(MeshKind::ALL.iter().map(|m| Required(m.as_str(), count())).collect());
    let coverage = object(vec![
        Required("namespace", string()),
        Required("mesh", nullable(meshes())),
        Required("pods", count()),
        Required("podsInMesh", count()),
        Required("podsByMesh", by_mesh),
        Required("pairs", count()),
        Required("mtls", count()),
        Required("permissive", count()),
        Required("plaintext", count()),
        Required("rejected", count()),
        Required("notApplicable", count()),
        Required("authzProtected", count()),
        Required("effective", count()),
        Required("podCoverage", share()),
        Required("connectionCoverage", share()),
    ]);
    let verdicts = || one_of(AuthzVerdict::ALL.map(AuthzVerdict::as_str));
    let authz = object(vec![
        Required("verdict", verdicts()),
        Required("basis", one_of(AuthzBasis::ALL.map(AuthzBasis::as_str))),
        Required("policy", nullable(string())),
        Required("action", nullable(one_of(AuthzAction::NAMES))),
        Required("rule", nullable(count())),
        Required("waypoint", nullable(string())),
        Required("enforcedBy", one_of(["destination", "waypoint"])),
    ]);
    let connection = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("allowed", reference("allowed")),
        Required("status", one_of(MtlsStatus::ALL.map(MtlsStatus::as_str))),
        Required("authz", authz),
        Required("effective", verdicts()),
        Optional("pairs", count()),
    ]);
    let mut fields = preamble();
    fields.extend([
        Required("level", reference("level")),
        Required("istioRootNamespace", string()),
        Required("linkerdDefaultInboundPolicy", one_of(LinkerdPolicy::ALL.map(LinkerdPolicy::as_str))),
        Required("istioTrustDomain", string()),
        Required("summary", coverage.clone()),
        Required("namespaces", array(coverage)),
        Required("pods", array(object(vec![Required("id", string()), Required("mesh", meshes())]))),
        Required(
            "outsideMesh",
            array(object(vec![
                Required("id", string()),
                Required("workload", nullable(string())),
                Required("namespaceMesh", meshes()),
                Required("reason", string()),
            ])),
        ),
        Required("connections", array(connection)),
        Required("findings", array(reference("finding"))),
    ]);
    fields
}

fn diff() -> Vec<Field> {
    let side = || object(vec![Required("pods", count()), Required("externals", count())]);
    let kinds = || object(vec![Required("added", count()), Required("removed", count()), Required("changed", count())]);
    let only = || object(vec![Required("pods", strings()), Required("externals", strings())]);
    let pairs = object(vec![
        Required("added", count()),
        Required("removed", count()),
        Required("changed", count()),
        Required("of", count()),
    ]);
    let entry = |ports: Vec<Field>| {
        let mut fields = vec![Required("src", string()), Required("dst", string())];
        fields.extend(ports);
        fields.push(Optional("pairs", pairs.clone()));
        array(object(fields))
    };
    let findings = || array(reference("finding"));
    let mut fields = vec![Required("schemaVersion", json!({"const": 1})), Required("level", reference("level"))];
    fields.extend(preamble().into_iter().skip(1));
    fields.extend([
        Required(
            "summary",
            object(vec![
                Required("before", side()),
                Required("after", side()),
                Required("commonPods", count()),
                Required("pairs", kinds()),
                Required("entries", kinds()),
            ]),
        ),
        Required("onlyBefore", only()),
        Required("onlyAfter", only()),
        Optional(
            "applied",
            object(vec![
                Required("created", strings()),
                Required("replaced", strings()),
                Required("deleted", strings()),
            ]),
        ),
        Optional(
            "findings",
            object(vec![
                Required("appeared", findings()),
                Required("resolved", findings()),
                Required(
                    "changed",
                    array(object(vec![
                        Required("before", reference("finding")),
                        Required("after", reference("finding")),
                    ])),
                ),
            ]),
        ),
        // Entry paths from outside that differ: on one side only, or reachable on one side only.
        Optional("exposures", {
            let side = || {
                nullable(object(vec![
                    Required("reachable", boolean()),
                    Required("entryPort", nullable(json!({"type": "integer", "minimum": 0, "maximum": 65535}))),
                ]))
            };
            array(object(vec![
                Required(
                    "change",
                    one_of(crate::diff::ExposureChangeKind::ALL.map(crate::diff::ExposureChangeKind::as_str)),
                ),
                Required("pod", string()),
                Required("port", json!({"type": "integer", "minimum": 0, "maximum": 65535})),
                Required("protocol", reference("protocol")),
                Required("via", via()),
                Required("before", side()),
                Required("after", side()),
            ]))
        }),
        // Pairs whose mesh verdict changed on ports NetworkPolicy allows on both sides.
        Optional("authz", {
            let side = || object(vec![Required("allowed", reference("allowed")), Optional("custom", custom_ports())]);
            array(object(vec![
                Required("src", string()),
                Required("dst", string()),
                Required("before", side()),
                Required("after", side()),
            ]))
        }),
        Required("added", entry(vec![Required("allowed", reference("allowed"))])),
        Required("removed", entry(vec![Required("allowed", reference("allowed"))])),
        Required(
            "changed",
            entry(vec![
                Required("before", reference("allowed")),
                Required("after", reference("allowed")),
                Required("gained", reference("allowed")),
                Required("lost", reference("allowed")),
            ]),
        ),
    ]);
    fields
}

fn paths() -> Vec<Field> {
    let hop = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("protocol", nullable(reference("protocol"))),
        Required("port", nullable(json!({"type": "integer", "minimum": 0, "maximum": 65535}))),
        Required("kind", one_of(["policy", "node-local", "entry"])),
        Required("allowed", reference("allowed")),
        // `--from internet`: an entry hop's entry point and the source address the pod sees.
        Optional("via", via()),
        Optional("source", string()),
    ]);
    // Attack paths (`"mode": "attack"`): hops of every kind, protocol and port on network hops.
    let attack_hop = object(vec![
        Required("kind", one_of(["network", "node-local", "escape", "token", "rbac"])),
        Required("from", string()),
        Required("to", string()),
        Optional("protocol", reference("protocol")),
        Optional("port", json!({"type": "integer", "minimum": 0, "maximum": 65535})),
        Required("reason", string()),
        Optional("via", via()),
    ]);
    let network_radius = object(vec![Required("source", string()), Required("reached", array(count()))]);
    let attack_radius = object(vec![
        Required("source", string()),
        Required("pods", array(count())),
        Required("nodes", array(count())),
        Required("secrets", array(count())),
        Required("identities", array(count())),
        Required("clusterAdmin", nullable(json!({"type": "integer", "minimum": 1}))),
    ]);
    let mut fields = preamble();
    fields.extend([
        Required("from", string()),
        Required("to", string()),
        Required("maxHops", json!({"type": "integer", "minimum": 1})),
        Required("nodeHops", boolean()),
        Optional("mode", one_of(["attack"])),
        Required(
            "paths",
            array(object(vec![
                Required("target", string()),
                Required("hops", array(json!({"oneOf": [hop, attack_hop]}))),
            ])),
        ),
        Required("blastRadius", array(json!({"oneOf": [network_radius, attack_radius]}))),
        Optional("notes", strings()),
    ]);
    fields
}

fn check() -> Vec<Field> {
    let allowed = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("allowed", reference("allowed")),
        Required("rules", strings()),
    ]);
    let missing = object(vec![
        Required("src", string()),
        Required("dst", string()),
        Required("missing", nullable(reference("allowed"))),
        Required("allowed", reference("allowed")),
        Required("reasons", strings()),
    ]);
    let not_isolated = object(vec![
        Required("pod", string()),
        Required("directions", array(one_of([Direction::Ingress, Direction::Egress].map(Direction::as_str)))),
        Required("reason", string()),
    ]);
    let reach = object(vec![
        Required("src", string()),
        Required("reached", count()),
        Required("hops", count()),
        Required("paths", strings()),
    ]);
    let attack_path =
        object(vec![Required("src", string()), Required("target", string()), Required("steps", strings())]);
    let invariant = object(vec![
        Required("name", string()),
        Required("description", nullable(string())),
        Required("kind", one_of(["deny", "allowOnly", "allow", "isolated", "maxReach", "mtls"])),
        Required("statement", string()),
        Required("status", one_of(["pass", "fail"])),
        Required("detail", string()),
        Required("checked", count()),
        Required(
            "violations",
            object(vec![
                Required("count", count()),
                Required("shown", array(json!({"oneOf": [allowed, missing, not_isolated, reach, attack_path]}))),
            ]),
        ),
        Required("notes", strings()),
    ]);
    let mut fields = vec![Required("schemaVersion", json!({"const": 1})), Required("file", string())];
    fields.extend(preamble().into_iter().skip(1));
    fields.extend([
        Required(
            "summary",
            object(vec![Required("invariants", count()), Required("passed", count()), Required("failed", count())]),
        ),
        Required("invariants", array(invariant)),
    ]);
    fields
}

/// An entry point: `{"kind": "LoadBalancer", "name": "shop/web"}` (a pod's id for HostPort and HostNetwork).
fn via() -> Value {
    object(vec![
        Required("kind", one_of(crate::exposure::ViaKind::ALL.map(crate::exposure::ViaKind::as_str))),
        Required("name", string()),
    ])
}

fn exposure() -> Vec<Field> {
    let port = json!({"type": "integer", "minimum": 0, "maximum": 65535});
    let hop = object(vec![
        Required("to", strings()),
        Required("ports", strings()),
        Required("source", string()),
        Required("admittedFrom", strings()),
        Required("reached", strings()),
        // Who outside can send along the path (loadBalancerSourceRanges): null for anyone.
        Required("clients", nullable(strings())),
    ]);
    let exposure = object(vec![
        Required("pod", string()),
        Required("workload", nullable(string())),
        Required("port", port.clone()),
        Required("protocol", reference("protocol")),
        Required("via", via()),
        Required("entryPort", nullable(port)),
        Required("reachable", boolean()),
        Required("hops", array(hop)),
    ]);
    let mut fields = preamble();
    fields.extend([Required("exposures", array(exposure)), Required("notes", strings())]);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_declares_its_draft_and_is_closed() {
        for command in SchemaCommand::ALL {
            let schema = schema(command);
            assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert_eq!(schema["additionalProperties"], false, "{}", command.name());
            assert_eq!(schema["required"][0], "schemaVersion", "{}", command.name());
        }
    }

    #[test]
    fn a_field_the_schema_does_not_name_is_refused() {
        let schema = schema(SchemaCommand::Audit);
        let mut output = json!({"schemaVersion": 1, "unevaluatedPolicies": [], "incomplete": [], "findings": [], "suppressed": [], "segmentation": []});
        validate(&schema, &output).unwrap();
        output["extra"] = json!(true);
        let errors = validate(&schema, &output).unwrap_err();
        assert!(errors.to_string().contains("/extra"), "{errors}");
    }
}

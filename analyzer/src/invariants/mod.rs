//! Segmentation invariants: named rules about reachability, written down once and checked on
//! every change (`netreach check --invariants FILE`, or [`crate::testing`] in `cargo test`).
//!
//! An invariants file is YAML:
//!
//! ```yaml
//! invariants:
//!   - name: prod is isolated from dev
//!     deny: {from: "ns:dev", to: "ns:prod"}
//!   - name: only the API talks to the database
//!     allowOnly: {to: "app=db", from: "app=api", ports: ["5432/TCP"]}
//!   - name: nothing from the internet except the ingress gateway
//!     deny: {from: internet, to: any, except: {to: "ns:ingress"}}
//!   - name: the frontend reaches the cart
//!     allow: {from: "shop/frontend", to: "shop/cart", ports: ["7070/TCP"]}
//!   - name: every namespace has default-deny
//!     isolated: {namespaces: "*", direction: both}
//!   - name: blast radius of a compromised frontend
//!     maxReach: {from: "app=frontend", hops: 3, atMost: 5}
//!   - name: payments traffic is mTLS
//!     mtls: {to: "ns:payments"}
//! ```
//!
//! Selectors are [`EndpointSelector`]s (`ns/pod`, `ns/Kind/name`, `ns:NAME`, label selectors,
//! `internet`, `any`, an IP, a CIDR), or a list of them (any of them). Ports are `PORT/PROTO`
//! (`5432/TCP`, `53/UDP`, `9092-9094/TCP`; a bare number is TCP). See [`Assertion`] for what each
//! kind asserts. [`parse`] reads a file into [`Invariant`]s, [`Checker`] evaluates them on an
//! [`Analysis`](crate::Analysis) into [`Evaluation`]s, and [`render`] writes text, JSON or JUnit.

mod eval;
pub mod render;

pub use eval::{Checker, Evaluation, FieldError, Status, Violation};
pub use render::{CheckFormat, Report};

use crate::select::{EndpointSelector, SelectorParseError};
use netreach_model::{PortRange, PortSet};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;

/// One named invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invariant {
    pub name: String,
    pub description: Option<String>,
    pub assertion: Assertion,
}

/// What an invariant asserts. Pairs are ordered (source, destination) pairs of distinct
/// endpoints, never two external ranges (as `netreach connectivity` lists them); a pod's traffic
/// to itself is always allowed and never counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assertion {
    /// No connection from `from` to `to` (on `ports`, or on any port), except the pairs that
    /// `except` describes.
    Deny { from: Selection, to: Selection, except: Option<Except>, ports: Option<PortSet> },
    /// Into `to`, only `from` (every source when absent) connects, and only on `ports` (any
    /// port when absent): any other source with anything allowed, or an allowed port outside
    /// `ports`, violates it. It does not require `from` to reach `to`: that is [`Assertion::Allow`].
    AllowOnly { to: Selection, from: Option<Selection>, ports: Option<PortSet> },
    /// Every pair from `from` to `to` is allowed on all of `ports` (on some port when absent).
    Allow { from: Selection, to: Selection, ports: Option<PortSet> },
    /// Every pod of these namespaces is selected by a NetworkPolicy in each of the directions
    /// (so only rules allow its traffic). `namespaces: None` is every namespace (`"*"`).
    Isolated { namespaces: Option<Vec<String>>, except: Vec<String>, ingress: bool, egress: bool },
    /// An attacker who takes any one endpoint of `from` reaches at most `at_most` pods within
    /// `hops` hops (as `netreach paths` counts its blast radius, node-local hops included
    /// unless `node_hops` is false).
    /// With `identity_hops`, the steps of attack paths count too (escapes, tokens, RBAC: as
    /// `netreach paths` counts them without `--network-only`).
    MaxReach { from: Selection, hops: u32, at_most: u64, node_hops: bool, identity_hops: bool },
    /// No attack path (network, escapes, tokens, RBAC, any number of steps) from `from` to an
    /// attack target: `cluster-admin`, `nodes`, `node/NAME`, `secrets/NS` or `secret/NS/NAME`.
    DenyAttack { from: Selection, to: String },
    /// Every connection policy allows into `to` (from `from`, or from any pod when absent) runs
    /// with enforced mutual TLS on every allowed port, as the service-mesh analysis
    /// (`netreach mesh`) sees it: plaintext and permissive ports violate it.
    Mtls { from: Option<Selection>, to: Selection },
}

/// The pairs a `deny` exempts: sources in `from` (any when absent) to destinations in `to`
/// (any when absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Except {
    pub from: Option<Selection>,
    pub to: Option<Selection>,
}

/// One or more endpoint selectors, as written: an endpoint belongs if any of them selects it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    pub selectors: Vec<(String, EndpointSelector)>,
}

/// Why a selection does not parse: the reason alone (the caller names the text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.reason)]
pub struct SelectionError(pub SelectorParseError);

impl Selection {
    /// Parses one selector in the syntax of `netreach paths --from`.
    pub fn parse(text: &str) -> Result<Selection, SelectionError> {
        let selector = EndpointSelector::parse(text).map_err(SelectionError)?;
        Ok(Selection { selectors: vec![(text.to_string(), selector)] })
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.selectors.as_slice() {
            [(one, _)] => write!(f, "{one:?}"),
            many => {
                let texts: Vec<String> = many.iter().map(|(t, _)| format!("{t:?}")).collect();
                write!(f, "[{}]", texts.join(", "))
            }
        }
    }
}

impl Assertion {
    /// Every selector the assertion names, as written.
    pub fn selector_texts(&self) -> Vec<&str> {
        let (a, b, c, d): (Option<&Selection>, Option<&Selection>, Option<&Selection>, Option<&Selection>) = match self
        {
            Assertion::Deny { from, to, except, .. } => (
                Some(from),
                Some(to),
                except.as_ref().and_then(|e| e.from.as_ref()),
                except.as_ref().and_then(|e| e.to.as_ref()),
            ),
            Assertion::AllowOnly { to, from, .. } | Assertion::Mtls { from, to } => {
                (Some(to), from.as_ref(), None, None)
            }
            Assertion::Allow { from, to, .. } => (Some(from), Some(to), None, None),
            Assertion::MaxReach { from, .. } | Assertion::DenyAttack { from, .. } => (Some(from), None, None, None),
            Assertion::Isolated { .. } => (None, None, None, None),
        };
        [a, b, c, d].into_iter().flatten().flat_map(|s| s.selectors.iter().map(|(t, _)| t.as_str())).collect()
    }

    /// The key of this kind in the file: `deny`, `allowOnly`, `allow`, `isolated`, `maxReach`, `mtls`.
    pub fn kind(&self) -> &'static str {
        match self {
            Assertion::Deny { .. } | Assertion::DenyAttack { .. } => "deny",
            Assertion::AllowOnly { .. } => "allowOnly",
            Assertion::Allow { .. } => "allow",
            Assertion::Isolated { .. } => "isolated",
            Assertion::MaxReach { .. } => "maxReach",
            Assertion::Mtls { .. } => "mtls",
        }
    }
}

impl fmt::Display for Assertion {
    /// The invariant restated in one line, e.g. `deny from "ns:dev" to "ns:prod"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on = |ports: &Option<PortSet>| ports.as_ref().map(|p| format!(" on {p}")).unwrap_or_default();
        match self {
            Assertion::Deny { from, to, except, ports } => {
                write!(f, "deny from {from} to {to}{}", on(ports))?;
                if let Some(e) = except {
                    let side = |s: &Option<Selection>| s.as_ref().map_or("any".to_string(), |s| s.to_string());
                    write!(f, " except from {} to {}", side(&e.from), side(&e.to))?;
                }
                Ok(())
            }
            Assertion::AllowOnly { to, from, ports } => {
                write!(f, "into {to} allow only")?;
                if let Some(from) = from {
                    write!(f, " from {from}")?;
                }
                write!(
                    f,
                    "{}",
                    ports.as_ref().map(|p| format!(" on {p}")).unwrap_or_else(|| " on any port".to_string())
                )
            }
            Assertion::Allow { from, to, ports } => write!(
                f,
                "allow from {from} to {to}{}",
                ports.as_ref().map_or(" on some port".to_string(), |p| format!(" on {p}"))
            ),
            Assertion::Isolated { namespaces, except, ingress, egress } => {
                let dirs = match (ingress, egress) {
                    (true, true) => "ingress and egress",
                    (true, false) => "ingress",
                    _ => "egress",
                };
                match namespaces {
                    None => write!(f, "pods of every namespace")?,
                    Some(list) => write!(f, "pods of namespace(s) {}", list.join(", "))?,
                }
                if !except.is_empty() {
                    write!(f, " except {}", except.join(", "))?;
                }
                write!(f, " isolated for {dirs}")
            }
            Assertion::MaxReach { from, hops, at_most, node_hops, identity_hops } => write!(
                f,
                "each endpoint of {from} reaches at most {at_most} pod(s) within {hops} hop(s){}{}",
                if *node_hops { "" } else { " (node-local hops off)" },
                if *identity_hops { " (counting escapes, tokens and RBAC)" } else { "" }
            ),
            Assertion::DenyAttack { from, to } => {
                write!(f, "no attack path from {from} to {to} (escapes, tokens and RBAC included)")
            }
            Assertion::Mtls { from, to } => match from {
                Some(from) => write!(f, "traffic from {from} to {to} is mTLS"),
                None => write!(f, "traffic to {to} is mTLS"),
            },
        }
    }
}

/// Why an invariants file cannot be used: the file, the invariant (1-based, with its name when
/// it has one), the field and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct InvariantError {
    pub file: String,
    /// 1-based position in `invariants`, with the name when known.
    pub invariant: Option<(usize, Option<String>)>,
    /// Dotted path inside the invariant (`allowOnly.ports[0]`), or inside the file.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for InvariantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some((i, name)) = &self.invariant {
            write!(f, "invariant {i}")?;
            if let Some(name) = name {
                write!(f, " {name:?}")?;
            }
            write!(f, ": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "field {field}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    invariants: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawInvariant {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    deny: Option<RawDeny>,
    #[serde(default)]
    allow_only: Option<RawAllowOnly>,
    #[serde(default)]
    allow: Option<RawAllow>,
    #[serde(default)]
    isolated: Option<RawIsolated>,
    #[serde(default)]
    max_reach: Option<RawMaxReach>,
    #[serde(default)]
    mtls: Option<RawMtls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeny {
    from: Value,
    to: Value,
    #[serde(default)]
    except: Option<RawExcept>,
    #[serde(default)]
    ports: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExcept {
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    to: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllowOnly {
    to: Value,
    #[serde(default)]
    from: Option<Value>,
    #[serde(default)]
    ports: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    from: Value,
    to: Value,
    #[serde(default)]
    ports: Option<Vec<Value>>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawDirection {
    Ingress,
    Egress,
    Both,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIsolated {
    namespaces: Value,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    direction: Option<RawDirection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawMaxReach {
    from: Value,
    hops: u32,
    at_most: u64,
    #[serde(default)]
    node_hops: Option<bool>,
    #[serde(default)]
    identity_hops: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMtls {
    #[serde(default)]
    from: Option<Value>,
    to: Value,
}

/// A field-level problem inside one invariant: (field path, message).
type RawError = (String, String);

/// Parses the text of an invariants file; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Vec<Invariant>, InvariantError> {
    let err = |field: Option<String>, message: String| InvariantError {
        file: file.to_string(),
        invariant: None,
        field,
        message,
    };
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    let value: Value =
        serde_saphyr::from_str_with_options(text, options).map_err(|e| err(None, format!("invalid YAML: {e}")))?;
    if value.is_null() {
        return Err(err(None, "empty file: expected `invariants:` and a list of invariants".into()));
    }
    let raw: RawFile = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        err((path != ".").then_some(path), e.into_inner().to_string())
    })?;
    if raw.invariants.is_empty() {
        return Err(err(Some("invariants".into()), "the list is empty: nothing would be checked".into()));
    }
    let mut out: Vec<Invariant> = Vec::with_capacity(raw.invariants.len());
    for (i, value) in raw.invariants.into_iter().enumerate() {
        let name = value.get("name").and_then(Value::as_str).map(str::to_string);
        let located = |(field, message): RawError| InvariantError {
            file: file.to_string(),
            invariant: Some((i + 1, name.clone())),
            field: (!field.is_empty()).then_some(field),
            message,
        };
        let invariant = parse_value(value, true).map_err(located)?;
        if let Some(first) = out.iter().position(|o| o.name == invariant.name) {
            return Err(located((
                "name".into(),
                format!(
                    "the same name as invariant {}: names must be unique (they name the JUnit test cases)",
                    first + 1
                ),
            )));
        }
        out.push(invariant);
    }
    Ok(out)
}

/// Evaluates every invariant of a file on one analysis, listing at most `limit` violations
/// each. An invariant whose selector names nothing in this cluster (`no namespace "dev"`) is an
/// error that names the invariant and the field, like a bad file.
pub fn check(
    analysis: &crate::Analysis,
    file: &str,
    invariants: &[Invariant],
    limit: usize,
) -> Result<Report, InvariantError> {
    check_within(analysis, file, invariants, limit, &[])
}

/// [`check`] with every selection limited to the pods of `namespaces` (`-n/--namespace`, see
/// [`Checker::within_namespaces`]).
pub fn check_within(
    analysis: &crate::Analysis,
    file: &str,
    invariants: &[Invariant],
    limit: usize,
    namespaces: &[String],
) -> Result<Report, InvariantError> {
    check_with(&Checker::new(analysis).with_limit(limit).within_namespaces(namespaces), file, invariants)
}

/// [`check`] with a checker built as the caller wants it (limit, namespaces, how `internet` is judged).
pub fn check_with(checker: &Checker, file: &str, invariants: &[Invariant]) -> Result<Report, InvariantError> {
    let mut evaluations = Vec::with_capacity(invariants.len());
    for (i, invariant) in invariants.iter().enumerate() {
        let eval = checker.evaluate(invariant).map_err(|e| InvariantError {
            file: file.to_string(),
            invariant: Some((i + 1, Some(invariant.name.clone()))),
            field: Some(e.field),
            message: e.message,
        })?;
        evaluations.push(eval);
    }
    let cluster = &checker.analysis().cluster;
    Ok(Report {
        file: file.to_string(),
        evaluations,
        unevaluated_policies: cluster.unevaluated_policies.clone(),
        incomplete: cluster.skipped_invalid.clone(),
    })
}

/// Reads an invariants file from disk.
pub fn parse_file(path: &std::path::Path) -> Result<Vec<Invariant>, InvariantError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InvariantError {
        file: file.clone(),
        invariant: None,
        field: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(&file, &text)
}

/// Why one invariant's YAML cannot be used: the field (when known) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct YamlInvariantError {
    /// Dotted path inside the invariant (`deny.from`).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for YamlInvariantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(field) = &self.field {
            write!(f, "field {field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl Invariant {
    /// One invariant from YAML, as an item of the file's `invariants` list; `name` may be left
    /// out (the restated invariant is used). For tests: `deny: {from: internet, to: "ns:data"}`.
    pub fn from_yaml(text: &str) -> Result<Invariant, YamlInvariantError> {
        let mut value: Value = serde_saphyr::from_str(text)
            .map_err(|e| YamlInvariantError { field: None, message: format!("invalid YAML: {e}") })?;
        let named = value.get("name").is_some();
        if let (Value::Object(map), false) = (&mut value, named) {
            map.insert("name".into(), Value::String(String::new()));
        }
        let mut invariant = parse_value(value, false)
            .map_err(|(field, message)| YamlInvariantError { field: (!field.is_empty()).then_some(field), message })?;
        if !named {
            invariant.name = invariant.assertion.to_string();
        }
        Ok(invariant)
    }
}

fn parse_value(value: Value, require_name: bool) -> Result<Invariant, RawError> {
    if !value.is_object() {
        return Err((
            String::new(),
            "expected a mapping with `name` and one of deny, allowOnly, allow, isolated, maxReach, mtls".into(),
        ));
    }
    let raw: RawInvariant = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        (if path == "." { String::new() } else { path }, e.into_inner().to_string())
    })?;
    if raw.name.trim().is_empty() && require_name {
        return Err(("name".into(), "is empty: every invariant needs a name (it names the JUnit test case)".into()));
    }
    let mut kinds: Vec<&str> = Vec::new();
    for (present, key) in [
        (raw.deny.is_some(), "deny"),
        (raw.allow_only.is_some(), "allowOnly"),
        (raw.allow.is_some(), "allow"),
        (raw.isolated.is_some(), "isolated"),
        (raw.max_reach.is_some(), "maxReach"),
        (raw.mtls.is_some(), "mtls"),
    ] {
        if present {
            kinds.push(key);
        }
    }
    let assertion = match kinds.as_slice() {
        [] => {
            return Err((
                String::new(),
                "no check: give one of deny, allowOnly, allow, isolated, maxReach, mtls".into(),
            ))
        }
        [_] => {
            let attack_target =
                raw.deny.as_ref().and_then(|d| d.to.as_str()).filter(|t| crate::attack::parse_target(t).is_some());
            if let (Some(d), Some(to)) = (&raw.deny, attack_target) {
                if d.except.is_some() || d.ports.is_some() {
                    return Err((
                        "deny".into(),
                        format!("`except` and `ports` do not apply to an attack target ({to})"),
                    ));
                }
                Assertion::DenyAttack { from: selection(&d.from, "deny.from")?, to: to.to_string() }
            } else if let Some(d) = raw.deny {
                let except = match d.except {
                    None => None,
                    Some(e) => {
                        if e.from.is_none() && e.to.is_none() {
                            return Err(("deny.except".into(), "give `from`, `to` or both".into()));
                        }
                        Some(Except {
                            from: opt_selection(e.from, "deny.except.from")?,
                            to: opt_selection(e.to, "deny.except.to")?,
                        })
                    }
                };
                Assertion::Deny {
                    from: selection(&d.from, "deny.from")?,
                    to: selection(&d.to, "deny.to")?,
                    except,
                    ports: opt_ports(d.ports, "deny.ports")?,
                }
            } else if let Some(a) = raw.allow_only {
                let (from, ports) = (opt_selection(a.from, "allowOnly.from")?, opt_ports(a.ports, "allowOnly.ports")?);
                if from.is_none() && ports.is_none() {
                    return Err((
                        "allowOnly".into(),
                        "give `from`, `ports` or both: without them nothing is restricted".into(),
                    ));
                }
                Assertion::AllowOnly { to: selection(&a.to, "allowOnly.to")?, from, ports }
            } else if let Some(a) = raw.allow {
                Assertion::Allow {
                    from: selection(&a.from, "allow.from")?,
                    to: selection(&a.to, "allow.to")?,
                    ports: opt_ports(a.ports, "allow.ports")?,
                }
            } else if let Some(iso) = raw.isolated {
                let namespaces = match &iso.namespaces {
                    Value::String(s) if s == "*" => None,
                    Value::String(s) if !s.is_empty() => Some(vec![s.clone()]),
                    Value::Array(items) if !items.is_empty() => Some(
                        items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| match v.as_str() {
                                Some(s) if !s.is_empty() && s != "*" => Ok(s.to_string()),
                                _ => Err((format!("isolated.namespaces[{i}]"), format!("{v} is not a namespace name"))),
                            })
                            .collect::<Result<Vec<String>, RawError>>()?,
                    ),
                    other => {
                        return Err((
                            "isolated.namespaces".into(),
                            format!("{other} is neither \"*\" nor a list of namespace names"),
                        ))
                    }
                };
                let (ingress, egress) = match iso.direction.unwrap_or(RawDirection::Both) {
                    RawDirection::Ingress => (true, false),
                    RawDirection::Egress => (false, true),
                    RawDirection::Both => (true, true),
                };
                Assertion::Isolated { namespaces, except: iso.except, ingress, egress }
            } else if let Some(m) = raw.max_reach {
                if m.hops == 0 || m.hops > netreach_model::MAX_HOPS {
                    return Err((
                        "maxReach.hops".into(),
                        format!("must be between 1 and {}", netreach_model::MAX_HOPS),
                    ));
                }
                Assertion::MaxReach {
                    from: selection(&m.from, "maxReach.from")?,
                    hops: m.hops,
                    at_most: m.at_most,
                    node_hops: m.node_hops.unwrap_or(true),
                    identity_hops: m.identity_hops.unwrap_or(false),
                }
            } else if let Some(m) = raw.mtls {
                Assertion::Mtls { from: opt_selection(m.from, "mtls.from")?, to: selection(&m.to, "mtls.to")? }
            } else {
                unreachable!("one kind is present")
            }
        }
        many => return Err((String::new(), format!("one check per invariant, found {}", many.join(" and ")))),
    };
    Ok(Invariant { name: raw.name, description: raw.description, assertion })
}

fn selection(value: &Value, field: &str) -> Result<Selection, RawError> {
    let one = |v: &Value, field: String| -> Result<(String, EndpointSelector), RawError> {
        let text = match v {
            Value::String(s) => s.clone(),
            other => {
                return Err((
                    field,
                    format!(
                    "{other} is not a selector (ns/pod, ns/Kind/name, ns:NAME, app=db, internet, any, an IP or a CIDR)"
                ),
                ))
            }
        };
        let selector = EndpointSelector::parse(&text).map_err(|e| (field, e.to_string()))?;
        Ok((text, selector))
    };
    let selectors = match value {
        Value::Array(items) if !items.is_empty() => {
            items.iter().enumerate().map(|(i, v)| one(v, format!("{field}[{i}]"))).collect::<Result<Vec<_>, _>>()?
        }
        Value::Array(_) => return Err((field.to_string(), "empty list: give at least one selector".into())),
        v => vec![one(v, field.to_string())?],
    };
    Ok(Selection { selectors })
}

fn opt_selection(value: Option<Value>, field: &str) -> Result<Option<Selection>, RawError> {
    value.filter(|v| !v.is_null()).map(|v| selection(&v, field)).transpose()
}

fn opt_ports(values: Option<Vec<Value>>, field: &str) -> Result<Option<PortSet>, RawError> {
    let Some(values) = values else { return Ok(None) };
    if values.is_empty() {
        return Err((field.to_string(), "empty list: leave `ports` out to mean every port".into()));
    }
    let mut set = PortSet::empty();
    for (i, v) in values.iter().enumerate() {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        };
        let ports =
            parse_ports(&text).ok_or_else(|| (format!("{field}[{i}]"), format!("{text:?} is not PORT/PROTO")))?;
        set.union_with(&ports);
    }
    Ok(Some(set))
}

/// `5432/TCP`, `53/udp`, `9092-9094/TCP`, `8080` (TCP); space around the whole is allowed.
pub fn parse_ports(text: &str) -> Option<PortSet> {
    PortRange::parse(text.trim()).ok().map(PortRange::to_set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netreach_model::Protocol;

    fn error(text: &str) -> String {
        parse("inv.yaml", text).unwrap_err().to_string()
    }

    #[test]
    fn names_the_invariant_and_the_field() {
        let text = "invariants:\n  - name: a\n    deny: {from: \"ns:a\", to: \"ns:b\"}\n  - name: b\n    deny: {from: \"ns:a\", to: \"ns:b\"}\n  - name: only the API talks to the database\n    allowOnly: {to: app=db, from: app=api, ports: [\"5432/TCPX\"]}\n";
        assert_eq!(
            error(text),
            r#"inv.yaml: invariant 3 "only the API talks to the database": field allowOnly.ports[0]: "5432/TCPX" is not PORT/PROTO"#
        );
        let e = error("invariants:\n  - name: x\n    deny: {from: a=b, too: c=d}\n");
        assert!(e.starts_with(r#"inv.yaml: invariant 1 "x": field deny"#) && e.contains("unknown field `too`"), "{e}");
        let e = error("invariants:\n  - name: x\n    maxReach: {from: a=b, hops: three, atMost: 5}\n");
        assert!(e.starts_with(r#"inv.yaml: invariant 1 "x": field maxReach.hops: "#), "{e}");
        let e = error("invariants:\n  - deny: {from: a=b, to: c=d}\n");
        assert!(e.starts_with("inv.yaml: invariant 1: ") && e.contains("missing field `name`"), "{e}");
        let e = error("invariants:\n  - name: x\n    deny: {from: a=b, to: c=d}\n    allow: {from: a=b, to: c=d}\n");
        assert_eq!(e, r#"inv.yaml: invariant 1 "x": one check per invariant, found deny and allow"#);
        let e = error("invariants:\n  - name: x\n    isolated: {namespaces: [a, 3]}\n");
        assert_eq!(e, r#"inv.yaml: invariant 1 "x": field isolated.namespaces[1]: 3 is not a namespace name"#);
        let e = error("invariants:\n  - name: x\n    deny: {from: \"a/b/c/d\", to: any}\n");
        assert!(e.starts_with(r#"inv.yaml: invariant 1 "x": field deny.from: invalid selector "a/b/c/d""#), "{e}");
        let e = error(
            "invariants:\n  - name: x\n    deny: {from: any, to: any}\n  - name: x\n    deny: {from: any, to: any}\n",
        );
        assert!(e.starts_with(r#"inv.yaml: invariant 2 "x": field name: the same name as invariant 1"#), "{e}");
        assert!(error("rules: []").contains("unknown field `rules`"));
        assert_eq!(error("invariants: []"), "inv.yaml: field invariants: the list is empty: nothing would be checked");
    }

    #[test]
    fn parse_ports_reads_port_or_range_with_protocol_tcp_by_default() {
        assert_eq!(parse_ports("5432/TCP"), Some(PortSet::single(Protocol::Tcp, 5432)));
        assert_eq!(parse_ports("53/udp"), Some(PortSet::single(Protocol::Udp, 53)));
        assert_eq!(parse_ports("8080"), Some(PortSet::single(Protocol::Tcp, 8080)));
        assert_eq!(parse_ports("9092-9094/TCP"), Some(PortSet::range(Protocol::Tcp, 9092, 9094)));
        for bad in ["5432/TCPX", "0/TCP", "70000", "9-3/TCP", "", "http/TCP"] {
            assert_eq!(parse_ports(bad), None, "{bad}");
        }
    }

    #[test]
    fn single_invariant_from_yaml() {
        let inv = Invariant::from_yaml("deny: {from: internet, to: any, except: {to: \"ns:ingress\"}}").unwrap();
        assert_eq!(inv.name, r#"deny from "internet" to "any" except from any to "ns:ingress""#);
        assert!(Invariant::from_yaml("deny: {from: internet}").unwrap_err().to_string().contains("missing field `to`"));
    }
}

//! SARIF 2.1.0, the format code scanning reads (GitHub, GitLab, Azure DevOps): one rule per
//! check id with its help text, one result per finding, located at the file and line of the
//! object it concerns (its field as a logical location). Suppressed findings are results with
//! a `suppressions` entry, as the standard says, so scanners show them as dismissed.
//! Spec: https://docs.oasis-open.org/sarif/sarif/v2.1.0/sarif-v2.1.0.html
//!
//! Typed structs of our own rather than serde-sarif: that crate generates every type of the
//! schema at build time (schemafy, syn), for the dozen objects written here.

use super::suppress::{Suppressed, SuppressedBy};
use super::{Check, Finding, ObjectRef, Severity};
use crate::load::{Location, ObjectIndex};
use serde::Serialize;
use std::io::{self, Write};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'a str,
    version: &'a str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'a str,
    version: &'a str,
    semantic_version: &'a str,
    rules: Vec<Rule>,
}

/// A rule: a check id (audit), or an invariant kind (check).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: Text,
    pub full_description: Text,
    pub help: Text,
    pub default_configuration: Configuration,
    pub properties: RuleProperties,
}

#[derive(Clone, Debug, Serialize)]
pub struct Text {
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Configuration {
    pub level: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct RuleProperties {
    pub tags: Vec<&'static str>,
    /// GitHub's security severity, 0.0 to 10.0 (high is 7.0 and above).
    #[serde(rename = "security-severity")]
    pub security_severity: &'static str,
}

/// SARIF's level for a severity: high is an error, medium a warning, low and info notes.
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

impl Rule {
    pub fn new(id: &str, name: &str, summary: &str, help: String, severity: Severity) -> Rule {
        Rule {
            id: id.to_string(),
            name: name.to_string(),
            short_description: Text { text: summary.to_string() },
            full_description: Text { text: summary.to_string() },
            help: Text { text: help },
            default_configuration: Configuration { level: level(severity) },
            properties: RuleProperties {
                tags: vec!["security", "kubernetes", "network-policy"],
                security_severity: security_severity(severity),
            },
        }
    }

    /// The rule of an audit or mesh check.
    pub fn of_check(check: &Check) -> Rule {
        let help = format!(
            "{}. Each result names the objects involved and a one-line fix. To accept a finding, annotate the \
             Namespace, policy or workload with {}: \"{}\" (comma-separated ids), or pass an earlier \
             `netreach audit -o json` as --baseline.",
            capitalized(check.summary),
            crate::load::IGNORE_ANNOTATION,
            check.id
        );
        Rule::new(check.id, check.name, check.summary, help, check.severity)
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub level: &'static str,
    pub message: Text,
    pub locations: Vec<SarifLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_location: Option<PhysicalLocation>,
    pub logical_locations: Vec<LogicalLocation>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub fully_qualified_name: String,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Serialize)]
pub struct Suppression {
    /// `inSource` for an annotation on the object, `external` for a baseline.
    pub kind: &'static str,
    pub justification: String,
}

/// A file location as SARIF wants it: a relative path as written (forward slashes), an
/// absolute one as a `file://` URI.
pub fn physical(location: &Location) -> PhysicalLocation {
    let path = location.file.replace('\\', "/");
    let uri = if path.starts_with('/') { format!("file://{path}") } else { path.trim_start_matches("./").to_string() };
    PhysicalLocation {
        artifact_location: ArtifactLocation { uri },
        region: (location.line > 0).then_some(Region { start_line: location.line }),
    }
}

/// Where a finding is: each object it names, at its file and line when it was read from a
/// file (else by name only); a finding about a namespace with no object is placed at the
/// Namespace.
fn locations(f: &Finding, index: &ObjectIndex) -> Vec<SarifLocation> {
    let namespace = f.namespace.as_deref().map(ObjectRef::namespace);
    let objects: Vec<&ObjectRef> =
        if f.objects.is_empty() { namespace.iter().collect() } else { f.objects.iter().collect() };
    let mut located: Vec<SarifLocation> = objects
        .iter()
        .map(|o| SarifLocation {
            physical_location: index.location(&o.kind, o.namespace.as_deref(), &o.name).map(physical),
            logical_locations: vec![LogicalLocation { fully_qualified_name: o.to_string(), kind: "object" }],
        })
        .collect();
    // Code scanning annotates the first location: put one with a file first, and fall back on
    // the Namespace's manifest when no object has one.
    located.sort_by_key(|l| l.physical_location.is_none());
    if located.first().is_none_or(|l| l.physical_location.is_none()) {
        if let Some(at) = f.namespace.as_deref().and_then(|ns| index.location("Namespace", None, ns)) {
            located.insert(
                0,
                SarifLocation {
                    physical_location: Some(physical(at)),
                    logical_locations: vec![LogicalLocation {
                        fully_qualified_name: format!("Namespace {}", f.namespace.as_deref().unwrap_or_default()),
                        kind: "namespace",
                    }],
                },
            );
        }
    }
    located
}

fn result(rules: &[Rule], f: &Finding, index: &ObjectIndex, suppressed_by: Option<&SuppressedBy>) -> SarifResult {
    let rule_index = rules.iter().position(|r| r.id == f.id).expect("every finding's check has a rule");
    let suppressions = suppressed_by
        .map(|by| {
            let kind = match by {
                SuppressedBy::Annotation { .. } => "inSource",
                SuppressedBy::Baseline { .. } => "external",
            };
            vec![Suppression { kind, justification: by.to_string() }]
        })
        .unwrap_or_default();
    SarifResult {
        rule_id: f.id.to_string(),
        rule_index,
        level: level(f.severity),
        message: Text { text: format!("{} Fix: {}", f.message, f.fix) },
        locations: locations(f, index),
        suppressions,
    }
}

/// The SARIF log of a list of findings (and the suppressed ones), one rule per check of
/// `checks` (every check, so that rules are stable from run to run).
pub fn write_findings(
    checks: &[Check],
    findings: &[Finding],
    suppressed: &[Suppressed],
    index: &ObjectIndex,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rules: Vec<Rule> = checks.iter().map(Rule::of_check).collect();
    let mut results: Vec<SarifResult> = findings.iter().map(|f| result(&rules, f, index, None)).collect();
    results.extend(suppressed.iter().map(|s| result(&rules, &s.finding, index, Some(&s.suppressed_by))));
    write_log(rules, results, out)
}

/// A SARIF log of one run of netreach.
pub fn write_log(rules: Vec<Rule>, results: Vec<SarifResult>, out: &mut dyn Write) -> io::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool { driver: Driver { name: "netreach", version, semantic_version: version, rules } },
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}

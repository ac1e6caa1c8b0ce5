//! Writing invariant results: text for people, JSON for scripts, JUnit XML for CI dashboards.

use super::eval::{Evaluation, Status, Violation};
use crate::render::allowed_json;
use serde_json::{json, Value};
use std::io::{self, Write};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum CheckFormat {
    Text,
    Json,
    Junit,
    /// SARIF 2.1.0 for code scanning: a result per failed invariant, at its line of the file.
    Sarif,
}

/// Every invariant of one file, evaluated on one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The invariants file, as named on the command line.
    pub file: String,
    pub evaluations: Vec<Evaluation>,
    /// Policies the cluster holds that were not evaluated: a pass may be wrong.
    pub unevaluated_policies: Vec<netreach_model::UnevaluatedPolicy>,
    /// Invalid documents left out (`--skip-invalid`): a pass may be wrong.
    pub incomplete: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> usize {
        self.evaluations.iter().filter(|e| e.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.evaluations.iter().filter(|e| e.failed()).count()
    }

    /// `6 invariant(s): 5 passed, 1 failed`
    pub fn summary(&self) -> String {
        format!("{} invariant(s): {} passed, {} failed", self.evaluations.len(), self.passed(), self.failed())
    }
}

pub fn write_report(report: &Report, format: CheckFormat, out: &mut dyn Write) -> io::Result<()> {
    match format {
        CheckFormat::Text => write_text(report, out),
        CheckFormat::Json => write_json(report, out),
        CheckFormat::Junit => write_junit(report, out),
        CheckFormat::Sarif => {
            let text = std::fs::read_to_string(&report.file).unwrap_or_default();
            write_sarif(report, &text, out)
        }
    }
}

/// What each invariant kind asserts, as the rule's help in SARIF.
const KIND_HELP: [(&str, &str); 6] = [
    (
        "deny",
        "No connection may be allowed from the `from` set to the `to` set (on `ports`, when given), but for `except`.",
    ),
    ("allowOnly", "Into the `to` set, only the `from` sources may connect, and only on `ports`."),
    ("allow", "Every pair from the `from` set to the `to` set must be allowed (on every port of `ports`, when given)."),
    ("isolated", "Every pod of these namespaces is selected by a NetworkPolicy for ingress, egress or both."),
    ("maxReach", "No single source of `from` reaches more than `atMost` pods within `hops` hops."),
    ("mtls", "Every allowed connection between the two sets runs with enforced mutual TLS."),
];

/// The 1-based line of the invariant named `name` in the file's text (its `name:` entry); 0
/// when not found.
fn invariant_line(text: &str, name: &str) -> usize {
    text.lines()
        .position(|line| {
            let Some((_, value)) = line.split_once("name:") else { return false };
            value.trim().trim_matches(['"', '\'']) == name
        })
        .map_or(0, |i| i + 1)
}

/// SARIF 2.1.0: one rule per invariant kind, one error result per failed invariant, located
/// at its `name:` line of the invariants file (`text`).
pub fn write_sarif(report: &Report, text: &str, out: &mut dyn Write) -> io::Result<()> {
    use crate::findings::sarif::{self, LogicalLocation, Rule, SarifLocation, SarifResult, Text};
    use crate::findings::Severity;
    let rules: Vec<Rule> = KIND_HELP
        .iter()
        .map(|(kind, help)| {
            let summary = format!("segmentation invariant `{kind}` of the invariants file");
            Rule::new(kind, kind, &summary, help.to_string(), Severity::High)
        })
        .collect();
    let location = crate::load::Location { file: report.file.clone(), line: 0 };
    let results = report
        .evaluations
        .iter()
        .filter(|e| e.failed())
        .map(|e| {
            let mut message = format!("{}: {}", e.name, evaluation_lines(e).join("\n"));
            message.truncate(message.trim_end().len());
            SarifResult {
                rule_id: e.kind.to_string(),
                rule_index: KIND_HELP.iter().position(|(k, _)| *k == e.kind).unwrap_or(0),
                level: "error",
                message: Text { text: message },
                locations: vec![SarifLocation {
                    physical_location: Some(sarif::physical(&crate::load::Location {
                        line: invariant_line(text, &e.name),
                        ..location.clone()
                    })),
                    logical_locations: vec![LogicalLocation {
                        fully_qualified_name: e.name.clone(),
                        kind: "invariant",
                    }],
                }],
                suppressions: Vec::new(),
            }
        })
        .collect();
    sarif::write_log(rules, results, out)
}

pub fn write_text(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for eval in &report.evaluations {
        let tag = match eval.status {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
        };
        writeln!(out, "{tag}  {}", eval.name)?;
        for line in evaluation_lines(eval) {
            writeln!(out, "      {line}")?;
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", report.summary())
}

/// The body of one result, one line each, indented by two spaces per level (no outer indent):
/// the restated invariant and its outcome, then violations with their reasons, then notes.
pub fn evaluation_lines(eval: &Evaluation) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(format!("{}: {}", eval.statement, eval.detail));
    if eval.failed() {
        if let Some(d) = &eval.description {
            lines.push(format!("({})", d.trim()));
        }
    }
    for v in &eval.violations {
        match v {
            Violation::Allowed { src, dst, ports, rules } => {
                lines.push(format!("{src} -> {dst}: {ports}"));
                lines.extend(rules.iter().map(|r| format!("  {r}")));
            }
            Violation::Missing { src, dst, missing, allowed, reasons } => {
                match missing {
                    Some(m) => lines.push(format!("{src} -> {dst}: {m} not allowed (allowed: {allowed})")),
                    None => lines.push(format!("{src} -> {dst}: nothing allowed")),
                }
                lines.extend(reasons.iter().map(|r| format!("  {r}")));
            }
            Violation::NotIsolated { pod, directions, reason } => {
                let dirs: Vec<&str> = directions.iter().map(|d| d.as_str()).collect();
                lines.push(format!("{pod}: not isolated for {}: {reason}", dirs.join(" and ")));
            }
            Violation::Reach { src, reached, hops, paths } => {
                lines.push(format!("{src} reaches {reached} pod(s) within {hops} hop(s), e.g.:"));
                lines.extend(paths.iter().map(|p| format!("  {p}")));
            }
            Violation::AttackPath { src, target, steps } => {
                lines.push(format!("{src} reaches {target} in {} step(s):", steps.len()));
                lines.extend(steps.iter().map(|s| format!("  {s}")));
            }
        }
    }
    let more = eval.count.saturating_sub(eval.violations.len() as u64);
    if more > 0 {
        lines.push(format!("… and {more} more"));
    }
    lines.extend(eval.notes.iter().map(|n| format!("note: {n}")));
    lines
}

fn status_word(status: &Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
    }
}

fn violation_json(v: &Violation) -> Value {
    match v {
        Violation::Allowed { src, dst, ports, rules } => {
            json!({"src": src, "dst": dst, "allowed": allowed_json(ports), "rules": rules})
        }
        Violation::Missing { src, dst, missing, allowed, reasons } => json!({
            "src": src, "dst": dst,
            "missing": missing.as_ref().map(allowed_json),
            "allowed": allowed_json(allowed),
            "reasons": reasons,
        }),
        Violation::NotIsolated { pod, directions, reason } => {
            json!({"pod": pod, "directions": directions.iter().map(|d| d.as_str()).collect::<Vec<_>>(), "reason": reason})
        }
        Violation::Reach { src, reached, hops, paths } => {
            json!({"src": src, "reached": reached, "hops": hops, "paths": paths})
        }
        Violation::AttackPath { src, target, steps } => json!({"src": src, "target": target, "steps": steps}),
    }
}

/// JSON, schemaVersion 1 (documented in the README).
pub fn write_json(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let invariants: Vec<Value> = report
        .evaluations
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "description": e.description,
                "kind": e.kind,
                "statement": e.statement,
                "status": status_word(&e.status),
                "detail": e.detail,
                "checked": e.checked,
                "violations": {"count": e.count, "shown": e.violations.iter().map(violation_json).collect::<Vec<_>>()},
                "notes": e.notes,
            })
        })
        .collect();
    let doc = json!({
        "schemaVersion": 1,
        "file": report.file,
        "unevaluatedPolicies": crate::render::unevaluated_policies_json(&report.unevaluated_policies),
        "incomplete": report.incomplete,
        "summary": {
            "invariants": report.evaluations.len(),
            "passed": report.passed(),
            "failed": report.failed(),
        },
        "invariants": invariants,
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

/// Escapes text for XML 1.0 content and attribute values. Characters XML 1.0 cannot carry at
/// all (control characters other than tab, newline and carriage return; U+FFFE, U+FFFF) become
/// U+FFFD; in attributes, tab/newline/carriage return are written as character references so
/// parsers keep them.
pub fn xml_escape(text: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attribute => out.push_str(&format!("&#{};", c as u32)),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `<testsuite>` for the file, one `<testcase>` per invariant (classname
/// `netreach.KIND`), `<failure>` with the violations for a failed one. No timings, so the output is
/// reproducible.
pub fn write_junit(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let a = |s: &str| xml_escape(s, true);
    let (tests, failures) = (report.evaluations.len(), report.failed());
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<testsuites name="netreach check" tests="{tests}" failures="{failures}" errors="0">"#)?;
    writeln!(out, r#"  <testsuite name="{}" tests="{tests}" failures="{failures}" errors="0">"#, a(&report.file))?;
    for eval in &report.evaluations {
        write!(out, r#"    <testcase name="{}" classname="netreach.{}""#, a(&eval.name), eval.kind)?;
        let body = evaluation_lines(eval).join("\n");
        match &eval.status {
            Status::Pass => {
                writeln!(out, ">")?;
                writeln!(out, "      <system-out>{}</system-out>", xml_escape(&body, false))?;
            }
            Status::Fail => {
                writeln!(out, ">")?;
                writeln!(
                    out,
                    r#"      <failure message="{}" type="{}">{}</failure>"#,
                    a(&eval.detail),
                    eval.kind,
                    xml_escape(&body, false)
                )?;
            }
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

#[cfg(test)]
mod tests {
    use super::xml_escape;

    #[test]
    fn escapes_xml() {
        assert_eq!(xml_escape(r#"a<b>&"c"'d'"#, false), "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;");
        assert_eq!(xml_escape("x\ny\u{1}z", true), "x&#10;y\u{FFFD}z");
        assert_eq!(xml_escape("x\ny", false), "x\ny");
    }
}

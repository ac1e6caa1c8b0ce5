//! `netreach audit` output: a readable report, Markdown for pull requests, and JSON
//! (schemaVersion 1, documented in the README).

use super::{AuditReport, Finding, NamespaceScore};
use crate::findings::render::{self as findings, SHOWN_OBJECTS};
use crate::render::table::{write_wrapped, Column, Table};
use crate::render::text::percent;
use crate::render::Format;
use serde::Serialize;
use std::io::{self, Write};

/// `audit -o`: the formats of every report, and SARIF for code scanning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum AuditFormat {
    /// A readable report (default).
    Text,
    /// The stable JSON contract for scripts (schemaVersion 1).
    Json,
    /// Markdown, for pull requests and wikis.
    Md,
    /// SARIF 2.1.0 for code scanning: results at the file and line of each object.
    Sarif,
}

pub fn write_audit(report: &AuditReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => write_text(report, out),
        Format::Md => write_md(report, out),
        Format::Json => write_json(report, out),
    }
}

/// SARIF 2.1.0: a rule per audit and mesh check, results located through `index`.
pub fn write_audit_sarif(
    report: &AuditReport,
    index: &crate::load::ObjectIndex,
    out: &mut dyn Write,
) -> io::Result<()> {
    let checks: Vec<crate::findings::Check> =
        super::CHECKS.iter().chain(crate::mesh::MESH_CHECKS.iter()).copied().collect();
    crate::findings::sarif::write_findings(&checks, &report.findings, &report.suppressed, index, out)
}

/// `N finding(s) suppressed (…): listed with -o json`, or nothing.
fn suppressed_line(report: &AuditReport) -> Option<String> {
    (!report.suppressed.is_empty()).then(|| {
        format!(
            "{} finding(s) suppressed ({} annotations, --baseline), not counted for --fail-on: listed by -o json and -o sarif",
            report.suppressed.len(),
            crate::load::IGNORE_ANNOTATION
        )
    })
}

/// A segmentation row, for the text and Markdown tables: namespace, pods, allowed and possible
/// pairs, denied share.
fn score_cells(s: &NamespaceScore) -> [String; 5] {
    [
        s.namespace.clone(),
        s.pods.to_string(),
        s.allowed_pairs.to_string(),
        s.possible_pairs.to_string(),
        percent(s.score()),
    ]
}

fn write_text(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    findings::write_text(&report.findings, out)?;
    if let Some(line) = suppressed_line(report) {
        writeln!(out, "{line}")?;
    }
    if report.segmentation.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    let intro = "segmentation: of the (source pod, destination pod) pairs into each namespace, the share policy denies";
    write_wrapped(0, intro, out)?;
    let mut table = Table::new(vec![
        Column::left("NAMESPACE"),
        Column::right("PODS"),
        Column::right("ALLOWED"),
        Column::right("POSSIBLE"),
        Column::right("DENIED"),
    ]);
    for s in &report.segmentation {
        table.row(score_cells(s));
    }
    table.write(out)
}

fn write_md(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## netreach audit")?;
    writeln!(out)?;
    writeln!(out, "**{}**", findings::summary(&report.findings))?;
    if let Some(line) = suppressed_line(report) {
        writeln!(out)?;
        writeln!(out, "{line}")?;
    }
    if !report.findings.is_empty() {
        writeln!(out)?;
        findings::write_md_table(&report.findings, Some(SHOWN_OBJECTS), out)?;
    }
    if !report.segmentation.is_empty() {
        writeln!(out)?;
        writeln!(out, "### Segmentation")?;
        writeln!(out)?;
        writeln!(out, "Of the (source pod, destination pod) pairs into each namespace, the share policy denies.")?;
        writeln!(out)?;
        writeln!(out, "| Namespace | Pods | Allowed pairs | Possible pairs | Denied |")?;
        writeln!(out, "|---|---:|---:|---:|---:|")?;
        for s in &report.segmentation {
            let [namespace, pods, allowed, possible, denied] = score_cells(s);
            writeln!(out, "| `{namespace}` | {pods} | {allowed} | {possible} | {denied} |")?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonScore<'a> {
    namespace: &'a str,
    pods: u64,
    possible_pairs: u64,
    allowed_pairs: u64,
    denied_pairs: u64,
    /// Denied share in [0, 1]; null without possible pairs.
    score: Option<f64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReport<'a> {
    schema_version: u32,
    unevaluated_policies: serde_json::Value,
    incomplete: &'a [String],
    findings: &'a [Finding],
    /// Findings accepted by annotations or a baseline, each with `suppressedBy`.
    suppressed: &'a [crate::findings::suppress::Suppressed],
    segmentation: Vec<JsonScore<'a>>,
}

fn write_json(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        schema_version: 1,
        unevaluated_policies: crate::render::unevaluated_policies_json(&report.unevaluated_policies),
        incomplete: &report.incomplete,
        findings: &report.findings,
        suppressed: &report.suppressed,
        segmentation: report
            .segmentation
            .iter()
            .map(|s| JsonScore {
                namespace: &s.namespace,
                pods: s.pods,
                possible_pairs: s.possible_pairs,
                allowed_pairs: s.allowed_pairs,
                denied_pairs: s.denied_pairs(),
                score: s.score(),
            })
            .collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)
}

//! `netreach audit` output: a readable report, Markdown for pull requests, and JSON
//! (schemaVersion 1, documented in the README).

use super::{AuditReport, Finding, NamespaceScore, ObjectRef, Severity};
pub(crate) use crate::render::text::md_cell;
use crate::render::Format;
use serde::Serialize;
use std::io::{self, Write};

/// Objects listed per finding in text and Markdown; JSON lists all.
const SHOWN_OBJECTS: usize = 10;

pub fn write_audit(report: &AuditReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => write_text(report, out),
        Format::Md => write_md(report, out),
        Format::Json => write_json(report, out),
    }
}

fn summary(report: &AuditReport) -> String {
    if report.findings.is_empty() {
        return "no findings".to_string();
    }
    let info = match report.count(Severity::Info) {
        0 => String::new(),
        n => format!(", {n} info"),
    };
    format!(
        "{} finding(s): {} high, {} medium, {} low{info}",
        report.findings.len(),
        report.count(Severity::High),
        report.count(Severity::Medium),
        report.count(Severity::Low)
    )
}

fn objects_line(objects: &[ObjectRef], separator: &str, wrap: impl Fn(String) -> String) -> String {
    let mut shown: Vec<String> = objects.iter().take(SHOWN_OBJECTS).map(|o| wrap(o.to_string())).collect();
    if objects.len() > SHOWN_OBJECTS {
        shown.push(format!("and {} more", objects.len() - SHOWN_OBJECTS));
    }
    shown.join(separator)
}

fn percent(score: &NamespaceScore) -> String {
    match score.score() {
        Some(s) => format!("{:.1}%", s * 100.0),
        None => "-".to_string(),
    }
}

fn write_text(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        let ns = f.namespace.as_deref().map(|n| format!("  [{n}]")).unwrap_or_default();
        writeln!(out, "{:<7}{} {}{ns}", f.severity.as_str().to_uppercase(), f.id, f.name)?;
        writeln!(out, "       {}", f.message)?;
        writeln!(out, "       objects: {}", objects_line(&f.objects, ", ", |s| s))?;
        writeln!(out, "       fix: {}", f.fix)?;
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(report))?;
    if report.segmentation.is_empty() {
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "segmentation: of the (source pod, destination pod) pairs into each namespace, the share policy denies"
    )?;
    let width = report.segmentation.iter().map(|s| s.namespace.len()).max().unwrap_or(0).max("NAMESPACE".len());
    writeln!(out, "{:<width$}  {:>8}  {:>14}  {:>14}  {:>7}", "NAMESPACE", "PODS", "ALLOWED", "POSSIBLE", "DENIED")?;
    for s in &report.segmentation {
        writeln!(
            out,
            "{:<width$}  {:>8}  {:>14}  {:>14}  {:>7}",
            s.namespace,
            s.pods,
            s.allowed_pairs,
            s.possible_pairs,
            percent(s)
        )?;
    }
    Ok(())
}

/// The Markdown findings table shared by `audit` and `mesh`; `shown_objects` caps the objects
/// listed per finding (`None`: all of them).
pub(crate) fn write_findings_table(
    findings: &[Finding],
    shown_objects: Option<usize>,
    out: &mut dyn Write,
) -> io::Result<()> {
    writeln!(out, "| Severity | Finding | Namespace | Objects | Message | Fix |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for f in findings {
        let cap = shown_objects.unwrap_or(f.objects.len());
        let mut objects: Vec<String> =
            f.objects.iter().take(cap).map(|o| format!("`{}`", md_cell(&o.to_string()))).collect();
        if f.objects.len() > cap {
            objects.push(format!("and {} more", f.objects.len() - cap));
        }
        writeln!(
            out,
            "| {} | `{}` {} | {} | {} | {} | {} |",
            f.severity,
            f.id,
            f.name,
            f.namespace.as_deref().map(|n| format!("`{n}`")).unwrap_or_default(),
            objects.join("<br>"),
            md_cell(&f.message),
            md_cell(&f.fix)
        )?;
    }
    Ok(())
}

fn write_md(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "## netreach audit")?;
    writeln!(out)?;
    writeln!(out, "**{}**", summary(report))?;
    if !report.findings.is_empty() {
        writeln!(out)?;
        write_findings_table(&report.findings, Some(SHOWN_OBJECTS), out)?;
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
            writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                s.namespace,
                s.pods,
                s.allowed_pairs,
                s.possible_pairs,
                percent(s)
            )?;
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
    segmentation: Vec<JsonScore<'a>>,
}

fn write_json(report: &AuditReport, out: &mut dyn Write) -> io::Result<()> {
    let doc = JsonReport {
        schema_version: 1,
        unevaluated_policies: crate::render::unevaluated_policies_json(&report.unevaluated_policies),
        incomplete: &report.incomplete,
        findings: &report.findings,
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

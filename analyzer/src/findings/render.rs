//! The one findings renderer per format: a readable block per finding with a summary line, a
//! Markdown table, and JSON (the serde shape of [`Finding`], as `netreach audit -o json`
//! documents it); and the same three for [`FindingChanges`] (`netreach diff`).

use super::{count, Finding, FindingChanges, Severity};
use crate::render::table::write_wrapped;
use crate::render::terminal::{self, styles};
use crate::render::text::{capped, md_cell};
use serde::Serialize;
use std::io::{self, Write};

/// Objects listed per finding in text and the audit's Markdown; JSON lists all.
pub const SHOWN_OBJECTS: usize = 10;

/// `3 finding(s): 1 high, 1 medium, 1 low`, or `no findings`.
pub fn summary(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "no findings".to_string();
    }
    let info = match count(findings, Severity::Info) {
        0 => String::new(),
        n => format!(", {n} info"),
    };
    format!(
        "{} finding(s): {} high, {} medium, {} low{info}",
        findings.len(),
        count(findings, Severity::High),
        count(findings, Severity::Medium),
        count(findings, Severity::Low)
    )
}

/// `HIGH   NR009 cross-namespace-allow-all` and the namespace in brackets after `gap`; the
/// severity coloured when colour is on.
pub fn title(f: &Finding, gap: &str) -> String {
    let ns = f.namespace.as_deref().map(|n| format!("{gap}[{n}]")).unwrap_or_default();
    let severity = f.severity.as_str().to_uppercase();
    let pad = 7usize.saturating_sub(severity.len());
    format!("{}{:pad$}{} {}{ns}", terminal::paint(&severity, severity_style(f.severity)), "", f.id, f.name)
}

/// The colour of a severity in readable outputs.
pub fn severity_style(severity: Severity) -> anstyle::Style {
    match severity {
        Severity::High => styles::BAD,
        Severity::Medium => styles::WARN,
        Severity::Low => styles::MILD,
        Severity::Info => styles::DIM,
    }
}

/// One block per finding (title, message, objects, fix), then the summary line.
pub fn write_text(findings: &[Finding], out: &mut dyn Write) -> io::Result<()> {
    for f in findings {
        writeln!(out, "{}", title(f, "  "))?;
        write_wrapped(7, &f.message, out)?;
        let objects = capped(&f.objects, SHOWN_OBJECTS, |o| o.to_string(), "").join(", ");
        write_wrapped(7, &format!("objects: {objects}"), out)?;
        write_wrapped(7, &format!("fix: {}", f.fix), out)?;
        writeln!(out)?;
    }
    writeln!(out, "{}", summary(findings))
}

/// The Markdown findings table; `shown_objects` caps the objects listed per finding (`None`:
/// all of them).
pub fn write_md_table(findings: &[Finding], shown_objects: Option<usize>, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "| Severity | Finding | Namespace | Objects | Message | Fix |")?;
    writeln!(out, "|---|---|---|---|---|---|")?;
    for f in findings {
        let cap = shown_objects.unwrap_or(f.objects.len());
        let objects = capped(&f.objects, cap, |o| format!("`{}`", md_cell(&o.to_string())), "");
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

/// `Audit findings: 1 appeared, 0 resolved, 2 changed.`
pub fn changes_line(changes: &FindingChanges) -> String {
    format!(
        "Audit findings: {} appeared, {} resolved, {} changed.",
        changes.appeared.len(),
        changes.resolved.len(),
        changes.changed.len()
    )
}

/// A section per kind of change, each finding on a title line with its message(s).
pub fn write_changes_text(changes: &FindingChanges, out: &mut dyn Write) -> io::Result<()> {
    for (what, list) in [("APPEARED", &changes.appeared), ("RESOLVED", &changes.resolved)] {
        if list.is_empty() {
            continue;
        }
        writeln!(out, "\nAUDIT FINDINGS {what} ({}):", list.len())?;
        for f in list.iter() {
            writeln!(out, "  {}: {}", title(f, " "), f.message)?;
        }
    }
    if !changes.changed.is_empty() {
        writeln!(out, "\nAUDIT FINDINGS CHANGED ({}):", changes.changed.len())?;
        for (b, a) in &changes.changed {
            writeln!(out, "  {}\n    before: {}\n    after:  {}", title(a, " "), b.message, a.message)?;
        }
    }
    Ok(())
}

/// A Markdown section with one table row per changed finding (nothing when none changed).
pub fn write_changes_md(changes: &FindingChanges, out: &mut dyn Write) -> io::Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let (a, r, c) = (changes.appeared.len(), changes.resolved.len(), changes.changed.len());
    writeln!(out, "\n#### Audit findings ({a} appeared, {r} resolved, {c} changed)\n")?;
    writeln!(out, "| | Severity | Check | Namespace | Finding |\n|---|---|---|---|---|")?;
    let row = |what: &str, f: &Finding, message: String| {
        let ns = f.namespace.as_deref().unwrap_or("");
        format!("| {what} | {} | {} `{}` | {ns} | {} |", f.severity.as_str(), f.id, f.name, md_cell(&message))
    };
    for (what, list) in [("appeared", &changes.appeared), ("resolved", &changes.resolved)] {
        for f in list.iter() {
            writeln!(out, "{}", row(what, f, f.message.clone()))?;
        }
    }
    for (b, a) in &changes.changed {
        writeln!(out, "{}", row("changed", a, format!("before: {}<br>after: {}", b.message, a.message)))?;
    }
    Ok(())
}

/// Changed findings in the shape of `netreach audit -o json`.
#[derive(Serialize)]
struct ChangesJson<'a> {
    appeared: &'a [Finding],
    resolved: &'a [Finding],
    changed: Vec<ChangedJson<'a>>,
}

#[derive(Serialize)]
struct ChangedJson<'a> {
    before: &'a Finding,
    after: &'a Finding,
}

/// The changes as one compact JSON object.
pub fn write_changes_json(changes: &FindingChanges, out: &mut dyn Write) -> io::Result<()> {
    let changed = changes.changed.iter().map(|(before, after)| ChangedJson { before, after }).collect();
    let json = ChangesJson { appeared: &changes.appeared, resolved: &changes.resolved, changed };
    serde_json::to_writer(out, &json).map_err(io::Error::from)
}

//! `netreach exposure` in text, JSON and Markdown.

use super::{Exposure, ExposureReport, Hop, ABSTRACT_CONTROLLER};
use crate::analysis::Analysis;
use crate::render::text::{md_cell, plural};
use crate::render::Format;
use serde::Serialize;
use std::io::{self, Write};

/// Writes the report in `format`.
pub fn write_exposure(
    analysis: &Analysis,
    report: &ExposureReport,
    format: Format,
    out: &mut dyn Write,
) -> io::Result<()> {
    let names = Names { analysis, report };
    match format {
        Format::Text => write_text(&names, out),
        Format::Json => write_json(&names, out),
        Format::Md => write_md(&names, out),
    }
}

/// Endpoint names as outputs print them: the abstract controller as `{ingress-controller}`.
struct Names<'a> {
    analysis: &'a Analysis,
    report: &'a ExposureReport,
}

impl Names<'_> {
    fn id(&self, endpoint: usize) -> String {
        if self.report.abstract_controller == Some(endpoint) {
            ABSTRACT_CONTROLLER.to_string()
        } else {
            self.analysis.id(endpoint)
        }
    }

    fn ids(&self, endpoints: &[usize]) -> Vec<String> {
        endpoints.iter().map(|&e| self.id(e)).collect()
    }

    /// `shop/web:8080/TCP`-style port list of a hop: `80/TCP, 443/TCP`.
    fn ports(hop: &Hop) -> Vec<String> {
        hop.ports.iter().map(|(protocol, port)| format!("{port}/{}", protocol.as_str())).collect()
    }

    /// One hop for people: `→ shop/web on 8080/TCP, sees a node address: admitted from external 10.0.0.0/8`.
    fn hop_words(&self, hop: &Hop) -> String {
        let to = self.ids(&hop.to);
        let shown =
            if to.len() > 3 { format!("{} and {} more", to[..3].join(", "), to.len() - 3) } else { to.join(", ") };
        let verdict = if hop.admitted() {
            let from = self.ids(&hop.admitted_from);
            let from = if from.len() > 3 {
                format!("{} and {} more", from[..3].join(", "), from.len() - 3)
            } else {
                from.join(", ")
            };
            format!("admitted from {from}")
        } else {
            "denied by policy".to_string()
        };
        format!("{shown} on {}, sees {}: {verdict}", Self::ports(hop).join(", "), hop.source)
    }

    fn entry(exposure: &Exposure) -> String {
        exposure.entry_port.map_or_else(|| "-".to_string(), |p| p.to_string())
    }
}

fn write_text(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let report = names.report;
    let reachable = report.exposures.iter().filter(|e| e.reachable()).count() as u64;
    writeln!(
        out,
        "{} from outside the cluster ({} reachable, {} denied by policy)",
        plural(report.exposures.len() as u64, "entry path", "entry paths"),
        reachable,
        report.exposures.len() as u64 - reachable
    )?;
    if let Some(line) = crate::render::incompleteness(&names.analysis.cluster) {
        writeln!(out, "{line}")?;
    }
    for e in &report.exposures {
        writeln!(out)?;
        writeln!(
            out,
            "{} {}/{} via {} {} (entry port {}): {}",
            names.id(e.pod),
            e.port,
            e.protocol.as_str(),
            e.via.kind.as_str(),
            e.via.name,
            Names::entry(e),
            if e.reachable() { "reachable" } else { "not reachable" }
        )?;
        for (i, hop) in e.hops.iter().enumerate() {
            writeln!(out, "  {}. {} → {}", i + 1, if i == 0 { "outside" } else { "then" }, names.hop_words(hop))?;
        }
    }
    if !report.notes.is_empty() {
        writeln!(out, "\nNotes:")?;
        for note in &report.notes {
            writeln!(out, "  - {note}")?;
        }
    }
    Ok(())
}

fn write_md(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let report = names.report;
    writeln!(out, "## Exposure\n")?;
    if let Some(line) = crate::render::incompleteness(&names.analysis.cluster) {
        writeln!(out, "{line}\n")?;
    }
    if report.exposures.is_empty() {
        writeln!(out, "No entry path from outside the cluster.")?;
    } else {
        writeln!(out, "| Pod | Port | Via | Entry port | Reachable | Hops |")?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for e in &report.exposures {
            let hops: Vec<String> =
                e.hops.iter().enumerate().map(|(i, h)| format!("{}. {}", i + 1, names.hop_words(h))).collect();
            writeln!(
                out,
                "| {} | {}/{} | {} {} | {} | {} | {} |",
                md_cell(&names.id(e.pod)),
                e.port,
                e.protocol.as_str(),
                e.via.kind.as_str(),
                md_cell(&e.via.name),
                Names::entry(e),
                if e.reachable() { "yes" } else { "no" },
                md_cell(&hops.join("<br>"))
            )?;
        }
    }
    if !report.notes.is_empty() {
        writeln!(out, "\n### Notes\n")?;
        for note in &report.notes {
            writeln!(out, "- {}", md_cell(note))?;
        }
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonHop {
    to: Vec<String>,
    ports: Vec<String>,
    source: String,
    admitted_from: Vec<String>,
    reached: Vec<String>,
}

#[derive(Serialize)]
struct JsonVia<'a> {
    kind: &'static str,
    name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonExposure<'a> {
    pod: String,
    workload: Option<String>,
    port: u16,
    protocol: &'static str,
    via: JsonVia<'a>,
    entry_port: Option<u16>,
    reachable: bool,
    hops: Vec<JsonHop>,
}

fn write_json(names: &Names, out: &mut dyn Write) -> io::Result<()> {
    let cluster = &names.analysis.cluster;
    writeln!(out, "{{\n  \"schemaVersion\": 1,")?;
    writeln!(
        out,
        "  \"unevaluatedPolicies\": {},",
        crate::render::unevaluated_policies_json(&cluster.unevaluated_policies)
    )?;
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&cluster.skipped_invalid))?;
    write!(out, "  \"exposures\": [")?;
    for (i, e) in names.report.exposures.iter().enumerate() {
        let hops = e
            .hops
            .iter()
            .map(|h| JsonHop {
                to: names.ids(&h.to),
                ports: Names::ports(h),
                source: h.source.clone(),
                admitted_from: names.ids(&h.admitted_from),
                reached: names.ids(&h.reached),
            })
            .collect();
        let exposure = JsonExposure {
            pod: names.id(e.pod),
            workload: names.analysis.pod(e.pod).and_then(|p| p.workload.as_ref()).map(|w| w.to_string()),
            port: e.port,
            protocol: e.protocol.as_str(),
            via: JsonVia { kind: e.via.kind.as_str(), name: &e.via.name },
            entry_port: e.entry_port,
            reachable: e.reachable(),
            hops,
        };
        write!(out, "{}\n    ", if i == 0 { "" } else { "," })?;
        serde_json::to_writer(&mut *out, &exposure)?;
    }
    writeln!(out, "{}],", if names.report.exposures.is_empty() { "" } else { "\n  " })?;
    writeln!(out, "  \"notes\": {}", serde_json::json!(names.report.notes))?;
    writeln!(out, "}}")
}

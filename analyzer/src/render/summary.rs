//! `-o summary`: the figures a user needs to trust a big run — sizes, classes, counted pairs,
//! and the time and peak memory of each phase.

use super::text::thousands;
use crate::analysis::Analysis;
use crate::filter::ConnectionFilter;
use crate::mesh::EffectiveConnections;
use std::io::{self, Write};
use std::time::Duration;

/// Wall-clock time of each phase of a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct PhaseTimes {
    pub load: Duration,
    pub engine: Duration,
}

/// Peak resident memory of this process so far (Linux `VmHWM`), in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The summary of a run; with a filter, the pairs it shows; with the mesh layer, the pairs it
/// leaves open.
pub fn write_summary(
    analysis: &Analysis,
    times: &PhaseTimes,
    mesh: Option<&EffectiveConnections>,
    filter: &ConnectionFilter,
    out: &mut dyn Write,
) -> io::Result<()> {
    let started = std::time::Instant::now();
    let cluster = &analysis.cluster;
    let stats = analysis.reach.stats();
    let counts = analysis.reach.count_connections();
    let output = started.elapsed();
    let synthesized = cluster.pods.iter().filter(|p| p.synthesized).count() as u64;
    let host_network = cluster.pods.iter().filter(|p| p.host_network).count() as u64;
    let rows: Vec<(&str, String)> = vec![
        (
            "pods",
            format!(
                "{} ({} synthesized, {} hostNetwork)",
                thousands(cluster.pods.len() as u64),
                thousands(synthesized),
                thousands(host_network)
            ),
        ),
        ("external ranges", thousands(analysis.reach.externals().len() as u64)),
        ("namespaces", thousands(cluster.namespaces.len() as u64)),
        ("policies", thousands(cluster.policies.len() as u64)),
        ("cilium policies", thousands(cluster.cilium_policies.len() as u64)),
        ("profile", analysis.reach.profile().as_str().to_string()),
        (
            "equivalence classes",
            format!("{} (of {} endpoints)", thousands(stats.classes as u64), thousands(stats.endpoints as u64)),
        ),
        ("port classes", thousands(stats.port_classes as u64)),
        ("grants", thousands(stats.grants as u64)),
        (
            "distinct rows",
            format!("{} ({} entries)", thousands(stats.rows as u64), thousands(stats.row_entries as u64)),
        ),
        ("allowed pairs", thousands(counts.pairs)),
        ("allowed pairs TCP", thousands(counts.by_protocol[0])),
        ("allowed pairs UDP", thousands(counts.by_protocol[1])),
        ("allowed pairs SCTP", thousands(counts.by_protocol[2])),
        ("time load", format!("{:.3} s", times.load.as_secs_f64())),
        ("time engine", {
            let p = stats.phases;
            format!(
                "{:.3} s (externals {:.3}, select {:.3}, classes and grants {:.3}, rows {:.3})",
                times.engine.as_secs_f64(),
                p.externals.as_secs_f64(),
                p.select.as_secs_f64(),
                p.classes.as_secs_f64(),
                p.rows.as_secs_f64()
            )
        }),
        ("time output", format!("{:.3} s", output.as_secs_f64())),
        (
            "peak memory",
            peak_rss_bytes().map_or("unknown".to_string(), |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))),
        ),
    ];
    for (key, value) in rows {
        writeln!(out, "{:<20} {value}", format!("{key}:"))?;
    }
    super::connectivity::write_layered_counts(analysis, mesh, filter, out)?;
    let unevaluated = mesh.map_or_else(|| cluster.unevaluated_policies.clone(), |m| m.view.unevaluated_policies());
    if let Some(line) = super::incompleteness_of(&cluster.skipped_invalid, &unevaluated) {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

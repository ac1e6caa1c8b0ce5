//! Printing answers. Every renderer streams to a `Write` so large clusters never build one
//! giant string; JSON is the stable contract (schemaVersion 1, documented in the README).

pub mod can;
mod connectivity;
pub mod format;
pub mod graph;
pub mod json;
pub mod paths;
mod summary;
pub mod table;
pub mod terminal;
pub mod text;

pub use connectivity::{allowed_json, custom_json, ports_text, write_connectivity, Allowed};
pub use connectivity::{write_connectivity_filtered, write_connectivity_layered};
pub use format::{DrawnFormat, Format};
pub use summary::{peak_rss_bytes, write_summary, PhaseTimes};

/// One line for readable outputs when the answer leaves something out: invalid documents
/// (`--skip-invalid`) or policies of kinds not evaluated.
pub fn incompleteness(cluster: &netreach_model::Cluster) -> Option<String> {
    incompleteness_of(&cluster.skipped_invalid, &cluster.unevaluated_policies)
}

/// [`incompleteness`] of an answer that evaluates some of the cluster's policies: `unevaluated`
/// lists those it leaves out.
pub fn incompleteness_of(
    skipped_invalid: &[String],
    unevaluated: &[netreach_model::UnevaluatedPolicy],
) -> Option<String> {
    let mut parts = Vec::new();
    if !skipped_invalid.is_empty() {
        parts.push(format!("{} invalid document(s) left out (--skip-invalid)", skipped_invalid.len()));
    }
    if !unevaluated.is_empty() {
        parts.push(format!("{} policy object(s) of kinds netreach does not evaluate", unevaluated.len()));
    }
    (!parts.is_empty())
        .then(|| format!("Incomplete: this answer leaves out {} (see the warnings).", parts.join(" and ")))
}

/// `incomplete`, in every JSON output: the invalid documents `--skip-invalid` left out.
pub fn incomplete_json(skipped_invalid: &[String]) -> serde_json::Value {
    serde_json::json!(skipped_invalid)
}

/// `unevaluatedPolicies`, in every JSON output: the policy objects the answer was computed
/// without (kinds netreach does not evaluate yet), so a script never mistakes it for complete.
pub fn unevaluated_policies_json(policies: &[netreach_model::UnevaluatedPolicy]) -> serde_json::Value {
    policies
        .iter()
        .map(|p| {
            serde_json::json!({"kind": p.kind, "apiVersion": p.api_version, "namespace": p.namespace, "name": p.name, "effect": p.effect})
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// A readable table (default).
    Text,
    /// The stable JSON contract for scripts (schemaVersion 1).
    Json,
    /// One row per connection and protocol, for spreadsheets.
    Csv,
    /// A Markdown table, for pull requests and wikis.
    Md,
    /// Counts (pods, classes, allowed pairs per protocol), phase times and peak memory.
    Summary,
    /// Graphviz DOT source of the reachability graph (grouped by --level, workload by default).
    Dot,
    /// An SVG picture of the graph, laid out by Graphviz's dot (DOT, with a warning, without it).
    Svg,
}

//! `netreach diff` output: a readable report, Markdown for pull requests, and JSON
//! (schemaVersion 1, documented in the README), each streamed from a [`DiffView`].

use super::view::{Change, DiffView};
use super::{AuthzChange, ChangeKind, Delta, Diff, ExposureChange, ExposureSide, GroupPairs, PairCounts};
use crate::aggregate::Level;
use crate::analysis::Analysis;
use crate::findings::{self, FindingChanges};
use crate::load::AppliedChanges;
use crate::mesh::MeshPorts;
use crate::render::allowed_json;
use crate::render::graph::{EdgeStyle, GraphEdge, GraphError, GraphOptions, IdGraph, ReachGraph};
use crate::render::json::JsonArray;
use crate::render::table::{Cell, Column, Layout};
use crate::render::terminal::{self, styles};
use crate::render::text::{capped, md_cell, plural, thousands};
use crate::render::Format;
use netreach_model::PortSet;
use serde::Serialize;
use std::io::{self, Write};

/// How many names of one-sided pods text and Markdown show (JSON lists them all).
pub const SHOWN_NAMES: usize = 10;

/// `gained …; lost …`, leaving out an empty side.
fn gained_lost(d: &Delta) -> String {
    let mut parts = Vec::new();
    if !d.gained.is_empty() {
        parts.push(format!("gained {}", d.gained));
    }
    if !d.lost.is_empty() {
        parts.push(format!("lost {}", d.lost));
    }
    parts.join("; ")
}

/// Renders each of the diff's deltas once, however many entries share it.
struct DeltaCache(Vec<Option<String>>);

impl DeltaCache {
    fn new(diff: &Diff) -> DeltaCache {
        DeltaCache(vec![None; diff.deltas.len()])
    }

    fn get(&mut self, c: &Change, render: impl Fn(&Delta) -> String) -> std::borrow::Cow<'_, str> {
        match c.delta_index {
            Some(k) => std::borrow::Cow::Borrowed(self.0[k as usize].get_or_insert_with(|| render(c.delta)).as_str()),
            None => std::borrow::Cow::Owned(render(c.delta)),
        }
    }
}

/// What the writers print besides the view: the what-if changes (when AFTER was built with
/// `--apply`/`--delete`) and the audit findings that appeared or were resolved.
#[derive(Clone, Copy, Default)]
pub struct DiffNotes<'n> {
    pub applied: Option<&'n AppliedChanges>,
    pub findings: Option<&'n FindingChanges>,
    /// Pairs whose mesh verdict changed on ports NetworkPolicy allows on both sides.
    pub authz: Option<&'n [AuthzChange]>,
    /// Entry paths from outside added, removed or changed (`netreach exposure` on both sides).
    pub exposures: Option<&'n [ExposureChange]>,
}

/// Names the section of entry-path changes.
const EXPOSURE_TITLE: &str = "Entry path changes (netreach exposure, before and after)";

/// `reachable`, `not reachable`, or `-` for a side without the path; with its entry port.
fn exposure_side_text(side: Option<ExposureSide>) -> String {
    match side {
        None => "-".to_string(),
        Some(s) => format!(
            "{} (entry port {})",
            if s.reachable { "reachable" } else { "not reachable" },
            s.entry_port.map_or_else(|| "-".to_string(), |p| p.to_string())
        ),
    }
}

/// `shop/web-1 8080/TCP via LoadBalancer shop/web`.
fn exposure_path_text(c: &ExposureChange) -> String {
    format!("{} {}/{} via {} {}", c.pod, c.port, c.protocol.as_str(), c.via.kind.as_str(), c.via.name)
}

fn exposure_side_json(side: Option<ExposureSide>) -> serde_json::Value {
    side.map_or(serde_json::Value::Null, |s| serde_json::json!({"reachable": s.reachable, "entryPort": s.entry_port}))
}

/// The mesh layer's ports as JSON: `allowed`, and `custom` when an external authorizer decides some.
fn mesh_ports_json(p: &MeshPorts) -> serde_json::Value {
    let mut value = serde_json::json!({"allowed": allowed_json(&p.open)});
    if !p.custom.is_empty() {
        value["custom"] = crate::render::custom_json(&p.custom);
    }
    value
}

/// The view as a picture (`-o dot|svg`): an edge per entry, coloured added, removed or changed;
/// a changed edge reads `+ gained − lost`.
pub fn diff_graph(view: &DiffView, options: &GraphOptions) -> Result<ReachGraph, GraphError> {
    let mut graph = IdGraph::new(view.level);
    for kind in ChangeKind::ALL {
        view.for_each_change(kind, |c| {
            let (s, d) = (graph.node(&c.src.id), graph.node(&c.dst.id));
            let delta = c.delta;
            let (ports, label) = match kind {
                ChangeKind::Added => (delta.after.clone(), None),
                ChangeKind::Removed => (delta.before.clone(), None),
                ChangeKind::Changed => {
                    let mut parts = Vec::new();
                    if !delta.gained.is_empty() {
                        parts.push(format!("+ {}", delta.gained));
                    }
                    if !delta.lost.is_empty() {
                        parts.push(format!("− {}", delta.lost));
                    }
                    (delta.after.clone(), Some(parts.join("\n")))
                }
            };
            let mut tooltip = format!(
                "{} → {}: {}, before {}, after {}",
                c.src.name,
                c.dst.name,
                kind.as_str(),
                delta.before,
                delta.after
            );
            if let Some(p) = &c.pairs {
                tooltip.push_str(&format!(" ({} of {} pod pairs changed)", p.added + p.removed + p.changed, p.of));
            }
            let edge = GraphEdge::new(s, d, ports, EdgeStyle::Diff(kind));
            graph.edge(GraphEdge { tooltip: Some(tooltip), label, ..edge });
            Ok::<(), GraphError>(())
        })?;
    }
    graph.finish(options)
}

/// Writes a diff view.
pub fn write_diff(view: &DiffView, format: Format, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json => write_json(view, notes, out),
        Format::Text => write_text(view, notes, out),
        Format::Md => write_md(view, notes, out),
    }
}

#[derive(Serialize)]
struct SideJson {
    pods: usize,
    externals: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryJson {
    before: SideJson,
    after: SideJson,
    common_pods: usize,
    /// Endpoint pairs that changed.
    pairs: PairCounts,
    /// Entries at this level, per kind.
    entries: PairCounts,
}

#[derive(Serialize)]
struct OnlyJson<'a> {
    pods: &'a [String],
    externals: &'a [String],
}

#[derive(Serialize)]
struct AppliedJson<'a> {
    created: &'a [String],
    replaced: &'a [String],
    deleted: &'a [String],
}

fn write_json(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    let diff = view.diff;
    let side = |a: &Analysis| SideJson { pods: a.reach.pod_count(), externals: a.reach.externals().len() };
    let summary = SummaryJson {
        before: side(diff.before),
        after: side(diff.after),
        common_pods: diff.common_pods,
        pairs: diff.pair_counts(),
        entries: PairCounts {
            added: view.count(ChangeKind::Added),
            removed: view.count(ChangeKind::Removed),
            changed: view.count(ChangeKind::Changed),
        },
    };
    writeln!(out, "{{\n  \"schemaVersion\": 1,\n  \"level\": \"{}\",", Level::name(view.level))?;
    // Both sides' unevaluated policies, each once.
    let mut unevaluated: Vec<netreach_model::UnevaluatedPolicy> = diff
        .before
        .cluster
        .unevaluated_policies
        .iter()
        .chain(&diff.after.cluster.unevaluated_policies)
        .cloned()
        .collect();
    unevaluated.sort();
    unevaluated.dedup();
    writeln!(out, "  \"unevaluatedPolicies\": {},", crate::render::unevaluated_policies_json(&unevaluated))?;
    let incomplete: Vec<String> =
        diff.before.cluster.skipped_invalid.iter().chain(&diff.after.cluster.skipped_invalid).cloned().collect();
    writeln!(out, "  \"incomplete\": {},", crate::render::incomplete_json(&incomplete))?;
    write!(out, "  \"summary\": ")?;
    serde_json::to_writer(&mut *out, &summary)?;
    write!(out, ",\n  \"onlyBefore\": ")?;
    serde_json::to_writer(
        &mut *out,
        &OnlyJson { pods: &diff.pods_only_before, externals: &diff.externals_only_before },
    )?;
    write!(out, ",\n  \"onlyAfter\": ")?;
    serde_json::to_writer(&mut *out, &OnlyJson { pods: &diff.pods_only_after, externals: &diff.externals_only_after })?;
    if let Some(applied) = notes.applied {
        write!(out, ",\n  \"applied\": ")?;
        let json = AppliedJson { created: &applied.created, replaced: &applied.replaced, deleted: &applied.deleted };
        serde_json::to_writer(&mut *out, &json)?;
    }
    if let Some(changes) = notes.findings {
        write!(out, ",\n  \"findings\": ")?;
        findings::render::write_changes_json(changes, out)?;
    }
    if let Some(changes) = notes.authz {
        write!(out, ",\n  \"authz\": [")?;
        let mut entries = JsonArray::new("    ");
        for c in changes {
            entries.element(out)?;
            let entry = serde_json::json!({"src": c.src, "dst": c.dst, "before": mesh_ports_json(&c.before), "after": mesh_ports_json(&c.after)});
            serde_json::to_writer(&mut *out, &entry)?;
        }
        out.write_all(if entries.is_empty() { b"]" } else { b"\n  ]" })?;
    }
    if let Some(changes) = notes.exposures {
        write!(out, ",\n  \"exposures\": [")?;
        let mut entries = JsonArray::new("    ");
        for c in changes {
            entries.element(out)?;
            let entry = serde_json::json!({
                "change": c.kind().as_str(),
                "pod": c.pod,
                "port": c.port,
                "protocol": c.protocol.as_str(),
                "via": crate::render::paths::via_json(&c.via),
                "before": exposure_side_json(c.before),
                "after": exposure_side_json(c.after),
            });
            serde_json::to_writer(&mut *out, &entry)?;
        }
        out.write_all(if entries.is_empty() { b"]" } else { b"\n  ]" })?;
    }
    // Entries are written from pieces rendered once: node ids, and each delta's fields.
    let ids: Vec<String> = view.nodes.iter().map(|n| serde_json::to_string(&n.id)).collect::<Result<_, _>>()?;
    let json = |p: &PortSet| serde_json::to_string(&allowed_json(p)).expect("port lists serialize");
    for kind in ChangeKind::ALL {
        write!(out, ",\n  \"{}\": [", kind.as_str())?;
        let mut entries = JsonArray::new("    ");
        let mut cache = DeltaCache::new(diff);
        view.for_each_change(kind, |c| {
            entries.element(out)?;
            out.write_all(b"{\"src\":")?;
            out.write_all(ids[c.src_index as usize].as_bytes())?;
            out.write_all(b",\"dst\":")?;
            out.write_all(ids[c.dst_index as usize].as_bytes())?;
            let fields = cache.get(&c, |d| match kind {
                ChangeKind::Added => format!(",\"allowed\":{}", json(&d.after)),
                ChangeKind::Removed => format!(",\"allowed\":{}", json(&d.before)),
                ChangeKind::Changed => format!(
                    ",\"before\":{},\"after\":{},\"gained\":{},\"lost\":{}",
                    json(&d.before),
                    json(&d.after),
                    json(&d.gained),
                    json(&d.lost)
                ),
            });
            out.write_all(fields.as_bytes())?;
            if let Some(pairs) = &c.pairs {
                out.write_all(b",\"pairs\":")?;
                serde_json::to_writer(&mut *out, pairs)?;
            }
            out.write_all(b"}")
        })?;
        out.write_all(if entries.is_empty() { b"]" } else { b"\n  ]" })?;
    }
    writeln!(out, "\n}}")
}

/// Names of one side's pods or ranges: the first [`SHOWN_NAMES`], then how many more.
fn name_list(names: &[String], quote: &str) -> String {
    capped(names, SHOWN_NAMES, |n| format!("{quote}{n}{quote}"), "… ").join(", ")
}

/// The lines every format starts with: sizes, what-if changes, pairs, one-sided endpoints.
fn preamble(view: &DiffView, notes: DiffNotes, quote: &str) -> Vec<String> {
    let diff = view.diff;
    let side = |a: &Analysis| {
        format!(
            "{}, {}",
            plural(a.reach.pod_count() as u64, "pod", "pods"),
            plural(a.reach.externals().len() as u64, "external range", "external ranges")
        )
    };
    let mut lines = vec![format!(
        "Before: {}. After: {}. Compared: {} present on both sides and the external address ranges.",
        side(diff.before),
        side(diff.after),
        plural(diff.common_pods as u64, "pod", "pods")
    )];
    if let Some(applied) = notes.applied {
        let mut parts = Vec::new();
        for (what, list) in
            [("created", &applied.created), ("replaced", &applied.replaced), ("deleted", &applied.deleted)]
        {
            if !list.is_empty() {
                parts.push(format!("{what} {}", name_list(list, quote)));
            }
        }
        lines.push(format!("What-if: {}.", if parts.is_empty() { "no changes".to_string() } else { parts.join("; ") }));
    }
    let pairs = diff.pair_counts();
    lines.push(if pairs.total() == 0 {
        "No difference in reachability between endpoints present on both sides.".to_string()
    } else {
        format!(
            "Endpoint pairs: {} added, {} removed, {} changed.",
            thousands(pairs.added),
            thousands(pairs.removed),
            thousands(pairs.changed)
        )
    });
    if let Some(f) = notes.findings.filter(|f| !f.is_empty()) {
        lines.push(findings::render::changes_line(f));
    }
    if let Some(changes) = notes.authz.filter(|c| !c.is_empty()) {
        lines.push(format!("{AUTHZ_TITLE}: {}.", plural(changes.len() as u64, "pair", "pairs")));
    }
    if let Some(changes) = notes.exposures.filter(|c| !c.is_empty()) {
        lines.push(format!("{EXPOSURE_TITLE}: {}.", plural(changes.len() as u64, "entry path", "entry paths")));
    }
    for (what, list) in [
        ("Pods only before", &diff.pods_only_before),
        ("Pods only after", &diff.pods_only_after),
        ("External ranges only before (address family not used after)", &diff.externals_only_before),
        ("External ranges only after (address family not used before)", &diff.externals_only_after),
    ] {
        if !list.is_empty() {
            lines.push(format!("{what} ({}): {}.", list.len(), name_list(list, quote)));
        }
    }
    lines
}

fn entry_unit(level: Level, n: u64) -> String {
    match level {
        Level::Pod => plural(n, "pair", "pairs"),
        Level::Workload => plural(n, "workload pair", "workload pairs"),
        Level::Namespace => plural(n, "namespace pair", "namespace pairs"),
    }
}

/// `2 added, 1 changed of 6`, written without building strings (one call per entry).
fn write_pairs(out: &mut dyn Write, p: &GroupPairs) -> io::Result<()> {
    let mut first = true;
    for (n, what) in [(p.added, "added"), (p.removed, "removed"), (p.changed, "changed")] {
        if n > 0 {
            if !first {
                out.write_all(b", ")?;
            }
            first = false;
            write!(out, "{n} {what}")?;
        }
    }
    write!(out, " of {}", p.of)
}

fn pairs_text(p: &Option<GroupPairs>) -> String {
    let mut text = Vec::new();
    if let Some(p) = p {
        write_pairs(&mut text, p).expect("writing to memory does not fail");
    }
    String::from_utf8(text).expect("pair counts are UTF-8")
}

/// The colour of a kind of change in text.
fn kind_style(kind: ChangeKind) -> anstyle::Style {
    match kind {
        ChangeKind::Added => styles::GOOD,
        ChangeKind::Removed => styles::BAD,
        ChangeKind::Changed => styles::WARN,
    }
}

fn write_text(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    for line in preamble(view, notes, "") {
        writeln!(out, "{line}")?;
    }
    let (sw, dw) = view.name_widths();
    let grouped = view.level != Level::Pod;
    for kind in ChangeKind::ALL {
        let n = view.count(kind);
        if n == 0 {
            continue;
        }
        writeln!(out, "\n{} ({}):", kind.as_str().to_uppercase(), entry_unit(view.level, n))?;
        let what_header = match kind {
            ChangeKind::Changed => "BEFORE -> AFTER (gained; lost)",
            ChangeKind::Added => "ALLOWED NOW",
            ChangeKind::Removed => "NO LONGER ALLOWED",
        };
        let what_header = if grouped { format!("{what_header}  PAIRS") } else { what_header.to_string() };
        let columns = [Column::left("SOURCE"), Column::left("DESTINATION"), Column::left(&what_header)];
        // The last column is streamed: the layout gives it what the names leave.
        let layout = Layout::fit(&columns, &[sw, dw, 0], 2, terminal::width());
        layout.write_header(&columns, out)?;
        let style = kind_style(kind);
        let mut cache = DeltaCache::new(view.diff);
        view.for_each_change(kind, |c| {
            let what = cache.get(&c, |d| match kind {
                ChangeKind::Added => d.after.to_string(),
                ChangeKind::Removed => d.before.to_string(),
                ChangeKind::Changed => format!("{} -> {} ({})", d.before, d.after, gained_lost(d)),
            });
            let what = match &c.pairs {
                Some(_) => std::borrow::Cow::Owned(format!("{what}  [{}]", pairs_text(&c.pairs))),
                None => what,
            };
            layout.write_row(
                &[Cell::from(c.src.name.as_str()), Cell::from(c.dst.name.as_str()), Cell::styled(what, style)],
                out,
            )
        })?;
    }
    if let Some(changes) = notes.authz.filter(|c| !c.is_empty()) {
        let (sw, dw) = authz_widths(changes);
        writeln!(out, "\n{} ({}):", AUTHZ_TITLE.to_uppercase(), plural(changes.len() as u64, "pair", "pairs"))?;
        writeln!(out, "  {:sw$}  {:dw$}  BEFORE -> AFTER", "SOURCE", "DESTINATION")?;
        for c in changes {
            let (was, is) = (
                crate::render::ports_text(&c.before.open, &c.before.custom),
                crate::render::ports_text(&c.after.open, &c.after.custom),
            );
            writeln!(out, "  {:sw$}  {:dw$}  {was} -> {is}", c.src, c.dst)?;
        }
    }
    if let Some(changes) = notes.exposures.filter(|c| !c.is_empty()) {
        let paths: Vec<String> = changes.iter().map(exposure_path_text).collect();
        let width = paths.iter().map(|p| p.chars().count()).max().unwrap_or(0).max("ENTRY PATH".len());
        writeln!(
            out,
            "\n{} ({}):",
            EXPOSURE_TITLE.to_uppercase(),
            plural(changes.len() as u64, "entry path", "entry paths")
        )?;
        writeln!(out, "  CHANGE   {:width$}  BEFORE -> AFTER", "ENTRY PATH")?;
        for (c, path) in changes.iter().zip(&paths) {
            let (was, is) = (exposure_side_text(c.before), exposure_side_text(c.after));
            writeln!(out, "  {:7}  {path:width$}  {was} -> {is}", c.kind().as_str())?;
        }
    }
    if let Some(changes) = notes.findings {
        findings::render::write_changes_text(changes, out)?;
    }
    Ok(())
}

/// Names the section of pairs whose mesh verdict changed.
const AUTHZ_TITLE: &str =
    "Mesh verdict changes (Istio AuthorizationPolicy or mTLS, on ports NetworkPolicy allows before and after)";

fn authz_widths(changes: &[AuthzChange]) -> (usize, usize) {
    let width = |f: fn(&AuthzChange) -> &str| changes.iter().map(|c| f(c).chars().count()).max().unwrap_or(0);
    (width(|c| &c.src).max("SOURCE".len()), width(|c| &c.dst).max("DESTINATION".len()))
}

fn md_ports(p: &PortSet) -> String {
    if p.is_empty() {
        "—".to_string()
    } else {
        p.to_string()
    }
}

fn write_md(view: &DiffView, notes: DiffNotes, out: &mut dyn Write) -> io::Result<()> {
    let diff = view.diff;
    let pairs = diff.pair_counts();
    let title = if diff.is_empty() {
        "no difference".to_string()
    } else if pairs.total() == 0 {
        "same reachability, different pods".to_string()
    } else {
        format!("{} added, {} removed, {} changed", pairs.added, pairs.removed, pairs.changed)
    };
    writeln!(out, "### netreach diff: {title}\n")?;
    for line in preamble(view, notes, "`") {
        writeln!(out, "{}  ", md_cell(&line))?;
    }
    let grouped = view.level != Level::Pod;
    let pairs_head = if grouped { " Pairs |" } else { "" };
    let pairs_rule = if grouped { "---|" } else { "" };
    for kind in ChangeKind::ALL {
        let n = view.count(kind);
        if n == 0 {
            continue;
        }
        let title = match kind {
            ChangeKind::Added => "Added",
            ChangeKind::Removed => "Removed",
            ChangeKind::Changed => "Changed",
        };
        writeln!(out, "\n#### {title} ({})\n", entry_unit(view.level, n))?;
        match kind {
            ChangeKind::Changed => writeln!(out, "| Source | Destination | Before | After | Gained | Lost |{pairs_head}\n|---|---|---|---|---|---|{pairs_rule}")?,
            _ => writeln!(out, "| Source | Destination | {} |{pairs_head}\n|---|---|---|{pairs_rule}", if kind == ChangeKind::Added { "Allowed now" } else { "No longer allowed" })?,
        }
        let mut cache = DeltaCache::new(view.diff);
        view.for_each_change(kind, |c| {
            let cells = cache.get(&c, |d| match kind {
                ChangeKind::Added => d.after.to_string(),
                ChangeKind::Removed => d.before.to_string(),
                ChangeKind::Changed => {
                    format!("{} | {} | {} | {}", d.before, d.after, md_ports(&d.gained), md_ports(&d.lost))
                }
            });
            let pairs = if grouped { format!(" {} |", pairs_text(&c.pairs)) } else { String::new() };
            writeln!(out, "| `{}` | `{}` | {cells} |{pairs}", md_cell(&c.src.name), md_cell(&c.dst.name))
        })?;
    }
    if let Some(changes) = notes.authz.filter(|c| !c.is_empty()) {
        writeln!(out, "\n#### {AUTHZ_TITLE} ({})\n", plural(changes.len() as u64, "pair", "pairs"))?;
        writeln!(out, "| Source | Destination | Before | After |\n|---|---|---|---|")?;
        for c in changes {
            let (was, is) = (
                md_cell(&crate::render::ports_text(&c.before.open, &c.before.custom)),
                md_cell(&crate::render::ports_text(&c.after.open, &c.after.custom)),
            );
            writeln!(out, "| `{}` | `{}` | {was} | {is} |", md_cell(&c.src), md_cell(&c.dst))?;
        }
    }
    if let Some(changes) = notes.exposures.filter(|c| !c.is_empty()) {
        writeln!(out, "\n#### {EXPOSURE_TITLE} ({})\n", plural(changes.len() as u64, "entry path", "entry paths"))?;
        writeln!(out, "| Change | Pod | Port | Via | Before | After |\n|---|---|---|---|---|---|")?;
        for c in changes {
            writeln!(
                out,
                "| {} | `{}` | {}/{} | {} `{}` | {} | {} |",
                c.kind().as_str(),
                md_cell(&c.pod),
                c.port,
                c.protocol.as_str(),
                c.via.kind.as_str(),
                md_cell(&c.via.name),
                exposure_side_text(c.before),
                exposure_side_text(c.after)
            )?;
        }
    }
    if let Some(changes) = notes.findings {
        findings::render::write_changes_md(changes, out)?;
    }
    Ok(())
}

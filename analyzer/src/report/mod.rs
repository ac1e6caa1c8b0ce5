//! `netreach report`: one self-contained HTML file that a browser opens from disk, with no
//! network access. This module turns the queries' values (namespace and workload groupings,
//! merged edges from class rows, `can`'s rule wording, audit findings and scores, mesh coverage)
//! into one compact JSON blob, and writes it into the template under `assets/` with the inlined
//! stylesheet and script, which draw the namespace graph and expand workloads on demand.
//! Nothing here decides reachability: it is a renderer over the other queries' answers.

mod edges;

pub use edges::{edge_rules, merged_edges, EdgeRules, MergedEdge, EXPLAINED_PAIRS_PER_EDGE};

use crate::aggregate::{GroupKind, Grouping, Level};
use crate::analysis::Analysis;
use crate::audit::AuditReport;
use crate::mesh::MeshView;
use crate::render::text::plural;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{self, Write};

const TEMPLATE: &str = include_str!("assets/report.html");
const STYLE: &str = include_str!("assets/report.css");
const SCRIPT: &str = include_str!("assets/report.js");

/// What the report says it was computed from, beside the analysis itself.
pub struct ReportSources<'a> {
    /// The PATHs read, or a description of the live cluster.
    pub sources: Vec<String>,
    /// What the answer misses or what the loader warned about: unevaluated policies, warnings,
    /// invalid documents left out.
    pub warnings: Vec<String>,
    /// The audit, with its suppressions applied as `netreach audit` applies them.
    pub audit: &'a AuditReport,
}

/// The data the page draws from: one JSON object, written once into the HTML.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportData {
    pub title: String,
    pub sources: Vec<String>,
    pub profile: &'static str,
    pub counts: Counts,
    pub warnings: Vec<String>,
    /// Port set labels (`TCP 80,443; UDP 53`, `all`); edges index them.
    pub ports: Vec<String>,
    /// Namespaces, then external address ranges (each a node of its own).
    pub namespaces: Vec<NamespaceNode>,
    /// Workloads (pods without a controller stand alone), then external ranges.
    pub workloads: Vec<WorkloadNode>,
    /// `[src, dst, port label, connected pairs, possible pairs]` per namespace pair, `src == dst`
    /// for traffic within a namespace; `why[i]` explains `ns_edges[i]`.
    pub ns_edges: Vec<[u64; 5]>,
    pub why: Vec<EdgeWhy>,
    /// The rule lines `why` indexes: many edges share their rules (a DNS allow, a default).
    pub rule_texts: Vec<String>,
    /// Per workload, the equivalence classes of its members: the page reads workload edges
    /// from the class rows on demand, as the engine stores them, instead of carrying every
    /// workload pair (millions on a dense cluster).
    pub workload_classes: Vec<Vec<u32>>,
    /// Per class, its row in `rows`.
    pub class_rows: Vec<u32>,
    /// Each distinct row as runs `start class, run length, port label` (flattened): consecutive
    /// destination classes allowed the same ports form one run.
    pub rows: Vec<Vec<u32>>,
    pub findings: Vec<FindingRow>,
    pub suppressed: usize,
    /// Entry paths from outside (`netreach exposure`'s answer), and what it could not follow.
    pub exposures: Vec<ExposureRow>,
    pub exposure_notes: Vec<String>,
    /// When the input holds RBAC: the shortest attack path from any pod to cluster-admin, to a
    /// node and to each namespace's Secrets (`netreach paths --from any --to …`).
    pub attack_paths: Vec<AttackPathRow>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExposureRow {
    /// `LoadBalancer`, `Ingress`, … and the object's `ns/name`.
    pub via: String,
    pub name: String,
    pub entry_port: Option<u16>,
    /// The backend pod, as `ns/pod`, with the port it receives on (`TCP 8080`).
    pub pod: String,
    pub port: String,
    /// The source address each hop's receivers see, in hop order.
    pub sources: Vec<String>,
    /// Every hop's policies admit the traffic.
    pub reachable: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttackPathRow {
    /// `cluster-admin`, a node's name or `secrets/NS`.
    pub target: String,
    /// Steps `[from, to, kind, reason]`, first from the source pod.
    pub steps: Vec<[String; 4]>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub namespaces: usize,
    pub workloads: usize,
    pub pods: usize,
    pub external_ranges: usize,
    pub network_policies: usize,
    pub cluster_policies: usize,
    pub cilium_policies: usize,
    pub unevaluated_policies: usize,
    pub classes: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceNode {
    pub name: String,
    pub external: bool,
    pub pods: usize,
    /// Indices into `workloads`.
    pub workloads: Vec<u32>,
    /// The audit's segmentation score: the share of (source pod, pod here) pairs policy denies.
    pub score: Option<f64>,
    pub allowed_pairs: Option<u64>,
    pub possible_pairs: Option<u64>,
    pub mesh: Option<MeshCoverage>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeshCoverage {
    /// The mesh the namespace enables (`istio-sidecar`, `linkerd`, …), if any.
    pub mesh: Option<&'static str>,
    pub pods_in_mesh: u64,
    pub pairs: u64,
    pub mtls: u64,
    pub permissive: u64,
    pub plaintext: u64,
    pub rejected: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadNode {
    /// `ns/Kind/name`, `ns/pod` or `external:…`, as `--level workload` names it.
    pub id: String,
    /// Index into `namespaces`.
    pub namespace: u32,
    pub pods: Vec<String>,
    pub host_network: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeWhy {
    /// Indices into `rule_texts`.
    pub rules: Vec<u32>,
    pub explained: usize,
    pub class_pairs: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingRow {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: &'static str,
    pub namespace: Option<String>,
    pub objects: Vec<String>,
    pub message: String,
    pub fix: String,
}

impl ReportData {
    /// Gathers the report's data from an analysis: groupings at namespace and workload level,
    /// their edges from class rows, the rules behind each namespace edge, the audit's findings
    /// and scores, and mesh coverage.
    pub fn new(analysis: &Analysis, sources: ReportSources<'_>) -> ReportData {
        let cluster = &analysis.cluster;
        let reach = &analysis.reach;
        let by_namespace = Grouping::new(analysis, Level::Namespace);
        let by_workload = Grouping::new(analysis, Level::Workload);
        let mut ports = crate::rows::PortIds::default();

        let scores: HashMap<&str, _> = sources.audit.segmentation.iter().map(|s| (s.namespace.as_str(), s)).collect();
        let coverage = MeshView::new(analysis, analysis.mesh_options.clone()).coverage();
        let coverage: HashMap<&str, _> = coverage.iter().map(|c| (c.namespace.as_str(), c)).collect();
        // Every namespace of the input, pods or not, by name; then the external ranges. `node_of`
        // maps a namespace-level group to its node.
        let mut names: Vec<&str> = cluster.namespaces.iter().map(|n| n.name.as_str()).collect();
        names.extend(by_namespace.groups.iter().filter(|g| g.kind != GroupKind::External).map(|g| g.id.as_str()));
        names.sort_unstable();
        names.dedup();
        names.extend(by_namespace.groups.iter().filter(|g| g.kind == GroupKind::External).map(|g| g.id.as_str()));
        let namespace_index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let node_of: Vec<usize> = by_namespace.groups.iter().map(|g| namespace_index[g.id.as_str()]).collect();
        let groups: HashMap<&str, &crate::aggregate::Group> =
            by_namespace.groups.iter().map(|g| (g.id.as_str(), g)).collect();
        let mut namespaces: Vec<NamespaceNode> = names
            .iter()
            .map(|&name| {
                let group = groups.get(name);
                let external = group.is_some_and(|g| g.kind == GroupKind::External);
                let score = scores.get(name);
                NamespaceNode {
                    name: name.to_string(),
                    external,
                    pods: if external { 0 } else { group.map_or(0, |g| g.members.len()) },
                    workloads: Vec::new(),
                    score: score.and_then(|s| s.score()),
                    allowed_pairs: score.map(|s| s.allowed_pairs),
                    possible_pairs: score.map(|s| s.possible_pairs),
                    mesh: coverage.get(name).filter(|c| c.mesh.is_some() || c.pods_in_mesh() > 0).map(|c| {
                        MeshCoverage {
                            mesh: c.mesh.map(|m| m.as_str()),
                            pods_in_mesh: c.pods_in_mesh(),
                            pairs: c.pairs,
                            mtls: c.mtls,
                            permissive: c.permissive,
                            plaintext: c.plaintext,
                            rejected: c.rejected,
                        }
                    }),
                }
            })
            .collect();
        let workloads: Vec<WorkloadNode> = by_workload
            .groups
            .iter()
            .enumerate()
            .map(|(w, g)| {
                // Externals are their own namespace node, found by their id.
                let home = g.namespace.as_deref().unwrap_or(g.id.as_str());
                let namespace = namespace_index[home];
                namespaces[namespace].workloads.push(w as u32);
                let pods = match g.kind {
                    GroupKind::External => Vec::new(),
                    _ => g.members.iter().filter_map(|&e| analysis.pod(e)).map(|p| p.name.clone()).collect(),
                };
                WorkloadNode { id: g.id.clone(), namespace: namespace as u32, pods, host_network: g.host_network }
            })
            .collect();

        let ns_merged = merged_edges(analysis, &by_namespace);
        let mut rule_texts: Vec<String> = Vec::new();
        let mut rule_ids: HashMap<String, u32> = HashMap::new();
        let why = edge_rules(analysis, &by_namespace, &ns_merged)
            .into_iter()
            .map(|r| {
                let rules = r
                    .rules
                    .into_iter()
                    .map(|text| {
                        *rule_ids.entry(text).or_insert_with_key(|text| {
                            rule_texts.push(text.clone());
                            rule_texts.len() as u32 - 1
                        })
                    })
                    .collect();
                EdgeWhy { rules, explained: r.explained, class_pairs: r.class_pairs }
            })
            .collect();
        let members = |g: &crate::aggregate::Group| {
            let externals = g.members.iter().filter(|&&e| e >= reach.pod_count()).count() as u64;
            (g.members.len() as u64, externals)
        };
        let ns_edges = ns_merged
            .iter()
            .map(|e| {
                let (src, dst) = (&by_namespace.groups[e.src], &by_namespace.groups[e.dst]);
                let possible = netreach_model::ordered_pairs(members(src), members(dst), e.src == e.dst);
                [
                    node_of[e.src] as u64,
                    node_of[e.dst] as u64,
                    ports.intern(&e.ports) as u64,
                    e.connected_pairs,
                    possible,
                ]
            })
            .collect();
        let workload_classes = by_workload
            .groups
            .iter()
            .map(|g| {
                let mut classes: Vec<u32> =
                    g.members.iter().map(|&e| reach.class_of(reach.endpoint(e)) as u32).collect();
                classes.sort_unstable();
                classes.dedup();
                classes
            })
            .collect();
        let class_rows = (0..reach.class_count()).map(|c| reach.row_of(c) as u32).collect();
        let rows = crate::rows::representatives(reach)
            .into_iter()
            .map(|class| if class == usize::MAX { Vec::new() } else { row_runs(analysis, class, &mut ports) })
            .collect();

        let findings = sources
            .audit
            .findings
            .iter()
            .map(|f| FindingRow {
                id: f.id,
                name: f.name,
                severity: f.severity.as_str(),
                namespace: f.namespace.clone(),
                objects: f.objects.iter().map(|o| o.to_string()).collect(),
                message: f.message.clone(),
                fix: f.fix.clone(),
            })
            .collect();
        let real_namespaces = namespaces.iter().filter(|n| !n.external).count();
        let counts = Counts {
            namespaces: real_namespaces,
            workloads: workloads.len() - reach.externals().len(),
            pods: reach.pod_count(),
            external_ranges: reach.externals().len(),
            network_policies: cluster.policies.len(),
            cluster_policies: cluster.cluster_policies.len(),
            cilium_policies: cluster.cilium_policies.len(),
            unevaluated_policies: cluster.unevaluated_policies.len(),
            classes: reach.class_count(),
        };
        let title = format!(
            "netreach report: {} ({}, {})",
            sources.sources.join(" "),
            plural(real_namespaces as u64, "namespace", "namespaces"),
            plural(reach.pod_count() as u64, "pod", "pods")
        );
        let exposure = crate::exposure::exposure(analysis, &crate::exposure::ExposureOptions::default());
        let exposures = exposure
            .exposures
            .iter()
            .map(|e| ExposureRow {
                via: e.via.kind.as_str().to_string(),
                name: e.via.name.clone(),
                entry_port: e.entry_port,
                pod: analysis.id(e.pod),
                port: format!("{} {}", e.protocol.as_str(), e.port),
                sources: e.hops.iter().map(|h| h.source.clone()).collect(),
                reachable: e.reachable(),
            })
            .collect();
        ReportData {
            title,
            sources: sources.sources,
            profile: reach.profile().as_str(),
            counts,
            warnings: sources.warnings,
            ports: ports.values.iter().map(ToString::to_string).collect(),
            namespaces,
            workloads,
            ns_edges,
            why,
            rule_texts,
            workload_classes,
            class_rows,
            rows,
            findings,
            suppressed: sources.audit.suppressed.len(),
            exposures,
            exposure_notes: exposure.notes,
            attack_paths: attack_paths(analysis),
        }
    }
}

/// The shortest attack path from any pod to cluster-admin, to the nearest node and to each
/// namespace's Secrets; none when the input holds no RBAC (paths would be network hops only).
fn attack_paths(analysis: &Analysis) -> Vec<AttackPathRow> {
    use crate::attack::{AttackAnswer, AttackGraph, AttackTarget};
    if !analysis.cluster.identity.has_rbac() {
        return Vec::new();
    }
    let graph = AttackGraph::new(analysis, &[]);
    let mut targets: Vec<(String, Vec<usize>)> = Vec::new();
    let mut wanted = vec![AttackTarget::ClusterAdmin, AttackTarget::Nodes];
    wanted.extend(graph.namespaces.iter().map(|ns| AttackTarget::Secrets(ns.clone())));
    for target in wanted {
        if let Ok(vertices) = graph.resolve(&target) {
            let name = match &target {
                AttackTarget::ClusterAdmin => "cluster-admin".to_string(),
                AttackTarget::Nodes => "a node".to_string(),
                AttackTarget::Secrets(ns) => format!("secrets/{ns}"),
                AttackTarget::Node(n) => n.clone(),
                AttackTarget::Secret(ns, n) => format!("secret/{ns}/{n}"),
            };
            targets.push((name, vertices));
        }
    }
    let sources: Vec<usize> = (0..analysis.reach.pod_count()).collect();
    let search = graph.search(&sources, netreach_model::MAX_HOPS, true, true);
    let answer = AttackAnswer {
        sources,
        targets: Vec::new(),
        max_hops: netreach_model::MAX_HOPS,
        node_hops: true,
        search,
        reached: Vec::new(),
        blast_radius: Vec::new(),
        graph,
    };
    targets
        .into_iter()
        .filter_map(|(name, vertices)| {
            let nearest = vertices
                .into_iter()
                .filter(|&v| answer.search.reached(v))
                .min_by_key(|&v| (answer.search.distance[v], answer.search.non_network[v], v))?;
            let steps = answer
                .steps(nearest)
                .into_iter()
                .map(|s| [s.from, s.to, s.kind.as_str().to_string(), s.reason])
                .collect::<Vec<_>>();
            let target = match (&name[..], steps.last()) {
                ("a node", Some(last)) => last[1].clone(),
                _ => name,
            };
            Some(AttackPathRow { target, steps })
        })
        .collect()
}

/// A class's row as runs of consecutive destination classes allowed the same ports.
fn row_runs(analysis: &Analysis, class: usize, ports: &mut crate::rows::PortIds) -> Vec<u32> {
    let mut runs: Vec<u32> = Vec::new();
    for (dst, allowed) in analysis.reach.class_row(class) {
        if allowed.is_empty() {
            continue;
        }
        let (dst, id) = (dst as u32, ports.id_of(allowed));
        match runs.len() {
            n if n >= 3 && runs[n - 3] + runs[n - 2] == dst && runs[n - 1] == id => runs[n - 2] += 1,
            _ => runs.extend([dst, 1, id]),
        }
    }
    runs
}

/// Writes the report: the template with the title, the stylesheet, the data and the script
/// filled in, in that order. Each placeholder is looked for in the template only, never in what
/// was filled in before it.
pub fn write_report(data: &ReportData, out: &mut impl Write) -> io::Result<()> {
    let json = serde_json::to_string(data).map_err(io::Error::other)?;
    // Inside <script type="application/json"> only `</script` could end the blob early; `<` is
    // only ever inside JSON strings, where \u003c means the same character.
    let json = json.replace('<', "\\u003c");
    let title = html_escape(&data.title);
    let mut rest = TEMPLATE;
    for (placeholder, value) in
        [("{{title}}", title.as_str()), ("/*{{style}}*/", STYLE), ("{{data}}", &json), ("/*{{script}}*/", SCRIPT)]
    {
        let (before, after) = rest.split_once(placeholder).expect("the template holds every placeholder once");
        out.write_all(before.as_bytes())?;
        out.write_all(value.as_bytes())?;
        rest = after;
    }
    out.write_all(rest.as_bytes())
}

/// Text for HTML element content and attribute values.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop_report() -> (ReportData, AuditReport) {
        let analysis = crate::lateral::tests::fixture("shop");
        let audit = crate::audit::audit(&analysis);
        let data = ReportData::new(
            &analysis,
            ReportSources { sources: vec!["fixtures/shop".into()], warnings: Vec::new(), audit: &audit },
        );
        (data, audit)
    }

    #[test]
    fn the_data_holds_every_namespace_workload_and_finding_of_the_analysis() {
        let (data, audit) = shop_report();
        let analysis = crate::lateral::tests::fixture("shop");
        assert_eq!(data.counts.pods, analysis.reach.pod_count());
        let names: Vec<&str> = data.namespaces.iter().filter(|n| !n.external).map(|n| n.name.as_str()).collect();
        let mut expected: Vec<&str> = analysis.cluster.pods.iter().map(|p| p.namespace.as_str()).collect();
        expected.extend(analysis.cluster.namespaces.iter().map(|n| n.name.as_str()));
        expected.sort_unstable();
        expected.dedup();
        assert_eq!(names, expected);
        for (i, ns) in data.namespaces.iter().enumerate() {
            assert!(ns.workloads.iter().all(|&w| data.workloads[w as usize].namespace as usize == i));
        }
        let pods: usize = data.workloads.iter().map(|w| w.pods.len()).sum();
        assert_eq!(pods, analysis.reach.pod_count());
        assert_eq!(data.findings.len(), audit.findings.len());
        assert_eq!(data.why.len(), data.ns_edges.len());
        // The runs give back every class row.
        for class in 0..analysis.reach.class_count() {
            let runs = &data.rows[data.class_rows[class] as usize];
            let mut expanded = Vec::new();
            for run in runs.chunks(3) {
                expanded.extend((run[0]..run[0] + run[1]).map(|d| (d as usize, data.ports[run[2] as usize].clone())));
            }
            let row: Vec<(usize, String)> = analysis
                .reach
                .class_row(class)
                .filter(|(_, p)| !p.is_empty())
                .map(|(d, p)| (d, p.to_string()))
                .collect();
            assert_eq!(expanded, row, "class {class}");
        }
        assert!(data.ns_edges.iter().all(|e| e[3] <= e[4] && (e[2] as usize) < data.ports.len()));
    }

    #[test]
    fn the_page_inlines_everything_and_no_script_tag_closes_early() {
        let (mut data, _) = shop_report();
        data.warnings.push("</script><script>alert(1)</script>".into());
        let mut page = Vec::new();
        write_report(&data, &mut page).unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(!page.contains("{{"), "every placeholder filled");
        assert_eq!(page.matches("</script>").count(), 2, "the data blob and the script");
        for remote in ["https://", "src=", "href=\"http", "@import", "url(http", "fetch(", "XMLHttpRequest"] {
            assert!(!page.contains(remote), "nothing loaded from elsewhere: {remote}");
        }
    }

    fn report_of(folder: &str) -> ReportData {
        let analysis = crate::lateral::tests::fixture(folder);
        let audit = crate::audit::audit(&analysis);
        ReportData::new(&analysis, ReportSources { sources: vec![folder.into()], warnings: Vec::new(), audit: &audit })
    }

    #[test]
    fn entry_paths_are_exposures_answer() {
        let data = report_of("exposure");
        let analysis = crate::lateral::tests::fixture("exposure");
        let expected = crate::exposure::exposure(&analysis, &Default::default());
        assert!(!data.exposures.is_empty());
        assert_eq!(data.exposures.len(), expected.exposures.len());
        assert_eq!(
            data.exposures.iter().filter(|x| x.reachable).count(),
            expected.exposures.iter().filter(|x| x.reachable()).count()
        );
        assert!(report_of("shop").attack_paths.is_empty(), "no RBAC, no attack section");
    }

    #[test]
    fn attack_paths_are_the_shortest_from_any_pod_as_worked_by_hand() {
        // fixtures/attack/wildcard/README.md: cluster-admin and secrets/other in 2 hops through
        // ops/tool's token; secrets/ops in 2 through ops/limited's.
        let data = report_of("attack/wildcard");
        let hops = |target: &str| data.attack_paths.iter().find(|p| p.target == target).map(|p| p.steps.len());
        assert_eq!(hops("cluster-admin"), Some(2));
        assert_eq!(hops("secrets/other"), Some(2));
        assert_eq!(hops("secrets/ops"), Some(2));
        let admin = data.attack_paths.iter().find(|p| p.target == "cluster-admin").unwrap();
        assert_eq!(admin.steps[0][2], "token");
        assert!(admin.steps[0][0].contains("ops/tool"), "{:?}", admin.steps);
    }
}

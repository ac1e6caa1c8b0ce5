//! `netreach diff`: what a change opens, closes or alters; and the what-if with `--apply`.

use super::args::{empty_input, refuse_empty, InputError};
use super::{write_stdout, EngineArgs, ExitStatus, LiveArgs, MeshArgs, NotesArgs, Outcome, ReadArgs};
use clap::Args;
use netreach::aggregate::Level;
use netreach::audit::audit;
use netreach::diff::{diff_graph, exposure_changes, write_diff, Diff, DiffNotes, FindingChanges};
use netreach::load::{self, AppliedChanges, Input, LoadReport, LoadedCluster};
use netreach::render::graph::GraphOptions;
use netreach::render::DrawnFormat;
use netreach::status::StatusLine;
use netreach::Analysis;
use netreach_model::mesh::MeshOptions;
use netreach_model::EngineOptions;

#[derive(Args)]
pub(crate) struct DiffArgs {
    /// The cluster before the change: a file, a folder (read recursively) or - for stdin. With
    /// --cluster/--context/--kubeconfig the live cluster is BEFORE and the one PATH given is AFTER.
    #[arg(value_name = "BEFORE", required_unless_present_any = ["cluster", "context", "kubeconfig"])]
    pub(crate) before: Option<String>,

    /// The cluster after the change. Omit it with --apply/--delete.
    #[arg(value_name = "AFTER", required_unless_present_any = ["apply", "delete", "cluster", "context", "kubeconfig"], conflicts_with_all = ["apply", "delete"])]
    pub(crate) after: Option<String>,

    /// What-if: manifests to create, or to replace the object of the same kind/namespace/name, in
    /// BEFORE. A Calico staged policy (StagedNetworkPolicy, StagedGlobalNetworkPolicy,
    /// StagedKubernetesNetworkPolicy) applies the policy it stages, or removes it with
    /// stagedAction: Delete.
    #[arg(long, value_name = "CHANGES", num_args = 1..)]
    pub(crate) apply: Vec<String>,

    /// What-if: manifests whose objects (by kind/namespace/name) are removed from BEFORE.
    #[arg(long, value_name = "MANIFESTS", num_args = 1..)]
    pub(crate) delete: Vec<String>,

    /// Report pod pairs, or merge them per workload or per namespace.
    #[arg(long, value_enum, default_value_t = Level::Workload)]
    pub(crate) level: Level,

    /// Output format; dot and svg draw the entries coloured added, removed or changed.
    #[arg(short, long, value_enum, default_value_t = DrawnFormat::Text)]
    pub(crate) output: DrawnFormat,

    /// Exit with 1 when anything differs (reachability, or pods on one side only) and 0 when
    /// nothing does (like git diff --exit-code). Audit findings are reported, not counted.
    #[arg(long)]
    pub(crate) exit_code: bool,

    #[command(flatten)]
    pub(crate) live: LiveArgs,

    #[command(flatten)]
    pub(crate) engine: EngineArgs,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,

    #[command(flatten)]
    pub(crate) read: ReadArgs,

    #[command(flatten)]
    pub(crate) notes: NotesArgs,
}

fn analyze(loaded: LoadedCluster, options: &EngineOptions, mesh_options: &MeshOptions) -> (Analysis, LoadReport) {
    (Analysis::new(loaded.cluster, options).with_mesh_options(mesh_options.clone()), loaded.report)
}

/// `--apply` or `--delete` manifests holding no object: an error, not "What-if: no changes"
/// (`false | netreach diff cluster/ --apply -` would otherwise pass a gate).
fn refuse_no_change(args: &DiffArgs, changes: &AppliedChanges) -> Result<(), String> {
    let empty = |flag: &str, paths: &[String]| {
        let hint = if paths.iter().any(|p| p == "-") { "; did the command feeding the pipe fail?" } else { "" };
        format!("{flag} {}: no Kubernetes object to {}{hint}", paths.join(" "), &flag[2..])
    };
    if !args.apply.is_empty() && changes.applied == 0 {
        return Err(empty("--apply", &args.apply));
    }
    if !args.delete.is_empty() && changes.deleted.is_empty() {
        return Err(empty("--delete", &args.delete));
    }
    Ok(())
}

/// Where BEFORE comes from: manifests, or the live cluster (`--cluster`, `--context`,
/// `--kubeconfig`), when the one PATH given is AFTER (as `kubectl diff` compares the cluster
/// with manifests).
fn sides(args: &DiffArgs) -> Result<(Option<&String>, Option<&String>), String> {
    if !args.live.is_live() {
        let before = args.before.as_ref().ok_or("BEFORE is missing")?;
        return Ok((Some(before), args.after.as_ref()));
    }
    if args.after.is_some() {
        return Err("with a live cluster (--cluster, --context, --kubeconfig) as BEFORE, give one PATH: the cluster after the change".into());
    }
    if !args.apply.is_empty() || !args.delete.is_empty() {
        return Err("--apply/--delete start from manifests, not a live cluster yet: save the cluster with `netreach snapshot --cluster` and give that file as BEFORE".into());
    }
    match &args.before {
        Some(after) => Ok((None, Some(after))),
        None => Err("with a live cluster as BEFORE, give the cluster after the change as PATH".into()),
    }
}

pub(crate) fn run(args: DiffArgs) -> Outcome {
    let inputs = |paths: &[String]| -> Vec<Input> { paths.iter().map(|p| Input::parse(p)).collect() };
    let (before_path, after_path) = sides(&args)?;
    let all: Vec<&String> = before_path.into_iter().chain(after_path).chain(&args.apply).chain(&args.delete).collect();
    if all.iter().filter(|p| p.as_str() == "-").count() > 1 {
        return Err("stdin (-) can be read only once: give it for one input at most".into());
    }
    let options = args.engine.options();
    let mesh_options = args.mesh.options();
    let read = args.read.options();
    // A live side draws its own listing progress.
    let status = StatusLine::new(!args.notes.quiet && !args.live.is_live());
    status.phase("reading and computing both sides");
    let (before, after, applied) = match after_path {
        Some(after_path) => {
            // Both sides load and compute in parallel.
            let side = |side: &'static str, path: Option<&String>| {
                let loaded = match path {
                    Some(path) => {
                        load::load_with(&inputs(std::slice::from_ref(path)), &read).map_err(|e| empty_input(side, e))?
                    }
                    None => {
                        // The whole cluster: -n narrows the changes shown, as on files. A
                        // partial read would report every pod elsewhere as added.
                        let live = LiveArgs { namespaces: Vec::new(), ..args.live.clone() };
                        load::load_values(live.read(args.notes.quiet)?.into_values())?
                    }
                };
                refuse_empty(side, &loaded)?;
                Ok::<_, InputError>(analyze(loaded, &options, &mesh_options))
            };
            let (b, a) = std::thread::scope(|scope| {
                let b = scope.spawn(|| side("before: ", before_path));
                let a = side("after: ", Some(after_path));
                (b.join().expect("loader thread panicked"), a)
            });
            let (b, a) = (b?, a?);
            status.clear();
            args.notes.print_load_report("before: ", &b.1, None);
            args.notes.print_load_report("after: ", &a.1, None);
            (b.0, a.0, None)
        }
        None => {
            let before_path = before_path.expect("sides: without AFTER, BEFORE is manifests");
            let what_if = load::load_what_if_with(
                &inputs(std::slice::from_ref(before_path)),
                &inputs(&args.apply),
                &inputs(&args.delete),
                &read,
            )
            .map_err(|e| empty_input("", e))?;
            status.clear();
            refuse_empty("", &what_if.before)?;
            refuse_no_change(&args, &what_if.changes)?;
            let report_before = what_if.before.report.clone();
            let (b, a) = std::thread::scope(|scope| {
                let b = scope.spawn(|| analyze(what_if.before, &options, &mesh_options));
                let a = analyze(what_if.after, &options, &mesh_options);
                (b.join().expect("engine thread panicked"), a)
            });
            status.clear();
            args.notes.print_load_report("", &report_before, None);
            args.notes.print_load_report("after changes: ", &a.1, Some(&report_before));
            (b.0, a.0, Some(what_if.changes))
        }
    };
    status.phase("comparing the two sides");
    let diff = Diff::new(&before, &after);
    let namespaces = &args.live.namespaces;
    let (mut audit_before, mut audit_after) = (audit(&before), audit(&after));
    audit_before.retain_namespaces(namespaces);
    audit_after.retain_namespaces(namespaces);
    let findings = FindingChanges::new(&audit_before, &audit_after);
    let mut view = diff.view(args.level);
    view.narrow(namespaces);
    let authz = diff.authz_changes();
    let exposures = exposure_changes(&before, &after, namespaces);
    status.finish();
    let notes = DiffNotes {
        applied: applied.as_ref(),
        findings: Some(&findings),
        authz: Some(&authz),
        exposures: Some(&exposures),
    };
    match args.output.report() {
        Some(format) => write_stdout(|out| write_diff(&view, format, notes, out))?,
        None => {
            use super::picture::{picture, title, too_big};
            let options = GraphOptions { level: args.level, ..Default::default() };
            let mut graph = diff_graph(&view, &options).map_err(|e| too_big(e, "--level namespace"))?;
            let inputs: Vec<String> = all.iter().map(|p| p.to_string()).collect();
            graph.title = Some(title("diff", &inputs, &format!("changes per {}", args.level.name()), &graph));
            let bytes = picture(&graph, args.output == DrawnFormat::Svg)?;
            write_stdout(|out| std::io::Write::write_all(out, &bytes))?;
        }
    }
    let differs = view.differs() || !authz.is_empty() || !exposures.is_empty();
    Ok(if args.exit_code && differs { ExitStatus::No } else { ExitStatus::Success })
}

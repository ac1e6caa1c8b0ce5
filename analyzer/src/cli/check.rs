//! `netreach check --invariants FILE PATH...`: segmentation invariants as a CI gate.

use super::output::{command_inputs, refuse_if_input, InputFile, OutputFile};
use super::{messages, write_stdout, ExitStatus, InputArgs, InternetArgs, MeshArgs, Outcome};
use clap::Args;
use netreach::invariants::{self, render, CheckFormat};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub(crate) struct CheckArgs {
    /// The invariants file (YAML): `invariants:` and a list of named deny, allowOnly, allow,
    /// isolated, maxReach and mtls checks.
    #[arg(long, value_name = "FILE")]
    pub(crate) invariants: PathBuf,

    #[command(flatten)]
    pub(crate) input: InputArgs,

    /// Output format on stdout.
    #[arg(short, long, value_enum, default_value_t = CheckFormat::Text)]
    pub(crate) output: CheckFormat,

    /// Also write JUnit XML (one test case per invariant) to FILE, whatever -o says.
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,

    /// Violations listed (and explained) per invariant; all are counted.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) limit: usize,

    /// Print the time spent loading, computing reachability and checking on stderr.
    #[arg(long)]
    pub(crate) timings: bool,

    #[command(flatten)]
    pub(crate) mesh: MeshArgs,

    #[command(flatten)]
    pub(crate) internet: InternetArgs,
}

pub(crate) fn run(mut args: CheckArgs) -> Outcome {
    if let Some(junit) = &args.junit {
        // Before anything is read: the JUnit file must not replace an input.
        let mut inputs = vec![InputFile::new("invariants file (--invariants)", &args.invariants)];
        inputs.extend(command_inputs(&args.input));
        refuse_if_input(junit, &inputs)?;
    }
    // The file first: a bad file is reported without loading the cluster.
    let list = invariants::parse_file(&args.invariants)?;
    args.input.infra.named = list.iter().flat_map(|i| i.assertion.selector_texts()).map(str::to_string).collect();
    let analyzed = args.input.analyze_with(args.mesh.options())?;
    let (analysis, times) = (&analyzed.analysis, &analyzed.times);
    let file = args.invariants.display().to_string();
    let started = std::time::Instant::now();
    args.input.namespace_scope(analysis)?;
    let checker = invariants::Checker::new(analysis)
        .with_limit(args.limit)
        .within_namespaces(&args.input.live.namespaces)
        .judging_internet(args.internet.internet, args.internet.entry.options(analysis)?);
    let report = invariants::check_with(&checker, &file, &list)?;
    if args.timings {
        messages::timings(format_args!(
            "load {:.3} s, engine {:.3} s, check {:.3} s ({} invariant(s), {} pod(s))",
            times.load.as_secs_f64(),
            times.engine.as_secs_f64(),
            started.elapsed().as_secs_f64(),
            list.len(),
            analysis.reach.pod_count()
        ));
    }
    if let Some(path) = &args.junit {
        let mut xml = Vec::new();
        render::write_junit(&report, &mut xml).map_err(|e| format!("cannot write JUnit: {e}"))?;
        let mut file = OutputFile::create(path)?;
        file.write_all(&xml).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        file.commit()?;
    }
    write_stdout(|out| render::write_report(&report, args.output, out))?;
    Ok(if report.failed() > 0 { ExitStatus::No } else { ExitStatus::Success })
}

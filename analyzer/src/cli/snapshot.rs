//! `netreach snapshot`: what netreach reads from a live cluster, as one manifest file that every
//! command accepts. Analyzing the file gives the same answers as analyzing the cluster: the
//! objects are the ones the live path analyzes, already cleaned (managedFields, last-applied
//! configurations and environment variable values dropped, credential-looking command and args
//! values redacted: see live::clean).

use super::output::{live_inputs, refuse_if_input};
use super::{messages, open_output, ExitStatus, LiveArgs, Outcome};
use clap::{ArgGroup, Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
#[command(group(ArgGroup::new("source").required(true).multiple(true).args(["cluster", "context", "kubeconfig"])))]
pub(crate) struct SnapshotArgs {
    #[command(flatten)]
    pub(crate) live: LiveArgs,

    /// Output format: YAML (a `kind: List`, like kubectl get -o yaml) or JSON.
    #[arg(short, long, value_enum, default_value_t = SnapshotFormat::Yaml)]
    pub(crate) output: SnapshotFormat,

    /// Write to FILE instead of stdout (replaced only once the cluster has been read; never an input).
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,

    /// Do not print warnings, notes or progress on stderr (the YAML header still lists what
    /// could not be read).
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum SnapshotFormat {
    Yaml,
    Json,
}

pub(crate) fn run(args: SnapshotArgs) -> Outcome {
    if let Some(out) = &args.out {
        // Before the kubeconfig is read: --out must not replace it.
        refuse_if_input(out, &live_inputs(&args.live))?;
    }
    let read = args.live.read(args.quiet)?;
    let manifest = read.to_manifest();
    let text = match args.output {
        SnapshotFormat::Json => {
            let mut text = serde_json::to_string_pretty(&manifest).map_err(|e| format!("cannot write JSON: {e}"))?;
            text.push('\n');
            text
        }
        SnapshotFormat::Yaml => {
            let mut text = header(&read);
            text.push_str(&serde_saphyr::to_string(&manifest).map_err(|e| format!("cannot write YAML: {e}"))?);
            text
        }
    };
    let mut out = open_output(args.out.as_deref())?;
    let written = out.write_all(text.as_bytes());
    out.finish(written)?;
    if !args.quiet {
        let scope = if read.namespaces.is_empty() {
            "every namespace".to_string()
        } else {
            format!("namespace(s) {}", read.namespaces.join(", "))
        };
        messages::note(format_args!("wrote {} object(s) of {}, {scope}", read.object_count(), read.describe()));
    }
    Ok(ExitStatus::Success)
}

/// YAML comments: where and when the snapshot was read, what was dropped, what was not read.
fn header(read: &netreach::live::ClusterRead) -> String {
    let scope = if read.namespaces.is_empty() {
        "every namespace".to_string()
    } else {
        format!("namespace(s) {}", read.namespaces.join(", "))
    };
    let mut text = format!("# netreach snapshot of {}, {scope}, read at {}\n", read.describe(), now_rfc3339());
    text.push_str(&format!(
        "# Dropped from every object: metadata.managedFields, the {} annotation, env[].value.\n\
# Redacted: credential-looking command/args values (--token=, --password VALUE, URL passwords) read REDACTED.\n",
        netreach::live::LAST_APPLIED
    ));
    for warning in &read.warnings {
        text.push_str(&format!("# warning: {}\n", warning.replace(['\n', '\r'], " ")));
    }
    text
}

/// The current UTC time as `2026-11-02T10:04:05Z` (no date library for one timestamp).
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

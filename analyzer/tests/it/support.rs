//! What every test module shares (ripgrep's tests/util.rs): where the repository and its
//! fixtures are, running the `netreach` binary, and [`run_report`], the one text that freezes a
//! run's exit code, stdout and stderr together in a snapshot ([`assert_run_snapshot!`]).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The workspace root (the parent of `analyzer/`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `fixtures/` at the workspace root.
pub fn fixtures() -> PathBuf {
    repo().join("fixtures")
}

/// The `netreach` binary with colour off (`NO_COLOR`) and help wrapped at clap's default width
/// (no `COLUMNS` from the shell), ready for arguments.
pub fn netreach_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netreach"));
    command.env("NO_COLOR", "1").env_remove("COLUMNS");
    command
}

/// The binary isolated from the user's cluster: HOME is `home` (no ~/.kube/config), `KUBECONFIG`
/// and the in-cluster `KUBERNETES_SERVICE_HOST` unset.
pub fn netreach_isolated(home: &Path) -> Command {
    let mut command = netreach_command();
    command.env("HOME", home).env_remove("KUBECONFIG").env_remove("KUBERNETES_SERVICE_HOST");
    command
}

/// Runs `netreach ARGS…` in `fixtures/`, so arguments name fixtures as `shop`, `small/lateral`.
pub fn netreach(args: &[&str]) -> Output {
    netreach_command().args(args).current_dir(fixtures()).output().unwrap()
}

/// Starts `netreach ARGS…` in `fixtures/` with stdin, stdout and stderr piped.
pub fn netreach_piped(args: &[&str]) -> Child {
    netreach_command()
        .args(args)
        .current_dir(fixtures())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs `netreach ARGS…` in `fixtures/` with `input` on stdin.
pub fn netreach_stdin(args: &[&str], input: &str) -> Output {
    let mut child = netreach_piped(args);
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// Stdout as text (lossy: a test about bytes reads `Output::stdout` itself).
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Stderr as text (lossy, so that hostile input echoed in a message still prints).
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A run as one text (ruff's CLI snapshots): exit code, then stdout, then stderr. The fixtures
/// folder is written `[fixtures]` so that no machine-dependent path reaches a snapshot.
pub fn run_report(out: &Output) -> String {
    let redact = |bytes: &[u8]| String::from_utf8_lossy(bytes).replace(&fixtures().display().to_string(), "[fixtures]");
    let code = out.status.code().map_or_else(|| "killed by a signal".to_string(), |c| c.to_string());
    format!(
        "success: {}\nexit_code: {code}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        out.status.success(),
        redact(&out.stdout),
        redact(&out.stderr)
    )
}

/// `insta::assert_snapshot!` of [`run_report`]: a macro, so that insta names the snapshot after
/// the calling test (a function here would name every snapshot after itself).
macro_rules! assert_run_snapshot {
    ($output:expr) => {
        insta::assert_snapshot!(None::<String>, $crate::support::run_report(&$output), stringify!($output))
    };
    ($name:expr, $output:expr) => {
        insta::assert_snapshot!($name, $crate::support::run_report(&$output), stringify!($output))
    };
}
pub(crate) use assert_run_snapshot;

/// Asserts that `program` is on PATH: a test that needs it fails, naming the Debian package,
/// rather than passing without having checked anything (.ci/run installs every one).
pub fn require_program(program: &str, package: &str) {
    let found = std::process::Command::new(program).arg("--version").output().is_ok();
    assert!(found, "{program} is not on PATH and this test needs it: apt-get install {package}");
}

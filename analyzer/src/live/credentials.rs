//! Credentials: which kubeconfig files are read, and what is said when a credential plugin
//! fails. kube's own error text for a failed exec plugin prints the command with its
//! environment and arguments and the plugin's whole output (`VAULT_TOKEN="…" …
//! --oidc-client-secret=…`, tokens on stdout): netreach prints what kubectl prints instead —
//! the program and its exit status, and at most a truncated first part of its stderr.

use super::LiveError;
use kube::client::AuthError;
use kube::config::Kubeconfig;
use std::path::PathBuf;

/// How much of a failed plugin's stderr is shown.
const STDERR_SHOWN: usize = 300;

/// `$KUBECONFIG`, merged as kubectl merges it: empty entries and files that do not exist are
/// skipped (client-go's loading rules); `None` when the variable is unset or names no file.
pub(super) fn kubeconfig_from_env() -> Result<Option<Kubeconfig>, LiveError> {
    if std::env::var_os("KUBECONFIG").is_none() {
        return Ok(None);
    }
    let listed = kubeconfig_env_paths();
    let present: Vec<&PathBuf> = listed.iter().filter(|p| p.exists()).collect();
    if present.is_empty() {
        if listed.is_empty() {
            return Ok(None);
        }
        let names: Vec<String> = listed.iter().map(|p| p.display().to_string()).collect();
        return Err(LiveError::Config(format!(
            "no kubeconfig: none of the files in $KUBECONFIG exists ({}); give --kubeconfig FILE",
            names.join(", ")
        )));
    }
    let mut merged = Kubeconfig::default();
    for path in present {
        let next = Kubeconfig::read_from(path)
            .map_err(|e| LiveError::Config(format!("kubeconfig {} (from $KUBECONFIG): {e}", path.display())))?;
        merged = merged
            .merge(next)
            .map_err(|e| LiveError::Config(format!("kubeconfig {} (from $KUBECONFIG): {e}", path.display())))?;
    }
    Ok(Some(merged))
}

/// The files `$KUBECONFIG` lists (empty entries skipped), whether they exist or not.
pub fn kubeconfig_env_paths() -> Vec<PathBuf> {
    std::env::var_os("KUBECONFIG")
        .map(|list| std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()).collect())
        .unwrap_or_default()
}

/// `~/.kube/config`, whether it exists or not.
pub fn home_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".kube").join("config"))
}

/// The credential program the chosen user runs: `exec.command`, or a gcp provider's `cmd-path`.
pub(super) fn program(config: &kube::Config) -> Option<String> {
    let auth = &config.auth_info;
    auth.exec
        .as_ref()
        .and_then(|e| e.command.clone())
        .or_else(|| auth.auth_provider.as_ref().and_then(|p| p.config.get("cmd-path").cloned()))
}

/// ` (exec plugin "NAME")` for messages, or nothing.
pub(super) fn hint(program: &Option<String>) -> String {
    program.as_ref().map(|p| format!(" (credential plugin {p:?})")).unwrap_or_default()
}

/// The first credential error in an error's chain, described safely.
pub(super) fn find_auth_error(error: &(dyn std::error::Error + 'static), program: Option<&str>) -> Option<String> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(auth) = e.downcast_ref::<AuthError>() {
            return Some(describe(auth, program));
        }
        if let Some(kube::Error::Auth(auth)) = e.downcast_ref::<kube::Error>() {
            return Some(describe(auth, program));
        }
        current = e.source();
    }
    None
}

/// A credential error without the plugin's environment, arguments or standard output.
pub(super) fn describe(error: &AuthError, program: Option<&str>) -> String {
    let name = program.unwrap_or("the credential plugin");
    match error {
        AuthError::AuthExecRun { out, .. } => {
            let status = match out.status.code() {
                Some(code) => format!("exit code {code}"),
                None => out.status.to_string(),
            };
            let stderr = String::from_utf8_lossy(&out.stderr);
            let stderr = one_line(stderr.trim());
            if stderr.is_empty() {
                format!("exec: executable {name} failed with {status}")
            } else {
                format!("exec: executable {name} failed with {status}; it said: {stderr}")
            }
        }
        AuthError::AuthExecStart(e) => format!("exec: executable {name} could not be started: {e}"),
        AuthError::AuthExecParse(_) => {
            format!("exec: executable {name} printed something that is not an ExecCredential (its output is not shown: it may hold a token)")
        }
        AuthError::AuthExec(_) | AuthError::AuthExecSerialize(_) | AuthError::ExecPluginFailed => {
            format!("exec: executable {name} did not give usable credentials")
        }
        other => other.to_string(),
    }
}

/// Newlines folded and at most [`STDERR_SHOWN`] characters, so one error stays one line.
fn one_line(text: &str) -> String {
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if folded.chars().count() <= STDERR_SHOWN {
        folded
    } else {
        let cut: String = folded.chars().take(STDERR_SHOWN).collect();
        format!("{cut}… (truncated)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_failed_plugin_shows_program_status_and_short_stderr_only() {
        let out = std::process::Output {
            status: std::process::ExitStatus::from_raw(3 << 8),
            stdout: b"{\"status\":{\"token\":\"sekret-token\"}}".to_vec(),
            stderr: format!("login failed\nretry later {}", "x".repeat(1000)).into_bytes(),
        };
        let error = AuthError::AuthExecRun {
            cmd: "VAULT_TOKEN=\"hunter2\" \"vault-login\" \"--oidc-client-secret=abc\"".into(),
            out: Box::new(out),
        };
        let text = describe(&error, Some("vault-login"));
        assert!(
            text.starts_with(
                "exec: executable vault-login failed with exit code 3; it said: login failed retry later x"
            ),
            "{text}"
        );
        assert!(text.ends_with("… (truncated)"), "{text}");
        for secret in ["hunter2", "abc", "sekret-token", "VAULT_TOKEN", "\n"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}

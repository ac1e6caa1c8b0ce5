//! Folders that are sources, not manifests: a kustomization (`kustomization.yaml`) or a Helm
//! chart (`Chart.yaml`). Their files are inputs to a renderer (patches, name prefixes, overlays,
//! templates), so reading them as the cluster would be wrong: a named folder is rendered with
//! the tool users run (`kubectl kustomize`, else `kustomize build`; `helm template`), and one
//! found inside another folder is an error that says what to run.

use super::LoadError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The files that make a folder a kustomization, as kustomize looks for them
/// (https://kubectl.docs.kubernetes.io/references/kustomize/glossary/#kustomization-root).
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// What renders a source folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SourceKind {
    Kustomization,
    HelmChart,
}

impl SourceKind {
    /// What a folder is, when it is a source; `None` for a folder of manifests.
    pub(super) fn of(dir: &Path) -> Option<SourceKind> {
        if KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file()) {
            Some(SourceKind::Kustomization)
        } else if dir.join("Chart.yaml").is_file() {
            Some(SourceKind::HelmChart)
        } else {
            None
        }
    }

    /// The candidate commands, in order of preference: program and arguments before the folder.
    fn commands(self) -> &'static [(&'static str, &'static [&'static str])] {
        match self {
            SourceKind::Kustomization => &[("kubectl", &["kustomize"]), ("kustomize", &["build"])],
            SourceKind::HelmChart => &[("helm", &["template"])],
        }
    }

    pub(super) fn describe(self) -> &'static str {
        match self {
            SourceKind::Kustomization => "a kustomization (kustomization.yaml)",
            SourceKind::HelmChart => "a Helm chart (Chart.yaml)",
        }
    }

    /// The command line to render `dir` by hand, e.g. `kubectl kustomize overlays/prod`.
    pub(super) fn hint(self, dir: &Path) -> String {
        let (program, args) = self.commands()[0];
        format!("{program} {} {}", args.join(" "), dir.display())
    }
}

/// The first program of `name` in `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Renders `dir` with the first renderer on PATH: the YAML it prints, and the label objects
/// are located by (`overlays/prod (kubectl kustomize)`). No renderer, a failing one, or output
/// over `limit` bytes is an error naming the command.
pub(super) fn render(kind: SourceKind, dir: &Path, limit: u64) -> Result<(String, String), LoadError> {
    let shown = dir.display().to_string();
    let Some((program, args, path)) =
        kind.commands().iter().find_map(|(program, args)| find_program(program).map(|path| (program, args, path)))
    else {
        let programs: Vec<&str> = kind.commands().iter().map(|(p, _)| *p).collect();
        return Err(LoadError::Render {
            path: shown,
            message: format!(
                "{} must be rendered, and {} is not on PATH: install it, or render it yourself (`{} | netreach COMMAND -`)",
                kind.describe(),
                programs.join(" nor "),
                kind.hint(dir)
            ),
        });
    };
    let command_line = format!("{program} {} {shown}", args.join(" "));
    let output =
        Command::new(&path).args(args.iter()).arg(dir).stdin(Stdio::null()).output().map_err(|e| {
            LoadError::Render { path: shown.clone(), message: format!("cannot run `{command_line}`: {e}") }
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(LoadError::Render {
            path: shown,
            message: format!("`{command_line}` failed ({}): {}", output.status, stderr.trim()),
        });
    }
    if output.stdout.len() as u64 > limit {
        return Err(LoadError::TooLarge { path: format!("{shown} ({command_line})"), limit });
    }
    let text = String::from_utf8(output.stdout).map_err(|e| LoadError::Render {
        path: shown.clone(),
        message: format!("`{command_line}` printed text that is not UTF-8: {e}"),
    })?;
    Ok((text, format!("{shown} ({program} {})", args.join(" "))))
}

//! Files netreach writes (`--out FILE`, `check --junit FILE`), and the two rules they follow.
//!
//! 1. An output never replaces an input. [`refuse_if_input`] runs before anything is read and
//!    refuses (exit 2) an output that is one of the command's inputs: a PATH argument, a file
//!    inside a PATH folder (folders are read recursively: .yaml, .yml, .json), the invariants
//!    file, the kubeconfig (`--kubeconfig FILE`, else every file of `$KUBECONFIG` and
//!    `~/.kube/config`). Existing files are compared by (device, inode), so `./x` and `x`,
//!    symlinks and hard links are all the same file; a path that does not exist yet is compared
//!    by its resolved folder and name. A new .yaml/.yml/.json file inside an input folder is
//!    refused too: the next run would read it as input.
//! 2. An output is complete or absent. [`OutputFile`] writes into a temporary file created
//!    exclusively in the target's folder and renames it over the target in [`OutputFile::commit`],
//!    once everything has been written; a run that fails (or an `OutputFile` dropped without
//!    `commit`) removes the temporary file and leaves an existing target as it was. The target's
//!    permissions are kept (a new file gets 0666 minus the umask, like `File::create`), a
//!    symlink is followed (the file it points to is replaced, the link stays), and a target that
//!    is not a regular file (`/dev/null`, a FIFO) is written directly: it cannot be renamed over.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, StdoutLock, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One input of a command, for [`refuse_if_input`]: what it is (for the message) and its path.
#[derive(Clone, Debug)]
pub(crate) struct InputFile {
    /// e.g. "input", "invariants file (--invariants)", "kubeconfig (--kubeconfig)".
    pub(crate) role: String,
    pub(crate) path: PathBuf,
}

impl InputFile {
    pub(crate) fn new(role: impl Into<String>, path: impl Into<PathBuf>) -> InputFile {
        InputFile { role: role.into(), path: path.into() }
    }
}

/// PATH arguments (files or folders); `-` is stdin, no file.
pub(crate) fn path_inputs(paths: &[String], role: &str) -> Vec<InputFile> {
    paths.iter().filter(|p| p.as_str() != "-").map(|p| InputFile::new(role, p)).collect()
}

/// The kubeconfig files a live read may use: `--kubeconfig FILE`; else, when a cluster is read
/// at all, every file listed in `$KUBECONFIG` and `~/.kube/config`.
pub(crate) fn live_inputs(live: &super::LiveArgs) -> Vec<InputFile> {
    if !live.is_live() {
        return Vec::new();
    }
    if let Some(path) = &live.kubeconfig {
        return vec![InputFile::new("kubeconfig (--kubeconfig)", path)];
    }
    default_kubeconfigs()
}

/// `$KUBECONFIG` (colon-separated) and `~/.kube/config`, whether they exist or not.
pub(crate) fn default_kubeconfigs() -> Vec<InputFile> {
    let listed = netreach::live::kubeconfig_env_paths()
        .into_iter()
        .map(|p| InputFile::new("kubeconfig (listed in $KUBECONFIG)", p));
    let home = netreach::live::home_kubeconfig().map(|p| InputFile::new("kubeconfig (~/.kube/config)", p));
    listed.chain(home).collect()
}

/// The inputs of a command that analyzes (`connectivity`, `check`, ...): PATHs or kubeconfigs.
pub(crate) fn command_inputs(input: &super::InputArgs) -> Vec<InputFile> {
    let mut inputs = path_inputs(&input.paths, "input");
    inputs.extend(live_inputs(&input.live));
    inputs
}

type FileId = (u64, u64);

fn file_id(meta: &fs::Metadata) -> FileId {
    (meta.dev(), meta.ino())
}

/// The folder a path's file is in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The path with its folder resolved (symlinks, `.`, `..`), for paths that may not exist yet.
fn resolved(path: &Path) -> PathBuf {
    match (fs::canonicalize(parent_of(path)), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// What the loader reads in a folder: the manifest files (by identity, with a path to name
/// them) and every folder it enters. Symlinked folders are followed here, though the loader
/// does not follow them, so that an output reached through one is refused too; loops stop.
#[derive(Default)]
struct FolderContents {
    files: HashMap<FileId, PathBuf>,
    folders: HashSet<FileId>,
}

impl FolderContents {
    fn walk(&mut self, dir: &Path) {
        let Ok(meta) = fs::metadata(dir) else { return };
        if !self.folders.insert(file_id(&meta)) {
            return;
        }
        let Ok(entries) = fs::read_dir(dir) else { return };
        for path in entries.flatten().map(|e| e.path()) {
            match fs::metadata(&path) {
                Ok(m) if m.is_dir() => self.walk(&path),
                Ok(m) if netreach::load::is_manifest(&path) => {
                    self.files.entry(file_id(&m)).or_insert(path);
                }
                _ => {}
            }
        }
    }
}

/// Refuses an output that is one of `inputs`, or that lies in an input folder the loader reads.
/// Call it before reading anything: the error names the input and what to do.
pub(crate) fn refuse_if_input(out: &Path, inputs: &[InputFile]) -> Result<(), String> {
    let out_id = fs::metadata(out).ok().map(|m| file_id(&m));
    let out_folder = fs::metadata(parent_of(out)).ok().map(|m| file_id(&m));
    let out_resolved = resolved(out);
    let refuse = |what: String| {
        Err(format!(
            "refusing to write {}: {what}. Nothing was read or written; choose an output path outside the inputs",
            out.display()
        ))
    };
    let refuse_new = |what: String| {
        Err(format!(
            "refusing to write {}: {what}. Nothing was read or written; write it outside the folder, or with an extension the loader skips (e.g. .txt)",
            out.display()
        ))
    };
    for input in inputs {
        let Ok(meta) = fs::metadata(&input.path) else {
            // Neither can be compared by identity: compare where they would be.
            if out_id.is_none() && resolved(&input.path) == out_resolved {
                return refuse(format!("it is the {} {}, which this command reads", input.role, input.path.display()));
            }
            continue;
        };
        if out_id == Some(file_id(&meta)) {
            let what = if meta.is_dir() { format!("{} folder", input.role) } else { input.role.clone() };
            return refuse(format!(
                "it is the {what} {}, which this command reads; writing it would destroy that input",
                input.path.display()
            ));
        }
        if meta.is_dir() {
            let mut contents = FolderContents::default();
            contents.walk(&input.path);
            if let Some(file) = out_id.and_then(|id| contents.files.get(&id)) {
                return refuse(format!(
                    "it is {}, read from {} folder {} (every .yaml, .yml and .json file in it, recursively); writing it would destroy that input",
                    file.display(),
                    input.role,
                    input.path.display()
                ));
            }
            if netreach::load::is_manifest(out) && out_folder.is_some_and(|id| contents.folders.contains(&id)) {
                return refuse_new(format!(
                    "it is inside {} folder {}, whose .yaml, .yml and .json files are read recursively: the next run would read the output as input",
                    input.role,
                    input.path.display()
                ));
            }
        }
    }
    Ok(())
}

/// A file written through a temporary file and renamed over the target by [`commit`](Self::commit).
/// Dropped without `commit`, it removes the temporary file: the target is untouched.
pub(crate) struct OutputFile {
    /// As given, for messages.
    shown: PathBuf,
    /// Where the result goes: the path, or the file a symlink points to.
    target: PathBuf,
    /// The temporary file; `None` once renamed, or when the target is written directly.
    temp: Option<PathBuf>,
    writer: BufWriter<File>,
}

impl OutputFile {
    /// Creates the temporary file next to `path` (or opens `path` itself when it is a device or
    /// a FIFO). The target is not touched until [`commit`](Self::commit).
    pub(crate) fn create(path: &Path) -> Result<OutputFile, String> {
        let err = |e: io::Error| format!("cannot write {}: {e}", path.display());
        let (target, mode) = match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => return Err(format!("cannot write {}: it is a folder", path.display())),
            Ok(meta) if !meta.is_file() => {
                // /dev/null, /dev/stdout, a FIFO: nothing to rename over.
                let file = OpenOptions::new().write(true).truncate(true).open(path).map_err(err)?;
                return Ok(OutputFile { shown: path.into(), target: path.into(), temp: None, writer: buffered(file) });
            }
            Ok(meta) => {
                // Overwriting needed write permission before; keep it so (opening does not truncate).
                OpenOptions::new().write(true).open(path).map_err(err)?;
                (fs::canonicalize(path).map_err(err)?, Some(meta.permissions().mode() & 0o7777))
            }
            Err(_) => (path.to_path_buf(), None),
        };
        let name = target
            .file_name()
            .ok_or_else(|| format!("cannot write {}: not a file name", path.display()))?
            .to_string_lossy()
            .into_owned();
        let folder = parent_of(&target).to_path_buf();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        for attempt in 0..64u32 {
            let temp =
                folder.join(format!(".{name}.netreach-{}-{:08x}.tmp", std::process::id(), nanos.wrapping_add(attempt)));
            // create_new: O_EXCL, never an existing file or a symlink planted in its place.
            match OpenOptions::new().write(true).create_new(true).mode(mode.unwrap_or(0o666)).open(&temp) {
                Ok(file) => {
                    let out = OutputFile { shown: path.into(), target, temp: Some(temp), writer: buffered(file) };
                    if let Some(mode) = mode {
                        // The mode given at creation is reduced by the umask; the target's is kept as it was.
                        out.writer.get_ref().set_permissions(fs::Permissions::from_mode(mode)).map_err(err)?;
                    }
                    return Ok(out);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(err(e)),
            }
        }
        Err(format!("cannot write {}: cannot create a temporary file in {}", path.display(), folder.display()))
    }

    /// The path as given.
    pub(crate) fn path(&self) -> &Path {
        &self.shown
    }

    /// Flushes and syncs the temporary file, then renames it over the target.
    pub(crate) fn commit(mut self) -> Result<(), String> {
        let err = |e: io::Error| format!("cannot write {}: {e}", self.shown.display());
        self.writer.flush().map_err(err)?;
        if let Some(temp) = &self.temp {
            self.writer.get_ref().sync_all().map_err(err)?;
            fs::rename(temp, &self.target).map_err(err)?;
            self.temp = None;
        }
        Ok(())
    }
}

fn buffered(file: File) -> BufWriter<File> {
    BufWriter::with_capacity(1 << 16, file)
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

/// Where a command's output goes: stdout, or an [`OutputFile`]. End it with [`finish`](Self::finish).
pub(crate) enum Output {
    Stdout(BufWriter<StdoutLock<'static>>),
    File(OutputFile),
}

impl Output {
    /// Ends the output, given how writing it went: stdout is flushed (a closed pipe, as with
    /// `| head`, is no error); a file is committed only when everything was written, and
    /// otherwise removed, leaving the target as it was.
    pub(crate) fn finish(self, written: io::Result<()>) -> Result<(), super::Error> {
        match self {
            Output::Stdout(mut out) => super::finish_stdout(written.and_then(|_| out.flush())),
            Output::File(file) => {
                written.map_err(|e| format!("cannot write {}: {e}", file.path().display()))?;
                Ok(file.commit()?)
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(out) => out.write(buf),
            Output::File(out) => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.write_all(buf),
            Output::File(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(out) => out.flush(),
            Output::File(out) => out.flush(),
        }
    }
}

/// Tells the readable outputs what stdout is: the terminal's width when it is one, and whether
/// anstream lets it take colour (a terminal, or `CLICOLOR_FORCE`; never with `NO_COLOR`).
pub(crate) fn describe_stdout() {
    use std::io::IsTerminal;
    let stdout = io::stdout();
    let width =
        stdout.is_terminal().then(|| terminal_size::terminal_size_of(&stdout).map(|(w, _)| usize::from(w.0))).flatten();
    let colour = anstream::AutoStream::choice(&stdout) != anstream::ColorChoice::Never;
    netreach::render::terminal::set(width, colour);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn commit_replaces_and_keeps_the_mode_drop_leaves_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        fs::write(&target, "old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();

        let mut file = OutputFile::create(&target).unwrap();
        file.write_all(b"half").unwrap();
        drop(file);
        assert_eq!(fs::read_to_string(&target).unwrap(), "old");
        assert_eq!(listing(dir.path()), ["out.txt"]);

        let mut file = OutputFile::create(&target).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(fs::metadata(&target).unwrap().permissions().mode() & 0o7777, 0o640);
        assert_eq!(listing(dir.path()), ["out.txt"]);
    }

    #[test]
    fn a_symlinked_target_is_replaced_behind_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        let link = dir.path().join("link.txt");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut file = OutputFile::create(&link).unwrap();
        file.write_all(b"new").unwrap();
        file.commit().unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }

    #[test]
    fn devices_are_written_directly() {
        let mut file = OutputFile::create(Path::new("/dev/null")).unwrap();
        file.write_all(b"x").unwrap();
        file.commit().unwrap();
    }

    #[test]
    fn inputs_are_refused_by_identity_and_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("manifests");
        fs::create_dir_all(folder.join("sub")).unwrap();
        fs::write(folder.join("sub/a.yaml"), "x").unwrap();
        fs::write(dir.path().join("kc"), "x").unwrap();
        fs::hard_link(dir.path().join("kc"), dir.path().join("kc-link")).unwrap();
        let inputs =
            [InputFile::new("input", &folder), InputFile::new("kubeconfig (--kubeconfig)", dir.path().join("kc"))];

        let refused = |p: PathBuf| refuse_if_input(&p, &inputs).unwrap_err();
        assert!(refused(dir.path().join("kc-link")).contains("kubeconfig (--kubeconfig)"));
        assert!(refused(folder.join("sub/../sub/a.yaml")).contains("read from input folder"));
        assert!(refused(folder.join("sub/new.json")).contains("the next run would read the output as input"));
        assert!(refused(folder.clone()).contains("input folder"));
        assert!(refuse_if_input(&folder.join("sub/new.txt"), &inputs).is_ok());
        assert!(refuse_if_input(&dir.path().join("other.yaml"), &inputs).is_ok());

        // Neither exists: compared by resolved path.
        let missing = [InputFile::new("kubeconfig (--kubeconfig)", dir.path().join("nope"))];
        assert!(refuse_if_input(&dir.path().join("manifests/../nope"), &missing).is_err());
    }
}

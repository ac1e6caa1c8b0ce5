//! What every subcommand shares: the argument groups (`args`), exit statuses, the error type
//! `main` prints, stderr labels (`messages`) and where output goes (stdout here, files in
//! `output`).

mod args;
pub(crate) mod audit;
pub(crate) mod can;
pub(crate) mod check;
pub(crate) mod completion;
pub(crate) mod connectivity;
pub(crate) mod diff;
pub(crate) mod exposure;
pub(crate) mod generate;
pub(crate) mod man;
pub(crate) mod mesh;
pub(crate) mod messages;
pub(crate) mod output;
pub(crate) mod paths;
pub(crate) mod picture;
pub(crate) mod report;
pub(crate) mod schema;
pub(crate) mod snapshot;

pub(crate) use args::{
    within_scope, Analyzed, EngineArgs, EntryArgs, FilterArgs, InputArgs, InternetArgs, LiveArgs, MeshArgs, NotesArgs,
    ReadArgs,
};
use std::io::{self, Write};
use std::process::ExitCode;

/// How a command ends, as scripts see it (exit codes are stable).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// 0: done, or "yes" to a command that asks a question.
    Success,
    /// 1: "no" (`can` denied, `check` failed, `audit --fail-on`, `diff --exit-code`).
    No,
    /// 2: invalid input or usage; what `main` exits with when a command returns an [`Error`]
    /// (clap exits 2 on usage errors too).
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        ExitCode::from(match status {
            ExitStatus::Success => 0,
            ExitStatus::No => 1,
            ExitStatus::Error => 2,
        })
    }
}

/// Why a command stopped: a message, or any library error (`?` converts both). `main` prints
/// it once, one `error:` line per line of its message.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a subcommand ends with.
pub(crate) type Outcome = Result<ExitStatus, Error>;

/// A buffered, locked stdout for streaming output.
pub(crate) type Stdout = io::BufWriter<io::StdoutLock<'static>>;

/// Writes a command's answer on stdout, buffered and flushed. A reader that stops early
/// (`netreach … | head`) is no error: the command ends as if everything had been written.
pub(crate) fn write_stdout(write: impl FnOnce(&mut Stdout) -> io::Result<()>) -> Result<(), Error> {
    let mut out = stdout();
    let written = write(&mut out);
    finish_stdout(written.and_then(|_| out.flush()))
}

fn stdout() -> Stdout {
    io::BufWriter::with_capacity(1 << 16, io::stdout().lock())
}

/// How writing to stdout went, as a command's result. A closed pipe is not an error, and is
/// absorbed here rather than in `main` so that the command keeps its exit status: a denied
/// `can` piped into `head` still exits 1.
fn finish_stdout(written: io::Result<()>) -> Result<(), Error> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(format!("cannot write output: {e}").into()),
        Ok(()) => Ok(()),
    }
}

/// Where output goes: stdout, or `--out FILE` through a temporary file that
/// [`output::Output::finish`] renames over FILE only when everything was written. Call
/// [`output::refuse_if_input`] on FILE before reading the inputs.
pub(crate) fn open_output(path: Option<&std::path::Path>) -> Result<output::Output, String> {
    match path {
        None => Ok(output::Output::Stdout(stdout())),
        Some(p) => {
            // A file is no terminal: no width to fit, no colour, whatever stdout is.
            netreach::render::terminal::set(None, false);
            output::OutputFile::create(p).map(output::Output::File)
        }
    }
}

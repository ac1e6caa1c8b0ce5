//! What netreach says on stderr beside its answers: lines labelled `error:`, `warning:`, `note:`
//! and `timings:`. The labels are coloured (anstyle) only when anstream says stderr takes colour:
//! a terminal, and neither `NO_COLOR` nor `CLICOLOR=0` set. The message itself is written as it
//! is, so what a pipe or a file receives never depends on the terminal.

use anstyle::{AnsiColor, Style};
use std::fmt::{self, Display};
use std::sync::LazyLock;

/// Decided once per run, as clap does for its own messages.
static STDERR_COLOUR: LazyLock<bool> =
    LazyLock::new(|| anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never);

/// The word in front of a stderr line.
#[derive(Clone, Copy)]
pub(crate) enum Label {
    Error,
    Warning,
    Note,
    Timings,
}

impl Label {
    fn text(self) -> &'static str {
        match self {
            Label::Error => "error:",
            Label::Warning => "warning:",
            Label::Note => "note:",
            Label::Timings => "timings:",
        }
    }

    fn style(self) -> Style {
        let colour = match self {
            Label::Error => AnsiColor::Red,
            Label::Warning => AnsiColor::Yellow,
            Label::Note | Label::Timings => AnsiColor::Cyan,
        };
        Style::new().bold().fg_color(Some(colour.into()))
    }
}

impl Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *STDERR_COLOUR {
            let style = self.style();
            write!(f, "{style}{}{style:#}", self.text())
        } else {
            f.write_str(self.text())
        }
    }
}

/// `error: MESSAGE`, one labelled line per line of the message (a run that finds several
/// invalid documents reports them together).
pub(crate) fn error(message: &dyn Display) {
    for line in message.to_string().lines() {
        eprintln!("{} {line}", Label::Error);
    }
}

/// `warning: MESSAGE`.
pub(crate) fn warning(message: impl Display) {
    eprintln!("{} {message}", Label::Warning);
}

/// `note: MESSAGE`.
pub(crate) fn note(message: impl Display) {
    eprintln!("{} {message}", Label::Note);
}

/// `timings: MESSAGE`.
pub(crate) fn timings(message: impl Display) {
    eprintln!("{} {message}", Label::Timings);
}

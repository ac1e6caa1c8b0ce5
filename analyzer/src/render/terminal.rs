//! What the readable outputs may assume about where stdout goes: a width to fit tables into and
//! whether to colour. The library defaults to neither, so pipes, files and tests get the same
//! bytes whatever the caller's terminal; the binary sets both from stdout once at start.

use anstyle::Style;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// 0: no width (never wrap).
static WIDTH: AtomicUsize = AtomicUsize::new(0);
static COLOUR: AtomicBool = AtomicBool::new(false);

/// Tables wrap to `width` columns (`None`: never wrap); `colour` allows ANSI styles.
pub fn set(width: Option<usize>, colour: bool) {
    WIDTH.store(width.unwrap_or(0), Ordering::Relaxed);
    COLOUR.store(colour, Ordering::Relaxed);
}

/// The width tables fit into, when stdout is a terminal.
pub fn width() -> Option<usize> {
    Some(WIDTH.load(Ordering::Relaxed)).filter(|&w| w > 0)
}

/// Whether readable outputs may carry ANSI styles.
pub fn colour() -> bool {
    COLOUR.load(Ordering::Relaxed)
}

/// `text` in `style` when colour is on, else `text` as it is.
pub fn paint(text: &str, style: Style) -> String {
    if colour() && style != Style::new() {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// The styles the readable outputs share, so a word means one colour everywhere.
pub mod styles {
    use anstyle::{AnsiColor, Style};

    /// High severity, denied, removed, plaintext.
    pub const BAD: Style = Style::new().bold().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Red)));
    /// Medium severity, changed, permissive.
    pub const WARN: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
    /// Allowed, added, mTLS.
    pub const GOOD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));
    /// Low severity.
    pub const MILD: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
    /// Info severity, and table headers.
    pub const DIM: Style = Style::new().dimmed();
    /// Table headers.
    pub const HEADER: Style = Style::new().bold();
}

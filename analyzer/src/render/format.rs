//! The output formats shared by the commands that answer in text, JSON or Markdown. Commands that
//! add formats of their own (`connectivity`: csv, summary, dot, svg; `check`: junit) keep their own
//! enum.

/// `-o text|json|md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Format {
    /// A readable report (default).
    Text,
    /// The stable JSON contract for scripts (schemaVersion 1).
    Json,
    /// Markdown, for pull requests and wikis.
    Md,
}

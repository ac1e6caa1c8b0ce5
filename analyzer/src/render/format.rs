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

/// `-o text|json|md|dot|svg`: the reports that are also drawn (`mesh`, `diff`, `paths`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DrawnFormat {
    /// A readable report (default).
    Text,
    /// The stable JSON contract for scripts (schemaVersion 1; `netreach schema` describes it).
    Json,
    /// Markdown, for pull requests and wikis.
    Md,
    /// Graphviz DOT source of the picture.
    Dot,
    /// An SVG picture, laid out by Graphviz's dot (exit 2 without it).
    Svg,
}

impl DrawnFormat {
    /// The report format, or `None` for a picture.
    pub fn report(self) -> Option<Format> {
        match self {
            DrawnFormat::Text => Some(Format::Text),
            DrawnFormat::Json => Some(Format::Json),
            DrawnFormat::Md => Some(Format::Md),
            DrawnFormat::Dot | DrawnFormat::Svg => None,
        }
    }
}

//! Printing answers. Every renderer streams to a `Write` so large clusters never build one
//! giant string; JSON is the stable contract (schemaVersion 1, documented in the README).

mod connectivity;

pub use connectivity::write_connectivity;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A readable table (default).
    Text,
    /// The stable JSON contract for scripts (schemaVersion 1).
    Json,
    /// One row per connection and protocol, for spreadsheets.
    Csv,
    /// A Markdown table, for pull requests and wikis.
    Md,
}

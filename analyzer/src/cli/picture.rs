//! `-o dot` and `-o svg` for every command that draws (`connectivity`, `mesh`, `diff`, `paths`):
//! the picture's bytes, and the messages when it cannot be drawn.

use super::Error;
use netreach::render::graph::{self, GraphError, ReachGraph};

/// DOT, or SVG laid out by Graphviz's `dot`. Without Graphviz: an error naming the package (exit
/// 2), never DOT in place of the SVG, which would pass a script that expects a picture.
pub(crate) fn picture(reach_graph: &ReachGraph, svg: bool) -> Result<Vec<u8>, Error> {
    let dot = graph::to_dot(reach_graph);
    if !svg {
        return Ok(dot.into_bytes());
    }
    graph::dot_to_svg(&dot).map_err(|e| match e {
        GraphError::DotMissing => format!("{e}; or write DOT with -o dot and draw it elsewhere (dot -Tsvg)").into(),
        e => Error::from(e),
    })
}

/// A picture too big to read, with `ways_out`, the options that narrow it.
pub(crate) fn too_big(e: GraphError, ways_out: &str) -> Error {
    match e {
        GraphError::TooBig { .. } => format!("{e} Narrow it with {ways_out}; the other formats list everything").into(),
        e => e.into(),
    }
}

/// The title line: `netreach COMMAND INPUTS: WHAT (N nodes, M edges)`.
pub(crate) fn title(command: &str, inputs: &[String], what: &str, reach_graph: &ReachGraph) -> String {
    format!(
        "netreach {command} {}: {what} ({} nodes, {} edges)",
        inputs.join(" "),
        reach_graph.nodes.len(),
        reach_graph.edges.len()
    )
}

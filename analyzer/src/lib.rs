//! netreach: who can talk to whom in a Kubernetes cluster.
//!
//! The library behind the `netreach` binary: [`load`] reads manifests into a model
//! [`Cluster`](netreach_model::Cluster), [`Analysis`] runs the engine, and [`render`] prints
//! the answers.

pub mod aggregate;
pub mod analysis;
pub mod attack;
pub mod audit;
pub mod diff;
pub mod explain;
pub mod exposure;
pub mod filter;
pub mod findings;
pub mod generate;
pub mod invariants;
pub mod lateral;
#[cfg(feature = "live")]
pub mod live;
pub mod load;
pub mod mesh;
pub mod render;
pub mod report;
mod rows;
pub mod schema;
pub mod select;
pub mod services;
pub mod status;
pub mod suggest;
pub mod testing;

pub use analysis::Analysis;

pub use netreach_model as model;

//! Property tests for the netreach engine: random clusters ([`generate`]), the places where an
//! engine can go wrong ([`probes`]), and a plain reading of the NetworkPolicy spec to compare
//! against ([`reference`]).

pub mod generate;
pub mod probes;
pub mod reference;
pub mod show;

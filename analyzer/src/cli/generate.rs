//! `netreach generate`: deterministic synthetic clusters.

use super::{finish_output, stdout, Outcome, EXIT_YES};
use clap::Args;
use std::io::Write;

#[derive(Args)]
pub struct GenerateArgs {
    /// Application pods (kube-system adds 5 more).
    #[arg(long, default_value_t = 1000)]
    pods: usize,
    /// NetworkPolicies, spread over the namespaces.
    #[arg(long, default_value_t = 100)]
    policies: usize,
    /// Team namespaces (kube-system comes on top).
    #[arg(long, default_value_t = 10)]
    namespaces: usize,
    /// Seed: the same arguments always give the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

pub fn run(a: GenerateArgs) -> Outcome {
    let params = netreach::generate::GenerateParams { pods: a.pods, policies: a.policies, namespaces: a.namespaces, seed: a.seed };
    let mut out = stdout();
    finish_output(netreach::generate::write_cluster(&params, &mut out).and_then(|_| out.flush()))?;
    Ok(EXIT_YES)
}

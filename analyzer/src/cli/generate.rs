//! `netreach generate`: deterministic synthetic clusters.

use super::{write_stdout, ExitStatus, Outcome};
use clap::Args;

#[derive(Args)]
pub(crate) struct GenerateArgs {
    /// Application pods (kube-system adds 5 more), at most 2,000,000.
    #[arg(long, default_value_t = 1000, value_parser = at_most(2_000_000))]
    pods: usize,
    /// NetworkPolicies, spread over the namespaces, at most 1,000,000.
    #[arg(long, default_value_t = 100, value_parser = at_most(1_000_000))]
    policies: usize,
    /// Team namespaces (kube-system comes on top), at most 100,000.
    #[arg(long, default_value_t = 10, value_parser = at_most(100_000))]
    namespaces: usize,
    /// Seed: the same arguments always give the same bytes.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Density: the fraction (0 to 1) of team namespaces with no NetworkPolicy, whose pods reach
    /// and are reached by everything, as in most real clusters.
    #[arg(long, value_name = "FRACTION", default_value = "0", value_parser = per_mille)]
    unisolated_namespaces: u16,
    /// Density: the fraction (0 to 1) of team namespaces isolated for ingress only (egress open).
    #[arg(long, value_name = "FRACTION", default_value = "0", value_parser = per_mille)]
    ingress_only_namespaces: u16,
    /// Also write each deployment's Deployment and ReplicaSet, and ownerReferences on its pods,
    /// as a kubectl export has them (the workload level then names Deployments).
    #[arg(long)]
    controllers: bool,
}

/// A fraction from 0 to 1, kept in thousandths so the parameters stay exact and comparable.
fn per_mille(text: &str) -> Result<u16, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok((f * 1000.0).round() as u16),
        Ok(_) => Err("a fraction from 0 to 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A count from 0 to `max`: the generator allocates per pod, policy and namespace, so no count
/// may come from the command line unbounded.
fn at_most(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone {
    move |text: &str| match text.parse::<usize>() {
        Ok(n) if n <= max => Ok(n),
        Ok(_) => Err(format!("at most {max}")),
        Err(e) => Err(e.to_string()),
    }
}

pub(crate) fn run(a: GenerateArgs) -> Outcome {
    let params = netreach::generate::GenerateParams {
        pods: a.pods,
        policies: a.policies,
        namespaces: a.namespaces,
        seed: a.seed,
        unisolated_per_mille: a.unisolated_namespaces,
        ingress_only_per_mille: a.ingress_only_namespaces,
        controllers: a.controllers,
    };
    write_stdout(|out| netreach::generate::write_cluster(&params, out))?;
    Ok(ExitStatus::Success)
}

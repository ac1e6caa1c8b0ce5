//! Every command's `--help`, frozen in `snapshots/` (a change of wording is reviewed like a change
//! of output), and the statements in it held to the code: the check ids audit and mesh name.

use crate::support::{assert_run_snapshot, netreach, stdout};
use netreach::audit::CHECKS;
use netreach::mesh::MESH_CHECKS;

const COMMANDS: [&str; 14] = [
    "connectivity",
    "can",
    "paths",
    "diff",
    "audit",
    "check",
    "mesh",
    "exposure",
    "report",
    "generate",
    "snapshot",
    "completion",
    "man",
    "schema",
];

#[test]
fn help_of_every_command() {
    assert_run_snapshot!("netreach", netreach(&["--help"]));
    for command in COMMANDS {
        assert_run_snapshot!(command, netreach(&[command, "--help"]));
    }
}

#[test]
fn help_names_the_check_ids_there_are() {
    let (mesh_first, mesh_last) = (MESH_CHECKS[0].id, MESH_CHECKS[MESH_CHECKS.len() - 1].id);
    let audit = stdout(&netreach(&["audit", "--help"]));
    // One range per hundred: NR0xx (Kubernetes), NR2xx (Calico, Cilium), NR3xx (attack paths).
    for hundred in ["NR0", "NR2", "NR3"] {
        let ids: Vec<&str> = CHECKS.iter().map(|c| c.id).filter(|id| id.starts_with(hundred)).collect();
        let (first, last) = (ids[0], ids[ids.len() - 1]);
        assert!(audit.contains(&format!("({first}..{last})")), "audit --help names {first}..{last}:\n{audit}");
    }
    assert!(audit.contains(&format!("({mesh_first}..{mesh_last})")), "{audit}");
    let mesh = stdout(&netreach(&["mesh", "--help"]));
    assert!(mesh.contains(&format!("{mesh_first}-{mesh_last}")), "{mesh}");
}

#[test]
fn no_help_says_an_invariant_cannot_be_evaluated() {
    // Every invariant kind, mtls included, is evaluated (invariants::Status::NotEvaluable is never produced).
    for command in COMMANDS {
        let help = stdout(&netreach(&[command, "--help"]));
        for stale in ["cannot be evaluated", "not evaluable", "skipped ones", "stand in as one pod"] {
            assert!(!help.contains(stale), "{command} --help says {stale:?}");
        }
    }
}

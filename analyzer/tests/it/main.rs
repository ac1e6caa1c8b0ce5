//! The integration tests of `netreach`, linked once into one binary (`cargo test -p netreach --test it`),
//! as ripgrep's tests/tests.rs does: one link instead of one per file, and one home for shared helpers.

// A test binary has no outside users: `pub` in its modules only shares helpers between them.
#![allow(unreachable_pub)]

mod support; // fixtures(), netreach(), run_report() and assert_run_snapshot!: shared by every module below
mod tidy; // the source tree's own rules: //! headers, ARCHITECTURE.md's module map, no stale "not yet"

// The library through its API: the engine, loader and queries on hand-worked fixtures.
mod calico; // Calico NetworkPolicy, GlobalNetworkPolicy and tiers, hand-worked from Calico's reference
mod cilium; // CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, hand-worked from the docs
mod fixtures; // fixtures/* against fixtures/expectations/ (hand-worked probes)
mod generate; // the synthetic cluster generator: determinism, counts, validity
mod infrastructure; // cloud-metadata, kube-apiserver, kubelet, nodes, etcd: resolution, probes, findings
mod replicas; // controllers without live pods stand for spec.replicas pods
mod tiers; // AdminNetworkPolicy / BaselineAdminNetworkPolicy / ClusterNetworkPolicy tiers

// One command each, through the library and the binary.
mod attack; // `netreach paths` following posture, tokens and RBAC: fixtures/attack, hand-worked
mod audit; // `netreach audit`: every finding id, scores, exit codes, formats
mod authz; // Istio AuthorizationPolicy in `netreach mesh`: the TCP task and hand-worked identity verdicts
mod can; // `netreach can`: verdicts and the rules behind them
mod diff; // `netreach diff`: what-if apply/delete and before/after folders
mod entry_points; // entry points elsewhere: paths --from internet, can internet, diff exposure changes, exposure -o dot|svg
mod exposure; // `netreach exposure`: entry paths from outside (Services, Ingress, Gateway API, host ports)
mod invariants; // `netreach check --invariants` and the netreach::testing API
mod mesh; // `netreach mesh`: Istio and Linkerd mTLS statuses and coverage
mod paths; // `netreach paths`: multi-hop paths and blast radius
mod pictures; // `mesh`, `diff` and `paths` -o dot|svg, held to their JSON
mod render_graph; // `connectivity -o dot|svg` and the graph filters
mod report; // `netreach report`: the HTML report in headless Chromium over WebDriver
mod waypoint; // Istio ambient waypoints in the mesh layer: fixtures/mesh-authz/waypoint, hand-worked

// The binary as users and scripts see it: exit codes, streams, files written.
mod cli; // exit codes, streams, the connectivity formats
mod ecosystem; // completion scripts, the man page, the kubectl plugin name
mod help; // every command's --help, frozen, and the check ids it names
mod outputs; // --out and --junit never replace an input
mod schema; // `netreach schema` and every -o json validated against it
mod terminal; // colour (CLICOLOR_FORCE, NO_COLOR), no wrapping in pipes, columns padded over the rows shown

// Inputs: what users feed, what attackers feed, what live clusters serve.
mod bad_input; // every class of bad input names the file, document, object and field
mod empty_input; // nothing to analyze (empty stdin, folders, comments) is exit 2 in every command
mod hostile_input; // hostile input ends in a clear error, never a hang or a crash
mod live; // live clusters through a kubeconfig against a loopback API server (live/server.rs)
mod real_inputs; // real folders as users feed them: warnings, hints, --skip-invalid
mod realworld; // acceptance on third-party manifest sets (../shared/realworld, skipped when absent)

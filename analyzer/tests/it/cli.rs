//! The `netreach` binary as users and scripts see it: exit codes, streams, formats.

use crate::support::{
    assert_run_snapshot, fixtures, netreach, netreach_command, netreach_piped, netreach_stdin, stderr, stdout,
};
use std::io::{Read, Write};
use std::process::Output;

#[test]
fn every_bad_fixture_exits_2_and_names_file_object_and_field() {
    let cases = [
        ("small/bad/bad-yaml.yaml", vec!["small/bad/bad-yaml.yaml", "invalid YAML", "line 11"]),
        ("small/bad/wrong-type.yaml", vec!["document 1", "NetworkPolicy demo/allow-web", "spec.podSelector"]),
        (
            "small/bad/bad-cidr.yaml",
            vec!["document 1", "NetworkPolicy demo/egress-to-vpc", "ipBlock.cidr", "10.0.0.0/33"],
        ),
        ("small/bad/bad-operator.yaml", vec!["NetworkPolicy demo/allow-clients", "matchExpressions[0]", "Maybe"]),
    ];
    for (file, parts) in cases {
        let out = netreach(&["connectivity", file]);
        assert_eq!(out.status.code(), Some(2), "{file}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{file}: nothing on stdout when the answer would be wrong");
        let err = stderr(&out);
        assert!(err.starts_with("error: "), "{err}");
        for p in parts {
            assert!(err.contains(p), "{file}: {err:?} lacks {p:?}");
        }
    }
}

#[test]
fn unknown_kinds_are_skipped_and_counted() {
    let out = netreach(&["connectivity", "small/bad/unknown-kind.yaml", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("skipped 1 object(s) of kinds netreach does not evaluate: 1 Widget"),
        "{}",
        stderr(&out)
    );
    let quiet = netreach(&["connectivity", "small/bad/unknown-kind.yaml", "-q"]);
    assert!(quiet.stderr.is_empty());
}

#[test]
fn missing_path_is_an_error() {
    let out = netreach(&["connectivity", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"));
    let usage = netreach(&["connectivity"]);
    assert_eq!(usage.status.code(), Some(2), "clap usage errors exit 2 too");
}

#[test]
fn json_is_the_documented_contract() {
    let out = netreach(&["connectivity", "shop", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(doc["schemaVersion"], 1);
    let nodes = doc["nodes"].as_array().unwrap();
    let frontend = nodes.iter().find(|n| n["id"] == "shop/frontend-1").unwrap();
    for key in ["kind", "namespace", "name", "workload", "labels", "ips", "hostNetwork", "node"] {
        assert!(frontend.get(key).is_some(), "pod node lacks {key}");
    }
    assert_eq!(frontend["workload"], "Deployment/frontend");
    let ext = nodes.iter().find(|n| n["kind"] == "External").unwrap();
    assert!(ext["id"].as_str().unwrap().starts_with("external:"));
    assert!(ext["cidrs"].is_array() && ext["except"].is_array());
    let kinds: std::collections::HashMap<&str, &str> =
        nodes.iter().map(|n| (n["id"].as_str().unwrap(), n["kind"].as_str().unwrap())).collect();
    let conns = doc["connections"].as_array().unwrap();
    assert!(!conns.is_empty());
    let mut pairs = Vec::new();
    for c in conns {
        let (src, dst) = (c["src"].as_str().unwrap(), c["dst"].as_str().unwrap());
        assert_ne!(src, dst, "self pairs are not listed");
        assert!(!(kinds[src] == "External" && kinds[dst] == "External"), "no external-to-external pairs");
        pairs.push((src, dst));
        for a in c["allowed"].as_array().unwrap() {
            assert!(["TCP", "UDP", "SCTP"].contains(&a["protocol"].as_str().unwrap()));
            let ranges: Vec<(u64, u64)> = a["ports"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_u64().unwrap(), r[1].as_u64().unwrap()))
                .collect();
            assert!(ranges.windows(2).all(|w| w[0].1 + 1 < w[1].0), "sorted, merged ranges: {ranges:?}");
        }
    }
    let mut deduped = pairs.clone();
    deduped.dedup();
    assert_eq!(deduped.len(), pairs.len(), "each pair once");
    let frontend_cart = conns.iter().find(|c| c["src"] == "shop/frontend-1" && c["dst"] == "shop/cart-1").unwrap();
    assert_eq!(frontend_cart["allowed"], serde_json::json!([{"protocol": "TCP", "ports": [[7070, 7070]]}]));
}

#[test]
fn stdin_and_files_give_the_same_answer() {
    let file = netreach(&["connectivity", "small/named-ports/cluster.yaml", "-o", "json"]);
    let text = std::fs::read_to_string(fixtures().join("small/named-ports/cluster.yaml")).unwrap();
    let piped = netreach_stdin(&["connectivity", "-", "-o", "json"], &text);
    assert_eq!(piped.status.code(), Some(0));
    assert_eq!(stdout(&piped), stdout(&file));
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    // 400 pods without policies: 160,000 connections, far more than a pipe buffer holds.
    let pods: Vec<String> = (0..400)
        .map(|i| format!(r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"p{i}","namespace":"ns"}},"spec":{{"containers":[{{"name":"c"}}]}}}}"#))
        .collect();
    let list = format!(r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#, pods.join(","));
    let mut child = netreach_piped(&["connectivity", "-", "-o", "csv", "-q"]);
    child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    let mut first = [0u8; 64];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "{}", stderr(&out));
}

#[test]
fn help_teaches_and_version_prints() {
    let help = netreach(&["connectivity", "--help"]);
    let text = stdout(&help);
    for part in ["Examples:", "Exit codes", "--output", "--host-network", "--ipblock-pods", "stdin"] {
        assert!(text.contains(part), "help lacks {part}");
    }
    let version = netreach(&["--version"]);
    assert_eq!(stdout(&version).trim(), format!("netreach {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn text_output_snapshot() {
    let out = netreach(&["connectivity", "small/default-deny"]);
    assert_run_snapshot!(out);
}

#[test]
fn csv_output_snapshot() {
    let out = netreach(&["connectivity", "small/named-ports", "-o", "csv"]);
    assert_run_snapshot!(out);
}

#[test]
fn markdown_output_snapshot() {
    let out = netreach(&["connectivity", "small/host-network", "-o", "md"]);
    assert_run_snapshot!(out);
}

#[test]
fn json_output_snapshot() {
    let out = netreach(&["connectivity", "small/ipblock-except", "-o", "json"]);
    assert_run_snapshot!(out);
}

#[test]
fn summary_counts_what_json_lists() {
    let json = netreach(&["connectivity", "shop", "-o", "json", "-q"]);
    let doc: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    let conns = doc["connections"].as_array().unwrap();
    let udp = conns.iter().filter(|c| c["allowed"].as_array().unwrap().iter().any(|a| a["protocol"] == "UDP")).count();
    let summary = stdout(&netreach(&["connectivity", "shop", "-o", "summary", "-q"]));
    let value = |key: &str| -> String {
        let line = summary
            .lines()
            .find(|l| l.starts_with(&format!("{key}:")))
            .unwrap_or_else(|| panic!("no {key} in {summary}"));
        line[key.len() + 1..].trim().to_string()
    };
    assert_eq!(value("allowed pairs"), conns.len().to_string());
    assert_eq!(value("allowed pairs UDP"), udp.to_string());
    // shop 11 (frontend ×3; cart, catalog, checkout ×2), payments 6 (×2 each), data 3,
    // kube-system 4 (coredns ×2).
    assert!(value("pods").starts_with("24 (24 synthesized, 1 hostNetwork)"), "{summary}");
    for key in ["equivalence classes", "port classes", "time load", "time engine", "peak memory"] {
        assert!(!value(key).is_empty());
    }
}

/// `netreach ARGS` with the colour variables set as given and every other one removed.
fn netreach_with_colour_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = netreach_command();
    command.args(args).current_dir(fixtures());
    for name in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied()).output().unwrap()
}

#[test]
fn labels_are_coloured_only_where_anstream_allows() {
    let note = ["connectivity", "small/bad/unknown-kind.yaml"];
    let error = ["connectivity", "no/such/dir"];
    for args in [&note[..], &error[..]] {
        let piped = netreach_with_colour_env(args, &[]);
        assert!(!stderr(&piped).contains('\x1b'), "a pipe gets no colour: {:?}", stderr(&piped));
        let forced = netreach_with_colour_env(args, &[("CLICOLOR_FORCE", "1")]);
        assert!(stderr(&forced).contains("\x1b["), "CLICOLOR_FORCE colours: {:?}", stderr(&forced));
        let no_color = netreach_with_colour_env(args, &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
        assert_eq!(stderr(&no_color), stderr(&piped), "NO_COLOR wins");
        assert_eq!(forced.status.code(), piped.status.code());
    }
}

#[test]
fn mesh_options_are_shared_by_every_command_that_reads_the_meshes() {
    let fixture = "mesh/istio-bookinfo-like";
    let elsewhere = ["--istio-root-namespace", "elsewhere", "--linkerd-default-inbound-policy", "deny"];
    let mesh = |extra: &[&str]| stdout(&netreach(&[&["mesh", fixture, "-o", "json"], extra].concat()));
    assert_ne!(mesh(&[]), mesh(&elsewhere), "no mesh-wide STRICT outside the root namespace");
    let invariants = "invariants/shop.yaml";
    for args in
        [vec!["audit", fixture], vec!["check", "--invariants", invariants, "shop"], vec!["diff", fixture, fixture]]
    {
        let out = netreach(&[&args[..], &elsewhere].concat());
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}: {}", stderr(&out));
    }
}

//! `netreach paths` on fixtures/small/lateral, worked out by hand from its policies:
//! a → b (TCP 8080) → c (named port metrics = 9090) → d (TCP 5432) over a default deny;
//! the hostNetwork agent on node-3 is never isolated, and shares node-3 with e.

use crate::support::{assert_run_snapshot, netreach, stderr, stdout};
use serde_json::Value;

fn paths(args: &[&str]) -> (i32, String) {
    let out = netreach(&[&["paths"], args].concat());
    (out.status.code().unwrap(), stdout(&out) + &stderr(&out))
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["small/lateral", "-o", "json", "-q"]);
    let (code, out) = paths(&all);
    assert_eq!(code, 0, "{out}");
    serde_json::from_str(&out).unwrap()
}

/// (src, dst, protocol, port, kind)
type Hop = (String, String, Value, Value, String);

/// target -> list of hops
fn hops_of(doc: &Value, target: &str) -> Option<Vec<Hop>> {
    let path = doc["paths"].as_array().unwrap().iter().find(|p| p["target"] == target)?;
    Some(
        path["hops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["src"].as_str().unwrap().into(),
                    h["dst"].as_str().unwrap().into(),
                    h["protocol"].clone(),
                    h["port"].clone(),
                    h["kind"].as_str().unwrap().into(),
                )
            })
            .collect(),
    )
}

fn hop(src: &str, dst: &str, protocol: Value, port: Value, kind: &str) -> (String, String, Value, Value, String) {
    (src.into(), dst.into(), protocol, port, kind.into())
}

#[test]
fn three_hop_path_with_the_port_of_each_hop() {
    let doc = json(&["--from", "lat/a", "--to", "app=d"]);
    assert_eq!(
        hops_of(&doc, "lat/d").unwrap(),
        vec![
            hop("lat/a", "lat/b", "TCP".into(), 8080.into(), "policy"),
            hop("lat/b", "lat/c", "TCP".into(), 9090.into(), "policy"),
            hop("lat/c", "lat/d", "TCP".into(), 5432.into(), "policy"),
        ]
    );
}

#[test]
fn host_network_agent_gives_a_node_local_hop() {
    let doc = json(&["--from", "lat/a", "--to", "lat/e"]);
    assert_eq!(
        hops_of(&doc, "lat/e").unwrap(),
        vec![
            hop("lat/a", "lat/agent", "TCP".into(), 1.into(), "policy"),
            hop("lat/agent", "lat/e", Value::Null, Value::Null, "node-local")
        ]
    );
    let off = json(&["--from", "lat/a", "--to", "lat/e", "--no-node-hops"]);
    assert!(hops_of(&off, "lat/e").is_none(), "e is isolated: only the node-local hop reaches it");
}

#[test]
fn max_hops_and_blast_radius() {
    let doc = json(&["--from", "lat/a", "--max-hops", "2"]);
    assert!(hops_of(&doc, "lat/d").is_none(), "d is 3 hops away");
    // Within 1 hop: b, agent; 2: + c, e.
    assert_eq!(doc["blastRadius"][0], serde_json::json!({"source": "lat/a", "reached": [2, 4]}));
    let doc = json(&["--from", "lat/a"]);
    assert_eq!(doc["blastRadius"][0]["reached"], serde_json::json!([2, 4, 5]));
    // From d nothing is isolated for egress, but every other pod's ingress is closed to d
    // (only the agent, never isolated, is open): d reaches the agent, then e node-locally.
    let doc = json(&["--from", "lat/d"]);
    assert_eq!(doc["blastRadius"][0]["reached"], serde_json::json!([1, 2, 2]));
}

#[test]
fn from_the_internet() {
    // External ranges reach only the never-isolated agent (every other pod has a default deny).
    let doc = json(&["--from", "internet", "--max-hops", "1"]);
    let targets: Vec<&str> = doc["paths"].as_array().unwrap().iter().map(|p| p["target"].as_str().unwrap()).collect();
    assert_eq!(targets, ["lat/agent"]);
}

#[test]
fn text_output_and_errors() {
    let (code, out) = paths(&["--from", "lat/a", "--to", "lat/d", "small/lateral", "-q"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("lat/d  3 hop(s): lat/a -[TCP 8080]-> lat/b -[TCP 9090]-> lat/c -[TCP 5432]-> lat/d"),
        "{out}"
    );
    let (code, out) = paths(&["--from", "lat/nobody", "small/lateral"]);
    assert_eq!(code, 2);
    assert!(out.contains("no pod or workload lat/nobody"), "{out}");
    let (code, _) = paths(&["--from", "lat/a", "--max-hops", "0", "small/lateral"]);
    assert_eq!(code, 2);
}

/// Every format of one query, each run frozen whole (exit code, stdout, stderr).
#[test]
fn every_format_snapshot() {
    for format in ["text", "json", "md"] {
        let out = netreach(&["paths", "small/lateral", "--from", "lat/a", "-o", format]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_run_snapshot!(format!("from_a_{format}"), out);
    }
}

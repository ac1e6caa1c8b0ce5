//! Input an attacker controls (a pull request's manifests in a CI gate, arguments from CI
//! variables): every case ends with a clear error and exit 2, or with the right answer — never
//! a hang, a panic, an abort or memory exhaustion.

use crate::support::{fixtures, netreach, netreach_command, stderr};
use std::process::Output;
use std::time::{Duration, Instant};

fn assert_usage_or_input_error(out: &Output, parts: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    for p in parts {
        assert!(err.contains(p), "{p:?} in {err}");
    }
}

const POD: &str =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo}\nspec: {containers: [{name: c, image: nginx}]}\n";

#[test]
fn wide_yaml_aliases_are_refused_by_size() {
    let dir = tempfile::tempdir().unwrap();
    // 400 kB that would expand to about 10 GB: one 100 kB anchor, 100,000 aliases.
    let mut text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb}}\ndata:\n  a: &a \"{}\"\n  b: [",
        "x".repeat(100_000)
    );
    text.push_str(&vec!["*a"; 100_000].join(","));
    text.push_str("]\n");
    let file = dir.path().join("bomb.yaml");
    std::fs::write(&file, &text).unwrap();
    let started = Instant::now();
    let out = netreach(&["connectivity", file.to_str().unwrap()]);
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert_usage_or_input_error(&out, &["bomb.yaml", "alias bomb"]);

    // Anchors used a few times, as Helm charts and hand-written files do, still load.
    let shared = "apiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: demo, labels: &l {app: web}, annotations: *l}\nspec: {containers: [{name: c, image: nginx}]}\n";
    let file = dir.path().join("anchors.yaml");
    std::fs::write(&file, shared).unwrap();
    let out = netreach(&["connectivity", file.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn inputs_larger_than_the_limit_are_refused() {
    let out = netreach(&["connectivity", "--max-input-size", "1MiB", "/dev/zero"]);
    assert_usage_or_input_error(&out, &["/dev/zero", "larger than the input limit of 1 MiB", "--max-input-size"]);
    let out = netreach(&["connectivity", "--max-input-size", "100", "shop"]);
    assert_usage_or_input_error(&out, &["larger than the input limit of 100 bytes"]);
    let out = netreach(&["diff", "--max-input-size", "100", "shop", "shop"]);
    assert_usage_or_input_error(&out, &["larger than the input limit of 100 bytes"]);
    let out = netreach(&["connectivity", "--max-input-size", "lots", "shop"]);
    assert_usage_or_input_error(&out, &["invalid size \"lots\""]);
    // The default reads the fixtures.
    assert_eq!(netreach(&["connectivity", "shop"]).status.code(), Some(0));
}

#[test]
fn symlinked_folders_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("manifests");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("pod.yaml"), POD).unwrap();
    // Two links back to the folder itself: a walk that follows them never ends.
    std::os::unix::fs::symlink(&root, root.join("loop-a")).unwrap();
    std::os::unix::fs::symlink(".", root.join("loop-b")).unwrap();
    // A link to a file is read.
    let other = dir.path().join("other.yaml");
    std::fs::write(&other, POD.replace("name: a", "name: linked")).unwrap();
    std::os::unix::fs::symlink(&other, root.join("linked.yaml")).unwrap();
    let started = Instant::now();
    let out = netreach(&["connectivity", root.to_str().unwrap(), "-o", "json"]);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pods: Vec<&str> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "Pod")
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(pods, ["a", "linked"], "each file once");
    let err = stderr(&out);
    assert!(err.contains("loop-a: a symbolic link to a folder, not followed"), "{err}");
    assert!(err.contains("loop-b: a symbolic link to a folder, not followed"), "{err}");
}

#[test]
fn a_byte_order_mark_is_accepted_in_json_and_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let json = "\u{feff}{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\",\"namespace\":\"demo\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}";
    std::fs::write(dir.path().join("pod.json"), json).unwrap();
    std::fs::write(dir.path().join("pod2.yaml"), format!("\u{feff}{}", POD.replace("name: a", "name: b"))).unwrap();
    let out = netreach(&["connectivity", dir.path().to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn huge_numeric_arguments_are_usage_errors_not_aborts() {
    for args in [
        &["paths", "--from", "any", "--max-hops", "4294967295", "shop"][..],
        &["paths", "--from", "any", "--max-hops", "0", "shop"],
        &["paths", "--from", "any", "--max-hops", "1001", "shop"],
        &["generate", "--namespaces", "99999999999"],
        &["generate", "--pods", "18446744073709551615"],
        &["generate", "--policies", "99999999999"],
        &["connectivity", "--cluster", "--request-timeout", "99999999999999999999s"],
        &["connectivity", "--cluster", "--list-timeout", "99999999999999999999"],
        &["connectivity", "shop", "--max-input-size", "99999999999TiB"],
    ] {
        let out = netreach(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // The largest accepted values still work.
    let out = netreach(&["paths", "--from", "any", "--max-hops", "1000", "small/lateral", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn invariants_with_huge_hops_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("inv.yaml");
    std::fs::write(&file, "invariants:\n- name: reach\n  maxReach: {from: any, hops: 4294967295, atMost: 5}\n")
        .unwrap();
    let out = netreach(&["check", "--invariants", file.to_str().unwrap(), "shop"]);
    assert_usage_or_input_error(&out, &["maxReach.hops", "between 1 and 1000"]);
}

#[test]
fn fuzz_regressions_end_quickly_without_a_crash() {
    let dir = fixtures().parent().unwrap().join("fuzz/regressions");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let started = Instant::now();
        let out = netreach_command()
            .args(["connectivity", "-", "-o", "summary"])
            .stdin(std::fs::File::open(&path).unwrap())
            .output()
            .unwrap();
        assert!(matches!(out.status.code(), Some(0 | 2)), "{}: {:?} {}", path.display(), out.status, stderr(&out));
        assert!(started.elapsed() < Duration::from_secs(10), "{}: {:?}", path.display(), started.elapsed());
    }
}

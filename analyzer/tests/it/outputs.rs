//! Output files (`--out`, `check --junit`) never replace an input, and are complete or absent.
//!
//! Every test works in a temp dir holding copies of the fixtures it needs, so a regression
//! cannot damage the repository's fixtures.

use crate::live::server;
use crate::support::{fixtures, netreach_isolated, stderr};

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The binary in `dir`, isolated from the user's kubeconfig (HOME is `dir`, KUBECONFIG unset).
fn netreach_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = netreach_isolated(dir);
    command.args(args).current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn netreach(dir: &Path, args: &[&str]) -> Output {
    netreach_in(dir, args, &[])
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            fs::copy(&path, dest).unwrap();
        }
    }
}

/// A temp dir with `shop.yaml` (a file input), `shop/` (a folder input) and `shop.inv.yaml`
/// (invariants), all from fixtures/shop.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    // The shop fixture as one file: its manifests joined into one YAML stream.
    let mut files: Vec<PathBuf> = fs::read_dir(fixtures().join("shop")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let stream: Vec<String> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| fs::read_to_string(p).unwrap())
        .collect();
    fs::write(dir.path().join("shop.yaml"), stream.join("\n---\n")).unwrap();
    copy_dir(&fixtures().join("shop"), &dir.path().join("shop"));
    fs::copy(fixtures().join("invariants/shop.yaml"), dir.path().join("shop.inv.yaml")).unwrap();
    dir
}

/// A kubeconfig for a server that is not there (port 1 on loopback).
fn kubeconfig(path: &Path) {
    fs::write(
        path,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"https://127.0.0.1:1\"}\nusers:\n- name: u\n  user: {token: t}\n\
contexts:\n- name: ctx\n  context: {cluster: c, user: u}\ncurrent-context: ctx\n",
    )
    .unwrap();
}

/// Every file under `dir` with its bytes, sorted: a run must leave it identical.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                walk(&path, out);
            } else if meta.file_type().is_symlink() {
                out.push((path.clone(), fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes()));
            } else {
                out.push((path.clone(), fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Exit 2, nothing on stdout, an error naming `mentions`, and not one byte changed in `dir`.
fn assert_refused(dir: &Path, args: &[&str], env: &[(&str, &str)], mentions: &[&str]) {
    let before = contents(dir);
    let out = netreach_in(dir, args, env);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    assert!(err.starts_with("error: refusing to write "), "{args:?}: {err}");
    for m in mentions {
        assert!(err.contains(m), "{args:?}: {err:?} lacks {m:?}");
    }
    assert!(contents(dir) == before, "{args:?}: files changed");
}

#[test]
fn out_naming_an_input_file_is_refused() {
    let dir = workspace();
    let d = dir.path();
    for out in ["shop.yaml", "./shop.yaml", "shop/../shop.yaml"] {
        assert_refused(
            d,
            &["connectivity", "shop.yaml", "--out", out],
            &[],
            &["it is the input shop.yaml", "choose an output path"],
        );
    }
    assert_refused(d, &["connectivity", "shop.yaml", "-o", "json", "--out", "shop.yaml"], &[], &["input shop.yaml"]);
    // The second of several inputs.
    assert_refused(d, &["connectivity", "shop", "shop.yaml", "--out", "shop.yaml"], &[], &["input shop.yaml"]);
}

#[test]
fn out_naming_a_link_to_an_input_is_refused() {
    let dir = workspace();
    let d = dir.path();
    std::os::unix::fs::symlink("shop.yaml", d.join("link.txt")).unwrap();
    fs::hard_link(d.join("shop.yaml"), d.join("hard.txt")).unwrap();
    assert_refused(d, &["connectivity", "shop.yaml", "--out", "link.txt"], &[], &["input shop.yaml"]);
    assert_refused(d, &["connectivity", "shop.yaml", "--out", "hard.txt"], &[], &["input shop.yaml"]);
    // The input named through the link.
    assert_refused(d, &["connectivity", "link.txt", "--out", "shop.yaml"], &[], &["input link.txt"]);
}

#[test]
fn out_inside_an_input_folder_is_refused() {
    let dir = workspace();
    let d = dir.path();
    // An existing manifest of the folder, directly and through a symlinked folder.
    assert_refused(
        d,
        &["connectivity", "shop", "--out", "shop/payments.yaml"],
        &[],
        &["shop/payments.yaml", "input folder shop"],
    );
    std::os::unix::fs::symlink("shop", d.join("alias")).unwrap();
    assert_refused(d, &["connectivity", "shop", "--out", "alias/payments.yaml"], &[], &["input folder shop"]);
    // A new .json/.yaml file in it would be read by the next run.
    fs::create_dir(d.join("shop/sub")).unwrap();
    assert_refused(
        d,
        &["connectivity", "shop", "-o", "json", "--out", "shop/sub/result.json"],
        &[],
        &["inside input folder shop", ".txt"],
    );
    assert!(!d.join("shop/sub/result.json").exists());
    // The folder itself.
    assert_refused(d, &["connectivity", "shop", "--out", "shop"], &[], &["input folder shop"]);
    // An extension the loader skips is fine.
    let out = netreach(d, &["connectivity", "shop", "--out", "shop/report.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::read_to_string(d.join("shop/report.txt")).unwrap().contains("shop/frontend"));
}

#[test]
fn junit_naming_an_input_is_refused() {
    let dir = workspace();
    let d = dir.path();
    assert_refused(
        d,
        &["check", "--invariants", "shop.inv.yaml", "shop", "--junit", "shop.inv.yaml"],
        &[],
        &["it is the invariants file (--invariants) shop.inv.yaml"],
    );
    assert_refused(
        d,
        &["check", "--invariants", "shop.inv.yaml", "shop", "--junit", "./shop/payments.yaml"],
        &[],
        &["input folder shop"],
    );
    // Refused before the invariants file is read: a broken one is not reported.
    fs::write(d.join("broken.yaml"), "invariants: [{{{").unwrap();
    assert_refused(
        d,
        &["check", "--invariants", "broken.yaml", "shop", "--junit", "broken.yaml"],
        &[],
        &["invariants file"],
    );
    // A good run writes the JUnit file.
    let out = netreach(d, &["check", "--invariants", "shop.inv.yaml", "shop", "--junit", "report.xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::read_to_string(d.join("report.xml")).unwrap().starts_with("<?xml"));
}

#[test]
fn out_naming_the_kubeconfig_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    kubeconfig(&d.join("kc"));
    for command in ["snapshot", "connectivity"] {
        // The server does not exist: an error about it would mean the kubeconfig was read first.
        for out in ["kc", "./kc"] {
            assert_refused(
                d,
                &[command, "--kubeconfig", "kc", "--out", out],
                &[],
                &["it is the kubeconfig (--kubeconfig) kc"],
            );
        }
        // The default kubeconfigs: every file of $KUBECONFIG, and ~/.kube/config.
        kubeconfig(&d.join("kc2"));
        let list = format!("{}:{}", d.join("kc").display(), d.join("kc2").display());
        assert_refused(
            d,
            &[command, "--cluster", "--out", "kc2"],
            &[("KUBECONFIG", &list)],
            &["kubeconfig (listed in $KUBECONFIG)"],
        );
        fs::create_dir_all(d.join(".kube")).unwrap();
        kubeconfig(&d.join(".kube/config"));
        assert_refused(d, &[command, "--cluster", "--out", ".kube/config"], &[], &["kubeconfig (~/.kube/config)"]);
    }
    // A kubeconfig that does not exist yet is compared by path.
    assert_refused(
        d,
        &["snapshot", "--kubeconfig", "missing", "--out", "./missing"],
        &[],
        &["kubeconfig (--kubeconfig) missing"],
    );
    assert!(!d.join("missing").exists());
}

#[test]
fn a_successful_out_writes_the_file_and_leaves_no_temporary_file() {
    let dir = workspace();
    let d = dir.path();
    let out = netreach(d, &["connectivity", "shop.yaml", "--out", "result.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let json: serde_json::Value = serde_json::from_str(&fs::read_to_string(d.join("result.json")).unwrap()).unwrap();
    assert!(json.is_object());

    // Replacing an existing file keeps its permissions.
    use std::os::unix::fs::PermissionsExt;
    fs::write(d.join("result.txt"), "old\n").unwrap();
    fs::set_permissions(d.join("result.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    let out = netreach(d, &["connectivity", "shop.yaml", "--out", "result.txt"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_ne!(fs::read_to_string(d.join("result.txt")).unwrap(), "old\n");
    assert_eq!(fs::metadata(d.join("result.txt")).unwrap().permissions().mode() & 0o777, 0o640);

    let mut names: Vec<String> =
        fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["result.json", "result.txt", "shop", "shop.inv.yaml", "shop.yaml"]);
}

#[test]
fn a_failed_run_leaves_the_out_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::copy(fixtures().join("small/bad/bad-cidr.yaml"), d.join("bad.yaml")).unwrap();
    fs::write(d.join("result.txt"), "precious\n").unwrap();
    let before = contents(d);
    for args in [
        &["connectivity", "bad.yaml", "--out", "result.txt"][..],
        &["connectivity", "bad.yaml", "-o", "dot", "--out", "result.txt"],
        &["check", "--invariants", "bad.yaml", "bad.yaml", "--junit", "result.txt"],
        &["connectivity", "no-such-file.yaml", "--out", "result.txt"],
    ] {
        let out = netreach(d, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(contents(d) == before, "{args:?}: result.txt changed or a temporary file stayed");
    }
}

#[test]
fn snapshot_out_is_written_with_credentials_redacted_and_never_over_its_kubeconfig() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cluster = d.join("cluster");
    fs::create_dir(&cluster).unwrap();
    fs::write(
        cluster.join("pod.yaml"),
        r#"apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  containers:
  - name: api
    image: api:1
    command: [api, --token=s3cr3t-t0k3n]
    args: [--db, "postgres://app:hunter2@db:5432/app", --client-secret, sh-h-h, --port=8080]
    ports: [{containerPort: 8080}]
"#,
    )
    .unwrap();
    let server = server::Server::start(server::Behaviour::new(server::objects_of(&cluster)));
    let kc = server::kubeconfig(d, &server.url(), "good-token", None);
    let kc = kc.to_str().unwrap();

    // Refused before the kubeconfig is read: the server sees no request.
    assert_refused(d, &["snapshot", "--kubeconfig", kc, "--out", kc], &[], &["kubeconfig (--kubeconfig)"]);
    assert!(server.requests().is_empty(), "{:?}", server.requests());

    fs::write(d.join("snap.yaml"), "old\n").unwrap();
    let out = netreach(d, &["snapshot", "--kubeconfig", kc, "--out", "snap.yaml", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let text = fs::read_to_string(d.join("snap.yaml")).unwrap();
    assert!(text.contains("# Redacted: credential-looking command/args values"), "{text}");
    for kept in [
        "--token=REDACTED",
        "postgres://app:REDACTED@db:5432/app",
        "--client-secret",
        "--port=8080",
        "containerPort: 8080",
    ] {
        assert!(text.contains(kept), "{kept:?} in {text}");
    }
    for secret in ["s3cr3t", "hunter2", "sh-h-h"] {
        assert!(!text.contains(secret), "{secret:?} leaked: {text}");
    }
    // The snapshot analyzes like the cluster: the port is still there.
    let from_file = netreach(d, &["connectivity", "snap.yaml", "-o", "json", "-q"]);
    let from_cluster = netreach(d, &["connectivity", "--kubeconfig", kc, "-o", "json", "-q"]);
    assert_eq!(from_file.status.code(), Some(0), "{}", stderr(&from_file));
    assert_eq!(from_file.stdout, from_cluster.stdout);
}

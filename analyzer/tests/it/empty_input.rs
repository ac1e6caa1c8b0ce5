//! Input with nothing to analyze ends in exit 2 and a message, in every command: never an empty
//! answer ("no findings", exit 0) that turns a broken pipeline (`false | netreach audit -`) green.

use crate::support::{assert_run_snapshot, fixtures, netreach, netreach_command, run_report, stderr};
use std::path::Path;
use std::process::{Output, Stdio};

/// Every command that analyzes manifests, with `INPUT` where the manifests go; `diff` twice
/// (the empty input before, then after).
const COMMANDS: &[&[&str]] = &[
    &["connectivity", "INPUT"],
    &["audit", "INPUT"],
    &["can", "shop/frontend", "shop/cart", "INPUT"],
    &["paths", "--from", "any", "INPUT"],
    &["check", "--invariants", "invariants/shop.yaml", "INPUT"],
    &["mesh", "INPUT"],
    &["diff", "INPUT", "shop"],
    &["diff", "shop", "INPUT"],
];

/// Runs `args` in `fixtures/` with `INPUT` replaced and stdin from `stdin` (a pipe that yields
/// nothing when None: what `false | netreach …` gives).
fn run(args: &[&str], input: &str, stdin: Option<Stdio>) -> Output {
    let args: Vec<&str> = args.iter().map(|a| if *a == "INPUT" { input } else { a }).collect();
    let mut command = netreach_command();
    command.args(&args).current_dir(fixtures());
    match stdin {
        Some(stdin) => command.stdin(stdin),
        None => command.stdin(Stdio::piped()),
    };
    // A piped stdin is closed unwritten when the child is spawned by output(): an empty pipe.
    command.output().unwrap()
}

/// Every command exits 2 with nothing on stdout and the same message (`before: `/`after: ` in a
/// diff, where `diff_prefixed`), which is returned.
fn refused_by_every_command(input: &str, stdin: impl Fn() -> Option<Stdio>, diff_prefixed: bool) -> String {
    let first = stderr(&run(COMMANDS[0], input, stdin()));
    // Notes on what was skipped come first; the error is the end of stderr.
    let message = first.find("error: ").map(|at| first[at..].to_string()).unwrap_or(first);
    assert!(message.starts_with("error: "), "{message}");
    for (i, args) in COMMANDS.iter().enumerate() {
        let out = run(args, input, stdin());
        assert_eq!(out.status.code(), Some(2), "{args:?} on {input}:\n{}", run_report(&out));
        assert!(out.stdout.is_empty(), "{args:?} on {input}: nothing on stdout");
        let expected = match (diff_prefixed, i) {
            (true, 6) => message.replacen("error: ", "error: before: ", 1),
            (true, 7) => message.replacen("error: ", "error: after: ", 1),
            _ => message.clone(),
        };
        assert!(stderr(&out).ends_with(&expected), "{args:?} on {input}:\n{}", stderr(&out));
    }
    message
}

#[test]
fn empty_stdin_is_refused_by_every_command_with_a_hint_at_the_pipe() {
    // `printf '' | netreach … -` and `false | netreach … -`.
    let message = refused_by_every_command("-", || None, true);
    assert!(message.contains("stdin (-) was empty") && message.contains("pipe"), "{message}");
    refused_by_every_command("-", || Some(Stdio::null()), true);
    assert_run_snapshot!(run(COMMANDS[1], "-", None));
}

#[test]
fn files_and_folders_without_objects_are_refused_by_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let redact = |out: Output| -> Output {
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap().replace(&dir.path().display().to_string(), "[tmp]");
        Output { stderr: text(out.stderr).into_bytes(), ..out }
    };
    let comments = write("comments.yaml", "# nothing but comments\n---\n---\n# and separators\n");
    refused_by_every_command(&comments, || None, true);
    assert_run_snapshot!("comments_only", redact(run(COMMANDS[1], &comments, None)));

    let folder = dir.path().join("folder");
    write("folder/a.yaml", "---\n");
    write("folder/sub/b.yml", "# a comment\n");
    refused_by_every_command(&folder.display().to_string(), || None, true);

    let no_manifests = dir.path().join("no-manifests");
    write("no-manifests/README.md", "# not a manifest\n");
    let message = refused_by_every_command(&no_manifests.display().to_string(), || None, false);
    assert!(message.contains("no .yaml, .yml or .json file"), "{message}");
}

#[test]
fn input_with_nothing_to_analyze_is_refused_by_every_command() {
    // Objects, but none netreach reads: what a wrong folder or a failed render gives.
    let dir = tempfile::tempdir().unwrap();
    let configmaps = dir.path().join("configmaps.yaml");
    std::fs::write(
        &configmaps,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: b, namespace: x}\nspec: {ports: [{port: 80}]}\n",
    )
    .unwrap();
    let message = refused_by_every_command(configmaps.to_str().unwrap(), || None, true);
    assert!(message.contains("nothing to analyze") && message.contains("only 1 object(s) of kinds"), "{message}");
    // Every document invalid, left out by --skip-invalid: nothing valid is left to analyze.
    assert_run_snapshot!(netreach(&["audit", "small/bad/bad-cidr.yaml", "--skip-invalid"]));
    // A Namespace alone is something to analyze (its audit findings, say).
    let namespace = dir.path().join("namespace.yaml");
    std::fs::write(&namespace, "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n").unwrap();
    assert_eq!(netreach(&["audit", namespace.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn diff_changes_without_objects_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "# the render failed\n").unwrap();
    let empty = empty.to_str().unwrap();
    let redact = |out: Output| -> Output {
        let text = String::from_utf8(out.stderr.clone()).unwrap().replace(empty, "[tmp]/empty.yaml");
        Output { stderr: text.into_bytes(), ..out }
    };
    // `false | netreach diff cluster/ --apply -`: not "What-if: no changes", exit 0.
    assert_run_snapshot!("apply_stdin", run(&["diff", "shop", "--apply", "-"], "", None));
    assert_run_snapshot!("apply_file", redact(netreach(&["diff", "shop", "--apply", empty])));
    assert_run_snapshot!("delete_file", redact(netreach(&["diff", "shop", "--delete", empty, "--exit-code"])));
    // One empty file among real changes is no error: the other file changes something.
    let out = netreach(&["diff", "diff/before", "--apply", empty, "diff/changes/allow-scrape.yaml"]);
    assert!(Path::new(&fixtures().join("diff/changes/allow-scrape.yaml")).exists());
    assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
}

#[test]
fn empty_stdin_beside_other_inputs_is_refused_by_every_command() {
    // `false | netreach audit - cluster/`: the cluster alone would give an answer, but the pipe
    // that was meant to add to it failed.
    for args in COMMANDS.iter().filter(|a| a[0] != "diff") {
        let mut args: Vec<&str> = args.to_vec();
        args.push("shop");
        let out = run(&args, "-", None);
        assert_eq!(out.status.code(), Some(2), "{args:?}:\n{}", run_report(&out));
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
        assert!(stderr(&out).contains("stdin (-) was empty"), "{args:?}:\n{}", stderr(&out));
    }
    // --skip-invalid leaves out invalid documents, never a failed pipe.
    let out = run(&["audit", "-", "shop", "--skip-invalid"], "", None);
    assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
    // A diff's BEFORE, and changes given with --apply beside others.
    let out = run(&["diff", "-", "--apply", "diff/changes/allow-scrape.yaml"], "", None);
    assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
    let out = run(&["diff", "diff/before", "--apply", "diff/changes/allow-scrape.yaml", "-"], "", None);
    assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
    assert!(stderr(&out).contains("stdin (-) was empty"), "{}", stderr(&out));
    // Stdin with objects beside a folder is read as before.
    let shop = std::fs::read_to_string(fixtures().join("shop/namespaces.yaml")).unwrap();
    let mut child = crate::support::netreach_piped(&["audit", "-", "diff/before"]);
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), shop.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
}

//! netreach beside the tools around it: shell completion scripts, the man page, and the
//! kubectl plugin name.

use crate::support::{assert_run_snapshot, fixtures, netreach, require_program, stdout};
use std::process::Command;

/// The commands `netreach --help` lists (its "Commands:" section), less clap's `help`.
fn commands() -> Vec<String> {
    let help = stdout(&netreach(&["--help"]));
    let section = help.split("Commands:\n").nth(1).expect("--help lists commands");
    let names: Vec<String> = section
        .lines()
        .take_while(|line| !line.is_empty())
        .filter(|line| !line.starts_with("   ")) // a wrapped description
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 11 && names.iter().any(|n| n == "completion"), "{names:?}");
    names
}

/// `netreach completion SHELL`, checked by the shell's own parser (`-n`: read, do not run).
fn completion_parses(shell: &str, syntax_check: &[&str], package: &str) -> String {
    let out = netreach(&["completion", shell]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let script = stdout(&out);
    require_program(syntax_check[0], package);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("netreach.{shell}"));
    std::fs::write(&file, &script).unwrap();
    let checked = Command::new(syntax_check[0]).args(&syntax_check[1..]).arg(&file).output().unwrap();
    assert!(checked.status.success(), "{shell} rejects the script: {}", String::from_utf8_lossy(&checked.stderr));
    script
}

#[test]
fn completion_scripts_parse_and_complete_every_command() {
    let commands = commands();
    let scripts = [
        ("bash", completion_parses("bash", &["bash", "-n"], "bash")),
        ("zsh", completion_parses("zsh", &["zsh", "-n"], "zsh")),
        ("fish", completion_parses("fish", &["fish", "--no-execute"], "fish")),
        ("powershell", stdout(&netreach(&["completion", "powershell"]))),
    ];
    for (shell, script) in &scripts {
        for command in &commands {
            assert!(script.contains(command.as_str()), "{shell} script does not complete {command}");
        }
        // Options of a command are completed too, and the script registers itself for netreach.
        assert!(script.contains("fail-on") && script.contains("netreach"), "{shell}");
    }
    assert!(scripts[0].1.contains("complete -F _netreach"), "bash registers the function for netreach");
    assert!(scripts[1].1.starts_with("#compdef netreach"), "zsh: a completion function for netreach");
}

#[test]
fn completion_for_an_unknown_shell_is_a_usage_error() {
    assert_run_snapshot!(netreach(&["completion", "tcsh"]));
}

#[test]
fn man_page_names_every_command_and_each_command_has_its_page() {
    let out = netreach(&["man"]);
    assert_eq!(out.status.code(), Some(0));
    let page = stdout(&out);
    assert!(page.contains(".TH netreach 1") && page.contains(".SH SUBCOMMANDS"), "{page}");
    assert!(!page.contains("netreach\\-help(1)"), "clap's help pseudo-command is no page");
    for command in commands() {
        assert!(page.contains(&format!("netreach\\-{command}(1)")), "netreach(1) does not list {command}");
        let sub = stdout(&netreach(&["man", &command]));
        assert!(sub.starts_with(".ie") && sub.contains(&format!(".TH netreach-{command} 1")), "{command}: {sub}");
        assert!(sub.contains(env!("CARGO_PKG_VERSION")), "{command}: the page names the version");
    }
    let audit = stdout(&netreach(&["man", "audit"]));
    assert!(
        audit.contains("\\-\\-fail\\-on") && audit.contains("NR101"),
        "a command's page has its options and long help"
    );
}

#[test]
fn man_for_an_unknown_command_names_the_commands() {
    assert_run_snapshot!(netreach(&["man", "audits"]));
}

/// The built binary linked as `kubectl-netreach` in a folder, run through PATH as kubectl runs
/// its plugins.
fn kubectl_plugin(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_netreach"), dir.path().join("kubectl-netreach")).unwrap();
    Command::new("kubectl-netreach")
        .args(args)
        .env("PATH", dir.path())
        .env("NO_COLOR", "1")
        .current_dir(fixtures())
        .output()
        .unwrap()
}

#[test]
fn as_a_kubectl_plugin_usage_and_help_say_kubectl_netreach() {
    let help = stdout(&kubectl_plugin(&["--help"]));
    assert!(help.contains("Usage: kubectl netreach <COMMAND>"), "{help}");
    assert!(help.contains("\n  kubectl netreach connectivity fixtures/shop\n"), "the examples too: {help}");
    assert!(help.contains("| kubectl netreach connectivity -"), "{help}");
    assert!(!help.contains("\n  netreach "), "{help}");
    let can = stdout(&kubectl_plugin(&["can", "--help"]));
    assert!(can.contains("Usage: kubectl netreach can [OPTIONS] <FROM> <TO>"), "{can}");
    assert!(can.contains("\n  kubectl netreach can shop/frontend shop/cart"), "{can}");
    assert_run_snapshot!(kubectl_plugin(&["can", "shop/frontend"]));
    // It is the same program: it answers as netreach does.
    let out = kubectl_plugin(&["can", "shop/frontend", "shop/cart", "--port", "7070", "shop", "-q"]);
    assert_eq!(out.stdout, netreach(&["can", "shop/frontend", "shop/cart", "--port", "7070", "shop", "-q"]).stdout);
}

#[test]
fn as_netreach_usage_says_netreach() {
    let help = stdout(&netreach(&["--help"]));
    assert!(help.contains("Usage: netreach <COMMAND>") && !help.contains("kubectl netreach"), "{help}");
}

/// `-n/--namespace` with files: the engine reads every namespace; the answer keeps what
/// concerns NS.
mod namespace_flag {
    use crate::support::{netreach, run_report, stderr, stdout};
    use serde_json::Value;

    fn json(args: &[&str]) -> Value {
        let out = netreach(args);
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}:\n{}", run_report(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    }

    #[test]
    fn audit_keeps_findings_and_scores_concerning_the_namespaces() {
        let all = json(&["audit", "weak", "-o", "json"]);
        let billing = json(&["audit", "weak", "-n", "billing", "-o", "json"]);
        let findings = billing["findings"].as_array().unwrap();
        assert!(!findings.is_empty() && findings.len() < all["findings"].as_array().unwrap().len());
        for f in findings {
            let named = f["objects"].as_array().unwrap().iter().any(|o| o["namespace"] == "billing");
            assert!(f["namespace"] == "billing" || named, "{f}");
        }
        // Every finding of `all` that concerns billing is kept, in the same order.
        let expected: Vec<&Value> = all["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| {
                f["namespace"] == "billing"
                    || f["objects"].as_array().unwrap().iter().any(|o| o["namespace"] == "billing")
            })
            .collect();
        assert_eq!(findings.iter().collect::<Vec<_>>(), expected);
        let scores: Vec<&Value> = billing["segmentation"].as_array().unwrap().iter().map(|s| &s["namespace"]).collect();
        assert_eq!(scores, ["billing"]);
        // kube-system's NR010 findings name the namespaces whose pods reach it.
        let kube = json(&["audit", "weak", "-n", "kube-system", "-o", "json"]);
        assert!(kube["findings"].as_array().unwrap().iter().any(|f| f["id"] == "NR010"), "{kube}");
        // --fail-on counts the kept findings only: code_scanning::annotations_… shows it.
    }

    #[test]
    fn an_unknown_namespace_is_an_error_with_a_suggestion() {
        for args in [
            &["audit", "weak", "-n", "biling"][..],
            &["can", "shop/frontend", "shop/cart", "shop", "-n", "shpo"],
            &["paths", "--from", "any", "shop", "-n", "shpo"],
            &["check", "--invariants", "invariants/shop.yaml", "shop", "-n", "shpo"],
        ] {
            let out = netreach(args);
            assert_eq!(out.status.code(), Some(2), "{args:?}:\n{}", run_report(&out));
            assert!(out.stdout.is_empty());
            assert!(stderr(&out).contains("--namespace") && stderr(&out).contains("did you mean"), "{}", stderr(&out));
        }
    }

    #[test]
    fn can_and_paths_select_only_pods_in_the_namespaces() {
        let out = netreach(&["can", "shop/frontend", "payments/payment-gateway", "shop", "-n", "shop"]);
        assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
        assert!(stderr(&out).contains("selects no pod in namespace(s) shop"), "{}", stderr(&out));
        // Both ends in NS, or an address: the same answer as without -n.
        let with = netreach(&["can", "shop/frontend", "shop/cart", "shop", "-n", "shop", "-o", "json"]);
        let without = netreach(&["can", "shop/frontend", "shop/cart", "shop", "-o", "json"]);
        assert_eq!(stdout(&with), stdout(&without));
        // Paths from anywhere in NS to anything in NS, through pods elsewhere.
        let paths = json(&["paths", "--from", "internet", "shop", "-n", "data", "-o", "json"]);
        let targets: Vec<&str> =
            paths["paths"].as_array().unwrap().iter().map(|p| p["target"].as_str().unwrap()).collect();
        assert!(targets.contains(&"data/postgres-0"), "{targets:?}");
        assert!(targets.iter().all(|t| t.starts_with("data/") || t.starts_with("external:")), "{targets:?}");
        // Without -n the same search reaches other namespaces too (kube-system's node agent).
        let all = json(&["paths", "--from", "internet", "shop", "-o", "json"]);
        assert!(all["paths"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["target"].as_str().unwrap().starts_with("kube-system/")));
    }

    #[test]
    fn check_limits_selections_to_the_namespaces() {
        let file = "invariants/shop.yaml";
        let all = json(&["check", "--invariants", file, "shop", "-o", "json"]);
        let shop = json(&["check", "--invariants", file, "shop", "-n", "shop", "-o", "json"]);
        let isolated = |report: &Value| -> u64 {
            let list = report["invariants"].as_array().unwrap();
            list.iter().find(|i| i["kind"] == "isolated").unwrap()["checked"].as_u64().unwrap()
        };
        // The shop namespace has 11 pods (the audit's table); all three namespaces more.
        assert_eq!(isolated(&shop), 11);
        assert!(isolated(&all) > 11);
    }

    #[test]
    fn mesh_narrows_its_report_to_the_namespaces_with_files() {
        let fixture = "mesh/istio-bookinfo-like";
        let all = json(&["mesh", fixture, "--level", "pod", "-o", "json"]);
        let narrowed = json(&["mesh", fixture, "--level", "pod", "-n", "bookinfo", "-o", "json"]);
        let namespaces = |r: &Value| -> Vec<String> {
            r["namespaces"].as_array().unwrap().iter().map(|c| c["namespace"].as_str().unwrap().to_string()).collect()
        };
        assert!(namespaces(&all).len() > 1, "{:?}", namespaces(&all));
        assert_eq!(namespaces(&narrowed), ["bookinfo"]);
        let in_bookinfo = |id: &str| id.starts_with("bookinfo/");
        let connections = |r: &Value| r["connections"].as_array().unwrap().clone();
        let kept: Vec<Value> = connections(&all)
            .into_iter()
            .filter(|c| in_bookinfo(c["src"].as_str().unwrap()) || in_bookinfo(c["dst"].as_str().unwrap()))
            .collect();
        assert!(!kept.is_empty() && kept.len() < connections(&all).len());
        assert_eq!(connections(&narrowed), kept, "the connections with an end in bookinfo, as analyzed whole");
        assert!(narrowed["pods"].as_array().unwrap().iter().all(|p| in_bookinfo(p["id"].as_str().unwrap())));
        let narrowed_findings = narrowed["findings"].as_array().unwrap();
        assert!(narrowed_findings.len() <= all["findings"].as_array().unwrap().len());
        assert!(narrowed_findings.iter().all(|f| f.to_string().contains("bookinfo")), "{narrowed_findings:?}");
    }
}

/// Kustomizations and Helm charts are rendered by the tool users run, found on PATH; fake
/// renderers stand in for them here, so the tests need neither installed.
mod rendered_folders {
    use crate::support::{netreach_command, run_report, stderr, stdout};
    use std::path::PathBuf;
    use std::process::Output;

    /// What the fake renderers print: one namespace and one pod.
    const RENDERED: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: rendered}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: rendered, labels: {app: web}}\n\
spec: {containers: [{name: c, image: nginx}]}\n";

    /// A temporary folder with `bin/` (the only PATH entry) and a source folder `app/` holding
    /// `marker` (kustomization.yaml or Chart.yaml) and a raw manifest that must never be read.
    struct Setup {
        dir: tempfile::TempDir,
    }

    impl Setup {
        fn new(marker: &str) -> Setup {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("bin")).unwrap();
            std::fs::create_dir_all(dir.path().join("app")).unwrap();
            std::fs::write(dir.path().join("app").join(marker), "resources: [raw.yaml]\n").unwrap();
            std::fs::write(
                dir.path().join("app/raw.yaml"),
                "apiVersion: v1\nkind: Pod\nmetadata: {name: raw-not-rendered, namespace: x}\nspec: {containers: [{name: c, image: i}]}\n",
            )
            .unwrap();
            Setup { dir }
        }

        fn path(&self, p: &str) -> PathBuf {
            self.dir.path().join(p)
        }

        /// A fake `name` on PATH that records its arguments in `bin/NAME.args`, prints `out` and exits `code`.
        fn fake(&self, name: &str, out: &str, code: i32) {
            use std::os::unix::fs::PermissionsExt;
            let script = self.path("bin").join(name);
            // PATH holds only bin/: the script finds `cat` itself.
            let body = format!(
                "#!/bin/sh\nPATH=/usr/bin:/bin\necho \"$@\" > \"$0.args\"\ncat <<'YAML'\n{out}YAML\necho 'fake {name} says boom' >&2\nexit {code}\n"
            );
            std::fs::write(&script, body).unwrap();
            std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        }

        fn args_of(&self, name: &str) -> String {
            std::fs::read_to_string(self.path("bin").join(format!("{name}.args"))).unwrap_or_default()
        }

        fn run(&self, args: &[&str]) -> Output {
            netreach_command().args(args).env("PATH", self.path("bin")).current_dir(self.dir.path()).output().unwrap()
        }
    }

    fn pods(out: &Output) -> Vec<String> {
        assert_eq!(out.status.code(), Some(0), "{}", run_report(out));
        let json: serde_json::Value = serde_json::from_str(&stdout(out)).unwrap();
        let nodes = json["nodes"].as_array().unwrap().iter();
        nodes.filter(|n| n["kind"] == "Pod").map(|n| n["id"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn a_kustomization_is_rendered_with_kubectl_else_kustomize() {
        let s = Setup::new("kustomization.yaml");
        s.fake("kustomize", RENDERED, 0);
        let out = s.run(&["connectivity", "app", "-o", "json"]);
        assert_eq!(pods(&out), ["rendered/web"]);
        assert_eq!(s.args_of("kustomize").trim(), "build app");
        // kubectl first, when both are there.
        s.fake("kubectl", RENDERED, 0);
        let out = s.run(&["audit", "app", "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        assert_eq!(s.args_of("kubectl").trim(), "kustomize app");
        assert!(!stdout(&out).contains("raw-not-rendered"));
    }

    #[test]
    fn a_helm_chart_is_rendered_with_helm_template() {
        let s = Setup::new("Chart.yaml");
        s.fake("helm", RENDERED, 0);
        let out = s.run(&["connectivity", "app", "-o", "json"]);
        assert_eq!(pods(&out), ["rendered/web"]);
        assert_eq!(s.args_of("helm").trim(), "template app");
    }

    #[test]
    fn without_a_renderer_or_when_it_fails_the_exit_is_2_with_the_command_to_run() {
        for (marker, hint) in [("kustomization.yaml", "kubectl kustomize app"), ("Chart.yaml", "helm template app")] {
            let s = Setup::new(marker);
            let out = s.run(&["audit", "app"]);
            assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
            assert!(out.stdout.is_empty());
            let err = stderr(&out);
            assert!(err.contains("not on PATH") && err.contains(hint), "{err}");
            assert!(!err.contains("raw-not-rendered"), "{err}");
        }
        let s = Setup::new("kustomization.yaml");
        s.fake("kubectl", "", 1);
        let out = s.run(&["connectivity", "app"]);
        assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
        assert!(
            stderr(&out).contains("`kubectl kustomize app` failed") && stderr(&out).contains("boom"),
            "{}",
            stderr(&out)
        );
        // Rendered, but nothing in it: nothing to analyze, as for any empty input.
        s.fake("kubectl", "", 0);
        let out = s.run(&["connectivity", "app"]);
        assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
    }

    #[test]
    fn a_kustomization_inside_a_folder_given_is_never_read_raw() {
        let s = Setup::new("kustomization.yaml");
        s.fake("kubectl", RENDERED, 0);
        std::fs::write(s.path("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n").unwrap();
        let out = s.run(&["audit", "."]);
        assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
        let err = stderr(&out);
        assert!(err.contains("app: a kustomization") && err.contains("kubectl kustomize ./app"), "{err}");
        // Named beside the other file, it is rendered.
        let out = s.run(&["audit", "app", "ns.yaml", "-o", "json"]);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
    }
}

/// `audit -o sarif`, `check -o sarif` and suppressions (annotations, `--baseline`).
mod code_scanning {
    use crate::support::{fixtures, netreach, netreach_command, repo, run_report, stderr, stdout};
    use serde_json::Value;
    use std::path::Path;
    use std::process::Output;

    fn json_of(out: &Output) -> Value {
        serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("{e}:\n{}", run_report(out)))
    }

    /// Validates `document` against the SARIF 2.1.0 schema vendored in analyzer/tests/schemas
    /// (Python's jsonschema, which .ci/run installs: missing, the test fails rather than passes).
    fn assert_valid_sarif(document: &str) {
        let schema = repo().join("analyzer/tests/schemas/sarif-schema-2.1.0.json");
        let script = "import json, sys, jsonschema\n\
schema = json.load(open(sys.argv[1]))\n\
errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(json.load(sys.stdin)), key=str)\n\
for e in errors[:5]: print(list(e.absolute_path), e.message)\n\
sys.exit(1 if errors else 0)\n";
        let mut child = std::process::Command::new("python3")
            .args(["-c", script, schema.to_str().unwrap()])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect(
                "python3 validates SARIF against its schema: install python3 and python3-jsonschema (.ci/run does)",
            );
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), document.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "not valid SARIF 2.1.0:\n{}{}", stdout(&out), stderr(&out));
    }

    fn result_for<'a>(sarif: &'a Value, rule: &str, object: &str) -> &'a Value {
        sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["ruleId"] == rule
                    && r["locations"].as_array().unwrap().iter().any(|l| {
                        l["logicalLocations"][0]["fullyQualifiedName"].as_str().is_some_and(|n| n.contains(object))
                    })
            })
            .unwrap_or_else(|| panic!("no {rule} result about {object}"))
    }

    #[test]
    fn audit_sarif_is_valid_with_a_rule_per_check_and_results_at_their_lines() {
        let out = netreach(&["audit", "weak", "-o", "sarif"]);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        assert_valid_sarif(&stdout(&out));
        let sarif = json_of(&out);
        assert_eq!(sarif["version"], "2.1.0");
        let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = (1..=22)
            .map(|n| format!("NR{n:03}"))
            .chain((201..=204).chain(221..=224).chain(301..=305).chain(101..=109).map(|n| format!("NR{n}")))
            .collect();
        assert_eq!(ids, expected);
        assert!(rules.iter().all(|r| r["help"]["text"].as_str().is_some_and(|t| t.len() > 40)));
        // As many results as `-o json` has findings, each pointing at its rule.
        let findings = json_of(&netreach(&["audit", "weak", "-o", "json"]))["findings"].as_array().unwrap().len();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), findings);
        for r in results {
            assert_eq!(rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"], r["ruleId"]);
        }
        // weak/monitoring.yaml: node-agent's document starts at line 3 (after two comment
        // lines), node-exporter's after the `---` of line 42.
        let at = |r: &Value| {
            let p = &r["locations"][0]["physicalLocation"];
            (p["artifactLocation"]["uri"].as_str().unwrap().to_string(), p["region"]["startLine"].as_u64().unwrap())
        };
        assert_eq!(at(result_for(&sarif, "NR006", "monitoring/node-agent")), ("weak/monitoring.yaml".into(), 3));
        assert_eq!(at(result_for(&sarif, "NR005", "monitoring/node-exporter")), ("weak/monitoring.yaml".into(), 43));
        assert_eq!(result_for(&sarif, "NR006", "node-agent")["level"], "error");
        assert_eq!(result_for(&sarif, "NR005", "node-exporter")["level"], "warning");
    }

    #[test]
    fn sarif_locates_json_documents_and_list_items_at_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let pod = |name: &str, namespace: &str| {
            format!(
                "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {{\"name\": \"{name}\", \"namespace\": \"{namespace}\"}},\n  \
                 \"spec\": {{\"hostNetwork\": true, \"containers\": [{{\"name\": \"c\", \"image\": \"x\"}}]}}\n}}"
            )
        };
        // A List (its Pod item at line 6) and, after it, a second document (line 14).
        let text = format!(
            "{{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"List\",\n  \"items\": [\n    \
             {{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {{\"name\": \"edge\"}}}},\n{}\n  ]\n}}\n{}\n",
            pod("agent", "edge"),
            pod("relay", "core")
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[5].starts_with('{') && lines[8].contains("agent") && lines[13] == "{", "{text}");
        std::fs::write(dir.path().join("cluster.json"), &text).unwrap();
        let out =
            netreach_command().args(["audit", "cluster.json", "-o", "sarif"]).current_dir(dir.path()).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        assert_valid_sarif(&stdout(&out));
        let sarif = json_of(&out);
        let line = |object: &str| {
            result_for(&sarif, "NR005", object)["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64()
        };
        assert_eq!(line("edge/agent"), Some(6));
        assert_eq!(line("core/relay"), Some(14));
    }

    #[test]
    fn check_sarif_is_valid_and_points_at_the_failed_invariants() {
        let file = "invariants/shop.yaml";
        let out = netreach(&["check", "--invariants", file, "invariants/shop-broken", "-o", "sarif"]);
        assert_eq!(out.status.code(), Some(1), "{}", run_report(&out));
        assert_valid_sarif(&stdout(&out));
        let sarif = json_of(&out);
        let failed = json_of(&netreach(&["check", "--invariants", file, "invariants/shop-broken", "-o", "json"]));
        let failed: Vec<&Value> =
            failed["invariants"].as_array().unwrap().iter().filter(|i| i["status"] == "fail").collect();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), failed.len());
        let text = std::fs::read_to_string(fixtures().join(file)).unwrap();
        for (r, f) in results.iter().zip(&failed) {
            assert_eq!(r["ruleId"], f["kind"]);
            let line = r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap() as usize;
            let name = f["name"].as_str().unwrap();
            assert!(text.lines().nth(line - 1).unwrap().contains(name), "line {line} is not {name}'s");
        }
    }

    /// weak/ copied, with `netreach.io/ignore` on the node-agent DaemonSet (NR006) and on the
    /// billing Namespace (NR001, NR003).
    fn annotated_weak(dir: &Path) {
        for entry in std::fs::read_dir(fixtures().join("weak")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let edit = |file: &str, after: &str, insert: &str| {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(text.contains(after), "{file}: {after}");
            std::fs::write(&path, text.replacen(after, &format!("{after}{insert}"), 1)).unwrap();
        };
        edit(
            "monitoring.yaml",
            "  name: node-agent\n  namespace: monitoring\n",
            "  annotations:\n    netreach.io/ignore: \"NR006\"\n",
        );
        edit("namespaces.yaml", "  name: billing\n", "  annotations:\n    netreach.io/ignore: \"NR001, NR003\"\n");
    }

    fn ids(list: &Value) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["id"].as_str().unwrap(), f["namespace"].as_str().unwrap_or("-")))
            .collect()
    }

    #[test]
    fn annotations_suppress_findings_which_stay_listed_and_do_not_fail() {
        let dir = tempfile::tempdir().unwrap();
        annotated_weak(dir.path());
        let weak = dir.path().to_str().unwrap();
        let before = json_of(&netreach(&["audit", "weak", "-o", "json"]));
        let after = json_of(&netreach(&["audit", weak, "-o", "json"]));
        assert_eq!(ids(&after["suppressed"]), ["NR006 monitoring", "NR001 billing", "NR003 billing"]);
        let by = &after["suppressed"][0]["suppressedBy"];
        assert_eq!(by["kind"], "annotation");
        assert_eq!(by["objects"][0], "DaemonSet monitoring/node-agent");
        assert_eq!(after["suppressed"][1]["suppressedBy"]["objects"][0], "Namespace billing");
        // Nothing lost: every finding is counted or suppressed.
        let total = |r: &Value| r["findings"].as_array().unwrap().len() + r["suppressed"].as_array().unwrap().len();
        assert_eq!(total(&after), total(&before));
        // NR007 names node-agent and node-exporter: one annotated object does not hide it.
        assert!(ids(&after["findings"]).contains(&"NR007 monitoring".to_string()));
        // --fail-on: monitoring's only high finding (NR006) is suppressed.
        assert_eq!(netreach(&["audit", "weak", "-n", "monitoring", "--fail-on", "high"]).status.code(), Some(1));
        let out = netreach(&["audit", weak, "-n", "monitoring", "--fail-on", "high"]);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        // Without -n the other namespaces' high findings count (-n narrows --fail-on too).
        assert_eq!(netreach(&["audit", weak, "--fail-on", "high"]).status.code(), Some(1));
        assert!(stdout(&out).contains("1 finding(s) suppressed"), "{}", stdout(&out));
        // SARIF marks them suppressed in source, and stays valid.
        let out = netreach(&["audit", weak, "-o", "sarif"]);
        assert_valid_sarif(&stdout(&out));
        let sarif = json_of(&out);
        let r = result_for(&sarif, "NR006", "node-agent");
        assert_eq!(r["suppressions"][0]["kind"], "inSource");
    }

    #[test]
    fn a_baseline_suppresses_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let baseline = dir.path().join("previous.json");
        let out = netreach(&["audit", "weak", "-n", "billing", "-o", "json"]);
        std::fs::write(&baseline, &out.stdout).unwrap();
        let baseline = baseline.to_str().unwrap();
        let report = json_of(&netreach(&["audit", "weak", "--baseline", baseline, "-o", "json"]));
        let suppressed = report["suppressed"].as_array().unwrap();
        assert_eq!(suppressed.len(), json_of(&out)["findings"].as_array().unwrap().len());
        assert!(suppressed
            .iter()
            .all(|s| s["suppressedBy"] == serde_json::json!({"kind": "baseline", "file": baseline})));
        assert!(!ids(&report["findings"]).iter().any(|f| f.ends_with(" billing")));
        assert!(!report["findings"].as_array().unwrap().is_empty());
        // Everything in the baseline: --fail-on passes.
        let all = dir.path().join("all.json");
        std::fs::write(&all, netreach(&["audit", "weak", "-o", "json"]).stdout).unwrap();
        let out = netreach(&["audit", "weak", "--baseline", all.to_str().unwrap(), "--fail-on", "low"]);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        // A file that is no audit JSON: exit 2, naming it, before anything is read.
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"connections\": []}").unwrap();
        let out = netreach_command()
            .args(["audit", "weak", "--baseline", bad.to_str().unwrap()])
            .current_dir(fixtures())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", run_report(&out));
        assert!(stderr(&out).contains("bad.json") && out.stdout.is_empty(), "{}", stderr(&out));
    }

    #[test]
    fn mesh_fail_on_counts_mesh_findings_like_audit() {
        let set = "mesh/istio-bookinfo-like";
        let audit = json_of(&netreach(&["audit", set, "-o", "json"]));
        let worst = audit["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["id"].as_str().unwrap().starts_with("NR1"))
            .map(|f| match f["severity"].as_str().unwrap() {
                "high" => 3,
                "medium" => 2,
                "low" => 1,
                _ => 0,
            })
            .max()
            .expect("the fixture has mesh findings");
        let names = ["info", "low", "medium", "high"];
        let out = netreach(&["mesh", set, "--fail-on", names[worst]]);
        assert_eq!(out.status.code(), Some(1), "{}", run_report(&out));
        if worst < 3 {
            assert_eq!(netreach(&["mesh", set, "--fail-on", names[worst + 1]]).status.code(), Some(0));
        }
        assert_eq!(netreach(&["mesh", set]).status.code(), Some(0));
    }
}

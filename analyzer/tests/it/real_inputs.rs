//! Real folders of manifests as users feed them: what kubectl accepts loads, every error of a
//! run is reported at once, and a policy that is not evaluated is never silent.

use crate::support::{assert_run_snapshot, fixtures, netreach, stderr};
use netreach::load::load_str;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo, labels: {app: a}}\nspec: {containers: [{name: c, image: nginx}]}\n";

#[test]
fn every_invalid_document_and_file_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-syntax.yaml", "kind: Pod\nmetadata: {name: x\n");
    write(
        dir.path(),
        "b-two-bad.yaml",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: demo}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/33}}]}]}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: demo}\nspec: {containers: [{name: c, ports: [{containerPort: 70000}]}]}\n",
    );
    write(dir.path(), "c-good.yaml", POD);
    write(dir.path(), "d-bad.json", "{\"kind\": \"Pod\",}");
    let out = netreach(&["connectivity", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(lines.iter().all(|l| l.starts_with("error: ")), "{err}");
    assert!(lines[0].contains("a-syntax.yaml: invalid YAML"), "{err}");
    assert!(lines[1].contains("d-bad.json: invalid JSON"), "files that cannot be parsed come first: {err}");
    assert!(
        lines[2]
            .contains("b-two-bad.yaml: document 1: NetworkPolicy demo/p: field spec.ingress[0].from[0].ipBlock.cidr"),
        "{err}"
    );
    assert!(
        lines[3].contains("b-two-bad.yaml: document 2: Pod demo/b: field spec.containers[0].ports[0].containerPort"),
        "{err}"
    );
}

#[test]
fn yaml_1_1_as_kubectl_reads_it() {
    // Octal file modes, as bitnami charts write them.
    let octal = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: demo}\nspec:\n  selector: {matchLabels: {app: d}}\n  template:\n    metadata: {labels: {app: d}}\n    spec:\n      containers: [{name: c, image: nginx}]\n      volumes: [{name: v, configMap: {name: cm, defaultMode: 0755}}]\n";
    assert!(load_str("octal.yaml", octal).is_ok());
    // `name: y` is a boolean in YAML 1.1: kubectl rejects it too; say to quote it.
    let e = load_str(
        "y.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: y, namespace: demo}\nspec: {containers: [{name: c}]}\n",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("field metadata.name: is the boolean true") && e.contains("quote it"), "{e}");
    let e = load_str(
        "on.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo}\nspec: {containers: [{name: on}]}\n",
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("spec.containers[0].name") && e.contains("quote it"), "{e}");
}

#[test]
fn extensions_v1beta1_network_policy_is_evaluated_with_a_warning() {
    let text = format!(
        "{POD}---\napiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {{name: deny, namespace: demo}}\nspec: {{podSelector: {{}}}}\n"
    );
    let loaded = load_str("old.yaml", &text).unwrap();
    assert_eq!(loaded.cluster.policies.len(), 1);
    assert!(
        loaded
            .report
            .warnings
            .iter()
            .any(|w| w.contains("extensions/v1beta1 NetworkPolicy was removed in Kubernetes 1.16")),
        "{:?}",
        loaded.report.warnings
    );
}

#[test]
fn the_alpha_policy_format_is_an_error_that_says_what_it_is() {
    let alpha = "apiVersion: net.alpha.kubernetes.io/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: pol1}\nspec:\n  podSelector: {matchLabels: {role: backend}}\n  ingress:\n  - from: [{pods: {matchLabels: {role: frontend}}}]\n    ports: [{protocol: tcp, port: 80}]\n";
    let e = load_str("alpha.yaml", alpha).err().unwrap().to_string();
    assert!(e.contains("field apiVersion: net.alpha.kubernetes.io/v1alpha1 is the alpha network policy format"), "{e}");
    assert!(e.contains("rewrite it as a networking.k8s.io/v1 NetworkPolicy"), "{e}");
}

#[test]
fn unevaluated_policies_are_warnings_and_listed_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let cnp =
        "apiVersion: crd.antrea.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: l3, namespace: demo}\nspec: {}\n";
    let ap = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: deny, namespace: demo}\nspec: {}\n";
    let file = write(dir.path(), "all.yaml", &format!("{POD}---\n{cnp}---\n{ap}"));
    // -q hides notes, never these warnings.
    let out = netreach(&["connectivity", file.to_str().unwrap(), "-o", "json", "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: the answers ignore 1 NetworkPolicy object(s) (crd.antrea.io/v1beta1): netreach does not evaluate this kind yet, so traffic they deny is reported as allowed"), "{err}");
    assert!(
        err.contains("warning: the answers ignore 1 AuthorizationPolicy object(s) (security.istio.io/v1)"),
        "{err}"
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = json["unevaluatedPolicies"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["kind"], "AuthorizationPolicy");
    assert_eq!(listed[1]["kind"], "NetworkPolicy");
    assert_eq!(listed[1]["namespace"], "demo");
    // `mesh` evaluates the AuthorizationPolicy: it lists the Calico policy only.
    for (command, listed) in [(&["can", "demo/a", "demo/a"][..], 2), (&["paths", "--from", "any"], 2), (&["mesh"], 1)] {
        let mut args = command.to_vec();
        args.extend([file.to_str().unwrap(), "-o", "json", "-q"]);
        let out = netreach(&args);
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&out)));
        assert_eq!(json["unevaluatedPolicies"].as_array().map(Vec::len), Some(listed), "{args:?}");
    }
}

#[test]
fn build_files_and_templates_get_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [pod.yaml]\n",
    );
    write(dir.path(), "pod.yaml", POD);
    // Named as files, not as the folder (which would be rendered: ecosystem::rendered_folders).
    let files = ["kustomization.yaml", "pod.yaml"].map(|f| dir.path().join(f).to_str().unwrap().to_string());
    let out = netreach(&["connectivity", &files[0], &files[1]]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains(
            "Kustomization is a kustomize file, not an object: render the folder with `kubectl kustomize DIR"
        ),
        "{}",
        stderr(&out)
    );

    let chart = tempfile::tempdir().unwrap();
    write(chart.path(), "Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n");
    std::fs::create_dir(chart.path().join("templates")).unwrap();
    write(&chart.path().join("templates"), "pod.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n  labels:\n    {{- include \"x\" . | nindent 4 }}\n");
    // The chart folder goes to `helm template` (exit 2 when helm is missing, or when it fails on
    // this template); its templates named as files get the hint.
    let out = netreach(&["connectivity", chart.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("helm template"), "{}", stderr(&out));
    let out = netreach(&["connectivity", chart.path().join("templates").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unrendered Helm template: render the chart first"), "{}", stderr(&out));
}

#[test]
fn empty_inputs_are_errors_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = netreach(&["connectivity", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no .yaml, .yml or .json file in this folder"), "{}", stderr(&out));
    write(dir.path(), "values.yaml", "replicaCount: 1\n");
    let out = netreach(&["connectivity", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no Kubernetes object in the input (1 file(s) read)"), "{}", stderr(&out));
}

#[test]
fn audit_findings_an_unevaluated_policy_could_falsify_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let cnp =
        "apiVersion: crd.antrea.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: l3, namespace: demo}\nspec: {}\n";
    let file = write(dir.path(), "all.yaml", &format!("{POD}---\n{cnp}"));
    let out = netreach(&["audit", file.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["unevaluatedPolicies"][0]["kind"], "NetworkPolicy");
    let nr001 =
        json["findings"].as_array().unwrap().iter().find(|f| f["id"] == "NR001").expect("demo has no default deny");
    assert!(
        nr001["message"]
            .as_str()
            .unwrap()
            .contains("unverified: NetworkPolicy object(s) netreach does not evaluate apply here"),
        "{nr001}"
    );
}

#[test]
fn skip_invalid_analyzes_the_rest_and_every_output_says_so() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.yaml", POD);
    write(
        dir.path(),
        "b.yaml",
        &POD.replace("name: a,", "name: b,").replace("image: nginx", "image: nginx, ports: [{containerPort: 0}]"),
    );
    write(dir.path(), "c.yaml", "kind: [\n");
    let path = dir.path().to_str().unwrap();
    let out = netreach(&["connectivity", path, "--skip-invalid"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("warning: left out (--skip-invalid): ") && err.contains("c.yaml: invalid YAML"), "{err}");
    assert!(err.contains("b.yaml: document 1: Pod demo/b: field spec.containers[0].ports[0].containerPort"), "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Incomplete: this answer leaves out 2 invalid document(s) left out (--skip-invalid)"),
        "{text}"
    );
    let out = netreach(&["connectivity", path, "--skip-invalid", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["incomplete"].as_array().unwrap().len(), 2);
    let pods: Vec<&str> = json["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "Pod")
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(pods, ["a"]);
    let out = netreach(&["connectivity", path, "--skip-invalid", "-o", "summary"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("Incomplete:"));
    let out = netreach(&["audit", path, "--skip-invalid", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["incomplete"].as_array().unwrap().len(), 2);
    // Without it, both are errors.
    let out = netreach(&["connectivity", path]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 2);
}

#[test]
fn unknown_fields_are_named_as_written() {
    let typo = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo}\nspec: {containers: [{name: c, ports: [{containerport: 80}]}]}\n";
    let e = load_str("typo.yaml", typo).err().unwrap().to_string();
    assert_eq!(
        e,
        "typo.yaml: document 1: Pod demo/a: field spec.containers[0].ports[0].containerport: unknown field `containerport`: did you mean `containerPort`? (kubectl's strict field validation rejects it; without it, 0 is not a valid port (1-65535))"
    );
    // An unknown field that breaks nothing is a warning (it may be newer than this netreach).
    let extra = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: demo}\nspec: {containers: [{name: c, imagePullPolicyy: Always}]}\n";
    let loaded = load_str("extra.yaml", extra).unwrap();
    assert!(
        loaded
            .report
            .warnings
            .iter()
            .any(|w| w.contains("field spec.containers[0].imagePullPolicyy: unknown field, ignored")),
        "{:?}",
        loaded.report.warnings
    );
}

#[test]
fn selector_labels_are_validated_as_the_api_server_does() {
    let policy = |selector: &str| {
        format!("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: demo}}\nspec:\n  podSelector: {selector}\n")
    };
    let e = load_str("p.yaml", &policy("{matchLabels: {\"app name\": web}}")).err().unwrap().to_string();
    assert!(e.contains("field spec.podSelector.matchLabels: label key \"app name\""), "{e}");
    let e = load_str("p.yaml", &policy("{matchLabels: {app: \"-web\"}}")).err().unwrap().to_string();
    assert!(e.contains("label value \"-web\" must be alphanumerics"), "{e}");
    let e = load_str("p.yaml", &policy("{matchExpressions: [{key: \"Example.COM/app\", operator: Exists}]}"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("spec.podSelector.matchExpressions[0].key: label key \"Example.COM/app\": the prefix must be a DNS subdomain"), "{e}");
    let e = load_str(
        "p.yaml",
        &policy(&format!("{{matchExpressions: [{{key: app, operator: In, values: [ok, \"{}\"]}}]}}", "x".repeat(64))),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("matchExpressions[0].values[1]: label value"), "{e}");
    for good in [
        "{matchLabels: {app.kubernetes.io/name: web, tier: \"\"}}",
        "{matchExpressions: [{key: k8s-app, operator: NotIn, values: [a_b.c-d]}]}",
    ] {
        assert!(load_str("p.yaml", &policy(good)).is_ok(), "{good}");
    }
}

#[test]
fn helm_hooks_are_noted() {
    let hook = "apiVersion: v1\nkind: Pod\nmetadata: {name: t, namespace: demo, annotations: {helm.sh/hook: test}}\nspec: {containers: [{name: c}]}\n";
    let loaded = load_str("hook.yaml", &format!("{POD}---\n{hook}")).unwrap();
    let notes = loaded.report.notes().join("\n");
    assert!(
        notes.contains("1 Helm hook(s) analyzed as if running") && notes.contains("Pod demo/t (helm.sh/hook: test)"),
        "{notes}"
    );
}

/// Everything users are told about a real folder, as one snapshot: exit code, stdout, stderr.
#[test]
fn what_users_are_told_about_a_real_folder() {
    assert_run_snapshot!(netreach(&["connectivity", "small/real-inputs"]));
}

#[test]
fn names_that_match_nothing_suggest_the_closest() {
    let shop = fixtures().join("shop");
    let shop = shop.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["can", "shop/frontnd", "shop/cart", shop],
            "error: no pod or workload shop/frontnd (did you mean \"shop/frontend\"?)",
        ),
        (vec!["paths", "--from", "ns:paymnts", shop], "error: no namespace \"paymnts\" (did you mean \"payments\"?)"),
        (
            vec!["can", "shop/Deployment/chekout", "shop/cart", shop],
            "error: no workload shop/Deployment/chekout (did you mean \"shop/Deployment/checkout\"?)",
        ),
        (vec!["can", "shop/zzz", "shop/cart", shop], "error: no pod or workload shop/zzz"),
        // The same name in another namespace, before any look-alike in this one.
        (
            vec!["can", "shop/postgres", "shop/cart", shop],
            "error: no pod or workload shop/postgres (did you mean \"data/postgres\"?)",
        ),
        // Short names: one edit is a typo too; a shared "shop/" makes no two names alike.
        (vec!["paths", "--from", "ns:dta", shop], "error: no namespace \"dta\" (did you mean \"data\"?)"),
        (
            vec!["can", "shop/Deployment/cart-service", "shop/cart", shop],
            "error: no workload shop/Deployment/cart-service (did you mean \"shop/Deployment/cart\"?)",
        ),
        // Label selectors that select nothing: the closest value, the closest key, a pod's name.
        (
            vec!["can", "app=frontedn,tier=web", "shop/cart", shop],
            "error: \"app=frontedn,tier=web\" selects no pod or address range (did you mean \"app=frontend,tier=web\"?)",
        ),
        (
            vec!["can", "shop/cart", "ap=postgres", shop],
            "error: \"ap=postgres\" selects no pod or address range (did you mean \"app=postgres\"?)",
        ),
        (
            vec!["paths", "--from", "frontend", shop],
            "error: --from \"frontend\" selects nothing (did you mean \"shop/frontend\"?)",
        ),
        (vec!["paths", "--from", "tier=zzz", shop], "error: --from \"tier=zzz\" selects nothing"),
    ] {
        let mut args = args;
        args.push("-q");
        let out = netreach(&args);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(stderr(&out).trim_end(), expected);
    }
}

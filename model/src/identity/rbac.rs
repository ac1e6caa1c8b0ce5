//! RBAC grants → what a ServiceAccount can do next, as attack steps. Rules are matched as the
//! RBAC authorizer matches them (<https://kubernetes.io/docs/reference/access-authn-authz/rbac/>):
//! `*` in apiGroups, resources and verbs; `resource/subresource`; resourceNames never restrict
//! `create`. What each grant leads to follows the privilege-escalation list of
//! <https://kubernetes.io/docs/concepts/security/rbac-good-practices/#privilege-escalation-risks>.

use super::{Binding, Identity, PolicyRule, Role, Subject};
use std::collections::{BTreeMap, BTreeSet};

/// Where a grant holds: one namespace (RoleBinding) or all (`None`, ClusterRoleBinding).
pub type Scope = Option<String>;

/// What a ServiceAccount's grants let it take.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Power {
    /// get/list/watch on secrets: every Secret of the scope, or only `names`.
    #[allow(missing_docs)]
    ReadSecrets { scope: Scope, names: Vec<String> },
    /// create or get on pods/exec or pods/attach: a shell in every pod of the scope (get counts:
    /// the WebSocket upgrade is a GET, kubernetes/kubernetes#78741 and #133515).
    #[allow(missing_docs)]
    ExecPods { scope: Scope },
    /// create on pods or a pod controller: any pod spec in the scope, so its ServiceAccounts,
    /// its Secrets (mounted) and, where Pod Security does not forbid it, a privileged pod on any node.
    #[allow(missing_docs)]
    CreatePods { scope: Scope },
    /// create on serviceaccounts/token, or impersonate on serviceaccounts: those identities.
    #[allow(missing_docs)]
    AccountTokens { scope: Scope, names: Vec<String> },
    /// Everything: `*` on `*`, impersonating users or groups, binding or escalating roles,
    /// nodes/proxy — each through a ClusterRoleBinding.
    ClusterAdmin,
}

/// One power and why: the rule, role and binding it comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// What it allows.
    pub power: Power,
    /// The rule's words, the role and the binding.
    pub reason: String,
}

/// Every ServiceAccount's grants, and the bindings that could not be resolved.
#[derive(Clone, Debug, Default)]
pub struct Grants {
    /// Per ServiceAccount (namespace, name).
    pub per_account: BTreeMap<(String, String), Vec<Grant>>,
    /// Bindings whose role is neither in the input nor a default ClusterRole: they grant nothing here.
    pub unresolved: Vec<String>,
}

/// The default user-facing ClusterRoles, as far as attack steps go, used when a binding names
/// one the input does not define (<https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles>):
/// `edit` and `admin` read Secrets, create pods and workloads, exec and attach, impersonate
/// ServiceAccounts; `view` reads no Secret.
fn default_cluster_role(name: &str) -> Option<Vec<PolicyRule>> {
    let rule = |groups: &[&str], resources: &[&str], verbs: &[&str]| PolicyRule {
        api_groups: groups.iter().map(|s| s.to_string()).collect(),
        resources: resources.iter().map(|s| s.to_string()).collect(),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        resource_names: Vec::new(),
    };
    match name {
        "cluster-admin" => Some(vec![rule(&["*"], &["*"], &["*"])]),
        "admin" | "edit" => Some(vec![
            rule(&[""], &["secrets"], &["get", "list", "watch"]),
            rule(&[""], &["pods", "pods/exec", "pods/attach"], &["create", "get"]),
            rule(&["apps"], &["deployments", "statefulsets", "daemonsets", "replicasets"], &["create"]),
            rule(&["batch"], &["jobs", "cronjobs"], &["create"]),
            rule(&[""], &["serviceaccounts"], &["impersonate"]),
        ]),
        "view" => Some(Vec::new()),
        _ => None,
    }
}

fn any_is(list: &[String], wanted: &str) -> bool {
    list.iter().any(|v| v == "*" || v == wanted)
}

/// Whether a rule's resources name `resource` (`pods/exec`): itself, `*`, `pods/*` or `*/exec`.
fn names_resource(rule: &PolicyRule, resource: &str) -> bool {
    let (main, sub) = resource.split_once('/').map_or((resource, None), |(m, s)| (m, Some(s)));
    rule.resources.iter().any(|r| {
        r == "*"
            || r == resource
            || sub.is_some_and(|s| r.strip_prefix("*/") == Some(s) || r.strip_suffix("/*") == Some(main))
    })
}

/// Whether a rule allows `verb` on `resource` of API `group`.
fn allows(rule: &PolicyRule, group: &str, resource: &str, verb: &str) -> bool {
    any_is(&rule.api_groups, group) && names_resource(rule, resource) && any_is(&rule.verbs, verb)
}

/// The powers one rule gives in `scope`. Cluster-scoped resources (users, groups, nodes,
/// ClusterRoles) are granted only by a ClusterRoleBinding.
fn powers_of(rule: &PolicyRule, scope: &Scope) -> Vec<(Power, String)> {
    let mut out = Vec::new();
    let cluster_wide = scope.is_none();
    let wildcard = rule.api_groups.iter().any(|g| g == "*")
        && rule.resources.iter().any(|r| r == "*")
        && rule.verbs.iter().any(|v| v == "*");
    let impersonates_people = ["users", "groups"].iter().any(|r| allows(rule, "", r, "impersonate"));
    let rbac = "rbac.authorization.k8s.io";
    let binds =
        ["roles", "clusterroles"].iter().any(|r| allows(rule, rbac, r, "bind") || allows(rule, rbac, r, "escalate"));
    let node_proxy = allows(rule, "", "nodes/proxy", "get") || allows(rule, "", "nodes/proxy", "create");
    let admin_why = if wildcard {
        Some("* on *")
    } else if impersonates_people && rule.resource_names.is_empty() {
        Some("impersonate users/groups (system:masters)")
    } else if binds {
        Some("bind/escalate on roles")
    } else if node_proxy {
        Some("nodes/proxy (exec in any pod through the kubelet)")
    } else {
        None
    };
    if let Some(why) = admin_why {
        if cluster_wide && !wildcard {
            return vec![(Power::ClusterAdmin, why.to_string())];
        }
        if cluster_wide {
            out.push((Power::ClusterAdmin, why.to_string()));
        }
        if wildcard || binds {
            // Within one namespace: everything a namespace holds, not the cluster.
            let all = Vec::new;
            out.push((Power::ReadSecrets { scope: scope.clone(), names: all() }, why.to_string()));
            out.push((Power::ExecPods { scope: scope.clone() }, why.to_string()));
            out.push((Power::CreatePods { scope: scope.clone() }, why.to_string()));
            out.push((Power::AccountTokens { scope: scope.clone(), names: all() }, why.to_string()));
            return out;
        }
    }
    let names = rule.resource_names.clone();
    if ["get", "list", "watch"].iter().any(|v| allows(rule, "", "secrets", v)) {
        out.push((Power::ReadSecrets { scope: scope.clone(), names: names.clone() }, "read secrets".into()));
    }
    let exec =
        ["pods/exec", "pods/attach"].iter().find(|r| allows(rule, "", r, "create") || allows(rule, "", r, "get"));
    if let Some(r) = exec {
        out.push((Power::ExecPods { scope: scope.clone() }, r.to_string()));
    }
    const CONTROLLERS: &[(&str, &str)] = &[
        ("", "pods"),
        ("", "replicationcontrollers"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("apps", "daemonsets"),
        ("apps", "replicasets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    ];
    if let Some((_, r)) = CONTROLLERS.iter().find(|(g, r)| allows(rule, g, r, "create")) {
        out.push((Power::CreatePods { scope: scope.clone() }, format!("create {r}")));
    }
    if allows(rule, "", "serviceaccounts/token", "create") {
        out.push((
            Power::AccountTokens { scope: scope.clone(), names: names.clone() },
            "create serviceaccounts/token".into(),
        ));
    } else if allows(rule, "", "serviceaccounts", "impersonate") {
        out.push((Power::AccountTokens { scope: scope.clone(), names }, "impersonate serviceaccounts".into()));
    }
    out
}

/// The rules of every role by (namespace, name), aggregated ClusterRoles with the rules of the
/// ClusterRoles they select (to a fixed point: aggregates of aggregates).
fn effective_rules(identity: &Identity) -> BTreeMap<(Option<String>, String), Vec<PolicyRule>> {
    let mut rules: BTreeMap<(Option<String>, String), Vec<PolicyRule>> =
        identity.roles.iter().map(|r| ((r.namespace.clone(), r.name.clone()), r.rules.clone())).collect();
    let aggregates: Vec<&Role> = identity.roles.iter().filter(|r| !r.aggregation.is_empty()).collect();
    for _ in 0..=aggregates.len() {
        let mut changed = false;
        for agg in &aggregates {
            let mut gathered: Vec<PolicyRule> = Vec::new();
            for other in identity.roles.iter().filter(|o| o.namespace.is_none() && o.name != agg.name) {
                if agg.aggregation.iter().any(|s| s.matches(&other.labels)) {
                    gathered.extend(rules[&(None, other.name.clone())].iter().cloned());
                }
            }
            let own = rules.get_mut(&(None, agg.name.clone())).expect("every role is keyed");
            for rule in gathered {
                if !own.contains(&rule) {
                    own.push(rule);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    rules
}

/// The ServiceAccounts a subject stands for among `accounts`: itself, or a group of them
/// (`system:serviceaccounts`, `system:serviceaccounts:NS`, `system:authenticated`), or the user
/// name a ServiceAccount authenticates as (`system:serviceaccount:NS:NAME`)
/// (<https://kubernetes.io/docs/reference/access-authn-authz/rbac/#referring-to-subjects>).
fn accounts_of<'a>(subject: &'a Subject, accounts: &'a [(String, String)]) -> Vec<(String, String)> {
    match subject {
        Subject::ServiceAccount { namespace, name } => vec![(namespace.clone(), name.clone())],
        Subject::User(user) => user
            .strip_prefix("system:serviceaccount:")
            .and_then(|rest| rest.split_once(':'))
            .map(|(ns, name)| vec![(ns.to_string(), name.to_string())])
            .unwrap_or_default(),
        Subject::Group(group) => match group.as_str() {
            "system:serviceaccounts" | "system:authenticated" => accounts.to_vec(),
            g => match g.strip_prefix("system:serviceaccounts:") {
                Some(ns) => accounts.iter().filter(|(n, _)| n == ns).cloned().collect(),
                None => Vec::new(),
            },
        },
    }
}

/// The grants of every ServiceAccount among `accounts` (and every one a binding names), from
/// each binding, its role's (effective) rules and its subjects.
pub fn grants(identity: &Identity, accounts: &[(String, String)]) -> Grants {
    let rules = effective_rules(identity);
    let mut out = Grants::default();
    let mut seen: BTreeSet<((String, String), Power)> = BTreeSet::new();
    for binding in &identity.bindings {
        let key = (if binding.cluster_role { None } else { binding.namespace.clone() }, binding.role_name.clone());
        let defaults;
        let role_rules: &[PolicyRule] = match rules.get(&key) {
            Some(r) => r,
            None => match binding.cluster_role.then(|| default_cluster_role(&binding.role_name)).flatten() {
                Some(r) => {
                    defaults = r;
                    &defaults
                }
                None => {
                    out.unresolved.push(role_missing(binding));
                    continue;
                }
            },
        };
        let role = if binding.cluster_role {
            format!("ClusterRole {}", binding.role_name)
        } else {
            format!("Role {}/{}", binding.namespace.as_deref().unwrap_or(""), binding.role_name)
        };
        let scope: Scope = binding.namespace.clone();
        let powers: Vec<(Power, String)> = role_rules.iter().flat_map(|r| powers_of(r, &scope)).collect();
        if powers.is_empty() {
            continue;
        }
        for subject in &binding.subjects {
            for account in accounts_of(subject, accounts) {
                for (power, what) in &powers {
                    if seen.insert((account.clone(), power.clone())) {
                        let reason = format!("{what} ({role} via {})", binding.label());
                        out.per_account
                            .entry(account.clone())
                            .or_default()
                            .push(Grant { power: power.clone(), reason });
                    }
                }
            }
        }
    }
    out
}

fn role_missing(binding: &Binding) -> String {
    let kind = if binding.cluster_role { "ClusterRole" } else { "Role" };
    format!(
        "{} binds {kind} {}, which the input does not define: it grants nothing here",
        binding.label(),
        binding.role_name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{LabelSelector, Labels};

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str], names: &[&str]) -> PolicyRule {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        PolicyRule { api_groups: v(groups), resources: v(resources), verbs: v(verbs), resource_names: v(names) }
    }

    fn role(namespace: Option<&str>, name: &str, rules: Vec<PolicyRule>) -> Role {
        Role {
            namespace: namespace.map(String::from),
            name: name.into(),
            labels: Labels::new(),
            rules,
            aggregation: Vec::new(),
        }
    }

    fn bind(namespace: Option<&str>, cluster_role: bool, role: &str, subject: Subject) -> Binding {
        Binding {
            namespace: namespace.map(String::from),
            name: format!("b-{role}"),
            cluster_role,
            role_name: role.into(),
            subjects: vec![subject],
        }
    }

    fn sa(ns: &str, name: &str) -> Subject {
        Subject::ServiceAccount { namespace: ns.into(), name: name.into() }
    }

    fn powers(identity: &Identity, ns: &str, name: &str) -> Vec<Power> {
        let accounts = vec![("a".to_string(), "x".to_string()), ("b".to_string(), "y".to_string())];
        let g = grants(identity, &accounts);
        g.per_account
            .get(&(ns.to_string(), name.to_string()))
            .map_or(Vec::new(), |l| l.iter().map(|g| g.power.clone()).collect())
    }

    #[test]
    fn rules_become_powers_in_the_binding_scope() {
        let identity = Identity {
            roles: vec![
                role(Some("a"), "reader", vec![rule(&[""], &["secrets"], &["get"], &["db"])]),
                role(None, "exec", vec![rule(&[""], &["pods/*"], &["create"], &[])]),
                role(None, "all", vec![rule(&["*"], &["*"], &["*"], &[])]),
            ],
            bindings: vec![
                bind(Some("a"), false, "reader", sa("a", "x")),
                bind(Some("a"), true, "exec", sa("a", "x")),
                bind(Some("b"), true, "all", Subject::Group("system:serviceaccounts:b".into())),
                bind(None, true, "all", Subject::User("system:serviceaccount:a:x".into())),
            ],
            ..Default::default()
        };
        let a = powers(&identity, "a", "x");
        assert!(a.contains(&Power::ReadSecrets { scope: Some("a".into()), names: vec!["db".into()] }));
        assert!(a.contains(&Power::ExecPods { scope: Some("a".into()) }));
        assert!(a.contains(&Power::ClusterAdmin));
        let b = powers(&identity, "b", "y");
        assert!(!b.contains(&Power::ClusterAdmin), "* on * through a RoleBinding is the namespace only");
        assert!(b.contains(&Power::CreatePods { scope: Some("b".into()) }));
    }

    #[test]
    fn aggregation_defaults_and_unresolved_roles() {
        let mut labels = Labels::new();
        labels.insert("agg".into(), "yes".into());
        let mut part = role(None, "part", vec![rule(&["batch"], &["jobs"], &["create"], &[])]);
        part.labels = labels.clone();
        let mut agg = role(None, "agg", Vec::new());
        agg.aggregation = vec![LabelSelector { match_labels: labels, match_expressions: Vec::new() }];
        let identity = Identity {
            roles: vec![agg, part],
            bindings: vec![
                bind(Some("a"), true, "agg", sa("a", "x")),
                bind(Some("b"), true, "edit", sa("b", "y")),
                bind(Some("b"), true, "nowhere", sa("b", "y")),
            ],
            ..Default::default()
        };
        assert_eq!(powers(&identity, "a", "x"), vec![Power::CreatePods { scope: Some("a".into()) }]);
        assert!(powers(&identity, "b", "y").contains(&Power::ExecPods { scope: Some("b".into()) }));
        assert_eq!(grants(&identity, &[]).unresolved.len(), 1);
    }

    #[test]
    fn view_like_rules_give_nothing() {
        let r = rule(&[""], &["pods", "configmaps"], &["get", "list"], &[]);
        assert!(powers_of(&r, &None).is_empty());
        let r = rule(&[""], &["nodes/proxy"], &["get"], &[]);
        assert_eq!(powers_of(&r, &None)[0].0, Power::ClusterAdmin);
        assert!(powers_of(&r, &Some("a".into())).is_empty(), "nodes are cluster-scoped");
    }
}

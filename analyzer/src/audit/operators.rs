//! Operators that create pods later from a custom resource in the input, for NR011 and NR012.
//!
//! A policy written for the pods of `Prometheus monitoring/k8s` selects nothing in the manifests
//! (the StatefulSet and its pods do not exist until prometheus-operator reconciles the custom
//! resource), so "selects no pod" is expected there, not a mistake. The loader does not evaluate
//! these kinds; it hands their identity over ([`SkippedObject`]), and the audit names the custom
//! resource in NR011/NR012 and lowers the severity by one level.
//!
//! A custom resource is named only when it is in the namespace the selector looks in and the
//! labels its operator always puts on the pods it creates do not contradict the selector (a
//! selector asking for `app.kubernetes.io/name=alertmanager` is not about `Prometheus k8s`).
//! Labels the custom resource adds itself (`spec.podMetadata`, templates) are unknown: a selector
//! requirement on any other key is assumed satisfiable.

use crate::load::SkippedObject;
use netreach_model::{LabelSelector, Labels};

/// The value of a label an operator sets on the pods it creates.
#[derive(Clone, Copy)]
enum Value {
    Fixed(&'static str),
    /// The custom resource's `metadata.name`.
    Name,
}

/// One custom resource kind whose operator creates pods.
struct OperatorKind {
    /// API group (the part of `apiVersion` before the `/`); any version.
    group: &'static str,
    kind: &'static str,
    operator: &'static str,
    /// Labels the operator always sets on the pods it creates (they override the custom
    /// resource's own pod labels).
    labels: &'static [(&'static str, Value)],
}

/// Known operator custom resource kinds. Keep it to operators whose pod labels are documented
/// or read from their source; a kind with no labels listed is named for any selector in its
/// namespace.
const OPERATOR_KINDS: &[OperatorKind] = &[
    // prometheus-operator: pkg/prometheus/statefulset.go, pkg/alertmanager/statefulset.go,
    // pkg/thanos/statefulset.go set app.kubernetes.io/name, app.kubernetes.io/instance=<name>
    // and <component>=<name> after merging spec.podMetadata.labels.
    OperatorKind {
        group: "monitoring.coreos.com",
        kind: "Prometheus",
        operator: "prometheus-operator",
        labels: &[
            ("app.kubernetes.io/name", Value::Fixed("prometheus")),
            ("app.kubernetes.io/instance", Value::Name),
            ("app.kubernetes.io/managed-by", Value::Fixed("prometheus-operator")),
            ("prometheus", Value::Name),
        ],
    },
    OperatorKind {
        group: "monitoring.coreos.com",
        kind: "PrometheusAgent",
        operator: "prometheus-operator",
        labels: &[
            ("app.kubernetes.io/instance", Value::Name),
            ("app.kubernetes.io/managed-by", Value::Fixed("prometheus-operator")),
        ],
    },
    OperatorKind {
        group: "monitoring.coreos.com",
        kind: "Alertmanager",
        operator: "prometheus-operator",
        labels: &[
            ("app.kubernetes.io/name", Value::Fixed("alertmanager")),
            ("app.kubernetes.io/instance", Value::Name),
            ("app.kubernetes.io/managed-by", Value::Fixed("prometheus-operator")),
            ("alertmanager", Value::Name),
        ],
    },
    OperatorKind {
        group: "monitoring.coreos.com",
        kind: "ThanosRuler",
        operator: "prometheus-operator",
        labels: &[
            ("app.kubernetes.io/name", Value::Fixed("thanos-ruler")),
            ("app.kubernetes.io/instance", Value::Name),
            ("app.kubernetes.io/managed-by", Value::Fixed("prometheus-operator")),
            ("thanos-ruler", Value::Name),
        ],
    },
    // Strimzi: every pod of a Kafka cluster (brokers, controllers, entity operator, Cruise
    // Control, exporter) carries strimzi.io/cluster=<Kafka name>; node pools and Connect,
    // MirrorMaker 2 and Bridge clusters carry their own resource's name.
    OperatorKind {
        group: "kafka.strimzi.io",
        kind: "Kafka",
        operator: "Strimzi",
        labels: &[("strimzi.io/cluster", Value::Name)],
    },
    OperatorKind { group: "kafka.strimzi.io", kind: "KafkaNodePool", operator: "Strimzi", labels: &[] },
    OperatorKind {
        group: "kafka.strimzi.io",
        kind: "KafkaConnect",
        operator: "Strimzi",
        labels: &[("strimzi.io/cluster", Value::Name)],
    },
    OperatorKind {
        group: "kafka.strimzi.io",
        kind: "KafkaMirrorMaker2",
        operator: "Strimzi",
        labels: &[("strimzi.io/cluster", Value::Name)],
    },
    OperatorKind {
        group: "kafka.strimzi.io",
        kind: "KafkaBridge",
        operator: "Strimzi",
        labels: &[("strimzi.io/cluster", Value::Name)],
    },
    // Elastic Cloud on Kubernetes.
    OperatorKind {
        group: "elasticsearch.k8s.elastic.co",
        kind: "Elasticsearch",
        operator: "ECK",
        labels: &[
            ("elasticsearch.k8s.elastic.co/cluster-name", Value::Name),
            ("common.k8s.elastic.co/type", Value::Fixed("elasticsearch")),
        ],
    },
    OperatorKind {
        group: "kibana.k8s.elastic.co",
        kind: "Kibana",
        operator: "ECK",
        labels: &[("kibana.k8s.elastic.co/name", Value::Name), ("common.k8s.elastic.co/type", Value::Fixed("kibana"))],
    },
    OperatorKind { group: "apm.k8s.elastic.co", kind: "ApmServer", operator: "ECK", labels: &[] },
    OperatorKind { group: "beat.k8s.elastic.co", kind: "Beat", operator: "ECK", labels: &[] },
    OperatorKind { group: "agent.k8s.elastic.co", kind: "Agent", operator: "ECK", labels: &[] },
    OperatorKind { group: "logstash.k8s.elastic.co", kind: "Logstash", operator: "ECK", labels: &[] },
    OperatorKind { group: "enterprisesearch.k8s.elastic.co", kind: "EnterpriseSearch", operator: "ECK", labels: &[] },
    // CloudNativePG: instance pods carry cnpg.io/cluster=<Cluster name>; PgBouncer poolers
    // cnpg.io/poolerName=<Pooler name>.
    OperatorKind {
        group: "postgresql.cnpg.io",
        kind: "Cluster",
        operator: "CloudNativePG",
        labels: &[("cnpg.io/cluster", Value::Name)],
    },
    OperatorKind {
        group: "postgresql.cnpg.io",
        kind: "Pooler",
        operator: "CloudNativePG",
        labels: &[("cnpg.io/poolerName", Value::Name)],
    },
    // Zalando postgres-operator: cluster_name_label (default `cluster-name`) = <postgresql name>.
    // The label key is configurable, so it is not used to rule the resource out.
    OperatorKind { group: "acid.zalan.do", kind: "postgresql", operator: "postgres-operator", labels: &[] },
];

fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(group, _)| group)
}

fn operator_kind(object: &SkippedObject) -> Option<&'static OperatorKind> {
    OPERATOR_KINDS.iter().find(|k| k.kind == object.kind && k.group == group_of(&object.api_version))
}

/// A custom resource whose operator may create the pods a selector is about.
pub(super) struct Creator<'a> {
    pub object: &'a SkippedObject,
    pub operator: &'static str,
}

impl std::fmt::Display for Creator<'_> {
    /// `Prometheus monitoring/k8s (prometheus-operator)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{} ({})", self.object.kind, self.object.namespace, self.object.name, self.operator)
    }
}

/// Operator custom resources among the skipped objects.
pub(super) struct Operators<'a> {
    resources: Vec<(&'a SkippedObject, &'static OperatorKind)>,
}

impl<'a> Operators<'a> {
    pub(super) fn new(skipped: &'a [SkippedObject]) -> Operators<'a> {
        let mut resources: Vec<_> = skipped.iter().filter_map(|o| operator_kind(o).map(|k| (o, k))).collect();
        resources.sort_by(|a, b| a.0.cmp(b.0));
        resources.dedup_by(|a, b| a.0 == b.0);
        Operators { resources }
    }

    /// Namespaces that hold an operator custom resource.
    pub(super) fn namespaces(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.resources.iter().map(|(o, _)| o.namespace.as_str())
    }

    /// The custom resources in `namespace` whose operator's pod labels fit `pods`.
    pub(super) fn creators(&self, namespace: &str, pods: &LabelSelector) -> Vec<Creator<'a>> {
        self.resources
            .iter()
            .filter(|(o, k)| o.namespace == namespace && fits(pods, k, &o.name))
            .map(|(o, k)| Creator { object: o, operator: k.operator })
            .collect()
    }
}

/// Whether `selector` is about this custom resource's pods: no requirement on a label the
/// operator sets contradicts its value, and the selector names at least one of those labels (or
/// selects everything, or the kind has no known labels). A selector only on labels the operator
/// does not set (`alertmanager=main` for a Prometheus) could in principle match through
/// `spec.podMetadata`, but naming the resource then would be a guess.
fn fits(selector: &LabelSelector, kind: &OperatorKind, name: &str) -> bool {
    let names_one = kind.labels.iter().any(|(key, _)| {
        selector.match_labels.contains_key(*key) || selector.match_expressions.iter().any(|r| r.key == *key)
    });
    (selector.is_everything() || kind.labels.is_empty() || names_one)
        && kind.labels.iter().all(|(key, value)| {
            let value = match value {
                Value::Fixed(v) => *v,
                Value::Name => name,
            };
            let labels: Labels = [(key.to_string(), value.to_string())].into();
            selector.match_labels.get(*key).is_none_or(|v| v == value)
                && selector.match_expressions.iter().filter(|r| r.key == *key).all(|r| r.matches(&labels))
        })
}

/// `Prometheus monitoring/k8s (prometheus-operator)`, joined with "or".
pub(super) fn describe(creators: &[Creator]) -> String {
    creators.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(api_version: &str, kind: &str, namespace: &str, name: &str) -> SkippedObject {
        SkippedObject {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    #[test]
    fn a_selector_is_matched_against_the_labels_the_operator_sets() {
        let skipped = vec![
            object("monitoring.coreos.com/v1", "Prometheus", "monitoring", "k8s"),
            object("monitoring.coreos.com/v1", "Alertmanager", "monitoring", "main"),
            object("monitoring.coreos.com/v1", "ServiceMonitor", "monitoring", "k8s"),
            object("example.com/v1", "Prometheus", "monitoring", "other-group"),
        ];
        let ops = Operators::new(&skipped);
        let names =
            |sel: LabelSelector, ns: &str| ops.creators(ns, &sel).iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let sel = |pairs: &[(&str, &str)]| LabelSelector::from_labels(pairs.iter().copied());
        assert_eq!(
            names(
                sel(&[("app.kubernetes.io/name", "prometheus"), ("app.kubernetes.io/component", "prometheus")]),
                "monitoring"
            ),
            ["Prometheus monitoring/k8s (prometheus-operator)"]
        );
        assert_eq!(
            names(
                sel(&[("app.kubernetes.io/name", "alertmanager"), ("app.kubernetes.io/instance", "main")]),
                "monitoring"
            ),
            ["Alertmanager monitoring/main (prometheus-operator)"]
        );
        // Wrong instance name: not this Alertmanager's pods.
        assert!(names(sel(&[("alertmanager", "backup")]), "monitoring").is_empty());
        // Another namespace.
        assert!(names(sel(&[("app.kubernetes.io/name", "prometheus")]), "default").is_empty());
        // A selector only on labels no operator sets is about neither; the empty one about both.
        assert!(names(sel(&[("team", "obs")]), "monitoring").is_empty());
        assert_eq!(names(LabelSelector::everything(), "monitoring").len(), 2);
        // matchExpressions on operator labels.
        let expr = |key: &str, op: &str, values: &[&str]| LabelSelector {
            match_labels: Default::default(),
            match_expressions: vec![netreach_model::Requirement::new(
                key,
                op,
                values.iter().map(|v| v.to_string()).collect(),
            )
            .unwrap()],
        };
        assert_eq!(
            names(expr("prometheus", "Exists", &[]), "monitoring"),
            ["Prometheus monitoring/k8s (prometheus-operator)"]
        );
        assert!(names(expr("alertmanager", "NotIn", &["main"]), "monitoring").is_empty());
        assert_eq!(
            names(expr("app.kubernetes.io/instance", "In", &["main", "k8s"]), "monitoring"),
            ["Alertmanager monitoring/main (prometheus-operator)", "Prometheus monitoring/k8s (prometheus-operator)"]
        );
    }
}

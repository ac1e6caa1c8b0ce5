//! What is dropped from every object read, before analysis and in snapshots alike: server
//! bookkeeping that can be large (`metadata.managedFields`), the last applied configuration
//! (a copy of the object, environment values included) and environment variable values, which
//! often hold credentials. Variable names and `valueFrom` references stay.

use serde_json::{Map, Value};

pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Cleans one object in place.
pub fn clean(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
        if let Some(annotations) = metadata.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.remove(LAST_APPLIED);
            if annotations.is_empty() {
                metadata.remove("annotations");
            }
        }
    }
    drop_env_values(object);
}

/// Every `env: [{name, value}]` list, wherever it is (pods, templates, CronJob job templates,
/// init and ephemeral containers, custom resources): the values go, the names stay.
fn drop_env_values(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(vars)) = map.get_mut("env") {
                for var in vars.iter_mut().filter_map(Value::as_object_mut) {
                    if var.contains_key("name") {
                        var.remove("value");
                    }
                }
            }
            map.values_mut().for_each(drop_env_values);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_env_values),
        _ => {}
    }
}

/// Gives a list item the `apiVersion` and `kind` its list implies (the API leaves them out of
/// typed lists' items), so that it stands alone in a snapshot's `kind: List`.
pub fn set_type(item: &mut Value, api_version: &str, kind: &str) {
    if let Some(map) = item.as_object_mut() {
        let mut typed = Map::with_capacity(map.len() + 2);
        typed.insert("apiVersion".into(), map.remove("apiVersion").unwrap_or_else(|| api_version.into()));
        typed.insert("kind".into(), map.remove("kind").unwrap_or_else(|| kind.into()));
        typed.append(map);
        *map = typed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_bookkeeping_and_env_values_only() {
        let mut pod = json!({
            "metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}],
                         "annotations": {LAST_APPLIED: "{}", "keep": "me"}},
            "spec": {"containers": [{"name": "c", "env": [
                {"name": "PASSWORD", "value": "hunter2"},
                {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
                     "initContainers": [{"name": "i", "env": [{"name": "X", "value": "1"}]}]}
        });
        clean(&mut pod);
        assert_eq!(
            pod,
            json!({
                "metadata": {"name": "a", "annotations": {"keep": "me"}},
                "spec": {"containers": [{"name": "c", "env": [
                    {"name": "PASSWORD"},
                    {"name": "FROM", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]}],
                         "initContainers": [{"name": "i", "env": [{"name": "X"}]}]}
            })
        );
        let mut only_last_applied = json!({"metadata": {"annotations": {LAST_APPLIED: "{}"}}});
        clean(&mut only_last_applied);
        assert_eq!(only_last_applied, json!({"metadata": {}}));
    }

    #[test]
    fn typed_items_lead_with_api_version_and_kind() {
        let mut item = json!({"metadata": {"name": "a"}});
        set_type(&mut item, "apps/v1", "Deployment");
        assert_eq!(serde_json::to_string(&item).unwrap(), r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}}"#);
    }
}

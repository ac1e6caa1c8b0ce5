//! A checker for the part of JSON Schema 2020-12 that netreach's schemas use: `type`,
//! `properties`, `required`, `additionalProperties`, `items`, `minItems`, `maxItems`, `enum`,
//! `const`, `anyOf`, `oneOf`, `minimum`, `maximum` and `$ref` into `#/$defs`. A keyword outside
//! that part is an error, not ignored, so a schema can never claim what nothing checks.
//! (A full validator crate would bring a regex engine and an HTTP client for remote `$ref`s.)

use serde_json::Value;
use std::fmt;

/// Where an instance breaks its schema: one line per violation, each with its JSON pointer.
#[derive(Debug)]
pub struct SchemaError(pub Vec<String>);

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for SchemaError {}

/// Checks `instance` against `schema` (whose `$defs` the `$ref`s name).
pub fn validate(schema: &Value, instance: &Value) -> Result<(), SchemaError> {
    let mut errors = Vec::new();
    check(schema, schema, instance, "", &mut errors);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(SchemaError(errors))
    }
}

/// Annotations: they say what a value means, not what it may be.
const ANNOTATIONS: [&str; 4] = ["$schema", "title", "description", "$defs"];

fn check(root: &Value, schema: &Value, instance: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(keywords) = schema.as_object() else {
        if schema != &Value::Bool(true) {
            errors.push(format!("{at}: the schema is not an object: {schema}"));
        }
        return;
    };
    for (keyword, value) in keywords {
        match keyword.as_str() {
            "type" => {
                let wanted = value.as_str().unwrap_or_default();
                if !has_type(instance, wanted) {
                    errors.push(format!("{at}: expected {wanted}, found {}", short(instance)));
                }
            }
            "properties" | "required" | "additionalProperties" => {
                if let Some(fields) = instance.as_object() {
                    check_object(root, keyword, value, keywords, fields, at, errors);
                }
            }
            "items" => {
                for (i, item) in instance.as_array().into_iter().flatten().enumerate() {
                    check(root, value, item, &format!("{at}/{i}"), errors);
                }
            }
            "minItems" | "maxItems" => {
                if let (Some(items), Some(bound)) = (instance.as_array(), value.as_u64()) {
                    let len = items.len() as u64;
                    if (keyword == "minItems" && len < bound) || (keyword == "maxItems" && len > bound) {
                        errors.push(format!("{at}: {len} item(s), {keyword} is {bound}"));
                    }
                }
            }
            "minimum" | "maximum" => {
                if let (Some(n), Some(bound)) = (instance.as_f64(), value.as_f64()) {
                    if (keyword == "minimum" && n < bound) || (keyword == "maximum" && n > bound) {
                        errors.push(format!("{at}: {n} is outside {keyword} {bound}"));
                    }
                }
            }
            "enum" => {
                if !value.as_array().is_some_and(|words| words.contains(instance)) {
                    errors.push(format!("{at}: {} is not one of {value}", short(instance)));
                }
            }
            "const" => {
                if value != instance {
                    errors.push(format!("{at}: expected {value}, found {}", short(instance)));
                }
            }
            "anyOf" | "oneOf" => {
                let branches = value.as_array().map(Vec::as_slice).unwrap_or_default();
                let matching = branches.iter().filter(|b| validate_at(root, b, instance, at)).count();
                if matching == 0 || (keyword == "oneOf" && matching > 1) {
                    errors.push(format!("{at}: {} matches {matching} of the {keyword} branches", short(instance)));
                }
            }
            "$ref" => match value.as_str().and_then(|r| r.strip_prefix("#/$defs/")) {
                Some(name) if root["$defs"].get(name).is_some() => {
                    check(root, &root["$defs"][name], instance, at, errors)
                }
                _ => errors.push(format!("{at}: unresolvable $ref {value}")),
            },
            other if ANNOTATIONS.contains(&other) => {}
            other => errors.push(format!("{at}: keyword {other:?} is not supported by this checker")),
        }
    }
}

/// `properties`, `required` and `additionalProperties` of one object; each reported once.
fn check_object(
    root: &Value,
    keyword: &str,
    value: &Value,
    keywords: &serde_json::Map<String, Value>,
    fields: &serde_json::Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let declared = keywords.get("properties").and_then(Value::as_object);
    match keyword {
        "properties" => {
            for (name, schema) in declared.into_iter().flatten() {
                if let Some(field) = fields.get(name) {
                    check(root, schema, field, &format!("{at}/{name}"), errors);
                }
            }
        }
        "required" => {
            for name in value.as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(name) {
                    errors.push(format!("{at}: required property {name:?} is missing"));
                }
            }
        }
        _ => {
            for (name, field) in fields {
                if declared.is_some_and(|d| d.contains_key(name)) {
                    continue;
                }
                match value {
                    Value::Bool(false) => errors.push(format!("{at}/{name}: property not in the schema")),
                    Value::Bool(true) => {}
                    schema => check(root, schema, field, &format!("{at}/{name}"), errors),
                }
            }
        }
    }
}

fn validate_at(root: &Value, schema: &Value, instance: &Value, at: &str) -> bool {
    let mut errors = Vec::new();
    check(root, schema, instance, at, &mut errors);
    errors.is_empty()
}

fn has_type(instance: &Value, wanted: &str) -> bool {
    match wanted {
        "object" => instance.is_object(),
        "array" => instance.is_array(),
        "string" => instance.is_string(),
        "boolean" => instance.is_boolean(),
        "null" => instance.is_null(),
        "number" => instance.is_number(),
        // JSON Schema: a number with a zero fractional part is an integer.
        "integer" => instance.is_i64() || instance.is_u64() || instance.as_f64().is_some_and(|n| n.fract() == 0.0),
        _ => false,
    }
}

/// The instance, cut short for a message.
fn short(instance: &Value) -> String {
    let text = instance.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_keyword_can_fail() {
        let schema = json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 1, "maximum": 3},
                "pair": {"type": "array", "items": {"$ref": "#/$defs/word"}, "minItems": 2, "maxItems": 2},
                "v": {"const": 1},
                "either": {"oneOf": [{"type": "string"}, {"type": "null"}]}
            },
            "required": ["n"],
            "additionalProperties": false,
            "$defs": {"word": {"enum": ["a", "b"]}}
        });
        assert!(validate(&schema, &json!({"n": 2, "pair": ["a", "b"], "v": 1, "either": null})).is_ok());
        let bad = json!({"n": 4.5, "pair": ["a", "c", "a"], "v": 2, "either": 3, "other": 0});
        let errors = validate(&schema, &bad).unwrap_err().0;
        for expected in [
            "/n: expected integer",
            "/n: 4.5 is outside maximum",
            "/pair/1: \"c\" is not one of",
            "/pair: 3 item(s), maxItems",
            "/v: expected 1",
            "/either: 3 matches 0",
            "/other: property not",
        ] {
            assert!(errors.iter().any(|e| e.starts_with(expected)), "{expected} in {errors:#?}");
        }
        assert!(validate(&schema, &json!({})).unwrap_err().0[0].contains("required property \"n\""));
    }

    #[test]
    fn unknown_keywords_and_refs_are_errors() {
        assert!(validate(&json!({"pattern": "^a"}), &json!("a")).unwrap_err().0[0].contains("not supported"));
        assert!(validate(&json!({"$ref": "#/$defs/none"}), &json!(1)).unwrap_err().0[0].contains("unresolvable"));
    }
}

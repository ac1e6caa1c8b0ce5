//! What is dropped from every object read, before analysis and in snapshots alike: server
//! bookkeeping that can be large (`metadata.managedFields`), the last applied configuration
//! (a copy of the object, environment values included) and environment variable values, which
//! often hold credentials. Variable names and `valueFrom` references stay.
//!
//! Credential-looking values in `command` and `args` lists (containers, init and ephemeral
//! containers, exec probes and hooks, wherever they sit: pods, templates, CronJob job
//! templates, custom resources) are replaced by `REDACTED`. The analysis reads container ports,
//! never arguments, so this changes no answer. The rule, applied to every word of every element
//! (an element is split into words at whitespace, quotes kept together, so `sh -c "..."`
//! scripts are covered too):
//!
//! - A *sensitive name* is one that, lowercased with `-`, `_` and `.` removed, contains `token`,
//!   `password`, `passwd`, `secret`, `apikey`, `credential`, `privatekey`, `accesskey` or
//!   `bearer`, or ends with `auth` or `key` (`--basic-auth`, `--client-key`, `--api_key`,
//!   `--accessKey`, `-Dspring.datasource.password`).
//! - `--name=value` (any number of leading dashes) and `NAME=value` (a bare word such as
//!   `DB_PASSWORD=x` in a script) with a sensitive name: the value becomes `REDACTED`, the name
//!   stays. An empty value stays empty.
//! - `--name value`: the word after a sensitive dashed flag becomes `REDACTED`, unless it starts
//!   with `-` (then the flag was a switch). When the flag is a whole element, the whole next
//!   element is redacted (`["--password", "two words"]`). The word after `Bearer`, and after
//!   `Basic` following `Authorization:`, too.
//! - URLs with userinfo: `scheme://user:pass@host` becomes `scheme://user:REDACTED@host`;
//!   `scheme://secret@host` (a token as user name) becomes `scheme://REDACTED@host`. Query
//!   parameters with a sensitive name too: `?access_token=REDACTED&page=2`.
//!
//! The rule is deliberately broad: a false positive costs a harmless detail of a snapshot
//! (`--token-ttl=24h` becomes `--token-ttl=REDACTED`, `--client-key=/path` loses its path),
//! while a narrower rule would leak the next `--token-value`. Names without those words, such
//! as `--authorization-mode` or `--port`, stay as they were. Quoting inside a script is not
//! parsed beyond keeping quoted words together: this is best effort, not a shell parser.

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
    redact_args(object);
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

/// What replaces a credential-looking value.
pub(super) const REDACTED: &str = "REDACTED";

/// Every `command` and `args` list of strings, wherever it is: credential-looking values go
/// (see the module documentation for the rule).
fn redact_args(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in ["command", "args"] {
                if let Some(Value::Array(items)) = map.get_mut(key) {
                    redact_list(items);
                }
            }
            map.values_mut().for_each(redact_args);
        }
        Value::Array(items) => items.iter_mut().for_each(redact_args),
        _ => {}
    }
}

/// One argv-like list: each string element word by word, and the element after a lone
/// sensitive flag.
fn redact_list(items: &mut [Value]) {
    let mut redact_next = false;
    for item in items.iter_mut() {
        let Value::String(text) = item else {
            redact_next = false;
            continue;
        };
        if std::mem::take(&mut redact_next) && !text.starts_with('-') {
            if !text.is_empty() {
                *text = REDACTED.to_string();
            }
            continue;
        }
        let trimmed = text.trim();
        redact_next = !trimmed.contains(char::is_whitespace) && takes_secret_value(trimmed);
        if let Some(redacted) = redact_text(text) {
            *text = redacted;
        }
    }
}

/// A name that suggests a credential (see the module documentation).
fn is_sensitive_name(name: &str) -> bool {
    let name: String = name.chars().filter(|c| !matches!(c, '-' | '_' | '.')).flat_map(char::to_lowercase).collect();
    const WORDS: [&str; 9] =
        ["token", "password", "passwd", "secret", "apikey", "credential", "privatekey", "accesskey", "bearer"];
    WORDS.iter().any(|w| name.contains(w)) || name.ends_with("auth") || name.ends_with("key")
}

/// A dashed flag without `=` whose value is the next word: `--password`, `-token`.
/// Also `Bearer` (as in an Authorization header).
fn takes_secret_value(word: &str) -> bool {
    if word.eq_ignore_ascii_case("bearer") {
        return true;
    }
    let name = word.trim_start_matches('-');
    word.starts_with('-') && !name.is_empty() && !name.contains('=') && is_sensitive_name(name)
}

/// The words of a string: runs of non-whitespace, a quoted part (`'...'`, `"..."`) kept in
/// its word even with spaces. Byte ranges.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut end = start;
        let mut quote = None;
        while let Some(&(i, c)) = chars.peek() {
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c.is_whitespace() => break,
                None if c == '\'' || c == '"' => quote = Some(c),
                None => {}
            }
            end = i + c.len_utf8();
            chars.next();
        }
        words.push((start, end));
    }
    words
}

/// `text` with credential-looking values replaced, or `None` when nothing is.
fn redact_text(text: &str) -> Option<String> {
    let mut replacements = Vec::new();
    secret_ranges(text, 0, &mut replacements);
    if replacements.is_empty() {
        return None;
    }
    replacements.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in replacements {
        if start < at {
            continue; // Inside a range already replaced.
        }
        out.push_str(&text[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&text[at..]);
    Some(out)
}

/// The byte ranges (plus `offset`) of the secrets in `text`, word by word; a word that is all
/// quoted (`"Authorization: Bearer x"`) is looked into.
fn secret_ranges(text: &str, offset: usize, found: &mut Vec<(usize, usize)>) {
    let mut redact_next = false;
    let mut previous = "";
    for (start, end) in words(text) {
        let word = &text[start..end];
        if std::mem::take(&mut redact_next) && !word.starts_with('-') {
            found.push((offset + start, offset + end));
            continue;
        }
        let quoted = word.len() >= 2 && (word.starts_with('"') || word.starts_with('\'')) && word.ends_with(&word[..1]);
        if quoted {
            secret_ranges(&word[1..word.len() - 1], offset + start + 1, found);
            previous = word;
            continue;
        }
        if let Some(eq) = word.find('=') {
            let name = word[..eq].trim_start_matches('-');
            let plain = word.starts_with('-')
                || name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            // A shell word may end the command: `DB_PASSWORD=x;`.
            let value_end = word.trim_end_matches([';', '&', '|', ')']).len().max(eq + 1);
            if plain && !name.is_empty() && eq + 1 < value_end && is_sensitive_name(name) {
                found.push((offset + start + eq + 1, offset + start + value_end));
                previous = word;
                continue;
            }
        }
        redact_next = takes_secret_value(word)
            || (word.eq_ignore_ascii_case("basic") && previous.to_ascii_lowercase().ends_with("authorization:"));
        found.extend(url_secrets(word).into_iter().map(|(s, e)| (offset + start + s, offset + start + e)));
        previous = word;
    }
}

/// The byte ranges of URL secrets in a word: after `user:` in `scheme://user:pass@host`, the
/// whole userinfo of `scheme://token@host`, and query parameters with a sensitive name.
fn url_secrets(word: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(i) = word[from..].find("://") {
        let authority_start = from + i + 3;
        let rest = &word[authority_start..];
        let authority_len = rest.find(['/', '?', '#', '\'', '"']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            let secret_start = userinfo.find(':').map_or(0, |colon| colon + 1);
            if secret_start < userinfo.len() {
                found.push((authority_start + secret_start, authority_start + at));
            }
        }
        from = authority_start + authority_len;
    }
    // Query parameters: `?access_token=...&page=2`.
    if let Some(query) = word.find("://").and_then(|i| word[i..].find('?').map(|q| i + q + 1)) {
        let end = word[query..].find(['#', '\'', '"']).map_or(word.len(), |e| query + e);
        let mut at = query;
        for param in word[query..end].split('&') {
            if let Some(eq) = param.find('=') {
                if eq + 1 < param.len() && is_sensitive_name(&param[..eq]) {
                    found.push((at + eq + 1, at + param.len()));
                }
            }
            at += param.len() + 1;
        }
    }
    found
}

/// Gives a list item the `apiVersion` and `kind` its list implies (the API leaves them out of
/// typed lists' items), so that it stands alone in a snapshot's `kind: List`.
pub(super) fn set_type(item: &mut Value, api_version: &str, kind: &str) {
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

    fn redacted(args: &[&str]) -> Vec<String> {
        let mut container = json!({"name": "c", "args": args});
        clean(&mut container);
        serde_json::from_value(container["args"].clone()).unwrap()
    }

    #[test]
    fn flag_equals_value_keeps_the_flag() {
        assert_eq!(
            redacted(&[
                "--token=abc",
                "--password=hunter2",
                "--client-secret=s3",
                "--api-key=k",
                "--apikey=k",
                "--API_KEY=k",
                "--accessKey=k",
                "--private_key=k",
                "--credentials=k",
                "--bearer-token=k",
                "--basic-auth=user:pw",
                "-Dspring.datasource.password=pw",
                "--db-passwd=pw",
            ]),
            [
                "--token=REDACTED",
                "--password=REDACTED",
                "--client-secret=REDACTED",
                "--api-key=REDACTED",
                "--apikey=REDACTED",
                "--API_KEY=REDACTED",
                "--accessKey=REDACTED",
                "--private_key=REDACTED",
                "--credentials=REDACTED",
                "--bearer-token=REDACTED",
                "--basic-auth=REDACTED",
                "-Dspring.datasource.password=REDACTED",
                "--db-passwd=REDACTED",
            ]
        );
        assert_eq!(redacted(&["--password="]), ["--password="], "nothing to hide");
    }

    #[test]
    fn flag_then_value_redacts_the_next_element_unless_it_is_a_flag() {
        assert_eq!(
            redacted(&[
                "serve",
                "--token",
                "abc",
                "--password",
                "two words",
                "--use-token",
                "--port",
                "8080",
                "--secret"
            ]),
            ["serve", "--token", "REDACTED", "--password", "REDACTED", "--use-token", "--port", "8080", "--secret"]
        );
    }

    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            redacted(&[
                "--db=postgres://app:hunter2@db:5432/app",
                "https://ghp_abc@github.com/x.git",
                "https://example.com/a@b",
                "http://host:80/",
                "--hook=https://h/x?page=2&access_token=t0k#top",
            ]),
            [
                "--db=postgres://app:REDACTED@db:5432/app",
                "https://REDACTED@github.com/x.git",
                "https://example.com/a@b",
                "http://host:80/",
                "--hook=https://h/x?page=2&access_token=REDACTED#top"
            ]
        );
    }

    #[test]
    fn scripts_are_redacted_word_by_word() {
        assert_eq!(
            redacted(&["curl -H 'Authorization: Basic dXNlcjpwYXNz' \"--token=x\" --password 'a b' https://u:p@h/x", "echo basic setup"]),
            ["curl -H 'Authorization: Basic REDACTED' \"--token=REDACTED\" --password REDACTED https://u:REDACTED@h/x", "echo basic setup"]
        );
        let mut pod = json!({"spec": {"containers": [{"name": "c",
            "command": ["sh", "-c"],
            "args": ["export DB_PASSWORD=pw; run --token abc --api-key='x y' -H \"Authorization: Bearer t0k\" --port 80"]}]}});
        clean(&mut pod);
        assert_eq!(
            pod["spec"]["containers"][0]["args"][0],
            "export DB_PASSWORD=REDACTED; run --token REDACTED --api-key=REDACTED -H \"Authorization: Bearer REDACTED\" --port 80"
        );
    }

    #[test]
    fn everywhere_a_container_sits() {
        let mut cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "initContainers": [{"name": "i", "command": ["init", "--secret=s"]}],
            "containers": [{"name": "c", "args": ["--token=t"],
                            "livenessProbe": {"exec": {"command": ["check", "--password", "p"]}}}],
            "ephemeralContainers": [{"name": "e", "args": ["--access-key=a"]}]}}}}}});
        clean(&mut cron);
        let spec = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["initContainers"][0]["command"], json!(["init", "--secret=REDACTED"]));
        assert_eq!(spec["containers"][0]["args"], json!(["--token=REDACTED"]));
        assert_eq!(
            spec["containers"][0]["livenessProbe"]["exec"]["command"],
            json!(["check", "--password", "REDACTED"])
        );
        assert_eq!(spec["ephemeralContainers"][0]["args"], json!(["--access-key=REDACTED"]));
    }

    #[test]
    fn harmless_args_stay_identical() {
        let args = [
            "--port=8080",
            "--authorization-mode=Node,RBAC",
            "--authentication-kubeconfig=/etc/k.conf",
            "--v=2",
            "-c",
            "nginx -g 'daemon off;'",
            "--config",
            "/etc/app.yaml",
            "--keyword=x",
            "a=b",
            "--url=https://example.com/path?q=1",
            "user@example.com",
        ];
        assert_eq!(redacted(&args), args);
        // Deliberately broad (module documentation): a flag named like a credential loses its value.
        assert_eq!(redacted(&["--token-ttl=24h"]), ["--token-ttl=REDACTED"]);
    }

    #[test]
    fn typed_items_lead_with_api_version_and_kind() {
        let mut item = json!({"metadata": {"name": "a"}});
        set_type(&mut item, "apps/v1", "Deployment");
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"a"}}"#
        );
    }
}

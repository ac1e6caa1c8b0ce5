//! JSON files without a `serde_json::Value` tree: a document is checked exactly as parsing it
//! into `Value` would check it (same errors at the same place), its Lists are unpacked by
//! scanning the checked text, and each object is kept as its slice of the file, to be typed
//! straight from the text. The tree of a 150k-pod export costs 10× its text in memory and most
//! of the load time. An object the text path cannot read exactly as the `Value` path would
//! (a list item without its own `kind`, an unknown field, any typing error) goes through the
//! `Value` path, so errors and warnings are worded by one code path.

use super::documents::{flatten, Body, Head, RawObject, ReadStats};
use super::{LoadError, Origin};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// One object's JSON text: a slice of its file's text.
#[derive(Clone)]
pub(super) struct JsonText {
    text: Arc<String>,
    range: Range<usize>,
}

impl JsonText {
    fn get(&self) -> &str {
        &self.text[self.range.clone()]
    }

    /// The object as a `Value`, for the `Value` path.
    pub(super) fn into_value(self) -> Value {
        serde_json::from_str(self.get()).expect("the document was checked as a Value parse checks it")
    }

    /// The object typed straight from its text, or `None` when the `Value` path must read it:
    /// a typing error (which that path words with the field's path), or a field the type does
    /// not know (which that path reports, in its order). `reported` says which ignored fields
    /// count as unknown.
    pub(super) fn typed<T: serde::de::DeserializeOwned>(&self, reported: impl Fn(String) -> bool) -> Option<T> {
        let mut unknown = false;
        let mut de = serde_json::Deserializer::from_str(self.get());
        let typed = serde_ignored::deserialize(&mut de, |path: serde_ignored::Path| {
            unknown |= reported(super::convert::field_path(&path));
        })
        .ok()?;
        (!unknown).then_some(typed)
    }
}

/// Reads a JSON file (or stream of JSON documents, as kubectl may print) into objects;
/// `start` skips a byte-order mark.
pub(super) fn read(
    file: &str,
    text: Arc<String>,
    start: usize,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) -> Result<(), LoadError> {
    let syntax =
        |e: serde_json::Error| LoadError::Syntax { file: file.to_string(), message: format!("invalid JSON: {e}") };
    // Every document is checked before any is read, as the `Value` parse of all of them was.
    let mut ends = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Checked>();
    while let Some(document) = stream.next() {
        document.map_err(syntax)?;
        ends.push(start + stream.byte_offset());
    }
    let mut from = start;
    let mut lines = LineCounter::default();
    for (i, end) in ends.into_iter().enumerate() {
        let range = trim(&text, from..end);
        from = end;
        let origin = Origin { file: file.to_string(), document: i + 1, items: Vec::new(), line: 0 };
        let element = element(&text, range.start);
        unpack(&text, element, origin, None, &mut lines, objects, stats);
    }
    Ok(())
}

/// 1-based line numbers of byte offsets, counted on from the last offset asked (objects are
/// met in file order), so a file's newlines are counted once.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        if offset < self.offset {
            *self = LineCounter::default();
        }
        self.newlines += memchr::memchr_iter(b'\n', &text.as_bytes()[self.offset..offset]).count();
        self.offset = offset;
        self.newlines + 1
    }
}

/// [`flatten`] on checked text: Lists unpacked, objects kept as text with their [`Head`].
fn unpack(
    text: &Arc<String>,
    element: Element,
    mut origin: Origin,
    inherited: Option<(&str, &str)>,
    lines: &mut LineCounter,
    objects: &mut Vec<RawObject>,
    stats: &mut ReadStats,
) {
    // The line of the object (or List item) itself, as YAML documents have: SARIF points there.
    origin.line = lines.line_at(
        text,
        match &element {
            Element::Object(object) => object.range.start,
            Element::Other(range) => range.start,
        },
    );
    let object = match element {
        Element::Object(object) => object,
        Element::Other(range) if &text[range.clone()] == "null" => return,
        Element::Other(_) => return stats.not_objects.push(origin),
    };
    // An item that takes its apiVersion or kind from its typed list is completed as a Value.
    if inherited.is_some() && (object.api_version.is_none() || object.kind.is_none()) {
        let value = JsonText { text: text.clone(), range: object.range }.into_value();
        return flatten(value, origin, inherited, objects, stats);
    }
    let string = |field: &Option<Range<usize>>| field.clone().and_then(|r| string_at(&text[r]));
    let kind = string(&object.kind).unwrap_or_default();
    if kind.is_empty() {
        return stats.not_objects.push(origin);
    }
    let api_version = string(&object.api_version);
    if let Some(items) = object.items.filter(|_| kind.ends_with("List")) {
        let api_version = api_version.as_deref().unwrap_or("v1");
        let item_kind = kind.trim_end_matches("List");
        let inherit = if item_kind.is_empty() { None } else { Some((api_version, item_kind)) };
        for (j, item) in items.into_iter().enumerate() {
            let mut o = origin.clone();
            o.items.push(j);
            unpack(text, item, o, inherit, lines, objects, stats);
        }
        return;
    }
    let mut head = Head { api_version: api_version.unwrap_or_default(), kind, ..Head::default() };
    if let Some(metadata) = object.metadata.filter(|r| text.as_bytes()[r.start] == b'{') {
        for (key, value) in members(text, metadata.start) {
            match key.as_ref() {
                "name" => head.name = value_at(&text[value]),
                "namespace" => head.namespace = value_at(&text[value]),
                "annotations" => {
                    (head.helm_hook, head.ignore) = (None, None);
                    if text.as_bytes()[value.start] == b'{' {
                        for (key, value) in members(text, value.start) {
                            if key == "helm.sh/hook" {
                                head.helm_hook = string_at(&text[value]);
                            } else if key == super::IGNORE_ANNOTATION {
                                head.ignore = string_at(&text[value]);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let range = object.range;
    objects.push(RawObject { origin, head, body: Body::Json(JsonText { text: text.clone(), range }) });
}

/// A value of a checked document: an object, with what the reader looks at, or another value.
enum Element {
    Object(Object),
    Other(Range<usize>),
}

/// An object's extent and its envelope members (the last of each, as in a `Value` map); a
/// List's `items` are scanned with it, so the text is scanned once.
#[derive(Default)]
struct Object {
    range: Range<usize>,
    api_version: Option<Range<usize>>,
    kind: Option<Range<usize>>,
    metadata: Option<Range<usize>>,
    /// `items` when it is an array.
    items: Option<Vec<Element>>,
}

/// The value at `start`; recursion (into `items`) is bounded, as the document was checked to
/// nest at most 128 levels.
fn element(text: &str, start: usize) -> Element {
    let bytes = text.as_bytes();
    if bytes[start] != b'{' {
        return Element::Other(start..value_end(bytes, start));
    }
    let mut object = Object::default();
    let mut i = start + 1;
    loop {
        i = match next_entry(bytes, i, b'}') {
            Ok(i) => i,
            Err(end) => {
                object.range = start..end;
                return Element::Object(object);
            }
        };
        let (key, value) = member(text, i);
        i = match key.as_ref() {
            "items" if bytes[value] == b'[' => {
                let (items, end) = elements(text, value);
                object.items = Some(items);
                end
            }
            key => {
                let end = value_end(bytes, value);
                match key {
                    "apiVersion" => object.api_version = Some(value..end),
                    "kind" => object.kind = Some(value..end),
                    "metadata" => object.metadata = Some(value..end),
                    "items" => object.items = None,
                    _ => {}
                }
                end
            }
        };
    }
}

/// The elements of the array at `start`, and its end.
fn elements(text: &str, start: usize) -> (Vec<Element>, usize) {
    let bytes = text.as_bytes();
    let mut items = Vec::new();
    let mut i = start + 1;
    loop {
        i = match next_entry(bytes, i, b']') {
            Ok(i) => i,
            Err(end) => return (items, end),
        };
        let item = element(text, i);
        i = match &item {
            Element::Object(o) => o.range.end,
            Element::Other(r) => r.end,
        };
        items.push(item);
    }
}

/// The members of the checked JSON object at `start`: keys (unescaped) and value ranges.
fn members(text: &str, start: usize) -> impl Iterator<Item = (Cow<'_, str>, Range<usize>)> {
    let bytes = text.as_bytes();
    let mut i = start + 1;
    std::iter::from_fn(move || {
        i = next_entry(bytes, i, b'}').ok()?;
        let (key, value) = member(text, i);
        i = value_end(bytes, value);
        Some((key, value..i))
    })
}

/// The key (unescaped) of the member at `i`, and where its value starts.
fn member(text: &str, i: usize) -> (Cow<'_, str>, usize) {
    let bytes = text.as_bytes();
    let key_end = string_end(bytes, i);
    let raw = &text[i + 1..key_end - 1];
    let key = if raw.contains('\\') {
        Cow::Owned(serde_json::from_str(&text[i..key_end]).expect("checked JSON"))
    } else {
        Cow::Borrowed(raw)
    };
    (key, skip_space(bytes, skip_space(bytes, key_end) + 1)) // past ':'
}

fn value_at(json: &str) -> Value {
    serde_json::from_str(json).expect("checked JSON")
}

/// `Value::as_str`: a JSON string's content, else `None`.
fn string_at(json: &str) -> Option<String> {
    json.starts_with('"').then(|| serde_json::from_str(json).expect("checked JSON"))
}

/// `range` without surrounding whitespace.
fn trim(text: &str, range: Range<usize>) -> Range<usize> {
    let slice = &text[range.clone()];
    let start = range.start + (slice.len() - slice.trim_start().len());
    start..start + slice.trim().len()
}

/// Past the separator at `i` in an object or array: `Ok` where the next entry starts, or `Err`
/// past the `close` byte that ends it.
fn next_entry(bytes: &[u8], i: usize, close: u8) -> Result<usize, usize> {
    let mut i = skip_space(bytes, i);
    if bytes[i] == b',' {
        i = skip_space(bytes, i + 1);
    }
    if bytes[i] == close {
        Err(i + 1)
    } else {
        Ok(i)
    }
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end of the checked JSON value starting at `i`.
fn value_end(bytes: &[u8], mut i: usize) -> usize {
    match bytes[i] {
        b'"' => string_end(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while i < bytes.len() && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                i += 1;
            }
            i
        }
    }
}

/// The end (past the closing quote) of the string starting at `i`: most of a manifest's bytes
/// are in strings, skipped with memchr.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', &bytes[i..]).expect("checked JSON: strings are closed");
        if bytes[i] == b'"' {
            return i + 1;
        }
        i += 2;
    }
}

/// A JSON value parsed as `serde_json::Value` parses it (numbers, escapes and nesting checked the
/// same way, so the same error at the same place) but kept nowhere.
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Checked)
    }
}

impl<'de> Visitor<'de> for Checked {
    type Value = Checked;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_key::<Checked>()?.is_some() {
            map.next_value::<Checked>()?;
        }
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::super::documents::{flatten, parse_text, ReadStats};
    use super::super::{build, LoadError, LoadOptions, Origin};
    use serde_json::Value;
    use std::path::Path;

    /// Loads JSON `text` through the text path, or through the `Value` path (documents parsed
    /// into `Value`s, then unpacked), as JSON was read before the text path. Errors are part of
    /// the answer.
    fn load(text: &str, via_value: bool) -> String {
        let mut objects = Vec::new();
        let mut stats = ReadStats { files: 1, ..Default::default() };
        let read = if via_value {
            let documents =
                serde_json::Deserializer::from_str(text).into_iter::<Value>().collect::<Result<Vec<_>, _>>();
            documents
                .map(|documents| {
                    for (i, value) in documents.into_iter().enumerate() {
                        let origin = Origin { file: "f".into(), document: i + 1, items: Vec::new(), line: 0 };
                        flatten(value, origin, None, &mut objects, &mut stats);
                    }
                })
                .map_err(|e| LoadError::Syntax { file: "f".into(), message: format!("invalid JSON: {e}") })
        } else {
            parse_text("f", text.to_string(), Some(true), &mut objects, &mut stats)
        };
        match read.and_then(|()| build(objects, stats, &LoadOptions::default())) {
            Ok(l) => format!("{:#?}\n{:#?}", l.cluster, l.report),
            Err(e) => format!("error: {e}"),
        }
    }

    #[track_caller]
    fn assert_same(name: &str, json: &str) {
        assert_eq!(load(json, false), load(json, true), "{name}:\n{json}");
    }

    /// Every manifest of the fixtures and of the real-world sets, as a stream of JSON documents
    /// and as one List: the text path gives the cluster, report and errors the `Value` path gives.
    #[test]
    fn text_path_reads_every_fixture_as_the_value_path() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        for dir in [root.join("fixtures"), root.join("../shared/realworld")] {
            collect(&dir, &mut files);
        }
        assert!(files.len() > 100, "fixtures not found under {}", root.display());
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let name = file.display().to_string();
            let documents: Vec<Value> = if name.ends_with(".json") {
                serde_json::Deserializer::from_str(&text).into_iter().collect::<Result<_, _>>().unwrap()
            } else {
                let mut options = serde_saphyr::Options::default();
                options.budget = None;
                options.legacy_octal_numbers = true;
                match serde_saphyr::from_multiple_with_options(&text, options) {
                    Ok(documents) => documents,
                    Err(_) => continue, // a syntax-error fixture
                }
            };
            let stream: Vec<String> = documents.iter().map(Value::to_string).collect();
            assert_same(&name, &stream.join("\n"));
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": documents});
            assert_same(&name, &list.to_string());
        }
    }

    fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                collect(&path, out);
            } else if super::super::is_manifest(&path) {
                out.push(path);
            }
        }
    }

    /// Input the text path cannot read as is goes through the `Value` path, with the same answer.
    #[test]
    fn text_path_falls_back_exactly() {
        let pod = r#""apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"n"}"#;
        for json in [
            // typed list items without apiVersion/kind; nested lists; a list of no kind
            r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"a"},"spec":{"containers":[]}}]}"#,
            r#"{"kind":"List","items":[{"kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}}]}, null, 3, {"kind":""}]}"#,
            r#"{"kind":"ListList","items":[{"metadata":{"name":"a"}}]} {"kind":"List","items":{}}"#,
            // duplicate keys: the last one counts
            &format!(
                r#"{{{pod},"kind":"Namespace","spec":{{"containers":[{{"name":"c","ports":[{{"containerPort":"x","containerPort":80}}]}}]}}}}"#
            ),
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","name":"q","annotations":{"helm.sh/hook":"test"},"annotations":{"a":"b"}},"spec":{"containers":[]}}"#,
            // escapes in keys and values
            r#"{"apiVersion":"v1","kin\u0064":"Pod","metadata":{"name":"p\u00e9","labels":{"a\/b":"c"}},"spec":{"containers":[]}}"#,
            // unknown fields, wrong types, hints
            &format!(r#"{{{pod},"spec":{{"containers":[{{"name":"c","ports":[{{"containerport":80}}]}}]}}}}"#),
            &format!(
                r#"{{{pod},"spec":{{"containers":[{{"name":"c","ports":[{{"containerPort":80,"extra":1}}]}}]}},"bogus":2}}"#
            ),
            &format!(r#"{{{pod},"spec":{{"containers":[{{"name":true}}]}}}}"#),
            &format!(r#"{{{pod},"spec":{{"containers":[{{"name":"c","ports":[{{"containerPort":70000}}]}}]}}}}"#),
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":7,"namespace":"n"},"spec":{"containers":[]}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":"x","spec":{"containers":[]}}"#,
            r#"{"apiVersion":"extensions/v1beta1","kind":"NetworkPolicy","metadata":{"name":"p"},"spec":{"podSelector":{}}}"#,
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[]}} {"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c"}]}}"#,
            "[1, 2] \"x\" null {\"a\": 1}",
            "",
            " \n",
        ] {
            assert_same(json, json);
        }
    }

    /// A document is checked as a `Value` parse checks it: the same error at the same place.
    #[test]
    fn syntax_errors_are_those_of_a_value_parse() {
        let deep = format!("{{\"kind\":\"List\",\"items\":[{}{}]}}", "[".repeat(200), "]".repeat(200));
        for json in [
            r#"{"kind":"List","items":[{"a":1e400}]}"#,
            r#"{"kind":"List","items":[{"a":"\ud800"}]}"#,
            r#"{"kind":"List","items":[{"a":1,}]}"#,
            r#"{"kind":"Pod"} {"kind":"Pod"} 12x"#,
            deep.as_str(),
            "{\"a\":\"\u{1}\"}",
        ] {
            assert!(load(json, true).starts_with("error: f: invalid JSON"), "{json}");
            assert_same(json, json);
        }
    }
}

//! `netreach report` in a real browser: headless Chromium driven over W3C WebDriver by
//! Debian's chromedriver. The page must load from disk with no console error and no network
//! request, show every namespace of the fixture, list a namespace's workloads on click, explain
//! an edge, and hold as many finding rows as `audit -o json` has findings. In CI (`CI` set) a
//! missing browser fails the test; elsewhere it is skipped with a message.
//!
//! The WebDriver client is the few HTTP/1.1 requests below on `std::net`: a WebDriver crate
//! would bring an async runtime and an HTTP stack for six JSON calls.

use crate::support::{fixtures, netreach, netreach_command, stdout};
use netreach::aggregate::{GroupKind, Grouping, Level};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Chromium's flags for a closed machine: headless, no sandbox (containers), and none of the
/// background connections (updates, sync, QUIC probes) that would be refused here.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,1000",
];

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// chromedriver and Chromium, or `None` (outside CI) when either is missing.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let driver = find_program(&["chromedriver"]);
    let chromium = find_program(&["chromium", "chromium-browser"]);
    match (driver, chromium) {
        (Some(d), Some(c)) => Some((d, c)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("chromium and chromedriver are needed in CI: apt-get install chromium chromium-driver")
        }
        _ => {
            eprintln!(
                "report: SKIPPED: chromium or chromedriver not on PATH (apt-get install chromium chromium-driver)"
            );
            None
        }
    }
}

/// A running chromedriver, killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    fn start(program: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((_, status)) = driver.try_request("GET", "/status", None) {
                if status["value"]["ready"] == json!(true) {
                    return driver;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not become ready on port {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// One HTTP/1.1 request with a JSON body; the response's status code and JSON body.
    fn try_request(&self, method: &str, path: &str, body: Option<&Value>) -> std::io::Result<(u16, Value)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let body = body.map(Value::to_string).unwrap_or_default();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        reader.read_line(&mut status_line)?;
        let code: u16 = status_line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line.trim().is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                }
            }
        }
        let mut bytes = Vec::new();
        match length {
            Some(n) => {
                bytes.resize(n, 0);
                reader.read_exact(&mut bytes)?;
            }
            None => {
                reader.read_to_end(&mut bytes)?;
            }
        }
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((code, value))
    }

    /// A WebDriver command that must succeed; its `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (code, value) = self.try_request(method, path, body.as_ref()).expect("chromedriver answers");
        assert_eq!(code, 200, "{method} {path}: {value}");
        value["value"].clone()
    }
}

/// One browser session on the driver.
struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self.driver.try_request("DELETE", &format!("/session/{}", self.id), None);
    }
}

impl Session<'_> {
    fn new<'d>(driver: &'d Driver, chromium: &Path, profile: &Path) -> Session<'d> {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let value = driver.call("POST", "/session", Some(capabilities));
        Session { driver, id: value["sessionId"].as_str().expect("a session id").to_string() }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body)
    }

    fn script(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    fn find(&self, css: &str) -> String {
        let value = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        value
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element reference")
            .to_string()
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    fn strings(&self, script: &str) -> Vec<String> {
        let value = self.script(script);
        value.as_array().expect("an array").iter().map(|v| v.as_str().expect("a string").to_string()).collect()
    }

    fn log(&self, kind: &str) -> Vec<Value> {
        self.call("POST", "/se/log", Some(json!({"type": kind}))).as_array().cloned().unwrap_or_default()
    }
}

/// The workload ids of a namespace at `--level workload`, from the library.
fn workloads_of(fixture: &str, namespace: &str) -> Vec<String> {
    let loaded = netreach::load::load(&[netreach::load::Input::Path(fixtures().join(fixture))]).unwrap();
    let analysis = netreach::Analysis::new(loaded.cluster, &Default::default());
    let grouping = Grouping::new(&analysis, Level::Workload);
    grouping
        .groups
        .iter()
        .filter(|g| g.kind != GroupKind::External && g.namespace.as_deref() == Some(namespace))
        .map(|g| g.id.clone())
        .collect()
}

#[test]
fn the_report_opens_offline_in_chromium_and_shows_the_fixture() {
    let Some((chromedriver, chromium)) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("shop.html");
    let written =
        netreach_command().args(["report", "shop", "--out"]).arg(&page).current_dir(fixtures()).output().unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    let audit: Value = serde_json::from_str(&stdout(&netreach(&["audit", "shop", "-o", "json"]))).unwrap();
    let findings = audit["findings"].as_array().unwrap().len();
    assert!(findings > 0, "shop has findings to show");

    let driver = Driver::start(&chromedriver);
    let session = Session::new(&driver, &chromium, &dir.path().join("profile"));
    let url = format!("file://{}", page.display());
    // Reading the log empties it: what the browser loaded for its own start page is left out.
    session.log("performance");
    session.call("POST", "/url", Some(json!({ "url": url })));
    assert_eq!(
        session.script("return document.body.dataset.ready || null"),
        json!("true"),
        "the script ran to its end"
    );

    // No console error, and nothing fetched: the resource timing list is empty and the
    // performance log shows no request but the page itself.
    let errors: Vec<Value> = session.log("browser").into_iter().filter(|e| e["level"] == json!("SEVERE")).collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
    assert_eq!(session.script("return performance.getEntriesByType('resource').length"), json!(0));
    let requests: Vec<String> = session
        .log("performance")
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
        .filter(|m| m["message"]["method"] == json!("Network.requestWillBeSent"))
        .filter_map(|m| m["message"]["params"]["request"]["url"].as_str().map(str::to_string))
        // chrome:// and chrome-untrusted:// pages (the new tab page) are the browser's own,
        // never the network.
        .filter(|u| {
            *u != url && !u.starts_with("data:") && !u.starts_with("chrome://") && !u.starts_with("chrome-untrusted://")
        })
        .collect();
    assert!(requests.is_empty(), "network requests beyond the file: {requests:?}");

    // Every namespace of the fixture is a node.
    let shown =
        session.strings("return [...document.querySelectorAll('[data-namespace]')].map(n => n.dataset.namespace)");
    for namespace in ["data", "kube-system", "payments", "shop"] {
        assert!(shown.iter().any(|s| s == namespace), "{namespace} not shown: {shown:?}");
    }

    // A click on a namespace lists its workloads.
    session.click("[data-namespace='shop']");
    let mut listed = session
        .strings("return [...document.querySelectorAll('#details [data-workload]')].map(n => n.dataset.workload)");
    listed.sort();
    let expected = workloads_of("shop", "shop");
    assert!(!expected.is_empty());
    assert_eq!(listed, expected);
    let drawn = session.script("return document.querySelectorAll('#nodes [data-workload]').length");
    assert_eq!(drawn, json!(expected.len()), "the expanded namespace draws its workloads");

    // A click on an edge gives its ports and the rules behind it.
    let edge = session.script(
        "const d = JSON.parse(document.getElementById('report-data').textContent); \
         const i = d.namespaces.findIndex(n => n.name === 'shop'), j = d.namespaces.findIndex(n => n.name === 'data'); \
         return d.nsEdges.findIndex(e => e[0] === i && e[1] === j)",
    );
    // A curve's box centre, where a WebDriver click lands, may miss its stroke: the click is
    // dispatched on the edge itself.
    session.script(&format!(
        "document.querySelector(\"[data-edge='{edge}'] path.hit\").dispatchEvent(new MouseEvent('click', {{bubbles: true}})); return null"
    ));
    let ports = session.script("return document.getElementById('edge-ports').textContent");
    assert_eq!(ports, json!("TCP 5432,6379"));
    let rules = session.strings("return [...document.querySelectorAll('#details .rule')].map(n => n.textContent)");
    assert!(rules.iter().any(|r| r.starts_with("ingress: data/")), "data's ingress policy is named: {rules:?}");

    // The findings table has the audit's rows; the severity filter hides the lower ones.
    let rows = session.script("return document.querySelectorAll('#findings tbody tr[data-finding-id]').length");
    assert_eq!(rows, json!(findings));
    let high = audit["findings"].as_array().unwrap().iter().filter(|f| f["severity"] == json!("high")).count();
    session.script("const s = document.getElementById('severity'); s.value = 'high'; s.dispatchEvent(new Event('change')); return null");
    let visible =
        session.script("return [...document.querySelectorAll('#findings tbody tr')].filter(r => !r.hidden).length");
    assert_eq!(visible, json!(high));

    // Search finds a pod by name; "from here" marks what it reaches.
    session.script("const s = document.getElementById('search'); s.value = 'postgres'; s.dispatchEvent(new Event('input')); return null");
    let results = session
        .strings("return [...document.querySelectorAll('#search-results [data-result]')].map(n => n.dataset.result)");
    assert!(results.iter().any(|r| r.starts_with("data/")), "{results:?}");
    session.click("#search-results [data-result^='data/']");
    session.click("#from-here");
    let reached = session.strings("return [...document.querySelectorAll('.hit-node')].map(n => n.dataset.namespace)");
    assert!(!reached.is_empty(), "postgres reaches something (kube-system's DNS at least)");
    let errors: Vec<Value> = session.log("browser").into_iter().filter(|e| e["level"] == json!("SEVERE")).collect();
    assert!(errors.is_empty(), "console errors after the clicks: {errors:?}");
}

/// The report's row count for one table, after the page's script ran.
fn rows_shown(session: &Session, table: &str) -> Value {
    session.script(&format!(
        "return [...document.querySelectorAll('#{table} tbody tr')].filter(r => !r.hidden && !r.closest('section').hidden).length"
    ))
}

#[test]
fn the_report_shows_entry_paths_and_attack_paths_when_the_input_has_them() {
    let Some((chromedriver, chromium)) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let driver = Driver::start(&chromedriver);
    let session = Session::new(&driver, &chromium, &dir.path().join("profile"));
    let open = |fixture: &str| {
        let page = dir.path().join(format!("{}.html", fixture.replace('/', "-")));
        let written =
            netreach_command().args(["report", fixture, "--out"]).arg(&page).current_dir(fixtures()).output().unwrap();
        assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
        session.call("POST", "/url", Some(json!({ "url": format!("file://{}", page.display()) })));
        assert_eq!(session.script("return document.body.dataset.ready || null"), json!("true"));
    };

    // Entry paths: a row per path of the data (the unit tests hold the data to `exposure`'s
    // answer); the filter keeps the reachable ones.
    open("exposure");
    let count = |filter: &str| {
        session.script(&format!(
            "return JSON.parse(document.getElementById('report-data').textContent).exposures.filter({filter}).length"
        ))
    };
    let all = count("x => true");
    assert!(all.as_u64().unwrap() > 0);
    assert_eq!(rows_shown(&session, "exposures"), all);
    session.script("const c = document.getElementById('reachable-only'); c.checked = true; c.dispatchEvent(new Event('change')); return null");
    let reachable = count("x => x.reachable");
    assert!(reachable.as_u64().unwrap() < all.as_u64().unwrap(), "the fixture has paths policy closes");
    assert_eq!(rows_shown(&session, "exposures"), reachable);
    assert_eq!(rows_shown(&session, "attack-paths"), json!(0), "no RBAC: no attack section");

    // Attack paths (fixtures/attack/wildcard/README.md): cluster-admin in 2 hops from ops/tool.
    open("attack/wildcard");
    let targets = session.strings(
        "return [...document.querySelectorAll('#attack-paths [data-attack-target]')].map(r => r.dataset.attackTarget)",
    );
    assert!(
        targets.iter().any(|t| t == "cluster-admin") && targets.iter().any(|t| t == "secrets/other"),
        "{targets:?}"
    );
    let admin = session.script(
        "return document.querySelector(\"#attack-paths [data-attack-target='cluster-admin']\").cells[1].textContent",
    );
    assert_eq!(admin, json!("2"));
    let errors: Vec<Value> = session.log("browser").into_iter().filter(|e| e["level"] == json!("SEVERE")).collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

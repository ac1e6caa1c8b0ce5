//! Readable outputs at a terminal and elsewhere: colour only when anstream allows it (a terminal
//! or CLICOLOR_FORCE, never NO_COLOR, never into --out files), no wrapping in pipes, and columns
//! padded over the rows shown. Wrapping at a width is unit-tested in render/table.rs.

use crate::support::{fixtures, netreach, netreach_command, run_report, stdout};
use std::process::Output;

/// `netreach ARGS…` in `fixtures/` with `env` set and NO_COLOR unset unless `env` sets it.
fn with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = netreach_command();
    command.env_remove("NO_COLOR").env_remove("CLICOLOR").env_remove("CLICOLOR_FORCE");
    command.envs(env.iter().copied()).args(args).current_dir(fixtures()).output().unwrap()
}

/// The text without ANSI escape sequences (`ESC [ … m`).
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|&c| c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn clicolor_force_colours_severities_and_verdicts_and_the_text_is_otherwise_the_same() {
    let cases: &[&[&str]] = &[
        &["audit", "weak"],
        &["can", "shop/frontend", "shop/cart", "--port", "7070", "shop"],
        &["connectivity", "small/lateral"],
        &["mesh", "mesh/istio-bookinfo-like"],
        &["diff", "diff/before", "--apply", "diff/changes/default-deny-web.yaml"],
    ];
    for args in cases {
        let forced = with_env(args, &[("CLICOLOR_FORCE", "1")]);
        let plain = netreach(args);
        assert_eq!(forced.status.code(), plain.status.code(), "{args:?}: {}", run_report(&forced));
        let (coloured, plain) = (stdout(&forced), stdout(&plain));
        assert!(coloured.contains("\u{1b}["), "{args:?}: no colour:\n{coloured}");
        assert_eq!(strip_ansi(&coloured), plain, "{args:?}");
    }
    let audit = stdout(&with_env(&["audit", "weak"], &[("CLICOLOR_FORCE", "1")]));
    assert!(audit.contains("\u{1b}[1m\u{1b}[31mHIGH\u{1b}[0m"), "high in bold red:\n{audit}");
}

#[test]
fn no_color_wins_over_clicolor_force_and_pipes_get_no_colour() {
    for env in [&[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")][..], &[]] {
        let out = with_env(&["audit", "weak"], env);
        assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
        assert!(!stdout(&out).contains('\u{1b}'), "{env:?}: {}", stdout(&out));
    }
}

#[test]
fn out_files_never_get_colour() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connections.txt");
    let out = with_env(&["connectivity", "small/lateral", "--out", file.to_str().unwrap()], &[("CLICOLOR_FORCE", "1")]);
    assert_eq!(out.status.code(), Some(0), "{}", run_report(&out));
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("SOURCE") && !written.contains('\u{1b}'), "{written}");
}

#[test]
fn pipes_never_wrap_whatever_columns_says() {
    let narrow = with_env(&["audit", "weak"], &[("COLUMNS", "30"), ("NO_COLOR", "1")]);
    let wide = netreach(&["audit", "weak"]);
    assert_eq!(stdout(&narrow), stdout(&wide));
    assert!(stdout(&wide).lines().any(|l| l.len() > 100), "long lines stay whole");
}

#[test]
fn connection_columns_are_padded_over_the_rows_shown_not_the_whole_cluster() {
    let widest = |text: &str, column: usize| {
        let rows: Vec<Vec<&str>> = text
            .lines()
            .skip(1)
            .take_while(|l| !l.is_empty())
            .map(|l| l.split("  ").filter(|c| !c.is_empty()).map(str::trim).collect())
            .collect();
        rows.iter().map(|r| r[column].chars().count()).max().unwrap()
    };
    for args in [
        &["connectivity", "shop"][..],
        &["connectivity", "shop", "-n", "data"],
        &["connectivity", "shop", "--from", "ns:data"],
    ] {
        let text = stdout(&netreach(args));
        let header = text.lines().next().unwrap();
        // DESTINATION starts two spaces after the widest source shown.
        let destination_at = header.find("DESTINATION").unwrap();
        assert_eq!(destination_at, widest(&text, 0).max("SOURCE".len()) + 2, "{args:?}:\n{text}");
        let allowed_at = header.find("ALLOWED").unwrap();
        assert_eq!(allowed_at - destination_at, widest(&text, 1).max("DESTINATION".len()) + 2, "{args:?}:\n{text}");
    }
    // Narrowed to one namespace's sources, the column is narrower than over the whole cluster.
    let all = stdout(&netreach(&["connectivity", "shop"]));
    let data = stdout(&netreach(&["connectivity", "shop", "--from", "ns:data"]));
    assert!(data.find("DESTINATION").unwrap() < all.find("DESTINATION").unwrap(), "{data}");
}

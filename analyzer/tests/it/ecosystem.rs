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

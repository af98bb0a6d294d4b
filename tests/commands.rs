//! The commands and options people look for: `explain`, `completions`,
//! `man`, `--version`, `--help`, `--progress`, `--verbose`, the JSON error
//! document, and validate-logs' filters (`--account-id`, `--region`,
//! `--trail-arn`, `--trail`, `--s3-bucket`, `--s3-prefix`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use common::{Case, f, report_json, small, sorted, tool_present};
use std::process::Output;
use trailproof::FindingCode;

fn trailproof(args: &[&str]) -> Output {
    Command::cargo_bin("trailproof")
        .unwrap()
        .args(args)
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn explain_explains_every_code_from_the_reports_own_text() {
    let list = trailproof(&["explain", "--list"]);
    assert_eq!(list.status.code(), Some(0));
    let listed: Vec<String> = stdout(&list)
        .lines()
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect();
    let codes: Vec<&str> = FindingCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(listed, codes);
    for &code in FindingCode::ALL {
        let out = trailproof(&["explain", code.as_str()]);
        assert_eq!(out.status.code(), Some(0), "{code}");
        let text = stdout(&out);
        assert!(
            text.starts_with(&format!("{code} ({})", code.severity())),
            "{text}"
        );
        for heading in [
            "Meaning:",
            "Common causes:",
            "What it proves:",
            "What it does not prove:",
            "What to do:",
            "Exit status of a run with it:",
        ] {
            assert!(text.contains(heading), "{code}: no {heading}");
        }
        // The same words the reports print.
        assert!(text.contains(code.summary()), "{code}");
        assert!(
            text.contains(trailproof::default_help(code)),
            "{code}: not the reports' help"
        );
    }
}

#[test]
fn explain_of_an_unknown_code_suggests_and_exits_2() {
    let out = trailproof(&["explain", "log.modifed"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no finding code is named \"log.modifed\""),
        "{err}"
    );
    assert!(err.contains("did you mean log.modified"), "{err}");
    let out = trailproof(&["explain", "zzz\u{1b}[31m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !stderr(&out).contains('\u{1b}'),
        "control code passed through"
    );
}

#[test]
fn completions_are_valid_scripts_for_each_shell() {
    for (shell, check) in [
        ("bash", Some(("bash", "-n"))),
        ("zsh", Some(("zsh", "-n"))),
        ("fish", Some(("fish", "--no-execute"))),
        ("powershell", None),
        ("elvish", None),
    ] {
        let out = trailproof(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        for word in [
            "verify",
            "explain",
            "public-keys",
            "account-id",
            "trail-arn",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
        let Some((program, flag)) = check else {
            continue;
        };
        let present = std::process::Command::new(program)
            .arg("--version")
            .output()
            .is_ok();
        if !tool_present(
            "completions_are_valid_scripts_for_each_shell",
            (!present).then(|| format!("{program} is not installed")),
            "apt-get install zsh fish",
        ) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("trailproof.{shell}"));
        std::fs::write(&file, &script).unwrap();
        let checked = std::process::Command::new(program)
            .arg(flag)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            checked.status.success() && checked.stderr.is_empty(),
            "{program} rejects the completion script: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}

#[test]
fn man_pages_render_without_warnings_and_document_every_option() {
    let groff = std::process::Command::new("groff")
        .arg("--version")
        .output();
    let have_groff = tool_present(
        "man_pages_render_without_warnings_and_document_every_option",
        groff.is_err().then(|| "groff is not installed".to_owned()),
        "apt-get install groff-base",
    );
    for (page, options) in [
        (
            None,
            vec!["verify", "explain", "completions", "Exit status"],
        ),
        (
            Some("verify"),
            vec![
                "public\\-keys",
                "account\\-id",
                "trail\\-arn",
                "progress",
                "verbose",
                "save\\-checkpoint",
                "Exit status",
                "Examples",
            ],
        ),
        (Some("explain"), vec!["list"]),
        (Some("completions"), vec!["bash"]),
        (Some("man"), vec!["COMMAND"]),
    ] {
        let mut args = vec!["man"];
        args.extend(page);
        let out = trailproof(&args);
        assert_eq!(out.status.code(), Some(0), "{page:?}");
        let roff = stdout(&out);
        let name = page.map_or("trailproof".to_owned(), |p| format!("trailproof-{p}"));
        assert!(roff.contains(&format!(".TH {name} 1")), "{roff}");
        for option in options {
            assert!(roff.contains(option), "{name} lacks {option}");
        }
        if have_groff {
            let mut groff = std::process::Command::new("groff")
                .args(["-man", "-Tutf8", "-ww", "-z"])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write as _;
            groff
                .stdin
                .take()
                .unwrap()
                .write_all(roff.as_bytes())
                .unwrap();
            let checked = groff.wait_with_output().unwrap();
            assert!(
                checked.status.success() && checked.stderr.is_empty(),
                "groff warns about {name}: {}",
                String::from_utf8_lossy(&checked.stderr)
            );
        }
    }
    let out = trailproof(&["man", "nosuch"]);
    assert_eq!(out.status.code(), Some(2));
    let commands = if cfg!(feature = "collect") {
        "commands: verify, collect, plan, merge, verify-query-results, explain, completions, man"
    } else {
        "commands: verify, plan, merge, verify-query-results, explain, completions, man"
    };
    assert!(stderr(&out).contains(commands), "{}", stderr(&out));
}

#[test]
fn version_names_commit_date_target_and_features() {
    let out = trailproof(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with(&format!("trailproof {}\n", env!("CARGO_PKG_VERSION"))));
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .trim()
            .to_owned()
    };
    let commit = field("commit");
    assert!(
        commit == "unknown"
            || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit}"
    );
    if let Ok(head) = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        && head.status.success()
        && std::env::var_os("TRAILPROOF_GIT_COMMIT").is_none()
    {
        assert_eq!(commit, String::from_utf8_lossy(&head.stdout).trim());
    }
    assert!(field("built").parse::<jiff::Timestamp>().is_ok());
    assert!(field("target").starts_with("x86_64-") || !cfg!(target_arch = "x86_64"));
    assert!(!field("features").is_empty());
}

#[test]
fn help_shows_examples_and_exit_statuses() {
    for args in [vec!["--help"], vec!["verify", "--help"]] {
        let out = trailproof(&args);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains("Examples:"), "{args:?}");
        assert!(text.contains("Exit status:"), "{args:?}");
        for status in ["  0  ", "  1  ", "  2  "] {
            assert!(text.contains(status), "{args:?} lacks exit {status}");
        }
    }
}

#[test]
fn a_bad_time_names_the_accepted_forms() {
    let case = Case::new(small(3));
    let out = case.run(["--start-time", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("accepted: 2026-03-01, 2026-03-01T10:00:00Z"),
        "{err}"
    );
}

#[test]
fn progress_always_prints_plain_lines_without_a_terminal() {
    let case = Case::new(small(4));
    let out = case.run(["--progress", "always"]);
    assert_eq!(out.status.code(), Some(0));
    let err = stderr(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("trailproof: "))
        .collect();
    assert!(
        lines.iter().any(|l| l.starts_with("trailproof: digests ")),
        "{err}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("trailproof: log files ") && l.ends_with("(done)")),
        "{err}"
    );
    assert!(
        !err.contains('\u{1b}') && !err.contains('\r'),
        "terminal codes in {err:?}"
    );
    for quiet in [vec!["--progress", "never"], vec!["--quiet"], vec![]] {
        let out = case.run(&quiet);
        assert!(
            !stderr(&out).contains("trailproof: "),
            "{quiet:?} printed progress without a terminal"
        );
    }
}

#[test]
fn verbose_lists_every_valid_digest_and_log_file_once() {
    let case = Case::new(small(5));
    let bad = case.mirror.logs[2].clone();
    case.mirror.modify_log(&bad.key);
    let out = case.run(["--verbose"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let mut listed: Vec<String> = text
        .lines()
        .filter(|l| l.ends_with("\tvalid"))
        .map(str::to_owned)
        .collect();
    listed.sort();
    let mut expected: Vec<String> = case
        .mirror
        .digests
        .iter()
        .map(|d| format!("Digest file\ts3://{}/{}\tvalid", d.bucket, d.key))
        .chain(
            case.mirror
                .logs
                .iter()
                .filter(|l| l.key != bad.key && !l.listed_by.is_empty())
                .map(|l| format!("Log file\ts3://{}/{}\tvalid", l.bucket, l.key)),
        )
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
    // With JSON on stdout, the lines go to stderr and stdout stays JSON.
    let out = case.verify(&["--verbose"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.ends_with("\tvalid"))
            .count(),
        expected.len()
    );
}

#[test]
fn json_errors_are_json_documents_on_stdout() {
    let case = Case::new(small(6));
    let missing = case.dir.path().join("no-such-keys.json");
    let bad_keys = case.dir.path().join("keys.txt");
    std::fs::write(&bad_keys, "not a key").unwrap();
    for args in [
        vec!["--format", "json", "--start-time", "yesterday"],
        vec!["--format=json", "--account-id", "12"],
    ] {
        let out = case.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let doc = report_json(&out.stdout);
        assert_eq!(doc["kind"], "error");
        assert_eq!(doc["exit_status"], 2);
        assert!(!doc["errors"][0]["message"].as_str().unwrap().is_empty());
    }
    for keys in [&missing, &bad_keys] {
        let out = Command::cargo_bin("trailproof")
            .unwrap()
            .arg("verify")
            .arg(&case.mirror.root)
            .arg("--public-keys")
            .arg(keys)
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let doc = report_json(&out.stdout);
        assert_eq!(doc["kind"], "error");
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["tool"]["name"], "trailproof");
        let message = doc["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(&keys.display().to_string()), "{message}");
        assert!(!doc["errors"][0]["help"].as_str().unwrap().is_empty());
    }
    // Human output: stdout stays empty, the error goes to stderr only.
    let out = case.run(["--start-time", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

/// Two accounts, two regions; one log file of the second account's
/// eu-west-1 modified.
fn two_accounts() -> (Case, trailproof_testgen::LogEntry) {
    let mut spec = small(7);
    spec.accounts = vec!["111122223333".into(), "444455556666".into()];
    let case = Case::new(spec);
    let bad = case
        .mirror
        .logs
        .iter()
        .find(|l| l.account == "444455556666" && l.region == "eu-west-1")
        .unwrap()
        .clone();
    case.mirror.modify_log(&bad.key);
    (case, bad)
}

#[test]
fn account_and_region_filters_examine_only_what_they_select() {
    let (case, bad) = two_accounts();
    let all = case.verify(&[]);
    assert_eq!(
        all.findings(),
        vec![f("log.modified", &bad.bucket, &bad.key)]
    );
    let logs_of = |account: Option<&str>, region: Option<&str>| {
        case.mirror
            .logs
            .iter()
            .filter(|l| {
                account.is_none_or(|a| l.account == a) && region.is_none_or(|r| l.region == r)
            })
            .count() as u64
    };
    for (args, findings, logs) in [
        (
            vec!["--account-id", "111122223333"],
            vec![],
            logs_of(Some("111122223333"), None),
        ),
        (
            vec!["--account-id", "444455556666"],
            vec![f("log.modified", &bad.bucket, &bad.key)],
            logs_of(Some("444455556666"), None),
        ),
        (
            vec!["--region", "us-east-1"],
            vec![],
            logs_of(None, Some("us-east-1")),
        ),
        (
            vec![
                "--region",
                "eu-west-1",
                "--account-id",
                "444455556666,111122223333",
            ],
            vec![f("log.modified", &bad.bucket, &bad.key)],
            logs_of(None, Some("eu-west-1")),
        ),
        (
            vec!["--account-id", "444455556666", "--region", "us-east-1"],
            vec![],
            logs_of(Some("444455556666"), Some("us-east-1")),
        ),
    ] {
        let out = case.verify(&args);
        assert_eq!(out.findings(), sorted(findings.clone()), "{args:?}");
        assert_eq!(
            out.code,
            if findings.is_empty() { 0 } else { 1 },
            "{args:?}"
        );
        assert_eq!(out.report["summary"]["logs"]["listed"], logs, "{args:?}");
        assert!(out.report["inputs"]["selection"].is_object(), "{args:?}");
    }
    assert!(all.report["inputs"].get("selection").is_none());
    // The human and HTML reports say what was left out.
    let html = case.dir.path().join("case.html");
    let out = case.run([
        "--account-id".as_ref(),
        "111122223333".as_ref(),
        "--report".as_ref(),
        std::ffi::OsString::from(format!("html={}", html.display())).as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).contains("\nselected accounts 111122223333\n"),
        "{}",
        stdout(&out)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Chains selected</th><td>accounts 111122223333;"));
}

#[test]
fn a_filter_that_selects_nothing_is_a_mistake_not_a_finding() {
    let (case, _) = two_accounts();
    let out = case.run(["--account-id", "999999999999"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no CloudTrail digest file of the chains selected"),
        "{err}"
    );
    assert!(
        err.contains("444455556666/eu-west-1/management-events@us-east-1"),
        "{err}"
    );
    for bad in [
        vec!["--account-id", "1234"],
        vec!["--region", "Europe"],
        vec!["--trail-arn", "arn:aws:s3:::bucket"],
        vec!["--trail", "a b"],
    ] {
        let out = case.run(&bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            stderr(&out).contains("expected"),
            "{bad:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn trail_filters_leave_another_trails_files_in_the_same_folder_unjudged() {
    let main = small(8);
    let mut other = small(9);
    other.trail_name = "security-trail".into();
    let case = Case::with_trails(vec![main.clone(), other.clone()]);
    let bad = case
        .mirror
        .logs
        .iter()
        .find(|l| {
            l.listed_by.iter().all(|d| d.contains("_security-trail_")) && !l.listed_by.is_empty()
        })
        .unwrap()
        .clone();
    case.mirror.modify_log(&bad.key);
    let finding = vec![f("log.modified", &bad.bucket, &bad.key)];
    assert_eq!(case.verify(&[]).findings(), finding);
    let arn = main.trail_arn();
    for args in [
        vec!["--trail-arn", arn.as_str()],
        vec!["--trail", "management-events"],
    ] {
        let out = case.verify(&args);
        assert_eq!(
            out.findings(),
            vec![],
            "{args:?}: the other trail's files were judged"
        );
        assert_eq!(out.code, 0);
        let chains: Vec<&str> = out.report["chains"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap())
            .collect();
        assert!(
            chains.iter().all(|c| c.contains("/management-events@")),
            "{chains:?}"
        );
    }
    let other_arn = other.trail_arn();
    let out = case.verify(&["--trail-arn", &other_arn]);
    assert_eq!(out.findings(), finding);
    assert_eq!(out.code, 1);
    // The home region is part of the ARN: the same name elsewhere selects nothing.
    let elsewhere = arn.replace(":us-east-1:", ":eu-west-1:");
    let out = case.run(["--trail-arn", &elsewhere]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn s3_bucket_and_prefix_are_aliases_of_bucket_and_prefix() {
    let case = Case::new(small(10));
    let out = case.verify(&["--s3-bucket", "acme-cloudtrail-logs", "--s3-prefix", ""]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = case.run(["--s3-bucket", "another-bucket"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn only_an_authentic_other_trail_keeps_its_files_out_of_a_trail_filter() {
    // A "trail" whose digests no supplied key signed cannot vouch that the
    // files it lists are its own: under --trail they are judged as usual.
    use trailproof_testgen::{KeyId, TestKey};
    let main = small(11);
    let mut ghost = small(12);
    ghost.trail_name = "ghost-trail".into();
    ghost.keys = vec![KeyId::Three];
    let case = Case::with_trails(vec![main, ghost]);
    let mut keys: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&case.mirror.public_keys).unwrap()).unwrap();
    let unknown = TestKey::get(KeyId::Three).fingerprint();
    keys["PublicKeyList"]
        .as_array_mut()
        .unwrap()
        .retain(|k| k["Fingerprint"] != unknown.as_str());
    let keys_file = case.dir.path().join("main-keys.json");
    std::fs::write(&keys_file, keys.to_string()).unwrap();
    let ghost_logs: Vec<(String, String)> = case
        .mirror
        .logs
        .iter()
        .filter(|l| {
            !l.listed_by.is_empty() && l.listed_by.iter().all(|d| d.contains("_ghost-trail_"))
        })
        .map(|l| f("log.unreferenced", &l.bucket, &l.key))
        .collect();
    assert!(!ghost_logs.is_empty());
    let out = common::verify_json(&case.roots(), &keys_file, &["--trail", "management-events"]);
    assert_eq!(out.findings(), sorted(ghost_logs));
    assert_eq!(out.code, 1);
}

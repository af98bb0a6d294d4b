//! The command line: mirrors before or after `--public-keys`, the time forms
//! `validate-logs` users type, `--max-digest-mib` bounds, key-file messages
//! and terminal control characters in messages.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use common::{Case, small};
use serde_json::Value;
use std::ffi::OsString;

/// `trailproof <args>`: exit code, JSON report (when stdout is one) and stderr.
fn trailproof(args: &[OsString]) -> (i32, Option<Value>, String) {
    let out = Command::cargo_bin("trailproof")
        .unwrap()
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout)
        .ok()
        .map(common::checked);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap(), report, stderr)
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter()
        .map(|a| <dyn AsRef<std::ffi::OsStr>>::as_ref(*a).to_owned())
        .collect()
}

/// The mirror roots a JSON report names, in order.
fn mirrors_of(report: &Value) -> Vec<String> {
    report["inputs"]["mirrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_owned())
        .collect()
}

fn key_files_of(report: &Value) -> Vec<String> {
    report["inputs"]["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["path"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn mirrors_may_come_before_or_after_the_key_files() {
    let case = Case::new(small(401));
    let root = &case.mirror.root;
    let a = case.mirror.public_keys.clone();
    let b = case.dir.path().join("more-keys.json");
    std::fs::copy(&a, &b).unwrap();
    let (root_s, a_s, b_s) = (
        root.display().to_string(),
        a.display().to_string(),
        b.display().to_string(),
    );
    let json = ["--format", "json"];
    for (list, keys) in [
        (args(&[&"verify", root, &"--public-keys", &a]), vec![&a_s]),
        (args(&[&"verify", &"--public-keys", &a, root]), vec![&a_s]),
        (
            args(&[&"verify", &"--public-keys", &a, &b, root]),
            vec![&a_s, &b_s],
        ),
        (
            args(&[&"verify", &"--public-keys", &a, root, &"--public-keys", &b]),
            vec![&a_s, &b_s],
        ),
        (
            args(&[&"verify", &"--public-keys", &a, &"--", root]),
            vec![&a_s],
        ),
    ] {
        let mut list = list;
        // Before any `--`, which ends the options.
        list.splice(1..1, json.iter().map(OsString::from));
        let (code, report, stderr) = trailproof(&list);
        assert_eq!(code, 0, "{list:?}: {stderr}");
        let report = report.unwrap();
        assert_eq!(mirrors_of(&report), vec![root_s.clone()], "{list:?}");
        let keys: Vec<String> = keys.into_iter().cloned().collect();
        assert_eq!(key_files_of(&report), keys, "{list:?}");
    }
}

#[test]
fn several_mirrors_keep_their_command_line_order_on_either_side() {
    let mut spec = small(402);
    spec.bucket_change_at_hour = Some((3, "acme-cloudtrail-logs-v2".to_owned()));
    let case = Case::new(spec);
    let roots = case.roots();
    assert_eq!(roots.len(), 2);
    let keys = &case.mirror.public_keys;
    let (r1, r2) = (&roots[0], &roots[1]);
    let names = |a: &std::path::PathBuf, b: &std::path::PathBuf| {
        vec![a.display().to_string(), b.display().to_string()]
    };
    for (list, expected) in [
        (
            args(&[&"verify", &"--public-keys", keys, r1, r2]),
            names(r1, r2),
        ),
        (
            args(&[&"verify", r2, &"--public-keys", keys, r1]),
            names(r2, r1),
        ),
        (
            args(&[&"verify", &"--public-keys", keys, r1, &"--quiet", r2]),
            names(r1, r2),
        ),
    ] {
        let mut list = list;
        list.extend(["--format", "json"].map(OsString::from));
        let (code, report, stderr) = trailproof(&list);
        assert_eq!(code, 0, "{list:?}: {stderr}");
        assert_eq!(mirrors_of(&report.unwrap()), expected, "{list:?}");
    }
}

#[test]
fn no_mirror_or_no_key_file_is_a_usage_error() {
    let case = Case::new(small(403));
    let keys = &case.mirror.public_keys;
    let missing = case.dir.path().join("no-such-mirror");
    let root = &case.mirror.root;
    for (list, needle) in [
        (
            args(&[&"verify", &"--public-keys", keys]),
            "no <MIRROR> directory given",
        ),
        (
            args(&[&"verify", &"--public-keys", keys, &missing]),
            "no-such-mirror are not directories",
        ),
        (
            args(&[&"verify", &"--public-keys", root]),
            "no --public-keys file given",
        ),
        (args(&[&"verify", root]), "--public-keys <FILE>"),
    ] {
        let (code, _, stderr) = trailproof(&list);
        assert_eq!(code, 2, "{list:?}");
        assert!(stderr.contains(needle), "{list:?}: {stderr}");
        assert!(stderr.contains("Usage: trailproof verify"), "{stderr}");
    }
}

#[test]
fn help_shows_both_argument_orders() {
    let (code, _, _) = trailproof(&args(&[&"verify", &"--help"]));
    assert_eq!(code, 0);
    let out = Command::cargo_bin("trailproof")
        .unwrap()
        .args(["verify", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("trailproof verify [OPTIONS] <MIRROR>... --public-keys <FILE>..."),
        "{help}"
    );
    assert!(
        help.contains("trailproof verify [OPTIONS] --public-keys <FILE>... <MIRROR>..."),
        "{help}"
    );
}

#[test]
fn every_time_form_is_accepted_and_converted_to_utc() {
    let case = Case::new(small(404));
    for (text, utc) in [
        ("2026-03-01T03:00:00Z", "2026-03-01T03:00:00Z"),
        ("2026-03-01T05:00:00+02:00", "2026-03-01T03:00:00Z"),
        ("2026-03-01T00:30:00-02:30", "2026-03-01T03:00:00Z"),
        ("2026-03-01T05:00:00+0200", "2026-03-01T03:00:00Z"),
        ("2026-03-01", "2026-03-01T00:00:00Z"),
        ("2026/03/01", "2026-03-01T00:00:00Z"),
        ("20260301", "2026-03-01T00:00:00Z"),
        ("2026-03-01T03", "2026-03-01T03:00:00Z"),
        ("2026-03-01T03:00", "2026-03-01T03:00:00Z"),
        ("2026-03-01T03:00:00", "2026-03-01T03:00:00Z"),
        ("2026-03-01 03:00", "2026-03-01T03:00:00Z"),
        ("2026-03-01 03:00:00", "2026-03-01T03:00:00Z"),
        ("2026-03-01 03:00:00 UTC", "2026-03-01T03:00:00Z"),
        ("2026-03-01T03:00:00.000Z", "2026-03-01T03:00:00Z"),
        ("20260301T030000Z", "2026-03-01T03:00:00Z"),
        ("20260301T0300Z", "2026-03-01T03:00:00Z"),
        ("20260301T03:00:00Z", "2026-03-01T03:00:00Z"),
    ] {
        // The chains start after midnight: an end time at midnight has no digest.
        let options: &[&str] = if utc.ends_with("T00:00:00Z") {
            &["--start-time"]
        } else {
            &["--start-time", "--end-time"]
        };
        for option in options {
            let out = case.verify(&[option, text]);
            assert_eq!(out.code, 0, "{option} {text}: {}", out.stderr);
            let field = &option[2..].replace('-', "_");
            assert_eq!(
                out.report["inputs"][field], utc,
                "{option} {text}: {}",
                out.report["inputs"]
            );
        }
    }
}

#[test]
fn a_bad_time_lists_the_accepted_forms() {
    let case = Case::new(small(405));
    for text in [
        "yesterday",
        "2026-03-01T10:00:00 Europe/Paris",
        "1772337600",
        "2026-02-30",
    ] {
        let out = case.run(["--start-time", text]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(
            stderr.contains(&format!("invalid value '{text}' for '--start-time <T>'")),
            "{stderr}"
        );
        assert!(
            stderr.contains(
                "accepted: 2026-03-01, 2026-03-01T10:00:00Z, 2026-03-01T10:00:00+02:00, 2026-03-01 10:00, 20260301T100000Z"
            ),
            "{stderr}"
        );
    }
}

#[test]
fn max_digest_mib_below_one_is_a_usage_error() {
    let case = Case::new(small(406));
    for value in ["0", "-1", "65537"] {
        let out = case.run([format!("--max-digest-mib={value}")]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(stderr.contains("--max-digest-mib <MIB>"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let out = case.verify(&["--max-digest-mib", "1"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_garbage_key_file_says_what_a_key_file_is() {
    let case = Case::new(small(407));
    let garbage = case.dir.path().join("KEYS.json");
    for bytes in [&b"\x30\x82\x01\x0a garbage"[..], b"hello", b""] {
        std::fs::write(&garbage, bytes).unwrap();
        let (code, _, stderr) = trailproof(&args(&[
            &"verify",
            &case.mirror.root,
            &"--public-keys",
            &garbage,
        ]));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("KEYS.json"), "{stderr}");
        assert!(
            stderr.contains(
                "not a public-key file: expected the JSON `aws cloudtrail list-public-keys` prints"
            ),
            "{stderr}"
        );
        assert!(
            !stderr.contains("NomError") && !stderr.contains("Eof"),
            "{stderr}"
        );
    }
}

#[test]
fn control_characters_in_messages_are_escaped() {
    let case = Case::new(small(408));
    let dir = case.dir.path();
    let hostile_keys = dir.join("keys\u{1b}]0;owned\u{7}\u{202e}.json");
    let hostile_folder = dir.join("out\u{1b}[2J").join("r.json");
    for list in [
        args(&[
            &"verify",
            &case.mirror.root,
            &"--public-keys",
            &hostile_keys,
        ]),
        args(&[
            &"verify",
            &case.mirror.root,
            &"--public-keys",
            &case.mirror.public_keys,
            &"--output",
            &hostile_folder,
        ]),
        args(&[
            &"verify",
            &case.mirror.root,
            &"--public-keys",
            &case.mirror.public_keys,
            &"--start-time",
            &"2026\u{1b}[31m",
        ]),
        args(&[&"verify", &"--public-keys", &hostile_keys]),
    ] {
        let (code, _, stderr) = trailproof(&list);
        assert_eq!(code, 2, "{list:?}: {stderr}");
        assert!(
            !stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
            "raw control character in {stderr:?}"
        );
        assert!(stderr.contains("\\u{1b}"), "{stderr}");
    }
}

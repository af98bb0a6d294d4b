//! `trailproof verify-query-results`: CloudTrail Lake query exports, real
//! (the AWS CLI v2's functional-test export) and generated with TEST-ONLY
//! keys, intact and tampered. Each case asserts the exact finding, and the
//! conformance test runs the AWS CLI v2's logic (re-implemented from it in
//! `tests/conformance/verify_query_results_cli_v2.py`) on the same exports.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use trailproof_testgen::KeyId;
use trailproof_testgen::lake::{LakeExport, keys_json, lake_fingerprint};

const AWS_EXPORT: &str = "testdata/lake/aws-cli-v2/export";
const AWS_KEYS: &str = "testdata/lake/aws-cli-v2/public-keys.json";

/// What one run gave.
struct Outcome {
    code: i32,
    report: Value,
    stdout: String,
    stderr: String,
}

impl Outcome {
    /// `(code, object)` of every finding, sorted.
    fn findings(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self.report["findings"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        (
                            f["code"].as_str().unwrap().to_owned(),
                            f["object"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }
}

fn run(dir: &Path, keys: &Path, extra: &[&str]) -> Outcome {
    let out = Command::cargo_bin("trailproof")
        .unwrap()
        .arg("verify-query-results")
        .arg(dir)
        .arg("--public-keys")
        .arg(keys)
        .args(["--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    // Every JSON report is valid against the committed schema.
    let report = serde_json::from_str(&stdout).map_or(Value::Null, common::checked);
    Outcome {
        code: out.status.code().unwrap(),
        report,
        stdout,
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// A generated export of three result files with its key list.
struct Case {
    _dir: tempfile::TempDir,
    export: LakeExport,
    keys: PathBuf,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        let export = LakeExport::write(&dir.path().join("export"), 3, KeyId::One);
        let keys = dir.path().join("lake-keys.json");
        std::fs::write(&keys, export.keys_json()).unwrap();
        Case {
            _dir: dir,
            export,
            keys,
        }
    }

    fn run(&self, extra: &[&str]) -> Outcome {
        run(&self.export.dir, &self.keys, extra)
    }

    fn file(&self, n: usize) -> PathBuf {
        self.export.dir.join(&self.export.files[n])
    }
}

fn finding(code: &str, object: &str) -> (String, String) {
    (code.to_owned(), object.to_owned())
}

#[test]
fn the_aws_cli_v2_functional_test_export_verifies() {
    let out = run(Path::new(AWS_EXPORT), Path::new(AWS_KEYS), &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert_eq!(out.report["verdict"], "pass");
    assert_eq!(out.report["signature"], "valid");
    assert_eq!(out.report["summary"]["valid"], 1);
    assert_eq!(
        out.report["sign_file"]["public_key_fingerprint"],
        "67b9fa73676d86966b449dd677850753"
    );
    // Its fingerprint is no MD5 of the key: `verify`'s strict check of a
    // digest key list refuses the same file (exit 2, saying why).
    let strict = Command::cargo_bin("trailproof")
        .unwrap()
        .args(["verify", "testdata/demo/mirror", "--public-keys", AWS_KEYS])
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&strict.stderr).contains("MD5 of its key"),
        "{}",
        String::from_utf8_lossy(&strict.stderr)
    );
}

#[test]
fn an_intact_generated_export_passes_with_every_file_valid() {
    let case = Case::new();
    let out = case.run(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.findings(), []);
    assert_eq!(out.report["summary"]["listed"], 3);
    assert_eq!(out.report["summary"]["valid"], 3);
    assert_eq!(out.report["format"], "trailproof-query-report/1");
    assert_eq!(out.report["public_keys"][0]["keys"], 1);
    let human = Command::cargo_bin("trailproof")
        .unwrap()
        .arg("verify-query-results")
        .arg(&case.export.dir)
        .arg("--public-keys")
        .arg(&case.keys)
        .output()
        .unwrap();
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(
        text.starts_with("PASS: the query results are intact"),
        "{text}"
    );
}

#[test]
fn a_modified_result_file_is_named_with_both_hashes_of_its_stored_bytes() {
    let case = Case::new();
    let path = case.file(1);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0);
    std::fs::write(&path, &bytes).unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [finding("query.file_modified", "result_2.csv.gz")]
    );
    let f = &out.report["findings"][0];
    assert_eq!(f["compared"], "SHA-256 of the stored (compressed) bytes");
    assert_eq!(
        f["expected"],
        case.export.sign_json()["files"][1]["fileHashValue"]
    );
    assert_eq!(f["actual"], trailproof_testgen::sha256_hex(&bytes));
    assert_eq!(out.report["signature"], "valid");
    assert_eq!(out.report["verdict"], "fail");
}

#[test]
fn a_missing_result_file_and_an_unlisted_one_are_each_found() {
    let case = Case::new();
    std::fs::remove_file(case.file(0)).unwrap();
    std::fs::write(case.export.dir.join("result_9.csv.gz"), b"added").unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [
            finding("query.file_missing", "result_1.csv.gz"),
            finding("query.file_unlisted", "result_9.csv.gz"),
        ]
    );
}

#[test]
fn an_unlisted_file_alone_is_a_warning_that_fails_only_under_fail_on_warning() {
    let case = Case::new();
    std::fs::write(case.export.dir.join("notes.txt"), b"copied along").unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.findings(),
        [finding("query.file_unlisted", "notes.txt")]
    );
    assert_eq!(case.run(&["--fail-on", "warning"]).code, 1);
}

#[test]
fn a_hash_changed_in_the_sign_file_breaks_the_signature() {
    let case = Case::new();
    // The attacker edits a result file and writes its new hash into the sign file.
    let path = case.file(2);
    std::fs::write(&path, trailproof_testgen::gzip(b"eventid\nforged\n")).unwrap();
    let mut sign = case.export.sign_json();
    sign["files"][2]["fileHashValue"] = json!(trailproof_testgen::sha256_hex(
        &std::fs::read(&path).unwrap()
    ));
    case.export.write_sign_json(&sign);
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [finding("query.signature_invalid", "result_sign.json")]
    );
    assert_eq!(out.report["summary"]["valid"], 3);
}

#[test]
fn reordered_files_or_a_signature_by_another_key_do_not_verify() {
    let case = Case::new();
    let mut sign = case.export.sign_json();
    sign["files"].as_array_mut().unwrap().swap(0, 1);
    case.export.write_sign_json(&sign);
    assert_eq!(
        case.run(&[]).findings(),
        [finding("query.signature_invalid", "result_sign.json")]
    );
    // Signed by the attacker's key, under the real key's fingerprint.
    let case = Case::new();
    let mut forged = trailproof_testgen::lake::sign_file(
        &case
            .export
            .files
            .iter()
            .map(|n| {
                let bytes = std::fs::read(case.export.dir.join(n)).unwrap();
                (n.clone(), trailproof_testgen::sha256_hex(&bytes))
            })
            .collect::<Vec<_>>(),
        KeyId::Attacker,
        case.export.completed,
    );
    forged["publicKeyFingerprint"] = json!(lake_fingerprint(KeyId::One));
    case.export.write_sign_json(&forged);
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [finding("query.signature_invalid", "result_sign.json")]
    );
}

#[test]
fn a_key_not_supplied_is_a_mistake_in_running_the_tool_not_a_finding() {
    let case = Case::new();
    std::fs::write(
        &case.keys,
        keys_json(&[KeyId::Two], case.export.completed, case.export.completed),
    )
    .unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains(&lake_fingerprint(KeyId::One))
            && out.stderr.contains("list-public-keys"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_key_published_as_valid_only_long_after_the_query_is_an_error() {
    let case = Case::new();
    let later = case.export.completed + jiff::SignedDuration::from_hours(24 * 60);
    std::fs::write(
        &case.keys,
        keys_json(
            &[KeyId::One],
            later,
            later + jiff::SignedDuration::from_hours(24),
        ),
    )
    .unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [finding("query.key_not_valid", "result_sign.json")]
    );
    assert_eq!(out.report["signature"], "key_not_valid");
    // Valid from 19 days after the query: inside the 20 days the AWS CLI looks.
    let soon = case.export.completed + jiff::SignedDuration::from_hours(24 * 19);
    std::fs::write(
        &case.keys,
        keys_json(
            &[KeyId::One],
            soon,
            soon + jiff::SignedDuration::from_hours(24),
        ),
    )
    .unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 0, "{:?}", out.findings());
    assert_eq!(out.report["signature"], "valid");
    // Exactly at the window's edges: from 20 days after, or until the completion.
    let edge = case.export.completed + jiff::SignedDuration::from_hours(24 * 20);
    for (start, end) in [
        (edge, edge + jiff::SignedDuration::from_hours(1)),
        (
            case.export.completed - jiff::SignedDuration::from_hours(1),
            case.export.completed,
        ),
    ] {
        std::fs::write(&case.keys, keys_json(&[KeyId::One], start, end)).unwrap();
        assert_eq!(case.run(&[]).code, 0, "{start}..{end}");
    }
    // Two entries under the fingerprint: the one valid at the time is taken,
    // wherever it stands in the list.
    let mut list: Value = serde_json::from_str(&keys_json(
        &[KeyId::Attacker],
        later,
        later + jiff::SignedDuration::from_hours(24),
    ))
    .unwrap();
    list["PublicKeyList"][0]["Fingerprint"] = json!(lake_fingerprint(KeyId::One));
    let real: Value = serde_json::from_str(&case.export.keys_json()).unwrap();
    list["PublicKeyList"]
        .as_array_mut()
        .unwrap()
        .push(real["PublicKeyList"][0].clone());
    std::fs::write(&case.keys, list.to_string()).unwrap();
    assert_eq!(case.run(&[]).code, 0);
    // Valid only until an hour before the query completed.
    let before = case.export.completed - jiff::SignedDuration::from_hours(1);
    std::fs::write(
        &case.keys,
        keys_json(
            &[KeyId::One],
            before - jiff::SignedDuration::from_hours(24),
            before,
        ),
    )
    .unwrap();
    assert_eq!(
        case.run(&[]).findings(),
        [finding("query.key_not_valid", "result_sign.json")]
    );
}

#[test]
fn names_that_leave_the_export_are_never_opened() {
    let case = Case::new();
    let outside = case.export.dir.parent().unwrap().join("secret.csv.gz");
    std::fs::write(&outside, b"outside").unwrap();
    let hash = trailproof_testgen::sha256_hex(b"outside");
    for name in [
        "../secret.csv.gz".to_owned(),
        outside.to_string_lossy().into_owned(),
        "a/./b".to_owned(),
        "x\u{1b}[2J".to_owned(),
    ] {
        let files = vec![(name.clone(), hash.clone())];
        let sign = trailproof_testgen::lake::sign_file(&files, KeyId::One, case.export.completed);
        case.export.write_sign_json(&sign);
        let out = case.run(&[]);
        assert_eq!(out.code, 1, "{name}");
        let codes: Vec<String> = out.findings().into_iter().map(|(c, _)| c).collect();
        assert!(
            codes.contains(&"query.unsafe_name".to_owned()),
            "{name}: {codes:?}"
        );
        assert!(
            !out.stdout.contains('\u{1b}'),
            "{name}: control code passed through"
        );
        assert_eq!(out.report["summary"]["unsafe_names"], 1);
    }
}

#[test]
fn a_link_or_fifo_in_place_of_a_result_file_is_not_followed() {
    let case = Case::new();
    let target = case.file(0);
    let kept = case.export.dir.parent().unwrap().join("kept.csv.gz");
    std::fs::rename(&target, &kept).unwrap();
    std::os::unix::fs::symlink(&kept, &target).unwrap();
    let fifo = case.file(1);
    std::fs::remove_file(&fifo).unwrap();
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings(),
        [
            finding("query.file_not_regular", "result_1.csv.gz"),
            finding("query.file_not_regular", "result_2.csv.gz"),
        ]
    );
}

#[test]
fn a_sign_file_missing_or_malformed_is_found_and_an_empty_folder_is_no_export() {
    let case = Case::new();
    let sign = case.export.sign_path();
    std::fs::write(&sign, b"{\"files\": [").unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.findings()[0],
        finding("query.sign_file_malformed", "result_sign.json")
    );
    for broken in [
        json!({"files": [], "hashSignature": "00", "publicKeyFingerprint": "x", "queryCompleteTime": "2026-03-01T00:00:00Z"}),
        json!({"files": [{"fileName": "result_1.csv.gz", "fileHashValue": "00"}], "hashSignature": "zz", "publicKeyFingerprint": "x", "queryCompleteTime": "2026-03-01T00:00:00Z"}),
        json!({"files": [{"fileName": "result_1.csv.gz", "fileHashValue": "00"}], "hashSignature": "00", "publicKeyFingerprint": "x", "queryCompleteTime": "yesterday"}),
        json!({"files": [{"fileName": "result_1.csv.gz"}], "hashSignature": "00", "publicKeyFingerprint": "x", "queryCompleteTime": "2026-03-01T00:00:00Z"}),
        json!([1, 2]),
    ] {
        case.export.write_sign_json(&broken);
        let out = case.run(&[]);
        assert_eq!(out.code, 1, "{broken}");
        assert!(
            out.findings()
                .contains(&finding("query.sign_file_malformed", "result_sign.json")),
            "{broken}: {:?}",
            out.findings()
        );
    }
    std::fs::remove_file(&sign).unwrap();
    let out = case.run(&[]);
    assert_eq!(out.code, 1);
    assert!(
        out.findings()
            .contains(&finding("query.sign_file_missing", "result_sign.json")),
        "{:?}",
        out.findings()
    );
    let message = out.report["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("{} holds files", case.export.dir.display())),
        "{message}"
    );
    // A sign file over 64 MiB is not read; one of 64 MiB is (and is no JSON).
    for (size, refused) in [((64 << 20) + 1, true), (64 << 20, false)] {
        std::fs::write(&sign, vec![b' '; size]).unwrap();
        let out = case.run(&[]);
        let message = out.report["findings"][0]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            message.contains("larger than 64 MiB"),
            refused,
            "{size}: {message}"
        );
        // Not a permission problem: the sign file is what is wrong.
        assert_eq!(
            out.report["findings"][0]["code"],
            "query.sign_file_malformed"
        );
    }
    std::fs::remove_file(&sign).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = run(empty.path(), &case.keys, &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("not a CloudTrail Lake query export"),
        "{}",
        out.stderr
    );
    let out = run(&empty.path().join("absent"), &case.keys, &[]);
    assert_eq!(out.code, 2);
}

#[test]
fn nothing_is_written_but_the_reports_asked_for_and_never_over_an_input() {
    let case = Case::new();
    let before = std::fs::read_dir(&case.export.dir).unwrap().count();
    let out = case.run(&["--output", case.export.sign_path().to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(std::fs::read_dir(&case.export.dir).unwrap().count(), before);
    assert!(case.export.sign_json()["files"].is_array());
    let report = case.export.dir.parent().unwrap().join("report.json");
    let out = case.run(&["--output", report.to_str().unwrap()]);
    assert_eq!(out.code, 0);
    let written: Value = serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(written["verdict"], "pass");
}

/// The AWS CLI v2's logic (`--local-export-path`) on `dir` with `keys`.
fn cli_v2(dir: &Path, keys: &Path) -> std::process::Output {
    std::process::Command::new("python3")
        .arg("tests/conformance/verify_query_results_cli_v2.py")
        .arg("--local-export-path")
        .arg(dir)
        .arg("--public-key-file")
        .arg(keys)
        .output()
        .unwrap()
}

/// The AWS CLI v2's verification (re-implemented from its code, local mode)
/// on the same exports: it succeeds exactly where trailproof passes, and
/// its first error is one trailproof reports. (It stops at its first error
/// and never looks for unlisted files; trailproof reports every finding.)
#[test]
fn the_aws_cli_v2_logic_agrees_on_every_case() {
    type Tamper = fn(&Case);
    /// The CLI's message and trailproof's finding code, or none when both pass.
    type Expected = Option<(&'static str, &'static str)>;
    let cases: Vec<(&str, Tamper, Expected)> = vec![
        ("intact", |_| {}, None),
        (
            "modified",
            |c| std::fs::write(c.file(0), b"changed").unwrap(),
            Some(("has inconsistent hash value", "query.file_modified")),
        ),
        (
            "missing",
            |c| std::fs::remove_file(c.file(2)).unwrap(),
            Some(("No such file or directory", "query.file_missing")),
        ),
        (
            "reordered",
            |c| {
                let mut sign = c.export.sign_json();
                sign["files"].as_array_mut().unwrap().swap(1, 2);
                c.export.write_sign_json(&sign);
            },
            Some(("Invalid signature in sign file", "query.signature_invalid")),
        ),
        (
            "signature of other data",
            |c| {
                let mut sign = c.export.sign_json();
                let other = trailproof_testgen::TestKey::get(KeyId::One).sign(b"123");
                sign["hashSignature"] = json!(hex::encode(other));
                c.export.write_sign_json(&sign);
            },
            Some(("Invalid signature in sign file", "query.signature_invalid")),
        ),
        (
            "no file listed",
            |c| {
                let mut sign = c.export.sign_json();
                sign["files"] = json!([]);
                c.export.write_sign_json(&sign);
            },
            Some(("No export file was found", "query.sign_file_malformed")),
        ),
        (
            "not JSON",
            |c| std::fs::write(c.export.sign_path(), b"{123").unwrap(),
            Some((
                "Unable to load result_sign.json",
                "query.sign_file_malformed",
            )),
        ),
        (
            "unlisted file",
            |c| std::fs::write(c.export.dir.join("extra.csv.gz"), b"x").unwrap(),
            None,
        ),
        (
            "upper-case signature hex",
            |c| {
                let mut sign = c.export.sign_json();
                let upper = sign["hashSignature"].as_str().unwrap().to_uppercase();
                sign["hashSignature"] = json!(upper);
                c.export.write_sign_json(&sign);
            },
            None,
        ),
    ];
    for (name, tamper, expected) in cases {
        let case = Case::new();
        tamper(&case);
        let ours = case.run(&[]);
        let cli = cli_v2(&case.export.dir, &case.keys);
        let cli_err = String::from_utf8_lossy(&cli.stderr);
        match expected {
            None => {
                assert_eq!(cli.status.code(), Some(0), "{name}: CLI: {cli_err}");
                assert_eq!(ours.code, 0, "{name}: {:?}", ours.findings());
            }
            Some((message, code)) => {
                assert_eq!(cli.status.code(), Some(255), "{name}: CLI: {cli_err}");
                assert!(cli_err.contains(message), "{name}: CLI said {cli_err}");
                assert_eq!(ours.code, 1, "{name}: {}", ours.stderr);
                assert!(
                    ours.findings().iter().any(|(c, _)| c == code),
                    "{name}: {:?}",
                    ours.findings()
                );
            }
        }
    }
    // The real export, and a key not supplied (the CLI: no key found; trailproof: exit 2).
    let cli = cli_v2(Path::new(AWS_EXPORT), Path::new(AWS_KEYS));
    assert_eq!(cli.status.code(), Some(0));
    let case = Case::new();
    std::fs::write(
        &case.keys,
        keys_json(&[KeyId::Two], case.export.completed, case.export.completed),
    )
    .unwrap();
    let cli = cli_v2(&case.export.dir, &case.keys);
    assert!(
        String::from_utf8_lossy(&cli.stderr)
            .contains("No public keys found for key with fingerprint")
    );
    assert_eq!(case.run(&[]).code, 2);
}

/// A result file this user cannot read (run as `nobody`, privileges dropped
/// with `setpriv` under root): incomplete (exit 2), the file never called
/// missing or modified.
#[test]
fn a_file_this_user_cannot_read_leaves_the_check_incomplete_and_accuses_no_one() {
    use std::os::unix::fs::PermissionsExt as _;
    let case = Case::new();
    let root = case._dir.path();
    let binary = root.join("trailproof");
    std::fs::copy(assert_cmd::cargo::cargo_bin("trailproof"), &binary).unwrap();
    for path in [root, case.export.dir.as_path()] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(&case.export.dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    std::fs::set_permissions(&case.keys, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(case.file(1), std::fs::Permissions::from_mode(0o000)).unwrap();
    let probe = tempfile::NamedTempFile::new().unwrap();
    let root_user = std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap()) == 0;
    let mut command = if root_user {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(&binary);
        c
    } else {
        std::process::Command::new(&binary)
    };
    let out = command
        .arg("verify-query-results")
        .arg(&case.export.dir)
        .arg("--public-keys")
        .arg(&case.keys)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(report["verdict"], "incomplete");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["mirror.unreadable"]);
    assert_eq!(report["summary"]["unreadable"], 1);
    assert_eq!(report["summary"]["valid"], 2);
    // The sign file itself unreadable: incomplete too, never called malformed.
    std::fs::set_permissions(
        case.export.sign_path(),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let out = command.output().unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(report["findings"][0]["code"], "mirror.unreadable");
    assert_eq!(report["findings"][0]["object"], "result_sign.json");
}

/// Every format `verify` writes but HTML: SARIF (one result per finding),
/// Markdown, JUnit (a failed case per file with an error), and a manifest
/// that `sha256sum -c` checks.
#[test]
fn every_report_format_is_written_and_the_manifest_checks_with_sha256sum() {
    let case = Case::new();
    std::fs::write(case.file(0), b"changed").unwrap();
    let dir = case.export.dir.parent().unwrap();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let reports: Vec<String> = ["sarif", "markdown", "junit", "manifest"]
        .iter()
        .map(|f| format!("{f}={}", path(&format!("report.{f}"))))
        .collect();
    let mut args = vec!["--fail-on", "never"];
    for r in &reports {
        args.extend(["--report", r.as_str()]);
    }
    let out = case.run(&args);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let read = |f: &str| std::fs::read_to_string(path(&format!("report.{f}"))).unwrap();
    let sarif: Value = serde_json::from_str(&read("sarif")).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["ruleId"], "query.file_modified");
    assert!(read("markdown").contains("| error | `query.file_modified` | `result_1.csv.gz` |"));
    let junit = read("junit");
    assert!(junit.contains("tests=\"4\" failures=\"1\""), "{junit}");
    assert!(
        junit.contains("<failure type=\"query.file_modified\""),
        "{junit}"
    );
    let manifest = read("manifest");
    assert_eq!(manifest.lines().filter(|l| !l.starts_with('#')).count(), 5);
    let check = std::process::Command::new("sha256sum")
        .arg("-c")
        .arg(path("report.manifest"))
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let html = case.run(&["--report", &format!("html={}", path("report.html"))]);
    assert_eq!(html.code, 2);
    assert!(!dir.join("report.html").exists());
}

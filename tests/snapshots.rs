//! Snapshots of the human, Markdown and JUnit reports for one tampered
//! mirror (a modified log, a modified digest, an injected log, a missing
//! digest). Times, the host, the temporary directory and the tool version
//! are filtered; everything else must stay byte for byte (`cargo insta
//! review` after an intended change).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Case, small};

const REGION: &str = "us-east-1";

/// A mirror with one finding of each common kind, built the same way every time.
fn tampered() -> Case {
    let case = Case::new(small(501));
    let chain = case.chain(REGION);
    let log = case
        .mirror
        .logs
        .iter()
        .find(|l| l.region == REGION)
        .unwrap();
    case.mirror.modify_log(&log.key);
    let victim = chain[2];
    let mut json = case.mirror.read_digest_json(&victim.key);
    json["awsAccountId"] = "999999999999".into();
    case.mirror
        .write_digest(&victim.key, &json, Some(victim.signed_by));
    std::fs::remove_file(&chain[4].path).unwrap();
    case
}

fn report(case: &Case, format: &str) -> String {
    let out = case.run(["--format", format]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `check` with the filters every report needs.
fn filtered(case: &Case, check: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        &regex_escape(&case.dir.path().display().to_string()),
        "[DIR]",
    );
    settings.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
        "[TIME]",
    );
    settings.add_filter(env!("CARGO_PKG_VERSION"), "[VERSION]");
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[SECONDS]""#);
    settings.add_filter(r#"hostname="[^"]*""#, r#"hostname="[HOST]""#);
    settings.add_filter(r" on `[^`]*`", " on `[HOST]`");
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(check);
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

#[test]
fn human_report() {
    let case = tampered();
    filtered(&case, || {
        insta::assert_snapshot!("human", report(&case, "human"))
    });
}

#[test]
fn markdown_summary() {
    let case = tampered();
    filtered(&case, || {
        insta::assert_snapshot!("markdown", report(&case, "markdown"));
    });
}

#[test]
fn junit_report() {
    let case = tampered();
    filtered(&case, || {
        insta::assert_snapshot!("junit", report(&case, "junit"))
    });
}

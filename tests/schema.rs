//! The JSON report's schema: `schemas/trailproof-report.schema.json` is what
//! the code generates (`trailproof::report::json_schema`), and it is strict
//! enough that a report drifting from it is caught. Every JSON report the
//! other tests read is validated against it (`common::checked`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, checked, schema_errors, schema_path, small};
use serde_json::{Value, json};
use trailproof_testgen::TrailSpec;

/// The committed file is the generated schema, pretty-printed with a final
/// new line; `UPDATE_SCHEMA=1` rewrites it.
#[test]
fn the_committed_schema_is_the_generated_one() {
    for (kind, schema) in [
        ("report", trailproof::report::json_schema()),
        ("error", trailproof::report::failure::json_schema()),
        ("query-report", trailproof::query::json_schema()),
    ] {
        let path = schema_path(kind);
        let mut generated = serde_json::to_string_pretty(&schema).unwrap();
        generated.push('\n');
        if std::env::var_os("UPDATE_SCHEMA").is_some_and(|v| v == "1") {
            std::fs::write(&path, &generated).unwrap();
            eprintln!("wrote {}", path.display());
            continue;
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{} differs from the schema the code generates (trailproof::report::json_schema(), \
             trailproof::report::failure::json_schema()).\n\
             If the types changed on purpose, regenerate it and commit the result:\n\
             \n    UPDATE_SCHEMA=1 cargo test --test schema the_committed_schema_is_the_generated_one\n\
             \n(and bump SCHEMA_VERSION if a field a version-1 reader knows changed).\n\
             Generated:\n{generated}",
            path.display()
        );
    }
}

/// What the schema pins: its identity and version, and every closed set of
/// values the code has (finding codes, verdicts, severities, statuses).
#[test]
fn the_schema_pins_the_version_and_every_closed_set_of_values() {
    let schema = trailproof::report::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], trailproof::report::json::SCHEMA_ID);
    assert_eq!(schema["title"], "trailproof JSON report");
    assert_eq!(
        schema["properties"]["schema_version"]["const"],
        trailproof::report::SCHEMA_VERSION
    );
    assert_eq!(schema["additionalProperties"], false);
    let codes: Vec<&str> = trailproof::FindingCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(schema["$defs"]["FindingCode"]["enum"], json!(codes));
    // The report's own top-level fields, in the order the stream writes them.
    let mut required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    let mut written = [
        "schema_version",
        "tool",
        "generated_at",
        "inputs",
        "manifest",
        "run",
        "verdict",
        "gate",
        "summary",
        "chains",
        "partitions",
        "findings",
    ];
    written.sort_unstable();
    assert_eq!(required, written);
}

/// A tampered mirror (modified log, deleted digest, gap) read incrementally
/// against a checkpoint, so that every optional part of the report is there:
/// findings with expected/actual/compared/chain, a trusted part, the
/// checkpoints used.
fn full_report() -> Value {
    let case = Case::new(TrailSpec {
        hours: 6,
        gaps: vec![(4, 1)],
        ..small(901)
    });
    let checkpoint = case.dir.path().join("audit.checkpoint.json");
    let first = case.verify(&["--save-checkpoint", checkpoint.to_str().unwrap()]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let us = case.chain("us-east-1");
    let listing = us.iter().rev().find(|d| !d.log_keys.is_empty()).unwrap();
    let log = listing.log_keys[0].clone();
    let eu = case.chain("eu-west-1");
    let deleted = eu[1].key.clone();
    case.mirror.modify_log(&log);
    case.mirror.delete(&deleted);
    let out = case.verify(&[
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--incremental",
    ]);
    let report = out.report;
    assert_eq!(report["verdict"], "fail", "{}", out.stderr);
    assert!(
        !report["inputs"]["checkpoints"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.get("compared").is_some() && f.get("chain").is_some())
    );
    assert!(!report["manifest"].as_array().unwrap().is_empty());
    assert!(!report["partitions"].as_array().unwrap().is_empty());
    report
}

/// Breaks a copy of `report` with `edit` and returns the schema's errors.
fn errors_after(report: &Value, edit: impl FnOnce(&mut Value)) -> Vec<String> {
    let mut broken = report.clone();
    edit(&mut broken);
    schema_errors(&broken)
}

fn remove(value: &mut Value, key: &str) {
    assert!(
        value.as_object_mut().unwrap().remove(key).is_some(),
        "{key}"
    );
}

/// The validator bites: a report with an unknown field, a value outside a
/// closed set, a missing required field or a wrong type is rejected, with
/// where and why.
#[test]
fn the_validator_rejects_a_report_that_drifts_from_the_schema() {
    let report = full_report();
    assert_eq!(schema_errors(&report), Vec::<String>::new());

    type Edit = Box<dyn FnOnce(&mut Value)>;
    let unexpected = "was unexpected";
    let required = "is a required property";
    let not_one_of = "oneOf";
    let cases: Vec<(&str, &str, Edit)> = vec![
        // Fields the code does not write.
        ("", unexpected, Box::new(|r| r["extra"] = json!(1))),
        (
            "/summary/logs",
            unexpected,
            Box::new(|r| r["summary"]["logs"]["bogus"] = json!(0)),
        ),
        (
            "/findings/0",
            unexpected,
            Box::new(|r| r["findings"][0]["excerpt"] = json!("x")),
        ),
        (
            "/manifest/0",
            unexpected,
            Box::new(|r| r["manifest"][0]["mtime"] = json!(0)),
        ),
        // Values outside the closed sets.
        (
            "/verdict",
            not_one_of,
            Box::new(|r| r["verdict"] = json!("passed")),
        ),
        (
            "/gate/fail_on",
            not_one_of,
            Box::new(|r| r["gate"]["fail_on"] = json!("errors")),
        ),
        (
            "/findings/0/code",
            "is not one of",
            Box::new(|r| r["findings"][0]["code"] = json!("log.tampered")),
        ),
        (
            "/findings/0/severity",
            not_one_of,
            Box::new(|r| r["findings"][0]["severity"] = json!("fatal")),
        ),
        (
            "/chains/0/timeline/0/status",
            not_one_of,
            Box::new(|r| r["chains"][0]["timeline"][0]["status"] = json!("ok")),
        ),
        (
            "/manifest/0/kind",
            not_one_of,
            Box::new(|r| r["manifest"][0]["kind"] = json!("file")),
        ),
        (
            "/chains/0/kind",
            "is not one of",
            Box::new(|r| r["chains"][0]["kind"] = json!("organization")),
        ),
        (
            "/schema_version",
            "was expected",
            Box::new(|r| r["schema_version"] = json!(2)),
        ),
        // Fields the code always writes.
        ("", required, Box::new(|r| remove(r, "gate"))),
        ("", required, Box::new(|r| remove(r, "manifest"))),
        (
            "/run",
            required,
            Box::new(|r| remove(&mut r["run"], "host")),
        ),
        (
            "/findings/0",
            required,
            Box::new(|r| remove(&mut r["findings"][0], "help")),
        ),
        (
            "/chains/0/trusted",
            required,
            Box::new(|r| {
                let chains = r["chains"].as_array_mut().unwrap();
                let at = chains
                    .iter()
                    .position(|c| c.get("trusted").is_some())
                    .unwrap();
                chains.swap(0, at);
                remove(&mut chains[0]["trusted"], "head");
            }),
        ),
        // Wrong types and shapes.
        (
            "/summary/digests/total",
            "minimum",
            Box::new(|r| r["summary"]["digests"]["total"] = json!(-1)),
        ),
        (
            "/summary/digests/total",
            "is not of type",
            Box::new(|r| r["summary"]["digests"]["total"] = json!("1")),
        ),
        (
            "/generated_at",
            "date-time",
            Box::new(|r| r["generated_at"] = json!("yesterday")),
        ),
        (
            "/inputs/public_keys/0/sha256",
            "does not match",
            Box::new(|r| r["inputs"]["public_keys"][0]["sha256"] = json!("ABC")),
        ),
        (
            "/findings/0/chain",
            "is not of type",
            Box::new(|r| r["findings"][0]["chain"] = Value::Null),
        ),
        (
            "/inputs/checkpoints",
            "less than 1 item",
            Box::new(|r| r["inputs"]["checkpoints"] = json!([])),
        ),
    ];
    for (path, why, edit) in cases {
        let errors = errors_after(&report, edit);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with(&format!("at {path:?}: ")) && e.contains(why)),
            "a report broken at {path:?} must be rejected there ({why}); errors: {errors:#?}"
        );
    }
}

/// `common::checked` panics on a report that breaks the schema, naming the
/// error and how to update the schema.
#[test]
#[should_panic(expected = "UPDATE_SCHEMA=1")]
fn checked_panics_on_a_broken_report() {
    checked(json!({"schema_version": 1, "verdict": "maybe"}));
}

/// Documents of another kind (the exit-2 error document) are told apart by
/// their top-level `kind`; a kind with no schema yet is not validated.
#[test]
fn documents_are_validated_by_their_kind() {
    assert_eq!(
        common::document_kind(&json!({"schema_version": 1})),
        "report"
    );
    assert_eq!(common::document_kind(&json!({"kind": "error"})), "error");
    for (kind, _) in common::SCHEMAS {
        assert!(common::validator(kind).is_some(), "{kind}");
    }
}

//! Conformance with the AWS CLI's own validator.
//!
//! For every variant (clean mirrors in every layout, and tampered ones) this
//! builds the mirror with the TEST-ONLY generator, runs `trailproof verify
//! --format json`, and runs the installed AWS CLI v1's validation code over
//! the same files (`cli_oracle.py`: fake S3/CloudTrail clients, the CLI's own
//! traverser, validator and log hashing). Then, object by object:
//! - every digest and log file the CLI calls valid has no error finding in
//!   trailproof, unless the variant names that finding as one the CLI is blind
//!   to (README, "Differences from `aws cloudtrail validate-logs`");
//! - every object the CLI calls INVALID has an error finding in trailproof
//!   whose code matches the CLI's reason;
//! - trailproof's findings are exactly the variant's expected ones.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../common/mod.rs"]
mod common;

use common::{Case, f, sorted};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use trailproof_testgen::{KeyId, SignatureStore, TestKey, TrailSpec, gunzip, sha256_hex};

/// One scenario: how to build it, how to tamper, what trailproof must find,
/// and which of those findings the CLI cannot see.
struct Variant {
    name: &'static str,
    specs: Vec<TrailSpec>,
    /// Tampers and returns trailproof's exact expected findings `(code, object)`.
    tamper: fn(&Case) -> Vec<(String, String)>,
    /// Finding codes trailproof reports where the CLI is blind by design.
    cli_blind: &'static [&'static str],
}

fn spec(seed: u64, edit: impl FnOnce(&mut TrailSpec)) -> TrailSpec {
    let mut s = TrailSpec::small(seed);
    edit(&mut s);
    s
}

fn nothing(_: &Case) -> Vec<(String, String)> {
    Vec::new()
}

const US: &str = "us-east-1";

fn variants() -> Vec<Variant> {
    vec![
        // ---- clean mirrors: no error anywhere, the CLI agrees on every object
        Variant {
            name: "clean-two-regions-key-rotation",
            specs: vec![spec(101, |_| {})],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-three-keys",
            specs: vec![spec(102, |s| {
                s.hours = 8;
                s.keys = vec![KeyId::One, KeyId::Two, KeyId::Three];
                s.rotate_every_hours = 3;
            })],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-organization-trail",
            specs: vec![spec(103, |s| {
                s.organization_id = Some("o-a1b2c3d4e5".into());
                s.accounts = vec!["111122223333".into(), "444455556666".into()];
            })],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-custom-prefix",
            specs: vec![spec(104, |s| s.prefix = Some("audit/cloudtrail".into()))],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-underscore-trail-name",
            specs: vec![spec(105, |s| {
                s.trail_name = "Infosec_Audit_trail.v2".into();
                s.home_region = "us-west-2".into();
            })],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-two-trails-one-bucket",
            specs: vec![
                spec(106, |_| {}),
                spec(107, |s| s.trail_name = "data-events".into()),
            ],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-bucket-change-two-mirrors",
            specs: vec![spec(108, |s| {
                s.bucket_change_at_hour = Some((3, "acme-cloudtrail-logs-v2".into()))
            })],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-empty-hours",
            specs: vec![spec(109, |s| s.empty_hours = vec![1, 2, 4])],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-backfill",
            specs: vec![spec(110, |s| s.backfill_hours = vec![1, 3])],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-xattr-signatures",
            specs: vec![spec(111, |s| s.signature_store = SignatureStore::Xattr)],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-signatures-only-from-next-digest",
            specs: vec![spec(112, |s| s.signature_store = SignatureStore::None)],
            tamper: |case| {
                // Offline, the newest digests cannot be proven (S3 still has their metadata).
                [US, "eu-west-1"]
                    .iter()
                    .flat_map(|r| {
                        let n = case.newest(r);
                        let mut v = vec![f("digest.unsigned", &n.bucket, &n.key)];
                        v.extend(case.unverified_logs(&n.key));
                        v
                    })
                    .collect()
            },
            cli_blind: &[],
        },
        Variant {
            name: "clean-spki-keys",
            specs: vec![spec(114, |s| s.spki_keys = true)],
            tamper: nothing,
            cli_blind: &[],
        },
        Variant {
            name: "clean-restart-after-gap",
            specs: vec![spec(113, |s| {
                s.hours = 7;
                s.gaps = vec![(3, 1)];
            })],
            tamper: |case| {
                [US, "eu-west-1"]
                    .iter()
                    .map(|r| {
                        let d = case
                            .chain(r)
                            .into_iter()
                            .skip(1)
                            .find(|d| d.json["previousDigestS3Object"].is_null())
                            .unwrap();
                        f("chain.gap", &d.bucket, &d.key)
                    })
                    .chain(
                        // Delivered while validation was off: named, not accused.
                        case.mirror
                            .logs
                            .iter()
                            .filter(|l| l.listed_by.is_empty())
                            .map(|l| f("log.not_covered", &l.bucket, &l.key)),
                    )
                    .collect()
            },
            cli_blind: &[],
        },
        // ---- tampering both see
        Variant {
            name: "deleted-digest",
            specs: vec![spec(120, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[2];
                case.mirror.delete(&d.key);
                let mut v = vec![f("digest.missing", &d.bucket, &d.key)];
                v.extend(case.not_covered(&[&d.key]));
                v
            },
            cli_blind: &[],
        },
        Variant {
            name: "deleted-oldest-digest",
            specs: vec![spec(121, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[0];
                case.mirror.delete(&d.key);
                let mut v = vec![f("digest.missing", &d.bucket, &d.key)];
                v.extend(case.not_covered(&[&d.key]));
                v
            },
            cli_blind: &[],
        },
        Variant {
            name: "deleted-log",
            specs: vec![spec(122, |_| {})],
            tamper: |case| {
                let l = &case.mirror.logs[4];
                case.mirror.delete(&l.key);
                vec![f("log.missing", &l.bucket, &l.key)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "modified-log",
            specs: vec![spec(123, |s| {
                s.organization_id = Some("o-zz9zz9zz9z".into())
            })],
            tamper: |case| {
                let l = &case.mirror.logs[2];
                case.mirror.modify_log(&l.key);
                vec![f("log.modified", &l.bucket, &l.key)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "log-not-gzip",
            specs: vec![spec(124, |_| {})],
            tamper: |case| {
                let l = &case.mirror.logs[1];
                std::fs::write(&l.path, b"{\"Records\":[]}").unwrap();
                vec![f("log.malformed", &l.bucket, &l.key)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "log-truncated-in-deflate-data",
            specs: vec![spec(125, |_| {})],
            tamper: |case| {
                let l = &case.mirror.logs[0];
                case.mirror.truncate(&l.key, 40);
                // The CLI calls it "hash value doesn't match"; it is malformed.
                vec![f("log.malformed", &l.bucket, &l.key)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "digest-content-changed",
            specs: vec![spec(126, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[2];
                let mut json = case.mirror.read_digest_json(&d.key);
                json["logFiles"].as_array_mut().unwrap().pop();
                let dropped = d.log_keys.last().unwrap();
                case.mirror.write_digest(&d.key, &json, None);
                let mut v = vec![
                    f("digest.signature_invalid", &d.bucket, &d.key),
                    f("digest.modified", &d.bucket, &d.key),
                    f("log.unreferenced", &d.bucket, dropped),
                ];
                v.extend(
                    case.unverified_logs(&d.key)
                        .into_iter()
                        .filter(|(_, o)| !o.ends_with(dropped.as_str())),
                );
                v
            },
            cli_blind: &["digest.modified", "log.unreferenced"],
        },
        Variant {
            name: "digest-forged-with-unknown-key",
            specs: vec![spec(127, |_| {})],
            tamper: |case| {
                let d = case.newest(US);
                let mut json = case.mirror.read_digest_json(&d.key);
                json["digestPublicKeyFingerprint"] =
                    TestKey::get(KeyId::Attacker).fingerprint().into();
                case.mirror
                    .write_digest(&d.key, &json, Some(KeyId::Attacker));
                let mut v = vec![f("digest.key_unknown", &d.bucket, &d.key)];
                v.extend(case.unverified_logs(&d.key));
                v
            },
            cli_blind: &[],
        },
        Variant {
            name: "digest-metadata-signature-tampered",
            specs: vec![spec(128, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[3];
                let other = case.chain(US)[1];
                case.mirror
                    .set_metadata_signature(&d.key, &other.signature_hex);
                vec![f("digest.signature_invalid", &d.bucket, &d.key)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "digest-copied-to-later-folder",
            specs: vec![spec(129, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[1];
                let elsewhere = d.key.replace("/2026/03/01/", "/2026/03/09/");
                case.mirror.copy_file(&d.key, &elsewhere);
                vec![f("digest.moved", &d.bucket, &elsewhere)]
            },
            cli_blind: &[],
        },
        Variant {
            name: "digest-moved-to-another-region",
            specs: vec![spec(130, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[2];
                let elsewhere = d.key.replace(
                    "CloudTrail-Digest/us-east-1/",
                    "CloudTrail-Digest/ap-south-1/",
                );
                case.mirror.move_file(&d.key, &elsewhere);
                vec![
                    f("digest.missing", &d.bucket, &d.key),
                    f("digest.moved", &d.bucket, &elsewhere),
                ]
            },
            cli_blind: &["digest.moved"],
        },
        // ---- tampering only trailproof sees
        Variant {
            name: "two-consecutive-deleted-digests",
            specs: vec![spec(140, |s| s.hours = 7)],
            tamper: |case| {
                let chain = case.chain(US);
                for d in &chain[2..4] {
                    case.mirror.delete(&d.key);
                }
                let mut v: Vec<_> = chain[2..4]
                    .iter()
                    .map(|d| f("digest.missing", &d.bucket, &d.key))
                    .collect();
                v.extend(case.not_covered(&[&chain[2].key, &chain[3].key]));
                v
            },
            cli_blind: &["digest.missing"],
        },
        Variant {
            name: "digest-rewritten-by-key-holder",
            specs: vec![spec(141, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[2];
                let mut json = case.mirror.read_digest_json(&d.key);
                json["logFiles"].as_array_mut().unwrap().clear();
                case.mirror.write_digest(&d.key, &json, Some(d.signed_by));
                let mut v = vec![f("digest.modified", &d.bucket, &d.key)];
                v.extend(
                    d.log_keys
                        .iter()
                        .map(|k| f("log.unreferenced", &d.bucket, k)),
                );
                v
            },
            cli_blind: &["digest.modified", "log.unreferenced"],
        },
        Variant {
            name: "injected-log",
            specs: vec![spec(142, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[3];
                let key = case.mirror.inject_log(
                    &d.account,
                    US,
                    d.end_time - jiff::SignedDuration::from_mins(20),
                );
                vec![f("log.unreferenced", &d.bucket, &key)]
            },
            cli_blind: &["log.unreferenced"],
        },
        Variant {
            name: "log-gzip-trailer-truncated",
            specs: vec![spec(143, |_| {})],
            tamper: |case| {
                let l = &case.mirror.logs[3];
                case.mirror.truncate(&l.key, 8);
                vec![f("log.malformed", &l.bucket, &l.key)]
            },
            cli_blind: &["log.malformed"],
        },
        Variant {
            name: "log-trailing-data",
            specs: vec![spec(144, |_| {})],
            tamper: |case| {
                let l = &case.mirror.logs[5];
                let second_member = trailproof_testgen::gzip(b"{\"Records\":[]}");
                case.mirror.append_bytes(&l.key, &second_member);
                vec![f("log.malformed", &l.bucket, &l.key)]
            },
            cli_blind: &["log.malformed"],
        },
        Variant {
            name: "digest-trailing-data",
            specs: vec![spec(145, |_| {})],
            tamper: |case| {
                let d = case.chain(US)[4];
                case.mirror.append_bytes(&d.key, b"\x00\x00\x00\x00");
                let mut v = vec![f("digest.malformed", &d.bucket, &d.key)];
                v.extend(case.not_covered(&[&d.key]));
                v
            },
            cli_blind: &["digest.malformed"],
        },
        Variant {
            name: "link-skips-a-digest",
            specs: vec![spec(146, |_| {})],
            tamper: |case| {
                let chain = case.chain(US);
                let (target, newest) = (chain[3], chain[5]);
                let mut json = case.mirror.read_digest_json(&newest.key);
                json["previousDigestS3Object"] = target.key.clone().into();
                json["previousDigestHashValue"] =
                    sha256_hex(&gunzip(&std::fs::read(&target.path).unwrap())).into();
                json["previousDigestSignature"] = target.signature_hex.clone().into();
                case.mirror
                    .write_digest(&newest.key, &json, Some(newest.signed_by));
                vec![f("chain.out_of_order", &newest.bucket, &newest.key)]
            },
            cli_blind: &["chain.out_of_order"],
        },
    ]
}

/// What the CLI concluded about each object: `(kind, object) -> verdict`.
fn run_oracle(case: &Case, specs: &[TrailSpec]) -> (BTreeMap<(String, String), String>, Value) {
    let mut roots = serde_json::Map::new();
    for spec in specs {
        roots.insert(
            spec.bucket.clone(),
            json!(case.mirror.root.display().to_string()),
        );
        if let Some((_, bucket)) = &spec.bucket_change_at_hour {
            let root = case
                .mirror
                .extra_roots
                .iter()
                .find(|r| r.ends_with(bucket))
                .unwrap();
            roots.insert(bucket.clone(), json!(root.display().to_string()));
        }
    }
    // What S3 itself holds for every digest as written (the mirror may lack it).
    let metadata: serde_json::Map<String, Value> = case
        .mirror
        .digests
        .iter()
        .map(|d| {
            let mut m =
                json!({"signature": d.signature_hex, "signature-algorithm": "SHA256withRSA"});
            if d.backfill {
                m["backfill-generation-timestamp"] = json!("2000-01-01T00:00:00Z");
            }
            (format!("{}/{}", d.bucket, d.key), m)
        })
        .collect();
    let mut runs = Vec::new();
    for spec in specs {
        let bucket = spec
            .bucket_change_at_hour
            .as_ref()
            .map_or(&spec.bucket, |(_, b)| b);
        let start = spec.start - jiff::SignedDuration::from_hours(1);
        let end =
            spec.digest_end(spec.hours.saturating_sub(1)) + jiff::SignedDuration::from_hours(1);
        for account in &spec.accounts {
            for region in &spec.regions {
                runs.push(json!({
                    "trail_arn": format!("arn:aws:cloudtrail:{}:{}:trail/{}", spec.home_region, account, spec.trail_name),
                    "region": region,
                    "bucket": bucket,
                    "prefix": spec.prefix,
                    "account": account,
                    "org_id": spec.organization_id,
                    "start": start.to_string(),
                    "end": end.to_string(),
                }));
            }
        }
    }
    let job = json!({
        "roots": roots,
        "keys": case.mirror.public_keys.display().to_string(),
        "metadata": metadata,
        "runs": runs,
    });
    let oracle = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/cli_oracle.py"
    );
    let mut child = std::process::Command::new("python3")
        .arg(oracle)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with awscli is needed for the conformance tests");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut verdicts = BTreeMap::new();
    for v in result["verdicts"].as_array().unwrap() {
        let key = (
            v["kind"].as_str().unwrap().to_owned(),
            v["object"].as_str().unwrap().to_owned(),
        );
        let verdict = v["verdict"].as_str().unwrap().to_owned();
        // An object seen twice (standard and backfill digests list one log) must agree with itself.
        if let Some(previous) = verdicts.insert(key.clone(), verdict.clone()) {
            assert_eq!(previous, verdict, "the CLI gave {key:?} two verdicts");
        }
    }
    (verdicts, result)
}

/// CLI verdicts that are wrong by design in a variant (README, "Other
/// differences"): there the CLI says INVALID and trailproof must say nothing.
fn cli_false_alarms(variant: &str) -> &'static [&'static str] {
    match variant {
        // CLI v1 can load only PKCS#1 keys; AWS has published SubjectPublicKeyInfo ones.
        "clean-spki-keys" => &["INVALID: Unable to load PKCS #1 key"],
        _ => &[],
    }
}

/// trailproof codes that match a CLI INVALID reason.
fn codes_for(kind: &str, reason: &str) -> &'static [&'static str] {
    match (kind, reason) {
        ("digest", "INVALID: not found") => &["digest.missing"],
        ("digest", "INVALID: invalid format") => &["digest.malformed"],
        ("digest", "INVALID: has been moved from its original location") => &["digest.moved"],
        ("digest", "INVALID: signature verification failed") => &["digest.signature_invalid"],
        ("digest", r) if r.starts_with("INVALID: public key not found") => &["digest.key_unknown"],
        ("log", "INVALID: not found") => &["log.missing"],
        // The CLI cannot tell a truncated stream from a changed one.
        ("log", "INVALID: hash value doesn't match") => &["log.modified", "log.malformed"],
        ("log", "INVALID: invalid format") => &["log.malformed"],
        ("log", "INVALID: unexpected data after end of compressed stream") => &["log.malformed"],
        _ => &[],
    }
}

fn check_variant(variant: &Variant) -> Result<(), String> {
    if variant
        .specs
        .iter()
        .any(|s| s.signature_store == SignatureStore::Xattr)
        && !xattrs_supported()
    {
        eprintln!(
            "SKIPPED {}: no user extended attributes on this file system",
            variant.name
        );
        return Ok(());
    }
    let case = Case::with_trails(variant.specs.clone());
    let expected = sorted((variant.tamper)(&case));
    let out = case.verify(&[]);
    let mut problems = Vec::new();
    if out.findings() != expected {
        problems.push(format!(
            "trailproof findings\n  {:?}\nexpected\n  {:?}",
            out.findings(),
            expected
        ));
    }
    let errors: BTreeMap<String, Vec<String>> = out.report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error")
        .fold(BTreeMap::new(), |mut m, f| {
            m.entry(f["object"].as_str().unwrap().to_owned())
                .or_default()
                .push(f["code"].as_str().unwrap().to_owned());
            m
        });
    let (cli, raw) = run_oracle(&case, &variant.specs);
    if cli.is_empty() {
        problems.push(format!("the CLI examined nothing: {raw:#}"));
    }
    let false_alarms = cli_false_alarms(variant.name);
    if !false_alarms.is_empty()
        && !cli
            .values()
            .any(|v| false_alarms.iter().any(|a| v.starts_with(a)))
    {
        problems.push(format!(
            "expected the CLI to say {false_alarms:?} somewhere"
        ));
    }
    for ((kind, object), verdict) in &cli {
        let ours = errors.get(object).cloned().unwrap_or_default();
        if false_alarms.iter().any(|a| verdict.starts_with(a)) {
            if !ours.is_empty() {
                problems.push(format!(
                    "CLI: {kind} {object} {verdict} (wrong by design); trailproof: {ours:?}"
                ));
            }
        } else if verdict == "valid" {
            let unexplained: Vec<&String> = ours
                .iter()
                .filter(|c| !variant.cli_blind.contains(&c.as_str()))
                .collect();
            if !unexplained.is_empty() {
                problems.push(format!(
                    "CLI: {kind} {object} valid; trailproof: {unexplained:?}"
                ));
            }
        } else {
            let wanted = codes_for(kind, verdict);
            if !ours.iter().any(|c| wanted.contains(&c.as_str())) {
                problems.push(format!("CLI: {kind} {object} {verdict}; trailproof: {ours:?} (wanted one of {wanted:?})"));
            }
        }
    }
    // Errors on objects the CLI never examined must be ones it is blind to.
    for (object, codes) in &errors {
        let seen = cli.contains_key(&("digest".to_owned(), object.clone()))
            || cli.contains_key(&("log".to_owned(), object.clone()));
        if !seen {
            let unexplained: Vec<&String> = codes
                .iter()
                .filter(|c| !variant.cli_blind.contains(&c.as_str()))
                .collect();
            if !unexplained.is_empty() {
                problems.push(format!("trailproof: {object} {unexplained:?}, never examined by the CLI and not a declared blind spot"));
            }
        }
    }
    // Every declared blind spot must really be one: some object trailproof
    // reports with that code that the CLI does not report with a matching reason.
    for code in variant.cli_blind {
        let unseen_by_cli = errors
            .iter()
            .filter(|(_, c)| c.iter().any(|c| c == code))
            .any(|(object, _)| {
                !["digest", "log"].iter().any(|kind| {
                    cli.get(&((*kind).to_owned(), object.clone()))
                        .is_some_and(|verdict| codes_for(kind, verdict).contains(code))
                })
            });
        if !unseen_by_cli {
            problems.push(format!(
                "declared blind spot {code}: trailproof reports nothing with it that the CLI misses"
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        let dump =
            std::env::temp_dir().join(format!("trailproof-conformance-{}.json", variant.name));
        let _ = std::fs::write(&dump, format!("{raw:#}"));
        Err(format!(
            "variant {}:\n{}\n(the CLI's output is in {})",
            variant.name,
            problems.join("\n"),
            dump.display()
        ))
    }
}

fn xattrs_supported() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"").unwrap();
    xattr::set(&probe, "user.probe", b"1").is_ok()
}

#[test]
fn trailproof_agrees_with_the_aws_cli_on_every_variant() {
    let variants = variants();
    assert!(variants.len() >= 20);
    let failures: Vec<String> = variants
        .iter()
        .filter_map(|v| check_variant(v).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} variants disagree:\n\n{}",
        failures.len(),
        variants.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_lists_every_cli_blind_spot_scenario() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for variant in variants().iter().filter(|v| !v.cli_blind.is_empty()) {
        assert!(
            readme.contains(&format!("`{}`", variant.name)),
            "README's differences table lacks `{}`",
            variant.name
        );
    }
}

//! Checkpoints between audits (`--save-checkpoint`, `--checkpoint`): each
//! case is built with the TEST-ONLY generator, audited once, changed the way
//! an attacker (or a careless restore) would, and audited again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{Case, Outcome, f, small, sorted, url, verify_json};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use trailproof_testgen::{DigestEntry, gunzip};

/// Files set aside while the first audit runs, to be put back after it:
/// the mirror as it was at the first audit was the mirror now minus these.
struct Hidden {
    files: Vec<(PathBuf, PathBuf)>,
}

impl Hidden {
    /// Moves the digests (and their sidecars and the logs they list) aside.
    fn digests(case: &Case, digests: &[&DigestEntry]) -> Hidden {
        let aside = case.dir.path().join("aside");
        std::fs::create_dir_all(&aside).unwrap();
        let mut files = Vec::new();
        for digest in digests {
            let mut paths = vec![digest.path.clone(), sidecar(&digest.path)];
            paths.extend(digest.log_keys.iter().map(|k| case.mirror.path_of(k)));
            for path in paths.into_iter().filter(|p| p.exists()) {
                let to = aside.join(format!("{}", files.len()));
                std::fs::rename(&path, &to).unwrap();
                files.push((path, to));
            }
        }
        Hidden { files }
    }

    /// Puts everything back where it was.
    fn restore(self) {
        for (path, aside) in self.files {
            std::fs::rename(aside, path).unwrap();
        }
    }
}

fn sidecar(digest: &Path) -> PathBuf {
    let mut name = digest.as_os_str().to_owned();
    name.push(".metadata.json");
    PathBuf::from(name)
}

/// Audits the case, saving a checkpoint (and the JSON report) beside the mirror.
fn audit(case: &Case, name: &str) -> (Outcome, PathBuf) {
    let checkpoint = case.dir.path().join(format!("{name}.checkpoint.json"));
    let outcome = case.verify(&["--save-checkpoint", checkpoint.to_str().unwrap()]);
    assert!(checkpoint.exists(), "{}", outcome.stderr);
    (outcome, checkpoint)
}

/// Audits the case against `checkpoint`.
fn reaudit(case: &Case, checkpoint: &Path) -> Outcome {
    case.verify(&["--checkpoint", checkpoint.to_str().unwrap()])
}

/// The findings whose code starts with `checkpoint.`.
fn checkpoint_findings(outcome: &Outcome) -> Vec<(String, String)> {
    outcome
        .findings()
        .into_iter()
        .filter(|(code, _)| code.starts_with("checkpoint."))
        .collect()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A case with one region, so that every finding names its one chain.
fn one_region(seed: u64) -> Case {
    let mut spec = small(seed);
    spec.regions = vec!["eu-west-1".to_owned()];
    Case::new(spec)
}

#[test]
fn a_checkpoint_records_each_chains_head_and_a_clean_reaudit_passes() {
    let case = Case::new(small(101));
    let report = case.dir.path().join("report.json");
    let checkpoint = case.dir.path().join("audit.checkpoint.json");
    let out = case.run([
        "--format",
        "json",
        "--output",
        report.to_str().unwrap(),
        "--save-checkpoint",
        checkpoint.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let saved = read_json(&checkpoint);
    assert_eq!(saved["schema"], "trailproof-checkpoint");
    assert_eq!(saved["schema_version"], 1);
    assert_eq!(saved["verdict"], "pass");
    assert_eq!(
        saved["report_sha256"],
        sha256_hex(&std::fs::read(&report).unwrap())
    );
    assert_eq!(
        saved["public_keys"][0]["sha256"],
        sha256_hex(&std::fs::read(&case.mirror.public_keys).unwrap())
    );
    let chains = saved["chains"].as_array().unwrap();
    assert_eq!(chains.len(), 2);
    for region in ["us-east-1", "eu-west-1"] {
        let newest = case.newest(region);
        let entry = chains.iter().find(|c| c["region"] == region).unwrap();
        let head = &entry["head"];
        assert_eq!(head["object"], url(&newest.bucket, &newest.key));
        let stored = std::fs::read(&newest.path).unwrap();
        assert_eq!(head["stored_sha256"], sha256_hex(&stored));
        assert_eq!(head["stored_size"], stored.len());
        assert_eq!(head["inflated_sha256"], sha256_hex(&gunzip(&stored)));
        assert_eq!(head["signature"], newest.signature_hex.as_str());
        assert_eq!(head["proven"], true);
    }
    let partitions = saved["partitions"].as_array().unwrap();
    assert!(!partitions.is_empty());
    assert!(partitions.iter().all(|p| p["newest_digest"].is_string()));

    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 0, "{:#?}", again.report["findings"]);
    assert!(again.findings().is_empty());
    let checkpoint_sha = sha256_hex(&std::fs::read(&checkpoint).unwrap());
    let used = &again.report["inputs"]["checkpoints"][0];
    assert_eq!(used["sha256"], checkpoint_sha);
    assert_eq!(used["chains"], 2);
    assert_eq!(used["verdict"], "pass");
    assert_eq!(used["report_sha256"], saved["report_sha256"]);

    // The human and HTML reports name the checkpoint by its SHA-256.
    let html = case.dir.path().join("again.html");
    let out = case.run([
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--report",
        &format!("html={}", html.display()),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8(out.stdout).unwrap();
    assert!(
        human.contains(&format!("checkpoint {} (written ", checkpoint.display()))
            && human.contains(&format!("SHA-256 {checkpoint_sha}")),
        "{human}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains(&format!(
            "<code class=\"checkpoint-sha256\">{checkpoint_sha}</code>"
        )),
        "the HTML report names the checkpoint"
    );
}

#[test]
fn a_chain_that_went_on_after_the_checkpoint_passes() {
    let case = one_region(102);
    let chain = case.chain("eu-west-1");
    let hidden = Hidden::digests(&case, &chain[4..]);
    let (first, checkpoint) = audit(&case, "first");
    assert_eq!(first.code, 0, "{:#?}", first.report["findings"]);
    hidden.restore();
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 0, "{:#?}", again.report["findings"]);
    assert!(again.findings().is_empty());
}

#[test]
fn newest_digests_deleted_after_an_audit_pass_without_the_checkpoint_but_not_with_it() {
    let case = one_region(103);
    let (_, checkpoint) = audit(&case, "first");
    let chain = case.chain("eu-west-1");
    let head = chain[5];
    // The attacker deletes the two newest digests and the logs they list.
    let _gone = Hidden::digests(&case, &chain[4..]);
    let blind = case.verify(&[]);
    assert_eq!(
        blind.code, 0,
        "the blind spot: {:#?}",
        blind.report["findings"]
    );
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.findings(),
        sorted(vec![
            f("checkpoint.head_missing", &head.bucket, &head.key),
            f("checkpoint.rollback", &head.bucket, &head.key),
        ])
    );
    let missing = again.finding("checkpoint.head_missing", &url(&head.bucket, &head.key));
    assert_eq!(missing["path"], head.path.to_str().unwrap());
    let written = read_json(&checkpoint)["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        missing["message"].as_str().unwrap().contains(&format!(
            "when checkpoint {} (written {written}) was written is gone",
            checkpoint.display()
        )),
        "{}",
        missing["message"]
    );
    let rollback = again.finding("checkpoint.rollback", &url(&head.bucket, &head.key));
    let now = chain[3];
    assert_eq!(
        rollback["actual"],
        format!("{} ending at {}", url(&now.bucket, &now.key), now.end_time)
    );
}

#[test]
fn a_checkpointed_head_deleted_from_a_chain_that_goes_on_is_head_missing_only() {
    let case = one_region(104);
    let chain = case.chain("eu-west-1");
    let hidden = Hidden::digests(&case, &chain[4..]);
    let (_, checkpoint) = audit(&case, "first");
    hidden.restore();
    let head = chain[3];
    case.mirror.delete(&head.key);
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert_eq!(
        checkpoint_findings(&again),
        vec![f("checkpoint.head_missing", &head.bucket, &head.key)]
    );
}

#[test]
fn a_checkpointed_head_compressed_again_is_head_modified_by_its_stored_bytes() {
    let case = one_region(105);
    let (_, checkpoint) = audit(&case, "first");
    let head = case.newest("eu-west-1");
    let stored = std::fs::read(&head.path).unwrap();
    let inflated = gunzip(&stored);
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    std::io::Write::write_all(&mut encoder, &inflated).unwrap();
    let again_stored = encoder.finish().unwrap();
    assert_ne!(again_stored, stored);
    std::fs::write(&head.path, &again_stored).unwrap();
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.findings(),
        vec![f("checkpoint.head_modified", &head.bucket, &head.key)]
    );
    let finding = again.finding("checkpoint.head_modified", &url(&head.bucket, &head.key));
    assert_eq!(
        finding["compared"],
        "SHA-256 of the stored (compressed) bytes"
    );
    assert_eq!(finding["expected"], sha256_hex(&stored));
    assert_eq!(finding["actual"], sha256_hex(&again_stored));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("its stored bytes differ (its uncompressed content is the same")
    );
}

#[test]
fn a_chain_rewritten_after_the_checkpoint_is_a_fork() {
    let case = one_region(106);
    let chain = case.chain("eu-west-1");
    let hidden = Hidden::digests(&case, &chain[4..]);
    let (_, checkpoint) = audit(&case, "first");
    hidden.restore();
    // The digest after the checkpointed head now links to the head with
    // another hash (re-signed: only the checkpoint can tell which is right).
    let next = chain[4];
    let mut json = case.mirror.read_digest_json(&next.key);
    json["previousDigestHashValue"] = Value::from("ab".repeat(32));
    case.mirror
        .write_digest(&next.key, &json, Some(next.signed_by));
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert_eq!(
        checkpoint_findings(&again),
        vec![f("checkpoint.fork", &next.bucket, &next.key)]
    );
    let fork = again.finding("checkpoint.fork", &url(&next.bucket, &next.key));
    let head = chain[3];
    assert_eq!(
        fork["actual"],
        format!(
            "a link to {} with previousDigestHashValue {}",
            url(&head.bucket, &head.key),
            "ab".repeat(32)
        )
    );
}

#[test]
fn a_chain_with_no_digest_left_is_chain_missing() {
    let case = Case::new(small(107));
    let (_, checkpoint) = audit(&case, "first");
    let chain = case.chain("us-east-1");
    let head = chain[5];
    let _gone = Hidden::digests(&case, &chain);
    let blind = case.verify(&[]);
    assert_eq!(blind.code, 0, "{:#?}", blind.report["findings"]);
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.findings(),
        vec![f("checkpoint.chain_missing", &head.bucket, &head.key)]
    );
}

#[test]
fn a_checkpoint_of_another_bucket_is_a_mistake_not_an_accusation() {
    let case = one_region(108);
    let (_, checkpoint) = audit(&case, "first");
    let mut spec = small(108);
    spec.bucket = "another-bucket".to_owned();
    let other = Case::new(spec);
    let out = other.run(["--checkpoint", checkpoint.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("checkpoint.foreign: the checkpoint ")
            && stderr.contains("is for other buckets or accounts than the mirror"),
        "{stderr}"
    );
    assert!(
        stderr.contains("s3://acme-cloudtrail-logs account 111122223333"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn an_edited_checkpoint_cannot_make_a_tampered_mirror_pass() {
    let case = one_region(109);
    let (_, checkpoint) = audit(&case, "first");
    let chain = case.chain("eu-west-1");
    let _gone = Hidden::digests(&case, &chain[4..]);
    // The attacker edits the head to the digest that is now the newest,
    // keeping the signature: it no longer verifies over the fields.
    let now = chain[3];
    let mut saved = read_json(&checkpoint);
    let head = &mut saved["chains"][0]["head"];
    head["object"] = Value::from(url(&now.bucket, &now.key));
    head["digest_s3_object"] = Value::from(now.key.clone());
    head["digest_end_time"] = now.json["digestEndTime"].clone();
    let stored = std::fs::read(&now.path).unwrap();
    head["stored_sha256"] = Value::from(sha256_hex(&stored));
    head["inflated_sha256"] = Value::from(sha256_hex(&gunzip(&stored)));
    let edited = case.dir.path().join("edited.checkpoint.json");
    std::fs::write(&edited, serde_json::to_vec_pretty(&saved).unwrap()).unwrap();
    let out = case.run(["--checkpoint", edited.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot be trusted"), "{stderr}");
    assert!(stderr.contains("does not verify"), "{stderr}");
    // A head's chain is that of its (signed) key: renaming the chain it is
    // filed under, to make a chain look deleted, is refused too.
    let mut renamed = read_json(&checkpoint);
    renamed["chains"][0]["chain"] = Value::from("111122223333/eu-west-1/deleted-trail@us-east-1");
    let renamed_path = case.dir.path().join("renamed.checkpoint.json");
    std::fs::write(&renamed_path, serde_json::to_vec_pretty(&renamed).unwrap()).unwrap();
    let out = case.run(["--checkpoint", renamed_path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("are not those of its head"), "{stderr}");
    // Swapping in the now-newest genuine digest whole, signature and all,
    // verifies: only the checkpoint's SHA-256, which every report shows and
    // the case file keeps, tells the edit.
    let mut saved = read_json(&edited);
    saved["chains"][0]["head"]["signature"] = Value::from(now.signature_hex.clone());
    saved["chains"][0]["head"]["previous_digest_signature"] =
        now.json["previousDigestSignature"].clone();
    saved["chains"][0]["head"]["digest_public_key_fingerprint"] =
        now.json["digestPublicKeyFingerprint"].clone();
    std::fs::write(&edited, serde_json::to_vec_pretty(&saved).unwrap()).unwrap();
    let swapped = reaudit(&case, &edited);
    assert_eq!(swapped.code, 0, "{}", swapped.stderr);
    assert_ne!(
        swapped.report["inputs"]["checkpoints"][0]["sha256"],
        sha256_hex(&std::fs::read(&checkpoint).unwrap())
    );
}

#[test]
fn a_checkpoint_that_is_not_one_is_exit_2() {
    let case = one_region(110);
    let bad = case.dir.path().join("bad.json");
    for (content, says) in [
        ("{\"PublicKeyList\": []}", "not a trailproof checkpoint"),
        ("not json", "not a trailproof checkpoint"),
    ] {
        std::fs::write(&bad, content).unwrap();
        let out = case.run(["--checkpoint", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(says));
    }
    let (_, checkpoint) = audit(&case, "first");
    let mut saved = read_json(&checkpoint);
    saved["schema_version"] = Value::from(2);
    std::fs::write(&bad, serde_json::to_vec(&saved).unwrap()).unwrap();
    let out = case.run(["--checkpoint", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("schema version 2"));
}

#[test]
fn a_new_checkpoint_is_never_written_over_an_input_or_into_the_mirror() {
    let case = one_region(111);
    let (_, checkpoint) = audit(&case, "first");
    let before = std::fs::read(&checkpoint).unwrap();
    let out = case.run([
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--save-checkpoint",
        checkpoint.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("it is the checkpoint"), "{stderr}");
    assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
    let inside = case.mirror.root.join("checkpoint.json");
    let out = case.run(["--save-checkpoint", inside.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!inside.exists());
    let keys = &case.mirror.public_keys;
    let out = case.run(["--save-checkpoint", keys.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

/// The verdict of a run against two checkpoints (one per region) is the
/// union of what each says.
#[test]
fn checkpoints_are_repeatable() {
    let case = Case::new(small(112));
    let (_, both) = audit(&case, "both");
    let east = case.newest("us-east-1");
    let west = case.newest("eu-west-1");
    let split = |region: &str, name: &str| {
        let mut saved = read_json(&both);
        saved["chains"]
            .as_array_mut()
            .unwrap()
            .retain(|c| c["region"] == region);
        let path = case.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec(&saved).unwrap()).unwrap();
        path
    };
    let east_checkpoint = split("us-east-1", "east.json");
    let west_checkpoint = split("eu-west-1", "west.json");
    case.mirror.delete(&east.key);
    case.mirror.delete(&west.key);
    let out = verify_json(
        &case.roots(),
        &case.mirror.public_keys,
        &[
            "--checkpoint",
            east_checkpoint.to_str().unwrap(),
            "--checkpoint",
            west_checkpoint.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1);
    let missing: Vec<_> = checkpoint_findings(&out)
        .into_iter()
        .filter(|(code, _)| code == "checkpoint.head_missing")
        .collect();
    assert_eq!(
        missing,
        sorted(vec![
            f("checkpoint.head_missing", &east.bucket, &east.key),
            f("checkpoint.head_missing", &west.bucket, &west.key),
        ])
    );
    assert_eq!(
        out.report["inputs"]["checkpoints"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

/// A mirror audited once, then extended by the chain's two newest digests
/// (and their logs): the checkpoint, and the digests that are new since.
fn extended(seed: u64) -> (Case, PathBuf, Vec<DigestEntry>) {
    let case = one_region(seed);
    let chain: Vec<DigestEntry> = case.chain("eu-west-1").into_iter().cloned().collect();
    let new: Vec<&DigestEntry> = chain[4..].iter().collect();
    let hidden = Hidden::digests(&case, &new);
    let (first, checkpoint) = audit(&case, "first");
    assert_eq!(first.code, 0);
    hidden.restore();
    (case, checkpoint, chain)
}

fn logs_listed(digests: &[DigestEntry]) -> usize {
    digests.iter().map(|d| d.log_keys.len()).sum()
}

#[test]
fn an_incremental_run_hashes_only_what_is_new_and_says_what_it_trusted() {
    let (case, checkpoint, chain) = extended(120);
    let cp = checkpoint.to_str().unwrap();
    let out = case.verify(&["--checkpoint", cp, "--incremental"]);
    assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
    let logs = &out.report["summary"]["logs"];
    assert_eq!(logs["trusted"], logs_listed(&chain[..4]));
    assert_eq!(logs["valid"], logs_listed(&chain[4..]));
    let full = case.verify(&[]);
    let new_bytes: u64 = full.report["summary"]["logs"]["uncompressed_bytes"]
        .as_u64()
        .unwrap();
    assert!(logs["uncompressed_bytes"].as_u64().unwrap() < new_bytes);
    let saved = read_json(&checkpoint);
    let trusted = &out.report["chains"][0]["trusted"];
    let head = &chain[3];
    assert_eq!(trusted["head"], url(&head.bucket, &head.key));
    assert_eq!(trusted["until"], head.json["digestEndTime"]);
    assert_eq!(trusted["verified_on"], saved["created_at"]);
    assert_eq!(trusted["report_sha256"], saved["report_sha256"]);
    assert_eq!(
        trusted["checkpoint_sha256"],
        sha256_hex(&std::fs::read(&checkpoint).unwrap())
    );
    // Every format says so.
    let human = case.run(["--checkpoint", cp, "--incremental"]);
    let text = String::from_utf8(human.stdout).unwrap();
    assert!(text.contains("INCREMENTAL: "), "{text}");
    assert!(text.contains("  trusted  up to "), "{text}");
    for (format, says) in [
        ("markdown", "INCREMENTAL: "),
        ("html", "Taken from checkpoint"),
        ("sarif", "trailproofTrustedFromCheckpoints"),
    ] {
        let out = case.run(["--checkpoint", cp, "--incremental", "--format", format]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(says), "{format}: {text}");
    }
}

#[test]
fn an_incremental_run_still_checks_what_is_new_and_what_is_missing() {
    let (case, checkpoint, chain) = extended(121);
    let cp = checkpoint.to_str().unwrap();
    let new_log = &chain[4].log_keys[0];
    case.mirror.modify_log(new_log);
    let old_gone = &chain[1].log_keys[0];
    case.mirror.delete(old_gone);
    let out = case.verify(&["--checkpoint", cp, "--incremental"]);
    assert_eq!(out.code, 1);
    let bucket = &chain[0].bucket;
    assert_eq!(
        out.errors(),
        sorted(vec![
            f("log.missing", bucket, old_gone),
            f("log.modified", bucket, new_log),
        ])
    );
}

#[test]
fn an_incremental_run_trusts_the_old_part_and_a_full_run_does_not() {
    let (case, checkpoint, chain) = extended(122);
    let old_log = &chain[2].log_keys[0];
    case.mirror.modify_log(old_log);
    let incremental = case.verify(&[
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--incremental",
    ]);
    assert_eq!(incremental.code, 0, "taken from the checkpoint, not hashed");
    let full = case.verify(&["--checkpoint", checkpoint.to_str().unwrap()]);
    assert_eq!(full.code, 1);
    assert_eq!(
        full.errors(),
        vec![f("log.modified", &chain[2].bucket, old_log)]
    );
}

#[test]
fn a_chain_a_checkpoint_faults_is_verified_in_full() {
    let (case, checkpoint, chain) = extended(123);
    let head = &chain[3];
    case.mirror.delete(&head.key);
    let out = case.verify(&[
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--incremental",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(out.report["summary"]["logs"]["trusted"], 0);
    assert!(out.report["chains"][0].get("trusted").is_none());
    assert!(checkpoint_findings(&out).contains(&f(
        "checkpoint.head_missing",
        &head.bucket,
        &head.key
    )));
}

#[test]
fn incremental_needs_a_checkpoint() {
    let case = one_region(124);
    let out = case.run(["--incremental"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--checkpoint"));
}

#[test]
fn a_malformed_newest_digest_is_not_a_head() {
    let case = one_region(125);
    let chain = case.chain("eu-west-1");
    case.mirror.truncate(&chain[5].key, 10);
    let (first, checkpoint) = audit(&case, "first");
    assert_eq!(first.code, 1);
    let saved = read_json(&checkpoint);
    assert_eq!(saved["verdict"], "fail");
    let head = &saved["chains"][0]["head"];
    assert_eq!(head["object"], url(&chain[4].bucket, &chain[4].key));
    assert_eq!(head["proven"], true);
}

#[test]
fn a_checkpoint_hash_that_is_not_one_is_refused() {
    let case = one_region(126);
    let (_, checkpoint) = audit(&case, "first");
    let mut saved = read_json(&checkpoint);
    saved["chains"][0]["head"]["stored_sha256"] = Value::from("not a hash");
    let edited = case.dir.path().join("edited.json");
    std::fs::write(&edited, serde_json::to_vec(&saved).unwrap()).unwrap();
    let out = case.run(["--checkpoint", edited.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stored_sha256 \"not a hash\" is not a hex SHA-256"),
        "{stderr}"
    );
}

#[test]
fn an_incremental_run_still_finds_a_log_injected_into_the_trusted_part() {
    let (case, checkpoint, chain) = extended(127);
    let delivered = chain[1].end_time - jiff::SignedDuration::from_mins(30);
    let injected = case
        .mirror
        .inject_log(&chain[1].account, "eu-west-1", delivered);
    let out = case.verify(&[
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--incremental",
    ]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.errors(),
        vec![f("log.unreferenced", &chain[1].bucket, &injected)]
    );
}

/// Two checkpoints of one chain (two earlier audits): the newer head is
/// what is trusted, whichever is given first.
#[test]
fn of_two_checkpoints_the_newer_head_is_trusted() {
    let case = one_region(128);
    let chain: Vec<DigestEntry> = case.chain("eu-west-1").into_iter().cloned().collect();
    let newer_part: Vec<&DigestEntry> = chain[4..].iter().collect();
    let newest_part: Vec<&DigestEntry> = chain[2..].iter().collect();
    let hidden = Hidden::digests(&case, &newest_part);
    let (_, older) = audit(&case, "older");
    hidden.restore();
    let hidden = Hidden::digests(&case, &newer_part);
    let (_, newer) = audit(&case, "newer");
    hidden.restore();
    for (first, second) in [(&older, &newer), (&newer, &older)] {
        let out = case.verify(&[
            "--checkpoint",
            first.to_str().unwrap(),
            "--checkpoint",
            second.to_str().unwrap(),
            "--incremental",
        ]);
        assert_eq!(out.code, 0, "{:#?}", out.report["findings"]);
        let trusted = &out.report["chains"][0]["trusted"];
        assert_eq!(trusted["head"], url(&chain[3].bucket, &chain[3].key));
        assert_eq!(
            out.report["summary"]["logs"]["trusted"],
            logs_listed(&chain[..4])
        );
    }
}

#[test]
fn a_checkpointed_head_with_other_content_is_head_modified_by_its_content() {
    let case = one_region(129);
    let (_, checkpoint) = audit(&case, "first");
    let head = case.newest("eu-west-1");
    let before = std::fs::read(&head.path).unwrap();
    // Rewritten and re-signed (TEST-ONLY key): only the checkpoint can tell.
    let mut json = case.mirror.read_digest_json(&head.key);
    json["logFiles"] = Value::Array(Vec::new());
    case.mirror
        .write_digest(&head.key, &json, Some(head.signed_by));
    let again = reaudit(&case, &checkpoint);
    assert_eq!(again.code, 1);
    assert!(checkpoint_findings(&again).contains(&f(
        "checkpoint.head_modified",
        &head.bucket,
        &head.key
    )));
    let finding = again.finding("checkpoint.head_modified", &url(&head.bucket, &head.key));
    assert_eq!(finding["compared"], "SHA-256 of the uncompressed content");
    assert_eq!(finding["expected"], sha256_hex(&gunzip(&before)));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .ends_with("but its content differs.")
    );
}

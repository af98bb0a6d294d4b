//! `trailproof collect` against real local servers: moto (S3 and STS) in
//! server mode, a stub of CloudTrail's `ListPublicKeys`, and a proxy that
//! injects throttling (503 SlowDown) and dropped connections, all started by
//! `tests/servers/aws_local.py` on 127.0.0.1. The bucket is filled with a
//! TEST-ONLY generated mirror (signatures as S3 user metadata); every
//! collected folder is then verified offline.
#![cfg(feature = "collect")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, Outcome, f, run_json, sorted};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use trailproof_testgen::TrailSpec;

/// The local AWS servers of one test; stopped when dropped (stdin closes).
struct Servers {
    child: Child,
    ready: Value,
}

impl Servers {
    fn start(args: &[String]) -> Servers {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers/aws_local.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with moto[server] (see .ci/run)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("aws_local.py did not start ({e}): {line:?}"));
        Servers { child, ready }
    }

    fn url(&self, name: &str) -> String {
        self.ready[name].as_str().unwrap().to_owned()
    }

    /// What the proxy injected and served.
    fn stats(&self) -> Value {
        let proxy = self.url("proxy");
        let output = Command::new("python3")
            .args([
                "-c",
                "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1] + '/__stats').read().decode())",
                &proxy,
            ])
            .output()
            .unwrap();
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// `trailproof collect s3://BUCKET DIR --endpoint-url <through> <extra>`.
    fn collect_command(&self, dir: &Path, through: &str, extra: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trailproof"));
        command
            .arg("collect")
            .arg(format!("s3://{}", self.ready["bucket"].as_str().unwrap()))
            .arg(dir)
            .args(["--endpoint-url", &self.url(through)])
            .args(extra)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/config")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
            .env("AWS_ENDPOINT_URL_CLOUDTRAIL", self.url("cloudtrail"));
        command
    }

    fn collect(&self, dir: &Path, through: &str, extra: &[&str]) -> std::process::Output {
        self.collect_command(dir, through, extra).output().unwrap()
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// A clean trail whose newest digests end shortly before now (so that the
/// collection time does not make its chains end early).
fn recent_spec(seed: u64) -> TrailSpec {
    let hours = 4;
    let now = jiff::Timestamp::now().as_second();
    let start = now - now % 3600 - i64::from(hours) * 3600 - 1800 + 17;
    let mut spec = TrailSpec::small(seed);
    spec.start = jiff::Timestamp::from_second(start).unwrap();
    spec.hours = hours;
    spec
}

fn recent_case(seed: u64) -> Case {
    Case::new(recent_spec(seed))
}

fn serve(case: &Case, extra: &[&str]) -> Servers {
    let mut args: Vec<String> = vec![
        "--bucket".into(),
        "acme-cloudtrail-logs".into(),
        "--mirror".into(),
        case.mirror.root.display().to_string(),
        "--public-keys".into(),
        case.mirror.public_keys.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Servers::start(&args)
}

/// `trailproof verify DIR --public-keys DIR/.trailproof-collection/public-keys --format json`
/// (a folder of key files).
fn verify_collected(dir: &Path) -> Outcome {
    let keys = dir.join(".trailproof-collection/public-keys");
    let mut args = vec!["verify".to_owned(), dir.display().to_string()];
    args.extend(["--public-keys".into(), keys.display().to_string()]);
    args.extend(["--format".into(), "json".into()]);
    run_json(&args)
}

fn record(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join(".trailproof-collection/record.json")).unwrap())
        .unwrap()
}

/// Every file of the generated mirror (but sidecars, which collect writes
/// from the GET) is in the collected folder with the same bytes.
fn assert_same_objects(case: &Case, dir: &Path) {
    for entry in walkdir::WalkDir::new(&case.mirror.root) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file()
            || entry.path().to_string_lossy().ends_with(".metadata.json")
        {
            continue;
        }
        let rel = entry.path().strip_prefix(&case.mirror.root).unwrap();
        assert_eq!(
            std::fs::read(entry.path()).unwrap(),
            std::fs::read(dir.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
}

fn collection_findings(outcome: &Outcome) -> Vec<(String, String)> {
    outcome
        .findings()
        .into_iter()
        .filter(|(code, _)| code.starts_with("collection."))
        .collect()
}

#[test]
fn collect_through_throttling_and_dropped_connections_then_verify_offline_passes() {
    let case = recent_case(71);
    let servers = serve(
        &case,
        &[
            "--slowdown-every",
            "3",
            "--reset-every",
            "5",
            "--slowdown-list",
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    let output = servers.collect(&dir, "proxy", &[]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stats = servers.stats();
    assert!(stats["slowdowns"].as_u64().unwrap() >= 5, "{stats}");
    assert!(stats["resets"].as_u64().unwrap() >= 3, "{stats}");
    // Metadata came with each digest's GET: no HEAD request at all.
    assert_eq!(stats["head_requests"], 0, "{stats}");
    assert_same_objects(&case, &dir);
    // Every digest has its metadata sidecar, so even the newest are proven.
    for digest in &case.mirror.digests {
        let sidecar: Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{}.metadata.json", digest.key))).unwrap(),
        )
        .unwrap();
        assert_eq!(sidecar["Metadata"]["signature"], digest.signature_hex);
    }
    let record = record(&dir);
    assert_eq!(record["complete"], true);
    assert_eq!(record["bucket"], "acme-cloudtrail-logs");
    assert_eq!(record["caller"]["account"], "123456789012");
    assert!(
        record["caller"]["arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:")
    );
    assert_eq!(record["endpoint"], servers.url("proxy"));
    let objects = case.mirror.digests.len() + case.mirror.logs.len();
    // Objects, one sidecar per digest, one key file per region.
    assert_eq!(record["objects"], objects + case.mirror.digests.len() + 2);
    let regions: Vec<&str> = record["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["region"].as_str().unwrap())
        .collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    let asked = stats["public_key_requests"].as_array().unwrap();
    assert!(asked.iter().any(|r| r["region"] == "eu-west-1"), "{stats}");

    // Offline: exactly the generator's verdict (a clean trail passes).
    let verified = verify_collected(&dir);
    assert_eq!(verified.code, 0, "{:?}", verified.findings());
    assert!(verified.findings().is_empty(), "{:?}", verified.findings());
    let collections = &verified.report["inputs"]["collections"];
    assert_eq!(collections[0]["complete"], true);
    assert_eq!(collections[0]["files_checked"], record["objects"]);
    assert_eq!(
        verified.report["inputs"]["collected_at"],
        record["finished_at"]
    );

    // A second run fetches nothing and changes nothing.
    let again = servers.collect(&dir, "s3", &[]);
    assert_eq!(again.status.code(), Some(0));
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.contains(&format!(
            "0 objects fetched (0 bytes), {objects} already there"
        )),
        "{again}"
    );
    assert!(verify_collected(&dir).findings().is_empty());
}

#[test]
fn an_organisation_trail_under_a_prefix_is_filtered_by_key_before_anything_is_fetched() {
    let mut spec = recent_spec(76);
    spec.prefix = Some("audit/trails".to_owned());
    spec.organization_id = Some("o-a1b2c3d4e5".to_owned());
    spec.accounts = vec!["111122223333".to_owned(), "444455556666".to_owned()];
    let case = Case::new(spec);
    let servers = serve(&case, &[]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    let output = servers.collect(
        &dir,
        "proxy",
        &["--account", "444455556666", "--region", "eu-west-1"],
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let taken = |key: &str| key.contains("/444455556666/") && key.contains("/eu-west-1/");
    let objects: Vec<&str> = case
        .mirror
        .digests
        .iter()
        .map(|d| d.key.as_str())
        .chain(case.mirror.logs.iter().map(|l| l.key.as_str()))
        .collect();
    let wanted = objects.iter().filter(|k| taken(k)).count();
    assert!(wanted > 0 && wanted < objects.len());
    for key in &objects {
        assert!(
            key.starts_with("audit/trails/AWSLogs/o-a1b2c3d4e5/"),
            "{key}"
        );
        assert_eq!(dir.join(key).exists(), taken(key), "{key}");
    }
    // Skipped by key: the proxy served exactly the objects taken.
    assert_eq!(servers.stats()["object_gets"], wanted);
    let record = record(&dir);
    assert_eq!(record["skipped"]["outside_filters"], objects.len() - wanted);
    assert_eq!(record["filters"]["accounts"][0], "444455556666");
    let regions: Vec<&Value> = record["public_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["region"])
        .collect();
    assert_eq!(regions, [&Value::from("eu-west-1")]);
    let verified = run_json(&[
        "verify".into(),
        dir.display().to_string(),
        "--public-keys".into(),
        dir.join(".trailproof-collection/public-keys")
            .display()
            .to_string(),
        "--account-id".into(),
        "444455556666".into(),
        "--region".into(),
        "eu-west-1".into(),
        "--format".into(),
        "json".into(),
    ]);
    assert_eq!(verified.code, 0, "{:?}", verified.findings());
    assert!(verified.findings().is_empty(), "{:?}", verified.findings());
}

#[test]
fn files_changed_added_or_removed_after_collection_are_collection_findings() {
    let case = recent_case(72);
    let servers = serve(&case, &[]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    assert_eq!(servers.collect(&dir, "s3", &[]).status.code(), Some(0));
    let bucket = "acme-cloudtrail-logs";
    let (changed, other) = (&case.mirror.logs[0], &case.mirror.logs[1]);
    std::fs::copy(dir.join(&other.key), dir.join(&changed.key)).unwrap();
    let digest = &case.mirror.digests[0];
    let sidecar = format!("{}.metadata.json", digest.key);
    std::fs::remove_file(dir.join(&sidecar)).unwrap();
    let planted = "AWSLogs/111122223333/CloudTrail/us-east-1/notes.txt";
    std::fs::write(dir.join(planted), b"planted").unwrap();
    let keys = ".trailproof-collection/public-keys/us-east-1.json";
    let mut text = std::fs::read(dir.join(keys)).unwrap();
    text.push(b' ');
    std::fs::write(dir.join(keys), text).unwrap();

    let verified = verify_collected(&dir);
    assert_eq!(verified.code, 1);
    assert_eq!(
        collection_findings(&verified),
        sorted(vec![
            f("collection.modified", bucket, &changed.key),
            f("collection.removed", bucket, &digest.key),
            f("collection.added", bucket, planted),
            ("collection.modified".to_owned(), keys.to_owned()),
        ])
    );
    // The digests still judge the file itself: tampering after collection, not in the bucket.
    assert!(
        verified
            .findings()
            .contains(&f("log.modified", bucket, &changed.key))
    );
    let modified = verified.finding("collection.modified", &common::url(bucket, &changed.key));
    assert_eq!(
        modified["compared"],
        "SHA-256 of the stored (compressed) bytes"
    );
    assert!(
        modified["message"]
            .as_str()
            .unwrap()
            .contains("after the collection")
    );

    // The object list itself edited: the record no longer vouches for anything.
    let list = dir.join(".trailproof-collection/objects.jsonl");
    let text = std::fs::read_to_string(&list).unwrap();
    std::fs::write(&list, text.replacen(&changed.key, &other.key, 1)).unwrap();
    let verified = verify_collected(&dir);
    let invalid: Vec<_> = collection_findings(&verified)
        .into_iter()
        .filter(|(code, _)| code == "collection.record_invalid")
        .collect();
    assert_eq!(invalid.len(), 1, "{:?}", verified.findings());
}

#[test]
fn versions_turn_missing_and_modified_logs_into_deleted_and_overwritten() {
    let case = recent_case(73);
    let (deleted, overwritten) = (&case.mirror.logs[0], &case.mirror.logs[2]);
    let forged = case.dir.path().join("forged.json.gz");
    std::fs::copy(&case.mirror.logs[1].path, &forged).unwrap();
    let servers = serve(
        &case,
        &[
            "--versioned",
            "--delete",
            &deleted.key,
            "--overwrite",
            &format!("{}={}", overwritten.key, forged.display()),
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    let output = servers.collect(&dir, "s3", &["--versions"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record = record(&dir);
    let markers = record["delete_markers"].as_array().unwrap();
    assert_eq!(markers.len(), 1);
    assert_eq!(markers[0]["key"], deleted.key.as_str());

    let verified = verify_collected(&dir);
    assert_eq!(verified.code, 1);
    let bucket = "acme-cloudtrail-logs";
    assert_eq!(
        verified.errors(),
        sorted(vec![
            f("log.deleted_version_exists", bucket, &deleted.key),
            f("log.overwritten_version_exists", bucket, &overwritten.key),
        ])
    );
    let message = verified.message("log.deleted_version_exists", bucket, &deleted.key);
    assert!(
        message.contains(markers[0]["last_modified"].as_str().unwrap()),
        "{message}"
    );
    assert!(
        message.contains(".trailproof-collection/versions/"),
        "{message}"
    );
    // Without --versions the same bucket only shows what is there now.
    let plain = out.path().join("plain");
    assert_eq!(servers.collect(&plain, "s3", &[]).status.code(), Some(0));
    assert_eq!(
        verify_collected(&plain).errors(),
        sorted(vec![
            f("log.missing", bucket, &deleted.key),
            f("log.modified", bucket, &overwritten.key),
        ])
    );
}

#[test]
fn an_interrupted_collection_resumes_and_never_overwrites_a_local_file() {
    let case = recent_case(74);
    let servers = serve(&case, &["--delay-ms", "150"]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    let mut child = servers
        .collect_command(&dir, "proxy", &["--jobs", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = dir.join(".trailproof-collection/journal.jsonl");
    let lines = || {
        std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let started = std::time::Instant::now();
    while lines() < 6 {
        assert!(started.elapsed().as_secs() < 60, "collect made no progress");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!dir.join(".trailproof-collection/record.json").exists());
    // Only complete files under their final names.
    let mut done = 0;
    for log in case
        .mirror
        .logs
        .iter()
        .map(|l| &l.key)
        .chain(case.mirror.digests.iter().map(|d| &d.key))
    {
        if let Ok(bytes) = std::fs::read(dir.join(log)) {
            assert_eq!(
                bytes,
                std::fs::read(case.mirror.root.join(log)).unwrap(),
                "{log}"
            );
            done += 1;
        }
    }
    assert!(done >= 3 && done < case.mirror.logs.len() + case.mirror.digests.len());
    let interrupted = verify_collected_without_keys(&dir, &case.mirror.public_keys);
    assert!(
        interrupted
            .findings()
            .iter()
            .any(|(code, _)| code == "collection.incomplete")
    );

    // A file fetched before the interruption is altered locally, then the run resumes.
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(&journal)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let altered = dir.join(first["path"].as_str().unwrap());
    let mut bytes = std::fs::read(&altered).unwrap();
    bytes.extend_from_slice(b"altered");
    std::fs::write(&altered, &bytes).unwrap();
    let resumed = servers.collect(&dir, "s3", &[]);
    assert_eq!(
        resumed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("kept, not overwritten"));
    assert_eq!(
        std::fs::read(&altered).unwrap(),
        bytes,
        "the local file was overwritten"
    );
    let record = record(&dir);
    assert_eq!(record["complete"], false);
    assert_eq!(record["conflicts"][0]["path"], first["path"]);
    assert!(!dir.join(".trailproof-collection/partial").exists());
    let verified = verify_collected(&dir);
    let key = first["key"].as_str().unwrap();
    assert!(collection_findings(&verified).contains(&f(
        "collection.conflict",
        "acme-cloudtrail-logs",
        key
    )));
}

/// Verifies with the generator's key file (the interrupted run saved none).
fn verify_collected_without_keys(dir: &Path, keys: &Path) -> Outcome {
    common::verify_json(&[PathBuf::from(dir)], keys, &[])
}

#[test]
fn a_wrong_bucket_or_no_credentials_is_exit_2_not_a_finding() {
    let case = recent_case(75);
    let servers = serve(&case, &[]);
    let out = tempfile::tempdir().unwrap();
    let mut command = servers.collect_command(&out.path().join("a"), "s3", &[]);
    command.arg("--help");
    assert_eq!(command.output().unwrap().status.code(), Some(0));
    let output = Command::new(env!("CARGO_BIN_EXE_trailproof"))
        .args(["collect", "s3://no-such-bucket"])
        .arg(out.path().join("b"))
        .args(["--endpoint-url", &servers.url("s3")])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot list s3://no-such-bucket/"),
        "{stderr}"
    );
    assert!(stderr.contains("NoSuchBucket"), "{stderr}");
    // No credentials anywhere: exit 2, and the error says so.
    let output = servers
        .collect_command(&out.path().join("c"), "s3", &[])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("credentials"), "{stderr}");
    assert!(
        !out.path().join("c").exists(),
        "nothing is written before the bucket is listed"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_trailproof"))
        .args(["collect", "my-bucket", "x"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let _ = std::io::stdout().flush();
}

/// A collected folder part of which this user cannot read (privileges dropped to nobody with
/// `setpriv` when run as root): nothing there is called removed or changed since collection.
#[test]
fn files_this_user_cannot_read_are_not_changed_since_collection() {
    use std::os::unix::fs::PermissionsExt as _;
    let case = recent_case(77);
    let servers = serve(&case, &[]);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("evidence");
    assert_eq!(servers.collect(&dir, "s3", &[]).status.code(), Some(0));
    let binary = out.path().join("trailproof");
    std::fs::copy(env!("CARGO_BIN_EXE_trailproof"), &binary).unwrap();
    let mut path = out.path().to_path_buf();
    loop {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | 0o755)).unwrap();
        if !path.pop() || path.as_os_str().len() <= 1 || !path.starts_with(std::env::temp_dir()) {
            break;
        }
    }
    let (log, other) = (&case.mirror.logs[0], &case.mirror.logs.last().unwrap());
    let folder = dir.join(&log.key).parent().unwrap().to_path_buf();
    assert!(
        !other
            .key
            .starts_with(folder.strip_prefix(&dir).unwrap().to_str().unwrap())
    );
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(dir.join(&other.key), std::fs::Permissions::from_mode(0o600)).unwrap();
    // The owner of a file this process just created is this process's user.
    let root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&binary).unwrap()) == 0;
    let mut command = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(&binary);
        c
    } else {
        Command::new(&binary)
    };
    let output = command
        .arg("verify")
        .arg(&dir)
        .arg("--public-keys")
        .arg(dir.join(".trailproof-collection/public-keys"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = common::checked(serde_json::from_slice(&output.stdout).unwrap());
    let findings = common::findings_of(&report);
    assert!(
        findings
            .iter()
            .all(|(code, _)| !code.starts_with("collection.")),
        "{findings:?}"
    );
    assert!(
        findings.iter().any(|(code, _)| code == "mirror.unreadable"),
        "{findings:?}"
    );
    assert_eq!(
        output.status.code(),
        Some(2),
        "incomplete, not failed: {findings:?}"
    );
}

/// A manifest of `deploy/` as JSON (YAML read by PyYAML, which the AWS CLI brings).
fn manifest(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    if name.ends_with(".json") {
        return serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, json, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The `NAME=value` pairs of a manifest's environment list.
fn env_of(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The Kubernetes and AWS Batch manifests parse, run an array of shards and
/// a merge after them, and their scripts (`deploy/shard.sh`, `merge.sh`),
/// run here as each engine runs them (the index from `JOB_COMPLETION_INDEX`
/// or `AWS_BATCH_JOB_ARRAY_INDEX`, a fresh folder per shard at the same
/// path), collect each shard's part from a local S3 and merge into the
/// verdict and findings of one collection verified whole.
#[test]
fn the_cluster_manifests_run_shards_that_collect_and_merge_into_the_single_verdict() {
    // The manifests.
    let shards = manifest("kubernetes/shards-job.yaml");
    assert_eq!(shards["kind"], "Job");
    assert_eq!(shards["spec"]["completionMode"], "Indexed");
    assert_eq!(shards["spec"]["completions"], shards["spec"]["parallelism"]);
    let container = &shards["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        container["command"],
        serde_json::json!(["sh", "/audit/shard.sh"])
    );
    let k8s_env = env_of(&container["env"]);
    for name in ["BUCKET", "UNTIL", "PLAN", "MIRROR", "PARTS"] {
        assert!(k8s_env.iter().any(|(n, _)| n == name), "{name}");
    }
    let merge = manifest("kubernetes/merge-job.yaml");
    let merge_container = &merge["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        merge_container["command"],
        serde_json::json!(["sh", "/audit/merge.sh"])
    );
    let definition = manifest("aws-batch/job-definition.json");
    assert_eq!(
        definition["containerProperties"]["command"],
        serde_json::json!(["sh", "/audit/shard.sh"])
    );
    let batch_shards = manifest("aws-batch/submit-shards.json");
    assert!(batch_shards["arrayProperties"]["size"].as_u64().unwrap() >= 2);
    assert_eq!(
        batch_shards["jobDefinition"],
        definition["jobDefinitionName"]
    );
    let batch_merge = manifest("aws-batch/submit-merge.json");
    assert!(batch_merge["dependsOn"][0]["jobId"].is_string());
    assert_eq!(
        batch_merge["containerOverrides"]["command"],
        serde_json::json!(["sh", "/audit/merge.sh"])
    );
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile"))
            .unwrap();
    assert!(dockerfile.contains("COPY deploy/shard.sh deploy/merge.sh /audit/"));

    // The scripts, as the engines run them, against a local S3.
    let case = recent_case(1701);
    let servers = serve(&case, &[]);
    // The end of the audited time: the newest digest's.
    let until = case
        .mirror
        .digests
        .iter()
        .map(|d| d.end_time)
        .max()
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let bin = work.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_trailproof"), bin.join("trailproof")).unwrap();
    let plan = work.path().join("plan.json");
    let status = Command::new(env!("CARGO_BIN_EXE_trailproof"))
        .arg("plan")
        .arg(&case.mirror.root)
        .args(["--shards", "2", "--output"])
        .arg(&plan)
        .status()
        .unwrap();
    assert!(status.success());
    let (mirror, parts) = (work.path().join("data/mirror"), work.path().join("parts"));
    std::fs::create_dir(&parts).unwrap();
    let script = |name: &str| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join(name)
    };
    let engine = |name: &str| {
        let command = servers.collect_command(&mirror, "s3", &[]);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut sh = Command::new("sh");
        sh.arg(script(name))
            .env_clear()
            .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
            .env("PATH", path)
            .env("BUCKET", "s3://acme-cloudtrail-logs")
            .env("UNTIL", until.to_string())
            .env("ENDPOINT_URL", servers.url("s3"))
            .env("PLAN", &plan)
            .env("MIRROR", &mirror)
            .env("PARTS", &parts)
            .env("REPORTS", work.path().join("reports"));
        sh
    };
    for (index, variable) in [
        (0, "JOB_COMPLETION_INDEX"),
        (1, "AWS_BATCH_JOB_ARRAY_INDEX"),
    ] {
        // Each pod or task starts with an empty folder at the same path.
        let _ = std::fs::remove_dir_all(work.path().join("data"));
        let out = engine("shard.sh")
            .env(variable, index.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "shard {index}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let part: Value = serde_json::from_slice(
            &std::fs::read(parts.join(format!("part-{index}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(part["inputs"]["shard"]["shard"], index);
        // The node took only its places' log files.
        let filters = &record(&mirror)["filters"]["log_places"];
        assert_eq!(filters, &part["inputs"]["shard"]["places"]);
        assert!(!part["inputs"]["collections"].as_array().unwrap().is_empty());
    }
    let out = engine("merge.sh").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let merged: Value =
        serde_json::from_slice(&std::fs::read(work.path().join("reports/report.json")).unwrap())
            .unwrap();
    assert!(work.path().join("reports/report.sarif").is_file());
    assert!(work.path().join("reports/report.txt").is_file());
    // The same bucket collected whole at the same path, verified in one run.
    std::fs::remove_dir_all(work.path().join("data")).unwrap();
    let out = servers.collect(&mirror, "s3", &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let single = verify_collected(&mirror);
    assert_eq!(merged["verdict"], single.report["verdict"]);
    assert_eq!(merged["verdict"], "pass", "{:#}", merged["findings"]);
    assert_eq!(merged["findings"], single.report["findings"]);
    assert_eq!(merged["summary"], single.report["summary"]);
    assert_eq!(merged["inputs"]["collections"].as_array().unwrap().len(), 2);
}

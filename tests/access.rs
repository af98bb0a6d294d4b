//! Touch nothing, accuse no one for a permission: runs as a user who cannot
//! read part of the mirror (privileges dropped with `setpriv`, never skipped
//! under root), and access times of every folder and file before and after
//! a run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, f, small, sorted};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const REGION: &str = "us-east-1";
const NOBODY: &str = "65534";

/// A copy of the binary that any user can run, and the case's folders opened up to others
/// (temporary folders are private to their owner).
struct AsNobody {
    binary: PathBuf,
}

impl AsNobody {
    fn new(case: &Case) -> AsNobody {
        if !is_root() {
            // setpriv needs root to switch user; the test then runs as this (non-root) user,
            // which cannot read what it cannot read either.
            eprintln!("running the permission cases as the current non-root user");
        }
        let binary = case.dir.path().join("trailproof");
        std::fs::copy(assert_cmd::cargo::cargo_bin("trailproof"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        open_up(case.dir.path());
        AsNobody { binary }
    }

    /// Runs `trailproof verify <root> --public-keys <keys> --format json` as user nobody.
    fn verify(&self, case: &Case) -> common::Outcome {
        let mut command = if is_root() {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ]);
            c.arg(&self.binary);
            c
        } else {
            Command::new(&self.binary)
        };
        let output = command
            .arg("verify")
            .arg(&case.mirror.root)
            .arg("--public-keys")
            .arg(&case.mirror.public_keys)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let report = common::checked(
            serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|e| panic!("not JSON ({e}); stderr: {stderr}")),
        );
        common::Outcome {
            code: output.status.code().unwrap(),
            report,
            stderr,
        }
    }
}

fn is_root() -> bool {
    rustix_uid() == 0
}

fn rustix_uid() -> u32 {
    // The owner of a file this process just created is this process's user.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::os::unix::fs::MetadataExt::uid(&probe.as_file().metadata().unwrap())
}

/// Every folder under (and including) `dir` readable and enterable by others.
fn open_up(dir: &Path) {
    let mut path = dir.to_path_buf();
    loop {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode | 0o755)).unwrap();
        if !path.pop() || path.as_os_str().len() <= 1 || !path.starts_with(std::env::temp_dir()) {
            break;
        }
    }
}

fn deny(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).unwrap();
}

/// A log file, a digest, a sidecar and a folder of log files this user cannot read: reported as
/// unreadable (a warning, the run incomplete, exit 2), never as malformed, missing or tampered.
#[test]
fn unreadable_files_and_folders_are_not_tampering() {
    let case = Case::new(small(130));
    let runner = AsNobody::new(&case);
    let chain = case.chain(REGION);
    let log = &chain[1].log_keys[0];
    let log_path = case.mirror.path_of(log);
    deny(&log_path);
    let digest = chain[3];
    deny(&digest.path);
    let sidecar = PathBuf::from(format!("{}.metadata.json", chain[2].path.display()));
    deny(&sidecar);
    let other = case.chain("eu-west-1")[2];
    let log_folder = case
        .mirror
        .path_of(&other.log_keys[0])
        .parent()
        .unwrap()
        .to_path_buf();
    deny(&log_folder);
    let out = runner.verify(&case);
    assert_eq!(out.errors(), vec![], "{:#}", out.report["findings"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.report["verdict"], "incomplete");
    let unreadable: Vec<(String, String)> = out
        .findings()
        .into_iter()
        .filter(|(code, _)| code == "mirror.unreadable")
        .collect();
    let folder_key = other.log_keys[0].rsplit_once('/').unwrap().0;
    assert_eq!(
        unreadable,
        sorted(vec![
            f("mirror.unreadable", &chain[1].bucket, log),
            f("mirror.unreadable", &digest.bucket, &digest.key),
            f("mirror.unreadable", &chain[2].bucket, &chain[2].key),
            f("mirror.unreadable", &other.bucket, folder_key),
        ])
    );
    // No listed log under the unreadable folder is called missing.
    assert!(
        !out.findings()
            .iter()
            .any(|(code, _)| code == "log.missing" || code.ends_with("malformed")),
        "{:#}",
        out.report["findings"]
    );
    assert!(
        out.report["summary"]["logs"]["unreadable"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

/// The digest folder of every region unreadable: exit 2 saying so, not "no digest file found".
#[test]
fn unreadable_digest_folders_are_exit_2_naming_them() {
    let case = Case::new(small(131));
    let runner = AsNobody::new(&case);
    let digest_root = case
        .mirror
        .root
        .join("AWSLogs")
        .join("111122223333")
        .join("CloudTrail-Digest");
    deny(&digest_root);
    let binary_output = if is_root() {
        Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "--",
            ])
            .arg(&runner.binary)
            .arg("verify")
            .arg(&case.mirror.root)
            .arg("--public-keys")
            .arg(&case.mirror.public_keys)
            .output()
            .unwrap()
    } else {
        Command::new(&runner.binary)
            .arg("verify")
            .arg(&case.mirror.root)
            .arg("--public-keys")
            .arg(&case.mirror.public_keys)
            .output()
            .unwrap()
    };
    let stderr = String::from_utf8_lossy(&binary_output.stderr);
    assert_eq!(binary_output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot be read"), "{stderr}");
    assert!(stderr.contains("CloudTrail-Digest"), "{stderr}");
    assert!(
        !stderr.contains("no CloudTrail digest file found"),
        "{stderr}"
    );
}

/// Every entry under `root` (reading the folders, which the caller does before aging them).
fn entries(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            for entry in std::fs::read_dir(&path).unwrap() {
                stack.push(entry.unwrap().path());
            }
        }
        out.push(path);
    }
    out.sort();
    out
}

/// Access times of `paths`, by `lstat` only (which reads no folder and changes nothing).
fn atimes(paths: &[PathBuf]) -> Vec<(PathBuf, i64, i64)> {
    use std::os::unix::fs::MetadataExt as _;
    paths
        .iter()
        .map(|p| {
            let meta = std::fs::symlink_metadata(p).unwrap();
            (p.clone(), meta.atime(), meta.atime_nsec())
        })
        .collect()
}

const YEAR_2001: u64 = 978_307_200;

/// Sets the access time of `paths` to 2001, older than their modification time, so that any
/// read would update it (relatime).
fn age_atimes(paths: &[PathBuf]) {
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(YEAR_2001);
    for path in paths {
        let file = std::fs::File::open(path).unwrap();
        file.set_times(std::fs::FileTimes::new().set_accessed(old))
            .unwrap();
    }
}

/// As the mirror's owner (or root), a run changes no access time, of folders or files.
#[test]
fn a_run_changes_no_access_time() {
    let case = Case::new(small(132));
    let paths = entries(&case.mirror.root);
    age_atimes(&paths);
    let before = atimes(&paths);
    // This file system updates access times (relatime): reading a file and a folder the plain
    // way shows it, so the comparison below can fail.
    let probe = case.dir.path().join("probe");
    std::fs::create_dir(&probe).unwrap();
    std::fs::write(probe.join("f"), b"x").unwrap();
    let probes = [probe.clone(), probe.join("f")];
    age_atimes(&probes);
    let _ = std::fs::read(probe.join("f")).unwrap();
    let _ = std::fs::read_dir(&probe).unwrap().count();
    assert!(
        atimes(&probes)
            .iter()
            .all(|(_, secs, _)| *secs != YEAR_2001 as i64),
        "this file system does not update access times: the test would prove nothing"
    );
    let out = case.verify(&[]);
    assert_eq!(out.code, 0);
    let after = atimes(&paths);
    let changed: Vec<&PathBuf> = before
        .iter()
        .zip(&after)
        .filter(|(b, a)| b != a)
        .map(|(b, _)| &b.0)
        .collect();
    assert!(changed.is_empty(), "access times changed: {changed:#?}");
}

//! Report files (`--output`, `--report`): devices, FIFOs and links are never
//! replaced by files, inputs and duplicates are refused, bind-mounted
//! mirrors are recognised, every target is checked before the evidence is
//! read, and new files follow the umask. The real binary, real file system.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use assert_cmd::Command;
use common::{Case, small, snapshot};
use std::ffi::{OsStr, OsString};
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `trailproof verify <root> --public-keys <keys> <args>` on a small clean case.
fn run(case: &Case, args: &[OsString]) -> std::process::Output {
    case.run(args)
}

/// An argument.
fn os(arg: impl AsRef<OsStr>) -> OsString {
    arg.as_ref().to_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Exit 2, the message contains each of `needles`, and no temporary name leaks.
fn assert_refused(out: &std::process::Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
    assert!(!err.contains(".trailproof-report-"), "{err}");
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// Whether `bytes` are a whole JSON report (validated against the schema).
fn is_json_report(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .is_ok_and(|v| common::checked(v)["tool"]["name"] == "trailproof")
}

#[test]
fn dev_full_is_exit_2_naming_it_and_stays_a_device() {
    let case = Case::new(small(301));
    // First a full device of our own: a build that replaces devices fails
    // here, before it can touch the machine's /dev/full.
    let full = device_node(case.dir.path(), "full", "c", 1, 7);
    for device in [full.as_path(), Path::new("/dev/full")] {
        let out = run(
            &case,
            &[os("--format"), os("json"), os("--output"), os(device)],
        );
        assert_refused(
            &out,
            &[&format!(
                "cannot write the json report to {}: No space left on device",
                device.display()
            )],
        );
        let found = kind(device);
        assert!(
            found.is_char_device(),
            "{} is now {found:?}",
            device.display()
        );
    }
}

/// A device node of our own in `dir` (`c` or `b`, major, minor), so that
/// even a broken build can never replace the machine's `/dev` entries.
fn device_node(dir: &Path, name: &str, kind: &str, major: u32, minor: u32) -> PathBuf {
    let path = dir.join(name);
    let made = std::process::Command::new("mknod")
        .arg(&path)
        .args(["-m", "666", kind, &major.to_string(), &minor.to_string()])
        .status()
        .unwrap();
    assert!(made.success(), "mknod failed: the tests run as root");
    path
}

/// The type of what is at `path` (a link is not followed).
fn kind(path: impl AsRef<Path>) -> std::fs::FileType {
    std::fs::symlink_metadata(path).unwrap().file_type()
}

#[test]
fn a_null_device_and_a_link_to_it_are_written_in_place() {
    let case = Case::new(small(302));
    let null = device_node(case.dir.path(), "null", "c", 1, 3);
    let link = case.dir.path().join("null-link");
    symlink(&null, &link).unwrap();
    for args in [
        [os("--output"), os(&null)],
        [os("--report"), os(format!("json={}", link.display()))],
    ] {
        let out = run(&case, &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    // Both name one file: refused like any other pair.
    let out = run(
        &case,
        &[
            os("--output"),
            os(&null),
            os("--report"),
            os(format!("json={}", link.display())),
        ],
    );
    assert_refused(&out, &["same file"]);
    let link_kind = kind(&link);
    assert!(link_kind.is_symlink(), "the link is now {link_kind:?}");
    assert_eq!(std::fs::read_link(&link).unwrap(), null);
    let found = kind(&null);
    assert!(found.is_char_device(), "the device is now {found:?}");
}

/// Reads the FIFO at `path` on a thread; the bytes arrive on the receiver.
fn read_fifo(path: &Path) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (send, receive) = std::sync::mpsc::channel();
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let bytes = std::fs::read(&path).unwrap();
        let _ = send.send(bytes);
    });
    receive
}

#[test]
fn fifo_reader_gets_the_report_and_the_fifo_stays() {
    let case = Case::new(small(303));
    let fifo = case.dir.path().join("report.fifo");
    mkfifo(&fifo);
    let received = read_fifo(&fifo);
    let out = run(
        &case,
        &[os("--format"), os("json"), os("--output"), os(&fifo)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let found = kind(&fifo);
    assert!(found.is_fifo(), "the FIFO is now {found:?}");
    let bytes = received
        .recv_timeout(Duration::from_secs(30))
        .expect("the reader got nothing");
    assert!(
        is_json_report(&bytes),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

#[test]
fn link_to_a_fifo_stays_a_link_and_the_reader_gets_the_report() {
    let case = Case::new(small(304));
    let fifo = case.dir.path().join("pipe");
    mkfifo(&fifo);
    // What /dev/stdout is when stdout is a pipe: a link to a FIFO.
    let link = case.dir.path().join("stdout");
    symlink(&fifo, &link).unwrap();
    let received = read_fifo(&fifo);
    let out = run(
        &case,
        &[os("--report"), os(format!("markdown={}", link.display()))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(kind(&link).is_symlink());
    assert!(kind(&fifo).is_fifo());
    let bytes = received.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(String::from_utf8(bytes).unwrap().contains("PASS"));
}

#[test]
fn output_to_dev_stdout_reaches_stdout_and_dev_stdout_stays_a_link() {
    let case = Case::new(small(305));
    // First a /dev/stdout of our own: a build that replaces links fails
    // here, before it can touch the machine's /dev/stdout.
    let own = case.dir.path().join("stdout");
    symlink("/proc/self/fd/1", &own).unwrap();
    for link in [own.as_path(), Path::new("/dev/stdout")] {
        let out = run(
            &case,
            &[os("--format"), os("json"), os("--output"), os(link)],
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let found = kind(link);
        assert!(found.is_symlink(), "{} is now {found:?}", link.display());
        assert!(is_json_report(&out.stdout), "{}", link.display());
    }
}

#[test]
fn link_to_a_regular_file_stays_a_link_and_its_target_gets_the_report() {
    let case = Case::new(small(306));
    let real = case.dir.path().join("real.json");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = case.dir.path().join("link.json");
    symlink(&real, &link).unwrap();
    let out = run(
        &case,
        &[os("--format"), os("json"), os("--output"), os(&link)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(kind(&link).is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), real);
    assert!(is_json_report(&std::fs::read(&real).unwrap()));
    let mode = std::fs::metadata(&real).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o640);
}

#[test]
fn dangling_links_directories_and_block_devices_are_refused() {
    let case = Case::new(small(307));
    let dangling = case.dir.path().join("dangling");
    symlink(case.dir.path().join("nowhere"), &dangling).unwrap();
    let to_dir = case.dir.path().join("to-dir");
    symlink(case.dir.path(), &to_dir).unwrap();
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (dangling.clone(), "symbolic link to nothing"),
        (to_dir.clone(), "symbolic link to a directory"),
        (case.dir.path().to_path_buf(), "it is a directory"),
    ];
    // A block device node of our own (loop0's numbers): root may create it.
    let block = device_node(case.dir.path(), "block", "b", 7, 0);
    cases.push((block.clone(), "it is a block device"));
    for (path, reason) in cases {
        let out = run(&case, &[os("--output"), os(&path)]);
        assert_refused(&out, &[&path.display().to_string(), reason]);
    }
    assert!(kind(&dangling).is_symlink());
    assert!(kind(&block).is_block_device());
}

#[test]
fn report_onto_the_key_file_is_refused_and_the_key_file_kept() {
    let case = Case::new(small(308));
    let keys = case.mirror.public_keys.clone();
    let before = std::fs::read(&keys).unwrap();
    let hard = case.dir.path().join("same-keys.json");
    std::fs::hard_link(&keys, &hard).unwrap();
    for path in [&keys, &hard] {
        let out = run(
            &case,
            &[os("--report"), os(format!("manifest={}", path.display()))],
        );
        assert_refused(&out, &["public-key file", &path.display().to_string()]);
        let out = run(&case, &[os("--output"), os(path)]);
        assert_refused(&out, &["public-key file"]);
    }
    assert_eq!(std::fs::read(&keys).unwrap(), before);
}

#[test]
fn two_reports_to_one_file_are_refused() {
    let case = Case::new(small(309));
    let dir = case.dir.path();
    let a = dir.join("a.json");
    let dot_a = dir.join(".").join("a.json");
    let existing = dir.join("existing.json");
    std::fs::write(&existing, b"keep").unwrap();
    let link = dir.join("existing-link.json");
    symlink(&existing, &link).unwrap();
    let pairs: Vec<Vec<String>> = vec![
        vec![
            format!("--report=json={}", a.display()),
            format!("--report=html={}", a.display()),
        ],
        vec![
            format!("--report=json={}", a.display()),
            format!("--output={}", dot_a.display()),
        ],
        vec![
            format!("--report=json={}", existing.display()),
            format!("--report=sarif={}", link.display()),
        ],
    ];
    for args in pairs {
        let args: Vec<OsString> = args.iter().map(os).collect();
        let out = run(&case, &args);
        assert_refused(&out, &["would be written to the same file"]);
    }
    assert!(!a.exists());
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep");
}

#[test]
fn a_missing_folder_is_refused_before_the_evidence_is_read_and_nothing_is_written() {
    let case = Case::new(small(310));
    let dir = case.dir.path();
    let missing = dir.join("no-such-folder").join("case.html");
    let json = dir.join("report.json");
    let output = dir.join("out.txt");
    let args = [
        os("--report"),
        os(format!("json={}", json.display())),
        os("--report"),
        os(format!("html={}", missing.display())),
        os("--output"),
        os(&output),
    ];
    let out = run(&case, &args);
    assert_refused(
        &out,
        &[
            &format!("cannot write the html report to {}", missing.display()),
            "does not exist",
        ],
    );
    assert!(!json.exists() && !output.exists(), "a report was written");
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        1,
        "only the mirror"
    );
    // An empty "mirror" fails as soon as it is read: the report problem comes first.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("trailproof")
        .unwrap()
        .arg("verify")
        .arg(empty.path())
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .args(args)
        .output()
        .unwrap();
    assert_refused(&out, &["does not exist"]);
    assert!(
        !stderr(&out).contains("no CloudTrail digest file"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mirror_reached_through_a_bind_mount_is_still_the_mirror() {
    let case = Case::new(small(311));
    let alias = case.dir.path().join("alias");
    std::fs::create_dir(&alias).unwrap();
    let before = snapshot(&case.mirror.root);
    let bin = assert_cmd::cargo::cargo_bin("trailproof");
    let script = r#"mount --bind "$1" "$2" || exit 99
"$3" verify "$1" --public-keys "$4" --quiet --output "$2/report.json" 2>/dev/null; echo "alias-target=$?"
"$3" verify "$2" --public-keys "$4" --quiet --output "$1/AWSLogs/report.json" 2>/dev/null; echo "alias-mirror=$?"
"#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", script, "sh"])
        .arg(&case.mirror.root)
        .arg(&alias)
        .arg(&bin)
        .arg(&case.mirror.public_keys)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "unshare -m (the tests run as root): {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("alias-target=2"), "{stdout}");
    assert!(stdout.contains("alias-mirror=2"), "{stdout}");
    assert_eq!(snapshot(&case.mirror.root), before, "the mirror changed");
    assert_eq!(std::fs::read_dir(&alias).unwrap().count(), 0);
}

/// Runs the binary under `umask` with `--output path`.
fn run_with_umask(case: &Case, umask: &str, path: &Path) -> std::process::Output {
    let bin = assert_cmd::cargo::cargo_bin("trailproof");
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask {umask}; exec \"$0\" verify \"$1\" --public-keys \"$2\" --output \"$3\""
        ))
        .arg(&bin)
        .arg(&case.mirror.root)
        .arg(&case.mirror.public_keys)
        .arg(path)
        .output()
        .unwrap()
}

#[test]
fn new_reports_follow_the_umask_and_replaced_ones_keep_their_mode() {
    let case = Case::new(small(312));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    let open = case.dir.path().join("open.txt");
    let out = run_with_umask(&case, "022", &open);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&open), 0o644);
    let private = case.dir.path().join("private.txt");
    run_with_umask(&case, "077", &private);
    assert_eq!(mode(&private), 0o600);
    // Replacing keeps the file's own bits, whatever the umask.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o664)).unwrap();
    std::fs::write(&open, b"old").unwrap();
    let out = run_with_umask(&case, "077", &open);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(mode(&open), 0o664);
    assert!(std::fs::read_to_string(&open).unwrap().contains("PASS"));
}

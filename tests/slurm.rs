//! One audit on a real Slurm cluster (Debian's slurm-wlm and munge, one node
//! on localhost, started by `tests/servers/slurm.sh`): an array job runs the
//! plan's shards (each takes its index from `SLURM_ARRAY_TASK_ID`), a job
//! that depends on it (`--dependency=afterok`) merges their reports, and the
//! merged report is the single run's, byte for byte apart from the run's
//! times and the shard list, on a mirror tampered across shard edges.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use common::{Case, small};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use trailproof_testgen::Timestamp;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/servers/slurm.sh");
const TRAILPROOF: &str = env!("CARGO_BIN_EXE_trailproof");

/// A running one-node cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    conf: String,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg("start")
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "slurm.sh start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Cluster {
            dir: dir.to_path_buf(),
            conf: String::from_utf8(out.stdout).unwrap().trim().to_owned(),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// Submits `script`; returns the job id.
    fn sbatch(&self, args: &[&str], script: &Path) -> String {
        let out = self
            .command("sbatch")
            .arg("--parsable")
            .args(args)
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sbatch: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// Waits for job `id` to end; returns its final state.
    fn wait(&self, id: &str) -> String {
        let start = Instant::now();
        loop {
            let out = self
                .command("scontrol")
                .args(["show", "job", id])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            let state = text
                .split_whitespace()
                .find_map(|w| w.strip_prefix("JobState="))
                .unwrap_or("?")
                .to_owned();
            if !matches!(
                state.as_str(),
                "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING"
            ) {
                return state;
            }
            assert!(
                start.elapsed() < Duration::from_secs(240),
                "job {id} still {state} after 240 s; logs in {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status();
    }
}

fn missing_slurm() -> Option<String> {
    ["sbatch", "slurmctld", "slurmd", "munged"]
        .into_iter()
        .find(|tool| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .map_or(true, |o| !o.status.success())
        })
        .map(|tool| format!("{tool} is not installed"))
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn an_array_job_of_shards_and_a_dependent_merge_give_the_single_runs_report() {
    if !common::tool_present(
        "tests/slurm.rs",
        missing_slurm(),
        "apt-get install slurm-wlm munge",
    ) {
        return;
    }
    // Two accounts × two regions over three days (each place is cut into
    // windows of days), tampered across shard and window edges.
    let mut spec = small(1601);
    spec.accounts = vec!["111122223333".to_owned(), "444455556666".to_owned()];
    spec.start = "2026-03-01T20:17:28Z".parse().unwrap();
    spec.hours = 30;
    let case = Case::new(spec);
    let west = case.chain("eu-west-1");
    let east = case.chain("us-east-1");
    // The first digest of the last day (it lists the files delivered before midnight).
    let edge = west
        .iter()
        .find(|d| d.key.contains("/2026/03/03/"))
        .unwrap();
    case.mirror.delete(&edge.key);
    let end = Timestamp::from_second(east[3].end_time.as_second() + 1800).unwrap();
    case.mirror
        .forge_digest(&west[4].key, end, Some(&east[3].key), &[], None);
    let log = case
        .mirror
        .logs
        .iter()
        .find(|l| l.account == "111122223333" && l.region == "us-east-1")
        .unwrap();
    case.mirror.move_file(
        &log.key,
        &log.key
            .replace("AWSLogs/111122223333/", "AWSLogs/444455556666/"),
    );

    let work = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(&work.path().join("slurm"));
    let plan = work.path().join("plan.json");
    let status = Command::new(TRAILPROOF)
        .arg("plan")
        .args(case.roots())
        .args(["--shards", "3", "--output"])
        .arg(&plan)
        .status()
        .unwrap();
    assert!(status.success());
    let planned: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let windows = planned["shards"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["places"].as_array().unwrap())
        .filter(|p| p["from"] == "2026-03-03")
        .count();
    assert_eq!(windows, 4, "every place cut at 3 March: {planned:#}");
    let parts = work.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let roots: Vec<String> = case.roots().iter().map(|r| quoted(r)).collect();
    let shard = work.path().join("shard.sh");
    std::fs::write(
        &shard,
        format!(
            "#!/bin/bash\n# Shards end 0 whatever they find (--fail-on never): the merge decides.\nexec {} verify {} --public-keys {} --plan {} --fail-on never --quiet --format json --output {}/part-$SLURM_ARRAY_TASK_ID.json\n",
            quoted(Path::new(TRAILPROOF)),
            roots.join(" "),
            quoted(&case.mirror.public_keys),
            quoted(&plan),
            quoted(&parts)
        ),
    )
    .unwrap();
    let merge = work.path().join("merge.sh");
    let merged = work.path().join("merged.json");
    std::fs::write(
        &merge,
        format!(
            "#!/bin/bash\nexec {} merge {}/part-*.json --format json --output {}\n",
            quoted(Path::new(TRAILPROOF)),
            quoted(&parts),
            quoted(&merged)
        ),
    )
    .unwrap();
    let logs = work.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let log_to = |name: &str| format!("--output={}/{name}", logs.display());
    let array = cluster.sbatch(&["--array=0-2", &log_to("shard-%a.txt")], &shard);
    let after = format!("--dependency=afterok:{array}");
    let joined = cluster.sbatch(&[&after, &log_to("merge.txt")], &merge);
    let state = cluster.wait(&joined);
    let log_text = |name: &str| std::fs::read_to_string(logs.join(name)).unwrap_or_default();
    // The evidence is not intact: merge exits 1, which Slurm records as FAILED.
    assert_eq!(
        state,
        "FAILED",
        "merge job: {}\nshard 0: {}",
        log_text("merge.txt"),
        log_text("shard-0.txt")
    );
    for k in 0..3 {
        let part: serde_json::Value =
            serde_json::from_slice(&std::fs::read(parts.join(format!("part-{k}.json"))).unwrap())
                .unwrap();
        assert_eq!(
            part["inputs"]["shard"]["shard"], k,
            "from SLURM_ARRAY_TASK_ID"
        );
    }
    let merged = std::fs::read_to_string(&merged).unwrap();
    let single = Command::new(TRAILPROOF)
        .arg("verify")
        .args(case.roots())
        .arg("--public-keys")
        .arg(&case.mirror.public_keys)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(single.status.code(), Some(1));
    let single = String::from_utf8(single.stdout).unwrap();
    assert_eq!(common::comparable(&merged), common::comparable(&single));
    let report: serde_json::Value = serde_json::from_str(&merged).unwrap();
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    for code in ["digest.missing", "chain.out_of_order"] {
        assert!(codes.contains(&code), "{code} not in {codes:?}");
    }
    assert_eq!(report["inputs"]["shards"].as_array().unwrap().len(), 3);
    drop(cluster);
}

//! Build facts for `trailproof --version`: the git commit, the build date,
//! the target and the enabled features. A reproducible build sets
//! `TRAILPROOF_GIT_COMMIT` and `SOURCE_DATE_EPOCH` (scripts/release.sh does).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TRAILPROOF_GIT_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    for git_file in [".git/HEAD", ".git/packed-refs"] {
        if std::path::Path::new(git_file).exists() {
            println!("cargo:rerun-if-changed={git_file}");
        }
    }
    if let Some(reference) = std::fs::read_to_string(".git/HEAD")
        .ok()
        .and_then(|head| head.strip_prefix("ref: ").map(|r| r.trim().to_owned()))
    {
        let path = format!(".git/{reference}");
        if std::path::Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("TRAILPROOF_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(git_commit)
        .unwrap_or_else(|| "unknown".to_owned());
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    let mut features: Vec<String> = std::env::vars()
        .filter_map(|(name, _)| name.strip_prefix("CARGO_FEATURE_").map(str::to_owned))
        .map(|f| f.to_lowercase().replace('_', "-"))
        .collect();
    features.sort();
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .is_ok_and(|f| f.split(',').any(|f| f == "crt-static"));
    println!("cargo:rustc-env=TRAILPROOF_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=TRAILPROOF_BUILD_DATE={}", utc(epoch));
    println!("cargo:rustc-env=TRAILPROOF_TARGET={target}");
    println!(
        "cargo:rustc-env=TRAILPROOF_FEATURES={}",
        if features.is_empty() {
            "none".to_owned()
        } else {
            features.join(",")
        }
    );
    println!(
        "cargo:rustc-env=TRAILPROOF_LINKAGE={}",
        if static_crt { "static" } else { "dynamic" }
    );
}

/// `git rev-parse HEAD` of the source tree, if it is a git checkout.
fn git_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let commit = String::from_utf8(output.stdout).ok()?.trim().to_owned();
    (!commit.is_empty()).then_some(commit)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch (Howard Hinnant's
/// days-to-civil algorithm; a build script has no date crate).
fn utc(epoch: u64) -> String {
    let days = i64::try_from(epoch / 86_400).unwrap_or(0);
    let secs = epoch % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

//! `trailproof --version`: what was built, from which commit, when, for which target.

/// The long version text: version, git commit, build date, target, linkage and features.
pub(crate) const fn long() -> &'static str {
    concat!(
        env!("CARGO_PKG_VERSION"),
        "\ncommit:   ",
        env!("TRAILPROOF_GIT_COMMIT"),
        "\nbuilt:    ",
        env!("TRAILPROOF_BUILD_DATE"),
        "\ntarget:   ",
        env!("TRAILPROOF_TARGET"),
        " (",
        env!("TRAILPROOF_LINKAGE"),
        "ally linked C runtime)",
        "\nfeatures: ",
        env!("TRAILPROOF_FEATURES"),
        "\nlicense:  ",
        env!("CARGO_PKG_LICENSE"),
    )
}

/// `trailproof 0.1.0 (commit …)`, for records.
#[cfg(feature = "collect")]
pub(crate) fn short() -> String {
    format!(
        "{} {} (commit {})",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        env!("TRAILPROOF_GIT_COMMIT")
    )
}

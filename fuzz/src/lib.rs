//! Fuzz harnesses that need the TEST-ONLY mirror generator, which
//! `trailproof::fuzzing` must not depend on. The one-line targets are in
//! `fuzz_targets/`; `examples/seed.rs` writes the seed corpora.

pub mod verify_mirror;

pub use verify_mirror::verify_mirror;

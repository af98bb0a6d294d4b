#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| trailproof::fuzzing::key_names(data));

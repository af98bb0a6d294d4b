#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| trailproof::fuzzing::lake_sign_file(data));

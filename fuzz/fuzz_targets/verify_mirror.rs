#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| trailproof_fuzz::verify_mirror(data));

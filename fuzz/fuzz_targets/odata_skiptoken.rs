#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(finding) = relata_fuzz::odata_skiptoken(data) {
        panic!("{finding}");
    }
});

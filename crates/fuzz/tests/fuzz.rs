//! The fuzz targets on every backend, each for a bounded time after its
//! corpus (see `relata_fuzz::runner` for the knobs). A finding fails the
//! test with its input and the server's answer, and is saved for replay.

#[test]
fn fuzz_targets() {
    let settings = relata_fuzz::runner::Settings::from_env();
    if let Err(findings) = relata_fuzz::runner::main(&settings) {
        panic!("{findings}");
    }
}

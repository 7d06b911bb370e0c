//! The newcomer's path in Chromium on a fresh database of each backend
//! (tests/ui/newcomer.mjs): setup page → organization → a product with a
//! price → lead → qualify → the product on the opportunity → quote → its
//! PDF, which names the organization → a phone call on the account →
//! Russian. Prints the clicks and pages from the setup link to the PDF.

mod common;

use common::{backends, new_store, run_ui_script_at, setup_token, start_server, uid};

#[test]
fn the_newcomers_first_hour_in_chromium() {
    let mut failed = Vec::new();
    for backend in backends() {
        if std::panic::catch_unwind(|| run(backend)).is_err() {
            failed.push(backend);
        }
    }
    assert!(failed.is_empty(), "failed on: {}", failed.join(", "));
}

fn run(backend: &'static str) {
    let store = new_store(backend);
    let (base, _child, _stdin) = start_server(&store);
    let token = setup_token(&store);
    let tag = uid();
    run_ui_script_at(
        backend,
        &base,
        "newcomer.mjs",
        &[("RELATA_SETUP_URL", format!("{base}/setup?token={token}")), ("RELATA_TAG", tag.clone())],
    );
    let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/ui-screenshots")
        .join(backend)
        .join("newcomer");
    let pdf = std::fs::read(shots.join("quote.pdf")).expect("the script saved the quote's PDF");
    let doc = lopdf::Document::load_mem(&pdf).expect("the PDF parses");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    let text = doc.extract_text(&pages).expect("text extracts").split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains(&format!("Newco {tag}")), "the quote names the organization as the seller:\n{text}");
    assert!(!text.contains("Relata"), "the seller is not the default name:\n{text}");
    let figures = std::fs::read_to_string(shots.join("newcomer.json")).expect("figures");
    println!("[{backend}] newcomer: {figures}");
}

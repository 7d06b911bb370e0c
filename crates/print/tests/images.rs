//! Images in printed documents: the organization's logo drawn from
//! `@image`, nothing drawn without one, and bad image data named.

use relata_print::{render_pdf, PrintError};
use serde_json::json;

/// One red pixel.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

fn images_in(pdf: &[u8]) -> usize {
    let doc = lopdf::Document::load_mem(pdf).expect("the PDF parses");
    doc.objects
        .values()
        .filter(|o| {
            o.as_stream()
                .ok()
                .and_then(|s| s.dict.get(b"Subtype").ok())
                .and_then(|t| t.as_name().ok())
                .is_some_and(|n| n == b"Image")
        })
        .count()
}

fn render(logo: &str) -> Result<Vec<u8>, PrintError> {
    render_pdf("@image 36 {{ seller.logo }}\n# Quote\n", &json!({ "language": 1033, "seller": { "logo": logo } }))
}

#[test]
fn the_logo_is_drawn_and_an_empty_one_is_not() {
    let with = render(PNG).expect("renders with a logo");
    assert_eq!(images_in(&with), 1);
    let without = render("").expect("renders without a logo");
    assert_eq!(images_in(&without), 0);
}

#[test]
fn bad_image_data_is_named() {
    let e = render("not base64 at all!").expect_err("refused").to_string();
    assert!(e.contains("@image") && e.contains("base64"), "{e}");
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(b"GIF89a not an image we take");
    let e = render(&text).expect_err("refused").to_string();
    assert!(e.contains("PNG or JPEG"), "{e}");
    let e = render_pdf("@image big x\n", &json!({})).expect_err("refused").to_string();
    assert!(e.contains("height"), "{e}");
}

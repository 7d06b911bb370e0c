use relata_query::parser::*;
#[test]
fn probe() {
    for kb in [64usize, 128, 256, 512] {
        let r = std::thread::Builder::new().stack_size(kb * 1024).spawn(|| {
            let s = format!("{}a eq 1{}", "not (".repeat(49), ")".repeat(49));
            assert!(parse_filter(&s).is_ok());
            let s = format!("{}a{}", "tolower(".repeat(99), ")".repeat(99));
            assert!(parse_filter(&s).is_ok());
            let s = vec!["a eq 1"; 999].join(" or ");
            assert!(parse_filter(&s).is_ok());
            let s = format!("{}{}", "a($expand=".repeat(99), ")".repeat(99));
            assert!(parse_expand(&s).is_ok());
        }).unwrap().join();
        println!("{kb} KiB: {}", if r.is_ok() { "ok" } else { "overflow/panic" });
    }
}

//! Reading as a stream: the same values as reading whole, from a reader
//! that hands out a few bytes at a time, and without reading ahead of
//! what is handed out.

mod common;

use std::io::Read;

use common::{all_fixtures, bytes};
use relata_commerceml::{entries, read, Entry};

/// A reader that hands out at most 7 bytes per call, so characters and
/// tags are cut between reads.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(buf.len()).min(7);
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn every_fixture_streams_to_what_reading_it_whole_gives() {
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 20, "the fixtures are there: {}", fixtures.len());
    for name in fixtures {
        let bytes = bytes(&name);
        let whole = read(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        // A few bytes per read: characters and tags cut between reads.
        let trickled =
            entries(Trickle(&bytes)).and_then(|e| e.into_package()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(trickled, whole, "{name}");
        // Headers come without their lists; products and offers follow.
        let mut products = 0;
        let mut offers = 0;
        for entry in entries(Trickle(&bytes)).unwrap() {
            match entry.unwrap() {
                Entry::Catalog(c) => assert!(c.products.is_empty(), "{name}"),
                Entry::Offers(o) => assert!(o.offers.is_empty(), "{name}"),
                Entry::Product(_) => products += 1,
                Entry::Offer(_) => offers += 1,
                _ => {}
            }
        }
        assert_eq!(products, whole.catalog.as_ref().map_or(0, |c| c.products.len()), "{name}");
        assert_eq!(offers, whole.offers.as_ref().map_or(0, |o| o.offers.len()), "{name}");
    }
}

/// A catalog of `n` products, ~300 bytes each.
fn big_catalog(n: usize) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<КоммерческаяИнформация ВерсияСхемы=\"2.05\">\n\
         <Каталог><Ид>c</Ид><Наименование>Каталог</Наименование><Товары>\n",
    );
    for i in 0..n {
        xml.push_str(&format!(
            "<Товар><Ид>p{i}</Ид><Артикул>A-{i}</Артикул><Наименование>Товар номер {i}</Наименование>\
             <БазоваяЕдиница Код=\"796\">шт</БазоваяЕдиница><Описание>Описание товара {i}</Описание></Товар>\n"
        ));
    }
    xml.push_str("</Товары></Каталог></КоммерческаяИнформация>\n");
    xml.into_bytes()
}

#[test]
fn entries_come_as_the_file_is_read_not_after() {
    let bytes = big_catalog(20_000);
    assert!(bytes.len() > 3_000_000);
    let mut stream = entries(bytes.as_slice()).unwrap();
    let Some(Ok(Entry::Catalog(header))) = stream.next() else { panic!("the catalog's header first") };
    assert_eq!(header.name, "Каталог");
    let Some(Ok(Entry::Product(first))) = stream.next() else { panic!("then its first product") };
    assert_eq!(first.id, "p0");
    // One read-ahead chunk at most, not the file.
    assert!(stream.bytes_read() <= 256 * 1024, "read {} of {} bytes for one product", stream.bytes_read(), bytes.len());
    let mut products = 1;
    let mut last_read = stream.bytes_read();
    while let Some(entry) = stream.next() {
        let Entry::Product(p) = entry.unwrap() else { panic!("only products follow") };
        assert_eq!(p.id, format!("p{products}"));
        let now = stream.bytes_read();
        assert!(now >= last_read, "the position only moves on");
        last_read = now;
        products += 1;
        if products == 10_000 {
            assert!(now < bytes.len() as u64 * 3 / 5, "half the products, {now} of {} bytes read", bytes.len());
        }
    }
    assert_eq!(products, 20_000);
    assert_eq!(stream.bytes_read(), bytes.len() as u64);
}

#[test]
fn an_error_ends_the_stream_after_the_entries_before_it() {
    let mut bytes = big_catalog(3);
    let cut = bytes.len() - 200;
    bytes.truncate(cut);
    let got: Vec<_> = entries(Trickle(&bytes)).unwrap().collect();
    assert!(matches!(got[0], Ok(Entry::Catalog(_))));
    assert!(matches!(got[1], Ok(Entry::Product(_))));
    let last = got.last().unwrap();
    assert!(
        matches!(last, Err(relata_commerceml::Error::Truncated { .. })),
        "a cut file ends in a truncation error: {last:?}"
    );
    assert_eq!(got.iter().filter(|e| e.is_err()).count(), 1);
}

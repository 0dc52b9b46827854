//! Kernel throughput on Utf8 and Utf8View arrays: `cargo bench -p shuzhi-functions`.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, StringViewArray};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shuzhi_functions::{arrays, date, id_card, phone, text};

fn dirty_ids(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 4 {
            0 => "11010519491231002x".to_owned(),
            1 => "310112850409522".to_owned(),
            2 => "１１０１０５１９４９１２３１００２Ｘ".to_owned(),
            _ => "440524188001010014".to_owned(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let n = 100_000;
    let ids = dirty_ids(n);
    let utf8: ArrayRef = Arc::new(StringArray::from_iter_values(&ids));
    let view: ArrayRef = Arc::new(StringViewArray::from_iter_values(&ids));
    let dates: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..n).map(|i| {
            ["2023-01-05", "2023年1月5日", "20230105", "44931"][i % 4]
        })));
    let phones: ArrayRef =
        Arc::new(StringArray::from_iter_values((0..n).map(|i| {
            ["+86 139 1234 5678", "13912345678", "010-12345678"][i % 3]
        })));
    let mut g = c.benchmark_group("kernels");
    g.throughput(Throughput::Elements(n as u64));
    for (layout, array) in [("utf8", &utf8), ("utf8view", &view)] {
        g.bench_function(format!("normalize_text/{layout}"), |b| {
            b.iter(|| arrays::map_strings(array.as_ref(), |s| Some(text::normalize_text(s))))
        });
        g.bench_function(format!("normalize_id/{layout}"), |b| {
            b.iter(|| arrays::map_strings(array.as_ref(), |s| Some(id_card::normalize_id(s))))
        });
    }
    g.bench_function("parse_date/utf8", |b| {
        b.iter(|| arrays::strings_to_dates(dates.as_ref(), date::parse_date_days))
    });
    g.bench_function("normalize_phone/utf8", |b| {
        b.iter(|| {
            arrays::map_strings(phones.as_ref(), |s| {
                phone::normalize_phone(s).map(std::borrow::Cow::Owned)
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

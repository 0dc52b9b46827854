//! Comparators: each record's value prepared once, column-wise, in the form its comparator
//! compares; then a level for any pair of records, best first, `missing` (0) when either side
//! is null.

mod id;
mod name;
mod strings;

use arrow::array::{Array, AsArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::MatchError;
use crate::spec::CompareKind;

pub use id::{IdValue, ids_veto};

/// The level index of `missing`: either value is null, so the pair says nothing.
pub const MISSING: u8 = 0;
/// The level index of `exact`.
pub const EXACT: u8 = 1;

/// A 64-bit hash of a value's comparison form, never 0 (0 means null).
pub(crate) fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    // SplitMix64's finaliser, so that close values land far apart.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (h ^ (h >> 31)).max(1)
}

/// Records prepared in parallel chunks of this many.
const CHUNK: usize = 1 << 16;

/// Variable-length values of every record in one buffer, with no allocation per record:
/// record i's items are `items[ends[i - 1]..ends[i]]` (none when null).
struct Packed<T> {
    items: Vec<T>,
    ends: Vec<u32>,
}

impl<T: Copy + Send + Sync> Packed<T> {
    /// Packs what `parse` gives each of `n` records, in parallel chunks; with each record's key
    /// (0 when null).
    fn build<V: AsRef<[T]>>(
        n: usize,
        parse: impl Fn(usize) -> Option<(u64, V)> + Sync,
    ) -> Result<(Vec<u64>, Packed<T>), MatchError> {
        let chunks: Vec<(Vec<u64>, Vec<T>, Vec<usize>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let range = c * CHUNK..((c + 1) * CHUNK).min(n);
                let mut keys = Vec::with_capacity(range.len());
                let mut items = Vec::new();
                let mut ends = Vec::with_capacity(range.len());
                for i in range {
                    match parse(i) {
                        Some((key, value)) => {
                            keys.push(key);
                            items.extend_from_slice(value.as_ref());
                        }
                        None => keys.push(0),
                    }
                    ends.push(items.len());
                }
                (keys, items, ends)
            })
            .collect();
        let total: usize = chunks.iter().map(|c| c.1.len()).sum();
        if u32::try_from(total).is_err() {
            return Err(MatchError::Input(format!(
                "a column holds {total} characters or items; linking takes up to {} per column",
                u32::MAX
            )));
        }
        let mut keys = Vec::with_capacity(n);
        let mut packed = Packed {
            items: Vec::with_capacity(total),
            ends: Vec::with_capacity(n),
        };
        for (k, items, ends) in chunks {
            let base = packed.items.len();
            keys.extend(k);
            packed.items.extend(items);
            packed
                .ends
                .extend(ends.into_iter().map(|e| (base + e) as u32));
        }
        Ok((keys, packed))
    }

    fn get(&self, i: usize) -> &[T] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.items[start..self.ends[i] as usize]
    }
}

impl Packed<u8> {
    /// Record i's text (the buffer holds whole UTF-8 values back to back).
    fn text(&self, i: usize) -> &str {
        std::str::from_utf8(self.get(i)).unwrap_or_default()
    }
}

/// The values of one compared column, prepared for its comparator.
enum Values {
    Id(Vec<Option<IdValue>>),
    /// Comparison forms; readings come from a table when compared.
    Name(Packed<u8>),
    Date(Vec<Option<[u8; 8]>>),
    Digits(Packed<u8>),
    Address(Packed<u32>),
    Company(Packed<u8>),
    Code(Vec<Option<strings::CodeValue>>),
    Text(Packed<u8>),
    Exact,
}

/// One compared column, prepared.
pub struct Prepared {
    kind: CompareKind,
    /// Hash of each record's comparison form; 0 when null. Equal keys are the `exact` level.
    keys: Vec<u64>,
    values: Values,
}

impl Prepared {
    /// Prepares `array` (any type castable to text) for `kind`.
    pub fn new(kind: CompareKind, array: &dyn Array) -> Result<Self, MatchError> {
        let text = cast(array, &DataType::Utf8)
            .map_err(|e| MatchError::Input(format!("cannot read the column as text: {e}")))?;
        let text = text.as_string::<i32>();
        let raw = |i: usize| {
            (!text.is_null(i))
                .then(|| text.value(i).trim())
                .filter(|s| !s.is_empty())
        };
        let n = text.len();
        // Each parser gives the hash of the value's comparison form (the `exact` level) and
        // what the other levels compare; a value it cannot read is null.
        fn prepare<'a, T: Send>(
            n: usize,
            raw: impl Fn(usize) -> Option<&'a str> + Sync,
            parse: impl Fn(&str) -> Option<(u64, T)> + Sync,
        ) -> (Vec<u64>, Vec<Option<T>>) {
            (0..n)
                .into_par_iter()
                .map(|i| match raw(i).and_then(&parse) {
                    Some((key, value)) => (key, Some(value)),
                    None => (0, None),
                })
                .unzip()
        }
        let (keys, values) = match kind {
            CompareKind::Id => {
                let (k, v) = prepare(n, raw, IdValue::parse);
                (k, Values::Id(v))
            }
            CompareKind::PersonName => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(name::parse))?;
                (k, Values::Name(v))
            }
            CompareKind::Date => {
                let (k, v) = prepare(n, raw, strings::date);
                (k, Values::Date(v))
            }
            CompareKind::Phone => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(strings::phone))?;
                (k, Values::Digits(v))
            }
            CompareKind::Digits => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(strings::digits))?;
                (k, Values::Digits(v))
            }
            CompareKind::Address => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(strings::address_bigrams))?;
                (k, Values::Address(v))
            }
            CompareKind::CompanyName => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(strings::company_core))?;
                (k, Values::Company(v))
            }
            CompareKind::CreditCode => {
                let (k, v) = prepare(n, raw, strings::CodeValue::parse);
                (k, Values::Code(v))
            }
            CompareKind::Text => {
                let (k, v) = Packed::build(n, |i| raw(i).and_then(strings::text))?;
                (k, Values::Text(v))
            }
            CompareKind::Exact => {
                let (k, _) = prepare(n, raw, strings::exact);
                (k, Values::Exact)
            }
        };
        Ok(Prepared { kind, keys, values })
    }

    /// The comparator.
    pub fn kind(&self) -> CompareKind {
        self.kind
    }

    /// Number of records.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Each record's exact-value key (0 for null).
    pub fn keys(&self) -> &[u64] {
        &self.keys
    }

    /// The level of the pair `(i, j)`.
    pub fn level(&self, i: usize, j: usize) -> u8 {
        let (a, b) = (self.keys[i], self.keys[j]);
        if a == 0 || b == 0 {
            return MISSING;
        }
        if a == b {
            return EXACT;
        }
        fn both<T>(v: &[Option<T>], i: usize, j: usize) -> Option<(&T, &T)> {
            Some((v[i].as_ref()?, v[j].as_ref()?))
        }
        // Both keys are non-zero here, so packed values are present.
        let level = match &self.values {
            Values::Id(v) => both(v, i, j).map(|(a, b)| id::level(a, b)),
            Values::Name(v) => Some(name::level(v.text(i), v.text(j))),
            Values::Date(v) => both(v, i, j).map(|(a, b)| strings::date_level(a, b)),
            Values::Digits(v) => Some(strings::digits_level(v.text(i), v.text(j))),
            Values::Address(v) => Some(strings::address_level(v.get(i), v.get(j))),
            Values::Company(v) => Some(strings::company_level(v.text(i), v.text(j))),
            Values::Code(v) => both(v, i, j).map(|(a, b)| strings::code_level(a, b)),
            Values::Text(v) => Some(strings::text_level(v.text(i), v.text(j))),
            Values::Exact => Some(2),
        };
        level.unwrap_or(MISSING)
    }

    /// True when the pair can never be one entity whatever else agrees (two valid IDs that
    /// differ in two or more of their first 17 digits).
    pub fn vetoes(&self, i: usize, j: usize) -> bool {
        match &self.values {
            Values::Id(v) => match (&v[i], &v[j]) {
                (Some(a), Some(b)) => ids_veto(a, b),
                _ => false,
            },
            _ => false,
        }
    }

    /// The valid ID of record `i`, for the clustering's cannot-link constraint.
    pub fn valid_id(&self, i: usize) -> Option<&IdValue> {
        match &self.values {
            Values::Id(v) => v[i].as_ref().filter(|id| id.valid),
            _ => None,
        }
    }

    /// The blocking key of every record under `function` (`None`: the value itself); 0 where
    /// the record has none.
    pub fn block_keys(&self, function: Option<&str>) -> Vec<u64> {
        let Some(function) = function else {
            return self.keys.clone();
        };
        fn map<T: Sync>(v: &[Option<T>], f: impl Fn(&T) -> Option<u64> + Sync) -> Vec<u64> {
            v.par_iter()
                .map(|x| x.as_ref().and_then(&f).unwrap_or(0))
                .collect()
        }
        // Keys of packed text: only where the record has a value.
        let texts = |v: &Packed<u8>, f: &(dyn Fn(&str) -> u64 + Sync)| -> Vec<u64> {
            (0..self.len())
                .into_par_iter()
                .map(|i| if self.keys[i] == 0 { 0 } else { f(v.text(i)) })
                .collect()
        };
        match (&self.values, function) {
            (Values::Id(v), "region") => map(v, |id| Some(hash_bytes(&id.digits[..6]))),
            (Values::Id(v), "birth") => map(v, |id| Some(hash_bytes(&id.digits[6..14]))),
            (Values::Name(v), "surname") => texts(v, &name::surname_key),
            (Values::Name(v), "pinyin") => texts(v, &name::pinyin_key),
            (Values::Date(v), "year") => map(v, |d| Some(hash_bytes(&d[..4]))),
            (Values::Code(v), "org") => map(v, |c| Some(hash_bytes(&c.org))),
            (Values::Text(v) | Values::Company(v), "prefix") => texts(v, &|s: &str| {
                let end = s.char_indices().nth(3).map_or(s.len(), |(at, _)| at);
                hash_bytes(&s.as_bytes()[..end])
            }),
            // `MatchSpec::validate` admits only the functions each kind offers.
            _ => vec![0; self.len()],
        }
    }
}

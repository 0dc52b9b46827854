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
pub use name::NameValue;

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

/// The values of one compared column, prepared for its comparator.
enum Values {
    Id(Vec<Option<IdValue>>),
    Name(Vec<Option<NameValue>>),
    Date(Vec<Option<[u8; 8]>>),
    Digits(Vec<Option<Box<str>>>),
    Address(Vec<Option<Box<[u32]>>>),
    Company(Vec<Option<Box<str>>>),
    Code(Vec<Option<strings::CodeValue>>),
    Text(Vec<Option<Box<str>>>),
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
                let (k, v) = prepare(n, raw, NameValue::parse);
                (k, Values::Name(v))
            }
            CompareKind::Date => {
                let (k, v) = prepare(n, raw, strings::date);
                (k, Values::Date(v))
            }
            CompareKind::Phone => {
                let (k, v) = prepare(n, raw, strings::phone);
                (k, Values::Digits(v))
            }
            CompareKind::Digits => {
                let (k, v) = prepare(n, raw, strings::digits);
                (k, Values::Digits(v))
            }
            CompareKind::Address => {
                let (k, v) = prepare(n, raw, strings::address_bigrams);
                (k, Values::Address(v))
            }
            CompareKind::CompanyName => {
                let (k, v) = prepare(n, raw, strings::company_core);
                (k, Values::Company(v))
            }
            CompareKind::CreditCode => {
                let (k, v) = prepare(n, raw, strings::CodeValue::parse);
                (k, Values::Code(v))
            }
            CompareKind::Text => {
                let (k, v) = prepare(n, raw, strings::text);
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
        let level = match &self.values {
            Values::Id(v) => both(v, i, j).map(|(a, b)| id::level(a, b)),
            Values::Name(v) => both(v, i, j).map(|(a, b)| name::level(a, b)),
            Values::Date(v) => both(v, i, j).map(|(a, b)| strings::date_level(a, b)),
            Values::Digits(v) => both(v, i, j).map(|(a, b)| strings::digits_level(a, b)),
            Values::Address(v) => both(v, i, j).map(|(a, b)| strings::address_level(a, b)),
            Values::Company(v) => both(v, i, j).map(|(a, b)| strings::company_level(a, b)),
            Values::Code(v) => both(v, i, j).map(|(a, b)| strings::code_level(a, b)),
            Values::Text(v) => both(v, i, j).map(|(a, b)| strings::text_level(a, b)),
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
        match (&self.values, function) {
            (Values::Id(v), "region") => map(v, |id| Some(hash_bytes(&id.digits[..6]))),
            (Values::Id(v), "birth") => map(v, |id| Some(hash_bytes(&id.digits[6..14]))),
            (Values::Name(v), "surname") => map(v, |n| Some(n.surname_key())),
            (Values::Name(v), "pinyin") => map(v, |n| Some(n.pinyin_key())),
            (Values::Date(v), "year") => map(v, |d| Some(hash_bytes(&d[..4]))),
            (Values::Code(v), "org") => map(v, |c| Some(hash_bytes(&c.org))),
            (Values::Text(v) | Values::Company(v), "prefix") => map(v, |s| {
                let end = s.char_indices().nth(3).map_or(s.len(), |(at, _)| at);
                Some(hash_bytes(&s.as_bytes()[..end]))
            }),
            // `MatchSpec::validate` admits only the functions each kind offers.
            _ => vec![0; self.len()],
        }
    }
}

//! A field's clean steps fused into one pass: each value goes through every step once, with one
//! output array and a bit per step that changed it, instead of one array (and one comparison)
//! per step.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayAccessor, ArrayRef, Date32Builder, Int64Builder, StringBuilder};

use crate::arrays::{Result, with_strings};
use crate::code_table::CodeTable;
use crate::keyword::Keyword;
use crate::text::NullTokens;
use crate::{
    address, amount, company, coords, date, id_card, mask, phone, pseudonym, simplified, text,
};

/// A text-to-text clean step.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TextStep {
    /// [`text::normalize_text`].
    NormalizeText,
    /// Placeholder tokens → null.
    NullTokens(Arc<NullTokens>),
    /// Unicode upper case.
    Upper,
    /// [`id_card::normalize_id`].
    IdNumber,
    /// [`phone::clean_phone`].
    Phone,
    /// Names and aliases → codes; unknown values unchanged.
    Map(Arc<CodeTable>),
    /// [`mask::MaskKind::apply`].
    Mask(mask::MaskKind),
    /// [`text::trim`].
    Trim,
    /// Unicode lower case.
    Lower,
    /// [`text::pad_left`] to a width with a fill character.
    Pad(usize, char),
    /// [`text::Replace`].
    Replace(Arc<text::Replace>),
    /// [`simplified::to_simplified`].
    Simplified,
    /// [`amount::to_unit`]; text that is not an amount is kept (a `type` check rejects it).
    Amount(amount::AmountUnit),
    /// [`company::company_name`].
    CompanyName,
    /// [`company::company_key`].
    CompanyKey,
    /// [`address::Divisions::normalize`].
    Address(Arc<address::Divisions>),
    /// [`coords::point_to_wgs84`]; text that is not a point is kept.
    Coords(coords::CoordSystem),
    /// [`pseudonym::PseudonymKey::pseudonym`].
    Pseudonym(Arc<pseudonym::PseudonymKey>),
    /// A month in any layout ([`date::parse_month`]) as `YYYY-MM`; text that is not a month
    /// is kept (a check rejects it).
    Month,
}

impl TextStep {
    /// The steps that take no argument (`null_tokens` takes the pipeline's tokens and
    /// `parse_date` ends a chain: see [`Chain`]).
    const PLAIN: [TextStep; 10] = [
        TextStep::NormalizeText,
        TextStep::Upper,
        TextStep::IdNumber,
        TextStep::Phone,
        TextStep::Trim,
        TextStep::Lower,
        TextStep::Simplified,
        TextStep::CompanyName,
        TextStep::CompanyKey,
        TextStep::Month,
    ];

    /// Rule-file names of the steps that take no argument.
    pub fn plain_names() -> Vec<String> {
        Self::PLAIN.iter().map(TextStep::name).collect()
    }

    /// The argument-free step called `name`.
    pub fn plain(name: &str) -> Option<TextStep> {
        Self::PLAIN.into_iter().find(|s| s.name() == name)
    }

    /// Name as written in rule files, with its argument where it has a short one (the key of
    /// change counts: `map:gb2261_1`, `amount:万元`).
    pub fn name(&self) -> String {
        match self {
            TextStep::NormalizeText => "normalize_text".into(),
            TextStep::NullTokens(_) => "null_tokens".into(),
            TextStep::Upper => "upper".into(),
            TextStep::IdNumber => "id_number".into(),
            TextStep::Phone => "phone".into(),
            TextStep::Map(t) => format!("map:{}", t.name()),
            TextStep::Mask(kind) => format!("mask:{}", kind.name()),
            TextStep::Trim => "trim".into(),
            TextStep::Lower => "lower".into(),
            TextStep::Pad(..) => "pad".into(),
            TextStep::Replace(_) => "replace".into(),
            TextStep::Simplified => "simplified".into(),
            TextStep::Amount(unit) => format!("amount:{}", unit.name()),
            TextStep::CompanyName => "company_name".into(),
            TextStep::CompanyKey => "company_key".into(),
            TextStep::Address(d) => format!("address:{}", d.table()),
            TextStep::Coords(from) => format!("coords:{}", from.name()),
            TextStep::Pseudonym(key) => format!("pseudonym:{}", key.id()),
            TextStep::Month => "month".into(),
        }
    }

    /// The step on one value (`None`: the value became null).
    pub fn apply<'a>(&self, s: &'a str) -> Option<Cow<'a, str>> {
        match self {
            TextStep::NormalizeText => Some(text::normalize_text(s)),
            TextStep::NullTokens(t) => (!t.is_null(s)).then_some(Cow::Borrowed(s)),
            TextStep::Upper => Some(if s.chars().any(char::is_lowercase) {
                Cow::Owned(s.to_uppercase())
            } else {
                Cow::Borrowed(s)
            }),
            TextStep::IdNumber => Some(id_card::normalize_id(s)),
            TextStep::Phone => phone::clean_phone(s),
            TextStep::Map(t) => Some(
                t.map(s)
                    .map_or(Cow::Borrowed(s), |c| Cow::Owned(c.to_owned())),
            ),
            TextStep::Mask(kind) => Some(Cow::Owned(kind.apply(s))),
            TextStep::Trim => Some(Cow::Borrowed(text::trim(s))),
            TextStep::Lower => Some(if s.chars().any(char::is_uppercase) {
                Cow::Owned(s.to_lowercase())
            } else {
                Cow::Borrowed(s)
            }),
            TextStep::Pad(width, fill) => Some(text::pad_left(s, *width, *fill)),
            TextStep::Replace(r) => Some(r.apply(s)),
            TextStep::Simplified => Some(simplified::to_simplified(s)),
            TextStep::Amount(unit) => Some(amount::to_unit(s, *unit).unwrap_or(Cow::Borrowed(s))),
            TextStep::CompanyName => Some(company::company_name(s)),
            TextStep::CompanyKey => Some(Cow::Owned(company::company_key(s))),
            TextStep::Address(d) => Some(d.normalize(s)),
            TextStep::Coords(from) => {
                Some(coords::point_to_wgs84(s, *from).map_or(Cow::Borrowed(s), Cow::Owned))
            }
            TextStep::Pseudonym(key) => Some(Cow::Owned(key.pseudonym(s))),
            TextStep::Month => Some(match date::parse_month(s) {
                Some(m) => Cow::Owned(m.format("%Y-%m").to_string()),
                None => Cow::Borrowed(s),
            }),
        }
    }
}

/// Text steps in order, optionally ending in `parse_date`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Chain {
    /// Text steps; step `j` reports its changes in bit `j`.
    pub steps: Vec<TextStep>,
    /// Whether the chain ends by parsing a date (bit `steps.len()`).
    pub parse_date: bool,
}

/// What a chain made of one column.
#[derive(Debug)]
pub struct ChainOutput {
    /// Cleaned values: `Utf8`, or `Date32` when the chain parses dates.
    pub values: ArrayRef,
    /// Per row, bit `j` set when step `j` changed the value (a null input changes nothing).
    pub changes: ArrayRef,
}

impl Chain {
    /// Runs the text steps on one value, setting a bit in `changes` per step that changed it.
    pub fn clean_text<'a>(&self, s: &'a str, changes: &mut i64) -> Option<Cow<'a, str>> {
        let mut current: Cow<'a, str> = Cow::Borrowed(s);
        for (j, step) in self.steps.iter().enumerate() {
            let replaced = match step.apply(current.as_ref()) {
                None => {
                    *changes |= 1 << j;
                    return None;
                }
                Some(Cow::Borrowed(b)) if std::ptr::eq(b, current.as_ref()) => None,
                Some(v) => {
                    if v.as_ref() != current.as_ref() {
                        *changes |= 1 << j;
                    }
                    Some(v.into_owned())
                }
            };
            if let Some(owned) = replaced {
                current = Cow::Owned(owned);
            }
        }
        Some(current)
    }

    /// The value after each step (and after `parse_date`, as `YYYY-MM-DD`), each from the
    /// chain's prefix run through [`Chain::apply`]: `explain` shows what `run` executes.
    pub fn trace(&self, value: &str) -> Vec<Option<String>> {
        let input = arrow::array::StringArray::from(vec![value]);
        let prefixes = (1..=self.steps.len())
            .map(|n| Chain {
                steps: self.steps[..n].to_vec(),
                parse_date: false,
            })
            .chain(self.parse_date.then(|| self.clone()));
        prefixes
            .map(|chain| {
                let out = chain.apply(&input).ok()?;
                let text =
                    arrow::compute::cast(&out.values, &arrow::datatypes::DataType::Utf8).ok()?;
                let text = text.as_any().downcast_ref::<arrow::array::StringArray>()?;
                text.is_valid(0).then(|| text.value(0).to_owned())
            })
            .collect()
    }

    /// Runs the chain over a string column (`Utf8`, `LargeUtf8` or `Utf8View`).
    pub fn apply(&self, array: &dyn Array) -> Result<ChainOutput> {
        with_strings!(array, |values| Ok(self.run(values)))
    }

    fn run<'a, A: ArrayAccessor<Item = &'a str>>(&self, values: A) -> ChainOutput {
        let n = values.len();
        let mut changes = Int64Builder::with_capacity(n);
        let date_bit = 1i64 << self.steps.len();
        if self.parse_date {
            let mut out = Date32Builder::with_capacity(n);
            for i in 0..n {
                let mut bits = 0;
                if values.is_valid(i) {
                    let raw = values.value(i);
                    let parsed = self
                        .clean_text(raw, &mut bits)
                        .and_then(|s| date::parse_date_days(&s).map(|d| (d, is_iso(&s))));
                    match parsed {
                        Some((days, iso)) => {
                            if !iso {
                                bits |= date_bit;
                            }
                            out.append_value(days);
                        }
                        None => {
                            // Unparseable text is a change (to null); a step's null is not.
                            if bits == 0 {
                                bits |= date_bit;
                            }
                            out.append_null();
                        }
                    }
                } else {
                    out.append_null();
                }
                changes.append_value(bits);
            }
            return ChainOutput {
                values: Arc::new(out.finish()),
                changes: Arc::new(changes.finish()),
            };
        }
        let mut out = StringBuilder::with_capacity(n, n * 16);
        for i in 0..n {
            let mut bits = 0;
            if values.is_valid(i) {
                out.append_option(self.clean_text(values.value(i), &mut bits));
            } else {
                out.append_null();
            }
            changes.append_value(bits);
        }
        ChainOutput {
            values: Arc::new(out.finish()),
            changes: Arc::new(changes.finish()),
        }
    }
}

/// `YYYY-MM-DD`: the form a date column shows, so parsing it changes nothing.
fn is_iso(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, StringArray, StringViewArray};
    use arrow::datatypes::Date32Type;

    fn id_chain() -> Chain {
        Chain {
            steps: vec![
                TextStep::NormalizeText,
                TextStep::NullTokens(Arc::new(NullTokens::default())),
                TextStep::IdNumber,
            ],
            parse_date: false,
        }
    }

    #[test]
    fn one_pass_with_a_bit_per_changing_step() {
        let input = StringViewArray::from(vec![
            Some("11010519491231002X"),
            Some("１１０１０５１９４９１２３１００２Ｘ"),
            Some("11010519491231002x"),
            Some(" 无 "),
            None,
        ]);
        let out = id_chain().apply(&input).expect("strings");
        let values = out.values.as_string::<i32>();
        assert_eq!(values.value(0), "11010519491231002X");
        assert_eq!(values.value(1), "11010519491231002X");
        assert_eq!(values.value(2), "11010519491231002X");
        assert!(values.is_null(3) && values.is_null(4));
        let bits = out
            .changes
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64");
        assert_eq!(bits.values().to_vec(), vec![0, 0b001, 0b100, 0b011, 0]);
    }

    #[test]
    fn trace_shows_each_prefix_of_the_chain() {
        let mut chain = id_chain();
        assert_eq!(
            chain.trace("１１０１０５４９１２３１００２"),
            vec![
                Some("110105491231002".to_owned()),
                Some("110105491231002".to_owned()),
                Some("11010519491231002X".to_owned()),
            ]
        );
        chain.steps.truncate(2);
        chain.parse_date = true;
        assert_eq!(
            chain.trace("2023年1月5日"),
            vec![
                Some("2023年1月5日".to_owned()),
                Some("2023年1月5日".to_owned()),
                Some("2023-01-05".to_owned()),
            ]
        );
        assert_eq!(chain.trace("无"), vec![Some("无".to_owned()), None, None]);
    }

    #[test]
    fn date_chain_marks_reformatted_and_unparseable_values() {
        let chain = Chain {
            steps: vec![
                TextStep::NormalizeText,
                TextStep::NullTokens(Arc::new(NullTokens::default())),
            ],
            parse_date: true,
        };
        let input = StringArray::from(vec![
            Some("2023-01-05"),
            Some("2023年1月5日"),
            Some("garbage"),
            Some("/"),
        ]);
        let out = chain.apply(&input).expect("strings");
        let days = out.values.as_primitive::<Date32Type>();
        assert_eq!(days.value(0), days.value(1));
        assert!(days.is_null(2) && days.is_null(3));
        let bits = out
            .changes
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64");
        assert_eq!(bits.values().to_vec(), vec![0, 0b100, 0b100, 0b010]);
    }
}

#[cfg(test)]
mod total {
    //! Every text step is total: any string in, a value or null out, never a panic.

    use proptest::prelude::*;

    use super::*;
    use crate::code_table::{CodeEntry, CodeTable};

    fn all_steps() -> Vec<TextStep> {
        let regions = CodeTable::new(
            "gb2260",
            [
                ("330000", "浙江省"),
                ("330100", "浙江省杭州市"),
                ("330106", "浙江省西湖区"),
            ]
            .map(|(code, name)| CodeEntry {
                code: code.into(),
                name: name.into(),
                aliases: vec![],
                valid_to: None,
            }),
        );
        let mut steps = vec![
            TextStep::NormalizeText,
            TextStep::Upper,
            TextStep::Lower,
            TextStep::Trim,
            TextStep::IdNumber,
            TextStep::Phone,
            TextStep::Pad(6, '0'),
            TextStep::Simplified,
            TextStep::CompanyName,
            TextStep::CompanyKey,
            TextStep::Address(Arc::new(crate::address::Divisions::new(&regions))),
            TextStep::Mask(mask::MaskKind::Name),
            TextStep::Mask(mask::MaskKind::Address),
        ];
        steps.extend(
            [
                amount::AmountUnit::Yuan,
                amount::AmountUnit::TenThousand,
                amount::AmountUnit::HundredMillion,
            ]
            .map(TextStep::Amount),
        );
        steps.extend([coords::CoordSystem::Gcj02, coords::CoordSystem::Bd09].map(TextStep::Coords));
        if let Ok(r) = text::Replace::new("[0-9]+", "#") {
            steps.push(TextStep::Replace(Arc::new(r)));
        }
        if let Some(k) = pseudonym::PseudonymKey::new("k", b"0123456789abcdef".to_vec()) {
            steps.push(TextStep::Pseudonym(Arc::new(k)));
        }
        steps
    }

    proptest! {
        #[test]
        fn no_step_panics(s in "\\PC*|[0-9.,，万元亿千¥\u{FFE5}人民币\\- ]*|[浙江省杭州市西湖区 ()（）【】有限责任公司*]*") {
            for step in all_steps() {
                let _ = step.apply(&s);
            }
        }

        #[test]
        fn display_forms_are_stable(s in "\\PC*|[ ()（）【】有限责任公司注销已*a-zA-Z]*") {
            let once = crate::company::company_name(&s).into_owned();
            prop_assert_eq!(crate::company::company_name(&once).into_owned(), once.clone());
            let simple = crate::simplified::to_simplified(&s).into_owned();
            prop_assert_eq!(crate::simplified::to_simplified(&simple).into_owned(), simple);
        }
    }
}

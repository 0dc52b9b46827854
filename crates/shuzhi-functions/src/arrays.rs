//! Column-wise drivers: apply a per-value kernel to any Arrow string array
//! (`Utf8`, `LargeUtf8`, `Utf8View`) without materialising rows.

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::{Array, ArrayAccessor, ArrayRef, BooleanBuilder, Date32Builder, StringBuilder};
use arrow::datatypes::DataType;

/// Errors from calling a kernel on an array it cannot take.
#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    /// The array is not one of the string types.
    #[error("expected a string array (Utf8, LargeUtf8 or Utf8View), got {0}")]
    NotAString(DataType),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, FunctionError>;

/// Evaluates `$body` with `$acc` bound to a typed accessor for any of the three Arrow string
/// layouts, or returns [`FunctionError::NotAString`].
macro_rules! with_strings {
    ($array:expr, |$acc:ident| $body:expr) => {
        match $array.data_type() {
            ::arrow::datatypes::DataType::Utf8 => {
                let $acc = ::arrow::array::AsArray::as_string::<i32>($array);
                $body
            }
            ::arrow::datatypes::DataType::LargeUtf8 => {
                let $acc = ::arrow::array::AsArray::as_string::<i64>($array);
                $body
            }
            ::arrow::datatypes::DataType::Utf8View => {
                let $acc = ::arrow::array::AsArray::as_string_view($array);
                $body
            }
            other => Err($crate::arrays::FunctionError::NotAString(other.clone())),
        }
    };
}
pub(crate) use with_strings;

/// A stable bucket in `0..buckets` for every non-null string (FNV-1a of its bytes), for
/// grouping equal values cheaply; null stays null. The output is `Int64`.
pub fn hash_buckets(array: &dyn Array, buckets: u64) -> Result<ArrayRef> {
    with_strings!(array, |values| {
        let out: arrow::array::Int64Array = (0..values.len())
            .map(|i| {
                values.is_valid(i).then(|| {
                    let hash = values
                        .value(i)
                        .bytes()
                        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                        });
                    (hash % buckets.max(1)) as i64
                })
            })
            .collect();
        Ok(Arc::new(out) as ArrayRef)
    })
}

fn value_bytes_hint(array: &dyn Array) -> usize {
    array.get_buffer_memory_size().min(1 << 26)
}

/// Maps every non-null string through `f`; `None` from `f` makes the value null.
/// The output is always `Utf8`.
pub fn map_strings<F>(array: &dyn Array, f: F) -> Result<ArrayRef>
where
    F: Fn(&str) -> Option<Cow<'_, str>>,
{
    fn run<'a, A, F>(values: A, len: usize, bytes: usize, f: F) -> ArrayRef
    where
        A: ArrayAccessor<Item = &'a str>,
        F: Fn(&str) -> Option<Cow<'_, str>>,
    {
        let mut out = StringBuilder::with_capacity(len, bytes);
        for i in 0..len {
            if values.is_null(i) {
                out.append_null();
                continue;
            }
            match f(values.value(i)) {
                Some(v) => out.append_value(v),
                None => out.append_null(),
            }
        }
        Arc::new(out.finish())
    }
    let len = array.len();
    let bytes = value_bytes_hint(array);
    with_strings!(array, |acc| Ok(run(acc, len, bytes, &f)))
}

/// Evaluates a predicate on every string; null stays null.
pub fn test_strings<F>(array: &dyn Array, f: F) -> Result<ArrayRef>
where
    F: Fn(&str) -> bool,
{
    fn run<'a, A, F>(values: A, len: usize, f: F) -> ArrayRef
    where
        A: ArrayAccessor<Item = &'a str>,
        F: Fn(&str) -> bool,
    {
        let mut out = BooleanBuilder::with_capacity(len);
        for i in 0..len {
            if values.is_null(i) {
                out.append_null();
            } else {
                out.append_value(f(values.value(i)));
            }
        }
        Arc::new(out.finish())
    }
    let len = array.len();
    with_strings!(array, |acc| Ok(run(acc, len, &f)))
}

/// Maps every string to a date (days since 1970-01-01); `None` makes the value null.
pub fn strings_to_dates<F>(array: &dyn Array, f: F) -> Result<ArrayRef>
where
    F: Fn(&str) -> Option<i32>,
{
    fn run<'a, A, F>(values: A, len: usize, f: F) -> ArrayRef
    where
        A: ArrayAccessor<Item = &'a str>,
        F: Fn(&str) -> Option<i32>,
    {
        let mut out = Date32Builder::with_capacity(len);
        for i in 0..len {
            if values.is_null(i) {
                out.append_null();
            } else {
                out.append_option(f(values.value(i)));
            }
        }
        Arc::new(out.finish())
    }
    let len = array.len();
    with_strings!(array, |acc| Ok(run(acc, len, &f)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, LargeStringArray, StringArray, StringViewArray};

    #[test]
    fn equal_values_share_a_bucket_and_layouts_agree() {
        let values = ["a/2026-07", "b/2026-07", "a/2026-07"];
        let utf8 = hash_buckets(&StringArray::from(values.to_vec()), 4096).expect("buckets");
        let view = hash_buckets(&StringViewArray::from(values.to_vec()), 4096).expect("buckets");
        let b = utf8.as_primitive::<arrow::datatypes::Int64Type>();
        assert_eq!(b.value(0), b.value(2));
        assert!((0..4096).contains(&b.value(1)));
        assert_eq!(&utf8, &view);
        let nulls = hash_buckets(&StringArray::from(vec![None::<&str>]), 16).expect("buckets");
        assert!(nulls.is_null(0));
    }

    fn upper(s: &str) -> Option<Cow<'_, str>> {
        if s.is_empty() {
            None
        } else {
            Some(Cow::Owned(s.to_uppercase()))
        }
    }

    #[test]
    fn all_three_string_layouts_give_the_same_result() {
        let values = [Some("ab"), None, Some(""), Some("x")];
        let a: ArrayRef = Arc::new(StringArray::from(values.to_vec()));
        let b: ArrayRef = Arc::new(LargeStringArray::from(values.to_vec()));
        let c: ArrayRef = Arc::new(StringViewArray::from(values.to_vec()));
        let expected = StringArray::from(vec![Some("AB"), None, None, Some("X")]);
        for array in [a, b, c] {
            let out = map_strings(array.as_ref(), upper).expect("string input");
            assert_eq!(out.as_string::<i32>(), &expected);
        }
    }

    #[test]
    fn non_string_input_is_an_error_not_a_panic() {
        let ints: ArrayRef = Arc::new(arrow::array::Int32Array::from(vec![1]));
        let err = map_strings(ints.as_ref(), upper).expect_err("ints are not strings");
        assert!(err.to_string().contains("Int32"));
    }
}

//! Our kernels as DataFusion scalar UDFs. Parameters (null tokens, code tables) live in the
//! UDF value so that two differently parameterised calls never compare equal.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use shuzhi_functions::code_table::CodeTable;
use shuzhi_functions::text::NullTokens;
use shuzhi_functions::{arrays, date, id_card, phone, text};

/// A kernel and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `normalize_text(s)`.
    NormalizeText,
    /// `null_tokens(s)`: placeholders → null.
    NullTokens(Arc<NullTokens>),
    /// `normalize_id(s)`: canonical ID, 15 → 18.
    NormalizeId,
    /// `clean_phone(s)`.
    CleanPhone,
    /// `parse_date(s)` → Date32.
    ParseDate,
    /// `map_code(s)` through a code table; unknown values pass unchanged.
    MapCode(Arc<CodeTable>),
    /// `in_code_table(s)` → bool.
    InCodeTable(Arc<CodeTable>),
    /// `is_gb11643(id)` → bool.
    IsGb11643,
    /// `is_phone(s)` → bool.
    IsPhone,
    /// `id_gender(id)` → GB/T 2261.1 code.
    IdGender,
    /// `id_birth_date(id)` → Date32.
    IdBirthDate,
    /// `id_region(id)` → GB/T 2260 code.
    IdRegion,
}

impl Kernel {
    /// SQL name.
    pub fn name(&self) -> String {
        match self {
            Kernel::NormalizeText => "normalize_text".into(),
            Kernel::NullTokens(_) => "null_tokens".into(),
            Kernel::NormalizeId => "normalize_id".into(),
            Kernel::CleanPhone => "clean_phone".into(),
            Kernel::ParseDate => "parse_date".into(),
            Kernel::MapCode(t) => format!("map_{}", t.name()),
            Kernel::InCodeTable(t) => format!("in_{}", t.name()),
            Kernel::IsGb11643 => "is_gb11643".into(),
            Kernel::IsPhone => "is_phone".into(),
            Kernel::IdGender => "id_gender".into(),
            Kernel::IdBirthDate => "id_birth_date".into(),
            Kernel::IdRegion => "id_region".into(),
        }
    }

    fn return_type(&self) -> DataType {
        match self {
            Kernel::ParseDate | Kernel::IdBirthDate => DataType::Date32,
            Kernel::InCodeTable(_) | Kernel::IsGb11643 | Kernel::IsPhone => DataType::Boolean,
            _ => DataType::Utf8,
        }
    }

    fn apply(&self, input: &ArrayRef) -> shuzhi_functions::Result<ArrayRef> {
        use std::borrow::Cow;
        let a = input.as_ref();
        match self {
            Kernel::NormalizeText => arrays::map_strings(a, |s| Some(text::normalize_text(s))),
            Kernel::NullTokens(t) => {
                arrays::map_strings(a, |s| (!t.is_null(s)).then_some(Cow::Borrowed(s)))
            }
            Kernel::NormalizeId => arrays::map_strings(a, |s| Some(id_card::normalize_id(s))),
            Kernel::CleanPhone => arrays::map_strings(a, phone::clean_phone),
            Kernel::ParseDate => arrays::strings_to_dates(a, date::parse_date_days),
            Kernel::MapCode(t) => arrays::map_strings(a, |s| {
                Some(
                    t.map(s)
                        .map_or(Cow::Borrowed(s), |c| Cow::Owned(c.to_owned())),
                )
            }),
            Kernel::InCodeTable(t) => arrays::test_strings(a, |s| t.contains(s)),
            Kernel::IsGb11643 => arrays::test_strings(a, id_card::is_valid),
            Kernel::IsPhone => arrays::test_strings(a, phone::is_valid_phone),
            Kernel::IdGender => {
                arrays::map_strings(a, |s| id_card::gender_code(s).map(Cow::Borrowed))
            }
            Kernel::IdBirthDate => arrays::strings_to_dates(a, id_card::birth_date_days),
            Kernel::IdRegion => {
                arrays::map_strings(a, |s| id_card::region_code(s).map(Cow::Borrowed))
            }
        }
    }
}

/// A [`Kernel`] as a one-argument string UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KernelUdf {
    name: String,
    kernel: Kernel,
    signature: Signature,
}

impl KernelUdf {
    /// Wraps a kernel.
    pub fn new(kernel: Kernel) -> Self {
        Self {
            name: kernel.name(),
            kernel,
            signature: Signature::string(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for KernelUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.kernel.return_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(input) = arrays.first() else {
            return datafusion::common::exec_err!("{} takes one argument", self.name);
        };
        let out = self
            .kernel
            .apply(input)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let scalar_input = matches!(args.args.first(), Some(ColumnarValue::Scalar(_)));
        if scalar_input {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&out, 0)?,
            ))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// A UDF for a kernel.
pub fn udf(kernel: Kernel) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(KernelUdf::new(kernel)))
}

/// The parameterless kernels that rule expressions may call by name.
pub fn named_udfs() -> Vec<Arc<ScalarUDF>> {
    [
        Kernel::NormalizeText,
        Kernel::NormalizeId,
        Kernel::CleanPhone,
        Kernel::ParseDate,
        Kernel::IsGb11643,
        Kernel::IsPhone,
        Kernel::IdGender,
        Kernel::IdBirthDate,
        Kernel::IdRegion,
    ]
    .into_iter()
    .map(udf)
    .collect()
}

//! Our kernels as DataFusion scalar UDFs. Parameters (null tokens, code tables) live in the
//! UDF value so that two differently parameterised calls never compare equal.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use shuzhi_functions::chain::Chain;
use shuzhi_functions::code_table::CodeTable;
use shuzhi_functions::keyword::Keyword;
use shuzhi_functions::{
    arrays, company, coords, credit_code, date, id_card, iso7064, person_ids, phone, text,
};

/// A kernel and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// `normalize_text(s)`.
    NormalizeText,
    /// `normalize_id(s)`: canonical ID, 15 → 18.
    NormalizeId,
    /// `clean_phone(s)`.
    CleanPhone,
    /// `parse_date(s)` → Date32.
    ParseDate,
    /// `in_code_table(s)` → bool.
    InCodeTable(Arc<CodeTable>),
    /// `is_gb11643(id)` → bool.
    IsGb11643,
    /// `id_region_in_use(id)` → bool: the region code was in use at the birth year.
    IdRegionInUse(Arc<CodeTable>),
    /// `is_phone(s)` → bool.
    IsPhone,
    /// `id_gender(id)` → GB/T 2261.1 code.
    IdGender,
    /// `id_birth_date(id)` → Date32.
    IdBirthDate,
    /// `id_region(id)` → GB/T 2260 code.
    IdRegion,
    /// `is_uscc(code)`: GB 32100 check character.
    IsUscc,
    /// `is_org_code(code)`: GB 11714 check character.
    IsOrgCode,
    /// `is_gs15(number)`: GS15-2006 registration number.
    IsGs15,
    /// `is_elicence_id(id)`: GB/T 36904 e-licence identifier.
    IsElicenceId,
    /// `is_hkid(id)`: Hong Kong identity card.
    IsHkid,
    /// `is_taiwan_id(id)`: Taiwan national ID.
    IsTaiwanId,
    /// `passes_luhn(digits)`: bank card check digit.
    PassesLuhn,
    /// `id_kind(id)`: `resident`, `hmt_residence_permit`, `foreign_permanent`, `hkid`, ...
    IdKind,
    /// `company_key(name)`: the matching key of a company name.
    CompanyKey,
    /// `gcj02_to_wgs84('lng,lat')` / `bd09_to_wgs84('lng,lat')`: a point in WGS84.
    PointToWgs84(coords::CoordSystem),
}

impl Kernel {
    /// SQL name.
    pub fn name(&self) -> String {
        match self {
            Kernel::NormalizeText => "normalize_text".into(),
            Kernel::NormalizeId => "normalize_id".into(),
            Kernel::CleanPhone => "clean_phone".into(),
            Kernel::ParseDate => "parse_date".into(),
            Kernel::InCodeTable(t) => format!("in_{}", t.name()),
            Kernel::IsGb11643 => "is_gb11643".into(),
            Kernel::IdRegionInUse(_) => "id_region_in_use".into(),
            Kernel::IsPhone => "is_phone".into(),
            Kernel::IdGender => "id_gender".into(),
            Kernel::IdBirthDate => "id_birth_date".into(),
            Kernel::IdRegion => "id_region".into(),
            Kernel::IsUscc => "is_uscc".into(),
            Kernel::IsOrgCode => "is_org_code".into(),
            Kernel::IsGs15 => "is_gs15".into(),
            Kernel::IsElicenceId => "is_elicence_id".into(),
            Kernel::IsHkid => "is_hkid".into(),
            Kernel::IsTaiwanId => "is_taiwan_id".into(),
            Kernel::PassesLuhn => "passes_luhn".into(),
            Kernel::IdKind => "id_kind".into(),
            Kernel::CompanyKey => "company_key".into(),
            Kernel::PointToWgs84(from) => format!("{}_to_wgs84", from.name()),
        }
    }

    fn return_type(&self) -> DataType {
        match self {
            Kernel::ParseDate | Kernel::IdBirthDate => DataType::Date32,
            Kernel::InCodeTable(_)
            | Kernel::IdRegionInUse(_)
            | Kernel::IsGb11643
            | Kernel::IsPhone
            | Kernel::IsUscc
            | Kernel::IsOrgCode
            | Kernel::IsGs15
            | Kernel::IsElicenceId
            | Kernel::IsHkid
            | Kernel::IsTaiwanId
            | Kernel::PassesLuhn => DataType::Boolean,
            _ => DataType::Utf8,
        }
    }

    fn apply(&self, input: &ArrayRef) -> shuzhi_functions::Result<ArrayRef> {
        use std::borrow::Cow;
        let a = input.as_ref();
        match self {
            Kernel::NormalizeText => arrays::map_strings(a, |s| Some(text::normalize_text(s))),
            Kernel::NormalizeId => arrays::map_strings(a, |s| Some(id_card::normalize_id(s))),
            Kernel::CleanPhone => arrays::map_strings(a, phone::clean_phone),
            Kernel::ParseDate => arrays::strings_to_dates(a, date::parse_date_days),
            Kernel::InCodeTable(t) => arrays::test_strings(a, |s| t.contains(s)),
            Kernel::IsGb11643 => arrays::test_strings(a, id_card::is_valid),
            Kernel::IdRegionInUse(t) => arrays::test_strings(a, |s| {
                // Residence permits and foreigners' cards carry no GB/T 2260 county.
                if person_ids::classify(s) != Some(person_ids::PersonIdKind::Resident) {
                    return true;
                }
                match (id_card::region_code(s), id_card::birth_date(s)) {
                    (Some(region), Some(born)) => {
                        t.in_use_since(region, chrono::Datelike::year(&born))
                    }
                    _ => false,
                }
            }),
            Kernel::IsPhone => arrays::test_strings(a, phone::is_valid_phone),
            Kernel::IdGender => {
                arrays::map_strings(a, |s| id_card::gender_code(s).map(Cow::Borrowed))
            }
            Kernel::IdBirthDate => arrays::strings_to_dates(a, id_card::birth_date_days),
            Kernel::IdRegion => {
                arrays::map_strings(a, |s| id_card::region_code(s).map(Cow::Borrowed))
            }
            Kernel::IsUscc => arrays::test_strings(a, credit_code::is_valid_uscc),
            Kernel::IsOrgCode => arrays::test_strings(a, credit_code::is_valid_org_code),
            Kernel::IsGs15 => arrays::test_strings(a, iso7064::is_valid_gs15),
            Kernel::IsElicenceId => arrays::test_strings(a, iso7064::is_valid_elicence_id),
            Kernel::IsHkid => arrays::test_strings(a, person_ids::is_valid_hkid),
            Kernel::IsTaiwanId => arrays::test_strings(a, person_ids::is_valid_taiwan_id),
            Kernel::PassesLuhn => arrays::test_strings(a, person_ids::passes_luhn),
            Kernel::IdKind => arrays::map_strings(a, |s| {
                person_ids::classify(s).map(|k| Cow::Borrowed(k.name()))
            }),
            Kernel::CompanyKey => {
                arrays::map_strings(a, |s| Some(Cow::Owned(company::company_key(s))))
            }
            Kernel::PointToWgs84(from) => {
                arrays::map_strings(a, |s| coords::point_to_wgs84(s, *from).map(Cow::Owned))
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
        like_input(&args.args, out)
    }
}

/// A field's fused clean steps: returns `{value, changes}` (see [`Chain`]).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChainUdf {
    name: String,
    chain: Chain,
    signature: Signature,
}

impl ChainUdf {
    /// The chain of `field`.
    pub fn new(field: &str, chain: Chain) -> Self {
        Self {
            name: format!("clean_{field}"),
            chain,
            signature: Signature::string(1, Volatility::Immutable),
        }
    }

    fn fields(&self) -> arrow::datatypes::Fields {
        let value = if self.chain.parse_date {
            DataType::Date32
        } else {
            DataType::Utf8
        };
        arrow::datatypes::Fields::from(vec![
            arrow::datatypes::Field::new(CHAIN_VALUE, value, true),
            arrow::datatypes::Field::new(CHAIN_CHANGES, DataType::Int64, false),
        ])
    }
}

/// Struct field of a chain's output holding the cleaned value.
pub const CHAIN_VALUE: &str = "value";
/// Struct field of a chain's output holding the change bits.
pub const CHAIN_CHANGES: &str = "changes";

impl ScalarUDFImpl for ChainUdf {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(input) = arrays.first() else {
            return datafusion::common::exec_err!("{} takes one argument", self.name);
        };
        let out = self
            .chain
            .apply(input.as_ref())
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let array: ArrayRef = Arc::new(arrow::array::StructArray::try_new(
            self.fields(),
            vec![out.values, out.changes],
            None,
        )?);
        like_input(&args.args, array)
    }
}

/// Takes one child of a [`ChainUdf`] result. DataFusion's `get_field` is not used because the
/// optimizer moves it towards the scan, inlining (and so repeating) the chain for every field
/// taken.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ChainPart {
    name: String,
    child: usize,
    output: DataType,
    signature: Signature,
}

impl ChainPart {
    /// The cleaned value (`date`: whether the chain parses dates).
    pub fn value(date: bool) -> Self {
        let output = if date {
            DataType::Date32
        } else {
            DataType::Utf8
        };
        Self::new(CHAIN_VALUE, 0, output)
    }

    /// The change bits.
    pub fn changes() -> Self {
        Self::new(CHAIN_CHANGES, 1, DataType::Int64)
    }

    fn new(part: &str, child: usize, output: DataType) -> Self {
        Self {
            name: format!("chain_{part}"),
            child,
            output,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for ChainPart {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let part = arrays
            .first()
            .and_then(|a| a.as_any().downcast_ref::<arrow::array::StructArray>())
            .map(|s| s.column(self.child).clone());
        match part {
            Some(array) => Ok(ColumnarValue::Array(array)),
            None => datafusion::common::exec_err!("{} takes a clean chain result", self.name),
        }
    }
}

/// `key_bucket(text)`: a stable bucket of a value (see [`arrays::hash_buckets`]), so that a
/// window can group equal values in few partitions instead of one per value.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct KeyBucketUdf {
    signature: Signature,
}

/// Buckets of [`KeyBucketUdf`].
const KEY_BUCKETS: u64 = 4096;

impl ScalarUDFImpl for KeyBucketUdf {
    fn name(&self) -> &str {
        "key_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let Some(input) = arrays.first() else {
            return datafusion::common::exec_err!("key_bucket takes one argument");
        };
        let out = arrays::hash_buckets(input.as_ref(), KEY_BUCKETS)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        like_input(&args.args, out)
    }
}

/// The [`KeyBucketUdf`].
pub fn key_bucket() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(KeyBucketUdf {
        signature: Signature::string(1, Volatility::Immutable),
    }))
}

/// `array` as a scalar when the call's argument was a scalar (a literal), else as an array.
fn like_input(args: &[ColumnarValue], array: ArrayRef) -> Result<ColumnarValue> {
    if matches!(args.first(), Some(ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(
            datafusion::common::ScalarValue::try_from_array(&array, 0)?,
        ))
    } else {
        Ok(ColumnarValue::Array(array))
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
        Kernel::IsUscc,
        Kernel::IsOrgCode,
        Kernel::IsGs15,
        Kernel::IsElicenceId,
        Kernel::IsHkid,
        Kernel::IsTaiwanId,
        Kernel::PassesLuhn,
        Kernel::IdKind,
        Kernel::CompanyKey,
        Kernel::PointToWgs84(coords::CoordSystem::Gcj02),
        Kernel::PointToWgs84(coords::CoordSystem::Bd09),
    ]
    .into_iter()
    .map(udf)
    .collect()
}

#[cfg(test)]
mod tests {
    use arrow::util::display::{ArrayFormatter, FormatOptions};

    use crate::{EngineConfig, session};

    #[tokio::test]
    async fn named_kernels_are_callable_from_sql_on_every_string_layout() {
        let ctx = session(&EngineConfig::default()).expect("session");
        let sql = "SELECT is_uscc('91110000600037341L'), is_org_code('60003734-1'), \
                   is_hkid('A123456(3)'), is_taiwan_id('A123456789'), passes_luhn('4012888888881881'), \
                   is_gs15('110108000000016'), id_gender('11010519491231002X'), \
                   normalize_id(arrow_cast('310112850409522', 'Utf8View')), \
                   id_birth_date(arrow_cast('440524188001010014', 'LargeUtf8')), \
                   is_gb11643(v) FROM (VALUES ('11010120000101001X'), (NULL)) AS t(v)";
        let batches = ctx
            .sql(sql)
            .await
            .expect("plans")
            .collect()
            .await
            .expect("runs");
        let batch = &batches[0];
        let options = FormatOptions::default().with_null("∅");
        let row = |i: usize| -> Vec<String> {
            batch
                .columns()
                .iter()
                .map(|c| {
                    ArrayFormatter::try_new(c.as_ref(), &options)
                        .expect("fmt")
                        .value(i)
                        .to_string()
                })
                .collect()
        };
        let expected = |last: &str| {
            let mut v: Vec<String> = [
                "true",
                "true",
                "true",
                "true",
                "true",
                "true",
                "2",
                "310112198504095227",
                "1880-01-01",
            ]
            .map(String::from)
            .to_vec();
            v.push(last.into());
            v
        };
        assert_eq!(row(0), expected("false"));
        assert_eq!(row(1), expected("∅"));
    }
}

//! What topic SQL needs beyond DataFusion's functions: months (a month is the `Date32` of its
//! first day), month arithmetic, age at a date, and evidence values.
//!
//! - `month_of(x)`: the month of a date or of text (`202607`, `2026-07`, `2026年7月`, a date);
//! - `add_months(month_or_date, n)`: `n` months later (the day clamped to the month's end);
//! - `months_between(a, b)`: whole calendar months from `a`'s month to `b`'s (negative before);
//! - `age_at(birth, date)`: whole years;
//! - `evidence(library, key, file, line)`: one evidence row, `{library, key, file, line}`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, StructArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Date32Type, Field, Fields};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use shuzhi_functions::date::{age_at, date_days, days_date, month_number, parse_month};

/// The calendar and evidence functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum CalendarFn {
    MonthOf,
    AddMonths,
    MonthsBetween,
    AgeAt,
    Evidence,
}

impl CalendarFn {
    const ALL: [CalendarFn; 5] = [
        CalendarFn::MonthOf,
        CalendarFn::AddMonths,
        CalendarFn::MonthsBetween,
        CalendarFn::AgeAt,
        CalendarFn::Evidence,
    ];

    fn name(self) -> &'static str {
        match self {
            CalendarFn::MonthOf => "month_of",
            CalendarFn::AddMonths => "add_months",
            CalendarFn::MonthsBetween => "months_between",
            CalendarFn::AgeAt => "age_at",
            CalendarFn::Evidence => "evidence",
        }
    }

    fn signature(self) -> Signature {
        use DataType::{Date32, Int32, Int64, LargeUtf8, Utf8, Utf8View};
        let exact = |types: &[&[DataType]]| {
            Signature::one_of(
                types
                    .iter()
                    .map(|t| TypeSignature::Exact(t.to_vec()))
                    .collect(),
                Volatility::Immutable,
            )
        };
        match self {
            CalendarFn::MonthOf => exact(&[&[Utf8], &[Utf8View], &[LargeUtf8], &[Date32]]),
            CalendarFn::AddMonths => exact(&[&[Date32, Int64], &[Date32, Int32]]),
            CalendarFn::MonthsBetween | CalendarFn::AgeAt => exact(&[&[Date32, Date32]]),
            CalendarFn::Evidence => Signature::any(4, Volatility::Immutable),
        }
    }

    fn return_type(self) -> DataType {
        match self {
            CalendarFn::MonthOf | CalendarFn::AddMonths => DataType::Date32,
            CalendarFn::MonthsBetween | CalendarFn::AgeAt => DataType::Int64,
            CalendarFn::Evidence => DataType::Struct(evidence_fields()),
        }
    }

    fn apply(self, args: &[ArrayRef]) -> Result<ArrayRef> {
        let date = |i: usize| -> Result<Date32Array> {
            match args.get(i) {
                Some(a) => Ok(cast(a, &DataType::Date32)?
                    .as_primitive::<Date32Type>()
                    .clone()),
                None => exec_err!("{} takes {} arguments", self.name(), i + 1),
            }
        };
        Ok(match self {
            CalendarFn::MonthOf => month_of(&args[0])?,
            CalendarFn::AddMonths => {
                let (dates, n) = (date(0)?, cast(&args[1], &DataType::Int64)?);
                let n = n.as_primitive::<arrow::datatypes::Int64Type>();
                let out: Date32Array = dates
                    .iter()
                    .zip(n.iter())
                    .map(|(d, n)| add_months(d?, n?))
                    .collect();
                Arc::new(out)
            }
            CalendarFn::MonthsBetween | CalendarFn::AgeAt => {
                let (a, b) = (date(0)?, date(1)?);
                let out: Int64Array = a
                    .iter()
                    .zip(b.iter())
                    .map(|(a, b)| {
                        let (a, b) = (days_date(a?)?, days_date(b?)?);
                        Some(match self {
                            CalendarFn::AgeAt => age_at(a, b),
                            _ => month_number(b) - month_number(a),
                        })
                    })
                    .collect();
                Arc::new(out)
            }
            CalendarFn::Evidence => evidence(args)?,
        })
    }
}

fn month_of(a: &ArrayRef) -> Result<ArrayRef> {
    if a.data_type() == &DataType::Date32 {
        let out: Date32Array = a
            .as_primitive::<Date32Type>()
            .iter()
            .map(|d| {
                days_date(d?)
                    .and_then(|d| chrono::Datelike::with_day(&d, 1))
                    .map(date_days)
            })
            .collect();
        return Ok(Arc::new(out));
    }
    shuzhi_functions::arrays::strings_to_dates(a.as_ref(), |s| parse_month(s).map(date_days))
        .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))
}

fn add_months(days: i32, n: i64) -> Option<i32> {
    let d = days_date(days)?;
    let months = chrono::Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    let moved = match n >= 0 {
        true => d.checked_add_months(months),
        false => d.checked_sub_months(months),
    };
    moved.map(date_days)
}

/// The fields of an evidence value.
pub fn evidence_fields() -> Fields {
    Fields::from(vec![
        Field::new("library", DataType::Utf8, true),
        Field::new("key", DataType::Utf8, true),
        Field::new("file", DataType::Utf8, true),
        Field::new("line", DataType::Int64, true),
    ])
}

fn evidence(args: &[ArrayRef]) -> Result<ArrayRef> {
    let types = [
        DataType::Utf8,
        DataType::Utf8,
        DataType::Utf8,
        DataType::Int64,
    ];
    let columns = args
        .iter()
        .zip(types)
        .map(|(a, t)| cast(a, &t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if columns.len() != 4 {
        return exec_err!("evidence takes library, key, file and line");
    }
    Ok(Arc::new(StructArray::try_new(
        evidence_fields(),
        columns,
        None,
    )?))
}

/// A calendar function as a UDF.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CalendarUdf {
    function: CalendarFn,
    signature: Signature,
}

impl ScalarUDFImpl for CalendarUdf {
    fn name(&self) -> &str {
        self.function.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.function.return_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args
            .args
            .iter()
            .all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let out = self.function.apply(&arrays)?;
        if scalar {
            Ok(ColumnarValue::Scalar(
                datafusion::common::ScalarValue::try_from_array(&out, 0)?,
            ))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

/// Every calendar and evidence function, for the session.
pub fn calendar_udfs() -> Vec<Arc<ScalarUDF>> {
    CalendarFn::ALL
        .into_iter()
        .map(|function| {
            Arc::new(ScalarUDF::from(CalendarUdf {
                function,
                signature: function.signature(),
            }))
        })
        .collect()
}

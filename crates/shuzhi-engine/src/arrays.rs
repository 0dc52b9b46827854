//! Small helpers on Arrow arrays shared by the sink and the dedup marker.

use arrow::array::{Array, BooleanArray};
use arrow::compute::prep_null_mask_filter;

/// A filter mask with nulls read as false.
pub(crate) fn null_as_false(b: &BooleanArray) -> BooleanArray {
    if b.null_count() > 0 {
        prep_null_mask_filter(b)
    } else {
        b.clone()
    }
}

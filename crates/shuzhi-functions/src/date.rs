//! Dates as departments write them (domain.md §4.3): ISO, slashes, dots, 年月日, 8 digits,
//! Excel serials and Java/Oracle timestamps with a zero time.

use chrono::{Datelike, NaiveDate};

/// `NaiveDate::num_days_from_ce` of 1970-01-01, to turn dates into Arrow `Date32` days.
pub const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Plausible years for a date in a government record.
const YEARS: std::ops::RangeInclusive<i32> = 1880..=2100;

fn ymd(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    if !YEARS.contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, day)
}

/// Excel serial in the 1900 system: 1 = 1900-01-01, 60 = the fictitious 1900-02-29 (no date),
/// and from 61 on `1899-12-30 + n`.
pub fn excel_serial_1900(n: i64) -> Option<NaiveDate> {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    match n {
        1..=59 => base.checked_add_days(chrono::Days::new(n as u64 + 1)),
        61..=2_958_465 => base.checked_add_days(chrono::Days::new(n as u64)),
        _ => None,
    }
}

/// Seconds since the Unix epoch as a calendar date in Asia/Shanghai (UTC+8): a UTC reading
/// would shift early-morning events to the previous day.
pub fn epoch_date(seconds: i64) -> Option<NaiveDate> {
    let shanghai = chrono::FixedOffset::east_opt(8 * 3600)?;
    let d = chrono::DateTime::from_timestamp(seconds, 0)?
        .with_timezone(&shanghai)
        .date_naive();
    YEARS.contains(&d.year()).then_some(d)
}

fn split_numbers(s: &str) -> Option<[u32; 3]> {
    let mut parts = s
        .split(['-', '/', '.', ' ', '年', '月', '日'])
        .filter(|p| !p.is_empty());
    let mut out = [0u32; 3];
    for slot in &mut out {
        let p = parts.next()?;
        if p.len() > 4 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// Parses a date in any of the formats departments use; `None` when it is not a real date or
/// is ambiguous. A time of day after the date is dropped (`2025-04-10 15:52:33`: the date as
/// written, whatever the offset). Placeholder dates (`1900-01-01`, `1970-01-01`) are dates
/// here: a field declares its own placeholders with a check, so that one is a finding and a
/// person really born on 1 January 1970 keeps the date.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let s = match s.find(['T', ' ']) {
        Some(i) if is_time_of_day(&s[i + 1..]) => &s[..i],
        _ => s,
    };
    let bytes = s.as_bytes();
    if bytes.iter().all(u8::is_ascii_digit) {
        return match bytes.len() {
            8 => ymd(
                s[..4].parse().ok()?,
                s[4..6].parse().ok()?,
                s[6..8].parse().ok()?,
            ),
            1..=5 => excel_serial_1900(s.parse().ok()?).filter(|d| YEARS.contains(&d.year())),
            10 => epoch_date(s.parse().ok()?),
            13 => epoch_date(s.parse::<i64>().ok()? / 1000),
            _ => None,
        };
    }
    if s.ends_with('月') && s.contains('年') {
        return None; // month precision only: not a date
    }
    let [y, m, d] = split_numbers(s)?;
    if y < 1000 {
        return None; // 2-digit years and D/M/Y orders are ambiguous without context
    }
    ymd(y as i32, m, d)
}

/// `HH:MM[:SS[.fff]]` with an optional `Z` or `±HH[:MM]` offset.
fn is_time_of_day(t: &str) -> bool {
    let time = t.split(['+', '-', 'Z']).next().unwrap_or(t);
    let offset = &t[time.len()..];
    let offset_ok = offset.is_empty()
        || offset == "Z"
        || (offset.len() > 1 && offset[1..].bytes().all(|b| b.is_ascii_digit() || b == b':'));
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let parts: Vec<&str> = clock.split(':').collect();
    let two_digits = |p: &&str, max: u32| p.len() == 2 && p.parse::<u32>().is_ok_and(|v| v <= max);
    offset_ok
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && matches!(parts.len(), 2 | 3)
        && two_digits(&parts[0], 23)
        && parts[1..].iter().all(|p| two_digits(p, 59))
}

/// Parses a month (`202607`, `2026-07`, `2026/7`, `2026年7月`, or any date [`parse_date`]
/// reads, at least 8 characters) as the first day of that month; `None` when it is not a month.
pub fn parse_month(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
        return ymd(s[..4].parse().ok()?, s[4..].parse().ok()?, 1)
            .filter(|d| YEARS.contains(&d.year()));
    }
    let parts: Vec<&str> = s
        .trim_end_matches('月')
        .split(['-', '/', '.', '年'])
        .collect();
    if let [y, m] = parts.as_slice()
        && y.len() == 4
        && (1..=2).contains(&m.len())
        && y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
    {
        return ymd(y.parse().ok()?, m.parse().ok()?, 1);
    }
    // A whole date (not a bare number, which `parse_date` would read as an Excel serial).
    (s.len() >= 8)
        .then(|| parse_date(s))
        .flatten()
        .and_then(|d| d.with_day(1))
}

/// Months since year 0 (`year * 12 + month - 1`): month arithmetic is subtraction.
pub fn month_number(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// Days since 1970-01-01 of a date (Arrow `Date32`).
pub fn date_days(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE
}

/// The date of Arrow `Date32` days.
pub fn days_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)?)
}

/// Whole years from `birth` to `at` (negative when `at` is earlier).
pub fn age_at(birth: NaiveDate, at: NaiveDate) -> i64 {
    let years = i64::from(at.year() - birth.year());
    if (at.month(), at.day()) < (birth.month(), birth.day()) {
        years - 1
    } else {
        years
    }
}

/// [`parse_date`] as Arrow `Date32` days.
pub fn parse_date_days(raw: &str) -> Option<i32> {
    parse_date(raw).map(date_days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn months_in_the_layouts_departments_use() {
        for s in [
            "202607",
            "2026-07",
            "2026/7",
            "2026.07",
            "2026年7月",
            "2026-07-18",
            "2026年07月",
        ] {
            assert_eq!(parse_month(s), d(2026, 7, 1), "{s}");
        }
        for s in ["202613", "2026", "26-07", "abc", "2026-7-1-1", ""] {
            assert_eq!(parse_month(s), None, "{s}");
        }
        let (jul, feb) = (d(2026, 7, 1).expect("date"), d(2027, 2, 1).expect("date"));
        assert_eq!(month_number(feb) - month_number(jul), 7);
        assert_eq!(days_date(date_days(feb)), Some(feb));
    }

    #[test]
    fn age_counts_whole_years() {
        let birth = d(2020, 8, 31).expect("date");
        assert_eq!(age_at(birth, d(2026, 8, 30).expect("date")), 5);
        assert_eq!(age_at(birth, d(2026, 8, 31).expect("date")), 6);
        assert_eq!(
            age_at(d(2020, 2, 29).expect("date"), d(2021, 2, 28).expect("date")),
            0
        );
    }

    #[test]
    fn many_formats_one_date() {
        for s in [
            "2023-01-05",
            "2023-1-5",
            "2023/1/5",
            "2023.01.05",
            "2023年1月5日",
            "2023年01月05日",
            "20230105",
            "44931",
            "2023-01-05 00:00:00.0",
            "2023-01-05T00:00:00+08:00",
            "2023-01-05 15:52:33",
            "2023-01-05 15:52",
            "2023-01-05T23:59:59.123Z",
            "2023/1/5 08:00:00",
            " 2023 1 5 ",
        ] {
            assert_eq!(parse_date(s), d(2023, 1, 5), "{s}");
        }
    }

    #[test]
    fn excel_serial_worked_examples() {
        assert_eq!(excel_serial_1900(44931), d(2023, 1, 5));
        assert_eq!(excel_serial_1900(45000), d(2023, 3, 15));
        assert_eq!(excel_serial_1900(36526), d(2000, 1, 1));
        assert_eq!(excel_serial_1900(1), d(1900, 1, 1));
        assert_eq!(excel_serial_1900(60), None, "fictitious 1900-02-29");
    }

    #[test]
    fn rejects_impossible_and_ambiguous_dates() {
        for s in [
            "2023-02-30",
            "85-04-09",
            "1/5/2023",
            "0000-00-00",
            "2023年1月",
            "abc",
            "2023-01-05 25:30:00",
            "2023-01-05 later",
            "99999999",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
        }
    }

    #[test]
    fn placeholder_dates_are_dates_the_rules_decide_about() {
        assert_eq!(parse_date("1970-01-01"), d(1970, 1, 1));
        assert_eq!(parse_date("1900-01-01"), d(1900, 1, 1));
    }

    #[test]
    fn epoch_worked_example_is_read_in_shanghai_time() {
        // 2023-01-05T00:00+08:00 is still 2023-01-04 in UTC.
        assert_eq!(epoch_date(1_672_848_000), d(2023, 1, 5));
        assert_eq!(parse_date("1672848000"), d(2023, 1, 5));
        assert_eq!(parse_date("1672848000000"), d(2023, 1, 5));
    }

    #[test]
    fn days_are_unix_days() {
        assert_eq!(parse_date_days("1970-01-02"), Some(1));
        assert_eq!(parse_date_days("1969-12-31"), Some(-1));
    }
}

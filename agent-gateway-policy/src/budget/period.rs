//! Budget periods on the UTC calendar, and the stamps that name them in store keys.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAY: u64 = 86_400;

/// How long a budget lasts before it starts again from zero.
///
/// Periods follow the calendar in UTC, read from the layer's [`Clock::wall`]. Each period's
/// spend is kept under its own stamped key (`...:2026-11-22`, `...:2026-11`), so a new period
/// starts from zero simply because its key is new: no reset job, and replicas that cross
/// midnight at slightly different moments still agree on which key a charge belongs to.
///
/// [`Clock::wall`]: agent_gateway_core::Clock::wall
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Period {
    /// A calendar day, from 00:00 UTC.
    Daily,
    /// A calendar month, from the first at 00:00 UTC. The default.
    #[default]
    Monthly,
    /// Never resets.
    Never,
}

impl Period {
    /// Every period.
    pub const ALL: [Period; 3] = [Period::Daily, Period::Monthly, Period::Never];

    /// The period's name, as a config file spells it: `daily`, `monthly`, `never`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Monthly => "monthly",
            Period::Never => "never",
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown period name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown budget period `{0}` (daily, monthly or never)")]
pub struct UnknownPeriod(String);

/// Parses [`as_str`](Period::as_str) names.
///
/// ```
/// use agent_gateway_policy::budget::Period;
/// assert_eq!("daily".parse(), Ok(Period::Daily));
/// assert!("weekly".parse::<Period>().is_err());
/// ```
impl FromStr for Period {
    type Err = UnknownPeriod;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Period::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownPeriod(s.to_owned()))
    }
}

/// The period containing an instant: its stamp and its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Current {
    pub(super) stamp: String,
    pub(super) end: Option<SystemTime>,
}

impl Current {
    /// The time from `now` to the end of the period, as a store ttl (`None`: never expires).
    pub(super) fn ttl(&self, now: SystemTime) -> Option<Duration> {
        self.end
            .map(|end| end.duration_since(now).unwrap_or(Duration::ZERO))
    }
}

impl Period {
    /// The period that contains `now`.
    pub(super) fn current(self, now: SystemTime) -> Current {
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let days = i64::try_from(secs / DAY).unwrap_or(i64::MAX / 2);
        let (y, m, d) = civil_from_days(days);
        let at =
            |days: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(days).unwrap_or(0) * DAY);
        match self {
            Period::Daily => Current {
                stamp: format!("{y:04}-{m:02}-{d:02}"),
                end: Some(at(days + 1)),
            },
            Period::Monthly => {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                Current {
                    stamp: format!("{y:04}-{m:02}"),
                    end: Some(at(days_from_civil(ny, nm, 1))),
                }
            }
            Period::Never => Current {
                stamp: "all".to_owned(),
                end: None,
            },
        }
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m as u32, d as u32)
}

/// The day count since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let (m, d) = (i64::from(m), i64::from(d));
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// 2026-11-22T03:55:13Z
    const NOV_22: u64 = 1_795_319_713;

    #[test]
    fn calendar_round_trips() {
        for days in [-1, 0, 59, 365, 11_016, 20_779, 20_820, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_779), (2026, 11, 22));
    }

    #[test]
    fn daily_and_monthly_stamps_and_ends() {
        let daily = Period::Daily.current(at(NOV_22));
        assert_eq!(daily.stamp, "2026-11-22");
        assert_eq!(daily.end, Some(at(1_795_392_000))); // 2026-11-23T00:00Z
        assert_eq!(daily.ttl(at(NOV_22)), Some(Duration::from_secs(72_287)));

        let monthly = Period::Monthly.current(at(NOV_22));
        assert_eq!(monthly.stamp, "2026-11");
        assert_eq!(monthly.end, Some(at(1_796_083_200))); // 2026-12-01T00:00Z

        let never = Period::Never.current(at(NOV_22));
        assert_eq!((never.stamp.as_str(), never.end), ("all", None));
        assert_eq!(never.ttl(at(NOV_22)), None);
    }

    #[test]
    fn december_rolls_into_the_next_year_and_february_knows_leap_years() {
        let dec = Period::Monthly.current(at(1_798_761_599)); // 2026-12-31T23:59:59Z
        assert_eq!(dec.stamp, "2026-12");
        assert_eq!(dec.end, Some(at(1_798_761_600))); // 2027-01-01T00:00Z
        let feb = Period::Monthly.current(at(1_833_148_800)); // 2028-02-03T00:00Z
        assert_eq!(feb.stamp, "2028-02");
        assert_eq!(feb.end, Some(at(1_835_481_600))); // 2028-03-01, after Feb 29
        let end_of_day = Period::Daily.current(at(1_798_761_599));
        assert_eq!(end_of_day.stamp, "2026-12-31");
        assert_eq!(
            end_of_day.ttl(at(1_798_761_599)),
            Some(Duration::from_secs(1))
        );
    }
}

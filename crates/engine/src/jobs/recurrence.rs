//! Recurrence patterns of recurring jobs: the iCalendar RRULE subset that
//! Dataverse's recurring system jobs use — `FREQ=MINUTELY|HOURLY|DAILY|WEEKLY`,
//! `INTERVAL=n`, and for weekly rules `BYDAY=MO,TU,…` — anchored at the
//! job's recurrence start time (which also gives the time of day).
//!
//! A job that was due while no server ran does not run once per missed
//! occurrence: it runs once, and the next occurrence is the first one after
//! that run.

use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub freq: Freq,
    pub interval: i64,
    /// Weekly rules: the days; empty means the start's weekday.
    pub by_day: Vec<Weekday>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Minutely,
    Hourly,
    Daily,
    Weekly,
}

fn invalid(pattern: &str, why: impl std::fmt::Display) -> EngineError {
    EngineError::Invalid(format!("recurrence pattern '{pattern}': {why}"))
}

impl Rule {
    pub fn parse(pattern: &str) -> Result<Rule> {
        let body = pattern.trim().strip_prefix("RRULE:").unwrap_or(pattern.trim());
        let (mut freq, mut interval, mut by_day) = (None, 1i64, Vec::new());
        for part in body.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| invalid(pattern, format!("'{part}' is not NAME=VALUE")))?;
            match key.to_ascii_uppercase().as_str() {
                "FREQ" => {
                    freq = Some(match value.to_ascii_uppercase().as_str() {
                        "MINUTELY" => Freq::Minutely,
                        "HOURLY" => Freq::Hourly,
                        "DAILY" => Freq::Daily,
                        "WEEKLY" => Freq::Weekly,
                        other => {
                            return Err(invalid(
                                pattern,
                                format!("FREQ={other} is not supported; use MINUTELY, HOURLY, DAILY or WEEKLY"),
                            ))
                        }
                    })
                }
                "INTERVAL" => {
                    interval = value.parse::<i64>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                        invalid(pattern, format!("INTERVAL={value} must be a whole number from 1 to 1000"))
                    })?
                }
                "BYDAY" => {
                    for d in value.split(',') {
                        by_day.push(weekday(d.trim()).ok_or_else(|| {
                            invalid(pattern, format!("'{d}' is not a day (MO, TU, WE, TH, FR, SA, SU)"))
                        })?);
                    }
                }
                other => return Err(invalid(pattern, format!("{other} is not supported"))),
            }
        }
        let freq = freq.ok_or_else(|| invalid(pattern, "FREQ is missing"))?;
        if !by_day.is_empty() && freq != Freq::Weekly {
            return Err(invalid(pattern, "BYDAY applies to FREQ=WEEKLY only"));
        }
        by_day.sort_by_key(|d| d.num_days_from_monday());
        by_day.dedup();
        Ok(Rule { freq, interval, by_day })
    }

    /// The first occurrence after `after` (never before `start`).
    pub fn next_after(&self, start: DateTime<Utc>, after: DateTime<Utc>) -> DateTime<Utc> {
        if self.freq == Freq::Weekly && !self.by_day.is_empty() {
            return self.next_weekly_by_day(start, after);
        }
        let period = match self.freq {
            Freq::Minutely => Duration::minutes(self.interval),
            Freq::Hourly => Duration::hours(self.interval),
            Freq::Daily => Duration::days(self.interval),
            Freq::Weekly => Duration::weeks(self.interval),
        };
        if after < start {
            return start;
        }
        let periods = (after - start).num_seconds() / period.num_seconds() + 1;
        start + period * periods as i32
    }

    fn next_weekly_by_day(&self, start: DateTime<Utc>, after: DateTime<Utc>) -> DateTime<Utc> {
        let week_of = |t: DateTime<Utc>| t.date_naive().week(Weekday::Mon).first_day();
        let first_week = week_of(start);
        let mut day = start.max(after).date_naive();
        // Within interval weeks plus one every day of the pattern comes round.
        for _ in 0..(7 * self.interval + 8) {
            let at = day.and_time(start.time()).and_utc();
            let weeks = (week_of(at) - first_week).num_weeks();
            if at >= start && at > after && weeks % self.interval == 0 && self.by_day.contains(&at.weekday()) {
                return at;
            }
            day = day.succ_opt().unwrap_or(day);
        }
        after + Duration::weeks(self.interval)
    }
}

fn weekday(code: &str) -> Option<Weekday> {
    Some(match code.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    #[test]
    fn daily_at_two_catches_up_once() {
        let r = Rule::parse("FREQ=DAILY;INTERVAL=1;").unwrap();
        let start = at(2026, 1, 1, 2, 0);
        assert_eq!(r.next_after(start, at(2025, 12, 1, 0, 0)), start);
        assert_eq!(r.next_after(start, start), at(2026, 1, 2, 2, 0));
        // Down for three days: the next run is the next 02:00, not three runs.
        assert_eq!(r.next_after(start, at(2026, 1, 5, 9, 30)), at(2026, 1, 6, 2, 0));
    }

    #[test]
    fn weekly_on_mondays_and_fridays_every_other_week() {
        let r = Rule::parse("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR,MO").unwrap();
        let start = at(2026, 12, 7, 9, 0); // a Monday
        assert_eq!(r.next_after(start, start), at(2026, 12, 11, 9, 0));
        assert_eq!(r.next_after(start, at(2026, 12, 11, 9, 0)), at(2026, 12, 21, 9, 0));
        let every_monday = Rule::parse("FREQ=WEEKLY;BYDAY=MO").unwrap();
        assert_eq!(every_monday.next_after(start, at(2026, 12, 9, 0, 0)), at(2026, 12, 14, 9, 0));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        for (p, says) in [
            ("FREQ=YEARLY", "FREQ=YEARLY is not supported"),
            ("INTERVAL=2", "FREQ is missing"),
            ("FREQ=DAILY;INTERVAL=0", "INTERVAL=0"),
            ("FREQ=DAILY;INTERVAL=99999999999999999999", "whole number"),
            ("FREQ=DAILY;BYDAY=MO", "BYDAY applies to FREQ=WEEKLY only"),
            ("FREQ=WEEKLY;BYDAY=XX", "'XX' is not a day"),
            ("FREQ=DAILY;COUNT=3", "COUNT is not supported"),
            ("garbage", "not NAME=VALUE"),
        ] {
            let e = Rule::parse(p).unwrap_err().to_string();
            assert!(e.contains(says), "{p}: {e}");
        }
    }
}

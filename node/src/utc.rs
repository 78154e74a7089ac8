//! Unix seconds as people read them: `2024-12-04 08:13:20` (UTC). Chain time is Unix seconds on
//! every ledger Parley runs on (the sim chain's clock starts at the wall clock's; Ethereum's is
//! the block timestamp), so a deadline on chain is shown the same way.

/// `1733300000` as `2024-12-04 08:13:20` (UTC).
pub fn utc(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = i64::try_from(days).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Chain time `at` for a status line: `2024-12-04 08:13:20 UTC`.
pub fn chain_time(at: u64) -> String {
    format!("{} UTC", utc(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_read_as_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc(1_733_300_000), "2024-12-04 08:13:20");
        assert_eq!(chain_time(200), "1970-01-01 00:03:20 UTC");
    }
}

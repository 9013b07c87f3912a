//! UTC times without a date library: the store keeps microseconds since the epoch, outputs show
//! `YYYY-MM-DD HH:MM:SS[.mmm]`.

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of microseconds since the epoch.
pub fn format_utc(micros: i64) -> String {
    let (date, secs) = civil(micros);
    let ms = micros.rem_euclid(1_000_000) / 1000;
    format!(
        "{date} {:02}:{:02}:{:02}.{ms:03}",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// RFC 3339 with microseconds and an explicit UTC offset (`2026-11-20T10:00:00.250000+00:00`): what
/// Timesketch and other timeline tools parse without guessing.
pub fn rfc3339_utc(micros: i64) -> String {
    let (date, secs) = civil(micros);
    format!(
        "{date}T{:02}:{:02}:{:02}.{:06}+00:00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        micros.rem_euclid(1_000_000)
    )
}

/// `YYYY-MM-DD HH:MM:SS` (UTC), or `-` for an unknown time: what reports show.
pub(crate) fn format_utc_seconds(micros: Option<i64>) -> String {
    match micros {
        Some(us) => format_utc(us)[..19].to_string(),
        None => "-".into(),
    }
}

/// `YYYY-MM-DD` (UTC) of microseconds since the epoch: the day a count falls on.
pub fn day_utc(micros: i64) -> String {
    civil(micros).0
}

/// The civil date (`YYYY-MM-DD`) and the seconds into that day, by Howard Hinnant's days-to-civil.
fn civil(micros: i64) -> (String, i64) {
    let secs = micros.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (format!("{y:04}-{m:02}-{d:02}"), rem)
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_known_instants() {
        assert_eq!(super::format_utc(0), "1970-01-01 00:00:00.000");
        // 2025-11-20T09:00:10.250Z
        assert_eq!(
            super::format_utc(1_763_629_210_250_000),
            "2025-11-20 09:00:10.250"
        );
        assert_eq!(super::day_utc(-1), "1969-12-31");
        assert_eq!(
            super::rfc3339_utc(1_763_629_210_250_000),
            "2025-11-20T09:00:10.250000+00:00"
        );
        assert_eq!(super::rfc3339_utc(-1), "1969-12-31T23:59:59.999999+00:00");
        assert_eq!(
            super::format_utc(951_782_400_000_000),
            "2000-02-29 00:00:00.000"
        );
    }
}

//! Durations and sizes: parsed from what people write (`20s`, `200MB`) and written
//! back the same way, or for people to read (`1.5 MB`). The configuration parses
//! with them and every layer that prints a duration or a size formats with them, so
//! nothing below the configuration needs to import it.

use std::time::Duration;

/// A duration: plain seconds (`20`, `0.5`) or with a unit (`250ms`, `20s`, `1m`,
/// `1h 30m`).
///
/// # Errors
/// A message with an example when `s` is neither.
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(seconds) = s.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds)
            .map_err(|_| format!("`{s}` is not a duration of zero or more seconds"));
    }
    humantime::parse_duration(s).map_err(|e| {
        format!("`{s}` is not a duration ({e}); write seconds (20) or a unit (250ms, 20s, 1m)")
    })
}

/// A duration as the configuration writes it, e.g. `20s` or `250ms`.
#[must_use]
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        "0s".into()
    } else {
        humantime::format_duration(d).to_string().replace(' ', "")
    }
}

/// A size in bytes: a plain number of bytes (`1048576`) or a number with a unit
/// (`200MB`, `1.5 GiB`, `512k`). KB, MB and GB are powers of 1000; KiB, MiB and
/// GiB powers of 1024.
///
/// # Errors
/// A message with an example when `s` is not a size.
pub fn size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let bad = || format!("`{s}` is not a size; write bytes (1048576) or a unit (200MB, 1.5GiB)");
    let number: f64 = number.parse().map_err(|_| bad())?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "m" | "mb" => 1000 * 1000,
        "g" | "gb" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52 are exact
    let (bytes, max) = (number * multiplier as f64, u64::MAX as f64);
    if !bytes.is_finite() || bytes >= max {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(bytes.round() as u64)
}

/// A size as the configuration writes it, in the largest unit that divides it
/// (`200MB`, `1536KiB`), else in bytes.
#[must_use]
pub fn format_size(bytes: u64) -> String {
    for (unit, n) in [
        ("GB", 1_000_000_000),
        ("GiB", 1 << 30),
        ("MB", 1_000_000),
        ("MiB", 1 << 20),
        ("KB", 1000),
        ("KiB", 1 << 10),
    ] {
        if bytes >= n && bytes.is_multiple_of(n) {
            return format!("{}{unit}", bytes / n);
        }
    }
    bytes.to_string()
}

/// A size for people: `1.5 MB`, `320 B`.
#[must_use]
pub fn human_size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // a display value
    let b = bytes as f64;
    if bytes < 1000 {
        format!("{bytes} B")
    } else if b < 1e6 {
        format!("{:.1} KB", b / 1e3)
    } else if b < 1e9 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.2} GB", b / 1e9)
    }
}

/// Serializes a duration as the configuration writes one (`20s`, `250ms`), for
/// `serialize_with`.
///
/// # Errors
/// The serializer's.
pub fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_seconds_or_with_units() {
        assert_eq!(duration("20"), Ok(Duration::from_secs(20)));
        assert_eq!(duration("0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(duration("1m"), Ok(Duration::from_mins(1)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(duration("-1").unwrap_err().contains("zero or more"));
        assert!(duration("soon").unwrap_err().contains("250ms"));
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(
            duration(&format_duration(Duration::from_millis(1500))),
            Ok(Duration::from_millis(1500))
        );
    }

    #[test]
    fn sizes_in_bytes_or_with_units() {
        assert_eq!(size("1048576"), Ok(1 << 20));
        assert_eq!(size("200MB"), Ok(200_000_000));
        assert_eq!(size("200 mb"), Ok(200_000_000));
        assert_eq!(size("1.5GiB"), Ok(3 << 29));
        assert_eq!(size("512k"), Ok(512_000));
        for bad in ["", "MB", "-1", "1e3", "12 parsecs", "99999999999999GB"] {
            assert!(size(bad).unwrap_err().contains("200MB"), "{bad}");
        }
        for n in [0, 1, 999, 200_000_000, 3 << 29, 1536 << 10, 123_457] {
            assert_eq!(size(&format_size(n)), Ok(n), "{n}");
        }
        assert_eq!(format_size(200_000_000), "200MB");
        assert_eq!(human_size(1_500_000), "1.5 MB");
        assert_eq!(human_size(320), "320 B");
    }
}

//! OpenClaw's version scheme.
//!
//! `YYYY.M.PATCH`, with three kinds of suffix:
//! - prereleases `-alpha.N`, `-beta.N` (any dotted identifiers), ordered like semver prereleases;
//! - corrections `-N` (a bare number), which come *after* the release;
//! - none: the release itself.
//!
//! So `2026.7.1-beta.2 < 2026.7.1 < 2026.7.1-1 < 2026.7.1-2 < 2026.7.2`. Plain semver gets the
//! corrections wrong (it reads `-1` as a prerelease), which is why this type exists.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An OpenClaw release version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    suffix: Suffix,
}

/// Declared in ascending order: the derived `Ord` puts prereleases before the release and the
/// release before its corrections.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Suffix {
    Pre(semver::Prerelease),
    Release,
    Correction(u64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` is not an OpenClaw version (expected YYYY.M.PATCH, e.g. 2026.9.5, 2026.7.1-2 or 2026.7.1-beta.2)",
            self.0
        )
    }
}

impl std::error::Error for ParseError {}

impl Version {
    pub fn new(major: u64, minor: u64, patch: u64) -> Self {
        Version {
            major,
            minor,
            patch,
            suffix: Suffix::Release,
        }
    }

    /// True for `-alpha.N`, `-beta.N` and other non-numeric suffixes.
    pub fn is_prerelease(&self) -> bool {
        matches!(self.suffix, Suffix::Pre(_))
    }

    /// The version without a prerelease or correction suffix.
    pub fn base(&self) -> Version {
        Version::new(self.major, self.minor, self.patch)
    }

    /// Finds the first version-like token in a line of program output, such as
    /// `OpenClaw 2026.9.5 (ec9c1a1)` or a bare `2026.2.19-2`.
    pub fn find_in(text: &str) -> Option<Version> {
        text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | '"' | '\''))
            .filter(|t| !t.is_empty())
            .find_map(|t| t.trim_start_matches('v').parse().ok())
    }
}

impl FromStr for Version {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseError(s.chars().take(80).collect());
        let text = s.trim();
        // Build metadata (`+sha`) carries no order.
        let text = text.split_once('+').map_or(text, |(v, _)| v);
        let (core, suffix) = match text.split_once('-') {
            Some((core, suffix)) => (core, Some(suffix)),
            None => (text, None),
        };
        let mut parts = core.split('.');
        let mut number = || -> Result<u64, ParseError> {
            let p = parts.next().ok_or_else(err)?;
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) || p.len() > 18 {
                return Err(err());
            }
            p.parse().map_err(|_| err())
        };
        let (major, minor, patch) = (number()?, number()?, number()?);
        if parts.next().is_some() {
            return Err(err());
        }
        let suffix = match suffix {
            None => Suffix::Release,
            Some(s) if !s.is_empty() && s.len() <= 18 && s.bytes().all(|b| b.is_ascii_digit()) => {
                Suffix::Correction(s.parse().map_err(|_| err())?)
            }
            Some(s) => Suffix::Pre(semver::Prerelease::new(s).map_err(|_| err())?),
        };
        if matches!(&suffix, Suffix::Pre(p) if p.is_empty()) {
            return Err(err());
        }
        Ok(Version {
            major,
            minor,
            patch,
            suffix,
        })
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch, &self.suffix).cmp(&(
            other.major,
            other.minor,
            other.patch,
            &other.suffix,
        ))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        match &self.suffix {
            Suffix::Release => Ok(()),
            Suffix::Pre(p) => write!(f, "-{p}"),
            Suffix::Correction(n) => write!(f, "-{n}"),
        }
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Version {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An OpenClaw version: YYYY.M.PATCH, with -N (a correction) or -beta.N (a prerelease)",
            "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$"
        })
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    #[test]
    fn order_table() {
        let ascending = [
            "2025.12.9",
            "2026.2.19-2",
            "2026.2.26",
            "2026.7.1-alpha.1",
            "2026.7.1-alpha.10",
            "2026.7.1-beta.1",
            "2026.7.1-beta.2",
            "2026.7.1-beta.10",
            "2026.7.1",
            "2026.7.1-1",
            "2026.7.1-2",
            "2026.7.1-10",
            "2026.7.2",
            "2026.7.10",
            "2026.9.4",
            "2026.9.5",
            "2026.9.33",
            "2026.10.1",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(v(pair[1]) > v(pair[0]));
        }
    }

    #[test]
    fn equal_ignores_build_metadata() {
        assert_eq!(v("2026.9.5+abc"), v("2026.9.5"));
        assert_eq!(v("2026.9.5").cmp(&v("2026.9.5")), Ordering::Equal);
    }

    #[test]
    fn finds_version_in_cli_output() {
        let cases = [
            ("OpenClaw 2026.9.5 (ec9c1a1)\n", "2026.9.5"),
            ("2026.2.19-2\n", "2026.2.19-2"),
            ("OpenClaw v2026.7.1-beta.2", "2026.7.1-beta.2"),
            ("  OpenClaw 2026.7.1-2 (abc)", "2026.7.1-2"),
        ];
        for (text, want) in cases {
            assert_eq!(Version::find_in(text), Some(v(want)), "{text:?}");
        }
        assert_eq!(Version::find_in("command not found"), None);
        assert_eq!(Version::find_in(""), None);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "2026",
            "2026.9",
            "2026.9.x",
            "2026.9.5.1",
            "2026.9.5-",
            "a.b.c",
            "2026..5",
            "-1.2.3",
            "2026.9.5-beta..1",
            "99999999999999999999.1.1",
            "2026.9.5;rm -rf /",
        ] {
            assert!(bad.parse::<Version>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_roundtrips() {
        for s in [
            "2026.9.5",
            "2026.7.1-2",
            "2026.7.1-beta.2",
            "2026.7.1-alpha.1",
        ] {
            assert_eq!(v(s).to_string(), s);
        }
        assert!(v("2026.7.1-beta.2").is_prerelease());
        assert!(!v("2026.7.1-2").is_prerelease());
        assert_eq!(v("2026.7.1-2").base(), v("2026.7.1"));
    }

    fn arb_version() -> impl Strategy<Value = Version> {
        let suffix = prop_oneof![
            Just(String::new()),
            (0u64..4).prop_map(|n| format!("-{n}")),
            (
                prop_oneof![Just("alpha"), Just("beta"), Just("rc")],
                0u64..4
            )
                .prop_map(|(k, n)| format!("-{k}.{n}")),
        ];
        (2024u64..2028, 1u64..13, 0u64..40, suffix)
            .prop_map(|(a, b, c, s)| format!("{a}.{b}.{c}{s}").parse().unwrap())
    }

    proptest! {
        #[test]
        fn order_is_total_and_consistent(a in arb_version(), b in arb_version(), c in arb_version()) {
            // antisymmetric and consistent with equality
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
            prop_assert_eq!(a.cmp(&b) == Ordering::Equal, a == b);
            // transitive
            if a <= b && b <= c { prop_assert!(a <= c); }
            // parse(display(v)) == v
            prop_assert_eq!(a.to_string().parse::<Version>().unwrap(), a.clone());
            // a correction is always above its release, a prerelease always below
            let base = a.base();
            if a.is_prerelease() { prop_assert!(a < base); } else { prop_assert!(a >= base); }
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Version>();
            let _ = Version::find_in(&s);
        }
    }
}

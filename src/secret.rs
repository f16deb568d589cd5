//! A value that must never reach output, logs or JSON.

use std::fmt;

/// Holds a token. `Debug` and `Display` print a placeholder; there is deliberately no
/// `Serialize`. Use [`Secret::expose`] only to put it on the wire to the local gateway.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Constant-time comparison (for comparing cached and paired device tokens).
    pub fn ct_eq(&self, other: &Secret) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("tok-123");
        assert!(!format!("{s:?} {s}").contains("tok-123"));
        assert!(s.ct_eq(&Secret::new("tok-123")));
        assert!(!s.ct_eq(&Secret::new("tok-124")));
        assert!(!s.ct_eq(&Secret::new("tok")));
    }
}

/// What a redacted value is shown as.
pub const REDACTED: &str = "<redacted>";

/// Does this flag or variable name look like it holds a secret? (`--token`, `--gateway-password`,
/// `OPENCLAW_GATEWAY_TOKEN`, `NPM_TOKEN`, `ANTHROPIC_API_KEY`, `client_secret`, …)
pub fn is_secret_name(name: &str) -> bool {
    let n = name
        .trim_start_matches('-')
        .to_ascii_lowercase()
        .replace('-', "_");
    [
        "token",
        "password",
        "passwd",
        "secret",
        "api_key",
        "apikey",
        "credential",
        "private_key",
        "auth_key",
        "cookie",
    ]
    .iter()
    .any(|s| n.contains(s))
}

/// A command line with every secret value replaced: `--token X`, `--token=X`, `NAME=VALUE`
/// arguments whose name looks secret, and `user:password@` in URLs.
pub fn redact_args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for a in args {
        if hide_next {
            out.push(REDACTED.to_string());
            hide_next = false;
            continue;
        }
        if let Some((name, _)) = a.split_once('=') {
            let is_flag = name.starts_with('-');
            let is_assignment = !is_flag
                && !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if (is_flag || is_assignment) && is_secret_name(name) {
                out.push(format!("{name}={REDACTED}"));
                continue;
            }
        } else if a.starts_with('-') && is_secret_name(a) {
            out.push(a.clone());
            hide_next = true;
            continue;
        }
        out.push(redact_url(a));
    }
    out
}

/// Log lines with the secrets `redact_args` knows replaced (a gateway's log or journal may echo
/// its own command line). A line without any keeps its spacing.
pub fn redact_text(text: &str) -> String {
    text.lines()
        .map(|line| {
            let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
            let redacted = redact_args(&words);
            if redacted == words {
                line.to_string()
            } else {
                redacted.join(" ")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `https://user:pass@host/…` → `https://<redacted>@host/…`; anything else unchanged.
pub fn redact_url(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_string();
    };
    let rest = &s[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{REDACTED}{}", &s[..scheme_end + 3], &rest[at..]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod redact_tests {
    #[test]
    fn log_lines_lose_their_tokens_and_keep_their_spacing() {
        let t = super::redact_text("started  with --token abc123 --port 1\nplain   line");
        assert!(!t.contains("abc123"), "{t}");
        assert!(t.contains("plain   line"), "{t}");
    }

    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn command_lines_lose_their_secrets() {
        let shown = redact_args(&v(
            "node /p/openclaw.mjs gateway run --port 1 --token abc --password=p4ss --auth-token x \
             NPM_TOKEN=n --registry=https://u:pw@r.example/ --no-token-check",
        ))
        .join(" ");
        for secret in ["abc", "p4ss", " x ", "=n ", "u:pw"] {
            assert!(!shown.contains(secret), "{secret:?} in {shown}");
        }
        assert!(shown.contains("--port 1"));
        assert!(shown.contains("--token <redacted>"));
        assert!(shown.contains("--password=<redacted>"));
        assert!(shown.contains("https://<redacted>@r.example/"));
        // A flag that only mentions a token takes no value of its own here: the next word is hidden,
        // which errs on the safe side.
        assert!(is_secret_name("OPENCLAW_GATEWAY_TOKEN"));
        assert!(is_secret_name("ANTHROPIC_API_KEY"));
        assert!(!is_secret_name("OPENCLAW_STATE_DIR"));
        assert!(!is_secret_name("--port"));
        assert_eq!(redact_url("http://127.0.0.1:9/"), "http://127.0.0.1:9/");
    }
}

//! No parser panics on any input: versions, targets (specs and tags), profiles, JSON5 configs,
//! log lines, lock files and package-manager command lines.

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn versions_and_targets(s in "\\PC{0,64}") {
        let _ = s.parse::<clawkit::version::Version>();
        let _ = clawkit::version::Version::find_in(&s);
        if let Ok(t) = clawkit::npm::Target::parse(&s) {
            // Whatever is accepted is safe to put on npm's command line.
            let spec = t.spec();
            prop_assert!(!spec.chars().any(|c| c.is_whitespace() || "`$;&|<>(){}\\\"'".contains(c)), "{spec}");
        }
    }

    #[test]
    fn profiles(s in "\\PC{0,80}") {
        if let Ok(p) = clawkit::layout::Profile::parse(&s) {
            let name = p.name().unwrap_or("default").to_string();
            prop_assert!(!name.contains('/') && !name.contains(".."), "{name}");
        }
    }

    #[test]
    fn configs(s in "\\PC{0,200}") {
        let _ = clawkit::config::Config::parse(&s);
    }

    #[test]
    fn json5_shaped_configs(port in any::<i64>(), token in "\\PC{0,20}", v in "\\PC{0,20}") {
        let text = format!("{{gateway: {{port: {port}, auth: {{token: {token:?}}}}}, meta: {{lastTouchedVersion: {v:?}}}}}");
        if let Ok(c) = clawkit::config::Config::parse(&text) {
            prop_assert!(c.port.is_none_or(|p| p > 0 && i64::from(p) == port));
        }
    }

    #[test]
    fn log_lines(s in "\\PC{0,300}") {
        let _ = clawkit::logscan::line_event(&s);
        let j = serde_json::json!({"time": s.clone(), "message": s.clone()}).to_string();
        let _ = clawkit::logscan::line_event(&j);
    }

    #[test]
    fn lock_files(s in "\\PC{0,200}") {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway.state.lock");
        std::fs::write(&p, &s).unwrap();
        let _ = clawkit::gateway::LockFile::read(&p);
    }

    #[test]
    fn package_manager_lines(args in proptest::collection::vec("\\PC{0,20}", 0..8), tool in prop_oneof![Just("npm"), Just("pnpm"), Just("bun"), Just("yarn")]) {
        check_line(tool, &args)?;
    }

    #[test]
    fn package_manager_words(
        verb in proptest::sample::select(&["install", "i", "add", "update", "up"][..]),
        global in proptest::sample::select(&["-g", "--global", "--location=global", "-gy"][..]),
        at in 0usize..6,
        rest in proptest::collection::vec(proptest::sample::select(WORDS), 0..5),
        tool in prop_oneof![Just("npm"), Just("pnpm"), Just("bun")],
    ) {
        // A verb, a global flag and anything: most of these reach the update path.
        let mut args: Vec<String> = rest.into_iter().map(String::from).collect();
        args.insert(at.min(args.len()), global.to_string());
        args.insert(0, verb.to_string());
        check_line(tool, &args)?;
    }
}

/// Words of real package-manager command lines, shuffled into lines that reach every branch.
const WORDS: &[&str] = &[
    "install",
    "i",
    "add",
    "update",
    "up",
    "-g",
    "--global",
    "--location",
    "global",
    "user",
    "--location=global",
    "openclaw",
    "openclaw@latest",
    "openclaw@2026.9.6",
    "openclaw@beta",
    "openclaw@2026.x",
    "typescript",
    "--tag",
    "beta",
    "--tag=next",
    "--no-tag",
    "--dry-run",
    "--no-dry-run",
    "--prefix",
    "/opt/x",
    "rel",
    "--registry",
    "http://r/",
    "-y",
    "--yes",
    "-gy",
    "-gf",
    "-f",
    "--force",
    "--no-fund",
    "--",
    "-C",
    "-s",
    "-q",
    "-dd",
    "-L",
    "-E",
    "-D",
    "-h",
    "--latest",
    "--weird",
    "--weird=1",
    "./openclaw-2026.9.6.tgz",
    "file:x.tgz",
    "~/x.tgz",
    "github:a/b",
    "a/b",
    "oc@npm:openclaw",
    ".",
    "true",
    "false",
];

/// Whatever the line, clawkit either passes it, refuses it in one line that says how to run the
/// real tool, or runs `clawkit update` with flags it has and values it accepts.
fn check_line(tool: &str, args: &[String]) -> Result<(), TestCaseError> {
    use clawkit::commands::intercept::{classify, Decision};
    match classify(tool, args, std::path::Path::new("/nonexistent/cwd"), None) {
        Decision::Pass => {}
        Decision::Refuse(m) => {
            prop_assert!(!m.contains('\n'), "{}", m);
            let bypass = format!("CLAWKIT_BYPASS=1 {tool} ");
            prop_assert!(m.contains(&bypass), "{}", m);
        }
        Decision::Update(a) => {
            prop_assert_eq!(a[0].as_str(), "update");
            prop_assert!(
                args.iter().any(|w| w.contains("openclaw")),
                "{:?} from {:?}",
                a,
                args
            );
            let mut i = 1;
            while i < a.len() {
                let value = a.get(i + 1).map(String::as_str).unwrap_or_default();
                match a[i].as_str() {
                    "--to" => prop_assert!(clawkit::npm::Target::parse(value).is_ok(), "{:?}", a),
                    "--package" | "--prefix" => prop_assert!(value.starts_with('/'), "{:?}", a),
                    "--registry" => prop_assert!(!value.is_empty(), "{:?}", a),
                    "--install" | "--dry-run" | "--yes" => {
                        i += 1;
                        continue;
                    }
                    other => prop_assert!(false, "unexpected {} in {:?}", other, a),
                }
                i += 2;
            }
        }
    }
    Ok(())
}

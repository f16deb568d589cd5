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
        if let clawkit::commands::intercept::Decision::Update(a) = clawkit::commands::intercept::classify(tool, &args) {
            prop_assert_eq!(a[0].as_str(), "update");
        }
    }
}

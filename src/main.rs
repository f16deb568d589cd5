fn main() -> std::process::ExitCode {
    let code = clawkit::run(
        std::env::args_os().collect(),
        clawkit::env::Env::from_process(),
    );
    std::process::ExitCode::from(code)
}

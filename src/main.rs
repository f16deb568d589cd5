fn main() -> std::process::ExitCode {
    // `COMPLETE=bash clawkit -- WORDS…` from the completion scripts: answer and exit.
    clawkit::completion::answer_if_asked();
    let code = clawkit::run(
        std::env::args_os().collect(),
        clawkit::env::Env::from_process(),
    );
    std::process::ExitCode::from(code)
}

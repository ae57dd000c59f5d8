//! The `wordvec` binary: parses arguments and calls the library (see `src/cli`).

mod cli;

use clap::Parser;
use cli::{Cli, Command};

fn main() -> std::process::ExitCode {
    let args = Cli::parse();
    init_logging(args.verbose);
    let result = match args.command {
        Command::Info(a) => cli::info::run(a),
        Command::Nn(a) => cli::query::nn(a),
        Command::Analogy(a) => cli::query::analogy(a),
        Command::Embed(a) => cli::embed::run(a),
        Command::Similarity(a) => cli::query::similarity(a),
        Command::DoesntMatch(a) => cli::query::doesnt_match(a),
        Command::Convert(a) => cli::convert::run(a),
        Command::Eval(c) => cli::eval::run(c),
        Command::Repl(a) => cli::query::repl(a),
        Command::Train(a) => cli::train::run(a),
        Command::Index(c) => cli::index::run(c),
        Command::Serve(a) => cli::serve::run(*a),
        Command::Upsert(a) => cli::write::upsert(a),
        Command::Delete(a) => cli::write::delete(a),
        Command::Compact(a) => cli::write::compact(a),
        Command::Classify(c) => cli::classify::run(c),
        #[cfg(feature = "postgres")]
        Command::Export(a) => cli::pg::export(*a),
        #[cfg(feature = "postgres")]
        Command::Import(a) => cli::pg::import(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return std::process::ExitCode::SUCCESS;
                }
            }
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}

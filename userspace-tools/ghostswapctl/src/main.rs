//! `ghostswapctl`'s entry point: parse the command line, run the command, print a
//! refusal with its reasons.

use std::process::ExitCode;

use clap::Parser;
use ghostswapctl::cli::{Cli, Command, ListArgs};
use ghostswapctl::cmd;
use ghostswapctl::paths::Roots;

fn print_lines(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let roots = Roots::from_env();
    let module = cli.module.as_deref();
    match cli.command.unwrap_or(Command::List(ListArgs::default())) {
        Command::List(args) => print!("{}", cmd::list::render(&roots, &args)?),
        Command::Setup(args) => {
            let (device, done) = cmd::setup::run(&roots, module, &args)?;
            println!("{}", device.dev_name());
            for line in done {
                eprintln!("ghostswapctl: {line}");
            }
        }
        Command::Reset(args) => print_lines(&cmd::reset::run(&roots, &args)?),
        Command::Writeback(args) => print_lines(&cmd::writeback::run(&roots, &args)?),
        Command::Status(args) => cmd::status::run(&roots, &args)?,
        Command::Apply(args) => print_lines(&cmd::apply::run(&roots, module, &args)?),
        Command::Estimate(args) => cmd::estimate::run(&roots, &args)?,
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The outer contexts say where, the inner ones why: one line, outer first.
            eprintln!("ghostswapctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

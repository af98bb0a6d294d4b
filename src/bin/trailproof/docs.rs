//! `trailproof completions SHELL` and `trailproof man [COMMAND]`: generated
//! from the same command definition that parses the arguments.

use crate::failure::CannotRun;
use clap::CommandFactory as _;

/// The completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut command = crate::args::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "trailproof", &mut out);
    out
}

/// The man page (roff) of trailproof, or of its command `name`.
pub(crate) fn man(name: Option<&str>) -> Result<Vec<u8>, CannotRun> {
    let mut command = crate::args::Cli::command();
    command.build();
    let page = match name {
        None => command,
        Some(name) => {
            let names: Vec<String> = command
                .get_subcommands()
                .filter(|c| c.get_name() != "help")
                .map(|c| c.get_name().to_owned())
                .collect();
            let Some(sub) = command.find_subcommand(name).cloned() else {
                return Err(CannotRun {
                    message: format!(
                        "trailproof has no command {:?} (commands: {})",
                        trailproof::text::escape_control(name),
                        names.join(", ")
                    ),
                    help: "`trailproof man` prints the main page; `trailproof man COMMAND` a command's.",
                });
            };
            let version = command.get_version().unwrap_or_default().to_owned();
            sub.name(format!("trailproof-{name}")).version(version)
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut out)
        .map_err(|e| CannotRun {
            message: format!("cannot render the man page: {e}"),
            help: "This is a bug in trailproof; please report it.",
        })?;
    Ok(out)
}

//! `trailproof plan`: splits one audit into shards and writes the plan.

use crate::args::PlanArgs;
use crate::failure::CannotRun;
use trailproof::shard::{Plan, PlanError, Sizes};
use trailproof::text::escape_control;

/// Counts the sources, makes the plan and writes it (never over a source).
pub(crate) fn run(args: &PlanArgs) -> Result<(), CannotRun> {
    let (folders, listings): (Vec<_>, Vec<_>) =
        args.sources.iter().cloned().partition(|p| p.is_dir());
    let inputs = trailproof::output::Inputs::new(&folders, &listings);
    let target = trailproof::output::ReportTarget::check("plan", &args.output, &inputs)
        .map_err(CannotRun::from)?;
    let mut sizes = Sizes::default();
    for source in &args.sources {
        let added = if source.is_dir() {
            sizes.add_mirror(source)
        } else {
            sizes.add_listing(source)
        };
        added.map_err(failed)?;
    }
    let plan = Plan::make(sizes, args.shards as usize);
    target
        .write(|out| {
            serde_json::to_writer_pretty(&mut *out, &plan).map_err(std::io::Error::other)?;
            out.write_all(b"\n")
        })
        .map_err(CannotRun::from)?;
    for shard in &plan.shards {
        eprintln!(
            "shard {}: {} places, {} files, {} bytes",
            shard.index,
            shard.places.len(),
            shard.load.files,
            shard.load.bytes
        );
    }
    Ok(())
}

fn failed(error: PlanError) -> CannotRun {
    CannotRun {
        message: escape_control(&error.to_string()).into_owned(),
        help: "give mirror folders, or the objects.jsonl listing of a `trailproof collect` folder (its record.json beside it)",
    }
}

"""The commands as jobs. Each is `run(session, paths, options, out) -> Summary`: inputs and settings in, files
written through the output folder as results come in, a summary of items and errors out. The command line
(and the web page) only turn their controls into these arguments."""
from latentcat.errors import UserError
from latentcat.outputs import OutputFolder, Summary


def execute(run, session, paths: list[str], options, out_dir) -> Summary:
    """Run one job into `out_dir`; its summary.json is final once it returns. Nothing done is a UserError.
    In a run split across processes only the main one writes (`latentcat.shards`)."""
    with OutputFolder(out_dir, writes=session is None or session.shards.is_main) as out:
        summary = run(session, paths, options, out)
        summary.finished = True
        out.save_summary(summary)
    print(f"{summary.command}: {len(summary.items)} done, {len(summary.errors)} failed; results in {out_dir}")
    if not summary.items:
        raise UserError(f"{summary.command}: nothing could be done ({len(summary.errors)} input(s) failed; "
                        "see above)")
    return summary

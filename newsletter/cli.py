"""The `newsletter` command: each command builds `Settings`, calls one core function, prints.

Exit codes: 0 ok, 1 a run failed, 2 bad usage, configuration or input. Results go to standard
output; logs and progress go to standard error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer

from newsletter import fetching, pipeline, planning
from newsletter.browser import open_in_browser
from newsletter.cli_history import history
from newsletter.cli_serve import serve, status
from newsletter.cli_subscribers import subscribers_app
from newsletter.cli_support import (
    configure_logging,
    err,
    errors,
    find_subscriber,
    make_renderer,
    out,
    subscribers_of,
)
from newsletter.config import Settings, load_settings
from newsletter.delivery import make_transport
from newsletter.errors import InputError
from newsletter.locking import send_lock
from newsletter.models import Digest, Excluded, Source, Subscriber
from newsletter.render import clip
from newsletter.store import Store

app = typer.Typer(
    help="Today's research papers, ranked for each subscriber, as an email digest.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(subscribers_app, name="subscribers")
app.command()(history)
app.command()(serve)
app.command()(status)

LEFT_OUT_TITLE = 60  # characters of a title in `preview --explain`'s list of papers left out

DateOption = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="Listing day YYYY-MM-DD."),
]


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    configure_logging(verbose, debug)


def _day(store: Store, given: dt.date | None) -> dt.date:
    if given is not None:
        return given
    latest = store.latest_listing_day()
    if latest is None:
        raise InputError(f"{store.path}: no papers stored yet; run `newsletter fetch` first")
    return latest


# --- fetch -----------------------------------------------------------------------------------


@app.command()
@errors
def fetch(
    source: Annotated[str, typer.Option("--source", help="hf, arxiv or all.")] = "all",
    date: DateOption = None,
    file: Annotated[
        list[Path] | None,
        typer.Option("--file", help="Import a recorded response instead of the network."),
    ] = None,
    more: Annotated[
        list[Path] | None,
        typer.Argument(metavar="FILE", help="More recorded responses to import, as with --file.",
                       show_default=False),
    ] = None,
) -> None:
    """Store new papers from the sources (or from recorded files)."""
    file = [*(file or ()), *(more or ())]
    settings = load_settings()
    subscribers = subscribers_of(settings) if settings.subscribers.exists() or not file else ()
    wanted = _sources(source, subscribers)
    with Store.open(settings.db) as store:
        if file:
            reports = fetching.import_files(store, file, date.date() if date else None,
                                            pipeline.utc_now)
        else:
            categories = sorted({c for s in subscribers for c in s.profile.arxiv_categories})
            reports = [
                report for day, day_sources in _fetch_plan(date, wanted)
                for report in fetching.fetch_sources(store, settings, day_sources, day,
                                                     categories, pipeline.utc_now)
            ]
    for report in reports:
        out.print(_fetch_line(report))
    if any(report.error for report in reports):
        raise typer.Exit(1)


def _fetch_plan(
    date: dt.datetime | None, wanted: list[Source]
) -> list[tuple[dt.date, list[Source]]]:
    """The given day; else Hugging Face for yesterday (complete by now) and today, and arXiv
    once (its feed only ever holds the latest announcement)."""
    if date is not None:
        return [(date.date(), wanted)]
    today = pipeline.utc_now().date()
    hf: list[Source] = [s for s in wanted if s is Source.HF]
    return [(today - dt.timedelta(days=1), hf), (today, wanted)]


def _sources(name: str, subscribers: Sequence[Subscriber]) -> list[Source]:
    if name == "all":
        used = {s for sub in subscribers for s in sub.sources} or {Source.HF}
        return sorted(used)
    try:
        return [Source(name)]
    except ValueError:
        raise typer.BadParameter(f"{name!r} is not one of hf, arxiv, all",
                                 param_hint="--source") from None


def _fetch_line(report: fetching.FetchReport) -> str:
    day = report.listed_on.isoformat() if report.listed_on else "?"
    if report.error:
        return f"{report.label} {day}: FAILED: {report.error}"
    c = report.counts
    line = f"{report.label} {day}: {c.new} new, {c.updated} updated, {len(report.skipped)} skipped"
    if report.empty_day:
        line += " (no papers listed that day)"
    for why in report.skipped[:5]:
        line += f"\n  skipped {why}"
    return line


# --- preview -----------------------------------------------------------------------------------


@app.command()
@errors
def preview(
    email: Annotated[str, typer.Argument(help="The subscriber's address.")],
    date: DateOption = None,
    lookback: Annotated[int | None, typer.Option(min=1, max=366, help="Days ending on --date.")]
    = None,
    max_papers: Annotated[int | None, typer.Option("--max", min=1, max=100)] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write digest.html/.txt/.eml.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranking as JSON.")] = False,
    explain: Annotated[bool, typer.Option(help="Also the papers left out, and why.")]
    = False,
    open_browser: Annotated[bool, typer.Option("--open", help="Open the HTML in a browser.")]
    = False,
) -> None:
    """Render exactly what `send` would send (saying first if it would not); send nothing."""
    settings = load_settings()
    subscriber = find_subscriber(subscribers_of(settings), email, settings)
    renderer = make_renderer(settings)
    with Store.open_readonly(settings.db) as store:
        day = _day(store, date.date() if date else None)
        now = pipeline.utc_now()
        result = planning.preview(store, settings, renderer, subscriber, day, now,
                                  lookback=lookback, max_papers=max_papers, explain=explain)
        why_not = pipeline.why_not_sent(store, subscriber, result.planned, now)
        notice = _send_notice(store, result.planned.digest, why_not)
    if notice:
        err.print(f"note: {notice}", markup=False)
    if out_dir is not None:
        _write_preview(result, out_dir)
    if open_browser:
        err.print(f"opened {open_in_browser(result.rendered.html)}")
    if as_json:
        print(json.dumps(_preview_json(result, explain, why_not), ensure_ascii=False, indent=2))
    else:
        if out_dir is None:
            out.print(f"Subject: {result.rendered.subject}\n", markup=False)
            out.print(result.rendered.text, markup=False)
        if explain:
            out.print(_left_out(result.excluded), markup=False)


def _send_notice(store: Store, digest: Digest, why_not: str | None) -> str:
    """What `preview` says first about `send` that day: why it would not send this, or, for a
    note about days never fetched, how to fetch them; "" when there is nothing to say."""
    if why_not is not None:
        return f"`newsletter send --date {digest.digest_date}` would not send this: {why_not}"
    if digest.papers:
        return ""
    hint = planning.fetch_hint(store, digest.subscriber, digest.window_start, digest.digest_date)
    if not hint:
        return ""
    return f"`newsletter send --date {digest.digest_date}` would send this note; {hint} first"


def _left_out(excluded: Sequence[Excluded]) -> str:
    """`--explain` as text, after the digest: each paper left out and why, one line each."""
    if not excluded:
        return "Left out: nothing"
    titles = [clip(e.paper.title, LEFT_OUT_TITLE) for e in excluded]
    width = max(map(len, titles))
    return "\n".join(["Left out:", *(f"  {e.paper.id}  {title:<{width}}  {e.reason}"
                                      for e, title in zip(excluded, titles, strict=True))])


def _preview_json(result: planning.Preview, explain: bool, why_not: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "subscriber": result.digest.subscriber.email,
        "subject": result.rendered.subject,
        "would_send": why_not is None,
        "why_not": why_not,
        "papers": [
            {"id": r.paper.id, "title": r.paper.title, "score": round(r.score, 4),
             "reasons": list(r.reasons)}
            for r in result.digest.papers
        ],
    }
    if explain:
        data["excluded"] = [{"id": e.paper.id, "title": e.paper.title, "reason": e.reason}
                            for e in result.excluded]
    return data


def _write_preview(result: planning.Preview, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "digest.html").write_text(result.rendered.html, encoding="utf-8")
        (folder / "digest.txt").write_text(result.rendered.text, encoding="utf-8")
        (folder / "digest.eml").write_bytes(bytes(result.message))
    except OSError as exc:
        raise InputError(f"--out {folder}: {exc}") from None
    err.print(f"wrote {folder}/digest.html, digest.txt, digest.eml")


# --- send ----------------------------------------------------------------------------------------


@app.command()
@errors
def send(
    date: DateOption = None,
    only: Annotated[str | None, typer.Option(help="Send only to this subscriber.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Render and report; send and mark nothing.")]
    = False,
) -> None:
    """Run the digests of a listing day now (default: the latest listing day)."""
    settings = load_settings()
    report = run_send(settings, date.date() if date else None, only, dry_run)
    _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def run_send(
    settings: Settings, day: dt.date | None, only: str | None, dry_run: bool
) -> pipeline.RunReport:
    """Validate everything, take the send lock, and send; shared by `send` and `demo`."""
    subscribers = subscribers_of(settings)
    if only is not None:
        subscribers = (find_subscriber(subscribers, only, settings),)
    renderer = make_renderer(settings)
    transport = make_transport(settings)
    with Store.open(settings.db) as store, send_lock(settings.db):
        runner = pipeline.Runner(settings, store, renderer, transport,
                                 connect=lambda: make_transport(settings))
        with _progress(len(subscribers)):
            return asyncio.run(pipeline.send_day(runner, subscribers, _day(store, day),
                                                 dry_run=dry_run, whole_file=only is None))


@contextmanager
def _progress(total: int) -> Iterator[None]:
    with err.status(f"Sending {total} digest{'s' if total != 1 else ''}…"):
        yield


def _print_report(report: pipeline.RunReport) -> None:
    out.print(f"Digests of {report.day.isoformat()} via {report.transport}:", markup=False)
    for result in report.results:
        papers = f"{result.papers} paper{'s' if result.papers != 1 else ''}"
        line = f"  {result.email}: {result.status.value}"
        if result.status in (pipeline.Status.SENT, pipeline.Status.WOULD_SEND):
            line += f" {papers}"
        if result.detail:
            line += f" ({result.detail})" if result.status is not pipeline.Status.SENT \
                else f" → {result.detail}"
        out.print(line, markup=False)


# --- demo ----------------------------------------------------------------------------------------


@app.command()
@errors
def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo keeps its files.")]
    = Path("newsletter-demo"),
) -> None:
    """Run the whole daily job offline on bundled sample data, into a local Maildir outbox."""
    sample = files("newsletter") / "sample"
    settings = load_settings(
        db=folder / "newsletter.db", outbox=folder / "outbox",
        subscribers=Path(str(sample / "subscribers.example.yaml")), smtp_host=None,
    )
    subscribers_of(settings)
    papers = Path(str(sample / "2025-08-29.json"))
    with Store.open(settings.db) as store:
        for fetched in fetching.import_files(store, [papers], None, pipeline.utc_now):
            out.print(_fetch_line(fetched).replace(str(papers), "sample Hugging Face day"),
                      markup=False)
    _print_report(run_send(settings, None, None, dry_run=False))
    out.print(f"\nOpen the digests with any mail client that reads Maildir, or look at "
              f"{settings.outbox}/new/*.eml. Run again: nothing new is sent.", markup=False)


# --- entry point ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (callable from tests)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="newsletter")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

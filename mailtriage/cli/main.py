"""The `mailtriage` command: the group, its commands registered in one list, and the one-line error edge.

Imports of the heavy parts happen inside the commands, so `mailtriage --help` stays fast.
Every MailtriageError becomes one clear line on stderr and an exit code; never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mailtriage import __version__
from mailtriage.cli import doctor, documents, explain, init, login, mailbox, privacy, rules, threads
from mailtriage.cli.common import Context
from mailtriage.errors import MailtriageError
from mailtriage.store.dbfile import DatabaseFault, store_error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", type=click.Path(dir_okay=False, path_type=Path), default="rules.yaml",
              envvar="MAILTRIAGE_CONFIG", show_default=True, help="The rules file (env MAILTRIAGE_CONFIG).")
@click.version_option(__version__, prog_name="mailtriage")
@click.pass_context
def cli(ctx: click.Context, config: Path) -> None:
    """Keep an inbox inside its promised response windows.

    \b
    Example:
      mailtriage -c rules.yaml validate
    """
    if isinstance(ctx.obj, Context):  # given by main(), which names the database in its errors
        ctx.obj.config = config
    else:
        ctx.obj = Context(config)


COMMANDS = (
    init.init, rules.validate, rules.schema, rules.match, rules.deadline,
    mailbox.check, mailbox.run, mailbox.status, mailbox.demo, doctor.doctor,
    threads.threads, threads.done, threads.snooze, threads.stats, threads.summary,
    explain.explain, explain.preview,
    documents.standards, documents.report, documents.calendar,
    login.login, threads.wait,
    privacy.forget, privacy.export, privacy.purge,
)
for command in COMMANDS:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning our errors into one line and an exit code."""
    import logging
    import os

    # pydantic reads every installed package's entry points for plugins when it builds the first
    # model: 10-20 ms of each command, for plugins mailtriage does not use.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ours = logging.getLogger("mailtriage")
    if not ours.handlers:
        ours.addHandler(handler)
        ours.setLevel(logging.INFO)
    context = Context(Path("rules.yaml"))
    try:
        cli.main(args=argv, prog_name="mailtriage", standalone_mode=False, obj=context)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except MailtriageError as exc:
        click.echo(str(exc), err=True)
        sys.exit(exc.exit_code)
    except DatabaseFault as exc:  # a commit deep in a check: the disk filled up, the file broke
        problem = store_error(exc, context.database or Path("the database"))
        click.echo(str(problem), err=True)
        sys.exit(problem.exit_code)

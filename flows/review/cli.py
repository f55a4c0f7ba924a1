"""`nianbao review`: the review app, and the exports of what reviewers decided.

    nianbao review SOURCE [--host 127.0.0.1] [--port 8765] [--reviewer NAME]
    nianbao review export SOURCE [--out DIR]          the dataset with reviewed values
    nianbao review export-gold SOURCE --out DIR       fully reviewed reports as gold labels
    nianbao review label-studio-export SOURCE --out tasks.json   open fields as Label Studio tasks
                                                      (and its labeling config, tasks.xml)
    nianbao review label-studio-import SOURCE EXPORT.json        Label Studio's annotations as decisions

SOURCE: an output folder of `nianbao run` or `nianbao extract`, a SQLite file, or a
database URL (postgresql://…).
"""

from __future__ import annotations

import argparse
import getpass
import socket
import sys
from pathlib import Path

ACTIONS = ("serve", "export", "export-gold", "label-studio-export", "label-studio-import")


def add_parser(sub) -> None:
    rev = sub.add_parser("review", help="review flagged fields in the browser; export reviewed data and gold",
                         description=__doc__.split("\n\n")[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    rev.add_argument("words", nargs="+", metavar="[ACTION] SOURCE [FILE]",
                     help=f"action ({', '.join(ACTIONS)}; default serve) and what to review")
    rev.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    rev.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free port)")
    rev.add_argument("--reviewer", default=None, help="name kept with every decision (default: the login name)")
    rev.add_argument("--out", help="export: folder for the dataset (default SOURCE/export); "
                     "export-gold: folder for the gold files (required); label-studio-export: "
                     "the tasks file (required)")
    rev.set_defaults(run=run, parser=rev)


def run(args: argparse.Namespace) -> int:
    from ..store import OldSchema
    from .source import SourceError, open_source

    action, target, file = _action_and_target(args)
    if file is not None and not Path(file).is_file():
        args.parser.error(f"{file}: no such file")
    try:
        source = open_source(target)
    except (SourceError, OldSchema) as err:
        args.parser.error(str(err))
    from .queue import load_items

    items = load_items(source.engine)
    if action == "label-studio-export":
        from .labelstudio import export_tasks

        if not args.out:
            args.parser.error("label-studio-export needs --out FILE (e.g. tasks.json)")
        count = export_tasks(source.engine, items, Path(args.out))
        print(f"label studio: {count} tasks in {args.out}, labeling config in {Path(args.out).with_suffix('.xml')}")
        return 0
    if action == "label-studio-import":
        from .labelstudio import import_annotations

        done = import_annotations(source.engine, Path(file))
        print(f"label studio: {done['recorded']} decisions recorded, {done['unchanged']} unchanged, "
              f"{done['unannotated']} tasks not annotated, {done['skipped']} skipped")
        for problem in done["problems"]:
            print(f"  {problem}")
        return 0
    if action == "export-gold":
        from .gold import export_gold

        if not args.out:
            args.parser.error("export-gold needs --out DIR (e.g. eval/gold/)")
        written = export_gold(source.engine, items, Path(args.out))
        print(f"gold: {len(written)} fully reviewed reports written to {args.out}")
        return 0
    export_dir = Path(args.out) if args.out else source.folder / "export" if source.folder else None
    if action == "export":
        from .. import export as exports

        if export_dir is None:
            args.parser.error("export of a database URL needs --out DIR")
        for path in exports.export(source.engine, export_dir):
            print(path)
        return 0
    return _serve(args, source.engine, items, export_dir)


def _action_and_target(args: argparse.Namespace) -> tuple[str, str, str | None]:
    """(action, SOURCE, FILE): FILE only for label-studio-import, which needs it."""
    words = args.words
    if len(words) == 1 and words[0] not in ACTIONS:
        return "serve", words[0], None
    if len(words) == 2 and words[0] in ACTIONS and words[0] != "label-studio-import":
        return words[0], words[1], None
    if len(words) == 3 and words[0] == "label-studio-import":
        return words[0], words[1], words[2]
    args.parser.error(f"usage: nianbao review [{'|'.join(ACTIONS[:-1])}] SOURCE, "
                      "or nianbao review label-studio-import SOURCE EXPORT.json")


def _serve(args: argparse.Namespace, engine, items, export_dir: Path | None) -> int:
    import uvicorn

    from .app import Review, create_app

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as err:
        args.parser.error(f"cannot listen on {args.host}:{args.port}: {err.strerror} (try --port 0)")
    port = sock.getsockname()[1]
    shown = f"[{args.host}]" if family == socket.AF_INET6 else args.host
    hosts = [args.host, shown, f"{shown}:{port}"]
    if args.host in ("127.0.0.1", "::1"):
        hosts += ["localhost", f"localhost:{port}"]
    reviewer = args.reviewer or getpass.getuser()
    app = create_app(Review(engine, items, reviewer, export_dir), hosts)
    if args.host not in ("127.0.0.1", "::1", "localhost"):
        print(f"nianbao review: listening on {args.host}, reachable from other machines", file=sys.stderr)
    print(f"nianbao review: http://{shown}:{port}/ — {len(items)} flagged fields; reviewer {reviewer}; "
          "Ctrl-C to stop", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])
    return 0

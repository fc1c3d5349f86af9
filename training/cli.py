"""The ``newslens`` command line: train, evaluate, predict, serve.

Results go to stdout (JSON); logs and progress bars go to stderr. User mistakes (bad data,
a missing model, a bad config) end with one clear ``error:`` line and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from model.bundle import BundleError
from model.paths import default_model_dir

from .config import ConfigError, load_config
from .data import SUFFIXES, DataValidationError

log = logging.getLogger("newslens")


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    config = load_config(args.config, data_root=args.data_root)
    path = train(config, args.out, progress=not args.quiet)
    log.info("model saved to %s", path)
    print(str(path))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from model.predictor import Predictor

    from .evaluate import evaluate, headline
    from .train import read_files

    predictor = Predictor.load(args.model)
    records, _ = read_files([Path(p) for p in args.data], progress=not args.quiet)
    log.info("evaluating %s on %d articles", predictor.info.path, len(records))
    result = evaluate(predictor, records, progress=not args.quiet)
    out = headline(result) if args.json else result
    print(json.dumps(out, ensure_ascii=False, indent=None if args.json else 2))
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from model.predictor import Predictor

    from .data import read_records

    predictor = Predictor.load(args.model)
    if args.input == "-":
        items = [("", sys.stdin.read())]
    elif args.input.endswith(SUFFIXES):
        items = [(r.title, r.text) for r in read_records(args.input)]
    else:
        path = Path(args.input)
        if not path.is_file():
            raise ValueError(f"{path}: no such file. Pass a .txt article, a data file ({', '.join(SUFFIXES)}) or - for stdin.")
        items = [("", path.read_text(encoding="utf-8", errors="replace"))]
    for title, text in items:
        print(predictor.predict(text, title).to_json())
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from serve.app import launch

    auth = tuple(args.auth.split(":", 1)) if args.auth else None
    if auth is not None and (len(auth) != 2 or not all(auth)):
        raise ValueError("--auth takes USER:PASSWORD, both non-empty.")
    if args.model is None:
        try:
            default_model_dir()
        except BundleError:
            if not args.train_if_missing:
                raise
            # First run on a fresh machine: make the default model, then serve it.
            from .train import train

            log.info("No trained model yet: training the default baseline first (a few minutes).")
            train(load_config(None), progress=not args.quiet)
    launch(model=args.model, host=args.host, port=args.port, auth=auth)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newslens", description="Vietnamese news: type, topics, keywords and summary.")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or info logs")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a model (default config: VNTC, DANeS, VietNews)")
    p.add_argument("--config", help="training config JSON (default: training/default_config.json)")
    p.add_argument("--out", help="bundle folder to write (default: a new folder under $NEWSLENS_HOME)")
    p.add_argument("--data-root", help="folder that relative data paths start from (default: $NEWSLENS_DATA or ../shared/data)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled data")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("--data", action="append", required=True, help="labelled data file; repeat for several")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the headline metrics")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="analyse articles; one JSON result per article")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("input", nargs="?", default="-", help="a .txt article, a data file, or - for stdin (default)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("serve", help="start the web app")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--auth", help="USER:PASSWORD required to open the page (use it when binding beyond 127.0.0.1)")
    p.add_argument("--no-train", dest="train_if_missing", action="store_false",
                   help="fail instead of training the default model when none exists")
    p.set_defaults(func=_cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s", stream=sys.stderr)
    if getattr(args, "model", None) is None and args.command in ("evaluate", "predict"):
        try:
            args.model = str(default_model_dir())
        except BundleError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        return args.func(args)
    except (DataValidationError, BundleError, ConfigError, ValueError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

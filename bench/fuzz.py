"""Fuzzing at scale: the properties of tests/test_fuzz.py on thousands of generated inputs.

    python bench/fuzz.py [--examples 2000] [--model DIR] [--only predict,data,documents]

For each reader it counts the inputs tried, the outcomes by kind (answers, "text is empty",
each kind of data-file problem, each kind of DocumentError), tracebacks (exceptions the
reader should have turned into its own error: target 0), silent row losses (a data file
read without a problem but with fewer records than rows: target 0) and other broken
properties, and times the slowest inputs. Inputs come from the same hypothesis strategies
as the tests (generation only, no shrinking: every failure is counted, with a sample).

``predict`` runs on ``--model`` (default: the tiny synthetic model the tests train in a few
seconds; the properties do not depend on the model). A fixed ``slow inputs`` section times
``predict`` on long runs of sentence punctuation (model/text.py's sentence regex was
quadratic on them: 66 s for 30,000 "."; now linear). Documents are read with
MAX_INFLATED_BYTES at 200 KB so that generated .docx bombs stay quick to make.
Writes bench/results/fuzz.json.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the strategies and checks of tests/test_fuzz.py

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import test_fuzz as fuzz  # noqa: E402
from bench.common import RESULTS, machine, write_report  # noqa: E402
from model import limits  # noqa: E402
from model.predictor import Predictor  # noqa: E402

SAMPLES = 5  # failures and slow inputs kept per section
SLOW_S = 2.0  # the bound for reading one upload


def describe(value) -> str:
    """A short, printable picture of a generated input."""
    if isinstance(value, fuzz.DataCase):
        return f"{value.fmt} file, {len(value.records)} rows, damage {value.damage}, {len(value.content):,} bytes: " \
               f"{value.content[:120]!r}"
    if isinstance(value, tuple) and len(value) == 3 and isinstance(value[1], bytes):  # a document
        return f"{value[0]} of {len(value[1]):,} bytes: {value[1][:120]!r}"
    text, title = value
    runs = sorted(((len(m.group()), m.group()[0]) for m in _RUN.finditer(text)), reverse=True)[:3]
    shown = ", ".join(f"{n:,} x {c!r}" for n, c in runs) or "none"
    return f"text of {len(text):,} chars (longest runs of one char: {shown}), title of {len(title)}: {text[:100]!r}"


_RUN = re.compile(r"(.)\1{99,}", re.DOTALL)  # 100 or more of one character


def run(name: str, strategy, check, examples: int) -> dict:
    """Apply ``check`` to ``examples`` generated inputs; count what happened."""
    outcomes: Counter = Counter()
    problem_kinds: Counter = Counter()  # data files: the kinds of problems reported (a file may have several)
    failures: dict[str, list[dict]] = {"traceback": [], "silent row loss": [], "property violated": []}
    slowest: list[tuple[float, int, object]] = []  # (seconds, input number, input), described at the end
    tried = over_slow = 0

    @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def body(value):
        nonlocal tried, over_slow
        tried += 1
        start = time.perf_counter()
        try:
            result = check(value)
        except fuzz.SilentRowLoss as e:
            kind, detail = "silent row loss", str(e)
        except AssertionError as e:
            kind, detail = "property violated", str(e)[:500]
        except Exception as e:  # noqa: BLE001 - a traceback is what this counts
            kind, detail = "traceback", f"{type(e).__name__}: {e}"[:500] + "\n" + traceback.format_exc()[-1500:]
        else:
            kind = None
            if isinstance(result, list):  # a data file's problem kinds
                outcomes["problems reported" if result else "read cleanly"] += 1
                problem_kinds.update(result)
            else:
                outcomes[result] += 1
        seconds = time.perf_counter() - start
        over_slow += seconds > SLOW_S
        if kind is not None:
            outcomes[kind] += 1
            if len(failures[kind]) < SAMPLES:
                failures[kind].append({"input": describe(value), "error": detail})
        if len(slowest) < SAMPLES or seconds > slowest[-1][0]:
            slowest.append((seconds, tried, value))
            slowest.sort(key=lambda s: -s[0])
            del slowest[SAMPLES:]

    start = time.perf_counter()
    body()
    report = {"inputs": tried, "seconds": round(time.perf_counter() - start, 1), "outcomes": dict(outcomes.most_common()),
              "tracebacks": outcomes["traceback"], "property_violations": outcomes["property violated"],
              "samples": {k: v for k, v in failures.items() if v},
              "slowest": [{"seconds": round(s, 3), "input": describe(v)} for s, _, v in slowest],
              f"inputs_over_{SLOW_S:g}_s": over_slow}
    if name == "data":
        report["silent_row_losses"] = outcomes["silent row loss"]
        report["problem_kinds"] = dict(problem_kinds.most_common())
    losses = f", silent row losses {report['silent_row_losses']}" if name == "data" else ""
    print(f"{name}: {tried} inputs in {report['seconds']} s; tracebacks {report['tracebacks']}, "
          f"violations {report['property_violations']}{losses}; slowest {slowest[0][0] if slowest else 0:.2f} s",
          flush=True)
    return report


def tiny_predictor(folder: Path) -> Predictor:
    from conftest import make_records, small_params

    from training.baseline import fit_baseline

    model = fit_baseline(make_records(), small_params(), progress=False)
    return Predictor.load(model.save(folder / "tiny", card="# tiny fuzz model"))


def slow_inputs(predictor: Predictor, sizes: tuple[int, ...]) -> list[dict]:
    """``predict`` timed on long runs of one character or of sentence punctuation."""
    rows = []
    for what, unit in (("'.' run", "."), ("'…' run", "…"), ("'!?' run", "!?"), ("'x' run (control)", "x")):
        for n in sizes:
            text = "Bóng đá " + unit * (n // len(unit))
            start = time.perf_counter()
            predictor.predict(text)
            seconds = time.perf_counter() - start
            rows.append({"input": what, "chars": len(text), "seconds": round(seconds, 3)})
            print(f"slow inputs: {what} of {len(text):,} chars: {seconds:.2f} s", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000, help="generated inputs per reader (default 2000)")
    parser.add_argument("--model", help="bundle folder for predict (default: a tiny synthetic model)")
    parser.add_argument("--only", default="predict,data,documents", help="comma-separated: predict, data, documents")
    parser.add_argument("--slow-sizes", default="2500,5000,10000",
                        help="lengths of the punctuation runs timed in 'slow inputs' (empty: skip)")
    parser.add_argument("--out", default=str(RESULTS / "fuzz.json"))
    args = parser.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}

    report: dict = {"machine": machine(), "examples": args.examples,
                    "limits": {"MAX_TEXT_CHARS": limits.MAX_TEXT_CHARS, "MAX_INFLATED_BYTES (documents)": 200_000}}
    with tempfile.TemporaryDirectory(prefix="newslens-fuzz-") as tmp:
        folder = Path(tmp)
        if "predict" in only:
            predictor = Predictor.load(args.model) if args.model else tiny_predictor(folder)
            report["model"] = args.model or "tiny synthetic (tests/conftest.py)"
            report["predict"] = run("predict", st.tuples(fuzz.any_text, fuzz.any_title),
                                    lambda v: fuzz.check_predict(predictor, *v), args.examples)
            sizes = tuple(int(s) for s in args.slow_sizes.split(",") if s.strip())
            if sizes:
                report["predict"]["slow_inputs"] = slow_inputs(predictor, sizes)
        if "data" in only:
            (folder / "data").mkdir()
            report["data"] = run("data", fuzz.data_cases(), lambda case: fuzz.check_data_file(case, folder / "data"),
                                 args.examples)
        if "documents" in only:
            (folder / "documents").mkdir()
            limits.MAX_INFLATED_BYTES = 200_000
            report["documents"] = run("documents", fuzz.documents(),
                                      lambda doc: fuzz.check_document(*doc, folder / "documents"), args.examples)
    sections = [report[k] for k in ("predict", "data", "documents") if k in report]
    report["targets"] = {
        "tracebacks": {"value": sum(s["tracebacks"] for s in sections), "target": 0},
        "property_violations": {"value": sum(s["property_violations"] for s in sections), "target": 0},
        "silent_row_losses": {"value": report.get("data", {}).get("silent_row_losses", 0), "target": 0},
    }
    met = all(t["value"] == t["target"] for t in report["targets"].values())
    report["targets_met"] = met
    write_report(report, args.out)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

"""Choose the type recipe for today's news on dev splits carved from the training files.

    python bench/type_recipes.py [--quick] [--only NAME ...]

Fits each candidate recipe on the fit part of ``vntc/train`` + ``recent/train`` and scores
it on their dev parts (``training/splits.py``: a fixed 15% of each file, chosen by a hash of
the record id). No test file is read. Writes ``bench/results/type_recipes.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.linear_model import SGDClassifier  # noqa: E402

from model.features import TfidfFeatures, TfidfParams, analysis_text, lead_text  # noqa: E402
from model.paths import data_dir  # noqa: E402
from training.baseline import fit_routed_type_head, fit_type_head, headline_views  # noqa: E402
from training.baseline import type_estimator as type_estimator_for  # noqa: E402
from training.config import BaselineParams  # noqa: E402
from training.data import read_records  # noqa: E402
from training.metrics import classification  # noqa: E402
from training.evaluate import source_group  # noqa: E402
from training.splits import danes_type_proxy, dev_split  # noqa: E402

DEV_SHARE = 0.15
OUT = Path(__file__).with_name("results") / "type_recipes.json"
SHORT_TERMS = 200  # TF-IDF terms: headline + lead has ~50-120, a full article ~1,000
# The routed recipe before the headline blocks and the era copy (2026-12-01): the extra-block
# rows compare with it; "shipped_default" is what default_config.json trains now.
PREVIOUS = BaselineParams(type_epochs=10, type_headline_weight=0.0, type_current_era_copy=False)
CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "newslens-type-recipes"  # features, between runs


def load(name: str):
    records = [r for r in read_records(data_dir() / name) if r.type is not None]
    return dev_split(records, DEV_SHARE)


def group(r) -> str:
    return source_group(r.source) if r.source and r.source.startswith("recent/") else "vntc"


def score(pred: np.ndarray, dev) -> dict:
    out = {}
    truth = np.array([r.type for r in dev])
    groups = np.array([group(r) for r in dev])
    labels = sorted(set(truth))
    for g in ["vntc", "recent/dantri-vnexpress-2024", "recent/vnexpress-2022-23", "recent"]:
        m = np.char.startswith(groups.astype(str), g)
        if m.any():
            c = classification(list(truth[m]), list(pred[m]), labels)
            out[g] = {"accuracy": round(c["accuracy"], 4), "macro_f1": round(c["macro_f1"], 4), "n": int(m.sum())}
    return out


def paired_gain(shipped: np.ndarray, candidate: np.ndarray, mask: np.ndarray, dev) -> dict:
    """The candidate's accuracy gain over the shipped head on the same dev articles (``mask``),
    with a paired 95% bootstrap interval (2,000 resamples, seeded), and how many articles only
    one of them gets right."""
    truth = np.array([r.type for r in dev])
    a, b = (shipped == truth)[mask], (candidate == truth)[mask]
    rng = np.random.default_rng(0)
    diffs = [b[i].mean() - a[i].mean() for i in (rng.integers(0, len(a), len(a)) for _ in range(2000))]
    return {"gain": round(float(b.mean() - a.mean()), 4),
            "ci": [round(float(np.percentile(diffs, 2.5)), 4), round(float(np.percentile(diffs, 97.5)), 4)],
            "only_candidate_right": int((b & ~a).sum()), "only_shipped_right": int((a & ~b).sum())}


def sgd(alpha: float, seed: int = 0) -> SGDClassifier:
    return SGDClassifier(loss="modified_huber", alpha=alpha, max_iter=30, tol=None, average=True,
                         random_state=seed, n_jobs=-1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", nargs="*", help="run only these recipes")
    ap.add_argument("--full", action="store_true", help="also fit the product's stacked, calibrated head")
    args = ap.parse_args()

    vntc_fit, vntc_dev = load("vntc/train.jsonl.gz")
    recent_fit, recent_dev = load("recent/train.jsonl.gz")
    print(f"fit: vntc {len(vntc_fit)}, recent {len(recent_fit)}; dev: vntc {len(vntc_dev)}, recent {len(recent_dev)}", flush=True)
    dev = vntc_dev + recent_dev
    recent = np.array([group(r) != "vntc" for r in dev])  # today's dev articles; the rest are VNTC's

    cache: dict = {}

    def features(params: TfidfParams, title_repeat: int = 1):
        key = (params, title_repeat)
        if key not in cache:
            def view(r):
                title = " \n".join([r.title] * title_repeat) if r.title else ""
                return analysis_text(r.text, title)
            t = time.perf_counter()
            disk = CACHE / hashlib.sha1(repr(key).encode()).hexdigest()[:12]
            if (disk / "X.npz").exists():
                X, Xd = sp.load_npz(disk / "X.npz"), sp.load_npz(disk / "Xd.npz")
            else:
                feats, X = TfidfFeatures.fit_transform([view(r) for r in vntc_fit + recent_fit], params)
                Xd = feats.transform([view(r) for r in dev])
                disk.mkdir(parents=True, exist_ok=True)
                sp.save_npz(disk / "X.npz", X, compressed=False)
                sp.save_npz(disk / "Xd.npz", Xd, compressed=False)
            cache.clear()
            cache[key] = (X, Xd)
            print(f"  tfidf {params} x{title_repeat}: {X.shape[1]} terms in {time.perf_counter() - t:.0f} s", flush=True)
        return cache[key]

    base = TfidfParams()
    y_all = np.array([r.type for r in vntc_fit + recent_fit])
    is_recent = np.r_[np.zeros(len(vntc_fit), bool), np.ones(len(recent_fit), bool)]
    short = np.array([len(r.text) < 600 for r in vntc_fit + recent_fit])
    short_dev = np.array([len(r.text) < 600 for r in dev])

    def run(name, X, Xd, rows=None, weight=None, alpha=1e-5):
        rows = np.arange(X.shape[0]) if rows is None else rows
        t = time.perf_counter()
        clf = sgd(alpha).fit(X[rows], y_all[rows], sample_weight=None if weight is None else weight[rows])
        res = score(clf.predict(Xd), dev)
        res["fit_s"] = round(time.perf_counter() - t, 1)
        return res

    def augment(X, flag):
        # Frustratingly easy domain adaptation (Daume 2007), with an observable domain:
        # short inputs (headline + lead) get a second copy of their features.
        return sp.hstack([X, sp.diags(flag.astype(np.float32)) @ X]).tocsr()

    def era_gated(mode: str):
        # Separate features per era (Daume 2007): a shared copy and one per era; the era of
        # an article to answer is estimated by a classifier on the same features.
        X, Xd = features(base)
        era = is_recent.astype(np.float32)
        Xa = sp.hstack([X, sp.diags(1 - era) @ X, sp.diags(era) @ X]).tocsr()
        t = time.perf_counter()
        clf = sgd(1e-5).fit(Xa, y_all)
        gate = sgd(1e-5).fit(X, is_recent.astype(int))
        truth_era = np.array([group(r) != "vntc" for r in dev], dtype=np.float32)
        p_r = gate.predict_proba(Xd)[:, 1]
        V = X.shape[1]
        W, b = clf.coef_, clf.intercept_
        def predict(p):
            s = Xd @ W[:, :V].T + (sp.diags(1 - p) @ Xd) @ W[:, V:2 * V].T + (sp.diags(p) @ Xd) @ W[:, 2 * V:].T + b
            return clf.classes_[np.argmax(s, 1)]
        res = {"era_accuracy": round(float(((p_r > 0.5) == truth_era).mean()), 4)}
        res["oracle"] = score(predict(truth_era), dev)
        res["soft"] = score(predict(p_r.astype(np.float32)), dev)
        res["hard"] = score(predict((p_r > 0.5).astype(np.float32)), dev)
        res["fit_s"] = round(time.perf_counter() - t, 1)
        return res

    def routed(epochs: int, stacked: bool, with_short: bool = True, scale: float = 1.0):
        # The product's recipe: shared features + one copy per era + one for short inputs,
        # the era routed (hard) by a classifier, the head stacked and calibrated as shipped.
        # ``scale`` multiplies the era copies: less regularisation of what is era-specific.
        X, Xd = features(base)
        era = is_recent.astype(np.float32)
        gate = sgd(1e-5).fit(X, is_recent.astype(int))
        p_r = (gate.predict_proba(Xd)[:, 1] > 0.5).astype(np.float32)
        nnz, nnz_d = np.diff(X.indptr), np.diff(Xd.indptr)
        def aug(M, e, n):
            blocks = [M, sp.diags(scale * (1 - e)) @ M, sp.diags(scale * e) @ M]
            if with_short:
                blocks.append(sp.diags((n < SHORT_TERMS).astype(np.float32)) @ M)
            return sp.hstack(blocks).tocsr()
        t = time.perf_counter()
        params = BaselineParams(type_epochs=epochs, type_nb_svm=stacked)
        head = fit_type_head(aug(X, era, nnz), list(y_all), params)
        res = score(np.array(head.labels)[np.argmax(head.proba(aug(Xd, p_r, nnz_d)), 1)], dev)
        res["fit_s"] = round(time.perf_counter() - t, 1)
        return res

    def plain(epochs: int, stacked: bool, vntc_only: bool):
        X, Xd = features(base)
        rows = np.flatnonzero(~is_recent) if vntc_only else np.arange(X.shape[0])
        t = time.perf_counter()
        head = fit_type_head(X[rows], list(y_all[rows]), BaselineParams(type_epochs=epochs, type_nb_svm=stacked))
        res = score(np.array(head.labels)[np.argmax(head.proba(Xd), 1)], dev)
        res["fit_s"] = round(time.perf_counter() - t, 1)
        return res

    def education():
        # "Giáo dục" as an 11th label, from recent/'s education articles (type null in the
        # shared files), with the shipped recipe; scored on the other labels and on education.
        records = read_records(data_dir() / "recent/train.jsonl.gz")
        edu = [replace(r, type="Giáo dục") for r in records if r.type is None and (r.source or "").endswith("/education")]
        edu_fit, edu_dev = dev_split(edu, DEV_SHARE)
        feats, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in vntc_fit + recent_fit + edu_fit], base)
        Xd = feats.transform([analysis_text(r.text, r.title) for r in dev + edu_dev])
        out, preds = {}, {}
        shipped_params = BaselineParams(type_epochs=5)  # what default_config.json trains
        for name, fit_records in (("10 labels", vntc_fit + recent_fit), ("11 labels", vntc_fit + recent_fit + edu_fit)):
            head = fit_routed_type_head(X[: len(fit_records)], fit_records, shipped_params)
            pred = preds[name] = np.array(head.labels)[np.argmax(head.proba(Xd, headline_views(dev + edu_dev)), 1)]
            res = score(pred[: len(dev)], dev)  # the articles of the 10 labels
            said = pred == "Giáo dục"
            truth = np.r_[np.zeros(len(dev), bool), np.ones(len(edu_dev), bool)]
            tp = int((said & truth).sum())
            res["education"] = {"n": len(edu_dev), "recall": round(tp / max(int(truth.sum()), 1), 4),
                                "precision": round(tp / max(int(said.sum()), 1), 4),
                                "vntc_dev_called_education": int(said[: len(vntc_dev)].sum()),
                                "recent_dev_called_education": int(said[len(vntc_dev): len(dev)].sum())}
            out[name] = res
        # The 11-label head against the 10-label one on the same dev articles of the 10 labels.
        ten, eleven = preds["10 labels"][: len(dev)], preds["11 labels"][: len(dev)]
        out.update(paired_gains(ten, eleven))
        return out

    def shipped(params: BaselineParams):
        # The product's own code (training/baseline.py fit_routed_type_head) on the fit part.
        X, Xd = features(base)
        t = time.perf_counter()
        head = fit_routed_type_head(X, vntc_fit + recent_fit, params)
        res = {"fit_s": round(time.perf_counter() - t, 1)}
        views = headline_views(dev)
        res["routed"] = score(np.array(head.labels)[np.argmax(head.proba(Xd, views), 1)], dev)
        current = head.router.is_current(Xd)
        res["era_agreement"] = round(float((current == np.array([group(r) != "vntc" for r in dev])).mean()), 4)
        # each head alone on every dev article: the archive head is the recipe before recent/ was added
        res["archive_head_alone"] = score(np.array(head.archive.labels)[np.argmax(head.archive.proba(Xd), 1)], dev)
        cur = head._current_proba(Xd, views)
        res["current_head_alone"] = score(np.array(head.labels)[np.argmax(cur, 1)], dev)
        # How to route: hard at a shifted boundary, or a soft mixture of the two heads weighted
        # by the era classifier's own probability (modified Huber: (d + 1) / 2, clipped).
        arch = np.zeros_like(cur)
        arch[:, [head.labels.index(l) for l in head.archive.labels]] = head.archive.proba(Xd)
        d = np.asarray(Xd @ head.router.coef).ravel() + head.router.intercept
        for shift in (0.0, 0.25, 0.5, 1.0):
            w = (d + shift > 0).astype(float)[:, None]
            res[f"hard_shift_{shift}"] = score(np.array(head.labels)[np.argmax(w * cur + (1 - w) * arch, 1)], dev)
        for shift in (0.0, 0.5):
            w = np.clip((d + shift + 1) / 2, 0, 1)[:, None]
            res[f"soft_shift_{shift}"] = score(np.array(head.labels)[np.argmax(w * cur + (1 - w) * arch, 1)], dev)
        return res

    shipped_head: dict = {}

    def shipped_once():
        """(X, Xd, fit records, params, the routed head of ``PREVIOUS``), fitted once a run: what
        the extra blocks below were measured against."""
        X, Xd = features(base)
        fit_records = vntc_fit + recent_fit
        params = PREVIOUS
        if "head" not in shipped_head:
            shipped_head["head"] = fit_routed_type_head(X, fit_records, params)
        return X, Xd, fit_records, params, shipped_head["head"]

    def shipped_features() -> TfidfFeatures:
        """The fit part's TF-IDF space as a fitted object (``features`` caches only its matrices),
        for rows the cache does not hold; fitted once a run."""
        if "features" not in shipped_head:
            shipped_head["features"], _ = TfidfFeatures.fit_transform(
                [analysis_text(r.text, r.title) for r in vntc_fit + recent_fit], base)
        return shipped_head["features"]

    def block(kind: str, fit_records, head, X, Xd):
        """One extra feature block for the current head (rows of the fit part, rows of dev):
        "char_short": character 2-4-grams of the headline + lead, for short inputs only
        (the topics head's kind of features, fitted on the short training articles);
        "title_main": the headline's row in the articles' own vocabulary (free at answer time);
        "title": the headline's own word features (a vocabulary of its own), for every article."""
        if kind == "char_short":
            views = [lead_text(analysis_text(r.text, r.title)) for r in fit_records]
            views_d = [lead_text(analysis_text(r.text, r.title)) for r in dev]
            short_fit = head.router.is_short(X)
            char_params = TfidfParams(analyzer="char_wb", ngram_min=2, ngram_max=4, min_df=2, max_df=1.0,
                                      max_features=300_000)
            cf, _ = TfidfFeatures.fit_transform([v for v, s_ in zip(views, short_fit) if s_], char_params)
            B = sp.diags(short_fit.astype(np.float32)) @ cf.transform(views)
            Bd = sp.diags(head.router.is_short(Xd).astype(np.float32)) @ cf.transform(views_d)
        elif kind == "era_copy":
            # Daume's copy for the current era (the stacked recipe's, inside the routed design):
            # training rows of today's sources get a second copy of their features; at answer
            # time the router has already said "current", so every routed input has it.
            B = sp.diags(np.array([not r.source.startswith("vntc/") for r in fit_records], np.float32)) @ X
            Bd = Xd
        elif kind == "title_main":
            feats = shipped_features()
            B = feats.transform([(r.title or "").lower() for r in fit_records])
            Bd = feats.transform([(r.title or "").lower() for r in dev])
        else:
            tf, _ = TfidfFeatures.fit_transform([(r.title or "").lower() for r in fit_records],
                                                TfidfParams(min_df=2, max_df=0.5, max_features=200_000))
            B, Bd = tf.transform([(r.title or "").lower() for r in fit_records]), tf.transform([(r.title or "").lower() for r in dev])
        return B, Bd

    def against_default(**changes):
        """The default routed head with ``changes`` against the default itself, fitted in the
        same run on the same records: dev articles of both eras and the DANeS proxy, with
        paired 95% intervals of the gain."""
        X, Xd = features(base)
        proxy, Xp, _ = proxy_rows()
        views, views_p = headline_views(dev), headline_views(proxy)
        out, preds = {}, {}
        for name, params in (("default", BaselineParams(type_epochs=5)),
                             ("candidate", BaselineParams(type_epochs=5, **changes))):
            if name == "default" and "default" in shipped_head:  # fitted once a run
                out[name], preds[name] = shipped_head["default"]
                continue
            t = time.perf_counter()
            head = fit_routed_type_head(X, vntc_fit + recent_fit, params)
            labels = np.array(head.labels)
            pred, pred_p = labels[np.argmax(head.proba(Xd, views), 1)], labels[np.argmax(head.proba(Xp, views_p), 1)]
            preds[name] = (pred, pred_p)
            res = score(pred, dev)
            res["proxy"] = proxy_accuracy(pred_p)
            res["fit_s"] = round(time.perf_counter() - t, 1)
            out[name] = res
            if name == "default":
                shipped_head["default"] = (res, preds[name])
            print(f"  {name}: {json.dumps(res)}", flush=True)
        (a, a_p), (b, b_p) = preds["default"], preds["candidate"]
        return {**out, **paired_gains(a, b, a_p, b_p)}

    def archive_vocabulary():
        """Does today's vocabulary crowd VNTC out? The archive head (default recipe) fitted on
        VNTC's fit part in three vocabularies, scored on VNTC dev, paired against the shared one."""
        vntc_dev_records = [r for r in dev if group(r) == "vntc"]
        truth = np.array([r.type for r in vntc_dev_records])
        preds, out = {}, {}
        for name, fit_texts, cap in (("shared_600k", vntc_fit + recent_fit, 600_000),
                                     ("vntc_only_600k", vntc_fit, 600_000),
                                     ("shared_uncapped", vntc_fit + recent_fit, None)):
            t = time.perf_counter()
            feats, X = TfidfFeatures.fit_transform([analysis_text(r.text, r.title) for r in fit_texts],
                                                   replace(base, max_features=cap))
            head = fit_type_head(X[: len(vntc_fit)], [r.type for r in vntc_fit], BaselineParams(type_epochs=5))
            Xd = feats.transform([analysis_text(r.text, r.title) for r in vntc_dev_records])
            preds[name] = np.array(head.labels)[head.proba(Xd).argmax(1)]
            out[name] = {"terms": X.shape[1], "vntc_dev_accuracy": round(float((preds[name] == truth).mean()), 4),
                         "fit_s": round(time.perf_counter() - t, 1)}
            print(f"  {name}: {out[name]}", flush=True)
        everything = np.ones(len(truth), bool)
        for name in ("vntc_only_600k", "shared_uncapped"):
            out[name]["paired"] = paired_gain(preds["shared_600k"], preds[name], everything, vntc_dev_records)
        return out

    def proxy_rows():
        """The DANeS proxy (``danes_type_proxy``): its records, their rows in the fit part's
        TF-IDF space and their types; read once a run."""
        if "proxy" not in shipped_head:
            proxy = danes_type_proxy(read_records(data_dir() / "danes/train.jsonl.gz"))
            Xp = shipped_features().transform([analysis_text(r.text, r.title) for r in proxy])
            shipped_head["proxy"] = (proxy, Xp, np.array([r.type for r in proxy]))
        return shipped_head["proxy"]

    def proxy_accuracy(pred_p: np.ndarray) -> dict:
        _, _, truth_p = proxy_rows()
        return {"accuracy": round(float((pred_p == truth_p).mean()), 4), "n": len(truth_p)}

    def paired_gains(base_pred, pred, base_proxy=None, pred_proxy=None) -> dict:
        """Paired gains of ``pred`` over ``base_pred`` on today's dev articles and VNTC's, and
        on the DANeS proxy when its predictions are given."""
        out = {"recent_paired": paired_gain(base_pred, pred, recent, dev),
               "vntc_paired": paired_gain(base_pred, pred, ~recent, dev)}
        if pred_proxy is not None:
            proxy = proxy_rows()[0]
            out["proxy_paired"] = paired_gain(base_proxy, pred_proxy, np.ones(len(proxy), bool), proxy)
        return out

    def proxy_of_simple_heads():
        """The DANeS proxy read by simpler heads than the default (one SGD head over both eras,
        VNTC alone; the issue's plain LinearSVC), beside the default: does the routed design
        lose articles of neither era that one plain head would get?"""
        X, Xd = features(base)
        _, Xp, _ = proxy_rows()
        out = {}
        heads = {"sgd_both": (sgd(1e-5), np.arange(X.shape[0])),
                 "sgd_vntc_only": (sgd(1e-5), np.flatnonzero(~is_recent)),
                 "linear_svc_both_C0.5": (type_estimator_for(BaselineParams(type_classifier="svm")), np.arange(X.shape[0]))}
        for name, (clf, rows) in heads.items():
            clf.fit(X[rows], y_all[rows])
            res = score(clf.predict(Xd), dev)
            res["proxy"] = proxy_accuracy(clf.predict(Xp))
            out[name] = res
            print(f"  {name}: {json.dumps(res)}", flush=True)
        return out

    def generalist_mix():
        """The default routed head mixed with one calibrated head over both eras (a
        generalist, no routing, no era copy, no headline blocks): ``(1 - beta) * routed + beta *
        generalist``. Same rule as ``mixtures``."""
        X, Xd = features(base)
        proxy, Xp, _ = proxy_rows()
        params = BaselineParams(type_epochs=5)
        t = time.perf_counter()
        head = fit_routed_type_head(X, vntc_fit + recent_fit, params)
        t_routed = time.perf_counter() - t
        labels = np.array(head.labels)
        routed_d, routed_p = head.proba(Xd, headline_views(dev)), head.proba(Xp, headline_views(proxy))
        base_dev, base_proxy = labels[routed_d.argmax(1)], labels[routed_p.argmax(1)]
        out: dict = {}
        for kind, gparams in (("sgd", replace(params, type_nb_svm=False)), ("stacked", params)):
            t = time.perf_counter()
            general = fit_type_head(X, list(y_all), gparams)
            t_general = time.perf_counter() - t
            order = [general.labels.index(label) for label in head.labels]
            general_d, general_p = general.proba(Xd)[:, order], general.proba(Xp)[:, order]
            res_kind = {"fit_s": {"routed": round(t_routed, 1), "generalist": round(t_general, 1)}}
            for beta in (0.0, 0.2, 0.35, 0.5, 1.0):
                pred = labels[((1 - beta) * routed_d + beta * general_d).argmax(1)]
                pred_p = labels[((1 - beta) * routed_p + beta * general_p).argmax(1)]
                res = score(pred, dev)
                res["proxy"] = proxy_accuracy(pred_p)
                if beta:
                    res.update(paired_gains(base_dev, pred, base_proxy, pred_p))
                res_kind[f"beta_{beta}"] = res
                print(f"  {kind} beta {beta}: {json.dumps(res)}", flush=True)
            out[kind] = res_kind
        return out

    def mixtures():
        """The two heads mixed, ``lam * current + (1 - lam) * archive`` for every input, against
        hard routing: on the dev articles of both eras, and on articles of neither (the DANeS
        proxy: other outlets, the Covid years, headline + lead; ``danes_type_proxy``). Rule fixed before
        the run: the highest proxy accuracy among the mixes that lose nothing outside the paired
        interval on VNTC dev or on today's dev articles; hard routing if none gains."""
        X, Xd = features(base)
        params = BaselineParams(type_epochs=5)  # what default_config.json trains
        t = time.perf_counter()
        head = fit_routed_type_head(X, vntc_fit + recent_fit, params)
        proxy, Xp, truth_p = proxy_rows()
        labels = np.array(head.labels)
        archive_columns = [head.labels.index(label) for label in head.archive.labels]

        def parts(M, views):
            cur = head._current_proba(M, views)
            arch = np.zeros_like(cur)
            arch[:, archive_columns] = head.archive.proba(M)
            return head.proba(M, views), cur, arch

        dev_parts, proxy_parts = parts(Xd, headline_views(dev)), parts(Xp, headline_views(proxy))
        out: dict = {"fit_s": round(time.perf_counter() - t, 1), "proxy_n": len(proxy)}
        rules = {"routed": lambda routed, cur, arch: routed}
        for lam in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            rules[f"mix_{lam}"] = lambda routed, cur, arch, lam=lam: lam * cur + (1 - lam) * arch
        rules["geometric"] = lambda routed, cur, arch: np.log(cur + 1e-9) + np.log(arch + 1e-9)
        base_dev = labels[np.argmax(dev_parts[0], 1)]
        base_proxy = labels[np.argmax(proxy_parts[0], 1)]
        for name, rule in rules.items():
            pred, pred_p = labels[np.argmax(rule(*dev_parts), 1)], labels[np.argmax(rule(*proxy_parts), 1)]
            res = score(pred, dev)
            res["proxy"] = {"accuracy": round(float((pred_p == truth_p).mean()), 4),
                            "macro_f1": round(classification(list(truth_p), list(pred_p), sorted(set(truth_p)))["macro_f1"], 4)}
            if name != "routed":
                res.update(paired_gains(base_dev, pred, base_proxy, pred_p))
            out[name] = res
            print(f"  {name}: {json.dumps(res)}", flush=True)
        return out

    def extra_block(kind: str, weight: float, *more: tuple[str, float]):
        # The shipped routed head, whose current head also reads one or more blocks of
        # features (``block``), each scaled by its weight.
        X, Xd, fit_records, params, head = shipped_once()
        t = time.perf_counter()
        blocks = [(block(k, fit_records, head, X, Xd), w) for k, w in [(kind, weight), *more]]
        B = sp.hstack([w * b for (b, _), w in blocks], format="csr")
        Bd = sp.hstack([w * bd for (_, bd), w in blocks], format="csr")
        design = sp.hstack([head.router.with_short_block(X), B], format="csr")
        design_d = sp.hstack([head.router.with_short_block(Xd), Bd], format="csr")
        current = fit_type_head(design, [r.type for r in fit_records],
                                replace(params, calibration_folds=params.type_current_folds))
        proba = np.zeros((Xd.shape[0], len(head.labels)))
        route = head.router.is_current(Xd)
        proba[route] = current.proba(design_d[route])
        proba[np.ix_(~route, [head.labels.index(l) for l in head.archive.labels])] = head.archive.proba(Xd[~route])
        res = {"fit_s": round(time.perf_counter() - t, 1), "extra_terms": B.shape[1]}
        pred, shipped_pred = (np.array(head.labels)[np.argmax(p, 1)] for p in (proba, head.proba(Xd)))
        res["routed"] = score(pred, dev)
        res["shipped_same_run"] = score(shipped_pred, dev)
        res["recent_paired"] = paired_gain(shipped_pred, pred, recent, dev)
        return res

    def router_reads_untyped():
        # The era router learns from typed records only; recent/'s education articles are
        # untyped in the shared files, so it never saw one. Here it also reads the untyped
        # records of recent/train's fit part (as current). Scored: the 10 labels on dev, and
        # how many of recent/train's dev education articles each router calls current.
        from model.baseline import EraRouter, RoutedTypeHead
        X, Xd, fit_records, params, head = shipped_once()
        feats = shipped_features()
        untyped = [r for r in read_records(data_dir() / "recent/train.jsonl.gz") if r.type is None]
        u_fit, u_dev = dev_split(untyped, DEV_SHARE)
        # X's columns come from the cached matrix; the untyped rows must be in the same space.
        Xf = feats.transform([analysis_text(r.text, r.title) for r in fit_records])
        same_space = (Xf != X).nnz == 0
        Xu, Xud = feats.transform([analysis_text(r.text, r.title) for r in u_fit]), feats.transform(
            [analysis_text(r.text, r.title) for r in u_dev])
        current = np.r_[np.array([not r.source.startswith("vntc/") for r in fit_records]), np.ones(len(u_fit), bool)]
        gate = type_estimator_for(params).fit(sp.vstack([X, Xu]).tocsr(), current.astype(int))
        router = EraRouter(gate.coef_[0].astype(np.float32), float(gate.intercept_[0]))
        wide = RoutedTypeHead(head.labels, head.archive, head.current, router)
        res = {"untyped_fit": len(u_fit), "untyped_dev": len(u_dev), "same_space": bool(same_space)}
        res["shipped"] = score(np.array(head.labels)[np.argmax(head.proba(Xd), 1)], dev)
        res["router_reads_untyped"] = score(np.array(head.labels)[np.argmax(wide.proba(Xd), 1)], dev)
        res["untyped_dev_routed_current"] = {"shipped": round(float(head.router.is_current(Xud).mean()), 4),
                                             "router_reads_untyped": round(float(router.is_current(Xud).mean()), 4)}
        truth_era = np.array([group(r) != "vntc" for r in dev])
        res["era_agreement"] = {"shipped": round(float((head.router.is_current(Xd) == truth_era).mean()), 4),
                                "router_reads_untyped": round(float((router.is_current(Xd) == truth_era).mean()), 4)}
        return res

    def with_short_views(which: str):
        # The shipped routed head, fitted with one more typed record per full-text training
        # article: its headline and first paragraph (training/newdata.py short_views, what a
        # retrain already adds for new records), so both input shapes are taught from every
        # outlet, not only the 2022-23 leads. which: "recent" (Dec 2024 full texts) or "all"
        # (VNTC too; the router sends VNTC's to the archive head by their source).
        from training.newdata import short_views
        X, Xd, fit_records, params, head = shipped_once()
        feats = shipped_features()
        pool = [r for r in fit_records if which == "all" or not r.source.startswith("vntc/")]
        views = short_views(pool)
        Xs = feats.transform([analysis_text(r.text, r.title) for r in views])
        t = time.perf_counter()
        wide = fit_routed_type_head(sp.vstack([X, Xs]).tocsr(), fit_records + views, params)
        res = {"short_views": len(views), "fit_s": round(time.perf_counter() - t, 1)}
        a_pred = np.array(head.labels)[np.argmax(head.proba(Xd), 1)]
        b_pred = np.array(wide.labels)[np.argmax(wide.proba(Xd), 1)]
        res["routed"] = score(b_pred, dev)
        res["shipped_same_run"] = score(a_pred, dev)
        res.update(paired_gains(a_pred, b_pred))
        return res

    recipes = {
        "short_views_recent": lambda: with_short_views("recent"),
        "short_views_all": lambda: with_short_views("all"),
        "router_reads_untyped": router_reads_untyped,
        "current_char_short_w0.5": lambda: extra_block("char_short", 0.5),
        "current_char_short_w1": lambda: extra_block("char_short", 1.0),
        "current_title_block_w0.5": lambda: extra_block("title", 0.5),
        "current_title_main_w0.5": lambda: extra_block("title_main", 0.5),
        "current_title_main_w1": lambda: extra_block("title_main", 1.0),
        "current_title_main_w0.25": lambda: extra_block("title_main", 0.25),
        "current_era_copy_w1": lambda: extra_block("era_copy", 1.0),
        "current_char_short_title_block_era_copy": lambda: extra_block("char_short", 0.5, ("title", 0.5), ("era_copy", 1.0)),
        "current_char_short_and_title_block_w0.5": lambda: extra_block("char_short", 0.5, ("title", 0.5)),
        "shipped_routed_two_heads": lambda: shipped(BaselineParams()),
        "shipped_e10_folds2": lambda: shipped(BaselineParams(type_epochs=10, calibration_folds=2)),
        "shipped_e10": lambda: shipped(BaselineParams(type_epochs=10, type_current_folds=3)),
        "shipped_default": lambda: shipped(BaselineParams(type_epochs=10)),  # what default_config.json trains
        "shipped_previous": lambda: shipped(PREVIOUS),
        "shipped_e5": lambda: shipped(BaselineParams(type_epochs=5)),
        "shipped_e5_crossfit": lambda: shipped(BaselineParams(type_epochs=5, type_crossfit=True)),
        "shipped_crossfit": lambda: shipped(BaselineParams(type_epochs=10, type_crossfit=True)),
        "shipped_current_head_current_era": lambda: shipped(BaselineParams(type_epochs=10, type_current_reads_archive=False)),
        "education_label": education,
        "mixtures": mixtures,
        "archive_vocabulary": archive_vocabulary,
        "generalist_mix": generalist_mix,
        "proxy_of_simple_heads": proxy_of_simple_heads,
        "complement_nb": lambda: against_default(type_complement_nb=True),
        "no_era_copy": lambda: against_default(type_current_era_copy=False),
        "no_headline_blocks": lambda: against_default(type_headline_weight=0.0),
        "no_nb_svm": lambda: against_default(type_nb_svm=False),
        "routed_e10_stacked": lambda: routed(10, True),
        "routed_e10_single": lambda: routed(10, False),
        "routed_e30_single": lambda: routed(30, False),
        "routed_e10_single_scale2": lambda: routed(10, False, scale=2.0),
        "routed_e10_single_scale3": lambda: routed(10, False, scale=3.0),
        "routed_e10_stacked_scale2": lambda: routed(10, True, scale=2.0),
        "shipped_vntc_only": lambda: plain(30, True, True),
        "shipped_both": lambda: plain(30, True, False),
        "era_gated": lambda: era_gated("all"),
        "vntc_only": lambda: run("vntc_only", *features(base), rows=np.flatnonzero(~is_recent)),
        "both": lambda: run("both", *features(base)),
        "both_recent_x2": lambda: run("x2", *features(base), weight=np.where(is_recent, 2.0, 1.0)),
        "both_alpha5e-6": lambda: run("a", *features(base), alpha=5e-6),
        "both_alpha2e-5": lambda: run("a", *features(base), alpha=2e-5),
        "both_short_aug": lambda: (lambda X, Xd: run("aug", augment(X, short), augment(Xd, short_dev)))(*features(base)),
        "both_1m_terms": lambda: run("1m", *features(TfidfParams(max_features=1_000_000))),
        "both_title_x2": lambda: run("t2", *features(base, 2)),
    }
    if args.full:
        def full(aug: bool):
            X, Xd = features(base)
            if aug:
                X, Xd = augment(X, short), augment(Xd, short_dev)
            t = time.perf_counter()
            head = fit_type_head(X, list(y_all), BaselineParams())
            res = score(np.array(head.labels)[np.argmax(head.proba(Xd), 1)], dev)
            res["fit_s"] = round(time.perf_counter() - t, 1)
            return res
        recipes["full_both"] = lambda: full(False)
        recipes["full_both_short_aug"] = lambda: full(True)

    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for name, fn in recipes.items():
        if args.only and name not in args.only:
            continue
        res = fn()
        results[name] = res
        print(name, json.dumps(res, ensure_ascii=False), flush=True)
        OUT.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

"""Fine-tune the multi-task transformer on 2 CPU cores, then combine it with a baseline.

The recipe, in the order it runs (``fit_transformer``):
1. hold out a slice of each task's training records (the encoder never sees them): they choose the
   topic thresholds and the weights of the transformer/baseline combination;
2. fit the TF-IDF baseline on the rest;
3. fine-tune: lower encoder layers and word embeddings frozen, one task per step drawn by
   ``task_weights``, each loss only over records with that label, length-bucketed batches;
   checkpoints every ``checkpoint_every`` steps, ``resume=True`` continues from the last;
4. refit the topics head as a logistic regression on the fine-tuned document vectors
   (``fit_topic_probe``);
5. choose the combination on the held-out slices;
6. refit the baseline and the topics head on every record, held-out ones included.
"""
from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from model.baseline import BaselineModel
from model.summary import select_sentences
from model.text import read_article, split_sentences
from model.torch_net import MultiTaskNet, make_batch
from model.transformer import Combination, TransformerModel, choose_topics, combine_sentence_scores
from model.windows import Encoded, WindowParams, encode_article

from . import distributed
from .baseline import fit_baseline
from .common import sample_records, step, topic_matrix, tune_thresholds
from .config import TrainConfig, TransformerParams
from .data import Record
from .metrics import multilabel, rouge_n, rouge_tokens
from .oracle import greedy_oracle
from .pretrained import load_base_model
from .splits import task_holdout

log = logging.getLogger("newslens.train")
CHECKPOINT = "checkpoint.pt"
TASKS = ("type", "topics", "summary")

# Articles encoded at once when the fine-tuned encoder reads held-out or topic records:
# bounds the memory of one forward pass over padded windows.
ENCODE_CHUNK = 32
# Batches sorted by length together (TaskBatches): enough for batches that pad little, few
# enough that every epoch still mixes its batches differently.
LENGTH_SORT_BATCHES = 50
# The topics task reads short leads, so its batches hold this many times batch_size windows.
TOPICS_BATCH_FACTOR = 2
# Seed salt of the task schedule: its draws differ from those of generators seeded by ``seed`` alone.
SCHEDULE_SALT = 7
# Running mean of each task's loss for the progress bar and the report: weight of the newest step.
LOSS_SMOOTHING = 0.1
# Gradients are clipped to this norm, so one bad batch cannot undo the pretrained weights.
MAX_GRAD_NORM = 1.0
# Type weight choice: accuracy first; the mean log-loss, at this weight, only breaks ties.
LOG_LOSS_TIE_BREAK = 1e-3
# Added to a probability before its logarithm, so a zero gives a large finite loss.
LOG_EPSILON = 1e-9
# A topic always or never present among the probe's records gets its base rate, smoothed by
# this pseudo-count (half a positive in one more record), so its logit stays finite.
BASE_RATE_PSEUDO_COUNT = 0.5


@dataclass
class Example:
    encoded: Encoded
    sentences: list  # body sentences (summary task only)
    target: Any  # type index, topic multi-hot, or oracle sentence labels


# --- data ------------------------------------------------------------------------------------
def split_task_holdout(records: list[Record], params: TransformerParams,
                       preferred: list[Record] | None = None) -> tuple[list[Record], dict[str, list[Record]]]:
    """(training records, held-out records per task); a record is held out for at most one task
    (``splits.task_holdout``: ``params.holdout`` records per task, never more than a fifth).
    ``preferred`` records (a retrain's new data) are never held out: they are what it must learn."""
    chosen = {id(r) for r in preferred or ()}
    if not chosen:
        return task_holdout(records, TASKS, params.holdout, params.seed)
    train, held = task_holdout([r for r in records if id(r) not in chosen], TASKS, params.holdout, params.seed)
    return train + [r for r in records if id(r) in chosen], held


def repeat_preferred(rows: list[Record], preferred: list[Record] | None, weight: float) -> list[Record]:
    """``rows`` with each preferred record ``round(weight)`` times in all: the sample weight of
    the baseline, as the fine-tuning sampler draws examples uniformly."""
    copies = int(round(weight)) - 1
    chosen = {id(r) for r in preferred or ()}
    if copies <= 0 or not chosen:
        return rows
    return rows + [r for r in rows if id(r) in chosen] * copies


def article_parts(r: Record) -> tuple[str, str]:
    """(title, body), read the way ``Predictor`` reads them."""
    article = read_article(r.text, r.title)
    return article.title, article.body


def build_examples(records: list[Record], tokenizer, type_labels: list[str], topic_labels: list[str],
                   params: TransformerParams, progress: bool,
                   preferred: list[Record] | None = None, preferred_weight: float = 1.0) -> dict[str, list[Example]]:
    """Tokenised examples per task. ``type_max_records`` and ``summary_max_records`` cap the
    typed and summarised records (a seeded sample, each from a fresh generator); ``preferred``
    records (the new data of a retrain) are always kept, ``round(preferred_weight)`` times each."""
    typed = sample_records([r for r in records if r.type is not None], params.type_max_records,
                           np.random.default_rng(params.seed), preferred)
    topical = [r for r in records if r.topics is not None]
    summarised = sample_records([r for r in records if r.summary is not None], params.summary_max_records,
                                np.random.default_rng(params.seed), preferred)
    out: dict[str, list[Example]] = {t: [] for t in TASKS}
    for task, rows in (("type", typed), ("topics", topical), ("summary", summarised)):
        if params.task_weights.get(task, 0) <= 0:
            continue
        rows = repeat_preferred(rows, preferred, preferred_weight)
        for r in tqdm(rows, desc=f"tokenise {task}", disable=not progress, leave=False):
            title, body = article_parts(r)
            enc = encode_article(tokenizer, title, body)
            if task == "type":
                out[task].append(Example(enc, [], type_labels.index(r.type)))
            elif task == "topics":
                out[task].append(Example(enc, [], topic_matrix([r.topics], topic_labels, np.float32)[0]))
            else:
                sentences = split_sentences(body)
                if not sentences:
                    continue
                chosen = greedy_oracle([s.text for s in sentences], r.summary)
                target = np.zeros(len(sentences), np.float32)
                target[chosen] = 1
                out[task].append(Example(enc, sentences, target))
    return out


class TaskBatches:
    """Length-bucketed batches of one task, reshuffled every epoch from (seed, epoch).

    Everything is a function of the step number, so a resumed run sees the same batches.
    """

    def __init__(self, examples: list[Example], batch_size: int, seed: int):
        self.examples, self.batch_size, self.seed = examples, batch_size, seed
        self.per_epoch = max(1, math.ceil(len(examples) / batch_size))

    def batch(self, k: int) -> list[Example]:
        epoch, i = divmod(k, self.per_epoch)
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.examples))
        # Sort by length within chunks of batches, so a batch pads little but epochs still differ.
        chunk = LENGTH_SORT_BATCHES * self.batch_size
        order = np.concatenate([sorted(order[c:c + chunk], key=lambda j: len(self.examples[j].encoded.ids))
                                for c in range(0, len(order), chunk)])
        batches = [order[b:b + self.batch_size] for b in range(0, len(order), self.batch_size)]
        batches = [batches[j] for j in rng.permutation(len(batches))]
        return [self.examples[j] for j in batches[i]]


def task_schedule(weights: dict[str, float], available: list[str], n_steps: int, seed: int) -> list[str]:
    tasks = [t for t in TASKS if t in available and weights.get(t, 0) > 0]
    p = np.array([weights[t] for t in tasks], float)
    rng = np.random.default_rng([seed, SCHEDULE_SALT])
    return [tasks[j] for j in rng.choice(len(tasks), n_steps, p=p / p.sum())]


# --- the model -------------------------------------------------------------------------------
def prepare_net(encoder: nn.Module, n_types: int, n_topics: int, params: TransformerParams) -> MultiTaskNet:
    """Heads on the encoder; word embeddings and the lowest ``frozen_layers`` layers frozen.

    ``params.dropout`` is every dropout of the net, the encoder's included (e5's own is 0.1,
    the default, so the default recipe is unchanged; 0 makes a run independent of how its
    batches are split, which the multi-process test relies on)."""
    torch.manual_seed(params.seed)  # the heads' initial weights: the same run gives the same model
    for module in encoder.modules():
        if isinstance(module, nn.Dropout):
            module.p = params.dropout
    net = MultiTaskNet(encoder, n_types, n_topics, params.dropout)
    encoder.embeddings.word_embeddings.weight.requires_grad_(False)
    if params.frozen_layers:
        for p in encoder.embeddings.parameters():
            p.requires_grad_(False)
        for layer in encoder.encoder.layer[: params.frozen_layers]:
            for p in layer.parameters():
                p.requires_grad_(False)
    return net


def task_loss(net: MultiTaskNet, task: str, examples: list[Example], windows: WindowParams,
              special_ids: dict[str, int], params: TransformerParams) -> torch.Tensor:
    """The loss of one task's batch; other heads are not touched (partial labels)."""
    sentences = [e.sentences for e in examples] if task == "summary" else None
    batch = make_batch([e.encoded for e in examples], sentences, windows, max_windows=params.train_windows, **special_ids)
    out = net(batch)
    device = out["doc"].device
    if task == "type":
        target = torch.tensor([e.target for e in examples], dtype=torch.long, device=device)
        return nn.functional.cross_entropy(out["type"], target, label_smoothing=params.label_smoothing)
    if task == "topics":
        target = torch.from_numpy(np.stack([e.target for e in examples])).to(device)
        return nn.functional.binary_cross_entropy_with_logits(out["topics"], target)
    target = torch.from_numpy(np.concatenate([e.target for e in examples])).to(device)
    covered = out["covered"]  # sentences past the training windows carry no signal
    if not covered.any():
        return out["sentences"].sum() * 0.0
    return nn.functional.binary_cross_entropy_with_logits(out["sentences"][covered], target[covered])


def make_optimizer(net: MultiTaskNet, params: TransformerParams) -> tuple[torch.optim.Optimizer, Any]:
    encoder = [p for p in net.encoder.parameters() if p.requires_grad]
    heads = [p for n, p in net.named_parameters() if not n.startswith("encoder.") and p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": encoder, "lr": params.lr_encoder}, {"params": heads, "lr": params.lr_heads}],
        weight_decay=params.weight_decay,
    )
    warmup = max(1, int(params.warmup * params.max_steps))

    def factor(s: int) -> float:  # linear warm-up, then linear decay to 0 at max_steps
        return min((s + 1) / warmup, max(0.0, (params.max_steps - s) / max(1, params.max_steps - warmup)))

    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def trainable_state(net: MultiTaskNet) -> dict[str, torch.Tensor]:
    names = {n for n, p in net.named_parameters() if p.requires_grad}
    return {k: v.cpu() for k, v in net.state_dict().items() if k in names}


def save_checkpoint(path: Path, net, optimizer, scheduler, step_no: int, elapsed: float, losses: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"step": step_no, "elapsed": elapsed, "losses": losses, "model": trainable_state(net),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, tmp)
    os.replace(tmp, path)  # a kill during the save leaves the previous checkpoint intact


def load_checkpoint(path: Path, net, optimizer, scheduler) -> tuple[int, float, dict]:
    state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and numbers only: no code runs
    net.load_state_dict(state["model"], strict=False)
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    return int(state["step"]), float(state["elapsed"]), dict(state["losses"])


def check_device(params: TransformerParams) -> None:
    if params.device != "cpu" and not torch.cuda.is_available():
        raise ValueError(f"transformer.device is {params.device!r} but torch sees no GPU here; use --device cpu.")


def fine_tune(net: MultiTaskNet, examples: dict[str, list[Example]], windows: WindowParams,
              special_ids: dict[str, int], params: TransformerParams, workdir: Path,
              resume: bool = False, progress: bool = True) -> dict[str, Any]:
    """The training loop. Returns what happened (steps, seconds, final losses)."""
    torch.manual_seed(params.seed)
    available = [t for t in TASKS if examples.get(t)]
    if not available:
        raise ValueError("no training examples for any task (type, topics or summary).")
    check_device(params)
    device = distributed.device_for_rank(params.device)
    if distributed.world() > params.batch_size:
        raise ValueError(f"batch_size {params.batch_size} is smaller than the {distributed.world()} processes; "
                         "each process needs a share of every batch.")
    net.to(device)  # before the optimizer is made, so its state lives beside the weights
    sizes = {"type": params.batch_size, "summary": params.batch_size, "topics": TOPICS_BATCH_FACTOR * params.batch_size}
    batches = {t: TaskBatches(examples[t], sizes[t], params.seed + i) for i, t in enumerate(TASKS) if t in available}
    n_micro = params.max_steps * params.grad_accumulation
    schedule = task_schedule(params.task_weights, available, n_micro, params.seed)
    seen: dict[str, int] = {}
    nth = []  # nth[k]: how many batches of schedule[k]'s task came before micro-step k
    for task in schedule:
        nth.append(seen.get(task, 0))
        seen[task] = nth[-1] + 1
    optimizer, scheduler = make_optimizer(net, params)
    checkpoint = workdir / CHECKPOINT
    start_step, elapsed, losses = 0, 0.0, {}
    if resume and checkpoint.is_file():
        start_step, elapsed, losses = load_checkpoint(checkpoint, net, optimizer, scheduler)
        log.info("resumed from %s at step %d (%.0f s already spent)", checkpoint, start_step, elapsed)
    elif resume:
        log.info("no checkpoint in %s; starting from the beginning", workdir)
    model = distributed.wrap(net, device)  # DDP under torchrun, else the net itself
    net.train()
    began = time.perf_counter() - elapsed
    curve: dict[str, list] = {"task": [], "loss": []}  # the global batch's loss at every micro-step
    bar = tqdm(total=params.max_steps, initial=start_step, desc="fine-tune", unit="step",
               disable=not progress or not distributed.is_main())
    step_no, stopped = start_step, "max_steps"
    while step_no < params.max_steps:
        if params.time_budget_s and distributed.any_rank(time.perf_counter() - began >= params.time_budget_s):
            stopped = "time_budget"
            break
        optimizer.zero_grad(set_to_none=True)
        for micro in range(params.grad_accumulation):
            k = step_no * params.grad_accumulation + micro
            task = schedule[k]
            # Under torchrun each rank takes its share of the same global batch and weights its loss
            # by that share, so DDP's average of the gradients is the global batch's (see distributed.shard).
            examples, share = distributed.shard(batches[task].batch(nth[k]))
            loss = task_loss(model, task, examples, windows, special_ids, params) * share
            (loss / params.grad_accumulation).backward()
            value = distributed.mean_across_ranks(float(loss.detach()))
            curve["task"].append(task)
            curve["loss"].append(round(value, 5))
            losses[task] = (1 - LOSS_SMOOTHING) * losses.get(task, value) + LOSS_SMOOTHING * value  # running mean
        nn.utils.clip_grad_norm_([p for p in net.parameters() if p.requires_grad], MAX_GRAD_NORM)
        optimizer.step()
        scheduler.step()
        step_no += 1
        bar.update(1)
        bar.set_postfix({t: f"{v:.3f}" for t, v in losses.items()})
        if (step_no % params.checkpoint_every == 0 or step_no == params.max_steps) and distributed.is_main():
            save_checkpoint(checkpoint, net, optimizer, scheduler, step_no, time.perf_counter() - began, losses)
    bar.close()
    net.eval()
    net.to("cpu")  # the bundle answers on the CPU
    seconds = time.perf_counter() - began
    if stopped == "time_budget" and distributed.is_main():
        save_checkpoint(checkpoint, net, optimizer, scheduler, step_no, seconds, losses)
        log.info("time budget reached after %d of %d steps", step_no, params.max_steps)
    distributed.barrier()  # every rank done (and rank 0's last checkpoint written) before any goes on
    return {"steps": step_no, "max_steps": params.max_steps, "seconds": round(seconds, 1), "stopped": stopped,
            "losses": {t: round(v, 4) for t, v in losses.items()}, "processes": distributed.world(),
            "loss_curve": curve}


# --- topics head ---------------------------------------------------------------------------
def fit_topic_probe(model: TransformerModel, records: list[Record], c: float, progress: bool) -> dict[str, Any]:
    """Refit the topics head as a logistic regression on the encoder's document vectors.

    Why: the jointly trained head sees about 1,100 short leads for a few hundred noisy steps.
    A strongly regularised logistic regression per topic, on the same (now fixed) vectors,
    scored micro-F1 0.554 alone and 0.594 combined on danes/test, where the joint head scored
    0.506 and 0.552 (README, Results). It is linear
    in the document vector, so it is folded into ``net.topics_head``: the bundle format and
    the prediction cost stay as they were.
    """
    from sklearn.linear_model import LogisticRegression

    labelled = [r for r in records if r.topics is not None]
    if c <= 0 or not labelled or not model.topic_labels:
        return {}
    parts = [article_parts(r) for r in labelled]
    texts = [b for _, b in parts]
    titles = [t for t, _ in parts]
    docs = []
    for i in tqdm(range(0, len(texts), ENCODE_CHUNK), desc="topic document vectors", disable=not progress, leave=False):
        chunk = texts[i:i + ENCODE_CHUNK]
        docs += [e["doc"] for e in model.encode(chunk, titles[i:i + ENCODE_CHUNK], [split_sentences(t) for t in chunk])]
    X = np.stack(docs).astype(np.float64)
    Y = topic_matrix([r.topics for r in labelled], model.topic_labels)
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale
    coef = np.zeros((len(model.topic_labels), X.shape[1]))
    intercept = np.zeros(len(model.topic_labels))
    for j in range(Y.shape[1]):
        if Y[:, j].min() == Y[:, j].max():  # a topic always or never present here: its base rate
            rate = (Y[:, j].sum() + BASE_RATE_PSEUDO_COUNT) / (len(Y) + 2 * BASE_RATE_PSEUDO_COUNT)
            intercept[j] = np.log(rate / (1 - rate))
            continue
        lr = LogisticRegression(C=c, solver="liblinear").fit(Z, Y[:, j])
        coef[j], intercept[j] = lr.coef_[0], lr.intercept_[0]
    # w . (x - mean) / scale + b  ==  (w / scale) . x + (b - w . mean / scale)
    weight = coef / scale
    bias = intercept - weight @ mean
    head = model.net.topics_head
    with torch.no_grad():
        head.weight.copy_(torch.as_tensor(weight, dtype=head.weight.dtype))
        head.bias.copy_(torch.as_tensor(bias, dtype=head.bias.dtype))
    log.info("topics head: refitted as logistic regression (C=%g) on %d leads", c, len(labelled))
    return {"records": len(labelled), "c": c}


# --- combination -----------------------------------------------------------------------------
# The transformer's weights tried in each task's combination: 0 (baseline alone) to 1 (transformer alone) by 0.1.
GRID = [round(x, 2) for x in np.linspace(0, 1, 11)]
# Topic thresholds of a model before ``choose_combination`` tunes them on held-out records.
INITIAL_TOPIC_THRESHOLD = 0.5


def choose_combination(model: TransformerModel, held: dict[str, list[Record]], progress: bool) -> tuple[Combination, np.ndarray, dict]:
    """Weights (and topic thresholds) that do best on the held-out records of each task."""
    report: dict[str, Any] = {}
    weights = {"type": 0.0, "topics": 0.0, "summary": 0.0}
    thresholds = model.topic_thresholds
    for task in TASKS:
        records = held.get(task) or []
        if not records or (task == "type" and not model.type_labels) or (task == "topics" and not model.topic_labels):
            continue
        parts = [article_parts(r) for r in records]
        base = model.baseline.scores([b for _, b in parts], [t for t, _ in parts])
        enc = []
        for i in tqdm(range(0, len(records), ENCODE_CHUNK), desc=f"held-out {task}", disable=not progress, leave=False):
            enc += model.encode(base.texts[i:i + ENCODE_CHUNK], base.titles[i:i + ENCODE_CHUNK],
                                base.sentences[i:i + ENCODE_CHUNK])
        scores = {}
        if task == "type":
            truth = np.array([model.type_labels.index(r.type) if r.type in model.type_labels else -1 for r in records])
            pt = np.stack([e["type"] for e in enc])
            pb = base.type_proba[:, model._type_order]
            for w in GRID:
                p = w * pt + (1 - w) * pb
                log_loss = float(-np.log(p[np.arange(len(truth)), truth.clip(0)] + LOG_EPSILON).mean())
                scores[w] = float((p.argmax(1) == truth).mean()) - LOG_LOSS_TIE_BREAK * log_loss
        elif task == "topics":
            Y = topic_matrix([r.topics for r in records], model.topic_labels, float)
            pt = np.stack([e["topics"] for e in enc])
            pb = base.topic_proba[:, model._topic_order]
            for w in GRID:
                p = w * pt + (1 - w) * pb
                # Thresholds are tuned on half and scored on the other half, so w is not chosen on luck.
                half = np.arange(len(records)) % 2 == 0
                th = tune_thresholds(p[half], Y[half])
                truth = [np.flatnonzero(row).tolist() for row in Y[~half]]
                scores[w] = multilabel(truth, choose_topics(p[~half], th))["micro_f1"]
        else:
            refs = [rouge_tokens(r.summary) for r in records]
            for w in GRID:
                r1 = []
                for i, ref in enumerate(refs):
                    s = combine_sentence_scores(base.sentence_scores[i], enc[i]["sentences"], enc[i]["covered"], w)
                    chosen = select_sentences(base.sentences[i], s, model.baseline.summary_params)
                    pred = rouge_tokens(" ".join(base.sentences[i][j].text for j in chosen))
                    r1.append(rouge_n(pred, ref, 1) + rouge_n(pred, ref, 2))
                scores[w] = float(np.mean(r1))
        best = max(GRID, key=lambda w: (scores[w], w))
        weights[task] = float(best)
        if task == "topics":  # final thresholds: from all held-out records, at the chosen weight
            thresholds = tune_thresholds(best * pt + (1 - best) * pb, Y).astype(np.float32)
        report[task] = {"n": len(records), "weight": float(best), "alone": round(scores[1.0], 4),
                        "baseline": round(scores[0.0], 4), "combined": round(scores[best], 4)}
        log.info("combination %s: transformer weight %.1f (held-out %s)", task, best, report[task])
    return replace(model.combination, **weights), thresholds, report


# --- everything ------------------------------------------------------------------------------
def fit_transformer(records: list[Record], config: TrainConfig, workdir: Path, progress: bool = True,
                    resume: bool = False, preferred: list[Record] | None = None,
                    preferred_weight: float = 1.0) -> TransformerModel | None:
    """The recipe of the module doc (``None`` on torchrun's ranks other than 0, after fine-tuning). ``preferred`` records (the new data of a retrain) are
    never held out, always among the records that the sampling caps keep, and count
    ``preferred_weight`` times, for the encoder and the baselines."""
    params = config.transformer
    check_device(params)  # before minutes of baseline fitting, not after
    workdir.mkdir(parents=True, exist_ok=True)
    train_part, held = split_task_holdout(records, params, preferred)
    log.info("held out for choosing thresholds and weights: %s", {t: len(v) for t, v in held.items()})
    baseline_dir = workdir / "baseline"
    if resume and (baseline_dir / "config.json").is_file():
        baseline = BaselineModel.load(baseline_dir)
        log.info("resumed: reusing the baseline fitted before the interruption")
    else:
        baseline = fit_baseline(train_part, config.baseline, progress, preferred=preferred,
                                preferred_weight=preferred_weight)
        # Under torchrun every rank fits the same baseline; one writer: two ranks renaming
        # their copies onto one folder at once made the second fail ("Directory not empty").
        if distributed.is_main():
            baseline.save(baseline_dir, card="Baseline checkpoint of a transformer training run.\n")
    type_labels, topic_labels = baseline.labels.types, baseline.labels.topics

    with step("base model", params.base_model):
        encoder, tokenizer = load_base_model(params.base_model, params.layers, progress)
    special_ids = {"cls_id": tokenizer.token_to_id("<s>"), "sep_id": tokenizer.token_to_id("</s>"),
                   "pad_id": tokenizer.token_to_id("<pad>")}
    if None in special_ids.values():
        raise ValueError(f"{params.base_model}: tokenizer lacks <s>, </s> or <pad>; only XLM-R style vocabularies are supported.")
    windows = WindowParams(params.window, params.overlap, params.max_windows)
    net = prepare_net(encoder, len(type_labels), len(topic_labels), params)
    n_train = sum(p.numel() for p in net.parameters() if p.requires_grad)
    log.info("parameters: %.1f M trainable of %.1f M", n_train / 1e6, sum(p.numel() for p in net.parameters()) / 1e6)
    with step("tokenise and oracle labels"):
        examples = build_examples(train_part, tokenizer, type_labels, topic_labels, params, progress, preferred,
                                  preferred_weight)
    log.info("training examples: %s", {t: len(v) for t, v in examples.items()})
    run = fine_tune(net, examples, windows, special_ids, params, workdir, resume, progress)
    if not distributed.is_main():
        return None  # under torchrun, rank 0 alone finishes, saves and evaluates the bundle
    run["trainable_parameters"] = n_train
    run["examples"] = {t: len(v) for t, v in examples.items()}

    model = TransformerModel(net, tokenizer, special_ids, windows, type_labels, topic_labels,
                             np.full(len(topic_labels), INITIAL_TOPIC_THRESHOLD, np.float32), baseline,
                             Combination(keywords=params.keywords), onnx=params.onnx)
    return finish_transformer(model, records, train_part, held, config, progress, run, preferred, preferred_weight)


def finish_transformer(model: TransformerModel, records: list[Record], train_part: list[Record],
                       held: dict[str, list[Record]], config: TrainConfig, progress: bool,
                       run: dict[str, Any], preferred: list[Record] | None = None,
                       preferred_weight: float = 1.0) -> TransformerModel:
    """Steps 4-6 on a fine-tuned model: topics head, combination on held-out records, refits."""
    params = config.transformer
    with step("topics head as logistic regression", f"C={params.topic_probe_c:g}"):
        probe = fit_topic_probe(model, train_part, params.topic_probe_c, progress)
    with step("choose the combination on held-out records"):
        combination, thresholds, report = choose_combination(model, held, progress)
    model.combination, model.topic_thresholds = combination, thresholds
    fitted_baseline = model.baseline
    if params.refit_baseline and any(held.values()):
        model = refit_baseline(model, records, config, progress, preferred, preferred_weight)
        if probe:  # like the baseline, the topics head then learns from the held-out leads too
            with step("refit the topics head on all records"):
                probe = fit_topic_probe(model, records, params.topic_probe_c, progress)
    model.meta["training"] = {"fine_tune": run, "held_out": report, "topic_probe": probe,
                              "baseline_refit_on_all": model.baseline is not fitted_baseline}
    return model


def refit_baseline(model: TransformerModel, records: list[Record], config: TrainConfig, progress: bool,
                   preferred: list[Record] | None = None, preferred_weight: float = 1.0) -> TransformerModel:
    """The model with its baseline refitted on every record, held-out ones included.

    The held-out records have done their job (choosing weights and thresholds); like a refit
    on all data after model selection, the baseline then learns from them too: they are a
    fifth of the topic leads. Kept as it was if a label occurs only in held-out records (the
    combination was not chosen for it).
    """
    with step("refit the baseline on all records", f"{len(records):,} articles"):
        baseline = fit_baseline(records, config.baseline, progress, preferred=preferred,
                                preferred_weight=preferred_weight)
    if baseline.labels != model.baseline.labels:
        log.info("kept the baseline fitted without the held-out records: the label sets differ")
        return model
    return replace(model, baseline=baseline)

#!/usr/bin/python3
"""Trains a YOLOv8-cls speech-emotion classifier on a spectro-dump dataset folder, on the CPU.

    scripts/train.py DATASET --out runs/emo6-n [--epochs 30] [--batch 32] [--scale n|s] ...

DATASET is what `spectro-dump --dataset ... -o DATASET` writes (docs/formats.md): manifest.csv,
spectro.json and PNGs under train/ val/ test/. Every image is decoded once into memory as uint8.

Model choice uses the `val` split only (its speakers are held out from training): the checkpoint
with the best val macro-F1 (ties: accuracy) is kept as best.pt. The `test` split is never used
for a choice; at the end it is evaluated once with best.pt and reported, per corpus, labelled
as a report.

Output folder: best.pt, last.pt (the evaluated weights plus what export needs: architecture,
labels, image size, spectro settings) and train.json (arguments, label and corpus counts,
per-epoch history, best epoch, test report). One progress line per epoch, flushed, so the run
can go to a log in the background:
    nohup scripts/train.py DATA --out runs/x > runs/x.log 2>&1 &

Reproducibility: --seed fixes the weights' initialisation, the data order and every
augmentation draw. The same seed, data and --threads give the same run (oneDNN's reductions
depend on the thread count).
"""
import argparse
import json
import os
import pathlib
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from emoclass_train import Error
from emoclass_train.augment import Augmenter
from emoclass_train.dataset import SPLITS, load_dataset, load_teacher, load_teacher_features
from emoclass_train.formats import spectro_with_defaults
from emoclass_train.model import SCALES, InputMaker, build_model, load_init, save_checkpoint
from emoclass_train.training import (EMA, CorpusAdversary, FeatureMatcher, adversary_weight, evaluate, lr_at,
                                     make_optimizer)


def log(msg):
    print(msg, flush=True)


def fail(msg):
    print(f"train: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def write_json(path, obj):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def fmt_time(s):
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


# ----------------------------------------------------------------------------------------------

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", type=pathlib.Path, help="spectro-dump dataset folder")
    p.add_argument("--out", type=pathlib.Path, required=True, help="output folder (checkpoints, train.json)")
    p.add_argument("--epochs", type=int, default=30, help="epochs (the most, with --time-budget-min)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--optimizer", choices=("adamw", "sgd"), default="adamw")
    p.add_argument("--lr", type=float, default=None, help="peak learning rate (default 1e-3 adamw, 1e-2 sgd)")
    p.add_argument("--weight-decay", type=float, default=None, help="default 0.05 adamw, 5e-4 sgd")
    p.add_argument("--warmup-epochs", type=float, default=1.0)
    p.add_argument("--final-lr-frac", type=float, default=0.01, help="cosine ends at lr * this")
    p.add_argument("--scale", choices=sorted(SCALES), default=None, help="model scale (default n, or --init's)")
    p.add_argument("--stem-stride", type=int, choices=[2, 4], default=2,
                   help="stride of the first convolution: 4 quarters every later feature map (bench/shape_probe.py)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="model input channels (default 1 for gray, 3 for colormaps; 3 with gray = replicated)")
    p.add_argument("--band-norm", action="store_true",
                   help="an experiment, not exportable: remove each mel band's mean over the voiced columns "
                        "from the input (measured and dropped, docs/training.md section 7)")
    p.add_argument("--dropout", type=float, default=0.2, help="dropout before the classifier")
    p.add_argument("--label-smoothing", type=float, default=0.1)
    p.add_argument("--balance", type=float, default=1.0,
                   help="class-weighted loss: weight = (N / (K * n_class)) ** this (0 = off)")
    p.add_argument("--corpus-balance", type=float, default=0.0,
                   help="extra per-sample weight (N / (C * n_corpus)) ** this, so small corpora count more (0 = off)")
    p.add_argument("--corpus-adversary", type=float, default=0.0,
                   help="peak weight of the reversed gradient from a corpus classifier on the pooled features (0 = off)")
    p.add_argument("--teacher", type=pathlib.Path,
                   help="teacher probabilities per source file (scripts/teacher_features.py soft)")
    p.add_argument("--teacher-weight", type=float, default=0.0,
                   help="share of the target given to the teacher's probabilities (0 = no distillation)")
    p.add_argument("--teacher-features", type=pathlib.Path,
                   help="teacher's pooled features per source file (scripts/teacher_features.py extract)")
    p.add_argument("--feature-weight", type=float, default=0.0,
                   help="weight of the feature-matching loss (cosine distance to the standardised teacher "
                        "features, through a training-only linear projector; 0 = off)")
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay for evaluated/saved weights (0 = off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", type=pathlib.Path, help="checkpoint to fine-tune from")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--time-budget-min", type=float, default=0.0,
                   help="stop cleanly (best kept) when this is spent; the cosine schedule is fitted to it")
    p.add_argument("--no-test", action="store_true", help="skip the final test-split report")
    p.add_argument("--labels", nargs="+", help="label order (default: sorted labels of the manifest)")
    g = p.add_argument_group("augmentation (dB-domain, on the batch)")
    g.add_argument("--no-aug", action="store_true", help="switch every augmentation off")
    g.add_argument("--time-shift", type=float, default=0.15, help="max shift, fraction of the width")
    g.add_argument("--time-stretch", type=float, default=0.08, help="max rate change (half of the images)")
    g.add_argument("--freq-warp", type=float, default=0.05, help="max mel-axis scale change, anchored at the bottom")
    g.add_argument("--freq-shift", type=float, default=2.0, help="max mel-axis shift in rows")
    g.add_argument("--eq-p", type=float, default=0.6, help="share of images with a random spectral tilt/EQ")
    g.add_argument("--tilt-db", type=float, default=10.0, help="max tilt, dB from lowest to highest band")
    g.add_argument("--eq-db", type=float, default=4.0, help="max EQ bump amplitude in dB")
    g.add_argument("--bandlimit-p", type=float, default=0.15, help="share with the top bands cut off")
    g.add_argument("--gain-p", type=float, default=0.5, help="share with a level offset")
    g.add_argument("--gain-db", type=float, default=8.0, help="offset range: -gain_db .. +gain_db/2")
    g.add_argument("--telephone-p", type=float, default=0.0,
                   help="share with a telephone band (3.0-3.7 kHz and 200-400 Hz cuts)")
    g.add_argument("--reverb-p", type=float, default=0.0, help="share with a room tail (RT60 0.2-0.8 s)")
    g.add_argument("--noise-p", type=float, default=0.3, help="share with an added noise floor")
    g.add_argument("--noise-min-db", type=float, default=50.0, help="noise floor, dB below the peak (closest)")
    g.add_argument("--noise-max-db", type=float, default=75.0, help="noise floor, dB below the peak (farthest)")
    g.add_argument("--time-masks", type=int, default=2)
    g.add_argument("--time-mask", type=float, default=0.10, help="max width of a time mask, fraction")
    g.add_argument("--freq-masks", type=int, default=2)
    g.add_argument("--freq-mask", type=float, default=0.10, help="max height of a frequency mask, fraction")
    g.add_argument("--mixup-p", type=float, default=0.3, help="share of batches mixed")
    g.add_argument("--mixup-alpha", type=float, default=0.4)
    a = p.parse_args(argv)
    if a.lr is None:
        a.lr = 1e-2 if a.optimizer == "sgd" else 1e-3
    if a.weight_decay is None:
        a.weight_decay = 5e-4 if a.optimizer == "sgd" else 0.05
    if a.epochs < 1 or a.batch < 2:
        p.error("--epochs must be >= 1 and --batch >= 2")
    return a


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)

    data = load_dataset(args.dataset, args.labels, log)
    labels, K = data["labels"], len(data["labels"])
    tr, va, te = data["train"], data["val"], data["test"]
    if len(tr["y"]) < args.batch:
        fail(f"only {len(tr['y'])} training images (fewer than one batch of {args.batch})")
    if len(va["y"]) == 0:
        fail("the val split is empty: model choice needs held-out speakers")
    for name, s in (("train", tr), ("val", va), ("test", te)):
        counts = np.bincount(s["y"], minlength=K)
        log(f"{name:5s} {len(s['y']):6d} images, {s['speakers']:3d} speakers | "
            + " ".join(f"{l}:{c}" for l, c in zip(labels, counts)))

    scale = args.scale
    if args.init:
        peek = torch.load(args.init, map_location="cpu", weights_only=False)
        if scale is None and isinstance(peek, dict) and "arch" in peek:
            scale = peek["arch"]["scale"]
        del peek
    scale = scale or "n"
    lut = data["lut"]
    channels = args.channels or (1 if lut is None else 3)
    if lut is not None and channels != 3:
        fail(f"a {data['colormap']} dataset needs --channels 3")
    arch = {"in_channels": channels, "num_classes": K, "scale": scale, "dropout": args.dropout}
    if args.stem_stride != 2:  # recorded only when it differs, so earlier checkpoints read the same
        arch["stem_stride"] = args.stem_stride
    model = build_model(arch)
    model.arch = arch
    if args.init:
        load_init(model, args.init, labels, log)
    model = model.to(memory_format=torch.channels_last)
    ema = EMA(model, args.ema) if args.ema > 0 else None
    make_input = InputMaker(lut, channels,
                            band_norm_top_db=spectro_with_defaults(data["spectro"])["top_db"] if args.band_norm else None)
    n_par = sum(p.numel() for p in model.parameters())
    log(f"model yolov8{scale}-cls, {channels}x{data['shape'][0]}x{data['shape'][1]} -> {K} classes, "
        f"{n_par:,d} parameters, threads {torch.get_num_threads()}")

    # Loss weights: classes (and optionally corpora) by inverse frequency in the training split.
    n_c = np.bincount(tr["y"], minlength=K).astype(np.float64)
    class_w = np.where(n_c > 0, (len(tr["y"]) / (K * np.maximum(n_c, 1))) ** args.balance, 0.0)
    C = len(data["corpora"])
    n_k = np.bincount(tr["corpus"], minlength=C).astype(np.float64)
    n_present = max(int((n_k > 0).sum()), 1)
    corpus_w = np.where(n_k > 0, (len(tr["y"]) / (n_present * np.maximum(n_k, 1))) ** args.corpus_balance, 0.0)
    corpus_w = torch.from_numpy(corpus_w[tr["corpus"]].astype(np.float32))  # per training image
    class_w_t = torch.from_numpy(class_w.astype(np.float32))
    teacher = None
    if args.teacher_weight > 0:
        if not args.teacher:
            fail("--teacher-weight needs --teacher FILE")
        teacher = load_teacher(args.teacher, tr["source"], labels)
        hits = float(np.mean(teacher.argmax(1) == tr["y"]))
        log(f"teacher: {args.teacher} on {len(tr['y'])} training images (agrees with the label on "
            f"{hits:.1%}), weight {args.teacher_weight:g}")
    teacher_feats, has_feats = None, None
    if args.feature_weight > 0:
        if not args.teacher_features:
            fail("--feature-weight needs --teacher-features FILE")
        # Looked up for the training split's files only: val, test and a held-out corpus's files
        # (all in test) never reach the targets or the standardisation statistics.
        teacher_feats, has_feats, used, unused = load_teacher_features(args.teacher_features, tr["source"])
        log(f"teacher features: {args.teacher_features}, {teacher_feats.shape[1]} per file, for "
            f"{int(has_feats.sum())} of {len(tr['y'])} training images, weight {args.feature_weight:g}; rows used "
            + " ".join(f"{c}:{n}" for c, n in used.items()) + "; never used "
            + (" ".join(f"{c}:{n}" for c, n in unused.items()) or "none"))
    log("class weights " + " ".join(f"{l}:{w:.2f}" for l, w in zip(labels, class_w)))

    opt = make_optimizer(model, args)
    adversary, adv_opt = None, None
    if args.corpus_adversary > 0:  # off: nothing built, no random draws, older runs unchanged
        adversary = CorpusAdversary(model.model[-1].linear.in_features, C)
        model.model[-1].linear.register_forward_pre_hook(adversary.capture)
        adv_opt = torch.optim.AdamW(adversary.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    matcher, fm_opt = None, None
    if teacher_feats is not None:  # off: nothing built, no random draws, older runs unchanged
        with torch.random.fork_rng(devices=[]):  # its own initialisation: dropout's draws stay as without it
            torch.manual_seed(args.seed + 2)
            matcher = FeatureMatcher(model.model[-1].linear.in_features, teacher_feats.shape[1])
        matcher.attach(model)
        fm_opt = torch.optim.AdamW(matcher.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(tr["y"]) // args.batch  # the last partial batch is dropped (BN)
    sched_epochs = args.epochs
    warmup_steps = int(args.warmup_epochs * steps_per_epoch)
    order_gen = torch.Generator().manual_seed(args.seed)
    aug_gen = torch.Generator().manual_seed(args.seed + 1)
    augment = None if args.no_aug else Augmenter(args, data["spectro"], aug_gen)
    budget_s = args.time_budget_min * 60.0

    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "dataset": str(args.dataset.resolve()),
        "args": {k: str(v) if isinstance(v, pathlib.Path) else v for k, v in vars(args).items()},
        "labels": labels, "corpora": data["corpora"], "arch": arch, "image": list(map(int, data["shape"])),
        "colormap": data["colormap"], "parameters": n_par,
        "counts": {s: {"images": int(len(data[s]["y"])), "speakers": data[s]["speakers"],
                       "labels": dict(zip(labels, np.bincount(data[s]["y"], minlength=K).tolist()))} for s in SPLITS},
        "history": [], "best": None,
    }
    best_key, best = None, None
    step = 0
    epoch_times = []
    stop_reason = None
    t_train0 = time.time()
    log(f"training: {steps_per_epoch} steps/epoch of {args.batch}, up to {args.epochs} epochs"
        + (f", time budget {args.time_budget_min:g} min" if budget_s else ""))
    epoch = 0
    while epoch < sched_epochs:
        epoch += 1
        t_ep = time.time()
        model.train()
        perm = torch.randperm(len(tr["y"]), generator=order_gen).numpy()
        loss_sum, seen, t_compute = 0.0, 0, 0.0
        adv_sum, adv_hits = 0.0, 0
        fm_sum, fm_seen = 0.0, 0
        for b in range(steps_per_epoch):
            idx = np.sort(perm[b * args.batch:(b + 1) * args.batch])
            x = torch.from_numpy(tr["x"][idx]).unsqueeze(1).float()
            y = F.one_hot(torch.from_numpy(tr["y"][idx]), K).float()
            # Extra columns ride along with the labels, so mixup mixes them the same way.
            if teacher is not None:
                y = torch.cat([y, torch.from_numpy(teacher[idx])], 1)
            if adversary is not None:  # corpus labels ride along as extra columns, so mixup mixes them too
                y = torch.cat([y, F.one_hot(torch.from_numpy(tr["corpus"][idx]), C).float()], 1)
            if matcher is not None:  # teacher features and whether the file has them, mixed alike
                y = torch.cat([y, torch.from_numpy(teacher_feats[idx]),
                               torch.from_numpy(has_feats[idx].astype(np.float32)).unsqueeze(1)], 1)
            if augment is not None:
                x, y = augment(x, y)
            n_t = K if teacher is not None else 0
            n_c = C if adversary is not None else 0
            y, teacher_y, corpus_y, feat_y = (y[:, :K], y[:, K:K + n_t], y[:, K + n_t:K + n_t + n_c],
                                              y[:, K + n_t + n_c:])
            lr = lr_at(step, sched_epochs * steps_per_epoch, warmup_steps, args.lr, args.final_lr_frac)
            for g in (opt.param_groups + (adv_opt.param_groups if adv_opt is not None else [])
                      + (fm_opt.param_groups if fm_opt is not None else [])):
                g["lr"] = lr
            t_c = time.time()
            logits = model(make_input(x))
            target = y * (1 - args.label_smoothing) + args.label_smoothing / K
            if teacher is not None:  # distillation: cross-entropy to a blend of label and teacher
                target = target * (1 - args.teacher_weight) + teacher_y * args.teacher_weight
            per_sample = -(target * F.log_softmax(logits, 1)).sum(1)
            # Weighted mean: a (mixed) label weighs as its classes' weights, times the corpus weight.
            sw = (y * class_w_t).sum(1) * corpus_w[idx]
            loss = (per_sample * sw).sum() / sw.sum()
            opt.zero_grad(set_to_none=True)
            total = loss
            if adversary is not None:
                adv_w = adversary_weight(step, sched_epochs * steps_per_epoch, args.corpus_adversary)
                adv_loss, adv_correct = adversary.loss(corpus_y, adv_w)
                total = loss + adv_loss
                adv_opt.zero_grad(set_to_none=True)
                adv_sum += adv_loss.item() * len(idx)
                adv_hits += adv_correct
            if matcher is not None:
                # A mixed pair counts only when both files have teacher features (the mixed flag is
                # then 1); otherwise the mixed target would be part feature, part zeros.
                valid = feat_y[:, -1] > 1.0 - 1e-6
                fm_loss = matcher.loss(feat_y[:, :-1], valid)
                total = total + args.feature_weight * fm_loss
                fm_opt.zero_grad(set_to_none=True)
                n_valid = int(valid.sum())
                fm_sum += fm_loss.item() * n_valid
                fm_seen += n_valid
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            if adversary is not None:
                adv_opt.step()
            if matcher is not None:
                fm_opt.step()
            if ema is not None:
                ema.update(model)
            t_compute += time.time() - t_c
            step += 1
            loss_sum += loss.item() * len(idx)
            seen += len(idx)
            if budget_s and time.time() - t_start > budget_s:
                stop_reason = f"time budget of {args.time_budget_min:g} min spent during epoch {epoch}"
                break
        t_train = time.time() - t_ep
        eval_model = ema.model if ema is not None else model
        val = evaluate(eval_model, va, data, make_input)
        t_epoch = time.time() - t_ep
        epoch_times.append(t_epoch)
        key = (val["macro_f1"], val["acc"])
        improved = best_key is None or key > best_key
        if improved:
            best_key = key
            best = {"epoch": epoch, "val_acc": val["acc"], "val_macro_f1": val["macro_f1"]}
            save_checkpoint(args.out / "best.pt", eval_model.state_dict(), data, args, arch, epoch, best)
        save_checkpoint(args.out / "last.pt", eval_model.state_dict(), data, args, arch, epoch,
                        {"val_acc": val["acc"], "val_macro_f1": val["macro_f1"]})
        elapsed = time.time() - t_start
        # After the first epoch, fit the schedule to the time budget so the cosine completes.
        if epoch == 1 and budget_s and stop_reason is None:
            fit = 1 + int(max(budget_s - elapsed, 0) // t_epoch)
            if fit < sched_epochs:
                sched_epochs = max(fit, 1)
                log(f"time budget: schedule fitted to {sched_epochs} epochs")
        eta = (sched_epochs - epoch) * float(np.mean(epoch_times[-3:]))
        ips = seen / max(t_train, 1e-9)
        rec = {"epoch": epoch, "loss": loss_sum / max(seen, 1), "val_acc": val["acc"], "val_macro_f1": val["macro_f1"],
               "val_per_corpus": {k: round(v["acc"], 4) for k, v in val["per_corpus"].items()},
               "lr": opt.param_groups[0]["lr"], "train_images_per_s": ips,
               "train_compute_images_per_s": seen / max(t_compute, 1e-9), "epoch_s": t_epoch, "elapsed_s": elapsed}
        if adversary is not None:
            rec["corpus_loss"] = adv_sum / max(seen, 1)
            rec["corpus_acc"] = adv_hits / max(seen, 1)  # how well the adversary still tells corpora apart
        if matcher is not None:
            rec["feature_loss"] = fm_sum / max(fm_seen, 1)  # mean cosine distance to the teacher
        summary["history"].append(rec)
        summary["best"] = best
        write_json(args.out / "train.json", summary)
        corp = " ".join(f"{k}:{v:.2f}" for k, v in rec["val_per_corpus"].items())
        log(f"epoch {epoch:3d}/{sched_epochs} loss {rec['loss']:.4f} val_acc {val['acc']:.4f} "
            f"val_f1 {val['macro_f1']:.4f}{' *' if improved else '  '} lr {rec['lr']:.2e} "
            f"{ips:.0f} img/s elapsed {fmt_time(elapsed)} eta {fmt_time(eta)} | {corp}"
            + (f" | corpus adversary loss {rec['corpus_loss']:.3f} acc {rec['corpus_acc']:.2f}" if adversary else "")
            + (f" | feature loss {rec['feature_loss']:.3f}" if matcher else ""))
        if stop_reason:
            break
        if budget_s and elapsed + t_epoch > budget_s and epoch < sched_epochs:
            stop_reason = f"time budget of {args.time_budget_min:g} min would be exceeded by another epoch"
            break
    if stop_reason:
        log(f"stopped: {stop_reason}")
    train_s = time.time() - t_train0
    log(f"best: epoch {best['epoch']} val_acc {best['val_acc']:.4f} val_macro_f1 {best['val_macro_f1']:.4f}; "
        f"training took {fmt_time(train_s)}")

    # Final reports with best.pt: val per corpus and confusion; test only as a report.
    ck = torch.load(args.out / "best.pt", map_location="cpu", weights_only=False)
    final = build_model(arch).to(memory_format=torch.channels_last)
    final.load_state_dict(ck["state_dict"])
    val = evaluate(final, va, data, make_input)
    log("val (best.pt) per corpus: " + ", ".join(f"{k} {v['acc']:.3f} (n={v['n']})" for k, v in val["per_corpus"].items()))
    log("val confusion (rows true, cols predicted: " + " ".join(labels) + ")")
    for l, row in zip(labels, val["confusion"]):
        log(f"  {l:>8s} " + " ".join(f"{c:5d}" for c in row))
    summary["best"]["val_final"] = val
    if not args.no_test and len(te["y"]):
        test = evaluate(final, te, data, make_input)
        log(f"TEST (report only, never used for choices): acc {test['acc']:.4f} macro_f1 {test['macro_f1']:.4f}; "
            + ", ".join(f"{k} {v['acc']:.3f} (n={v['n']})" for k, v in test["per_corpus"].items()))
        summary["test_report"] = test
    summary["stop_reason"] = stop_reason
    summary["train_seconds"] = train_s
    write_json(args.out / "train.json", summary)


if __name__ == "__main__":
    try:
        main()
    except Error as e:
        fail(str(e))

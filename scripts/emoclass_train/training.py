"""The parts of a training run around the network: weight averaging (EMA), the corpus
adversary, feature matching to a teacher, the learning-rate schedule, the optimiser and the
evaluation of a split."""
import math

import torch
import torch.nn.functional as F

from emoclass_train.metrics import metrics
from emoclass_train.model import build_model, predict


class EMA:
    """Exponential moving average of the weights and BN statistics, used for evaluation and
    saved in the checkpoints; its decay ramps up over the first updates (as ultralytics)."""

    def __init__(self, model, decay, tau=500):
        self.model = build_model(model.arch).to(memory_format=torch.channels_last)
        self.model.load_state_dict(model.state_dict())
        self.model.eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay, self.tau, self.updates = decay, tau, 0

    @torch.no_grad()
    def update(self, model):
        self.updates += 1
        d = self.decay * (1 - math.exp(-self.updates / self.tau))
        msd = model.state_dict()
        for k, v in self.model.state_dict().items():
            if v.dtype.is_floating_point:
                v.mul_(d).add_(msd[k].detach(), alpha=1 - d)
            else:
                v.copy_(msd[k])


class _ReverseGrad(torch.autograd.Function):
    """Identity forward; the gradient comes back negated and scaled (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx, x, weight):
        ctx.weight = weight
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.weight * grad, None


class CorpusAdversary(torch.nn.Module):
    """A small corpus classifier on the pooled features the emotion classifier sees, trained
    through a gradient reversal: it learns to tell the corpora apart while the network is pushed
    towards features it cannot use for that. What it removes is whatever marks a recording as
    one corpus's (microphone, room, codec, text, the actors' shared style), which a voice from
    another corpus would not share. It lives in train.py only: checkpoints and exports do not
    contain it. The reversal weight ramps from 0 to --corpus-adversary over the run, as in the
    paper, so the emotion features form before they are pushed."""

    def __init__(self, features, corpora, hidden=256):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(inplace=True),
                                       torch.nn.Linear(hidden, corpora))
        self.features = None

    def capture(self, module, inputs):
        self.features = inputs[0]  # forward pre-hook on the classifier's linear layer

    def loss(self, corpus_target, weight):
        """Cross-entropy against (mixed) one-hot corpus labels; returns (loss, correct count)."""
        logits = self.net(_ReverseGrad.apply(self.features, weight))
        loss = -(corpus_target * F.log_softmax(logits, 1)).sum(1).mean()
        correct = (logits.argmax(1) == corpus_target.argmax(1)).sum().item()
        return loss, correct


def feature_matching_loss(predicted, target, valid):
    """Mean cosine distance 1 - cos(predicted, target) over the rows where `valid` is true (a
    0-dim zero when none is). Cosine, not squared error: it is bounded (0..2) and blind to each
    clip's feature norm, so a few clips far from the teacher's mean cannot dominate the term,
    and what it keeps, the direction of the standardised feature vector, is what a linear
    head on the teacher's features decides by."""
    if not bool(valid.any()):
        return predicted.sum() * 0.0
    cos = F.cosine_similarity(predicted[valid], target[valid], dim=1, eps=1e-8)
    return (1.0 - cos).mean()


class FeatureMatcher(torch.nn.Module):
    """Feature-matching distillation: a linear projector from the student's pooled features
    (the Classify head's global average pool, before dropout) to the teacher's pooled encoder
    features, trained jointly with the network; its loss pulls the student's pooled features
    towards carrying what the frozen teacher's do. Training-time only, like CorpusAdversary:
    it hooks the network from outside, so checkpoints and exports do not contain it."""

    def __init__(self, features, teacher_features):
        super().__init__()
        self.proj = torch.nn.Linear(features, teacher_features)
        self.features = None

    def attach(self, model):
        """Captures the pooled features of every forward pass of `model` (a YOLOv8Cls)."""
        return model.model[-1].pool.register_forward_hook(self.capture)

    def capture(self, module, inputs, output):
        # A copy: Classify's in-place dropout rewrites the pooled tensor right after this hook.
        self.features = output.flatten(1).clone()

    def loss(self, target, valid):
        return feature_matching_loss(self.proj(self.features), target, valid)


def adversary_weight(step, total_steps, peak):
    return peak * (2.0 / (1.0 + math.exp(-10.0 * min(step / max(total_steps, 1), 1.0))) - 1.0)


def lr_at(step, total_steps, warmup_steps, base_lr, final_frac):
    """Linear warm-up, then cosine decay to base_lr * final_frac."""
    if step < warmup_steps:
        return base_lr * (0.05 + 0.95 * step / max(warmup_steps, 1))
    t = (step - warmup_steps) / max(total_steps - warmup_steps, 1)
    t = min(max(t, 0.0), 1.0)
    return base_lr * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def make_optimizer(model, args):
    decay, no_decay = [], []
    for p in model.parameters():
        (decay if p.ndim > 1 else no_decay).append(p)  # no weight decay on BN and biases
    groups = [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if args.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=args.lr, momentum=0.9, nesterov=True)
    return torch.optim.AdamW(groups, lr=args.lr, betas=(0.9, 0.999))


def evaluate(model, split, data, make_input):
    if len(split["y"]) == 0:
        return None
    pred = predict(model, split["x"], make_input).argmax(1)
    m = metrics(split["y"], pred, len(data["labels"]))
    m["per_corpus"] = {}
    for ci, name in enumerate(data["corpora"]):
        sel = split["corpus"] == ci
        if sel.any():
            m["per_corpus"][name] = {"n": int(sel.sum()), "acc": float((pred[sel] == split["y"][sel]).mean()),
                                     "macro_f1": metrics(split["y"][sel], pred[sel], len(data["labels"]))["macro_f1"]}
    return m

"""YOLOv8 classification network (the published yolov8-cls.yaml design) in plain PyTorch, the
model input it takes, and train.py's checkpoints.

Why a re-implementation: the training machines have Debian's python3-torch but no ultralytics
package, and the bundle must export to an ONNX graph that OpenCV 4.6 DNN can import. The layer
layout, channel arithmetic and module names follow ultralytics (nn/modules conv.py, block.py,
head.py and tasks.py parse_model), so a state_dict key reads the same as there
(`model.0.conv.weight` ... `model.9.linear.bias`).

One deliberate difference: C2f splits its tensor with `torch.split`, never with chunking.
torch 1.13 exports chunk as Shape/Gather/Slice, which OpenCV 4.6 refuses to import; split
exports as a single ONNX Split node, which is also what ultralytics' own exports contain.

Usage:
    from emoclass_train.model import YOLOv8Cls
    net = YOLOv8Cls(in_channels=1, num_classes=6, scale="n")
scripts/yolov8_cls.py prints a layer summary and parameter counts.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn

CKPT_FORMAT = "emoclass-train-checkpoint"

# [depth multiple, width multiple, max channels] per scale, as in yolov8-cls.yaml.
SCALES = {
    "n": (0.33, 0.25, 1024),
    "s": (0.33, 0.50, 1024),
    "m": (0.67, 0.75, 1024),
    "l": (1.00, 1.00, 1024),
    "x": (1.00, 1.25, 1024),
}

# The yolov8-cls backbone: (module, repeats, args) with the channel counts of scale 1.0.
# Conv args: (out_channels, kernel, stride); C2f args: (out_channels, shortcut).
BACKBONE = (
    ("Conv", 1, (64, 3, 2)),     # 0  P1/2
    ("Conv", 1, (128, 3, 2)),    # 1  P2/4
    ("C2f", 3, (128, True)),     # 2
    ("Conv", 1, (256, 3, 2)),    # 3  P3/8
    ("C2f", 6, (256, True)),     # 4
    ("Conv", 1, (512, 3, 2)),    # 5  P4/16
    ("C2f", 6, (512, True)),     # 6
    ("Conv", 1, (1024, 3, 2)),   # 7  P5/32
    ("C2f", 3, (1024, True)),    # 8
)

def backbone_with_stem_stride(stride):
    """BACKBONE with the first convolution's stride changed: 4 instead of 2 makes every later
    feature map a quarter of the size (a quarter of the work; bench/shape_probe.py)."""
    name, repeats, (channels, kernel, _) = BACKBONE[0]
    return ((name, repeats, (channels, kernel, stride)),) + BACKBONE[1:]


HEAD_CHANNELS = 1280  # Classify's hidden width (ultralytics takes efficientnet_b0's)

# Ultralytics sets every BatchNorm to these after building the model (tasks.initialize_weights);
# the slower running-stat momentum matters for small batches.
BN_EPS = 1e-3
BN_MOMENTUM = 0.03


def make_divisible(x, divisor=8):
    """Rounds channel counts up to a multiple of `divisor`, as ultralytics does."""
    return int(math.ceil(x / divisor) * divisor)


def autopad(k):
    """'Same' padding for an odd kernel."""
    return k // 2


class Conv(nn.Module):
    """Conv2d (no bias, BN follows) + BatchNorm2d + SiLU."""

    def __init__(self, c1, c2, k=1, s=1, g=1, act=True):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, autopad(k), groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.act = nn.SiLU(inplace=True) if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    """Two 3x3 Convs with an optional residual (only when the shapes allow it)."""

    def __init__(self, c1, c2, shortcut=True, g=1, k=(3, 3), e=1.0):
        super().__init__()
        c_ = int(c2 * e)
        self.cv1 = Conv(c1, c_, k[0], 1)
        self.cv2 = Conv(c_, c2, k[1], 1, g=g)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    """CSP bottleneck with 2 convolutions: cv1 widens to 2*c, the tensor is split in halves,
    each Bottleneck feeds on the previous output, and cv2 fuses all (2 + n) pieces."""

    def __init__(self, c1, c2, n=1, shortcut=False, g=1, e=0.5):
        super().__init__()
        self.c = int(c2 * e)
        self.cv1 = Conv(c1, 2 * self.c, 1, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut, g, k=(3, 3), e=1.0) for _ in range(n))

    def forward(self, x):
        # torch.split -> one ONNX Split node (OpenCV 4.6 imports it; chunking's export it does not).
        y = list(torch.split(self.cv1(x), (self.c, self.c), dim=1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class Classify(nn.Module):
    """Conv 1x1 to the hidden width, global average pool, dropout, linear.

    Training mode returns logits (for the loss); eval mode returns softmax probabilities, so an
    ONNX export from eval mode has the softmax inside, as ultralytics' exports do."""

    def __init__(self, c1, c2, hidden=HEAD_CHANNELS, dropout=0.0):
        super().__init__()
        self.conv = Conv(c1, hidden, 1, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(p=dropout, inplace=True)
        self.linear = nn.Linear(hidden, c2)

    def forward(self, x):
        x = self.linear(self.drop(self.pool(self.conv(x)).flatten(1)))
        return x if self.training else x.softmax(1)


class YOLOv8Cls(nn.Module):
    """The yolov8-cls network: `self.model` is an nn.Sequential of the backbone layers and the
    Classify head, numbered as in the yaml (model.0 ... model.9 for the standard backbone).

    in_channels: 1 (gray spectrogram) or 3 (colormapped or replicated gray).
    scale: a key of SCALES or an explicit (depth, width, max_channels) tuple.
    backbone: the layer list (defaults to BACKBONE); test fixtures pass a shorter one.
    head_channels: Classify's hidden width (1280 in ultralytics).
    """

    def __init__(self, in_channels=1, num_classes=6, scale="n", dropout=0.0, backbone=BACKBONE,
                 head_channels=HEAD_CHANNELS):
        super().__init__()
        depth, width, max_channels = SCALES[scale] if isinstance(scale, str) else scale
        self.in_channels = in_channels
        self.num_classes = num_classes
        layers = []
        c1 = in_channels
        for name, repeats, args in backbone:
            # parse_model: repeats scale with depth (never below 1), channels with width.
            n = max(round(repeats * depth), 1) if repeats > 1 else repeats
            c2 = make_divisible(min(args[0], max_channels) * width, 8)
            if name == "Conv":
                layers.append(Conv(c1, c2, *args[1:]))
            elif name == "C2f":
                layers.append(C2f(c1, c2, n, *args[1:]))
            else:
                raise ValueError(f"unknown backbone module {name!r}")
            c1 = c2
        layers.append(Classify(c1, num_classes, hidden=head_channels, dropout=dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


def build_model(arch):
    """Builds a YOLOv8Cls from the `arch` dict stored in our checkpoints."""
    return YOLOv8Cls(in_channels=arch["in_channels"], num_classes=arch["num_classes"], scale=arch["scale"],
                     dropout=arch.get("dropout", 0.0),
                     backbone=backbone_with_stem_stride(arch.get("stem_stride", 2)))


# ----------------------------------------------------------------------------------------------
# Model input: dB-index images -> the tensor model.json describes
# ----------------------------------------------------------------------------------------------

def band_normalise(x, top_db=80.0, voiced_db=30.0):
    """Per-band mean removal over the voiced columns (cepstral mean normalisation in the mel domain).

    A microphone, a room's colouring or a codec adds a fixed dB offset to each mel band; subtracting
    each band's mean over the image's voiced columns (those within voiced_db of the loudest) takes it
    away. The result is re-centred on level 128 so the input keeps its 0..255 range's scale. Images
    map top_db dB onto 255 levels (spectro.json). Measured on held-out corpora and dropped (train.py
    --band-norm, docs/training.md section 7); emoclass's input recipe has no such step."""
    col = x.amax(dim=2, keepdim=True)                                  # (B, 1, 1, W): loudest band per column
    peak = col.amax(dim=3, keepdim=True)
    voiced = (col >= peak - voiced_db * 255.0 / top_db).float()
    mean = (x * voiced).sum(3, keepdim=True) / voiced.sum(3, keepdim=True).clamp(min=1.0)
    return x - mean + 128.0


class InputMaker:
    """Turns (B, 1, H, W) float dB-index images (0..255) into the model input.

    model.json's recipe is pixel * scale with mean 0, std 1 (scale 1/255). For a colormapped
    dataset the index is rendered back through the colormap table (linear between entries,
    since augmentation makes fractional levels); 3-channel gray replicates the plane."""

    def __init__(self, lut, channels, band_norm_top_db=None):
        self.channels = channels
        self.band_norm_top_db = band_norm_top_db  # None: off (every exported model)
        self.lut = None if lut is None else torch.from_numpy(lut.astype(np.float32))  # (256, 3)

    def __call__(self, x):
        if self.band_norm_top_db is not None:
            x = band_normalise(x, self.band_norm_top_db)
        if self.lut is not None:
            x = x[:, 0].clamp(0, 255)
            lo = x.floor().long().clamp(max=254)
            frac = (x - lo).unsqueeze(-1)
            rgb = self.lut[lo] * (1 - frac) + self.lut[lo + 1] * frac  # (B, H, W, 3)
            x = rgb.permute(0, 3, 1, 2)
        elif self.channels == 3:
            x = x.expand(-1, 3, -1, -1)
        return (x * (1.0 / 255.0)).contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def predict(model, imgs, make_input, batch=256):
    """Probabilities for (N, H, W) uint8 dB-index images (model in eval mode = softmax)."""
    model.eval()
    out = []
    for i in range(0, len(imgs), batch):
        x = torch.from_numpy(imgs[i:i + batch]).unsqueeze(1).float()
        out.append(model(make_input(x)))
    return torch.cat(out).numpy() if out else np.zeros((0, model.num_classes), np.float32)


def load_init(model, path, labels, log=lambda msg: None):
    """Fine-tuning start: copies every tensor whose name and shape match. A first conv that
    differs only in input channels is adapted (3 -> 1: summed; 1 -> 3: spread). The classifier
    rows follow the label names when the checkpoint records them (labels it lacks start fresh).
    Accepts our checkpoints or a bare state_dict (ultralytics-style `model.model.N` names too);
    `log` gets what was loaded."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    sd = ck.get("state_dict", ck) if isinstance(ck, dict) else ck
    sd = {k[len("model."):] if k.startswith("model.model.") else k: v for k, v in sd.items()}
    own = model.state_dict()
    head = f"model.{len(model.model) - 1}.linear."
    src_labels = ck.get("labels") if isinstance(ck, dict) else None
    if src_labels and list(src_labels) != list(labels):
        for name in ("weight", "bias"):
            k = head + name
            if k in sd and sd[k].shape[1:] == own[k].shape[1:]:
                rows = own[k].clone()
                for i, l in enumerate(labels):
                    if l in src_labels:
                        rows[i] = sd[k][src_labels.index(l)]
                sd[k] = rows
        log(f"init: classifier rows mapped by label name ({len(set(labels) & set(src_labels))} of {len(labels)} known)")
    loaded, skipped = 0, []
    for k, v in own.items():
        src = sd.get(k)
        if src is None:
            skipped.append(k)
        elif src.shape == v.shape:
            own[k] = src.to(v.dtype)
            loaded += 1
        elif k == "model.0.conv.weight" and src.shape[0] == v.shape[0] and src.shape[2:] == v.shape[2:]:
            own[k] = src.sum(1, keepdim=True) if v.shape[1] == 1 else src.expand_as(v) / v.shape[1]
            loaded += 1
        else:
            skipped.append(k)
    model.load_state_dict(own)
    log(f"init from {path}: {loaded} tensors loaded, {len(skipped)} left fresh"
        + (f" ({', '.join(skipped[:6])}{' ...' if len(skipped) > 6 else ''})" if skipped else ""))


def save_checkpoint(path, model_sd, data, args, arch, epoch, val):
    ck = {
        "format": CKPT_FORMAT,
        "arch": arch,
        "labels": data["labels"],
        "image": {"height": int(data["shape"][0]), "width": int(data["shape"][1]), "colormap": data["colormap"]},
        "spectro": data["spectro"],
        "epoch": epoch,
        "val": val,
        "args": vars(args),
        "state_dict": {k: v.detach().clone() for k, v in model_sd.items()},
    }
    tmp = str(path) + ".tmp"
    torch.save(ck, tmp)
    os.replace(tmp, path)

#!/usr/bin/python3
"""Prints the YOLOv8-cls layer layout and parameter count (the network is emoclass_train.model).

    scripts/yolov8_cls.py [--scale n] [--in-channels 1] [--num-classes 6] [--imgsz 128 128]
"""
import argparse

import torch

from emoclass_train.model import SCALES, YOLOv8Cls


def main():
    p = argparse.ArgumentParser(description="Prints the YOLOv8-cls layer layout and parameter count.")
    p.add_argument("--scale", default="n", choices=sorted(SCALES))
    p.add_argument("--in-channels", type=int, default=1, choices=(1, 3))
    p.add_argument("--num-classes", type=int, default=6)
    p.add_argument("--imgsz", type=int, nargs=2, default=(128, 128), metavar=("H", "W"))
    a = p.parse_args()
    net = YOLOv8Cls(a.in_channels, a.num_classes, a.scale).eval()
    x = torch.zeros(1, a.in_channels, *a.imgsz)
    for i, layer in enumerate(net.model):
        x_in = x
        x = layer(x)
        n_par = sum(t.numel() for t in layer.parameters())
        print(f"{i:2d} {type(layer).__name__:9s} {tuple(x_in.shape[1:])!s:>18} -> {tuple(x.shape[1:])!s:<18} {n_par:>9,d}")
    print(f"total parameters: {sum(t.numel() for t in net.parameters()):,d}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Seed corpora for the fuzz targets (fuzz/), generated: small WAVs of a tone in the common
encodings, the test bundle's model.json / model.onnx / PNGs, and a few HTTP requests.
Usage: scripts/make_fuzz_seeds.py OUTDIR   (makes OUTDIR/<target>/...)"""
import math
import os
import struct
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tiny = os.path.join(root, "tests", "fixtures", "tiny_bundle")
out = sys.argv[1]


def put(target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def wav(rate, channels, seconds, fmt):
    """RIFF/WAVE bytes: fmt 1 = 16-bit PCM, 3 = 32-bit float; a 220 Hz tone."""
    n = int(rate * seconds)
    frames = []
    for i in range(n):
        v = 0.3 * math.sin(2 * math.pi * 220 * i / rate)
        frames.append(v)
    if fmt == 1:
        body = b"".join(struct.pack("<h", int(v * 32767)) * channels for v in frames)
        bits = 16
    else:
        body = b"".join(struct.pack("<f", v) * channels for v in frames)
        bits = 32
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def read(name):
    with open(os.path.join(tiny, name), "rb") as f:
        return f.read()


small = wav(8000, 1, 0.3, 1)
put("fuzz_audio_image", "pcm16_8k_mono.wav", small)
put("fuzz_audio_image", "pcm16_16k_stereo.wav", wav(16000, 2, 0.2, 1))
put("fuzz_audio_image", "float_22k.wav", wav(22050, 1, 0.2, 3))
put("fuzz_model_json", "tiny.json", read("model.json"))
put("fuzz_onnx_handover", "tiny.onnx", read("model.onnx"))
for png in ("ref_0.png", "ref_1.png"):
    put("fuzz_png", png, read(png))
put("fuzz_http_request", "healthz", b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
put("fuzz_http_request", "model", b"GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n")
put("fuzz_http_request", "raw_wav",
    b"POST /v1/classify?segments=1 HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: %d\r\n\r\n"
    % len(small) + small)
boundary = b"fuzzboundary"
form = (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n"
        b"Content-Type: audio/wav\r\n\r\n" + small + b"\r\n--" + boundary + b"--\r\n")
put("fuzz_http_request", "multipart",
    b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" + boundary +
    b"\r\nContent-Length: %d\r\n\r\n" % len(form) + form)
chunked = b"%x\r\n" % len(small) + small + b"\r\n0\r\n\r\n"
put("fuzz_http_request", "chunked",
    b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked)

#!/usr/bin/env bash
# Audio in the containers libsndfile cannot read, for tests/test_containers.cpp: each made with
# the Debian `ffmpeg` tool (AMR with sox, since Debian's ffmpeg has no AMR encoder) from one real
# speech clip, 2 s of RAVDESS (../shared/data, 16 kHz), kept as source.flac (lossless: the samples
# of the WAV it stands for). A few KB each:
#   clip.m4a      AAC-LC 44.1 kHz mono, 32 kb/s (what phones record)
#   clip.mp4      a small MPEG-4 video track + AAC 48 kHz stereo
#   clip.mov      QuickTime: a small video track + AAC 16 kHz mono
#   clip.webm     Opus 48 kHz mono in WebM (what browsers' MediaRecorder writes)
#   clip.amr      AMR-NB 8 kHz (sox's amr-nb writer)
#   clip.wma      WMA v2 22.05 kHz in ASF
#   video_only.mp4  a video track and no audio (must be refused with a clear reason)
# Usage: scripts/make_container_fixtures.sh   (needs ffmpeg, sox and ../shared/data)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/tests/fixtures/containers"
clip="$root/../shared/data/ravdess/Actor_05/03-01-05-01-01-01-05.flac"
[ -f "$clip" ] || { echo "$clip is missing: the fixtures are made from ../shared/data" >&2; exit 1; }
mkdir -p "$out"
sox -D "$clip" -b 16 "$out/source.flac" trim 0.5 2.0
src="$out/source.flac"
ff=(ffmpeg -nostdin -hide_banner -loglevel error -y)
clean=(-map_metadata -1 -fflags +bitexact)
video=(-f lavfi -i "color=c=gray:s=32x24:r=2:d=2")
"${ff[@]}" -i "$src" -ar 44100 -c:a aac -b:a 32k -flags:a +bitexact "${clean[@]}" "$out/clip.m4a"
"${ff[@]}" "${video[@]}" -i "$src" -map 0:v -map 1:a -c:v mpeg4 -q:v 31 -ar 48000 -af "pan=stereo|c0=c0|c1=c0" -c:a aac -b:a 48k \
  -flags +bitexact -shortest "${clean[@]}" "$out/clip.mp4"
"${ff[@]}" "${video[@]}" -i "$src" -map 0:v -map 1:a -c:v mpeg4 -q:v 31 -c:a aac -b:a 24k -flags +bitexact \
  -shortest "${clean[@]}" "$out/clip.mov"
"${ff[@]}" -i "$src" -c:a libopus -b:a 24k "${clean[@]}" "$out/clip.webm"
sox -D "$src" -r 8000 -t amr-nb "$out/clip.amr"
"${ff[@]}" -i "$src" -ar 22050 -c:a wmav2 -b:a 32k "${clean[@]}" "$out/clip.wma"
"${ff[@]}" "${video[@]}" -c:v mpeg4 -q:v 31 -flags +bitexact "${clean[@]}" "$out/video_only.mp4"
ls -l "$out"

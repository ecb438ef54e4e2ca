"""emoclass.Model against the emoclass tool: same results, arrays = files, threads, bad inputs."""
import concurrent.futures
import json
import os
import pathlib
import subprocess
import urllib.request

import numpy as np
import pytest
import soundfile

import emoclass
from conftest import FIXTURE_CLIPS, FIXTURES, SOURCE_DIR, emoclass_binary


def without_file(result):
    return {k: v for k, v in result.items() if k != "file"}


def test_analyze_equals_the_tools_jsonl(model, cli):
    results, errors, _ = cli(*FIXTURE_CLIPS)
    assert not errors and len(results) == len(FIXTURE_CLIPS)
    for clip, expected in zip(FIXTURE_CLIPS, results):
        assert model.analyze(str(clip)) == expected


def test_int8_equals_the_tools_int8_jsonl(cli):
    int8 = emoclass.Model(int8=True)
    results, errors, _ = cli("--int8", *FIXTURE_CLIPS)
    assert not errors and len(results) == len(FIXTURE_CLIPS)
    fp32 = emoclass.Model()
    differ = 0
    for clip, expected in zip(FIXTURE_CLIPS, results):
        got = int8.analyze(str(clip))
        assert got == expected
        differ += got["probabilities"] != fp32.analyze(str(clip))["probabilities"]
    assert differ > 0, "Model(int8=True) gave model.onnx's probabilities: the int8 network did not run"


def test_analyze_equals_the_tools_jsonl_on_real_recordings(model, cli, real_clips):
    results, errors, _ = cli(*real_clips)
    assert not errors and len(results) == len(real_clips)
    for clip, expected in zip(real_clips, results):
        assert model.analyze(str(clip)) == expected
        assert model.analyze(clip) == expected  # os.PathLike too


def test_result_fields(model):
    result = model.analyze(FIXTURES / "speech_16k.wav")
    assert list(result)[:9] == ["file", "speech", "emotion", "confidence", "probabilities", "duration_s",
                                "voiced_windows", "windows", "segments"]
    assert result["speech"] is True
    assert list(result["probabilities"]) == model.labels
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-4
    assert result["duration_s"] == 3.0 and result["windows"] == len(result["segments"]) == 2


def test_call_returns_the_pipeline_format(model):
    clip = FIXTURES / "speech_22050.wav"
    scores = model(clip)
    assert [s["label"] for s in scores] == sorted(model.labels, key=lambda l: -model.analyze(clip)["probabilities"][l])
    assert all(set(s) == {"label", "score"} for s in scores)
    assert scores == sorted(scores, key=lambda s: -s["score"])
    assert scores[0]["label"] == model.analyze(clip)["emotion"]
    assert model(clip, top_k=2) == scores[:2]
    assert model([clip, clip], top_k=1) == [scores[:1], scores[:1]]


def test_default_model_is_the_shipped_one(model):
    shipped = (SOURCE_DIR / "models" / "default").resolve()
    assert (pathlib.Path(model.path) / "model.onnx").read_bytes() == (shipped / "model.onnx").read_bytes()
    explicit = emoclass.Model(shipped)
    assert explicit.labels == model.labels and explicit.settings == model.settings


@pytest.mark.parametrize("clip", FIXTURE_CLIPS, ids=lambda p: p.name)
def test_array_bytes_and_file_give_the_same_result(model, clip):
    from_file = without_file(model.analyze(clip))
    y, sr = soundfile.read(clip, dtype="float32")
    assert without_file(model.analyze(y, sr=sr)) == from_file  # resampled in C++ like the file
    assert without_file(model.analyze(y.astype(np.float64), sr=sr)) == from_file
    assert without_file(model.analyze({"array": y, "sampling_rate": sr})) == from_file
    assert without_file(model.analyze(clip.read_bytes())) == from_file
    assert model.analyze(clip.read_bytes())["file"] == "<bytes>"
    assert model.analyze(y, sr=sr)["file"] == "<array>"
    # What load() returns at the model's rate is what the model analyses.
    y16, sr16 = emoclass.load(clip, sr=model.settings["sample_rate"])
    assert without_file(model.analyze(y16, sr=sr16)) == from_file


def test_channels_first_array_equals_the_multichannel_file(model, tmp_path):
    y, sr = soundfile.read(FIXTURES / "speech_22050.wav", dtype="float32")
    channels = np.stack([y, -0.5 * y, 0.25 * y[::-1]])  # (channels, n) as librosa
    path = tmp_path / "three.wav"
    soundfile.write(path, channels.T, sr, subtype="FLOAT")
    assert without_file(model.analyze(channels, sr=sr)) == without_file(model.analyze(path))


def test_real_recording_as_array_equals_file(model, real_clips):
    for clip in real_clips[:3]:
        y, sr = emoclass.load(clip, sr=None)  # 48 kHz RAVDESS, Opus CREMA-D, 16 kHz EMO-DB
        assert without_file(model.analyze(y, sr=sr)) == without_file(model.analyze(clip)), clip


def stereo_speech(tmp_path):
    """Real speech in a 22,050 Hz stereo float WAV whose channels differ (so the downmix counts),
    with 3 s of silence between two takes: windows with and without speech, and a tail."""
    y, sr = soundfile.read(FIXTURES / "speech_22050.wav", dtype="float32")
    left = np.concatenate([y, np.zeros(3 * sr, np.float32), y[::-1]])
    channels = np.stack([left, 0.25 * np.roll(left, 700)])  # (channels, n) as librosa
    path = tmp_path / "stereo.wav"
    soundfile.write(path, channels.T, sr, subtype="FLOAT")
    return path


def listen_windows(path):
    """`emoclass listen` given the file's samples as raw interleaved f32le on standard input."""
    y, sr = soundfile.read(path, dtype="float32", always_2d=True)
    done = subprocess.run([str(emoclass_binary()), "listen", "--format", "jsonl", "--show-silence", "--rate", str(sr),
                           "--channels", str(y.shape[1]), "--sample-format", "f32le", "-"],
                          input=np.ascontiguousarray(y).tobytes(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_every_way_in_gives_the_same_windows(model, cli, server, tmp_path):
    # One analysis stream behind every door: the same recording as a file (the tool), as an HTTP
    # body (a real `emoclass serve`), as bytes and as a numpy array (this package) and as raw PCM
    # on `emoclass listen`'s standard input gives the same windows, number for number.
    ravdess = SOURCE_DIR / "tests/fixtures/containers/source.flac"  # 16 kHz mono FLAC, one window
    for path, windows in [(stereo_speech(tmp_path), 6), (ravdess, 1)]:
        results, errors, _ = cli(path)
        assert not errors and len(results) == 1
        expected = results[0]
        assert expected["speech"] and len(expected["segments"]) >= windows
        if windows > 1:
            assert expected["voiced_windows"] < expected["windows"], "the silence should give skipped windows"
        request = urllib.request.Request(server + "/v1/classify?segments=1", data=path.read_bytes(), method="POST")
        with urllib.request.urlopen(request, timeout=120) as answer:
            from_http = json.loads(answer.read())
        y, sr = soundfile.read(path, dtype="float32", always_2d=True)
        from_array = model.analyze(y.T, sr=sr)
        assert model.analyze(path) == expected
        assert from_http["file"] == "<body>" and without_file(from_http) == without_file(expected)
        assert without_file(model.analyze(path.read_bytes())) == without_file(expected)
        assert without_file(from_array) == without_file(expected)
        assert listen_windows(path) == expected["segments"]


def test_threads_give_identical_results(model):
    clips = FIXTURE_CLIPS * 4
    sequential = [model.analyze(c) for c in clips]
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(model.analyze, clips))
        arrays = list(pool.map(lambda c: model.analyze(*soundfile.read(c, dtype="float32")), clips))
    assert threaded == sequential
    assert [without_file(r) for r in arrays] == [without_file(r) for r in sequential]


def error_line(cli, path):
    results, errors, _ = cli(path)
    assert not results and len(errors) == 1, errors
    return errors[0]


def test_missing_file_and_directory_raise_the_tools_message(model, cli, tmp_path):
    path = tmp_path / "missing.wav"
    with pytest.raises(emoclass.Error) as raised:
        model.analyze(str(path))
    assert str(raised.value) == error_line(cli, path)
    assert raised.value.subject == str(path)
    # The tool expands a folder to its audio files; a Model call takes one input.
    with pytest.raises(emoclass.Error, match="is a directory, not an audio file"):
        model.analyze(tmp_path)
    with pytest.raises(emoclass.Error) as raised:
        emoclass.load(tmp_path / "missing.wav")
    assert str(raised.value) == error_line(cli, tmp_path / "missing.wav")


def test_garbage_raises_the_tools_message(model, cli, tmp_path):
    garbage = bytes(range(256)) * 64
    path = tmp_path / "garbage.wav"
    path.write_bytes(garbage)
    with pytest.raises(emoclass.Error) as from_path:
        model(str(path))
    assert str(from_path.value) == error_line(cli, path)
    with pytest.raises(emoclass.Error) as from_bytes:
        model(garbage)
    assert from_bytes.value.subject == "<bytes>" and from_bytes.value.reason == from_path.value.reason
    assert isinstance(from_bytes.value, ValueError)


def test_nan_array_raises_what_the_tool_says_of_a_nan_file(model, cli, tmp_path):
    y = np.zeros(16000, np.float32)
    y[1234] = np.nan
    path = tmp_path / "nan.wav"
    soundfile.write(path, y, 16000, subtype="FLOAT")
    tool = error_line(cli, path)
    with pytest.raises(emoclass.Error) as raised:
        model(y, sr=16000)
    assert raised.value.subject == "<array>" and f"{path}: {raised.value.reason}" == tool
    assert "frame 1234" in tool


def test_empty_array_raises_what_the_tool_says_of_an_empty_wav(model, cli, tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0, np.float32), 16000, subtype="FLOAT")
    tool = error_line(cli, path)
    with pytest.raises(emoclass.Error) as raised:
        model(np.zeros(0, np.float32), sr=16000)
    assert f"{path}: {raised.value.reason}" == tool
    with pytest.raises(emoclass.Error) as raised:
        model(b"")
    assert str(raised.value) == "<bytes>: empty input"


@pytest.mark.parametrize("array, sr, message", [
    (np.zeros(16000, np.int16), 16000, "<array>: expected floating-point samples, got dtype int16"),
    (np.zeros((2, 2, 8000), np.float32), 16000, r"<array>: expected shape \(n,\) or \(channels, n\)"),
    (np.zeros((16000, 2), np.float32), 16000, "has more channels than samples.*data.T"),
    (np.zeros((0, 16000), np.float32), 16000, "<array>: no audio channels"),
    (np.zeros(16000, np.float32), 0, "<array>: sr must be a positive integer"),
    (np.zeros(16000, np.float32), 16000.5, "<array>: sr must be a positive integer"),
])
def test_wrong_array_dtype_shape_or_rate_raise(model, array, sr, message):
    with pytest.raises(emoclass.Error, match=message):
        model(array, sr=sr)


def test_wrong_types_raise_type_errors(model):
    with pytest.raises(TypeError, match="needs its sample rate"):
        model(np.zeros(16000, np.float32))
    with pytest.raises(TypeError, match="files carry their own rate"):
        model(str(FIXTURES / "speech_16k.wav"), sr=16000)
    with pytest.raises(TypeError, match="expected a path, audio bytes or a numpy array"):
        model(42)
    with pytest.raises(TypeError, match="top_k"):
        model(str(FIXTURES / "speech_16k.wav"), top_k=0)


def test_bad_model_folder_raises_the_tools_message(cli, tmp_path):
    with pytest.raises(emoclass.Error) as raised:
        emoclass.Model(tmp_path)
    _, _, other = cli("--model", tmp_path, FIXTURES / "speech_16k.wav")
    assert other == [f"emoclass: {raised.value}"]


def test_silence_gives_no_emotion(model):
    result = model.analyze(np.zeros(3 * 16000, np.float32), sr=16000)
    assert result["emotion"] is None and result["probabilities"] == {} and result["voiced_windows"] == 0
    assert model(np.zeros(3 * 16000, np.float32), sr=16000) == []


def test_containers_libsndfile_cannot_read_decode_through_ffmpeg(model, cli):
    # m4a (AAC) and webm (Opus) go through the FFmpeg module shipped beside the extension; the
    # installed package must find it there, and give what the tool gives.
    clips = [SOURCE_DIR / "tests/fixtures/containers/clip.m4a", SOURCE_DIR / "tests/fixtures/containers/clip.webm"]
    results, errors, _ = cli(*clips)
    assert not errors and len(results) == len(clips)
    for clip, expected in zip(clips, results):
        assert model.analyze(str(clip)) == expected
        y, sr = emoclass.load(str(clip))
        assert sr == 16000 and y.dtype == np.float32 and 1.5 < len(y) / sr < 2.5

"""train-asr, transcribe and evaluate end to end, on a tone language learnt in seconds."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from seqcli.cli.app import main
from tests.tasks.speech_fixtures import RATE, speak, write_corpus

TRAIN = ["--sample-rate", RATE, "--n-mels", 20, "--hidden", 32, "--layers", 1, "--channels", 4]
TRAIN += ["--subsampling", 2, "--max-frames", 1000, "--no-specaugment", "--lr", 0.015, "--threads", 1, "-q"]


def _run(*args: object) -> int:
    try:
        main([str(arg) for arg in args])
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 0
    return 0


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recogniser trained on 48 utterances for 18 epochs (about 110 steps)."""
    directory = tmp_path_factory.mktemp("tones")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEQCLI_CACHE_DIR", str(directory / "cache"))
        train = write_corpus(directory, "train", 48, seed=0)
        valid = write_corpus(directory, "valid", 8, seed=1)
        assert (
            _run("train-asr", train, "--valid", valid, "-o", directory / "run", "--epochs", 18, *TRAIN) == 0
        )
    return directory


def test_training_selects_on_wer_and_evaluate_prints_it_last(trained: Path, run_cli) -> None:
    result = run_cli("evaluate", "-m", trained / "run", trained / "valid.tsv")
    assert result.status == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1].split()
    assert last[0::2] == ["wer", "cer"]
    assert float(last[1]) <= 0.1 and float(last[3]) <= 0.05
    records = [json.loads(line) for line in (trained / "run" / "metrics.jsonl").read_text().splitlines()]
    assert any("wer" in record.get("valid", {}) for record in records)


def test_transcribe_prints_a_line_per_file(trained: Path, run_cli) -> None:
    files = [trained / "audio" / "valid-0.wav", trained / "audio" / "valid-1.wav"]
    result = run_cli("transcribe", "-m", trained / "run", *files)
    assert result.status == 0, result.stderr
    expected = dict(line.split("\t") for line in (trained / "valid.tsv").read_text().splitlines())
    lines = result.stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(f) for f in files]
    assert [line.split("\t")[1] for line in lines] == [expected[f"audio/{f.name}"] for f in files]


def test_transcribe_reads_paths_from_standard_input(trained: Path, run_cli, monkeypatch) -> None:
    files = [str(trained / "audio" / f"valid-{i}.wav") for i in range(3)]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(files) + "\n"))
    result = run_cli("transcribe", "-m", trained / "run", "-")
    assert result.status == 0, result.stderr
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == files


def test_jsonl_timestamps_follow_the_words(trained: Path, run_cli) -> None:
    path = trained / "audio" / "valid-1.wav"
    result = run_cli("transcribe", "-m", trained / "run", "--format", "jsonl", "--timestamps", path)
    record = json.loads(result.stdout)
    words = record["words"]
    assert [w["text"] for w in words] == record["text"].split()
    duration = soundfile.info(path).duration
    starts = [w["start"] for w in words]
    assert starts == sorted(starts) and all(0 <= w["start"] < w["end"] <= duration + 0.05 for w in words)


def test_beam_search_and_lm_fusion_run_from_the_command_line(trained: Path, run_cli, tmp_path: Path) -> None:
    text = tmp_path / "lm.txt"
    text.write_text(
        "".join(line.split("\t")[1] + "\n" for line in (trained / "train.tsv").read_text().splitlines())
    )
    lm_args = ["--hidden", 16, "--layers", 1, "--max-steps", 20, "--bptt", 10, "--batch-size", 4, "-q"]
    assert run_cli("train-lm", text, "-o", tmp_path / "lm", *lm_args).status == 0
    files = [trained / "audio" / f"valid-{i}.wav" for i in range(3)]
    greedy = run_cli("transcribe", "-m", trained / "run", *files).stdout
    beam = run_cli("transcribe", "-m", trained / "run", "--beam", 8, *files).stdout
    fused = run_cli(
        "transcribe", "-m", trained / "run", "--beam", 8, "--lm", tmp_path / "lm", "--lm-weight", 0.3,
        "--word-bonus", 0.5, *files,
    )  # fmt: skip
    assert fused.status == 0, fused.stderr
    assert beam == greedy  # a confident model: every decoder agrees
    assert len(fused.stdout.splitlines()) == 3


def test_a_lexicon_keeps_every_transcript_within_its_words(trained: Path, run_cli, tmp_path: Path) -> None:
    entries = [line.split("\t") for line in (trained / "valid.tsv").read_text().splitlines()]
    allowed = set(entries[0][1].split())
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("\n".join(sorted(allowed)) + "\n")
    files = [trained / path for path, _ in entries]
    result = run_cli("transcribe", "-m", trained / "run", "--lexicon", lexicon, "--beam", 8, *files)
    assert result.status == 0, result.stderr
    texts = [line.split("\t")[1] for line in result.stdout.splitlines()]
    assert texts[0] == entries[0][1]  # its own words are all allowed: nothing to change
    assert all(set(text.split()) <= allowed for text in texts)
    greedy = [
        line.split("\t")[1]
        for line in run_cli("transcribe", "-m", trained / "run", *files).stdout.splitlines()
    ]
    assert texts != greedy  # the other files' words were not all allowed: some transcripts changed
    lexicon.write_text("abc\nabz\nq\n")
    bad = run_cli("transcribe", "-m", trained / "run", "--lexicon", lexicon, files[0])
    assert bad.status == 2 and "abz, q" in bad.stderr and "Traceback" not in bad.stderr
    lexicon.write_text("\n")
    empty = run_cli("transcribe", "-m", trained / "run", "--lexicon", lexicon, files[0])
    assert empty.status == 2 and "no words" in empty.stderr


def test_audio_shorter_than_one_output_frame_gives_an_empty_transcript(
    trained: Path, run_cli, tmp_path
) -> None:
    soundfile.write(tmp_path / "blip.wav", np.zeros(40, dtype=np.float32), RATE)
    result = run_cli("transcribe", "-m", trained / "run", tmp_path / "blip.wav")
    assert result.status == 0, result.stderr
    assert result.stdout == f"{tmp_path / 'blip.wav'}\t\n"


def test_long_files_are_read_in_blocks(trained: Path, run_cli, tmp_path) -> None:
    """Three one-second utterances in one file, recognised one second at a time."""
    rng = np.random.default_rng(5)
    parts = [speak(text, rng) for text in ("ab ca", "cc ba", "a bcb")]  # five characters: 1 s each
    assert [len(part) for part in parts] == [RATE] * 3
    soundfile.write(tmp_path / "long.wav", np.concatenate(parts), RATE)
    result = run_cli(
        "transcribe", "-m", trained / "run", "--chunk-seconds", 1, "--format", "jsonl", "--timestamps",
        tmp_path / "long.wav",
    )  # fmt: skip
    record = json.loads(result.stdout)
    assert record["text"] == "ab ca cc ba a bcb"
    assert [int(word["start"]) for word in record["words"]] == [0, 0, 1, 1, 2, 2]


def test_bad_files_are_named_and_keep_going_carries_on(trained: Path, run_cli, tmp_path) -> None:
    (tmp_path / "notes.wav").write_text("not audio")
    good = trained / "audio" / "valid-0.wav"
    result = run_cli(
        "transcribe",
        "-m",
        trained / "run",
        "--keep-going",
        tmp_path / "missing.wav",
        tmp_path / "notes.wav",
        good,
    )
    assert result.status == 2
    assert result.stdout.splitlines()[0].startswith(f"{good}\t")
    assert "missing.wav" in result.stderr and "notes.wav" in result.stderr and "2 of 3" in result.stderr
    stopped = run_cli("transcribe", "-m", trained / "run", tmp_path / "notes.wav", good)
    assert stopped.status == 2 and stopped.stdout == "" and "notes.wav" in stopped.stderr


def test_characters_outside_the_alphabet_are_listed(trained: Path, run_cli, tmp_path) -> None:
    valid = tmp_path / "valid.tsv"
    valid.write_text(f"{trained / 'audio' / 'valid-0.wav'}\tab\n{trained / 'audio' / 'valid-1.wav'}\taz é\n")
    result = run_cli("train-asr", trained / "train.tsv", "--valid", valid, "-o", tmp_path / "run", *TRAIN)
    assert result.status == 2
    assert "'z' (line 2)" in result.stderr and "'é' (line 2)" in result.stderr
    assert not (tmp_path / "run").exists()


def test_transcripts_too_long_for_their_audio_are_dropped_with_a_count(
    trained: Path, run_cli, tmp_path
) -> None:
    soundfile.write(tmp_path / "short.wav", speak("a", np.random.default_rng(0)), RATE)
    lines = (trained / "train.tsv").read_text().splitlines()[:6]
    manifest = tmp_path / "train.tsv"
    manifest.write_text(
        "".join(f"{trained / line}\n" for line in lines) + f"{tmp_path / 'short.wav'}\t{'ab ' * 20}\n"
    )
    result = run_cli("train-asr", manifest, "-o", tmp_path / "run", "--max-steps", 1, *TRAIN[:-1])
    assert result.status == 0, result.stderr
    assert "dropped 1 of 7" in " ".join(result.stderr.split())


def test_a_training_manifest_with_a_broken_file_names_it(trained: Path, run_cli, tmp_path) -> None:
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00")
    manifest = tmp_path / "train.tsv"
    manifest.write_text(f"{trained / 'audio' / 'train-0.wav'}\tab\nbroken.wav\tab\n")
    result = run_cli("train-asr", manifest, "-o", tmp_path / "run", *TRAIN)
    assert result.status == 2
    assert "broken.wav" in result.stderr
    assert os.path.exists(tmp_path / "run") is False


def test_resume_refuses_model_options_typed_again_and_touches_nothing(trained: Path, run_cli) -> None:
    config = (trained / "run" / "config.json").read_bytes()
    result = run_cli(
        "train-asr", trained / "train.tsv", "--valid", trained / "valid.tsv", "-o", trained / "run",
        "--resume", "--hidden", 32, "--n-mels", 20, "--workers", 2, "--epochs", 19,
    )  # fmt: skip
    assert result.status == 2, result.stderr
    assert "--hidden" in result.stderr and "--n-mels" in result.stderr
    assert "--workers" not in result.stderr  # how features are computed may change on resume
    assert (trained / "run" / "config.json").read_bytes() == config


@pytest.fixture
def six_utterances(trained: Path, tmp_path: Path, monkeypatch) -> Path:
    """A manifest of six training utterances, with a cache of its own."""
    monkeypatch.setenv("SEQCLI_CACHE_DIR", str(tmp_path / "cache"))
    lines = (trained / "train.tsv").read_text().splitlines()[:6]
    manifest = tmp_path / "train.tsv"
    manifest.write_text("".join(f"{trained / line}\n" for line in lines))
    return manifest


ONE_EPOCH = [*TRAIN, "--batch-size", 2, "--epochs", 1]


def _steps_and_data(run_cli, manifest: Path, tmp_path: Path, runs: dict[str, list]) -> dict[str, tuple]:
    """Train one epoch per named run; its steps (2 utterances a batch, so the copies show)
    and the data settings saved with it."""
    found = {}
    for name, extra in runs.items():
        result = run_cli("train-asr", manifest, "-o", tmp_path / name, *extra, *ONE_EPOCH)
        assert result.status == 0, result.stderr
        # too short a run to log a line: info reads the weights' step
        info = run_cli("info", "-m", tmp_path / name).stdout
        steps = int(re.search(r"trained: (\d+) steps", info).group(1))
        found[name] = steps, json.loads((tmp_path / name / "config.json").read_text())["data"]
    return found


def _refused(run_cli, manifest: Path, tmp_path: Path, option: str, values: tuple[str, ...]) -> None:
    for value in values:
        result = run_cli("train-asr", manifest, "-o", tmp_path / "bad", option, value, *ONE_EPOCH)
        assert result.status == 2 and option in result.stderr, result.stderr


def test_speed_perturbation_adds_a_copy_of_the_training_set_per_factor(
    six_utterances: Path, run_cli, tmp_path
) -> None:
    runs = {"plain": [], "sp": ["--speed-perturb", "0.9,1.0,1.1"]}
    found = _steps_and_data(run_cli, six_utterances, tmp_path, runs)
    assert found["plain"][0] == 3 and found["sp"][0] == 9  # 6 utterances, 2 a batch, per copy
    assert found["sp"][1]["speed_perturb"] == [0.9, 1.0, 1.1]
    _refused(run_cli, six_utterances, tmp_path, "--speed-perturb", ("fast",))


# option: its runs, the steps each takes (6 utterances, 2 a batch: 3 per copy), the data
# settings saved with the run "both", and values refused
PERTURBATIONS = {
    "--noise-perturb": (
        {
            "noise": ["--noise-perturb", "20,10"],
            "both": ["--noise-perturb", "15", "--speed-perturb", "0.9,1.0"],
        },
        {"noise": 9, "both": 12},  # clean + 2 SNRs; 2 speeds x (clean + 15 dB)
        {"noise_perturb": [15.0], "speed_perturb": [0.9, 1.0]},
        ("loud", "10,10", "90"),
    ),
    "--reverb-perturb": (
        {
            "reverb": ["--reverb-perturb", "0.3"],
            "both": ["--reverb-perturb", "0.3,0.6", "--noise-perturb", "20"],
        },
        {"reverb": 6, "both": 12},  # clean + 1 room; clean, 20 dB and 2 rooms
        {"reverb_perturb": [0.3, 0.6], "noise_perturb": [20.0]},
        ("echo", "0.3,0.3", "0", "5"),
    ),
}


@pytest.mark.parametrize("option", sorted(PERTURBATIONS))
def test_noise_and_reverberation_add_a_copy_per_setting_and_speed(
    option: str, six_utterances: Path, run_cli, tmp_path
) -> None:
    runs, steps, saved, bad = PERTURBATIONS[option]
    found = _steps_and_data(run_cli, six_utterances, tmp_path, runs)
    assert {name: found[name][0] for name in runs} == steps
    assert {key: found["both"][1][key] for key in saved} == saved
    _refused(run_cli, six_utterances, tmp_path, option, bad)


def test_noisy_and_reverberant_features_differ_from_clean_ones_and_are_drawn_alike_on_any_thread_count(
    trained: Path,
) -> None:
    from seqcli.audio import FeatureConfig
    from seqcli.tasks.asr import extract_features

    paths = [trained / line.split("\t")[0] for line in (trained / "valid.tsv").read_text().splitlines()[:3]]
    config = FeatureConfig(sample_rate=RATE, n_mels=20)
    clean = list(extract_features(paths, config))
    noisy = list(extract_features(paths, config, snr=10.0))
    again = list(extract_features(paths, config, snr=10.0, workers=2))
    assert all(np.array_equal(a, b) for a, b in zip(noisy, again, strict=True))
    assert not any(np.array_equal(a, b) for a, b in zip(clean, noisy, strict=True))
    reverberant = list(extract_features(paths, config, rt60=0.3))
    assert all(
        np.array_equal(a, b)
        for a, b in zip(reverberant, extract_features(paths, config, rt60=0.3, workers=2), strict=True)
    )
    assert not any(np.array_equal(a, b) for a, b in zip(clean, reverberant, strict=True))


def test_vtlp_warps_the_training_features_and_is_saved_with_the_run(
    six_utterances: Path, run_cli, tmp_path
) -> None:
    manifest, options = six_utterances, ONE_EPOCH
    runs = {name: tmp_path / name for name in ("plain", "again", "vtlp")}
    for name, extra in (("plain", []), ("again", []), ("vtlp", ["--vtlp", 0.1])):
        result = run_cli("train-asr", manifest, "-o", runs[name], *extra, *options)
        assert result.status == 0, result.stderr
    weights = {name: (run / "model.safetensors").read_bytes() for name, run in runs.items()}
    assert weights["plain"] == weights["again"]  # so the difference below is the warp's
    assert weights["vtlp"] != weights["plain"]
    assert json.loads((runs["vtlp"] / "config.json").read_text())["data"]["vtlp"] == 0.1
    result = run_cli("train-asr", manifest, "-o", tmp_path / "bad", "--vtlp", 0.7, *options)
    assert result.status == 2 and "--vtlp" in result.stderr


def test_a_dynamic_range_is_saved_with_the_run_and_used_when_decoding(
    six_utterances: Path, run_cli, tmp_path
) -> None:
    import torch

    from seqcli.tasks.asr_use import load_recogniser

    manifest, options = six_utterances, ONE_EPOCH
    for name, extra in (("plain", []), ("floored", ["--dynamic-range", 40])):
        result = run_cli("train-asr", manifest, "-o", tmp_path / name, *extra, *options)
        assert result.status == 0, result.stderr
    plain, floored = ((tmp_path / name / "model.safetensors").read_bytes() for name in ("plain", "floored"))
    assert plain != floored  # the model saw other features
    assert json.loads((tmp_path / "floored" / "config.json").read_text())["features"]["dynamic_range"] == 40
    assert load_recogniser(tmp_path / "floored", torch.device("cpu")).features.dynamic_range == 40
    audio = manifest.parent / manifest.read_text().splitlines()[0].split("\t")[0]
    result = run_cli("transcribe", "-m", tmp_path / "floored", audio)
    assert result.status == 0 and len(result.stdout.splitlines()) == 1, result.stderr
    result = run_cli("train-asr", manifest, "-o", tmp_path / "bad", "--dynamic-range", -3, *options)
    assert result.status == 2 and "--dynamic-range" in result.stderr, result.stderr


def test_evaluate_takes_the_decoders_options_and_refuses_other_tasks_options(
    trained: Path, run_cli, tmp_path: Path
) -> None:
    lexicon = tmp_path / "words.txt"
    lexicon.write_text("a b c\n")  # one-letter words only: most references are out of reach
    run, valid = trained / "run", trained / "valid.tsv"
    greedy = run_cli("evaluate", "-m", run, valid)
    constrained = run_cli("evaluate", "-m", run, valid, "--beam", 8, "--lexicon", lexicon)
    assert constrained.status == 0, constrained.stderr
    assert "decoder beam8+lexicon" in constrained.stdout and "decoder greedy" in greedy.stdout
    wer = {
        name: float(result.stdout.split()[-3])
        for name, result in (("greedy", greedy), ("lexicon", constrained))
    }
    assert wer["lexicon"] > wer["greedy"] + 0.2  # words of two or three letters can no longer be written
    refused = run_cli("evaluate", "-m", run, valid, "--length-penalty", 0.5)
    assert (
        refused.status == 2
        and "--length-penalty: not an option for evaluating a speech recogniser" in refused.stderr
    )
    for args, message in (
        (["--lm-weight", 1.0], "--lm-weight weighs a language model"),
        (["--word-bonus", 1.0], "--word-bonus applies to beam search"),
    ):
        result = run_cli("evaluate", "-m", run, valid, *args)
        assert result.status == 2 and message in result.stderr, result.stderr
    result = run_cli("transcribe", "-m", run, "--word-bonus", 1.0, trained / "audio" / "valid-0.wav")
    assert result.status == 2 and "--word-bonus applies to beam search" in result.stderr


def test_an_ensemble_decodes_the_mean_of_its_members_probabilities(
    trained: Path, run_cli, tmp_path: Path, monkeypatch
) -> None:
    import torch

    from seqcli.audio import load_audio
    from seqcli.tasks.asr_use import hear, load_recogniser

    monkeypatch.setenv("SEQCLI_CACHE_DIR", str(tmp_path / "cache"))
    run, train, valid = trained / "run", trained / "train.tsv", trained / "valid.tsv"
    for name, extra in (("partner", ["--seed", 7]), ("coarser", ["--subsampling", 4])):
        result = run_cli("train-asr", train, "-o", tmp_path / name, *TRAIN, *extra, "--epochs", 1)
        assert result.status == 0, result.stderr
    cpu = torch.device("cpu")
    alone, partner = load_recogniser(run, cpu), load_recogniser(tmp_path / "partner", cpu)
    together = load_recogniser(run, cpu, ensemble=[tmp_path / "partner"])
    paths = [trained / line.split("\t")[0] for line in valid.read_text().splitlines()[:3]]
    waveforms = [load_audio(path, alone.features.sample_rate) for path in paths]
    for mine, theirs, mean in zip(
        hear(alone, waveforms), hear(partner, waveforms), hear(together, waveforms), strict=True
    ):
        expected = torch.log((mine.exp() + theirs.exp()) / 2)
        assert not torch.allclose(mine, theirs, atol=1e-3)  # two different models
        torch.testing.assert_close(mean, expected, atol=1e-5, rtol=1e-5)
    result = run_cli("evaluate", "-m", run, valid, "--ensemble", tmp_path / "partner", "--beam", 4)
    assert result.status == 0 and result.stdout.splitlines()[-1].startswith("wer "), result.stderr
    result = run_cli("transcribe", "-m", run, "--ensemble", tmp_path / "partner", "--beam", 4, paths[0])
    assert result.status == 0 and result.stdout.startswith(f"{paths[0]}\t"), result.stderr
    result = run_cli("transcribe", "-m", run, "--ensemble", tmp_path / "partner", paths[0])
    assert result.status == 2 and "--ensemble: decode with --beam" in result.stderr, result.stderr
    result = run_cli("transcribe", "-m", run, "--ensemble", tmp_path / "coarser", "--beam", 4, paths[0])
    assert result.status == 2 and f"--ensemble {tmp_path / 'coarser'}" in result.stderr, result.stderr

"""Build the two speech training sets of docs/speech.md; the audio is made here, never shipped.

    python bench/speech_data.py digits OUT [--train 3000 --dev 200 --test 300 --held-out yweweler]
    python bench/speech_data.py synthetic-digits OUT [--train 3000]
    python bench/speech_data.py sentences OUT [--train 3000 --dev 200 --test 300 --held-out-voice en-gb-x-rp]

digits: connected digits from the Free Spoken Digit Dataset (8 kHz, 5 speakers, 50 takes of
each digit each). An utterance joins 1–7 takes of one speaker with 50–300 ms pauses; its
transcript is the digit words ("three five nine"). Takes 0–35 of the training speakers make
``train.tsv``, takes 36–39 ``dev.tsv`` (for model selection), takes 40–49 ``test.tsv`` (seen
speakers, recordings used for nothing else); the held-out speaker makes ``heldout.tsv``.

synthetic-digits: more training speakers for the digits, spoken by espeak-ng (``synthetic.tsv``
in a digits set's directory): 1–7 random digits per utterance, each in one of eight voices
at a random speed (120–220 words/minute) and pitch (espeak's 20–80), resampled to 8 kHz, with
the same faint-noise pauses around it. No real speaker's recording is used, so the held-out
speaker stays unheard.

sentences: English captions of Multi30k spoken by espeak-ng (``apt-get install espeak-ng
sox``), each in a random voice and speed (120–220 words/minute), resampled to 16 kHz mono.
Training sentences come from ``train.en`` in every voice but one, ``dev.tsv`` (for model
selection) from other ``train.en`` sentences in the same voices; ``test.tsv`` holds
sentences of ``val.en`` in the held-out voice. Transcripts are lower-cased, with only letters,
digits, apostrophes and single spaces. ``lm.txt`` holds the training captions not used for
audio, normalised the same way, for ``seqcli train-lm``.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")
HELD_OUT = "yweweler"  # the speaker kept out of training by default
VOICES = ("en-us", "en-gb", "en+f3", "en+f2", "en-us+m3", "en-gb-scotland", "en-029", "en-gb-x-rp")


def digits(out: Path, *, train: int, dev: int, test: int, held_out: str, seed: int) -> None:
    rng = random.Random(seed)
    recordings = DATA / "fsdd" / "recordings"
    takes = {
        (speaker, digit): [_read(recordings / f"{digit}_{speaker}_{i}.wav") for i in range(50)]
        for speaker in SPEAKERS
        for digit in range(10)
    }
    seen = [s for s in SPEAKERS if s != held_out]
    splits = {
        "train": (seen, range(36), train),
        "dev": (seen, range(36, 40), dev),
        "test": (seen, range(40, 50), test),
        "heldout": ([held_out], range(50), test),
    }
    (out / "audio").mkdir(parents=True, exist_ok=True)
    for split, (speakers, indices, count) in splits.items():
        lines = []
        for n in range(count):
            speaker = rng.choice(speakers)
            sequence = [rng.randrange(10) for _ in range(rng.randint(1, 7))]
            pieces = []
            for digit in sequence:
                pieces += [_pause(rng, 8000), takes[speaker, digit][rng.choice(list(indices))]]
            pieces.append(_pause(rng, 8000))
            name = f"audio/{split}-{n:05d}-{speaker}.wav"
            soundfile.write(out / name, np.concatenate(pieces), 8000, subtype="PCM_16")
            lines.append(f"{name}\t{' '.join(WORDS[d] for d in sequence)}\n")
        (out / f"{split}.tsv").write_text("".join(lines))
        print(f"{out / split}.tsv: {count} utterances", file=sys.stderr)


def synthetic_digits(out: Path, *, train: int, seed: int) -> None:
    rng = random.Random(seed + 1)  # not the real splits' stream: building this changes none of them
    jobs = []
    for n in range(train):
        sequence = [rng.randrange(10) for _ in range(rng.randint(1, 7))]
        voice, speed, pitch = rng.choice(VOICES), rng.randint(120, 220), rng.randint(20, 80)
        jobs.append((n, " ".join(WORDS[d] for d in sequence), voice, speed, pitch, rng.randrange(2**32)))
    (out / "audio").mkdir(parents=True, exist_ok=True)

    def speak(job: tuple) -> str:
        n, text, voice, speed, pitch, noise_seed = job
        name = f"audio/synthetic-{n:05d}-{voice.replace('+', '_')}.wav"
        speech = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
            check=True, capture_output=True,
        ).stdout  # fmt: skip
        resampled = subprocess.run(
            ["sox", "-t", "wav", "-", "-t", "raw", "-e", "float", "-b", "32", "-r", "8000", "-c", "1", "-"],
            input=speech, check=True, capture_output=True,
        ).stdout  # fmt: skip
        local = random.Random(noise_seed)
        pieces = [_pause(local, 8000), np.frombuffer(resampled, np.float32), _pause(local, 8000)]
        soundfile.write(out / name, np.concatenate(pieces), 8000, subtype="PCM_16")
        return name

    with ThreadPoolExecutor(2) as pool:
        names = list(pool.map(speak, jobs))
    lines = [f"{name}\t{job[1]}\n" for name, job in zip(names, jobs, strict=True)]
    (out / "synthetic.tsv").write_text("".join(lines))
    print(f"{out / 'synthetic.tsv'}: {train} utterances", file=sys.stderr)


def _read(path: Path) -> np.ndarray:
    samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    assert rate == 8000, path
    return samples.mean(axis=1)


def _pause(rng: random.Random, rate: int) -> np.ndarray:
    """50–300 ms of faint noise (digital silence never occurs in a real recording)."""
    length = int(rate * rng.uniform(0.05, 0.3))
    return np.random.default_rng(rng.randrange(2**32)).normal(0, 1e-3, length).astype(np.float32)


def normalise_text(line: str) -> str:
    """Lower case; letters, digits and apostrophes; single spaces.

    >>> normalise_text("Two young, White males -- outside!")
    'two young white males outside'
    """
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", line.lower()).split())


def sentences(out: Path, *, train: int, dev: int, test: int, held_out_voice: str, seed: int) -> None:
    rng = random.Random(seed)
    corpus = [normalise_text(line) for line in (DATA / "multi30k" / "train.en").read_text().splitlines()]
    corpus = [line for line in corpus if line]
    rng.shuffle(corpus)
    valid = [normalise_text(line) for line in (DATA / "multi30k" / "val.en").read_text().splitlines()]
    valid = [line for line in valid if line]
    rng.shuffle(valid)
    voices = [v for v in VOICES if v != held_out_voice]
    jobs = [
        ("train", i, text, rng.choice(voices), rng.randint(120, 220)) for i, text in enumerate(corpus[:train])
    ]
    jobs += [
        ("dev", i, text, rng.choice(voices), rng.randint(120, 220))
        for i, text in enumerate(corpus[train : train + dev])
    ]
    jobs += [("test", i, text, held_out_voice, rng.randint(120, 220)) for i, text in enumerate(valid[:test])]
    (out / "audio").mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(2) as pool:
        names = list(pool.map(lambda job: _speak(out, *job), jobs))
    for split in ("train", "dev", "test"):
        lines = [f"{name}\t{job[2]}\n" for name, job in zip(names, jobs, strict=True) if job[0] == split]
        (out / f"{split}.tsv").write_text("".join(lines))
        print(f"{out / split}.tsv: {len(lines)} utterances", file=sys.stderr)
    (out / "lm.txt").write_text("".join(line + "\n" for line in corpus[train + dev :]))


def _speak(out: Path, split: str, index: int, text: str, voice: str, speed: int) -> str:
    name = f"audio/{split}-{index:05d}-{voice.replace('+', '_')}.wav"
    speech = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text], check=True, capture_output=True
    ).stdout
    subprocess.run(
        ["sox", "-t", "wav", "-", "-r", "16000", "-c", "1", "-b", "16", str(out / name)],
        input=speech, check=True, capture_output=True,
    )  # fmt: skip
    return name


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("set", choices=["digits", "synthetic-digits", "sentences"])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=3000)
    parser.add_argument("--dev", type=int, default=200, help="utterances for model selection")
    parser.add_argument("--test", type=int, default=300)
    parser.add_argument("--held-out", default=HELD_OUT, choices=SPEAKERS, help="digits: speaker kept out")
    parser.add_argument(
        "--held-out-voice", default="en-gb-x-rp", choices=VOICES, help="sentences: voice kept out"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.set == "synthetic-digits":
        synthetic_digits(args.out, train=args.train, seed=args.seed)
    elif args.set == "digits":
        digits(
            args.out, train=args.train, dev=args.dev, test=args.test, held_out=args.held_out, seed=args.seed
        )
    else:
        sentences(
            args.out,
            train=args.train,
            dev=args.dev,
            test=args.test,
            held_out_voice=args.held_out_voice,
            seed=args.seed,
        )


if __name__ == "__main__":
    main()

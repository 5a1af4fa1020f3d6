"""``seqcli train-asr``: manifests, units, cached features, the acoustic model and the Trainer.

Checks come first (see :mod:`seqcli.tasks.training`): the manifests are read and every
audio file checked to exist, the unit inventory is built from the training transcripts
(characters, or sentencepiece units), and a validation transcript with a character the
units cannot spell is an error listing those characters. Then features are computed once
into the indexed cache (``--workers`` threads), utterances whose transcript cannot fit
their output frames are dropped with a count (CTC would give them an infinite loss), and
only then is the run directory written.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from seqcli.audio import FeatureConfig, SpecAugment, VocalTractWarp
from seqcli.data.indexed import IndexedArray, build_indexed, file_identity, indexed_cache
from seqcli.data.manifest import ManifestEntry, read_manifest
from seqcli.errors import SeqcliError
from seqcli.models.ctc import AcousticModel, AcousticModelConfig, min_ctc_frames
from seqcli.tasks.asr import SpeechSet, SpeechTask, extract_features
from seqcli.tasks.asr_use import TASK
from seqcli.tasks.resume import refuse_on_resume
from seqcli.tasks.training import RunOptions, TrainingSession, check_model_options, data_fingerprint
from seqcli.text import UNK_ID, Tokenizer, load_tokenizer, train_tokenizer
from seqcli.text.char import CharTokenizer
from seqcli.text.vocabulary import select_vocabulary
from seqcli.train.trainer import TrainConfig, TrainResult

__all__ = ["SpeechData", "train_recogniser"]

UNITS = ("char", "bpe", "unigram")


def _distinct_in_range(
    values: Sequence[float], name: str, what: str, low: float, high: float
) -> tuple[float, ...]:
    """``values`` as floats, each within [low, high] and none twice, else an error naming the
    option (``name`` with dashes)."""
    option, values = "--" + name.replace("_", "-"), tuple(float(value) for value in values)
    if not all(low <= value <= high for value in values):
        raise SeqcliError(f"{option} takes {what} between {low:g} and {high:g}, got {values}")
    if len(set(values)) != len(values):
        raise SeqcliError(f"{option} lists a value twice: {values}")
    return values


@dataclass(frozen=True)
class SpeechData:
    """How transcripts become units and utterances become batches."""

    units: str = "char"
    vocab_size: int = 256  # bpe / unigram only
    max_frames: int = 20_000  # feature frames per batch (B * T_max)
    batch_size: int | None = None  # utterances per batch, if also capped
    specaugment: bool = True
    speed_perturb: tuple[float, ...] = (1.0,)  # the training set is one copy at each speed
    vtlp: float = 0.0  # warp factors drawn from [1 - vtlp, 1 + vtlp]; 0: off
    noise_perturb: tuple[float, ...] = ()  # SNRs (dB): one more noisy copy per speed for each
    reverb_perturb: tuple[float, ...] = ()  # RT60s (s): one more reverberant copy per speed for each
    workers: int = 1

    def __post_init__(self) -> None:
        for name, what, low, high in (
            ("speed_perturb", "speed factors", 0.5, 2.0),
            ("noise_perturb", "SNRs (dB)", -10.0, 60.0),
            ("reverb_perturb", "reverberation times (s)", 0.05, 3.0),
        ):
            object.__setattr__(self, name, _distinct_in_range(getattr(self, name), name, what, low, high))
        if not self.speed_perturb:
            raise SeqcliError("--speed-perturb needs at least one speed factor (1.0: the audio as it is)")
        if not 0.0 <= self.vtlp < 0.5:
            raise SeqcliError(f"--vtlp takes a warp between 0 (off) and 0.5, got {self.vtlp}")
        if self.units not in UNITS:
            raise SeqcliError(f"--units must be one of {', '.join(UNITS)}, got {self.units!r}")
        if self.max_frames < 1 or (self.batch_size is not None and self.batch_size < 1):
            raise SeqcliError("--max-frames and --batch-size must be at least 1")
        if self.workers < 1:
            raise SeqcliError(f"--workers must be at least 1, got {self.workers}")


def train_recogniser(
    train: Path,
    valid: Path | None,
    *,
    run: RunOptions,
    model: dict[str, Any],
    features: FeatureConfig,
    data: SpeechData,
    training: TrainConfig,
    given: frozenset[str] = frozenset(),
    task_options_given: Sequence[str] = (),
) -> TrainResult:
    """Train a CTC recogniser into ``run.run_dir``. ``model`` holds AcousticModelConfig fields
    except ``vocab_size`` and ``n_mels`` (taken from the units and ``features``). On
    ``--resume`` the run keeps its own model, features and data settings: those named in
    ``task_options_given`` (as typed) are refused rather than ignored."""
    _check_model(model)
    session = TrainingSession(run)
    train_entries = _read(train)
    valid_entries = _read(valid) if valid is not None else None
    saved = session.saved_config()
    if saved is not None:
        refuse_on_resume(run.run_dir, task_options_given)
        session.check_data(saved, {"train": data_fingerprint(train)})
        training = session.training_config(training, saved, given)
        tokenizer = load_tokenizer(run.run_dir)
        model_config = _saved(AcousticModelConfig, saved, "model", run.run_dir)
        features = _saved(FeatureConfig, saved, "features", run.run_dir)
        # --workers only says how to compute features: a resumed run may use another count
        data = replace(_saved(SpeechData, saved, "data", run.run_dir), workers=data.workers)
    else:
        tokenizer = session.rank0_first(lambda: _make_units(data, train_entries))
        model_config = AcousticModelConfig(vocab_size=tokenizer.vocab_size, n_mels=features.n_mels, **model)
    train_targets = _encode(tokenizer, train_entries, train)
    valid_targets = _encode(tokenizer, valid_entries, valid) if valid_entries is not None else None
    train_set = _speech_set(
        session, train, train_entries, train_targets, features, data.workers,
        speeds=data.speed_perturb, snrs=data.noise_perturb, rt60s=data.reverb_perturb,
    )  # fmt: skip
    train_set = _drop_unfit(session, train_set, AcousticModel(model_config), train)
    valid_set = None
    if valid_entries is not None:
        valid_set = _speech_set(session, valid, valid_entries, valid_targets, features, data.workers)
    task = SpeechTask(
        train_set,
        valid_set,
        tokenizer,
        max_frames=data.max_frames,
        batch_size=data.batch_size,
        augment=_augmentations(data, features),
        seed=training.seed,
        dist=session.dist,
    )
    session.begin(
        {
            "task": TASK,
            "model": asdict(model_config),
            "features": asdict(features),
            "data": asdict(data),
            "training": asdict(training),
            "data_files": {"train": data_fingerprint(train)},
        }
    )
    if saved is None and session.dist.is_main:
        tokenizer.save(run.run_dir)
    torch.manual_seed(training.seed)
    return session.train(task, AcousticModel(model_config), training)


def _check_model(model: dict[str, Any]) -> None:
    check_model_options(
        model,
        {"cell": "--cell", "hidden_size": "--hidden", "num_layers": "--layers",
         "conv_channels": "--channels", "dropout": "--dropout"},
    )  # fmt: skip
    if model.get("subsampling", 4) not in (1, 2, 4):
        raise SeqcliError(f"--subsampling must be 1, 2 or 4, got {model['subsampling']}")


def _read(path: Path) -> list[ManifestEntry]:
    entries = list(read_manifest(path))
    if not entries:
        raise SeqcliError(f"{path}: the manifest lists no utterances")
    return entries


def _make_units(data: SpeechData, entries: list[ManifestEntry]) -> Tokenizer:
    """Characters of the training transcripts, or sentencepiece units trained on them."""
    if data.units == "char":
        counts = Counter(character for entry in entries for character in entry.text)
        return CharTokenizer(select_vocabulary(counts))
    with tempfile.TemporaryDirectory() as directory:
        text = Path(directory) / "transcripts.txt"
        text.write_text("".join(entry.text + "\n" for entry in entries), encoding="utf-8")
        return train_tokenizer(data.units, [text], vocab_size=data.vocab_size)


def _encode(tokenizer: Tokenizer, entries: list[ManifestEntry], path: Path) -> list[list[int]]:
    """Unit ids of every transcript; characters the units cannot spell are an error."""
    targets, unknown = [], {}
    for entry in entries:
        ids = tokenizer.encode(entry.text)
        if UNK_ID in ids:
            for character in entry.text:
                if UNK_ID in tokenizer.encode(character):
                    unknown.setdefault(character, entry.line)
        targets.append(ids)
    if unknown:
        listed = ", ".join(f"{c!r} (line {line})" for c, line in sorted(unknown.items(), key=lambda i: i[1]))
        raise SeqcliError(
            f"{path}: transcripts use characters outside the model's alphabet: {listed}; "
            "add utterances with them to the training manifest, or normalise the transcripts"
        )
    return targets


def _speech_set(
    session: TrainingSession,
    manifest: Path,
    entries: list[ManifestEntry],
    targets: list[list[int]],
    features: FeatureConfig,
    workers: int,
    *,
    speeds: Sequence[float] = (1.0,),
    snrs: Sequence[float] = (),
    rt60s: Sequence[float] = (),
) -> SpeechSet:
    """Features through the indexed cache (rank 0 first), targets in memory; with several
    ``speeds`` the set holds every utterance once per speed, in that order, and each speed's
    copy is followed by one noisy copy per SNR of ``snrs``, then one reverberant copy per
    reverberation time of ``rt60s``."""
    audio = hashlib.sha256()
    for entry in entries:
        audio.update(repr(sorted(file_identity(entry.audio).items())).encode())
    key = {
        "kind": "asr-features",
        "manifest": file_identity(manifest),
        "audio": audio.hexdigest(),
        "features": asdict(features),
        **({"speeds": list(speeds)} if tuple(speeds) != (1.0,) else {}),
        **({"noise_snrs": list(snrs)} if snrs else {}),
        **({"reverb_rt60s": list(rt60s)} if rt60s else {}),
    }
    versions = [
        (speed, snr, rt60)
        for speed in speeds
        for snr, rt60 in [(None, None), *((snr, None) for snr in snrs), *((None, rt60) for rt60 in rt60s)]
    ]
    paths = [entry.audio for entry in entries]

    def build() -> IndexedArray:
        columns = (
            TextColumn(f"features {manifest.name}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=session.console, transient=True) as progress:
            bar = progress.add_task("features", total=len(paths) * len(versions))
            items = (
                item
                for speed, snr, rt60 in versions
                for item in extract_features(
                    paths,
                    features,
                    speed=speed,
                    snr=snr,
                    rt60=rt60,
                    workers=workers,
                    progress=lambda n: progress.advance(bar, n),
                )
            )
            return indexed_cache(
                key, lambda: items, dtype=np.float16, cache_dir=session.options.cache_dir,
                feature_shape=(features.n_mels,),
            )  # fmt: skip

    cached = session.rank0_first(build)
    copies = len(versions)
    return SpeechSet(
        cached, build_indexed(targets * copies, dtype=np.int32), [entry.text for entry in entries] * copies
    )


def _drop_unfit(session: TrainingSession, data: SpeechSet, model: AcousticModel, manifest: Path) -> SpeechSet:
    """Drop utterances whose transcript needs more output frames than the audio gives."""
    frames = model.output_lengths(torch.from_numpy(data.features.lengths)).tolist()
    keep = np.array(
        [i for i in range(len(data.texts)) if min_ctc_frames(data.targets[i].tolist()) <= frames[i]],
        dtype=np.int64,
    )
    dropped = len(data.texts) - len(keep)
    if dropped == 0:
        return data
    if len(keep) == 0:
        raise SeqcliError(
            f"{manifest}: no transcript fits its audio (every recording is too short for its text)"
        )
    session.console.print(
        f"[yellow]{manifest}: dropped {dropped} of {len(data.texts)} utterances whose transcript is too "
        "long for their audio (CTC needs an output frame per unit)[/]"
    )
    return SpeechSet(data.features.subset(keep), data.targets.subset(keep), [data.texts[i] for i in keep])


def _augmentations(data: SpeechData, features: FeatureConfig) -> list:
    """The training transforms of each utterance, in order: warp, then mask."""
    steps: list = [VocalTractWarp(features, data.vtlp)] if data.vtlp else []
    return [*steps, SpecAugment()] if data.specaugment else steps


def _saved(cls, saved: dict[str, Any], section: str, run_dir: Path):
    try:
        return cls(**saved[section])
    except (KeyError, TypeError, ValueError, SeqcliError) as err:
        raise SeqcliError(f"{run_dir / 'config.json'}: invalid {section} settings ({err})") from None

"""Using a trained speech recogniser: transcribe files, with or without a language model.

A file is read in blocks of ``chunk_seconds`` (30 s by default), so memory stays bounded
whatever its length; each block is normalised, recognised and decoded on its own and the
texts are joined. A word spoken across a block boundary may be split in two, which is the
price of the bound. Audio shorter than one output frame of the model (``subsampling``
feature frames) gives an empty transcript.

Several recognisers of the same units can listen together (an ensemble, ``--ensemble``):
each computes its own features and per-frame probabilities, and the decoder reads the mean
of those probabilities, frame by frame (posterior averaging).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from seqcli.audio import FeatureConfig, iter_audio_blocks, load_audio, mel_filterbank, utterance_features
from seqcli.decode.ctc import CTCHypothesis, LanguageModelFusion, Lexicon, ctc_greedy, ctc_prefix_beam_search
from seqcli.errors import SeqcliError
from seqcli.models.ctc import AcousticModel, AcousticModelConfig
from seqcli.tasks.registry import EvalRequest, Evaluation
from seqcli.text import EOS_ID, UNK_ID, Tokenizer, load_tokenizer
from seqcli.train import checkpoint

__all__ = [
    "TASK",
    "DecodeOptions",
    "LoadedRecogniser",
    "Transcript",
    "Word",
    "decode_options",
    "evaluate",
    "hear",
    "info_sections",
    "language_model_fusion",
    "load_lexicon",
    "load_recogniser",
    "recognise",
    "token_texts",
    "transcribe_batch",
    "transcribe_file",
    "transcript_record",
]

TASK = "asr"


@dataclass(frozen=True)
class LoadedRecogniser:
    model: AcousticModel
    tokenizer: Tokenizer
    features: FeatureConfig
    device: torch.device
    token_texts: list[str]
    filters: Tensor
    partners: tuple[LoadedRecogniser, ...] = ()  # recognisers heard together with this one

    @property
    def frame_seconds(self) -> float:
        """Seconds per output frame: the feature hop times the subsampling."""
        return self.features.hop_length * self.model.config.subsampling / self.features.sample_rate

    @property
    def min_samples(self) -> int:
        """The shortest audio that fills one output frame."""
        return self.features.hop_length * self.model.config.subsampling


@dataclass(frozen=True)
class DecodeOptions:
    """``beam`` 1 without a language model or a lexicon is greedy decoding; otherwise prefix
    beam search."""

    beam: int = 1
    word_bonus: float = 0.0
    chunk_seconds: float = 30.0
    fusion: LanguageModelFusion | None = None
    lexicon: Lexicon | None = None

    def __post_init__(self) -> None:
        if self.beam < 1:
            raise SeqcliError(f"--beam must be at least 1, got {self.beam}")
        if self.chunk_seconds < 1:
            raise SeqcliError(f"--chunk-seconds must be at least 1, got {self.chunk_seconds}")
        if self.word_bonus and self.beam == 1 and self.fusion is None and self.lexicon is None:
            raise SeqcliError("--word-bonus applies to beam search: give --beam > 1, --lm or --lexicon")


@dataclass(frozen=True)
class Word:
    text: str
    start: float
    end: float


@dataclass(frozen=True)
class Transcript:
    path: str
    text: str
    words: list[Word]
    duration: float


def token_texts(tokenizer: Tokenizer) -> list[str]:
    """Each unit's text: ``""`` for the specials, ``" "`` for a space, ``" the"`` for ``▁the``."""
    texts = []
    for token_id in range(tokenizer.vocab_size):
        piece = tokenizer.id_to_piece(token_id) if token_id > EOS_ID else ""
        texts.append(piece.replace("▁", " ") if tokenizer.kind in ("bpe", "unigram") else piece)
    return texts


def build_model(config: dict[str, Any]) -> AcousticModel:
    return AcousticModel(AcousticModelConfig(**config["model"]))


def load_recogniser(
    run_dir: Path, device: torch.device, *, ensemble: Sequence[Path] = ()
) -> LoadedRecogniser:
    """The recogniser of ``run_dir``; with ``ensemble``, those runs listen with it. They must
    write the same units from audio at the same rate, one output frame per as many seconds."""
    loaded = _load_one(run_dir, device)
    partners = tuple(_load_one(Path(other), device) for other in ensemble)
    for other, partner in zip(ensemble, partners, strict=True):
        if partner.token_texts != loaded.token_texts:
            raise SeqcliError(f"--ensemble {other}: it writes other units than {run_dir}")
        mine = (loaded.features.sample_rate, loaded.frame_seconds)
        theirs = (partner.features.sample_rate, partner.frame_seconds)
        if theirs != mine:
            raise SeqcliError(
                f"--ensemble {other}: {theirs[0]} Hz audio and {theirs[1]} s frames, "
                f"where {run_dir} has {mine[0]} Hz and {mine[1]} s"
            )
    return dataclasses.replace(loaded, partners=partners)


def _load_one(run_dir: Path, device: torch.device) -> LoadedRecogniser:
    config = checkpoint.read_config(run_dir, task=TASK)
    tokenizer = load_tokenizer(run_dir)
    try:
        model = build_model(config)
        features = FeatureConfig(**config["features"])
    except (KeyError, TypeError, ValueError) as err:
        raise SeqcliError(f"{run_dir / checkpoint.CONFIG_FILE}: invalid model settings ({err})") from None
    checkpoint.load_weights(run_dir, model)
    return LoadedRecogniser(
        model.to(device).eval(), tokenizer, features, device, token_texts(tokenizer), mel_filterbank(features)
    )


def language_model_fusion(run_dir: Path, device: torch.device, *, weight: float) -> LanguageModelFusion:
    """A ``train-lm`` run as a fusion LM: characters scored one by one, words when complete."""
    from seqcli.tasks.lm_use import lm_step, load_language_model

    loaded = load_language_model(run_dir, device)
    tokenizer = loaded.tokenizer
    per_character = tokenizer.kind == "char"
    newline = tokenizer.encode("\n") if per_character else []
    boundary = newline if newline and UNK_ID not in newline else [EOS_ID]
    return LanguageModelFusion(
        step=lm_step(loaded.model),
        start_tokens=[EOS_ID] if tokenizer.line_based else boundary,
        encode=tokenizer.encode,
        per_character=per_character,
        end_tokens=[EOS_ID] if tokenizer.line_based else boundary,
        weight=weight,
    )


def load_lexicon(path: Path, loaded: LoadedRecogniser) -> Lexicon:
    """The words of ``path`` (whitespace-separated, a word per line is usual) as a lexicon.
    A word the model's units cannot spell could never be written: that is an error naming it."""
    try:
        words = path.read_text(encoding="utf-8").split()
    except (OSError, UnicodeDecodeError) as err:
        raise SeqcliError(f"{path}: cannot read the lexicon ({err})") from None
    if not words:
        raise SeqcliError(f"{path}: the lexicon holds no words")
    if loaded.tokenizer.kind == "char":
        alphabet = set("".join(loaded.token_texts))
        unspellable = sorted({word for word in words if not set(word) <= alphabet})
        if unspellable:
            shown = ", ".join(unspellable[:10]) + (" ..." if len(unspellable) > 10 else "")
            raise SeqcliError(
                f"{path}: {len(unspellable)} words use characters the model cannot write: {shown}"
            )
    return Lexicon.of(words)


@torch.no_grad()
def recognise(loaded: LoadedRecogniser, features: Sequence[Tensor]) -> list[tuple[Tensor, int]]:
    """Per-frame log-probs ``(T', V)`` (and T') of a batch of ``(T, M)`` feature arrays."""
    lengths = torch.tensor([f.size(0) for f in features])
    batch = torch.zeros(len(features), int(lengths.max()), loaded.features.n_mels)
    for row, item in enumerate(features):
        batch[row, : item.size(0)] = item.float()
    log_probs, frames = loaded.model(batch.to(loaded.device), lengths.to(loaded.device))
    # <unk>, <bos> and <eos> are never in a transcript: training drives them to ~0; keep
    # an undertrained model from emitting them at all.
    log_probs[..., UNK_ID : EOS_ID + 1] = float("-inf")
    return [(log_probs[row, :n].cpu(), int(n)) for row, n in enumerate(frames.tolist())]


def hear(
    loaded: LoadedRecogniser, waveforms: Sequence[np.ndarray], *, max_frames: int = 20_000
) -> list[Tensor]:
    """Per-frame log-probs ``(T', V)`` of each waveform (at the model's rate), recognised in
    length-sorted batches of at most ``max_frames`` feature frames. With partners, the log of
    the mean of every member's probabilities: members with the same feature settings (seeds
    of one recipe, say) share one computation of the features."""
    features: dict[FeatureConfig, list[Tensor]] = {}
    heard = []
    for member in (loaded, *loaded.partners):
        if member.features not in features:
            features[member.features] = [
                utterance_features(samples, member.features, member.filters) for samples in waveforms
            ]
        heard.append(_recognise_sorted(member, features[member.features], max_frames))
    if len(heard) == 1:
        return heard[0]
    averaged = []
    for outputs in zip(*heard, strict=True):
        frames = min(output.size(0) for output in outputs)
        stacked = torch.stack([output[:frames] for output in outputs])
        averaged.append(torch.logsumexp(stacked, dim=0) - math.log(len(outputs)))
    return averaged


def _recognise_sorted(loaded: LoadedRecogniser, features: Sequence[Tensor], max_frames: int) -> list[Tensor]:
    heard: list[Tensor] = [torch.empty(0)] * len(features)
    order = sorted(range(len(features)), key=lambda i: features[i].size(0))
    batch: list[int] = []
    for position, index in enumerate(order):
        batch.append(index)
        last = position == len(order) - 1
        if last or (len(batch) + 1) * features[order[position + 1]].size(0) > max_frames:
            for i, (log_probs, _) in zip(batch, recognise(loaded, [features[i] for i in batch]), strict=True):
                heard[i] = log_probs
            batch = []
    return heard


def decode(loaded: LoadedRecogniser, log_probs: Tensor, options: DecodeOptions) -> CTCHypothesis:
    """The best hypothesis for one utterance's ``(T', V)`` log-probs."""
    if options.beam == 1 and options.fusion is None and options.lexicon is None:
        return ctc_greedy(log_probs[None], torch.tensor([log_probs.size(0)]))[0]
    return ctc_prefix_beam_search(
        log_probs,
        beam=options.beam,
        token_texts=loaded.token_texts,
        fusion=options.fusion,
        word_bonus=options.word_bonus,
        lexicon=options.lexicon,
    )[0]


def transcribe_file(loaded: LoadedRecogniser, path: Path, options: DecodeOptions) -> Transcript:
    """The transcript of one file, read block by block (see module docstring)."""
    _check_ensemble(loaded, options)
    rate = loaded.features.sample_rate
    texts: list[str] = []
    words: list[Word] = []
    offset = 0
    for block in iter_audio_blocks(path, rate, block_seconds=options.chunk_seconds):
        if block.shape[0] >= loaded.min_samples:
            hypothesis = _decode_block(loaded, block, options)
            block_words = _words(loaded, hypothesis, offset / rate)
            words += block_words
            texts.append(" ".join(word.text for word in block_words))
        offset += block.shape[0]
    return Transcript(str(path), " ".join(text for text in texts if text), words, offset / rate)


def _check_ensemble(loaded: LoadedRecogniser, options: DecodeOptions) -> None:
    # Members put their spikes on nearby frames, not the same one: between them the mean's
    # blank wins every frame, so a beam of one (greedy) drops words that a wider beam keeps.
    if loaded.partners and options.beam < 2:
        raise SeqcliError(
            "--ensemble: decode with --beam (16, say); greedy decoding of averaged CTC outputs drops words"
        )


def _decode_block(loaded: LoadedRecogniser, samples: np.ndarray, options: DecodeOptions) -> CTCHypothesis:
    [log_probs] = hear(loaded, [samples])
    return decode(loaded, log_probs, options)


def _words(loaded: LoadedRecogniser, hypothesis: CTCHypothesis, offset: float) -> list[Word]:
    """Words with start/end seconds: a word spans its first unit's frame to past its last."""
    spans: list[list[Any]] = []  # [text, first frame, last frame]
    at_boundary = True
    for token, frame in zip(hypothesis.tokens, hypothesis.frames, strict=True):
        text = loaded.token_texts[token] if token != UNK_ID else "<unk>"
        if text.startswith(" "):
            at_boundary = True
        stripped = text.strip(" ")
        if stripped:
            if at_boundary or not spans:
                spans.append(["", frame, frame])
            spans[-1][0] += stripped
            spans[-1][2] = frame
            at_boundary = text.endswith(" ")
    seconds = loaded.frame_seconds
    return [
        Word(text, round(offset + a * seconds, 3), round(offset + (b + 1) * seconds, 3))
        for text, a, b in spans
    ]


def transcript_record(transcript: Transcript, *, timestamps: bool) -> dict[str, Any]:
    """The JSON object of ``--format jsonl``."""
    record: dict[str, Any] = {"path": transcript.path, "text": transcript.text}
    if timestamps:
        record["words"] = [dataclasses.asdict(word) for word in transcript.words]
    return record


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """WER and CER of a manifest (``seqcli evaluate -m RUN test.tsv``), decoded greedily
    unless ``request.options`` give ``beam``, ``lm``, ``lm_weight``, ``word_bonus``, ``lexicon``."""
    from seqcli.data.manifest import read_manifest
    from seqcli.metrics.wer import error_rates

    if len(request.data) != 1:
        raise SeqcliError(
            "a speech recogniser is evaluated on one manifest (path<TAB>transcript), "
            f"got {len(request.data)} files"
        )
    manifest = request.data[0]
    entries = list(read_manifest(manifest, encoding_errors=request.encoding_errors))
    if not entries:
        raise SeqcliError(f"{manifest}: the manifest lists no utterances")
    device = torch.device(request.device)
    loaded = load_recogniser(run_dir, device, ensemble=request.options.get("ensemble") or ())
    options = decode_options(loaded, request.options)
    hypotheses = transcribe_batch(loaded, [entry.audio for entry in entries], options)
    rates = error_rates([entry.text for entry in entries], hypotheses)
    detail = f"utterances {rates.utterances}  words {rates.words}  decoder {_decoder_name(options)}"
    return Evaluation({"wer": rates.wer, "cer": rates.cer}, [detail])


def decode_options(loaded: LoadedRecogniser, options: Mapping[str, Any]) -> DecodeOptions:
    """DecodeOptions from evaluate's option dict (``beam``, ``lm``, ``lm_weight``, ``word_bonus``,
    ``lexicon``: a file of words)."""
    lm, lexicon = options.get("lm"), options.get("lexicon")
    if lm is None and "lm_weight" in options:
        raise SeqcliError("--lm-weight weighs a language model: give --lm too")
    fusion = None
    if lm is not None:
        fusion = language_model_fusion(Path(lm), loaded.device, weight=float(options.get("lm_weight", 0.5)))
    return DecodeOptions(
        beam=int(options.get("beam", 1)),
        word_bonus=float(options.get("word_bonus", 0.0)),
        fusion=fusion,
        lexicon=load_lexicon(Path(lexicon), loaded) if lexicon is not None else None,
    )


def _decoder_name(options: DecodeOptions) -> str:
    name = "greedy" if options.beam == 1 and options.fusion is None else f"beam{options.beam}"
    name += "+lm" if options.fusion is not None else ""
    return name + ("+lexicon" if options.lexicon is not None else "")


def transcribe_batch(
    loaded: LoadedRecogniser, paths: Sequence[Path], options: DecodeOptions, *, max_frames: int = 20_000
) -> list[str]:
    """Texts of many short files, recognised in length-sorted batches (for evaluation)."""
    _check_ensemble(loaded, options)
    waveforms = [load_audio(path, loaded.features.sample_rate) for path in paths]
    heard = hear(loaded, waveforms, max_frames=max_frames)
    return [
        loaded.tokenizer.decode(decode(loaded, log_probs, options).tokens)
        if loaded.features.num_frames(samples.shape[0]) >= loaded.model.config.subsampling
        else ""
        for samples, log_probs in zip(waveforms, heard, strict=True)
    ]


def info_sections(run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The feature settings, which ``info`` does not show among the common sections."""
    return {"features": dict(config.get("features", {}))}

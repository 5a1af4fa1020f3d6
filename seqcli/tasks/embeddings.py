"""Word vectors in the task registry: ``seqcli evaluate`` and ``seqcli info`` on a vectors run.

A vectors run is evaluated on no data file but on ``--analogies`` (questions-words) and/or
``--similarity`` (word pairs with human scores); the figures are analogy accuracy first,
then Spearman's ρ, and the per-section analogy table comes before them.

Selection metric: word2vec has no validation loss, and its learning rate decays to ~0 over
the run, so the last vectors are the ones to keep; the registry's metric is the mean
training loss of the latest step ("loss", lower is better), recorded with the weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqcli.errors import SeqcliError
from seqcli.tasks.embeddings_use import evaluate_vectors, load_vectors_model
from seqcli.tasks.registry import EvalRequest, Evaluation

__all__ = ["evaluate", "info_sections"]


def evaluate(run_dir: Path, request: EvalRequest) -> Evaluation:
    """The registry's entry point: ``seqcli evaluate -m RUN --analogies F --similarity F``."""
    if request.data:
        raise SeqcliError(
            "word vectors are evaluated with --analogies FILE and/or --similarity FILE, not a data file"
        )
    options = request.options
    similarity = options.get("similarity")
    figures, details = evaluate_vectors(
        load_vectors_model(run_dir).vectors,
        analogies=options.get("analogies"),
        similarity=[similarity] if similarity is not None else [],
        restrict=int(options.get("restrict") or 30000),
        encoding_errors=request.encoding_errors,
    )
    return Evaluation(figures, details)


def info_sections(run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The vocabulary as it was cut, and the vectors' shape."""
    model = config.get("model", {})
    vocabulary = config.get("vocabulary", {})
    return {
        "vocabulary": {key: vocabulary.get(key) for key in ("kept", "distinct", "min_count", "max_vocab")},
        "vectors": {"dim": model.get("dim"), "model": model.get("model"), "loss": model.get("loss")},
    }

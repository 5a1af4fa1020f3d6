"""Using a trained classifier: ``seqcli classify`` and ``seqcli evaluate``.

``classify`` reads one text a line (whitespace-tokenised) and prints, a line each, the
label and its probability (``text``) or ``{"label", "probability", "probabilities"}`` with
every class's probability (``jsonl``). The whole input is read first: a blank line stops
it with ``file:line`` and nothing written.

``evaluate`` reads a labelled TSV with the training run's columns and prints the confusion
matrix (gold rows, predicted columns) before the ``accuracy macro-f1`` line; ``plot``
draws the matrix into a PNG (matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from seqcli.data.corpus import iter_lines
from seqcli.errors import SeqcliError
from seqcli.tasks.classifier import (
    Columns,
    LoadedClassifier,
    class_scores,
    gold_matrix,
    load_classifier,
    read_examples,
)
from seqcli.tasks.registry import EvalRequest, Evaluation

__all__ = ["OUTPUT_FORMATS", "classify_lines", "evaluate", "info_sections", "plot_confusion", "read_texts"]

OUTPUT_FORMATS = ("text", "jsonl")
UNSEEN = "(unseen)"


def read_texts(path: Path, *, encoding_errors: str = "strict") -> list[str]:
    """Every line of ``path``; SeqcliError at the first blank one."""
    texts = []
    for lineno, line in enumerate(iter_lines(path, encoding_errors=encoding_errors), start=1):
        if not line.strip():
            raise SeqcliError(f"{path}:{lineno}: an empty text (a blank line)")
        texts.append(line.strip())
    if not texts:
        raise SeqcliError(f"{path}: no texts to classify")
    return texts


def classify_lines(classifier: LoadedClassifier, texts: Sequence[str], output: str) -> Iterator[str]:
    """One output line per text, in format ``output``."""
    probabilities = classifier.probabilities(texts)
    names = classifier.labels.labels
    for row in probabilities:
        best = int(row.argmax())
        if output == "jsonl":
            every = {name: round(float(p), 6) for name, p in zip(names, row, strict=True)}
            yield json.dumps(
                {"label": names[best], "probability": round(float(row[best]), 6), "probabilities": every},
                ensure_ascii=False,
            )
        else:
            yield f"{names[best]}\t{row[best]:.4f}"


def _stderr_warning(message: str) -> None:
    sys.stderr.write(f"warning: {message}\n")


def evaluate(
    run_dir: Path, request: EvalRequest, *, warn: Callable[[str], None] = _stderr_warning
) -> Evaluation:
    """Accuracy then macro-F1 on one labelled TSV; the confusion matrix as details."""
    if len(request.data) != 1:
        raise SeqcliError(f"a classifier evaluates on one labelled TSV file, got {len(request.data)}")
    path = request.data[0]
    classifier = load_classifier(run_dir, request.device)
    data = classifier.config["data"]
    examples = read_examples(
        path, Columns(data["label_column"], data["text_column"]), encoding_errors=request.encoding_errors
    )
    labels = classifier.labels
    unseen = Counter(e.label for e in examples if e.label not in labels)
    if unseen:
        listed = ", ".join(f"{label} ({n})" for label, n in unseen.most_common())
        warn(f"{path}: labels never seen in training, counted as wrong: {listed}")
    gold = [labels.index(e.label) if e.label in labels else -1 for e in examples]
    predicted = classifier.probabilities([e.text for e in examples]).argmax(1).tolist()
    matrix = gold_matrix(gold, predicted, len(labels))
    names = [*labels.labels, UNSEEN][: len(matrix)]
    plot = request.options.get("plot")
    if plot is not None:
        plot_confusion(matrix, names, Path(plot))
    return Evaluation(class_scores(matrix), confusion_table(matrix, names))


def confusion_table(matrix: Sequence[Sequence[int]], names: Sequence[str]) -> list[str]:
    """The matrix as a rich table, gold classes as rows and predictions as columns."""
    from rich.console import Console
    from rich.table import Table

    table = Table()
    table.add_column("gold \\ predicted")
    for name in names:
        table.add_column(name, justify="right")
    for name, row in zip(names, matrix, strict=True):
        table.add_row(name, *(str(count) for count in row))
    buffer = io.StringIO()
    Console(file=buffer, width=max(80, 16 + 10 * len(names)), color_system=None).print(table)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines() if line.strip()]
    return ["confusion matrix (rows: gold, columns: predicted)", *lines]


def plot_confusion(matrix: Sequence[Sequence[int]], names: Sequence[str], path: Path) -> None:
    """Draw the confusion matrix (counts, shaded by row share) into a PNG file."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SeqcliError("--plot needs matplotlib: pip install 'seqcli[plot]'") from None
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = 2 + 0.6 * len(names)
    figure, axes = plt.subplots(figsize=(size, size))
    axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("gold")
    for (i, j), count in np.ndenumerate(counts):
        axes.text(
            j, i, f"{int(count)}", ha="center", va="center", color="white" if shares[i, j] > 0.5 else "black"
        )
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    except OSError as err:
        raise SeqcliError(f"--plot {path}: cannot write ({err.strerror or err})") from None
    finally:
        plt.close(figure)


def info_sections(run_dir: Path, config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    model, data = config.get("model", {}), config.get("data", {})
    return {
        "classifier": {
            "classes": model.get("num_classes"),
            "pooling": model.get("pooling"),
            "words": model.get("vocab_size"),
            "columns": f"label {data.get('label_column')}, text {data.get('text_column')}",
            "class weights": "balanced" if data.get("class_weights") else "none",
        }
    }

"""Attention maps: a translation's weights ``α<t,t'>`` drawn as a heat map, source pieces
across, target pieces down (as in Bahdanau et al. 2015, figure 3). Needs matplotlib, the
``plot`` extra; drawn on a bare ``Figure``, so no display and no pyplot state is involved.
"""

from __future__ import annotations

from pathlib import Path

from seqcli.errors import SeqcliError
from seqcli.tasks.translation_use import Translation

__all__ = ["plot_attention"]


def plot_attention(translation: Translation, path: Path) -> None:
    """Write the best candidate's attention map of ``translation`` to ``path`` (PNG, PDF, SVG)."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise SeqcliError("--attention-plot needs matplotlib: pip install 'seqcli[plot]'") from None
    if not translation.candidates or translation.candidates[0].attention is None:
        raise SeqcliError(f"no attention weights to draw for {translation.source!r}")
    best = translation.candidates[0]
    rows, columns = [*best.pieces, "<eos>"], translation.source_pieces
    figure = Figure(figsize=(1.5 + 0.35 * len(columns), 1.2 + 0.35 * len(rows)))
    axes = figure.subplots()
    image = axes.imshow(best.attention, cmap="Greys", vmin=0.0, vmax=1.0, aspect="equal")
    axes.set_xticks(range(len(columns)), labels=columns, rotation=90)
    axes.set_yticks(range(len(rows)), labels=rows)
    axes.set_xlabel("source")
    axes.set_ylabel("translation")
    figure.colorbar(image, ax=axes, fraction=0.04, label="attention weight")
    figure.tight_layout()
    try:
        figure.savefig(path, dpi=120)
    except (OSError, ValueError) as err:
        raise SeqcliError(f"{path}: cannot write the attention plot ({err})") from None

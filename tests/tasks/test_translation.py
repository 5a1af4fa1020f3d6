"""Specification of seqcli.tasks.translation: batches, loss normaliser, left-out pairs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcli.data.indexed import build_indexed
from seqcli.models.seq2seq import Seq2Seq, Seq2SeqConfig
from seqcli.tasks.translation import (
    MAX_TRAIN_TOKENS,
    ParallelIds,
    SearchOptions,
    TranslationDataConfig,
    TranslationTask,
    collate,
    translate_ids,
)
from seqcli.text import BOS_ID, EOS_ID, PAD_ID

SOURCES = [[5, 6, 7, EOS_ID], [8, EOS_ID], [9, 10, EOS_ID]]
TARGETS = [[11, 12, EOS_ID], [13, 14, 15, 16, EOS_ID], [17, EOS_ID]]


def parallel(sources=SOURCES, targets=TARGETS) -> ParallelIds:
    return ParallelIds(build_indexed(sources, dtype=np.int32), build_indexed(targets, dtype=np.int32))


class Tokens:
    """The few members of a tokenizer the task uses: ids shown as text."""

    def decode(self, ids):
        return " ".join(map(str, ids))


def test_collate_shifts_the_target_for_teacher_forcing():
    source, source_lengths, inputs, outputs = collate(parallel(), [0, 1])
    assert source.tolist() == [[5, 6, 7, EOS_ID], [8, EOS_ID, PAD_ID, PAD_ID]]
    assert source_lengths.tolist() == [4, 2]
    assert inputs.tolist() == [[BOS_ID, 11, 12, PAD_ID, PAD_ID], [BOS_ID, 13, 14, 15, 16]]
    assert outputs.tolist() == [[11, 12, EOS_ID, PAD_ID, PAD_ID], [13, 14, 15, 16, EOS_ID]]


def test_loss_is_summed_over_real_target_tokens_with_their_count():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(source_vocab_size=20, target_vocab_size=20, embedding_dim=4, hidden_size=6))
    task = TranslationTask(parallel(), TranslationDataConfig(batch_size=3, label_smoothing=0.0), Tokens())
    model.eval()
    with torch.no_grad():
        total, count = task.loss(model, collate(parallel(), [0, 1, 2]))
        singles = [task.loss(model, collate(parallel(), [i])) for i in range(3)]
    assert int(count) == 3 + 5 + 2
    assert float(total) == pytest.approx(sum(float(loss) for loss, _ in singles), rel=1e-5)


def test_overlong_training_pairs_are_left_out_and_counted():
    long_target = [*range(4, 4 + MAX_TRAIN_TOKENS), EOS_ID]
    task = TranslationTask(parallel(targets=[*TARGETS[:2], long_target]), TranslationDataConfig(), Tokens())
    assert task.skipped == 1
    seen = np.concatenate([rows for rows in task.batches.epoch(0)])
    assert sorted(task.examples[seen].tolist()) == [0, 1]


def test_validation_reports_bleu_and_loss_and_search_keeps_input_order():
    torch.manual_seed(0)
    model = Seq2Seq(Seq2SeqConfig(source_vocab_size=20, target_vocab_size=20, embedding_dim=4, hidden_size=6))
    model.eval()
    references = ["11 12", "13 14 15 16", "17"]
    task = TranslationTask(parallel(), TranslationDataConfig(), Tokens(), valid=(parallel(), references))
    with torch.no_grad():
        figures = task.evaluate(model)
    assert set(figures) == {"bleu", "loss"} and 0 <= figures["bleu"] <= 100 and figures["loss"] > 0
    options = SearchOptions(beam_size=2, max_length_extra=3)
    together = translate_ids(model, SOURCES, options, batch_size=3)
    alone = [translate_ids(model, [source], options)[0] for source in SOURCES]
    assert [h[0].tokens for h in together] == [h[0].tokens for h in alone]

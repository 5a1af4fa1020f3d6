"""CTC decoding: greedy, prefix beam search, and shallow fusion with a language model.

A CTC network gives, at every output frame t, log-probabilities ``log y_t(k)`` over the
units and the blank. A frame path ``π`` reads as the labelling ``B(π)``: merge repeated
units, then drop blanks (``aa-b-bb`` → ``abb``). The probability of a labelling sums over
its paths, ``P(l|x) = Σ_{π: B(π)=l} Π_t y_t(π_t)``.

- Greedy (best path): the most likely unit at each frame, then ``B``. Cheap, and exact when
  one path dominates, which is usual for a trained CTC model.
- Prefix beam search (Graves 2012, "Supervised Sequence Labelling", section 7.5; Hannun et
  al. 2014, "First-Pass Large Vocabulary Continuous Speech Recognition using Bi-Directional
  Recurrent DNNs", algorithm 1): each prefix ℓ keeps two numbers, the probability of the
  paths that read as ℓ and end in a blank, ``p_b(ℓ)``, or in ℓ's last unit, ``p_nb(ℓ)``.
  At frame t, for unit c:

      p_b(ℓ)     += (p_b(ℓ) + p_nb(ℓ)) · y_t(blank)
      p_nb(ℓ)    += p_nb(ℓ) · y_t(c)                    if c is ℓ's last unit (a repeat merges)
      p_nb(ℓ+c)  += p_b(ℓ) · y_t(c)                     if c is ℓ's last unit (blank between)
      p_nb(ℓ+c)  += (p_b(ℓ) + p_nb(ℓ)) · y_t(c)         otherwise

  and the ``beam`` best prefixes survive. With a beam as wide as the number of prefixes
  this is exact: the result is the most probable labelling.
- Shallow fusion: prefixes are ranked by
  ``log P_ctc(ℓ) + α log P_lm(W(ℓ)) + β |W(ℓ)|``, with α the LM weight, ``|W|`` the number of
  words and β the insertion bonus that offsets the LM's cost per word. A character LM
  scores every character as it is emitted; a word or subword LM scores each word when
  the next space completes it (and the last word at the end), its pieces fed in order.
  The LM enters only through ``step(tokens, state) -> (log_probs, state)``.
- A lexicon (a closed vocabulary: digits, commands, names) constrains the search: a unit
  extends a prefix only if the word it leaves unfinished is the start of a lexicon word and
  every word it completes is one; at the end, transcripts whose last word is unfinished lose
  to any that is complete. Nothing outside the lexicon can then be written.

LM states are batched the seqcli way (a tensor, or tuple of tensors, with the batch on
dimension 1); rows are picked with :func:`reorder_state` and joined along that dimension.

Timestamps: each emitted unit carries the output frame where its prefix was first made
(greedy: the first frame of its run); times are frames × the model's frame shift.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from seqcli.decode.search import State, StepFn, reorder_state

__all__ = [
    "CTCHypothesis",
    "LanguageModelFusion",
    "Lexicon",
    "ctc_greedy",
    "ctc_prefix_beam_search",
]

NEG_INF = float("-inf")


@dataclass(frozen=True)
class CTCHypothesis:
    """A decoded labelling: its units, the output frame of each unit, and its scores.

    ``score`` ranks hypotheses: ``acoustic + α·lm + β·words`` (the acoustic log-probability
    alone without fusion; greedy gives its best path's log-probability).
    """

    tokens: list[int]
    frames: list[int]
    score: float
    acoustic: float


@dataclass(frozen=True)
class LanguageModelFusion:
    """A language model for shallow fusion, seen through its step function.

    ``start_tokens``: the context every transcript starts in (e.g. ``<eos>``, or a newline
    for a character LM). ``encode``: text to LM ids. ``per_character``: score each
    character as emitted (a character LM) rather than each completed word. ``end_tokens``:
    scored after the last word (``<eos>``, or a newline). ``weight``: α.
    """

    step: StepFn
    start_tokens: Sequence[int]
    encode: Callable[[str], list[int]]
    per_character: bool
    end_tokens: Sequence[int] = ()
    weight: float = 0.5


@dataclass(frozen=True)
class Lexicon:
    """The words a transcript may hold, and every start of one (``""`` included).

    >>> lexicon = Lexicon.of(["one", "two"])
    >>> "tw" in lexicon.starts, "tw" in lexicon.words
    (True, False)
    """

    words: frozenset[str]
    starts: frozenset[str]

    @classmethod
    def of(cls, words: Sequence[str]) -> Lexicon:
        words = frozenset(word for word in words if word)
        return cls(words, frozenset(word[:i] for word in words for i in range(len(word) + 1)))

    def complete(self, partial: str) -> bool:
        """Whether a transcript may end with the unfinished word ``partial``."""
        return partial == "" or partial in self.words

    def extend(self, partial: str, text: str) -> str | None:
        """The unfinished word after ``text`` follows ``partial`` (the unfinished word so
        far), or None if that text writes or starts a word not in the lexicon."""
        *done, last = (partial + text).split(" ")
        if any(word and word not in self.words for word in done) or last not in self.starts:
            return None
        return last


def ctc_greedy(log_probs: Tensor, lengths: Tensor, blank_id: int = 0) -> list[CTCHypothesis]:
    """Best path per utterance: argmax per frame, merge repeats, then drop blanks.

    ``log_probs: (B, T, V)``, ``lengths: (B,)`` frames per utterance.

    >>> [h.tokens for h in ctc_greedy(torch.tensor([[[0., 1.], [0., 1.], [1., 0.]]]).log_softmax(-1),
    ...                               torch.tensor([3]))]
    [[1]]
    >>> ctc_greedy(torch.eye(3)[[1, 1, 0, 1, 2, 2]][None].log(), torch.tensor([6]))[0].tokens
    [1, 1, 2]
    """
    best, best_ids = log_probs.max(dim=-1)  # (B, T)
    hypotheses = []
    for ids, scores, length in zip(best_ids.tolist(), best.tolist(), lengths.tolist(), strict=True):
        tokens, frames, previous = [], [], blank_id
        for t, unit in enumerate(ids[:length]):
            if unit != blank_id and unit != previous:
                tokens.append(unit)
                frames.append(t)
            previous = unit
        acoustic = float(sum(scores[:length]))
        hypotheses.append(CTCHypothesis(tokens, frames, acoustic, acoustic))
    return hypotheses


@dataclass(frozen=True)
class _Words:
    """What the LM and the word count know about a prefix."""

    lm_score: float  # Σ log P_lm of the LM ids committed so far
    words: int
    last_char: str  # "" before any text: a word boundary
    pending: str  # the word not yet given to a word/subword LM
    row: int  # the prefix's row in the LM state table
    unfed: int = -1  # an LM id already scored but not yet fed: the state at ``row`` precedes it
    partial: str = ""  # the unfinished last word, with a lexicon


@dataclass
class _Prefix:
    p_blank: float
    p_nonblank: float
    frames: tuple[int, ...]
    words: _Words


def ctc_prefix_beam_search(
    log_probs: Tensor,
    *,
    beam: int = 16,
    blank_id: int = 0,
    token_texts: Sequence[str] | None = None,
    fusion: LanguageModelFusion | None = None,
    word_bonus: float = 0.0,
    lexicon: Lexicon | None = None,
    token_prune: float = 1e-3,
) -> list[CTCHypothesis]:
    """The ``beam`` best labellings of one utterance, best first.

    ``log_probs: (T, V)``. ``token_texts[k]`` is unit k's text (a leading space starts a
    word: ``" "`` for a character model's space, ``" the"`` for a ``▁the`` piece); needed for
    fusion, ``word_bonus`` and ``lexicon``, which admits only its words (module docstring).
    Units whose frame probability is below ``token_prune`` are not tried at that frame (the
    most likely one always is).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if (fusion is not None or word_bonus or lexicon is not None) and token_texts is None:
        raise ValueError("fusion, word_bonus and lexicon need token_texts")
    lm = _LMTable.start(fusion, log_probs.device) if fusion is not None else None
    alpha = fusion.weight if fusion is not None else 0.0
    beam_prefixes = {(): _Prefix(0.0, NEG_INF, (), _Words(0.0, 0, "", "", 0))}
    floor = math.log(token_prune) if token_prune > 0 else NEG_INF
    for t, frame in enumerate(log_probs.float().tolist()):
        candidates = _candidates(frame, blank_id, floor, beam)
        following: dict[tuple[int, ...], _Prefix] = {}
        children: dict[tuple[int, ...], tuple[_Words, list[int]]] = {}
        refused: set[tuple[int, ...]] = set()  # children the lexicon does not admit
        for prefix, node in beam_prefixes.items():
            total = _logaddexp(node.p_blank, node.p_nonblank)
            _add(following, prefix, node, blank=total + frame[blank_id])
            for unit in candidates:
                if prefix and unit == prefix[-1]:
                    _add(following, prefix, node, nonblank=node.p_nonblank + frame[unit])
                    reach = node.p_blank + frame[unit]
                else:
                    reach = total + frame[unit]
                child = (*prefix, unit)
                if child in refused:
                    continue
                if child not in beam_prefixes and child not in children:
                    advanced = _advance(node.words, token_texts, unit, fusion, lexicon)
                    if advanced is None:
                        refused.add(child)
                        continue
                    children[child] = advanced
                words = beam_prefixes[child].words if child in beam_prefixes else children[child][0]
                _add(following, child, node, nonblank=reach, frames=(*node.frames, t), words=words)
        if lm is not None:
            _score_children(lm, following, children)
        ranked = sorted(following.items(), key=lambda item: -_total(item[1], alpha, word_bonus))
        # A prefix no path reaches (a repeat with no frame left for its blank) is dropped.
        beam_prefixes = {prefix: node for prefix, node in ranked[:beam] if _reachable(node)}
        if lm is not None:
            lm.keep(beam_prefixes)
    if lexicon is not None:  # an unfinished last word loses to any complete transcript
        complete = {k: node for k, node in beam_prefixes.items() if lexicon.complete(node.words.partial)}
        beam_prefixes = complete or beam_prefixes
    return _finish(beam_prefixes, lm, fusion, alpha, word_bonus)


def _candidates(frame: list[float], blank_id: int, floor: float, beam: int) -> list[int]:
    """Units worth trying at this frame: the ``beam`` likeliest above the floor, blank aside."""
    order = sorted(range(len(frame)), key=frame.__getitem__, reverse=True)
    kept = [unit for unit in order[:beam] if frame[unit] >= floor] or order[:1]
    return [unit for unit in kept if unit != blank_id]


def _add(
    following: dict[tuple[int, ...], _Prefix],
    prefix: tuple[int, ...],
    source: _Prefix,
    *,
    blank: float = NEG_INF,
    nonblank: float = NEG_INF,
    frames: tuple[int, ...] | None = None,
    words: _Words | None = None,
) -> None:
    """Add path probability to ``prefix`` in the next frame's set, creating it if new."""
    node = following.get(prefix)
    if node is None:
        node = _Prefix(NEG_INF, NEG_INF, source.frames if frames is None else frames, words or source.words)
        following[prefix] = node
    node.p_blank = _logaddexp(node.p_blank, blank)
    node.p_nonblank = _logaddexp(node.p_nonblank, nonblank)


def _advance(
    words: _Words,
    token_texts: Sequence[str] | None,
    unit: int,
    fusion: LanguageModelFusion | None,
    lexicon: Lexicon | None = None,
) -> tuple[_Words, list[int]] | None:
    """The word state after emitting ``unit``, and the LM ids that emission commits; None
    if the lexicon does not admit the text."""
    if token_texts is None:
        return words, []
    text = token_texts[unit]
    if not words.last_char:
        text = text.lstrip(" ")  # nothing before the first word
    if not text:
        return words, []
    if lexicon is not None:
        partial = lexicon.extend(words.partial, text)
        if partial is None:
            return None
        words = replace(words, partial=partial)
    starts_word = text.strip(" ") != "" and (words.last_char in ("", " ") or text.startswith(" "))
    count = words.words + starts_word
    if fusion is None:
        return replace(words, words=count, last_char=text[-1]), []
    if fusion.per_character:
        return replace(words, words=count, last_char=text[-1]), fusion.encode(text)
    if text.startswith(" "):
        commit = fusion.encode(words.pending) if words.pending else []
        return replace(words, words=count, last_char=text[-1], pending=text.strip(" ")), commit
    return replace(words, words=count, last_char=text[-1], pending=words.pending + text.rstrip(" ")), []


def _total(node: _Prefix, alpha: float, word_bonus: float) -> float:
    acoustic = _logaddexp(node.p_blank, node.p_nonblank)
    return acoustic + alpha * node.words.lm_score + word_bonus * node.words.words


def _reachable(node: _Prefix) -> bool:
    return node.p_blank > NEG_INF or node.p_nonblank > NEG_INF


def _logaddexp(a: float, b: float) -> float:
    if a == NEG_INF:
        return b
    if b == NEG_INF:
        return a
    return max(a, b) + math.log1p(math.exp(-abs(a - b)))


def _cat_states(states: Sequence[State]) -> State:
    if isinstance(states[0], tuple):
        return tuple(_cat_states(parts) for parts in zip(*states, strict=True))
    return torch.cat(list(states), dim=1)


class _LMTable:
    """The LM states and next-unit log-probs of the live prefixes, one row each."""

    def __init__(self, step: StepFn, state: State, next_log_probs: Tensor) -> None:
        self.step = step
        self.state = state
        self.next_log_probs = next_log_probs  # (R, V_lm)
        self.new_state: State | None = None
        self.new_next: Tensor | None = None

    @classmethod
    def start(cls, fusion: LanguageModelFusion, device: torch.device) -> _LMTable:
        if not fusion.start_tokens:
            raise ValueError("fusion needs at least one start token")
        state = None
        for token in fusion.start_tokens:
            log_probs, state = fusion.step(torch.tensor([token], device=device), state)
        return cls(fusion.step, state, log_probs)

    def extend(self, requests: Sequence[tuple[int, list[int]]]) -> tuple[list[float], State, Tensor]:
        """Feed ``ids`` after each row: their summed log-probs, and the resulting rows."""
        device = self.next_log_probs.device
        groups: dict[int, list[int]] = defaultdict(list)
        for position, (_, ids) in enumerate(requests):
            groups[len(ids)].append(position)
        scores = [0.0] * len(requests)
        order, states, nexts = [], [], []
        for members in groups.values():
            rows = torch.tensor([requests[m][0] for m in members], device=device)
            ids = torch.tensor([requests[m][1] for m in members], dtype=torch.long, device=device)  # (G, k)
            state, log_probs = reorder_state(self.state, rows), self.next_log_probs[rows]
            total = torch.zeros(len(members), device=device)
            for j in range(ids.size(1)):
                total += log_probs.gather(1, ids[:, j : j + 1]).squeeze(1)
                log_probs, state = self.step(ids[:, j], state)
            for member, value in zip(members, total.tolist(), strict=True):
                scores[member] = value
            order.extend(members)
            states.append(state)
            nexts.append(log_probs)
        inverse = torch.empty(len(order), dtype=torch.long, device=device)
        inverse[torch.tensor(order, device=device)] = torch.arange(len(order), device=device)
        return scores, reorder_state(_cat_states(states), inverse), torch.cat(nexts)[inverse]

    def keep(self, prefixes: dict[tuple[int, ...], _Prefix]) -> None:
        """Compact the table to the surviving prefixes' rows (renumbered 0..K-1), first
        feeding the LM the unit each new survivor was scored on but not yet fed."""
        state, next_log_probs = self.state, self.next_log_probs
        if self.new_state is not None:
            state = _cat_states([state, self.new_state])
            next_log_probs = torch.cat([next_log_probs, self.new_next])
        unfed = [node for node in prefixes.values() if node.words.unfed >= 0]
        if unfed:
            device = next_log_probs.device
            rows = torch.tensor([node.words.row for node in unfed], device=device)
            ids = torch.tensor([node.words.unfed for node in unfed], device=device)
            stepped_log_probs, stepped = self.step(ids, reorder_state(state, rows))
            base = next_log_probs.size(0)
            state = _cat_states([state, stepped])
            next_log_probs = torch.cat([next_log_probs, stepped_log_probs])
            for offset, node in enumerate(unfed):
                node.words = replace(node.words, row=base + offset, unfed=-1)
        rows = []
        for position, node in enumerate(prefixes.values()):
            rows.append(node.words.row)
            node.words = replace(node.words, row=position)
        index = torch.tensor(rows, device=next_log_probs.device)
        self.state, self.next_log_probs = reorder_state(state, index), next_log_probs[index]
        self.new_state = self.new_next = None


def _score_children(lm: _LMTable, following: dict, children: dict) -> None:
    """LM scores for this frame's new prefixes. A single LM id is scored from the parent's
    next-unit distribution and fed later, only if the prefix survives (:meth:`_LMTable.keep`);
    several ids (a word of subword pieces) are fed now, into rows past the table's end."""
    offset = lm.next_log_probs.size(0)
    singles = [(child, words, ids[0]) for child, (words, ids) in children.items() if len(ids) == 1]
    if singles:
        rows = torch.tensor([words.row for _, words, _ in singles], device=lm.next_log_probs.device)
        ids = torch.tensor([unit for _, _, unit in singles], device=lm.next_log_probs.device)
        scores = lm.next_log_probs[rows, ids].tolist()
        for (child, words, unit), score in zip(singles, scores, strict=True):
            children[child] = (replace(words, lm_score=words.lm_score + score, unfed=unit), [unit])
    requests = [(words.row, ids) for words, ids in children.values() if len(ids) > 1]
    multi_scores, lm.new_state, lm.new_next = lm.extend(requests) if requests else ([], None, None)
    fresh = iter(range(len(requests)))
    for child, (words, ids) in children.items():
        if len(ids) > 1:
            position = next(fresh)
            words = replace(words, lm_score=words.lm_score + multi_scores[position], row=offset + position)
            children[child] = (words, ids)
        if child in following:
            following[child].words = children[child][0]


def _finish(
    prefixes: dict[tuple[int, ...], _Prefix],
    lm: _LMTable | None,
    fusion: LanguageModelFusion | None,
    alpha: float,
    word_bonus: float,
) -> list[CTCHypothesis]:
    """Score the last word and the end of the transcript, then rank."""
    if lm is not None:
        requests = []
        for node in prefixes.values():
            last = (
                fusion.encode(node.words.pending) if node.words.pending and not fusion.per_character else []
            )
            requests.append((node.words.row, last + list(fusion.end_tokens)))
        if any(ids for _, ids in requests):
            scores, _, _ = lm.extend(requests)
            for node, score in zip(prefixes.values(), scores, strict=True):
                node.words = replace(node.words, lm_score=node.words.lm_score + score)
    hypotheses = [
        CTCHypothesis(
            list(prefix),
            list(node.frames),
            _total(node, alpha, word_bonus),
            _logaddexp(node.p_blank, node.p_nonblank),
        )
        for prefix, node in prefixes.items()
    ]
    return sorted(hypotheses, key=lambda h: -h.score)

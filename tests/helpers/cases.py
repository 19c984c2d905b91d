"""Per-loss cases as data: for every catalog loss, its params, its inputs (small and VQA-sized), a reference
written by hand with torch ops, and the exact numbers it must give (MMF's own outputs, or hand-computed).

Like torchmetrics' ``MetricTester``, the cases drive the tests rather than each test building its own inputs:

- ``tests/losses/test_cases.py``: every registered loss has a case ("no case for X"); each case's loss equals its
  reference on the small inputs; every exact number; each run compiles to one graph, matches eager in values
  and gradients, and neither its forward nor its backward synchronises with the host;
- ``tests/perf/test_compile_and_sync.py``: the cases that share a small-input builder form one collection each;
- ``benchmarks/bench_catalog.py``: each loss on its large inputs against its reference.

The references never call ``typed_losses.functional`` (that would compare the code with itself). A reference
is called as ``reference(sample_list, model_output, **params)`` and returns the sum of the loss's terms.
Input builders return fresh tensors on every call; the float tensors of ``model_output`` that a model would
produce require grad (:func:`leaves` finds them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from helpers.mmf_inputs import (
    ATT,
    FUSED,
    FUSED_LABELS,
    IMAGES,
    MASK,
    MULTI_HOT,
    R_IN,
    R_TG,
    SC,
    SM,
    SUP,
    TC,
    TEXTS,
    TEXTS_F2,
    TM,
    Y_IGNORED,
    S,
    T,
    Y,
    mmf_caption_inputs,
    mmf_rand_768,
    seeded,
)

__all__ = ["CASES", "Batch", "Case", "Example", "Inputs", "Run", "leaves"]

Batch = dict[str, Any]
#: ``(sample_list, model_output)``
Inputs = tuple[Batch, Batch]
EPS32 = float(torch.finfo(torch.float32).eps)


@dataclass(frozen=True)
class Example:
    """An exact number: the loss built with ``params`` gives ``expected`` on ``inputs()``.

    ``expected`` is the total, or the value of each term (in the loss's order). ``rtol=0`` asserts equality.
    """

    source: str
    inputs: Callable[[], Inputs]
    expected: float | Mapping[str, float]
    params: Mapping[str, Any] = field(default_factory=dict)
    rtol: float = 1e-6


@dataclass(frozen=True)
class Run:
    """Params and a small-input builder that the compile and no-sync checks run."""

    id: str
    name: str
    params: Mapping[str, Any]
    inputs: Callable[[], Inputs]


@dataclass(frozen=True)
class Case:
    """One catalog loss under test."""

    name: str
    _: KW_ONLY
    #: Small inputs (B = 6). Cases that share this builder are checked together as one collection.
    small: Callable[[], Inputs]
    #: Realistic inputs for the benchmark (VQA: B = 256, C = 3129), and their description.
    large: Callable[[], Inputs]
    size: str
    #: ``reference(sample_list, model_output, **params)``: the sum of the terms, written by hand with torch.
    reference: Callable[..., Tensor]
    examples: tuple[Example, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    #: Further ``(params, small-input builder)`` runs for the compile and no-sync checks, by label.
    variants: Mapping[str, tuple[Mapping[str, Any], Callable[[], Inputs]]] = field(default_factory=dict)

    def expected(self, sample_list: Batch, model_output: Batch) -> Tensor:
        """The reference's value for this case's params."""
        return self.reference(sample_list, model_output, **self.params)

    def runs(self) -> Iterator[Run]:
        yield Run(self.name, self.name, self.params, self.small)
        for label, (params, inputs) in self.variants.items():
            yield Run(f"{self.name}-{label}", self.name, params, inputs)


def leaves(batch: Mapping[str, Any]) -> list[Tensor]:
    """The tensors of ``batch`` (values, or items of list values) that require grad."""
    found: list[Tensor] = []
    for value in batch.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Tensor) and item.requires_grad:
                found.append(item)
    return found


# -- input builders --------------------------------------------------------------------------------------------

B, C = 6, 5
VB, VC = 256, 3129  # VQA: batch, answers


def _g(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _randn(seed: int, *shape: int, scale: float = 1.0) -> Tensor:
    return torch.randn(*shape, generator=_g(seed)) * scale


def _rand(seed: int, *shape: int) -> Tensor:
    return torch.rand(*shape, generator=_g(seed))


def _leaf(tensor: Tensor) -> Tensor:
    return tensor.detach().clone().requires_grad_()


def _soft(b: int = B, c: int = C) -> Tensor:
    """Sparse soft targets in [0, 1) with an all-zero row (small) or VQA's sparsity (large)."""
    if b == B:
        soft = _rand(1, b, c) * (_rand(2, b, c) > 0.5)
        soft[1] = 0.0
        return soft
    return (_rand(1, b, c) > 0.995).float() * _rand(2, b, c)


def scores_and_soft_targets() -> Inputs:
    return {"targets": _soft()}, {"scores": _leaf(_randn(3, B, C))}


def class_indices() -> Inputs:
    return {"targets": torch.tensor([0, 4, -100, 2, 1, 3])}, {"scores": _leaf(_randn(4, B, C))}


def branch_scores() -> Inputs:
    return {"targets": _soft()}, {"scores": _leaf(_randn(5, B, 3, C))}


def probabilities_and_attention() -> Inputs:
    sample_list = {"targets": _soft(), "info": {"attention_supervision": (_rand(5, B, 7) > 0.6).long()}}
    model_output = {"scores": _leaf(_rand(6, B, C) * 0.98 + 0.01), "attentions": [_leaf(F.softmax(_randn(7, B, 7), 1))]}
    return sample_list, model_output


def decoding_steps() -> Inputs:
    sample_list = {"targets": (_rand(8, B, 3, C) > 0.7).float(), "train_loss_mask": torch.tensor([[1, 1, 0]] * B)}
    return sample_list, {"scores": _leaf(_randn(9, B, 3, C))}


def captions() -> Inputs:
    sample_list = {
        "targets": torch.randint(0, C, (B, 4), generator=_g(10)),
        "caption_len": torch.tensor([5, 4, 4, 3, 2, 1]),
    }
    return sample_list, {"scores": _leaf(_randn(11, B, 4, C))}


def captions_without_lengths() -> Inputs:
    sample_list, model_output = captions()
    del sample_list["caption_len"]
    return sample_list, model_output


def embeddings() -> Inputs:
    sample_list = {"targets": torch.tensor([0, 0, 1, 1, 2, 0])}
    model_output = {
        "scores": _leaf(_randn(12, B, 8)),
        "targets": _leaf(_randn(13, B, 8)),
        "embedding_1": _leaf(_randn(14, B, 8)),
        "embedding_2": _leaf(_randn(15, B, 8)),
        "temperature": torch.tensor(0.5),
        "fused_embedding": _leaf(_randn(16, B, 8)),
    }
    return sample_list, model_output


def two_texts_per_image() -> Inputs:
    return {}, {"scores": _leaf(_randn(12, B, 8)), "targets": _leaf(_randn(13, 2 * B, 8))}


def multi_hot_labels() -> Inputs:
    return {"targets": (_rand(17, B, 3) > 0.5).float()}, {"fused_embedding": _leaf(_randn(16, B, 8))}


def _vqa(scores: Tensor | None = None, targets: Tensor | None = None) -> Inputs:
    scores = _leaf(_randn(0, VB, VC)) if scores is None else scores
    return {"targets": _soft(VB, VC) if targets is None else targets}, {"scores": scores}


def vqa() -> Inputs:
    return _vqa()


def vqa_indices() -> Inputs:
    return _vqa(targets=torch.randint(0, VC, (VB,), generator=_g(8)))


VQA = f"B={VB}, C={VC}"


# -- hand-written references -----------------------------------------------------------------------------------


def _io(sample_list: Batch, model_output: Batch) -> tuple[Tensor, Tensor]:
    return model_output["scores"], sample_list["targets"]


def _normalized(t: Tensor) -> Tensor:
    row = t.sum(dim=1, keepdim=True)
    return t / torch.where(row == 0, torch.full_like(row, 1e-6), row)


def _kl_rows(log_p: Tensor, q: Tensor) -> Tensor:
    return (q * (torch.log(torch.where(q == 0, torch.ones_like(q), q)) - log_p)).sum(dim=1, keepdim=True)


def _softmax_kldiv(s: Tensor, t: Tensor) -> Tensor:
    kl = _kl_rows(F.log_softmax(s, dim=1), _normalized(t))
    return kl.sum() / kl.size(0)


def _logit_bce(s: Tensor, t: Tensor) -> Tensor:
    return F.binary_cross_entropy_with_logits(s, t) * t.size(1)


def ref_logit_bce(sample_list: Batch, model_output: Batch) -> Tensor:
    return _logit_bce(*_io(sample_list, model_output))


def ref_triple_logit_bce(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    return sum((F.binary_cross_entropy_with_logits(s[:, k], t) for k in range(3)), torch.zeros(())) * t.size(-1)


def ref_bce(sample_list: Batch, model_output: Batch) -> Tensor:
    p, t = _io(sample_list, model_output)
    return F.binary_cross_entropy(p, t) * t.size(1)


def ref_m4c(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    mask: Tensor = sample_list["train_loss_mask"].float()
    losses = F.binary_cross_entropy_with_logits(s, t, reduction="none") * mask.unsqueeze(-1)
    return losses.sum() / mask.sum().clamp(min=1.0)


def ref_attention_supervision(sample_list: Batch, model_output: Batch) -> Tensor:
    att: Tensor = model_output["attentions"][0]
    sup: Tensor = sample_list["info"]["attention_supervision"].float()
    return F.binary_cross_entropy(att, sup, weight=sup) * sup.size(1)


def ref_cross_entropy(sample_list: Batch, model_output: Batch, **params: Any) -> Tensor:
    return F.cross_entropy(*_io(sample_list, model_output), **params)


def ref_nll_loss(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    return F.nll_loss(s, t.max(dim=1).indices) * t.size(1)


def ref_caption_cross_entropy(sample_list: Batch, model_output: Batch) -> Tensor:
    s, y = _io(sample_list, model_output)
    lengths = sample_list.get("caption_len")
    if lengths is not None:
        decode = torch.sort(lengths, descending=True).values - 1
        keep = torch.arange(y.size(1)).unsqueeze(0) < decode.unsqueeze(1)
        y = torch.where(keep, y, torch.full_like(y, -100))
    return F.cross_entropy(s.reshape(-1, s.size(-1)), y.reshape(-1))


def ref_mse(sample_list: Batch, model_output: Batch) -> Tensor:
    return F.mse_loss(*_io(sample_list, model_output))


def ref_cos_emb_loss(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    return F.cosine_embedding_loss(s, t, torch.ones(s.size(0)))


def ref_bce_kl(sample_list: Batch, model_output: Batch, *, weight_softmax: float) -> Tensor:
    s, t = _io(sample_list, model_output)
    return weight_softmax * _softmax_kldiv(s, t) + _logit_bce(s, t)


def ref_softmax_kldiv(sample_list: Batch, model_output: Batch) -> Tensor:
    return _softmax_kldiv(*_io(sample_list, model_output))


def ref_weighted_softmax(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    row = t.sum(dim=1, keepdim=True)
    kl = _kl_rows(F.log_softmax(s, dim=1), _normalized(t)) * torch.where(row == 0, torch.full_like(row, 1e-6), row)
    return kl.sum() / kl.size(0)


def ref_wrong(sample_list: Batch, model_output: Batch) -> Tensor:
    s, t = _io(sample_list, model_output)
    return F.kl_div(F.log_softmax(s, dim=1), _normalized(t), reduction="none").mean() * t.size(1)


def _masked_soft_ce(s: Tensor, y: Tensor, keep: Tensor, reduction: str) -> Tensor:
    total = (-(y * F.log_softmax(s, dim=-1)).sum(-1)).sum()
    return total if reduction == "sum" else total / keep.sum().clamp(min=1)


def ref_soft_label_cross_entropy(
    sample_list: Batch,
    model_output: Batch,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    normalize_targets: bool = True,
) -> Tensor:
    s, t = _io(sample_list, model_output)
    if t.dim() == 1:
        keep = t != ignore_index
        t = F.one_hot(torch.where(keep, t, torch.zeros_like(t)), s.size(1)).to(s.dtype) * keep.unsqueeze(1)
    keep = (t.sum(-1, keepdim=True) != 0).to(s.dtype)
    y = t * keep
    if normalize_targets:
        y = y / (EPS32 + y.sum(dim=1, keepdim=True))
    return _masked_soft_ce(s, y, keep, reduction)


def ref_label_smoothing_cross_entropy(
    sample_list: Batch,
    model_output: Batch,
    *,
    label_smoothing: float = 0.1,
    reduction: str = "mean",
    ignore_index: int = -100,
) -> Tensor:
    s, y = _io(sample_list, model_output)
    keep = (y != ignore_index).unsqueeze(1)
    index = torch.where(keep, y.unsqueeze(1), torch.zeros_like(y.unsqueeze(1)))
    smooth = torch.full_like(s, label_smoothing / (s.size(1) - 1)).scatter(1, index, 1 - label_smoothing) * keep
    return _masked_soft_ce(s, smooth, keep, reduction)


def ref_in_batch_hinge(sample_list: Batch, model_output: Batch, *, margin: float = 0.0, hard: bool = False) -> Tensor:
    images, texts = model_output["scores"], model_output["targets"]
    batch = images.size(0)
    eye = torch.eye(batch, dtype=torch.bool)
    total = torch.zeros(())
    for texts_k in texts.reshape(batch, texts.size(0) // batch, -1).unbind(1):
        scores = images @ texts_k.t()
        d = scores.diag().view(-1, 1)
        cost_s = (margin + scores - d).clamp(min=0).masked_fill(eye, 0)
        cost_im = (margin + scores - d.t()).clamp(min=0).masked_fill(eye, 0)
        if hard:
            total = total + cost_s.amax(dim=1).sum() + cost_im.amax(dim=0).sum()
        else:
            total = total + cost_s.sum() + cost_im.sum()
    return total


def ref_contrastive_loss(sample_list: Batch, model_output: Batch) -> Tensor:
    e1, e2, temperature = model_output["embedding_1"], model_output["embedding_2"], model_output["temperature"]
    labels = torch.arange(e1.size(0))
    return (F.cross_entropy(e1 @ e2.t() / temperature, labels) + F.cross_entropy(e2 @ e1.t() / temperature, labels)) / 2


def _lse_rows(z: Tensor, mask: Tensor) -> Tensor:
    z = torch.where(mask, z, torch.full_like(z, float("-inf")))
    return torch.logsumexp(torch.cat([torch.zeros_like(z[:, :1]), z], dim=1), dim=1)


def ref_ms_loss(
    sample_list: Batch, model_output: Batch, *, alpha: float = 50.0, beta: float = 2.0, margin: float = 0.5
) -> Tensor:
    x, labels = F.normalize(model_output["fused_embedding"]), sample_list["targets"]
    sim = x @ x.t()
    same = labels.unsqueeze(0) == labels.unsqueeze(1)
    pos, neg = same & (sim < 1 - 1e-5), ~same
    hardest_pos = torch.where(pos, sim, torch.full_like(sim, float("inf"))).amin(dim=1, keepdim=True)
    hardest_neg = torch.where(neg, sim, torch.full_like(sim, float("-inf"))).amax(dim=1, keepdim=True)
    neg, pos = neg & (sim + 0.1 > hardest_pos), pos & (sim - 0.1 < hardest_neg)
    rows = _lse_rows(-beta * (sim - margin), pos) / beta + _lse_rows(alpha * (sim - margin), neg) / alpha
    keep = pos.any(dim=1) & neg.any(dim=1)
    return torch.where(keep, rows, torch.zeros_like(rows)).sum() / x.size(0)


def ref_refiner_ms(
    sample_list: Batch,
    model_output: Batch,
    *,
    alpha: float = 50.0,
    beta: float = 2.0,
    base: float = 0.5,
    margin: float = 0.1,
    epsilon: float = 1e-16,
) -> Tensor:
    x, t = _io(sample_list, model_output)
    sim = x @ t.t()
    p = sim.diagonal().unsqueeze(1)
    neg = ((sim - p).abs() > epsilon) & (sim + margin > p)
    rows = F.softplus(-beta * (p.squeeze(1) - base)) / beta + _lse_rows(alpha * (sim - base), neg) / alpha
    return torch.where(neg.any(dim=1), rows, torch.zeros_like(rows)).sum() / x.size(0)


def ref_refiner_contrastive_loss(
    sample_list: Batch, model_output: Batch, *, sim_thresh: float = 0.1, epsilon: float = 1e-16
) -> Tensor:
    x, t = _io(sample_list, model_output)
    sim = F.normalize(x) @ F.normalize(t).t()
    p = sim.diagonal().unsqueeze(1)
    neg = (sim > p - sim_thresh) & ((sim - p).abs() > epsilon)
    count = neg.sum(dim=1)
    rows = torch.where(neg, sim_thresh + sim - p, torch.zeros_like(sim)).sum(dim=1) / count.clamp(min=1)
    return torch.where(count > 0, rows, torch.zeros_like(rows)).sum() / x.size(0)


def ref_multi(sample_list: Batch, model_output: Batch, *, losses: list[Mapping[str, Any]]) -> Tensor:
    """The weighted sum of the children, each by its own case's reference."""
    total = torch.zeros(())
    for child in losses:
        value = CASES[child["type"]].reference(sample_list, model_output, **child.get("params", {}))
        total = total + child.get("weight", 1.0) * value
    return total


# -- the cases -------------------------------------------------------------------------------------------------


def _literal(scores: Tensor, targets: Tensor) -> Callable[[], Inputs]:
    """Fixed literal inputs: ``targets`` in the sample list, ``scores`` in the model output."""
    return lambda: ({"targets": targets}, {"scores": scores})


def _mmf(
    inputs: Callable[[], Inputs], expected: float | Mapping[str, float], rtol: float = 1e-6, **params: Any
) -> Example:
    return Example("MMF", inputs, expected, params, rtol)


def _attention(att: Tensor | list[Tensor], sup: Tensor) -> Callable[[], Inputs]:
    return lambda: ({"info": {"attention_supervision": sup}}, {"attentions": att})


def _hinge(images: Tensor, texts: Tensor) -> Callable[[], Inputs]:
    return lambda: ({}, {"scores": images, "targets": texts})


def _mmf_hinge(texts_first: bool, texts_rows: int) -> Callable[[], Inputs]:
    """MMF's test_in_batch_hinge inputs: rand((5, 10)) for texts and images after manual_seed(1234)."""

    def build() -> Inputs:
        if texts_first:
            texts, images = seeded(1234, lambda: (torch.rand((texts_rows, 10)), torch.rand((5, 10))))
        else:
            images, texts = seeded(1234, lambda: (torch.rand((5, 10)), torch.rand((texts_rows, 10))))
        return {}, {"scores": images, "targets": texts}

    return build


def _fused(embeddings: Tensor | Callable[[], Tensor], labels: Tensor) -> Callable[[], Inputs]:
    def build() -> Inputs:
        x = embeddings() if callable(embeddings) else embeddings
        return {"targets": labels}, {"fused_embedding": x}

    return build


def _mmf_randn_5x768() -> Tensor:
    return seeded(1234, lambda: torch.randn(5, 768))


def _same(make: Callable[[], Tensor]) -> Callable[[], Inputs]:
    """Scores and targets that are the same tensor (MMF's tests of the minimum)."""

    def build() -> Inputs:
        x = make()
        return {"targets": x}, {"scores": x}

    return build


def _branches() -> Tensor:
    return torch.stack([S, 0.5 * S, -S], dim=1)


_MULTI = {"losses": [{"type": "logit_bce", "weight": 0.3}, {"type": "softmax_kldiv", "weight": 0.7}]}


def _cases() -> Iterator[Case]:
    # -- binary ----------------------------------------------------------------------------------------------
    yield Case(
        "logit_bce",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_logit_bce,
        examples=(
            _mmf(_literal(S, T), 3.5410454273223877),
            _mmf(_literal(SM, TM), 1.3855963945388794),  # 3-D scores: mean times size(1)
        ),
    )
    yield Case(
        "triple_logit_bce",
        small=branch_scores,
        large=lambda: _vqa(scores=_leaf(_randn(0, VB, 3, VC))),
        size=f"B={VB}, 3 branches, C={VC}",
        reference=ref_triple_logit_bce,
        examples=(_mmf(_literal(_branches(), T), 10.833845138549805), _mmf(_literal(S, T), 3.5410454273223877)),
    )
    yield Case(
        "bce",
        small=probabilities_and_attention,
        large=lambda: _vqa(scores=_leaf(_rand(3, VB, VC).clamp(0.01, 0.99))),
        size=VQA,
        reference=ref_bce,
        examples=(_mmf(_literal(torch.sigmoid(S), T), 3.5410454273223877),),
    )
    yield Case(
        "m4c_decoding_bce_with_mask",
        small=decoding_steps,
        large=lambda: (
            {
                "targets": (_rand(4, 128, 12, 5000) > 0.999).float(),
                "train_loss_mask": (_rand(5, 128, 12) > 0.3).float(),
            },
            {"scores": _leaf(_randn(0, 128, 12, 5000))},
        ),
        size="B=128, T=12 steps, C=5000 (M4C)",
        reference=ref_m4c,
        examples=(
            # MMF returns shape (1,) ([0.8230876922607422] and [0.0]); this port returns 0-dim.
            _mmf(lambda: ({"targets": TM, "train_loss_mask": MASK}, {"scores": SM}), 0.8230876922607422),
            _mmf(lambda: ({"targets": TM, "train_loss_mask": torch.zeros(2, 3)}, {"scores": SM}), 0.0),
        ),
    )
    yield Case(
        "attention_supervision",
        small=probabilities_and_attention,
        large=lambda: (
            {"info": {"attention_supervision": (_rand(7, VB, 100) > 0.9).long()}},
            {"attentions": [_leaf(torch.softmax(_randn(6, VB, 100), dim=1))]},
        ),
        size=f"B={VB}, N=100 regions",
        reference=ref_attention_supervision,
        examples=(
            _mmf(_attention([ATT], SUP), 1.2180582284927368),
            # A tensor of maps (K x B x N) works like a list: the first map is supervised.
            _mmf(_attention(torch.stack([ATT, torch.full_like(ATT, 0.5)]), SUP), 1.2180582284927368),
        ),
    )
    # -- classification --------------------------------------------------------------------------------------
    yield Case(
        "cross_entropy",
        small=class_indices,
        large=vqa_indices,
        size=VQA,
        reference=ref_cross_entropy,
        examples=(_mmf(_literal(S, Y), 0.5061875581741333), _mmf(_literal(S, Y), 0.21771204471588135, ignore_index=1)),
    )
    yield Case(
        "nll_loss",
        small=scores_and_soft_targets,
        large=lambda: _vqa(scores=_leaf(F.log_softmax(_randn(9, VB, VC), dim=1))),
        size=VQA,
        reference=ref_nll_loss,
        examples=(_mmf(_literal(F.log_softmax(S, dim=1), T), 7.358083248138428),),  # T's all-zero row 1 picks class 0
    )
    yield Case(
        "caption_cross_entropy",
        small=captions,
        large=lambda: (
            {
                "targets": torch.randint(0, 10000, (32, 20), generator=_g(10)),
                "caption_len": torch.randint(5, 21, (32,), generator=_g(11)),
            },
            {"scores": _leaf(_randn(0, 32, 20, 10000))},
        ),
        size="B=32, T=20, V=10000 (captioning)",
        reference=ref_caption_cross_entropy,
        examples=(
            # MMF's test_caption_cross_entropy: a complete match is exactly 0...
            Example("MMF", _caption_match, 0.0, rtol=0.0),
            # ...and its seeded random case (MMF asserts 9.2507).
            _mmf(mmf_caption_inputs, 9.25070571899414),
            _mmf(_literal(SC, TC), 0.569922685623169),
            # Lengths sorted, rows not reordered: the same number either way.
            _mmf(lambda: ({"targets": TC, "caption_len": torch.tensor([4, 3])}, {"scores": SC}), 0.4641847610473633),
            _mmf(lambda: ({"targets": TC, "caption_len": torch.tensor([3, 4])}, {"scores": SC}), 0.4641847610473633),
            _mmf(_literal(SC, torch.tensor([[0, -100, 2], [2, 2, 0]])), 0.5736182928085327),
        ),
        variants={"without-lengths": ({}, captions_without_lengths)},
    )
    # -- regression ------------------------------------------------------------------------------------------
    yield Case(
        "mse",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_mse,
        examples=(
            Example("MMF test_mse_loss", _same(mmf_rand_768), 0.0, rtol=0.0),
            _mmf(_literal(S, T), 2.5643749237060547),
        ),
    )
    yield Case(
        "cos_emb_loss",
        small=scores_and_soft_targets,
        large=lambda: ({"targets": _randn(12, VB, 768)}, {"scores": _leaf(_randn(0, VB, 768))}),
        size=f"B={VB}, D=768",
        reference=ref_cos_emb_loss,
        examples=(
            Example("MMF test_cosine_embedding_loss", _same(mmf_rand_768), 0.0, rtol=0.0),
            _mmf(_literal(S, T), 0.733666718006134),  # T's zero row has cosine 0, so its term is 1
        ),
    )
    # -- soft labels -----------------------------------------------------------------------------------------
    yield Case(
        "bce_kl",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_bce_kl,
        examples=(
            # MMF's test_bce_kl_loss (BCEAndKLLoss(0.5), scores == targets == rand(1, 768) after seed 1234):
            # MMF asserts 504.22253418 and 0.031847 to 4 places. The KL of 768 nearly equal distributions is a
            # difference of close sums: ours (fused xlogy, one sum) and MMF's (log, mask, row sums) round apart
            # by 7.7e-6 relative (float32 rounding), so the KL is pinned to 1e-5.
            _mmf(_same(mmf_rand_768), {"kl": 0.03184666857123375, "bce": 504.2225341796875}, 1e-5, weight_softmax=0.5),
            _mmf(_literal(S, T), {"kl": 0.31267571449279785, "bce": 3.5410454273223877}, weight_softmax=0.5),
        ),
        params={"weight_softmax": 0.5},
    )
    yield Case(
        "bce_kl_combined",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_bce_kl,
        examples=(_mmf(_literal(S, T), 3.8537211418151855, weight_softmax=0.5),),
        params={"weight_softmax": 0.5},
    )
    yield Case(
        "softmax_kldiv",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_softmax_kldiv,
        examples=(_mmf(_literal(S, T), 0.6253514289855957),),
    )
    yield Case(
        "weighted_softmax",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_weighted_softmax,
        examples=(_mmf(_literal(S, T), 0.883634090423584),),
    )
    yield Case(
        "wrong",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_wrong,
        examples=(_mmf(_literal(S, T), 0.6253514289855957),),
    )
    yield Case(
        "soft_label_cross_entropy",
        small=scores_and_soft_targets,
        large=vqa,
        size=VQA,
        reference=ref_soft_label_cross_entropy,
        examples=(
            _mmf(_literal(S, Y), 0.5061874985694885),
            _mmf(_literal(S, Y), 1.5185624361038208, reduction="sum"),
            _mmf(_literal(S, T), 1.5446350574493408),
            _mmf(_literal(S, T), 3.0892701148986816, reduction="sum"),
            _mmf(_literal(S, T), 2.181342601776123, normalize_targets=False),
            _mmf(_literal(S, torch.zeros(3, 4)), 0.0),
            # MMF crashes on an ignored index (scatter of -100); the fix masks the row.
            Example("MMF cross_entropy(ignore_index=1) / (1 + eps)", _literal(S, Y_IGNORED), 0.21771201491355896),
        ),
        variants={"indices": ({}, class_indices)},
    )
    yield Case(
        "label_smoothing_cross_entropy",
        small=class_indices,
        large=vqa_indices,
        size=VQA,
        reference=ref_label_smoothing_cross_entropy,
        examples=(
            _mmf(_literal(S, Y), 0.7534096837043762),
            # torch's own label smoothing gives 0.6916041970252991 here: a different scheme.
            _mmf(_literal(S, Y), 0.5061875581741333, label_smoothing=0.0),
            _mmf(_literal(S, Y_IGNORED), 0.5302120447158813),
            _mmf(_literal(S, Y_IGNORED), 1.0604240894317627, reduction="sum"),
            _mmf(_literal(S, torch.full((3,), -100)), 0.0),
            _mmf(_literal(S, Y[:, None]), 0.7534096837043762),  # B x 1 indices work like B
        ),
        params={"label_smoothing": 0.2},
    )
    # -- retrieval -------------------------------------------------------------------------------------------
    yield Case(
        "in_batch_hinge",
        small=embeddings,
        large=lambda: (
            {},
            {"scores": _leaf(_randn(13, VB, 1024, scale=0.03)), "targets": _leaf(_randn(14, VB, 1024, scale=0.03))},
        ),
        size=f"B={VB}, D=1024 (VSE++)",
        reference=ref_in_batch_hinge,
        examples=(
            # MMF's test_in_batch_hinge (seed 1234).
            Example("MMF", _hinge(torch.eye(3), torch.eye(3)), 0.0, {"margin": 0.2, "hard": True}, rtol=0.0),
            _mmf(_mmf_hinge(True, 5), 6.552998065948486, margin=0.2, hard=True),
            _mmf(_mmf_hinge(True, 5), 14.555533409118652, margin=0.2, hard=False),
            _mmf(_mmf_hinge(True, 5), 10.249983787536621),
            _mmf(_mmf_hinge(False, 10), 11.758618354797363, margin=0.2, hard=True),
            # Literal inputs, one and two texts per image.
            _mmf(_hinge(IMAGES, TEXTS), 1.3199999332427979, margin=0.0, hard=False),
            _mmf(_hinge(IMAGES, TEXTS), 2.320000171661377, margin=0.2, hard=False),
            _mmf(_hinge(IMAGES, TEXTS), 1.9200001955032349, margin=0.2, hard=True),
            _mmf(_hinge(IMAGES, TEXTS_F2), 3.9200003147125244, margin=0.2, hard=False),
            _mmf(_hinge(IMAGES, TEXTS_F2), 3.520000457763672, margin=0.2, hard=True),
        ),
        params={"margin": 0.2, "hard": True},
        variants={"two-texts-per-image": ({"margin": 0.2}, two_texts_per_image)},
    )
    yield Case(
        "contrastive_loss",
        small=embeddings,
        large=lambda: (
            {},
            {
                "embedding_1": _leaf(_randn(15, VB, 512, scale=0.05)),
                "embedding_2": _leaf(_randn(16, VB, 512, scale=0.05)),
                "temperature": torch.tensor(0.07),
            },
        ),
        size=f"B={VB}, D=512 (CLIP)",
        reference=ref_contrastive_loss,
        examples=(
            _mmf(
                lambda: ({}, {"embedding_1": IMAGES, "embedding_2": TEXTS, "temperature": torch.tensor(0.5)}),
                0.9885334968566895,
            ),
        ),
    )
    yield Case(
        "ms_loss",
        small=embeddings,
        large=lambda: (
            {"targets": torch.randint(0, 64, (VB,), generator=_g(18))},
            {"fused_embedding": _leaf(_randn(17, VB, 512))},
        ),
        size=f"B={VB}, D=512, 64 classes",
        reference=ref_ms_loss,
        examples=(
            # MMF's test_ms_loss (randn(5, 768) after seed 1234; float labels).
            Example("MMF", _fused(_mmf_randn_5x768, torch.Tensor([0, 0, 0, 0, 0])), 0.0, rtol=0.0),
            Example("MMF", _fused(_mmf_randn_5x768, torch.Tensor([1, 1, 1, 1, 1])), 0.0, rtol=0.0),
            _mmf(_fused(_mmf_randn_5x768, torch.Tensor([0, 0, 1, 1, 1])), 0.8270465731620789),
            _mmf(_fused(_mmf_randn_5x768, torch.Tensor([0, 0, 1, 1, 1])), 0.8270465731620789, hard_mining=False),
            _mmf(_fused(FUSED, FUSED_LABELS), 0.14558783173561096),
            # MMF's hard_mining=None (no mining); MMF's False still mined and gave 0.14558783173561096.
            _mmf(_fused(FUSED, FUSED_LABELS), 0.4323120713233948, hard_mining=False),
            # Multi-hot labels: each sample's own labels (MMF used sample 0's; a deliberate fix).
            Example("loop reference", _fused(FUSED, MULTI_HOT), 0.3186897337436676, {"is_multilabel": True}),
            Example(
                "loop reference",
                _fused(FUSED, MULTI_HOT),
                0.5929833650588989,
                {"is_multilabel": True, "hard_mining": False},
            ),
        ),
        params={"margin": 0.1},
        variants={"multilabel": ({"is_multilabel": True, "hard_mining": False}, multi_hot_labels)},
    )
    yield Case(
        "refiner_ms",
        small=scores_and_soft_targets,
        large=lambda: (
            {"targets": _randn(20, VB, 768, scale=0.05)},
            {"scores": _leaf(_randn(19, VB, 768, scale=0.05))},
        ),
        size=f"B={VB}, D=768",
        reference=ref_refiner_ms,
        examples=(
            # MMF's test_refiner_ms_loss: MMF returns the Python float 0.0; this port a 0-dim tensor.
            Example("MMF", _same(lambda: seeded(1234, lambda: torch.rand((1, 768)))), 0.0, rtol=0.0),
            _mmf(_literal(R_IN, R_TG), 0.15415771305561066),
            _mmf(_literal(R_IN, R_TG), 0.34803712368011475, margin=0.5),
        ),
        params={"margin": 2.0},
    )
    yield Case(
        "refiner_contrastive_loss",
        small=scores_and_soft_targets,
        large=lambda: (
            {"targets": _randn(20, VB, 768, scale=0.05)},
            {"scores": _leaf(_randn(19, VB, 768, scale=0.05))},
        ),
        size=f"B={VB}, D=768",
        reference=ref_refiner_contrastive_loss,
        examples=(
            Example("MMF", _same(lambda: seeded(1234, lambda: torch.rand((10, 768)))), 0.0, rtol=0.0),
            _mmf(_literal(R_IN, R_TG), 0.015000015497207642),
            _mmf(_literal(R_IN, R_TG), 0.21166667342185974, sim_thresh=0.5),
        ),
        params={"sim_thresh": 1.0},
    )
    # -- multi -----------------------------------------------------------------------------------------------
    yield Case(
        "multi",
        small=scores_and_soft_targets,
        large=lambda: _vqa(scores=_leaf(_randn(21, VB, VC))),
        size=f"{VQA}: 0.3 logit_bce + 0.7 softmax_kldiv",
        reference=ref_multi,
        examples=(
            _mmf(_literal(S, T), 1.5000596046447754, losses=_MULTI["losses"]),
        ),  # MMF: tensor([1.5000596046447754])
        params=_MULTI,
        variants={
            "multi-term-and-retrieval-children": (
                {
                    "losses": [
                        {"type": "logit_bce", "weight": 0.3},
                        {"type": "bce_kl", "params": {"weight_softmax": 0.5}},
                        {"type": "refiner_contrastive_loss", "weight": 2.0, "params": {"sim_thresh": 1.0}},
                    ]
                },
                scores_and_soft_targets,
            )
        },
    )


def _caption_match() -> Inputs:
    scores = torch.zeros((1, 10, 10))
    scores[:, :, 4] = 100.0
    return {"targets": torch.full((1, 10), 4, dtype=torch.long)}, {"scores": scores}


#: Every catalog loss's case, by registry name.
CASES: dict[str, Case] = {case.name: case for case in _cases()}

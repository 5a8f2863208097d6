"""Train the bundled Visual SET-SUM demo models (paper App. A) on the CPU.

    pnpm moxi setsum generate --out /tmp/setsum --train 40000 --test 10000 --seed 0
    /usr/bin/python3 tools/train_setsum.py --data /tmp/setsum --out models

Debian's PyTorch (python3-torch) is enough; no GPU. Debian's torch does its matrix products
with the reference BLAS unless OpenBLAS is installed (`apt-get install libopenblas0-pthread`,
which update-alternatives then picks): that makes the ViT ~10x faster to train (about
65 s an epoch on 2 cores, 45 minutes for 40 epochs, instead of 10 minutes an epoch); the
ResNet's convolutions use oneDNN either way (about 200 s an epoch, 30 minutes for 8). It
trains, seeded:
  models/setsum-resnet18/  the paper's ResNet-18 (torchvision / timm names), 31 classes;
  models/setsum-vit/       a small ViT whose players are the four digit cells (patch 28 on
                           56 px: 4 tokens + CLS), timm names, 31 classes;
  models/setsum-vit-patch8/ a ViT with 8 px patches (a 7 x 7 token grid, 49 players), the
                           model the data-set curves of `moxi evaluate` are drawn with;
each exported as a timm hub folder (config.json + model.safetensors, float16 storage) that
moxi loads like any checkpoint. Inputs are pixel / 255 (mean 0, std 1), so a masked cell
(0 in the normalised input) is a blank cell.

Loss: cross-entropy + 0.1 * MSE between the predicted set-sum (expected class under the
softmax) and the label (the paper's L_CE + L_MSE; 0.1 keeps the regression term, whose
errors are in units of the label up to 30, from swamping the cross-entropy).

The ViT also sees every digit shifted by up to 3 pixels inside its cell (a fresh shift
each time), which it needs to generalise to unseen handwriting. One deliberate addition
to the paper's recipe: each training cell is blanked (zeroed)
with probability 0.3 and the label becomes the sum of the distinct *visible* digits. The
explanations evaluate the model on images with masked cells (insertion / deletion, v(S));
a model that never saw a blank cell answers arbitrarily there, and "the patches inserted
until the prediction is correct" would measure noise. The test set is never blanked.

The patch-8 ViT sees fresh composites every epoch (four training cells drawn at random from
the 160,000 cells of the training split, shifted as above, blanked as above), and in half
of the batches a random 0-50% of its patch tokens are removed (not zeroed) with the label
unchanged: insertion and deletion curves show it images with tokens removed, and a model
that never saw one would answer arbitrarily there. While it trains, a second head (not
exported) reads each cell's digit off the final patch tokens over that cell (see
CellDigitHead). Phase 2 can distil from the one-token ViT (--vit-patch8-teacher) and lay
part of its composites out as the test images are (--vit-patch8-test-design); the bundled
weights came from a chain of such runs, listed in docs/setsum.md (66% test accuracy).

Prints the test accuracy (unmasked, in float64 PyTorch on the float16-rounded weights)
and the training time; `moxi setsum evaluate` reports the figures the README quotes.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import math
import os
import sys
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from deterministic_weights import VitConfig  # noqa: E402
from make_vit_goldens import read_safetensors, write_safetensors  # noqa: E402
from vit_reference import VisionTransformer  # noqa: E402

CLASSES = 31
BLANK_PROBABILITY = 0.3
MSE_WEIGHT = 0.1
# MNIST digits sit in the middle 20x20 of their 28x28 cell, so shifts up to 3 px keep them inside.
MAX_SHIFT = 3


def load_split(folder: str) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 56, 56] and digits [N, 4] of a split written by `moxi setsum generate`."""
    with open(os.path.join(folder, "labels.csv")) as f:
        rows = list(csv.DictReader(f))
    images = np.stack([np.asarray(Image.open(os.path.join(folder, r["file"])).convert("L")) for r in rows])
    digits = np.array([[int(r[f"d{k}"]) for k in range(4)] for r in rows], dtype=np.int64)
    labels = np.array([int(r["label"]) for r in rows])
    assert (labels == np.array([sum(set(d)) for d in digits])).all()
    return images, digits


def set_sum(digits: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Sum of the distinct visible digit values, per row."""
    present = torch.zeros(digits.shape[0], 10, dtype=torch.bool)
    present.scatter_(1, torch.where(visible, digits, torch.zeros_like(digits)), visible)
    return (present.float() * torch.arange(10).float()).sum(1).long()


def shift_cells(images: np.ndarray, generator: torch.Generator) -> np.ndarray:
    """Moves each digit by up to MAX_SHIFT pixels inside its cell (a fresh shift per cell)."""
    out = np.zeros_like(images)
    shifts = torch.randint(-MAX_SHIFT, MAX_SHIFT + 1, (len(images), 4, 2), generator=generator).numpy()
    for n in range(len(images)):
        for cell in range(4):
            oy, ox = (cell // 2) * 28, (cell % 2) * 28
            dy, dx = shifts[n, cell]
            digit = images[n, oy:oy + 28, ox:ox + 28]
            out[n, oy:oy + 28, ox:ox + 28] = np.roll(np.roll(digit, dy, axis=0), dx, axis=1)
    return out


def batch_tensor(images: np.ndarray, visible: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(images).float().div(255.0)
    mask = visible.view(-1, 2, 1, 2, 1).float().expand(-1, 2, 28, 2, 28).reshape(-1, 56, 56)
    return (x * mask).unsqueeze(1).expand(-1, 3, -1, -1).contiguous()


def loss_fn(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    expected = (logits.softmax(-1) * torch.arange(CLASSES).float()).sum(-1)
    return F.cross_entropy(logits, labels) + MSE_WEIGHT * F.mse_loss(expected, labels.float())


def take_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, schedule) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    schedule.step()


def train(model: torch.nn.Module, images: np.ndarray, digits: np.ndarray, epochs: int, batch: int, optimizer, name: str,
          augment: bool = False, test: Tuple[np.ndarray, np.ndarray] | None = None) -> None:
    generator = torch.Generator().manual_seed(1)
    steps = epochs * math.ceil(len(images) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"], total_steps=steps, pct_start=0.15)
    digits_t = torch.from_numpy(digits)
    start = time.time()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(images), generator=generator)
        total, correct, seen = 0.0, 0, 0
        for s in range(0, len(images), batch):
            idx = order[s:s + batch]
            visible = torch.rand(len(idx), 4, generator=generator) >= BLANK_PROBABILITY
            labels = set_sum(digits_t[idx], visible)
            cells = images[idx.numpy()]
            x = batch_tensor(shift_cells(cells, generator) if augment else cells, visible)
            logits = model(x)
            loss = loss_fn(logits, labels)
            take_step(loss, optimizer, schedule)
            total += loss.item() * len(idx)
            correct += (logits.argmax(-1) == labels).sum().item()
            seen += len(idx)
        tested = f", test accuracy {accuracy(model, *test):.4f}" if test is not None and (epoch + 1) % 5 == 0 else ""
        print(f"{name} epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}, train accuracy {correct / seen:.4f}{tested}, "
              f"{time.time() - start:.0f} s", flush=True)


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: np.ndarray, digits: np.ndarray) -> float:
    model.eval()
    correct = 0
    for s in range(0, len(images), 500):
        d = torch.from_numpy(digits[s:s + 500])
        visible = torch.ones_like(d, dtype=torch.bool)
        x = batch_tensor(images[s:s + 500], visible).to(next(model.parameters()).dtype)
        correct += (model(x).argmax(-1) == set_sum(d, visible)).sum().item()
    return correct / len(images)


def export(model: torch.nn.Module, folder: str, config: Dict[str, object]) -> None:
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().float().numpy() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    write_safetensors(os.path.join(folder, "model.safetensors"), state, dtype="F16",
                      metadata={"producer": "moxi tools/train_setsum.py"})
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # What moxi will compute with: the float16-rounded weights.
    model.load_state_dict({k: torch.from_numpy(v.astype(np.float16).astype(np.float32)) for k, v in state.items()}, strict=False)


def pretrained_cfg(first_conv: str, classifier: str) -> Dict[str, object]:
    return {
        "tag": "setsum",
        "input_size": [3, 56, 56],
        "interpolation": "bilinear",
        "crop_pct": 1.0,
        "crop_mode": "center",
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "num_classes": CLASSES,
        "first_conv": first_conv,
        "classifier": classifier,
        "label_names": [str(c) for c in range(CLASSES)],
    }


PATCH8_DIM = 96
BLANK_CELL = 10
TEACHER_TEMPERATURE = 2.0


def training_cells(images: np.ndarray, digits: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The 28x28 cells of the training composites [4N, 28, 28] and their digit values [4N]."""
    cells = images.reshape(-1, 2, 28, 2, 28).transpose(0, 1, 3, 2, 4).reshape(-1, 28, 28)
    return cells, digits.reshape(-1)


def fresh_composites(cells: np.ndarray, values: np.ndarray, count: int, generator: torch.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """`count` new 56x56 composites of four random training cells, and their digits [count, 4]."""
    pick = torch.randint(0, len(cells), (count, 4), generator=generator).numpy()
    chosen = cells[pick]  # [count, 4, 28, 28]
    images = chosen.reshape(count, 2, 2, 28, 28).transpose(0, 1, 3, 2, 4).reshape(count, 56, 56)
    return np.ascontiguousarray(images), values[pick]


def cells_by_value(values: np.ndarray) -> List[np.ndarray]:
    """Indices of the training cells holding each digit value 0..9."""
    return [np.flatnonzero(values == v) for v in range(10)]


def test_design_composites(cells: np.ndarray, values: np.ndarray, count: int, generator: torch.Generator,
                           by_value: List[np.ndarray] | None = None) -> Tuple[np.ndarray, np.ndarray]:
    """
    `count` new composites of training cells laid out as the test images are (the largest
    digit m in 1..9 in exactly two random cells, the other two uniform below m): the test
    design asks the model to see through a duplicate on every image, which only half of the
    uniform composites do. `by_value`: cells_by_value(values), computed once by callers in a loop.
    """
    by_value = by_value if by_value is not None else cells_by_value(values)
    digits = np.zeros((count, 4), dtype=values.dtype)
    largest = torch.randint(1, 10, (count,), generator=generator).numpy()
    order = torch.rand(count, 4, generator=generator).argsort(dim=1).numpy()
    below = torch.rand(count, 2, generator=generator).numpy()
    for n in range(count):
        digits[n, order[n, :2]] = largest[n]
        digits[n, order[n, 2:]] = (below[n] * largest[n]).astype(values.dtype)
    picks = np.array([[by_value[d][int(torch.randint(0, len(by_value[d]), (1,), generator=generator))] for d in row] for row in digits])
    chosen = cells[picks]
    images = chosen.reshape(count, 2, 2, 28, 28).transpose(0, 1, 3, 2, 4).reshape(count, 56, 56)
    return np.ascontiguousarray(images), digits


def cell_token_sets(grid: int) -> List[List[int]]:
    """The patch tokens over each digit cell (the middle token row and column straddle two cells)."""
    half = (grid + 1) // 2
    spans = [range(0, half), range(grid - half, grid)]
    return [[r * grid + c for r in spans[cell // 2] for c in spans[cell % 2]] for cell in range(4)]


def without_random_tokens(kept: List[List[int]], drop: int, generator: torch.Generator) -> List[List[int]]:
    """Each row's kept patch tokens less `drop` random ones."""
    if drop == 0:
        return kept
    out = []
    for keep in kept:
        order = torch.randperm(len(keep), generator=generator)[: max(0, len(keep) - drop)]
        out.append(sorted(keep[i] for i in order.tolist()))
    return out


def forward_tokens(model: VisionTransformer, x: torch.Tensor, kept: List[List[int]]) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """
    Runs the ViT on images x with only the patch tokens `kept[b]` of each row (removed after
    the embedding, as moxi's token masking does); rows of different lengths are padded and
    the padding hidden from attention. Returns the logits, the final normalised patch
    outputs scattered back to their grid positions [B, P, D], and which positions ran [B, P].
    """
    tokens = model.embed(x)
    prefix = model.num_prefix_tokens
    b, patches, d = x.shape[0], model.cfg.num_patches, tokens.shape[2]
    length = max(len(k) for k in kept)
    index = torch.tensor([list(range(prefix)) + [prefix + t for t in k] + [0] * (length - len(k)) for k in kept])
    key_keep = torch.tensor([[True] * (prefix + len(k)) + [False] * (length - len(k)) for k in kept])
    out = model.run_blocks(torch.gather(tokens, 1, index[..., None].expand(-1, -1, d)), key_keep, 0)
    logits = model.head_logits(out, None)
    positions = torch.tensor([k + [0] * (length - len(k)) for k in kept])
    ran = key_keep[:, prefix:].float()
    normed = model.norm(out[:, prefix:]) * ran[..., None]
    grid_tokens = torch.zeros(b, patches, d).index_put((torch.arange(b)[:, None].expand(-1, length), positions), normed, accumulate=True)
    present = torch.zeros(b, patches).index_put((torch.arange(b)[:, None].expand(-1, length), positions), ran, accumulate=True)
    return logits, grid_tokens, present


class CellDigitHead(torch.nn.Module):
    """
    Training only, not exported: reads each digit cell's digit (or "blank") off the mean of
    the final patch tokens over that cell. Four labels per image instead of one set-sum: a
    ViT with 8 px patches learns slowly what a digit is from the set-sum alone (9% train
    accuracy after two epochs).
    """

    def __init__(self, dim: int, grid: int):
        super().__init__()
        self.linear = torch.nn.Linear(dim, BLANK_CELL + 1)
        weight = torch.zeros(4, grid * grid)
        for cell, tokens in enumerate(cell_token_sets(grid)):
            weight[cell, tokens] = 1
        self.register_buffer("cells", weight)

    def forward(self, patches: torch.Tensor, present: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """patches [B, P, D], present [B, P] -> logits [B, 4, 11] and whether any token of the cell ran [B, 4]."""
        w = self.cells[None] * present[:, None, :]
        seen = w.sum(-1)
        pooled = torch.einsum("bcp,bpd->bcd", w, patches) / seen.clamp(min=1)[..., None]
        return self.linear(pooled), seen > 0


def train_patch8_digits(model: VisionTransformer, cells: np.ndarray, values: np.ndarray, generator: torch.Generator,
                        batch: int, steps_per_epoch: int, test: Tuple[np.ndarray, np.ndarray], checkpoint: str) -> None:
    """
    Phase 1: the first 8 epochs of a 20-epoch one-cycle schedule (peak lr 1e-3) with the
    cell head next to the set-sum loss. Epochs 1-2 on clean composites (no shifts, blanks or
    removed tokens; set-sum loss at 0.1), then shifts, blanked cells (p 0.3), removed tokens
    (half of the batches, up to half of the tokens) and the set-sum loss ramp up over two
    epochs. Measured on 300 steps of a small model: the cell digits reach 83% on clean
    composites, 33% with blanked cells and 20% with the set-sum loss on top.
    """
    cell_head = CellDigitHead(model.cfg.embed_dim, model.cfg.grid)
    optimizer = torch.optim.AdamW(list(model.parameters()) + list(cell_head.parameters()), lr=1e-3, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-3, total_steps=20 * steps_per_epoch, pct_start=0.1)
    patches = model.cfg.num_patches
    start = time.time()
    for epoch in range(8):
        model.train()
        ramp = min(1.0, max(0.0, (epoch - 1) / 2))
        total, correct, cell_correct, seen_cells, seen = 0.0, 0, 0, 0, 0
        for _ in range(steps_per_epoch):
            images, digits = fresh_composites(cells, values, batch, generator)
            digits_t = torch.from_numpy(digits)
            visible = torch.rand(batch, 4, generator=generator) >= BLANK_PROBABILITY * ramp
            labels = set_sum(digits_t, visible)
            shifted = torch.rand(1, generator=generator).item() < ramp
            x = batch_tensor(shift_cells(images, generator) if shifted else images, visible)
            drop = 0
            if torch.rand(1, generator=generator).item() < 0.5 * ramp:
                drop = int(torch.randint(0, patches // 2 + 1, (1,), generator=generator))
            kept = [list(range(patches))] * batch
            if drop > 0:
                kept = torch.rand(batch, patches, generator=generator).argsort(dim=1)[:, : patches - drop].sort(dim=1).values.tolist()
            logits, grid_tokens, present = forward_tokens(model, x, kept)
            cell_logits, cell_seen = cell_head(grid_tokens, present)
            cell_targets = torch.where(visible, digits_t, torch.full_like(digits_t, BLANK_CELL))
            cell_loss = F.cross_entropy(cell_logits[cell_seen], cell_targets[cell_seen])
            loss = (0.1 + 0.9 * ramp) * loss_fn(logits, labels) + cell_loss
            take_step(loss, optimizer, schedule)
            total += loss.item() * batch
            correct += (logits.argmax(-1) == labels).sum().item()
            cell_correct += (cell_logits.argmax(-1) == cell_targets)[cell_seen].sum().item()
            seen_cells += int(cell_seen.sum())
            seen += batch
        tested = accuracy(model, test[0][:2000], test[1][:2000])
        print(f"vit-patch8 digits epoch {epoch + 1}/8: loss {total / seen:.4f}, train accuracy {correct / seen:.4f} "
              f"(cells {cell_correct / seen_cells:.4f}), test accuracy (first 2000) {tested:.4f}, {time.time() - start:.0f} s", flush=True)
        torch.save(model.state_dict(), checkpoint)


def load_teacher(folder: str) -> VisionTransformer:
    """The bundled one-token-per-cell ViT (models/setsum-vit) as a frozen teacher."""
    with open(os.path.join(folder, "config.json")) as f:
        args = json.load(f)["model_args"]
    teacher = VisionTransformer(VitConfig(**args))
    weights = read_safetensors(os.path.join(folder, "model.safetensors"))
    teacher.load_state_dict({k: torch.from_numpy(v.astype(np.float32)) for k, v in weights.items()})
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    return teacher


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float = TEACHER_TEMPERATURE) -> torch.Tensor:
    """Hinton's soft-target loss: KL to the teacher's softened distribution, times T^2."""
    return temperature ** 2 * F.kl_div(F.log_softmax(student / temperature, -1), F.softmax(teacher / temperature, -1), reduction="batchmean")


def train_patch8_views(model: VisionTransformer, cells: np.ndarray, values: np.ndarray, generator: torch.Generator,
                       batch: int, steps_per_epoch: int, epochs: int, test: Tuple[np.ndarray, np.ndarray], checkpoint: str,
                       teacher: VisionTransformer | None = None, peak_lr: float = 5e-4, test_design: float = 0.0) -> None:
    """
    Phase 2: the set-sum itself. After phase 1 the model reads a lone digit well (94% of
    single-cell views after 200 steps) but not the sum of four: so every batch shows k of
    the four cells (k = 1, 2, 3, 4 with probability 0.15, 0.2, 0.25, 0.4), the others
    blanked and, in half of the batches, their tokens removed, labelled with the set-sum of
    what it shows; a quarter of the four-cell batches also lose up to 30% of their tokens.
    Shifted digits throughout; one-cycle schedule, peak lr 5e-4. With a teacher (the
    bundled one-token-per-cell ViT, which reads the same blanked image) the loss adds its
    soft targets: they say how close the wrong sums are, which the set-sum label alone does not.
    A share `test_design` of the batches is laid out as the test images are (from training
    cells; see test_design_composites).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=peak_lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)
    patches = model.cfg.num_patches
    sets = cell_token_sets(model.cfg.grid)
    test_layout = functools.partial(test_design_composites, by_value=cells_by_value(values))
    start = time.time()
    for epoch in range(epochs):
        model.train()
        total, correct, seen = 0.0, 0, 0
        for _ in range(steps_per_epoch):
            compose = test_layout if torch.rand(1, generator=generator).item() < test_design else fresh_composites
            images, digits = compose(cells, values, batch, generator)
            digits_t = torch.from_numpy(digits)
            k = 1 + int(torch.multinomial(torch.tensor([0.15, 0.2, 0.25, 0.4]), 1, generator=generator))
            shown = torch.zeros(batch, 4, dtype=torch.bool)
            shown.scatter_(1, torch.rand(batch, 4, generator=generator).argsort(dim=1)[:, :k], True)
            labels = set_sum(digits_t, shown)
            x = batch_tensor(shift_cells(images, generator), shown)
            remove_hidden = torch.rand(1, generator=generator).item() < 0.5
            kept = [sorted({t for cell in range(4) if shown[b, cell] or not remove_hidden for t in sets[cell]}) for b in range(batch)]
            drop = 0
            if k == 4 and torch.rand(1, generator=generator).item() < 0.25:
                drop = int(torch.randint(0, int(patches * 0.3) + 1, (1,), generator=generator))
            logits, _, _ = forward_tokens(model, x, without_random_tokens(kept, drop, generator))
            loss = loss_fn(logits, labels)
            if teacher is not None:
                with torch.no_grad():
                    soft = teacher(x)
                loss = loss + distillation_loss(logits, soft)
            take_step(loss, optimizer, schedule)
            total += loss.item() * batch
            correct += (logits.argmax(-1) == labels).sum().item()
            seen += batch
        tested = accuracy(model, test[0][:2000], test[1][:2000])
        print(f"vit-patch8 views epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}, train accuracy {correct / seen:.4f}, "
              f"test accuracy (first 2000) {tested:.4f}, {time.time() - start:.0f} s", flush=True)
        torch.save(model.state_dict(), checkpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder written by `moxi setsum generate`")
    parser.add_argument("--out", default="models")
    parser.add_argument("--resnet-epochs", type=int, default=8)
    parser.add_argument("--vit-epochs", type=int, default=40)
    parser.add_argument("--vit-patch8-epochs", type=int, default=16, help="phase 2 epochs of the 8 px-patch ViT")
    parser.add_argument("--vit-patch8-digits", help="skip phase 1 of the 8 px-patch ViT: its checkpoint (setsum-vit-patch8.digits.pt)")
    parser.add_argument("--vit-patch8-teacher", help="distil phase 2 of the 8 px-patch ViT from this one-token-per-cell ViT folder (models/setsum-vit)")
    parser.add_argument("--vit-patch8-test-design", type=float, default=0.0,
                        help="share of phase 2 batches laid out as the test images are (from training cells)")
    parser.add_argument("--vit-patch8-lr", type=float, default=5e-4, help="peak learning rate of phase 2")
    parser.add_argument("--only", choices=["resnet", "vit", "vit-patch8"])
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(0)
    train_images, train_digits = load_split(os.path.join(args.data, "train"))
    test_images, test_digits = load_split(os.path.join(args.data, "test"))
    print(f"train {len(train_images)}, test {len(test_images)} images", flush=True)

    if args.only in (None, "resnet"):
        torch.manual_seed(0)
        resnet = torchvision.models.resnet18(num_classes=CLASSES)
        optimizer = torch.optim.SGD(resnet.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
        start = time.time()
        train(resnet, train_images, train_digits, args.resnet_epochs, 128, optimizer, "resnet18")
        export(resnet, os.path.join(args.out, "setsum-resnet18"),
               {"architecture": "resnet18", "num_classes": CLASSES, "num_features": 512, "global_pool": "avg",
                "pretrained_cfg": pretrained_cfg("conv1", "fc"), "moxi": {"grid": 2}})
        print(f"resnet18: test accuracy {accuracy(resnet.double(), test_images, test_digits):.4f} "
              f"(float16 weights), trained in {time.time() - start:.0f} s", flush=True)

    if args.only in (None, "vit"):
        torch.manual_seed(0)
        cfg = VitConfig(img_size=56, patch_size=28, in_chans=3, embed_dim=128, depth=4, num_heads=4, mlp_ratio=4.0, num_classes=CLASSES)
        vit = VisionTransformer(cfg)
        for name, p in vit.named_parameters():
            if p.dim() > 1:
                torch.nn.init.trunc_normal_(p, std=0.02)
        optimizer = torch.optim.AdamW(vit.parameters(), lr=1e-3, weight_decay=0.1)
        start = time.time()
        # A ViT with one token per digit has no convolutional prior: without shifted digits
        # it memorises the 8,000 training samples (100% train, 85% test accuracy).
        train(vit, train_images, train_digits, args.vit_epochs, 128, optimizer, "vit", augment=True,
              test=(test_images, test_digits))
        export(vit, os.path.join(args.out, "setsum-vit"),
               {"architecture": "vit_tiny_patch16_224", "num_classes": CLASSES, "num_features": 128, "global_pool": "token",
                "model_args": {"img_size": 56, "patch_size": 28, "in_chans": 3, "embed_dim": 128, "depth": 4, "num_heads": 4,
                               "mlp_ratio": 4.0, "num_classes": CLASSES},
                "pretrained_cfg": pretrained_cfg("patch_embed.proj", "head"), "moxi": {"grid": 2}})
        print(f"vit: test accuracy {accuracy(vit.double(), test_images, test_digits):.4f} "
              f"(float16 weights), trained in {time.time() - start:.0f} s", flush=True)

    if args.only in (None, "vit-patch8"):
        torch.manual_seed(0)
        cfg = VitConfig(img_size=56, patch_size=8, in_chans=3, embed_dim=PATCH8_DIM, depth=4, num_heads=4, mlp_ratio=4.0, num_classes=CLASSES)
        vit8 = VisionTransformer(cfg)
        # timm's init: truncated normal (std 0.02) for the linear layers and tokens, PyTorch's
        # default for the patch-embedding convolution (0.02 there makes the patch content
        # vanish next to the position embeddings and slows the start).
        for name, p in vit8.named_parameters():
            if p.dim() > 1 and not name.startswith("patch_embed"):
                torch.nn.init.trunc_normal_(p, std=0.02)
        cells, values = training_cells(train_images, train_digits)
        generator = torch.Generator().manual_seed(1)
        steps_per_epoch = math.ceil(len(train_images) / 128)
        test = (test_images, test_digits)
        start = time.time()
        if args.vit_patch8_digits:
            vit8.load_state_dict(torch.load(args.vit_patch8_digits))
            print(f"vit-patch8: phase 1 from {args.vit_patch8_digits}", flush=True)
        else:
            train_patch8_digits(vit8, cells, values, generator, 128, steps_per_epoch, test, os.path.join(args.out, "setsum-vit-patch8.digits.pt"))
        teacher = load_teacher(args.vit_patch8_teacher) if args.vit_patch8_teacher else None
        train_patch8_views(vit8, cells, values, torch.Generator().manual_seed(2), 128, steps_per_epoch, args.vit_patch8_epochs, test,
                           os.path.join(args.out, "setsum-vit-patch8.views.pt"), teacher, args.vit_patch8_lr,
                           args.vit_patch8_test_design)
        export(vit8, os.path.join(args.out, "setsum-vit-patch8"),
               {"architecture": "vit_tiny_patch16_224", "num_classes": CLASSES, "num_features": PATCH8_DIM, "global_pool": "token",
                "model_args": {"img_size": 56, "patch_size": 8, "in_chans": 3, "embed_dim": PATCH8_DIM, "depth": 4, "num_heads": 4,
                               "mlp_ratio": 4.0, "num_classes": CLASSES},
                "pretrained_cfg": pretrained_cfg("patch_embed.proj", "head")})
        print(f"vit-patch8: test accuracy {accuracy(vit8.double(), test_images, test_digits):.4f} "
              f"(float16 weights), trained in {time.time() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main()

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

The token-level ViT (models/setsum-vit-patch7) is trained by tools/train_setsum_tokens.py,
which uses the helpers below (fresh composites, the test layout, the teacher).

Prints the test accuracy (unmasked, in float64 PyTorch on the float16-rounded weights)
and the training time; `moxi setsum evaluate` reports the figures the README quotes.
"""

from __future__ import annotations

import argparse
import csv
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


def without_random_tokens(kept: List[List[int]], drop: int, generator: torch.Generator) -> List[List[int]]:
    """Each row's kept patch tokens less `drop` random ones."""
    if drop == 0:
        return kept
    out = []
    for keep in kept:
        order = torch.randperm(len(keep), generator=generator)[: max(0, len(keep) - drop)]
        out.append(sorted(keep[i] for i in order.tolist()))
    return out


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder written by `moxi setsum generate`")
    parser.add_argument("--out", default="models")
    parser.add_argument("--resnet-epochs", type=int, default=8)
    parser.add_argument("--vit-epochs", type=int, default=40)
    parser.add_argument("--only", choices=["resnet", "vit"])
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

if __name__ == "__main__":
    main()

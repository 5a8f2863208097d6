"""Train the token-level Visual SET-SUM ViT (models/setsum-vit-patch7) on the CPU, in parts.

    pnpm moxi setsum generate --out /tmp/setsum --train 40000 --test 10000 --seed 0
    /usr/bin/python3 tools/train_setsum_tokens.py --data /tmp/setsum --teacher models/setsum-vit --out models
    # stopped? the same command with --resume models/setsum-vit-patch7.checkpoint.pt goes on

7 px patches on the 56 px image: an 8 x 8 grid of 64 tokens, each digit cell exactly 4 x 4
tokens, so no token straddles two digits (8 px patches did: 28 is not a multiple of 8).
7 px rather than 4 px (196 tokens, the paper's player count) because 64 players keep
MoXI's greedy search (about n^2 / 2 forward passes) and the training affordable on two CPU
cores; the per-cell structure is the same.

Recipe (why: a ViT with small patches learns slowly what a digit is from the set-sum label
alone; the one-token-per-cell ViT, models/setsum-vit, already knows how to add digits):
  the model is a ViT of depth 6 (dim 128, 4 heads) whose last four blocks, final norm, head
  and class token start as the one-token ViT's. Its class token runs through two new
  blocks first, so it starts as the teacher's too.
  Stage "cells": only the patch embedding, the positions and the first two blocks train, to
  turn each cell's 16 tokens into the teacher's embedding of that cell (mean squared error
  against teacher.patch_embed + teacher position, per token; class token against the
  teacher's). Softmax attention over 16 equal tokens weighs them as one, so once the 16
  tokens agree the last four blocks see what the teacher's blocks saw.
  Stage "views": everything trains on the set-sum (cross-entropy + 0.1 MSE on the expected
  class, as tools/train_setsum.py) plus the teacher's soft targets (temperature 2), on
  images that show k of the four cells (the others blanked and in half of the batches their
  tokens removed, label the set-sum of what is shown), a quarter of the four-cell batches
  missing up to 30% of their tokens, half of the composites laid out as the test images are.
Both stages see fresh composites of the training cells every batch, each digit shifted by
up to 3 px. A checkpoint (model, optimiser, schedule, random state, log) is written after
every epoch; --resume continues from it, so the run can be done in parts.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from train_setsum import (BLANK_PROBABILITY, CLASSES, VitConfig, VisionTransformer, accuracy, batch_tensor, cells_by_value,
                          distillation_loss, export, fresh_composites, load_split, load_teacher, loss_fn, pretrained_cfg,
                          set_sum, shift_cells, take_step, test_design_composites, training_cells, without_random_tokens)

PATCH = 7
GRID = 56 // PATCH
DIM = 128
DEPTH = 6
NEW_BLOCKS = 2
HEADS = 4
BATCH = 128
MODEL_NAME = "setsum-vit-patch7"


def student_config() -> VitConfig:
    return VitConfig(img_size=56, patch_size=PATCH, in_chans=3, embed_dim=DIM, depth=DEPTH, num_heads=HEADS, mlp_ratio=4.0,
                     num_classes=CLASSES)


def cell_of_token() -> torch.Tensor:
    """For each of the 64 patch tokens, the digit cell (0..3, row-major) it lies in."""
    rows = torch.arange(GRID)[:, None].expand(GRID, GRID)
    cols = torch.arange(GRID)[None, :].expand(GRID, GRID)
    return ((rows // (GRID // 2)) * 2 + cols // (GRID // 2)).reshape(-1)


def tokens_of_cell() -> List[List[int]]:
    cells = cell_of_token()
    return [torch.nonzero(cells == c).flatten().tolist() for c in range(4)]


def grafted_student(teacher: VisionTransformer) -> VisionTransformer:
    """Depth-6 ViT with 7 px patches whose last four blocks, norm, head and class token are the teacher's."""
    torch.manual_seed(0)
    student = VisionTransformer(student_config())
    for name, p in student.named_parameters():
        if p.dim() > 1 and not name.startswith("patch_embed"):
            torch.nn.init.trunc_normal_(p, std=0.02)
    with torch.no_grad():
        for i, block in enumerate(teacher.blocks):
            student.blocks[NEW_BLOCKS + i].load_state_dict(block.state_dict())
        student.norm.load_state_dict(teacher.norm.state_dict())
        student.head.load_state_dict(teacher.head.state_dict())
        student.cls_token.copy_(teacher.cls_token)
        student.pos_embed[:, 0].copy_(teacher.pos_embed[:, 0])
        # The new blocks start close to the identity: their residual branches are scaled down.
        for block in student.blocks[:NEW_BLOCKS]:
            block.attn.proj.weight.mul_(0.1)
            block.mlp.fc2.weight.mul_(0.1)
    return student


@torch.no_grad()
def teacher_tokens(teacher: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    """The teacher's input to its blocks [B, 5, D], each cell's embedding repeated over the cell's 16 tokens -> [B, 65, D]."""
    embedded = teacher.embed(x)
    index = torch.cat([torch.zeros(1, dtype=torch.long), 1 + cell_of_token()])
    return embedded[:, index]


def cells_loss(student: VisionTransformer, teacher: VisionTransformer, x: torch.Tensor) -> torch.Tensor:
    target = teacher_tokens(teacher, x)
    out = student.embed(x)
    for block in student.blocks[:NEW_BLOCKS]:
        out = block(out)
    return F.mse_loss(out, target) / target.var()


def forward_kept(model: VisionTransformer, x: torch.Tensor, kept: List[List[int]]) -> torch.Tensor:
    """Logits of x with only the patch tokens kept[b] of each row (removed after the embedding, as moxi's token masking does)."""
    tokens = model.embed(x)
    d = tokens.shape[2]
    length = max(len(k) for k in kept)
    index = torch.tensor([[0] + [1 + t for t in k] + [0] * (length - len(k)) for k in kept])
    key_keep = torch.tensor([[True] * (1 + len(k)) + [False] * (length - len(k)) for k in kept])
    out = model.run_blocks(torch.gather(tokens, 1, index[..., None].expand(-1, -1, d)), key_keep, 0)
    return model.head_logits(out, None)


def views_batch(cells: np.ndarray, values: np.ndarray, generator: torch.Generator, test_layout) -> Tuple[torch.Tensor, torch.Tensor, List[List[int]]]:
    """One stage-"views" batch: images, set-sum labels of what is shown, the kept tokens of each row."""
    compose = test_layout if torch.rand(1, generator=generator).item() < 0.5 else fresh_composites
    images, digits = compose(cells, values, BATCH, generator)
    k = 1 + int(torch.multinomial(torch.tensor([0.15, 0.2, 0.25, 0.4]), 1, generator=generator))
    shown = torch.zeros(BATCH, 4, dtype=torch.bool)
    shown.scatter_(1, torch.rand(BATCH, 4, generator=generator).argsort(dim=1)[:, :k], True)
    labels = set_sum(torch.from_numpy(digits), shown)
    x = batch_tensor(shift_cells(images, generator), shown)
    sets = tokens_of_cell()
    remove_hidden = torch.rand(1, generator=generator).item() < 0.5
    kept = [sorted(t for cell in range(4) if shown[b, cell] or not remove_hidden for t in sets[cell]) for b in range(BATCH)]
    drop = 0
    if k == 4 and torch.rand(1, generator=generator).item() < 0.25:
        drop = int(torch.randint(0, int(GRID * GRID * 0.3) + 1, (1,), generator=generator))
    return x, labels, without_random_tokens(kept, drop, generator)


def cells_batch(cells: np.ndarray, values: np.ndarray, generator: torch.Generator) -> torch.Tensor:
    images, _ = fresh_composites(cells, values, BATCH, generator)
    visible = torch.rand(BATCH, 4, generator=generator) >= BLANK_PROBABILITY
    return batch_tensor(shift_cells(images, generator), visible)


STAGES = ("cells", "views")


def optimizer_for(student: VisionTransformer, stage: str, lr: float, total_steps: int):
    if stage == "cells":
        params = list(student.patch_embed.parameters()) + [student.pos_embed] + [p for b in student.blocks[:NEW_BLOCKS] for p in b.parameters()]
    else:
        params = list(student.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps, pct_start=0.1)
    return optimizer, schedule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder written by `moxi setsum generate`")
    parser.add_argument("--teacher", default="models/setsum-vit", help="the one-token-per-cell ViT folder")
    parser.add_argument("--out", default="models")
    parser.add_argument("--cells-epochs", type=int, default=3)
    parser.add_argument("--views-epochs", type=int, default=6)
    parser.add_argument("--cells-lr", type=float, default=1e-3)
    parser.add_argument("--views-lr", type=float, default=3e-4)
    parser.add_argument("--steps-per-epoch", type=int, default=313, help="batches of 128 per epoch (313: the 40,000 training images)")
    parser.add_argument("--resume", help="checkpoint written by an earlier run (<out>/setsum-vit-patch7.checkpoint.pt)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train_images, train_digits = load_split(os.path.join(args.data, "train"))
    test_images, test_digits = load_split(os.path.join(args.data, "test"))
    cells, values = training_cells(train_images, train_digits)
    test_layout = functools.partial(test_design_composites, by_value=cells_by_value(values))
    teacher = load_teacher(args.teacher)
    student = grafted_student(teacher)
    checkpoint_path = os.path.join(args.out, f"{MODEL_NAME}.checkpoint.pt")
    epochs = {"cells": args.cells_epochs, "views": args.views_epochs}
    lrs = {"cells": args.cells_lr, "views": args.views_lr}
    generator = torch.Generator().manual_seed(1)
    stage, epoch, log = "cells", 0, []
    state = None
    if args.resume:
        state = torch.load(args.resume)
        student.load_state_dict(state["model"])
        stage, epoch, log = state["stage"], state["epoch"], state["log"]
        generator.set_state(state["generator"])
        print(f"resumed from {args.resume}: stage {stage}, {epoch} epochs done", flush=True)
    print(f"grafted start: test accuracy (first 2000) {accuracy(student, test_images[:2000], test_digits[:2000]):.4f}", flush=True)
    start = time.time()
    for stage_name in STAGES[STAGES.index(stage):]:
        optimizer, schedule = optimizer_for(student, stage_name, lrs[stage_name], epochs[stage_name] * args.steps_per_epoch)
        if state is not None and state["stage"] == stage_name and "optimizer" in state:
            optimizer.load_state_dict(state["optimizer"])
            schedule.load_state_dict(state["schedule"])
        else:
            epoch = 0
        while epoch < epochs[stage_name]:
            student.train()
            total, correct, seen = 0.0, 0, 0
            for _ in range(args.steps_per_epoch):
                if stage_name == "cells":
                    loss = cells_loss(student, teacher, cells_batch(cells, values, generator))
                else:
                    x, labels, kept = views_batch(cells, values, generator, test_layout)
                    logits = forward_kept(student, x, kept)
                    with torch.no_grad():
                        soft = teacher(x)
                    loss = loss_fn(logits, labels) + distillation_loss(logits, soft)
                    correct += (logits.argmax(-1) == labels).sum().item()
                take_step(loss, optimizer, schedule)
                total += loss.item() * BATCH
                seen += BATCH
            epoch += 1
            tested = accuracy(student, test_images[:2000], test_digits[:2000])
            line = (f"{stage_name} epoch {epoch}/{epochs[stage_name]}: loss {total / seen:.4f}"
                    + (f", train accuracy {correct / seen:.4f}" if stage_name == "views" else "")
                    + f", test accuracy (first 2000) {tested:.4f}, {time.time() - start:.0f} s")
            print(line, flush=True)
            log.append(line)
            torch.save({"model": student.state_dict(), "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                        "generator": generator.get_state(), "stage": stage_name, "epoch": epoch, "log": log}, checkpoint_path)
        state = None
    args_json: Dict[str, object] = {"img_size": 56, "patch_size": PATCH, "in_chans": 3, "embed_dim": DIM, "depth": DEPTH,
                                    "num_heads": HEADS, "mlp_ratio": 4.0, "num_classes": CLASSES}
    export(student, os.path.join(args.out, MODEL_NAME),
           {"architecture": "vit_tiny_patch16_224", "num_classes": CLASSES, "num_features": DIM, "global_pool": "token",
            "model_args": args_json, "pretrained_cfg": pretrained_cfg("patch_embed.proj", "head")})
    with open(os.path.join(args.out, f"{MODEL_NAME}.log"), "w") as f:
        f.write("\n".join(log) + "\n")
    print(f"{MODEL_NAME}: test accuracy {accuracy(student.double(), test_images, test_digits):.4f} (float16 weights, all "
          f"{len(test_images)} test images)", flush=True)


if __name__ == "__main__":
    main()

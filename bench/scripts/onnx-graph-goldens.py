"""PyTorch golden logits for the tiny ViT / ResNet graphs in bench/test/onnx-graphs.test.ts.

Run by hand, never in CI (needs torch: apt-get install python3-torch):
  PEER_GOLDEN_DUMP=/tmp/peer-golden pnpm --filter @moxi/bench test
  /usr/bin/python3 bench/scripts/onnx-graph-goldens.py /tmp/peer-golden
The forward passes follow timm's VisionTransformer and ResNet (BasicBlock) in eval mode,
written out with torch.nn.functional so any config size works; float64 throughout.
"""
import json
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__')
    base = 8 + n
    tensors = {}
    for name, t in header.items():
        a, b = t['data_offsets']
        data = np.frombuffer(raw[base + a:base + b], dtype=np.float32).reshape(t['shape'])
        tensors[name] = torch.from_numpy(data.copy()).double()
    return tensors, json.loads(meta['config'])


def vit(w, cfg):
    d, heads = cfg['embedDim'], cfg['numHeads']
    hd = d // heads
    ln = lambda x, p: F.layer_norm(x, (d,), w[p + '.weight'], w[p + '.bias'], cfg['layerNormEps'])
    lin = lambda x, p: F.linear(x, w[p + '.weight'], w[p + '.bias'])
    x = F.conv2d(w['__input'], w['patch_embed.proj.weight'], w['patch_embed.proj.bias'], stride=cfg['patchSize'])
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([w['cls_token'].expand(x.shape[0], -1, -1), x], 1) + w['pos_embed']
    for i in range(cfg['depth']):
        p = f'blocks.{i}'
        b, n, _ = x.shape
        qkv = lin(ln(x, p + '.norm1'), p + '.attn.qkv').reshape(b, n, 3, heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = ((q * hd ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        x = x + lin((attn @ v).transpose(1, 2).reshape(b, n, d), p + '.attn.proj')
        x = x + lin(F.gelu(lin(ln(x, p + '.norm2'), p + '.mlp.fc1')), p + '.mlp.fc2')
    return lin(ln(x, 'norm')[:, 0], 'head')


def resnet(w, cfg):
    eps = cfg['batchNormEps']

    def conv_bn(x, conv, bn, stride, pad):
        x = F.conv2d(x, w[conv + '.weight'], stride=stride, padding=pad)
        return F.batch_norm(x, w[bn + '.running_mean'], w[bn + '.running_var'], w[bn + '.weight'], w[bn + '.bias'],
                            training=False, eps=eps)

    x = F.relu(conv_bn(w['__input'], 'conv1', 'bn1', 2, 3))
    x = F.max_pool2d(x, 3, 2, 1)
    for stage in cfg['stages']:
        for i in range(stage['blocks']):
            p = f"{stage['name']}.{i}"
            stride = stage['stride'] if i == 0 else 1
            y = F.relu(conv_bn(x, p + '.conv1', p + '.bn1', stride, 1))
            y = conv_bn(y, p + '.conv2', p + '.bn2', 1, 1)
            shortcut = conv_bn(x, p + '.downsample.0', p + '.downsample.1', stride, 0) \
                if p + '.downsample.0.weight' in w else x
            x = F.relu(y + shortcut)
    return F.linear(x.mean((2, 3)), w['fc.weight'], w['fc.bias'])


if __name__ == '__main__':
    folder = sys.argv[1]
    for name, forward in [('vit', vit), ('resnet', resnet)]:
        weights, config = load(f'{folder}/{name}.safetensors')
        with torch.no_grad():
            logits = forward(weights, config)
        print(f"  {name}: [{', '.join(f'{v:.6f}' for v in logits.flatten().tolist())}],")

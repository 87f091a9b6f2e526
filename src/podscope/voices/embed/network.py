"""The CAM++ network in torch: frequency front end, TDNN, dense blocks with context masks, statistics pooling.
Attribute names mirror the checkpoint's keys; comments give shapes as (batch, channels, [freq,] time)."""

from __future__ import annotations

from typing import Final

import torch
import torch.nn.functional as F
from torch import nn

from podscope.voices.embed.features import N_MELS

DIMENSION: Final = 192


class _BatchNormReLU(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.batchnorm = nn.BatchNorm1d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.batchnorm(x))


class _ResBlock2d(nn.Module):
    """Two 3x3 convolutions with a skip; `stride` halves the frequency axis only."""

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut: nn.Sequential | None = None
        if stride != 1:
            self.shortcut = nn.Sequential(
                nn.Conv2d(channels, channels, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.relu(y + skip)


class _FrequencyFrontEnd(nn.Module):
    """2-D convolutions over (mel bin, frame) that shrink 80 bins to 10 and fold them into 320 channels."""

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.layer2 = nn.Sequential(_ResBlock2d(channels, 2), _ResBlock2d(channels, 1))
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (N_MELS // 8)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:  # (B, 80, T) -> (B, 320, T)
        x = F.relu(self.bn1(self.conv1(feats.unsqueeze(1))))
        x = self.layer2(self.layer1(x))
        x = F.relu(self.bn2(self.conv2(x)))
        return x.flatten(1, 2)


class _TDNN(nn.Module):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(inputs, outputs, 5, stride=2, padding=2, bias=False)
        self.nonlinear = _BatchNormReLU(outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _ContextMask(nn.Module):
    """A dilated convolution gated by a mask computed from the window's mean and its 100-frame (2 s) segment means."""

    SEGMENT = 100

    def __init__(self, inputs: int, outputs: int, dilation: int) -> None:
        super().__init__()
        self.linear_local = nn.Conv1d(inputs, outputs, 3, padding=dilation, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(inputs, inputs // 2, 1)
        self.linear2 = nn.Conv1d(inputs // 2, outputs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.shape[-1]
        segments = F.avg_pool1d(x, self.SEGMENT, self.SEGMENT, ceil_mode=True)
        index = torch.arange(frames, device=x.device) // self.SEGMENT
        context = x.mean(-1, keepdim=True) + segments[..., index]
        gate = torch.sigmoid(self.linear2(F.relu(self.linear1(context))))
        return self.linear_local(x) * gate


class _DenseUnit(nn.Module):
    def __init__(self, inputs: int, growth: int, bottleneck: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _BatchNormReLU(inputs)
        self.linear1 = nn.Conv1d(inputs, bottleneck, 1, bias=False)
        self.nonlinear2 = _BatchNormReLU(bottleneck)
        self.cam_layer = _ContextMask(bottleneck, growth, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _DenseBlock(nn.Module):
    """Densely connected units: each sees every earlier output and adds `growth` channels."""

    def __init__(self, units: int, inputs: int, dilation: int, growth: int = 32, bottleneck: int = 128) -> None:
        super().__init__()
        self.inputs, self.growth, self.units = inputs, growth, units
        for i in range(units):
            self.add_module(f"tdnnd{i + 1}", _DenseUnit(inputs + i * growth, growth, bottleneck, dilation))
        self.out_channels = inputs + units * growth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # One buffer filled in place instead of a concatenation per unit (which copies O(units^2) channels).
        out = x.new_empty(x.shape[0], self.out_channels, x.shape[2])
        out[:, : self.inputs] = x
        filled = self.inputs
        for unit in self.children():
            out[:, filled : filled + self.growth] = unit(out[:, :filled])
            filled += self.growth
        return out


class _Transit(nn.Module):
    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.nonlinear = _BatchNormReLU(inputs)
        self.linear = nn.Conv1d(inputs, outputs, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _Standardise(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.batchnorm = nn.BatchNorm1d(channels, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.batchnorm(x)


class _Projection(nn.Module):
    """Pooled statistics to the embedding: a linear map and a batch norm without affine parameters (no ReLU)."""

    def __init__(self, inputs: int, outputs: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(inputs, outputs, 1, bias=False)
        self.nonlinear = _Standardise(outputs)

    def forward(self, stats: torch.Tensor) -> torch.Tensor:  # (B, 2C) -> (B, D)
        return self.nonlinear(self.linear(stats.unsqueeze(-1)).squeeze(-1))


class _Trunk(nn.Module):
    """Everything between the filterbank and the pooling: the TDNN and three dense blocks."""

    def __init__(self, inputs: int, init_channels: int = 128) -> None:
        super().__init__()
        self.tdnn = _TDNN(inputs, init_channels)
        channels = init_channels
        for i, (units, dilation) in enumerate([(12, 1), (24, 2), (16, 2)], start=1):
            block = _DenseBlock(units, channels, dilation)
            self.add_module(f"block{i}", block)
            self.add_module(f"transit{i}", _Transit(block.out_channels, block.out_channels // 2))
            channels = block.out_channels // 2
        self.out_nonlinear = _BatchNormReLU(channels)
        self.dense = _Projection(2 * channels, DIMENSION)
        self.out_channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 320, T) -> (B, 512, ceil(T / 2))
        for name, layer in self.named_children():
            if name != "dense":
                x = layer(x)
        return x


class CAMPlusPlusNet(nn.Module):
    """CAM++ (Wang et al., Interspeech 2023): a frame-level trunk plus pooling, named like the 3D-Speaker checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.head = _FrequencyFrontEnd()
        self.xvector = _Trunk(self.head.out_channels)

    def frames(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, T, 80) mean-normalised fbank -> (B, 512, ceil(T / 2)) frame-level features."""
        return self.xvector(self.head(feats.transpose(1, 2)))

    def pool(self, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 512, T') frames, optional (B, T') 0/1 weights -> (B, 192) embeddings (not normalised).

        Mean and unbiased standard deviation over the selected frames; with one selected frame the deviation is 0.
        """
        if weights is None:
            count = torch.full((frames.shape[0], 1), float(frames.shape[-1]), dtype=frames.dtype)
            mean = frames.mean(-1)
            squares = (frames - mean.unsqueeze(-1)).square().sum(-1)
        else:
            w = weights.to(frames.dtype).unsqueeze(1)
            count = w.sum(-1)
            mean = (frames * w).sum(-1) / count
            squares = ((frames - mean.unsqueeze(-1)).square() * w).sum(-1)
        std = (squares / (count - 1).clamp(min=1)).sqrt()
        return self.xvector.dense(torch.cat([mean, std], dim=-1))

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.pool(self.frames(feats))

"""The README's worked example: a PyTorch network exported for `hw1-onnx import`
and its state_dict saved as safetensors for `hw1-onnx analyze`.

    /usr/bin/python3 examples/pytorch-net/export.py   # writes my-net.onnx and my-net.safetensors here

Both outputs are committed, so the example runs from a clean clone without
torch. The weights are a seeded initialization (train the network first in
your own script); safetensors.torch.save_file writes the same file where the
safetensors package is installed.
"""
import json
import os
import struct

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(784, 32), nn.Linear(32, 10)

    def forward(self, x):
        x = x.flatten(1)  # inputs as hw1-onnx feeds MNIST: [N, 1, 28, 28], pixels / 255
        return self.fc2(torch.relu(self.fc1(x)))


def save_safetensors(tensors, path):
    """The safetensors format (an 8-byte header length, a JSON header, raw little-endian data), as save_file writes it."""
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


if __name__ == "__main__":
    torch.manual_seed(0)
    model = Net().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(HERE, "my-net.onnx"), opset_version=17,
                      input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    state = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
    try:
        from safetensors.torch import save_file
        save_file({k: v.float().contiguous() for k, v in state.items()}, os.path.join(HERE, "my-net.safetensors"))
    except ImportError:
        save_safetensors(state, os.path.join(HERE, "my-net.safetensors"))
    print("wrote my-net.onnx and my-net.safetensors:", ", ".join(f"{k} {list(v.shape)}" for k, v in state.items()))

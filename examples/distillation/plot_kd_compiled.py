"""
A compiled distillation step: torch.compile with exact IDA
==========================================================

Every solver of ``isotree.torch`` is a PyTorch custom operator, so a distillation loss
that fits the teacher's logits to the Mixup label order, :func:`isotree.torch.kd_loss`
with ``ida="exact"``, compiles as one graph: ``torch.compile(..., fullgraph=True)``, which
raises at the first graph break, accepts it. The exact fit is one node of that graph, still
solved on the host by isotree's Numba kernels; the compiler compiles the network and the
rest of the loss around it, forward and backward.

A small student (a 64-16-10 MLP) is distilled from a teacher (64-128-10) on scikit-learn's
digits with Mixup, twice from the same initial weights on the same batches: once with the
loss run eagerly, once compiled (the optimizer step is eager in both). Their losses agree
to float32 round-off. The two take their steps in turn, so that a change in the machine's
load falls on both timings alike, and PyTorch runs on one thread, the right setting for
work this small (see :doc:`/threads`).

What compiling buys at this size: little, on a CPU. A step of this student is nearly all
fixed cost per operation (Python, PyTorch's dispatcher and autograd engine, the eager
optimizer, the host solve), and compiling removes only part of it. When this example was
written, the compiled step was 4 % faster (1.04 ms against 1.08 ms, median of 324 steps,
on two shared AMD EPYC cores) and its first step spent 12 s compiling (3 s with PyTorch's
compile cache warm), earned back only after some 250,000 steps; the output below is this
build's own run. Compiling can pay off where the network around the loss is larger, or on
a GPU, which this example does not measure; what it shows is that an exact IDA loss fits
inside a compiled model and trains it as the eager loss does, to round-off.
"""

# sphinx_gallery_dummy_images = 1
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import isotree.torch as itorch
from isotree.ida import mixup_mass

torch.set_num_threads(1)
digits = load_digits()
x_train, x_test, y_train, y_test = (torch.as_tensor(a) for a in train_test_split(
    (digits.data / 16).astype(np.float32), digits.target, test_size=0.35, random_state=0))


def mlp(inputs, hidden, classes):
    return torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(),
                               torch.nn.Linear(hidden, classes))


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


torch.manual_seed(0)
teacher = mlp(64, 128, 10)
optimizer = torch.optim.Adam(teacher.parameters(), lr=3e-3)
for _ in range(20):
    for batch in torch.randperm(len(x_train)).split(64):
        loss = torch.nn.functional.cross_entropy(teacher(x_train[batch]), y_train[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
print(f"teacher: test accuracy {accuracy(teacher, x_test, y_test):.3f}")


def distillation_loss(student, inputs, teacher_logits, mass):
    return itorch.kd_loss(student(inputs), teacher_logits, mass, ida="exact",
                          temperature=4.0, alpha=0.9)


# fullgraph=True: a graph break inside the loss would raise at the first call, instead of
# leaving part of the loss to run eagerly without a word.
compiled_loss = torch.compile(distillation_loss, fullgraph=True)

students, optimizers, losses, times = {}, {}, {}, {}
for name in ("eager", "compiled"):
    torch.manual_seed(1)  # the same initial weights for both
    students[name] = mlp(64, 16, 10)
    optimizers[name] = torch.optim.Adam(students[name].parameters(), lr=3e-3)
    losses[name], times[name] = [], []

# Both students take the same Mixup batches (full batches only: one shape, one compilation),
# one step each in turn, so that a change in the machine's load hits both timings alike.
generator = torch.Generator().manual_seed(2)
epochs, size = 20, 64
steps_per_epoch = len(x_train) // size
for _ in range(epochs):
    order = torch.randperm(len(x_train), generator=generator)[:steps_per_epoch * size]
    for batch in order.view(steps_per_epoch, size):
        partner = batch[torch.randperm(size, generator=generator)]
        lam = torch.rand(size, generator=generator)
        inputs = lam[:, None] * x_train[batch] + (1 - lam[:, None]) * x_train[partner]
        mass = torch.as_tensor(mixup_mass(y_train[batch].numpy(), y_train[partner].numpy(),
                                          lam.numpy(), 10))
        with torch.no_grad():
            teacher_logits = teacher(inputs)
        for name, loss_function in (("eager", distillation_loss), ("compiled", compiled_loss)):
            start = time.perf_counter()
            loss = loss_function(students[name], inputs, teacher_logits, mass)
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            losses[name].append(loss.item())
            times[name].append(time.perf_counter() - start)

difference = np.abs(np.subtract(losses["compiled"], losses["eager"]))
print(f"{epochs * steps_per_epoch} steps; largest difference between the two losses "
      f"{difference.max():.1e} (relative {np.max(difference / losses['eager']):.1e}; "
      f"float32 epsilon {np.finfo(np.float32).eps:.1e})")
for name in students:
    print(f"{name:>8} student: test accuracy {accuracy(students[name], x_test, y_test):.3f}")

warm = 2 * steps_per_epoch  # the first two epochs are warm-up
median = {name: 1e3 * np.median(times[name][warm:]) for name in times}
compilation = times["compiled"][0]
for name in times:
    print(f"{name:>8} step: median {median[name]:.3f} ms over {len(times[name]) - warm} "
          f"steps; first step {times[name][0]:.3f} s")
saving = median["eager"] - median["compiled"]
if saving > 0:
    print(f"the compilation pays for itself after {compilation / saving * 1e3:,.0f} steps")
else:
    print("the compiled step is not faster: the compilation never pays for itself here")

with plt.rc_context({"font.size": 11}):  # readable where the page shows it
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 3.4), width_ratios=[1.6, 1])
    epoch_axis = np.arange(1, epochs + 1)
    styles = {"eager": dict(color="0.6", lw=4), "compiled": dict(color="C0", ls="--")}
    for name, style in styles.items():
        per_epoch = np.reshape(losses[name], (epochs, steps_per_epoch)).mean(axis=1)
        left.plot(epoch_axis, per_epoch, label=f"{name} loss", **style)
    left.set(xlabel="epoch", ylabel="mean training loss", title="The same training",
             xticks=range(0, epochs + 1, 5))
    left.legend()
    bars = right.bar([0, 1], list(median.values()), color=["0.6", "C0"], width=0.6)
    right.bar_label(bars, fmt="%.2f ms")
    right.set(ylabel="median step time (ms)", ylim=(0, 1.3 * max(median.values())),
              title="Step time", xticks=[0, 1],
              xticklabels=["eager", f"compiled\n(first step:\n{compilation:.1f} s)"])
    fig.tight_layout()
plt.show()

"""Knowledge distillation with Mixup and isotonic data augmentation on scikit-learn's digits.

A teacher MLP and a much smaller student, CPU only, no download (the digits ship with
scikit-learn). The student is distilled with Mixup under four losses:

- KD+Mixup: plain KD on the raw teacher logits;
- KD-i (exact): the teacher's logits fitted to the order of the label mass (isotonic_logits);
- KD-i (approx): the same with two variable-fixing steps;
- KD-p: plain KD plus the paper's penalty on the student's probabilities.

It prints the teacher's order-violation statistics on mixed test samples, before and after
the isotonic fit, and the student's test accuracy (mean and standard deviation over seeds).

Run:  pip install -e ".[torch]" scikit-learn && python examples/kd_digits.py [--seeds 5]

PyTorch runs on one thread by default (``--threads N`` to change it): the models and
batches are small, and, as for isotree's own small batches (docs: "Threads, processes and
training loops"), a thread pool costs more in wake-ups than it saves, far more when another
process keeps the other cores busy.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import isotree.torch as itorch
from isotree.ida import isotonic_logits, mixup_mass, order_violations

METHODS = {"KD+Mixup": dict(ida=None), "KD-i (exact)": dict(ida="exact"),
           "KD-i (approx, n_iter=2)": dict(ida="approx", n_iter=2),
           "KD-p": dict(ida="penalty", sigma=1.0)}


def mlp(sizes):
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


def data(seed=0):
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=0.35, random_state=seed, stratify=digits.target)
    return (torch.from_numpy(x_train), torch.from_numpy(y_train), torch.from_numpy(x_test),
            torch.from_numpy(y_test))


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train_teacher(x, y, epochs=60):
    torch.manual_seed(0)
    teacher = mlp([64, 256, 256, 10])
    optimiser = torch.optim.Adam(teacher.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(teacher(x[batch]), y[batch])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return teacher.eval()


def mix(x, y, generator):
    """Mixup of each sample with a random partner: inputs and (B, 10) label mass."""
    partner = torch.randperm(len(x), generator=generator)
    lam = torch.distributions.Beta(1.0, 1.0).sample((len(x),))
    mixed = lam[:, None] * x + (1 - lam[:, None]) * x[partner]
    mass = torch.as_tensor(mixup_mass(y.numpy(), y[partner].numpy(), lam.numpy(), 10),
                           dtype=torch.float32)
    return mixed, mass


def distil(teacher, x, y, seed, options, epochs=40):
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    student = mlp([64, 12, 10])
    optimiser = torch.optim.Adam(student.parameters(), lr=3e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(x), generator=generator).split(64):
            mixed, mass = mix(x[batch], y[batch], generator)
            with torch.no_grad():
                teacher_logits = teacher(mixed)
            loss = itorch.kd_loss(student(mixed), teacher_logits, mass, temperature=4.0,
                                  alpha=0.9, **options)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
    return student.eval()


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="PyTorch's threads (default 1: the work is small)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    x_train, y_train, x_test, y_test = data()
    teacher = train_teacher(x_train, y_train)
    print(f"teacher: test accuracy {accuracy(teacher, x_test, y_test):.4f}")

    # How often the teacher breaks the label-mass order on mixed test samples.
    mixed, mass = mix(x_test, y_test, torch.Generator().manual_seed(123))
    with torch.no_grad():
        logits = teacher(mixed).numpy()
    before = order_violations(logits, mass.numpy())
    after = order_violations(isotonic_logits(logits, mass.numpy()), mass.numpy())
    print("\nteacher on Mixup test samples | rows violating | Kendall tau | mixed labels top-2")
    print("|---|---|---|---|")
    for name, stats in (("raw logits", before), ("isotonic fit (exact)", after)):
        print(f"| {name} | {stats['violation_rate']:.3f} | {stats['kendall_tau']:.3f} | "
              f"{stats['top2_all_mixed']:.3f} |")

    print(f"\nstudent (64-12-10 MLP), test accuracy over {args.seeds} seeds")
    print("| method | mean | std |")
    print("|---|---|---|")
    for name, options in METHODS.items():
        scores = [accuracy(distil(teacher, x_train, y_train, seed, options), x_test, y_test)
                  for seed in range(args.seeds)]
        print(f"| {name} | {np.mean(scores):.4f} | {np.std(scores):.4f} |", flush=True)
    print(f"\ntotal time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

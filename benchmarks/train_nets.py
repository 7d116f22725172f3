"""Train (or load from the cache) the 3x128 MNIST networks the benchmarks use, real and random labels.

    python benchmarks/train_nets.py [--labels real random]

Writes ``benchmarks/results/networks.json`` (epochs, accuracies, optimizer, training wall time). SGD at
learning rate 0.01 reaches 100 % training accuracy on both label sets (see the epochs); ``--optimizer
momentum`` is there for label sets where it would not.
"""

from __future__ import annotations

import argparse

from _common import print_table, trained_net, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--labels", nargs="+", default=["real", "random"], choices=["real", "random"])
    ap.add_argument("--optimizer", default="sgd", choices=["sgd", "momentum"])
    args = ap.parse_args()
    rows = []
    for labels in args.labels:
        _, info, _, _ = trained_net(labels, optimizer=args.optimizer)
        rows.append(info)
    print_table(rows, ["labels", "optimizer", "epochs", "train_acc", "val_acc", "reached_100pct", "train_wall_s"],
                "Trained 3x128 MNIST networks (1000 images, 100 per class)")
    write_json("networks", {"networks": rows})


if __name__ == "__main__":
    main()

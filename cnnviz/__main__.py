"""Command line: the Trainer's work without the browser.

    python -m cnnviz train --dataset mnist-bundled --preset mnist-cnn --epochs 3 --out model.keras
    python -m cnnviz store        # the store of learners' work: where, how big, the limits

Given only --dataset and --out it uses the app's default preset and settings for that dataset.
Ends with `RESULT test_accuracy <fraction>` on the dataset's held-out test split.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys


def _train(args: argparse.Namespace) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from cnnviz import datasets, jobs, models, training

    preset_name, config = jobs.default_setup(args.dataset)
    preset_name = args.preset or preset_name
    changes = {
        key: value
        for key, value in {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "optimizer": args.optimizer,
            "seed": args.seed,
            "validation_split": args.validation_split,
        }.items()
        if value is not None
    }
    config = dataclasses.replace(config, **changes).validate()
    dataset = datasets.load(args.dataset)
    blocks = models.preset(preset_name, dataset.input_shape)
    model = models.build_model(
        blocks, dataset.input_shape, dataset.num_classes, augmentation=config.augmentation, seed=config.seed
    )
    print(f"{dataset.name}: {len(dataset.x_train)} train / {len(dataset.x_test)} test, {dataset.input_shape}")
    print(f"{preset_name}: {model.count_params():,} parameters; {config}")

    def report(event: dict) -> None:
        if event["kind"] == "epoch":
            values = ", ".join(f"{k} {v:.4f}" for k, v in event.items() if k not in ("kind", "epoch", "t", "load"))
            print(f"epoch {event['epoch']:3d}  {event['t']:6.1f} s  {values}", flush=True)

    result = training.train(model, dataset, config, on_event=report)
    print(result.message)
    evaluation = training.evaluate(model, dataset)
    if args.out:
        models.save_for_inference(model, args.out)
        print(f"saved {args.out}")
    print(f"test loss {evaluation.test_loss:.4f}")
    print(f"RESULT train_seconds {result.train_seconds:.1f}")
    print(f"RESULT test_accuracy {evaluation.test_accuracy:.4f}")
    return 0


def _store(args: argparse.Namespace) -> int:
    """Print the store's size for whoever runs the server (CNNVIZ_DATA, CNNVIZ_DATABASE_URL)."""
    from cnnviz.store import Store

    store = Store.from_env()
    if args.remove_old:
        print(f"removed the work of {store.remove_old()} learner(s) not seen for {store.keep_days:g} days")
    report = store.report()
    megabytes = (report["file_bytes"] + report["example_bytes"] + report["original_bytes"]) / 2**20
    limits = report["limits"]
    print(f"database     {report['database']}")
    print(f"data folder  {report['data_folder']} ({report['data_folder_bytes'] / 2**20:.1f} MB on disk)")
    print(f"learners     {report['learners']}")
    print(f"runs         {report['runs']} ({report['files']} files, {report['file_bytes'] / 2**20:.1f} MB)")
    own_mb = (report["example_bytes"] + report["original_bytes"]) / 2**20
    print(f"own classes  {report['examples']} examples, {report['originals']} as drawn or uploaded ({own_mb:.1f} MB)")
    print(
        f"limits       {limits['runs']} runs and {limits['megabytes']:g} MB per learner; work removed "
        f"{limits['keep_days']:g} days after a learner's last visit"
    )
    print(f"RESULT store_mb {megabytes:.1f}")
    return 0


# A module the core install lacks -> the extra that brings it (pyproject.toml).
EXTRAS = {"keras": "tensorflow", "tensorflow": "tensorflow", "sqlalchemy": "store", "alembic": "store"}


def main(argv: list[str] | None = None) -> int:
    """The command line: `train` builds, trains and saves a model; returns the exit status (2: bad arguments)."""
    from cnnviz import datasets, models, training
    from cnnviz.errors import InvalidInput

    parser = argparse.ArgumentParser(prog="python -m cnnviz", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train a CNN and save it")
    train.add_argument("--dataset", required=True, choices=list(datasets.NAMES))
    train.add_argument("--preset", choices=list(models.PRESETS))
    train.add_argument("--epochs", type=int)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--optimizer", choices=list(training.OPTIMIZERS))
    train.add_argument("--validation-split", type=float)
    train.add_argument("--seed", type=int)
    train.add_argument("--out", help="where to save the trained model (.keras)")
    kept = commands.add_parser("store", help="the store of learners' work: where it is and how big")
    kept.add_argument("--remove-old", action="store_true", help="remove the work of learners gone past the age")
    args = parser.parse_args(argv)
    try:
        return _store(args) if args.command == "store" else _train(args)
    except InvalidInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:  # the core package convolves; training and the store need extras
        extra = EXTRAS.get((error.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"error: {args.command} needs {error.name}: pip install 'cnnviz[{extra}]'", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

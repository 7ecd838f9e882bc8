"""``python -m core sweep``: train many configurations (the seed's Table 3 preset or custom mixes), resumably."""
from __future__ import annotations

import argparse

from ..runs.executors import add_executor_options
from ._cli import (add_training_options, artifacts_from_args, check_training_output, config_from_args,
                   evaluation_from_args, exit_cleanly_on_sigterm, loader_from_args, reporter)


def add_arguments(p: argparse.ArgumentParser) -> None:
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--preset", choices=["table3"], help="the seed's 11 configurations (Table 3)")
    what.add_argument("--mix", action="append", metavar="SPEC",
                      help="a configuration 'BASE' or 'BASE+EXTRA:FRACTION' (repeatable), e.g. 'SFEW+EiLA:0.1'")
    p.add_argument("--eila", default="EiLA", help="registered dataset used as EiLA by the preset")
    p.add_argument("--fer2013", default="FER2013", help="registered dataset used as FER2013 by the preset")
    p.add_argument("--sfew", default="SFEW", help="registered dataset used as SFEW by the preset")
    p.add_argument("--mix-seed", type=int, default=0, help="seed of the mixing draws")
    p.add_argument("--only", action="append", metavar="NAME", help="train only these configurations (repeatable)")
    p.add_argument("--plan", action="store_true", help="print sizes and which runs are finished; train nothing")
    p.add_argument("--seeds", type=int, default=1,
                   help="train each configuration N times, with training seeds --seed, --seed + 1, ... "
                        "(each its own run; default 1)")
    add_training_options(p)
    add_executor_options(p)


def run(args: argparse.Namespace) -> int:
    from ..runs.executors import executor_from_args
    from ..mixing import MixSpec, evaluation_overlap, table3_preset
    from .sweep import plan_sweep, run_sweep, sweep_status

    artifacts = artifacts_from_args(args)
    executor = executor_from_args(args)  # the address is checked before any data is read
    cfg = config_from_args(args, check_weights=not args.plan)
    if args.preset:
        specs = table3_preset(args.eila, args.fer2013, args.sfew, seed=args.mix_seed)
        if args.eval_dataset == "EiLA":
            args.eval_dataset = args.eila
    else:
        specs = [MixSpec.parse(m, seed=args.mix_seed) for m in args.mix]
    if args.only:
        unknown = sorted(set(args.only) - {s.name for s in specs})
        if unknown:
            raise ValueError(f"--only {unknown} not among the configurations {[s.name for s in specs]}")
        specs = [s for s in specs if s.name in args.only]
    overlap = evaluation_overlap(specs, args.eval_dataset, args.eval_split)
    if overlap:
        raise ValueError(overlap)
    datasets = loader_from_args(args, artifacts)
    evaluation, eval_info = evaluation_from_args(args, artifacts, datasets)
    items = plan_sweep(specs, datasets, evaluation, cfg, args.seeds)
    sweep = args.preset or "custom"
    rule = datasets.record()
    if rule:
        print(f"EiLA split rule: {rule['split_rule']}" + (f" (seed {rule['split_seed']})"
                                                           if rule.get("split_seed") is not None else "")
              + ("" if rule["split_rule"] == "person-disjoint" else "; it leaks persons into the test split"))
    if args.plan:
        table = sweep_status(items, artifacts)
        print(f"evaluation: {eval_info['dataset']}/{eval_info['split']} ({eval_info['n']} rows)")
        print(table.to_string(index=False))
        return 0
    check_training_output(artifacts)
    with executor:
        executor.start()  # connect before any long work: a missing cluster is reported now
        progress = reporter(args, f"sweep {sweep}")
        exit_cleanly_on_sigterm()
        results = run_sweep(specs, datasets, evaluation, cfg, artifacts, sweep, eval_info, progress=progress,
                            split_rule=rule, seeds=args.seeds, executor=executor)
    for it, res in zip(items, results):
        seed = f" seed {it.cfg.seed}" if args.seeds > 1 else ""
        print(f"{'kept   ' if res.skipped else 'trained'}  {it.name + seed:<24} {_scores(res.metrics)}  {res.path}")
    return 0


def _scores(m: dict | None) -> str:
    if not m or m.get("accuracy") is None:
        return ""
    return f"accuracy {m['accuracy']:.3f}  weighted F1 {m.get('weighted_f1') or 0:.3f}"

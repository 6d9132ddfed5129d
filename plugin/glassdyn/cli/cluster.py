"""``glassdyn cluster``: start a dask cluster (SLURM, PBS or local) for ``glassdyn simulate --scheduler``.

Examples
--------
    glassdyn cluster --config cluster.toml                     # prints the scheduler address, Ctrl-C stops
    glassdyn cluster --config cluster.toml --print-job-script  # the batch script, nothing submitted

A configuration (TOML or JSON; keys at the top or in a [cluster] table)::

    kind = "slurm"            # slurm | pbs | local
    queue = "compute"
    account = "proj123"
    cores = 32                # per batch job
    memory = "64GB"           # per batch job
    walltime = "04:00:00"
    jobs = 4                  # batch jobs
    ranks = 1                 # cores per LAMMPS job (glassdyn simulate --mpi-ranks)
    job_extra = ["--constraint=cpu"]
    prologue = ["source /path/to/venv/bin/activate"]

Then, from any shell that reaches the scheduler (the output folder on a shared file system):

    glassdyn simulate ensemble --model ka2d --temperature 0.45 --scheduler tcp://... --output run
"""
from __future__ import annotations

import argparse
import sys
import time


def configure(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = __doc__.split("Examples", 1)[1]
    parser.add_argument("--config", required=True, help="cluster configuration (.toml or .json)")
    parser.add_argument("--print-job-script", action="store_true",
                        help="print the batch script dask-jobqueue would submit, and exit")
    parser.add_argument("--address-file", default=None,
                        help="also write the scheduler address to this file (for scripts)")


def run(args: argparse.Namespace) -> int:
    from .._atomic import write_text_atomic
    from ..lammps import cluster
    from ._common import check_inputs, check_output_file, check_suffix, require

    check_suffix(args.config, (".toml", ".json"), "--config", "the cluster configuration")
    check_inputs([args.config], "cluster configuration")
    if args.address_file:
        check_output_file(args.address_file, option="--address-file")
    require("distributed", "glassdyn cluster")
    config = cluster.load_config(args.config)
    if args.print_job_script:
        print(cluster.job_script(config))
        return 0
    cl = cluster.make_cluster(config)
    try:
        address = cl.scheduler_address
        print(f"glassdyn cluster ({config.get('kind', 'local')}): scheduler {address}", flush=True)
        print(f"  glassdyn simulate ... --scheduler {address}", flush=True)
        print("  Ctrl-C stops the cluster", flush=True)
        if args.address_file:
            write_text_atomic(args.address_file, address + "\n")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("glassdyn cluster: stopping", file=sys.stderr, flush=True)
        return 0
    finally:
        cl.close()

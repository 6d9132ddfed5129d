"""`glassdyn simulate` on a dask cluster (a real distributed.LocalCluster of 2 worker processes) and the
batch-system helpers (dask-jobqueue job scripts; no batch system here). Every cluster result is compared
with the same run made locally."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

pytestmark = pytest.mark.lammps

distributed = pytest.importorskip("distributed")
simulate = pytest.importorskip("glassdyn.lammps.simulate")
runner = pytest.importorskip("glassdyn.lammps.runner")
cluster_mod = pytest.importorskip("glassdyn.lammps.cluster")
from glassdyn.errors import InputError  # noqa: E402

#: 6 short Langevin replicas (~1 s each here): long enough to stop a run with some finished, some running
PARAMS = dict(model="ka2d", n=150, temperature=1.0, equilibration_steps=1000, seed=11, replicas=6,
              dynamics="langevin", times=[0, 10, 100, 1000, 20000])


def _outputs(folder):
    """Relative paths of every result file (logs and the manifest left out)."""
    return sorted(str(p.relative_to(folder)) for p in folder.glob("config_*/**/*")
                  if p.is_file() and "logs" not in p.parts)


def _assert_same_files(folder, reference):
    names = _outputs(reference)
    assert names and _outputs(folder) == names
    assert len([n for n in names if "replica_" in n]) == PARAMS["replicas"]
    for name in names:
        assert (folder / name).read_bytes() == (reference / name).read_bytes(), name


def _manifest(folder):
    return json.loads((folder / "manifest.json").read_text())


def _lammps_processes_in(folder):
    import psutil
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmd = " ".join(proc.info.get("cmdline") or [])
        if "lmp" in cmd and str(folder) in cmd:
            found.append(cmd)
    return found


@pytest.fixture(scope="module")
def cluster():
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cl
    cl.close()


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("local")
    simulate.run_ensemble(folder, cores=2, **PARAMS)
    return folder


class _Bar:
    """Stands in for tqdm: records the total and every update."""
    made = []

    def __init__(self, total=None, initial=0, **kw):
        self.total, self.n = total, initial
        _Bar.made.append(self)

    def update(self, k=1):
        self.n += k

    def close(self):
        pass


def test_cluster_run_is_byte_identical_to_the_local_run(cluster, local_run, tmp_path, monkeypatch):
    # nothing may run in this process: every LAMMPS job must be a task of the workers
    def no_local_lammps(*args, **kwargs):
        raise AssertionError("LAMMPS ran in the submitting process")

    monkeypatch.setattr(runner, "run_lammps", no_local_lammps)
    import tqdm
    monkeypatch.setattr(tqdm, "tqdm", _Bar)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    _Bar.made.clear()
    manifest = simulate.run_ensemble(tmp_path, scheduler=cluster, progress=True, **PARAMS)
    _assert_same_files(tmp_path, local_run)
    local = _manifest(local_run)
    for key in ("task", "parameters", "seeds", "results"):
        assert manifest[key] == local[key], key
    assert _manifest(tmp_path) == manifest                       # written by this process only
    # the progress bar followed the 7 tasks (1 equilibration + 6 replicas) to the end
    assert len(_Bar.made) == 1 and _Bar.made[0].total == 7 and _Bar.made[0].n == 7


def test_cooling_ramps_on_the_cluster_are_those_of_a_local_run(cluster, tmp_path):
    params = dict(model="ka2d", n=100, rates=[1000, 3000], configurations=1, snapshots=8,
                  equilibration_steps=500, seed=5)
    local = simulate.run_cooling(tmp_path / "local", cores=2, **params)
    remote = simulate.run_cooling(tmp_path / "remote", scheduler=cluster, **params)
    for tc in (1000, 3000):
        for name in ("eis.txt", "snapshots.lammpstrj", "inherent.lammpstrj"):
            rel = f"config_000/tcool_{tc}/{name}"
            assert (tmp_path / "remote" / rel).read_bytes() == (tmp_path / "local" / rel).read_bytes(), rel
    assert remote["tg"] == local["tg"] and remote["results"] == local["results"]
    assert not list((tmp_path / "remote").glob("config_000/*.tmp*"))


@pytest.mark.slow
def test_failure_on_the_cluster_resumes_locally_and_the_other_way_round(cluster, local_run, tmp_path,
                                                                       monkeypatch):
    on_cluster, on_laptop = tmp_path / "cluster_first", tmp_path / "local_first"
    monkeypatch.setenv(simulate.ENV_FAIL_JOB, "config_000/replica_002")
    with pytest.raises(runner.LammpsError) as err:
        simulate.run_ensemble(on_cluster, scheduler=cluster.scheduler_address, **PARAMS)  # an address string
    msg = str(err.value)
    assert "glassdyn_injected_failure" in msg and "replica_002.log" in msg and "resume" in msg
    assert not simulate.replica_path(on_cluster, 0, 2).exists()
    done = {r: simulate.replica_path(on_cluster, 0, r) for r in (0, 1, 3, 4, 5)}
    assert all(p.exists() for p in done.values())
    stamps = {r: p.stat().st_mtime_ns for r, p in done.items()}
    with pytest.raises(runner.LammpsError):
        simulate.run_ensemble(on_laptop, cores=2, **PARAMS)
    monkeypatch.delenv(simulate.ENV_FAIL_JOB)

    simulate.run_ensemble(on_cluster, cores=2, **PARAMS)                       # cluster -> local
    assert {r: p.stat().st_mtime_ns for r, p in done.items()} == stamps          # finished replicas kept
    simulate.run_ensemble(on_laptop, scheduler=cluster, **PARAMS)               # local -> cluster
    for folder in (on_cluster, on_laptop):
        _assert_same_files(folder, local_run)
        assert _manifest(folder)["results"] == _manifest(local_run)["results"]
        assert not list(folder.glob("config_000/*.tmp*")) and not list(folder.glob("config_000/logs/*.tmp*"))


def test_run_killed_on_the_cluster_resumes_locally(local_run, tmp_path):
    # a cluster of our own, shut down while replicas run: the submitter fails, no LAMMPS process is left
    # behind, and the local resume gives the files of the uninterrupted local run
    cl = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    out = tmp_path / "killed"
    box = {}

    def submit():
        try:
            simulate.run_ensemble(out, scheduler=cl, **PARAMS)
        except BaseException as exc:  # noqa: BLE001 - inspected below
            box["error"] = exc

    thread = threading.Thread(target=submit)
    thread.start()
    deadline = time.time() + 120
    while not list(out.glob("config_000/replica_*.lammpstrj")) and time.time() < deadline:
        time.sleep(0.05)
    cl.close()
    thread.join(120)
    assert not thread.is_alive()
    finished = sorted(p.name for p in out.glob("config_000/replica_*.lammpstrj"))
    assert 1 <= len(finished) < PARAMS["replicas"], finished              # stopped mid-way
    assert isinstance(box.get("error"), runner.LammpsError), box
    time.sleep(0.5)
    assert _lammps_processes_in(out) == []                                 # the worker plugin stopped them
    simulate.run_ensemble(out, cores=2, **PARAMS)
    _assert_same_files(out, local_run)
    assert _manifest(out)["results"] == _manifest(local_run)["results"]   # results recovered from the logs


def test_a_stopped_run_stops_lammps_on_the_workers(cluster, local_run, tmp_path):
    # what the submitter does on Ctrl-C: set the run's distributed.Event; a running task stops its LAMMPS
    # job within seconds, removes its temporaries and reports the job as not done
    from glassdyn.lammps.execution import Job, Settings, run_unit

    final = tmp_path / "replica_000.lammpstrj"
    tmp = f"{final}.{{tmp}}"
    job = Job(name="config_000/replica_000", script="ensemble.in",
              variables={"model": "ka2d", "data": str(local_run / "config_000" / "reference.data"), "T": 1.0,
                         "dynamics": "md", "seed": 3, "out": tmp, "times": [0, 10_000_000]},
              log=tmp_path / "logs" / "replica_000.log", outputs=[final], renames=[(tmp, final)], kind="replica",
              options={"frames": 2})
    settings = Settings(executable=runner.find_lammps(), stop_event="glassdyn-test-stop")
    with distributed.Client(cluster) as client:
        future = client.submit(run_unit, [job], settings, pure=False)
        deadline = time.time() + 60
        while not list(tmp_path.glob("replica_000.lammpstrj.tmp*")) and time.time() < deadline:
            time.sleep(0.1)                                      # LAMMPS is running on a worker
        t0 = time.time()
        distributed.Event("glassdyn-test-stop", client=client).set()
        outcome = future.result(timeout=60)
    assert time.time() - t0 < 20
    assert outcome["results"] == {} and "stopped on request" in str(outcome["errors"][0])
    assert not final.exists() and not list(tmp_path.glob("*.tmp*"))
    assert _lammps_processes_in(tmp_path) == []


def test_scheduler_argument_is_checked(tmp_path):
    with pytest.raises(InputError, match="scheduler must be an address"):
        simulate.run_ensemble(tmp_path / "x", scheduler=42, **PARAMS)
    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        cluster_mod.resolve_client("tcp://127.0.0.1:9", timeout="2s")   # nothing listens there


# ----------------------------------------------------------------------------- batch systems
SLURM = dict(kind="slurm", queue="compute", account="proj123", cores=8, memory="8GB", walltime="01:30:00",
             jobs=2, job_extra=["--constraint=cpu"], prologue=["source /opt/venv/bin/activate"])


def _lines(script):
    return [line.strip() for line in script.splitlines()]


def test_slurm_job_script():
    lines = _lines(cluster_mod.job_script(SLURM))
    for directive in ("#SBATCH -p compute", "#SBATCH -A proj123", "#SBATCH --cpus-per-task=8",
                      "#SBATCH --mem=8G", "#SBATCH -t 01:30:00", "#SBATCH --constraint=cpu"):
        assert directive in lines, directive
    assert "source /opt/venv/bin/activate" in lines
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--nthreads 1" in worker and "--nworkers 8" in worker            # one LAMMPS job per worker
    # 2 cores per LAMMPS job: 4 workers, all 8 cores still reserved
    lines = _lines(cluster_mod.job_script({**SLURM, "ranks": 2}))
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "#SBATCH --cpus-per-task=8" in lines and "--nworkers 4" in worker and "--nthreads 1" in worker


def test_pbs_job_script():
    cfg = {**SLURM, "kind": "pbs", "job_extra": ["-l place=scatter"]}
    lines = _lines(cluster_mod.job_script(cfg))
    for directive in ("#PBS -q compute", "#PBS -A proj123", "#PBS -l walltime=01:30:00", "#PBS -l place=scatter"):
        assert directive in lines, directive
    select = next(line for line in lines if line.startswith("#PBS -l select="))
    assert "ncpus=8" in select and "mem=" in select
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--nthreads 1" in worker and "--nworkers 8" in worker
    lines = _lines(cluster_mod.job_script({**cfg, "ranks": 4}))
    assert any(line.startswith("#PBS -l select=1:ncpus=8") for line in lines)
    assert "--nworkers 2" in next(line for line in lines if "distributed.cli.dask_worker" in line)


def test_cluster_command_prints_the_job_script(tmp_path, capsys):
    from glassdyn.cli import main
    cfg = tmp_path / "cluster.toml"
    cfg.write_text('[cluster]\nkind = "slurm"\nqueue = "compute"\ncores = 4\nmemory = "4GB"\n'
                   'walltime = "00:10:00"\n')
    assert main(["cluster", "--config", str(cfg), "--print-job-script"]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH -p compute" in out and "#SBATCH -t 00:10:00" in out and "--nworkers 4" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('kind = "slurm"\nqeue = "compute"\ncores = 4\nmemory = "4GB"\n')
    assert main(["cluster", "--config", str(bad), "--print-job-script"]) == 1
    assert "unknown cluster setting(s) qeue" in capsys.readouterr().err
    with pytest.raises(InputError, match="needs 'memory'"):
        cluster_mod.make_cluster({"kind": "pbs", "cores": 4})
    with pytest.raises(InputError, match="multiple of ranks"):
        cluster_mod.make_cluster({"kind": "local", "cores": 3, "ranks": 2})


def test_cluster_command_serves_a_local_cluster_to_simulate_scheduler(tmp_path):
    # `glassdyn cluster` with kind = "local" (a distributed.LocalCluster of 2 processes) in its own process;
    # `glassdyn simulate --scheduler ADDRESS` uses it; Ctrl-C (SIGINT) stops it. Same files as a local run.
    cfg = tmp_path / "local.toml"
    cfg.write_text('kind = "local"\ncores = 2\n')
    address_file = tmp_path / "address"
    proc = subprocess.Popen([sys.executable, "-m", "glassdyn.cli", "cluster", "--config", str(cfg),
                             "--address-file", str(address_file)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 120
        while not address_file.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        address = address_file.read_text().strip()
        assert address.startswith("tcp://")
        from glassdyn.cli import main
        args = ["simulate", "equilibrate", "--model", "ka2d", "--n", "100", "--temperature", "1.0",
                "--equilibration-steps", "300", "--seed", "4", "--quiet"]
        assert main(args + ["--scheduler", address, "--output", str(tmp_path / "remote")]) == 0
        assert main(args + ["--output", str(tmp_path / "here")]) == 0
        for name in ("reference.data", "reference.lammpstrj"):
            assert (tmp_path / "remote" / "config_000" / name).read_bytes() == \
                (tmp_path / "here" / "config_000" / name).read_bytes()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert f"scheduler {address}" in out and "stopping" in err

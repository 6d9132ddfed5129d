"""`glassdyn simulate` and its Python API on small real LAMMPS runs."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.lammps

simulate = pytest.importorskip("glassdyn.lammps.simulate")
runner = pytest.importorskip("glassdyn.lammps.runner")
from glassdyn.errors import InputError  # noqa: E402
from glassdyn.tg import two_line_fit  # noqa: E402

SMALL = dict(model="ka2d", n=150, temperature=1.0, equilibration_steps=1000, seed=11, cores=2)


def _frames(path):
    """Dump frames as (N, k) float arrays sorted by id (columns after id, type), read with numpy only."""
    lines = open(path).read().splitlines()
    frames, k = [], 0
    while k < len(lines):
        n = int(lines[k + 3])
        rows = np.array([[float(v) for v in l.split()] for l in lines[k + 9:k + 9 + n]])
        frames.append(rows[np.argsort(rows[:, 0])])
        k += 9 + n
    return frames


def _box_lengths(path):
    lines = open(path).read().splitlines()
    return np.array([float(l.split()[1]) - float(l.split()[0]) for l in lines[5:8]])


@pytest.fixture(scope="module")
def ensembles(tmp_path_factory):
    out = {}
    for dyn in ("md", "langevin"):
        folder = tmp_path_factory.mktemp(dyn)
        simulate.run_ensemble(folder, replicas=3, dynamics=dyn, steps=3000, points_per_decade=3, **SMALL)
        out[dyn] = folder
    return out


@pytest.mark.parametrize("dyn", ["md", "langevin"])
def test_replicas_start_identical_and_diverge(dyn, ensembles):
    folder = ensembles[dyn]
    manifest = simulate.load_manifest(folder)
    times = manifest["parameters"]["times"]
    assert times[0] == 0 and times[-1] == 3000
    ref = _frames(simulate.reference_path(folder, 0, "dump"))[0]
    lengths = _box_lengths(simulate.reference_path(folder, 0, "dump"))[:2]
    ref_unwrapped = ref[:, 2:4] + ref[:, 4:6] * lengths
    runs = [_frames(simulate.replica_path(folder, 0, r)) for r in range(3)]
    for frames in runs:
        assert len(frames) == len(times)
        np.testing.assert_array_equal(frames[0][:, :2], ref[:, :2])       # same ids and types
        np.testing.assert_allclose(frames[0][:, 2:4], ref_unwrapped, atol=1e-8)
    # different seeds -> different trajectories; the same seed would give identical files
    seeds = manifest["seeds"]["config_000"]["replicas"]
    assert len(set(seeds)) == 3
    for a in range(3):
        for b in range(a + 1, 3):
            d = np.linalg.norm(runs[a][-1][:, 2:4] - runs[b][-1][:, 2:4], axis=1)
            assert d.mean() > 0.1, (a, b, d.mean())
    # and each replica moved from the start (liquid at T = 1)
    msd = ((runs[0][-1][:, 2:4] - runs[0][0][:, 2:4]) ** 2).sum(1).mean()
    assert msd > 0.1


@pytest.mark.parametrize("dyn", ["md", "langevin"])
def test_dynamics_keeps_temperature(dyn, ensembles):
    manifest = simulate.load_manifest(ensembles[dyn])
    temps = [v["temperature_average"] for k, v in manifest["results"].items() if "replica" in k]
    assert len(temps) == 3
    assert np.mean(temps) == pytest.approx(1.0, rel=0.03)
    # the manifest records the run
    assert manifest["parameters"]["dynamics"] == dyn and manifest["lammps_version"]


def test_resume_after_failure_gives_identical_files(tmp_path, monkeypatch):
    params = dict(replicas=4, dynamics="langevin", times=[0, 10, 100, 500], **SMALL)
    clean = tmp_path / "clean"
    simulate.run_ensemble(clean, **params)

    broken = tmp_path / "broken"
    monkeypatch.setenv(simulate.ENV_FAIL_JOB, "config_000/replica_002")
    with pytest.raises(runner.LammpsError) as err:
        simulate.run_ensemble(broken, **params)
    msg = str(err.value)
    assert "ERROR" in msg and "glassdyn_injected_failure" in msg       # the LAMMPS error text
    assert str(broken / "config_000" / "logs" / "replica_002.log") in msg  # and the log path
    assert "resume" in msg
    kept = {r: simulate.replica_path(broken, 0, r) for r in (0, 1, 3)}
    assert all(p.exists() for p in kept.values())
    assert not simulate.replica_path(broken, 0, 2).exists()
    assert not list(broken.glob("config_000/*.tmp*"))
    stamps = {r: p.stat().st_mtime_ns for r, p in kept.items()}

    monkeypatch.delenv(simulate.ENV_FAIL_JOB)
    simulate.run_ensemble(broken, **params)
    assert {r: p.stat().st_mtime_ns for r, p in kept.items()} == stamps  # finished replicas not redone
    for r in range(4):
        assert simulate.replica_path(broken, 0, r).read_bytes() == simulate.replica_path(clean, 0, r).read_bytes()
    assert simulate.reference_path(broken, 0).read_bytes() == simulate.reference_path(clean, 0).read_bytes()


def test_slower_cooling_gives_lower_inherent_energy(tmp_path):
    manifest = simulate.run_cooling(tmp_path, model="ka2d", n=100, rates=[1000, 100000], configurations=3,
                                    snapshots=8, equilibration_steps=2000, seed=5, cores=2)
    fast = [np.loadtxt(tmp_path / f"config_{c:03d}/tcool_1000/eis.txt")[-1] for c in range(3)]
    slow = [np.loadtxt(tmp_path / f"config_{c:03d}/tcool_100000/eis.txt")[-1] for c in range(3)]
    assert all(row[2] == pytest.approx(0.05) for row in fast + slow)           # T_set at the end of the ramp
    e_fast, e_slow = np.mean([r[5] for r in fast]), np.mean([r[5] for r in slow])
    assert e_slow < e_fast - 0.02
    # E_IS below the instantaneous energy (minimisation lowers it) at every snapshot
    table = np.loadtxt(tmp_path / "config_000/tcool_100000/eis.txt")
    assert len(table) == 8 and np.all(table[:, 5] <= table[:, 4] + 1e-12)
    assert manifest["tg"]["100000"]["eis_final_mean"] == pytest.approx(e_slow)
    assert len(list((tmp_path / "config_000/tcool_1000").glob("*.lammpstrj"))) == 2


def test_two_line_fit_recovers_the_break():
    rng = np.random.default_rng(0)
    t = np.linspace(0.05, 2.0, 200)
    tg = 0.4
    e = np.where(t < tg, -3.9 + 0.1 * (t - tg), -3.9 + 0.5 * (t - tg)) + rng.normal(0, 1e-3, t.size)
    fit = two_line_fit(t[::-1], e[::-1])
    assert fit["tg"] == pytest.approx(tg, abs=0.01)
    assert fit["low"]["slope"] == pytest.approx(0.1, abs=0.01)
    assert fit["high"]["slope"] == pytest.approx(0.5, abs=0.01)
    with pytest.raises(InputError, match="at least 6 points"):
        two_line_fit([1, 2, 3], [1, 2, 3])


@pytest.mark.parametrize("kwargs, message", [
    (dict(model="ka4d"), "unknown model 'ka4d'"),
    (dict(dynamics="mc"), "unknown dynamics 'mc'"),
    (dict(dynamics="brownian", dt=-1e-3), "dt must be positive"),
    (dict(partitions=0), "partitions must be a positive integer"),
    (dict(mpi_ranks=0), "mpi_ranks must be a positive integer"),
    (dict(mpi_ranks=2, mpiexec="/nonexistent/mpiexec"), "mpiexec not found"),
    (dict(temperature=0.0), "temperature must be positive"),
    (dict(temperature=-1.0), "temperature must be positive"),
    (dict(executable="/nonexistent/lmp"), "LAMMPS executable not found"),
])
def test_bad_input_fails_before_running(tmp_path, kwargs, message):
    params = dict(SMALL, replicas=2, steps=100)
    params.update(kwargs)
    with pytest.raises(InputError, match=message):
        simulate.run_ensemble(tmp_path / "out", **params)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("rates", [[0], [-2e5], [1000, -1]])
def test_bad_rate(tmp_path, rates):
    with pytest.raises(InputError, match="must be positive"):
        simulate.run_cooling(tmp_path / "out", rates=rates, n=100)
    assert not (tmp_path / "out").exists()


def test_missing_executable_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(runner.ENV_EXECUTABLE, str(tmp_path / "no_lmp_here"))
    with pytest.raises(InputError, match="GLASSDYN_LMP"):
        simulate.run_equilibrate(tmp_path / "out", n=100)


def test_folder_with_a_different_run_is_refused(tmp_path):
    simulate.run_equilibrate(tmp_path, n=100, temperature=1.0, equilibration_steps=100, cores=1)
    before = json.loads((tmp_path / "manifest.json").read_text())
    with pytest.raises(InputError, match=r"different run \(parameters temperature=1.0 \(now 0.5\)"):
        simulate.run_equilibrate(tmp_path, n=100, temperature=0.5, equilibration_steps=100, cores=1)
    with pytest.raises(InputError, match="different run"):
        simulate.run_ensemble(tmp_path, n=100, temperature=1.0, equilibration_steps=100, replicas=2, steps=10)
    assert json.loads((tmp_path / "manifest.json").read_text()) == before
    stray = tmp_path / "other"
    stray.mkdir()
    (stray / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="not empty and holds no manifest.json"):
        simulate.run_equilibrate(stray, n=100)


def test_lammps_failure_surfaces_error_text(tmp_path):
    """A real LAMMPS error (an absurd time step blows the system up) names the error and the log; nothing half-written."""
    with pytest.raises(runner.LammpsError) as err:
        simulate.run_equilibrate(tmp_path, n=100, temperature=1.0, equilibration_steps=2000, dt=0.5, cores=1)
    msg = str(err.value)
    assert "ERROR" in msg and str(tmp_path / "config_000" / "logs" / "equilibrate.log") in msg
    assert not (tmp_path / "config_000" / "reference.data").exists()


def test_cli_ensemble(tmp_path, capsys):
    from glassdyn.cli import main
    out = tmp_path / "cli"
    code = main(["simulate", "ensemble", "--model", "ternary2d", "--n", "120", "--temperature", "1.0",
                 "--replicas", "2", "--dynamics", "langevin", "--steps", "200", "--equilibration-steps", "500",
                 "--cores", "2", "--quiet", "--output", str(out)])
    assert code == 0
    manifest = simulate.load_manifest(out)
    assert manifest["parameters"]["model"] == "ternary2d" and manifest["parameters"]["n"] == 120
    frames = _frames(simulate.replica_path(out, 0, 1))
    assert len(frames) == len(manifest["parameters"]["times"])
    assert sorted(np.unique(frames[0][:, 1]).astype(int)) == [1, 2, 3]
    assert np.bincount(frames[0][:, 1].astype(int))[1:].tolist() == [56, 31, 33]   # 600:330:360 of 120
    assert main(["simulate", "ensemble", "--output", str(tmp_path / "x")]) == 2
    assert "needs --temperature" in capsys.readouterr().err


def test_random_start_tops_up_atoms_that_random_addition_missed(tmp_path):
    # At density 1.2 random sequential addition at overlap 0.7 places only 499 of 500 atoms for
    # this seed; the script tops up the rest and relaxes the close pair with CG before FIRE
    # (FIRE alone blew up and lost atoms). The configuration must come out complete and sane.
    log = tmp_path / "eq.log"
    runner.run_lammps("equilibrate.in", {"model": "ka2d", "N": 500, "T": 0.6, "steps": 200,
                                         "seed": 601029260, "out": str(tmp_path / "ref")},
                      log=log)
    text = log.read_text()
    assert "Only inserted 499 particles out of 500" in text
    frame = _frames(tmp_path / "ref.lammpstrj")[-1]
    assert len(frame) == 500
    assert np.sum(frame[:, 1] == 2) == 175  # 65:35 composition kept after the top-up
    pe = [float(l.split()[2]) for l in text.splitlines()
          if l.strip() and l.split()[0] == "200" and len(l.split()) == 6]
    assert pe and -4.0 < pe[-1] < -2.0  # a liquid at T = 0.6, not an exploded system


def _mean_potential_energy(folder, from_step):
    """Mean potential energy per atom over the replica frames at or after ``from_step``, computed by
    the core's pair potential from the dumped positions (independent of LAMMPS' thermo output)."""
    from glassdyn.adapters.lammps_dump import iter_dump
    from glassdyn.descriptors import local_energy

    energies = [local_energy(frame, "ka3d").mean()
                for path in sorted(folder.glob("config_000/replica_*.lammpstrj"))
                for frame in iter_dump(path) if frame.timestep >= from_step]
    assert len(energies) >= 6
    return float(np.mean(energies))


def test_brownian_keeps_the_temperature_configurationally(tmp_path):
    # Brownian dynamics has no meaningful kinetic temperature (v = dx/dt), so check the canonical
    # ensemble through a configurational observable: the mean potential energy of Brownian replicas
    # at T equals that of Nose-Hoover replicas at T, and clearly differs at another temperature.
    common = dict(model="ka3d", n=300, replicas=4, steps=8000, points_per_decade=6, equilibration_steps=4000,
                  seed=5, cores=2)
    for name, temperature, dynamics in (("md", 1.0, "md"), ("brownian", 1.0, "brownian"),
                                        ("hot", 1.5, "brownian")):
        simulate.run_ensemble(tmp_path / name, temperature=temperature, dynamics=dynamics, **common)
    e_md = _mean_potential_energy(tmp_path / "md", 1000)
    e_brownian = _mean_potential_energy(tmp_path / "brownian", 1000)
    e_hot = _mean_potential_energy(tmp_path / "hot", 1000)
    # standard error of each mean ~0.015 (24 frames); T = 1.5 shifts the energy by ~0.7
    assert e_brownian == pytest.approx(e_md, abs=0.06)
    assert e_hot - e_md > 0.4


def test_ensemble_from_the_users_own_configuration(tmp_path):
    # a configuration made elsewhere (here: by the equilibrate task) seeds the ensemble as is
    made = tmp_path / "made"
    simulate.run_equilibrate(made, model="ka2d", n=150, temperature=1.0, equilibration_steps=500, seed=3, cores=1)
    mine = tmp_path / "my_config.data"
    mine.write_bytes((made / "config_000" / "reference.data").read_bytes())
    out = tmp_path / "run"
    manifest = simulate.run_ensemble(out, model="ka2d", temperature=1.0, replicas=2, steps=200,
                                     points_per_decade=2, references=[mine], seed=9, cores=2)
    assert manifest["parameters"]["references"] == [str(mine.resolve())]
    assert (out / "config_000" / "reference.data").read_bytes() == mine.read_bytes()
    reference = _frames(out / "config_000" / "reference.lammpstrj")[0]
    for r in range(2):
        start = _frames(simulate.replica_path(out, 0, r))[0]
        # replica frame 0 = the user's positions (unwrapped = wrapped + images . box)
        lengths = _box_lengths(out / "config_000" / "reference.lammpstrj")[:2]
        np.testing.assert_allclose(start[:, 2:4], reference[:, 2:4] + reference[:, 5:7] * lengths, atol=1e-8)
    # resuming with another file is refused before anything runs
    other = tmp_path / "other.data"
    other.write_text(mine.read_text().replace("Atoms", "Atoms", 1) + "\n")
    with pytest.raises(InputError, match="different run"):
        simulate.run_ensemble(out, model="ka2d", temperature=1.0, replicas=2, steps=200, points_per_decade=2,
                              references=[other], seed=9, cores=2)
    # a file with atom types the model does not know is refused, naming it
    bad = tmp_path / "bad.data"
    bad.write_text(mine.read_text().replace("2 atom types", "3 atom types"))
    text = bad.read_text().split("\n")
    k = next(i for i, line in enumerate(text) if line.startswith("Atoms")) + 2
    fields = text[k].split()
    fields[1] = "3"
    text[k] = " ".join(fields)
    bad.write_text("\n".join(text))
    with pytest.raises(InputError, match="bad.data.*unknown to potential 'ka2d'"):
        simulate.run_ensemble(tmp_path / "run2", model="ka2d", temperature=1.0, replicas=2, steps=200,
                              references=[bad], cores=1)


# ----------------------------------------------------------------------------- Brownian dynamics in 2D
def _configurational_temperature(frame, potential):
    """T_conf = sum_i |F_i|^2 / sum_i lap_i U from the positions alone (Rugh; k_B = 1), with the core's
    pair force and a numerical V''. Exact for ternary2d, whose V, V', V'' vanish at the cutoff."""
    from scipy.spatial import cKDTree

    from glassdyn.potentials import get_potential

    pot = get_potential(potential)
    lengths = frame.box.lengths[:2]
    pos = np.mod(frame.positions[:, :2], lengths)
    pairs = cKDTree(pos, boxsize=lengths).query_pairs(pot.max_cutoff, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    d = pos[i] - pos[j]
    d -= lengths * np.round(d / lengths)
    r = np.linalg.norm(d, axis=1)
    ti, tj = frame.types[i], frame.types[j]
    f = pot.force(r, ti, tj)                                   # -V'(r)
    h = 1e-6
    v2 = -(pot.force(r + h, ti, tj) - pot.force(r - h, ti, tj)) / (2 * h)   # V''(r)
    fvec = (f / r)[:, None] * d
    forces = np.zeros_like(pos)
    np.add.at(forces, i, fvec)
    np.add.at(forces, j, -fvec)
    laplacian = 2.0 * np.sum(v2 - f / r)                       # d = 2: V'' + (d - 1) V'/r per pair, twice
    return float(np.sum(forces ** 2) / laplacian)


def _replica_observables(folder, model, from_step):
    """(configurational temperature, mean potential energy per atom) over the replica frames at or after
    ``from_step``: both from the dumped positions with the core's potential, independent of LAMMPS' thermo."""
    from glassdyn.adapters.lammps_dump import iter_dump
    from glassdyn.descriptors import local_energy

    frames = [frame for path in sorted(folder.glob("config_000/replica_*.lammpstrj"))
              for frame in iter_dump(path, dimension=2) if frame.timestep >= from_step]
    assert len(frames) >= 24
    t_conf = np.mean([_configurational_temperature(f, model) for f in frames])
    energy = np.mean([local_energy(f, model).mean() for f in frames])
    return float(t_conf), float(energy)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ternary2d", "ka2d"])
def test_brownian_2d_keeps_the_temperature_configurationally(model, tmp_path):
    # 2D Brownian dynamics with the time step of glassdyn's rule: the configurational temperature of the
    # replicas equals the set T (and 1.5 T in a hotter run), and their mean potential energy equals that of
    # Nose-Hoover replicas at T. The T_conf estimator itself is checked on the Nose-Hoover replicas.
    # per frame T_conf scatters by ~8% at N = 300; ~36 frames at or after step 1000 give ~1.5% standard error
    common = dict(model=model, n=300, replicas=4, steps=8000, points_per_decade=8, equilibration_steps=4000,
                  seed=5, cores=2)
    out = {}
    for name, temperature, dynamics in (("md", 1.0, "md"), ("brownian", 1.0, "brownian"),
                                        ("hot", 1.5, "brownian")):
        manifest = simulate.run_ensemble(tmp_path / name, temperature=temperature, dynamics=dynamics, **common)
        out[name] = _replica_observables(tmp_path / name, model, 1000)
        if dynamics == "brownian":
            p = manifest["parameters"]
            assert p["dt"] == simulate.brownian_dt(model, temperature, 100.0) and p["equilibration_dt"] == 0.005
    (t_md, e_md), (t_b, e_b), (t_hot, e_hot) = out["md"], out["brownian"], out["hot"]
    # tolerance: ~1.5% standard error, and MD at dt = 0.005 itself reads 2-3% high (T_conf is sensitive to
    # the time step of the integrator: measured 1.02-1.035 here)
    assert t_md == pytest.approx(1.0, rel=0.08)        # the estimator on canonical configurations
    assert t_b == pytest.approx(1.0, rel=0.08)
    assert t_hot == pytest.approx(1.5, rel=0.08)
    assert t_hot / t_b > 1.3
    assert e_b == pytest.approx(e_md, abs=0.06)           # as the 3D test: ~0.015 standard error
    assert e_hot - e_md > 0.3


def test_brownian_dt_rule():
    # thermal term decides for these potentials: dt = gamma (0.01 sigma_min)^2 / (2 T), sigma_min = 0.8
    assert simulate.brownian_dt("ka2d", 1.0, 100.0) == pytest.approx(3.2e-3)
    assert simulate.brownian_dt("ternary2d", 0.5, 1.0) == pytest.approx(6.4e-5)
    # only dt / gamma_t matters (up to the rounding to two digits)
    assert simulate.brownian_dt("ka2d", 0.6, 200.0) == pytest.approx(2 * simulate.brownian_dt("ka2d", 0.6, 100.0),
                                                                    rel=0.05)
    # a tiny sigma_min makes the rule smaller in proportion to sigma_min^2
    from glassdyn.potentials import PairPotential
    small = PairPotential("small", [[1.0]], [[0.4]], dimension=2)
    assert simulate.brownian_dt(small, 1.0, 100.0) == pytest.approx(3.2e-3 / 4, rel=0.02)


def test_brownian_time_step_that_loses_atoms_is_named(tmp_path):
    # 15x the rule's dt/gamma_t (thermal step ~0.04 sigma_min, measured to lose atoms): LAMMPS stops, and
    # the error names the time step, the rule's value and what to do
    with pytest.raises(runner.LammpsError) as err:
        simulate.run_ensemble(tmp_path, model="ka2d", n=150, temperature=1.0, replicas=1, dynamics="brownian",
                              dt=0.05, times=[0, 100, 2000], equilibration_steps=500, seed=3, cores=1)
    msg = str(err.value)
    assert "Lost atoms" in msg or "Out of range atoms" in msg
    assert "time step dt = 0.05" in msg and "--dt" in msg and "dt = 0.0032" in msg
    assert not simulate.replica_path(tmp_path, 0, 0).exists()
    assert not list(tmp_path.glob("config_000/*.tmp*"))


def test_old_manifests_still_resume(tmp_path):
    # the parameters a run of the previous code recorded (md / langevin / 3D brownian, dt 0.005) are exactly
    # what the current code records for the same arguments, so those runs resume
    params = dict(model="ka2d", n=150, temperature=1.0, replicas=2, configurations=1, times=[0, 10, 100],
                  equilibration_steps=500, seed=4)
    for dynamics, extra in (("md", {}), ("langevin", {"langevin_damp": 0.1}),
                            ("brownian", {"brownian_gamma": 100.0})):
        model = "ka3d" if dynamics == "brownian" else "ka2d"
        old = {**params, "model": model, "dynamics": dynamics, "dt": 0.005, "tdamp": 0.5, "langevin_damp": None,
               "brownian_gamma": None, **extra}
        folder = tmp_path / dynamics
        folder.mkdir()
        (folder / "manifest.json").write_text(json.dumps({"task": "ensemble", "parameters": old, "results": {}}))
        manifest = simulate.run_ensemble(folder, model=model, n=150, temperature=1.0, replicas=2, dynamics=dynamics,
                                         times=[0, 10, 100], equilibration_steps=500, seed=4, cores=2)
        assert manifest["parameters"] == old

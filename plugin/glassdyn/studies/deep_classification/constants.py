"""Published numbers of Swanson et al. and the measured costs the study's size definitions use.

Every published value below is from the paper's text and its appendix (the figures' numbers are
not machine-readable); SCIENCE.md sections 1a and 5 list the same values.
"""
from __future__ import annotations

MODEL = "ka2d"

#: the paper's cooling durations (MD steps of dt = 0.005): fast and slow
PAPER_FAST = 200_000
PAPER_SLOW = 20_000_000

#: published mean inherent-structure energies per particle (authors' script; SCIENCE.md 5)
PUBLISHED_EIS = {
    "slow_glass": -3.9029,     # t_cool = 2e7, T = 0.05
    "fast_glass": -3.8674,     # t_cool = 2e5, T = 0.05
    "liquid": {1.99: -3.7647, 1.76: -3.7719, 0.96: -3.8118, 0.55: -3.8655, 0.44: -3.8863},   # t_cool = 2e7
}
#: appendix: the two halves of data set 6 (mean +- sd over 10,000 configurations)
PUBLISHED_SET6 = {"liquid_T": 0.55, "liquid_eis": (-3.86698, 0.00382), "glass_eis": (-3.86744, 0.00288)}
#: glass transition temperatures from the two-line fit (the paper's Fig. 1a)
PUBLISHED_TG = {"fast": 0.39, "slow": 0.37}

#: published classification results
PUBLISHED_AUC = {
    "networks_all_sets": 0.98,       # CNN and D-MPNN: AUC > 0.98 on every data set (Fig. 5)
    "attention_set1": 0.995,         # D-MPNN with attention, k = 2, windows of ~173 particles, set 1
    "attention_set1_larger": 0.957,  # the same model on windows of ~389 particles (side 0.3)
}
PUBLISHED_ATTENTION = (
    "glass: the high-attention edges form one large connected graph, no B-B high-attention edge, few isolated "
    "A; liquid: several smaller disjoint graphs, B-B pairs joined by high-attention edges, more isolated A; "
    "isolated B about 0 in both (one-sided Wilcoxon tests, p below the printed bound)")
PAPER_SIZES = {"configurations_per_class": 10_000, "particles": 4320, "outer_train_configurations": 16_000,
               "mpnn_training_windows": 160_000, "tpe_iterations": 15, "epochs": 10}
#: the paper's hyperparameter search ranges (Table 2)
PAPER_SEARCH = {"k": (1, 5), "window": (0.1, 0.3), "hidden": (300, 2400), "steps": (2, 6), "dropout": (0.0, 0.5),
                "ffn_layers": (1, 3), "batch": (10, 100)}

#: the six data sets of the paper plus one of this study ("R": glasses of the two rates).
#: label 1 = glass (the paper's one-hot [0, 1]); for "R", 1 = slow-rate glass.
DATASETS = {
    "1": {"liquid_T": 1.99, "glass_rate": "slow", "liquid_rate": "slow"},
    "2": {"liquid_T": 1.76, "glass_rate": "slow", "liquid_rate": "slow"},
    "3": {"liquid_T": 0.96, "glass_rate": "slow", "liquid_rate": "slow"},
    "4": {"liquid_T": 0.55, "glass_rate": "slow", "liquid_rate": "slow"},
    "5": {"liquid_T": 0.44, "glass_rate": "slow", "liquid_rate": "slow"},
    "6": {"liquid_T": None, "glass_rate": "fast", "liquid_rate": "slow", "paper_liquid_T": 0.55},
    "R": {"liquid_T": None, "glass_rate": "slow", "liquid_rate": "fast", "extra": True},
}
SET_ORDER = ("1", "2", "3", "4", "5", "6", "R")
SET_TITLES = {
    "1": "glass vs liquid T=1.99", "2": "glass vs liquid T=1.76", "3": "glass vs liquid T=0.96",
    "4": "glass vs liquid T=0.55", "5": "glass vs liquid T=0.44",
    "6": "fast glass vs slow liquid, equal E_IS", "R": "slow vs fast glass (not in the paper)",
}

#: ftol passed to run_cooling for ramps whose snapshots are not minimised: FIRE stops after its
#: first iteration (the force norm of any configuration is far below 1e9), so the E_IS column of
#: those eis.txt files is NOT an inherent-structure energy and is never read. A stand-in until
#: run_cooling can minimise chosen snapshots only (see the study README).
NO_MINIMISATION_FTOL = 1e9

# ------------------------------------------------------------------------------------ measured costs
#: ka2d N = 4320 Nose-Hoover NVT, one core, idle machine (README "Production simulations": 8.3 min
#: per 1e6 steps = 2,004 steps/s)
MD_SECONDS_PER_STEP_4320 = 8.3 * 60 / 1e6
#: FIRE iterations per inherent structure at N = 4320 from scratch, force tolerance 1e-2 (2-norm of
#: the whole force vector): 20,009 / 15,625 / 20,230 for snapshots at T = 2.0, 1.16, 0.65 of a
#: 2e4-step ramp; 1e-3: mean 27,300 (8 snapshots), 1e-8 (run_cooling's default): mean 50,700.
#: E_IS at 1e-2 differs from 1e-8 by < 1.2e-7 per particle. Measured 2026-12-02 on the project
#: machine (loaded); the counts do not depend on the load.
FIRE_ITERATIONS_4320 = 18_600
#: iterations grow with N: 8,900 (N = 500) vs 50,700 (N = 4320) at 1e-8 -> exponent 0.81
FIRE_ITERATIONS_EXPONENT = 0.81
#: one FIRE iteration costs 1.6 MD steps (same run: 1.39 ms vs 0.86 ms at N = 4320)
FIRE_ITERATION_IN_MD_STEPS = 1.6
#: a snapshot that is dumped but not minimised (write_dump, store/state, run restart): 25 ms at
#: N = 500 (7 s for a 2e4-step ramp with 200 snapshots against 1.7 s of MD), scaled with N
SNAPSHOT_SECONDS_500 = 0.025
#: training cost per window and epoch on one thread (encode + forward + backward), N = 4320
#: windows of side 0.1-0.3 (~170 particles): D-MPNN hidden 64, k = 2-4: 6-9 ms; CNN 64 px: 3 ms
MPNN_SECONDS_PER_WINDOW_4320 = 0.008
CNN_SECONDS_PER_WINDOW_64PX = 0.0035

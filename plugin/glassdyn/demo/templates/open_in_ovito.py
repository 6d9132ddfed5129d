"""Open the glassdyn demo in OVITO.

(Template shipped with glassdyn: ``glassdyn demo`` copies it next to its results and fills in the
names of the annotated dump and the model file.)

    python open_in_ovito.py            # build the pipelines, print what they hold, save demo_session.ovito
    python open_in_ovito.py --recompute  # also recompute features and prediction with the glassdyn modifiers
    ovito demo_session.ovito           # open the saved session in the OVITO desktop application

Two pipelines on the annotated dump of a held-out configuration, placed side by side: the
true propensity (left) and the propensity predicted from structure (right), each coloured
with a colour-coding modifier. With --recompute the right-hand pipeline does not read the
stored prediction: it runs the "Glass descriptors" and "Propensity prediction" modifiers of
glassdyn (installed as OVITO modifiers) with the trained model file, as a user would on new data.
"""
import os
import sys

from ovito import scene
from ovito.io import import_file
from ovito.modifiers import AffineTransformationModifier, ColorCodingModifier

HERE = os.path.dirname(os.path.abspath(__file__))
DUMP = os.path.join(HERE, "__DUMP__")
MODEL = os.path.join(HERE, "__MODEL__")
TARGET = "__TARGET__"   # the propensity column (cage-relative <|dr|>)
SESSION = os.path.join(HERE, "demo_session.ovito")


def percentile_range(values, lo=2.0, hi=98.0):
    import numpy as np
    v = np.asarray(values, dtype=float)
    return float(np.percentile(v, lo)), float(np.percentile(v, hi))


def make_pipeline(prop, shift=0.0, recompute=False):
    pipeline = import_file(DUMP)
    pipeline.source.data.cell_.is2D = True          # a 2D LAMMPS dump loads as a height-1 3D cell
    name = prop
    if recompute:
        from glassdyn.ovito.prediction_modifier import PropensityPredictionModifier
        pipeline.modifiers.append(PropensityPredictionModifier(model_file=MODEL, features="compute"))
        name = "Predicted Propensity"
    lo, hi = percentile_range(pipeline.compute().particles[name])
    pipeline.modifiers.append(ColorCodingModifier(property=name, start_value=lo, end_value=hi,
                                                  gradient=ColorCodingModifier.Viridis(),
                                                  auto_adjust_range=False))
    if shift:
        pipeline.modifiers.append(AffineTransformationModifier(
            transformation=[[1, 0, 0, shift], [0, 1, 0, 0], [0, 0, 1, 0]], operate_on={"particles", "surfaces"}))
    return pipeline


def main(argv):
    recompute = "--recompute" in argv
    data = import_file(DUMP).compute()
    width = float(data.cell[0][0])
    left = make_pipeline(TARGET)
    right = make_pipeline(TARGET + "_pred", shift=1.1 * width, recompute=recompute)
    for p in (left, right):
        p.add_to_scene()
    t = left.compute().particles[TARGET]
    p = right.compute().particles["Predicted Propensity" if recompute else TARGET + "_pred"]
    import numpy as np
    print(f"{DUMP}: {len(t)} particles, Pearson r(true, predicted) = {np.corrcoef(t, p)[0, 1]:.3f}")
    if not recompute:
        scene.save(SESSION)
        print(f"saved {SESSION} (open it with the OVITO desktop application)")


if __name__ == "__main__":
    main(sys.argv[1:])

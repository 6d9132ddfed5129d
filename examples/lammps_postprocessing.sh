#!/usr/bin/env bash
# LAMMPS post-processing from the shell with the glassdyn command.
#
#   examples/lammps_postprocessing.sh RUN_DIR OUT_DIR
#
# RUN_DIR holds one folder per configuration, each with the starting configuration
# (reference.dump) and one dump per iso-configurational replica (replica_*.dump, unwrapped
# xu yu [zu] columns), as written by LAMMPS (lammps_inputs/ensemble.in) or 'glassdyn simulate'.
# Every step reads LAMMPS dumps and writes LAMMPS dumps with added columns, which OVITO and
# MDAnalysis read back. The last configuration is held out: the model is trained on the
# others and predicts it.
set -euo pipefail

RUN_DIR=${1:?usage: $0 RUN_DIR OUT_DIR}
OUT_DIR=${2:?usage: $0 RUN_DIR OUT_DIR}
POTENTIAL=${POTENTIAL:-ka2d}
mkdir -p "$OUT_DIR"

configs=("$RUN_DIR"/*/)
n=${#configs[@]}
if (( n < 3 )); then
    echo "need at least 3 configuration folders in $RUN_DIR (found $n)" >&2
    exit 2
fi

# 1. propensity (and bond breaking, F_s, tau_alpha) of every configuration:
#    columns propensity_cr_t<time> (cage-relative: the 2D default; --displacement plain gives
#    propensity_t<time>), bond_breaking_t<time>
annotated=()
for dir in "${configs[@]}"; do
    name=$(basename "$dir")
    glassdyn propensity "$dir"/replica_*.dump --reference "$dir/reference.dump" \
        --potential "$POTENTIAL" -o "$OUT_DIR/$name.dump" --no-progress
    annotated+=("$OUT_DIR/$name.dump")
done

# the last dumped time, as spelled in the column names (e.g. propensity_cr_t2)
target=$(awk '/^ITEM: ATOMS/ {for (i = 3; i <= NF; i++) if ($i ~ /^propensity(_cr)?_t/) last = $i; print last; exit}' \
         "${annotated[0]}")
echo "target column: $target"

train=("${annotated[@]:0:n-1}")

# 2-3. structural descriptors as extra columns (the default 60 features), then
#      information-imbalance feature selection on the training configurations only
described=()
for f in "${annotated[@]}"; do
    glassdyn describe "$f" --potential "$POTENTIAL" -o "${f%.dump}_described.dump" --quiet
    described+=("${f%.dump}_described.dump")
done
annotated=("${described[@]}")
train=("${annotated[@]:0:n-1}")
glassdyn select "${train[@]}" --target "$target" --n-select 5 -o "$OUT_DIR/selection" --no-plots
held_out=${annotated[n-1]}

# 4. train on all but the last configuration, predict the last one
glassdyn train "${train[@]}" --target "$target" --model ridge --potential "$POTENTIAL" \
    -o "$OUT_DIR/model.gdm"
glassdyn predict "$held_out" --model "$OUT_DIR/model.gdm" -o "$OUT_DIR/predicted.dump"

# 5. pictures: the true and the predicted propensity of the held-out configuration
glassdyn render "$OUT_DIR/predicted.dump" --property "$target" -o "$OUT_DIR/true.png" --size 640x480
glassdyn render "$OUT_DIR/predicted.dump" --property propensity_pred -o "$OUT_DIR/predicted.png" --size 640x480
echo "done: $OUT_DIR/predicted.dump, $OUT_DIR/true.png, $OUT_DIR/predicted.png"

#!/usr/bin/env bash
# Prepare one machine for the course's JupyterHub (run as root, from the course repository):
#
#   sudo bash deploy/jupyterhub/setup_course.sh [PREFIX] [GRADING_ACCOUNT]
#
#   PREFIX           where the course lives on the machine (default /srv/sequence-modelling)
#   GRADING_ACCOUNT  the Linux account that owns the course folder and runs the shared Formgrader
#                    (default grader-sequence-modelling; created if missing)
#
# It makes:
#   PREFIX/course     a copy of the course (nbgrader_config.py, solutions/, notebooks/), owned by the grading
#                     account and readable by nobody else: solutions/ and the gradebook never reach a learner
#   PREFIX/exchange   nbgrader's exchange, shared by every account (world-writable, sticky, as nbgrader's docs say;
#                     nbgrader itself makes submissions unreadable to other learners)
#   PREFIX/hub        JupyterHub's database, cookie secret and proxy pid
#   PREFIX/hub.json   the settings jupyterhub_config.py reads (written once; edit the account lists there)
# and closes this clone's solutions/ and .git to other accounts (learners run its .venv and course_lib).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
PREFIX=${1:-/srv/sequence-modelling}
GRADER=${2:-grader-sequence-modelling}
COURSE_ID=$(python3 -c "import re,sys; print(re.search(r'course_id = \"([^\"]+)\"', open('nbgrader_config.py').read())[1])")

id -u "$GRADER" >/dev/null 2>&1 || useradd --system --create-home --shell /usr/sbin/nologin "$GRADER"
mkdir -p "$PREFIX/course" "$PREFIX/exchange" "$PREFIX/hub"
chmod 755 "$PREFIX"
chmod 1777 "$PREFIX/exchange"
chmod 700 "$PREFIX/hub"
cp nbgrader_config.py "$PREFIX/course/"
for folder in solutions notebooks; do
    rm -rf "${PREFIX:?}/course/$folder"
    cp -r "$folder" "$PREFIX/course/$folder"
done
chown -R "$GRADER:" "$PREFIX/course"
chmod 700 "$PREFIX/course"
# Learners' servers run this clone's .venv and course_lib, so the clone stays readable; what holds the answers
# (solutions/ and git's history of it) is closed to other accounts.
chmod o-rwx solutions .git 2>/dev/null || true
if [ ! -f "$PREFIX/hub.json" ]; then
    cat > "$PREFIX/hub.json" <<JSON
{
  "course_id": "$COURSE_ID",
  "course_dir": "$PREFIX/course",
  "exchange": "$PREFIX/exchange",
  "state_dir": "$PREFIX/hub",
  "grader_account": "$GRADER",
  "graders": [],
  "learners": [],
  "authenticator": "pam"
}
JSON
fi
echo "course $COURSE_ID ready in $PREFIX; list graders and learners in $PREFIX/hub.json, then:"
echo "  COURSE_HUB_SETTINGS=$PREFIX/hub.json jupyterhub -f deploy/jupyterhub/jupyterhub_config.py"

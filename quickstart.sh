#!/usr/bin/env bash
# One-command set-up of the Sequence Modelling course on a fresh machine.
#
#   bash quickstart.sh lab    install into ./.venv and open the course in JupyterLab (nbgrader extensions on)
#   bash quickstart.sh hub    install into ./.venv with JupyterHub and its proxy (README: "A term on JupyterHub")
#   bash quickstart.sh test   install into ./.venv (plus the Debian packages the tests need) and run the tests
#
# torch==2.13.0 is installed first, on its own: an unpinned torch (or a range admitting a newer release)
# would download a multi-GB CUDA build. The project's own requirement is a range that 2.13.0 satisfies.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
VENV=${COURSE_VENV:-$ROOT/.venv}
PYTHON=${PYTHON:-python3}
TORCH_VERSION=2.13.0

log() { printf '\n== %s\n' "$*"; }

need_python() {
    "$PYTHON" - <<'PY' || { echo "Python 3.10 or newer is needed (found $("$PYTHON" --version 2>&1))." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY
}

install_venv() {
    need_python
    if [ ! -x "$VENV/bin/python" ]; then
        log "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    log "installing torch==$TORCH_VERSION (CPU), then the course"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q "torch==$TORCH_VERSION"
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    # The course's kernel: the notebooks run in this environment, whatever other Pythons the machine has.
    "$VENV/bin/python" -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" >/dev/null
    # nbgrader shells out to alembic (the gradebook) and the course command: the environment's bin comes first.
    export PATH="$VENV/bin:$PATH"
}

install_debian_packages() {
    # bubblewrap: the grading sandbox; chromium: the browser tests; fonts: Chinese labels in plots;
    # postgresql: the tests grade a class into a throw-away PostgreSQL server (its service is not needed).
    # npm: configurable-http-proxy, JupyterHub's proxy, for the JupyterHub term test (install_hub_proxy).
    local packages=(bubblewrap chromium fonts-wqy-microhei postgresql)
    command -v npm >/dev/null 2>&1 || packages+=(npm)
    local missing=()
    for p in "${packages[@]}"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "Not a Debian/Ubuntu machine: install ${missing[*]} yourself; tests needing them are skipped." >&2
        return 0
    fi
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_hub_proxy() {
    # JupyterHub's proxy is a Node.js program (npm's configurable-http-proxy); deploy/jupyterhub uses it, and
    # tests/browser/test_hub_term.py finds it here. Pinned to its major release.
    [ -x "$ROOT/.course-node/node_modules/.bin/configurable-http-proxy" ] && return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "npm is missing: the JupyterHub test is skipped (apt-get install npm)." >&2
        return 0
    fi
    log "installing configurable-http-proxy (npm) into .course-node/"
    npm install --silent --no-audit --no-fund --prefix "$ROOT/.course-node" "configurable-http-proxy@^5" >/dev/null
}

case "${1:-}" in
    lab)
        install_venv
        log "opening the course in JupyterLab (Ctrl-C to stop)"
        extra=()
        [ "$(id -u)" -eq 0 ] && extra+=(--allow-root)  # containers often run as root
        exec "$VENV/bin/jupyter" lab --notebook-dir="$ROOT" "${extra[@]}" "${@:2}"
        ;;
    hub)
        install_venv
        "$VENV/bin/python" -m pip install -q -e ".[hub]"
        install_hub_proxy
        log "JupyterHub installed; next (as root): README, 'A term on JupyterHub'"
        echo "  sudo bash deploy/jupyterhub/setup_course.sh /srv/sequence-modelling grader-sequence-modelling"
        echo "  sudo COURSE_HUB_SETTINGS=/srv/sequence-modelling/hub.json PATH=$ROOT/.course-node/node_modules/.bin:\$PATH \\"
        echo "       $VENV/bin/jupyterhub -f deploy/jupyterhub/jupyterhub_config.py"
        ;;
    test)
        install_debian_packages
        install_venv
        install_hub_proxy
        log "running the tests"
        # pytest exits 5 when it collected no test; that is a failure here too.
        set +e
        "$VENV/bin/python" -m pytest "${@:2}"
        status=$?
        set -e
        [ $status -eq 5 ] && { echo "pytest collected no tests" >&2; exit 1; }
        exit $status
        ;;
    *)
        echo "usage: bash quickstart.sh lab|hub|test [extra arguments for jupyter lab / pytest]" >&2
        exit 2
        ;;
esac

"""JupyterHub for the course on one machine: learners, graders and one shared Formgrader.

Run as root from this folder's parent's parent (the course repository), after ``setup_course.sh``:

    COURSE_HUB_SETTINGS=/srv/sequence-modelling/hub.json jupyterhub -f deploy/jupyterhub/jupyterhub_config.py

What it sets up (nbgrader's "one class, multiple graders" layout, docs: "Using nbgrader with JupyterHub"):

- every account in ``hub.json`` (learners, graders) logs in through the authenticator it names (PAM, the Linux
  accounts, by default; ``"authenticator": "lti13"`` for single sign-on from Canvas/Moodle with
  jupyterhub-ltiauthenticator; ``"dummy"`` with a shared password only for tests);
- each gets a personal JupyterLab (``/user/<name>/lab``) run as their own Linux account, with the learner
  configuration of ``roles/learner``: the Assignment List and Validate, never Formgrader, Create Assignment or
  the course list, and no news pop-up;
- the course folder (a copy of this repository made by ``setup_course.sh``) is served by one JupyterLab run as
  the course's grading account, the hub service ``/services/<course id>``, with ``roles/grader``: Formgrader and
  Create Assignment.  Every grader (group ``formgrade-<course id>``) opens the same Formgrader there, so several
  graders share one gradebook;
- one nbgrader exchange outside every home and clone (``exchange`` in ``hub.json``), named to every server by
  ``COURSE_EXCHANGE_ROOT`` (read by ``roles/learner/nbgrader_config.py`` and the course's ``nbgrader_config.py``).
"""

import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 -- injected by traitlets when JupyterHub loads this file

HERE = Path(__file__).resolve().parent
SETTINGS = json.loads(Path(os.environ.get("COURSE_HUB_SETTINGS", "/srv/sequence-modelling/hub.json")).read_text())
COURSE = SETTINGS["course_id"]
COURSE_DIR = SETTINGS["course_dir"]
EXCHANGE = SETTINGS["exchange"]
GRADERS = list(SETTINGS["graders"])
LEARNERS = list(SETTINGS.get("learners", []))
BIN = str(Path(sys.executable).parent)  # the course's environment: jupyterhub-singleuser, nbgrader, alembic, course

c.JupyterHub.bind_url = SETTINGS.get("bind_url", "http://127.0.0.1:8000")
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(SETTINGS.get("hub_port", 8081))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(SETTINGS.get('proxy_api_port', 8001))}"
if SETTINGS.get("proxy_command"):
    c.ConfigurableHTTPProxy.command = SETTINGS["proxy_command"]
state = Path(SETTINGS.get("state_dir", "/srv/sequence-modelling/hub"))
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")

# --- who logs in
authenticator = SETTINGS.get("authenticator", "pam")
if authenticator == "dummy":  # tests only: one shared password, no real accounts checked
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = SETTINGS["dummy_password"]
elif authenticator == "lti13":  # single sign-on from the LMS: see README, "JupyterHub"
    c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
else:
    c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(GRADERS) | set(LEARNERS)
c.Authenticator.allow_all = bool(SETTINGS.get("allow_all", False))  # True with LTI: the LMS says who is enrolled
c.Authenticator.admin_users = set(SETTINGS.get("admins", []))

# --- the shared Formgrader: a hub service run as the course's grading account in the course folder
c.JupyterHub.load_groups = {f"formgrade-{COURSE}": {"users": GRADERS}}
c.JupyterHub.load_roles = [
    {
        "name": f"formgrade-{COURSE}",
        "groups": [f"formgrade-{COURSE}"],
        "scopes": [f"access:services!service={COURSE}", "list:services", f"read:services!service={COURSE}"],
    },
    {"name": "server", "scopes": ["inherit"]},  # nbgrader's course list asks the hub with its user's rights
]
service_port = int(SETTINGS.get("service_port", 9999))
common_environment = {
    "COURSE_ID": COURSE,
    "COURSE_EXCHANGE_ROOT": EXCHANGE,
    "PATH": os.pathsep.join([BIN, "/usr/local/bin", "/usr/bin", "/bin"]),
    "COURSE_QUICK": os.environ.get("COURSE_QUICK", ""),
}
c.JupyterHub.services = [
    {
        "name": COURSE,
        "url": f"http://127.0.0.1:{service_port}",
        "command": [os.path.join(BIN, "jupyterhub-singleuser"), f"--ServerApp.root_dir={COURSE_DIR}"],
        "user": SETTINGS["grader_account"],
        "cwd": COURSE_DIR,
        "oauth_no_confirm": True,
        "environment": {
            **common_environment,
            "JUPYTERHUB_DEFAULT_URL": "/lab",
            "JUPYTER_CONFIG_PATH": str(HERE / "roles" / "grader"),
        },
    }
]

# --- everyone's own JupyterLab: run as their Linux account, learner configuration
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(BIN, "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.environment = {**common_environment, "JUPYTER_CONFIG_PATH": str(HERE / "roles" / "learner")}
c.Spawner.http_timeout = int(SETTINGS.get("spawn_timeout", 120))  # a busy machine starts JupyterLab slowly
c.Spawner.start_timeout = int(SETTINGS.get("spawn_timeout", 120))

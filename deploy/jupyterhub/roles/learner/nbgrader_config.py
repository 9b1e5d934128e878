"""nbgrader settings of every learner's server (on JUPYTER_CONFIG_PATH, set by jupyterhub_config.py): the course
and the one exchange shared by all accounts, both named by the hub in the server's environment."""

import os

c = get_config()  # noqa: F821 -- injected by traitlets when nbgrader loads this file

c.CourseDirectory.course_id = os.environ["COURSE_ID"]
c.Exchange.root = os.environ["COURSE_EXCHANGE_ROOT"]

"""Keystone's public WSGI app for any WSGI server.

keystone.wsgi.api parses sys.argv with oslo.config (CONF(args=None)), so a server's own
command line (`gunicorn --bind ... module:app`) makes it exit with a usage error. Keystone
takes its settings from OS_KEYSTONE_CONFIG_DIR / OS_KEYSTONE_CONFIG_FILES instead.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402,F401

"""Make the shared consumers importable under any pytest import mode, and register their fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from export_consumers import docker_cli, node_tools, systemd_env_file  # noqa: F401

"""docs/library.md: its Python examples run, in order, in a project like the quickstart's.

The OpenAI client the page shows is replaced by a stand-in that records its
arguments (the example is about what envman hands it, not about the SDK).
"""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from tests.docs import consoledoc
from tests.helpers import init_project_at

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "library.md"
PRODUCTION_KEY = "sk-prod-4f1e8a2c6b9d0e3f7a5c1d8b"
DOTENV = (
    f"ALLTKN_API_KEY={PRODUCTION_KEY}\nALLTKN_BASE_URL=https://api.alltkn.com/api/v1\n"
    "ALLTKN_DEFAULT_MODEL=deepseek-chat\nAI_REQUEST_TIMEOUT_MS=60000\nAI_LOG_LEVEL=info\n"
)


@pytest.fixture
def shop_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose production holds the quickstart's values; cwd is its root, its keys in ENVMAN_KEYS_FILE."""
    from envman.ops import Project, import_dotenv

    root = init_project_at(tmp_path / "shop-api", tmp_path / "keys.env", monkeypatch, project_id="shop-api").root
    source = tmp_path / ".env.production"
    source.write_text(DOTENV)
    import_dotenv(Project.open(root), source, "production")
    return root


def test_library_examples_run(shop_api: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block runs; what the comments promise is what happens; the key never shows."""
    calls: list[dict[str, Any]] = []
    openai = types.ModuleType("openai")
    openai.OpenAI = lambda **kwargs: calls.append(kwargs) or kwargs  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "openai", openai)
    monkeypatch.delenv("AI_REQUEST_TIMEOUT_MS", raising=False)

    namespace: dict[str, Any] = {"__name__": "library_md"}
    out, err = io.StringIO(), io.StringIO()
    blocks = [b for b in consoledoc.blocks(PAGE.read_text(encoding="utf-8")) if b.lang == "python"]
    assert len(blocks) >= 5
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        for block in blocks:
            code = compile("\n".join(block.lines), f"docs/library.md:{block.line}", "exec")
            exec(code, namespace)  # running the page's own examples is the point
    printed, logged = out.getvalue(), err.getvalue()

    settings = namespace["settings"]
    assert settings.ALLTKN_BASE_URL == "https://api.alltkn.com/api/v1"
    assert settings.AI_REQUEST_TIMEOUT_MS == 60000
    assert printed.splitlines()[:2] == ["sk-…1d8b", "'sk-…1d8b'"]
    assert calls == [{"api_key": PRODUCTION_KEY, "base_url": "https://api.alltkn.com/api/v1", "timeout": 60.0}]
    assert "calling the API with [secret sk-…1d8b]" in logged
    assert namespace["status"] == {
        "environment": "production", "deployed_version": 1, "current_version": 1, "fingerprint_matches": True, "stale": False,
    }
    assert printed.splitlines()[-1] == "unknown environment 'nonexistent'"
    assert PRODUCTION_KEY not in printed + logged


def test_process_environment_overrides(shop_api: Path) -> None:
    """As the page says: a variable in the process environment wins, and is typed and validated."""
    import envman

    settings = envman.load("production", environ={"AI_REQUEST_TIMEOUT_MS": "30000"})
    assert settings.AI_REQUEST_TIMEOUT_MS == 30000
    with pytest.raises(envman.EnvmanError) as caught:
        envman.load("production", environ={"AI_REQUEST_TIMEOUT_MS": "soon"})
    assert "AI_REQUEST_TIMEOUT_MS" in str(caught.value) and "soon" not in str(caught.value)
    assert envman.load(environ={"ENVMAN_ENV": "production"}).ENVMAN_ENV == "production"

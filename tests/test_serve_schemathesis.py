"""A schemathesis run over `unleak serve`'s OpenAPI document, over real HTTP: no input it
generates gets a 500, and every status code and body is one the document states."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from test_serve_auth import _add_key, serving

MAX_EXAMPLES = int(os.environ.get("UNLEAK_SCHEMATHESIS_EXAMPLES", "20"))
MAX_SECONDS = int(os.environ.get("UNLEAK_SCHEMATHESIS_SECONDS", "90"))


@pytest.mark.slow  # bounded: MAX_EXAMPLES per operation and MAX_SECONDS in all (about 90 s here)
def test_no_input_gets_a_500_and_every_answer_is_documented(tmp_path):
    pytest.importorskip("schemathesis", reason="schemathesis is not installed (pip install -e .[test])")
    db_url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    token = _add_key(db_url, "fuzzer", "hasher,matcher,curator")
    with serving(db_url) as h:
        assert h.get("/c/banks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{h.base_url}/openapi/openapi.json",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--max-time",
                str(MAX_SECONDS),
                "--seed",
                "1",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
                "--header",
                f"Authorization: Bearer {token}",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=MAX_SECONDS + 120,
            cwd=tmp_path,
        )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    tested = re.search(r"Tested: (\d+)", out.stdout)
    assert tested and int(tested.group(1)) >= 30, out.stdout[-2000:]  # it reached every operation

"""docs/python-api.md's examples run as written (doctest), in an empty data folder."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

DOC = Path(__file__).parents[1] / "docs" / "python-api.md"


@pytest.mark.slow  # protects, scans and exports a real case: ~10 s idle
def test_python_api_doc_examples_run(_isolated_home):
    result = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 20
    assert result.failed == 0

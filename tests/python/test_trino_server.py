"""The Trino harness fails with one line naming its log when Trino cannot start or is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import trino_server
from trino_server import TrinoServer, TrinoUnavailable


def test_a_server_that_cannot_start_is_one_line_naming_the_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    try:
        trino_server.trino_home()
    except TrinoUnavailable as exc:
        pytest.skip(str(exc))
    java = tmp_path / "jdk" / "bin" / "java"  # a "Java" that refuses to run anything
    java.parent.mkdir(parents=True)
    java.write_text("#!/bin/sh\necho 'no Java here' >&2\nexit 3\n")
    java.chmod(0o755)
    monkeypatch.setenv("TRINO_JAVA_HOME", str(tmp_path / "jdk"))
    server = TrinoServer(tmp_path / "work", "http://127.0.0.1:9", "eu-west-1")
    (tmp_path / "work").mkdir()
    with pytest.raises(TrinoUnavailable) as raised:
        server.start()
    message = str(raised.value)
    assert "\n" not in message and str(server.log) in message
    assert "Trino 476" in message


def test_a_missing_install_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRINO_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(TrinoUnavailable, match=r"is not installed in .*nowhere: run make trino"):
        trino_server.trino_home()

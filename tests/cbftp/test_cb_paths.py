"""CBFS.validpath keeps the real path of account roots (and of the folder they lie in) per server and
looks only below the root: its answer must stay the one ``os.path.realpath`` gives, links included."""

from __future__ import annotations

import os

import pytest

from simulators.cbftp.ftp import CBFS


class _Handler:
    def __init__(self) -> None:
        self.real_roots: dict = {}


def _realpath_answer(root: str, path: str) -> bool:
    """pyftpdlib's own rule: the resolved path lies inside the resolved root."""
    real_root, real_path = os.path.realpath(root) + os.sep, os.path.realpath(path)
    return (real_path + os.sep).startswith(real_root)


@pytest.mark.parametrize("through_link", [False, True], ids=["real", "state-dir-via-link"])
def test_validpath_answers_as_realpath_does_with_links_below_the_root(tmp_path, through_link):
    real = tmp_path / "real"
    for relation in ("7000001", "7000002"):
        (real / "accounts" / relation / relation / "in").mkdir(parents=True)
    # A link inside in/ to another account's folder, and one to a file outside: both lead out.
    os.symlink(real / "accounts" / "7000002", real / "accounts" / "7000001" / "7000001" / "in" / "away")
    (tmp_path / "outside.txt").write_text("x")
    os.symlink(tmp_path / "outside.txt", real / "accounts" / "7000001" / "7000001" / "in" / "file.zip")
    base = real
    if through_link:
        base = tmp_path / "link"
        os.symlink(real, base)
    handler = _Handler()
    for relation in ("7000001", "7000002"):  # two accounts: the second root comes from the kept parent
        root = str(base / "accounts" / relation)
        fs = CBFS(root, handler)
        for tail in ("", f"/{relation}", f"/{relation}/in", f"/{relation}/in/new.zip", f"/{relation}/in/away",
                     f"/{relation}/in/away/x", f"/{relation}/in/file.zip", "/../7000002", "/.."):
            path = os.path.normpath(root + tail)
            for _ in range(2):  # the first answer fills the cache, the second uses it
                assert fs.validpath(path) == _realpath_answer(root, path), (root, tail)
    assert handler.real_roots[str(base / "accounts")] == str(real / "accounts") + os.sep

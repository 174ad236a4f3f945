"""`unleak mark --cluster`: copies made on Dask workers are the copies `unleak mark` makes, trace to
the same recipients, are never world-readable, and no task carries the case's key or a codeword."""

from __future__ import annotations

import grp
import json
import os
import pickle
import stat
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from unleak.cluster.mark import mark_on_cluster, prepare_out_dir
from unleak.errors import ConfigError
from unleak.samples import sample_images
from unleak.watermark import WatermarkKey, mark_file
from unleak.watermark.code import recipient_code


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]


class _RecordingCluster:
    """Stands in for a Cluster: runs tasks in threads, keeping each task's pickled arguments."""

    def __init__(self, resources: tuple[str, ...] = ("unleak-mark",)) -> None:
        self.sent: list[bytes] = []
        self.resources = resources
        self.asked: list[dict | None] = []

    def threads(self) -> int:
        return 2

    def has_resource(self, name: str) -> bool:
        return name in self.resources

    def executor(self, resources=None) -> Executor:
        self.asked.append(resources)
        sent = self.sent

        class _Ex(ThreadPoolExecutor):
            def map(self, fn, *iterables, **kw):  # type: ignore[override]
                args = list(zip(*iterables))
                sent.extend(pickle.dumps(a) for a in args)
                return super().map(fn, *zip(*args), **kw)

        return _Ex(2)


def _original(tmp_path: Path) -> Path:
    path = tmp_path / "shared" / "photo.jpg"
    path.parent.mkdir(mode=0o750)
    path.write_bytes(next(p for p in sample_images() if p.name == "china.jpg").read_bytes())
    return path


def test_cluster_copies_equal_local_copies_and_tasks_carry_no_secret(tmp_path):
    key = WatermarkKey.generate()
    original = _original(tmp_path)
    recipients = [(f"code-{i:02d}", f"person {i}") for i in range(5)]
    local = mark_file(original, tmp_path / "local", key, recipients)
    fake = _RecordingCluster()
    remote = mark_on_cluster(fake, original, tmp_path / "shared" / "out", key, recipients, batch=2)  # type: ignore[arg-type]
    assert [m.recipient for m in remote] == [label for _, label in recipients]
    for a, b in zip(local, remote):
        assert b.error is None and b.scheme == a.scheme
        assert Path(a.path).name == Path(b.path).name  # type: ignore[arg-type]
        assert Path(a.path).read_bytes() == Path(b.path).read_bytes()  # type: ignore[arg-type]
        assert stat.S_IMODE(os.stat(b.path).st_mode) == 0o640  # type: ignore[arg-type]
    assert len(fake.sent) == 3  # batches of 2
    codes = [recipient_code(key.secret, rid, key.params).tobytes() for rid, _ in recipients]
    for task in fake.sent:
        assert key.secret not in task
        assert not any(rid.encode() in task for rid, _ in recipients)  # the registry's code ids
        assert not any(c in task for c in codes)


def test_marking_runs_only_on_workers_trusted_to_mark(tmp_path):
    key = WatermarkKey.generate()
    original = _original(tmp_path)
    fake = _RecordingCluster()
    mark_on_cluster(fake, original, tmp_path / "shared" / "out", key, [("c1", "alice")])  # type: ignore[arg-type]
    assert fake.asked == [{"unleak-mark": 1}]
    untrusted = _RecordingCluster(resources=())
    with pytest.raises(ConfigError, match="trusted to mark"):
        mark_on_cluster(untrusted, original, tmp_path / "shared" / "out2", key, [("c1", "alice")])  # type: ignore[arg-type]
    assert untrusted.sent == []


def test_out_folder_open_to_everyone_is_refused(tmp_path):
    out = tmp_path / "open"
    out.mkdir()
    os.chmod(out, 0o755)
    with pytest.raises(ConfigError, match="open to everyone"):
        prepare_out_dir(out, None)
    fresh = tmp_path / "fresh" / "copies"
    prepare_out_dir(fresh, None)
    assert stat.S_IMODE(os.stat(fresh).st_mode) & 0o007 == 0
    group = grp.getgrgid(os.getgid()).gr_name  # the workers' group: they write, new files keep it
    shared = tmp_path / "shared-copies"
    prepare_out_dir(shared, group)
    st = os.stat(shared)
    assert stat.S_IMODE(st.st_mode) & 0o2077 == 0o2070 and st.st_gid == os.getgid()
    with pytest.raises(ConfigError, match="no group"):
        prepare_out_dir(tmp_path / "x", "no-such-group-unleak")


class _OtherMachine(_RecordingCluster):
    """A cluster whose workers see another file at the original's path (`before`), or whose
    copies end up where the client cannot see them (`after`)."""

    def __init__(self, before=None, after=None) -> None:
        super().__init__()
        self.before, self.after = before, after

    def executor(self, resources=None) -> Executor:
        outer = self

        class _Ex(ThreadPoolExecutor):
            def map(self, fn, *iterables, **kw):  # type: ignore[override]
                if outer.before:
                    outer.before()
                results = list(super().map(fn, *iterables, **kw))
                if outer.after:
                    outer.after(results)
                return iter(results)

        return _Ex(2)


def test_a_worker_refuses_an_original_that_is_not_the_clients(tmp_path):
    key = WatermarkKey.generate()
    original = _original(tmp_path)
    other = next(p for p in sample_images() if p.name != "china.jpg" and p.suffix == ".jpg")
    out = tmp_path / "shared" / "out"
    fake = _OtherMachine(before=lambda: original.write_bytes(other.read_bytes()))
    results = mark_on_cluster(fake, original, out, key, [("c1", "alice"), ("c2", "bob")])  # type: ignore[arg-type]
    assert [r.path for r in results] == [None, None]
    assert all("SHA-256" in (r.error or "") for r in results)
    assert list(out.iterdir()) == []


def test_a_copy_the_client_cannot_see_is_an_error(tmp_path):
    key = WatermarkKey.generate()
    original = _original(tmp_path)

    def on_the_worker_only(results):  # the worker's --out is its own disk, not shared storage
        for batch in results:
            for r in batch:
                os.unlink(r.path)

    fake = _OtherMachine(after=on_the_worker_only)
    results = mark_on_cluster(fake, original, tmp_path / "shared" / "out", key, [("c1", "alice")])  # type: ignore[arg-type]
    assert results[0].path is None and "not there on this machine" in (results[0].error or "")


def test_the_scheduler_variable_does_not_send_marking_to_a_cluster(cli, tmp_path, monkeypatch):
    # Marking shows workers much of the case's codes: only an explicit --cluster does it.
    monkeypatch.setenv("UNLEAK_DASK_SCHEDULER", "tcp://127.0.0.1:9")  # nothing listens there
    original = _original(tmp_path)
    assert cli("recipients", "add", "alice")[0] == 0
    code, out, err = cli("mark", original, "--out", tmp_path / "copies", "--json")
    (m,) = _lines(out)
    assert code == 0, err
    assert m["error"] is None and Path(m["path"]).is_file()


@pytest.mark.slow
def test_mark_on_a_local_cluster_traces_like_mark(cli, tmp_path):
    original = _original(tmp_path)
    for name in ("alice", "bob", "carol"):
        assert cli("recipients", "add", name)[0] == 0
    code, out, _ = cli("mark", original, "--out", tmp_path / "local", "--json")
    local = _lines(out)
    assert code == 0
    code, out, err = cli("mark", original, "--out", tmp_path / "shared" / "out", "--cluster", "local:2", "--json")
    remote = _lines(out)
    assert code == 0, err
    assert [m["recipient"] for m in remote] == ["alice", "bob", "carol"]
    assert [set(m) for m in remote] == [set(m) for m in local]
    for a, b in zip(local, remote):
        assert Path(a["path"]).read_bytes() == Path(b["path"]).read_bytes()
    bob = Path(next(m["path"] for m in remote if m["recipient"] == "bob"))
    assert stat.S_IMODE(os.stat(bob).st_mode) == 0o640
    im = Image.open(bob)
    w, h = im.size
    leaked = tmp_path / "leaked.jpg"
    im.crop((w // 10, h // 10, w - w // 10, h - h // 10)).save(leaked, quality=75)
    code, out, _ = cli("trace", leaked, "--json")
    (r,) = _lines(out)
    assert code == 0 and [a["recipient"] for a in r["accused"]] == ["bob"]

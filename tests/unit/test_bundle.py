"""``ketch._bundle``: modules served from one compiled file, never stale, same tracebacks."""

import os
import subprocess
import sys
from pathlib import Path

from ketch import _bundle

SRC = Path(_bundle.__file__).resolve().parent.parent


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "src" / "demo"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("VALUE = 'package'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "leaf.py").write_text("from demo import VALUE\n\ndef boom():\n    raise ValueError(VALUE)\n")
    (pkg / "notes").mkdir()
    (pkg / "notes" / "x.py").write_text("raise SystemExit('not a package: never bundled')\n")
    return pkg


def _run(tmp_path: Path, bundle: Path, code: str) -> str:
    script = (
        "import sys\n"
        f"sys.path[:0] = [{str(tmp_path / 'src')!r}, {str(SRC)!r}]\n"
        "from ketch._bundle import install\n"
        f"print('installed', install({str(bundle)!r}))\n" + code
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_modules_come_from_the_bundle_with_their_files_and_tracebacks(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    bundle = tmp_path / "demo.bundle"
    assert _bundle.build(str(pkg), str(bundle)) == 3  # demo, demo.sub, demo.sub.leaf
    out = _run(tmp_path, bundle, (
        "import traceback\n"
        "from demo.sub import leaf\n"
        "print(type(leaf.__loader__).__name__, leaf.__file__)\n"
        "try:\n    leaf.boom()\nexcept ValueError:\n    print(traceback.format_exc().splitlines()[-2].strip())\n"
    ))
    lines = out.splitlines()
    assert lines[0] == "installed True"
    assert lines[1] == f"BundleFinder {pkg / 'sub' / 'leaf.py'}"
    assert lines[2] == "raise ValueError(VALUE)"  # the source line: tracebacks read the real file


def test_imports_survive_a_process_closing_every_fd(tmp_path: Path) -> None:
    # the engine's monitor closes every fd it does not know: the bundle keeps none
    pkg = _package(tmp_path)
    bundle = tmp_path / "demo.bundle"
    _bundle.build(str(pkg), str(bundle))
    out = _run(tmp_path, bundle, "import os\nos.closerange(3, 65536)\n"
               "from demo.sub import leaf\nprint(type(leaf.__loader__).__name__)\n")
    assert out.splitlines()[1:] == ["BundleFinder"]


def test_an_edited_module_is_imported_from_its_source(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    bundle = tmp_path / "demo.bundle"
    _bundle.build(str(pkg), str(bundle))
    (pkg / "__init__.py").write_text("VALUE = 'edited after the bundle was written'\n")
    out = _run(tmp_path, bundle, "import demo, demo.sub\n"
               "print(type(demo.__loader__).__name__, demo.VALUE)\n"
               "print(type(demo.sub.__loader__).__name__)\n")
    assert out.splitlines()[1:] == ["SourceFileLoader edited after the bundle was written", "BundleFinder"]


def test_a_bundle_of_another_python_or_a_broken_file_is_ignored(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    bundle = tmp_path / "demo.bundle"
    _bundle.build(str(pkg), str(bundle))
    data = bundle.read_bytes()
    magic = _bundle._magic()
    bundle.write_bytes(data.replace(magic, bytes([magic[0] ^ 0xFF]) + magic[1:], 1))
    assert _run(tmp_path, bundle, "import demo\n").splitlines() == ["installed False"]
    bundle.write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00junk")
    assert _run(tmp_path, bundle, "import demo\n").splitlines() == ["installed False"]
    assert _run(tmp_path, tmp_path / "missing", "import demo\n").splitlines() == ["installed False"]


def test_a_failed_build_leaves_no_file(tmp_path: Path) -> None:
    pkg = _package(tmp_path)
    (pkg / "broken.py").write_text("def (:\n")
    bundle = tmp_path / "demo.bundle"
    try:
        _bundle.build(str(pkg), str(bundle))
    except SyntaxError:
        pass
    else:
        raise AssertionError("a module that does not compile must fail the build")
    assert list(tmp_path.iterdir()) == [tmp_path / "src"]

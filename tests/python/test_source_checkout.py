"""The README's Python example where the README has the user stand: at the root of
the clone, after `pip install .`."""
import os
import subprocess
import sys
from pathlib import Path

README_EXAMPLE = """
import pyibert
import pyibert._native

model = pyibert.Model("models/minilm-sst2.ibert", threads=None)
print(pyibert.__file__)
print(pyibert._native.library_path)
print(" ".join(result["label"] for result in model.classify(["a gripping film", "a dull mess"])))
"""


def test_readme_example_runs_at_the_root_of_the_clone(repo_root):
    # what a shell at the clone's root has: no variable that moves the import or the library
    env = {name: value for name, value in os.environ.items()
           if name not in ("PYTHONSAFEPATH", "PYTHONPATH", "PYIBERT_LIBRARY")}
    result = subprocess.run([sys.executable, "-c", README_EXAMPLE], cwd=repo_root, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    package_file, library, labels = result.stdout.splitlines()
    # the clone's own pyibert/ was imported (the case this is about) ...
    assert Path(package_file) == repo_root / "pyibert" / "__init__.py"
    # ... and the library came from the installed distribution, not from the clone
    assert Path(library).parent != repo_root / "pyibert" and Path(library).is_file()
    assert labels == "positive negative"

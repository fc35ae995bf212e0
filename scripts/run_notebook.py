"""Run ``notebooks/quickstart.ipynb`` top to bottom and store it with its outputs.

    python scripts/run_notebook.py      # after a model in models/ changed (make notebook)

The stored outputs are what a reader sees on a code host without running anything, so they
must come from the shipped models of this commit.
"""

from pathlib import Path

import nbclient
import nbformat

NB = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"

if __name__ == "__main__":
    nb = nbformat.read(NB, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(NB.parent)}}).execute()
    for cell in nb.cells:  # run timestamps would make every run a diff
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, NB)
    print(f"ran and saved {NB}")

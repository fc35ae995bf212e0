"""The quickstart notebook runs top to bottom (every cell must succeed)."""

import pytest

from conftest import REPO

NB = REPO / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_executes():
    nbformat = pytest.importorskip("nbformat", reason="the dev extra installs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="the dev extra installs nbclient")
    nb = nbformat.read(NB, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(NB.parent)}})
    client.execute()  # raises CellExecutionError naming the failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "vi_sovereignty_foreign.txt" in text and "accuracy" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)

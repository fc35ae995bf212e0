# topicclf developer commands. `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# torch is pinned and installed first: an unpinned torch pulls a multi-GB CUDA build.
TORCH := torch==2.13.0
export HF_HUB_OFFLINE=1
export HF_DATASETS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false

.PHONY: demo test notebook fuzz bench-vntc bench-score bench-e5-vntc models clean

# the C extensions are built by the editable install: rebuild when their sources change
$(VENV)/.base: pyproject.toml setup.py $(wildcard src/topicclf/*.c)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.dev: $(VENV)/.base
	$(PIP) install -q $(TORCH) -e '.[dev,e5,transformers,ray]'
	touch $@

demo: $(VENV)/.base
	$(VENV)/bin/topicclf classify examples/*.txt examples/*.html

test: $(VENV)/.dev
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PY) -m pytest -q

notebook: $(VENV)/.dev
	$(PY) scripts/run_notebook.py

fuzz: $(VENV)/.dev
	TOPICCLF_FUZZ=1 OMP_NUM_THREADS=1 $(PY) -m pytest -q tests/test_text.py tests/test_text_fast.py tests/test_tokenize.py tests/test_lang.py tests/test_lang_fast.py tests/test_features.py tests/test_properties_model.py

bench-vntc: $(VENV)/.dev
	$(PY) benchmarks/vntc.py

bench-score: $(VENV)/.dev
	$(PY) benchmarks/score.py

bench-e5-vntc: $(VENV)/.dev
	$(PY) benchmarks/vntc_e5_full.py

models: $(VENV)/.dev
	$(PY) scripts/train_vntc10.py
	$(PY) scripts/train_policy5.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache src/topicclf/*.so

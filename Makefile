VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all bench clean

install: $(STAMP)

# The stamp depends on the dependency files, so a second run reinstalls nothing.
$(STAMP): pyproject.toml requirements-torch.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-torch.txt
	$(PY) -m pip install -q -c requirements-torch.txt -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/actionlab demo

test: $(STAMP)
	$(PY) -m pytest -q

test-all: $(STAMP)
	$(PY) -m pytest -q -m ""

bench: $(STAMP)
	for b in decode decode_choices synth extract train_step train_data; do $(PY) benchmarks/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) runs

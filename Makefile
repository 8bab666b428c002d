VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# CPU-only machine: make install TORCH_INDEX=https://download.pytorch.org/whl/cpu (a ~200 MB torch, not ~6 GB)
TORCH_INDEX ?=

.PHONY: install demo test test-all lint browser bench lock clean

install: $(STAMP)

# The stamp depends on the dependency files, so a second run reinstalls nothing. requirements-torch.txt goes
# first (an unpinned torch pulls a multi-GB download); requirements-lock.txt pins everything else (-c: it
# constrains versions, installs nothing by itself).
$(STAMP): pyproject.toml requirements-torch.txt requirements-lock.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-torch.txt $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(PY) -m pip install -q -c requirements-lock.txt -e ".[all,dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/actionlab demo

test: $(STAMP) browser
	$(PY) -m pytest -q
	$(MAKE) lint

test-all: $(STAMP) browser
	$(PY) -m pytest -q -m ""

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# Browser tests drive Debian's chromium (playwright's own browser needs a download). Installed when we can
# (root, apt-get, no /usr/bin/chromium); a failure is not fatal: those tests skip.
browser:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "make: could not install chromium; the browser tests will skip"; \
	fi

bench: $(STAMP)
# benchmarks/cuda_check.py (gpu_check.sh) and ddp_accuracy.py are left out: the first is for a lent GPU (`--quick`
# checks it on a CPU), the second measures accuracy, not speed, and takes ~20 minutes here.
	for b in decode decode_choices synth extract train_step train_data batch_transport augment cli_start cli_exit ray_extract timeline export explain report_tsne; do \
		$(PY) benchmarks/$$b.py || exit 1; done

# Rewrite the lock from the current .venv (after a deliberate upgrade; review the diff).
lock: $(STAMP)
	{ head -2 requirements-lock.txt; $(PY) -m pip freeze --exclude-editable | grep -v '^actionlab'; } > requirements-lock.txt.new
	mv requirements-lock.txt.new requirements-lock.txt

clean:
	rm -rf $(VENV) runs

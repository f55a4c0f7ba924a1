# The two entry points of the README: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup system-deps test-deps demo test

$(BIN)/nianbao: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

system-deps:
	bash scripts/system-deps.sh

# chromium and chromedriver for the review app's browser test
test-deps:
	bash scripts/test-deps.sh

setup: system-deps $(BIN)/nianbao

# The main job on the bundled reports (the real seeds; synthetic cases in every format,
# scanned, and with tables pasted as pictures), no configuration: extract, check, flag,
# then score against the gold labels.
demo: setup
	$(BIN)/nianbao extract eval/seeds eval/cases eval/scans eval/pictables --out out/eval
	$(BIN)/nianbao eval --gold eval/gold eval/cases/gold eval/scans/gold eval/pictables/gold --pred out/eval

test: setup test-deps
	$(BIN)/pytest

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

# chromium and chromedriver for the review app's browser test; the CJK fonts the layout and
# page-break tests draw reports in (without them those tests skip, on a fresh machine too)
test-deps:
	bash scripts/test-deps.sh
	bash scripts/synth-deps.sh

setup: system-deps $(BIN)/nianbao

# The main job on the bundled reports (the real seeds; synthetic cases in every format, in
# the template variants real reports keep, scanned, and with tables pasted as pictures), no
# configuration: extract, check, flag, then score against the gold labels. eval/unseen, the
# held-out scans no change is tuned on, is scored on its own line: each eval ignores the
# predictions the other's gold lacks.
demo: setup
	$(BIN)/nianbao extract eval/seeds eval/cases eval/variants eval/scans eval/pictables eval/unseen --out out/eval
	$(BIN)/nianbao eval --gold eval/gold eval/cases/gold eval/variants/gold eval/scans/gold eval/pictables/gold --pred out/eval
	@echo "eval/unseen (held-out scans: other fonts, layout programs and scan styles):"
	$(BIN)/nianbao eval --gold eval/unseen/gold --pred out/eval

test: setup test-deps
	$(BIN)/pytest

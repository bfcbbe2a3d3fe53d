# Local one-host workflow; see deploy/local/*.sh.
PY := .venv/bin/python

.PHONY: run demo stop test check unit bench load soak audit-bench catalogue import clean

run:            ## set up everything, start the four services and wait until they are ready
	bash deploy/local/run.sh

demo:           ## walk one application through a demo system of its own (talent_demo_* databases)
	bash deploy/local/demo.sh

stop:           ## stop the four services, and a demo kept running (PostgreSQL and RabbitMQ keep running)
	bash deploy/local/stop.sh

test:           ## full test suite (unit, integration, e2e, faults)
	bash deploy/local/test.sh

check:          ## static checks: ruff (lint, format) and mypy (strict on the domain and the store)
	bash deploy/local/check.sh

unit:           ## unit tests only: no PostgreSQL/RabbitMQ needed
	bash deploy/local/venv.sh
	bash deploy/local/tools.sh
	$(PY) -m pytest tests/unit -q

bench:          ## event store and relay benchmarks
	bash deploy/local/venv.sh
	bash deploy/local/infra.sh
	. var/env.sh && $(PY) bench/eventstore.py && $(PY) bench/relay.py

load:           ## 60 s of applications and reviews over HTTP at 200/s (the target), open loop
	bash deploy/local/venv.sh
	bash deploy/local/infra.sh
	. var/env.sh && $(PY) bench/load.py --rate 200

soak:           ## 30 minutes at 100 commands/s, a consumer, a broker node and database connections killed on the way
	bash deploy/local/venv.sh
	bash deploy/local/infra.sh
	. var/env.sh && $(PY) bench/soak.py

audit-bench:    ## talent-audit verify/history/replay on a generated 1,000,000-event history
	bash deploy/local/venv.sh
	bash deploy/local/infra.sh
	. var/env.sh && $(PY) bench/audit.py

catalogue:      ## regenerate the message contract catalogue
	bash deploy/local/venv.sh
	$(PY) -m shared.contracts.catalogue --write

import:         ## take in the bureau's records: make import FILE=history.xlsx BY="name" (services running)
	@test -n "$(FILE)" -a -n "$(BY)" || { echo 'usage: make import FILE=history.xlsx BY="who imports it"'; exit 1; }
	bash deploy/local/venv.sh
	.venv/bin/talent-import "$(FILE)" --by "$(BY)"

clean:          ## stop the services and remove var/ (pids, logs, env.sh)
	bash deploy/local/stop.sh
	rm -rf var

.PHONY: run test bench check outage

run:  ## start the trust center on SQLite with seed content and demo accounts
	scripts/run

test:  ## run the whole test suite (PostgreSQL and SQLite)
	scripts/test

bench:  ## run the benchmarks and print their figures
	scripts/bootstrap requirements-dev.txt
	.venv/bin/python bench/run.py
	BENCH_POSTGRES_URL=$${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/trustcenter} .venv/bin/python bench/public_wrk.py
	DATABASE_URL=$${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/trustcenter} .venv/bin/python bench/audit_log.py $${BENCH_ROWS:-100000}
	DATABASE_URL=$${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/trustcenter} .venv/bin/python bench/verify_chain.py $${BENCH_LINKS:-1000000}
	DATABASE_URL=$${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/trustcenter} .venv/bin/python bench/staff_pages.py $${BENCH_TICKETS:-100000} $${BENCH_LINKS:-1000000}

outage:  ## restart a throwaway PostgreSQL under 32 clients submitting DPA requests; print and check the figures
	scripts/bootstrap requirements-dev.txt
	.venv/bin/python bench/outage.py $${OUTAGE_ARGS:-}

# soak.mk - `make soak`: the daemon under a timed wrk load on loopback
# (tests/soak/soak.sh), then a slowloris and an overload scenario; fails on any
# unexpected answer, or an RSS slope that would add over 5 % in 30 minutes.
# A fragment the top-level Makefile includes; uses its BUILD.
SOAK_SECONDS     ?= 300
SOAK_WARMUP      ?= 30
SOAK_CONNECTIONS ?= 16

soak: deps all
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_WARMUP=$(SOAK_WARMUP) SOAK_CONNECTIONS=$(SOAK_CONNECTIONS) \
	  tests/soak/soak.sh $(BUILD)

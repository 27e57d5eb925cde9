# ublk/: the tiered ublk device (server core, page table, store, tiers).
SRC_ztublk := $(filter-out ublk/main.c,$(wildcard ublk/*.c))
PROGS += $(O)/bin/ztier-ublk
$(O)/bin/ztier-ublk: $(O)/ublk/main.o

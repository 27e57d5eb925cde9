# ublk/: the tiered ublk device (server core, page table, store, tiers).
# The program (main.c, cli_*.c: options and presentation) is not library.
SRC_ztublk := $(filter-out ublk/main.c ublk/cli_%.c,$(wildcard ublk/*.c))
PROGS += $(O)/bin/ztier-ublk
$(O)/bin/ztier-ublk: $(O)/ublk/main.o $(O)/ublk/cli_list.o
MAN8 += ublk/ztier-ublk.8

# manager/: ztierctl (and later ztierd).  ztierctl is a table of subcommands
# in manager/ztierctl.c, each implemented in one manager/cli_*.c file.
ZTIERCTL_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard manager/ztierctl.c manager/cli*.c))
PROGS += $(O)/bin/ztierctl
$(O)/bin/ztierctl: $(ZTIERCTL_OBJS)

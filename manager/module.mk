# manager/: ztierctl and ztierd.  ztierctl is a table of subcommands in
# manager/ztierctl.c, each implemented in one manager/cli_*.c file.
# `config check` runs ztierd's own loading code: those daemon_*.c link in too.
ZTIERCTL_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard manager/ztierctl.c manager/cli*.c) \
		 $(addprefix manager/daemon_,log.c ztierconf.c dropin.c load.c plan.c maint_live.c))
PROGS += $(O)/bin/ztierctl
$(O)/bin/ztierctl: $(ZTIERCTL_OBJS)

# ztierd: the daemon (manager/ztierd.c + manager/daemon_*.c), its units, udev
# rules, shipped ztier.conf and man pages.  Owner of these lines: manager.
ZTIERD_OBJS := $(patsubst %.c,$(O)/%.o,manager/ztierd.c $(wildcard manager/daemon_*.c))
PROGS += $(O)/bin/ztierd
$(O)/bin/ztierd: $(ZTIERD_OBJS)
MAN8 += manager/man/ztierd.8 manager/man/ztierctl.8
MAN5 += manager/man/ztier.conf.5
ZT_UNITS := $(notdir $(wildcard manager/systemd/*.service))
# One shell line (the top Makefile runs $(INSTALL_EXTRA) as one recipe line).
INSTALL_EXTRA += \
	install -D -m 0644 udev/60-ztier.rules $(DESTDIR)$(UDEVRULESDIR)/60-ztier.rules && \
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) && \
	for u in $(ZT_UNITS); do \
	  sed 's|@bindir@|$(BINDIR)|g' manager/systemd/$$u >$(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done && \
	install -D -m 0644 manager/ztier.conf $(DESTDIR)$(DATADIR)/ztier/ztier.conf
UNINSTALL_EXTRA += $(UDEVRULESDIR)/60-ztier.rules $(addprefix $(SYSTEMDUNITDIR)/,$(ZT_UNITS)) \
	$(DATADIR)/ztier/ztier.conf

# manager/: ztierctl and ztierd.  ztierctl is a table of subcommands in
# manager/ztierctl.c, each implemented in one manager/cli_*.c file.
# `config check` runs ztierd's own loading code: those daemon_*.c link in too.
ZTIERCTL_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard manager/ztierctl.c manager/cli*.c) \
		 $(addprefix manager/daemon_,log.c ztierconf.c dropin.c load.c plan.c))
PROGS += $(O)/bin/ztierctl
$(O)/bin/ztierctl: $(ZTIERCTL_OBJS)

# ztierd: the daemon (manager/ztierd.c + manager/daemon_*.c), its units, udev
# rules, shipped ztier.conf and man pages.  Owner of these lines: manager.
ZTIERD_OBJS := $(patsubst %.c,$(O)/%.o,manager/ztierd.c $(wildcard manager/daemon_*.c))
PROGS += $(O)/bin/ztierd
$(O)/bin/ztierd: $(ZTIERD_OBJS)
MAN8 += manager/man/ztierd.8 manager/man/ztierctl.8
MAN5 += manager/man/ztier.conf.5
ZT_LIBDIR := $(if $(filter /usr,$(PREFIX)),/usr/lib,$(PREFIX)/lib)
# One shell line (the top Makefile runs $(INSTALL_EXTRA) as one recipe line).
INSTALL_EXTRA += \
	install -D -m 0644 udev/60-ztier.rules $(DESTDIR)$(ZT_LIBDIR)/udev/rules.d/60-ztier.rules && \
	install -d $(DESTDIR)$(ZT_LIBDIR)/systemd/system && \
	for u in manager/systemd/*.service; do \
	  sed 's|@bindir@|$(PREFIX)/bin|g' $$u >$(DESTDIR)$(ZT_LIBDIR)/systemd/system/$${u\#\#*/} || exit 1; \
	done && \
	install -D -m 0644 manager/ztier.conf $(DESTDIR)$(PREFIX)/share/ztier/ztier.conf

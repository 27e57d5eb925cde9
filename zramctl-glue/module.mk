# zramctl-glue/: zram sysfs and libkmod.
SRC_ztzram := $(wildcard zramctl-glue/*.c)

# zramctl-glue/: zram sysfs and libkmod.
SRC_ztzramctl-glue := $(wildcard zramctl-glue/*.c)

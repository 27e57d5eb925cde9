# manager/: ztierctl and ztierd.

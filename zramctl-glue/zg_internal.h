/*
 * zg_internal.h — helpers shared by the zramctl-glue sources (not public).
 *
 * Every sysfs access goes through zg_read_attr()/zg_write_attr() so that a
 * failure is recorded in dev->err in one place: the attribute, the value
 * written and the errno, which zg_strerror() turns into one line.
 */
#ifndef ZT_ZG_INTERNAL_H
#define ZT_ZG_INTERNAL_H

#include "zramctl-glue/zramctl_glue.h"

#define ZG_SYS_BLOCK   "/sys/block"
#define ZG_SYS_CONTROL "/sys/class/zram-control"
#define ZG_ATTR_BUF    4096   /* one sysfs page */

/* Plain file access; negative errno.  read NUL-terminates. */
int zg_file_read(const char *path, char *buf, size_t len);
int zg_file_write(const char *path, const char *value);

/* /sys/block/zramN/attr into buf; -ENAMETOOLONG if it does not fit. */
int zg_attr_path(char *buf, size_t len, int id, const char *attr);

/* True when /sys/block/zramN/attr exists. */
bool zg_has_attr(const struct zg_dev *dev, const char *attr);

/* Attribute access that records failures in dev->err. */
int zg_read_attr(struct zg_dev *dev, const char *attr, char *buf, size_t len);
int zg_write_attr(struct zg_dev *dev, const char *attr, const char *value);
int zg_write_u64(struct zg_dev *dev, const char *attr, uint64_t v);

/* zram-control access, recorded in dev->err under id (-1: the class). */
int zg_ctl_read(struct zg_dev *dev, int id, const char *attr, char *buf, size_t len);
int zg_ctl_write(struct zg_dev *dev, int id, const char *attr, const char *value);

/* Record a failure; returns err so callers can `return zg_fail(...)`. */
int zg_fail(struct zg_dev *dev, int id, const char *attr, const char *value, int err);
void zg_hint(struct zg_dev *dev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void zg_clear_err(struct zg_dev *dev);

/* Parse one comp_algorithm listing ("lzo [lz4] zstd") (features.c; the
 * parser tests call it directly). */
int zg_parse_algorithms(const char *text, struct zg_algorithms *out);

/* The name this kernel gives compressed writeback (it was renamed), or
 * NULL where zramN lacks it (features.c). */
const char *zg_compressed_wb_attr(struct zg_dev *dev);

/* Monotonic milliseconds, and a sleep of ms milliseconds. */
long long zg_now_ms(void);
void zg_sleep_ms(int ms);

#endif

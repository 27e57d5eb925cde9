/*
 * fz_config.c — libFuzzer harness: a server's saved config
 * (ublk/config_text.c), the file a recovery or a newer ztier-ublk reads.
 * What loads must save and load back to the same config and the same
 * identity; a refusal must say why.
 */
#include <fcntl.h>

#include "tests/fuzz/fuzz.h"
#include "ublk/ztublk.h"

static int load(const char *path, struct ztu_config *cfg, char *msg, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		abort();
	ret = ztu_config_load(fd, path, cfg, msg, len);
	close(fd);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ztu_config a, b;
	static char again[64 << 10];
	char msg[ZTU_MSG_MAX] = "";
	const char *path = fz_file("config", data, size);
	ssize_t n;
	int fd;

	if (load(path, &a, msg, sizeof(msg))) {
		if (!msg[0])
			abort();
		return 0;
	}
	fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
	if (fd < 0 || ztu_config_save(fd, &a) || lseek(fd, 0, SEEK_SET) != 0 ||
	    (n = read(fd, again, sizeof(again))) <= 0)
		abort();
	close(fd);
	if (load(path, &b, msg, sizeof(msg)) || memcmp(&a, &b, sizeof(a)) ||
	    ztu_config_id(&a) != ztu_config_id(&b))
		abort();
	return 0;
}

/*
 * fz_state.h — fz_state's input format: a state file in sparse form.
 *
 *   byte 0    flags: bit 0 reseal: the header's checksum is recomputed
 *             after the runs are laid down (a mutated header then reaches
 *             the layout and geometry checks, not only the checksum's)
 *   byte 1    the file's size in pages more (or less: signed) than the
 *             header's total_bytes says (truncated or grown files)
 *   then runs to the end: offset (u32, little-endian), length (u16), and
 *             that many bytes (fewer if the input ends)
 * The file is zeros but for the runs; its size is the header's total
 * (or, past FZ_MAX_FILE, the end of the last run) plus the delta, at most
 * FZ_MAX_FILE.  Runs past the size are cut.
 */

#define FZ_MAX_FILE  (UINT64_C(8) << 20)
#define FZ_RESEAL    1u
#define FZ_RUN_HDR   6u

struct fz_run {
	uint32_t off;
	uint16_t len;
	const uint8_t *bytes;
};

/* The next run at *pos, or false at the end of the input. */
static bool fz_next_run(const uint8_t *data, size_t size, size_t *pos, struct fz_run *r)
{
	const uint8_t *p = data + *pos;

	if (*pos + FZ_RUN_HDR > size)
		return false;
	r->off = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		 (uint32_t)p[3] << 24;
	r->len = (uint16_t)(p[4] | p[5] << 8);
	if (r->len > size - *pos - FZ_RUN_HDR)
		r->len = (uint16_t)(size - *pos - FZ_RUN_HDR);
	r->bytes = p + FZ_RUN_HDR;
	*pos += FZ_RUN_HDR + r->len;
	return true;
}

/* The part of a run inside [0, end) copied to dst (of end bytes). */
static void fz_clip_copy(uint8_t *dst, uint64_t end, const struct fz_run *r)
{
	if (r->off < end)
		memcpy(dst + r->off, r->bytes, (size_t)(r->len < end - r->off ? r->len : end - r->off));
}

static uint64_t fz_file_size(const uint8_t *data, size_t size, const struct zu_state_hdr *h)
{
	int64_t bytes = (int64_t)h->total_bytes, delta = (int8_t)data[1];
	struct fz_run r;
	size_t pos = 2;

	if (h->total_bytes > FZ_MAX_FILE)
		for (bytes = 0; fz_next_run(data, size, &pos, &r);)
			bytes = r.off + r.len > bytes ? r.off + r.len : bytes;
	bytes += delta * 4096;
	return bytes < 0 ? 0 : bytes > (int64_t)FZ_MAX_FILE ? FZ_MAX_FILE : (uint64_t)bytes;
}

/* Write the input's file into fd; *h is its header as laid down.  -1 for
 * an input too short to say anything. */
static int fz_lay_down(int fd, const uint8_t *data, size_t size, struct zu_state_hdr *h)
{
	static uint8_t hdr[HDR_BYTES];
	uint64_t bytes;
	struct fz_run r;
	size_t pos = 2;

	if (size < 2)
		return -1;
	memset(hdr, 0, sizeof(hdr));
	while (fz_next_run(data, size, &pos, &r))
		fz_clip_copy(hdr, sizeof(hdr), &r);
	memcpy(h, hdr, sizeof(*h));
	if (data[0] & FZ_RESEAL) {
		h->csum = hdr_sum(h);
		memcpy(hdr, h, sizeof(*h));
	}
	bytes = fz_file_size(data, size, h);
	if (ftruncate(fd, 0) || ftruncate(fd, (off_t)bytes))
		abort();
	for (pos = 2; fz_next_run(data, size, &pos, &r);) {
		size_t n = r.off < bytes ? (size_t)(r.len < bytes - r.off ? r.len : bytes - r.off) : 0;

		if (n && r.off >= HDR_BYTES && pwrite(fd, r.bytes, n, r.off) != (ssize_t)n)
			abort();
		if (n && r.off < HDR_BYTES && r.off + n > HDR_BYTES &&
		    pwrite(fd, r.bytes + (HDR_BYTES - r.off), n - (HDR_BYTES - r.off),
			   HDR_BYTES) != (ssize_t)(n - (HDR_BYTES - r.off)))
			abort();
	}
	bytes = bytes < HDR_BYTES ? bytes : HDR_BYTES;
	if (pwrite(fd, hdr, (size_t)bytes, 0) != (ssize_t)bytes)
		abort();
	return 0;
}

/* The whole file (at most FZ_MAX_FILE) into buf, for "a refused attach
 * changed nothing": static buffers, since fresh big ones cost page faults
 * on every run. */
static size_t fz_snapshot(int fd, uint8_t *buf)
{
	struct stat sb;

	if (fstat(fd, &sb) || (uint64_t)sb.st_size > FZ_MAX_FILE ||
	    pread(fd, buf, (size_t)sb.st_size, 0) != (ssize_t)sb.st_size)
		abort();
	return (size_t)sb.st_size;
}

/* The seed writer's side: a file as runs of its non-zero bytes (zero gaps
 * under FZ_GAP bytes stay inside a run). */
#define FZ_GAP 16u

static size_t fz_encode(const uint8_t *img, size_t len, uint8_t flags, uint8_t *out,
			size_t cap)
{
	size_t n = 2, i = 0;

	out[0] = flags;
	out[1] = 0;
	while (i < len) {
		size_t start, end, zeros = 0;

		while (i < len && !img[i])
			i++;
		if (i == len)
			break;
		for (start = end = i; i < len && end - start < 0xffff - FZ_GAP && zeros < FZ_GAP; i++)
			if (img[i]) {
				end = i + 1;
				zeros = 0;
			} else {
				zeros++;
			}
		if (n + FZ_RUN_HDR + (end - start) > cap)
			return 0;
		out[n] = (uint8_t)start, out[n + 1] = (uint8_t)(start >> 8);
		out[n + 2] = (uint8_t)(start >> 16), out[n + 3] = (uint8_t)(start >> 24);
		out[n + 4] = (uint8_t)(end - start), out[n + 5] = (uint8_t)((end - start) >> 8);
		memcpy(out + n + FZ_RUN_HDR, img + start, end - start);
		n += FZ_RUN_HDR + (end - start);
		i = end;
	}
	return n;
}

/*
 * cli_list.c — `ztier-ublk list [--json]`: the program's presentation.
 *
 * The kernel's view of each device (GET_DEV_INFO: queues, depth, state,
 * server pid, flags) in kublk's two-line format, then the device's sections
 * (ztu_dev_sections: the core's figures, then its target's, such as the
 * zram tier's kernel mm_stat).  A device whose server is gone shows only
 * the kernel lines.  One loop renders a section as a text line
 * "\tNAME key value ..." or as a JSON member "NAME":{"key":value,...}, so
 * each figure is named once and both outputs show the same ones.
 */
#include <stdio.h>
#include <string.h>

#include "policy/common/common.h"
#include "ublk/cli_list.h"

#define MAX_DEVS 256

/* Text fields (a policy name from a file name) may hold control bytes:
 * escaped for the terminal here, as JSON strings in field_json. */
static void field_text(FILE *o, const struct ztu_field *f)
{
	char safe[4 * sizeof(f->text)];

	switch (f->type) {
	case ZTU_F_LABEL:
		fprintf(o, " %s", zt_printable(safe, sizeof(safe), f->text, ""));
		break;
	case ZTU_F_TEXT:
		fprintf(o, " %s %s", f->key, zt_printable(safe, sizeof(safe), f->text, ""));
		break;
	case ZTU_F_NUM:   fprintf(o, " %s %lld", f->key, (long long)f->num); break;
	case ZTU_F_PAIR:  fprintf(o, " %s %lld/%lld", f->key, (long long)f->num,
				  (long long)f->num2); break;
	case ZTU_F_RATIO: fprintf(o, " %s %.2f", f->key, f->ratio); break;
	}
}

static void field_json(FILE *o, const struct ztu_field *f)
{
	fprintf(o, "\"%s", f->key);
	switch (f->type) {
	case ZTU_F_LABEL:
	case ZTU_F_TEXT:  fputs("\":", o); zt_json_string(o, f->text); break;
	case ZTU_F_NUM:   fprintf(o, "\":%lld", (long long)f->num); break;
	case ZTU_F_PAIR:  fprintf(o, "_used\":%lld,\"%s_total\":%lld", (long long)f->num,
				  f->key, (long long)f->num2); break;
	case ZTU_F_RATIO: fprintf(o, "\":%.2f", f->ratio); break;
	}
}

void ztu_cli_section(FILE *o, const struct ztu_section *s, bool json)
{
	fprintf(o, json ? ",\"%s\":{" : "\t%s", s->name);
	for (unsigned i = 0; i < s->n; i++) {
		if (json && i)
			fputc(',', o);
		(json ? field_json : field_text)(o, &s->f[i]);
	}
	fputs(json ? "}" : "\n", o);
}

static void info_text(FILE *o, const struct ztu_dev_info *i)
{
	fprintf(o, "dev id %d: nr_hw_queues %u queue_depth %u block size 512 dev_capacity %llu\n",
		i->dev_id, i->queues, i->depth, (unsigned long long)(i->size >> 9));
	fprintf(o, "\tmax rq size %u daemon pid %d flags 0x%llx state %s\n",
		i->max_io_buf_bytes, i->pid, (unsigned long long)i->flags,
		ztu_state_name(i->state));
}

static void info_json(FILE *o, const struct ztu_dev_info *i)
{
	fprintf(o, "{\"id\":%d,\"node\":\"/dev/ublkb%d\",\"state\":\"%s\",\"pid\":%d,"
		"\"queues\":%u,\"depth\":%u,\"max_io_buf_bytes\":%u,\"flags\":%llu,"
		"\"capacity\":%llu", i->dev_id, i->dev_id, ztu_state_name(i->state), i->pid,
		i->queues, i->depth, i->max_io_buf_bytes, (unsigned long long)i->flags,
		(unsigned long long)i->size);
}

static void device_print(FILE *o, const struct ztu_dev_info *i, bool json)
{
	static struct ztu_section sec[ZTU_SECTIONS_MAX];
	int n = ztu_dev_sections(i->dev_id, sec, ZTU_SECTIONS_MAX);

	(json ? info_json : info_text)(o, i);
	for (int k = 0; k < n; k++)
		ztu_cli_section(o, &sec[k], json);
	if (json)
		fputs("}", o);
}

int ztu_cli_list(FILE *o, bool json)
{
	int ids[MAX_DEVS], n = ztu_dev_list(ids, MAX_DEVS), shown = 0;

	if (n < 0)
		return n;
	if (json)
		fputs("[", o);
	for (int k = 0; k < n; k++) {
		struct ztu_dev_info info;

		if (ztu_dev_info(ids[k], &info) < 0)
			continue;
		if (json && shown)
			fputs(",", o);
		device_print(o, &info, json);
		shown++;
	}
	if (json)
		fputs("]\n", o);
	return 0;
}

/* Booting the VMX image under Bochs for `nestwalk hw run --backend bochs-vmx`,
 * as tools/bochs-run does: a GRUB rescue ISO holding the image and the case
 * blob (its multiboot module), Bochs with the term display (Debian's build has
 * no other headless one), TERM=dumb, stdin from /dev/null and an -rc file that
 * continues and quits so its debugger never waits. The image's summary comes
 * on COM1 and its per-case lines on LPT1, each a file of its own: nothing is
 * read from Bochs's standard output, which its terminal display shares. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/hw_run.h"

#define MKRESCUE_TIMEOUT 120

static const char bochsrc[] = "megs: 128\n"
			      "cpu: model=corei7_skylake_x, reset_on_triple_fault=0, ips=100000000\n"
			      "romimage: file=/usr/share/bochs/BIOS-bochs-latest\n"
			      "vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest\n"
			      "ata0-master: type=cdrom, path=%s/vmx.iso, status=inserted\n"
			      "boot: cdrom\n"
			      "floppy_bootsig_check: disabled=1\n"
			      "display_library: term\n"
			      "com1: enabled=1, mode=file, dev=%s/serial.out\n"
			      "parport1: enabled=1, file=%s/cases.out\n"
			      "log: %s/bochs.log\n"
			      "panic: action=fatal\n"
			      "error: action=report\n"
			      "clock: sync=none\n";

static const char grub_cfg[] = "set timeout=0\n"
			       "set default=0\n"
			       "menuentry \"nestwalk-vmx\" {\n"
			       "  multiboot /boot/nestwalk-vmx.elf\n"
			       "  module /boot/cases.blob\n"
			       "  boot\n"
			       "}\n";

static int write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	int rc = -1;

	if (f) {
		rc = fwrite(data, 1, size, f) == size ? 0 : -1;
		if (fclose(f))
			rc = -1;
	}
	return rc;
}

static char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	*size = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		data = malloc((size_t)n + 1);
		if (data && fread(data, 1, (size_t)n, f) == (size_t)n) {
			data[n] = '\0';
			*size = (size_t)n;
		} else {
			free(data);
			data = NULL;
		}
	}
	fclose(f);
	return data;
}

static int copy_file(const char *from, const char *to)
{
	size_t size;
	char *data = read_file(from, &size);
	int rc = data ? write_file(to, data, size) : -1;

	free(data);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* The ISO tree: boot/nestwalk-vmx.elf, boot/cases.blob, boot/grub/grub.cfg. */
static int make_tree(const char *dir, const char *image, const uint8_t *blob, size_t size, char *err, size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/iso", dir);
	if (mkdir(path, 0700))
		goto fail;
	snprintf(path, sizeof(path), "%s/iso/boot", dir);
	if (mkdir(path, 0700))
		goto fail;
	snprintf(path, sizeof(path), "%s/iso/boot/grub", dir);
	if (mkdir(path, 0700))
		goto fail;
	snprintf(path, sizeof(path), "%s/iso/boot/grub/grub.cfg", dir);
	if (write_file(path, grub_cfg, strlen(grub_cfg)))
		goto fail;
	snprintf(path, sizeof(path), "%s/iso/boot/cases.blob", dir);
	if (write_file(path, blob, size))
		goto fail;
	snprintf(path, sizeof(path), "%s/iso/boot/nestwalk-vmx.elf", dir);
	if (copy_file(image, path))
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot prepare %s: %s", path, strerror(errno));
	return -1;
}

/* The files' texts one after the other, as the output: COM1's summary, then LPT1's case lines. */
static int join_files(const char *dir, struct nw_hw_boot_result *res, char *err, size_t errlen)
{
	static const char *const names[] = { "serial.out", "cases.out" };
	char path[4096], *text[2];
	size_t len[2];

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		text[i] = read_file(path, &len[i]);
	}
	free(res->output);
	res->output = malloc(len[0] + len[1] + 1);
	res->output_len = 0;
	for (int i = 0; i < 2 && res->output; i++) {
		memcpy(res->output + res->output_len, text[i] ? text[i] : "", len[i]);
		res->output_len += len[i];
		res->output[res->output_len] = '\0';
	}
	free(text[0]);
	free(text[1]);
	if (!res->output) {
		nw_hw_boot_result_free(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int run_bochs(const char *dir, double timeout, struct nw_hw_boot_result *res, char *err, size_t errlen)
{
	/* Bochs 2.7 crashes at start-up under MALLOC_PERTURB_ (which meson test sets). */
	static const char *const env[] = { "TERM=dumb", "MALLOC_PERTURB_", NULL };
	char conf[4096], rc[4096], text[8192];
	char *argv[] = { "bochs", "-q", "-f", conf, "-rc", rc, NULL };

	snprintf(conf, sizeof(conf), "%s/bochsrc", dir);
	snprintf(rc, sizeof(rc), "%s/bochs.rc", dir);
	snprintf(text, sizeof(text), bochsrc, dir, dir, dir, dir);
	if (write_file(conf, text, strlen(text)) || write_file(rc, "c\nquit\n", 7)) {
		snprintf(err, errlen, "cannot write the Bochs configuration in %s", dir);
		return -1;
	}
	if (nw_hw_boot(argv, dir, env, NULL, timeout, res, err, errlen))
		return -1;
	return join_files(dir, res, err, errlen);
}

int nw_hw_bochs_boot(const char *image, const uint8_t *blob, size_t size, double timeout,
		     struct nw_hw_boot_result *res, char *err, size_t errlen)
{
	char dir[] = "/tmp/nestwalk-bochs-XXXXXX", iso[4096], tree[4096];
	char *mkrescue[] = { "grub-mkrescue", "-o", iso, tree, NULL };
	struct nw_hw_boot_result made;
	int rc = -1;

	*res = (struct nw_hw_boot_result){ 0 };
	if (!mkdtemp(dir)) {
		snprintf(err, errlen, "cannot make a temporary folder: %s", strerror(errno));
		return -1;
	}
	snprintf(iso, sizeof(iso), "%s/vmx.iso", dir);
	snprintf(tree, sizeof(tree), "%s/iso", dir);
	if (make_tree(dir, image, blob, size, err, errlen) == 0 &&
	    nw_hw_boot(mkrescue, NULL, NULL, NULL, MKRESCUE_TIMEOUT, &made, err, errlen) == 0) {
		if (made.status == 0) {
			rc = run_bochs(dir, timeout, res, err, errlen);
		} else {
			snprintf(err, errlen, "grub-mkrescue failed (status %d): %.300s", made.status, made.errors);
		}
		nw_hw_boot_result_free(&made);
	}
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

/*
 * Native symbolization with elfutils' libdwfl: function names from the ELF
 * symbol tables, file:line from DWARF when the module has it. Works from a
 * /proc/pid/maps snapshot, so a process that already exited is still
 * symbolized from its files on disk.
 */
#include "tracer/collect.h"

#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sym_ctx {
	Dwfl *dwfl;
};

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

struct sym_ctx *sym_open(int pid, const char *maps, size_t maps_len)
{
	struct sym_ctx *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->dwfl = dwfl_begin(&callbacks);
	if (!s->dwfl)
		goto fail;
	dwfl_report_begin(s->dwfl);
	if (maps && maps_len) {
		FILE *f = fmemopen((void *)maps, maps_len, "r");
		if (f) {
			dwfl_linux_proc_maps_report(s->dwfl, f);
			fclose(f);
		}
	} else {
		dwfl_linux_proc_report(s->dwfl, pid);
	}
	dwfl_report_end(s->dwfl, NULL, NULL);
	return s;
fail:
	free(s);
	return NULL;
}

int sym_lookup(struct sym_ctx *s, uint64_t pc, int is_return, struct sym_frame *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !pc)
		return -1;
	Dwarf_Addr addr = is_return ? pc - 1 : pc;
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
	if (!m)
		return -1;
	out->module = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	out->function = dwfl_module_addrname(m, addr);
	Dwfl_Line *l = dwfl_module_getsrc(m, addr);
	if (l) {
		int line = 0;
		const char *file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
		if (file) {
			out->file = file;
			out->line = line;
		}
	}
	return 0;
}

const char *sym_data_name(struct sym_ctx *s, uint64_t addr, char *buf, size_t len)
{
	if (!s || !addr)
		return NULL;
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
	if (!m)
		return NULL;
	GElf_Sym sym;
	GElf_Off off = 0;
	const char *name = dwfl_module_addrinfo(m, addr, &off, &sym, NULL, NULL, NULL);
	if (!name || GELF_ST_TYPE(sym.st_info) != STT_OBJECT)
		return NULL;
	/* An element of a global array or struct: say where inside it. */
	if (off)
		snprintf(buf, len, "%s+%llu", name, (unsigned long long)off);
	else
		snprintf(buf, len, "%s", name);
	return buf;
}

void sym_close(struct sym_ctx *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	free(s);
}

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

/*
 * A module's data symbols sorted by address, built at its first lookup:
 * dwfl_module_addrinfo() walks the whole symbol table on every call, and
 * an OpenSSL burst names 14 000 lock objects against libcrypto's and
 * python's tables (a third of the writer's time went there).
 */
struct data_sym {
	uint64_t addr, size;
	const char *name;
	int rank; /* among symbols at one address: the higher, the better name */
};

struct data_table {
	struct data_table *next;
	struct data_sym *syms;
	size_t n;
};

/*
 * Code addresses looked up before: dwfl_module_addrname() walks the symbol
 * table too, and the same few call sites (a lock's creation site, made
 * thousands of times) come back again and again. Direct-mapped, made at
 * the first lookup: a process that never needs a name pays nothing.
 */
#define PC_CACHE_SLOTS 1024

struct pc_cached {
	uint64_t addr; /* 0: empty */
	int found;
	struct sym_frame frame;
};

struct sym_ctx {
	Dwfl *dwfl;
	struct data_table *tables; /* every module's, for sym_close */
	struct pc_cached *pcs;
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

static int lookup(struct sym_ctx *s, Dwarf_Addr addr, struct sym_frame *out);

int sym_lookup(struct sym_ctx *s, uint64_t pc, int is_return, struct sym_frame *out)
{
	memset(out, 0, sizeof(*out));
	if (!s || !pc)
		return -1;
	Dwarf_Addr addr = is_return ? pc - 1 : pc;
	if (!s->pcs)
		s->pcs = calloc(PC_CACHE_SLOTS, sizeof(*s->pcs));
	struct pc_cached *hit =
	    s->pcs ? &s->pcs[(addr * 0x9e3779b97f4a7c15ull) >> 54 & (PC_CACHE_SLOTS - 1)] : NULL;
	if (hit && hit->addr == addr) {
		*out = hit->frame;
		return hit->found ? 0 : -1;
	}
	int rc = lookup(s, addr, out);
	if (hit) {
		hit->addr = addr;
		hit->found = rc == 0;
		hit->frame = *out;
	}
	return rc;
}

static int lookup(struct sym_ctx *s, Dwarf_Addr addr, struct sym_frame *out)
{
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

static int data_sym_cmp(const void *a, const void *b)
{
	const struct data_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return (x->rank > y->rank) - (x->rank < y->rank);
}

/* m's table, built on first use and kept in the module's user data. */
static struct data_table *data_table(struct sym_ctx *s, Dwfl_Module *m)
{
	void **user = NULL;
	dwfl_module_info(m, &user, NULL, NULL, NULL, NULL, NULL, NULL);
	if (!user)
		return NULL;
	if (*user)
		return *user;
	struct data_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	int n = dwfl_module_getsymtab(m);
	if (n > 0 && (t->syms = malloc((size_t)n * sizeof(*t->syms)))) {
		for (int i = 0; i < n; i++) {
			GElf_Sym sym;
			GElf_Addr addr;
			const char *name =
			    dwfl_module_getsym_info(m, i, &sym, &addr, NULL, NULL, NULL);
			if (!name || !*name || GELF_ST_TYPE(sym.st_info) != STT_OBJECT ||
			    sym.st_shndx == SHN_UNDEF)
				continue;
			/* As libdwfl prefers: a global name over a weak one over a local one. */
			int bind = GELF_ST_BIND(sym.st_info);
			int rank = bind == STB_GLOBAL ? 2 : bind == STB_WEAK ? 1 : 0;
			t->syms[t->n++] = (struct data_sym){addr, sym.st_size, name, rank};
		}
		qsort(t->syms, t->n, sizeof(*t->syms), data_sym_cmp);
	}
	t->next = s->tables;
	s->tables = t;
	*user = t;
	return t;
}

const char *sym_data_name(struct sym_ctx *s, uint64_t addr, char *buf, size_t len)
{
	if (!s || !addr)
		return NULL;
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
	struct data_table *t = m ? data_table(s, m) : NULL;
	if (!t || !t->n)
		return NULL;
	/* The last symbol starting at or before addr, then back over ones that end sooner. */
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	const struct data_sym *found = NULL;
	for (size_t i = lo; i-- > 0 && lo - i <= 8;) {
		const struct data_sym *d = &t->syms[i];
		if (addr < d->addr + (d->size ? d->size : 1)) {
			found = d;
			break;
		}
	}
	if (!found)
		return NULL;
	/* An element of a global array or struct: say where inside it. */
	uint64_t off = addr - found->addr;
	if (off)
		snprintf(buf, len, "%s+%llu", found->name, (unsigned long long)off);
	else
		snprintf(buf, len, "%s", found->name);
	return buf;
}

void sym_close(struct sym_ctx *s)
{
	if (!s)
		return;
	dwfl_end(s->dwfl);
	while (s->tables) {
		struct data_table *t = s->tables;
		s->tables = t->next;
		free(t->syms);
		free(t);
	}
	free(s->pcs);
	free(s);
}

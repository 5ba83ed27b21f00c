/*
 * Native symbolization with elfutils' libdwfl: function names from the ELF
 * symbol tables, file:line from DWARF when the module has it. Works from a
 * /proc/pid/maps snapshot, so a process that already exited is still
 * symbolized from its files on disk.
 */
#include "tracer/collect.h"
#include "tracer/hashmap.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdint.h>
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
	/* C++ function names, demangled once: the symbol table's name pointer -> demangled[i] */
	struct hashmap_u64 demangled_by_name;
	char **demangled;
	size_t ndemangled, cap_demangled;
	/* names made from DWARF scopes ("main::<lambda()>::operator()"), each kept once */
	struct hashmap_str made_names;
};

/*
 * C++ names as people read them ("std::mutex::lock()", not
 * "_ZNSt5mutex4lockEv"): the C++ runtime's own demangler, loaded at the
 * first mangled name. weft is C; where libstdc++ is missing, a C++
 * program's names stay mangled.
 */
typedef char *(*cxa_demangle_fn)(const char *mangled, char *buf, size_t *len, int *status);
static cxa_demangle_fn cxa_demangle;
static pthread_once_t demangler_once = PTHREAD_ONCE_INIT;

static void demangler_load(void)
{
	void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
	if (h)
		cxa_demangle = (cxa_demangle_fn)dlsym(h, "__cxa_demangle");
}

/* The demangled name, malloc'd; NULL when name is no C++ name or cannot be demangled. */
static char *demangle(const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return NULL;
	pthread_once(&demangler_once, demangler_load);
	if (!cxa_demangle)
		return NULL;
	int status = -1;
	char *out = cxa_demangle(name, NULL, NULL, &status);
	if (status != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* Room for one more name s keeps: 0, or -1 when out of memory. */
static int names_room(struct sym_ctx *s)
{
	if (s->ndemangled < s->cap_demangled)
		return 0;
	size_t cap = s->cap_demangled ? s->cap_demangled * 2 : 64;
	char **d = realloc(s->demangled, cap * sizeof(*d));
	if (!d)
		return -1;
	s->demangled = d;
	s->cap_demangled = cap;
	return 0;
}

/* name demangled, kept as long as s; name itself when it is no C++ name. */
static const char *readable_function(struct sym_ctx *s, const char *name)
{
	if (!name || name[0] != '_' || name[1] != 'Z')
		return name;
	uint64_t *at = hashmap_u64_get(&s->demangled_by_name, (uint64_t)(uintptr_t)name);
	if (at)
		return s->demangled[*at] ? s->demangled[*at] : name;
	if (names_room(s))
		return name;
	char *readable = demangle(name);
	if (hashmap_u64_put(&s->demangled_by_name, (uint64_t)(uintptr_t)name, s->ndemangled)) {
		free(readable);
		return name;
	}
	s->demangled[s->ndemangled++] = readable;
	return readable ? readable : name;
}

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

/* A compiler's or the C++ library's header: code inlined from it is not the program's. */
static int system_header(const char *file)
{
	return file && (!strncmp(file, "/usr/include/", 13) || !strncmp(file, "/usr/lib/gcc/", 13));
}

/* name kept as long as s, once however often it is made; NULL when out of memory. */
static const char *keep_name(struct sym_ctx *s, const char *name)
{
	size_t len = strlen(name);
	uint64_t *at = hashmap_str_get(&s->made_names, name, len);
	if (at)
		return s->demangled[*at];
	if (names_room(s))
		return NULL;
	char *copy = strdup(name);
	if (!copy || hashmap_str_put(&s->made_names, name, len, s->ndemangled)) {
		free(copy);
		return NULL;
	}
	s->demangled[s->ndemangled++] = copy;
	return copy;
}

/*
 * A DWARF function's name as people read it, through its abstract origin;
 * NULL if none. Without a linkage name (a lambda's operator()), the names
 * of the scopes around its definition go before it.
 */
static const char *die_function(struct sym_ctx *s, Dwarf_Die *die)
{
	Dwarf_Attribute a;
	const char *name = NULL;
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		name = dwarf_formstring(&a);
	if (name)
		return readable_function(s, name);
	if (!dwarf_attr_integrate(die, DW_AT_name, &a) || !(name = dwarf_formstring(&a)))
		return NULL;
	Dwarf_Die origin;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_attr(die, DW_AT_abstract_origin, &a) && dwarf_formref_die(&a, &origin)
		    ? dwarf_getscopes_die(&origin, &scopes)
		    : 0;
	char full[512];
	size_t len = 0;
	full[0] = 0;
	for (int i = n - 2; i >= 1; i--) { /* outermost first, leaving out the unit and itself */
		int tag = dwarf_tag(&scopes[i]);
		int type = tag == DW_TAG_class_type || tag == DW_TAG_structure_type;
		const char *part = type || tag == DW_TAG_namespace || tag == DW_TAG_subprogram
				       ? dwarf_diename(&scopes[i])
				       : NULL;
		if (!part && type)
			part = "{lambda}"; /* a closure's type has no name in GCC's DWARF */
		if (part && len < sizeof(full))
			len += (size_t)snprintf(full + len, sizeof(full) - len, "%s::", part);
	}
	free(scopes);
	if (len < sizeof(full))
		snprintf(full + len, sizeof(full) - len, "%s", name);
	const char *kept = len ? keep_name(s, full) : NULL;
	return kept ? kept : name;
}

/* The first of scopes[i, n) that is a function, inlined or not (past lexical blocks); n if none. */
static int function_scope(Dwarf_Die *scopes, int n, int i)
{
	while (i < n && dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine &&
	       dwarf_tag(&scopes[i]) != DW_TAG_subprogram)
		i++;
	return i;
}

/*
 * Inlined code is named as its source reads. A call site inside code
 * inlined from a header (std::mutex::lock() is pthread_mutex_lock()
 * inlined from gthr-default.h, itself inlined into std::lock_guard's
 * constructor) is named by the first place up the inlining chain that is
 * the program's own, at the line of the call; and the function is the
 * one whose code that line is (a lambda or a method inlined into its
 * caller), not the symbol it was compiled into. Nothing changes when the
 * chain never leaves the headers, or the module has no DWARF.
 */
static void program_frame(struct sym_ctx *s, Dwfl_Module *m, Dwarf_Addr addr, struct sym_frame *out)
{
	Dwarf_Addr bias = 0;
	Dwarf_Die *cu = dwfl_module_addrdie(m, addr, &bias);
	Dwarf_Files *files = NULL;
	size_t nfiles = 0;
	if (!cu || dwarf_getsrcfiles(cu, &files, &nfiles))
		return;
	Dwarf_Die *scopes = NULL;
	/*
	 * dwarf_getscopes gives the innermost inlined instance and then the
	 * unit; the scopes around that instance (the chain it was inlined
	 * through, up to the function) come from its own DIE, as eu-addr2line
	 * -i reads them.
	 */
	int n = dwarf_getscopes(cu, addr - bias, &scopes);
	if (n > 0 && dwarf_tag(&scopes[0]) == DW_TAG_inlined_subroutine) {
		Dwarf_Die innermost = scopes[0];
		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&innermost, &scopes);
	}
	const char *file = out->file;
	int line = out->line, i = 0;
	while (system_header(file) && i < n) {
		i = function_scope(scopes, n, i);
		if (i == n || dwarf_tag(&scopes[i]) != DW_TAG_inlined_subroutine)
			break; /* reached the function itself, still in a header */
		Dwarf_Attribute a;
		Dwarf_Word call_file = 0, call_line = 0;
		if (!dwarf_attr(&scopes[i], DW_AT_call_file, &a) ||
		    dwarf_formudata(&a, &call_file) ||
		    !dwarf_attr(&scopes[i], DW_AT_call_line, &a) ||
		    dwarf_formudata(&a, &call_line) || call_file >= nfiles)
			break;
		file = dwarf_filesrc(files, call_file, NULL, NULL);
		line = (int)call_line;
		i++;
	}
	if (file && !system_header(file)) {
		/* the function the call is in: an inlined one's own name, else the symbol's */
		i = function_scope(scopes, n, i);
		const char *function = NULL;
		if (i < n && dwarf_tag(&scopes[i]) == DW_TAG_inlined_subroutine)
			function = die_function(s, &scopes[i]);
		out->file = file;
		out->line = line;
		if (function)
			out->function = function;
	}
	free(scopes);
}

static int lookup(struct sym_ctx *s, Dwarf_Addr addr, struct sym_frame *out)
{
	Dwfl_Module *m = dwfl_addrmodule(s->dwfl, addr);
	if (!m)
		return -1;
	out->module = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
	out->function = readable_function(s, dwfl_module_addrname(m, addr));
	if (!out->function && out->module) {
		/*
		 * No symbol (a stripped library): the module and the address in
		 * its file, which addr2line reads with the library's debug file,
		 * where a bare address would differ from run to run.
		 */
		Dwarf_Addr in_file = addr;
		const char *slash = strrchr(out->module, '/');
		char name[320];
		if (dwfl_module_relocate_address(m, &in_file) >= 0) {
			snprintf(name, sizeof(name), "%s+0x%llx", slash ? slash + 1 : out->module,
				 (unsigned long long)in_file);
			out->function = keep_name(s, name);
		}
	}
	Dwfl_Line *l = dwfl_module_getsrc(m, addr);
	if (l) {
		int line = 0;
		const char *file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
		if (file) {
			out->file = file;
			out->line = line;
		}
	}
	if (out->file)
		program_frame(s, m, addr, out);
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
	char *readable = demangle(found->name); /* a C++ namespace's or class's static */
	const char *name = readable ? readable : found->name;
	if (off)
		snprintf(buf, len, "%s+%llu", name, (unsigned long long)off);
	else
		snprintf(buf, len, "%s", name);
	free(readable);
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
	for (size_t i = 0; i < s->ndemangled; i++)
		free(s->demangled[i]);
	free(s->demangled);
	hashmap_u64_free(&s->demangled_by_name);
	hashmap_str_free(&s->made_names);
	free(s);
}

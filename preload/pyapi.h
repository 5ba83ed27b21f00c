/*
 * The part of CPython's C API the preload library calls, looked up at run
 * time with dlsym (preload/python.c fills weft_py). Only functions whose
 * signatures are the same in 3.10-3.15 are listed, so one library serves
 * every version without CPython headers. Hidden: never exported.
 */
#ifndef WEFT_PRELOAD_PYAPI_H
#define WEFT_PRELOAD_PYAPI_H

#include <stddef.h>

typedef struct py_object PyObject;
typedef long py_ssize_t;
typedef PyObject *(*py_fastcall)(PyObject *, PyObject *const *, py_ssize_t);

struct py_method_def {
	const char *ml_name;
	void *ml_meth;
	int ml_flags;
	const char *ml_doc;
};
/* The C API's numbers weft uses: methodobject.h, typeslots.h, object.h, descrobject.h. */
#define PY_METH_VARARGS 0x0001
#define PY_METH_KEYWORDS 0x0002
#define PY_METH_NOARGS 0x0004
#define PY_METH_O 0x0008
#define PY_METH_FASTCALL 0x0080
#define PY_FILE_INPUT 257
#define PY_VECTORCALL_ARGUMENTS_OFFSET ((size_t)1 << 63)
#define PY_TPFLAGS_DISALLOW_INSTANTIATION (1UL << 7)
#define PY_TPFLAGS_IMMUTABLETYPE (1UL << 8)
#define PY_TPFLAGS_HAVE_VECTORCALL (1UL << 11)
#define PY_TPFLAGS_HAVE_GC (1UL << 14)
#define PY_TPFLAGS_METHOD_DESCRIPTOR (1UL << 17)
#define PY_T_PYSSIZET 19
#define PY_READONLY 1
enum {
	PY_TP_CALL = 50,
	PY_TP_CLEAR = 51,
	PY_TP_DEALLOC = 52,
	PY_TP_DESCR_GET = 54,
	PY_TP_GETATTRO = 58,
	PY_TP_NEW = 65,
	PY_TP_REPR = 66,
	PY_TP_TRAVERSE = 71,
	PY_TP_MEMBERS = 72,
};

/* Required for any Python support. */
#define PY_FUNCS(X)                                                                                \
	X(int, Py_IsInitialized, (void))                                                           \
	X(int, PyGILState_Check, (void))                                                           \
	X(int, PySys_AddAuditHook, (int (*)(const char *, PyObject *, void *), void *))            \
	X(const char *, Py_GetVersion, (void))                                                     \
	X(PyObject *, PyEval_GetFrame, (void))                                                     \
	X(PyObject *, PyFrame_GetBack, (PyObject *))                                               \
	X(PyObject *, PyFrame_GetCode, (PyObject *))                                               \
	X(int, PyFrame_GetLineNumber, (PyObject *))                                                \
	X(py_ssize_t, PyObject_Size, (PyObject *))                                                 \
	X(PyObject *, PyObject_GetAttrString, (PyObject *, const char *))                          \
	X(int, PyObject_SetAttrString, (PyObject *, const char *, PyObject *))                     \
	X(const char *, PyUnicode_AsUTF8, (PyObject *))                                            \
	X(long long, PyLong_AsLongLong, (PyObject *))                                              \
	X(unsigned long long, PyLong_AsUnsignedLongLong, (PyObject *))                             \
	X(PyObject *, PyLong_FromUnsignedLongLong, (unsigned long long))                           \
	X(void, Py_IncRef, (PyObject *))                                                           \
	X(void, Py_DecRef, (PyObject *))                                                           \
	X(PyObject *, PyCFunction_NewEx, (struct py_method_def *, PyObject *, PyObject *))         \
	X(PyObject *, PyModule_New, (const char *))                                                \
	X(PyObject *, PyDict_New, (void))                                                          \
	X(int, PyDict_SetItemString, (PyObject *, const char *, PyObject *))                       \
	X(PyObject *, PyEval_GetBuiltins, (void))                                                  \
	X(PyObject *, Py_CompileString, (const char *, const char *, int))                         \
	X(PyObject *, PyEval_EvalCode, (PyObject *, PyObject *, PyObject *))                       \
	X(PyObject *, PyErr_Occurred, (void))                                                      \
	X(void, PyErr_Clear, (void))                                                               \
	X(void, PyErr_Print, (void))                                                               \
	X(PyObject *, PyUnicode_FromString, (const char *))                                        \
	X(void *, PyThreadState_GetInterpreter, (void *))                                          \
	X(void *, PyGILState_GetThisThreadState, (void))                                           \
	X(void *, PyInterpreterState_Main, (void))

/* Looked up, not required: NULL where an interpreter lacks them (the callers fall back). */
#define PY_OPT_FUNCS(X)                                                                            \
	X(int, PyFrame_GetLasti, (PyObject *)) /* 3.11+ */                                         \
	X(long, PyImport_GetMagicNumber, (void))                                                   \
	X(PyObject *, PyMarshal_ReadObjectFromString, (const char *, py_ssize_t))                  \
	X(PyObject *, PyObject_Vectorcall, (PyObject *, PyObject *const *, size_t, PyObject *))    \
	X(PyObject *, PyObject_VectorcallDict,                                                     \
	  (PyObject *, PyObject *const *, size_t, PyObject *))	/* 3.10: no PyObject_Vectorcall */ \
	X(PyObject *, _PyType_Lookup, (PyObject *, PyObject *)) /* borrowed; never raises */       \
	X(PyObject *, PyType_FromSpec, (void *))                                                   \
	X(PyObject *, PyType_GenericAlloc, (PyObject *, py_ssize_t))                               \
	X(PyObject *, PyVectorcall_Call, (PyObject *, PyObject *, PyObject *))                     \
	X(PyObject *, PyMethod_New, (PyObject *, PyObject *))                                      \
	X(void, PyObject_GC_UnTrack, (void *))                                                     \
	X(void, PyObject_GC_Del, (void *))                                                         \
	X(PyObject *, PyType_GetDict, (PyObject *)) /* 3.12+; the 3.13.1+ Lock hook */             \
	X(PyObject *, PyDescr_NewMethod, (PyObject *, struct py_method_def *))                     \
	X(void, PyType_Modified, (PyObject *))                                                     \
	X(PyObject *, PyTuple_New, (py_ssize_t))                                                   \
	X(int, PyObject_IsTrue, (PyObject *))                                                      \
	X(int, PyCode_Addr2Line, (PyObject *, int))

/* Needed by the race detector only (preload/races.c): --races is off without them. */
#define PY_RACES_FUNCS(X)                                                                          \
	X(PyObject *, PyObject_GetItem, (PyObject *, PyObject *))                                  \
	X(int, PyObject_SetItem, (PyObject *, PyObject *, PyObject *))                             \
	X(int, PyObject_DelItem, (PyObject *, PyObject *))                                         \
	X(PyObject *, PyObject_GetAttr, (PyObject *, PyObject *))                                  \
	X(int, PyObject_SetAttr, (PyObject *, PyObject *, PyObject *))                             \
	X(py_ssize_t, PyObject_Hash, (PyObject *))                                                 \
	X(PyObject *, PyObject_Repr, (PyObject *))                                                 \
	X(unsigned long, PyType_GetFlags, (PyObject *))                                            \
	X(void *, PyType_GetSlot, (PyObject *, int))                                               \
	X(int, PyType_IsSubtype, (PyObject *, PyObject *))                                         \
	X(PyObject *, PyEval_GetGlobals, (void))                                                   \
	X(PyObject *, PyObject_VectorcallMethod,                                                   \
	  (PyObject *, PyObject *const *, size_t, PyObject *))                                     \
	X(int, PySequence_Contains, (PyObject *, PyObject *))                                      \
	X(PyObject *, PyModule_GetDict, (PyObject *))                                              \
	X(PyObject *, PyDict_GetItemString, (PyObject *, const char *))                            \
	X(PyObject *, PyDict_GetItemWithError, (PyObject *, PyObject *))                           \
	X(PyObject *, PyUnicode_InternFromString, (const char *))                                  \
	X(int, PyErr_ExceptionMatches, (PyObject *))                                               \
	X(void, PyErr_SetNone, (PyObject *))                                                       \
	X(PyObject *, PyImport_AddModule, (const char *))                                          \
	X(void, PyErr_Fetch, (PyObject **, PyObject **, PyObject **))                              \
	X(PyObject *, PyTuple_GetItem, (PyObject *, py_ssize_t))                                   \
	X(PyObject *, PyObject_CallFunctionObjArgs, (PyObject *, ...))                             \
	X(void, PyErr_Restore, (PyObject *, PyObject *, PyObject *))                               \
	X(PyObject *, PyNumber_InPlaceAdd, (PyObject *, PyObject *))                               \
	X(PyObject *, PyNumber_InPlaceSubtract, (PyObject *, PyObject *))                          \
	X(PyObject *, PyNumber_InPlaceMultiply, (PyObject *, PyObject *))                          \
	X(PyObject *, PyNumber_InPlaceMatrixMultiply, (PyObject *, PyObject *))                    \
	X(PyObject *, PyNumber_InPlaceTrueDivide, (PyObject *, PyObject *))                        \
	X(PyObject *, PyNumber_InPlaceFloorDivide, (PyObject *, PyObject *))                       \
	X(PyObject *, PyNumber_InPlaceRemainder, (PyObject *, PyObject *))                         \
	X(PyObject *, PyNumber_InPlacePower, (PyObject *, PyObject *, PyObject *))                 \
	X(PyObject *, PyNumber_InPlaceLshift, (PyObject *, PyObject *))                            \
	X(PyObject *, PyNumber_InPlaceRshift, (PyObject *, PyObject *))                            \
	X(PyObject *, PyNumber_InPlaceAnd, (PyObject *, PyObject *))                               \
	X(PyObject *, PyNumber_InPlaceXor, (PyObject *, PyObject *))                               \
	X(PyObject *, PyNumber_InPlaceOr, (PyObject *, PyObject *))

/* Data symbols the race detector compares types against. */
#define PY_RACES_DATA(X)                                                                           \
	X(PyDict_Type)                                                                             \
	X(PyList_Type)                                                                             \
	X(PyBaseObject_Type)                                                                       \
	X(PyModule_Type)                                                                           \
	X(PyType_Type)                                                                             \
	X(PyUnicode_Type)                                                                          \
	X(PyLong_Type)                                                                             \
	X(PyFloat_Type)                                                                            \
	X(PyBytes_Type)                                                                            \
	X(PyTuple_Type)                                                                            \
	X(PyBool_Type)

struct weft_pyapi {
#define PY_FIELD(ret, name, args) ret(*name) args;
	PY_FUNCS(PY_FIELD)
	PY_RACES_FUNCS(PY_FIELD)
	PY_OPT_FUNCS(PY_FIELD)
#undef PY_FIELD
#define PY_DATA_FIELD(name) PyObject *name;
	PY_RACES_DATA(PY_DATA_FIELD)
#undef PY_DATA_FIELD
	PyObject **exc_key_error, **exc_system_exit, **exc_index_error; /* PyExc_* are pointers */
	PyObject *none, *true_obj, *false_obj;
	void *(*current_tstate)(void); /* this thread's state, NULL without the GIL; never fails */
	int races_api;		       /* every PY_RACES_* symbol was found */
};

extern struct weft_pyapi weft_py;

/* The race detector's functions for instrumented code (preload/races.c), NULL-terminated. */
extern struct py_method_def weft_races_methods[];
/*
 * hook_locks and hook_rlocks, which instrument 3.13.1+'s PyMutex Lock and
 * 3.14+'s RLock types (preload/python_lock.c), NULL-terminated.
 */
extern struct py_method_def weft_python_lock_methods[];

/* The object's type: ob_type follows the 8-byte refcount in every 3.10-3.15 GIL build. */
static inline PyObject *weft_py_type(PyObject *o)
{
	return ((PyObject **)o)[1];
}

#endif

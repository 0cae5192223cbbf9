/*
 * cpython_common.h -- the interpreter internals CPython 3.11, 3.12 and 3.13
 * lay out alike, part of interp.h's interface for each of them.  Only a
 * version header (cpython311.h, cpython312.h, cpython313.h) includes it,
 * after Python.h and the internal headers, having defined hg__type_dict.
 * A version that changes any of this gets a header of its
 * own instead.
 *
 * The GC lists (Include/internal/pycore_gc.h, Modules/gcmodule.c in 3.11
 * and 3.12, Python/gc.c in 3.13): each tracked object is preceded by a
 * PyGC_Head { _gc_next, _gc_prev }.  _gc_next == 0 means "not tracked";
 * otherwise the object is in one of the doubly linked, circular lists
 * whose heads are gcstate->generations[0..2] and
 * gcstate->permanent_generation (filled by gc.freeze()).  The low two bits
 * of _gc_prev are flags (FINALIZED, COLLECTING); the rest is the previous
 * node.  A full collection merges the young generations into the old one
 * (generation 2's objects first, then 0's, then 1's) and walks that list;
 * it never walks the permanent generation.
 *
 * The id stash (the same trick the collector plays with gc_refs):
 * between the list walk that calls hg__gc_stash() on every tracked object
 * and hg__gc_restore_listed() (or hg__gc_restore()) the _gc_prev of every
 * tracked object holds (v << 2) | FINALIZED | COLLECTING -- v its node
 * id, or walk.h's encoding of it for an object the chase met from a
 * list's end -- while _gc_next and the list heads stay intact.  This is valid
 * only while the GIL is held, no Python code runs and nothing tracks, untracks
 * or frees a GC object: all of those read or write _gc_prev.  A stashed header
 * also has the COLLECTING flag bit set, which is always clear outside a
 * collection (the collector sets it only for the generation it is
 * collecting, and clears it before it returns; _PyObject_GC_TRACK asserts
 * it is clear): so "stashed" is told apart from "still a prev pointer"
 * without guessing from the value (an object on another interpreter's
 * lists is never mistaken for a node).  The restore rebuilds every prev
 * pointer, keeping the FINALIZED bit and clearing COLLECTING.  While ids
 * are stashed, gcstate->collecting is set so that no allocation can start
 * a collection.
 *
 * Reference-count marks: ob_refcnt is a Py_ssize_t, at least 1 in every
 * live object.  While the GIL is held and no Python code runs, nothing
 * else reads or writes it, so the walks may store a negative mark there
 * and put the count back before any code runs -- in every object but an
 * immortal one (3.12 on, hg__immortal_count), whose count the walk never
 * writes.
 */
#ifndef HG_CPYTHON_COMMON_H
#define HG_CPYTHON_COMMON_H

#if PY_VERSION_HEX < 0x030B0000 || PY_VERSION_HEX >= 0x030E0000
#error "objgraph capture/: cpython_common.h covers CPython 3.11 to 3.13"
#endif

#include <stddef.h>
#include <stdint.h>

/* ---- identifiers and lookups ------------------------------------------ */

/* Statically allocated interned identifiers (no reference counting). */
#define HG__ID(name) (&_Py_ID(name))

/* d[key] (borrowed, NULL when absent), key's hash given.  No Python code
 * runs when every key of d is a str and key is an exact str. */
static inline PyObject *hg__dict_lookup(PyObject *d, PyObject *key,
                                        Py_hash_t hash) {
    return _PyDict_GetItem_KnownHash(d, key, hash);
}

/* True if every key of d is a str, so that looking up a str key runs no
 * Python code (no __eq__ of a colliding key). */
static inline int hg__dict_str_keys_only(PyObject *d) {
    return PyDict_CheckExact(d) &&
           ((PyDictObject *)d)->ma_keys->dk_kind != DICT_KEYS_GENERAL;
}

/* A module's __dict__ (borrowed), NULL if it has none. */
static inline PyObject *hg__module_dict(PyObject *m) {
    return ((PyModuleObject *)m)->md_dict;
}

/* What _PyType_Lookup(tp, name) finds, without touching the type
 * attribute cache: on a miss, _PyType_Lookup stores the name in a cache
 * entry and drops the entry's previous name (often None), changing
 * reference counts -- which the walk uses to mark untracked objects.  The
 * same search as the cache's miss path: each class of the MRO in order,
 * its dict read with a borrowed result (the name is an exact str, so
 * hashing and comparing it run no Python code).  The hash is computed
 * here when the name has none cached yet: a static identifier's (_Py_ID)
 * stays -1 until something hashes it, and a lookup with -1 finds
 * nothing. */
static inline PyObject *hg__type_lookup(PyTypeObject *tp, PyObject *name) {
    PyObject *mro = tp->tp_mro; /* borrowed */
    Py_hash_t hash = PyObject_Hash(name);
    if (mro == NULL || !PyTuple_Check(mro)) {
        for (; tp != NULL; tp = tp->tp_base) {
            PyObject *v = hg__type_dict(tp) == NULL
                              ? NULL
                              : hg__dict_lookup(hg__type_dict(tp), name, hash);
            if (v != NULL) {
                return v;
            }
        }
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        PyObject *d = hg__type_dict((PyTypeObject *)base);
        PyObject *v;
        if (d == NULL) {
            continue;
        }
        v = hg__dict_lookup(d, name, hash);
        if (v != NULL) {
            return v; /* borrowed */
        }
    }
    return NULL;
}

/* ---- GC lists --------------------------------------------------------- */

#define HG__N_GC_LISTS 4 /* generations 0, 1, 2, then permanent */
#define HG__GC_LIST_FROZEN 3

typedef struct _gc_runtime_state hg__gcstate;
typedef PyGC_Head hg__gc_link;

static inline hg__gcstate *hg__gc_state(void) {
    return &PyInterpreterState_Get()->gc;
}

static inline int hg__gc_collecting(const hg__gcstate *gc) {
    return gc->collecting;
}

static inline void hg__gc_set_collecting(hg__gcstate *gc, int on) {
    gc->collecting = on;
}

/* Head of list i (0..2: generations, 3: the permanent generation). */
static inline hg__gc_link *hg__gc_list(hg__gcstate *gc, int i) {
    return i < NUM_GENERATIONS ? &gc->generations[i].head
                               : &gc->permanent_generation.head;
}

static inline hg__gc_link *hg__gc_next(hg__gc_link *g) {
    return (hg__gc_link *)g->_gc_next;
}

/* The link before g in its list (its header not stashed yet). */
static inline hg__gc_link *hg__gc_prev(hg__gc_link *g) {
    return (hg__gc_link *)_PyGCHead_PREV(g);
}

static inline PyObject *hg__gc_object(hg__gc_link *g) {
    return (PyObject *)(g + 1);
}

/* True if op's type makes it a GC object (the pre-header holds a GC
 * header), as PyObject_IS_GC, inline. */
static inline int hg__is_gc(PyObject *op) {
    return _PyObject_IS_GC(op);
}

/* True if op is a GC object that the collector tracks right now; op's GC
 * header is read only when the type says it has one. */
static inline int hg__gc_tracked(PyObject *op) {
    return _PyObject_IS_GC(op) && _Py_AS_GC(op)->_gc_next != 0;
}

/* Track op -- a GC object, not tracked -- at the end of the oldest
 * generation's list instead of the youngest (what PyObject_GC_Track does):
 * _PyObject_GC_TRACK with generations[2] for generation0.  Young
 * collections then never traverse it; full ones do.  Needs the GIL and no
 * collection walking the lists at this moment -- true whenever Python code
 * may run, since a collection lets other code run only from its
 * finalizers, when every list is a plain list (objects die and are tracked
 * there too). */
static inline void hg__gc_track_oldest(PyObject *op) {
    hg__gc_link *g = _Py_AS_GC(op);
    hg__gc_link *head = hg__gc_list(hg__gc_state(), NUM_GENERATIONS - 1);
    hg__gc_link *last = (hg__gc_link *)head->_gc_prev;
    _PyGCHead_SET_NEXT(last, g);
    _PyGCHead_SET_PREV(g, last);
    _PyGCHead_SET_NEXT(g, head);
    head->_gc_prev = (uintptr_t)g;
}

/* ---- reference-count marks ----------------------------------------------
 * The count is one Py_ssize_t (3.12 and 3.13 split it in two 32-bit halves
 * for their immortality checks, a view of the same word); the walk reads
 * and writes the whole word atomically (walk.h: hg__word_load). */

static inline Py_ssize_t *hg__refcnt_word(PyObject *op) {
    return &op->ob_refcnt;
}

/* ---- prefetching -------------------------------------------------------- */

/* What resolving a referent reads: its GC header (the stashed id) and its
 * count and type. */
static inline void hg__prefetch_referent(PyObject *op) {
    __builtin_prefetch((char *)op - sizeof(PyGC_Head));
    __builtin_prefetch((char *)op + sizeof(Py_ssize_t));
}

/* What sizing and traversing a tracked object read first: its pre-header
 * (GC header, managed dict pointers: 32 bytes) and its first fields. */
static inline void hg__prefetch_object(PyObject *op) {
    __builtin_prefetch((char *)op - 32);
    __builtin_prefetch((char *)op + 32);
}

/* What hg__gc_stashed_id returns for a tracked object whose header holds
 * no id (yet). */
#define HG__NOT_STASHED UINT64_MAX

/* The node id stashed in a tracked object's header, or HG__NOT_STASHED. */
static inline uint64_t hg__gc_stashed_id(PyObject *op) {
    uintptr_t prev = _Py_AS_GC(op)->_gc_prev;
    return (prev & _PyGC_PREV_MASK_COLLECTING) ? prev >> _PyGC_PREV_SHIFT
                                               : HG__NOT_STASHED;
}

static inline void hg__gc_stash(hg__gc_link *g, uint64_t id) {
    g->_gc_prev = ((uintptr_t)id << _PyGC_PREV_SHIFT) |
                  (g->_gc_prev & _PyGC_PREV_MASK_FINALIZED) |
                  _PyGC_PREV_MASK_COLLECTING;
}

/* Undo the stash by walking the lists: every _gc_prev points at its
 * predecessor again, with its own flag bits.  A dependent pointer chase
 * (about as slow as a tp_traverse pass): only for captures that failed
 * before every tracked address was recorded. */
static inline void hg__gc_restore(hg__gcstate *gc) {
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        hg__gc_link *head = hg__gc_list(gc, i);
        hg__gc_link *prev = head;
        for (hg__gc_link *g = hg__gc_next(head); g != head;
             g = hg__gc_next(g)) {
            g->_gc_prev =
                (uintptr_t)prev | (g->_gc_prev & _PyGC_PREV_MASK_FINALIZED);
            prev = g;
        }
    }
}

/* The GC header of a tracked object. */
static inline hg__gc_link *hg__gc_head(PyObject *op) {
    return _Py_AS_GC(op);
}

/* Undo the stash from the recorded addresses instead of the lists, for
 * the objects k0 <= k < k1 (so that the restore can be split over
 * threads): obj[k] (k < starts[HG__N_GC_LISTS]) is the object the list
 * walk met k-th, and list i holds obj[starts[i] .. starts[i+1]).  The
 * predecessor of each object is then known without a pointer chase, so the
 * writes are independent and the loop runs at memory bandwidth, not
 * latency. */
static inline void hg__gc_restore_span(hg__gcstate *gc, const uint64_t *obj,
                                       const size_t *starts, size_t k0,
                                       size_t k1) {
    for (int i = 0; i < HG__N_GC_LISTS; i++) {
        size_t a = k0 > starts[i] ? k0 : starts[i];
        size_t b = k1 < starts[i + 1] ? k1 : starts[i + 1];
        hg__gc_link *prev;
        if (a >= b) {
            continue;
        }
        prev = a == starts[i] ? hg__gc_list(gc, i)
                              : hg__gc_head((PyObject *)(uintptr_t)obj[a - 1]);
        for (size_t k = a; k < b; k++) {
            hg__gc_link *g = hg__gc_head((PyObject *)(uintptr_t)obj[k]);
            if (k + 32 < b) {
                __builtin_prefetch(
                    hg__gc_head((PyObject *)(uintptr_t)obj[k + 32]), 1);
            }
            g->_gc_prev =
                (uintptr_t)prev | (g->_gc_prev & _PyGC_PREV_MASK_FINALIZED);
            prev = g;
        }
    }
}

/* The same for every listed object. */
static inline void hg__gc_restore_listed(hg__gcstate *gc, const uint64_t *obj,
                                         const size_t *starts) {
    hg__gc_restore_span(gc, obj, starts, 0, starts[HG__N_GC_LISTS]);
}

/* An estimate of the number of tracked objects that walks nothing, to size
 * the first capture's arrays before the GIL is taken for the walk: the
 * survivors of the last full collection, the objects promoted to the
 * oldest generation since, net allocations counted by generation 0, and
 * at most threshold0 survivors per young collection held in generation 1.
 * Deaths in the old generation make it high; the permanent generation
 * (gc.freeze() keeps no count) makes it low. */
static inline size_t hg__gc_tracked_estimate(const hg__gcstate *gc) {
    Py_ssize_t n = gc->long_lived_total + gc->long_lived_pending;
    if (gc->generations[0].count > 0) {
        n += gc->generations[0].count;
    }
    if (gc->generations[1].count > 0) {
        n +=
            (Py_ssize_t)gc->generations[1].count * gc->generations[0].threshold;
    }
    return n > 0 ? (size_t)n : 0;
}

/* ---- inline traversal ----------------------------------------------------
 * The walk visits the referents of the commonest objects itself, in the
 * order their tp_traverse would (listobject.c, tupleobject.c and
 * typeobject.c, alike in the three versions), instead of one indirect call
 * per referent: exact lists and tuples (items from last to first, NULLs
 * skipped), and instances of plain classes -- defined in Python directly
 * on object, no __slots__, attributes kept inline (a managed dict in 3.11
 * and 3.12, inline values in 3.13; each version header says how): their
 * inline attribute values in order, their __dict__ if one is visited,
 * then their class (subtype_traverse for such a class: no slots to visit,
 * no base traverse to call after).  tests/python/test_capture_threads.py
 * checks the edges against gc.get_referents() for each kind. */

/* typeobject.c's subtype_traverse (hg_capture_init), or NULL: also when
 * object itself has a tp_traverse, which plain instances would then
 * reach. */
extern traverseproc hg__subtype_traverse;

/* ---- immortal objects (3.12 on) ------------------------------------------ */

#if PY_VERSION_HEX >= 0x030C0000
/* _Py_IsImmortal on a count read (64-bit builds): the low 32 bits, signed,
 * are negative. */
static inline int hg__immortal_count(Py_ssize_t rc) {
    return (int32_t)(uint32_t)rc < 0;
}

/* The interned strings (immortal or not: 3.13's sys.intern makes mortal
 * ones), and a margin for the static objects: the small ints, the
 * runtime's own strings, the static types and, in 3.12, the deep-frozen
 * modules' code and constants.  Kept small (a larger table costs page
 * faults and cache misses): a walk that meets more retries with a larger
 * one (capture.c). */
static inline size_t hg__immortal_estimate(void) {
    PyObject *interned =
        _Py_INTERP_CACHED_OBJECT(PyInterpreterState_Get(), interned_strings);
    size_t n = (size_t)1 << 13;
    if (interned != NULL && PyDict_Check(interned)) {
        n += (size_t)PyDict_GET_SIZE(interned);
    }
    return n;
}
#else
/* 3.11 has none. */
static inline int hg__immortal_count(Py_ssize_t rc) {
    (void)rc;
    return 0;
}

static inline size_t hg__immortal_estimate(void) {
    return 0;
}
#endif

/* ---- sizes the three versions compute alike ----------------------------- */

/* sys.getsizeof(op) itself: may run Python code (a __sizeof__ defined in
 * Python); (size_t)-1 with an exception on error. */
static inline size_t hg__sys_getsizeof(PyObject *op) {
    return _PySys_GetSizeOf(op);
}

/* What sys.getsizeof adds to __sizeof__: the pre-header. */
static inline Py_ssize_t hg__preheader_size(PyTypeObject *tp) {
    return _PyType_PreHeaderSize(tp);
}

/* dict.__sizeof__ (Objects/dictobject.c _PyDict_SizeOf). */
static inline Py_ssize_t hg__dict_sizeof(PyObject *op) {
    return _PyDict_SizeOf((PyDictObject *)op);
}

/* object.__sizeof__ (Objects/typeobject.c object___sizeof___impl). */
static inline Py_ssize_t hg__object_sizeof(PyObject *op) {
    PyTypeObject *tp = Py_TYPE(op); /* borrowed */
    Py_ssize_t res = tp->tp_basicsize;
    if (tp->tp_itemsize > 0) {
        res += Py_SIZE(op) * tp->tp_itemsize;
    }
    return res;
}

/* list.__sizeof__ (Objects/listobject.c list___sizeof___impl). */
static inline Py_ssize_t hg__list_sizeof(PyObject *op) {
    return Py_TYPE(op)->tp_basicsize +
           ((PyListObject *)op)->allocated * (Py_ssize_t)sizeof(void *);
}

/* set.__sizeof__ / frozenset.__sizeof__ (Objects/setobject.c set_sizeof). */
static inline Py_ssize_t hg__set_sizeof(PyObject *op) {
    PySetObject *so = (PySetObject *)op;
    Py_ssize_t res = Py_TYPE(op)->tp_basicsize;
    if (so->table != so->smalltable) {
        res += (so->mask + 1) * (Py_ssize_t)sizeof(setentry);
    }
    return res;
}

/* ---- attribute names of inline values -----------------------------------
 * The same in each version: the class's shared keys name the slots. */

/* The name of inline value i of an instance of tp (hg__shared_keys_class),
 * borrowed, or NULL. */
static inline PyObject *hg__plain_key(PyTypeObject *tp, Py_ssize_t i) {
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (i < 0 || i >= keys->dk_nentries) {
        return NULL;
    }
    return DK_UNICODE_ENTRIES(keys)[i].me_key;
}

/* ---- a running frame's locals (frames.c) ---------------------------------
 * The frame's code object is where the versions differ (each version
 * header defines hg__frame_code); its slots are read alike. */

static inline PyCodeObject *hg__frame_code(PyObject *frame);

static inline Py_ssize_t hg__frame_n_locals(PyObject *frame) {
    return hg__frame_code(frame)->co_nlocalsplus;
}

static inline PyObject *hg__frame_local(PyObject *frame, Py_ssize_t i,
                                        PyObject **name) {
    _PyInterpreterFrame *f = ((PyFrameObject *)frame)->f_frame;
    PyCodeObject *co = hg__frame_code(frame);
    PyObject *v = f->localsplus[i];
    *name = PyTuple_GET_ITEM(co->co_localsplusnames, i);
    if (v != NULL &&
        (_PyLocals_GetKind(co->co_localspluskinds, (int)i) &
         (CO_FAST_CELL | CO_FAST_FREE)) &&
        PyCell_Check(v)) {
        v = PyCell_GET(v);
    }
    return v;
}

#endif /* HG_CPYTHON_COMMON_H */

/*
 * interp.h -- the one interface through which capture/ reaches the
 * interpreter's internals, and the choice of the header that implements
 * it for the CPython being built against.
 *
 * The native capture reads the cyclic GC's lists and headers, stashes
 * node ids in them, marks objects through their reference counts, visits
 * the commonest objects' referents itself and computes sys.getsizeof
 * without calls.  All of that depends on the private layout of one CPython
 * minor version, so each version's facts live in one header,
 * cpythonXY.h, which provides every name below with the meaning given
 * here; no other file of capture/ names an interpreter internal
 * (tests/python/test_layout.py checks it).  A version this file does not
 * list fails to build, naming the header to write.
 *
 * Include this header (through capture_int.h) before anything else: a
 * version header may need to define macros before Python.h is first
 * included (3.11's internal headers do).  Everything is a static inline
 * function, a macro or a type, so the walk's hot loops compile to the
 * same code as a direct read.
 *
 * Types
 *   hg__gcstate          the collector's state (opaque to the walk)
 *   hg__gc_link          the link of a GC list: the header before a
 *                        tracked object, or a list head
 *
 * Identifiers, lookups and time (no Python code runs in any of them)
 *   HG__ID(name)                 a static interned str, never freed
 *   hg__now()                    monotonic clock, seconds
 *   hg__finalizing()             the interpreter is shutting down
 *   hg__dict_lookup(d, key, h)   d[key] with key's hash h, borrowed, NULL
 *                                when absent; runs no code if the keys
 *                                are str (hg__dict_str_keys_only)
 *   hg__dict_str_keys_only(d)    an exact dict whose keys are all str
 *   hg__type_dict(tp)            tp's own attribute dict, borrowed, or
 *                                NULL; from any thread (3.12 on keep a
 *                                static builtin type's in the interpreter)
 *   hg__type_lookup(tp, name)    _PyType_Lookup without its attribute
 *                                cache (which changes reference counts)
 *   hg__lookup_attr(o, name, &v) getattr that returns 0 and NULL for a
 *                                missing attribute, 1 and a new
 *                                reference, or -1 with an exception
 *                                (may run code)
 *   hg__module_dict(m)           a module's __dict__, borrowed, or NULL
 *   hg__dict_kept_elsewhere(d)   exact dict d keeps values its own
 *                                tp_traverse does not visit (3.13: an
 *                                instance's inline values, visited from
 *                                the instance), and one of them keeps d
 *                                tracked as _PyDict_MaybeUntrack sees it
 *
 * The GC lists
 *   HG__N_GC_LISTS               the lists that hold every tracked object;
 *                                list i's objects are recorded as being in
 *                                generation i (HG_NODE_GEN_SHIFT)
 *   HG__GC_LIST_FROZEN           the list gc.freeze() fills
 *   hg__gc_state()               the current interpreter's collector
 *   hg__gc_collecting(gc)        a collection is under way
 *   hg__gc_set_collecting(gc, v) set or clear that flag: set, no
 *                                allocation can start a collection
 *   hg__gc_list(gc, i)           the head of list i; the lists are
 *                                circular: hg__gc_next(head) is the first
 *                                link, and the last links back to head
 *   hg__gc_next(link), hg__gc_object(link)
 *   hg__gc_prev(link)            the link before, read before link's own
 *                                header is stashed (the chase follows the
 *                                lists from both ends)
 *   hg__gc_tracked_estimate(gc)  a guess of the tracked objects, from the
 *                                collector's counts, walking nothing
 *   hg__is_gc(op)                op's type makes it a GC object
 *   hg__gc_tracked(op)           op is a GC object tracked right now
 *   hg__gc_track_oldest(op)      track op where only full collections
 *                                traverse it
 *
 * The id stash (the version header states its invariant)
 *   hg__gc_stash(link, v)        write v (< 2^61: a node id, or walk.h's
 *                                encoding of one) into a tracked object's
 *                                header, the lists' forward links intact
 *   hg__gc_stashed_id(op)        the v stashed in tracked op's header, or
 *                                HG__NOT_STASHED (walk.h decodes v)
 *   hg__gc_restore(gc)           undo every stash by walking the lists
 *   hg__gc_restore_span(gc, obj, starts, k0, k1), hg__gc_restore_listed(
 *   gc, obj, starts)             the same from the recorded addresses:
 *                                obj[k] is the k-th object of the list
 *                                walk, list i holds obj[starts[i] ..
 *                                starts[i + 1]); a span restores k0 <= k
 *                                < k1 (spans may run on other threads)
 *
 * Reference-count marks (the version header states when they are safe)
 *   hg__refcnt_word(op)          the Py_ssize_t that holds op's count,
 *                                which may hold any value while marked,
 *                                marks < 0 included (walk.h reads and
 *                                writes it atomically); never write the
 *                                word of an immortal object
 *   hg__immortal_count(rc)       rc, an object's unmarked count (>= 0),
 *                                makes it immortal: its count never
 *                                changes and must not be written (3.12 on;
 *                                always 0 before)
 *   hg__immortal_estimate()      at least as many immortal objects as a
 *                                walk can meet, about (0: none exist)
 *
 * Prefetching (hints: they change no result)
 *   hg__prefetch_referent(op)    what resolving a referent reads: its
 *                                type, count and GC header
 *   hg__prefetch_object(op)      what the walk reads first of a tracked
 *                                object: its header and what precedes it
 *
 * Inline traversal: the referents tp_traverse would visit, read directly
 *   hg__subtype_traverse         typeobject.c's subtype_traverse, set by
 *                                hg_capture_init (walk_state.c), or NULL
 *   hg__plain_class(tp)          tp's instances are visited as: their
 *                                inline values, their __dict__, their type
 *   hg__plain_values(op, tp, &n) the n inline value slots (NULLs
 *                                skipped), or NULL
 *   hg__plain_dict(op)           the __dict__ made for op, or NULL
 *
 * Attribute names (objects.c: hg_capture_attribute_at)
 *   hg__shared_keys_class(tp)    tp's instances (plain or not) keep their
 *                                attributes as inline values laid out by
 *                                shared keys (read by hg__plain_values)
 *   hg__plain_key(tp, i)         the name of inline value i, or NULL
 *
 * Sizes: what sys.getsizeof returns, without calls
 *   hg__preheader_size(tp)       what sys.getsizeof adds to __sizeof__
 *   hg__preheader_of(op, pre)    what it adds for op, pre being its type's
 *                                (3.13 adds nothing for a static type)
 *   hg__object_sizeof(op)        object.__sizeof__
 *   hg__list_sizeof, hg__dict_sizeof, hg__set_sizeof, hg__long_sizeof
 *                                the builtin __sizeof__ of each
 *   hg__unicode_sizeof(op)       str.__sizeof__, or -1 for the strings it
 *                                does not compute (call the method)
 *   hg__sys_getsizeof(op)        sys.getsizeof itself (may run code):
 *                                (size_t)-1 with an exception on error
 *
 * Frames: a running function's local variables, which the collector does
 * not see from 3.11 on (frames.c names the roots they hold)
 *   hg__frame_n_locals(f)        the local slots of frame object f's frame:
 *                                arguments, locals, cells, free variables
 *   hg__frame_local(f, i, &name) slot i's value, borrowed (a cell's
 *                                contents), NULL when unbound; its name,
 *                                borrowed, in *name.  Reads memory only:
 *                                no frame's locals dict is made or changed
 */
#ifndef HG_CAPTURE_INTERP_H
#define HG_CAPTURE_INTERP_H

#include <patchlevel.h> /* PY_VERSION_HEX, without Python.h */
#include <pyconfig.h>   /* Py_GIL_DISABLED */

#if defined(Py_GIL_DISABLED)
#error "objgraph capture/: the native capture needs the GIL; free-threaded \
builds are refused at configure time (capture/CMakeLists.txt)"
#elif PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#include "cpython311.h"
#elif PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include "cpython312.h"
#elif PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000
#include "cpython313.h"
#else
#error "objgraph capture/: no interpreter header for this CPython \
(PY_VERSION_HEX): capture/interp.h knows 3.11, 3.12 and 3.13 \
(cpython3XY.h); add a cpythonXY.h that provides interp.h's interface and \
list it there"
#endif

#endif /* HG_CAPTURE_INTERP_H */
